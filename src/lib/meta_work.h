/*
 * meta_work.h - the SQL of working trees: STORE/work/work.db, a database
 * of its own so that writes through the mount never wait for the
 * store's write transactions (imports, tags). Internal to src/lib; only
 * meta_work.c runs its SQL. One connection, used under the caller's lock
 * (struct mlfs_work's). Layout: docs/format.md#working-trees.
 */
#ifndef MLFS_META_WORK_H
#define MLFS_META_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/names.h"
#include "mlfs/util.h"

struct mlfs_wdb;

/* One working tree: the edits of one branch. */
struct mlfs_wdb_wt {
	int64_t id;
	int64_t repo_id;
	char branch[MLFS_NAME_MAX + 1];
	bool has_base;          /* false: the branch has no commit yet */
	struct mlfs_id base;    /* the commit the edits apply to */
	bool materialized;      /* every entry has rows (node, dirent) */
	int64_t next_ino;       /* counter behind new inode numbers */
	bool has_pending;       /* a snapshot was being committed */
	struct mlfs_id pending;
};

/* One inode of a materialized working tree. */
struct mlfs_wnode {
	uint64_t ino;
	int type;              /* enum mlfs_entry_type, MLFS_WT_SPECIAL */
	uint32_t mode;         /* permission bits (special: and S_IFMT) */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;         /* special: its device number */
	int64_t mtime_ns, ctime_ns, atime_ns;
	bool has_content;      /* file: digest of its stored bytes; dir:
				* its tree id, valid while !dirty */
	struct mlfs_id content;
	bool data;             /* file: bytes in STORE/work/<wt>/<ino> */
	char *target;          /* symlink target (owned) */
	uint64_t parent;       /* dir: its parent's ino (dirs have one
				* name); 0 for the root */
	bool dirty;            /* differs from the base, or holds what does */
	bool has_snap;         /* content computed by a pending snapshot */
	struct mlfs_id snap;
	/* Origin: the directory node and the name this node has in the base
	 * (materialized from it) or had in the last snapshot, so that its
	 * committed path is known after it moved. None for a node made since
	 * (and for rows of schema 1): its number is its identity. */
	bool has_origin;
	uint64_t opar;
	char *oname;           /* owned, as target */
};

MLFS_MUST_CHECK int mlfs_wdb_open(const char *path, bool rdonly,
				  struct mlfs_wdb **out);
void mlfs_wdb_close(struct mlfs_wdb *db);
MLFS_MUST_CHECK int mlfs_wdb_begin(struct mlfs_wdb *db);
MLFS_MUST_CHECK int mlfs_wdb_commit(struct mlfs_wdb *db);
void mlfs_wdb_rollback(struct mlfs_wdb *db);
/* Make every committed transaction durable (fsync of the log). */
MLFS_MUST_CHECK int mlfs_wdb_sync(struct mlfs_wdb *db);

MLFS_MUST_CHECK int mlfs_wdb_wt_get(struct mlfs_wdb *db, int64_t repo_id,
				    const char *branch,
				    struct mlfs_wdb_wt *out);
MLFS_MUST_CHECK int mlfs_wdb_wt_create(struct mlfs_wdb *db,
				       struct mlfs_wdb_wt *w);
MLFS_MUST_CHECK int mlfs_wdb_wt_update(struct mlfs_wdb *db,
				       const struct mlfs_wdb_wt *w);
MLFS_MUST_CHECK int mlfs_wdb_wt_delete(struct mlfs_wdb *db, int64_t id);
/* Every working tree; *out malloc'd. */
MLFS_MUST_CHECK int mlfs_wdb_wt_list(struct mlfs_wdb *db,
				     struct mlfs_wdb_wt **out, size_t *n);

/* -ENOENT when absent. Release with mlfs_wnode_release. */
MLFS_MUST_CHECK int mlfs_wdb_node_get(struct mlfs_wdb *db, int64_t wt,
				      uint64_t ino, struct mlfs_wnode *out);
/* Insert or replace. */
MLFS_MUST_CHECK int mlfs_wdb_node_put(struct mlfs_wdb *db, int64_t wt,
				      const struct mlfs_wnode *n);
MLFS_MUST_CHECK int mlfs_wdb_node_delete(struct mlfs_wdb *db, int64_t wt,
					 uint64_t ino);
void mlfs_wnode_release(struct mlfs_wnode *n);
/* Nodes of @wt with a pending snapshot result (has_snap), or with
 * nlink 0 (@orphans), or dirty files holding data; *out malloc'd array
 * of nodes (release each). */
enum mlfs_wdb_select {
	MLFS_WDB_SNAP = 1,
	MLFS_WDB_ORPHANS,
	MLFS_WDB_DATA,
	MLFS_WDB_ALL,
};
MLFS_MUST_CHECK int mlfs_wdb_node_select(struct mlfs_wdb *db, int64_t wt,
					 enum mlfs_wdb_select what,
					 struct mlfs_wnode **out, size_t *n);
/* Drop every node, entry and extended attribute of @wt. */
MLFS_MUST_CHECK int mlfs_wdb_wt_clear(struct mlfs_wdb *db, int64_t wt);

/* Directory entries. get: -ENOENT when absent. */
MLFS_MUST_CHECK int mlfs_wdb_dirent_get(struct mlfs_wdb *db, int64_t wt,
					uint64_t parent, const char *name,
					uint64_t *ino);
MLFS_MUST_CHECK int mlfs_wdb_dirent_put(struct mlfs_wdb *db, int64_t wt,
					uint64_t parent, const char *name,
					uint64_t ino);
MLFS_MUST_CHECK int mlfs_wdb_dirent_delete(struct mlfs_wdb *db, int64_t wt,
					   uint64_t parent,
					   const char *name);
/* 1 when @parent has an entry, 0 when empty, or -errno. */
MLFS_MUST_CHECK int mlfs_wdb_dirent_any(struct mlfs_wdb *db, int64_t wt,
					uint64_t parent);

/* A directory entry with its node, as listed. */
struct mlfs_wdirent {
	char *name; /* owned */
	struct mlfs_wnode node;
};
/* The entries of @parent sorted by name (bytewise), with their nodes;
 * *out malloc'd, release with mlfs_wdirent_free. */
MLFS_MUST_CHECK int mlfs_wdb_dirent_list(struct mlfs_wdb *db, int64_t wt,
					 uint64_t parent,
					 struct mlfs_wdirent **out,
					 size_t *n);
void mlfs_wdirent_free(struct mlfs_wdirent *v, size_t n);
/* The directories holding an entry for @ino (hard links: several);
 * *out malloc'd. */
MLFS_MUST_CHECK int mlfs_wdb_dirent_parents(struct mlfs_wdb *db, int64_t wt,
					    uint64_t ino, uint64_t **out,
					    size_t *n);

/* Extended attributes (kept in the working tree only). get: -ENODATA
 * when absent; *value malloc'd. list: names, each NUL-terminated, in
 * one malloc'd buffer. */
MLFS_MUST_CHECK int mlfs_wdb_xattr_get(struct mlfs_wdb *db, int64_t wt,
				       uint64_t ino, const char *name,
				       void **value, size_t *len);
MLFS_MUST_CHECK int mlfs_wdb_xattr_set(struct mlfs_wdb *db, int64_t wt,
				       uint64_t ino, const char *name,
				       const void *value, size_t len);
MLFS_MUST_CHECK int mlfs_wdb_xattr_delete(struct mlfs_wdb *db, int64_t wt,
					  uint64_t ino, const char *name);
MLFS_MUST_CHECK int mlfs_wdb_xattr_list(struct mlfs_wdb *db, int64_t wt,
					uint64_t ino, char **names,
					size_t *len);
/* Drop the extended attributes of @ino. */
MLFS_MUST_CHECK int mlfs_wdb_xattr_clear(struct mlfs_wdb *db, int64_t wt,
					 uint64_t ino);

/* Namespaces made by mkdir: add (@add) or remove @name; list, sorted
 * (*out a malloc'd array of malloc'd names). */
MLFS_MUST_CHECK int mlfs_wdb_ns_add(struct mlfs_wdb *db, const char *name,
				    bool add);
MLFS_MUST_CHECK int mlfs_wdb_ns_list(struct mlfs_wdb *db, char ***out,
				     size_t *n);

#endif
