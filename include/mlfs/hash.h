/*
 * hash.h - object ids. Every chunk, file, tree and commit is named by
 * XXH3-128 keyed with the store's secret (docs/design.md#threat-model),
 * kept in canonical (big-endian) byte order so ids sort and print the same
 * everywhere.
 */
#ifndef MLFS_HASH_H
#define MLFS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/util.h"

#define MLFS_ID_LEN 16
#define MLFS_ID_HEX_LEN 32
/* Size of the random key kept in the store config. */
#define MLFS_HASH_KEY_LEN 192

struct mlfs_id {
	uint8_t b[MLFS_ID_LEN];
};

/* The store's hash key. Owned by the store, read-only once loaded. */
struct mlfs_hash_key {
	uint8_t secret[MLFS_HASH_KEY_LEN];
};

/* Streaming hasher; the state is opaque storage for XXH3_state_t. */
struct mlfs_hasher {
	void *state;
};

/* One-shot keyed hash of @len bytes. */
void mlfs_hash(const struct mlfs_hash_key *k, const void *p, size_t len,
	       struct mlfs_id *out);
/* Streaming: init (-ENOMEM), update, final; release frees the state
 * (accepts a hasher that was never initialised with zeroed memory). */
MLFS_MUST_CHECK int mlfs_hasher_init(struct mlfs_hasher *h,
				     const struct mlfs_hash_key *k);
void mlfs_hasher_update(struct mlfs_hasher *h, const void *p, size_t len);
void mlfs_hasher_final(struct mlfs_hasher *h, struct mlfs_id *out);
void mlfs_hasher_release(struct mlfs_hasher *h);

/* One piece of a hashed record (see mlfs_hash_parts). */
struct mlfs_span {
	const void *p;
	size_t len;
};

/* Keyed hash of the concatenation of @n spans; needs no allocation. */
void mlfs_hash_parts(const struct mlfs_hash_key *k,
		     const struct mlfs_span *parts, size_t n,
		     struct mlfs_id *out);

/* Lower-case hex, NUL-terminated; @hex holds MLFS_ID_HEX_LEN + 1. */
void mlfs_id_to_hex(const struct mlfs_id *id, char *hex);
/* Parse exactly 32 hex digits. Returns 0 or -EINVAL. */
MLFS_MUST_CHECK int mlfs_id_from_hex(const char *hex, struct mlfs_id *out);
static inline bool mlfs_id_is_zero(const struct mlfs_id *id)
{
	for (int i = 0; i < MLFS_ID_LEN; i++)
		if (id->b[i])
			return false;
	return true;
}
int mlfs_id_cmp(const struct mlfs_id *a, const struct mlfs_id *b);

#endif
