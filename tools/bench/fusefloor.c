/*
 * fusefloor.c - the least a FUSE daemon can do to serve a file: a
 * read-only mirror of one directory of regular files whose reads are a
 * pread into a buffer and a reply, with the kernel settings mlfs's mount
 * asks for (1 MiB reads, 16 MiB max_readahead, kernel_cache, long
 * timeouts, a multi-threaded loop). tools/bench/read.sh measures it
 * beside ext4 and the mount: what it reaches is the ceiling FUSE itself
 * puts on a cold sequential read on this machine, before any decoding.
 * A benchmark tool, not part of mlfs.
 *
 *   fusefloor SRCDIR MOUNTPOINT [fuse options]
 */
#define FUSE_USE_VERSION 35
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int src_fd = -1;

/* "/a/b" -> "a/b", "/" -> "." */
static const char *rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

static void *floor_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->max_readahead = 16u * 1024 * 1024;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	cfg->kernel_cache = 1;
	cfg->entry_timeout = 86400;
	cfg->attr_timeout = 86400;
	cfg->negative_timeout = 86400;
	cfg->use_ino = 1;
	return NULL;
}

static int floor_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	(void)fi;
	if (fstatat(src_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	st->st_mode &= ~(mode_t)0222;
	return 0;
}

static int floor_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
			 off_t off, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	int fd = openat(src_fd, rel(path), O_RDONLY | O_DIRECTORY);
	struct dirent *de;
	DIR *d;

	(void)off;
	(void)fi;
	(void)flags;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d)))
		if (fill(buf, de->d_name, NULL, 0, 0))
			break;
	closedir(d);
	return 0;
}

static int floor_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	fd = openat(src_fd, rel(path), O_RDONLY);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	return 0;
}

static int floor_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int floor_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static const struct fuse_operations floor_ops = {
	.init = floor_init,
	.getattr = floor_getattr,
	.readdir = floor_readdir,
	.open = floor_open,
	.read = floor_read,
	.release = floor_release,
};

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fusefloor SRCDIR MOUNTPOINT [opts]\n");
		return 2;
	}
	src_fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (src_fd < 0) {
		perror(argv[1]);
		return 1;
	}
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &floor_ops, NULL);
}
