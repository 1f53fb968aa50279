/*
 * fsck_impl.h - the state fsck.c and its parts (fsck_*.c) share while one check
 * runs (internal to libmlfs). Problems are collected here and reported
 * by mlfs_fsck() once the walk is done.
 */
#ifndef MLFS_FSCK_IMPL_H
#define MLFS_FSCK_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "mlfs/fsck.h"
#include "mlfs/idset.h"
#include "store_impl.h"

/* Values in the tree and content memo sets: clean, damaged below (walk
 * it again to count the versions that share the damage), or damaged
 * itself: MEMO_BAD + the index of its problem. */
#define MEMO_OK 1
#define MEMO_BELOW 2
#define MEMO_BAD 3

/* Open pack files kept while the index is checked. */
#define PACK_FDS 64

/* How much of the current place a problem records. */
enum where {
	AT_STORE,   /* store-wide */
	AT_REPO,    /* the repository */
	AT_VERSION, /* ... and the version */
	AT_PATH,    /* ... and the path in it */
};

struct prob {
	char kind[12];
	char *object, *repo, *version, *commit, *path, *what;
	uint64_t more;
	uint64_t last_ver; /* walk number of the last version counted */
};

struct pack_fd {
	uint64_t id;
	int fd;           /* -1: slot free */
	uint64_t size;
};

struct fsck {
	struct mlfs_store *s;
	bool read_data;
	struct mlfs_fsck_stats *st;
	struct prob *probs;
	size_t nprobs, capprobs;
	/* chunk id -> raw_len | (problem index + 1) << 32 */
	struct mlfs_idset chunks;
	bool index_complete;          /* every index row was read */
	struct mlfs_idset contents;   /* digest -> MEMO_* */
	struct mlfs_idset trees;      /* tree id -> MEMO_* */
	struct mlfs_idset packs;      /* pack id (first 8 bytes) -> 1 ok, 2 */
	struct pack_fd fds[PACK_FDS];
	size_t next_fd;
	/* The version being walked. */
	uint64_t ver;                 /* walk number, from 1 */
	const char *repo;
	const char *version;
	char commit[MLFS_ID_HEX_LEN + 1];
	char path[PATH_MAX];
};

/* Record a problem with @kind and @object found at the current place,
 * as much of it as @at says. Returns its index, or -ENOMEM. */
long fsck_problem(struct fsck *f, const char *kind, const char *object,
		  enum where at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A memoised damaged object met again: count the version once. */
void fsck_seen_again(struct fsck *f, uint64_t memo);
/* Record why @kind @hex could not be loaded (@r < 0, detail fresh):
 * -EBADMSG is SQLite reporting its file damaged (or a field out of
 * range), the rest is damage of the object itself. Returns the
 * problem's index, or -ENOMEM. */
long fsck_load_problem(struct fsck *f, const char *kind, const char *hex,
		       enum where at, int r);
/* (fsck_tree.c) Check the tree @id at f->path (its first @plen bytes
 * are the current path) and everything below it, once per tree.
 * Returns 0 clean, 1 damaged (recorded), -ENOMEM. */
int fsck_check_tree(struct fsck *f, const struct mlfs_id *id, size_t plen);
/* The library's detail for a failed load of object @hex, without the
 * object's own name (the report names it): "tree 1a2b...: hash mismatch"
 * becomes "hash mismatch", "chunk 1a2b... in pack ..." "in pack ...";
 * @fallback when there is no detail. */
const char *fsck_detail(const char *hex, const char *fallback);
/* Why SQLite could not give us something: the library's detail, else
 * what -EBADMSG means coming from a query. */
const char *fsck_db_why(const char *hex, int r);

/* mlfs.db's header against its size (mlfs_fsck_explain_db). Returns 0
 * or -ENOMEM. */
int fsck_check_db_file(struct fsck *f);
/* Check every chunk index entry against its pack and fill f->chunks.
 * An index that cannot be read to its end is a problem (the rest is then
 * looked up entry by entry). Returns 0 or -ENOMEM. */
int fsck_check_index(struct fsck *f);
/* The chunk map's value for @id, looking it up (and checking its pack
 * entry) when the index scan did not get that far. Returns 0 with *v
 * set, 1 when not indexed, -ENOMEM, or another -errno when the lookup
 * failed (-EBADMSG: SQLite reports the file malformed). */
int fsck_chunk_value(struct fsck *f, const struct mlfs_id *id, uint64_t *v);

/* Check the audit log's chain: each broken record is a problem. Returns
 * 0 or -ENOMEM. */
int fsck_check_audit(struct fsck *f);
/* (fsck_inputs.c) Check every inputs row (lineage): its check value, and
 * that both its commits are in the store. Returns 0 or -ENOMEM. */
int fsck_check_inputs(struct fsck *f);
/* fsck_vmeta.c: the metadata rows of @commit (the version being walked),
 * each against its check value; then, once, damaged rows of commits
 * that do not exist. Return 0 or -ENOMEM. */
int fsck_check_version_meta(struct fsck *f, const struct mlfs_id *commit);
int fsck_check_orphan_meta(struct fsck *f);

#endif
