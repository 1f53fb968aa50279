/*
 * lineage.h - what the mount records for lineage (lineage.c): per job
 * (a process group, docs/lineage.md#jobs), the versions its processes
 * opened files of, how many distinct files and how many bytes the mount
 * served them; and which working trees the job changed. A snapshot of a
 * working tree takes as inputs the versions read by the jobs that
 * changed it since its last snapshot. Private to src/fuse.
 */
#ifndef MLFS_FUSE_LINEAGE_H
#define MLFS_FUSE_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlfs/hash.h"
#include "mlfs/lineage.h"
#include "mlfs/util.h"

/* Bounds (docs/lineage.md#limits). */
#define MLFS_LIN_JOBS_MAX 1024     /* jobs remembered at once */
#define MLFS_LIN_INPUTS_MAX 256    /* versions per job */
#define MLFS_LIN_FILE_KEYS (64u << 20) /* bytes of distinct-file sets,
					 * all jobs together */

/* A job: its process group, the group leader's start time (clock ticks
 * after boot, /proc/PID/stat field 22; 0 when the leader was gone) so a
 * reused group id is another job, and the user. */
struct mlfs_lin_key {
	pid_t pgid;
	uid_t uid;
	uint64_t start;
};

struct mlfs_lin;
struct mlfs_lin_read;
struct mlfs_lin_mark;

/* Counters the handles of open files add to. */
struct mlfs_lin_read {
	uint64_t bytes; /* atomic: added by reads, no lock */
};

/* The table; @log (may be NULL) is told once when a bound is hit. */
MLFS_MUST_CHECK int mlfs_lin_new(void (*log)(void *ctx, const char *msg),
				 void *ctx, struct mlfs_lin **out);
/* Free the table; no handle may hold a counter or a mark. Accepts NULL. */
void mlfs_lin_free(struct mlfs_lin *l);

/* The job of process (or thread) @pid of user @uid, from /proc (cached
 * for a second). Returns 0 or -ESRCH (gone, or not in our pid
 * namespace: @pid 0). */
MLFS_MUST_CHECK int mlfs_lin_job_of(struct mlfs_lin *l, pid_t pid, uid_t uid,
				    struct mlfs_lin_key *key);

/*
 * @pid opened file @file_key of version @commit: count the file for its
 * job (once per distinct key) and give the counter its reads add to, with
 * a hold on the job; NULL when nothing is recorded (@l NULL, the process
 * is gone, a bound was hit). *@fresh is set when the job had not opened
 * the file before (the open then drops the kernel's cached pages of it,
 * so that the job's reads reach the mount and are counted), else
 * cleared. Release with mlfs_lin_close().
 */
struct mlfs_lin_read *mlfs_lin_open(struct mlfs_lin *l, pid_t pid, uid_t uid,
				    const struct mlfs_id *commit,
				    uint64_t file_key, bool *fresh);
/* A read served @n bytes through @rd (NULL: nothing). No lock, no
 * allocation: one atomic add. */
static inline void mlfs_lin_count(struct mlfs_lin_read *rd, uint64_t n)
{
	if (rd)
		__atomic_fetch_add(&rd->bytes, n, __ATOMIC_RELAXED);
}
void mlfs_lin_close(struct mlfs_lin *l, struct mlfs_lin_read *rd);

/*
 * @pid changed working tree @wt (an opaque key): its job is a writer of
 * @wt until @wt's next snapshot. With @hold, the mark is returned with a
 * hold on the job, for a handle open for writing that re-marks on each
 * write with mlfs_lin_write() and lets go with mlfs_lin_unmark(); else
 * NULL is returned.
 */
struct mlfs_lin_mark *mlfs_lin_wrote(struct mlfs_lin *l, pid_t pid,
				     uid_t uid, const void *wt, bool hold);
/* A write through a handle marked @m (NULL: nothing): one atomic
 * compare unless a snapshot came since the last. */
void mlfs_lin_write(struct mlfs_lin *l, struct mlfs_lin_mark *m);
void mlfs_lin_unmark(struct mlfs_lin *l, struct mlfs_lin_mark *m);

/*
 * The inputs of a snapshot of @wt: what the jobs that changed @wt since
 * its last snapshot read (with @job, only that job's, whether or not it
 * changed @wt), merged, without @exclude (the base: a working tree's own
 * head is its parent, not an input; may be NULL). *out malloc'd (NULL
 * when none). Returns 0 or -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_lin_inputs(struct mlfs_lin *l, const void *wt,
				    const struct mlfs_lin_key *job,
				    const struct mlfs_id *exclude,
				    struct mlfs_input **out, size_t *n);
/* @wt was snapshotted (or its edits discarded): its writers so far are
 * done with it. */
void mlfs_lin_wt_done(struct mlfs_lin *l, const void *wt);

/* Jobs known, and opens or marks not recorded because of a bound. */
void mlfs_lin_stats(struct mlfs_lin *l, size_t *jobs, uint64_t *dropped);

#endif
