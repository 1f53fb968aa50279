/*
 * worktree_check.c - fsck of the working trees: every row of work.db
 * belongs to a repository, points at contents and trees the store has
 * (loaded, so verified), every entry at a node, every node that holds
 * its bytes in a data file has that file, link counts match the entries.
 * Read-only: a snapshot a killed process left pending is not damage (the
 * next edit of the store finishes or undoes it), so it is only counted.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlfs/content.h"
#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"

struct check {
	struct mlfs_wt *wt;
	char name[3 * (MLFS_NAME_MAX + 1) + 4];
	int (*report)(void *ctx, const char *wt, const char *what);
	void *ctx;
	struct mlfs_work_check_stats *st;
};

static int problem(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int problem(struct check *c, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	c->st->problems++;
	return c->report(c->ctx, c->name, what);
}

static int check_node(struct check *c, const struct mlfs_wnode *n,
		      const char *path)
{
	struct mlfs_wt *wt = c->wt;
	char hex[MLFS_ID_HEX_LEN + 1];
	int r = 0;

	c->st->nodes++;
	if (n->type == MLFS_ENTRY_FILE && n->data) {
		char dpath[PATH_MAX];
		struct stat st;

		wt_data_path(wt, n->ino, dpath, sizeof(dpath));
		if (stat(dpath, &st) < 0 || !S_ISREG(st.st_mode))
			return problem(c, "'%s': its written bytes (%s) are "
				       "missing", path, dpath);
		return 0;
	}
	if (n->type == MLFS_ENTRY_FILE && n->has_content) {
		struct mlfs_content *ct;

		mlfs_error_clear();
		r = mlfs_content_load(wt->w->s, &n->content, 0, &ct);
		if (r == 0) {
			if (ct->size != n->size)
				r = problem(c, "'%s': %llu bytes, its content "
					    "%llu", path,
					    (unsigned long long)n->size,
					    (unsigned long long)ct->size);
			mlfs_content_free(ct);
			return r;
		}
		mlfs_id_to_hex(&n->content, hex);
		return problem(c, "'%s': content %s: %s", path, hex,
			       *mlfs_error_detail() ? mlfs_error_detail() :
			       strerror(-r));
	}
	if (n->type == MLFS_ENTRY_DIR && n->has_content && !n->dirty) {
		struct mlfs_tree *t;

		mlfs_error_clear();
		r = mlfs_tree_load(wt->w->s, &n->content, &t);
		if (r == 0) {
			mlfs_tree_free(t);
			return 0;
		}
		mlfs_id_to_hex(&n->content, hex);
		return problem(c, "'%s': tree %s: %s", path, hex,
			       *mlfs_error_detail() ? mlfs_error_detail() :
			       strerror(-r));
	}
	return 0;
}

/* Walk directory @dir (node @self) at @path. */
static int check_dir(struct check *c, const struct mlfs_wnode *self,
		     const char *path, int depth)
{
	struct mlfs_wt *wt = c->wt;
	struct mlfs_wdirent *d = NULL;
	uint32_t subdirs = 0;
	size_t nd = 0;
	int r;

	if (depth > 4096)
		return problem(c, "'%s': directories nested too deep (a "
			       "loop?)", path);
	r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, self->ino, &d, &nd);
	if (r < 0)
		return problem(c, "'%s': its entries cannot be read: %s", path,
			       strerror(-r));
	for (size_t i = 0; r == 0 && i < nd; i++) {
		const struct mlfs_wnode *n = &d[i].node;
		char sub[PATH_MAX];

		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "",
			 d[i].name);
		r = check_node(c, n, sub);
		if (r == 0 && n->type == MLFS_ENTRY_DIR) {
			subdirs++;
			if (n->parent != self->ino)
				r = problem(c, "'%s': directory whose parent "
					    "row is not the directory that "
					    "holds it", sub);
			if (r == 0)
				r = check_dir(c, n, sub, depth + 1);
		}
		if (r == 0 && n->type != MLFS_ENTRY_DIR && !n->nlink)
			r = problem(c, "'%s': listed with a link count of 0",
				    sub);
	}
	if (r == 0 && self->nlink != 2 + subdirs)
		r = problem(c, "'%s': link count %u, %u subdirectories",
			    *path ? path : "/", self->nlink, subdirs);
	mlfs_wdirent_free(d, nd);
	return r;
}

int mlfs_work_check(struct mlfs_store *s,
		    int (*report)(void *ctx, const char *wt,
				  const char *what),
		    void *ctx, struct mlfs_work_check_stats *st)
{
	struct mlfs_work *w = NULL;
	struct mlfs_wdb_wt *v = NULL;
	struct check c = { .report = report, .ctx = ctx, .st = st };
	size_t nv = 0;
	int r;

	memset(st, 0, sizeof(*st));
	r = mlfs_work_open(s, 0, &w);
	if (r < 0 || !w || !w->db)
		goto out;
	r = mlfs_wdb_wt_list(w->db, &v, &nv);
	if (r < 0)
		goto out;
	for (size_t i = 0; r == 0 && i < nv; i++) {
		struct mlfs_repo repo;
		struct mlfs_wnode root;

		st->trees++;
		if (v[i].has_pending)
			st->pending++;
		snprintf(c.name, sizeof(c.name), "#%lld@%s",
			 (long long)v[i].id, v[i].branch);
		r = mlfs_meta_repo_get_id(s->meta, v[i].repo_id, &repo);
		if (r < 0) {
			r = problem(&c, "no repository %lld for this working "
				    "tree", (long long)v[i].repo_id);
			continue;
		}
		snprintf(c.name, sizeof(c.name), "%s/%s@%s", repo.ns,
			 repo.name, v[i].branch);
		r = mlfs_wt_get(w, repo.ns, repo.name, v[i].branch, &c.wt);
		if (r == -ENOENT) {
			/* its branch was deleted: a leftover, not damage */
			r = 0;
			continue;
		}
		if (r < 0) {
			r = problem(&c, "cannot be opened: %s",
				    *mlfs_error_detail() ?
				    mlfs_error_detail() : strerror(-r));
			continue;
		}
		if (!v[i].materialized)
			continue;
		pthread_mutex_lock(&w->lock);
		r = mlfs_wdb_node_get(w->db, v[i].id, c.wt->root_ino, &root);
		if (r == 0) {
			r = check_dir(&c, &root, "", 0);
			mlfs_wnode_release(&root);
		} else {
			r = problem(&c, "its root has no row");
		}
		pthread_mutex_unlock(&w->lock);
	}
out:
	free(v);
	mlfs_work_close(w);
	return r;
}
