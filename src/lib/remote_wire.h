/*
 * remote_wire.h - the byte encoding of the bucket's objects, shared by
 * remote_obj.c (config, pack indexes and lists, contents, refs) and
 * remote_commit.c (commits, version metadata objects). Private to
 * libmlfs. What a bucket holds is untrusted: every reader is bounded by
 * what is left and fails with -EBADMSG past the end.
 */
#ifndef MLFS_REMOTE_WIRE_H
#define MLFS_REMOTE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

#define WIRE_VERSION 1u
/* The longest string an object may hold (far above what mlfs writes). */
#define WIRE_STR_MAX (1u << 20)

/* @len bytes at @p, read from @off on. */
struct wire_rd {
	const uint8_t *p;
	size_t len, off;
};

/* The next @n bytes, in place. 0 or -EBADMSG. */
MLFS_MUST_CHECK int wire_take(struct wire_rd *r, size_t n,
			      const uint8_t **out);
MLFS_MUST_CHECK int wire_u32(struct wire_rd *r, uint32_t *v);
MLFS_MUST_CHECK int wire_u64(struct wire_rd *r, uint64_t *v);
MLFS_MUST_CHECK int wire_id(struct wire_rd *r, struct mlfs_id *id);
/* A le32-length-prefixed string without NUL bytes, at most @max bytes,
 * copied NUL-terminated into a malloc'd *@out. */
MLFS_MUST_CHECK int wire_str(struct wire_rd *r, size_t max, char **out);
/* As wire_str() into a fixed buffer of @size bytes. */
MLFS_MUST_CHECK int wire_name(struct wire_rd *r, char *dst, size_t size);
/* The leading 8-byte magic @m, version and a reserved zero: -EBADMSG
 * when malformed, -EPROTONOSUPPORT for a later version. */
MLFS_MUST_CHECK int wire_magic(struct wire_rd *r, const char *m);

MLFS_MUST_CHECK int wire_put_u32(struct mlfs_buf *b, uint32_t v);
MLFS_MUST_CHECK int wire_put_u64(struct mlfs_buf *b, uint64_t v);
/* Length-prefixed; -EINVAL over WIRE_STR_MAX. */
MLFS_MUST_CHECK int wire_put_str(struct mlfs_buf *b, const char *s);
MLFS_MUST_CHECK int wire_put_magic(struct mlfs_buf *b, const char *m);

/* The object check: keyed hash of @domain (with its NUL) and @len bytes
 * at @p. */
void wire_check(const struct mlfs_hash_key *k, const char *domain,
		const void *p, size_t len, struct mlfs_id *out);
/* Append the check of what @b holds. */
MLFS_MUST_CHECK int wire_append_check(const struct mlfs_hash_key *k,
				      const char *domain, struct mlfs_buf *b);
/* Split off and verify the trailing check of the *@len bytes at @p
 * (*@len loses it): -EBADMSG when too short, -EIO when it differs. */
MLFS_MUST_CHECK int wire_verify_check(const struct mlfs_hash_key *k,
				      const char *domain, const void *p,
				      size_t *len);

#endif
