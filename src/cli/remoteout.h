/*
 * remoteout.h - what mlfs push, fetch, pull and clone print: one line
 * per ref as git does, a summary, --json, errors with their hints, and
 * the progress line on a terminal.
 */
#ifndef MLFS_REMOTEOUT_H
#define MLFS_REMOTEOUT_H

#include <stdbool.h>

#include "cli.h"
#include "mlfs/remote.h"

/* Print @st of an operation on @r (@push: "To", else "From"). */
void remote_print(const struct mlfs_remote *r,
		  const struct mlfs_remote_stats *st, bool push, bool json);
/* Report failure @e of @what ("push to", "fetch from") @r; returns the
 * exit code. */
int remote_fail(int e, const char *what, const struct mlfs_remote *r);
/* Open the store and pick the remote (@name or the default); reports
 * errors. */
int remote_open(struct cli *c, const char *name, unsigned flags,
		struct mlfs_store **s, struct mlfs_remote *r);
/* "64M", "2G", "4096" -> bytes (K, M, G, T; optional "i", "B"), at
 * least 1 MiB. Returns 0 or -EINVAL. */
int remote_parse_size(const char *s, uint64_t *out);
/* Progress on stderr when it is a terminal (a mlfs_remote_progress_fn;
 * @ctx points to the start time, a double from mlfs_now()). */
void remote_progress(void *ctx, uint64_t done, uint64_t total);

#endif
