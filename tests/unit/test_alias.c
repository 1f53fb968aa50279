/*
 * test_alias.c - aliases on a real store: create, move (only with a
 * reason), a move to where it is, the clash with tags and branches both
 * ways, targets of other repositories, rollback as a stack, delete,
 * resolution (kind 'a', never immutable, "~N", "@{date}" refused), and
 * rows or records changed behind mlfs's back.
 */
#include <errno.h>
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

#include "mlfs/alias.h"
#include "mlfs/import.h"
#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "store_impl.h"
#include "testutil.h"

struct fixture {
	char root[96];
	char store_dir[128];
	char src[128];
	struct mlfs_store *s;
	struct mlfs_repo repo, other;
	struct mlfs_id c1, c2, c3, o1;
};

static void import(struct fixture *f, const char *name, const char *text,
		   const char *tag, struct mlfs_id *out)
{
	struct mlfs_import_opts o = { .tag = tag, .message = "test",
				      .author = "tester", .threads = 1 };
	struct mlfs_import_stats st;

	testutil_write_file(f->src, "f", text, strlen(text));
	assert_int_equal(mlfs_import(f->s, f->src, "t", name, &o, &st), 0);
	*out = st.commit;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	TESTUTIL_STORE_NEW(f, "alias");
	import(f, "m", "one\n", "v1", &f->c1);
	import(f, "m", "two\n", "v2", &f->c2);
	import(f, "m", "three\n", NULL, &f->c3);
	import(f, "o", "other\n", NULL, &f->o1);
	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &f->repo), 0);
	assert_int_equal(mlfs_repo_get(f->s, "t", "o", &f->other), 0);
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

static size_t history_len(struct fixture *f, const char *name)
{
	struct mlfs_audit_record *h = NULL;
	size_t n = 0;

	assert_int_equal(mlfs_alias_history(f->s, &f->repo, name, &h, &n), 0);
	mlfs_audit_records_free(h, n);
	return n;
}

static void assert_at(struct fixture *f, const char *name,
		      const struct mlfs_id *want)
{
	struct mlfs_id got;

	assert_int_equal(mlfs_alias_get(f->s, f->repo.id, name, &got), 0);
	assert_memory_equal(got.b, want->b, MLFS_ID_LEN);
}

/* Run @sql on the store's database behind mlfs's back (closed first,
 * opened again after); the statement must change a row. */
static void db_exec(struct fixture *f, const char *sql)
{
	char path[PATH_MAX];
	sqlite3 *db;

	mlfs_store_close(f->s);
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
}

static void test_alias_create_then_move_needs_a_reason(void **state)
{
	struct fixture *f = *state;
	struct mlfs_alias_change ch;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					&ch), 0);
	assert_false(ch.had_old);
	assert_true(ch.changed);
	assert_at(f, "prod", &f->c1);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c2, NULL,
					&ch), -EINVAL);
	assert_non_null(strstr(mlfs_error_detail(), "needs a reason"));
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c2, "",
					&ch), -EINVAL);
	assert_at(f, "prod", &f->c1);
	assert_int_equal(history_len(f, "prod"), 1);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c2,
					"promote", &ch), 0);
	assert_true(ch.had_old && ch.changed);
	assert_memory_equal(ch.old.b, f->c1.b, MLFS_ID_LEN);
	assert_at(f, "prod", &f->c2);
	assert_int_equal(history_len(f, "prod"), 2);
}

static void test_alias_move_to_its_target_records_nothing(void **state)
{
	struct fixture *f = *state;
	struct mlfs_alias_change ch;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					NULL), 0);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					&ch), 0);
	assert_false(ch.changed);
	assert_int_equal(history_len(f, "prod"), 1);
}

static void test_alias_never_shares_a_name_with_a_ref(void **state)
{
	struct fixture *f = *state;
	struct mlfs_id got;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "v1", &f->c2, NULL,
					NULL), -EEXIST);
	assert_non_null(strstr(mlfs_error_detail(), "taken by a tag"));
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "main", &f->c2, NULL,
					NULL), -EEXIST);
	assert_non_null(strstr(mlfs_error_detail(), "taken by a branch"));
	assert_int_equal(mlfs_alias_get(f->s, f->repo.id, "v1", &got),
			 -ENOENT);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					NULL), 0);
	assert_int_equal(mlfs_ref_create(f->s, f->repo.id, MLFS_REF_TAG,
					 "prod", &f->c2), -EEXIST);
	assert_non_null(strstr(mlfs_error_detail(), "taken by an alias"));
	assert_int_equal(mlfs_ref_create(f->s, f->repo.id, MLFS_REF_BRANCH,
					 "prod", &f->c2), -EEXIST);
	assert_int_equal(mlfs_ref_get(f->s, f->repo.id, MLFS_REF_TAG, "prod",
				      &got), -ENOENT);
	/* another repository's names are its own */
	assert_int_equal(mlfs_alias_set(f->s, &f->other, "v1", &f->o1, NULL,
					NULL), 0);
}

static void test_alias_target_must_be_of_its_repository(void **state)
{
	struct fixture *f = *state;
	struct mlfs_id got;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->o1, NULL,
					NULL), -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "is not a version of"));
	assert_int_equal(mlfs_alias_get(f->s, f->repo.id, "prod", &got),
			 -ENOENT);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "a/b", &f->c1, NULL,
					NULL), -EINVAL);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "..", &f->c1, NULL,
					NULL), -EINVAL);
}

static void test_alias_rollback_walks_the_stack(void **state)
{
	struct fixture *f = *state;
	struct mlfs_alias_change ch;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					NULL), 0);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c2, "2",
					NULL), 0);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c3, "3",
					NULL), 0);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", NULL,
					     &ch), -EINVAL);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "bad",
					     &ch), 0);
	assert_memory_equal(ch.old.b, f->c3.b, MLFS_ID_LEN);
	assert_memory_equal(ch.now.b, f->c2.b, MLFS_ID_LEN);
	/* a move after a rollback pushes; the next rollback pops it */
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c3, "3",
					NULL), 0);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "x",
					     NULL), 0);
	assert_at(f, "prod", &f->c2);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "x",
					     NULL), 0);
	assert_at(f, "prod", &f->c1);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "x",
					     NULL), -ENODATA);
	assert_at(f, "prod", &f->c1);
	assert_int_equal(history_len(f, "prod"), 7);
}

static void test_alias_delete_ends_the_history(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_record *h = NULL;
	struct mlfs_id got;
	size_t n = 0;

	assert_int_equal(mlfs_alias_delete(f->s, &f->repo, "prod", "x", NULL),
			 -ENOENT);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					NULL), 0);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c2, "2",
					NULL), 0);
	assert_int_equal(mlfs_alias_delete(f->s, &f->repo, "prod", NULL, NULL),
			 -EINVAL);
	assert_int_equal(mlfs_alias_delete(f->s, &f->repo, "prod", "gone",
					   NULL), 0);
	assert_int_equal(mlfs_alias_get(f->s, f->repo.id, "prod", &got),
			 -ENOENT);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "x",
					     NULL), -ENOENT);
	assert_int_equal(mlfs_alias_history(f->s, &f->repo, "prod", &h, &n),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(h[2].op, "alias-delete");
	assert_true(h[2].has_old && !h[2].has_new);
	assert_string_equal(h[2].message, "gone");
	assert_string_equal(h[2].ref, "alias:prod");
	mlfs_audit_records_free(h, n);
	/* made again: a new stack with nothing before */
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c3, NULL,
					NULL), 0);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "x",
					     NULL), -ENODATA);
}

static int resolve(struct fixture *f, const char *ref,
		   struct mlfs_resolved *res)
{
	struct mlfs_refspec spec;
	const char *why;
	int r;

	assert_int_equal(mlfs_refspec_parse(ref, 0, &spec, &why), 0);
	r = mlfs_resolve(f->s, &spec, res, NULL, NULL);
	mlfs_refspec_release(&spec);
	return r;
}

static void test_alias_resolves_as_a_movable_name(void **state)
{
	struct fixture *f = *state;
	struct mlfs_resolved res;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c3, NULL,
					NULL), 0);
	assert_int_equal(resolve(f, "t/m@prod", &res), 0);
	assert_int_equal(res.rev_kind, MLFS_REF_ALIAS);
	assert_false(res.immutable);
	assert_memory_equal(res.commit.b, f->c3.b, MLFS_ID_LEN);
	assert_int_equal(resolve(f, "t/m@prod~2", &res), 0);
	assert_memory_equal(res.commit.b, f->c1.b, MLFS_ID_LEN);
	assert_int_equal(resolve(f, "t/m@prod@{2024-01-01}", &res), -EINVAL);
	assert_int_equal(resolve(f, "t/o@prod", &res), -ENOENT);
}

/* A store written otherwise (the rows made below the checks that keep
 * names apart): tag, then branch, then alias, as documented. */
static void test_alias_loses_to_a_tag_and_a_branch_of_its_name(void **state)
{
	struct fixture *f = *state;
	struct mlfs_resolved res;

	assert_int_equal(mlfs_ref_create(f->s, f->repo.id, MLFS_REF_BRANCH,
					 "dev", &f->c2), 0);
	assert_int_equal(mlfs_meta_alias_set(f->s->meta, f->repo.id, "v1",
					     &f->c3), 0);
	assert_int_equal(mlfs_meta_alias_set(f->s->meta, f->repo.id, "dev",
					     &f->c3), 0);
	assert_int_equal(resolve(f, "t/m@v1", &res), 0);
	assert_int_equal(res.rev_kind, MLFS_REF_TAG);
	assert_memory_equal(res.commit.b, f->c1.b, MLFS_ID_LEN);
	assert_int_equal(resolve(f, "t/m@dev", &res), 0);
	assert_int_equal(res.rev_kind, MLFS_REF_BRANCH);
	assert_memory_equal(res.commit.b, f->c2.b, MLFS_ID_LEN);
}

static void test_alias_damaged_row_is_an_error_naming_it(void **state)
{
	struct fixture *f = *state;
	struct mlfs_resolved res;
	struct mlfs_alias *v = NULL;
	struct mlfs_id got;
	size_t n = 0;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					NULL), 0);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "beta", &f->c2, NULL,
					NULL), 0);
	db_exec(f, "UPDATE aliases SET commit_id = (SELECT commit_id FROM "
		   "aliases WHERE name = 'beta') WHERE name = 'prod'");
	assert_int_equal(mlfs_alias_get(f->s, f->repo.id, "prod", &got),
			 -EIO);
	assert_non_null(strstr(mlfs_error_detail(), "alias 'prod' of 't/m'"));
	assert_non_null(strstr(mlfs_error_detail(), "check value mismatch"));
	assert_int_equal(resolve(f, "t/m@prod", &res), -EIO);
	assert_int_equal(mlfs_alias_list(f->s, f->repo.id, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "beta");
	assert_false(v[0].damaged);
	assert_string_equal(v[1].name, "prod");
	assert_true(v[1].damaged);
	free(v);
	/* never moved or rolled back over the damage */
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c3, "x",
					NULL), -EIO);
	assert_int_equal(mlfs_alias_rollback(f->s, &f->repo, "prod", "x",
					     NULL), -EIO);
}

static void test_alias_row_its_history_does_not_lead_to(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_record *h = NULL;
	size_t n = 0;

	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c1, NULL,
					NULL), 0);
	assert_int_equal(mlfs_alias_set(f->s, &f->repo, "prod", &f->c2, "2",
					NULL), 0);
	db_exec(f, "DELETE FROM aliases WHERE name = 'prod'");
	assert_int_equal(mlfs_alias_history(f->s, &f->repo, "prod", &h, &n),
			 -EIO);
	assert_non_null(strstr(mlfs_error_detail(), "is missing"));
	assert_null(h);
	assert_int_equal(n, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_alias_create_then_move_needs_a_reason),
		T(test_alias_move_to_its_target_records_nothing),
		T(test_alias_never_shares_a_name_with_a_ref),
		T(test_alias_target_must_be_of_its_repository),
		T(test_alias_rollback_walks_the_stack),
		T(test_alias_delete_ends_the_history),
		T(test_alias_resolves_as_a_movable_name),
		T(test_alias_loses_to_a_tag_and_a_branch_of_its_name),
		T(test_alias_damaged_row_is_an_error_naming_it),
		T(test_alias_row_its_history_does_not_lead_to),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
