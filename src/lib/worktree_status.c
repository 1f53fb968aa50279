/*
 * worktree_status.c - what a working tree changed (status), dropping
 * edits (discard). Status walks the dirty directories beside the base's trees; a
 * file written to is hashed (the content digest) to tell a real change
 * from a rewrite of the same bytes; an entry that left one path and
 * reached another keeps its inode number, which is how renames are told
 * from a delete and an add. Also: whether a branch has edits (import
 * refuses such a branch).
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

struct status_walk {
	struct mlfs_wt *wt;
	struct mlfs_wt_status *st;
	size_t cap;
	/* inode numbers of added and deleted entries, parallel to st->v */
	uint64_t *inos;
	struct mlfs_id *ids; /* content or tree id of each entry */
};

static int add(struct status_walk *w, enum mlfs_wt_change ch,
	       const char *path, uint64_t ino, const struct mlfs_id *id)
{
	struct mlfs_wt_status *st = w->st;
	struct mlfs_wt_status_entry *e;

	if (st->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 32;
		struct mlfs_wt_status_entry *nv = realloc(st->v,
							  nc * sizeof(*nv));
		uint64_t *ni;
		struct mlfs_id *nd;

		if (!nv)
			return -ENOMEM;
		st->v = nv;
		ni = realloc(w->inos, nc * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		w->inos = ni;
		nd = realloc(w->ids, nc * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		w->ids = nd;
		w->cap = nc;
	}
	e = &st->v[st->n];
	memset(e, 0, sizeof(*e));
	e->change = ch;
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	w->inos[st->n] = ino;
	if (id)
		w->ids[st->n] = *id;
	else
		memset(&w->ids[st->n], 0, sizeof(w->ids[st->n]));
	st->n++;
	return 0;
}

/* The content digest of a written file, as an import would compute it. */
static int data_digest(struct mlfs_wt *wt, uint64_t ino, struct mlfs_id *out,
		       uint64_t *size)
{
	struct mlfs_hasher h = { 0 };
	char path[PATH_MAX];
	uint8_t *buf;
	ssize_t k;
	int fd, r;

	wt_data_path(wt, ino, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(1u << 20);
	r = buf ? mlfs_hasher_init(&h, &wt->w->s->cfg.key) : -ENOMEM;
	*size = 0;
	while (r == 0 && (k = read(fd, buf, 1u << 20)) > 0) {
		mlfs_hasher_update(&h, buf, (size_t)k);
		*size += (uint64_t)k;
	}
	if (r == 0 && k < 0)
		r = -errno;
	if (r == 0)
		mlfs_hasher_final(&h, out);
	mlfs_hasher_release(&h);
	free(buf);
	close(fd);
	return r;
}

/* The current content id of file node @n (hashing its data if it was
 * written) and its size. */
static int node_content(struct mlfs_wt *wt, const struct mlfs_wnode *n,
			struct mlfs_id *id, uint64_t *size)
{
	if (n->data && (n->dirty || !n->has_content))
		return data_digest(wt, n->ino, id, size);
	*id = n->content;
	*size = n->size;
	if (n->data) {
		struct mlfs_wt_attr a;
		int r = wt_node_attr(wt, n, &a);

		*size = a.size;
		return r;
	}
	return 0;
}

static int walk_added(struct status_walk *w, const struct mlfs_wnode *n,
		      const char *path);
static int walk_deleted(struct status_walk *w, const struct mlfs_entry *e,
			uint64_t ino, const char *path);

static int walk_dir(struct status_walk *w, const struct mlfs_wnode *self,
		    const struct mlfs_id *base_tree, uint64_t base_ino,
		    const char *path)
{
	struct mlfs_wt *wt = w->wt;
	const struct mlfs_tree *t = NULL;
	struct mlfs_wdirent *d = NULL;
	size_t nd = 0, i = 0, j = 0;
	int r = 0;

	if (!self->dirty && base_tree && self->has_content &&
	    !mlfs_id_cmp(&self->content, base_tree))
		return 0;
	if (base_tree) {
		struct mlfs_tree *lt;

		r = mlfs_tree_load(wt->w->s, base_tree, &lt);
		if (r < 0)
			return r;
		t = lt;
	}
	r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, self->ino, &d, &nd);
	while (r == 0 && (i < nd || (t && j < t->n))) {
		int c = i >= nd ? 1 : !t || j >= t->n ? -1 :
			strcmp(d[i].name, t->e[j].name);
		const char *name = c <= 0 ? d[i].name : t->e[j].name;
		char *sub = NULL;

		r = wt_path_join(&sub, path, name);
		if (r < 0)
			break;
		if (c == 0 && d[i].node.type == MLFS_WT_SPECIAL) {
			/* a special file stands where the base has an entry:
			 * the next version has neither */
			r = walk_deleted(w, &t->e[j],
					 wt_child_ino(base_ino, name), sub);
		} else if (c < 0) {
			/* special files are never in a version: not a change
			 * a snapshot would make */
			if (d[i].node.type != MLFS_WT_SPECIAL)
				r = walk_added(w, &d[i].node, sub);
		} else if (c > 0) {
			r = walk_deleted(w, &t->e[j],
					 wt_child_ino(base_ino, name), sub);
		} else {
			const struct mlfs_wnode *n = &d[i].node;
			const struct mlfs_entry *e = &t->e[j];
			uint64_t bino = wt_child_ino(base_ino, name);
			size_t before = w->st->n;

			if ((int)e->type != n->type) {
				r = add(w, MLFS_WT_TYPE, sub, 0, NULL);
			} else if (n->type == MLFS_ENTRY_DIR) {
				r = walk_dir(w, n, &e->id, bino, sub);
				if (r == 0 && n->mode != e->mode)
					r = add(w, MLFS_WT_MODE, sub, 0, NULL);
			} else if (n->type == MLFS_ENTRY_SYMLINK) {
				if (strcmp(n->target, e->target))
					r = add(w, MLFS_WT_MODIFIED, sub, 0,
						NULL);
			} else if (n->dirty) {
				struct mlfs_id id;
				uint64_t size;

				r = node_content(wt, n, &id, &size);
				if (r == 0 && mlfs_id_cmp(&id, &e->id))
					r = add(w, MLFS_WT_MODIFIED, sub, 0,
						NULL);
				else if (r == 0 && n->mode != e->mode)
					r = add(w, MLFS_WT_MODE, sub, 0, NULL);
				if (r == 0 && w->st->n &&
				    !strcmp(w->st->v[w->st->n - 1].path, sub))
					w->st->v[w->st->n - 1].size = size;
			}
			/* Versions keep modification times: one that is all
			 * that changed is a change a snapshot makes (of a
			 * directory, only when nothing below it is listed) */
			if (r == 0 && w->st->n == before &&
			    n->mtime_ns != e->mtime_ns)
				r = add(w, MLFS_WT_TIME, sub, 0, NULL);
			if (r == 0 && w->st->n &&
			    !strcmp(w->st->v[w->st->n - 1].path, sub)) {
				struct mlfs_wt_status_entry *x =
					&w->st->v[w->st->n - 1];

				x->type = (enum mlfs_entry_type)n->type;
				x->old_type = e->type;
				x->mode = n->mode;
				x->old_mode = e->mode;
				x->old_size = e->size;
				if (x->change != MLFS_WT_MODIFIED)
					x->size = n->size;
			}
		}
		free(sub);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	mlfs_wdirent_free(d, nd);
	mlfs_tree_free((struct mlfs_tree *)t);
	return r;
}

/* The number node @n had at the path it was committed at (its origin
 * chain, numbered as a view of that commit numbers it), which is what a
 * deleted entry of the base is numbered by: equal means it moved. 0 when
 * it cannot be told (an origin directory gone). A node made since the
 * last snapshot has no origin: its own number, which no base entry has. */
static uint64_t node_key(struct mlfs_wt *wt, const struct mlfs_wnode *n)
{
	enum { DEPTH_MAX = 4096 };
	struct mlfs_wnode *up = NULL; /* the origin directories, held */
	const struct mlfs_wnode *cur = n;
	size_t depth = 0, cap = 0;
	uint64_t key = 0;

	for (;;) {
		if (cur->ino == wt->root_ino) {
			key = wt->root_ino;
			break;
		}
		if (!cur->has_origin) {
			key = cur->ino;
			break;
		}
		if (depth == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct mlfs_wnode *nv = nc <= DEPTH_MAX ?
				realloc(up, nc * sizeof(*nv)) : NULL;

			if (!nv)
				goto out;
			up = nv;
			cap = nc;
		}
		if (mlfs_wdb_node_get(wt->w->db, wt->row.id, cur->opar,
				      &up[depth]) < 0)
			goto out;
		cur = &up[depth++];
	}
	/* down again from the topmost: each origin directory's name in the
	 * one above it, then n's own */
	if (depth) {
		for (size_t i = depth - 1; i > 0; i--)
			key = wt_child_ino(key, up[i - 1].oname);
		key = wt_child_ino(key, n->oname);
	}
out:
	for (size_t i = 0; i < depth; i++)
		mlfs_wnode_release(&up[i]);
	free(up);
	return key;
}

static int walk_added(struct status_walk *w, const struct mlfs_wnode *n,
		      const char *path)
{
	struct mlfs_wt *wt = w->wt;
	struct mlfs_wdirent *d = NULL;
	struct mlfs_id id = { { 0 } };
	/* a special file's size column holds its device */
	uint64_t size = n->type == MLFS_WT_SPECIAL ? 0 : n->size;
	size_t nd = 0;
	int r = 0;

	if (n->type == MLFS_ENTRY_FILE)
		r = node_content(wt, n, &id, &size);
	if (r == 0)
		r = add(w, MLFS_WT_ADDED, path, node_key(wt, n),
			n->type == MLFS_ENTRY_FILE ? &id : NULL);
	if (r < 0)
		return r;
	w->st->v[w->st->n - 1].type = (enum mlfs_entry_type)n->type;
	w->st->v[w->st->n - 1].mode = n->mode;
	w->st->v[w->st->n - 1].size = size;
	if (n->type != MLFS_ENTRY_DIR)
		return 0;
	r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, n->ino, &d, &nd);
	for (size_t i = 0; r == 0 && i < nd; i++) {
		char *sub = NULL;

		r = wt_path_join(&sub, path, d[i].name);
		if (r == 0)
			r = walk_added(w, &d[i].node, sub);
		free(sub);
	}
	mlfs_wdirent_free(d, nd);
	return r;
}

static int walk_deleted(struct status_walk *w, const struct mlfs_entry *e,
			uint64_t ino, const char *path)
{
	struct mlfs_tree *t = NULL;
	int r = add(w, MLFS_WT_DELETED, path, ino,
		    e->type == MLFS_ENTRY_FILE ? &e->id : NULL);

	if (r < 0)
		return r;
	w->st->v[w->st->n - 1].old_type = e->type;
	w->st->v[w->st->n - 1].old_mode = e->mode;
	w->st->v[w->st->n - 1].old_size = e->size;
	if (e->type != MLFS_ENTRY_DIR)
		return 0;
	r = mlfs_tree_load(w->wt->w->s, &e->id, &t);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		char *sub = NULL;

		r = wt_path_join(&sub, path, t->e[i].name);
		if (r == 0)
			r = walk_deleted(w, &t->e[i],
					 wt_child_ino(ino, t->e[i].name), sub);
		free(sub);
	}
	mlfs_tree_free(t);
	return r;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct mlfs_wt_status_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* An added entry with the inode number of a deleted one moved there:
 * one RENAMED entry (MODIFIED too, when its content changed) instead. */
static void pair_renames(struct status_walk *w)
{
	struct mlfs_wt_status *st = w->st;
	bool *same = calloc(st->n ? st->n : 1, sizeof(*same));
	size_t k = 0;

	for (size_t i = 0; i < st->n; i++) {
		struct mlfs_wt_status_entry *a = &st->v[i];

		if (a->change != MLFS_WT_ADDED || !w->inos[i])
			continue;
		for (size_t j = 0; j < st->n; j++) {
			struct mlfs_wt_status_entry *d = &st->v[j];

			if (d->change != MLFS_WT_DELETED ||
			    w->inos[j] != w->inos[i] || d->type == 0xff)
				continue;
			a->change = MLFS_WT_RENAMED;
			a->old_path = d->path;
			d->path = NULL;
			a->old_type = d->old_type;
			a->old_mode = d->old_mode;
			a->old_size = d->old_size;
			a->modified = a->type == MLFS_ENTRY_FILE &&
				      mlfs_id_cmp(&w->ids[i], &w->ids[j]);
			if (same)
				same[i] = a->type == a->old_type &&
					  a->mode == a->old_mode &&
					  !a->modified;
			d->type = 0xff; /* dropped below */
			break;
		}
	}
	for (size_t i = 0; i < st->n; i++) {
		struct mlfs_wt_status_entry *e = &st->v[i];
		bool drop = e->change == MLFS_WT_DELETED && e->type == 0xff;

		/* an unchanged entry that only came along with its renamed
		 * directory is that directory's rename, not one of its own */
		for (size_t j = 0; !drop && same && same[i] &&
				   e->type != MLFS_ENTRY_DIR && j < st->n; j++) {
			const struct mlfs_wt_status_entry *d = &st->v[j];
			size_t lo, ln;

			if (j == i || d->change != MLFS_WT_RENAMED ||
			    d->type != MLFS_ENTRY_DIR || !d->old_path)
				continue;
			lo = strlen(d->old_path);
			ln = strlen(d->path);
			drop = !strncmp(e->old_path, d->old_path, lo) &&
			       e->old_path[lo] == '/' &&
			       !strncmp(e->path, d->path, ln) &&
			       e->path[ln] == '/' &&
			       !strcmp(e->old_path + lo, e->path + ln);
		}
		if (drop) {
			free(e->path);
			free(e->old_path);
			continue;
		}
		st->v[k++] = *e;
	}
	st->n = k;
	free(same);
}

int mlfs_wt_status(struct mlfs_wt *wt, struct mlfs_wt_status *out)
{
	struct status_walk w = { .wt = wt, .st = out };
	struct mlfs_wnode root;
	int r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&wt->w->lock);
	r = wt_branch_head(wt, &out->has_head, &out->head);
	if (r < 0)
		goto out;
	if (wt->row.has_pending && out->has_head &&
	    !mlfs_id_cmp(&out->head, &wt->row.pending)) {
		/* a snapshot committed, then its process was killed before
		 * it marked the tree clean: what it took is the head now, and
		 * nothing could edit after it (it held the working trees) */
		out->snapshot_finishing = true;
		goto out;
	}
	out->branch_moved = out->has_head != wt->row.has_base ||
			    (out->has_head &&
			     mlfs_id_cmp(&out->head, &wt->row.base));
	if (!wt->row.materialized || !wt->w->db)
		goto out;
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->root_ino, &root);
	if (r < 0)
		goto out;
	r = walk_dir(&w, &root, wt->row.has_base ? &wt->base_tree : NULL,
		     wt->root_ino, "");
	mlfs_wnode_release(&root);
	if (r == 0)
		pair_renames(&w);
	if (r == 0 && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_entry);
out:
	free(w.inos);
	free(w.ids);
	pthread_mutex_unlock(&wt->w->lock);
	if (r < 0)
		mlfs_wt_status_release(out);
	return r;
}

void mlfs_wt_status_release(struct mlfs_wt_status *st)
{
	for (size_t i = 0; st->v && i < st->n; i++) {
		free(st->v[i].path);
		free(st->v[i].old_path);
	}
	free(st->v);
	st->v = NULL;
	st->n = 0;
}

/* ---- discard ---- */

/* Remove the rows of entry @name (node @n) of @parent, the subtree of a
 * directory included. In a transaction. */
static int drop_entry(struct mlfs_wt *wt, uint64_t parent, const char *name,
		      struct mlfs_wnode *n)
{
	struct mlfs_wdb *db = wt->w->db;
	int r = mlfs_wdb_dirent_delete(db, wt->row.id, parent, name);

	if (r < 0)
		return r;
	if (n->type == MLFS_ENTRY_DIR) {
		struct mlfs_wdirent *d = NULL;
		size_t nd = 0;

		r = mlfs_wdb_dirent_list(db, wt->row.id, n->ino, &d, &nd);
		for (size_t i = 0; r == 0 && i < nd; i++)
			r = drop_entry(wt, n->ino, d[i].name, &d[i].node);
		mlfs_wdirent_free(d, nd);
		if (r == 0)
			r = mlfs_wdb_node_delete(db, wt->row.id, n->ino);
		if (r == 0)
			r = mlfs_wdb_xattr_clear(db, wt->row.id, n->ino);
		return r;
	}
	n->nlink = n->nlink ? n->nlink - 1 : 0;
	/* its last name goes: open files become orphans (another name
	 * keeps the inode, and them with it) */
	if (!n->nlink)
		wt_detach_files(wt, n->ino, false);
	return wt_drop_inode(wt, n);
}

/* A subdirectory of @dir went or came. In a transaction. */
static int add_links(struct mlfs_wt *wt, uint64_t dir, int delta)
{
	struct mlfs_wnode n;
	int r = mlfs_wdb_node_get(wt->w->db, wt->row.id, dir, &n);

	if (r < 0)
		return r;
	n.nlink = (uint32_t)((int64_t)n.nlink + delta);
	r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	mlfs_wnode_release(&n);
	return r;
}

/* Remove the data files of @v that are not open (open ones are unlinked
 * too: their handles keep the bytes). */
static int drop_data_files(struct mlfs_wt *wt, struct mlfs_wnode *v,
			   size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].data)
			r = wt_garbage_add(wt, v[i].ino);
	return r == 0 ? wt_collect_garbage(wt, true) : r;
}

/* Put entry @e of the base back as @name in @parent. In a
 * transaction. */
static int restore_entry(struct mlfs_wt *wt, uint64_t parent,
			 const char *name, const struct mlfs_entry *e)
{
	struct mlfs_wdb *db = wt->w->db;
	struct mlfs_wnode n = { 0 }, other;
	uint32_t sub = 0;
	int r;

	n.ino = wt_child_ino(parent, name);
	r = mlfs_wdb_node_get(db, wt->row.id, n.ino, &other);
	if (r == 0) {
		/* that number went elsewhere (a rename): take a new one */
		mlfs_wnode_release(&other);
		n.ino = wt_new_ino(wt);
		r = mlfs_wdb_wt_update(db, &wt->row);
	} else if (r == -ENOENT) {
		r = 0;
	}
	n.type = e->type;
	n.mode = e->mode;
	n.uid = wt->w->uid;
	n.gid = wt->w->gid;
	n.nlink = 1;
	n.size = e->size;
	n.atime_ns = n.mtime_ns = e->mtime_ns;
	n.ctime_ns = wt_base_ctime(wt, e->mtime_ns);
	n.target = (char *)e->target;
	n.has_content = e->type != MLFS_ENTRY_SYMLINK;
	n.content = e->id;
	n.has_origin = true;
	n.opar = parent;
	n.oname = (char *)name;
	if (r == 0 && e->type == MLFS_ENTRY_DIR) {
		n.parent = parent;
		r = wt_materialize_dir(wt, &e->id, n.ino, &sub);
		n.nlink = 2 + sub;
	}
	if (r == 0)
		r = mlfs_wdb_node_put(db, wt->row.id, &n);
	if (r == 0)
		r = mlfs_wdb_dirent_put(db, wt->row.id, parent, name, n.ino);
	return r;
}

/* Split @path into its parent's inode in the working tree and its last
 * component (*leaf points into @path). */
static int resolve_parent(struct mlfs_wt *wt, char *path, uint64_t *parent,
			  const char **leaf)
{
	uint64_t ino = wt->root_ino;
	char *p = path, *slash;
	int r = 0;

	while ((slash = strchr(p, '/'))) {
		struct mlfs_wnode n;

		*slash = '\0';
		r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, ino, p, &ino);
		if (r == 0)
			r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		*slash = '/';
		if (r == -ENOENT) {
			mlfs_error_set("'%.*s' is not in the working tree: "
				       "discard the directory that holds it",
				       (int)(slash - path), path);
			return r;
		}
		if (r < 0)
			return r;
		r = n.type == MLFS_ENTRY_DIR ? 0 : -ENOTDIR;
		mlfs_wnode_release(&n);
		if (r < 0)
			return r;
		p = slash + 1;
	}
	*parent = ino;
	*leaf = p;
	return 0;
}

/* After a discard in directory @parent, @path's: when its names are the
 * base's again, so is its modification time (the names that came and
 * went are what moved it), or status and the next snapshot would still
 * see a change. The root has no time in versions. In a transaction. */
static int settle_parent_mtime(struct mlfs_wt *wt, const char *path,
			       uint64_t parent)
{
	const char *slash = strrchr(path, '/');
	struct mlfs_entry_copy pe = { 0 };
	struct mlfs_wdirent *d = NULL;
	struct mlfs_tree *t = NULL;
	struct mlfs_wnode n;
	size_t nd = 0;
	bool same;
	char *dir;
	int r;

	if (!slash || !wt->row.has_base)
		return 0;
	dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	r = mlfs_tree_lookup_path(wt->w->s, &wt->base_tree, dir, &pe);
	free(dir);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0; /* a directory the base has not */
	if (r == 0 && pe.e.type == MLFS_ENTRY_DIR)
		r = mlfs_tree_load(wt->w->s, &pe.e.id, &t);
	if (r == 0 && t)
		r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, parent, &d,
					 &nd);
	if (r < 0 || !t)
		goto out;
	same = nd == t->n;
	for (size_t i = 0; same && i < nd; i++)
		same = !strcmp(d[i].name, t->e[i].name);
	if (same && (r = mlfs_wdb_node_get(wt->w->db, wt->row.id, parent,
					   &n)) == 0) {
		n.mtime_ns = pe.e.mtime_ns;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
		mlfs_wnode_release(&n);
	}
out:
	mlfs_wdirent_free(d, nd);
	mlfs_tree_free(t);
	mlfs_entry_copy_release(&pe);
	return r;
}

/* Put @path back as the base has it (absent if the base has none). */
static int discard_path(struct mlfs_wt *wt, const char *arg)
{
	struct mlfs_wdb *db = wt->w->db;
	struct mlfs_entry_copy base = { 0 };
	struct mlfs_wnode n;
	bool in_base = false, in_wt = false;
	char *path = strdup(arg);
	const char *leaf;
	uint64_t parent, ino;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	if (!*path || path[0] == '/' || strstr(path, "//") ||
	    !strcmp(path, ".") || !strncmp(path, "./", 2) ||
	    strstr(path, "/./") || strstr(path, "..")) {
		mlfs_error_set("'%s': give a path inside the tree, without "
			       "'.', '..' or a leading '/'", arg);
		free(path);
		return -EINVAL;
	}
	if (wt->row.has_base) {
		r = mlfs_tree_lookup_path(wt->w->s, &wt->base_tree, path,
					  &base);
		in_base = r == 0;
		if (r < 0 && r != -ENOENT && r != -ENOTDIR)
			goto out;
	}
	r = resolve_parent(wt, path, &parent, &leaf);
	if (r == -ENOENT && !in_base) {
		mlfs_error_set("'%s' is neither in the working tree nor in "
			       "its base", arg);
		goto out;
	}
	if (r < 0)
		goto out;
	r = mlfs_wdb_dirent_get(db, wt->row.id, parent, leaf, &ino);
	if (r == 0)
		r = mlfs_wdb_node_get(db, wt->row.id, ino, &n);
	in_wt = r == 0;
	if (r < 0 && r != -ENOENT)
		goto out;
	if (!in_wt && !in_base) {
		mlfs_error_set("'%s' is neither in the working tree nor in "
			       "its base", arg);
		r = -ENOENT;
		goto out;
	}
	r = mlfs_wdb_begin(db);
	if (r < 0)
		goto out_node;
	if (in_wt) {
		bool was_dir = n.type == MLFS_ENTRY_DIR;

		r = drop_entry(wt, parent, leaf, &n);
		if (r == 0 && was_dir)
			r = add_links(wt, parent, -1);
	}
	if (r == 0 && in_base) {
		r = restore_entry(wt, parent, leaf, &base.e);
		if (r == 0 && base.e.type == MLFS_ENTRY_DIR)
			r = add_links(wt, parent, 1);
	}
	if (r == 0)
		r = settle_parent_mtime(wt, path, parent);
	/* the directory's tree is computed again at the next snapshot */
	if (r == 0)
		r = wt_dirty_dirs(wt, parent);
	if (r == 0)
		r = mlfs_wdb_commit(db);
	else
		mlfs_wdb_rollback(db);
	if (r == 0)
		r = wt_collect_garbage(wt, true);
out_node:
	if (in_wt)
		mlfs_wnode_release(&n);
out:
	mlfs_entry_copy_release(&base);
	free(path);
	return r;
}

int mlfs_wt_discard(struct mlfs_wt *wt, const char *const *paths, size_t n)
{
	struct mlfs_wnode *v = NULL;
	size_t nv = 0;
	int r = 0;

	pthread_mutex_lock(&wt->w->lock);
	if (!wt->w->edit) {
		r = -EROFS;
		goto out;
	}
	if (wt->snap) {
		mlfs_error_set("a snapshot of this working tree is running");
		r = -EBUSY;
		goto out;
	}
	if (!wt->row.materialized) {
		for (size_t i = 0; i < n; i++) {
			struct mlfs_entry_copy e = { 0 };

			r = wt->row.has_base ?
			    mlfs_tree_lookup_path(wt->w->s, &wt->base_tree,
						  paths[i], &e) : -ENOENT;
			mlfs_entry_copy_release(&e);
			if (r < 0) {
				mlfs_error_set("'%s' is neither in the working "
					       "tree nor in its base", paths[i]);
				r = -ENOENT;
				goto out;
			}
		}
		goto out; /* no edits: nothing to drop */
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		r = discard_path(wt, paths[i]);
	if (n)
		goto out;
	r = mlfs_wdb_node_select(wt->w->db, wt->row.id, MLFS_WDB_DATA, &v,
				 &nv);
	if (r == 0)
		r = wt_rebase_locked(wt, wt->row.has_base, &wt->row.base);
	if (r == 0)
		r = drop_data_files(wt, v, nv);
out:
	for (size_t i = 0; i < nv; i++)
		mlfs_wnode_release(&v[i]);
	free(v);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

/* ---- listing, gc ---- */

int mlfs_work_dirty_list(struct mlfs_work *w, char ***out, size_t *n)
{
	struct mlfs_wdb_wt *v = NULL;
	char **names = NULL;
	size_t nv = 0, cnt = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&w->lock);
	if (w->db)
		r = mlfs_wdb_wt_list(w->db, &v, &nv);
	for (size_t i = 0; r == 0 && i < nv; i++) {
		struct mlfs_repo repo;
		struct mlfs_wnode root;
		char buf[3 * (MLFS_NAME_MAX + 1) + 4];
		char **nn;

		if (!v[i].materialized)
			continue;
		r = mlfs_wdb_node_get(w->db, v[i].id,
				      wt_root_ino(v[i].repo_id, v[i].branch),
				      &root);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		mlfs_wnode_release(&root);
		if (!root.dirty)
			continue;
		r = mlfs_meta_repo_get_id(w->s->meta, v[i].repo_id, &repo);
		if (r < 0)
			break;
		snprintf(buf, sizeof(buf), "%s/%s@%s", repo.ns, repo.name,
			 v[i].branch);
		nn = realloc(names, (cnt + 1) * sizeof(*nn));
		if (!nn) {
			r = -ENOMEM;
			break;
		}
		names = nn;
		names[cnt] = strdup(buf);
		if (!names[cnt]) {
			r = -ENOMEM;
			break;
		}
		cnt++;
	}
	pthread_mutex_unlock(&w->lock);
	free(v);
	if (r < 0) {
		mlfs_strv_free(names, cnt);
		return r;
	}
	*out = names;
	*n = cnt;
	return 0;
}

int mlfs_work_branch_dirty(struct mlfs_store *s, const char *ns,
			   const char *name, const char *branch)
{
	struct mlfs_work *w = NULL;
	struct mlfs_wt *wt;
	int r = mlfs_work_open(s, 0, &w);

	if (r < 0 || !w)
		return r;
	r = mlfs_wt_get(w, ns, name, branch, &wt);
	if (r == 0)
		r = mlfs_wt_dirty(wt) ? 1 : 0;
	else if (r == -ENOENT)
		r = 0;
	mlfs_work_close(w);
	return r;
}
