/*
 * test_import_ahead.c - the import's stat-ahead: listings come in the
 * walk's order (depth first, names sorted by strcmp), with each entry's
 * lstat data; a symlink to a directory is listed, never walked into; a
 * take out of order gets nothing and stops the stat-ahead for good; a
 * full queue waits for the import and a stop wakes it; a stop with
 * listings still queued frees them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "import_ahead.h"
#include "testutil.h"

static char base[256];

/* @base/@rel into @p. */
static void path_of(char p[PATH_MAX], const char *rel)
{
	int n = snprintf(p, PATH_MAX, "%s/%s", base, rel);

	assert_true(n > 0 && n < PATH_MAX);
}

static void mk_dir(const char *rel)
{
	char p[PATH_MAX];

	path_of(p, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void mk_file(const char *rel)
{
	char p[PATH_MAX];
	int fd;

	path_of(p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rel, strlen(rel)), (ssize_t)strlen(rel));
	close(fd);
}

static void stat_of(const char *rel, struct stat *st)
{
	char p[PATH_MAX];

	path_of(p, rel);
	assert_int_equal(lstat(p, st), 0);
}

static int open_root(void)
{
	int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	assert_true(snprintf(base, sizeof(base), "%s/mlfs-test-ahead.XXXXXX",
			     testutil_tmp_base()) < (int)sizeof(base));
	assert_non_null(mkdtemp(base));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testutil_rm_rf(base);
	return 0;
}

/* Take the listing of @rel and check its names are @names (in order),
 * each with the lstat data of the entry. */
static void expect(struct import_ahead *a, const char *rel,
		   const char *const *names, size_t n)
{
	struct stat dst, st;
	struct ahead_dir *d;
	char p[PATH_MAX];

	stat_of(rel, &dst);
	d = import_ahead_take(a, &dst);
	assert_non_null(d);
	assert_int_equal(d->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(d->v[i].name, names[i]);
		assert_int_equal(d->v[i].err, 0);
		assert_true(snprintf(p, sizeof(p), "%s/%s", rel, names[i]) <
			    (int)sizeof(p));
		stat_of(p, &st);
		assert_int_equal(d->v[i].st.st_ino, st.st_ino);
		assert_int_equal(d->v[i].st.st_mode, st.st_mode);
		assert_int_equal(d->v[i].st.st_size, st.st_size);
	}
	import_ahead_dir_free(d);
}

static void test_order(void **state)
{
	static const char *const root[] = { "B", "a", "d1", "d2", "link",
					    "z.txt" };
	static const char *const d1[] = { "sub", "x" };
	static const char *const sub[] = { "y" };
	struct import_ahead *a;
	struct stat st;
	char p[PATH_MAX];
	int fd;

	(void)state;
	mk_file("a");
	mk_file("B");
	mk_file("z.txt");
	mk_dir("d1");
	mk_file("d1/x");
	mk_dir("d1/sub");
	mk_file("d1/sub/y");
	mk_dir("d2");
	path_of(p, "link");
	assert_int_equal(symlink("d1", p), 0);

	fd = open_root();
	assert_int_equal(import_ahead_start(fd, &a), 0);
	close(fd); /* the stat-ahead has its own */
	expect(a, ".", root, 6);
	expect(a, "d1", d1, 2);
	expect(a, "d1/sub", sub, 1);
	expect(a, "d2", NULL, 0);
	/* the walk is over; the symlink was not followed */
	stat_of("d1", &st);
	assert_null(import_ahead_take(a, &st));
	import_ahead_stop(a);
}

static void test_out_of_order(void **state)
{
	struct import_ahead *a;
	struct stat st;
	int fd;

	(void)state;
	mk_dir("d1");
	mk_file("d1/x");
	mk_file("f");
	fd = open_root();
	assert_int_equal(import_ahead_start(fd, &a), 0);
	close(fd);
	/* d1 asked for where the root comes first: nothing, for good */
	stat_of("d1", &st);
	assert_null(import_ahead_take(a, &st));
	stat_of(".", &st);
	assert_null(import_ahead_take(a, &st));
	import_ahead_stop(a);
	/* NULL is no stat-ahead */
	assert_null(import_ahead_take(NULL, &st));
	import_ahead_stop(NULL);
}

/* Two directories of more entries together than the queue holds: the
 * thread waits after the first until the import takes it; stopped
 * while it waits, it wakes and frees what it queued. */
static void test_full_queue(void **state)
{
	static const int per_dir = 33000;
	struct import_ahead *a;
	struct ahead_dir *d;
	struct stat st;
	char rel[64];
	int fd;

	(void)state;
	mk_dir("d1");
	mk_dir("d2");
	for (int i = 0; i < per_dir; i++) {
		assert_true(snprintf(rel, sizeof(rel), "d1/f%05d", i) > 0);
		mk_file(rel);
		assert_true(snprintf(rel, sizeof(rel), "d2/f%05d", i) > 0);
		mk_file(rel);
	}
	for (int round = 0; round < 2; round++) {
		fd = open_root();
		assert_int_equal(import_ahead_start(fd, &a), 0);
		close(fd);
		stat_of(".", &st);
		d = import_ahead_take(a, &st);
		assert_non_null(d);
		assert_int_equal(d->n, 2);
		import_ahead_dir_free(d);
		if (round == 0) {
			/* d1 queued; d2 waits for room, then comes */
			stat_of("d1", &st);
			d = import_ahead_take(a, &st);
			assert_non_null(d);
			assert_int_equal(d->n, per_dir);
			assert_string_equal(d->v[per_dir - 1].name, "f32999");
			import_ahead_dir_free(d);
			stat_of("d2", &st);
			d = import_ahead_take(a, &st);
			assert_non_null(d);
			assert_int_equal(d->n, per_dir);
			import_ahead_dir_free(d);
		} else {
			/* stopped while d1 is queued and d2 may wait */
			usleep(200000);
		}
		import_ahead_stop(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_queue, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
