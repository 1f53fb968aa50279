/*
 * diff_safetensors.h - what the two halves of the safetensors diff share
 * (internal to diff_safetensors.c and diff_safetensors_parse.c): the
 * dtype table, the error helper and the reading of a sharded index.
 */
#ifndef MLFS_DIFF_SAFETENSORS_H
#define MLFS_DIFF_SAFETENSORS_H

#include <stddef.h>

#include "mlfs/diff.h"

struct mlfs_store;
struct mlfs_entry;

#define ST_NDTYPES (MLFS_ST_F64 + 1)

/* Name in the header and element size in bytes, by enum mlfs_st_dtype. */
struct st_dtype {
	const char *name;
	unsigned size;
};
extern const struct st_dtype st_dtypes[ST_NDTYPES];

/* Print the reason into @err (@errlen bytes; NULL or 0: none). Returns
 * -EBADMSG. */
int st_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read and parse the *.safetensors.index.json @ie of a sharded checkpoint
 * (@label names the version in errors). On success *@idx owns the JSON
 * (free with mlfs_json_free) and *@map is its weight_map object. Returns 0, -EBADMSG (too large, not JSON, no weight_map: @err
 * says which), -ENOMEM, -errno from the store. */
int st_index_load(struct mlfs_store *st, const struct mlfs_entry *ie,
		  const char *label, struct mlfs_json **idx,
		  struct mlfs_jv *map, char *err, size_t errlen);

#endif
