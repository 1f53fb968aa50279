/*
 * export.c - write a version back to the local filesystem with the
 * modes, mtimes and symlinks that were imported. Every chunk is verified
 * on the way out; a bad one stops the export with an error naming the
 * file, never with wrong bytes in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/content.h"
#include "mlfs/export.h"
#include "mlfs/store.h"

int mlfs_export_content_fd(struct mlfs_store *s, const struct mlfs_id *digest,
			   int fd)
{
	struct mlfs_content *c;
	int r = mlfs_content_load(s, digest, MLFS_CONTENT_LOCATE, &c);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		const struct mlfs_chunk *ch;
		size_t done = 0;

		r = mlfs_content_get_chunk(s, c, i, &ch);
		if (r < 0)
			break;
		while (done < ch->len) {
			ssize_t n = write(fd, ch->data + done, ch->len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			done += (size_t)n;
		}
		mlfs_chunk_unref(s, ch);
	}
	mlfs_content_free(c);
	return r;
}

static void set_times(const char *path, int64_t mtime_ns, int flags)
{
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)(mtime_ns / 1000000000);
	ts[1].tv_nsec = (long)(mtime_ns % 1000000000);
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += 1000000000;
	}
	(void)utimensat(AT_FDCWD, path, ts, flags); /* best effort */
}

static int export_file(struct mlfs_store *s, const struct mlfs_entry *e,
		       const char *dest, struct mlfs_export_stats *st)
{
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r;

	if (fd < 0) {
		r = -errno;
		mlfs_error_set("cannot create '%s'", dest);
		return r;
	}
	r = mlfs_export_content_fd(s, &e->id, fd);
	if (r == 0 && fchmod(fd, e->mode) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		char detail[1024];

		snprintf(detail, sizeof(detail), "%s", mlfs_error_detail());
		mlfs_error_set("%s%s%s", dest, detail[0] ? ": " : "", detail);
		(void)unlink(dest); /* never leave a file with wrong bytes */
		return r;
	}
	set_times(dest, e->mtime_ns, 0);
	st->files++;
	st->bytes += e->size;
	return 0;
}

static int export_entry(struct mlfs_store *s, const struct mlfs_entry *e,
			const char *dest, struct mlfs_export_stats *st,
			bool root);

static int export_dir(struct mlfs_store *s, const struct mlfs_entry *e,
		      const char *dest, struct mlfs_export_stats *st,
		      bool root)
{
	struct mlfs_tree *t;
	char child[PATH_MAX];
	int r;

	if (mkdir(dest, 0700) < 0) {
		r = -errno;
		mlfs_error_set("cannot create directory '%s'", dest);
		return r;
	}
	r = mlfs_tree_load(s, &e->id, &t);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		if (snprintf(child, sizeof(child), "%s/%s", dest,
			     t->e[i].name) >= (int)sizeof(child)) {
			r = -ENAMETOOLONG;
			break;
		}
		r = export_entry(s, &t->e[i], child, st, false);
	}
	mlfs_tree_free(t);
	if (r < 0)
		return r;
	if (chmod(dest, e->mode) < 0)
		return -errno;
	/* The root of a version has no recorded mtime of its own. */
	if (!root)
		set_times(dest, e->mtime_ns, 0);
	st->dirs++;
	return 0;
}

static int export_entry(struct mlfs_store *s, const struct mlfs_entry *e,
			const char *dest, struct mlfs_export_stats *st,
			bool root)
{
	switch (e->type) {
	case MLFS_ENTRY_DIR:
		return export_dir(s, e, dest, st, root);
	case MLFS_ENTRY_FILE:
		return export_file(s, e, dest, st);
	case MLFS_ENTRY_SYMLINK:
		if (symlink(e->target, dest) < 0) {
			int r = -errno;

			mlfs_error_set("cannot create symlink '%s'", dest);
			return r;
		}
		set_times(dest, e->mtime_ns, AT_SYMLINK_NOFOLLOW);
		st->symlinks++;
		return 0;
	}
	return -EBADMSG;
}

int mlfs_export(struct mlfs_store *s, const struct mlfs_entry *entry,
		const char *dest, struct mlfs_export_stats *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	mlfs_error_clear();
	if (lstat(dest, &sb) == 0) {
		mlfs_error_set("'%s' already exists", dest);
		return -EEXIST;
	}
	return export_entry(s, entry, dest, st, entry->name[0] == '\0');
}
