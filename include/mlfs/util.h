/*
 * util.h - small helpers shared by every part of libmlfs: growable byte
 * buffers, little-endian encoding, full pread/pwrite, attribute macros.
 */
#ifndef MLFS_UTIL_H
#define MLFS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MLFS_MUST_CHECK __attribute__((warn_unused_result))
#define MLFS_UNUSED __attribute__((unused))
#define MLFS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer. Owner frees with mlfs_buf_release(). */
struct mlfs_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
#define MLFS_BUF_INIT { NULL, 0, 0 }

/* strdup of @s, or NULL for NULL; a failed copy sets *@oom (so several
 * copies can be checked once). */
char *mlfs_strdup_opt(const char *s, bool *oom);
/* The array @v of *@cap elements of @size bytes, @n of them used, with
 * room for one more: @v itself, or moved to twice the room (64 at
 * first), *@cap updated. NULL when out of memory: @v is as it was and
 * still the caller's. Use: nv = mlfs_grow(a->v, sizeof(*a->v), a->n,
 * &a->cap); if (!nv) fail; a->v = nv; */
MLFS_MUST_CHECK void *mlfs_grow(void *v, size_t size, size_t n, size_t *cap);
/* Make room for at least @cap bytes. Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_buf_reserve(struct mlfs_buf *b, size_t cap);
/* Append @len bytes. Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_buf_append(struct mlfs_buf *b, const void *p,
				    size_t len);
/* Append printf-formatted text (no NUL). Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_buf_printf(struct mlfs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
MLFS_MUST_CHECK int mlfs_buf_vprintf(struct mlfs_buf *b, const char *fmt,
				     va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Free the storage and reset to empty; accepts an empty buffer. */
void mlfs_buf_release(struct mlfs_buf *b);

static inline void mlfs_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t mlfs_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void mlfs_put_le64(uint8_t *p, uint64_t v)
{
	mlfs_put_le32(p, (uint32_t)v);
	mlfs_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t mlfs_get_le64(const uint8_t *p)
{
	return (uint64_t)mlfs_get_le32(p) |
	       (uint64_t)mlfs_get_le32(p + 4) << 32;
}

/* Nanoseconds since the epoch as a timespec: tv_nsec is in [0, 1e9)
 * also before 1970 (C division truncates; futimens wants it floored). */
static inline struct timespec mlfs_ns_to_timespec(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000),
			       (long)(ns % 1000000000) };

	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

/* Read exactly @len bytes at @off, retrying short reads and EINTR.
 * Returns 0, -EIO on premature EOF, or -errno. */
MLFS_MUST_CHECK int mlfs_pread_full(int fd, void *buf, size_t len,
				    uint64_t off);
/* Write exactly @len bytes at @off. Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_pwrite_full(int fd, const void *buf, size_t len,
				     uint64_t off);
/* Read up to @len bytes from the current position; stops only at EOF.
 * Returns the count read (< @len only at EOF) or -errno. */
MLFS_MUST_CHECK ssize_t mlfs_read_full(int fd, void *buf, size_t len);
/* fsync the directory @path (after a create or rename in it). */
MLFS_MUST_CHECK int mlfs_fsync_dir(const char *path);
/* Write @len bytes to @path atomically: temp file, fsync, rename, fsync
 * the directory. Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_write_file_atomic(const char *path, const void *p,
					   size_t len, mode_t mode);
/* Fill @p with @len bytes from the kernel's random source. */
MLFS_MUST_CHECK int mlfs_random_bytes(void *p, size_t len);
/* Monotonic clock in seconds, for progress and benchmarks. */
double mlfs_now(void);

/* The length of the well-formed UTF-8 sequence that starts @p (@n bytes
 * left, n >= 1), or 0 when it is not one (a stray byte, overlong, a
 * surrogate). A JSON writer escapes each byte of what is not as \udcXX
 * (Python's surrogateescape: os.fsencode gives the name's bytes back). */
size_t mlfs_utf8_seq_len(const unsigned char *p, size_t n);
/* For tests only, at a point a test must act at (a process stopped
 * mid-way): when @path (may be NULL) names a FIFO, create "@path.reached"
 * and wait until something is written into the FIFO, or 60 s have
 * passed. Anything but a FIFO (or NULL) returns at once, so a stray
 * variable in the environment changes nothing. */
void mlfs_test_pause(const char *path);

/* Last failure detail of the calling thread ("chunk ... in pack ...:
 * hash mismatch"), or "" when there is none. Valid until the next call. */
const char *mlfs_error_detail(void);
void mlfs_error_set(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void mlfs_error_clear(void);

#endif
