/*
 * fstest_ns.c - checks of the name space: rename (all its cases, as
 * torch.save and np.save use it), unlink of open files, mkdir/rmdir,
 * symlinks, hard links, long and odd names, readdir and inode numbers.
 * Each runs in a fresh directory (fstest.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fstest.h"

static int expect_ino(const char *path, ino_t want)
{
	struct stat st;

	TRY(fst_lstat(path, &st));
	ASSERT(st.st_ino == want, "'%s': st_ino %llu, want %llu", path,
	       (unsigned long long)st.st_ino, (unsigned long long)want);
	return FST_PASS;
}

static int expect_nlink(const char *path, nlink_t want)
{
	struct stat st;

	TRY(fst_lstat(path, &st));
	ASSERT(st.st_nlink == want, "'%s': st_nlink %lu, want %lu", path,
	       (unsigned long)st.st_nlink, (unsigned long)want);
	return FST_PASS;
}

static int rename_file(void)
{
	struct stat st;

	OK(fst_put("a", "alpha", 5, 0640));
	TRY(fst_lstat("a", &st));
	OK(rename("a", "b"));
	TRY(fst_expect_gone("a"));
	TRY(expect_ino("b", st.st_ino));
	TRY(fst_expect_file("b", "alpha", 5));
	OK(mkdir("d", 0755));
	OK(rename("b", "d/c"));
	TRY(fst_expect_gone("b"));
	TRY(expect_ino("d/c", st.st_ino));
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", "d",
						      NULL }));
	TRY(fst_expect_listing("d", (const char *[]){ ".", "..", "c", NULL }));
	ERR(rename("missing", "x"), ENOENT);
	return FST_PASS;
}

static int rename_over_file(void)
{
	struct stat src, dst, fst;
	int old;

	OK(fst_put("new", "new bytes", 9, 0644));
	OK(fst_put("target", "old", 3, 0644));
	TRY(fst_lstat("new", &src));
	TRY(fst_lstat("target", &dst));
	OK(old = open("target", O_RDONLY));
	OK(rename("new", "target"));
	TRY(fst_expect_gone("new"));
	TRY(expect_ino("target", src.st_ino));
	TRY(fst_expect_file("target", "new bytes", 9));
	/* a reader of the replaced file keeps reading the old bytes */
	TRY(fst_expect_fd(old, "old", 3));
	OK(fstat(old, &fst));
	ASSERT(fst.st_ino == dst.st_ino, "the open fd changed inode");
	ASSERT(fst.st_nlink == 0, "the replaced file has st_nlink %lu, want 0",
	       (unsigned long)fst.st_nlink);
	OK(close(old));
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", "target",
						      NULL }));
	return FST_PASS;
}

static int rename_dir(void)
{
	struct stat d, top;

	OK(mkdir("a", 0755));
	OK(mkdir("a/sub", 0755));
	OK(fst_put("a/sub/f", "deep", 4, 0644));
	OK(mkdir("other", 0755));
	TRY(fst_lstat("a", &d));
	TRY(fst_lstat(".", &top));
	OK(rename("a", "other/b"));
	TRY(fst_expect_gone("a"));
	TRY(expect_ino("other/b", d.st_ino));
	TRY(fst_expect_file("other/b/sub/f", "deep", 4));
	/* ".." follows the move; the link counts of both parents too */
	TRY(fst_lstat("other", &top));
	TRY(expect_ino("other/b/..", top.st_ino));
	TRY(expect_nlink(".", 3));
	TRY(expect_nlink("other", 3));
	TRY(fst_expect_listing("other", (const char *[]){ ".", "..", "b",
							  NULL }));
	return FST_PASS;
}

static int rename_dir_over_empty(void)
{
	struct stat d;

	OK(mkdir("a", 0755));
	OK(fst_put("a/f", "x", 1, 0644));
	OK(mkdir("empty", 0700));
	TRY(fst_lstat("a", &d));
	OK(rename("a", "empty"));
	TRY(fst_expect_gone("a"));
	TRY(expect_ino("empty", d.st_ino));
	TRY(fst_expect_file("empty/f", "x", 1));
	TRY(expect_nlink(".", 3));
	return FST_PASS;
}

static int rename_dir_errors(void)
{
	OK(mkdir("a", 0755));
	OK(mkdir("a/b", 0755));
	OK(mkdir("full", 0755));
	OK(fst_put("full/f", "x", 1, 0644));
	OK(fst_put("file", "y", 1, 0644));
	ERR2(rename("a", "full"), ENOTEMPTY, EEXIST);
	ERR(rename("a", "a/b/c"), EINVAL);
	ERR(rename("a", "a/b"), EINVAL);
	ERR(rename("file", "a"), EISDIR);
	ERR(rename("a", "file"), ENOTDIR);
	ERR(rename("file", "file/x"), ENOTDIR);
	TRY(fst_expect_file("full/f", "x", 1));
	TRY(fst_expect_file("file", "y", 1));
	TRY(fst_expect_listing("a", (const char *[]){ ".", "..", "b", NULL }));
	return FST_PASS;
}

static int rename_self(void)
{
	struct stat st;

	OK(fst_put("f", "same", 4, 0644));
	TRY(fst_lstat("f", &st));
	OK(rename("f", "f"));
	TRY(expect_ino("f", st.st_ino));
	TRY(fst_expect_file("f", "same", 4));
	/* two names of one file: rename does nothing, both names stay */
	OK(link("f", "g"));
	OK(rename("f", "g"));
	TRY(expect_nlink("f", 2));
	TRY(expect_ino("g", st.st_ino));
	OK(mkdir("d", 0755));
	OK(rename("d", "d"));
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", "d", "f", "g",
						      NULL }));
	return FST_PASS;
}

static int rename_noreplace(void)
{
	OK(fst_put("a", "A", 1, 0644));
	OK(fst_put("b", "B", 1, 0644));
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
	TRY(fst_expect_file("a", "A", 1));
	TRY(fst_expect_file("b", "B", 1));
	OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	TRY(fst_expect_gone("a"));
	TRY(fst_expect_file("c", "A", 1));
	return FST_PASS;
}

static int rename_exchange(void)
{
	struct stat a, d;
	int r;

	OK(fst_put("a", "A", 1, 0644));
	OK(mkdir("d", 0755));
	OK(fst_put("d/in", "I", 1, 0644));
	TRY(fst_lstat("a", &a));
	TRY(fst_lstat("d", &d));
	r = renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_EXCHANGE);
	if (r < 0 && (errno == EINVAL || errno == ENOSYS))
		return fst_skip("RENAME_EXCHANGE is not supported (%s)",
				fst_errname(errno));
	ASSERT(r == 0, "renameat2(RENAME_EXCHANGE): %s", fst_errname(errno));
	TRY(expect_ino("d", a.st_ino));
	TRY(expect_ino("a", d.st_ino));
	TRY(fst_expect_file("d", "A", 1));
	TRY(fst_expect_file("a/in", "I", 1));
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "nope", RENAME_EXCHANGE),
	    ENOENT);
	return FST_PASS;
}

/* What torch.save/np.save through a temp file, and os.replace, do. */
static int rename_tmp_then_rename(void)
{
	unsigned char v1[40000], v2[50000];
	int fd, dfd, i;

	fst_pattern(v1, sizeof(v1), 20);
	OK(fst_put("model.pt", v1, sizeof(v1), 0644));
	for (i = 0; i < 3; i++) {
		fst_pattern(v2, sizeof(v2), 21 + i);
		OK(fd = open(".model.pt.tmp", O_WRONLY | O_CREAT | O_EXCL, 0644));
		ASSERT(fst_pwrite_all(fd, v2, sizeof(v2), 0) == sizeof(v2),
		       "write: %s", fst_errname(errno));
		OK(fsync(fd));
		OK(close(fd));
		OK(rename(".model.pt.tmp", "model.pt"));
		OK(dfd = open(".", O_RDONLY | O_DIRECTORY));
		OK(fsync(dfd));
		OK(close(dfd));
		TRY(fst_expect_file("model.pt", v2, sizeof(v2)));
		TRY(fst_expect_listing(".", (const char *[]){ ".", "..",
			"model.pt", NULL }));
	}
	return FST_PASS;
}

static int rename_symlink(void)
{
	char buf[64];
	ssize_t n;

	OK(fst_put("target", "T", 1, 0644));
	OK(symlink("target", "l"));
	OK(rename("l", "m"));
	n = readlink("m", buf, sizeof(buf));
	ASSERT(n == 6 && memcmp(buf, "target", 6) == 0,
	       "the renamed link reads '%.*s'", (int)(n > 0 ? n : 0), buf);
	TRY(fst_expect_file("target", "T", 1));
	TRY(fst_expect_gone("l"));
	return FST_PASS;
}

static int unlink_open_file(void)
{
	struct stat st;
	int fd;

	OK(fst_put("f", "still here", 10, 0644));
	OK(fd = open("f", O_RDWR));
	OK(unlink("f"));
	TRY(fst_expect_gone("f"));
	ERR(open("f", O_RDONLY), ENOENT);
	TRY(fst_expect_fd(fd, "still here", 10));
	OK(fstat(fd, &st));
	ASSERT(st.st_nlink == 0, "st_nlink %lu on the unlinked file, want 0",
	       (unsigned long)st.st_nlink);
	/* it stays writable, and grows */
	ASSERT(fst_pwrite_all(fd, " and more", 9, 10) == 9, "pwrite: %s",
	       fst_errname(errno));
	TRY(fst_expect_fd(fd, "still here and more", 19));
	OK(ftruncate(fd, 5));
	TRY(fst_expect_fd(fd, "still", 5));
	OK(close(fd));
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", NULL }));
	return FST_PASS;
}

static int unlink_errors(void)
{
	OK(mkdir("d", 0755));
	OK(fst_put("f", "x", 1, 0644));
	ERR(unlink("d"), EISDIR);
	ERR(unlink("missing"), ENOENT);
	ERR(unlink("f/x"), ENOTDIR);
	OK(unlink("f"));
	ERR(unlink("f"), ENOENT);
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", "d", NULL }));
	return FST_PASS;
}

static int rmdir_checks(void)
{
	OK(mkdir("d", 0755));
	OK(fst_put("d/f", "x", 1, 0644));
	OK(fst_put("f", "x", 1, 0644));
	OK(mkdir("e", 0755));
	TRY(expect_nlink(".", 4));
	ERR2(rmdir("d"), ENOTEMPTY, EEXIST);
	ERR(rmdir("f"), ENOTDIR);
	ERR(rmdir("d/."), EINVAL);
	ERR(rmdir("."), EINVAL);
	ERR2(rmdir("e/.."), ENOTEMPTY, EEXIST);
	ERR(rmdir("missing"), ENOENT);
	OK(rmdir("e"));
	TRY(fst_expect_gone("e"));
	TRY(expect_nlink(".", 3));
	TRY(fst_expect_file("d/f", "x", 1));
	return FST_PASS;
}

static int mkdir_checks(void)
{
	struct stat st;

	OK(mkdir("d", 0755));
	TRY(fst_lstat("d", &st));
	ASSERT(S_ISDIR(st.st_mode), "st_mode 0%o is not a directory",
	       (unsigned)st.st_mode);
	TRY(expect_nlink("d", 2));
	TRY(expect_nlink(".", 3));
	TRY(fst_expect_listing("d", (const char *[]){ ".", "..", NULL }));
	OK(mkdir("d/e", 0755));
	TRY(expect_nlink("d", 3));
	OK(fst_put("f", "x", 1, 0644));
	OK(symlink("nowhere", "l"));
	ERR(mkdir("d", 0755), EEXIST);
	ERR(mkdir("f", 0755), EEXIST);
	ERR(mkdir("l", 0755), EEXIST);
	ERR(mkdir("missing/d", 0755), ENOENT);
	ERR(mkdir("f/d", 0755), ENOTDIR);
	TRY(fst_expect_gone("nowhere"));
	return FST_PASS;
}

static int symlink_readlink(void)
{
	static const char *const targets[] = {
		"plain", "../up/and/down", "/abs/path", "with space",
		"trailing/", "\xc3\xa9t\xc3\xa9\n\x01", "a@v1",
	};
	char long_target[1024], buf[1100], name[16];
	struct stat st;
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		size_t len = strlen(targets[i]);

		snprintf(name, sizeof(name), "l%zu", i);
		OK(symlink(targets[i], name));
		n = readlink(name, buf, sizeof(buf));
		ASSERT(n == (ssize_t)len && memcmp(buf, targets[i], len) == 0,
		       "readlink '%s' gave %zd bytes, want '%s'", name, n,
		       targets[i]);
		TRY(fst_lstat(name, &st));
		ASSERT(S_ISLNK(st.st_mode), "'%s' is not a symlink", name);
		ASSERT(st.st_size == (off_t)len, "'%s': lstat size %lld, "
		       "want %zu", name, (long long)st.st_size, len);
	}
	memset(long_target, 'x', sizeof(long_target) - 1);
	long_target[sizeof(long_target) - 1] = '\0';
	OK(symlink(long_target, "long"));
	n = readlink("long", buf, sizeof(buf));
	ASSERT(n == 1023 && memcmp(buf, long_target, 1023) == 0,
	       "readlink of a 1023-byte target gave %zd bytes", n);
	/* a short buffer truncates, without a NUL */
	n = readlink("l0", buf, 3);
	ASSERT(n == 3 && memcmp(buf, "pla", 3) == 0,
	       "readlink into 3 bytes gave %zd", n);
	OK(fst_put("f", "x", 1, 0644));
	ERR(readlink("f", buf, sizeof(buf)), EINVAL);
	ERR(symlink("x", "f"), EEXIST);
	ERR(symlink("x", "l0"), EEXIST);
	return FST_PASS;
}

static int symlink_follow(void)
{
	struct stat st, t;
	int fd;

	OK(mkdir("d", 0755));
	OK(fst_put("d/t", "target", 6, 0644));
	OK(symlink("t", "d/rel"));
	OK(symlink("d", "dl"));
	TRY(fst_expect_file("d/rel", "target", 6));
	TRY(fst_expect_file("dl/t", "target", 6));
	OK(stat("d/rel", &st));
	TRY(fst_lstat("d/t", &t));
	ASSERT(st.st_ino == t.st_ino && S_ISREG(st.st_mode),
	       "stat does not follow the link");
	/* dangling: stat fails, lstat works, O_CREAT makes the target */
	OK(symlink("made", "dangling"));
	ERR(stat("dangling", &st), ENOENT);
	ERR(open("dangling", O_RDONLY), ENOENT);
	TRY(fst_lstat("dangling", &st));
	ASSERT(S_ISLNK(st.st_mode), "the dangling link is not a symlink");
	OK(fd = open("dangling", O_WRONLY | O_CREAT, 0644));
	ASSERT(write(fd, "m", 1) == 1, "write: %s", fst_errname(errno));
	OK(close(fd));
	TRY(fst_expect_file("made", "m", 1));
	OK(unlink("dl"));
	TRY(fst_expect_file("d/t", "target", 6));
	return FST_PASS;
}

static int link_checks(void)
{
	struct stat st;
	int fd;

	OK(fst_put("a", "shared", 6, 0644));
	TRY(fst_lstat("a", &st));
	OK(link("a", "b"));
	OK(mkdir("d", 0755));
	OK(link("a", "d/c"));
	TRY(expect_ino("b", st.st_ino));
	TRY(expect_ino("d/c", st.st_ino));
	TRY(expect_nlink("a", 3));
	/* data is shared: a write through one name shows in the others */
	OK(fd = open("b", O_WRONLY));
	ASSERT(fst_pwrite_all(fd, "SH", 2, 0) == 2, "pwrite: %s",
	       fst_errname(errno));
	OK(close(fd));
	TRY(fst_expect_file("a", "SHared", 6));
	TRY(fst_expect_file("d/c", "SHared", 6));
	OK(unlink("a"));
	TRY(expect_nlink("b", 2));
	OK(unlink("d/c"));
	TRY(expect_nlink("b", 1));
	TRY(fst_expect_file("b", "SHared", 6));
	ERR(link("d", "d2"), EPERM);
	ERR(link("b", "d"), EEXIST);
	ERR(link("missing", "x"), ENOENT);
	/* link(2) of a symlink links the symlink itself */
	OK(symlink("b", "sl"));
	OK(link("sl", "sl2"));
	TRY(fst_lstat("sl2", &st));
	ASSERT(S_ISLNK(st.st_mode), "link of a symlink is not a symlink");
	return FST_PASS;
}

static int names_length(void)
{
	char n255[256], n256[257];
	int fd;

	memset(n255, 'n', 255);
	n255[255] = '\0';
	memset(n256, 'n', 256);
	n256[256] = '\0';
	OK(fd = open(n255, O_WRONLY | O_CREAT | O_EXCL, 0644));
	OK(close(fd));
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", n255,
						      NULL }));
	OK(rename(n255, "short"));
	OK(rename("short", n255));
	OK(unlink(n255));
	OK(mkdir(n255, 0755));
	OK(rmdir(n255));
	ERR(open(n256, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
	ERR(mkdir(n256, 0755), ENAMETOOLONG);
	ERR(symlink("x", n256), ENAMETOOLONG);
	OK(fst_put("f", "x", 1, 0644));
	ERR(rename("f", n256), ENAMETOOLONG);
	ERR(link("f", n256), ENAMETOOLONG);
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", "f", NULL }));
	return FST_PASS;
}

static int names_odd(void)
{
	static const char *const names[] = {
		"with space", "new\nline", "tab\there", "-dash", "a@v1",
		"x:y", "back\\slash", "\xc3\xa9t\xc3\xa9", "...", ".hidden",
		"~1", "%20", "*", "?", "\x7f", NULL,
	};
	const char *want[20] = { ".", ".." };
	char buf[64];
	size_t i;

	for (i = 0; names[i]; i++) {
		snprintf(buf, sizeof(buf), "%zu", i);
		OK(fst_put(names[i], buf, strlen(buf), 0644));
		want[i + 2] = names[i];
	}
	want[i + 2] = NULL;
	TRY(fst_expect_listing(".", want));
	for (i = 0; names[i]; i++) {
		snprintf(buf, sizeof(buf), "%zu", i);
		TRY(fst_expect_file(names[i], buf, strlen(buf)));
	}
	return FST_PASS;
}

/* mkfifo, or FST_SKIP where the file system refuses FIFOs (EPERM,
 * EOPNOTSUPP: a documented refusal, not a silent one). */
static int make_fifo(const char *name)
{
	if (mkfifo(name, 0644) == 0)
		return FST_PASS;
	if (errno == EPERM || errno == EOPNOTSUPP)
		return fst_skip("FIFOs are refused (%s)", fst_errname(errno));
	FAIL("mkfifo '%s': %s", name, fst_errname(errno));
}

static int names_fifo(void)
{
	struct stat st;

	TRY(make_fifo("fifo"));
	TRY(fst_lstat("fifo", &st));
	ASSERT(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0644,
	       "st_mode 0%o, want a FIFO of mode 0644", (unsigned)st.st_mode);
	ERR(mkfifo("fifo", 0644), EEXIST);
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", "fifo",
						      NULL }));
	OK(rename("fifo", "moved"));
	OK(unlink("moved"));
	return FST_PASS;
}

/* readdir gives each entry once, with d_ino and d_type matching lstat
 * (a FIFO among them where the file system has FIFOs). */
static int names_readdir(void)
{
	const char *want[] = {
		".", "..", "file", "dir", "link", "fifo", NULL,
	};
	struct dirent *de;
	struct stat st;
	int seen = 0, dino = 0, nwant = 5;
	DIR *d;

	OK(fst_put("file", "x", 1, 0644));
	OK(mkdir("dir", 0755));
	OK(symlink("file", "link"));
	if (make_fifo("fifo") != FST_PASS) {
		want[5] = NULL;
		nwant = 4;
	}
	TRY(fst_expect_listing(".", want));
	d = opendir(".");
	ASSERT(d, "opendir: %s", fst_errname(errno));
	while ((de = readdir(d))) {
		int t;

		if (strcmp(de->d_name, "..") == 0)
			continue;
		TRY(fst_lstat(de->d_name, &st));
		ASSERT(de->d_ino == st.st_ino, "'%s': d_ino %llu, st_ino %llu",
		       de->d_name, (unsigned long long)de->d_ino,
		       (unsigned long long)st.st_ino);
		dino++;
		t = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ?
			DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
		ASSERT(de->d_type == DT_UNKNOWN || de->d_type == t,
		       "'%s': d_type %d, want %d", de->d_name, de->d_type, t);
		seen++;
	}
	closedir(d);
	ASSERT(seen == nwant && dino == nwant, "readdir gave %d entries, "
	       "want %d", seen, nwant);
	return FST_PASS;
}

/* Enough entries to take several getdents/FUSE readdir replies. */
static int names_readdir_many(void)
{
	enum { N = 1500 };
	static char names[N][40];
	static const char *want[N + 3];
	size_t i;
	int fd;

	want[0] = ".";
	want[1] = "..";
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "entry-%04zu-%s", i,
			 i % 2 ? "long-name-padding" : "s");
		OK(fd = open(names[i], O_WRONLY | O_CREAT | O_EXCL, 0644));
		OK(close(fd));
		want[i + 2] = names[i];
	}
	want[N + 2] = NULL;
	TRY(fst_expect_listing(".", want));
	for (i = 0; i < N; i++)
		if (i % 3 != 0)
			OK(unlink(names[i]));
	for (i = 0; i < N / 3; i++)
		want[i + 2] = names[i * 3];
	want[N / 3 + 2] = NULL;
	TRY(fst_expect_listing(".", want));
	return FST_PASS;
}

static int ino_stable(void)
{
	struct stat a, b, c;
	char name[16];
	ino_t inos[100];
	int fd, i, j;

	OK(fst_put("f", "x", 1, 0644));
	TRY(fst_lstat("f", &a));
	TRY(fst_lstat("f", &b));
	ASSERT(a.st_ino == b.st_ino && a.st_dev == b.st_dev,
	       "two lstat calls gave st_ino %llu and %llu",
	       (unsigned long long)a.st_ino, (unsigned long long)b.st_ino);
	OK(fd = open("f", O_RDONLY));
	OK(fstat(fd, &c));
	OK(close(fd));
	ASSERT(c.st_ino == a.st_ino, "fstat st_ino %llu, lstat %llu",
	       (unsigned long long)c.st_ino, (unsigned long long)a.st_ino);
	OK(mkdir("d", 0755));
	OK(rename("f", "d/g"));
	TRY(expect_ino("d/g", a.st_ino));
	OK(rename("d/g", "f"));
	TRY(expect_ino("f", a.st_ino));
	TRY(fst_lstat("d", &b));
	TRY(expect_ino("d/.", b.st_ino));
	TRY(fst_lstat(".", &c));
	TRY(expect_ino("d/..", c.st_ino));
	/* distinct files, distinct numbers */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		if (i % 10 == 0)
			OK(mkdir(name, 0755));
		else
			OK(fst_put(name, "", 0, 0644));
		TRY(fst_lstat(name, &a));
		inos[i] = a.st_ino;
		for (j = 0; j < i; j++)
			ASSERT(inos[j] != inos[i], "n%d and n%d share st_ino "
			       "%llu", j, i, (unsigned long long)inos[i]);
	}
	return FST_PASS;
}

const struct fst_check fst_ns_checks[] = {
	{ "rename.file", "a file moves to a new name and dir, st_ino kept",
	  rename_file },
	{ "rename.over_file", "over an existing file replaces it atomically",
	  rename_over_file },
	{ "rename.dir", "a directory moves with its children, st_ino kept",
	  rename_dir },
	{ "rename.dir_over_empty", "a directory replaces an empty one",
	  rename_dir_over_empty },
	{ "rename.dir_errors", "ENOTEMPTY, EINVAL (own subtree), EISDIR, "
	  "ENOTDIR", rename_dir_errors },
	{ "rename.self", "rename to itself or to another link is a no-op",
	  rename_self },
	{ "rename.noreplace", "RENAME_NOREPLACE over a file is EEXIST",
	  rename_noreplace },
	{ "rename.exchange", "RENAME_EXCHANGE swaps a file and a directory",
	  rename_exchange },
	{ "rename.tmp_then_rename", "temp file, fsync, rename over, fsync dir "
	  "(torch.save)", rename_tmp_then_rename },
	{ "rename.symlink", "renaming a symlink moves the link",
	  rename_symlink },
	{ "unlink.open_file", "an unlinked open file still reads and writes",
	  unlink_open_file },
	{ "unlink.errors", "unlink of a dir EISDIR, of a missing name ENOENT",
	  unlink_errors },
	{ "rmdir.checks", "ENOTEMPTY, ENOTDIR, EINVAL for '.', parent nlink",
	  rmdir_checks },
	{ "mkdir.checks", "mkdir: nlink 2, parent nlink, EEXIST, ENOENT",
	  mkdir_checks },
	{ "symlink.readlink", "readlink gives the target bytes, lstat their "
	  "length", symlink_readlink },
	{ "symlink.follow", "links are followed, dangling links lstat",
	  symlink_follow },
	{ "link.checks", "hard links share st_ino and data, count st_nlink",
	  link_checks },
	{ "names.length", "a 255-byte name works, 256 is ENAMETOOLONG",
	  names_length },
	{ "names.odd", "names with spaces, newlines, @, UTF-8 round-trip",
	  names_odd },
	{ "names.fifo", "mkfifo makes a FIFO (skip where FIFOs are refused)",
	  names_fifo },
	{ "names.readdir", "readdir lists each entry once, d_ino == st_ino",
	  names_readdir },
	{ "names.readdir_many", "1500 entries listed, then the 500 left of them",
	  names_readdir_many },
	{ "ino.stable", "st_ino stable across lookups and renames, distinct",
	  ino_stable },
	{ NULL, NULL, NULL },
};
