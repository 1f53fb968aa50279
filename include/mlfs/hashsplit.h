/*
 * hashsplit.h - a file's keyed XXH3-128 digest (mlfs_hash of all its
 * bytes) computed chunk by chunk in any order: each chunk's share is
 * worked out from its bytes alone (a "part", made while the chunk is
 * still in the CPU cache), and the parts are then added in file order,
 * which touches ~1/16 of the bytes. The result is bit for bit
 * mlfs_hash() of the whole file.
 */
#ifndef MLFS_HASHSPLIT_H
#define MLFS_HASHSPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

/* Files up to this size are hashed as a whole (XXH3 treats them apart). */
#define MLFS_HASHSPLIT_SMALL 240

/* One chunk's share of the digest; opaque. */
struct mlfs_hashsplit_part;

/* Adds parts in file order. Fields are private (public for embedding). */
struct mlfs_hashsplit {
	const struct mlfs_hash_key *key; /* borrowed */
	uint64_t size;                   /* the whole file's */
	uint64_t pos;                    /* bytes added so far */
	uint64_t acc[8];
	uint8_t carry[64];               /* bytes of a stripe not yet whole */
	size_t carry_len;
	uint8_t last[64];                /* the last 64 bytes added */
	uint8_t small[MLFS_HASHSPLIT_SMALL]; /* a small file's bytes */
};

/* The part of the @len bytes at @p, at offset @off of a file of @size
 * bytes hashed with @k. Returns 0, -EINVAL (outside the file, or empty
 * in a non-empty file) or -ENOMEM; free it with
 * mlfs_hashsplit_part_free(). */
MLFS_MUST_CHECK int mlfs_hashsplit_part_new(const struct mlfs_hash_key *k,
					    uint64_t size, uint64_t off,
					    const void *p, size_t len,
					    struct mlfs_hashsplit_part **out);
/* The same in memory of the caller's: @mem, of at least
 * mlfs_hashsplit_part_size() bytes (aligned as malloc's), holds the part
 * until the caller frees or reuses it (never mlfs_hashsplit_part_free).
 * Returns 0 or -EINVAL. */
MLFS_MUST_CHECK int mlfs_hashsplit_part_make(const struct mlfs_hash_key *k,
					     uint64_t size, uint64_t off,
					     const void *p, size_t len,
					     void *mem,
					     struct mlfs_hashsplit_part **out);
/* Bytes a part of @len bytes at @off of a file of @size takes: ~1/16 of
 * @len, plus ~250. */
size_t mlfs_hashsplit_part_size(uint64_t size, uint64_t off, size_t len);
/* Bytes of memory the part holds (its mlfs_hashsplit_part_size()). */
size_t mlfs_hashsplit_part_mem(const struct mlfs_hashsplit_part *p);
/* Accepts NULL. */
void mlfs_hashsplit_part_free(struct mlfs_hashsplit_part *p);

/* Start the digest of a file of @size bytes hashed with @k (borrowed). */
void mlfs_hashsplit_init(struct mlfs_hashsplit *h,
			 const struct mlfs_hash_key *k, uint64_t size);
/* Add the next part: it must start where the last one ended and have
 * been made for the same file size. Returns 0 or -EINVAL. */
MLFS_MUST_CHECK int mlfs_hashsplit_add(struct mlfs_hashsplit *h,
				       const struct mlfs_hashsplit_part *p);
/* The digest, once parts covering the whole file were added (else
 * -EINVAL). Returns 0. */
MLFS_MUST_CHECK int mlfs_hashsplit_final(const struct mlfs_hashsplit *h,
					 struct mlfs_id *out);

/* For tests: use no instructions past @isa (the best the CPU has, by
 * default). Call before any part is made. */
enum {
	MLFS_HASHSPLIT_ISA_SCALAR,
	MLFS_HASHSPLIT_ISA_AVX2,
	MLFS_HASHSPLIT_ISA_BEST,
};
void mlfs_hashsplit_limit_isa(int isa);

#endif
