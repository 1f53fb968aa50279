/*
 * worktree.h - working trees: the head of a branch as a tree that can be
 * edited (through the mount), then turned into a new version by
 * mlfs_wt_snapshot() in time proportional to what changed.
 *
 * A working tree starts as a view of its base commit and costs nothing
 * until the first edit, which materializes it: every entry gets a row in
 * STORE/work/work.db (inode, attributes, and for an unchanged file the
 * digest of its stored content), so later edits are row updates. A file
 * written to gets a plain data file, STORE/work/<wt>/<ino>. Inode numbers
 * are stable: an entry of the base is numbered from its parent's number
 * and its name, the same before and after materialization; a new entry
 * gets a fresh number that it keeps across renames.
 *
 * One process edits a store's working trees at a time: the mount daemon,
 * or a command while no daemon runs (STORE/work/lock). Every function
 * below is thread-safe (one lock per mlfs_work); reads and writes of the
 * data files themselves go on without it.
 * Design: docs/design.md#working-trees; on disk: docs/format.md.
 */
#ifndef MLFS_WORKTREE_H
#define MLFS_WORKTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlfs/hash.h"
#include "mlfs/lineage.h"
#include "mlfs/names.h"
#include "mlfs/tree.h"
#include "mlfs/util.h"

struct mlfs_store;
struct mlfs_work;
struct mlfs_wt;
struct mlfs_kv_list;

enum mlfs_work_flags {
	/* Take STORE/work/lock: the one process that may edit (-EBUSY when
	 * another holds it). Without it only status can be read. */
	MLFS_WORK_EDIT = 1u << 0,
};

/* Open the working trees of @s (creating STORE/work when editing). A
 * pending snapshot left by a killed process is completed or undone here
 * (docs/design.md#snapshot). Returns 0, -EBUSY (another process edits:
 * the detail names its pid when known), -EROFS, -errno. */
MLFS_MUST_CHECK int mlfs_work_open(struct mlfs_store *s, unsigned flags,
				   struct mlfs_work **out);
void mlfs_work_close(struct mlfs_work *w);

/* Where the directory trees of unmaterialized working trees come from:
 * the daemon lends its tree cache. Default: mlfs_tree_load each time. */
struct mlfs_tree_source {
	int (*get)(void *ctx, const struct mlfs_id *id,
		   const struct mlfs_tree **out);
	void (*put)(void *ctx, const struct mlfs_tree *t);
	void *ctx;
};
void mlfs_work_set_trees(struct mlfs_work *w,
			 const struct mlfs_tree_source *src);

/*
 * The working tree of branch @branch (NULL: the default branch) of ns/name.
 * Its base is the branch head; a branch without commits (a new
 * repository) gives an empty tree. Owned by @w. Returns 0, -ENOENT (no
 * such repository; or no such branch, unless the repository has no
 * commit at all), -EIO (damaged refs).
 */
MLFS_MUST_CHECK int mlfs_wt_get(struct mlfs_work *w, const char *ns,
				const char *name, const char *branch,
				struct mlfs_wt **out);
/* Follow the branch when it moved (an import, a snapshot elsewhere): a
 * tree without edits takes the new head as its base. Returns 1 when the
 * base changed (what was shown of it is stale), 0, or -errno. A tree
 * with edits keeps its base (mlfs_wt_status reports the move). */
MLFS_MUST_CHECK int mlfs_wt_refresh(struct mlfs_wt *wt);
/* Whether any edit was made since the base (conservative: an edit undone
 * by hand still counts until a snapshot or status looks). */
bool mlfs_wt_dirty(struct mlfs_wt *wt);
/* Whether the first edit gave every entry a row (until then only
 * directories are known by number: mlfs_wt_getattr of a file fails). */
bool mlfs_wt_materialized(struct mlfs_wt *wt);
/* The ctime shown for an unedited entry of the base whose mtime is
 * @mtime_ns (see docs/mount.md#working-trees: it moves with the base). */
int64_t mlfs_wt_base_ctime(struct mlfs_wt *wt, int64_t mtime_ns);
/* The repository, branch and base of @wt. */
void mlfs_wt_describe(struct mlfs_wt *wt, char *ns, char *name,
		      char *branch, bool *has_base, struct mlfs_id *base);

/* The type of a special file (FIFO, socket, device) in struct
 * mlfs_wt_attr: kept in the working tree only; versions, like imports,
 * hold files, directories and symlinks, and a snapshot skips them. */
#define MLFS_WT_SPECIAL 16

/* What stat(2) shows of an inode of a working tree. */
struct mlfs_wt_attr {
	uint64_t ino;
	enum mlfs_entry_type type; /* or MLFS_WT_SPECIAL */
	uint32_t mode;     /* permission bits; a special file's S_IFMT too */
	uint64_t rdev;     /* a special file's device */
	uint32_t uid, gid; /* kept in the working tree only */
	uint32_t nlink;
	uint64_t size;
	/* file in a data file: the 512-byte blocks it takes (holes take
	 * none, as du and sparse-aware copies expect) */
	bool has_blocks;
	uint64_t blocks;
	int64_t atime_ns, mtime_ns, ctime_ns;
	/* file: its bytes are the stored content @content (read it through
	 * the chunk path); else they are in the data file */
	bool in_store;
	struct mlfs_id content;
	/* How many times the files open under this number were detached
	 * from it (mlfs_wt_discard, a clean tree taking a new head): an
	 * inode the kernel holds for those opens is an orphan, not this
	 * entry (the mount gives the entry a node of its own). */
	uint64_t gen;
};

/* The root directory's attributes. */
MLFS_MUST_CHECK int mlfs_wt_root(struct mlfs_wt *wt,
				 struct mlfs_wt_attr *out);
/* Returns 0, -ENOENT, -ENOTDIR, -ENAMETOOLONG, -EIO (damage). With
 * @target, a symlink's target comes in a malloc'd *target (else NULL). */
MLFS_MUST_CHECK int mlfs_wt_lookup(struct mlfs_wt *wt, uint64_t parent,
				   const char *name, struct mlfs_wt_attr *out,
				   char **target);
/* Returns 0 or -ENOENT (@ino is not, or no longer, in the tree: for an
 * unmaterialized tree only directories are known by number). */
MLFS_MUST_CHECK int mlfs_wt_getattr(struct mlfs_wt *wt, uint64_t ino,
				    struct mlfs_wt_attr *out);
/* *target malloc'd. */
MLFS_MUST_CHECK int mlfs_wt_readlink(struct mlfs_wt *wt, uint64_t ino,
				     char **target);

struct mlfs_wt_dirent {
	char *name;
	struct mlfs_wt_attr attr;
};
/* The entries of directory @ino, sorted by name; free with
 * mlfs_wt_dirents_free. */
MLFS_MUST_CHECK int mlfs_wt_list(struct mlfs_wt *wt, uint64_t ino,
				 struct mlfs_wt_dirent **out, size_t *n);
void mlfs_wt_dirents_free(struct mlfs_wt_dirent *v, size_t n);

/* ---- edits (each materializes the tree first) ---- */

/* Create a file (empty), directory or symlink (@target) @name in
 * @parent. Returns 0, -EEXIST, -ENOENT (parent gone), -ENOTDIR,
 * -EINVAL / -ENAMETOOLONG (name), -EROFS, -ENOSPC, -errno. */
MLFS_MUST_CHECK int mlfs_wt_mknode(struct mlfs_wt *wt, uint64_t parent,
				   const char *name,
				   enum mlfs_entry_type type, uint32_t mode,
				   uint32_t uid, uint32_t gid,
				   const char *target,
				   struct mlfs_wt_attr *out);
/* A special file (@mode: S_IFIFO, S_IFSOCK, S_IFCHR or S_IFBLK and the
 * permission bits; @rdev the device). Returns as mlfs_wt_mknode, and
 * -EINVAL for another type. */
MLFS_MUST_CHECK int mlfs_wt_mkspecial(struct mlfs_wt *wt, uint64_t parent,
				      const char *name, uint32_t mode,
				      uint64_t rdev, uint32_t uid,
				      uint32_t gid, struct mlfs_wt_attr *out);
/* unlink (@dir false) or rmdir (@dir true). An unlinked file that is
 * open lives on until its last close. Returns 0, -ENOENT, -EISDIR,
 * -ENOTDIR, -ENOTEMPTY, -errno. */
MLFS_MUST_CHECK int mlfs_wt_remove(struct mlfs_wt *wt, uint64_t parent,
				   const char *name, bool dir);
/* rename(2) with @flags RENAME_NOREPLACE / RENAME_EXCHANGE. */
MLFS_MUST_CHECK int mlfs_wt_rename(struct mlfs_wt *wt, uint64_t parent,
				   const char *name, uint64_t newparent,
				   const char *newname, unsigned flags);
/* A hard link of file or symlink @ino. -EPERM for directories. */
MLFS_MUST_CHECK int mlfs_wt_link(struct mlfs_wt *wt, uint64_t ino,
				 uint64_t newparent, const char *newname,
				 struct mlfs_wt_attr *out);

enum mlfs_wt_set {
	MLFS_WT_SET_MODE = 1u << 0,
	MLFS_WT_SET_UID = 1u << 1,
	MLFS_WT_SET_GID = 1u << 2,
	MLFS_WT_SET_SIZE = 1u << 3,
	MLFS_WT_SET_ATIME = 1u << 4,
	MLFS_WT_SET_MTIME = 1u << 5,
	MLFS_WT_SET_ATIME_NOW = 1u << 6,
	MLFS_WT_SET_MTIME_NOW = 1u << 7,
};
struct mlfs_wt_setattr {
	unsigned set; /* enum mlfs_wt_set */
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t atime_ns, mtime_ns;
};
MLFS_MUST_CHECK int mlfs_wt_setattr(struct mlfs_wt *wt, uint64_t ino,
				    const struct mlfs_wt_setattr *sa,
				    struct mlfs_wt_attr *out);

/* Extended attributes, kept in the working tree only (versions do not
 * hold them). get/list copy into @buf up to @size bytes and give the
 * length in *len (@size 0: only the length); -ERANGE when too small. */
MLFS_MUST_CHECK int mlfs_wt_getxattr(struct mlfs_wt *wt, uint64_t ino,
				     const char *name, void *buf, size_t size,
				     size_t *len);
MLFS_MUST_CHECK int mlfs_wt_setxattr(struct mlfs_wt *wt, uint64_t ino,
				     const char *name, const void *value,
				     size_t len, int flags);
MLFS_MUST_CHECK int mlfs_wt_listxattr(struct mlfs_wt *wt, uint64_t ino,
				      char *buf, size_t size, size_t *len);
MLFS_MUST_CHECK int mlfs_wt_removexattr(struct mlfs_wt *wt, uint64_t ino,
					const char *name);

/* ---- open files ---- */

/* The open state of one inode, shared by its opens. */
struct mlfs_wt_file {
	struct mlfs_wt *wt;
	uint64_t ino;
	/* The data file (-1: the bytes are the stored content @content of
	 * @size bytes, read through the chunk path). Set under the work
	 * lock; once >= 0 it stays for as long as the file is open. */
	int fd;
	struct mlfs_id content;
	uint64_t size;
	/* private */
	unsigned opens, writers; /* protected by the work lock */
	bool marked;             /* the node is dirty in the database */
	uint64_t writes;         /* bumped by each write (atomic) */
	/* Detached from its inode (its edits were discarded while it was
	 * open): an orphan, as an unlinked open file is. @gen is the
	 * generation it had, @oattr what it showed then. Protected by the
	 * work lock. */
	bool detached, has_oattr;
	uint64_t gen;
	struct mlfs_wt_attr oattr;
	struct mlfs_wt_file *next;
};

/* Open file @ino; @write: it will be written (its bytes move to a data
 * file first: a copy of the stored content, or empty with @trunc).
 * Returns 0, -ENOENT, -EISDIR, -errno. */
MLFS_MUST_CHECK int mlfs_wt_open(struct mlfs_wt *wt, uint64_t ino,
				 bool write, bool trunc,
				 struct mlfs_wt_file **out);
/* Before writing to f->fd: marks the file changed (once). */
MLFS_MUST_CHECK int mlfs_wt_will_write(struct mlfs_wt_file *f);
/* fsync: the data file, then the database log. */
MLFS_MUST_CHECK int mlfs_wt_fsync(struct mlfs_wt_file *f, bool datasync);
/* Make every edit so far durable (fsyncdir, syncfs). */
MLFS_MUST_CHECK int mlfs_wt_sync(struct mlfs_wt *wt);
void mlfs_wt_close(struct mlfs_wt_file *f, bool write);

/* ---- orphans: open files detached from their inode ---- */

/* The current generation of number @ino (struct mlfs_wt_attr.gen). A
 * node the caller holds with another generation is an orphan. */
uint64_t mlfs_wt_gen(struct mlfs_wt *wt, uint64_t ino);
/* What an orphan shows (fstat of its bytes; nlink 0): the file of
 * number @ino detached at generation @gen. Returns 0, or -ENOENT when
 * no open file of it is left. */
MLFS_MUST_CHECK int mlfs_wt_orphan_getattr(struct mlfs_wt *wt, uint64_t ino,
					   uint64_t gen,
					   struct mlfs_wt_attr *out);
/* setattr of an orphan: size and times go to its own bytes (never to the
 * working tree), mode, owner and group to what it shows. Returns 0,
 * -ENOENT as above, -EROFS (its bytes are stored content: no write open
 * holds it), -errno of ftruncate/futimens. */
MLFS_MUST_CHECK int mlfs_wt_orphan_setattr(struct mlfs_wt *wt, uint64_t ino,
					   uint64_t gen,
					   const struct mlfs_wt_setattr *sa,
					   struct mlfs_wt_attr *out);

/* ---- status, snapshot, discard (worktree_snap.c) ---- */

enum mlfs_wt_change {
	MLFS_WT_ADDED = 'A',
	MLFS_WT_MODIFIED = 'M',   /* content */
	MLFS_WT_DELETED = 'D',
	MLFS_WT_TYPE = 'T',       /* file <-> dir <-> symlink */
	MLFS_WT_MODE = 'P',       /* permission bits only */
	MLFS_WT_TIME = 'U',       /* modification time only */
	MLFS_WT_RENAMED = 'R',    /* same content, other path */
};
struct mlfs_wt_status_entry {
	enum mlfs_wt_change change;
	char *path;               /* in the working tree (new path) */
	char *old_path;           /* RENAMED: the path in the base */
	bool modified;            /* RENAMED: and its content changed */
	enum mlfs_entry_type type, old_type;
	uint32_t mode, old_mode;
	uint64_t size, old_size;
};
struct mlfs_wt_status {
	struct mlfs_wt_status_entry *v;
	size_t n;
	/* The branch moved since the edits began: its head is @head, not
	 * the base (a snapshot is refused). */
	bool branch_moved;
	bool has_head;
	struct mlfs_id head;
	/* A snapshot was committed (it is @head) by a process killed before
	 * it marked the tree clean; the next edit of the store finishes it.
	 * No change is listed: the head holds them all. */
	bool snapshot_finishing;
};
/* What differs from the base, sorted by path. */
MLFS_MUST_CHECK int mlfs_wt_status(struct mlfs_wt *wt,
				   struct mlfs_wt_status *out);
void mlfs_wt_status_release(struct mlfs_wt_status *st);

struct mlfs_wt_snapshot_opts {
	const char *tag;     /* NULL: no tag */
	const char *message; /* NULL: "snapshot" */
	const char *author;  /* NULL: $USER */
	int threads;         /* 0: online CPUs */
	/* Versions the commit was made from (lineage.h), recorded with it;
	 * merged per commit. NULL: none. */
	const struct mlfs_input *inputs;
	size_t ninputs;
	/* Metadata of the new version (mlfs/vmeta.h), written with its
	 * commit; not written when there is nothing to snapshot. NULL =
	 * none. Borrowed. */
	const struct mlfs_kv_list *meta;
	/* Leave the data files the snapshot made unneeded for a later
	 * mlfs_wt_collect_garbage (removing a large file takes long; a
	 * daemon answers first). They are removed at the next snapshot,
	 * discard or close otherwise, or swept after a crash. */
	bool defer_garbage;
	/* Called once the files are about to be read with the working
	 * trees unlocked (edits go on meanwhile); NULL: none. Tests pause
	 * the snapshot here. */
	void (*reading)(void *ctx);
	void *reading_ctx;
};
struct mlfs_wt_snapshot_result {
	bool no_changes;     /* nothing to commit: no commit was made */
	bool tagged_head;    /* ... and the tag asked for went to the head
			      * (@commit), which the tree shows */
	struct mlfs_id commit;
	struct mlfs_id parent;
	bool has_parent;
	uint64_t files_ingested, bytes_ingested;
	uint64_t new_chunks, new_stored_bytes;
	/* Files open for writing whose content at snapshot time was taken
	 * (paths, malloc'd). */
	char **open_files;
	size_t nopen;
	/* Special files (FIFOs, sockets, devices) left out of the version
	 * (paths, malloc'd): they stay in the working tree. */
	char **skipped;
	size_t nskipped;
	double seconds;
};
/* Commit the working tree as the branch's new head (parent: the base),
 * with the barrier rules of import. Returns 0; -ESTALE (the branch moved:
 * the detail names both commits); -EEXIST (tag); -EROFS; -ENOSPC; -EIO. */
MLFS_MUST_CHECK int mlfs_wt_snapshot(struct mlfs_wt *wt,
				     const struct mlfs_wt_snapshot_opts *o,
				     struct mlfs_wt_snapshot_result *res);
void mlfs_wt_snapshot_result_release(struct mlfs_wt_snapshot_result *r);
/* Remove the data files queued for removal whose rows are gone (after
 * syncing work.db's log). Returns 0 or -errno from the sync. */
MLFS_MUST_CHECK int mlfs_wt_collect_garbage(struct mlfs_wt *wt);

/* Drop the edits (all with @n 0, else those at or below @paths). Open
 * files of what goes are detached (orphans, as unlinked open files: their
 * handles keep their bytes until closed, and their later writes reach no
 * entry); their numbers move to a new generation. Returns 0, -ENOENT (a path that
 * is neither in the working tree nor in the base). */
MLFS_MUST_CHECK int mlfs_wt_discard(struct mlfs_wt *wt,
				    const char *const *paths, size_t n);

/* Every working tree with edits: ns, name, branch of each. *out is a
 * malloc'd array of malloc'd "ns/name@branch" strings (mlfs_strv_free). */
MLFS_MUST_CHECK int mlfs_work_dirty_list(struct mlfs_work *w, char ***out,
					 size_t *n);

/* Does the working tree of @branch (NULL: the default) of ns/name hold
 * edits? 1 yes, 0 no (also: no such repository or working tree), -errno.
 * mlfs_import refuses such a branch: moving its head under the edits
 * would leave them on a base that is no longer the head. */
MLFS_MUST_CHECK int mlfs_work_branch_dirty(struct mlfs_store *s,
					   const char *ns, const char *name,
					   const char *branch);

/* Namespaces made by mkdir in the mount, kept until a repository is in
 * them or they are removed: add or remove (@add false) @name (checked);
 * list them (*out as mlfs_strv_free frees). */
MLFS_MUST_CHECK int mlfs_work_ns_set(struct mlfs_work *w, const char *name,
				     bool add);
MLFS_MUST_CHECK int mlfs_work_ns_list(struct mlfs_work *w, char ***out,
				      size_t *n);

struct mlfs_work_check_stats {
	uint64_t trees;    /* working trees in work.db */
	uint64_t nodes;    /* their inodes checked */
	uint64_t pending;  /* snapshots a killed process left to finish
			    * (not damage: the next edit finishes them) */
	uint64_t problems;
};
/* fsck of the working trees (worktree_check.c): @report is called once
 * per problem with the tree's "ns/name@branch" and what is wrong; its
 * nonzero return stops the check and is returned. Read-only. */
MLFS_MUST_CHECK int mlfs_work_check(struct mlfs_store *s,
				    int (*report)(void *ctx, const char *wt,
						  const char *what),
				    void *ctx,
				    struct mlfs_work_check_stats *st);

#endif
