/*
 * test_track.c - remote-tracking refs (meta_track.c, schema 6): rows set,
 * replaced, listed and cleared; every read checks the row's check value
 * (a changed commit, remote or branch is -EIO naming the ref); the
 * resolver reads "NS/NAME@REMOTE/BRANCH" from them, and "@X/Y" with a
 * path allowed is rev X and path Y when the store has no remote X.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "meta.h"
#include "mlfs/import.h"
#include "mlfs/remote.h"
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
	struct mlfs_id c1, c2, o1;
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

static void add_remote(struct fixture *f, const char *name)
{
	struct mlfs_remote r;

	assert_int_equal(mlfs_remote_make(name, "s3://bkt/p", NULL, NULL,
					  false, &r), 0);
	assert_int_equal(mlfs_remote_add(f->s, &r), 0);
	mlfs_remote_release(&r);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	TESTUTIL_STORE_NEW(f, "track");
	import(f, "m", "one\n", "v1", &f->c1);
	import(f, "m", "two\n", NULL, &f->c2);
	import(f, "o", "other\n", NULL, &f->o1);
	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &f->repo), 0);
	assert_int_equal(mlfs_repo_get(f->s, "t", "o", &f->other), 0);
	add_remote(f, "up");
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

static void sql(struct fixture *f, const char *q)
{
	assert_int_equal(sqlite3_exec(mlfs_meta_db(f->s->meta), q, NULL, NULL,
				      NULL), SQLITE_OK);
}

static void test_track_set_get_list_clear(void **state)
{
	struct fixture *f = *state;
	struct mlfs_meta *m = f->s->meta;
	struct mlfs_track *v;
	struct mlfs_id got;
	size_t n;

	assert_int_equal(mlfs_meta_track_get(m, "up", f->repo.id, "main",
					     &got), -ENOENT);
	assert_int_equal(mlfs_meta_track_set(m, "up", f->repo.id, "main",
					     &f->c1), 0);
	assert_int_equal(mlfs_meta_track_set(m, "up", f->repo.id, "dev",
					     &f->c2), 0);
	assert_int_equal(mlfs_meta_track_set(m, "up", f->other.id, "main",
					     &f->o1), 0);
	assert_int_equal(mlfs_meta_track_set(m, "b", f->repo.id, "main",
					     &f->c2), 0);
	/* replace: a forced push moved it backwards, the row follows */
	assert_int_equal(mlfs_meta_track_set(m, "up", f->repo.id, "main",
					     &f->c2), 0);
	assert_int_equal(mlfs_meta_track_set(m, "up", f->repo.id, "main",
					     &f->c1), 0);
	assert_int_equal(mlfs_meta_track_get(m, "up", f->repo.id, "main",
					     &got), 0);
	assert_memory_equal(got.b, f->c1.b, MLFS_ID_LEN);
	assert_int_equal(mlfs_meta_track_set(m, "up", 9999, "main", &f->c1),
			 -EINVAL);
	/* one repository: by remote, then branch */
	assert_int_equal(mlfs_track_list(f->s, NULL, f->repo.id, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].remote, "b");
	assert_string_equal(v[1].remote, "up");
	assert_string_equal(v[1].branch, "dev");
	assert_string_equal(v[2].branch, "main");
	assert_string_equal(v[2].ns, "t");
	assert_string_equal(v[2].name, "m");
	assert_false(v[2].damaged);
	assert_memory_equal(v[2].commit.b, f->c1.b, MLFS_ID_LEN);
	free(v);
	assert_int_equal(mlfs_track_list(f->s, "up", 0, &v, &n), 0);
	assert_int_equal(n, 3);
	free(v);
	/* clear one repository of a remote, then the whole remote */
	assert_int_equal(mlfs_meta_track_clear(m, "up", f->other.id), 0);
	assert_int_equal(mlfs_track_list(f->s, "up", 0, &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	assert_int_equal(mlfs_meta_track_clear(m, "up", 0), 0);
	assert_int_equal(mlfs_track_list(f->s, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].remote, "b");
	free(v);
}

static void test_track_damaged_row_is_an_error_naming_it(void **state)
{
	struct fixture *f = *state;
	struct mlfs_meta *m = f->s->meta;
	struct mlfs_track *v;
	struct mlfs_id got;
	size_t n;

	assert_int_equal(mlfs_meta_track_set(m, "up", f->repo.id, "main",
					     &f->c1), 0);
	/* pointed at another commit of the repository */
	sql(f, "UPDATE tracking SET commit_id = (SELECT commit_id FROM refs "
	       "WHERE kind = 'b' AND name = 'main' AND repo_id = "
	       "tracking.repo_id)");
	mlfs_error_clear();
	assert_int_equal(mlfs_meta_track_get(m, "up", f->repo.id, "main",
					     &got), -EIO);
	assert_non_null(strstr(mlfs_error_detail(), "tracking ref 'up/main' "
			       "of 't/m'"));
	assert_non_null(strstr(mlfs_error_detail(), "check value mismatch"));
	assert_int_equal(mlfs_track_list(f->s, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].damaged);
	free(v);
	/* a good row moved to another remote, or renamed, fails too */
	assert_int_equal(mlfs_meta_track_set(m, "up", f->repo.id, "main",
					     &f->c1), 0);
	sql(f, "UPDATE tracking SET remote = 'b'");
	assert_int_equal(mlfs_meta_track_get(m, "b", f->repo.id, "main",
					     &got), -EIO);
	sql(f, "UPDATE tracking SET remote = 'up', branch = 'dev'");
	assert_int_equal(mlfs_meta_track_get(m, "up", f->repo.id, "dev",
					     &got), -EIO);
	/* no check value at all */
	sql(f, "UPDATE tracking SET branch = 'main', mac = NULL");
	assert_int_equal(mlfs_meta_track_get(m, "up", f->repo.id, "main",
					     &got), -EIO);
	mlfs_error_clear();
}

static int resolve(struct fixture *f, const char *ref, unsigned flags,
		   struct mlfs_resolved *res, char *path, size_t size)
{
	struct mlfs_refspec spec;
	const char *why;
	int r;

	assert_int_equal(mlfs_refspec_parse(ref, flags | MLFS_REFSPEC_REMOTE,
					    &spec, &why), 0);
	assert_int_equal(mlfs_refspec_settle(f->s, &spec), 0);
	assert_null(spec.alt_path);
	r = mlfs_resolve(f->s, &spec, res, NULL, NULL);
	if (path)
		snprintf(path, size, "%s", spec.path);
	mlfs_refspec_release(&spec);
	mlfs_error_clear();
	return r;
}

static void test_track_resolves_remote_branch(void **state)
{
	struct fixture *f = *state;
	struct mlfs_resolved res;
	char path[64];

	assert_int_equal(mlfs_meta_track_set(f->s->meta, "up", f->repo.id,
					     "main", &f->c2), 0);
	assert_int_equal(resolve(f, "t/m@up/main", 0, &res, NULL, 0), 0);
	assert_int_equal(res.rev_kind, MLFS_REF_TRACK);
	assert_false(res.immutable);
	assert_memory_equal(res.commit.b, f->c2.b, MLFS_ID_LEN);
	assert_int_equal(resolve(f, "t/m@up/main~1", 0, &res, NULL, 0), 0);
	assert_memory_equal(res.commit.b, f->c1.b, MLFS_ID_LEN);
	assert_int_equal(resolve(f, "t/m@up/main~2", 0, &res, NULL, 0),
			 -ENOENT);
	assert_int_equal(resolve(f, "t/m@up/dev", 0, &res, NULL, 0), -ENOENT);
	assert_int_equal(resolve(f, "t/o@up/main", 0, &res, NULL, 0), -ENOENT);
	assert_int_equal(resolve(f, "t/m@nosuch/main", 0, &res, NULL, 0),
			 -ENOENT);
	assert_int_equal(resolve(f, "t/m@up/", 0, &res, NULL, 0), -EINVAL);
	/* no remote 'v1' but a tag: a path where none is allowed */
	assert_int_equal(resolve(f, "t/m@v1/f", 0, &res, NULL, 0), -EINVAL);
	/* with a path: the remote's branch, then the path */
	assert_int_equal(resolve(f, "t/m@up/main~1/f", MLFS_REFSPEC_PATH,
				 &res, path, sizeof(path)), 0);
	assert_memory_equal(res.commit.b, f->c1.b, MLFS_ID_LEN);
	assert_string_equal(path, "f");
	/* no remote 'v1': tag v1 and path "main/f", as before */
	assert_int_equal(resolve(f, "t/m@v1/main/f", MLFS_REFSPEC_PATH,
				 &res, path, sizeof(path)), 0);
	assert_int_equal(res.rev_kind, MLFS_REF_TAG);
	assert_memory_equal(res.commit.b, f->c1.b, MLFS_ID_LEN);
	assert_string_equal(path, "main/f");
	/* ... and "@v1/" without a path is still tag v1 */
	assert_int_equal(resolve(f, "t/m@v1/", 0, &res, NULL, 0), 0);
	assert_int_equal(res.rev_kind, MLFS_REF_TAG);
}

static void test_track_remote_remove_drops_rows(void **state)
{
	struct fixture *f = *state;
	struct mlfs_track *v;
	size_t n;

	add_remote(f, "b");
	assert_int_equal(mlfs_meta_track_set(f->s->meta, "up", f->repo.id,
					     "main", &f->c2), 0);
	assert_int_equal(mlfs_meta_track_set(f->s->meta, "b", f->repo.id,
					     "main", &f->c1), 0);
	assert_int_equal(mlfs_remote_remove(f->s, "up"), 0);
	assert_int_equal(mlfs_track_list(f->s, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].remote, "b");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_track_set_get_list_clear,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_track_damaged_row_is_an_error_naming_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_track_resolves_remote_branch, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_track_remote_remove_drops_rows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
