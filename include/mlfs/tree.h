/*
 * tree.h - directory trees as a Merkle structure. A tree is the sorted
 * list of its entries, encoded canonically and named by its keyed hash;
 * a subdirectory entry holds the id of its tree, a file entry the digest
 * of its content. An unchanged subtree therefore has the same id in every
 * version, which lets a walk of two versions skip it.
 */
#ifndef MLFS_TREE_H
#define MLFS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

struct mlfs_store;

enum mlfs_entry_type {
	MLFS_ENTRY_FILE = 1,
	MLFS_ENTRY_DIR = 2,
	MLFS_ENTRY_SYMLINK = 3,
};

struct mlfs_entry {
	const char *name;   /* never empty, no '/' */
	const char *target; /* symlink target, else NULL */
	enum mlfs_entry_type type;
	uint32_t mode;      /* permission bits (07777) */
	int64_t mtime_ns;   /* nanoseconds since the epoch */
	uint64_t size;      /* file bytes; symlink target length; 0 for dirs */
	struct mlfs_id id;  /* content digest (file) or tree id (dir) */
};

/* A decoded tree. Entries are sorted by name (bytewise); the strings they
 * point to live in the tree's own storage. */
struct mlfs_tree {
	struct mlfs_id id;
	size_t n;
	struct mlfs_entry *e;
	uint8_t *blob; /* private */
};

/* Encode @n entries (must already be sorted by name, names unique) into
 * @out. Returns 0, -EINVAL (unsorted, duplicate or bad name), -ENOMEM. */
MLFS_MUST_CHECK int mlfs_tree_encode(const struct mlfs_entry *e, size_t n,
				     struct mlfs_buf *out);
/* Decode @len untrusted bytes (copied). Returns 0, -EBADMSG, -ENOMEM. */
MLFS_MUST_CHECK int mlfs_tree_decode(const void *p, size_t len,
				     struct mlfs_tree **out);
/* Load tree @id from the store. Returns 0, -ENOENT, -EBADMSG, -ENOMEM. */
MLFS_MUST_CHECK int mlfs_tree_load(struct mlfs_store *s,
				   const struct mlfs_id *id,
				   struct mlfs_tree **out);
void mlfs_tree_free(struct mlfs_tree *t);

/* Binary search for @name; NULL when absent. */
const struct mlfs_entry *mlfs_tree_find(const struct mlfs_tree *t,
					const char *name);

/* An entry with its own copies of the strings. */
struct mlfs_entry_copy {
	struct mlfs_entry e;
	char *strings; /* owned storage behind e.name and e.target */
};

/* Follow @path ("" or "a/b/c", no leading slash, no "." or "..") from
 * root tree @root. The root itself comes back as a DIR entry named ""
 * with mode 0755 and mtime 0. Returns 0, -ENOENT, -ENOTDIR, -EBADMSG. */
MLFS_MUST_CHECK int mlfs_tree_lookup_path(struct mlfs_store *s,
					  const struct mlfs_id *root,
					  const char *path,
					  struct mlfs_entry_copy *out);
void mlfs_entry_copy_release(struct mlfs_entry_copy *c);

#endif
