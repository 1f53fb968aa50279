/*
 * export.h - write a version (or a subtree or file of it) back to the
 * local filesystem: bytes, modes, mtimes and symlinks as imported.
 */
#ifndef MLFS_EXPORT_H
#define MLFS_EXPORT_H

#include <stdint.h>

#include "mlfs/tree.h"
#include "mlfs/util.h"

struct mlfs_store;

struct mlfs_export_stats {
	uint64_t files, dirs, symlinks, bytes;
};

/* Export @entry (a DIR or FILE or SYMLINK, e.g. from mlfs_tree_lookup_path)
 * to @dest, which must not exist (its parent must). Returns 0, -EEXIST,
 * -EIO (bad chunk: mlfs_error_detail() names it and the file), -errno. */
MLFS_MUST_CHECK int mlfs_export(struct mlfs_store *s,
				const struct mlfs_entry *entry,
				const char *dest,
				struct mlfs_export_stats *st);

/* Write the whole content of file @digest to @fd. Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_export_content_fd(struct mlfs_store *s,
					   const struct mlfs_id *digest,
					   int fd);

#endif
