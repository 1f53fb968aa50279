/*
 * idset.h - an open-addressing hash set (optionally map to uint64_t) of
 * object ids. Ids are uniformly distributed hashes, so their first bytes
 * index the table directly. Not thread-safe.
 */
#ifndef MLFS_IDSET_H
#define MLFS_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

struct mlfs_idset {
	struct mlfs_idset_slot *slots;
	size_t cap;   /* power of two, or 0 */
	size_t count;
};
#define MLFS_IDSET_INIT { NULL, 0, 0 }

/* Add @id with @value. Returns 1 when added, 0 when present (value left
 * unchanged; *existing set if non-NULL), -ENOMEM. */
MLFS_MUST_CHECK int mlfs_idset_add(struct mlfs_idset *s,
				   const struct mlfs_id *id, uint64_t value,
				   uint64_t **existing);
/* Pointer to the value of @id, or NULL. */
uint64_t *mlfs_idset_get(const struct mlfs_idset *s, const struct mlfs_id *id);
/* Visit every element; @fn returns non-zero to stop (that is returned). */
int mlfs_idset_each(const struct mlfs_idset *s,
		    int (*fn)(void *ctx, const struct mlfs_id *id,
			      uint64_t *value),
		    void *ctx);
void mlfs_idset_release(struct mlfs_idset *s);

#endif
