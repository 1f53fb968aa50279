/*
 * gc.h - reclaim space that no version references. Today: whole pack
 * files left by imports that were killed or failed before their commit
 * (their chunks were never indexed). Imports hold the store's lock
 * shared while they write packs; gc takes it exclusively, so it never
 * sees a running import's packs.
 */
#ifndef MLFS_GC_H
#define MLFS_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "mlfs/util.h"

struct mlfs_store;

struct mlfs_gc_stats {
	uint64_t packs_seen;
	uint64_t packs_unreferenced;
	uint64_t bytes_unreferenced;
	/* packs that chunks use but that have lost their packs row (a
	 * damaged database): never removed, reported */
	uint64_t packs_kept_damaged;
};

/* Count pack files that no committed chunk references (a read-only
 * look: a running import's packs are counted too). Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_gc_scan(struct mlfs_store *s,
				 struct mlfs_gc_stats *st);

/* Remove unreferenced pack files (with @dry_run, only count them).
 * Returns 0, -EBUSY (an import is running: nothing removed), -EROFS,
 * -errno. @s may be a store opened read-only only because its disk is
 * full (MLFS_GC_FULL_DISK in @flags): gc writes no row, it only deletes
 * files no row names, which is how a full disk gets its space back. */
#define MLFS_GC_DRY_RUN 0x1u
#define MLFS_GC_FULL_DISK 0x2u
MLFS_MUST_CHECK int mlfs_gc_run(struct mlfs_store *s, unsigned flags,
				struct mlfs_gc_stats *st);
MLFS_MUST_CHECK int mlfs_gc(struct mlfs_store *s, bool dry_run,
			    struct mlfs_gc_stats *st);

#endif
