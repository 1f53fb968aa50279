/*
 * worktree_plan.c - the walk of a snapshot (worktree_snap.c), in two
 * halves so that the working trees' lock is held only for the first:
 * under the lock the dirty directories' rows are copied into a plan (the
 * entries of each, the files whose data must be read), then without it
 * the files are read into the store through the ingest object and the
 * directories encoded as trees. Edits made meanwhile are recorded
 * (wt_touch) and stay dirty; a file being read cannot be opened for
 * writing or truncated until it has been read (wt_wait_unfrozen).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/ingest.h"
#include "worktree_impl.h"

int wt_snap_item(struct wt_snap *sn, uint64_t ino, const struct mlfs_id *id)
{
	if (sn->n == sn->cap) {
		size_t nc = sn->cap ? sn->cap * 2 : 64;
		struct wt_snap_item *nv = realloc(sn->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sn->v = nv;
		sn->cap = nc;
	}
	sn->v[sn->n].ino = ino;
	if (id)
		sn->v[sn->n].id = *id;
	else
		memset(&sn->v[sn->n].id, 0, sizeof(sn->v[sn->n].id));
	sn->n++;
	return 0;
}

int wt_push_path(char ***v, size_t *n, const char *path)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(path);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int new_dir(struct wt_snap *sn, size_t *idx)
{
	if (sn->ndirs == sn->capdirs) {
		size_t nc = sn->capdirs ? sn->capdirs * 2 : 16;
		struct wt_plan_dir *nv = realloc(sn->dirs, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sn->dirs = nv;
		sn->capdirs = nc;
	}
	*idx = sn->ndirs++;
	memset(&sn->dirs[*idx], 0, sizeof(sn->dirs[*idx]));
	return 0;
}

static int new_file(struct wt_snap *sn, const struct wt_plan_file *pf)
{
	if (sn->nfiles == sn->capfiles) {
		size_t nc = sn->capfiles ? sn->capfiles * 2 : 16;
		struct wt_plan_file *nv = realloc(sn->files,
						  nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sn->files = nv;
		sn->capfiles = nc;
	}
	sn->files[sn->nfiles++] = *pf;
	return 0;
}

/* Entry @e (of node @n, named @path) of plan directory @idx. Locked. */
static int plan_entry(struct wt_snap *sn, size_t idx, size_t k,
		      struct mlfs_wnode *n, const char *path)
{
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_entry *e = &sn->dirs[idx].ents[k];
	struct mlfs_wt_file *f;
	int r = 0;

	switch (n->type) {
	case MLFS_ENTRY_DIR:
		e->size = 0;
		if (!n->dirty && n->has_content)
			return 0; /* e->id: its tree, unchanged */
		return wt_plan_dir(sn, n, path, idx, k);
	case MLFS_ENTRY_SYMLINK:
		e->target = n->target; /* taken: freed with the plan */
		n->target = NULL;
		e->size = strlen(e->target);
		memset(&e->id, 0, sizeof(e->id));
		return n->dirty ? wt_snap_item(sn, n->ino, NULL) : 0;
	default:
		break;
	}
	if (n->data && (n->dirty || !n->has_content)) {
		/* its bytes are read later, outside the lock */
		struct wt_plan_file pf = { .ino = n->ino, .dir = idx,
					   .ent = k };

		f = wt_file_find(wt, n->ino);
		pf.frozen = !f || !f->writers;
		pf.path = strdup(path);
		if (!pf.path)
			return -ENOMEM;
		if (!pf.frozen)
			r = wt_push_path(&sn->open_files, &sn->nopen, path);
		if (r == 0)
			r = new_file(sn, &pf);
		if (r < 0)
			free(pf.path);
		return r;
	}
	if (n->data) {
		struct mlfs_wt_attr a;

		r = wt_node_attr(wt, n, &a);
		e->mtime_ns = a.mtime_ns;
		e->size = a.size;
	}
	if (r == 0 && n->dirty)
		r = wt_snap_item(sn, n->ino, &n->content);
	return r;
}

int wt_plan_dir(struct wt_snap *sn, struct mlfs_wnode *self,
		const char *path, size_t parent, size_t pent)
{
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_wdirent *d = NULL;
	struct wt_plan_dir *pd;
	size_t nd = 0, kept = 0, idx;
	int r = new_dir(sn, &idx);

	if (r < 0)
		return r;
	pd = &sn->dirs[idx];
	pd->ino = self->ino;
	pd->parent = parent;
	pd->ent = pent;
	r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, self->ino, &d, &nd);
	if (r == 0 && nd) {
		pd->ents = calloc(nd, sizeof(*pd->ents));
		pd->inos = calloc(nd, sizeof(*pd->inos));
		pd->moved = calloc(nd, sizeof(*pd->moved));
		if (!pd->ents || !pd->inos || !pd->moved)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < nd; i++) {
		struct mlfs_wnode *n = &d[i].node;
		struct mlfs_entry *e;
		char *sub = NULL;

		r = wt_path_join(&sub, path, d[i].name);
		if (r < 0)
			break;
		if (n->type == MLFS_WT_SPECIAL) {
			/* versions hold no FIFOs, sockets or devices: as
			 * import does, the snapshot leaves them out (listed
			 * in the result) */
			r = wt_push_path(&sn->res->skipped,
					 &sn->res->nskipped, sub);
			free(sub);
			continue;
		}
		/* (the array does not move while the walk goes below) */
		pd = &sn->dirs[idx];
		e = &pd->ents[kept];
		e->name = d[i].name; /* taken: freed with the plan */
		d[i].name = NULL;
		e->type = (enum mlfs_entry_type)n->type;
		e->mode = n->mode;
		e->mtime_ns = n->mtime_ns;
		e->size = n->size;
		e->id = n->content;
		pd->inos[kept] = n->ino;
		pd->moved[kept] = !n->has_origin || n->opar != self->ino ||
				  !n->oname || strcmp(n->oname, e->name);
		pd->n = ++kept;
		r = plan_entry(sn, idx, kept - 1, n, sub);
		free(sub);
	}
	mlfs_wdirent_free(d, nd);
	return r;
}

/* Read plan file @pf into the store: its entry gets digest, size and
 * mtime. Unlocked (the data file stays: collection waits while a
 * snapshot runs). */
static int read_file(struct wt_snap *sn, struct wt_plan_file *pf)
{
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_entry *e = &sn->dirs[pf->dir].ents[pf->ent];
	char dpath[PATH_MAX];
	struct stat st;
	int fd, r;

	wt_data_path(wt, pf->ino, dpath, sizeof(dpath));
	fd = open(dpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		mlfs_error_set("working tree '%s': cannot open its data: %s",
			       pf->path, strerror(-r));
		return r == -ENOENT ? -EIO : r;
	}
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0)
		r = mlfs_ingest_file(sn->in, fd, pf->path, &e->id, &e->size);
	close(fd);
	if (r < 0)
		return r;
	e->mtime_ns = wt_ts_ns(&st.st_mtim);
	sn->res->files_ingested++;
	sn->res->bytes_ingested += e->size;
	return wt_snap_item(sn, pf->ino, &e->id);
}

int wt_plan_read(struct wt_snap *sn, struct mlfs_id *tree)
{
	struct mlfs_wt *wt = sn->wt;
	int r = 0;

	for (size_t i = 0; r == 0 && i < sn->nfiles; i++) {
		r = read_file(sn, &sn->files[i]);
		/* read: a write open of it may go on */
		pthread_mutex_lock(&wt->w->lock);
		sn->files[i].frozen = false;
		pthread_cond_broadcast(&wt->w->cond);
		pthread_mutex_unlock(&wt->w->lock);
	}
	/* children were planned after their parents: encode backwards */
	for (size_t i = sn->ndirs; r == 0 && i > 0; i--) {
		struct wt_plan_dir *pd = &sn->dirs[i - 1];
		struct mlfs_id id;

		r = mlfs_ingest_tree(sn->in, pd->ents, pd->n, &id);
		if (r == 0)
			r = wt_snap_item(sn, pd->ino, &id);
		if (r == 0 && pd->parent != SIZE_MAX)
			sn->dirs[pd->parent].ents[pd->ent].id = id;
		else if (r == 0)
			*tree = id;
	}
	return r;
}

bool wt_plan_frozen(const struct mlfs_wt *wt, uint64_t ino)
{
	const struct wt_snap *sn = wt->snap;

	for (size_t i = 0; sn && i < sn->nfiles; i++)
		if (sn->files[i].frozen && sn->files[i].ino == ino)
			return true;
	return false;
}

void wt_plan_release(struct wt_snap *sn)
{
	for (size_t i = 0; i < sn->ndirs; i++) {
		struct wt_plan_dir *pd = &sn->dirs[i];

		for (size_t k = 0; k < pd->n; k++) {
			free((char *)pd->ents[k].name);
			free((char *)pd->ents[k].target);
		}
		free(pd->ents);
		free(pd->inos);
		free(pd->moved);
	}
	free(sn->dirs);
	for (size_t i = 0; i < sn->nfiles; i++)
		free(sn->files[i].path);
	free(sn->files);
	free(sn->touched);
	free(sn->v);
	sn->dirs = NULL;
	sn->files = NULL;
	sn->touched = NULL;
	sn->v = NULL;
	sn->ndirs = sn->nfiles = sn->ntouched = sn->n = 0;
}
