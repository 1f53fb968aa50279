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

/* Print @st of an operation on @r (@push: "To", else "From"); with
 * @json, @json_tail (NULL or members, each starting with ',') goes at
 * the end of the object. */
void remote_print(const struct mlfs_remote *r,
		  const struct mlfs_remote_stats *st, bool push, bool json,
		  const char *json_tail);
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
/* The options that say where a remote is, shared by "remote add" and
 * "clone": REMOTE_OPTIONS goes in their getopt tables. */
struct remote_where {
	const char *endpoint, *region;
	bool vhost;
	uint64_t cache_size; /* 0: the default */
};
#define REMOTE_OPTIONS \
	{ "endpoint", required_argument, NULL, 'e' }, \
	{ "region", required_argument, NULL, 'r' }, \
	{ "virtual-host", no_argument, NULL, 'v' }, \
	{ "cache-size", required_argument, NULL, 'c' }
/* Take getopt's @ch (with optarg) into @w when it is one of
 * REMOTE_OPTIONS. Returns 1 taken, 0 not one of them, or the usage exit
 * code CLI_USAGE (2, reported for @cmd) for a bad value. */
int remote_where_opt(const char *cmd, int ch, struct remote_where *w);
/* mlfs_remote_make of @name and @url with @w into @r; a bad name or URL
 * is reported as a usage error. Returns CLI_OK or the exit code. */
int remote_where_make(const char *name, const char *url,
		      const struct remote_where *w, const char *what,
		      struct mlfs_remote *r);
/* Progress on stderr when it is a terminal (a mlfs_remote_progress_fn;
 * @ctx points to the start time, a double from mlfs_now()). */
void remote_progress(void *ctx, uint64_t done, uint64_t total);

#endif
