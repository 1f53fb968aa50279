/*
 * fsck.c - check the store and name every damaged object with the
 * repository, version and path it belongs to. Store-wide first: every
 * chunk index entry points at a matching entry header inside an existing
 * pack (fsck_index.c). Then per repository its refs and aliases, its
 * commits and,
 * through each commit's tree, every tree and chunk list, each loaded by the
 * library's verifying loaders (tree hash, commit id, check values) and
 * checked once (id sets; trees and files: fsck_tree.c). Damage never stops the walk: problems are
 * collected, counted per version that shares them, and reported at the
 * end. Only running out of memory ends the check early.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck_impl.h"
#include "mlfs/alias.h"
#include "mlfs/gc.h"
#include "mlfs/remote.h"
#include "mlfs/worktree.h"

#define LABEL_MAX (MLFS_NAME_MAX + 24)

static void prob_release(struct prob *p)
{
	free(p->object);
	free(p->repo);
	free(p->version);
	free(p->commit);
	free(p->path);
	free(p->what);
}

long fsck_problem(struct fsck *f, const char *kind, const char *object,
		  enum where at, const char *fmt, ...)
{
	char what[1200];
	struct prob *p;
	bool oom = false;
	va_list ap;

	if (f->nprobs == f->capprobs) {
		size_t nc = f->capprobs ? 2 * f->capprobs : 16;
		struct prob *v = realloc(f->probs, nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->probs = v;
		f->capprobs = nc;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p = &f->probs[f->nprobs];
	memset(p, 0, sizeof(*p));
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	p->object = mlfs_strdup_opt(object, &oom);
	p->what = mlfs_strdup_opt(what, &oom);
	if (at >= AT_REPO)
		p->repo = mlfs_strdup_opt(f->repo, &oom);
	if (at >= AT_VERSION) {
		p->version = mlfs_strdup_opt(f->version, &oom);
		p->commit = mlfs_strdup_opt(f->commit, &oom);
		p->last_ver = f->ver;
	}
	if (at >= AT_PATH)
		p->path = mlfs_strdup_opt(f->path, &oom);
	if (oom) {
		prob_release(p);
		return -ENOMEM;
	}
	f->st->problems++;
	return (long)f->nprobs++;
}

void fsck_seen_again(struct fsck *f, uint64_t memo)
{
	struct prob *p = &f->probs[memo - MEMO_BAD];

	if (p->last_ver && p->last_ver != f->ver) {
		p->more++;
		p->last_ver = f->ver;
	}
}

const char *fsck_detail(const char *hex, const char *fallback)
{
	const char *d = mlfs_error_detail(), *p;

	if (!d[0])
		return fallback;
	p = hex ? strstr(d, hex) : NULL;
	if (!p || p - d > 40)
		return d;
	p += MLFS_ID_HEX_LEN;
	if (p[0] == ':')
		p++;
	if (p[0] == ' ')
		p++;
	return p[0] ? p : d;
}

const char *fsck_db_why(const char *hex, int r)
{
	return fsck_detail(hex, r == -EBADMSG ? "SQLite reports the file "
			   "malformed" : strerror(-r));
}

long fsck_load_problem(struct fsck *f, const char *kind, const char *hex,
		       enum where at, int r)
{
	if (r == -EBADMSG)
		return fsck_problem(f, "database", hex, at, "cannot read %s "
				    "%s: %s", kind, hex, fsck_db_why(hex, r));
	if (r == -ENOENT)
		return fsck_problem(f, kind, hex, at, "missing from the "
				    "database");
	return fsck_problem(f, kind, hex, at, "%s",
			    fsck_detail(hex, strerror(-r)));
}

/* ---- repositories: refs, commits, versions ------------------------- */

struct repo_walk {
	struct mlfs_commit *cv;
	size_t nc;
	struct mlfs_idset index;      /* commit id -> position + 1 */
	char (*labels)[LABEL_MAX];
	size_t *order;                /* walk order: named ones first */
	size_t norder;
	struct mlfs_idset outside;    /* ids not in cv already checked */
};

/* Name each commit after the first ref whose first-parent history
 * reaches it ("v1", "main~2"), tags before branches; the rest by id. */
static void label_commits(struct repo_walk *w, const struct mlfs_ref *refs,
			  size_t nref)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < nref; k++) {
			const struct mlfs_ref *ref = &refs[k];
			uint64_t *pos = mlfs_idset_get(&w->index, &ref->commit);
			unsigned depth = 0;

			if ((ref->kind == MLFS_REF_TAG) != (pass == 0) ||
			    ref->damaged)
				continue;
			while (pos && !w->labels[*pos - 1][0]) {
				size_t j = *pos - 1;

				if (depth)
					snprintf(w->labels[j], LABEL_MAX,
						 "%s~%u", ref->name, depth);
				else
					snprintf(w->labels[j], LABEL_MAX,
						 "%s", ref->name);
				w->order[w->norder++] = j;
				if (w->cv[j].damaged || !w->cv[j].has_parent)
					break;
				pos = mlfs_idset_get(&w->index,
						     &w->cv[j].parent);
				depth++;
			}
		}
	}
	for (size_t j = 0; j < w->nc; j++) {
		if (w->labels[j][0])
			continue;
		mlfs_id_to_hex(&w->cv[j].id, w->labels[j]);
		w->labels[j][12] = '\0';
		w->order[w->norder++] = j;
	}
}

/* Commit @id, named by a ref or a parent link, is not among the
 * repository's listed commits: load it to say why (once per id). */
static int check_outside(struct fsck *f, struct repo_walk *w,
			 const struct mlfs_id *id, int64_t repo_id,
			 const char *kind, const char *object,
			 const char *role)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_commit c;
	enum where at = kind[0] == 'c' ? AT_VERSION : AT_REPO;
	long pi = 0;
	int r;

	if (mlfs_idset_get(&w->index, id))
		return 0;
	r = mlfs_idset_add(&w->outside, id, 1, NULL);
	if (r <= 0)
		return r;
	mlfs_id_to_hex(id, hex);
	mlfs_error_clear();
	r = mlfs_commit_get(f->s, id, &c);
	if (r == -ENOMEM)
		return r;
	if (r == -ENOENT)
		pi = fsck_problem(f, kind, object, at, "%s commit %s is "
				  "missing", role, hex);
	else if (r < 0)
		pi = fsck_load_problem(f, "commit", hex, at, r);
	else if (c.repo_id != repo_id)
		pi = fsck_problem(f, kind, object, at, "%s commit "
				  "%s belongs to another repository", role,
				  hex);
	if (r == 0)
		mlfs_commit_release(&c);
	return pi < 0 ? -ENOMEM : 0;
}

static int check_refs(struct fsck *f, struct repo_walk *w,
		      const struct mlfs_repo *repo,
		      const struct mlfs_ref *refs, size_t nref)
{
	for (size_t k = 0; k < nref; k++) {
		const char *kind = refs[k].kind == MLFS_REF_TAG ? "tag" :
				   "branch";
		int r;

		if (refs[k].damaged) {
			if (fsck_problem(f, kind, refs[k].name, AT_REPO, "its "
					 "row does not match its check value "
					 "(damaged database)") < 0)
				return -ENOMEM;
			continue;
		}
		r = check_outside(f, w, &refs[k].commit, repo->id, kind,
				  refs[k].name, "its");
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every alias row against its check value, its target, and its history
 * in the audit log (which must lead to the row). */
static int check_aliases(struct fsck *f, struct repo_walk *w,
			 const struct mlfs_repo *repo)
{
	struct mlfs_audit_record *h;
	struct mlfs_alias *v = NULL;
	size_t n = 0, nh;
	long pi = 0;
	int r;

	mlfs_error_clear();
	r = mlfs_alias_list(f->s, repo->id, &v, &n);
	if (r < 0 && r != -ENOMEM)
		return fsck_problem(f, "database", NULL, AT_REPO, "cannot "
				    "list the aliases: %s",
				    fsck_db_why(NULL, r)) < 0 ? -ENOMEM : 0;
	for (size_t k = 0; r == 0 && pi >= 0 && k < n; k++) {
		if (v[k].damaged) {
			pi = fsck_problem(f, "alias", v[k].name, AT_REPO,
					  "its row does not match its check "
					  "value (damaged database)");
			continue;
		}
		r = check_outside(f, w, &v[k].commit, repo->id, "alias",
				  v[k].name, "its");
		if (r < 0)
			break;
		mlfs_error_clear();
		r = mlfs_alias_history(f->s, repo, v[k].name, &h, &nh);
		if (r == 0)
			mlfs_audit_records_free(h, nh);
		else if (r != -ENOMEM)
			pi = fsck_problem(f, "alias", v[k].name, AT_REPO,
					  "%s", fsck_db_why(NULL, r));
		r = r == -ENOMEM ? r : 0;
	}
	free(v);
	return r < 0 ? r : pi < 0 ? -ENOMEM : 0;
}

/* Every remote-tracking row of @repo against its check value and its
 * commit (which must be in the store and of @repo). */
static int check_tracking(struct fsck *f, struct repo_walk *w,
			  const struct mlfs_repo *repo)
{
	struct mlfs_track *v = NULL;
	size_t n = 0;
	long pi = 0;
	int r;

	mlfs_error_clear();
	r = mlfs_track_list(f->s, NULL, repo->id, &v, &n);
	if (r < 0 && r != -ENOMEM)
		return fsck_problem(f, "database", NULL, AT_REPO, "cannot "
				    "list the remote-tracking refs: %s",
				    fsck_db_why(NULL, r)) < 0 ? -ENOMEM : 0;
	for (size_t k = 0; r == 0 && pi >= 0 && k < n; k++) {
		char name[MLFS_REMOTE_NAME_MAX + MLFS_NAME_MAX + 2];

		snprintf(name, sizeof(name), "%s/%s", v[k].remote,
			 v[k].branch);
		if (v[k].damaged)
			pi = fsck_problem(f, "tracking", name, AT_REPO,
					  "its row does not match its check "
					  "value (damaged database)");
		else
			r = check_outside(f, w, &v[k].commit, repo->id,
					  "tracking", name, "its");
	}
	free(v);
	return r < 0 ? r : pi < 0 ? -ENOMEM : 0;
}

/* Each entry's check value and the commit it names. */
static int check_history_entries(struct fsck *f, struct repo_walk *w,
				 const struct mlfs_repo *repo,
				 const struct mlfs_reflog_entry *v, size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (v[i].damaged) {
			if (fsck_problem(f, "history", v[i].branch, AT_REPO,
					 "entry %lld does not match its check "
					 "value (damaged database)",
					 (long long)v[i].row) < 0)
				r = -ENOMEM;
		} else if (!v[i].deleted) {
			r = check_outside(f, w, &v[i].commit, repo->id,
					  "history", v[i].branch, "an entry's");
		}
	}
	return r;
}

/* Each branch's newest entry (@v oldest first) is its head. */
static int check_history_heads(struct fsck *f, const struct mlfs_ref *refs,
			       size_t nref,
			       const struct mlfs_reflog_entry *v, size_t n)
{
	for (size_t k = 0; k < nref; k++) {
		const struct mlfs_reflog_entry *last = NULL;

		if (refs[k].kind != MLFS_REF_BRANCH || refs[k].damaged)
			continue;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].branch, refs[k].name))
				last = &v[i];
		if (last && last->damaged)
			continue; /* reported already */
		if ((!last || last->deleted ||
		     mlfs_id_cmp(&last->commit, &refs[k].commit)) &&
		    fsck_problem(f, "history", refs[k].name, AT_REPO,
				 "its newest entry is not the branch head "
				 "(entries missing: damaged database)") < 0)
			return -ENOMEM;
	}
	return 0;
}

static int by_branch_then_row(const void *a, const void *b)
{
	const struct mlfs_reflog_entry *x = a, *y = b;
	int c = strcmp(x->branch, y->branch);

	return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* Every branch whose newest entry names a commit has its row: deleting
 * a branch appends an entry without one, so a missing row is damage
 * (reads of the branch fail; an import would start a new history). */
static int check_history_rows(struct fsck *f, const struct mlfs_ref *refs,
			      size_t nref, struct mlfs_reflog_entry *v,
			      size_t n)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	if (n)
		qsort(v, n, sizeof(*v), by_branch_then_row);
	for (size_t i = 0; i < n; i++) {
		bool has_row = false;

		if ((i + 1 < n && !strcmp(v[i + 1].branch, v[i].branch)) ||
		    v[i].deleted || v[i].damaged)
			continue; /* not the newest, or nothing to expect */
		for (size_t k = 0; k < nref && !has_row; k++)
			has_row = refs[k].kind == MLFS_REF_BRANCH &&
				  !strcmp(refs[k].name, v[i].branch);
		mlfs_id_to_hex(&v[i].commit, hex);
		if (!has_row &&
		    fsck_problem(f, "branch", v[i].branch, AT_REPO, "its row "
				 "is missing, though its history says it is at "
				 "%s (damaged database)", hex) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The branch history: every entry's check value, the commits entries
 * name, that each branch's newest entry is its head (a dropped newest
 * entry would make "@{date}" answer with an older head), and that no
 * branch lost its row. */
static int check_history(struct fsck *f, struct repo_walk *w,
			 const struct mlfs_repo *repo,
			 const struct mlfs_ref *refs, size_t nref)
{
	struct mlfs_reflog_entry *v = NULL;
	size_t n = 0;
	int r;

	mlfs_error_clear();
	r = mlfs_reflog_list(f->s, repo->id, &v, &n);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return fsck_problem(f, "database", NULL, AT_REPO, "cannot "
				    "list the branch history: %s",
				    fsck_db_why(NULL, r)) < 0 ? -ENOMEM : 0;
	r = check_history_entries(f, w, repo, v, n);
	if (r == 0)
		r = check_history_heads(f, refs, nref, v, n);
	if (r == 0)
		r = check_history_rows(f, refs, nref, v, n);
	free(v);
	return r;
}

/* Check version @j of @w: its row, its parent link and its tree. */
static int check_version(struct fsck *f, struct repo_walk *w,
			 const struct mlfs_repo *repo, size_t j)
{
	const struct mlfs_commit *c = &w->cv[j];
	struct mlfs_commit got;
	int r;

	f->st->commits++;
	f->ver++;
	f->version = w->labels[j];
	mlfs_id_to_hex(&c->id, f->commit);
	f->path[0] = '\0';
	if (c->damaged) {
		/* Its fields are not to be used: nothing to walk. Load it
		 * again for the library's word on what is wrong. */
		mlfs_error_clear();
		r = mlfs_commit_get(f->s, &c->id, &got);
		if (r == 0)
			mlfs_commit_release(&got);
		if (r == -ENOMEM)
			return r;
		return fsck_load_problem(f, "commit", f->commit, AT_VERSION,
				    r ? r : -EIO) < 0 ?
		       -ENOMEM : 0;
	}
	if (c->has_parent) {
		r = check_outside(f, w, &c->parent, repo->id, "commit",
				  f->commit, "parent");
		if (r < 0)
			return r;
	}
	r = fsck_check_version_meta(f, &c->id);
	if (r == 0)
		r = fsck_check_tree(f, &c->tree, 0);
	return r < 0 ? r : 0;
}

static void walk_release(struct repo_walk *w)
{
	mlfs_commit_list_free(w->cv, w->nc);
	mlfs_idset_release(&w->index);
	mlfs_idset_release(&w->outside);
	free(w->labels);
	free(w->order);
}

/* The list of versions could not be read: gather the versions the refs
 * reach through their parents instead, so their trees are still walked.
 * A commit that does not load ends its chain (check_outside says why). */
static int collect_from_refs(struct fsck *f, struct repo_walk *w,
			     int64_t repo_id, const struct mlfs_ref *refs,
			     size_t nref)
{
	size_t cap = 0;
	int r = 0;

	for (size_t k = 0; r >= 0 && k < nref; k++) {
		struct mlfs_id id = refs[k].commit;
		bool more = !refs[k].damaged;

		while (more && !mlfs_idset_get(&w->index, &id)) {
			struct mlfs_commit c;

			r = mlfs_commit_get(f->s, &id, &c);
			if (r == -ENOMEM)
				return r;
			if (r < 0 || c.repo_id != repo_id) {
				if (r == 0)
					mlfs_commit_release(&c);
				r = 0;
				break;
			}
			if (w->nc == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct mlfs_commit *v = realloc(w->cv,
							nc * sizeof(*v));

				if (!v) {
					mlfs_commit_release(&c);
					return -ENOMEM;
				}
				w->cv = v;
				cap = nc;
			}
			w->cv[w->nc++] = c;
			r = mlfs_idset_add(&w->index, &id, w->nc, NULL);
			more = c.has_parent;
			id = c.parent;
		}
	}
	return r < 0 ? r : 0;
}

static int check_repo(struct fsck *f, const struct mlfs_repo *repo)
{
	struct repo_walk w = { .index = MLFS_IDSET_INIT,
			       .outside = MLFS_IDSET_INIT };
	char name[2 * MLFS_NAME_MAX + 2];
	struct mlfs_ref *refs = NULL;
	size_t nref = 0;
	int r;

	snprintf(name, sizeof(name), "%s/%s", repo->ns, repo->name);
	f->repo = name;
	mlfs_error_clear();
	r = mlfs_ref_list(f->s, repo->id, 0, &refs, &nref);
	if (r < 0 && r != -ENOMEM) {
		nref = 0;
		r = fsck_problem(f, "database", NULL, AT_REPO, "cannot list "
				 "the tags and branches: %s",
				 fsck_db_why(NULL, r)) < 0 ? -ENOMEM : 0;
	}
	if (r < 0)
		goto out;
	mlfs_error_clear();
	r = mlfs_commit_list_all(f->s, repo->id, &w.cv, &w.nc);
	if (r < 0 && r != -ENOMEM) {
		w.cv = NULL;
		w.nc = 0;
		r = fsck_problem(f, "database", NULL, AT_REPO, "cannot list "
				 "the versions: %s", fsck_db_why(NULL, r)) < 0 ?
		    -ENOMEM : 0;
		if (r == 0)
			r = collect_from_refs(f, &w, repo->id, refs, nref);
	}
	if (r < 0)
		goto out;
	w.labels = calloc(w.nc ? w.nc : 1, sizeof(*w.labels));
	w.order = calloc(w.nc ? w.nc : 1, sizeof(*w.order));
	r = w.labels && w.order ? 0 : -ENOMEM;
	for (size_t j = 0; r >= 0 && j < w.nc; j++)
		r = mlfs_idset_add(&w.index, &w.cv[j].id, j + 1, NULL);
	if (r < 0)
		goto out;
	label_commits(&w, refs, nref);
	r = check_refs(f, &w, repo, refs, nref);
	if (r == 0)
		r = check_aliases(f, &w, repo);
	if (r == 0)
		r = check_tracking(f, &w, repo);
	if (r == 0)
		r = check_history(f, &w, repo, refs, nref);
	for (size_t k = 0; r == 0 && k < w.norder; k++)
		r = check_version(f, &w, repo, w.order[k]);
out:
	f->repo = NULL;
	f->version = NULL;
	free(refs);
	walk_release(&w);
	return r < 0 ? r : 0;
}

/* The repositories, or when their table cannot be read, one stand-in
 * per repository id that commits name. */
static int list_repos(struct fsck *f, struct mlfs_repo **out, size_t *n)
{
	struct mlfs_commit *cv = NULL;
	struct mlfs_repo *v;
	size_t nc = 0, cnt = 0;
	int r;

	mlfs_error_clear();
	r = mlfs_repo_list(f->s, out, n);
	if (r != -EBADMSG && r != -EIO)
		return r;
	if (fsck_problem(f, "database", NULL, AT_STORE, "cannot list the "
			 "repositories: %s", fsck_db_why(NULL, r)) < 0)
		return -ENOMEM;
	*out = NULL;
	*n = 0;
	r = mlfs_commit_list_all(f->s, 0, &cv, &nc);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	v = calloc(nc ? nc : 1, sizeof(*v));
	for (size_t j = 0; v && j < nc; j++) {
		size_t k = 0;

		while (k < cnt && v[k].id != cv[j].repo_id)
			k++;
		if (k < cnt || cv[j].damaged)
			continue;
		v[cnt].id = cv[j].repo_id;
		if (mlfs_meta_repo_get_id(f->s->meta, v[cnt].id,
					  &v[cnt]) < 0) {
			v[cnt].id = cv[j].repo_id;
			snprintf(v[cnt].ns, sizeof(v[cnt].ns), "?");
			snprintf(v[cnt].name, sizeof(v[cnt].name),
				 "repository-%" PRId64, v[cnt].id);
		}
		cnt++;
	}
	mlfs_commit_list_free(cv, nc);
	if (!v)
		return -ENOMEM;
	*out = v;
	*n = cnt;
	return 0;
}

static void report_all(struct fsck *f,
		       void (*report)(void *ctx,
				      const struct mlfs_fsck_problem *p),
		       void *ctx)
{
	for (size_t i = 0; report && i < f->nprobs; i++) {
		const struct prob *q = &f->probs[i];
		struct mlfs_fsck_problem p = {
			q->kind, q->object, q->repo, q->version, q->commit,
			q->path, q->what, q->more,
		};

		report(ctx, &p);
	}
}

static int work_problem(void *ctx, const char *wt, const char *what)
{
	long k = fsck_problem(ctx, "worktree", wt, AT_STORE, "%s", what);

	return k < 0 ? (int)k : 0;
}

/* The working trees: rows, and what they point to in the store. */
static int check_work(struct fsck *f)
{
	struct mlfs_work_check_stats ws;
	int r = mlfs_work_check(f->s, work_problem, f, &ws);

	f->st->worktrees = ws.trees;
	f->st->worktree_nodes = ws.nodes;
	f->st->pending_snapshots = ws.pending;
	if (r < 0 && r != -ENOMEM && r != -ENOSPC) {
		long k = fsck_problem(f, "worktree", NULL, AT_STORE,
				      "cannot read the working trees: %s",
				      fsck_db_why(NULL, r));

		r = k < 0 ? (int)k : 0;
	}
	return r;
}

/* The version metadata synced with remotes (schema 7): every row against
 * its check value; a damaged one only costs the next push or fetch a
 * look at the remote's commit object, but it says the database changed. */
static int check_vsync(struct fsck *f)
{
	struct mlfs_meta_vsync *v = NULL;
	size_t n = 0;
	long pi = 0;
	int r = mlfs_meta_vsync_list(f->s->meta, NULL, &v, &n);

	if (r < 0 && r != -ENOMEM)
		return fsck_problem(f, "database", NULL, AT_STORE, "cannot "
				    "list the metadata sync rows: %s",
				    fsck_db_why(NULL, r)) < 0 ? -ENOMEM : 0;
	for (size_t k = 0; r == 0 && pi >= 0 && k < n; k++) {
		char hex[MLFS_ID_HEX_LEN + 1];

		if (!v[k].damaged)
			continue;
		mlfs_id_to_hex(&v[k].commit, hex);
		pi = fsck_problem(f, "vmeta sync", hex, AT_STORE,
				  "row of remote '%s': check value mismatch "
				  "(damaged database)", v[k].remote);
	}
	free(v);
	return r < 0 ? r : pi < 0 ? -ENOMEM : 0;
}

int mlfs_fsck(struct mlfs_store *s, bool read_data,
	      void (*report)(void *ctx, const struct mlfs_fsck_problem *p),
	      void *ctx, struct mlfs_fsck_stats *st)
{
	struct fsck f = { .s = s, .read_data = read_data, .st = st };
	struct mlfs_repo *repos = NULL;
	struct mlfs_gc_stats gs;
	size_t nrepos = 0;
	bool began;
	int r;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < PACK_FDS; i++)
		f.fds[i].fd = -1;
	began = mlfs_meta_read_begin(s->meta); /* one consistent snapshot */
	r = fsck_check_db_file(&f);
	if (r == 0)
		r = fsck_check_index(&f);
	if (r == 0)
		r = list_repos(&f, &repos, &nrepos);
	st->repos = nrepos;
	for (size_t i = 0; r == 0 && i < nrepos; i++)
		r = check_repo(&f, &repos[i]);
	if (r == 0)
		r = fsck_check_audit(&f);
	if (r == 0)
		r = fsck_check_inputs(&f);
	if (r == 0)
		r = fsck_check_orphan_meta(&f);
	if (r == 0)
		r = check_vsync(&f);
	if (r == 0) {
		mlfs_error_clear();
		r = mlfs_gc_scan(s, &gs);
		if (r == 0) {
			st->unreferenced_packs = gs.packs_unreferenced;
			st->unreferenced_bytes = gs.bytes_unreferenced;
		} else if (r != -ENOMEM) {
			r = fsck_problem(&f, "database", NULL, AT_STORE,
					 "cannot list the packs: %s",
					 fsck_db_why(NULL, r));
			r = r < 0 ? r : 0;
		}
	}
	mlfs_meta_read_end(s->meta, began);
	if (r == 0)
		r = check_work(&f);
	if (r == 0)
		report_all(&f, report, ctx);
	free(repos);
	mlfs_idset_release(&f.chunks);
	mlfs_idset_release(&f.contents);
	mlfs_idset_release(&f.trees);
	mlfs_idset_release(&f.packs);
	for (size_t i = 0; i < f.nprobs; i++)
		prob_release(&f.probs[i]);
	free(f.probs);
	return r;
}
