/*
 * worktree_snap.c - a working tree becomes a version (snapshot), is
 * compared with its base (status), or goes back to it (discard).
 *
 * A snapshot walks only dirty directories: a clean one keeps its tree
 * id, a clean file its content digest; written files are ingested as an
 * import ingests them (ingest.h), with the working trees' lock released
 * (worktree_plan.c): edits made meanwhile stay dirty. The commit follows
 * import's barrier
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

/* A set of inode numbers (0 is never one: an empty slot). */
struct ino_set {
	uint64_t *k;
	size_t cap, n;
};

static size_t set_slot(const struct ino_set *s, uint64_t ino)
{
	size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (s->cap - 1);

	while (s->k[i] && s->k[i] != ino)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static bool set_has(const struct ino_set *s, uint64_t ino)
{
	return s->cap && s->k[set_slot(s, ino)] == ino;
}

/* 1 when added, 0 when it was there, -ENOMEM. */
static int set_add(struct ino_set *s, uint64_t ino)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		struct ino_set g = { .cap = s->cap ? s->cap * 2 : 64 };

		g.k = calloc(g.cap, sizeof(*g.k));
		if (!g.k)
			return -ENOMEM;
		for (size_t j = 0; j < s->cap; j++)
			if (s->k[j]) {
				g.k[set_slot(&g, s->k[j])] = s->k[j];
				g.n++;
			}
		free(s->k);
		*s = g;
	}
	i = set_slot(s, ino);
	if (s->k[i])
		return 0;
	s->k[i] = ino;
	s->n++;
	return 1;
}

/* @ino and every directory above it (above each name of a file). */
static int add_with_ancestors(struct mlfs_wt *wt, uint64_t ino,
			      struct ino_set *set)
{
	uint64_t *parents = NULL, one = 0;
	size_t np = 0;
	struct mlfs_wnode nd;
	int r = set_add(set, ino);

	if (r <= 0)
		return r; /* there: so are its ancestors */
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &nd);
	if (r < 0)
		return r == -ENOENT ? 0 : r; /* gone: its directory was
					      * edited too */
	if (nd.type == MLFS_ENTRY_DIR) {
		one = nd.parent;
		np = one ? 1 : 0;
	} else {
		r = mlfs_wdb_dirent_parents(wt->w->db, wt->row.id, ino,
					    &parents, &np);
	}
	mlfs_wnode_release(&nd);
	for (size_t i = 0; r == 0 && i < np; i++) {
		uint64_t d = parents ? parents[i] : one;

		/* up to the root, or to one already in (its ancestors are) */
		while (r == 0 && d) {
			struct mlfs_wnode dn;

			r = set_add(set, d);
			if (r <= 0)
				break;
			r = mlfs_wdb_node_get(wt->w->db, wt->row.id, d, &dn);
			if (r < 0)
				break;
			d = dn.parent;
			mlfs_wnode_release(&dn);
		}
		r = r == -ENOENT || r == 1 ? 0 : r;
	}
	free(parents);
	return r;
}

/* What must stay dirty after this snapshot: nodes edited while it read
 * (and what holds them), files open for writing (they may be written at
 * any moment, by the kernel itself with passthrough). *all when that is
 * everything. Locked. */
static int keep_dirty(struct wt_snap *sn, struct ino_set *set, bool *all)
{
	struct mlfs_wt *wt = sn->wt;
	int r = 0;

	*all = sn->touched_all;
	for (size_t i = 0; r == 0 && !*all && i < sn->ntouched; i++)
		r = add_with_ancestors(wt, sn->touched[i], set);
	for (struct mlfs_wt_file *f = wt->files; r == 0 && !*all && f;
	     f = f->next)
		if (f->writers)
			r = add_with_ancestors(wt, f->ino, set);
	return r;
}

/* Record the walk's results and the pending commit in work.db: called
 * inside the store's transaction, before it commits, with the work lock
 * held. A node that stays dirty gets no result, so that also a recovery
 * after a crash leaves it dirty. */
static int mark_pending(void *ctx, const struct mlfs_id *commit)
{
	struct wt_snap *sn = ctx;
	struct mlfs_wt *wt = sn->wt;
	struct mlfs_wdb *db = wt->w->db;
	struct ino_set keep = { 0 };
	bool all = false;
	int r = keep_dirty(sn, &keep, &all);

	if (r == 0)
		r = mlfs_wdb_begin(db);
	for (size_t i = 0; r == 0 && !all && i < sn->n; i++) {
		struct mlfs_wnode n;

		if (set_has(&keep, sn->v[i].ino))
			continue;
		r = mlfs_wdb_node_get(db, wt->row.id, sn->v[i].ino, &n);
		if (r == -ENOENT) {
			r = 0; /* removed while the files were read */
			continue;
		}
		if (r < 0)
			break;
		n.has_snap = true;
		n.snap = sn->v[i].id;
		r = mlfs_wdb_node_put(db, wt->row.id, &n);
		mlfs_wnode_release(&n);
	}
	free(keep.k);
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

/* Node @ino's origin becomes (@dir, @name) if it is not. In a
 * transaction. */
static int set_origin(struct mlfs_wt *wt, uint64_t ino, uint64_t dir,
		      const char *name)
{
	struct mlfs_wnode n;
	char *old;
	int r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);

	if (r < 0)
		return r == -ENOENT ? 0 : r; /* removed meanwhile */
	old = n.oname;
	if (!n.has_origin || n.opar != dir || !old || strcmp(old, name)) {
		n.has_origin = true;
		n.opar = dir;
		n.oname = (char *)name;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
		n.oname = old;
	}
	mlfs_wnode_release(&n);
	return r;
}

/* The entries of the directories just committed are where the commit
 * has them: their origin becomes (directory, name), so that status
 * still finds their committed path after they move (worktree_status.c).
 * From the plan (the listing as committed, also of a directory edited
 * since); without one (a recovery), from the rows of each directory the
 * snapshot computed (nothing edited them since: it held the lock).
 * Only rows that differ are written. In a transaction. */
static int set_origins(struct mlfs_wt *wt, struct wt_snap *sn,
		       const struct mlfs_wnode *v, size_t n)
{
	int r = 0;

	for (size_t i = 0; sn && r == 0 && i < sn->ndirs; i++) {
		const struct wt_plan_dir *pd = &sn->dirs[i];

		for (size_t k = 0; r == 0 && k < pd->n; k++)
			if (pd->moved[k])
				r = set_origin(wt, pd->inos[k], pd->ino,
					       pd->ents[k].name);
	}
	for (size_t i = 0; !sn && r == 0 && i < n; i++) {
		struct mlfs_wdirent *d = NULL;
		size_t nd = 0;

		if (v[i].type != MLFS_ENTRY_DIR)
			continue;
		r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, v[i].ino, &d,
					 &nd);
		for (size_t k = 0; r == 0 && k < nd; k++)
			if (d[k].node.type != MLFS_WT_SPECIAL)
				r = set_origin(wt, d[k].node.ino, v[i].ino,
					       d[k].name);
		mlfs_wdirent_free(d, nd);
	}
	return r;
}

/* Apply every pending result of @wt and make @commit its base (what
 * stays dirty got no result: mark_pending). @sn: the snapshot that made
 * them, NULL in a recovery. */
static int apply_pending(struct mlfs_wt *wt, const struct mlfs_id *commit,
			 struct wt_snap *sn)
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
		/* open, but not for writing (that stays dirty) */
		struct mlfs_wt_file *f = wt_file_find(wt, v[i].ino);

		r = apply_node(wt, &v[i], f != NULL);
		if (r == 1)
			drop[ndrop++] = v[i].ino;
		if (r >= 0)
			r = mlfs_wdb_node_put(db, wt->row.id, &v[i]);
		if (r == 0 && f)
			__atomic_store_n(&f->marked, false, __ATOMIC_RELEASE);
	}
	if (r == 0)
		r = set_origins(wt, sn, v, n);
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
	if (r == 0 && !(sn && sn->defer_garbage) && !wt->snap)
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

/* The store object snapshots ingest with (struct mlfs_work). Locked. */
static int ingest_store(struct mlfs_work *w, struct mlfs_store **out)
{
	int r = 0;

	if (!w->ingest_store)
		r = mlfs_store_open(mlfs_store_dir(w->s), 0, &w->ingest_store);
	*out = w->ingest_store;
	return r;
}

/* Under the lock: may @wt be snapshot, and is there anything to take?
 * Plans the walk into @sn (1: nothing to commit). */
static int snap_begin(struct mlfs_wt *wt, struct wt_snap *sn)
{
	struct mlfs_wnode root;
	struct mlfs_id head;
	bool has_head;
	int r;

	if (!wt->w->edit)
		return -EROFS;
	if (wt->snap) {
		mlfs_error_set("a snapshot of '%s/%s@%s' is running",
			       wt->repo.ns, wt->repo.name, wt->branch);
		return -EBUSY;
	}
	r = wt_branch_head(wt, &has_head, &head);
	if (r < 0)
		return r;
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
		return -ESTALE;
	}
	if (!wt->row.materialized)
		return 1;
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->root_ino, &root);
	if (r < 0)
		return r;
	if (!root.dirty && (root.has_content || !wt->row.has_base)) {
		mlfs_wnode_release(&root);
		return 1;
	}
	if (!wt->row.has_base) {
		r = mlfs_wdb_dirent_any(wt->w->db, wt->row.id, root.ino);
		if (r == 0) {
			/* a new repository's tree still empty */
			root.dirty = false;
			r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &root);
			mlfs_wnode_release(&root);
			return r < 0 ? r : 1;
		}
	}
	if (r >= 0)
		r = wt_plan_dir(sn, &root, "", SIZE_MAX, 0);
	mlfs_wnode_release(&root);
	return r;
}

/* Under the lock again: commit @tree (the store's transaction, with the
 * marker written inside it) and apply the results. */
static int snap_commit(struct mlfs_wt *wt, struct wt_snap *sn,
		       const struct mlfs_wt_snapshot_opts *o,
		       const struct mlfs_id *tree)
{
	struct mlfs_wt_snapshot_result *res = sn->res;
	struct mlfs_commit_req req = { 0 };
	struct mlfs_commit_result cr;
	char author[256];
	int r;

	if (wt->row.has_base && !mlfs_id_cmp(tree, &wt->base_tree)) {
		/* edits that came back to the base: clean, no commit (the
		 * rows are stored: mlfs_ingest_flush) */
		res->no_changes = true;
		r = mark_pending(sn, &wt->row.base);
		return r == 0 ? apply_pending(wt, &wt->row.base, sn) : r;
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
	req.tree = *tree;
	req.check_parent = true;
	req.expect = wt->row.has_base ? &wt->row.base : NULL;
	req.before_commit = mark_pending;
	req.ctx = sn;
	req.inputs = o ? o->inputs : NULL;
	req.ninputs = o ? o->ninputs : 0;
	r = mlfs_ingest_commit(sn->in, &req, &cr);
	if (r < 0) {
		if (wt->row.has_pending)
			(void)undo_pending(wt);
		return r;
	}
	res->commit = cr.commit;
	res->has_parent = cr.has_parent;
	res->parent = cr.parent;
	r = apply_pending(wt, &cr.commit, sn);
	if (r == 0)
		wt->base_tree = *tree;
	return r;
}

int mlfs_wt_snapshot(struct mlfs_wt *wt, const struct mlfs_wt_snapshot_opts *o,
		     struct mlfs_wt_snapshot_result *res)
{
	struct mlfs_ingest_opts io = { .threads = o ? o->threads : 0 };
	struct wt_snap sn = { .wt = wt, .res = res,
			      .defer_garbage = o && o->defer_garbage };
	struct mlfs_store *s = NULL;
	struct mlfs_id tree;
	bool planned = false;
	double t0 = mlfs_now();
	int r;

	memset(res, 0, sizeof(*res));
	mlfs_error_clear();
	pthread_mutex_lock(&wt->w->lock);
	r = snap_begin(wt, &sn);
	if (r == 1) {
		res->no_changes = true;
		r = 0;
		goto out;
	}
	if (r == 0)
		r = ingest_store(wt->w, &s);
	if (r == 0)
		r = mlfs_ingest_begin(s, &io, &sn.in);
	if (r < 0)
		goto out;
	/* from here edits go on: they are recorded in sn (wt_touch), and
	 * the files planned wait to be read before they are written */
	wt->snap = &sn;
	planned = true;
	pthread_mutex_unlock(&wt->w->lock);
	if (o && o->reading)
		o->reading(o->reading_ctx);
	r = wt_plan_read(&sn, &tree);
	/* the barrier (workers drained, packs fsync'd) and the rows, also
	 * outside the lock: the commit that follows has little to do */
	if (r == 0)
		r = mlfs_ingest_flush(sn.in);
	pthread_mutex_lock(&wt->w->lock);
	if (r == 0)
		r = snap_commit(wt, &sn, o, &tree);
out:
	if (planned) {
		wt->snap = NULL;
		for (size_t i = 0; i < sn.nfiles; i++)
			sn.files[i].frozen = false;
		pthread_cond_broadcast(&wt->w->cond);
		if (r == 0 && !sn.defer_garbage)
			r = wt_collect_garbage(wt, true);
	}
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
	res->open_files = sn.open_files;
	res->nopen = sn.nopen;
	res->seconds = mlfs_now() - t0;
	wt_plan_release(&sn);
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
