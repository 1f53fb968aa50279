/*
 * objid.c - ids and check values of metadata rows: each is the store's
 * keyed hash over a domain string and the row's fields, strings with
 * their NUL, integers as le64, so no two field lists encode alike.
 * Byte layouts: docs/format.md#ids.
 */
#include <string.h>

#include "objid.h"

static const uint8_t zero_id[MLFS_ID_LEN];

static struct mlfs_span str_span(const char *s)
{
	return (struct mlfs_span){ s, strlen(s) + 1 };
}

void mlfs_objid_commit(const struct mlfs_hash_key *k, const char *ns,
		       const char *name, const struct mlfs_commit *c,
		       struct mlfs_id *out)
{
	static const char domain[] = "mlfs-commit-1";
	uint8_t t[8];
	struct mlfs_span p[8];

	mlfs_put_le64(t, (uint64_t)c->time);
	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = str_span(ns);
	p[2] = str_span(name);
	p[3] = (struct mlfs_span){ c->has_parent ? c->parent.b : zero_id,
				   MLFS_ID_LEN };
	p[4] = (struct mlfs_span){ c->tree.b, MLFS_ID_LEN };
	p[5] = (struct mlfs_span){ t, sizeof(t) };
	p[6] = str_span(c->author);
	p[7] = str_span(c->message);
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_content_mac(const struct mlfs_hash_key *k,
			    const struct mlfs_id *digest, uint64_t size,
			    const void *chunks, size_t len,
			    struct mlfs_id *out)
{
	static const char domain[] = "mlfs-content-1";
	uint8_t sz[8], n[8];
	struct mlfs_span p[5];

	mlfs_put_le64(sz, size);
	mlfs_put_le64(n, (uint64_t)len);
	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = (struct mlfs_span){ digest->b, MLFS_ID_LEN };
	p[2] = (struct mlfs_span){ sz, sizeof(sz) };
	p[3] = (struct mlfs_span){ n, sizeof(n) };
	p[4] = (struct mlfs_span){ chunks, len };
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_ref_mac(const struct mlfs_hash_key *k, const char *ns,
			const char *name, int kind, const char *ref,
			const struct mlfs_id *commit, struct mlfs_id *out)
{
	static const char domain[] = "mlfs-ref-1";
	char kc[2] = { (char)kind, '\0' };
	struct mlfs_span p[6];

	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = str_span(ns);
	p[2] = str_span(name);
	p[3] = (struct mlfs_span){ kc, sizeof(kc) };
	p[4] = str_span(ref);
	p[5] = (struct mlfs_span){ commit->b, MLFS_ID_LEN };
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_alias_mac(const struct mlfs_hash_key *k, const char *ns,
			  const char *name, const char *alias,
			  const struct mlfs_id *commit, struct mlfs_id *out)
{
	/* Its own domain, not mlfs-ref-1 with a third kind: an alias row
	 * copied into refs (or back) must fail its check. */
	static const char domain[] = "mlfs-alias-1";
	struct mlfs_span p[5];

	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = str_span(ns);
	p[2] = str_span(name);
	p[3] = str_span(alias);
	p[4] = (struct mlfs_span){ commit->b, MLFS_ID_LEN };
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_track_mac(const struct mlfs_hash_key *k, const char *remote,
			  const char *ns, const char *name,
			  const char *branch, const struct mlfs_id *commit,
			  struct mlfs_id *out)
{
	/* Its own domain: a tracking row copied into refs or aliases (or
	 * back) must fail its check, as must one moved to another remote. */
	static const char domain[] = "mlfs-track-1";
	struct mlfs_span p[6];

	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = str_span(remote);
	p[2] = str_span(ns);
	p[3] = str_span(name);
	p[4] = str_span(branch);
	p[5] = (struct mlfs_span){ commit->b, MLFS_ID_LEN };
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_vsync_mac(const struct mlfs_hash_key *k, const char *remote,
			  const struct mlfs_id *commit,
			  const struct mlfs_id *digest, const char *etag,
			  struct mlfs_id *out)
{
	static const char domain[] = "mlfs-vsync-1";
	struct mlfs_span p[5];

	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = str_span(remote);
	p[2] = (struct mlfs_span){ commit->b, MLFS_ID_LEN };
	p[3] = (struct mlfs_span){ digest->b, MLFS_ID_LEN };
	p[4] = str_span(etag);
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_reflog_mac(const struct mlfs_hash_key *k, int64_t row,
			   const char *ns, const char *name,
			   const char *branch, const struct mlfs_id *commit,
			   int64_t time, struct mlfs_id *out)
{
	static const char domain[] = "mlfs-reflog-1";
	uint8_t r8[8], t8[8], has = commit != NULL;
	struct mlfs_span p[8];

	mlfs_put_le64(r8, (uint64_t)row);
	mlfs_put_le64(t8, (uint64_t)time);
	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = (struct mlfs_span){ r8, sizeof(r8) };
	p[2] = str_span(ns);
	p[3] = str_span(name);
	p[4] = str_span(branch);
	p[5] = (struct mlfs_span){ &has, 1 };
	p[6] = (struct mlfs_span){ commit ? commit->b : zero_id,
				   MLFS_ID_LEN };
	p[7] = (struct mlfs_span){ t8, sizeof(t8) };
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

void mlfs_objid_meta_mac(const struct mlfs_hash_key *k,
			 const struct mlfs_id *commit, const char *key,
			 const char *value, struct mlfs_id *out)
{
	static const char domain[] = "mlfs-meta-1";
	struct mlfs_span p[4];

	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = (struct mlfs_span){ commit->b, MLFS_ID_LEN };
	p[2] = str_span(key);
	p[3] = str_span(value);
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}

/* Audit fields: a le64 length, then that many bytes; an absent field
 * (NULL column) is the length 2^64-1 and no bytes. */
#define AUDIT_FIELDS 13
#define AUDIT_ABSENT UINT64_MAX

struct audit_enc {
	struct mlfs_span p[2 + 2 * AUDIT_FIELDS];
	uint8_t len[AUDIT_FIELDS][8];
	uint8_t ints[3][8];
	size_t n, f;
};

static void enc_bytes(struct audit_enc *e, const void *p, uint64_t len)
{
	mlfs_put_le64(e->len[e->f], p ? len : AUDIT_ABSENT);
	e->p[e->n++] = (struct mlfs_span){ e->len[e->f++], 8 };
	if (p)
		e->p[e->n++] = (struct mlfs_span){ p, (size_t)len };
}

static void enc_str(struct audit_enc *e, const char *s)
{
	enc_bytes(e, s, s ? strlen(s) : 0);
}

static void enc_id(struct audit_enc *e, const struct mlfs_id *id)
{
	enc_bytes(e, id ? id->b : NULL, MLFS_ID_LEN);
}

static void enc_int(struct audit_enc *e, int i, bool has, int64_t v)
{
	mlfs_put_le64(e->ints[i], (uint64_t)v);
	enc_bytes(e, has ? e->ints[i] : NULL, 8);
}

void mlfs_objid_audit_mac(const struct mlfs_hash_key *k,
			  const struct mlfs_objid_audit *a,
			  const struct mlfs_id *prev, struct mlfs_id *out)
{
	static const char domain[] = "mlfs-audit-1";
	struct audit_enc e;

	e.n = e.f = 0;
	e.p[e.n++] = (struct mlfs_span){ domain, sizeof(domain) };
	e.p[e.n++] = (struct mlfs_span){ prev ? prev->b : zero_id,
					 MLFS_ID_LEN };
	enc_int(&e, 0, true, a->id);
	enc_int(&e, 1, true, a->time);
	enc_int(&e, 2, a->has_uid, a->uid);
	enc_str(&e, a->user);
	enc_str(&e, a->host);
	enc_str(&e, a->command);
	enc_str(&e, a->op);
	enc_str(&e, a->repo);
	enc_str(&e, a->ref);
	enc_id(&e, a->old_commit);
	enc_id(&e, a->new_commit);
	enc_str(&e, a->message);
	enc_str(&e, a->detail);
	mlfs_hash_parts(k, e.p, e.n, out);
}

void mlfs_objid_input_mac(const struct mlfs_hash_key *k,
			  const struct mlfs_id *commit,
			  const struct mlfs_id *input, uint64_t files,
			  uint64_t bytes, const char *how,
			  struct mlfs_id *out)
{
	static const char domain[] = "mlfs-input-1";
	uint8_t f8[8], b8[8];
	struct mlfs_span p[6];

	mlfs_put_le64(f8, files);
	mlfs_put_le64(b8, bytes);
	p[0] = (struct mlfs_span){ domain, sizeof(domain) };
	p[1] = (struct mlfs_span){ commit->b, MLFS_ID_LEN };
	p[2] = (struct mlfs_span){ input->b, MLFS_ID_LEN };
	p[3] = (struct mlfs_span){ f8, sizeof(f8) };
	p[4] = (struct mlfs_span){ b8, sizeof(b8) };
	p[5] = str_span(how);
	mlfs_hash_parts(k, p, MLFS_ARRAY_SIZE(p), out);
}
