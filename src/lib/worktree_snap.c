/*
 * worktree_snap.c - a working tree becomes a version (snapshot), is
 * compared with its base (status), or goes back to it (discard).
 *
 * A snapshot walks only dirty directories: a clean one keeps its tree
 * id, a clean file its content digest; written files are ingested as an
 * import ingests them (ingest.h). The commit follows import's barrier
 * (packs fsync'd before the store's transaction). The working tree lives
 * in another database, so the two are tied by a marker: inside the
 * store's transaction, before it commits, work.db records the results and
 * the commit id as pending; after it commits they are applied. A process
 * killed in between leaves the marker, and the next open finishes the
 * snapshot (the branch points at the commit) or undoes it (it does not).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/ingest.h"
#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"

/* What the walk computed for one dirty node. */
struct snap_item {
	uint64_t ino;
	struct mlfs_id id;
	bool data;          /* a file whose bytes were in its data file */
	uint64_t writes;    /* its open file's write count when read */
	bool open;
};

struct snap {
	struct mlfs_wt *wt;
	struct mlfs_ingest *in;
	struct snap_item *v;
	size_t n, cap;
	struct mlfs_wt_snapshot_result *res;
	char **open_files;
	size_t nopen;
	bool defer_garbage; /* opts.defer_garbage */
};

static int snap_add(struct snap *sn, const struct snap_item *it)
{
	if (sn->n == sn->cap) {
		size_t nc = sn->cap ? sn->cap * 2 : 64;
		struct snap_item *nv = realloc(sn->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sn->v = nv;
		sn->cap = nc;
	}
	sn->v[sn->n++] = *it;
	return 0;
}

/* Append a copy of @path to the list *@v of *@n paths. */
static int push_path(char ***v, size_t *n, const char *path)
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

/* Ingest the data file of @n (entry @e gets digest, size, mtime). */
static int snap_file(struct snap *sn, struct mlfs_wnode *n, const char *path,
		     struct mlfs_entry *e)
{
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_wt_file *f = wt_file_find(wt, n->ino);
	struct snap_item it = { .ino = n->ino, .data = true };
	char dpath[PATH_MAX];
	struct stat st;
	int fd, r;

	wt_data_path(wt, n->ino, dpath, sizeof(dpath));
	fd = open(dpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		mlfs_error_set("working tree '%s': cannot open its data: %s",
			       path, strerror(-r));
		return r == -ENOENT ? -EIO : r;
	}
	if (f) {
		it.open = true;
		it.writes = __atomic_load_n(&f->writes, __ATOMIC_RELAXED);
	}
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0)
		r = mlfs_ingest_file(sn->in, fd, path, &it.id, &e->size);
	close(fd);
	if (r < 0)
		return r;
	e->mtime_ns = wt_ts_ns(&st.st_mtim);
	e->id = it.id;
	sn->res->files_ingested++;
	sn->res->bytes_ingested += e->size;
	if (f && f->writers) {
		r = push_path(&sn->open_files, &sn->nopen, path);
		if (r < 0)
			return r;
	}
	return snap_add(sn, &it);
}

/* The tree of directory @ino (a dirty one is computed from its rows). */
static int snap_dir(struct snap *sn, struct mlfs_wnode *self,
		    const char *path, struct mlfs_id *out)
{
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_wdirent *d = NULL;
	struct mlfs_entry *ents = NULL;
	struct snap_item it = { .ino = self->ino };
	size_t nd = 0, kept = 0;
	int r;

	if (!self->dirty && self->has_content) {
		*out = self->content;
		return 0;
	}
	r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, self->ino, &d, &nd);
	if (r == 0 && nd) {
		ents = calloc(nd, sizeof(*ents));
		if (!ents)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < nd; i++) {
		struct mlfs_wnode *n = &d[i].node;
		struct mlfs_entry *e = &ents[kept];
		char *sub = NULL;

		if (n->type == MLFS_WT_SPECIAL) {
			/* versions hold no FIFOs, sockets or devices: as
			 * import does, the snapshot leaves them out */
			r = wt_path_join(&sub, path, d[i].name);
			if (r == 0)
				/* listed in the result */
				r = push_path(&sn->res->skipped,
					      &sn->res->nskipped, sub);
			free(sub);
			continue;
		}
		kept++;
		e->name = d[i].name;
		e->type = (enum mlfs_entry_type)n->type;
		e->mode = n->mode;
		e->mtime_ns = n->mtime_ns;
		e->size = n->size;
		e->id = n->content;
		r = wt_path_join(&sub, path, d[i].name);
		if (r < 0)
			break;
		switch (n->type) {
		case MLFS_ENTRY_DIR:
			e->size = 0;
			r = snap_dir(sn, n, sub, &e->id);
			break;
		case MLFS_ENTRY_SYMLINK:
			e->target = n->target;
			e->size = strlen(n->target);
			memset(&e->id, 0, sizeof(e->id));
			if (n->dirty) {
				struct snap_item s = { .ino = n->ino };

				r = snap_add(sn, &s);
			}
			break;
		default:
			if (n->data && (n->dirty || !n->has_content)) {
				r = snap_file(sn, n, sub, e);
			} else {
				if (n->data) {
					struct mlfs_wt_attr a;

					r = wt_node_attr(wt, n, &a);
					e->mtime_ns = a.mtime_ns;
					e->size = a.size;
				}
				if (r == 0 && n->dirty) {
					struct snap_item s = {
						.ino = n->ino,
						.id = n->content };

					r = snap_add(sn, &s);
				}
			}
			break;
		}
		free(sub);
	}
	if (r == 0)
		r = mlfs_ingest_tree(sn->in, ents, kept, out);
	if (r == 0) {
		it.id = *out;
		r = snap_add(sn, &it);
	}
	free(ents);
	mlfs_wdirent_free(d, nd);
	return r;
}

/* Record the walk's results and the pending commit in work.db: called
 * inside the store's transaction, before it commits. */
static int mark_pending(void *ctx, const struct mlfs_id *commit)
{
	struct snap *sn = ctx;
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_wdb *db = wt->w->db;
	int r = mlfs_wdb_begin(db);

	for (size_t i = 0; r == 0 && i < sn->n; i++) {
		struct mlfs_wnode n;

		r = mlfs_wdb_node_get(db, wt->row.id, sn->v[i].ino, &n);
		if (r < 0)
			break;
		n.has_snap = true;
		n.snap = sn->v[i].id;
		r = mlfs_wdb_node_put(db, wt->row.id, &n);
		mlfs_wnode_release(&n);
	}
	wt->row.has_pending = true;
	wt->row.pending = *commit;
	if (r == 0)
		r = mlfs_wdb_wt_update(db, &wt->row);
	if (r == 0)
		r = mlfs_wdb_commit(db);
	else
		mlfs_wdb_rollback(db);
	/* the marker must be on disk before the store's commit it names:
	 * after a power cut, the commit without it would look like a
	 * branch moved under the edits */
	if (r == 0)
		r = mlfs_wdb_sync(db);
	if (r < 0)
		wt->row.has_pending = false;
	return r;
}

/* The node's snapshot result becomes its state; a file's data file goes
 * (its bytes are in the store now) unless it is open. Returns 1 when the
 * data file is to be removed after the transaction. */
static int apply_node(struct mlfs_wt *wt, struct mlfs_wnode *n, bool keep)
{
	int drop = 0;

	if (n->type == MLFS_ENTRY_FILE && n->data && !keep) {
		struct mlfs_wt_attr a;
		int r = wt_node_attr(wt, n, &a);

		if (r < 0)
			return r;
		n->size = a.size;
		n->mtime_ns = a.mtime_ns;
		n->atime_ns = a.atime_ns;
		n->ctime_ns = a.ctime_ns;
		n->data = false;
		drop = 1;
	}
	if (n->type != MLFS_ENTRY_SYMLINK) {
		n->has_content = true;
		n->content = n->snap;
	}
	n->dirty = false;
	n->has_snap = false;
	return drop;
}

/* The entries of directory @dir are where the commit being applied has
 * them: their origin becomes (@dir, name), so that status still finds
 * their committed path after they move (worktree_status.c). Only rows
 * that differ are written. In a transaction. */
static int set_origins(struct mlfs_wt *wt, uint64_t dir)
{
	struct mlfs_wdirent *d = NULL;
	size_t nd = 0;
	int r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, dir, &d, &nd);

	for (size_t i = 0; r == 0 && i < nd; i++) {
		struct mlfs_wnode *n = &d[i].node;
		char *old = n->oname;

		/* special files are in no version */
		if (n->type == MLFS_WT_SPECIAL ||
		    (n->has_origin && n->opar == dir && old &&
		     !strcmp(old, d[i].name)))
			continue;
		n->has_origin = true;
		n->opar = dir;
		n->oname = d[i].name;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, n);
		n->oname = old;
	}
	mlfs_wdirent_free(d, nd);
	return r;
}

/* Apply every pending result of @wt and make @commit its base. Files
 * whose open handle was written meanwhile (@sn's counts), or that are
 * open for writing, stay dirty. */
static int apply_pending(struct mlfs_wt *wt, const struct mlfs_id *commit,
			 struct snap *sn)
{
	struct mlfs_wdb *db = wt->w->db;
	struct mlfs_wnode *v = NULL;
	uint64_t *drop = NULL;
	size_t n = 0, ndrop = 0;
	int r = mlfs_wdb_node_select(db, wt->row.id, MLFS_WDB_SNAP, &v, &n);

	if (r < 0)
		return r;
	drop = calloc(n ? n : 1, sizeof(*drop));
	if (!drop)
		r = -ENOMEM;
	if (r == 0)
		r = mlfs_wdb_begin(db);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct mlfs_wt_file *f = wt_file_find(wt, v[i].ino);
		bool rewritten = false;

		for (size_t k = 0; sn && f && k < sn->n; k++)
			if (sn->v[k].ino == v[i].ino && sn->v[k].open &&
			    __atomic_load_n(&f->writes, __ATOMIC_RELAXED) !=
			    sn->v[k].writes)
				rewritten = true;
		/* one still open for writing may be written at any moment,
		 * by the kernel itself too (passthrough) without a write we
		 * would count: it stays dirty */
		if (f && f->writers)
			rewritten = true;
		r = apply_node(wt, &v[i], f != NULL);
		if (r == 1)
			drop[ndrop++] = v[i].ino;
		if (r >= 0)
			r = mlfs_wdb_node_put(db, wt->row.id, &v[i]);
		if (r == 0 && f && !rewritten)
			__atomic_store_n(&f->marked, false, __ATOMIC_RELEASE);
		if (r == 0 && rewritten)
			r = 1; /* dirty again below, after all are clean */
		if (r == 1) {
			v[i].dirty = true;
			r = 0;
		}
	}
	/* a file written during the walk is dirty again, and so are the
	 * directories that hold it */
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t *parents = NULL;
		size_t np = 0;

		if (!v[i].dirty || v[i].type != MLFS_ENTRY_FILE)
			continue;
		r = mlfs_wdb_node_put(db, wt->row.id, &v[i]);
		if (r == 0)
			r = mlfs_wdb_dirent_parents(db, wt->row.id, v[i].ino,
						    &parents, &np);
		for (size_t k = 0; r == 0 && k < np; k++) {
			uint64_t ino = parents[k];

			while (ino && r == 0) {
				struct mlfs_wnode d;

				r = mlfs_wdb_node_get(db, wt->row.id, ino, &d);
				if (r < 0 || d.dirty) {
					if (r == 0)
						mlfs_wnode_release(&d);
					break;
				}
				d.dirty = true;
				r = mlfs_wdb_node_put(db, wt->row.id, &d);
				ino = d.parent;
				mlfs_wnode_release(&d);
			}
		}
		free(parents);
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].type == MLFS_ENTRY_DIR)
			r = set_origins(wt, v[i].ino);
	wt->row.has_base = true;
	wt->row.base = *commit;
	wt->row.has_pending = false;
	if (r == 0)
		r = mlfs_wdb_wt_update(db, &wt->row);
	if (r == 0)
		r = mlfs_wdb_commit(db);
	else
		mlfs_wdb_rollback(db);
	/* the data files go once the rows that say so are on disk */
	for (size_t i = 0; r == 0 && i < ndrop; i++)
		r = wt_garbage_add(wt, drop[i]);
	if (r == 0 && !(sn && sn->defer_garbage))
		r = wt_collect_garbage(wt, true);
	for (size_t i = 0; i < n; i++)
		mlfs_wnode_release(&v[i]);
	free(v);
	free(drop);
	return r;
}

/* Forget the results of a snapshot that did not commit. */
static int undo_pending(struct mlfs_wt *wt)
{
	struct mlfs_wdb *db = wt->w->db;
	struct mlfs_wnode *v = NULL;
	size_t n = 0;
	int r = mlfs_wdb_node_select(db, wt->row.id, MLFS_WDB_SNAP, &v, &n);

	if (r == 0)
		r = mlfs_wdb_begin(db);
	for (size_t i = 0; r == 0 && i < n; i++) {
		v[i].has_snap = false;
		r = mlfs_wdb_node_put(db, wt->row.id, &v[i]);
	}
	wt->row.has_pending = false;
	if (r == 0)
		r = mlfs_wdb_wt_update(db, &wt->row);
	if (r == 0)
		r = mlfs_wdb_commit(db);
	else
		mlfs_wdb_rollback(db);
	for (size_t i = 0; i < n; i++)
		mlfs_wnode_release(&v[i]);
	free(v);
	return r;
}

/* Remove the data files no row needs: left by a process killed after it
 * deleted their rows, or by an interrupted copy (".tmp"). Only when
 * nothing can have them open: at the first open of the tree. */
static int sweep_data_files(struct mlfs_wt *wt)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(dir, sizeof(dir), "%s/%lld", wt->w->dir,
		 (long long)wt->row.id);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(d))) {
		struct mlfs_wnode n;
		char *end;
		unsigned long long ino;
		bool keep = false;

		if (de->d_name[0] == '.')
			continue;
		ino = strtoull(de->d_name, &end, 16);
		if (*end == '\0' && strlen(de->d_name) == 16) {
			r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
			if (r == 0) {
				keep = n.data;
				mlfs_wnode_release(&n);
			} else if (r == -ENOENT) {
				r = 0;
			}
		}
		if (r == 0 && !keep)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return r;
}

int wt_recover_locked(struct mlfs_wt *wt)
{
	struct mlfs_wdb *db = wt->w->db;
	struct mlfs_wnode *v = NULL;
	struct mlfs_id head;
	bool has_head;
	size_t n = 0;
	int r = 0;

	if (wt->row.has_pending) {
		r = wt_branch_head(wt, &has_head, &head);
		if (r < 0)
			return r;
		if (has_head && !mlfs_id_cmp(&head, &wt->row.pending))
			r = apply_pending(wt, &wt->row.pending, NULL);
		else
			r = undo_pending(wt);
		if (r < 0)
			return r;
	}
	/* unlinked files that were open when the last process ended */
	r = mlfs_wdb_node_select(db, wt->row.id, MLFS_WDB_ORPHANS, &v, &n);
	if (r == 0 && n)
		r = mlfs_wdb_begin(db);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = mlfs_wdb_node_delete(db, wt->row.id, v[i].ino);
		if (r == 0)
			r = mlfs_wdb_xattr_clear(db, wt->row.id, v[i].ino);
	}
	if (n) {
		if (r == 0)
			r = mlfs_wdb_commit(db);
		else
			mlfs_wdb_rollback(db);
	}
	for (size_t i = 0; i < n; i++)
		mlfs_wnode_release(&v[i]);
	free(v);
	if (r == 0)
		r = sweep_data_files(wt);
	return r;
}

static void default_author(char *buf, size_t size)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if (!u || !*u) {
		pw = getpwuid(geteuid());
		u = pw ? pw->pw_name : "unknown";
	}
	snprintf(buf, size, "%s", u);
}

int mlfs_wt_snapshot(struct mlfs_wt *wt, const struct mlfs_wt_snapshot_opts *o,
		     struct mlfs_wt_snapshot_result *res)
{
	struct mlfs_ingest_opts io = { .threads = o ? o->threads : 0 };
	struct snap sn = { .wt = wt, .res = res,
			   .defer_garbage = o && o->defer_garbage };
	struct mlfs_commit_req req = { 0 };
	struct mlfs_commit_result cr;
	struct mlfs_wnode root = { 0 };
	struct mlfs_id tree, head;
	char author[256];
	bool has_head, got_root = false;
	double t0 = mlfs_now();
	int r;

	memset(res, 0, sizeof(*res));
	mlfs_error_clear();
	pthread_mutex_lock(&wt->w->lock);
	if (!wt->w->edit) {
		r = -EROFS;
		goto out;
	}
	r = wt_branch_head(wt, &has_head, &head);
	if (r < 0)
		goto out;
	if (has_head != wt->row.has_base ||
	    (has_head && mlfs_id_cmp(&head, &wt->row.base))) {
		char a[MLFS_ID_HEX_LEN + 1] = "(none)", b[MLFS_ID_HEX_LEN + 1];

		if (wt->row.has_base)
			mlfs_id_to_hex(&wt->row.base, a);
		mlfs_id_to_hex(&head, b);
		mlfs_error_set("branch '%s' of '%s/%s' moved to %.12s since "
			       "these edits began on %.12s", wt->branch,
			       wt->repo.ns, wt->repo.name,
			       has_head ? b : "(none)", a);
		r = -ESTALE;
		goto out;
	}
	if (!wt->row.materialized) {
		res->no_changes = true;
		goto out;
	}
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->root_ino, &root);
	if (r < 0)
		goto out;
	got_root = true;
	if (!root.dirty && (root.has_content || !wt->row.has_base)) {
		res->no_changes = true;
		goto out;
	}
	r = mlfs_ingest_begin(wt->w->s, &io, &sn.in);
	if (r < 0)
		goto out;
	r = snap_dir(&sn, &root, "", &tree);
	if (r < 0)
		goto out;
	if (wt->row.has_base && !mlfs_id_cmp(&tree, &wt->base_tree)) {
		/* edits that came back to the base: clean, no commit */
		res->no_changes = true;
		r = mlfs_ingest_flush(sn.in);
		if (r == 0)
			r = mark_pending(&sn, &wt->row.base);
		if (r == 0)
			r = apply_pending(wt, &wt->row.base, &sn);
		goto out;
	}
	if (!wt->row.has_base) {
		r = mlfs_wdb_dirent_any(wt->w->db, wt->row.id, root.ino);
		if (r == 0) {
			/* a new repository's tree still empty */
			res->no_changes = true;
			root.dirty = false;
			r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &root);
			goto out;
		}
		if (r < 0)
			goto out;
	}
	default_author(author, sizeof(author));
	req.ns = wt->repo.ns;
	req.name = wt->repo.name;
	req.branch = wt->branch;
	req.tag = o ? o->tag : NULL;
	req.message = o && o->message ? o->message : "snapshot";
	req.author = o && o->author ? o->author : author;
	req.meta = o ? o->meta : NULL;
	req.audit_op = "snapshot";
	req.tree = tree;
	req.check_parent = true;
	req.expect = wt->row.has_base ? &wt->row.base : NULL;
	req.before_commit = mark_pending;
	req.ctx = &sn;
	req.inputs = o ? o->inputs : NULL;
	req.ninputs = o ? o->ninputs : 0;
	r = mlfs_ingest_commit(sn.in, &req, &cr);
	if (r < 0) {
		if (wt->row.has_pending)
			(void)undo_pending(wt);
		goto out;
	}
	res->commit = cr.commit;
	res->has_parent = cr.has_parent;
	res->parent = cr.parent;
	r = apply_pending(wt, &cr.commit, &sn);
	if (r == 0)
		wt->base_tree = tree;
out:
	/* nothing new, but a tag was asked for: the head is the version
	 * the tree shows, so it gets the tag */
	if (r == 0 && res->no_changes && o && o->tag) {
		if (!wt->row.has_base) {
			mlfs_error_set("nothing to tag: '%s/%s' has no version "
				       "yet", wt->repo.ns, wt->repo.name);
			r = -ENOENT;
		} else {
			r = mlfs_ref_create(wt->w->s, wt->repo.id, MLFS_REF_TAG,
					    o->tag, &wt->row.base);
			res->tagged_head = r == 0;
			res->commit = wt->row.base;
		}
	}
	if (sn.in) {
		struct mlfs_import_stats st;

		mlfs_ingest_stats(sn.in, &st);
		res->new_chunks = st.new_chunks;
		res->new_stored_bytes = st.new_stored_bytes;
		mlfs_ingest_end(sn.in);
	}
	if (got_root)
		mlfs_wnode_release(&root);
	res->open_files = sn.open_files;
	res->nopen = sn.nopen;
	res->seconds = mlfs_now() - t0;
	free(sn.v);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

void mlfs_wt_snapshot_result_release(struct mlfs_wt_snapshot_result *r)
{
	for (size_t i = 0; i < r->nskipped; i++)
		free(r->skipped[i]);
	free(r->skipped);
	r->skipped = NULL;
	r->nskipped = 0;
	for (size_t i = 0; i < r->nopen; i++)
		free(r->open_files[i]);
	free(r->open_files);
	r->open_files = NULL;
	r->nopen = 0;
}
