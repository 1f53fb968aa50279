/*
 * test_filecache.c - the files cache of import (src/lib/filecache.c):
 * round trip, every stat field and the racy rule decide a hit, and a
 * damaged, truncated, foreign or wrongly keyed cache is never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "filecache.h"
#include "testutil.h"

#define SEC 1000000000ll
/* the time the imports below start: "now" for the writer */
#define T0 (1700000000 * SEC)

struct fx {
	char dir[PATH_MAX];   /* the store */
	char src[PATH_MAX + 8]; /* a source directory (realpath'd) */
	struct mlfs_hash_key key;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/mlfs-fc-XXXXXX",
		 testutil_tmp_base());
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	assert_int_equal(mkdir(f->src, 0755), 0);
	for (size_t i = 0; i < sizeof(f->key.secret); i++)
		f->key.secret[i] = (uint8_t)(i * 7 + 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Stat data of a file well older than T0 (not racy). */
static struct stat file_st(uint64_t ino)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_dev = 2049;
	st.st_ino = ino;
	st.st_size = 1000 + (off_t)ino;
	st.st_mtim.tv_sec = 1600000000;
	st.st_mtim.tv_nsec = 123;
	st.st_ctim.tv_sec = 1600000001;
	st.st_ctim.tv_nsec = 456;
	return st;
}

static struct mlfs_id id_of(uint8_t b)
{
	struct mlfs_id id;

	memset(id.b, b, sizeof(id.b));
	return id;
}

/* Write a cache of @n files "d/f<i>" for repo @name at time T0. */
static void write_cache(struct fx *f, const char *name, int n)
{
	struct filecache *fc;
	char rel[64];

	assert_int_equal(filecache_open(f->dir, &f->key, "ns", name, f->src,
					false, T0, &fc), 0);
	for (int i = 0; i < n; i++) {
		struct stat st = file_st((uint64_t)i + 1);
		struct mlfs_id id = id_of((uint8_t)(i + 1));

		snprintf(rel, sizeof(rel), "d/f%d", i);
		assert_int_equal(filecache_add(fc, rel, &st, &id), 0);
	}
	assert_int_equal(filecache_save(fc), 0);
	filecache_free(fc);
}

static struct filecache *open_cache(struct fx *f, const char *name)
{
	struct filecache *fc;

	assert_int_equal(filecache_open(f->dir, &f->key, "ns", name, f->src,
					true, T0 + 10 * SEC, &fc), 0);
	return fc;
}

/* The only cache file in STORE/cache. */
static void cache_file(struct fx *f, char *out, size_t size)
{
	char cmd[PATH_MAX + 64];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls %s/cache/files-*", f->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, (int)size, p));
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(pclose(p), 0);
	(void)size;
}

static void test_filecache_round_trip_hits_every_file(void **state)
{
	struct fx *f = *state;
	struct filecache *fc;
	struct mlfs_id got;
	char rel[64];

	write_cache(f, "repo", 500);
	fc = open_cache(f, "repo");
	assert_true(filecache_loaded(fc));
	/* in walk order and in reverse: the guess and the hash table */
	for (int k = 0; k < 2; k++) {
		for (int j = 0; j < 500; j++) {
			int i = k ? 499 - j : j;
			struct stat st = file_st((uint64_t)i + 1);
			struct mlfs_id want = id_of((uint8_t)(i + 1));

			snprintf(rel, sizeof(rel), "d/f%d", i);
			assert_true(filecache_lookup(fc, rel, &st, &got));
			assert_memory_equal(got.b, want.b, MLFS_ID_LEN);
		}
	}
	{
		struct stat st = file_st(1);

		assert_false(filecache_lookup(fc, "d/f500", &st, &got));
		assert_false(filecache_lookup(fc, "d/f", &st, &got));
		assert_false(filecache_lookup(fc, "", &st, &got));
	}
	filecache_free(fc);
}

static void test_filecache_any_changed_stat_field_misses(void **state)
{
	struct fx *f = *state;
	struct filecache *fc;
	struct mlfs_id got;
	struct stat st;

	write_cache(f, "repo", 3);
	fc = open_cache(f, "repo");
	st = file_st(2);
	assert_true(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_dev++;
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_ino = 3; /* another file put in its place */
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_size++;
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_mtim.tv_nsec++; /* changed within the same second */
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_ctim.tv_nsec++; /* same size and mtime put back: ctime */
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_mode = S_IFREG | 0755; /* chmod */
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	st.st_mode = S_IFLNK | 0777;
	assert_false(filecache_lookup(fc, "d/f1", &st, &got));
	st = file_st(2);
	assert_true(filecache_lookup(fc, "d/f1", &st, &got));
	filecache_free(fc);
}

/* A file whose mtime (@which 0) or ctime (1) is @ns nanoseconds. */
static struct stat at_time(int which, int64_t ns)
{
	struct stat st = file_st(1);
	struct timespec *t = which ? &st.st_ctim : &st.st_mtim;

	t->tv_sec = ns / SEC;
	t->tv_nsec = ns % SEC;
	return st;
}

static void test_filecache_racy_times_are_never_trusted(void **state)
{
	struct fx *f = *state;
	const int64_t limit = T0 - FILECACHE_RACY_NS;
	const char *names[2][3] = { { "m-at", "m-before", "m-later" },
				    { "c-at", "c-before", "c-later" } };
	struct filecache *fc;
	struct mlfs_id id = id_of(9), got;
	struct stat st;

	/* the writer started at T0: times at the margin before it, or
	 * after, are racy; a nanosecond older is not */
	assert_int_equal(filecache_open(f->dir, &f->key, "ns", "repo", f->src,
					false, T0, &fc), 0);
	for (int w = 0; w < 2; w++) {
		st = at_time(w, limit);
		assert_int_equal(filecache_add(fc, names[w][0], &st, &id), 0);
		st = at_time(w, limit - 1);
		assert_int_equal(filecache_add(fc, names[w][1], &st, &id), 0);
		st = at_time(w, T0 + SEC);
		assert_int_equal(filecache_add(fc, names[w][2], &st, &id), 0);
	}
	assert_int_equal(filecache_save(fc), 0);
	filecache_free(fc);

	fc = open_cache(f, "repo");
	for (int w = 0; w < 2; w++) {
		st = at_time(w, limit);
		assert_false(filecache_lookup(fc, names[w][0], &st, &got));
		st = at_time(w, limit - 1);
		assert_true(filecache_lookup(fc, names[w][1], &st, &got));
		st = at_time(w, T0 + SEC);
		assert_false(filecache_lookup(fc, names[w][2], &st, &got));
	}
	filecache_free(fc);
}

static void test_filecache_damaged_or_truncated_file_is_ignored(void **state)
{
	struct fx *f = *state;
	struct filecache *fc;
	struct mlfs_id got;
	struct stat st = file_st(1), sb;
	char path[PATH_MAX];
	uint8_t b;
	int fd;

	write_cache(f, "repo", 50);
	cache_file(f, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	/* one bit anywhere: an entry's digest, then the header */
	for (off_t off = sb.st_size - 40; off >= 0; off -= sb.st_size - 41) {
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &b, 1, off), 1);
		b ^= 0x10;
		assert_int_equal(pwrite(fd, &b, 1, off), 1);
		close(fd);
		fc = open_cache(f, "repo");
		assert_false(filecache_loaded(fc));
		assert_false(filecache_lookup(fc, "d/f0", &st, &got));
		filecache_free(fc);
		write_cache(f, "repo", 50);
	}
	assert_int_equal(truncate(path, sb.st_size - 1), 0);
	fc = open_cache(f, "repo");
	assert_false(filecache_loaded(fc));
	filecache_free(fc);
	assert_int_equal(truncate(path, 0), 0);
	fc = open_cache(f, "repo");
	assert_false(filecache_loaded(fc));
	filecache_free(fc);
}

static void test_filecache_other_repo_source_or_key_sees_nothing(void **state)
{
	struct fx *f = *state;
	struct filecache *fc;
	struct mlfs_id got;
	struct stat st = file_st(1);
	char path[PATH_MAX], other[PATH_MAX + 16], cmd[3 * PATH_MAX];

	write_cache(f, "repo", 5);
	fc = open_cache(f, "other");
	assert_false(filecache_loaded(fc));
	assert_false(filecache_lookup(fc, "d/f0", &st, &got));
	filecache_free(fc);
	/* repo's file copied to other's name: the identity inside differs */
	cache_file(f, path, sizeof(path));
	write_cache(f, "other", 1);
	snprintf(cmd, sizeof(cmd), "ls %s/cache/files-* | grep -v %s", f->dir,
		 strrchr(path, '/') + 1);
	{
		FILE *p = popen(cmd, "r");

		assert_non_null(p);
		assert_non_null(fgets(other, sizeof(other), p));
		other[strcspn(other, "\n")] = '\0';
		assert_int_equal(pclose(p), 0);
	}
	snprintf(cmd, sizeof(cmd), "cp %s %s", path, other);
	assert_int_equal(system(cmd), 0);
	fc = open_cache(f, "other");
	assert_false(filecache_loaded(fc));
	filecache_free(fc);
	/* another store's key */
	f->key.secret[0] ^= 1;
	fc = open_cache(f, "repo");
	assert_false(filecache_loaded(fc));
	filecache_free(fc);
	f->key.secret[0] ^= 1;
	fc = open_cache(f, "repo");
	assert_true(filecache_loaded(fc));
	filecache_free(fc);
}

static void test_filecache_parse_rejects_malformed_bodies(void **state)
{
	struct fx *f = *state;
	struct filecache *fc;
	struct mlfs_id id = id_of(1);
	struct stat st = file_st(1);
	uint8_t *good, *p;
	size_t len;
	char path[PATH_MAX];
	FILE *in;

	assert_int_equal(filecache_open(f->dir, &f->key, "ns", "repo", f->src,
					false, T0, &fc), 0);
	assert_int_equal(filecache_add(fc, "a", &st, &id), 0);
	assert_int_equal(filecache_add(fc, "bb", &st, &id), 0);
	assert_int_equal(filecache_save(fc), 0);
	cache_file(f, path, sizeof(path));
	in = fopen(path, "rb");
	assert_non_null(in);
	good = malloc(4096);
	assert_non_null(good);
	len = fread(good, 1, 4096, in) - MLFS_ID_LEN;
	fclose(in);

#define TRY(edit, want)                                                     \
	do {                                                                \
		p = malloc(len);                                            \
		assert_non_null(p);                                         \
		memcpy(p, good, len);                                       \
		edit;                                                       \
		assert_int_equal(filecache_parse(fc, p, plen), (want));    \
	} while (0)
	{
		size_t plen = len;
		size_t ent0 = FILECACHE_HDR + (size_t)good[32] +
			      ((size_t)good[33] << 8);

		TRY((void)0, 0);
		assert_true(filecache_loaded(fc));
		TRY(p[0] = 'X', -EBADMSG);                    /* magic */
		TRY(p[8] = 2, -EBADMSG);                      /* version */
		TRY(p[12] = 1, -EBADMSG);                     /* reserved */
		TRY(p[24] = 3, -EBADMSG);                     /* count high */
		TRY(p[24] = 1, -EBADMSG);                     /* count low */
		TRY(p[32]++, -EBADMSG);                       /* identity len */
		TRY(p[FILECACHE_HDR + 1] ^= 1, -EBADMSG);     /* identity */
		TRY(p[ent0 + 60] = 0xff, -EBADMSG);           /* path past end */
		TRY(p[ent0 + 61] = 0x10, -EBADMSG);           /* path > max */
		assert_false(filecache_loaded(fc));
		plen = len - 1;
		TRY((void)0, -EBADMSG);                       /* torn entry */
		plen = 10;
		TRY((void)0, -EBADMSG);                       /* short header */
	}
#undef TRY
	free(good);
	filecache_free(fc);
}

static void test_filecache_long_path_is_not_recorded(void **state)
{
	struct fx *f = *state;
	struct filecache *fc;
	struct mlfs_id id = id_of(1);
	struct stat st = file_st(1);
	char *rel = malloc(FILECACHE_PATH_MAX + 2);

	assert_non_null(rel);
	memset(rel, 'a', FILECACHE_PATH_MAX + 1);
	rel[FILECACHE_PATH_MAX + 1] = '\0';
	assert_int_equal(filecache_open(f->dir, &f->key, "ns", "repo", f->src,
					false, T0, &fc), 0);
	assert_int_equal(filecache_add(fc, rel, &st, &id), -ENAMETOOLONG);
	rel[FILECACHE_PATH_MAX] = '\0';
	assert_int_equal(filecache_add(fc, rel, &st, &id), 0);
	assert_int_equal(filecache_save(fc), 0);
	filecache_free(fc);
	fc = open_cache(f, "repo");
	assert_true(filecache_lookup(fc, rel, &st, &id));
	filecache_free(fc);
	free(rel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_filecache_round_trip_hits_every_file, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_filecache_any_changed_stat_field_misses, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_filecache_racy_times_are_never_trusted, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_filecache_damaged_or_truncated_file_is_ignored,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_filecache_other_repo_source_or_key_sees_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_filecache_parse_rejects_malformed_bodies, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_filecache_long_path_is_not_recorded, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
