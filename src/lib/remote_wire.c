/*
 * remote_wire.c - the byte encoding the objects of bucket layout 1 share
 * (remote_wire.h): bounded little-endian readers, writers, the leading
 * magic and version, and the trailing keyed check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "remote_wire.h"

int wire_take(struct wire_rd *r, size_t n, const uint8_t **out)
{
	if (n > r->len - r->off)
		return -EBADMSG;
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

int wire_u32(struct wire_rd *r, uint32_t *v)
{
	const uint8_t *q;
	int e = wire_take(r, 4, &q);

	if (e == 0)
		*v = mlfs_get_le32(q);
	return e;
}

int wire_u64(struct wire_rd *r, uint64_t *v)
{
	const uint8_t *q;
	int e = wire_take(r, 8, &q);

	if (e == 0)
		*v = mlfs_get_le64(q);
	return e;
}

int wire_id(struct wire_rd *r, struct mlfs_id *id)
{
	const uint8_t *q;
	int e = wire_take(r, MLFS_ID_LEN, &q);

	if (e == 0)
		memcpy(id->b, q, MLFS_ID_LEN);
	return e;
}

int wire_str(struct wire_rd *r, size_t max, char **out)
{
	const uint8_t *q;
	uint32_t n;
	int e = wire_u32(r, &n);

	if (e < 0)
		return e;
	if (n > max || wire_take(r, n, &q) < 0 || memchr(q, 0, n))
		return -EBADMSG;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, q, n);
	(*out)[n] = '\0';
	return 0;
}

int wire_name(struct wire_rd *r, char *dst, size_t size)
{
	char *s = NULL;
	int e = wire_str(r, size - 1, &s);

	if (e == 0) {
		strcpy(dst, s);
		free(s);
	}
	return e;
}

int wire_put_u32(struct mlfs_buf *b, uint32_t v)
{
	uint8_t q[4];

	mlfs_put_le32(q, v);
	return mlfs_buf_append(b, q, 4);
}

int wire_put_u64(struct mlfs_buf *b, uint64_t v)
{
	uint8_t q[8];

	mlfs_put_le64(q, v);
	return mlfs_buf_append(b, q, 8);
}

int wire_put_str(struct mlfs_buf *b, const char *s)
{
	size_t n = strlen(s);
	int e;

	if (n > WIRE_STR_MAX)
		return -EINVAL;
	e = wire_put_u32(b, (uint32_t)n);
	return e ? e : mlfs_buf_append(b, s, n);
}

void wire_check(const struct mlfs_hash_key *k, const char *domain,
		const void *p, size_t len, struct mlfs_id *out)
{
	struct mlfs_span parts[2] = {
		{ domain, strlen(domain) + 1 },
		{ p, len },
	};

	mlfs_hash_parts(k, parts, 2, out);
}

int wire_append_check(const struct mlfs_hash_key *k, const char *domain,
		      struct mlfs_buf *b)
{
	struct mlfs_id c;

	wire_check(k, domain, b->data, b->len, &c);
	return mlfs_buf_append(b, c.b, MLFS_ID_LEN);
}

int wire_verify_check(const struct mlfs_hash_key *k, const char *domain,
		      const void *p, size_t *len)
{
	struct mlfs_id want;

	if (*len < MLFS_ID_LEN)
		return -EBADMSG;
	*len -= MLFS_ID_LEN;
	wire_check(k, domain, p, *len, &want);
	if (memcmp(want.b, (const uint8_t *)p + *len, MLFS_ID_LEN))
		return -EIO;
	return 0;
}

int wire_magic(struct wire_rd *r, const char *m)
{
	const uint8_t *q;
	uint32_t v, resv;

	if (wire_take(r, 8, &q) < 0 || memcmp(q, m, 8))
		return -EBADMSG;
	if (wire_u32(r, &v) < 0 || wire_u32(r, &resv) < 0)
		return -EBADMSG;
	if (v != WIRE_VERSION)
		return v > WIRE_VERSION ? -EPROTONOSUPPORT : -EBADMSG;
	return resv ? -EBADMSG : 0;
}

int wire_put_magic(struct mlfs_buf *b, const char *m)
{
	int e = mlfs_buf_append(b, m, 8);

	if (e == 0)
		e = wire_put_u32(b, WIRE_VERSION);
	return e ? e : wire_put_u32(b, 0);
}
