/*
 * testutil.h - helpers the unit tests share: scratch directories, files
 * and stores. Include after <cmocka.h> (the helpers assert with it).
 */
#ifndef MLFS_TESTUTIL_H
#define MLFS_TESTUTIL_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/store.h"
#include "mlfs/util.h"

static inline int testutil_rm_fn(const char *path,
				 const struct stat *st MLFS_UNUSED,
				 int flag MLFS_UNUSED,
				 struct FTW *ftw MLFS_UNUSED)
{
	return remove(path) < 0 ? -1 : 0;
}

/* rm -rf @path; what cannot be removed is left (a test's scratch). */
static inline void testutil_rm_rf(const char *path)
{
	(void)nftw(path, testutil_rm_fn, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write @len bytes to @dir/@name, asserting every step. */
static inline void testutil_write_file(const char *dir, const char *name,
				       const void *p, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* tmpfs when there is one: the store fsyncs a lot, and unit tests are
 * about behaviour, not durability. $MLFS_TEST_TMPDIR overrides. */
static inline const char *testutil_tmp_base(void)
{
	const char *t = getenv("MLFS_TEST_TMPDIR");

	if (t && *t)
		return t;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}


/* A scratch store: a new directory "<tmp>/mlfs-test-@name-XXXXXX" in
 * @root holding an empty src/ (@src) and a new store, store/
 * (@store_dir), opened in *@s. TESTUTIL_STORE_NEW() passes a fixture's
 * fields of those names. */
static inline void testutil_store_new(const char *name, char *root,
				      size_t nroot, char *store_dir,
				      size_t nstore, char *src, size_t nsrc,
				      struct mlfs_store **s)
{
	snprintf(root, nroot, "%s/mlfs-test-%s-XXXXXX", testutil_tmp_base(),
		 name);
	assert_non_null(mkdtemp(root));
	snprintf(store_dir, nstore, "%s/store", root);
	snprintf(src, nsrc, "%s/src", root);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mlfs_store_init(store_dir, NULL), 0);
	assert_int_equal(mlfs_store_open(store_dir, 0, s), 0);
}

#define TESTUTIL_STORE_NEW(f, name)                                     \
	testutil_store_new((name), (f)->root, sizeof((f)->root),        \
			   (f)->store_dir, sizeof((f)->store_dir),      \
			   (f)->src, sizeof((f)->src), &(f)->s)

#endif
