/*
 * listing.c - changing directory listings and their stable offsets
 * (listing.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "listing.h"

struct mlfs_listing *mlfs_listing_new(void)
{
	struct mlfs_listing *l = calloc(1, sizeof(*l));

	if (l)
		atomic_init(&l->refs, 1);
	return l;
}

void mlfs_listing_put(struct mlfs_listing *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->d[i].name);
	free(l->d);
	free(l);
}

int mlfs_listing_add(struct mlfs_listing *l, const char *name, uint64_t ino,
		     mode_t type)
{
	struct mlfs_dent *d = mlfs_grow(l->d, sizeof(*l->d), l->n, &l->cap);
	size_t len = strlen(name);

	if (!d)
		return -ENOMEM;
	l->d = d;
	d[l->n].name = malloc(len + 1);
	if (!d[l->n].name)
		return -ENOMEM;
	memcpy(d[l->n].name, name, len + 1);
	d[l->n].ino = ino;
	d[l->n].type = type;
	/* 62 bits, above the offsets of "." and ".." */
	d[l->n].cookie = (XXH3_64bits(name, len) >> 2) +
			 LISTING_OFF_ENTRIES + 1;
	l->n++;
	return 0;
}

static int by_cookie(const void *a, const void *b)
{
	const struct mlfs_dent *x = a, *y = b;

	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return strcmp(x->name, y->name);
}

void mlfs_listing_seal(struct mlfs_listing *l)
{
	if (l->n > 1) /* (NULL when empty) */
		qsort(l->d, l->n, sizeof(*l->d), by_cookie);
	for (size_t i = 1; i < l->n; i++)
		if (l->d[i].cookie <= l->d[i - 1].cookie)
			l->d[i].cookie = l->d[i - 1].cookie + 1;
}

size_t mlfs_listing_seek(const struct mlfs_listing *l, uint64_t off)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->d[mid].cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
