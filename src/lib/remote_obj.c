/*
 * remote_obj.c - the objects of bucket layout 1 (docs/format.md#bucket-
 * layout): the remote's config, pack indexes, pack lists, contents and
 * refs (commits and version metadata objects: remote_commit.c; their
 * shared encoding: remote_wire.c).
 * Pure encoders and decoders; what a bucket holds is untrusted, so every
 * length is bounded before use and every object carries a keyed check
 * (or is named by its keyed hash) verified before anything is returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/chunker.h"
#include "mlfs/content.h"
#include "mlfs/lineage.h"
#include "mlfs/remote.h"
#include "mlfs/vmeta.h"
#include "objid.h"
#include "remote_wire.h"

#define IDX_MAGIC "MLFSRIDX"
#define CNT_MAGIC "MLFSRCNT"
#define PKL_MAGIC "MLFSRPKL"
#define IDX_HDR 40u
#define IDX_ENT 40u
/* Bounds on what one object may hold (far above what mlfs writes). */
#define CHUNKS_MAX (1u << 26)
#define PACKS_MAX (1u << 24)

/* ---- config ---- */

int mlfs_remote_config_format(const struct mlfs_store_config *c,
			      struct mlfs_buf *out)
{
	char text[2048];
	int n = mlfs_config_format(c, text, sizeof(text));

	if (n < 0)
		return n;
	out->len = 0;
	if (mlfs_buf_printf(out, "# mlfs remote (docs/format.md#bucket-"
			    "layout): every store that pushes here has this "
			    "hash key\nlayout = %u\n", MLFS_REMOTE_LAYOUT) < 0 ||
	    mlfs_buf_append(out, text, (size_t)n) < 0)
		return -ENOMEM;
	return 0;
}

/* The value of the one "layout = N" line: -EBADMSG when missing, given
 * twice or not a small decimal number. */
static int layout_line(const char *t, size_t len, unsigned *v)
{
	bool seen = false;
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - t) : len, j = i;
		unsigned long x = 0;

		while (j < end && (t[j] == ' ' || t[j] == '\t'))
			j++;
		if (end - j >= 6 && !memcmp(t + j, "layout", 6)) {
			j += 6;
			while (j < end && (t[j] == ' ' || t[j] == '\t'))
				j++;
			if (j >= end || t[j++] != '=')
				return -EBADMSG;
			while (j < end && (t[j] == ' ' || t[j] == '\t'))
				j++;
			if (j >= end || seen)
				return -EBADMSG;
			for (; j < end && t[j] >= '0' && t[j] <= '9'; j++) {
				x = x * 10 + (unsigned long)(t[j] - '0');
				if (x > 1000000)
					return -EBADMSG;
			}
			while (j < end && (t[j] == ' ' || t[j] == '\t' ||
					   t[j] == '\r'))
				j++;
			if (j != end)
				return -EBADMSG;
			seen = true;
			*v = (unsigned)x;
		}
		i = end + 1;
	}
	return seen ? 0 : -EBADMSG;
}

int mlfs_remote_config_parse(const char *text, size_t len,
			     struct mlfs_store_config *out)
{
	unsigned v = 0;
	int r;

	if (len > MLFS_CONFIG_MAX || memchr(text, 0, len))
		return -EBADMSG;
	r = layout_line(text, len, &v);
	if (r < 0)
		return r;
	if (v > MLFS_REMOTE_LAYOUT)
		return -EPROTONOSUPPORT;
	if (v != MLFS_REMOTE_LAYOUT)
		return -EBADMSG;
	return mlfs_config_parse(text, len, out);
}

/* ---- pack index ---- */

void mlfs_remote_pack_key(uint64_t pack_id, bool idx, char *buf, size_t size)
{
	snprintf(buf, size, "packs/pack-%016llx.%s",
		 (unsigned long long)pack_id, idx ? "idx" : "mlp");
}

int mlfs_remote_idx_format(const struct mlfs_hash_key *k, uint64_t pack_id,
			   uint64_t pack_size,
			   const struct mlfs_remote_idx_entry *e, size_t n,
			   struct mlfs_buf *out)
{
	int r;

	if (n > CHUNKS_MAX)
		return -EINVAL;
	out->len = 0;
	r = mlfs_buf_reserve(out, IDX_HDR + n * IDX_ENT + MLFS_ID_LEN);
	if (r == 0)
		r = wire_put_magic(out, IDX_MAGIC);
	if (r == 0)
		r = wire_put_u64(out, pack_id);
	if (r == 0)
		r = wire_put_u64(out, pack_size);
	if (r == 0)
		r = wire_put_u64(out, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint8_t q[IDX_ENT] = { 0 };

		if (i && mlfs_id_cmp(&e[i - 1].id, &e[i].id) >= 0)
			return -EINVAL;
		memcpy(q, e[i].id.b, MLFS_ID_LEN);
		mlfs_put_le64(q + 16, e[i].loc.offset);
		mlfs_put_le32(q + 24, e[i].loc.stored_len);
		mlfs_put_le32(q + 28, e[i].loc.raw_len);
		q[32] = e[i].loc.codec;
		r = mlfs_buf_append(out, q, sizeof(q));
	}
	return r ? r : wire_append_check(k, "mlfs-remote-idx-1", out);
}

int mlfs_remote_idx_parse(const struct mlfs_hash_key *k, const void *p,
			  size_t len, uint64_t *pack_id, uint64_t *pack_size,
			  struct mlfs_remote_idx_entry **out, size_t *n)
{
	struct wire_rd rd = { p, len, 0 };
	struct mlfs_remote_idx_entry *e;
	uint64_t id, psize, count;
	int r;

	*out = NULL;
	*n = 0;
	r = wire_verify_check(k, "mlfs-remote-idx-1", p, &rd.len);
	if (r < 0)
		return r;
	r = wire_magic(&rd, IDX_MAGIC);
	if (r == 0)
		r = wire_u64(&rd, &id);
	if (r == 0)
		r = wire_u64(&rd, &psize);
	if (r == 0)
		r = wire_u64(&rd, &count);
	if (r < 0)
		return r;
	if (count > CHUNKS_MAX || (rd.len - rd.off) % IDX_ENT ||
	    count != (rd.len - rd.off) / IDX_ENT ||
	    psize < MLFS_PACK_HEADER_LEN)
		return -EBADMSG;
	e = calloc(count ? count : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *q = (const uint8_t *)p + rd.off + i * IDX_ENT;
		struct mlfs_chunk_loc *l = &e[i].loc;
		uint64_t end;

		memcpy(e[i].id.b, q, MLFS_ID_LEN);
		l->pack_id = id;
		l->offset = mlfs_get_le64(q + 16);
		l->stored_len = mlfs_get_le32(q + 24);
		l->raw_len = mlfs_get_le32(q + 28);
		l->codec = q[32];
		for (int j = 33; j < 40; j++)
			if (q[j])
				goto bad;
		if (l->offset < MLFS_PACK_HEADER_LEN || !l->raw_len ||
		    l->raw_len > MLFS_CHUNK_LIMIT ||
		    l->stored_len > MLFS_CHUNK_LIMIT + MLFS_CHUNK_LIMIT / 8 ||
		    l->codec > MLFS_CODEC_MAX ||
		    (l->codec == 0 && l->stored_len != l->raw_len) ||
		    __builtin_add_overflow(l->offset,
					   (uint64_t)MLFS_PACK_ENTRY_HEADER_LEN
					   + l->stored_len, &end) ||
		    end > psize)
			goto bad;
		if (i && mlfs_id_cmp(&e[i - 1].id, &e[i].id) >= 0)
			goto bad;
	}
	*pack_id = id;
	*pack_size = psize;
	*out = e;
	*n = count;
	return 0;
bad:
	free(e);
	return -EBADMSG;
}

/* ---- pack lists ---- */

int mlfs_remote_packlist_format(const struct mlfs_hash_key *k,
				const struct mlfs_id *commit,
				const uint64_t *ids, size_t n,
				struct mlfs_buf *out)
{
	int r;

	if (n > PACKS_MAX)
		return -EINVAL;
	for (size_t i = 1; i < n; i++)
		if (ids[i - 1] >= ids[i])
			return -EINVAL;
	out->len = 0;
	r = mlfs_buf_reserve(out, 40 + n * 8 + MLFS_ID_LEN);
	if (r == 0)
		r = wire_put_magic(out, PKL_MAGIC);
	if (r == 0)
		r = mlfs_buf_append(out, commit->b, MLFS_ID_LEN);
	if (r == 0)
		r = wire_put_u64(out, n);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = wire_put_u64(out, ids[i]);
	return r ? r : wire_append_check(k, "mlfs-remote-packlist-1", out);
}

int mlfs_remote_packlist_parse(const struct mlfs_hash_key *k,
			       const struct mlfs_id *commit, const void *p,
			       size_t len, uint64_t **ids, size_t *n)
{
	struct wire_rd rd = { p, len, 0 };
	struct mlfs_id got;
	uint64_t count, *v;
	int r;

	*ids = NULL;
	*n = 0;
	r = wire_verify_check(k, "mlfs-remote-packlist-1", p, &rd.len);
	if (r == 0)
		r = wire_magic(&rd, PKL_MAGIC);
	if (r == 0)
		r = wire_id(&rd, &got);
	if (r == 0)
		r = wire_u64(&rd, &count);
	if (r < 0)
		return r;
	if (count > PACKS_MAX || (rd.len - rd.off) % 8 ||
	    count != (rd.len - rd.off) / 8)
		return -EBADMSG;
	/* the list of another commit, copied under this one's key */
	if (mlfs_id_cmp(&got, commit))
		return -EIO;
	v = malloc(count ? count * sizeof(*v) : 1);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		v[i] = mlfs_get_le64((const uint8_t *)p + rd.off + i * 8);
		if (i && v[i - 1] >= v[i]) {
			free(v);
			return -EBADMSG;
		}
	}
	*ids = v;
	*n = count;
	return 0;
}

/* ---- contents ---- */

int mlfs_remote_content_format(const struct mlfs_hash_key *k,
			       const struct mlfs_id *digest, uint64_t size,
			       const void *chunks, size_t len,
			       struct mlfs_buf *out)
{
	struct mlfs_id mac;
	int r;

	out->len = 0;
	mlfs_objid_content_mac(k, digest, size, chunks, len, &mac);
	r = wire_put_magic(out, CNT_MAGIC);
	if (r == 0)
		r = wire_put_u64(out, size);
	if (r == 0)
		r = wire_put_u64(out, len);
	if (r == 0)
		r = mlfs_buf_append(out, chunks, len);
	return r ? r : mlfs_buf_append(out, mac.b, MLFS_ID_LEN);
}

int mlfs_remote_content_parse(const struct mlfs_hash_key *k,
			      const struct mlfs_id *digest, const void *p,
			      size_t len, uint64_t *size, uint8_t **chunks,
			      size_t *clen)
{
	struct wire_rd rd = { p, len, 0 };
	struct mlfs_content c = { 0 };
	const uint8_t *q, *macp;
	struct mlfs_id mac;
	uint64_t sz, n;
	int r;

	*chunks = NULL;
	r = wire_magic(&rd, CNT_MAGIC);
	if (r == 0)
		r = wire_u64(&rd, &sz);
	if (r == 0)
		r = wire_u64(&rd, &n);
	if (r < 0)
		return r;
	if (n > rd.len - rd.off || n % 20 || n / 20 > CHUNKS_MAX)
		return -EBADMSG;
	if (wire_take(&rd, (size_t)n, &q) < 0 ||
	    wire_take(&rd, MLFS_ID_LEN, &macp) < 0 || rd.off != rd.len)
		return -EBADMSG;
	mlfs_objid_content_mac(k, digest, sz, q, (size_t)n, &mac);
	if (memcmp(mac.b, macp, MLFS_ID_LEN))
		return -EIO;
	/* the lengths must add up to the size, as for a local row */
	r = mlfs_chunklist_decode(q, (size_t)n, sz, &c);
	free(c.ids);
	free(c.offs);
	if (r < 0)
		return -EBADMSG;
	*chunks = malloc(n ? (size_t)n : 1);
	if (!*chunks)
		return -ENOMEM;
	memcpy(*chunks, q, (size_t)n);
	*clen = (size_t)n;
	*size = sz;
	return 0;
}

/* ---- refs ---- */

static void ref_check(const struct mlfs_hash_key *k, const char *ns,
		      const char *name, int kind, const char *ref,
		      const struct mlfs_id *commit, struct mlfs_id *out)
{
	if (kind == 'a')
		mlfs_objid_alias_mac(k, ns, name, ref, commit, out);
	else
		mlfs_objid_ref_mac(k, ns, name, kind, ref, commit, out);
}

int mlfs_remote_ref_format(const struct mlfs_hash_key *k, const char *ns,
			   const char *name, int kind, const char *ref,
			   const struct mlfs_id *commit, struct mlfs_buf *out)
{
	char ch[MLFS_ID_HEX_LEN + 1], mh[MLFS_ID_HEX_LEN + 1];
	struct mlfs_id mac;

	ref_check(k, ns, name, kind, ref, commit, &mac);
	mlfs_id_to_hex(commit, ch);
	mlfs_id_to_hex(&mac, mh);
	out->len = 0;
	return mlfs_buf_printf(out, "mlfs-ref 1\ncommit %s\ncheck %s\n", ch,
			       mh);
}

int mlfs_remote_ref_parse(const struct mlfs_hash_key *k, const char *ns,
			  const char *name, int kind, const char *ref,
			  const void *p, size_t len, struct mlfs_id *commit)
{
	/* "mlfs-ref 1\ncommit " 32 "\ncheck " 32 "\n" */
	static const size_t want = 11 + 7 + 32 + 7 + 32 + 1;
	const char *t = p;
	char hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_id c, mac, got;

	if (len != want || memcmp(t, "mlfs-ref 1\ncommit ", 18) ||
	    memcmp(t + 50, "\ncheck ", 7) || t[want - 1] != '\n')
		return -EBADMSG;
	/* lower-case only: one object per ref value, as written */
	if (strspn(t + 18, "0123456789abcdef") != 32 ||
	    strspn(t + 57, "0123456789abcdef") != 32)
		return -EBADMSG;
	memcpy(hex, t + 18, 32);
	hex[32] = '\0';
	if (mlfs_id_from_hex(hex, &c) < 0)
		return -EBADMSG;
	memcpy(hex, t + 57, 32);
	if (mlfs_id_from_hex(hex, &mac) < 0)
		return -EBADMSG;
	ref_check(k, ns, name, kind, ref, &c, &got);
	if (mlfs_id_cmp(&got, &mac))
		return -EIO;
	*commit = c;
	return 0;
}

/* Copy the next '/'-separated part of *@s into @dst (a valid name). */
static int key_part(const char **s, char *dst, bool last)
{
	const char *e = strchr(*s, '/'), *why;
	size_t n = e ? (size_t)(e - *s) : strlen(*s);

	if (!e != last || n == 0 || n > MLFS_NAME_MAX)
		return -EINVAL;
	memcpy(dst, *s, n);
	dst[n] = '\0';
	*s += n + (e ? 1 : 0);
	return mlfs_name_check(dst, &why);
}

int mlfs_remote_ref_key_parse(const char *key, char *ns, char *name,
			      int *kind, char *ref)
{
	char dir[MLFS_NAME_MAX + 1];
	const char *s = key;

	if (strncmp(s, "refs/", 5))
		return -EINVAL;
	s += 5;
	if (key_part(&s, ns, false) < 0 || key_part(&s, name, false) < 0 ||
	    key_part(&s, dir, false) < 0 || key_part(&s, ref, true) < 0)
		return -EINVAL;
	if (!strcmp(dir, "branches"))
		*kind = 'b';
	else if (!strcmp(dir, "tags"))
		*kind = 't';
	else if (!strcmp(dir, "aliases"))
		*kind = 'a';
	else
		return -EINVAL;
	return 0;
}
