/*
 * export.h - write a version (or a subtree or file of it) back to the
 * local filesystem: bytes, modes, mtimes and symlinks as imported. Every
 * chunk, each file's size and its whole-file digest are checked on the
 * way out; damage is an error, never wrong bytes left behind.
 */
#ifndef MLFS_EXPORT_H
#define MLFS_EXPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "mlfs/tree.h"
#include "mlfs/util.h"

struct mlfs_store;

/* What made an export or a cat fail, for the caller's message. */
enum mlfs_export_fault {
	MLFS_EXPORT_OK,
	/* The store holds damage: a chunk, a tree, a content row, a size or
	 * whole-file digest that does not match (-EIO, -EBADMSG, -ENOENT). */
	MLFS_EXPORT_DAMAGED,
	/* Reading the store failed for another reason (-ENOMEM, -EMFILE,
	 * -EACCES, ...). */
	MLFS_EXPORT_READ,
	/* Writing the destination failed (-ENOSPC, -EEXIST, ...). */
	MLFS_EXPORT_WRITE,
};

struct mlfs_export_stats {
	uint64_t files, dirs, symlinks, bytes;
	/* After a failure: what failed, and the path of the entry it failed
	 * in, relative to the exported entry ("" for the entry itself). */
	enum mlfs_export_fault fault;
	char fault_path[PATH_MAX];
	/* The file being written when it failed was removed. */
	bool removed_partial;
};

/* Write holes: skip each 4 KiB-aligned block of zeros (the
 * destination is a new, empty regular file), set the size at the end. */
#define MLFS_EXPORT_SPARSE 0x1u

/* Export @entry (a DIR or FILE or SYMLINK, e.g. from mlfs_tree_lookup_path)
 * to @dest, which must not exist (its parent must). Files are written with
 * holes for their aligned 4 KiB blocks of zeros. A file that fails is
 * removed (st->removed_partial); what was exported before stays.
 * Returns 0, -EEXIST (@dest exists), or -errno with st->fault, st->fault_path
 * and mlfs_error_detail() saying what failed: for MLFS_EXPORT_DAMAGED e.g.
 * "content digest mismatch (expected <hex>, got <hex>)". */
MLFS_MUST_CHECK int mlfs_export(struct mlfs_store *s,
				const struct mlfs_entry *entry,
				const char *dest,
				struct mlfs_export_stats *st);

/* Write the content of file entry @e to @fd (written with write(2), or
 * with pwrite(2) from offset 0 under MLFS_EXPORT_SPARSE), checking every
 * chunk, the size (@e->size against the content row) and, at the end,
 * the whole-file digest (@e->id) of the bytes written. On a mismatch the
 * bytes are already written: the caller discards them. Returns 0, or
 * -errno with *fault set as for mlfs_export (-EIO for a size or digest
 * mismatch, detail "size mismatch (...)" or "content digest mismatch
 * (expected <hex>, got <hex>)"). */
MLFS_MUST_CHECK int mlfs_export_content_fd(struct mlfs_store *s,
					   const struct mlfs_entry *e,
					   int fd, unsigned flags,
					   enum mlfs_export_fault *fault);

#endif
