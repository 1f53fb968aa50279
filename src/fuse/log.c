/*
 * log.c - the daemon's log (one write per line, so lines from threads
 * never interleave) and the one place damage found by a lookup or a
 * listing is logged and turned into EIO.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"

void mlfs_fs_log(struct mlfs_fs *fs, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ mlfs: ", &tm);
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k
					      : sizeof(line) - n - 2;
	line[n++] = '\n';
	/* one write per line, O_APPEND: lines from threads never interleave */
	if (write(fs->log_fd, line, n) < 0)
		return; /* nowhere left to report it */
}

int mlfs_fs_damage(struct mlfs_fs *fs, const struct mlfs_node *n,
		   const char *name, const char *op, int r)
{
	char path[1024];

	if (r != -EIO && r != -EBADMSG)
		return r;
	mlfs_itable_path(&fs->itable, n, path, sizeof(path));
	mlfs_fs_log(fs, "%s '%s%s%s': %s%s%s", op, path,
		    name && *path ? "/" : "", name ? name : "",
		    strerror(EIO), *mlfs_error_detail() ? ": " : "",
		    mlfs_error_detail());
	return -EIO;
}
