/*
 * test_fsck.c - mlfs_fsck on a real store whose database is changed with
 * SQLite behind mlfs's back: each damaged object is reported once, with
 * the kind, id, repository, version name and path where it was first
 * found and how many more versions share it, and the check goes on.
 */
#include <errno.h>
#include <ftw.h>
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
#include <sqlite3.h>

#include "mlfs/fsck.h"
#include "mlfs/import.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "testutil.h"

#define MAXP 8

struct got {
	char kind[16], object[64], repo[64], version[64], commit[40];
	char path[256], what[512];
	bool has_version, has_path;
	uint64_t more;
};

struct fixture {
	char root[64];
	char store_dir[128];
	char src[128];
	struct mlfs_store *s;
	/* c1, c2 (tag v2), c3 (main): d/ is the same tree in all three,
	 * top.txt differs in each. */
	struct mlfs_id c1, c2, c3;
	struct mlfs_id d_tree, x, y, top1;
	struct got p[MAXP];
	size_t np;
	struct mlfs_fsck_stats st;
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void write_random(const char *dir, const char *name, size_t len,
			 uint64_t seed)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)splitmix(&seed);
	testutil_write_file(dir, name, b, len);
	free(b);
}

static void import(struct fixture *f, const char *tag, struct mlfs_id *out)
{
	struct mlfs_import_opts o = { .tag = tag, .message = "test",
				      .author = "tester", .threads = 1 };
	struct mlfs_import_stats st;

	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st), 0);
	*out = st.commit;
}

static void entry_id(struct fixture *f, const struct mlfs_id *commit,
		     const char *path, struct mlfs_id *out)
{
	struct mlfs_entry_copy e = { 0 };
	struct mlfs_commit c;

	assert_int_equal(mlfs_commit_get(f->s, commit, &c), 0);
	assert_int_equal(mlfs_tree_lookup_path(f->s, &c.tree, path, &e), 0);
	*out = e.e.id;
	mlfs_entry_copy_release(&e);
	mlfs_commit_release(&c);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char d[PATH_MAX];

	assert_non_null(f);
	TESTUTIL_STORE_NEW(f, "fsck");
	snprintf(d, sizeof(d), "%s/d", f->src);
	assert_int_equal(mkdir(d, 0755), 0);
	write_random(d, "x.bin", 5000, 1);
	write_random(d, "y.bin", 5000, 2);
	testutil_write_file(f->src, "top.txt", "one\n", 4);
	import(f, NULL, &f->c1);
	testutil_write_file(f->src, "top.txt", "two\n", 4);
	import(f, "v2", &f->c2);
	testutil_write_file(f->src, "top.txt", "three\n", 6);
	import(f, NULL, &f->c3);
	entry_id(f, &f->c1, "d", &f->d_tree);
	entry_id(f, &f->c1, "d/x.bin", &f->x);
	entry_id(f, &f->c1, "d/y.bin", &f->y);
	entry_id(f, &f->c1, "top.txt", &f->top1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mlfs_store_close(f->s);
	testutil_rm_rf(f->root);
	free(f);
	return 0;
}

/* Run @sql on the closed store's database, ?1 and ?2 bound to @a and
 * @b when given; the statement must change a row. */
static void db_exec(struct fixture *f, const char *sql,
		    const struct mlfs_id *a, const struct mlfs_id *b)
{
	char path[PATH_MAX];
	sqlite3_stmt *st;
	sqlite3 *db;

	mlfs_store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	if (a)
		sqlite3_bind_blob(st, 1, a->b, MLFS_ID_LEN, SQLITE_STATIC);
	if (b)
		sqlite3_bind_blob(st, 2, b->b, MLFS_ID_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), 0);
}

static void copy(char *dst, size_t size, const char *src, bool *has)
{
	snprintf(dst, size, "%s", src ? src : "");
	if (has)
		*has = src != NULL;
}

static void collect(void *ctx, const struct mlfs_fsck_problem *p)
{
	struct fixture *f = ctx;
	struct got *g;

	assert_true(f->np < MAXP);
	g = &f->p[f->np++];
	copy(g->kind, sizeof(g->kind), p->kind, NULL);
	copy(g->object, sizeof(g->object), p->object, NULL);
	copy(g->repo, sizeof(g->repo), p->repo, NULL);
	copy(g->version, sizeof(g->version), p->version, &g->has_version);
	copy(g->commit, sizeof(g->commit), p->commit, NULL);
	copy(g->path, sizeof(g->path), p->path, &g->has_path);
	copy(g->what, sizeof(g->what), p->what, NULL);
	g->more = p->more_versions;
}

static void run_fsck(struct fixture *f, bool read_data)
{
	f->np = 0;
	assert_int_equal(mlfs_fsck(f->s, read_data, collect, f, &f->st), 0);
	assert_int_equal(f->st.problems, f->np);
}

static const char *hex(const struct mlfs_id *id)
{
	static char buf[4][MLFS_ID_HEX_LEN + 1];
	static int i;

	i = (i + 1) % 4;
	mlfs_id_to_hex(id, buf[i]);
	return buf[i];
}

static void expect(const struct got *g, const char *kind, const char *object,
		   const char *version, const struct mlfs_id *commit,
		   const char *path, uint64_t more)
{
	assert_string_equal(g->kind, kind);
	assert_string_equal(g->object, object);
	assert_string_equal(g->repo, "t/m");
	if (version) {
		assert_true(g->has_version);
		assert_string_equal(g->version, version);
		assert_string_equal(g->commit, hex(commit));
	} else {
		assert_false(g->has_version);
	}
	if (path) {
		assert_true(g->has_path);
		assert_string_equal(g->path, path);
	} else {
		assert_false(g->has_path);
	}
	assert_int_equal(g->more, more);
}

static void test_fsck_clean_store_reports_nothing(void **state)
{
	struct fixture *f = *state;

	run_fsck(f, true);
	assert_int_equal(f->np, 0);
	assert_int_equal(f->st.repos, 1);
	assert_int_equal(f->st.commits, 3);
	assert_int_equal(f->st.trees, 4);    /* three roots and d/ */
	assert_int_equal(f->st.contents, 5); /* x, y, three top.txt */
	assert_int_equal(f->st.chunks_read, 5);
}

/* A tree shared by three versions: one problem, at the first version
 * walked (tags first), counting the two others. */
static void test_fsck_shared_tree_reported_once_with_more_versions(
	void **state)
{
	struct fixture *f = *state;

	db_exec(f, "UPDATE trees SET data = CAST(data AS BLOB) || x'00' "
		"WHERE id = ?1", &f->d_tree, NULL);
	run_fsck(f, false);
	assert_int_equal(f->np, 1);
	expect(&f->p[0], "tree", hex(&f->d_tree), "v2", &f->c2, "d", 2);
	assert_non_null(strstr(f->p[0].what, "hash mismatch"));
	assert_int_equal(f->st.commits, 3);
	assert_int_equal(f->st.contents, 3); /* the three top.txt */
}

/* Two damaged chunk lists: both reported, the walk goes on. */
static void test_fsck_two_damaged_contents_both_reported(void **state)
{
	struct fixture *f = *state;

	db_exec(f, "UPDATE contents SET size = size + 1 WHERE digest = ?1",
		&f->x, NULL);
	db_exec(f, "UPDATE contents SET chunks = (SELECT chunks FROM "
		"contents WHERE digest = ?2) WHERE digest = ?1", &f->y,
		&f->x);
	run_fsck(f, false);
	assert_int_equal(f->np, 2);
	expect(&f->p[0], "content", hex(&f->x), "v2", &f->c2, "d/x.bin", 2);
	expect(&f->p[1], "content", hex(&f->y), "v2", &f->c2, "d/y.bin", 2);
	assert_non_null(strstr(f->p[0].what, "check value"));
	assert_int_equal(f->st.contents, 5);
}

/* A version no tag names is named after the tag's history. */
static void test_fsck_version_named_from_tag_history(void **state)
{
	struct fixture *f = *state;

	db_exec(f, "UPDATE contents SET size = 5 WHERE digest = ?1",
		&f->top1, NULL);
	run_fsck(f, false);
	assert_int_equal(f->np, 1);
	expect(&f->p[0], "content", hex(&f->top1), "v2~1", &f->c1,
	       "top.txt", 0);
}

/* A tag moved to another commit: the tag is named, its version is not
 * used to name anything (the branch names them instead). */
static void test_fsck_moved_tag_is_a_damaged_tag(void **state)
{
	struct fixture *f = *state;

	db_exec(f, "UPDATE refs SET commit_id = ?1 WHERE name = 'v2'",
		&f->c3, NULL);
	db_exec(f, "UPDATE contents SET size = 5 WHERE digest = ?1",
		&f->top1, NULL);
	run_fsck(f, false);
	assert_int_equal(f->np, 2);
	expect(&f->p[0], "tag", "v2", NULL, NULL, NULL, 0);
	expect(&f->p[1], "content", hex(&f->top1), "main~2", &f->c1,
	       "top.txt", 0);
}

static void test_fsck_changed_commit_is_named(void **state)
{
	struct fixture *f = *state;

	db_exec(f, "UPDATE commits SET message = 'x' WHERE id = ?1", &f->c1,
		NULL);
	run_fsck(f, false);
	assert_int_equal(f->np, 1);
	expect(&f->p[0], "commit", hex(&f->c1), "v2~1", &f->c1, NULL, 0);
	assert_int_equal(f->st.commits, 3);
}

/* A chunk row deleted: without --read-data the list check names the
 * file; with it, reading does not end the check either. */
static void test_fsck_missing_chunk_row_names_the_file(void **state)
{
	struct fixture *f = *state;

	db_exec(f, "DELETE FROM chunks WHERE id = (SELECT substr(chunks, 1, "
		"16) FROM contents WHERE digest = ?1)", &f->y, NULL);
	for (int read_data = 0; read_data < 2; read_data++) {
		run_fsck(f, read_data);
		assert_int_equal(f->np, 1);
		expect(&f->p[0], "content", hex(&f->y), "v2", &f->c2,
		       "d/y.bin", 2);
		assert_non_null(strstr(f->p[0].what, "not in the chunk index"));
	}
}

/* What SQLite only calls malformed, the header check words. */
static void test_fsck_explain_db_names_a_truncated_file(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], why[256] = "";
	struct stat sb;

	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	mlfs_store_close(f->s);
	f->s = NULL;
	assert_int_equal(mlfs_fsck_explain_db(f->store_dir, why,
					      sizeof(why)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(truncate(path, sb.st_size - 4096), 0);
	assert_int_equal(mlfs_fsck_explain_db(f->store_dir, why,
					      sizeof(why)), 1);
	assert_non_null(strstr(why, "mlfs.db is truncated"));
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), -EBADMSG);
	assert_int_equal(truncate(path, 60), 0);
	assert_int_equal(mlfs_fsck_explain_db(f->store_dir, why,
					      sizeof(why)), 1);
	assert_non_null(strstr(why, "shorter than an SQLite header"));
	assert_int_equal(mlfs_fsck_explain_db(f->root, why, sizeof(why)),
			 -ENOENT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_fsck_clean_store_reports_nothing),
		T(test_fsck_shared_tree_reported_once_with_more_versions),
		T(test_fsck_two_damaged_contents_both_reported),
		T(test_fsck_version_named_from_tag_history),
		T(test_fsck_moved_tag_is_a_damaged_tag),
		T(test_fsck_changed_commit_is_named),
		T(test_fsck_missing_chunk_row_names_the_file),
		T(test_fsck_explain_db_names_a_truncated_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
