/*
 * import_ahead.h - the stat-ahead of `mlfs import` (internal to
 * import.c): a thread that walks SRC in the order the import does,
 * listing each directory and stat'ing its entries, so that a re-import
 * whose files the files cache knows spends its own time on the cache
 * and the trees while the other core makes the system calls.
 */
#ifndef MLFS_IMPORT_AHEAD_H
#define MLFS_IMPORT_AHEAD_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * The walk below SRC opens every entry relative to its parent's fd and
 * never follows a symlink: an entry swapped for a symlink (to /etc, say)
 * while the import runs is seen as the symlink it now is, never as the
 * tree it points to. O_NONBLOCK: a FIFO or device put in a file's place
 * after it was looked at does not block the open (and is then skipped).
 */
#define IMPORT_WALK_OPEN (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | \
			  O_NOFOLLOW)

struct import_ahead;

/* An entry of a listing: its name, and its lstat data when err is 0
 * (else the errno of fstatat: the walk looks for itself). */
struct ahead_entry {
	char *name;
	int err;
	struct stat st;
};

/* One directory's entries, sorted by name (strcmp), as the walk wants
 * them. Owned by whoever took it from the queue. */
struct ahead_dir {
	dev_t dev;
	ino_t ino;
	size_t n;
	struct ahead_entry *v;
	struct ahead_dir *next;
};

/*
 * Start walking the directory open at @root_fd (duplicated: the caller
 * keeps its fd). Returns 0 or -errno (then there is no stat-ahead and
 * the walk does everything itself).
 */
int import_ahead_start(int root_fd, struct import_ahead **out);

/*
 * The listing of the directory the walk enters next, whose fstat is
 * @dst; waits for the thread if it is not there yet. NULL when the
 * thread has none: it finished or gave up, or the walk and the thread
 * no longer agree on the order (the tree changed under them; the
 * stat-ahead then stops for good). Accepts NULL.
 */
struct ahead_dir *import_ahead_take(struct import_ahead *a,
				    const struct stat *dst);

/* Free a listing, with the names still in it (taken ones set NULL). */
void import_ahead_dir_free(struct ahead_dir *d);

/* Stop the thread, wait for it and free everything. Accepts NULL. */
void import_ahead_stop(struct import_ahead *a);

#endif
