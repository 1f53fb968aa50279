/*
 * worktree_view.c - what a working tree shows: attributes, lookups and
 * listings, from its rows once materialized, else from the base's trees
 * (directories handed out are remembered by number, so lookups below
 * them find their tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"

/* the longest entry name, as Linux allows (NAME_MAX) */
#define NAME_LEN_MAX 255

/* ---- attributes ---- */

struct mlfs_wt_file *wt_file_find(struct mlfs_wt *wt, uint64_t ino)
{
	struct mlfs_wt_file *f = wt->files;

	while (f && f->ino != ino)
		f = f->next;
	return f;
}

int wt_node_attr(struct mlfs_wt *wt, const struct mlfs_wnode *n,
		 struct mlfs_wt_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = n->ino;
	out->type = (enum mlfs_entry_type)n->type;
	out->mode = n->mode;
	out->uid = n->uid;
	out->gid = n->gid;
	out->nlink = n->nlink;
	out->size = n->size;
	out->atime_ns = n->atime_ns;
	out->mtime_ns = n->mtime_ns;
	out->ctime_ns = n->ctime_ns;
	out->gen = wt_gen_get(wt, n->ino);
	if (n->type == MLFS_WT_SPECIAL) {
		out->rdev = n->size;
		out->size = 0;
	}
	if (n->type == MLFS_ENTRY_FILE && !n->data) {
		out->in_store = true;
		out->content = n->content;
	}
	if (n->type == MLFS_ENTRY_FILE && n->data) {
		struct mlfs_wt_file *f = wt_file_find(wt, n->ino);
		char path[PATH_MAX];
		struct stat st;
		int r;

		if (f && f->fd >= 0) {
			r = fstat(f->fd, &st);
		} else {
			wt_data_path(wt, n->ino, path, sizeof(path));
			r = stat(path, &st);
		}
		if (r < 0) {
			r = -errno;
			mlfs_error_set("working tree data of inode %llx: %s",
				       (unsigned long long)n->ino,
				       strerror(-r));
			return r == -ENOENT ? -EIO : r;
		}
		out->size = (uint64_t)st.st_size;
		out->has_blocks = true;
		out->blocks = (uint64_t)st.st_blocks;
		out->mtime_ns = wt_ts_ns(&st.st_mtim);
		out->atime_ns = wt_ts_ns(&st.st_atim);
		if (wt_ts_ns(&st.st_ctim) > out->ctime_ns)
			out->ctime_ns = wt_ts_ns(&st.st_ctim);
	}
	return 0;
}

/* The attributes of entry @e of an unmaterialized view. */
static void entry_attr(struct mlfs_wt *wt, uint64_t ino,
		       const struct mlfs_entry *e, struct mlfs_wt_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->type = e->type;
	out->mode = e->mode;
	out->uid = wt->w->uid;
	out->gid = wt->w->gid;
	out->nlink = e->type == MLFS_ENTRY_DIR ? 2 : 1;
	out->size = e->size;
	out->atime_ns = out->mtime_ns = e->mtime_ns;
	out->ctime_ns = wt_base_ctime(wt, e->mtime_ns);
	out->gen = wt_gen_get(wt, ino);
	if (e->type == MLFS_ENTRY_FILE) {
		out->in_store = true;
		out->content = e->id;
	}
}

static void root_view_attr(struct mlfs_wt *wt, struct mlfs_wt_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = wt->root_ino;
	out->type = MLFS_ENTRY_DIR;
	out->mode = 0755;
	out->uid = wt->w->uid;
	out->gid = wt->w->gid;
	out->nlink = 2;
	out->atime_ns = out->mtime_ns = wt->base_time_ns;
	out->ctime_ns = wt_base_ctime(wt, wt->base_time_ns);
}

int mlfs_wt_root(struct mlfs_wt *wt, struct mlfs_wt_attr *out)
{
	struct mlfs_wnode n;
	int r = 0;

	pthread_mutex_lock(&wt->w->lock);
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->root_ino,
				      &n);
		if (r == 0) {
			r = wt_node_attr(wt, &n, out);
			mlfs_wnode_release(&n);
		}
	} else {
		root_view_attr(wt, out);
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int wt_check_name(const char *name)
{
	size_t len = strlen(name);

	if (!len || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return len > NAME_LEN_MAX ? -ENAMETOOLONG : 0;
}

static int lookup_locked(struct mlfs_wt *wt, uint64_t parent,
			 const char *name, struct mlfs_wt_attr *out,
			 char **target)
{
	struct mlfs_wnode n;
	uint64_t ino;
	int r = wt_check_name(name);

	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, parent, &n);
		if (r < 0)
			return r;
		r = n.type == MLFS_ENTRY_DIR ? 0 : -ENOTDIR;
		mlfs_wnode_release(&n);
		if (r == 0)
			r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, parent,
						name, &ino);
		if (r == 0)
			r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r == 0) {
			r = wt_node_attr(wt, &n, out);
			if (r == 0 && target && n.target) {
				*target = n.target;
				n.target = NULL;
			}
			mlfs_wnode_release(&n);
		}
		return r;
	} else {
		const struct mlfs_id *tid = wt_dirmap_get(&wt->dirs, parent);
		const struct mlfs_entry *e;
		const struct mlfs_tree *t;

		if (!tid)
			return parent == wt->root_ino ? -ENOENT : -ESTALE;
		r = wt_tree_get(wt->w, tid, &t);
		if (r < 0)
			return r;
		e = mlfs_tree_find(t, name);
		if (!e) {
			r = -ENOENT;
		} else {
			ino = wt_child_ino(parent, name);
			entry_attr(wt, ino, e, out);
			if (e->type == MLFS_ENTRY_DIR)
				r = wt_dirmap_put(&wt->dirs, ino, &e->id);
			if (r == 0 && target && e->target) {
				*target = strdup(e->target);
				if (!*target)
					r = -ENOMEM;
			}
		}
		wt_tree_put(wt->w, t);
		return r;
	}
}

int mlfs_wt_lookup(struct mlfs_wt *wt, uint64_t parent, const char *name,
		   struct mlfs_wt_attr *out, char **target)
{
	int r;

	if (target)
		*target = NULL;
	pthread_mutex_lock(&wt->w->lock);
	r = lookup_locked(wt, parent, name, out, target);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_getattr(struct mlfs_wt *wt, uint64_t ino,
		    struct mlfs_wt_attr *out)
{
	struct mlfs_wnode n;
	int r;

	pthread_mutex_lock(&wt->w->lock);
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r == 0) {
			r = wt_node_attr(wt, &n, out);
			mlfs_wnode_release(&n);
		}
	} else if (ino == wt->root_ino) {
		root_view_attr(wt, out);
		r = 0;
	} else {
		r = -ENOENT; /* the caller has what the lookup gave */
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_readlink(struct mlfs_wt *wt, uint64_t ino, char **target)
{
	struct mlfs_wnode n;
	int r;

	*target = NULL;
	pthread_mutex_lock(&wt->w->lock);
	r = wt->row.materialized ?
	    mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n) : -ENOENT;
	if (r == 0) {
		if (n.type != MLFS_ENTRY_SYMLINK)
			r = -EINVAL;
		else {
			*target = n.target;
			n.target = NULL;
		}
		mlfs_wnode_release(&n);
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

void mlfs_wt_dirents_free(struct mlfs_wt_dirent *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int mlfs_wt_list(struct mlfs_wt *wt, uint64_t ino,
		 struct mlfs_wt_dirent **out, size_t *n)
{
	struct mlfs_wt_dirent *v = NULL;
	size_t cnt = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&wt->w->lock);
	if (wt->row.materialized) {
		struct mlfs_wdirent *d = NULL;
		struct mlfs_wnode self;
		size_t nd = 0;

		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &self);
		if (r == 0) {
			r = self.type == MLFS_ENTRY_DIR ? 0 : -ENOTDIR;
			mlfs_wnode_release(&self);
		}
		if (r == 0)
			r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, ino,
						 &d, &nd);
		if (r == 0 && nd) {
			v = calloc(nd, sizeof(*v));
			if (!v)
				r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && i < nd; i++) {
			r = wt_node_attr(wt, &d[i].node, &v[i].attr);
			if (r == 0) {
				v[i].name = d[i].name;
				d[i].name = NULL;
				cnt++;
			}
		}
		mlfs_wdirent_free(d, nd);
	} else {
		const struct mlfs_id *tid = wt_dirmap_get(&wt->dirs, ino);
		const struct mlfs_tree *t = NULL;

		if (!tid)
			r = ino == wt->root_ino ? 0 : -ESTALE;
		else
			r = wt_tree_get(wt->w, tid, &t);
		if (r == 0 && t && t->n) {
			v = calloc(t->n, sizeof(*v));
			if (!v)
				r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && t && i < t->n; i++) {
			const struct mlfs_entry *e = &t->e[i];
			uint64_t c = wt_child_ino(ino, e->name);

			v[i].name = strdup(e->name);
			if (!v[i].name) {
				r = -ENOMEM;
				break;
			}
			cnt++;
			entry_attr(wt, c, e, &v[i].attr);
			if (e->type == MLFS_ENTRY_DIR)
				r = wt_dirmap_put(&wt->dirs, c, &e->id);
		}
		wt_tree_put(wt->w, t);
	}
	pthread_mutex_unlock(&wt->w->lock);
	if (r < 0) {
		mlfs_wt_dirents_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}
