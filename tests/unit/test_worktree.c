/*
 * test_worktree.c - working trees (worktree.h) without FUSE: the edit
 * lock, edits through mlfs_wt_* (create, write through the data file,
 * rename, remove, link, setattr), status entries, snapshot (the commit
 * and its tree's bytes), a snapshot with nothing to commit, discard, and
 * a re-opened store seeing the snapshot as the new base with no pending
 * marker left in work.db. A real store in a temp directory.
 */
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
#include <sqlite3.h>

#include "mlfs/content.h"
#include "mlfs/import.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "mlfs/worktree.h"
#include "testutil.h"

#define BIG_LEN 100000u

struct fixture {
	char root[200];
	char dir[256];
	char src[256];
	struct mlfs_store *s;
	struct mlfs_work *w;
	struct mlfs_wt *wt;
	struct mlfs_id base;   /* the imported head of t/r */
	uint64_t root_ino;
	uint8_t big[BIG_LEN];
};

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

/* t/r: big.bin (100000 random bytes), a.txt "hello\n", sub/b.txt "bee\n" */
static int setup(void **state)
{
	struct mlfs_import_opts io = { .message = "base", .author = "t",
				       .threads = 1 };
	struct mlfs_import_stats st;
	struct mlfs_wt_attr ra;
	char sub[300];
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/mlfs-test-worktree-XXXXXX",
		 testutil_tmp_base());
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->root);
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	assert_int_equal(mkdir(f->src, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/sub", f->src);
	assert_int_equal(mkdir(sub, 0755), 0);
	fill_random(f->big, BIG_LEN, 7);
	testutil_write_file(f->src, "big.bin", f->big, BIG_LEN);
	testutil_write_file(f->src, "a.txt", "hello\n", 6);
	testutil_write_file(f->src, "sub/b.txt", "bee\n", 4);
	assert_int_equal(mlfs_store_init(f->dir, NULL), 0);
	assert_int_equal(mlfs_store_open(f->dir, 0, &f->s), 0);
	assert_int_equal(mlfs_import(f->s, f->src, "t", "r", &io, &st), 0);
	f->base = st.commit;
	assert_int_equal(mlfs_work_open(f->s, MLFS_WORK_EDIT, &f->w), 0);
	assert_non_null(f->w);
	assert_int_equal(mlfs_wt_get(f->w, "t", "r", NULL, &f->wt), 0);
	assert_int_equal(mlfs_wt_root(f->wt, &ra), 0);
	assert_int_equal(ra.type, MLFS_ENTRY_DIR);
	f->root_ino = ra.ino;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mlfs_work_close(f->w);
	mlfs_store_close(f->s);
	testutil_rm_rf(f->root);
	free(f);
	return 0;
}

static void lookup(struct fixture *f, uint64_t parent, const char *name,
		   struct mlfs_wt_attr *a)
{
	assert_int_equal(mlfs_wt_lookup(f->wt, parent, name, a, NULL), 0);
}

/* Write @len bytes at @off into file @ino the way the daemon does. */
static void wt_write(struct fixture *f, uint64_t ino, const void *p,
		     size_t len, off_t off, bool trunc)
{
	struct mlfs_wt_file *fl = NULL;

	assert_int_equal(mlfs_wt_open(f->wt, ino, true, trunc, &fl), 0);
	assert_non_null(fl);
	assert_true(fl->fd >= 0);
	assert_int_equal(mlfs_wt_will_write(fl), 0);
	assert_int_equal(pwrite(fl->fd, p, len, off), (ssize_t)len);
	assert_int_equal(mlfs_wt_fsync(fl, false), 0);
	mlfs_wt_close(fl, true);
}

/* Create file @name in @parent holding @s. */
static uint64_t new_file(struct fixture *f, uint64_t parent,
			 const char *name, const char *s)
{
	struct mlfs_wt_attr a;

	assert_int_equal(mlfs_wt_mknode(f->wt, parent, name, MLFS_ENTRY_FILE,
					0644, 0, 0, NULL, &a), 0);
	assert_int_equal(a.type, MLFS_ENTRY_FILE);
	assert_int_equal(a.size, 0);
	wt_write(f, a.ino, s, strlen(s), 0, false);
	return a.ino;
}

static void snapshot(struct fixture *f, const char *tag,
		     struct mlfs_wt_snapshot_result *res)
{
	struct mlfs_wt_snapshot_opts o = { .tag = tag, .message = "snap",
					   .author = "t", .threads = 1 };

	memset(res, 0, sizeof(*res));
	assert_int_equal(mlfs_wt_snapshot(f->wt, &o, res), 0);
}

static int head(struct fixture *f, struct mlfs_id *id)
{
	struct mlfs_repo repo;
	int r = mlfs_repo_get(f->s, "t", "r", &repo);

	if (r < 0)
		return r;
	return mlfs_ref_get(f->s, repo.id, MLFS_REF_BRANCH, "main", id);
}

/* The bytes of @path in commit @c, NUL-terminated, malloc'd; its entry
 * in *e when @e. NULL (and *err) when the path is not in the tree. */
static char *version_file(struct fixture *f, const struct mlfs_id *c,
			  const char *path, size_t *len,
			  struct mlfs_entry_copy *e, int *err)
{
	struct mlfs_commit cm;
	struct mlfs_entry_copy ec;
	struct mlfs_content *ct = NULL;
	char *buf;
	int r;

	assert_int_equal(mlfs_commit_get(f->s, c, &cm), 0);
	r = mlfs_tree_lookup_path(f->s, &cm.tree, path, &ec);
	mlfs_commit_release(&cm);
	if (err)
		*err = r;
	if (r < 0)
		return NULL;
	assert_int_equal(ec.e.type, MLFS_ENTRY_FILE);
	assert_int_equal(mlfs_content_load(f->s, &ec.e.id, MLFS_CONTENT_LOCATE,
					   &ct), 0);
	buf = calloc(1, ec.e.size + 1);
	assert_non_null(buf);
	assert_int_equal(mlfs_content_read(f->s, ct, buf, ec.e.size, 0),
			 (ssize_t)ec.e.size);
	*len = ec.e.size;
	mlfs_content_free(ct);
	if (e)
		*e = ec;
	else
		mlfs_entry_copy_release(&ec);
	return buf;
}

static const struct mlfs_wt_status_entry *
find_change(const struct mlfs_wt_status *st, const char *path)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->v[i].path, path) == 0)
			return &st->v[i];
	return NULL;
}

/* ---- the edit lock, wt_get */

static void test_work_open_edit_twice_returns_ebusy(void **state)
{
	struct fixture *f = *state;
	struct mlfs_work *w2 = NULL;

	assert_int_equal(mlfs_work_open(f->s, MLFS_WORK_EDIT, &w2), -EBUSY);
	assert_null(w2);
	/* reading needs no lock */
	assert_int_equal(mlfs_work_open(f->s, 0, &w2), 0);
	mlfs_work_close(w2);
}

static void test_work_lock_is_released_by_close(void **state)
{
	struct fixture *f = *state;
	struct mlfs_work *w2 = NULL;

	mlfs_work_close(f->w);
	f->w = NULL;
	f->wt = NULL;
	assert_int_equal(mlfs_work_open(f->s, MLFS_WORK_EDIT, &w2), 0);
	assert_non_null(w2);
	f->w = w2;
}

static void test_wt_get_unknown_repository_returns_enoent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt *wt = NULL;

	assert_int_equal(mlfs_wt_get(f->w, "t", "nope", NULL, &wt), -ENOENT);
	assert_int_equal(mlfs_wt_get(f->w, "t", "r", "nobranch", &wt),
			 -ENOENT);
}

static void test_wt_get_shows_the_head_clean(void **state)
{
	struct fixture *f = *state;
	char ns[64], name[64], branch[64];
	struct mlfs_wt_attr a;
	struct mlfs_id base;
	bool has_base = false;

	mlfs_wt_describe(f->wt, ns, name, branch, &has_base, &base);
	assert_string_equal(ns, "t");
	assert_string_equal(name, "r");
	assert_string_equal(branch, "main");
	assert_true(has_base);
	assert_memory_equal(&base, &f->base, sizeof(base));
	assert_false(mlfs_wt_dirty(f->wt));
	lookup(f, f->root_ino, "big.bin", &a);
	assert_int_equal(a.size, BIG_LEN);
	assert_true(a.in_store);
	assert_int_equal(mlfs_wt_lookup(f->wt, f->root_ino, "missing", &a,
					NULL), -ENOENT);
}

static void test_wt_get_of_a_repository_without_commits_is_empty(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_opts o = { .author = "t", .threads = 1 };
	struct mlfs_wt_snapshot_result res = { 0 };
	struct mlfs_wt_dirent *v = NULL;
	struct mlfs_wt_attr ra, a;
	struct mlfs_wt *wt = NULL;
	struct mlfs_repo repo;
	size_t n = 99, len;
	char *p;


	assert_int_equal(mlfs_repo_create(f->s, "t", "empty", &repo), 0);
	assert_int_equal(mlfs_wt_get(f->w, "t", "empty", NULL, &wt), 0);
	assert_int_equal(mlfs_wt_root(wt, &ra), 0);
	assert_int_equal(mlfs_wt_list(wt, ra.ino, &v, &n), 0);
	assert_int_equal(n, 0);
	mlfs_wt_dirents_free(v, n);
	assert_int_equal(mlfs_wt_mknode(wt, ra.ino, "first", MLFS_ENTRY_FILE,
					0600, 0, 0, NULL, &a), 0);
	assert_int_equal(mlfs_wt_snapshot(wt, &o, &res), 0);
	assert_false(res.no_changes);
	assert_false(res.has_parent);
	p = version_file(f, &res.commit, "first", &len, NULL, NULL);
	assert_non_null(p);
	assert_int_equal(len, 0);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
}

/* ---- edits */

static void test_wt_new_file_is_written_and_snapshot(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_status st;
	struct mlfs_wt_attr a;
	struct mlfs_id h;
	size_t len;
	char *p;

	new_file(f, f->root_ino, "new.txt", "fresh bytes");
	assert_true(mlfs_wt_dirty(f->wt));
	lookup(f, f->root_ino, "new.txt", &a);
	assert_int_equal(a.size, 11);
	assert_false(a.in_store);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.v[0].change, MLFS_WT_ADDED);
	assert_string_equal(st.v[0].path, "new.txt");
	assert_int_equal(st.v[0].size, 11);
	assert_false(st.branch_moved);
	mlfs_wt_status_release(&st);

	snapshot(f, "v1", &res);
	assert_false(res.no_changes);
	assert_true(res.has_parent);
	assert_memory_equal(&res.parent, &f->base, sizeof(f->base));
	assert_int_equal(res.files_ingested, 1);
	assert_int_equal(res.bytes_ingested, 11);
	assert_int_equal(res.nopen, 0);
	assert_int_equal(head(f, &h), 0);
	assert_memory_equal(&h, &res.commit, sizeof(h));
	p = version_file(f, &res.commit, "new.txt", &len, NULL, NULL);
	assert_int_equal(len, 11);
	assert_memory_equal(p, "fresh bytes", 11);
	free(p);
	/* the untouched files are the same contents */
	p = version_file(f, &res.commit, "big.bin", &len, NULL, NULL);
	assert_int_equal(len, BIG_LEN);
	assert_memory_equal(p, f->big, BIG_LEN);
	free(p);
	mlfs_wt_snapshot_result_release(&res);

	/* clean again */
	assert_false(mlfs_wt_dirty(f->wt));
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 0);
	mlfs_wt_status_release(&st);
}

static void test_wt_write_into_a_stored_file_copies_it_first(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_status st;
	struct mlfs_wt_attr a;
	uint8_t want[BIG_LEN];
	size_t len;
	char *p;

	lookup(f, f->root_ino, "big.bin", &a);
	wt_write(f, a.ino, "XYZ", 3, 50000, false);
	memcpy(want, f->big, BIG_LEN);
	memcpy(want + 50000, "XYZ", 3);
	lookup(f, f->root_ino, "big.bin", &a);
	assert_int_equal(a.size, BIG_LEN);
	assert_false(a.in_store);

	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.v[0].change, MLFS_WT_MODIFIED);
	assert_string_equal(st.v[0].path, "big.bin");
	assert_int_equal(st.v[0].old_size, BIG_LEN);
	mlfs_wt_status_release(&st);

	snapshot(f, NULL, &res);
	p = version_file(f, &res.commit, "big.bin", &len, NULL, NULL);
	assert_int_equal(len, BIG_LEN);
	assert_memory_equal(p, want, BIG_LEN);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
}

static void test_wt_trunc_open_starts_empty(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_attr a;
	size_t len;
	char *p;

	lookup(f, f->root_ino, "a.txt", &a);
	wt_write(f, a.ino, "bye\n", 4, 0, true);
	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(a.size, 4);
	snapshot(f, NULL, &res);
	p = version_file(f, &res.commit, "a.txt", &len, NULL, NULL);
	assert_int_equal(len, 4);
	assert_memory_equal(p, "bye\n", 4);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
}

static void test_wt_rename_remove_link_in_status_and_tree(void **state)
{
	struct fixture *f = *state;
	const struct mlfs_wt_status_entry *e;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_attr a, sub, ln;
	struct mlfs_wt_status st;
	size_t len;
	int err;
	char *p;

	lookup(f, f->root_ino, "sub", &sub);
	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(mlfs_wt_rename(f->wt, f->root_ino, "a.txt", sub.ino,
					"moved.txt", 0), 0);
	lookup(f, sub.ino, "moved.txt", &ln);
	assert_int_equal(ln.ino, a.ino); /* the inode keeps its number */
	assert_int_equal(mlfs_wt_lookup(f->wt, f->root_ino, "a.txt", &a,
					NULL), -ENOENT);
	assert_int_equal(mlfs_wt_remove(f->wt, sub.ino, "b.txt", false), 0);
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "sub", true),
			 -ENOTEMPTY);
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "sub", false),
			 -EISDIR);
	lookup(f, f->root_ino, "big.bin", &a);
	assert_int_equal(mlfs_wt_link(f->wt, a.ino, sub.ino, "big-link", &ln),
			 0);
	assert_int_equal(ln.ino, a.ino);
	assert_int_equal(ln.nlink, 2);
	assert_int_equal(mlfs_wt_link(f->wt, sub.ino, f->root_ino, "dirlink",
				      &ln), -EPERM);

	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	e = find_change(&st, "sub/moved.txt");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_RENAMED);
	assert_non_null(e->old_path);
	assert_string_equal(e->old_path, "a.txt");
	e = find_change(&st, "sub/b.txt");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_DELETED);
	assert_int_equal(e->old_size, 4);
	e = find_change(&st, "sub/big-link");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_ADDED);
	assert_int_equal(e->size, BIG_LEN);
	assert_null(find_change(&st, "big.bin"));
	mlfs_wt_status_release(&st);

	snapshot(f, NULL, &res);
	p = version_file(f, &res.commit, "sub/moved.txt", &len, NULL, NULL);
	assert_int_equal(len, 6);
	assert_memory_equal(p, "hello\n", 6);
	free(p);
	p = version_file(f, &res.commit, "sub/big-link", &len, NULL, NULL);
	assert_int_equal(len, BIG_LEN);
	assert_memory_equal(p, f->big, BIG_LEN);
	free(p);
	assert_null(version_file(f, &res.commit, "a.txt", &len, NULL, &err));
	assert_int_equal(err, -ENOENT);
	assert_null(version_file(f, &res.commit, "sub/b.txt", &len, NULL,
				 &err));
	assert_int_equal(err, -ENOENT);
	/* a snapshot of a renamed file reads nothing again */
	assert_int_equal(res.bytes_ingested, 0);
	mlfs_wt_snapshot_result_release(&res);
}

/* The one change of @st, which must be @ch at @path (from @old). */
static void expect_only(const struct mlfs_wt_status *st,
			enum mlfs_wt_change ch, const char *path,
			const char *old)
{
	assert_int_equal(st->n, 1);
	assert_int_equal(st->v[0].change, ch);
	assert_string_equal(st->v[0].path, path);
	if (old) {
		assert_non_null(st->v[0].old_path);
		assert_string_equal(st->v[0].old_path, old);
	}
}

/* Entries made before a snapshot and renamed after it are renames (R),
 * not a delete and an add: the snapshot ties each entry to its committed
 * path. Also after the work is opened again. */
static void test_wt_rename_after_a_snapshot_is_a_rename(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_status st;
	struct mlfs_wt_attr d, e, x;
	uint64_t ino = new_file(f, f->root_ino, "new.txt", "made\n");

	assert_int_equal(mlfs_wt_mknode(f->wt, f->root_ino, "d",
					MLFS_ENTRY_DIR, 0755, 0, 0, NULL, &d),
			 0);
	new_file(f, d.ino, "f", "in d\n");
	snapshot(f, NULL, &res);
	mlfs_wt_snapshot_result_release(&res);

	assert_int_equal(mlfs_wt_rename(f->wt, f->root_ino, "new.txt",
					f->root_ino, "renamed.txt", 0), 0);
	lookup(f, f->root_ino, "renamed.txt", &x);
	assert_int_equal(x.ino, ino);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	expect_only(&st, MLFS_WT_RENAMED, "renamed.txt", "new.txt");
	assert_false(st.v[0].modified);
	mlfs_wt_status_release(&st);

	/* a new directory: it and what came along are one rename */
	assert_int_equal(mlfs_wt_rename(f->wt, f->root_ino, "renamed.txt",
					f->root_ino, "new.txt", 0), 0);
	assert_int_equal(mlfs_wt_rename(f->wt, f->root_ino, "d", f->root_ino,
					"e", 0), 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	expect_only(&st, MLFS_WT_RENAMED, "e", "d");
	mlfs_wt_status_release(&st);

	/* then a file out of it, and the work opened again */
	lookup(f, f->root_ino, "e", &e);
	assert_int_equal(mlfs_wt_rename(f->wt, e.ino, "f", f->root_ino, "g",
					0), 0);
	mlfs_work_close(f->w);
	assert_int_equal(mlfs_work_open(f->s, MLFS_WORK_EDIT, &f->w), 0);
	assert_int_equal(mlfs_wt_get(f->w, "t", "r", NULL, &f->wt), 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 2);
	assert_int_equal(st.v[0].change, MLFS_WT_RENAMED);
	assert_string_equal(st.v[0].path, "e");
	assert_string_equal(st.v[0].old_path, "d");
	assert_int_equal(st.v[1].change, MLFS_WT_RENAMED);
	assert_string_equal(st.v[1].path, "g");
	assert_string_equal(st.v[1].old_path, "d/f");
	mlfs_wt_status_release(&st);

	/* the next snapshot: then a rename of the moved file again is one */
	snapshot(f, NULL, &res);
	mlfs_wt_snapshot_result_release(&res);
	assert_int_equal(mlfs_wt_rename(f->wt, f->root_ino, "g", f->root_ino,
					"h", 0), 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	expect_only(&st, MLFS_WT_RENAMED, "h", "g");
	mlfs_wt_status_release(&st);
}

/* A file deleted and a copy of it added (same bytes, a new inode) is
 * that, not a rename; also for a file made before the last snapshot. */
static void test_wt_copy_of_a_deleted_file_is_no_rename(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_status st;
	const struct mlfs_wt_status_entry *e;

	new_file(f, f->root_ino, "x", "same bytes\n");
	snapshot(f, NULL, &res);
	mlfs_wt_snapshot_result_release(&res);
	new_file(f, f->root_ino, "y", "same bytes\n");
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "x", false), 0);
	new_file(f, f->root_ino, "b", "hello\n"); /* a.txt's bytes */
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "a.txt", false),
			 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 4);
	e = find_change(&st, "x");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_DELETED);
	e = find_change(&st, "y");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_ADDED);
	e = find_change(&st, "a.txt");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_DELETED);
	e = find_change(&st, "b");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_ADDED);
	mlfs_wt_status_release(&st);
}

static void test_wt_mknode_errors(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_attr a, d;
	char *target = NULL;

	assert_int_equal(mlfs_wt_mknode(f->wt, f->root_ino, "a.txt",
					MLFS_ENTRY_FILE, 0644, 0, 0, NULL, &a),
			 -EEXIST);
	assert_int_equal(mlfs_wt_mknode(f->wt, f->root_ino, "d",
					MLFS_ENTRY_DIR, 0750, 0, 0, NULL, &d),
			 0);
	assert_int_equal(d.type, MLFS_ENTRY_DIR);
	assert_int_equal(d.mode, 0750);
	assert_int_equal(mlfs_wt_mknode(f->wt, f->root_ino, "l",
					MLFS_ENTRY_SYMLINK, 0777, 0, 0,
					"d/x", &a), 0);
	assert_int_equal(mlfs_wt_readlink(f->wt, a.ino, &target), 0);
	assert_string_equal(target, "d/x");
	free(target);
	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(mlfs_wt_mknode(f->wt, a.ino, "x", MLFS_ENTRY_FILE,
					0644, 0, 0, NULL, &d), -ENOTDIR);
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "nope", false),
			 -ENOENT);
}

static void test_wt_setattr_mode_and_mtime_reach_the_version(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_setattr sa = {
		.set = MLFS_WT_SET_MODE | MLFS_WT_SET_MTIME,
		.mode = 0600, .mtime_ns = 1234567890123456789ll,
	};
	const struct mlfs_wt_status_entry *e;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_entry_copy ec;
	struct mlfs_wt_status st;
	struct mlfs_wt_attr a, out;
	size_t len;
	char *p;

	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(mlfs_wt_setattr(f->wt, a.ino, &sa, &out), 0);
	assert_int_equal(out.mode, 0600);
	assert_int_equal(out.mtime_ns, 1234567890123456789ll);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	e = find_change(&st, "a.txt");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_MODE);
	assert_int_equal(e->mode, 0600);
	assert_int_equal(e->old_mode, 0644);
	mlfs_wt_status_release(&st);

	snapshot(f, NULL, &res);
	p = version_file(f, &res.commit, "a.txt", &len, &ec, NULL);
	assert_memory_equal(p, "hello\n", 6);
	assert_int_equal(ec.e.mode, 0600);
	assert_int_equal(ec.e.mtime_ns, 1234567890123456789ll);
	assert_int_equal(res.bytes_ingested, 0);
	mlfs_entry_copy_release(&ec);
	free(p);
	mlfs_wt_snapshot_result_release(&res);

	/* truncate through setattr */
	sa.set = MLFS_WT_SET_SIZE;
	sa.size = 2;
	lookup(f, f->root_ino, "big.bin", &a);
	assert_int_equal(mlfs_wt_setattr(f->wt, a.ino, &sa, &out), 0);
	assert_int_equal(out.size, 2);
	snapshot(f, NULL, &res);
	p = version_file(f, &res.commit, "big.bin", &len, NULL, NULL);
	assert_int_equal(len, 2);
	assert_memory_equal(p, f->big, 2);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
}

static void test_wt_snapshot_without_changes_makes_no_commit(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_id h;

	snapshot(f, NULL, &res);
	assert_true(res.no_changes);
	assert_int_equal(head(f, &h), 0);
	assert_memory_equal(&h, &f->base, sizeof(h));
	mlfs_wt_snapshot_result_release(&res);

	/* an edit undone by hand: nothing to commit either */
	new_file(f, f->root_ino, "tmp", "x");
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "tmp", false), 0);
	snapshot(f, NULL, &res);
	assert_true(res.no_changes);
	assert_int_equal(head(f, &h), 0);
	assert_memory_equal(&h, &f->base, sizeof(h));
	mlfs_wt_snapshot_result_release(&res);
}

static void test_wt_snapshot_to_an_existing_tag_keeps_the_edits(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_opts o = { .tag = "t1", .author = "t",
					   .threads = 1 };
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_status st;
	struct mlfs_id h;

	new_file(f, f->root_ino, "one", "1");
	snapshot(f, "t1", &res);
	mlfs_wt_snapshot_result_release(&res);
	assert_int_equal(head(f, &h), 0);
	new_file(f, f->root_ino, "two", "2");
	memset(&res, 0, sizeof(res));
	assert_int_equal(mlfs_wt_snapshot(f->wt, &o, &res), -EEXIST);
	mlfs_wt_snapshot_result_release(&res);
	{
		struct mlfs_id h2;

		assert_int_equal(head(f, &h2), 0);
		assert_memory_equal(&h2, &h, sizeof(h));
	}
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 1);
	assert_string_equal(st.v[0].path, "two");
	mlfs_wt_status_release(&st);
	/* and the next snapshot takes them */
	snapshot(f, "t2", &res);
	assert_false(res.no_changes);
	mlfs_wt_snapshot_result_release(&res);
}

static void test_wt_open_file_at_snapshot_is_named(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_file *fl = NULL;
	struct mlfs_wt_attr a;
	size_t len;
	char *p;

	assert_int_equal(mlfs_wt_mknode(f->wt, f->root_ino, "open.bin",
					MLFS_ENTRY_FILE, 0644, 0, 0, NULL, &a),
			 0);
	assert_int_equal(mlfs_wt_open(f->wt, a.ino, true, false, &fl), 0);
	assert_int_equal(mlfs_wt_will_write(fl), 0);
	assert_int_equal(pwrite(fl->fd, "part", 4, 0), 4);
	snapshot(f, NULL, &res);
	assert_int_equal(res.nopen, 1);
	assert_string_equal(res.open_files[0], "open.bin");
	p = version_file(f, &res.commit, "open.bin", &len, NULL, NULL);
	assert_int_equal(len, 4);
	assert_memory_equal(p, "part", 4);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
	/* a write after the snapshot is the next snapshot's */
	assert_int_equal(mlfs_wt_will_write(fl), 0);
	assert_int_equal(pwrite(fl->fd, "+more", 5, 4), 5);
	mlfs_wt_close(fl, true);
	assert_true(mlfs_wt_dirty(f->wt));
	snapshot(f, NULL, &res);
	assert_false(res.no_changes);
	assert_int_equal(res.nopen, 0);
	p = version_file(f, &res.commit, "open.bin", &len, NULL, NULL);
	assert_int_equal(len, 9);
	assert_memory_equal(p, "part+more", 9);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
}

static void test_wt_unlinked_open_file_lives_until_close(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	struct mlfs_wt_file *fl = NULL;
	struct mlfs_wt_status st;
	struct mlfs_wt_attr a;
	char buf[8] = { 0 };

	new_file(f, f->root_ino, "doomed", "abc");
	lookup(f, f->root_ino, "doomed", &a);
	assert_int_equal(mlfs_wt_open(f->wt, a.ino, true, false, &fl), 0);
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "doomed", false),
			 0);
	assert_int_equal(mlfs_wt_will_write(fl), 0);
	assert_int_equal(pwrite(fl->fd, "Z", 1, 3), 1);
	assert_int_equal(pread(fl->fd, buf, sizeof(buf), 0), 4);
	assert_string_equal(buf, "abcZ");
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_null(find_change(&st, "doomed"));
	mlfs_wt_status_release(&st);
	snapshot(f, NULL, &res);
	assert_true(res.no_changes);
	mlfs_wt_snapshot_result_release(&res);
	mlfs_wt_close(fl, true);
	assert_int_equal(mlfs_wt_lookup(f->wt, f->root_ino, "doomed", &a,
					NULL), -ENOENT);
}

static void test_wt_xattrs_are_kept_in_the_tree(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_attr a;
	char buf[32];
	size_t len = 0;

	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(mlfs_wt_setxattr(f->wt, a.ino, "user.k", "val", 3,
					  0), 0);
	assert_int_equal(mlfs_wt_getxattr(f->wt, a.ino, "user.k", buf,
					  sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "val", 3);
	assert_int_equal(mlfs_wt_getxattr(f->wt, a.ino, "user.k", buf, 1,
					  &len), -ERANGE);
	assert_int_equal(mlfs_wt_listxattr(f->wt, a.ino, buf, sizeof(buf),
					   &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "user.k\0", 7);
	assert_int_equal(mlfs_wt_removexattr(f->wt, a.ino, "user.k"), 0);
	assert_int_equal(mlfs_wt_getxattr(f->wt, a.ino, "user.k", buf,
					  sizeof(buf), &len), -ENODATA);
}

/* ---- discard */

static void test_wt_discard_drops_every_edit(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_status st;
	struct mlfs_wt_attr a;
	struct mlfs_id h;

	new_file(f, f->root_ino, "extra", "e");
	lookup(f, f->root_ino, "a.txt", &a);
	wt_write(f, a.ino, "HELLO\n", 6, 0, false);
	assert_int_equal(mlfs_wt_remove(f->wt, f->root_ino, "big.bin", false),
			 0);
	assert_int_equal(mlfs_wt_discard(f->wt, NULL, 0), 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 0);
	mlfs_wt_status_release(&st);
	assert_int_equal(mlfs_wt_lookup(f->wt, f->root_ino, "extra", &a, NULL),
			 -ENOENT);
	lookup(f, f->root_ino, "big.bin", &a);
	assert_int_equal(a.size, BIG_LEN);
	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(a.size, 6);
	assert_true(a.in_store);
	assert_int_equal(head(f, &h), 0);
	assert_memory_equal(&h, &f->base, sizeof(h));
}

/* A file open for writing when its edits are discarded is an orphan: its
 * handle keeps its own bytes, and the restored entry (same number, next
 * generation) never sees them. */
static void test_wt_discard_of_an_open_file_leaves_an_orphan(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_setattr sa = { .set = MLFS_WT_SET_SIZE, .size = 3 };
	struct mlfs_wt_file *fl = NULL;
	struct mlfs_wt_attr a, o;
	const char *paths[] = { "a.txt" };
	char buf[16] = { 0 };

	lookup(f, f->root_ino, "a.txt", &a);
	assert_int_equal(a.gen, 0);
	assert_int_equal(mlfs_wt_open(f->wt, a.ino, true, false, &fl), 0);
	assert_int_equal(mlfs_wt_will_write(fl), 0);
	assert_int_equal(pwrite(fl->fd, "WRITTEN BY ME\n", 14, 0), 14);
	assert_int_equal(mlfs_wt_discard(f->wt, paths, 1), 0);
	assert_int_equal(mlfs_wt_gen(f->wt, a.ino), 1);
	/* the entry: the head's bytes, same number, next generation */
	lookup(f, f->root_ino, "a.txt", &o);
	assert_int_equal(o.ino, a.ino);
	assert_int_equal(o.gen, 1);
	assert_true(o.in_store);
	assert_int_equal(o.size, 6);
	/* the orphan: its own bytes, no name */
	assert_int_equal(pwrite(fl->fd, "!", 1, 14), 1);
	assert_int_equal(mlfs_wt_orphan_getattr(f->wt, a.ino, 0, &o), 0);
	assert_int_equal(o.size, 15);
	assert_int_equal(o.nlink, 0);
	assert_int_equal(mlfs_wt_orphan_setattr(f->wt, a.ino, 0, &sa, &o), 0);
	assert_int_equal(o.size, 3);
	assert_int_equal(pread(fl->fd, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "WRI", 3);
	assert_int_equal(mlfs_wt_getattr(f->wt, a.ino, &o), 0);
	assert_int_equal(o.size, 6);
	assert_true(o.in_store);
	assert_int_equal(mlfs_wt_orphan_getattr(f->wt, a.ino, 1, &o), -ENOENT);
	mlfs_wt_close(fl, true);
	assert_int_equal(mlfs_wt_orphan_getattr(f->wt, a.ino, 0, &o), -ENOENT);
	lookup(f, f->root_ino, "a.txt", &o);
	assert_int_equal(o.size, 6);
	assert_int_equal(o.nlink, 1);
}

struct during {
	struct fixture *f;
	int calls, mk, mv;
};

/* The snapshot's reading hook: edits of the tree while it reads (the
 * working trees' lock is released: these would wait for it forever). */
static void edit_while_reading(void *ctx)
{
	struct during *d = ctx;
	struct mlfs_wt_attr a;

	d->calls++;
	d->mk = mlfs_wt_mknode(d->f->wt, d->f->root_ino, "during",
			       MLFS_ENTRY_DIR, 0755, 0, 0, NULL, &a);
	d->mv = mlfs_wt_rename(d->f->wt, d->f->root_ino, "a.txt",
			       d->f->root_ino, "a2.txt", 0);
}

/* Edits made while a snapshot reads are not in it, and stay: the next
 * snapshot takes them. */
static void test_wt_edits_while_a_snapshot_reads_stay_dirty(void **state)
{
	struct fixture *f = *state;
	struct during d = { .f = f };
	struct mlfs_wt_snapshot_opts o = { .message = "snap", .author = "t",
					   .threads = 1,
					   .reading = edit_while_reading,
					   .reading_ctx = &d };
	struct mlfs_wt_snapshot_result res;
	const struct mlfs_wt_status_entry *e;
	struct mlfs_wt_status st;
	size_t len;
	int err;
	char *p;

	new_file(f, f->root_ino, "x.txt", "planned\n");
	assert_int_equal(mlfs_wt_snapshot(f->wt, &o, &res), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.mk, 0);
	assert_int_equal(d.mv, 0);
	assert_false(res.no_changes);
	p = version_file(f, &res.commit, "x.txt", &len, NULL, NULL);
	assert_int_equal(len, 8);
	free(p);
	p = version_file(f, &res.commit, "a.txt", &len, NULL, NULL);
	assert_non_null(p); /* renamed after the plan: still a.txt */
	free(p);
	assert_null(version_file(f, &res.commit, "a2.txt", &len, NULL, &err));
	mlfs_wt_snapshot_result_release(&res);

	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 2);
	e = find_change(&st, "during");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_ADDED);
	e = find_change(&st, "a2.txt");
	assert_non_null(e);
	assert_int_equal(e->change, MLFS_WT_RENAMED);
	assert_string_equal(e->old_path, "a.txt");
	mlfs_wt_status_release(&st);

	snapshot(f, NULL, &res);
	p = version_file(f, &res.commit, "a2.txt", &len, NULL, NULL);
	assert_int_equal(len, 6);
	assert_memory_equal(p, "hello\n", 6);
	free(p);
	mlfs_wt_snapshot_result_release(&res);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 0);
	mlfs_wt_status_release(&st);
}

/* ---- the marker and a re-opened store */

static int pending_rows(const char *dir)
{
	char path[PATH_MAX];
	sqlite3_stmt *st;
	sqlite3 *db;
	int n;

	snprintf(path, sizeof(path), "%s/work/work.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM wt "
					    "WHERE pending IS NOT NULL", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_wt_reopened_work_sees_the_snapshot_as_base(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_snapshot_result res;
	char ns[64], name[64], branch[64];
	struct mlfs_wt_status st;
	struct mlfs_id commit, base;
	struct mlfs_wt_attr a;
	bool has_base;

	new_file(f, f->root_ino, "kept", "kept bytes");
	snapshot(f, NULL, &res);
	commit = res.commit;
	mlfs_wt_snapshot_result_release(&res);
	assert_int_equal(pending_rows(f->dir), 0);
	/* an edit after it, left uncommitted */
	new_file(f, f->root_ino, "later", "l");

	mlfs_work_close(f->w);
	f->w = NULL;
	mlfs_store_close(f->s);
	assert_int_equal(mlfs_store_open(f->dir, 0, &f->s), 0);
	assert_int_equal(mlfs_work_open(f->s, MLFS_WORK_EDIT, &f->w), 0);
	assert_int_equal(mlfs_wt_get(f->w, "t", "r", NULL, &f->wt), 0);
	mlfs_wt_describe(f->wt, ns, name, branch, &has_base, &base);
	assert_true(has_base);
	assert_memory_equal(&base, &commit, sizeof(base));
	assert_int_equal(mlfs_wt_root(f->wt, &a), 0);
	f->root_ino = a.ino;
	lookup(f, f->root_ino, "kept", &a);
	assert_int_equal(a.size, 10);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	assert_int_equal(st.n, 1);
	assert_string_equal(st.v[0].path, "later");
	assert_int_equal(st.v[0].change, MLFS_WT_ADDED);
	mlfs_wt_status_release(&st);
	assert_int_equal(pending_rows(f->dir), 0);
}

static int user_version_of(const char *dir)
{
	char path[PATH_MAX];
	sqlite3_stmt *st;
	sqlite3 *db;
	int v;

	snprintf(path, sizeof(path), "%s/work/work.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A work.db of schema 1 (no origins) is read as it is by status and
 * migrated to 2 by the next edit, its edits kept. */
static void test_work_schema_1_is_read_then_migrated(void **state)
{
	struct fixture *f = *state;
	struct mlfs_wt_status st;
	char path[PATH_MAX];
	sqlite3 *db;

	new_file(f, f->root_ino, "kept.txt", "kept\n");
	mlfs_work_close(f->w);
	f->w = NULL;
	assert_int_equal(user_version_of(f->dir), 2);
	snprintf(path, sizeof(path), "%s/work/work.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE node DROP COLUMN opar;"
				      "ALTER TABLE node DROP COLUMN oname;"
				      "PRAGMA user_version = 1;", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(mlfs_work_open(f->s, 0, &f->w), 0);
	assert_int_equal(mlfs_wt_get(f->w, "t", "r", NULL, &f->wt), 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	expect_only(&st, MLFS_WT_ADDED, "kept.txt", NULL);
	mlfs_wt_status_release(&st);
	mlfs_work_close(f->w);
	assert_int_equal(user_version_of(f->dir), 1);
	assert_int_equal(mlfs_work_open(f->s, MLFS_WORK_EDIT, &f->w), 0);
	assert_int_equal(user_version_of(f->dir), 2);
	assert_int_equal(mlfs_wt_get(f->w, "t", "r", NULL, &f->wt), 0);
	assert_int_equal(mlfs_wt_status(f->wt, &st), 0);
	expect_only(&st, MLFS_WT_ADDED, "kept.txt", NULL);
	mlfs_wt_status_release(&st);
}

static void test_work_dirty_list_names_edited_branches(void **state)
{
	struct fixture *f = *state;
	char **v = NULL;
	size_t n = 99;

	assert_int_equal(mlfs_work_dirty_list(f->w, &v, &n), 0);
	assert_int_equal(n, 0);
	mlfs_strv_free(v, n);
	new_file(f, f->root_ino, "d", "d");
	assert_int_equal(mlfs_work_dirty_list(f->w, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "t/r@main");
	mlfs_strv_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_work_open_edit_twice_returns_ebusy),
		T(test_work_lock_is_released_by_close),
		T(test_wt_get_unknown_repository_returns_enoent),
		T(test_wt_get_shows_the_head_clean),
		T(test_wt_get_of_a_repository_without_commits_is_empty),
		T(test_wt_new_file_is_written_and_snapshot),
		T(test_wt_write_into_a_stored_file_copies_it_first),
		T(test_wt_trunc_open_starts_empty),
		T(test_wt_rename_remove_link_in_status_and_tree),
		T(test_wt_rename_after_a_snapshot_is_a_rename),
		T(test_wt_copy_of_a_deleted_file_is_no_rename),
		T(test_wt_mknode_errors),
		T(test_wt_setattr_mode_and_mtime_reach_the_version),
		T(test_wt_snapshot_without_changes_makes_no_commit),
		T(test_wt_snapshot_to_an_existing_tag_keeps_the_edits),
		T(test_wt_open_file_at_snapshot_is_named),
		T(test_wt_unlinked_open_file_lives_until_close),
		T(test_wt_xattrs_are_kept_in_the_tree),
		T(test_wt_discard_drops_every_edit),
		T(test_wt_discard_of_an_open_file_leaves_an_orphan),
		T(test_wt_edits_while_a_snapshot_reads_stay_dirty),
		T(test_wt_reopened_work_sees_the_snapshot_as_base),
		T(test_work_dirty_list_names_edited_branches),
		T(test_work_schema_1_is_read_then_migrated),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
