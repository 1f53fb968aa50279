/*
 * util.c - buffers, full-length I/O and atomic file replacement. Every
 * I/O helper retries EINTR and short transfers so callers see either the
 * whole transfer or an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/util.h"

/* Every module sets the detail (meta*.c, pack.c, store.c, ...), so it
 * lives here, below all of them: in store.c it made meta.c and store.c
 * call each other. */
static _Thread_local char error_detail[1024];

const char *mlfs_error_detail(void)
{
	return error_detail;
}

void mlfs_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_detail, sizeof(error_detail), fmt, ap);
	va_end(ap);
}

void mlfs_error_clear(void)
{
	error_detail[0] = '\0';
}


void *mlfs_grow(void *v, size_t size, size_t n, size_t *cap)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return v;
	nc = *cap ? *cap * 2 : 64;
	if (nc <= *cap || nc > SIZE_MAX / size)
		return NULL;
	nv = realloc(v, nc * size);
	if (nv)
		*cap = nc;
	return nv;
}

int mlfs_buf_reserve(struct mlfs_buf *b, size_t cap)
{
	size_t n;
	uint8_t *p;

	if (cap <= b->cap)
		return 0;
	n = b->cap ? b->cap : 64;
	while (n < cap) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(b->data, n);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = n;
	return 0;
}

int mlfs_buf_append(struct mlfs_buf *b, const void *p, size_t len)
{
	int r;

	if (len > SIZE_MAX - b->len)
		return -ENOMEM;
	r = mlfs_buf_reserve(b, b->len + len);
	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

int mlfs_buf_vprintf(struct mlfs_buf *b, const char *fmt, va_list ap)
{
	char *s = NULL;
	int n, r;

	n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return -ENOMEM;
	r = mlfs_buf_append(b, s, (size_t)n);
	free(s);
	return r;
}

int mlfs_buf_printf(struct mlfs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = mlfs_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void mlfs_buf_release(struct mlfs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int mlfs_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int mlfs_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

ssize_t mlfs_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int mlfs_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int mlfs_write_file_atomic(const char *path, const void *p, size_t len,
			   mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = mlfs_pwrite_full(fd, p, len, 0);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	return mlfs_fsync_dir(dir);
}

int mlfs_random_bytes(void *p, size_t len)
{
	uint8_t *b = p;

	while (len) {
		ssize_t n = getrandom(b, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

double mlfs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mlfs_test_pause(const char *path)
{
	char buf[PATH_MAX + 16];
	struct stat st;
	struct pollfd p = { .events = POLLIN };

	if (!path || stat(path, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	/* (no writer yet: the open does not wait, nor does poll report a
	 * hang-up before one came) */
	p.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (p.fd < 0)
		return;
	snprintf(buf, sizeof(buf), "%s.reached", path);
	close(open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	if (poll(&p, 1, 60 * 1000) > 0)
		(void)!read(p.fd, buf, sizeof(buf));
	close(p.fd);
}

char *mlfs_strdup_opt(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

size_t mlfs_utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0], need, min;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need + 1;
}
