/*
 * audit_impl.h - the audit chain's check for fsck (internal to libmlfs):
 * every broken record, where mlfs_audit_verify stops at the first.
 */
#ifndef MLFS_AUDIT_IMPL_H
#define MLFS_AUDIT_IMPL_H

#include <stdint.h>

#include "mlfs/util.h"

struct mlfs_store;

/* One record that fails: its id, time (ISO-8601 UTC) and op as stored
 * (not to be trusted), and what is wrong. Returns < 0 to stop. */
typedef int (*mlfs_audit_bad_fn)(void *ctx, int64_t id, const char *when,
				 const char *op, const char *why);

/* Check the whole chain, calling @bad for each record that fails.
 * *count gets the number of records. Returns 0 (the check ran), @bad's
 * error, -ENOMEM, -EIO, -EBADMSG (SQLite could not read the table). */
MLFS_MUST_CHECK int mlfs_audit_check(struct mlfs_store *s,
				     mlfs_audit_bad_fn bad, void *ctx,
				     uint64_t *count);

#endif
