/*
 * test_verify.c - every row read from mlfs.db is verified before use:
 * damage made with SQL behind the library's back (a tree byte, two ids
 * swapped in a re-encoded tree, another file's chunk list, a size, a
 * commit field, a ref, a history entry) is -EIO naming the object, never
 * another file's bytes. Also the schema 2 migration of a schema 1 store.
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

#include "mlfs/content.h"
#include "mlfs/import.h"
#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "objid.h"
#include "store_impl.h"
#include "testutil.h"

struct fixture {
	char root[64];
	char store_dir[128];
	char src[128];
	struct mlfs_store *s;
	struct mlfs_id commit;        /* t/m main, tag v1 */
	struct mlfs_id root_tree;
	struct mlfs_id a, b;          /* digests of a.txt and b.txt */
};

static void write_file(const char *dir, const char *name, const char *text)
{
	testutil_write_file(dir, name, text, strlen(text));
}

static void entry_id(struct fixture *f, const char *name, struct mlfs_id *id)
{
	struct mlfs_entry_copy e;

	assert_int_equal(mlfs_tree_lookup_path(f->s, &f->root_tree, name, &e),
			 0);
	*id = e.e.id;
	mlfs_entry_copy_release(&e);
}

/* t/m: a.txt and b.txt of the same size, different bytes. */
static int setup(void **state)
{
	struct mlfs_import_opts o = { .tag = "v1", .message = "test",
				      .author = "tester", .threads = 1 };
	struct mlfs_import_stats st;
	struct mlfs_commit c;
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	TESTUTIL_STORE_NEW(f, "verify");
	write_file(f->src, "a.txt", "aaaa\n");
	write_file(f->src, "b.txt", "bbbb\n");
	write_file(f->src, "c.txt", "a longer file\n");
	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st), 0);
	f->commit = st.commit;
	assert_int_equal(mlfs_commit_get(f->s, &f->commit, &c), 0);
	f->root_tree = c.tree;
	mlfs_commit_release(&c);
	entry_id(f, "a.txt", &f->a);
	entry_id(f, "b.txt", &f->b);
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

/* Run @sql on the closed store's database (?1, ?2 bound to @x, @y when
 * given), then reopen the store for reading. */
static void damage(struct fixture *f, const char *sql,
		   const struct mlfs_id *x, const struct mlfs_id *y)
{
	char path[PATH_MAX + 16];
	sqlite3_stmt *st;
	sqlite3 *db;

	mlfs_store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	if (x)
		sqlite3_bind_blob(st, 1, x->b, MLFS_ID_LEN, SQLITE_STATIC);
	if (y)
		sqlite3_bind_blob(st, 2, y->b, MLFS_ID_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_true(sqlite3_changes(db) >= 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), 0);
}

static void expect_detail(const char *want)
{
	const char *d = mlfs_error_detail();

	if (!strstr(d, want))
		fail_msg("error detail '%s' lacks '%s'", d, want);
}

static int resolve(struct fixture *f, const char *ref)
{
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	const char *why;
	int r;

	assert_int_equal(mlfs_refspec_parse(ref, 0, &spec, &why), 0);
	r = mlfs_resolve(f->s, &spec, &res, NULL, NULL);
	mlfs_refspec_release(&spec);
	return r;
}

static void test_verify_clean_store_reads(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *c = NULL;
	struct mlfs_tree *t = NULL;

	assert_int_equal(mlfs_tree_load(f->s, &f->root_tree, &t), 0);
	assert_int_equal(t->n, 3);
	mlfs_tree_free(t);
	assert_int_equal(mlfs_content_load(f->s, &f->a, 0, &c), 0);
	assert_int_equal(c->size, 5);
	mlfs_content_free(c);
	assert_int_equal(resolve(f, "t/m@v1"), 0);
	assert_int_equal(resolve(f, "t/m"), 0);
}

static void test_verify_tree_byte_flip_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_tree *t = NULL;
	char hex[MLFS_ID_HEX_LEN + 1], want[80];

	/* Byte 46 (1-based) is the '.' of the first entry's name "a.txt"
	 * (5-byte header, name at entry offset 39): "aztxt" still sorts
	 * first, so the tree decodes and only its hash tells. A fixed name
	 * byte, not an mtime byte, so the flip never writes the byte that
	 * is already there. */
	damage(f, "UPDATE trees SET data = substr(data, 1, 45) || x'7a' || "
		  "substr(data, 47) WHERE id = ?1 AND "
		  "substr(data, 45, 5) = CAST('a.txt' AS BLOB)",
	       &f->root_tree, NULL);
	assert_int_equal(mlfs_tree_load(f->s, &f->root_tree, &t), -EIO);
	assert_null(t);
	mlfs_id_to_hex(&f->root_tree, hex);
	snprintf(want, sizeof(want), "tree %s: hash mismatch", hex);
	expect_detail(want);
}

/* Swap the content ids of the two same-size files inside the root tree
 * and store the re-encoded tree under the old id: it decodes, and names
 * the other file's bytes; only its hash tells. */
static void test_verify_swapped_ids_in_tree_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry e[3];
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_tree *t = NULL, *t2 = NULL;
	struct mlfs_entry_copy ent;
	char path[PATH_MAX + 16];
	sqlite3_stmt *st;
	sqlite3 *db;

	assert_int_equal(mlfs_tree_load(f->s, &f->root_tree, &t), 0);
	memcpy(e, t->e, sizeof(e));
	e[0].id = f->b;
	e[1].id = f->a;
	assert_int_equal(mlfs_tree_encode(e, 3, &b), 0);
	assert_int_equal(mlfs_tree_decode(b.data, b.len, &t2), 0);
	mlfs_tree_free(t2);
	mlfs_store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE trees SET data = ?2 "
					    "WHERE id = ?1", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, f->root_tree.b, MLFS_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, b.data, (int)b.len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	mlfs_buf_release(&b);
	mlfs_tree_free(t);

	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), 0);
	assert_int_equal(mlfs_tree_lookup_path(f->s, &f->root_tree, "a.txt",
					       &ent), -EIO);
	mlfs_entry_copy_release(&ent);
	expect_detail("hash mismatch");
}

static void test_verify_other_files_chunk_list_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *c = NULL;

	damage(f, "UPDATE contents SET chunks = (SELECT chunks FROM contents "
		  "WHERE digest = ?2) WHERE digest = ?1", &f->a, &f->b);
	assert_int_equal(mlfs_content_load(f->s, &f->a, 0, &c), -EIO);
	assert_null(c);
	expect_detail("does not match its check value");
	/* The file whose list was copied is untouched. */
	assert_int_equal(mlfs_content_load(f->s, &f->b, 0, &c), 0);
	mlfs_content_free(c);
}

static void test_verify_changed_size_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *c = NULL;

	damage(f, "UPDATE contents SET size = size + 1 WHERE digest = ?1",
	       &f->a, NULL);
	assert_int_equal(mlfs_content_load(f->s, &f->a, 0, &c), -EIO);
	damage(f, "UPDATE contents SET mac = NULL WHERE digest = ?1", &f->b,
	       NULL);
	assert_int_equal(mlfs_content_load(f->s, &f->b, 0, &c), -EIO);
	expect_detail("check value missing");
}

static void test_verify_commit_row_change_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_commit c;
	struct mlfs_commit *v = NULL;
	size_t n = 0;

	damage(f, "UPDATE commits SET message = 'forged' WHERE id = ?1",
	       &f->commit, NULL);
	assert_int_equal(mlfs_commit_get(f->s, &f->commit, &c), -EIO);
	assert_null(c.author);
	expect_detail("hash mismatch");
	assert_int_equal(resolve(f, "t/m@v1"), -EIO);
	assert_int_equal(resolve(f, "t/m"), -EIO);
	/* Lists keep the row, flagged, for fsck to name. */
	assert_int_equal(mlfs_commit_list_all(f->s, 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].damaged);
	mlfs_commit_list_free(v, n);
}

static void test_verify_commit_time_and_tree_change_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_commit c;

	damage(f, "UPDATE commits SET time = time - 1 WHERE id = ?1",
	       &f->commit, NULL);
	assert_int_equal(mlfs_commit_get(f->s, &f->commit, &c), -EIO);
	damage(f, "UPDATE commits SET time = time + 1, tree = ?2 "
		  "WHERE id = ?1", &f->commit, &f->a);
	assert_int_equal(mlfs_commit_get(f->s, &f->commit, &c), -EIO);
}

static void test_verify_moved_tag_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_import_opts o = { .message = "second", .author = "t",
				      .threads = 1 };
	struct mlfs_import_stats st;
	struct mlfs_ref *refs = NULL;
	struct mlfs_repo repo;
	size_t n = 0, bad = 0;

	write_file(f->src, "a.txt", "AAAA\n");
	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st), 0);
	/* Point the tag at the newer commit of the same repository. */
	damage(f, "UPDATE refs SET commit_id = ?1 WHERE kind = 't' AND "
		  "name = 'v1'", &st.commit, NULL);
	assert_int_equal(resolve(f, "t/m@v1"), -EIO);
	expect_detail("tag 'v1'");
	assert_int_equal(resolve(f, "t/m"), 0);
	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &repo), 0);
	assert_int_equal(mlfs_ref_list(f->s, repo.id, 0, &refs, &n), 0);
	for (size_t i = 0; i < n; i++)
		bad += refs[i].damaged;
	assert_int_equal(n, 2);
	assert_int_equal(bad, 1);
	free(refs);
}

static void test_verify_history_entry_change_is_eio(void **state)
{
	struct fixture *f = *state;

	damage(f, "UPDATE reflog SET time = time - 86400", NULL, NULL);
	assert_int_equal(resolve(f, "t/m@{2999-01-01}"), -EIO);
	expect_detail("history of branch 'main'");
	/* The branch head itself is its ref row, still sound. */
	assert_int_equal(resolve(f, "t/m"), 0);
}

/* A newer entry whose time was moved past the date asked for would make
 * an older head the answer: every newer entry is verified on the way. */
static void test_verify_history_time_moved_forward_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_import_opts o = { .message = "second", .author = "t",
				      .threads = 1 };
	struct mlfs_import_stats st;

	write_file(f->src, "a.txt", "AAAA\n");
	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st), 0);
	assert_int_equal(resolve(f, "t/m@{2999-01-01}"), 0);
	damage(f, "UPDATE reflog SET time = 32503680000 WHERE id = "
		  "(SELECT max(id) FROM reflog)", NULL, NULL);
	assert_int_equal(resolve(f, "t/m@{2999-01-01}"), -EIO);
	expect_detail("history of branch 'main'");
}

/* A repository renamed in place: its commits no longer recompute. */
static void test_verify_renamed_repo_is_eio(void **state)
{
	struct fixture *f = *state;

	damage(f, "UPDATE repos SET name = 'n'", NULL, NULL);
	assert_int_equal(resolve(f, "t/n@v1"), -EIO);
}

/* Make the store look like schema 1 (no check values). */
static void downgrade(struct fixture *f, const char *extra)
{
	char path[PATH_MAX + 16], *err = NULL;
	sqlite3 *db;

	mlfs_store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"ALTER TABLE contents DROP COLUMN mac;"
		"ALTER TABLE contents DROP COLUMN locs;"
		"ALTER TABLE refs DROP COLUMN mac;"
		"ALTER TABLE reflog DROP COLUMN mac;"
		"DROP INDEX audit_repo; DROP TABLE aliases; DROP TABLE inputs;"
		"ALTER TABLE metadata DROP COLUMN mac;"
		"ALTER TABLE audit DROP COLUMN uid;"
		"ALTER TABLE audit DROP COLUMN host;"
		"ALTER TABLE audit DROP COLUMN repo;"
		"ALTER TABLE audit DROP COLUMN ref;"
		"ALTER TABLE audit DROP COLUMN old_commit;"
		"ALTER TABLE audit DROP COLUMN new_commit;"
		"ALTER TABLE audit DROP COLUMN message;"
		"ALTER TABLE audit DROP COLUMN mac;"
		"ALTER TABLE audit DROP COLUMN op;"
		"DROP TABLE remote_vmeta; DROP TABLE tracking; DROP TABLE remotes;"
		"DROP TABLE remote_packs;"
		"PRAGMA user_version = 1;", NULL, NULL, &err), SQLITE_OK);
	if (extra)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, &err),
				 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_verify_schema1_store_is_estale_then_upgrades(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *c = NULL;

	downgrade(f, NULL);
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), -ESTALE);
	assert_null(f->s);
	/* A second read-only open still finds it old: reads never migrate. */
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), -ESTALE);
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
	mlfs_store_close(f->s);
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY,
					 &f->s), 0);
	assert_int_equal(mlfs_content_load(f->s, &f->a, 0, &c), 0);
	mlfs_content_free(c);
	assert_int_equal(resolve(f, "t/m@v1"), 0);
	assert_int_equal(resolve(f, "t/m@{2999-01-01}"), 0);
}

/* What was already damaged before the upgrade is not sealed as sound. */
static void test_verify_upgrade_leaves_damage_unsealed(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *c = NULL;

	downgrade(f, "UPDATE contents SET size = size + 7 WHERE "
		     "length(chunks) = 20 AND size = 5;"
		     "UPDATE commits SET message = 'forged';");
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
	assert_int_equal(mlfs_content_load(f->s, &f->a, 0, &c), -EIO);
	expect_detail("check value missing");
	assert_int_equal(mlfs_content_load(f->s, &f->b, 0, &c), -EIO);
	/* The tag pointed at a commit that no longer verifies. */
	assert_int_equal(resolve(f, "t/m@v1"), -EIO);
	expect_detail("tag 'v1'");
}

/* The locations a content row carries are its chunks' index entries;
 * without them a load uses the index; damaged, they are an error. */
static void test_verify_content_locations(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *c = NULL, *d = NULL;
	struct mlfs_chunk_loc *ix;

	assert_int_equal(mlfs_content_load(f->s, &f->a, MLFS_CONTENT_LOCATE,
					   &c), 0);
	assert_true(c->n >= 1);
	ix = calloc(c->n, sizeof(*ix));
	assert_non_null(ix);
	assert_int_equal(mlfs_meta_chunk_get_many(f->s->meta, c->ids, c->n,
						  ix, NULL), 0);
	for (size_t i = 0; i < c->n; i++) {
		assert_int_equal(c->locs[i].pack_id, ix[i].pack_id);
		assert_int_equal(c->locs[i].offset, ix[i].offset);
		assert_int_equal(c->locs[i].stored_len, ix[i].stored_len);
		assert_int_equal(c->locs[i].raw_len, ix[i].raw_len);
		assert_int_equal(c->locs[i].codec, ix[i].codec);
	}
	free(ix);
	damage(f, "UPDATE contents SET locs = NULL WHERE digest = ?1", &f->a,
	       NULL);
	assert_int_equal(mlfs_content_load(f->s, &f->a, MLFS_CONTENT_LOCATE,
					   &d), 0);
	for (size_t i = 0; i < c->n; i++) { /* fields: structs have padding */
		assert_int_equal(d->locs[i].pack_id, c->locs[i].pack_id);
		assert_int_equal(d->locs[i].offset, c->locs[i].offset);
		assert_int_equal(d->locs[i].stored_len, c->locs[i].stored_len);
		assert_int_equal(d->locs[i].codec, c->locs[i].codec);
	}
	mlfs_content_free(d);
	mlfs_content_free(c);
	damage(f, "UPDATE contents SET locs = x'00' WHERE digest = ?1", &f->a,
	       NULL);
	assert_int_equal(mlfs_content_load(f->s, &f->a, MLFS_CONTENT_LOCATE,
					   &d), -EIO);
	expect_detail("chunk locations do not match the chunk list");
	/* Without LOCATE the row's locations are not read. */
	assert_int_equal(mlfs_content_load(f->s, &f->a, 0, &d), 0);
	mlfs_content_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_verify_clean_store_reads),
		T(test_verify_tree_byte_flip_is_eio),
		T(test_verify_swapped_ids_in_tree_is_eio),
		T(test_verify_other_files_chunk_list_is_eio),
		T(test_verify_changed_size_is_eio),
		T(test_verify_commit_row_change_is_eio),
		T(test_verify_commit_time_and_tree_change_is_eio),
		T(test_verify_moved_tag_is_eio),
		T(test_verify_history_entry_change_is_eio),
		T(test_verify_history_time_moved_forward_is_eio),
		T(test_verify_renamed_repo_is_eio),
		T(test_verify_schema1_store_is_estale_then_upgrades),
		T(test_verify_upgrade_leaves_damage_unsealed),
		T(test_verify_content_locations),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
