/*
 * remote_commit.c - commit and version metadata objects of bucket layout
 * 1 (docs/format.md#bucket-layout): a commit with its version metadata
 * and lineage inputs, named by its commit id (which decoding recomputes),
 * and the metadata a commit gained since, named by its digest. Pure
 * encoders and decoders of untrusted bytes (remote_wire.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/lineage.h"
#include "mlfs/remote.h"
#include "mlfs/vmeta.h"
#include "objid.h"
#include "remote_wire.h"

#define CMT_MAGIC "MLFSRCMT"
#define VMT_MAGIC "MLFSRVMT"
/* Bounds on what one object may hold (far above what mlfs writes). */
#define KV_MAX 1024u
#define INPUTS_MAX 65536u

/* ---- commits ---- */

void mlfs_remote_commit_release(struct mlfs_remote_commit *c)
{
	if (!c)
		return;
	free(c->author);
	free(c->message);
	for (size_t i = 0; i < c->nkv; i++) {
		free(c->kv[i].key);
		free(c->kv[i].value);
	}
	free(c->kv);
	free(c->in);
	memset(c, 0, sizeof(*c));
}

/* The version metadata pairs then the inputs, as commit and vmeta
 * objects carry them (and the vmeta digest hashes them). */
static int put_kvin(struct mlfs_buf *out, const struct mlfs_remote_kv *kv,
		    size_t nkv, const struct mlfs_remote_input *in, size_t nin)
{
	int r;

	if (nkv > KV_MAX || nin > INPUTS_MAX)
		return -EINVAL;
	r = wire_put_u32(out, (uint32_t)nkv);
	for (size_t i = 0; r == 0 && i < nkv; i++) {
		r = wire_put_str(out, kv[i].key);
		if (r == 0)
			r = wire_put_str(out, kv[i].value);
	}
	if (r == 0)
		r = wire_put_u32(out, (uint32_t)nin);
	for (size_t i = 0; r == 0 && i < nin; i++) {
		const char *how = mlfs_input_how_name(in[i].how);

		r = mlfs_buf_append(out, in[i].commit.b, MLFS_ID_LEN);
		if (r == 0)
			r = wire_put_u64(out, in[i].files);
		if (r == 0)
			r = wire_put_u64(out, in[i].bytes);
		if (r == 0)
			r = wire_put_str(out, how);
	}
	return r;
}

int mlfs_remote_commit_format(const struct mlfs_hash_key *k,
			      const struct mlfs_remote_commit *c,
			      struct mlfs_buf *out)
{
	static const struct mlfs_id zero;
	int r;

	out->len = 0;
	r = wire_put_magic(out, CMT_MAGIC);
	if (r == 0)
		r = wire_put_str(out, c->ns);
	if (r == 0)
		r = wire_put_str(out, c->name);
	if (r == 0)
		r = mlfs_buf_append(out, c->has_parent ? c->parent.b : zero.b,
				    MLFS_ID_LEN);
	if (r == 0)
		r = mlfs_buf_append(out, c->tree.b, MLFS_ID_LEN);
	if (r == 0)
		r = wire_put_u64(out, (uint64_t)c->time);
	if (r == 0)
		r = wire_put_str(out, c->author);
	if (r == 0)
		r = wire_put_str(out, c->message);
	if (r == 0)
		r = put_kvin(out, c->kv, c->nkv, c->in, c->nin);
	return r ? r : wire_append_check(k, "mlfs-remote-commit-1", out);
}

static int parse_kv(struct wire_rd *rd, struct mlfs_remote_commit *c)
{
	uint32_t n;
	int r = wire_u32(rd, &n);

	if (r < 0 || n > KV_MAX)
		return -EBADMSG;
	c->kv = calloc(n ? n : 1, sizeof(*c->kv));
	if (!c->kv)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct mlfs_remote_kv *kv = &c->kv[i];

		r = wire_str(rd, 128, &kv->key);
		if (r == 0) {
			c->nkv++;
			r = wire_str(rd, 4096, &kv->value);
		}
		if (r < 0)
			return r;
		if (mlfs_vmeta_check_key(kv->key) < 0 ||
		    mlfs_vmeta_check_value(kv->key, kv->value,
					   strlen(kv->value)) < 0 ||
		    (i && strcmp(c->kv[i - 1].key, kv->key) >= 0)) {
			mlfs_error_clear();
			return -EBADMSG;
		}
	}
	return 0;
}

static int parse_inputs(struct wire_rd *rd, struct mlfs_remote_commit *c)
{
	uint32_t n;
	int r = wire_u32(rd, &n);

	if (r < 0 || n > INPUTS_MAX)
		return -EBADMSG;
	c->in = calloc(n ? n : 1, sizeof(*c->in));
	if (!c->in)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct mlfs_remote_input *in = &c->in[i];
		char *how = NULL;

		r = wire_id(rd, &in->commit);
		if (r == 0)
			r = wire_u64(rd, &in->files);
		if (r == 0)
			r = wire_u64(rd, &in->bytes);
		if (r == 0)
			r = wire_str(rd, 16, &how);
		if (r < 0)
			return r;
		in->how = !strcmp(how, "mount") ? MLFS_INPUT_MOUNT :
			  !strcmp(how, "manual") ? MLFS_INPUT_MANUAL : 0;
		free(how);
		c->nin++;
		if (!in->how || in->files > INT64_MAX || in->bytes > INT64_MAX)
			return -EBADMSG;
	}
	return 0;
}

int mlfs_remote_commit_parse(const struct mlfs_hash_key *k,
			     const struct mlfs_id *id, const void *p,
			     size_t len, struct mlfs_remote_commit *c)
{
	struct wire_rd rd = { p, len, 0 };
	struct mlfs_commit lc = { 0 };
	const char *why;
	struct mlfs_id got;
	uint64_t t;
	int r;

	memset(c, 0, sizeof(*c));
	r = wire_verify_check(k, "mlfs-remote-commit-1", p, &rd.len);
	if (r == 0)
		r = wire_magic(&rd, CMT_MAGIC);
	if (r == 0)
		r = wire_name(&rd, c->ns, sizeof(c->ns));
	if (r == 0)
		r = wire_name(&rd, c->name, sizeof(c->name));
	if (r == 0)
		r = wire_id(&rd, &c->parent);
	if (r == 0)
		r = wire_id(&rd, &c->tree);
	if (r == 0)
		r = wire_u64(&rd, &t);
	if (r == 0)
		r = wire_str(&rd, WIRE_STR_MAX, &c->author);
	if (r == 0)
		r = wire_str(&rd, WIRE_STR_MAX, &c->message);
	if (r == 0)
		r = parse_kv(&rd, c);
	if (r == 0)
		r = parse_inputs(&rd, c);
	if (r == 0 && rd.off != rd.len)
		r = -EBADMSG;
	if (r == 0 && (mlfs_name_check(c->ns, &why) < 0 ||
		       mlfs_name_check(c->name, &why) < 0))
		r = -EBADMSG;
	if (r < 0)
		goto fail;
	c->time = (int64_t)t;
	c->has_parent = !mlfs_id_is_zero(&c->parent);
	c->id = *id;
	lc.parent = c->parent;
	lc.has_parent = c->has_parent;
	lc.tree = c->tree;
	lc.time = c->time;
	lc.author = c->author;
	lc.message = c->message;
	mlfs_objid_commit(k, c->ns, c->name, &lc, &got);
	if (mlfs_id_cmp(&got, id)) {
		r = -EIO;
		goto fail;
	}
	return 0;
fail:
	mlfs_remote_commit_release(c);
	return r;
}

/* ---- version metadata objects ---- */

void mlfs_remote_vmeta_release(struct mlfs_remote_vmeta *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nkv; i++) {
		free(v->kv[i].key);
		free(v->kv[i].value);
	}
	free(v->kv);
	free(v->in);
	memset(v, 0, sizeof(*v));
}

/* One form per content: keys strictly increasing (parse_kv checks it),
 * inputs strictly increasing by commit id. */
static bool inputs_sorted(const struct mlfs_remote_input *in, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (mlfs_id_cmp(&in[i - 1].commit, &in[i].commit) >= 0)
			return false;
	return true;
}

static bool kv_sorted(const struct mlfs_remote_kv *kv, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(kv[i - 1].key, kv[i].key) >= 0)
			return false;
	return true;
}

int mlfs_remote_vmeta_format(const struct mlfs_hash_key *k,
			     const struct mlfs_remote_vmeta *v,
			     struct mlfs_buf *out)
{
	int r;

	if (!kv_sorted(v->kv, v->nkv) || !inputs_sorted(v->in, v->nin))
		return -EINVAL;
	out->len = 0;
	r = wire_put_magic(out, VMT_MAGIC);
	if (r == 0)
		r = mlfs_buf_append(out, v->commit.b, MLFS_ID_LEN);
	if (r == 0)
		r = put_kvin(out, v->kv, v->nkv, v->in, v->nin);
	return r ? r : wire_append_check(k, "mlfs-remote-vmeta-1", out);
}

int mlfs_remote_vmeta_parse(const struct mlfs_hash_key *k,
			    const struct mlfs_id *commit, const void *p,
			    size_t len, struct mlfs_remote_vmeta *out)
{
	struct mlfs_remote_commit c = { 0 };
	struct wire_rd rd = { p, len, 0 };
	int r;

	memset(out, 0, sizeof(*out));
	r = wire_verify_check(k, "mlfs-remote-vmeta-1", p, &rd.len);
	if (r == 0)
		r = wire_magic(&rd, VMT_MAGIC);
	if (r == 0)
		r = wire_id(&rd, &out->commit);
	if (r == 0)
		r = parse_kv(&rd, &c);
	if (r == 0)
		r = parse_inputs(&rd, &c);
	if (r == 0 && (rd.off != rd.len || !inputs_sorted(c.in, c.nin)))
		r = -EBADMSG;
	/* the object of another commit, copied under this one's key */
	if (r == 0 && mlfs_id_cmp(&out->commit, commit))
		r = -EIO;
	out->kv = c.kv;
	out->nkv = c.nkv;
	out->in = c.in;
	out->nin = c.nin;
	if (r < 0)
		mlfs_remote_vmeta_release(out);
	return r;
}

static int cmp_input(const void *a, const void *b)
{
	const struct mlfs_remote_input *x = a, *y = b;

	return mlfs_id_cmp(&x->commit, &y->commit);
}

void mlfs_remote_inputs_sort(struct mlfs_remote_input *in, size_t n)
{
	if (n > 1)
		qsort(in, n, sizeof(*in), cmp_input);
}

int mlfs_remote_vmeta_digest(const struct mlfs_hash_key *k,
			     const struct mlfs_remote_kv *kv, size_t nkv,
			     const struct mlfs_remote_input *in, size_t nin,
			     struct mlfs_id *out)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	int r;

	if (!kv_sorted(kv, nkv) || !inputs_sorted(in, nin))
		return -EINVAL;
	r = put_kvin(&b, kv, nkv, in, nin);
	if (r == 0)
		wire_check(k, "mlfs-vmeta-digest-1", b.data, b.len, out);
	mlfs_buf_release(&b);
	return r;
}
