/*
 * gc.c - remove pack files that no committed chunk references: debris of
 * imports killed or failed before their commit. A pack is referenced
 * once a committed transaction recorded it (packs table, written with
 * its chunks), so unreferenced packs hold no data any version can reach.
 * A pack without its row that chunks still name is damage to the
 * database, not debris: gc keeps it and counts it (fsck reports it).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/gc.h"
#include "store_impl.h"

/* Parse "pack-<16 hex>.mlp"; returns false for any other name. */
static bool pack_file_id(const char *name, uint64_t *id)
{
	char want[40];
	char *end;

	if (strncmp(name, "pack-", 5) || strlen(name) != 5 + 16 + 4)
		return false;
	*id = strtoull(name + 5, &end, 16);
	if (end != name + 5 + 16)
		return false;
	mlfs_pack_name(*id, want, sizeof(want));
	return !strcmp(want, name);
}

static int walk(struct mlfs_store *s, bool remove, struct mlfs_gc_stats *st)
{
	struct dirent *de;
	int r = 0;
	DIR *d;

	memset(st, 0, sizeof(*st));
	d = opendir(s->packs_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat sb;
		uint64_t id;

		if (!pack_file_id(de->d_name, &id))
			continue;
		st->packs_seen++;
		r = mlfs_meta_pack_exists(s->meta, id);
		if (r == 0) {
			r = mlfs_meta_pack_used(s->meta, id);
			if (r == 1)
				st->packs_kept_damaged++;
		}
		if (r < 0)
			break;
		if (r == 1) {
			r = 0;
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &sb, 0) < 0)
			continue; /* gone meanwhile */
		st->packs_unreferenced++;
		st->bytes_unreferenced += (uint64_t)sb.st_size;
		if (remove && unlinkat(dirfd(d), de->d_name, 0) < 0) {
			r = -errno;
			mlfs_error_set("cannot remove pack %s", de->d_name);
			break;
		}
	}
	closedir(d);
	if (r == 0 && remove && st->packs_unreferenced)
		r = mlfs_fsync_dir(s->packs_dir);
	return r;
}

int mlfs_gc_scan(struct mlfs_store *s, struct mlfs_gc_stats *st)
{
	return walk(s, false, st);
}

int mlfs_gc(struct mlfs_store *s, bool dry_run, struct mlfs_gc_stats *st)
{
	return mlfs_gc_run(s, dry_run ? MLFS_GC_DRY_RUN : 0, st);
}

int mlfs_gc_run(struct mlfs_store *s, unsigned flags, struct mlfs_gc_stats *st)
{
	int fd, r;

	if (flags & MLFS_GC_DRY_RUN)
		return walk(s, false, st);
	if (s->rdonly && !(flags & MLFS_GC_FULL_DISK))
		return -EROFS;
	r = store_lock(s, true, false, &fd);
	if (r < 0)
		return r;
	r = walk(s, true, st);
	store_unlock(fd);
	return r;
}
