/*
 * worktree_impl.h - what worktree.c (the tree and its edits) and
 * worktree_snap.c (status, snapshot, discard) share. Not installed.
 */
#ifndef MLFS_WORKTREE_IMPL_H
#define MLFS_WORKTREE_IMPL_H

#include <limits.h>
#include <pthread.h>

#include "meta_work.h"
#include "mlfs/repo.h"
#include "mlfs/worktree.h"

/* Directories of an unmaterialized tree handed out so far: inode
 * number -> tree id (lookups below them need the tree). */
struct wt_dirmap {
	uint64_t *keys; /* 0: empty slot */
	struct mlfs_id *trees;
	size_t cap, n;
};

struct mlfs_ingest;

/* ---- a snapshot's plan (worktree_plan.c) ---- */

/* What the walk computed for one node: its new digest or tree id. */
struct wt_snap_item {
	uint64_t ino;
	struct mlfs_id id;
};

/* A dirty directory, copied from its rows under the lock. */
struct wt_plan_dir {
	uint64_t ino;
	struct mlfs_entry *ents; /* names and targets owned */
	uint64_t *inos;          /* each entry's node */
	bool *moved;             /* its origin is not (ino, name) yet */
	size_t n;
	size_t parent, ent;      /* its id goes to dirs[parent].ents[ent];
				  * SIZE_MAX: the root */
};

/* A file whose data file is read outside the lock. */
struct wt_plan_file {
	uint64_t ino;
	char *path;
	size_t dir, ent;         /* its entry */
	/* not open for writing when planned: write opens and truncations
	 * wait until it is read (protected by the work lock) */
	bool frozen;
};

/* One snapshot of one tree. */
struct wt_snap {
	struct mlfs_wt *wt;
	struct mlfs_ingest *in;
	struct mlfs_wt_snapshot_result *res;
	struct wt_snap_item *v;
	size_t n, cap;
	struct wt_plan_dir *dirs;
	size_t ndirs, capdirs;
	struct wt_plan_file *files;
	size_t nfiles, capfiles;
	char **open_files;
	size_t nopen;
	/* Nodes edited since the plan was made (protected by the work
	 * lock): they and the directories above them stay dirty. */
	uint64_t *touched;
	size_t ntouched, captouched;
	bool touched_all;   /* (no memory to record one: all stay dirty) */
	bool defer_garbage; /* opts.defer_garbage */
};

struct mlfs_wt {
	struct mlfs_work *w;
	struct mlfs_repo repo;
	char branch[MLFS_NAME_MAX + 1];
	/* The database row; in_db false until the first edit creates it.
	 * Protected by w->lock, as is everything below. */
	struct mlfs_wdb_wt row;
	bool in_db;
	uint64_t root_ino;
	struct mlfs_id base_tree; /* when row.has_base */
	int64_t base_time_ns;     /* the base commit's time: the root's
				   * mtime until edited */
	int64_t base_ctime_ns;    /* wt_base_ctime's floor for this base */
	struct wt_dirmap dirs;
	struct mlfs_wt_file *files; /* open files */
	struct mlfs_wt_file *detached; /* orphans (mlfs_wt_file.detached) */
	/* Numbers whose open files were detached, with their generation
	 * (absent: 0). Kept while the tree is: the kernel may still hold an
	 * orphan's node after its last close. */
	struct wt_gen { uint64_t ino, gen; } *gens;
	size_t ngens, capgens;
	/* Data files whose rows are deleted, removed once that deletion is
	 * on disk (wt_collect_garbage): a crash before must not leave a row
	 * that points to a removed file. */
	uint64_t *garbage;
	size_t ngarbage, capgarbage;
	uint64_t garbage_bytes;
	/* The snapshot running with the lock released, or NULL: edits are
	 * recorded in it (wt_touch), data files are not collected. */
	struct wt_snap *snap;
	struct mlfs_wt *next;
};

struct mlfs_work {
	/* Guards db, every working tree and open-file state. */
	pthread_mutex_t lock;
	/* Signalled (with lock) when a snapshot has read a file or ended. */
	pthread_cond_t cond;
	/* A store object of its own for snapshots' ingests (opened at the
	 * first): its SQLite connection is held by an ingest's dedup
	 * lookups for a whole file, which @s's users (the mount's lookups)
	 * must not wait for. Protected by lock; used by one snapshot. */
	struct mlfs_store *ingest_store;
	struct mlfs_store *s;
	struct mlfs_wdb *db;
	bool edit;
	int lock_fd;
	char dir[3072];         /* STORE/work (checked to fit) */
	uint32_t uid, gid;      /* owner shown for entries of versions */
	struct mlfs_tree_source trees;
	struct mlfs_wt *wts;    /* protected by lock */
};

/* "@dir/@name" ("@name" when @dir is "") into a malloc'd *out. */
int wt_path_join(char **out, const char *dir, const char *name);
int64_t wt_now_ns(void);
/* The ctime of an entry of the base (mtime @mtime_ns) until edited: the
 * base commit's time, its nanoseconds taken from the commit's id, or the
 * mtime if later. A new base changes every such ctime, even to a commit
 * of the same second, so a tool that trusts (inode, size, mtime, ctime)
 * to mean unchanged bytes, such as mlfs import's files cache reading
 * the working tree, sees the head move under the same path and inode. */
int64_t wt_base_ctime(const struct mlfs_wt *wt, int64_t mtime_ns);
int64_t wt_ts_ns(const struct timespec *ts);
int wt_dirmap_put(struct wt_dirmap *m, uint64_t ino,
		  const struct mlfs_id *tree);
const struct mlfs_id *wt_dirmap_get(const struct wt_dirmap *m,
				    uint64_t ino);
/* A tree from the work's tree source (verified when loaded). */
int wt_tree_get(struct mlfs_work *w, const struct mlfs_id *id,
		const struct mlfs_tree **out);
void wt_tree_put(struct mlfs_work *w, const struct mlfs_tree *t);
/* 1 when the materialized tree's root is dirty, 0, -errno. Locked. */
int wt_root_dirty_locked(struct mlfs_wt *wt);
/* 0, -EINVAL (empty, '/', '.', '..'), -ENAMETOOLONG. */
int wt_check_name(const char *name);
/* Mark node @n dirty (written back by the caller) and every directory
 * that holds it. In a transaction. */
int wt_dirty_node(struct mlfs_wt *wt, struct mlfs_wnode *n);
/* Give file @n a data file with its bytes (empty with @empty); *fd_out
 * gets it open when not NULL. In a transaction. */
int wt_copy_up(struct mlfs_wt *wt, struct mlfs_wnode *n, bool empty,
	       int *fd_out);
/* "STORE/work/<wt>/<ino>" of a data file. */
void wt_data_path(const struct mlfs_wt *wt, uint64_t ino, char *buf,
		  size_t size);
/* The number of the root of branch @branch's tree. */
uint64_t wt_root_ino(int64_t repo_id, const char *branch);
/* The number of entry @name of the directory numbered @parent. */
uint64_t wt_child_ino(uint64_t parent, const char *name);
/* A fresh inode number (the tree's counter moves on). Locked. */
uint64_t wt_new_ino(struct mlfs_wt *wt);
/* Rows for the entries of tree @tid below directory @parent (and their
 * subtrees); *ndirs gets the number of subdirectories. In a
 * transaction. */
int wt_materialize_dir(struct mlfs_wt *wt, const struct mlfs_id *tid,
		       uint64_t parent, uint32_t *ndirs);
/* Mark directory @ino and its ancestors dirty. In a transaction. */
int wt_dirty_dirs(struct mlfs_wt *wt, uint64_t ino);
/* Inode @n lost a name: written back, or dropped (row, attributes,
 * data file) when it has none left and is not open. In a
 * transaction. */
int wt_drop_inode(struct mlfs_wt *wt, struct mlfs_wnode *n);
/* Materialize @wt (rows for every entry of the base). Locked. */
int wt_materialize_locked(struct mlfs_wt *wt);
/* The node's attributes, with a data file's size and times. */
int wt_node_attr(struct mlfs_wt *wt, const struct mlfs_wnode *n,
		 struct mlfs_wt_attr *out);
/* The open state of @ino, or NULL. Locked. */
struct mlfs_wt_file *wt_file_find(struct mlfs_wt *wt, uint64_t ino);
/* Open files of @ino (of every inode, with @all) stop being found by
 * number: their handles keep the bytes they had until closed, and a new
 * open gets the inode as it is now. Their attributes are taken from the
 * rows first (wt_orphan_capture, when the caller has not), and their
 * numbers move to a new generation. Locked. */
void wt_detach_files(struct mlfs_wt *wt, uint64_t ino, bool all);
/* Record what open files of @ino (every inode, with @all) show, for
 * when they are detached. Locked. */
void wt_orphan_capture(struct mlfs_wt *wt, uint64_t ino, bool all);
/* The generation of @ino. Locked. */
uint64_t wt_gen_get(const struct mlfs_wt *wt, uint64_t ino);
/* Make a branch's tree the new base of a clean @wt (drops the rows). */
int wt_rebase_locked(struct mlfs_wt *wt, bool has_base,
		     const struct mlfs_id *base);
/* The current branch head: 0 (*has false: no commit), -errno. */
int wt_branch_head(struct mlfs_wt *wt, bool *has, struct mlfs_id *head);
/* The data file of @ino goes once its row's deletion is durable: queue
 * it (removed at the next collection). Locked. */
int wt_garbage_add(struct mlfs_wt *wt, uint64_t ino);
/* Make work.db's committed state durable and remove the queued data
 * files; with !@force only when the queue has grown big. Locked, outside
 * a transaction. */
int wt_collect_garbage(struct mlfs_wt *wt, bool force);
/* Finish or undo a snapshot a killed process left pending. Locked. */
int wt_recover_locked(struct mlfs_wt *wt);
void wt_dirmap_release(struct wt_dirmap *m);

/* Record that node @ino was edited while a snapshot of @wt reads with
 * the lock released. Locked. */
void wt_touch(struct mlfs_wt *wt, uint64_t ino);
/* Wait while a snapshot has yet to read file @ino (write opens and
 * truncations: it must read the bytes it planned). Locked. */
void wt_wait_unfrozen(struct mlfs_wt *wt, uint64_t ino);
bool wt_plan_frozen(const struct mlfs_wt *wt, uint64_t ino);
int wt_snap_item(struct wt_snap *sn, uint64_t ino, const struct mlfs_id *id);
int wt_push_path(char ***v, size_t *n, const char *path);
/* Plan dirty directory @self (its subtree's dirty directories after
 * it) named @path; its id goes to entry @pent of plan directory
 * @parent (SIZE_MAX: the root). Locked. */
int wt_plan_dir(struct wt_snap *sn, struct mlfs_wnode *self,
		const char *path, size_t parent, size_t pent);
/* Read the planned files and encode the planned directories (children
 * first); *tree gets the root's id. Unlocked. */
int wt_plan_read(struct wt_snap *sn, struct mlfs_id *tree);
void wt_plan_release(struct wt_snap *sn);

#endif
