/*
 * test_lineage.c - inputs of commits (lineage.h): written with the
 * commit, read back verified, merged, walked up and down with depth and
 * refs, and a damaged row named.
 */
#include <errno.h>
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

#include "mlfs/import.h"
#include "mlfs/lineage.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "testutil.h"

struct fixture {
	char root[64];
	char store_dir[128];
	char src[128];
	struct mlfs_store *s;
	struct mlfs_id data, feat, model; /* data -> feat -> model */
};

static void import(struct fixture *f, const char *ns, const char *name,
		   const char *tag, const struct mlfs_input *in, size_t n,
		   struct mlfs_id *out)
{
	struct mlfs_import_opts o = { .tag = tag, .message = "test",
				      .author = "tester", .threads = 1,
				      .inputs = in, .ninputs = n };
	struct mlfs_import_stats st;

	testutil_write_file(f->src, "x", name, strlen(name));
	assert_int_equal(mlfs_import(f->s, f->src, ns, name, &o, &st), 0);
	*out = st.commit;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mlfs_input in = { .files = 3, .bytes = 300,
				 .how = MLFS_INPUT_MOUNT };

	assert_non_null(f);
	TESTUTIL_STORE_NEW(f, "lineage");
	import(f, "d", "train", "v1", NULL, 0, &f->data);
	in.commit = f->data;
	import(f, "d", "feat", NULL, &in, 1, &f->feat);
	in.commit = f->feat;
	in.files = 1;
	in.bytes = 10;
	import(f, "m", "model", "m1", &in, 1, &f->model);
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

static void test_lineage_inputs_read_back_as_written(void **state)
{
	struct fixture *f = *state;
	struct mlfs_input *v;
	size_t n;

	assert_int_equal(mlfs_inputs_get(f->s, &f->feat, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].commit.b, f->data.b, MLFS_ID_LEN);
	assert_int_equal(v[0].files, 3);
	assert_int_equal(v[0].bytes, 300);
	assert_int_equal(v[0].how, MLFS_INPUT_MOUNT);
	free(v);
	assert_int_equal(mlfs_inputs_users(f->s, &f->data, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].commit.b, f->feat.b, MLFS_ID_LEN);
	free(v);
	assert_int_equal(mlfs_inputs_get(f->s, &f->data, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void test_lineage_merge_adds_counts_and_keeps_mount(void **state)
{
	struct mlfs_input v[3] = {
		{ .commit = { .b = { 2 } }, .files = 1, .bytes = 5,
		  .how = MLFS_INPUT_MANUAL },
		{ .commit = { .b = { 1 } }, .files = 0, .bytes = 0,
		  .how = MLFS_INPUT_MANUAL },
		{ .commit = { .b = { 2 } }, .files = 2, .bytes = UINT64_MAX,
		  .how = MLFS_INPUT_MOUNT },
	};

	(void)state;
	assert_int_equal(mlfs_inputs_merge(v, 3), 2);
	assert_int_equal(v[0].commit.b[0], 1);
	assert_int_equal(v[1].commit.b[0], 2);
	assert_int_equal(v[1].files, 3);
	assert_true(v[1].bytes == UINT64_MAX); /* saturates */
	assert_int_equal(v[1].how, MLFS_INPUT_MOUNT);
}

static void test_lineage_input_not_in_store_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_input in = { .commit = { .b = { 0xee } },
				 .how = MLFS_INPUT_MANUAL };
	struct mlfs_import_opts o = { .message = "x", .threads = 1,
				      .inputs = &in, .ninputs = 1 };
	struct mlfs_import_stats st;
	struct mlfs_repo repo;

	assert_int_equal(mlfs_import(f->s, f->src, "d", "other", &o, &st),
			 -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "is not a commit"));
	/* nothing was committed: not even the repository */
	assert_int_equal(mlfs_repo_get(f->s, "d", "other", &repo), -ENOENT);
}

static void test_lineage_walk_up_down_and_depth(void **state)
{
	struct fixture *f = *state;
	struct mlfs_lineage_node *t;

	assert_int_equal(mlfs_lineage_walk(f->s, &f->model, false, 0, &t), 0);
	assert_string_equal(t->ns, "m");
	assert_int_equal(t->nbranches, 1);
	assert_string_equal(t->branches[0], "main");
	assert_int_equal(t->ntags, 1);
	assert_string_equal(t->tags[0], "m1");
	assert_int_equal(t->nkids, 1);
	assert_string_equal(t->kids[0].name, "feat");
	assert_int_equal(t->kids[0].edge.bytes, 10);
	assert_int_equal(t->kids[0].nkids, 1);
	assert_string_equal(t->kids[0].kids[0].name, "train");
	assert_string_equal(t->kids[0].kids[0].tags[0], "v1");
	assert_int_equal(t->kids[0].kids[0].edge.files, 3);
	assert_false(t->kids[0].kids[0].truncated);
	mlfs_lineage_free(t);

	assert_int_equal(mlfs_lineage_walk(f->s, &f->model, false, 1, &t), 0);
	assert_int_equal(t->nkids, 1);
	assert_int_equal(t->kids[0].nkids, 0);
	assert_true(t->kids[0].truncated);
	mlfs_lineage_free(t);

	assert_int_equal(mlfs_lineage_walk(f->s, &f->data, true, 0, &t), 0);
	assert_int_equal(t->nkids, 1);
	assert_string_equal(t->kids[0].name, "feat");
	assert_int_equal(t->kids[0].nkids, 1);
	assert_string_equal(t->kids[0].kids[0].name, "model");
	mlfs_lineage_free(t);
}

static void test_lineage_damaged_row_is_eio_naming_it(void **state)
{
	struct fixture *f = *state;
	struct mlfs_lineage_node *t = NULL;
	struct mlfs_input *v = NULL, *rows;
	struct mlfs_id *ins;
	bool *bad;
	char path[PATH_MAX], hex[MLFS_ID_HEX_LEN + 1];
	sqlite3 *db;
	size_t n;

	mlfs_store_close(f->s);
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE inputs SET files = 4 "
				      "WHERE files = 3", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), 0);
	assert_int_equal(mlfs_inputs_get(f->s, &f->feat, &v, &n), -EIO);
	assert_null(v);
	mlfs_id_to_hex(&f->feat, hex);
	assert_non_null(strstr(mlfs_error_detail(), hex));
	assert_non_null(strstr(mlfs_error_detail(), "damaged database"));
	assert_int_equal(mlfs_lineage_walk(f->s, &f->model, false, 0, &t),
			 -EIO);
	assert_null(t);
	/* fsck's list flags it instead of failing */
	assert_int_equal(mlfs_inputs_all(f->s, &rows, &ins, &bad, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad[0] + bad[1], 1);
	free(rows);
	free(ins);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_lineage_inputs_read_back_as_written),
		T(test_lineage_merge_adds_counts_and_keeps_mount),
		T(test_lineage_input_not_in_store_is_enoent),
		T(test_lineage_walk_up_down_and_depth),
		T(test_lineage_damaged_row_is_eio_naming_it),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
