/*
 * mount.h - the FUSE daemon behind `mlfs mount`: start-up (daemon.c), the
 * inode map (inode.c), the cache of decoded trees (treecache.c), open
 * files and read-ahead (file.c), the whole-file digest check
 * (verify.c), tree read-ahead for directory walks (dirahead.c) and the
 * low-level callbacks (ops.c, with listings in dir.c and extended
 * attributes in xattr.c; what those share is in ops.h). Private to
 * src/fuse and cmd_mount.c.
 * Design notes: docs/mount.md.
 */
#ifndef MLFS_FUSE_MOUNT_H
#define MLFS_FUSE_MOUNT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* store.h first: content.h uses struct mlfs_chunk undeclared */
#include "mlfs/store.h"
#include "mlfs/content.h"
#include "mlfs/hash.h"
#include "mlfs/hashsplit.h"
#include "mlfs/tree.h"
#include "mlfs/util.h"

/* Kernel cache timeouts, seconds. */
#define MLFS_TIMEOUT_IMMUTABLE 86400.0 /* anything inside a version */
#define MLFS_TIMEOUT_MOVABLE 0.5       /* "<name>@<rev>" where <rev> can
					* move: branch, tag, short id */
#define MLFS_TIMEOUT_LISTING 1.0       /* the root and namespace dirs */

/* Defaults of the -o options. */
#define MLFS_MOUNT_READAHEAD_DEFAULT (4u * 1024 * 1024)
#define MLFS_MOUNT_PREFETCH_THREADS 2
#define MLFS_MOUNT_DIRAHEAD_THREADS 4
#define MLFS_MOUNT_MAX_THREADS 16
/* Version files up to this size are stored into the page cache with
 * their first open (read.c): most reads of them are of the whole file. */
#define MLFS_PUSH_MAX (256u * 1024)

struct mlfs_mount_opts {
	const char *store_dir;  /* absolute */
	const char *mountpoint; /* absolute */
	bool foreground;        /* -f: no fork, log to stderr */
	bool debug;             /* -d: libfuse debug output (implies -f) */
	size_t cache_size;      /* decompressed-chunk cache bytes,
				 * 0 = default */
	size_t readahead;       /* bytes decoded ahead of a sequential reader */
	const char *log_path;   /* NULL: STORE/mount.log (stderr with -f) */
	char *fuse_opts;        /* extra -o options for libfuse, or NULL */
	bool nolineage;         /* -o nolineage: record no lineage */
};

/*
 * Check that @mnt can be mounted on: an existing, empty directory that is
 * not a mount point already. Returns 0, -ENOENT, -ENOTDIR, -ENOTEMPTY,
 * -EBUSY (already mounted), -ENOTCONN (a dead FUSE mount: unmount it).
 */
MLFS_MUST_CHECK int mlfs_mount_check_point(const char *mnt);

/*
 * Mount and serve. Without o->foreground, forks: the parent returns 0 once
 * the child's mount answers a stat(), or the child's error; the child
 * never returns. With o->foreground, serves until unmounted or signalled
 * and returns 0. On failure *why gets a static or @why_buf explanation.
 */
MLFS_MUST_CHECK int mlfs_mount_start(const struct mlfs_mount_opts *o,
				     char *why_buf, size_t why_size);

/* Unmount @mnt: fusermount3 -u, else umount -l (works when the daemon
 * died). Returns 0 or -EINVAL (nothing mounted there / both failed). */
MLFS_MUST_CHECK int mlfs_mount_unmount(const char *mnt);

/* ---- inode map (inode.c) ---- */

enum mlfs_node_kind {
	MLFS_NODE_ROOT = 1, /* lists namespaces */
	MLFS_NODE_NS,       /* lists <name>, <name>@<ref> */
	MLFS_NODE_VERSION,  /* root dir of one commit, named by a ref */
	MLFS_NODE_ENTRY,    /* a file, dir or symlink inside a version */
	MLFS_NODE_WT,       /* an inode of a branch's working tree:
			     * writable, found by (wt, ino) */
};

struct mlfs_ofile;
struct mlfs_wt;

/*
 * One node the kernel knows (or knew). Everything but the fields marked
 * "protected by lock" is set at creation and never changes: a node under a
 * version is one entry of one immutable commit, so a branch head that
 * moves yields new nodes instead of changing old ones.
 */
struct mlfs_listing; /* listing.h */

struct mlfs_node {
	uint64_t nodeid;       /* FUSE node id, never reused */
	uint64_t ino;          /* st_ino: stable hash of the path identity */
	uint64_t parent;       /* parent's node id (0 for the root) */
	uint64_t parent_ino;   /* parent's st_ino, for ".." */
	char *name;
	enum mlfs_node_kind kind;
	bool movable;          /* VERSION: its name can move to another
				* commit (short entry timeout) */
	struct mlfs_id commit; /* VERSION, ENTRY: the commit it belongs to */
	enum mlfs_entry_type type;
	uint32_t mode;         /* permission bits */
	int64_t mtime_ns;
	uint64_t size;
	struct mlfs_id id;     /* file digest or tree id */
	char *target;          /* symlink target */
	/* WT: the working tree; ino is its inode number there. type, mode,
	 * mtime_ns, size and id (content) are what the last lookup saw,
	 * updated under lock (a working tree's inodes change). wt_gen is
	 * the inode's generation when the node was made (mlfs_wt_attr.gen):
	 * once the tree's number moved on, the node is an orphan (open
	 * files detached by a discard), out of by_wt. */
	struct mlfs_wt *wt;
	uint64_t wt_gen;
	bool wt_orphan;            /* protected by lock */

	uint64_t nlookup;          /* protected by lock */
	bool hashed;               /* in the name table; protected by lock */
	const struct mlfs_tree *tree; /* dir: a reference into the tree
				    * cache, taken lazily; protected by lock */
	bool dirahead;             /* dir: children's trees were queued for
				    * read-ahead; protected by lock */
	bool listed_bare;          /* dir: readdirplus gave names only;
				    * protected by lock */
	bool listing_attrs;        /* dir: the listing under way gives
				    * readdirplus attributes; lock */
	struct mlfs_listing *listing; /* dir (root, namespace, working
				    * tree): the listing READDIR reads,
				    * built at offset 0 (dir.c); lock */
	struct mlfs_ofile *file;   /* shared open state; protected by lock */
	unsigned vopens;           /* version file: opens (read.c); lock */
	bool digest_bad;           /* file: its bytes did not match its
				    * digest, opens fail; protected by lock */
	bool pushed;               /* version file: its bytes were offered
				    * to the page cache at an open (read.c);
				    * protected by lock */
	struct mlfs_node *id_next;   /* protected by lock */
	struct mlfs_node *name_next; /* protected by lock */
	struct mlfs_node *wt_next;   /* protected by lock */
};

struct mlfs_tcache;

struct mlfs_itable {
	pthread_mutex_t lock;
	struct mlfs_tcache *trees;  /* borrowed, outlives the table */
	struct mlfs_node **by_id;   /* protected by lock */
	struct mlfs_node **by_name; /* (parent, name); protected by lock */
	struct mlfs_node **by_wt;   /* WT nodes by (wt, ino); lock */
	size_t nbuckets;            /* protected by lock */
	size_t count;               /* protected by lock */
	uint64_t next_id;           /* protected by lock */
};

/* Set up @t; its directory nodes take their trees from @trees. */
MLFS_MUST_CHECK int mlfs_itable_init(struct mlfs_itable *t,
				     struct mlfs_tcache *trees);
void mlfs_itable_release(struct mlfs_itable *t);

/* The node with @nodeid, or NULL. The pointer stays valid until the
 * kernel forgets the node, which it does not while a request on it runs. */
struct mlfs_node *mlfs_itable_get(struct mlfs_itable *t, uint64_t nodeid);
/* Whether file node @n failed its whole-file digest (its opens and reads
 * fail with EIO; the read that found it logged it). */
bool mlfs_node_digest_bad(struct mlfs_itable *t, const struct mlfs_node *n);

/*
 * Find the child of @parent that is identical to @tmpl (same name, kind,
 * commit and entry) or create it from @tmpl (strings copied), and count
 * one lookup. A different child of that name (an old branch head) is
 * unhashed, not freed: the kernel may still use it. Returns 0 or -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_itable_link(struct mlfs_itable *t,
				     const struct mlfs_node *parent,
				     const struct mlfs_node *tmpl,
				     struct mlfs_node **out);
/* The WT node for inode @tmpl->ino of @tmpl->wt at generation
 * @tmpl->wt_gen: found (its cached attributes refreshed from @tmpl) or
 * made, and one lookup counted. A working tree's inode has one node
 * whatever name reached it (hard links, renames); a node of an older
 * generation of the number is left to the opens that hold it (an orphan,
 * no longer found). Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_itable_link_wt(struct mlfs_itable *t,
					const struct mlfs_node *parent,
					const struct mlfs_node *tmpl,
					struct mlfs_node **out);
/* Drop @n lookups of @nodeid; frees the node at zero. */
void mlfs_itable_forget(struct mlfs_itable *t, uint64_t nodeid, uint64_t n);

/* The st_ino of child @name of a node with st_ino @parent_ino; @commit is
 * mixed in for version roots (NULL otherwise). Never 0 or 1. */
uint64_t mlfs_itable_ino(uint64_t parent_ino, const char *name,
			 const struct mlfs_id *commit);

/* The decoded tree of directory node @n, from the tree cache (loaded and
 * verified there once). Returns 0 or the mlfs_tree_load() error; *out
 * stays valid as long as the node. */
MLFS_MUST_CHECK int mlfs_itable_tree(struct mlfs_itable *t,
				     struct mlfs_store *s,
				     struct mlfs_node *n,
				     const struct mlfs_tree **out);

/* "ns/name@ref/dir/file" of @n into @buf, for log lines. */
void mlfs_itable_path(struct mlfs_itable *t, const struct mlfs_node *n,
		      char *buf, size_t size);

/* ---- whole-file digest of sequential readers (verify.c) ---- */

enum mlfs_digest_state {
	MLFS_DIGEST_TRACKING = 0, /* reads so far allow a verdict */
	MLFS_DIGEST_OFF,          /* given up: a random reader, or a gap */
	MLFS_DIGEST_GOOD,         /* the whole file matched its digest */
	MLFS_DIGEST_BAD,          /* it did not: every read is EIO */
};

#define MLFS_DIGEST_POOL_CLASSES 12

/* The digest check of one open file (shared by the opens of a node). */
struct mlfs_digest {
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a read ended, or a verdict */
	unsigned waiters;           /* threads waiting on cond; lock */
	int state;                  /* enum mlfs_digest_state; lock */
	struct mlfs_hashsplit h;    /* parts added so far; lock */
	size_t next;                /* next chunk to add; lock */
	struct mlfs_hashsplit_part **parts; /* per chunk, made but not
				     * added yet; NULL until one is; lock */
	size_t nparts;              /* length of parts; lock */
	size_t parts_mem;           /* bytes the parts hold; lock */
	void *pool[MLFS_DIGEST_POOL_CLASSES]; /* part buffers kept for
				     * reuse, by size class; lock */
	size_t pool_bytes;          /* bytes kept there; lock */
	uint8_t *seen;              /* bit per chunk read past next with no
				     * part, NULL until one is; lock */
	unsigned inflight;          /* reads between begin and end; lock */
	unsigned long progress;     /* reads ended so far; lock */
};

MLFS_MUST_CHECK int mlfs_digest_init(struct mlfs_digest *d);
void mlfs_digest_release(struct mlfs_digest *d);
/* A read starts; returns the state (MLFS_DIGEST_BAD: fail it). Every
 * begin is paired with one mlfs_digest_end(). */
int mlfs_digest_begin(struct mlfs_digest *d);
/* Read-ahead just decoded chunk @idx of @c (@ch, whole) into @s's cache:
 * make its share of the digest now, while its bytes are in the CPU
 * cache; keep it, or add it (and those waiting behind it) if it comes
 * next. */
void mlfs_digest_chunk(struct mlfs_digest *d, struct mlfs_store *s,
		       const struct mlfs_content *c, size_t idx,
		       const struct mlfs_chunk *ch);
/* A read just took chunk @idx of @c (@ch) from @s: its share of the
 * digest, made now while its bytes are in the CPU cache, for the read to
 * hand to mlfs_digest_end(); NULL when none is wanted (or no memory).
 * Never waits for d's lock. Free with mlfs_hashsplit_part_free(). */
struct mlfs_hashsplit_part *mlfs_digest_make(struct mlfs_digest *d,
					     struct mlfs_store *s,
					     const struct mlfs_content *c,
					     size_t idx,
					     const struct mlfs_chunk *ch);
/* The read ends; it used chunks [@first, @first + @n) of @c (@ch, whole;
 * @n = 0 when it failed), with the shares mlfs_digest_make() gave it in
 * @parts (NULL entries, or @parts NULL, for none; taken over): those
 * with no share yet get one now (or are marked), and the shares now in
 * order are added. The read that reached EOF (@eof) first waits for the
 * reads still running, then gives up unless there is a verdict. Returns
 * the state. */
int mlfs_digest_end(struct mlfs_digest *d, struct mlfs_store *s,
		    const struct mlfs_content *c, size_t first,
		    const struct mlfs_chunk *const *ch,
		    struct mlfs_hashsplit_part *const *parts, size_t n,
		    bool eof);

/* ---- open files and read-ahead (file.c) ---- */

/* A regular file's chunk list, resolved once and shared by every open of
 * the same node, and its read-ahead state. */
struct mlfs_ofile {
	struct mlfs_content *c;
	struct mlfs_digest dg;    /* whole-file digest check (verify.c) */
	bool dg_init;             /* dg initialised */
	struct mlfs_node *node;  /* NULL once the last open is released;
				  * protected by the itable lock */
	unsigned opens;          /* protected by the itable lock */
	bool pinned;             /* the node holds a reference (reads with
				  * no open); protected by the itable lock */
	unsigned refs;           /* opens + queued prefetches; itable lock */
	pthread_mutex_t ra_lock;
	pthread_cond_t ra_cond;  /* a chunk stopped being decoded */
	uint8_t *state;          /* per chunk: idle, queued, being decoded;
				  * protected by ra_lock */
	unsigned waiters;        /* threads waiting on ra_cond; ra_lock */
	bool ra_seq;             /* the last read looked sequential; ra_lock */
	uint64_t ra_end;         /* end of the last read; protected by
				  * ra_lock */
	size_t ra_next;          /* first chunk not yet queued; ra_lock */
};

struct mlfs_prefetch;

/* Start @nthreads workers that decode chunks into the store's cache.
 * Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_prefetch_new(struct mlfs_store *s,
				      struct mlfs_itable *t,
				      unsigned nthreads,
				      struct mlfs_prefetch **out);
/* Stop the workers, drop queued work; accepts NULL. */
void mlfs_prefetch_free(struct mlfs_prefetch *p);

/* Open node @n: share its ofile or load the content. Returns 0 or the
 * mlfs_content_load() error. */
MLFS_MUST_CHECK int mlfs_ofile_open(struct mlfs_itable *t,
				    struct mlfs_store *s,
				    struct mlfs_node *n,
				    struct mlfs_ofile **out);
/* Release one open (fuse release). */
void mlfs_ofile_close(struct mlfs_itable *t, struct mlfs_ofile *f);
/* A read of version node @n: a reference to its open state, loaded on
 * the first read and then kept by the node (pinned) for its opens, or
 * with no open (FUSE no-open) until the kernel forgets it. Returns 0 or
 * the mlfs_ofile_open() errors. */
MLFS_MUST_CHECK int mlfs_ofile_get(struct mlfs_itable *t,
				   struct mlfs_store *s, struct mlfs_node *n,
				   struct mlfs_ofile **out);
/* That read is done with @f: drop its reference, and when the file's
 * digest matched, the node's too (what the kernel caches is verified; a
 * later read that misses the page cache loads the state again). */
void mlfs_ofile_done(struct mlfs_itable *t, struct mlfs_node *n,
		     struct mlfs_ofile *f);
/* The node is going away: drop its pinned state, if any. */
void mlfs_ofile_unpin(struct mlfs_itable *t, struct mlfs_node *n);
/* An open of version node @n (no state is loaded: reads do that), and
 * its release: the last one lets the node's state go. @n may be NULL
 * for close (nothing to do). */
void mlfs_ofile_node_open(struct mlfs_itable *t, struct mlfs_node *n);
void mlfs_ofile_node_close(struct mlfs_itable *t, struct mlfs_node *n);
/* Keep @f alive past a reply (after which the kernel may release the
 * file), and let it go; the last put frees it. */
void mlfs_ofile_hold(struct mlfs_itable *t, struct mlfs_ofile *f);
void mlfs_ofile_put(struct mlfs_itable *t, struct mlfs_ofile *f);

/* Chunk @idx of @f from the cache, decoding it if needed; waits instead
 * when another thread is decoding it. Release with mlfs_chunk_unref().
 * *@part: its share of the digest check when one is wanted
 * (mlfs_digest_make()), else NULL. Returns 0 or the
 * mlfs_content_get_chunk() error. */
MLFS_MUST_CHECK int mlfs_ofile_get_chunk(struct mlfs_store *s,
					 struct mlfs_ofile *f, size_t idx,
					 const struct mlfs_chunk **out,
					 struct mlfs_hashsplit_part **part);

/* A read of [@off, @end) arrived: when the reader is sequential, queue
 * the decoding of the chunks of the next @window bytes. */
void mlfs_ofile_readahead(struct mlfs_prefetch *p, struct mlfs_ofile *f,
			  uint64_t off, uint64_t end, size_t window);

/* ---- decoded trees, shared by the daemon (treecache.c) ---- */

/* Default bound of the trees nobody references (directory nodes the
 * kernel holds keep theirs besides). */
#define MLFS_TCACHE_BYTES (64u << 20)

struct mlfs_tcache;

MLFS_MUST_CHECK int mlfs_tcache_new(size_t max_bytes,
				    struct mlfs_tcache **out);
/* Free every tree; no reference may be left. Accepts NULL. */
void mlfs_tcache_free(struct mlfs_tcache *tc);
/* A reference to tree @id, loading (and so verifying) it on a miss.
 * Returns 0 or the mlfs_tree_load() error, -ENOMEM. */
MLFS_MUST_CHECK int mlfs_tcache_get(struct mlfs_tcache *tc,
				    struct mlfs_store *s,
				    const struct mlfs_id *id,
				    const struct mlfs_tree **out);
/* Drop a reference from mlfs_tcache_get(); accepts NULL. */
void mlfs_tcache_put(struct mlfs_tcache *tc, const struct mlfs_tree *t);
/* Is tree @id cached? */
bool mlfs_tcache_has(struct mlfs_tcache *tc, const struct mlfs_id *id);
/* Add @t, loaded elsewhere (read-ahead), unreferenced; takes ownership
 * (freed if the tree is there already or memory runs out). */
void mlfs_tcache_add(struct mlfs_tcache *tc, struct mlfs_tree *t);
/* Loads (misses) and hits so far, trees and bytes held. */
void mlfs_tcache_stats(struct mlfs_tcache *tc, uint64_t *loads,
		       uint64_t *hits, size_t *count, size_t *bytes);

/* ---- directory read-ahead (dirahead.c) ---- */

struct mlfs_dirahead;

/* Start @nthreads (at most 4) threads, each with its own read-only handle
 * on the store in @store_dir, loading trees into @trees (borrowed).
 * Returns 0 or the mlfs_store_open() error. */
MLFS_MUST_CHECK int mlfs_dirahead_new(const char *store_dir,
				      unsigned nthreads,
				      struct mlfs_tcache *trees,
				      struct mlfs_dirahead **out);
/* Stop the threads, close their handles; accepts NULL. */
void mlfs_dirahead_free(struct mlfs_dirahead *d);
/* Directory @t is being listed: load its subdirectories' trees in the
 * background (into the tree cache), first child first. @d may be NULL. */
void mlfs_dirahead_children(struct mlfs_dirahead *d,
			    const struct mlfs_tree *t);

/* ---- commands reaching the mount (control.c) ---- */

struct mlfs_fs;
struct mlfs_ctl_server;

/* Listen on STORE/work/control.sock and answer snapshot and discard
 * requests for @fs's working trees on a thread of its own. Returns 0 or
 * -errno. */
MLFS_MUST_CHECK int mlfs_ctl_server_start(struct mlfs_fs *fs,
					  const char *store_dir,
					  struct mlfs_ctl_server **out);
/* Stop answering and remove the socket; accepts NULL. */
void mlfs_ctl_server_stop(struct mlfs_ctl_server *sv);

/* ---- the file system (ops.c, dir.c, xattr.c) ---- */

struct fuse_lowlevel_ops;
struct mlfs_pt;
struct mlfs_lin;

struct mlfs_fs {
	struct mlfs_store *store;  /* owned by the daemon */
	struct mlfs_tcache *trees; /* owned by the daemon */
	struct mlfs_itable itable;
	struct mlfs_prefetch *prefetch;
	struct mlfs_dirahead *dirahead; /* NULL: off */
	size_t readahead;
	uid_t uid;
	gid_t gid;
	int log_fd;                /* daemon log; lines written whole */
	/* Working trees: a writable handle on the store and its working
	 * trees, or NULL (a read-only store: branch heads are versions). */
	struct mlfs_store *wstore;
	struct mlfs_work *work;
	struct fuse_session *se;   /* for invalidations; set once */
	struct mlfs_pt *pt;        /* passthrough of data files, or NULL;
				    * set before the loop starts */
	struct mlfs_lin *lin;      /* lineage (lineage.h); NULL: off */
	atomic_bool no_open;       /* files are opened with no request to
				    * the daemon (FUSE no-open: only without
				    * working trees); set at INIT, on a
				    * session thread, and read by others
				    * that the kernel orders after it */

	atomic_bool no_opendir;    /* directories are opened with no
				    * request (FUSE no-opendir); as
				    * no_open */

	/* readdirplus with attributes, or names only (dir.c): */
	bool rdplus_attrs;         /* protected by itable.lock */
	unsigned rdplus_count;     /* listings since the last probe; lock */
	uint64_t rdplus_probe;     /* node id of the probe listing, or 0 */
	bool rdplus_probe_hit;     /* a file in it was looked up; lock */
};

extern const struct fuse_lowlevel_ops mlfs_fuse_ops;

/* Append one line (timestamped) to the daemon log. */
void mlfs_fs_log(struct mlfs_fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
