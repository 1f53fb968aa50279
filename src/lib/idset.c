/*
 * idset.c - open-addressing set/map of ids with linear probing. Ids are
 * keyed hashes, so their leading bytes are already uniform: no rehashing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/idset.h"

struct mlfs_idset_slot {
	struct mlfs_id id;
	uint64_t value;
	uint8_t used;
};

static size_t slot_of(const struct mlfs_id *id, size_t cap)
{
	return (size_t)mlfs_get_le64(id->b) & (cap - 1);
}

static int grow(struct mlfs_idset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	struct mlfs_idset_slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->slots[i].used)
			continue;
		j = slot_of(&s->slots[i].id, ncap);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = ns;
	s->cap = ncap;
	return 0;
}

int mlfs_idset_add(struct mlfs_idset *s, const struct mlfs_id *id,
		   uint64_t value, uint64_t **existing)
{
	size_t i;

	if ((s->count + 1) * 4 > s->cap * 3) {
		int r = grow(s);

		if (r < 0)
			return r;
	}
	i = slot_of(id, s->cap);
	while (s->slots[i].used) {
		if (!memcmp(s->slots[i].id.b, id->b, MLFS_ID_LEN)) {
			if (existing)
				*existing = &s->slots[i].value;
			return 0;
		}
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i].used = 1;
	s->slots[i].id = *id;
	s->slots[i].value = value;
	s->count++;
	return 1;
}

uint64_t *mlfs_idset_get(const struct mlfs_idset *s, const struct mlfs_id *id)
{
	size_t i;

	if (!s->cap)
		return NULL;
	i = slot_of(id, s->cap);
	while (s->slots[i].used) {
		if (!memcmp(s->slots[i].id.b, id->b, MLFS_ID_LEN))
			return &s->slots[i].value;
		i = (i + 1) & (s->cap - 1);
	}
	return NULL;
}

int mlfs_idset_each(const struct mlfs_idset *s,
		    int (*fn)(void *ctx, const struct mlfs_id *id,
			      uint64_t *value),
		    void *ctx)
{
	for (size_t i = 0; i < s->cap; i++) {
		int r;

		if (!s->slots[i].used)
			continue;
		r = fn(ctx, &s->slots[i].id, &s->slots[i].value);
		if (r)
			return r;
	}
	return 0;
}

void mlfs_idset_release(struct mlfs_idset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->count = 0;
}
