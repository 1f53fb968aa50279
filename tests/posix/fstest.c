/*
 * fstest.c - `fstest DIR`: POSIX conformance checks of the file system
 * that holds DIR, printed as TAP. Each check runs in a forked child, in a
 * fresh subdirectory, under an alarm, so a crash (SIGBUS from a mapping),
 * a hang or an early return fails that check alone. The checks are in
 * fstest_file.c, fstest_ns.c, fstest_attr.c and fstest_perm.c;
 * README.md lists them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fstest.h"

/* Why the running check failed or was skipped; the child sends it to the
 * runner through a pipe. One check runs per process: no lock needed. */
static char reason[1024];

static const struct fst_check *const tables[] = {
	fst_file_checks, fst_ns_checks, fst_attr_checks, fst_perm_checks,
};

int fst_fail(const char *file, int line, const char *fmt, ...)
{
	const char *base = strrchr(file, '/');
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n = strlen(reason);
	snprintf(reason + n, sizeof(reason) - n, " (%s:%d)",
		 base ? base + 1 : file, line);
	return FST_FAIL;
}

int fst_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return FST_SKIP;
}

const char *fst_errname(int e)
{
	static char buf[32];
	const char *s = e ? strerrorname_np(e) : "0";

	if (s)
		return s;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

int fst_fail_errno(const char *file, int line, const char *what, long r,
		   int got, int want1, int want2)
{
	char want[64];

	snprintf(want, sizeof(want), "%s", fst_errname(want1));
	if (want2 != want1)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 " or %s", fst_errname(want2));
	if (r != -1)
		return fst_fail(file, line, "%s: returned %ld, want errno %s",
				what, r, want);
	return fst_fail(file, line, "%s: got errno %s, want %s", what,
			fst_errname(got), want);
}

void fst_pattern(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	/* xorshift32: cheap, never stuck at 0 since x starts odd */
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

ssize_t fst_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t fst_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int fst_put(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n;
	int e;

	if (fd < 0)
		return -1;
	n = fst_pwrite_all(fd, buf, len, 0);
	e = errno;
	if (close(fd) < 0)
		return -1;
	if (n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* Compare @len bytes read from @fd with @want; @what names the source. */
static int expect_fd_named(int fd, const void *want, size_t len,
			   const char *what)
{
	unsigned char *got = malloc(len + 1);
	const unsigned char *w = want;
	ssize_t n;
	size_t i;

	ASSERT(got, "out of memory");
	/* one byte more than wanted: a longer file must show up */
	n = fst_pread_all(fd, got, len + 1, 0);
	if (n < 0) {
		free(got);
		FAIL("%s: read: %s", what, fst_errname(errno));
	}
	if ((size_t)n != len) {
		free(got);
		FAIL("%s: read %zd bytes, want %zu", what, n, len);
	}
	for (i = 0; i < len && got[i] == w[i]; i++)
		;
	if (i < len) {
		unsigned g = got[i];

		free(got);
		FAIL("%s: byte %zu is 0x%02x, want 0x%02x", what, i, g, w[i]);
	}
	free(got);
	return FST_PASS;
}

int fst_expect_fd(int fd, const void *want, size_t len)
{
	return expect_fd_named(fd, want, len, "fd");
}

int fst_expect_file(const char *path, const void *want, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	ASSERT(fd >= 0, "open '%s': %s", path, fst_errname(errno));
	r = expect_fd_named(fd, want, len, path);
	close(fd);
	return r;
}

int fst_lstat(const char *path, struct stat *st)
{
	ASSERT(lstat(path, st) == 0, "lstat '%s': %s", path,
	       fst_errname(errno));
	return FST_PASS;
}

int fst_expect_gone(const char *path)
{
	struct stat st;

	errno = 0;
	ASSERT(lstat(path, &st) < 0 && errno == ENOENT,
	       "'%s' still exists (lstat: %s)", path, fst_errname(errno));
	return FST_PASS;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "{a, b, c}" of @n sorted names into @out. */
static void join_names(char **v, size_t n, char *out, size_t cap)
{
	size_t i, len = 0;

	snprintf(out, cap, "{");
	for (i = 0; i < n && (len = strlen(out)) + 8 < cap; i++)
		snprintf(out + len, cap - len, "%s%.40s", i ? ", " : "", v[i]);
	len = strlen(out);
	snprintf(out + len, cap - len, "}");
}

int fst_expect_listing(const char *dir, const char *const *want)
{
	char **got = NULL, **exp = NULL, gs[300], ws[300];
	size_t ng = 0, nw = 0, cap = 0, i;
	struct dirent *de;
	int same = 1;
	DIR *d = opendir(dir);

	ASSERT(d, "opendir '%s': %s", dir, fst_errname(errno));
	while ((de = readdir(d))) {
		if (ng == cap) {
			char **n = realloc(got, (cap = cap * 2 + 64) *
					   sizeof(*got));

			ASSERT(n, "out of memory");
			got = n;
		}
		got[ng] = strdup(de->d_name);
		ASSERT(got[ng], "out of memory");
		ng++;
	}
	closedir(d);
	while (want[nw])
		nw++;
	exp = malloc((nw + 1) * sizeof(*exp));
	ASSERT(exp, "out of memory");
	memcpy(exp, want, nw * sizeof(*exp));
	qsort(got, ng, sizeof(*got), cmp_str);
	qsort(exp, nw, sizeof(*exp), cmp_str);
	same = ng == nw;
	for (i = 0; same && i < ng; i++)
		same = strcmp(got[i], exp[i]) == 0;
	join_names(got, ng, gs, sizeof(gs));
	join_names(exp, nw, ws, sizeof(ws));
	for (i = 0; i < ng; i++)
		free(got[i]);
	free(got);
	free(exp);
	ASSERT(same, "'%s' lists %zu names %s, want %zu %s", dir, ng, gs, nw,
	       ws);
	return FST_PASS;
}

void fst_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int fst_ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Read what the child @pid wrote to @fd into reason, reap it. Returns
 * its FST_* (a signal or an odd exit is FST_FAIL). */
static int collect(pid_t pid, int fd)
{
	size_t len = 0;
	ssize_t n;
	int status, r;

	while (len + 1 < sizeof(reason) &&
	       (n = read(fd, reason + len, sizeof(reason) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	reason[len] = '\0';
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		const char *sig = sigabbrev_np(WTERMSIG(status));

		snprintf(reason, sizeof(reason), "killed by SIG%s%s",
			 sig ? sig : "?",
			 WTERMSIG(status) == SIGALRM ? " (timed out)" : "");
		return FST_FAIL;
	}
	r = WEXITSTATUS(status);
	if (r != FST_PASS && r != FST_SKIP)
		r = FST_FAIL;
	if (r == FST_FAIL && !reason[0])
		snprintf(reason, sizeof(reason), "exited %d",
			 WEXITSTATUS(status));
	return r;
}

int fst_as_user(uid_t uid, gid_t gid, int (*fn)(void))
{
	int pfd[2], r;
	pid_t pid;

	ASSERT(pipe(pfd) == 0, "pipe: %s", fst_errname(errno));
	pid = fork();
	ASSERT(pid >= 0, "fork: %s", fst_errname(errno));
	if (pid == 0) {
		close(pfd[0]);
		reason[0] = '\0';
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			r = fst_fail(__FILE__, __LINE__, "becoming %u:%u: %s",
				     (unsigned)uid, (unsigned)gid,
				     fst_errname(errno));
		else
			r = fn();
		if (write(pfd[1], reason, strlen(reason)) < 0)
			r = FST_FAIL;
		_exit(r);
	}
	close(pfd[1]);
	return collect(pid, pfd[0]);
}

/* @name is in the comma-separated @list: exactly, or as its group (the
 * part before the '.'), or as a prefix ending in '*'. */
static int in_list(const char *name, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n && p[n - 1] == '*' && strncmp(name, p, n - 1) == 0)
			return 1;
		if (n && strncmp(name, p, n) == 0 &&
		    (name[n] == '\0' || name[n] == '.'))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int rm_fn(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

static int chmod_fn(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)ftw;
	/* a check may leave a directory without rwx; best effort */
	if (flag == FTW_D || flag == FTW_DNR)
		(void)chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

/* rm -rf @path; a failure is reported (a file system that cannot delete
 * what a check made is not conformant). */
static int remove_tree(const char *path)
{
	(void)nftw(path, chmod_fn, 16, FTW_PHYS);
	return nftw(path, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run @c in a child inside @dir; fills reason. Returns FST_*. */
static int run_one(const struct fst_check *c, const char *dir,
		   unsigned timeout)
{
	int pfd[2], r;
	pid_t pid;

	reason[0] = '\0';
	if (pipe(pfd) < 0) {
		snprintf(reason, sizeof(reason), "pipe: %s",
			 fst_errname(errno));
		return FST_FAIL;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		snprintf(reason, sizeof(reason), "fork: %s",
			 fst_errname(errno));
		return FST_FAIL;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (chdir(dir) < 0) {
			r = fst_fail(__FILE__, __LINE__, "chdir '%s': %s",
				     dir, fst_errname(errno));
		} else {
			umask(022);
			alarm(timeout);
			r = c->fn();
		}
		if (write(pfd[1], reason, strlen(reason)) < 0)
			r = FST_FAIL;
		_exit(r);
	}
	close(pfd[1]);
	return collect(pid, pfd[0]);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fstest [-l] DIR\n"
		"  runs POSIX conformance checks in fresh subdirectories of DIR\n"
		"  -l  list the checks and exit\n"
		"  FSTEST_SKIP=a,b  skip checks or groups; FSTEST_ONLY=a,b "
		"run only these\n"
		"  FSTEST_TIMEOUT=S  seconds per check (default 120)\n");
}

/* Run check number @num in @root/NNN and print its TAP line. */
static int run_check(const struct fst_check *c, int num, const char *root,
		     const char *skip, unsigned timeout)
{
	char dir[PATH_MAX + 16];
	int r;

	if (skip && in_list(c->name, skip)) {
		printf("ok %d - %s: %s # SKIP FSTEST_SKIP\n", num, c->name,
		       c->desc);
		return FST_SKIP;
	}
	snprintf(dir, sizeof(dir), "%s/%03d", root, num);
	if (mkdir(dir, 0755) < 0) {
		printf("not ok %d - %s: %s # mkdir '%s': %s\n", num, c->name,
		       c->desc, dir, fst_errname(errno));
		return FST_FAIL;
	}
	r = run_one(c, dir, timeout);
	if (remove_tree(dir) < 0 && r != FST_FAIL) {
		snprintf(reason, sizeof(reason),
			 "cannot remove what the check made: %s",
			 fst_errname(errno));
		r = FST_FAIL;
	}
	if (r == FST_PASS)
		printf("ok %d - %s: %s\n", num, c->name, c->desc);
	else if (r == FST_SKIP)
		printf("ok %d - %s: %s # SKIP %s\n", num, c->name, c->desc,
		       reason);
	else
		printf("not ok %d - %s: %s # %s\n", num, c->name, c->desc,
		       reason);
	return r;
}

int main(int argc, char **argv)
{
	const char *skip = getenv("FSTEST_SKIP");
	const char *only = getenv("FSTEST_ONLY");
	const char *tmo = getenv("FSTEST_TIMEOUT");
	unsigned timeout = tmo && atoi(tmo) > 0 ? (unsigned)atoi(tmo) : 120;
	int n[3] = { 0, 0, 0 }, list = 0, total = 0, num = 0;
	char root[PATH_MAX];
	size_t t, i;

	if (argc == 3 && strcmp(argv[1], "-l") == 0)
		list = 1;
	else if (argc != 2 || argv[1][0] == '-') {
		usage();
		return 2;
	}
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (i = 0; tables[t][i].name; i++) {
			if (list)
				printf("%-28s %s\n", tables[t][i].name,
				       tables[t][i].desc);
			if (!only || in_list(tables[t][i].name, only))
				total++;
		}
	if (list)
		return 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(root, sizeof(root), "%s/fstest.XXXXXX", argv[argc - 1]);
	if (!mkdtemp(root)) {
		fprintf(stderr, "fstest: cannot create a directory in '%s': "
			"%s\n", argv[argc - 1], strerror(errno));
		return 2;
	}
	/* mkdtemp made it 0700: the perm checks act as another user */
	(void)chmod(root, 0755);
	printf("1..%d\n", total);
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (i = 0; tables[t][i].name; i++)
			if (!only || in_list(tables[t][i].name, only))
				n[run_check(&tables[t][i], ++num, root, skip,
					    timeout)]++;
	printf("fstest: %d passed, %d failed, %d skipped\n", n[FST_PASS],
	       n[FST_FAIL], n[FST_SKIP]);
	if (rmdir(root) < 0) {
		fprintf(stderr, "fstest: cannot remove '%s': %s\n", root,
			strerror(errno));
		return 1;
	}
	return n[FST_FAIL] ? 1 : 0;
}
