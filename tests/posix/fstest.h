/*
 * fstest.h - the check table, assertion macros and file helpers of
 * fstest, our POSIX conformance checks (README.md). Every check runs in
 * a forked child whose working directory is a fresh, empty directory, so
 * a check that returns early (a failed assertion) leaks nothing: the
 * child exits, and the runner removes the directory.
 */
#ifndef MLFS_FSTEST_H
#define MLFS_FSTEST_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

enum { FST_PASS = 0, FST_FAIL = 1, FST_SKIP = 2 };

struct fst_check {
	const char *name;	/* "group.what"; FSTEST_SKIP/ONLY match it */
	const char *desc;	/* what must hold, printed in the TAP line */
	int (*fn)(void);	/* FST_PASS, or FST_FAIL/FST_SKIP via below */
};

/* Tables of the four check files, each ending in { NULL }. */
extern const struct fst_check fst_file_checks[];
extern const struct fst_check fst_ns_checks[];
extern const struct fst_check fst_attr_checks[];
extern const struct fst_check fst_perm_checks[];

/* Record why the check failed (or is skipped); return FST_FAIL/SKIP. */
int fst_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fst_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The symbolic name of @e ("ENOENT"), or its number. */
const char *fst_errname(int e);
/* Record "@what: got errno X, want Y" (or "succeeded") as the failure. */
int fst_fail_errno(const char *file, int line, const char *what, long r,
		   int got, int want1, int want2);

#define FAIL(...) return fst_fail(__FILE__, __LINE__, __VA_ARGS__)
#define ASSERT(cond, ...)						\
	do {								\
		if (!(cond))						\
			FAIL(__VA_ARGS__);				\
	} while (0)
/* @call returns -1 and sets errno on failure (open, write, rename...). */
#define OK(call)							\
	do {								\
		if ((long)(call) == -1)					\
			FAIL("%s: %s", #call, fst_errname(errno));	\
	} while (0)
/* @call must fail with errno @w1 or @w2 (give @w1 twice for one). */
#define ERR2(call, w1, w2)						\
	do {								\
		long r_;						\
		errno = 0;						\
		r_ = (long)(call);					\
		if (r_ != -1 || (errno != (w1) && errno != (w2)))	\
			return fst_fail_errno(__FILE__, __LINE__, #call,\
					      r_, errno, w1, w2);	\
	} while (0)
#define ERR(call, w) ERR2(call, w, w)
/* Propagate a helper's FST_FAIL/FST_SKIP. */
#define TRY(expr)							\
	do {								\
		int t_ = (expr);					\
		if (t_ != FST_PASS)					\
			return t_;					\
	} while (0)

/* Run @fn in a child process as @uid:@gid (no supplementary groups) and
 * return its FST_* with its reason. Needs root. */
int fst_as_user(uid_t uid, gid_t gid, int (*fn)(void));

/* Deterministic bytes: @len of them from @seed. */
void fst_pattern(void *buf, size_t len, uint32_t seed);
/* Write all of @buf to @path (created @mode, truncated). -1 and errno. */
int fst_put(const char *path, const void *buf, size_t len, mode_t mode);
/* pwrite/pread all @len bytes; -1 and errno, or a short count at EOF. */
ssize_t fst_pwrite_all(int fd, const void *buf, size_t len, off_t off);
ssize_t fst_pread_all(int fd, void *buf, size_t len, off_t off);
/* @path holds exactly @len bytes equal to @want (fails naming the first
 * differing byte). */
int fst_expect_file(const char *path, const void *want, size_t len);
/* The same through an open @fd, read with pread from offset 0. */
int fst_expect_fd(int fd, const void *want, size_t len);
/* lstat @path; fails with the errno if it does not exist. */
int fst_lstat(const char *path, struct stat *st);
/* @path must not exist (lstat gives ENOENT). */
int fst_expect_gone(const char *path);
/* Directory @dir lists exactly @want (NULL-terminated, "." and ".."
 * included by the caller), in any order, each once. */
int fst_expect_listing(const char *dir, const char *const *want);
/* Sleep @ms milliseconds: lets a coarse file system clock tick before an
 * operation that must change a timestamp. Never used to time anything. */
void fst_sleep_ms(int ms);
/* a < b for two timespecs. */
int fst_ts_before(const struct timespec *a, const struct timespec *b);

#endif
