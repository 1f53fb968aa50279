/*
 * remote_vmeta.c - version metadata that changes after a push: the
 * mutable PREFIX/vmeta/<commit> objects and the three-way decisions of
 * push and fetch between the local pairs and inputs (L), what this store
 * last synced with the remote (S, schema 7 rows of meta_vsync.c, or the
 * commit object's when there is none) and the remote's (R: the vmeta
 * object, or the commit object's). Objects move by compare-and-swap on
 * their ETag, as refs do; R is "unchanged" when its ETag is the one S
 * saw. Inputs are only ever added: a push sends the union of the local
 * and the remote's (a store may lack some input commits and so rows).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/audit.h"
#include "mlfs/lineage.h"
#include "mlfs/vmeta.h"
#include "remote_impl.h"

/* ---- listing ---- */

void remote_vmeta_list_release(struct remote_vmeta_list *l)
{
	mlfs_idset_release(&l->ids);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int list_one(void *ctx, const char *key, uint64_t size,
		    const char *etag)
{
	struct remote_vmeta_list *l = ctx;
	struct mlfs_id id;
	void *nv;
	int r;

	(void)size;
	/* "vmeta/<32 hex>"; anything else is not of this layout */
	if (strlen(key) != 6 + MLFS_ID_HEX_LEN ||
	    strspn(key + 6, "0123456789abcdef") != MLFS_ID_HEX_LEN ||
	    mlfs_id_from_hex(key + 6, &id) < 0 ||
	    strlen(etag) >= MLFS_S3_ETAG_MAX)
		return 0;
	nv = mlfs_grow(l->v, sizeof(*l->v), l->n, &l->cap);
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	r = mlfs_idset_add(&l->ids, &id, l->n, NULL);
	if (r < 0)
		return -ENOMEM;
	if (r == 0)
		return 0;
	l->v[l->n].commit = id;
	snprintf(l->v[l->n++].etag, MLFS_S3_ETAG_MAX, "%s", etag);
	return 0;
}

int remote_vmeta_list(struct mlfs_s3 *s3, struct remote_vmeta_list *l)
{
	memset(l, 0, sizeof(*l));
	return mlfs_s3_list(s3, "vmeta/", 0, list_one, l);
}

const char *remote_vmeta_etag(const struct remote_vmeta_list *l,
			      const struct mlfs_id *commit)
{
	uint64_t *ix = mlfs_idset_get(&l->ids, commit);

	return ix ? l->v[*ix].etag : NULL;
}

/* ---- the three sides ---- */

int remote_vmeta_local(struct mlfs_store *s, const struct mlfs_id *commit,
		       struct mlfs_remote_vmeta *out, struct mlfs_id *digest)
{
	struct mlfs_meta_kv *kv = NULL;
	struct mlfs_input *in = NULL;
	size_t nkv = 0, nin = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->commit = *commit;
	r = mlfs_meta_vmeta_list(s->meta, commit, &kv, &nkv);
	if (r == 0)
		r = mlfs_inputs_get(s, commit, &in, &nin);
	for (size_t i = 0; r == 0 && i < nkv; i++)
		if (kv[i].damaged) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(commit, hex);
			mlfs_error_set("metadata '%s' of commit %s: check value "
				       "mismatch (damaged database)",
				       kv[i].key, hex);
			r = -EIO;
		}
	if (r == 0) {
		out->kv = calloc(nkv ? nkv : 1, sizeof(*out->kv));
		out->in = calloc(nin ? nin : 1, sizeof(*out->in));
		if (!out->kv || !out->in)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < nkv; i++) {
		/* taken over from the list */
		out->kv[i].key = kv[i].key;
		out->kv[i].value = kv[i].value;
		kv[i].key = kv[i].value = NULL;
		out->nkv++;
	}
	for (size_t i = 0; r == 0 && i < nin; i++) {
		out->in[i].commit = in[i].commit;
		out->in[i].files = in[i].files;
		out->in[i].bytes = in[i].bytes;
		out->in[i].how = in[i].how;
		out->nin++;
	}
	mlfs_meta_kv_free(kv, nkv);
	free(in);
	if (r == 0) {
		mlfs_remote_inputs_sort(out->in, out->nin);
		r = mlfs_remote_vmeta_digest(&s->cfg.key, out->kv, out->nkv,
					     out->in, out->nin, digest);
	}
	if (r < 0)
		mlfs_remote_vmeta_release(out);
	return r;
}

/* The pairs and inputs of commit @c's commit object (what the remote had
 * before any vmeta object). */
static int read_commit_obj(struct mlfs_store *s, const struct mlfs_remote *rm,
			   struct mlfs_s3 *s3, const struct mlfs_id *c,
			   struct mlfs_remote_vmeta *out)
{
	struct mlfs_remote_commit rc;
	struct mlfs_s3_buf b = { 0 };
	char key[80];
	int r;

	memset(out, 0, sizeof(*out));
	remote_obj_key("commits/", c, key, sizeof(key));
	r = mlfs_s3_get(s3, key, 0, 0, &b);
	if (r == 0)
		r = remote_bad_object(rm, key, mlfs_remote_commit_parse(
			&s->cfg.key, c, b.p, b.len, &rc));
	else
		r = remote_bad_object(rm, key, r);
	free(b.p);
	if (r < 0)
		return r;
	out->commit = *c;
	out->kv = rc.kv;
	out->nkv = rc.nkv;
	out->in = rc.in;
	out->nin = rc.nin;
	rc.kv = NULL;
	rc.in = NULL;
	rc.nkv = rc.nin = 0;
	mlfs_remote_commit_release(&rc);
	mlfs_remote_inputs_sort(out->in, out->nin);
	return 0;
}

/* GET vmeta/<@c> with its ETag (HEAD first: should it move in between,
 * the ETag is the older one and a swap against it fails, which is
 * safe). -ENOENT when there is none. */
int remote_vmeta_read(struct mlfs_store *s, const struct mlfs_remote *rm,
		      struct mlfs_s3 *s3, const struct mlfs_id *c,
		      struct mlfs_remote_vmeta *out, char *etag)
{
	struct mlfs_s3_buf b = { 0 };
	char key[80];
	int r;

	memset(out, 0, sizeof(*out));
	remote_obj_key("vmeta/", c, key, sizeof(key));
	r = mlfs_s3_head(s3, key, NULL, etag);
	if (r == 0)
		r = mlfs_s3_get(s3, key, 0, 0, &b);
	if (r == 0)
		r = remote_bad_object(rm, key, mlfs_remote_vmeta_parse(
			&s->cfg.key, c, b.p, b.len, out));
	free(b.p);
	return r;
}

static int digest_of(struct mlfs_store *s, const struct mlfs_remote_vmeta *v,
		     struct mlfs_id *out)
{
	return mlfs_remote_vmeta_digest(&s->cfg.key, v->kv, v->nkv, v->in,
					v->nin, out);
}

/* Same pairs, and every local input is among the remote's (which may
 * have more: inputs naming commits this store lacks). */
static bool same_meta(const struct mlfs_remote_vmeta *l,
		      const struct mlfs_remote_vmeta *r)
{
	size_t j = 0;

	if (l->nkv != r->nkv)
		return false;
	for (size_t i = 0; i < l->nkv; i++)
		if (strcmp(l->kv[i].key, r->kv[i].key) ||
		    strcmp(l->kv[i].value, r->kv[i].value))
			return false;
	for (size_t i = 0; i < l->nin; i++) {
		while (j < r->nin &&
		       mlfs_id_cmp(&r->in[j].commit, &l->in[i].commit) < 0)
			j++;
		if (j == r->nin ||
		    mlfs_id_cmp(&r->in[j].commit, &l->in[i].commit))
			return false;
	}
	return true;
}

/* The object a push writes: the local pairs, the union of the inputs
 * (the local one where both have an input). Borrows every string. */
static int merge_inputs(const struct mlfs_remote_vmeta *l,
			const struct mlfs_remote_vmeta *r,
			struct mlfs_remote_vmeta *out)
{
	size_t i = 0, j = 0;

	*out = *l;
	out->in = malloc((l->nin + r->nin + 1) * sizeof(*out->in));
	if (!out->in)
		return -ENOMEM;
	out->nin = 0;
	while (i < l->nin || j < r->nin) {
		int c = i == l->nin ? 1 : j == r->nin ? -1 :
			mlfs_id_cmp(&l->in[i].commit, &r->in[j].commit);

		if (c <= 0) {
			out->in[out->nin++] = l->in[i++];
			j += c == 0;
		} else {
			out->in[out->nin++] = r->in[j++];
		}
	}
	return 0;
}

static int add_result(struct mlfs_store *s, struct mlfs_remote_stats *st,
		      const struct mlfs_id *c,
		      enum mlfs_remote_vmeta_status status)
{
	struct mlfs_remote_vmeta_result *x;
	struct mlfs_commit lc;
	struct mlfs_repo repo;
	void *nv = realloc(st->vmeta, (st->nvmeta + 1) * sizeof(*st->vmeta));
	int r;

	if (!nv)
		return -ENOMEM;
	st->vmeta = nv;
	x = &st->vmeta[st->nvmeta];
	memset(x, 0, sizeof(*x));
	x->commit = *c;
	x->status = status;
	r = mlfs_meta_commit_get(s->meta, c, &lc);
	if (r == 0) {
		r = mlfs_meta_repo_get_id(s->meta, lc.repo_id, &repo);
		mlfs_meta_commit_release(&lc);
	}
	if (r < 0)
		return r;
	snprintf(x->ns, sizeof(x->ns), "%s", repo.ns);
	snprintf(x->name, sizeof(x->name), "%s", repo.name);
	st->nvmeta++;
	if (status == MLFS_VMETA_REJECTED || status == MLFS_VMETA_DIVERGED)
		st->rejected++;
	return 0;
}

/* The sync row of (@rm, @c) into @row: 1 when there is one; 0 when
 * there is none or it is damaged (then the commit object is taken as
 * the last synced, as for a store before schema 7). */
static int synced(struct mlfs_store *s, const struct mlfs_remote *rm,
		  const struct mlfs_id *c, struct mlfs_meta_vsync *row)
{
	int r = mlfs_meta_vsync_get(s->meta, rm->name, c, row);

	if (r == -ENOENT || r == -EIO) {
		mlfs_error_clear();
		return 0;
	}
	return r < 0 ? r : 1;
}

/* ---- push ---- */

static int audit_force(struct mlfs_store *s, const struct mlfs_remote *rm,
		       const struct mlfs_id *c)
{
	char msg[MLFS_REMOTE_URL_MAX + 96];
	struct mlfs_audit_event ev = {
		.op = "push-force", .ref = "meta", .new_commit = c,
		.message = msg,
	};
	struct mlfs_commit lc;
	struct mlfs_repo repo;
	int r = mlfs_meta_commit_get(s->meta, c, &lc);

	if (r == 0) {
		r = mlfs_meta_repo_get_id(s->meta, lc.repo_id, &repo);
		mlfs_meta_commit_release(&lc);
	}
	if (r < 0)
		return r;
	ev.ns = repo.ns;
	ev.name = repo.name;
	snprintf(msg, sizeof(msg), "metadata, remote %s (%s)", rm->name,
		 rm->url);
	return mlfs_audit_append(s, &ev);
}

/* PUT @v as vmeta/<commit>: create-only when @etag is NULL, else
 * If-Match. -ESTALE when it moved (or was created) meanwhile. */
static int put_vmeta(struct mlfs_store *s, struct mlfs_s3 *s3,
		     const struct mlfs_remote_vmeta *v, const char *etag,
		     char *etag_out)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	char key[80];
	int r = mlfs_remote_vmeta_format(&s->cfg.key, v, &b);

	remote_obj_key("vmeta/", &v->commit, key, sizeof(key));
	if (r == 0)
		r = mlfs_s3_put(s3, key, b.data, b.len,
				etag ? MLFS_S3_IF_MATCH : MLFS_S3_CREATE_ONLY,
				etag, etag_out);
	if (r == -EEXIST)
		r = -ESTALE;
	if (r == -ESTALE)
		mlfs_error_clear();
	mlfs_buf_release(&b);
	return r;
}

/* A sync row to write once the push has decided every commit: all in
 * one transaction (a push of many new commits makes one fsync, not one
 * each). Should the push die first, the next one finds S older than R
 * and, R being L, only writes the row. */
struct vrow {
	struct mlfs_id commit, digest;
	char etag[MLFS_S3_ETAG_MAX];
};

struct vpush {
	struct mlfs_store *s;
	const struct mlfs_remote *rm;
	struct mlfs_s3 *s3;
	bool force;
	struct mlfs_remote_stats *st;
	struct vrow *rows;
	size_t nrows, caprows;
};

static int set_row(struct vpush *p, const struct mlfs_id *c,
		   const struct mlfs_id *digest, const char *etag)
{
	struct vrow *x = mlfs_grow(p->rows, sizeof(*x), p->nrows,
				   &p->caprows);

	if (!x)
		return -ENOMEM;
	p->rows = x;
	x = &p->rows[p->nrows++];
	x->commit = *c;
	x->digest = *digest;
	snprintf(x->etag, sizeof(x->etag), "%s", etag);
	return 0;
}

static int write_rows(struct vpush *p)
{
	int r;

	if (!p->nrows)
		return 0;
	r = mlfs_meta_begin(p->s->meta);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < p->nrows; i++)
		r = mlfs_meta_vsync_set(p->s->meta, p->rm->name,
					&p->rows[i].commit,
					&p->rows[i].digest, p->rows[i].etag);
	if (r < 0) {
		mlfs_meta_rollback(p->s->meta);
		return r;
	}
	return mlfs_meta_commit(p->s->meta);
}

/* The remote's metadata of @c moved since S (or a swap lost a race):
 * read it; nothing to do when it is L's, else rejected, or (--force)
 * swapped for L. */
static int push_over(struct vpush *p, const struct mlfs_remote_vmeta *l,
		     const struct mlfs_id *ld)
{
	int r = 0;

	for (int tries = 0; r == 0; tries++) {
		struct mlfs_remote_vmeta rv, body;
		char etag[MLFS_S3_ETAG_MAX] = "", got[MLFS_S3_ETAG_MAX] = "";
		bool exists = true;

		if (tries == 8) {
			mlfs_error_set("remote object vmeta of a commit keeps "
				       "moving");
			return -EAGAIN;
		}
		r = remote_vmeta_read(p->s, p->rm, p->s3, &l->commit, &rv,
				      etag);
		if (r == -ENOENT) { /* gone, or never was: the commit's */
			mlfs_error_clear();
			exists = false;
			r = read_commit_obj(p->s, p->rm, p->s3, &l->commit,
					    &rv);
		}
		if (r < 0)
			return r;
		if (same_meta(l, &rv)) {
			mlfs_remote_vmeta_release(&rv);
			return set_row(p, &l->commit, ld, exists ? etag : "");
		}
		if (!p->force) {
			mlfs_remote_vmeta_release(&rv);
			return add_result(p->s, p->st, &l->commit,
					  MLFS_VMETA_REJECTED);
		}
		r = merge_inputs(l, &rv, &body);
		if (r == 0)
			r = put_vmeta(p->s, p->s3, &body, exists ? etag : NULL,
				      got);
		free(body.in);
		mlfs_remote_vmeta_release(&rv);
		if (r == -ESTALE) {
			r = 0;
			continue;
		}
		if (r == 0)
			r = set_row(p, &l->commit, ld, got);
		if (r == 0)
			r = audit_force(p->s, p->rm, &l->commit);
		if (r == 0)
			r = add_result(p->s, p->st, &l->commit,
				       MLFS_VMETA_FORCED);
		return r;
	}
	return r;
}

/* One commit the remote has: see the file comment. */
static int push_one(struct vpush *p, const struct mlfs_id *c,
		    const char *retag, bool uploaded)
{
	struct mlfs_remote_vmeta l, base = { 0 }, body = { 0 };
	struct mlfs_meta_vsync row;
	struct mlfs_id ld, sd;
	char got[MLFS_S3_ETAG_MAX] = "";
	int r, have;

	r = remote_vmeta_local(p->s, c, &l, &ld);
	if (r < 0)
		return r;
	have = synced(p->s, p->rm, c, &row);
	if (have < 0) {
		r = have;
		goto out;
	}
	if (!have && uploaded && !retag) {
		/* the commit object this push wrote carries L */
		r = set_row(p, c, &ld, "");
		goto out;
	}
	if (!have) {
		/* before schema 7, or pushed by another store: S is what
		 * the commit object carries (read once, then kept) */
		r = read_commit_obj(p->s, p->rm, p->s3, c, &base);
		if (r == 0)
			r = digest_of(p->s, &base, &sd);
		if (r < 0)
			goto out;
		row.digest = sd;
		row.etag[0] = '\0';
		if (!mlfs_id_cmp(&ld, &sd) || same_meta(&l, &base)) {
			r = set_row(p, c, &ld, "");
			goto out;
		}
	} else if (!mlfs_id_cmp(&ld, &row.digest)) {
		goto out; /* L == S */
	}
	/* L != S: is R still S? */
	if (retag ? strcmp(retag, row.etag) : row.etag[0] != '\0') {
		r = push_over(p, &l, &ld);
		goto out;
	}
	if (retag) {
		mlfs_remote_vmeta_release(&base);
		r = remote_vmeta_read(p->s, p->rm, p->s3, c, &base, got);
		if (r == 0 && strcmp(got, retag)) /* moved since the LIST */
			r = -ESTALE;
	} else if (!base.kv) {
		r = read_commit_obj(p->s, p->rm, p->s3, c, &base);
	}
	if (r == 0)
		r = merge_inputs(&l, &base, &body);
	if (r == 0)
		r = put_vmeta(p->s, p->s3, &body, retag, got);
	if (r == -ENOENT || r == -ESTALE) {
		mlfs_error_clear();
		r = push_over(p, &l, &ld);
		goto out;
	}
	if (r == 0)
		r = set_row(p, c, &ld, got);
	if (r == 0)
		r = add_result(p->s, p->st, c, MLFS_VMETA_PUSHED);
out:
	free(body.in);
	mlfs_remote_vmeta_release(&base);
	mlfs_remote_vmeta_release(&l);
	return r;
}

/* @commits and their first-parent ancestors, each once, into @all (all
 * in the bucket once a push uploaded them: a commit there implies its
 * parents are). Local reads only. */
static int walk_history(struct mlfs_store *s, const struct mlfs_id *heads,
			size_t n, struct mlfs_id **all, size_t *nall)
{
	struct mlfs_idset seen = { 0 };
	size_t cap = 0;
	int r = 0;

	*all = NULL;
	*nall = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct mlfs_id cur = heads[i];
		bool more = true;

		while (r == 0 && more) {
			struct mlfs_commit c;
			struct mlfs_id *nv;

			r = mlfs_idset_add(&seen, &cur, 0, NULL);
			if (r <= 0) { /* walked already: so are its parents */
				r = r < 0 ? -ENOMEM : 0;
				break;
			}
			nv = mlfs_grow(*all, sizeof(**all), *nall, &cap);
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*all = nv;
			(*all)[(*nall)++] = cur;
			r = mlfs_commit_get(s, &cur, &c);
			if (r < 0)
				break;
			more = c.has_parent;
			cur = c.parent;
			mlfs_commit_release(&c);
		}
	}
	mlfs_idset_release(&seen);
	return r;
}

int remote_vmeta_push(struct mlfs_store *s, const struct mlfs_remote *rm,
		      struct mlfs_s3 *s3, const struct mlfs_id *heads,
		      size_t nheads, const struct mlfs_id *uploaded,
		      size_t nuploaded, bool force,
		      struct mlfs_remote_stats *st)
{
	struct remote_vmeta_list vl = { 0 };
	struct vpush p = { .s = s, .rm = rm, .s3 = s3, .force = force,
			   .st = st };
	struct mlfs_idset up = { 0 };
	struct mlfs_id *all = NULL;
	size_t n = 0;
	int r = 0, e;

	for (size_t i = 0; r == 0 && i < nuploaded; i++)
		r = mlfs_idset_add(&up, &uploaded[i], 0, NULL) < 0 ? -ENOMEM :
		    0;
	if (r == 0)
		r = walk_history(s, heads, nheads, &all, &n);
	if (r == 0)
		r = remote_vmeta_list(s3, &vl);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = push_one(&p, &all[i], remote_vmeta_etag(&vl, &all[i]),
			     mlfs_idset_get(&up, &all[i]) != NULL);
	/* also after a failure: what was sent is remembered */
	e = write_rows(&p);
	if (r == 0)
		r = e;
	free(p.rows);
	remote_vmeta_list_release(&vl);
	mlfs_idset_release(&up);
	free(all);
	return r;
}

/* ---- fetch ---- */

/* One audit record per pair that changes, as mlfs meta writes them
 * (meta-set with the new value, meta-unset); the command line in the
 * record says it was a fetch. */
static int audit_pair(struct mlfs_store *s, const struct mlfs_repo *repo,
		      const struct mlfs_id *c, const char *key,
		      const char *value)
{
	char ref[MLFS_VMETA_KEY_MAX + 8];
	struct mlfs_audit_event ev = {
		.op = value ? "meta-set" : "meta-unset", .ns = repo->ns,
		.name = repo->name, .ref = ref, .new_commit = c,
		.message = value,
	};

	snprintf(ref, sizeof(ref), "meta:%s", key);
	return mlfs_audit_append(s, &ev);
}

static const char *kv_find(const struct mlfs_remote_kv *kv, size_t n,
			   const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* Replace the local pairs of @v's commit by @v's (each change audited)
 * and add its inputs the store can have (their commits are here); in
 * the caller's transaction. */
static int apply_local(struct mlfs_store *s, const struct mlfs_remote_vmeta *v,
		       const struct mlfs_remote_vmeta *l)
{
	const struct mlfs_id *c = &v->commit;
	struct mlfs_commit lc;
	struct mlfs_repo repo;
	int r = mlfs_meta_commit_get(s->meta, c, &lc);

	if (r == 0) {
		r = mlfs_meta_repo_get_id(s->meta, lc.repo_id, &repo);
		mlfs_meta_commit_release(&lc);
	}
	for (size_t i = 0; r == 0 && i < l->nkv; i++)
		if (!kv_find(v->kv, v->nkv, l->kv[i].key)) {
			r = mlfs_meta_vmeta_delete(s->meta, c, l->kv[i].key);
			if (r == 0)
				r = audit_pair(s, &repo, c, l->kv[i].key, NULL);
		}
	for (size_t i = 0; r == 0 && i < v->nkv; i++) {
		const char *old = kv_find(l->kv, l->nkv, v->kv[i].key);

		if (old && !strcmp(old, v->kv[i].value))
			continue;
		r = mlfs_meta_vmeta_put(s->meta, c, v->kv[i].key,
					v->kv[i].value);
		if (r == 0)
			r = audit_pair(s, &repo, c, v->kv[i].key,
				       v->kv[i].value);
	}
	for (size_t i = 0; r == 0 && i < v->nin; i++) {
		struct mlfs_input in = { .commit = v->in[i].commit,
					 .files = v->in[i].files,
					 .bytes = v->in[i].bytes,
					 .how = v->in[i].how };

		r = mlfs_meta_commit_get(s->meta, &in.commit, &lc);
		if (r == -ENOENT) {
			mlfs_error_clear();
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		mlfs_meta_commit_release(&lc);
		r = mlfs_meta_input_put(s->meta, c, &in);
		if (r == -EEXIST)
			r = 0;
	}
	return r;
}

/* Record S = L now for @c (after it was inserted or changed). */
static int row_now(struct mlfs_store *s, const struct mlfs_remote *rm,
		   const struct mlfs_id *c, const char *etag)
{
	struct mlfs_remote_vmeta l;
	struct mlfs_id ld;
	int r = remote_vmeta_local(s, c, &l, &ld);

	mlfs_remote_vmeta_release(&l);
	return r ? r : mlfs_meta_vsync_set(s->meta, rm->name, c, &ld, etag);
}

void remote_vmeta_fetch_release(struct remote_vmeta_fetch *vf)
{
	for (size_t i = 0; i < vf->n; i++)
		mlfs_remote_vmeta_release(&vf->v[i].obj);
	free(vf->v);
	remote_vmeta_list_release(&vf->list);
	memset(vf, 0, sizeof(*vf));
}

static struct remote_vmeta_item *item_add(struct remote_vmeta_fetch *vf)
{
	void *nv = realloc(vf->v, (vf->n + 1) * sizeof(*vf->v));

	if (!nv)
		return NULL;
	vf->v = nv;
	memset(&vf->v[vf->n], 0, sizeof(vf->v[0]));
	return &vf->v[vf->n++];
}

/* A listed commit the store has, whose object's ETag is not the one
 * last seen: read and verify it (and S, when there is no row). */
static int read_changed(struct mlfs_store *s, const struct mlfs_remote *rm,
			struct mlfs_s3 *s3, struct remote_vmeta_fetch *vf,
			const struct remote_vmeta_entry *e)
{
	struct remote_vmeta_item *x;
	struct mlfs_remote_vmeta base;
	struct mlfs_meta_vsync row;
	int have = synced(s, rm, &e->commit, &row), r;

	if (have < 0)
		return have;
	if (have && !strcmp(row.etag, e->etag))
		return 0;
	x = item_add(vf);
	if (!x)
		return -ENOMEM;
	r = remote_vmeta_read(s, rm, s3, &e->commit, &x->obj, x->etag);
	if (r == -ENOENT) { /* deleted since the LIST: nothing to apply */
		mlfs_error_clear();
		vf->n--;
		return 0;
	}
	if (r < 0) {
		vf->n--;
		return r;
	}
	if (have) {
		x->synced = row.digest;
		return 0;
	}
	r = read_commit_obj(s, rm, s3, &e->commit, &base);
	if (r == 0)
		r = digest_of(s, &base, &x->synced);
	mlfs_remote_vmeta_release(&base);
	return r;
}

int remote_vmeta_fetch_read(struct mlfs_store *s, const struct mlfs_remote *rm,
			    struct mlfs_s3 *s3, struct remote_vmeta_fetch *vf)
{
	int r;

	memset(vf, 0, sizeof(*vf));
	r = remote_vmeta_list(s3, &vf->list);
	for (size_t i = 0; r == 0 && i < vf->list.n; i++) {
		const struct remote_vmeta_entry *e = &vf->list.v[i];
		struct mlfs_commit lc;

		r = mlfs_meta_commit_get(s->meta, &e->commit, &lc);
		if (r == -ENOENT) { /* new in this fetch, or of no ref */
			mlfs_error_clear();
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		mlfs_meta_commit_release(&lc);
		r = read_changed(s, rm, s3, vf, e);
	}
	return r;
}

int remote_vmeta_fetch_new(struct mlfs_store *s, const struct mlfs_remote *rm,
			   struct mlfs_s3 *s3, struct remote_vmeta_fetch *vf,
			   struct mlfs_remote_commit *c, char *etag)
{
	struct mlfs_remote_vmeta v;
	const char *listed = remote_vmeta_etag(&vf->list, &c->id);
	int r;

	etag[0] = '\0';
	if (!listed)
		return 0;
	r = remote_vmeta_read(s, rm, s3, &c->id, &v, etag);
	if (r == -ENOENT) {
		mlfs_error_clear();
		etag[0] = '\0';
		return 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->nkv; i++) {
		free(c->kv[i].key);
		free(c->kv[i].value);
	}
	free(c->kv);
	free(c->in);
	c->kv = v.kv;
	c->nkv = v.nkv;
	c->in = v.in;
	c->nin = v.nin;
	return 0;
}

int remote_vmeta_fetch_apply(struct mlfs_store *s,
			     const struct mlfs_remote *rm,
			     struct remote_vmeta_fetch *vf,
			     struct mlfs_remote_stats *st)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < vf->n; i++) {
		struct remote_vmeta_item *x = &vf->v[i];
		const struct mlfs_id *c = &x->obj.commit;
		struct mlfs_remote_vmeta l;
		struct mlfs_id ld;

		r = remote_vmeta_local(s, c, &l, &ld);
		if (r < 0)
			break;
		if (same_meta(&l, &x->obj)) {
			/* nothing to change here */
			r = mlfs_meta_vsync_set(s->meta, rm->name, c, &ld,
						x->etag);
		} else if (!mlfs_id_cmp(&ld, &x->synced)) {
			r = apply_local(s, &x->obj, &l);
			if (r == 0)
				r = row_now(s, rm, c, x->etag);
			if (r == 0)
				r = add_result(s, st, c, MLFS_VMETA_FETCHED);
		} else {
			r = add_result(s, st, c, MLFS_VMETA_DIVERGED);
		}
		mlfs_remote_vmeta_release(&l);
	}
	return r;
}

int remote_vmeta_fetch_row(struct mlfs_store *s, const struct mlfs_remote *rm,
			   const struct mlfs_id *c, const char *etag)
{
	return row_now(s, rm, c, etag);
}
