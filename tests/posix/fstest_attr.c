/*
 * fstest_attr.c - checks of attributes: mode bits, owners, timestamps
 * (explicit with nanoseconds, UTIME_NOW/OMIT, and what updates mtime and
 * ctime), user.* extended attributes and statfs. Each runs in a fresh
 * directory (fstest.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fstest.h"

static int expect_mode(const char *path, mode_t want)
{
	struct stat st;

	TRY(fst_lstat(path, &st));
	ASSERT((st.st_mode & 07777) == want, "'%s': mode 0%o, want 0%o", path,
	       (unsigned)(st.st_mode & 07777), (unsigned)want);
	return FST_PASS;
}

static int chmod_file(void)
{
	static const mode_t modes[] = { 0, 0600, 0644, 0755, 0700, 0444, 0111,
					0640, 04755, 0777 };
	size_t i;
	int fd;

	OK(fst_put("f", "x", 1, 0644));
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		OK(chmod("f", modes[i]));
		TRY(expect_mode("f", modes[i]));
	}
	OK(fd = open("f", O_RDONLY));
	OK(fchmod(fd, 0604));
	TRY(expect_mode("f", 0604));
	OK(close(fd));
	OK(fchmodat(AT_FDCWD, "f", 0620, 0));
	TRY(expect_mode("f", 0620));
	/* a chmod through a symlink changes the target */
	OK(symlink("f", "l"));
	OK(chmod("l", 0660));
	TRY(expect_mode("f", 0660));
	ERR(chmod("missing", 0644), ENOENT);
	TRY(fst_expect_file("f", "x", 1));
	return FST_PASS;
}

static int chmod_dir(void)
{
	static const mode_t modes[] = { 0700, 0755, 01777, 0711, 0500, 0750 };
	size_t i;

	OK(mkdir("d", 0755));
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		OK(chmod("d", modes[i]));
		TRY(expect_mode("d", modes[i]));
	}
	OK(chmod("d", 0755));
	OK(fst_put("d/f", "in", 2, 0644));
	TRY(fst_expect_file("d/f", "in", 2));
	return FST_PASS;
}

static int chown_own(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct stat st;
	int fd;

	OK(fst_put("f", "x", 1, 0644));
	OK(mkdir("d", 0755));
	OK(symlink("f", "l"));
	OK(chown("f", uid, gid));
	OK(chown("d", uid, gid));
	OK(chown("f", (uid_t)-1, (gid_t)-1));
	OK(lchown("l", uid, gid));
	OK(fd = open("f", O_RDONLY));
	OK(fchown(fd, uid, gid));
	OK(fstat(fd, &st));
	OK(close(fd));
	ASSERT(st.st_uid == uid && st.st_gid == gid,
	       "owner %u:%u after chown, want %u:%u", (unsigned)st.st_uid,
	       (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
	TRY(fst_lstat("d", &st));
	ASSERT(st.st_uid == uid && st.st_gid == gid, "dir owner %u:%u",
	       (unsigned)st.st_uid, (unsigned)st.st_gid);
	ERR(chown("missing", uid, gid), ENOENT);
	return FST_PASS;
}

static int expect_times(const char *path, const struct timespec *at,
			const struct timespec *mt)
{
	struct stat st;

	TRY(fst_lstat(path, &st));
	ASSERT(st.st_atim.tv_sec == at->tv_sec &&
	       st.st_atim.tv_nsec == at->tv_nsec,
	       "'%s': atime %lld.%09ld, want %lld.%09ld", path,
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)at->tv_sec, at->tv_nsec);
	ASSERT(st.st_mtim.tv_sec == mt->tv_sec &&
	       st.st_mtim.tv_nsec == mt->tv_nsec,
	       "'%s': mtime %lld.%09ld, want %lld.%09ld", path,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       (long long)mt->tv_sec, mt->tv_nsec);
	return FST_PASS;
}

static int utime_explicit(void)
{
	struct timespec t[2] = { { 1000000000, 123456789 },
				 { 1234567890, 987654321 } };
	struct timespec old[2] = { { 86400, 1 }, { 0, 0 } };
	int fd;

	OK(fst_put("f", "x", 1, 0644));
	OK(utimensat(AT_FDCWD, "f", t, 0));
	TRY(expect_times("f", &t[0], &t[1]));
	OK(fd = open("f", O_RDONLY));
	OK(futimens(fd, old));
	OK(close(fd));
	TRY(expect_times("f", &old[0], &old[1]));
	OK(mkdir("d", 0755));
	OK(utimensat(AT_FDCWD, "d", t, 0));
	TRY(expect_times("d", &t[0], &t[1]));
	/* AT_SYMLINK_NOFOLLOW sets the link's own times */
	OK(symlink("f", "l"));
	OK(utimensat(AT_FDCWD, "l", t, AT_SYMLINK_NOFOLLOW));
	TRY(expect_times("l", &t[0], &t[1]));
	TRY(expect_times("f", &old[0], &old[1]));
	ERR(utimensat(AT_FDCWD, "missing", t, 0), ENOENT);
	return FST_PASS;
}

/* The current time as the file system's clock sees it: a coarse clock,
 * a second of slack either side for file systems that round. */
static int in_window(const struct timespec *t, const struct timespec *lo,
		     const struct timespec *hi)
{
	return t->tv_sec >= lo->tv_sec - 1 && t->tv_sec <= hi->tv_sec + 1;
}

static int utime_now_omit(void)
{
	struct timespec past[2] = { { 100, 5 }, { 200, 6 } };
	struct timespec ts[2], lo, hi;
	struct stat st;

	OK(fst_put("f", "x", 1, 0644));
	OK(utimensat(AT_FDCWD, "f", past, 0));
	clock_gettime(CLOCK_REALTIME, &lo);
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_NOW;
	OK(utimensat(AT_FDCWD, "f", ts, 0));
	clock_gettime(CLOCK_REALTIME, &hi);
	TRY(fst_lstat("f", &st));
	ASSERT(in_window(&st.st_atim, &lo, &hi) &&
	       in_window(&st.st_mtim, &lo, &hi),
	       "UTIME_NOW set atime %lld, mtime %lld; now is %lld",
	       (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec,
	       (long long)lo.tv_sec);
	/* UTIME_OMIT leaves that time alone */
	OK(utimensat(AT_FDCWD, "f", past, 0));
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = (struct timespec){ 300, 7 };
	OK(utimensat(AT_FDCWD, "f", ts, 0));
	TRY(expect_times("f", &past[0], &ts[1]));
	ts[0] = (struct timespec){ 400, 8 };
	ts[1].tv_nsec = UTIME_OMIT;
	OK(utimensat(AT_FDCWD, "f", ts, 0));
	TRY(expect_times("f", &ts[0], &(struct timespec){ 300, 7 }));
	/* a NULL times array is "now" for both */
	OK(utimensat(AT_FDCWD, "f", NULL, 0));
	clock_gettime(CLOCK_REALTIME, &hi);
	TRY(fst_lstat("f", &st));
	ASSERT(in_window(&st.st_mtim, &lo, &hi), "utimensat(NULL) set mtime "
	       "%lld", (long long)st.st_mtim.tv_sec);
	return FST_PASS;
}

/* Times set in the past, so that any update shows without waiting. */
static int set_past(const char *path)
{
	const struct timespec past[2] = { { 1000, 0 }, { 1000, 0 } };

	OK(utimensat(AT_FDCWD, path, past, AT_SYMLINK_NOFOLLOW));
	return FST_PASS;
}

static int mtime_is_past(const char *path, int *past)
{
	struct stat st;

	TRY(fst_lstat(path, &st));
	*past = st.st_mtim.tv_sec == 1000;
	return FST_PASS;
}

#define EXPECT_MTIME_MOVED(path, what)					\
	do {								\
		int p_;							\
		TRY(mtime_is_past(path, &p_));				\
		ASSERT(!p_, "'%s': mtime unchanged by %s", path, what);	\
	} while (0)

static int mtime_updates(void)
{
	int fd;

	OK(fst_put("f", "x", 1, 0644));
	OK(mkdir("d", 0755));
	OK(mkdir("e", 0755));
	TRY(set_past("f"));
	OK(fd = open("f", O_WRONLY));
	ASSERT(write(fd, "y", 1) == 1, "write: %s", fst_errname(errno));
	OK(close(fd));
	EXPECT_MTIME_MOVED("f", "write");
	TRY(set_past("f"));
	OK(truncate("f", 100));
	EXPECT_MTIME_MOVED("f", "truncate");
	TRY(set_past("f"));
	OK(fd = open("f", O_WRONLY | O_TRUNC));
	OK(close(fd));
	EXPECT_MTIME_MOVED("f", "O_TRUNC");
	/* the directories: create, unlink, rename out of and into */
	TRY(set_past("d"));
	OK(fst_put("d/g", "g", 1, 0644));
	EXPECT_MTIME_MOVED("d", "a create in it");
	TRY(set_past("d"));
	TRY(set_past("e"));
	OK(rename("d/g", "e/g"));
	EXPECT_MTIME_MOVED("d", "a rename out of it");
	EXPECT_MTIME_MOVED("e", "a rename into it");
	TRY(set_past("e"));
	OK(unlink("e/g"));
	EXPECT_MTIME_MOVED("e", "an unlink in it");
	TRY(set_past("e"));
	OK(mkdir("e/sub", 0755));
	EXPECT_MTIME_MOVED("e", "a mkdir in it");
	return FST_PASS;
}

static int ctime_updates(void)
{
	static const char *const what[] = { "chmod", "chown", "utimensat",
					    "link", "rename", "write" };
	struct stat a, b;
	size_t i;
	int fd;

	OK(fst_put("f", "x", 1, 0644));
	for (i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		TRY(fst_lstat("f", &a));
		/* ctime cannot be set: let a coarse clock tick instead */
		fst_sleep_ms(30);
		switch (i) {
		case 0:
			OK(chmod("f", 0600));
			break;
		case 1:
			OK(chown("f", geteuid(), getegid()));
			break;
		case 2:
			OK(utimensat(AT_FDCWD, "f", NULL, 0));
			break;
		case 3:
			OK(link("f", "g"));
			break;
		case 4:
			OK(rename("f", "h"));
			OK(rename("h", "f"));
			break;
		default:
			OK(fd = open("f", O_WRONLY));
			ASSERT(write(fd, "y", 1) == 1, "write: %s",
			       fst_errname(errno));
			OK(close(fd));
			break;
		}
		TRY(fst_lstat("f", &b));
		ASSERT(fst_ts_before(&a.st_ctim, &b.st_ctim),
		       "ctime %lld.%09ld not moved by %s (was %lld.%09ld)",
		       (long long)b.st_ctim.tv_sec, b.st_ctim.tv_nsec, what[i],
		       (long long)a.st_ctim.tv_sec, a.st_ctim.tv_nsec);
	}
	return FST_PASS;
}

/* user.* xattrs; a file system without them says ENOTSUP: a skip. */
static int xattr_supported(const char *path)
{
	if (setxattr(path, "user.probe", "1", 1, 0) == 0)
		return removexattr(path, "user.probe") == 0 ? FST_PASS :
			fst_fail(__FILE__, __LINE__, "removexattr: %s",
				 fst_errname(errno));
	if (errno == ENOTSUP)
		return fst_skip("user.* xattrs are not supported (ENOTSUP)");
	FAIL("setxattr user.probe: %s", fst_errname(errno));
}

/* The user.* names of @path, sorted and joined with ' '. */
static int user_xattrs(const char *path, char *out, size_t cap)
{
	char buf[4096], *p, *names[64];
	ssize_t n = listxattr(path, buf, sizeof(buf));
	size_t k = 0, i, len = 0;

	ASSERT(n >= 0, "listxattr '%s': %s", path, fst_errname(errno));
	for (p = buf; p < buf + n && k < 64; p += strlen(p) + 1)
		if (strncmp(p, "user.", 5) == 0)
			names[k++] = p;
	for (i = 1; i < k; i++) {
		char *t = names[i];
		size_t j = i;

		for (; j > 0 && strcmp(names[j - 1], t) > 0; j--)
			names[j] = names[j - 1];
		names[j] = t;
	}
	out[0] = '\0';
	for (i = 0; i < k && len + strlen(names[i]) + 2 < cap; i++) {
		snprintf(out + len, cap - len, "%s%s", i ? " " : "", names[i]);
		len = strlen(out);
	}
	return FST_PASS;
}

static int expect_xattr(const char *path, const char *name,
			const void *want, size_t len)
{
	char buf[2048];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));

	ASSERT(n >= 0, "getxattr '%s' %s: %s", path, name,
	       fst_errname(errno));
	ASSERT((size_t)n == len && memcmp(buf, want, len) == 0,
	       "getxattr '%s' %s: %zd bytes, not the %zu set", path, name, n,
	       len);
	ASSERT(getxattr(path, name, NULL, 0) == (ssize_t)len,
	       "getxattr size query of %s is not %zu", name, len);
	return FST_PASS;
}

static int xattr_set_get(void)
{
	static const char bin[] = "a\0b\xff\n";
	unsigned char big[1024];
	char names[512];
	int fd;

	OK(fst_put("f", "x", 1, 0644));
	TRY(xattr_supported("f"));
	fst_pattern(big, sizeof(big), 30);
	OK(setxattr("f", "user.text", "hello", 5, 0));
	OK(setxattr("f", "user.bin", bin, sizeof(bin), 0));
	OK(setxattr("f", "user.empty", "", 0, 0));
	OK(setxattr("f", "user.big", big, sizeof(big), 0));
	TRY(expect_xattr("f", "user.text", "hello", 5));
	TRY(expect_xattr("f", "user.bin", bin, sizeof(bin)));
	TRY(expect_xattr("f", "user.empty", "", 0));
	TRY(expect_xattr("f", "user.big", big, sizeof(big)));
	TRY(user_xattrs("f", names, sizeof(names)));
	ASSERT(strcmp(names, "user.big user.bin user.empty user.text") == 0,
	       "listxattr gives '%s'", names);
	/* a plain set replaces; fsetxattr/fgetxattr on a fd too */
	OK(setxattr("f", "user.text", "bye", 3, 0));
	TRY(expect_xattr("f", "user.text", "bye", 3));
	OK(fd = open("f", O_RDONLY));
	OK(fsetxattr(fd, "user.fd", "F", 1, 0));
	ASSERT(fgetxattr(fd, "user.fd", names, sizeof(names)) == 1 &&
	       names[0] == 'F', "fgetxattr user.fd");
	OK(close(fd));
	/* directories carry them too */
	OK(mkdir("d", 0755));
	OK(setxattr("d", "user.dir", "D", 1, 0));
	TRY(expect_xattr("d", "user.dir", "D", 1));
	TRY(fst_expect_file("f", "x", 1));
	return FST_PASS;
}

static int xattr_remove(void)
{
	char names[512];

	OK(fst_put("f", "x", 1, 0644));
	TRY(xattr_supported("f"));
	OK(setxattr("f", "user.a", "1", 1, 0));
	OK(setxattr("f", "user.b", "2", 1, 0));
	OK(removexattr("f", "user.a"));
	ERR(getxattr("f", "user.a", names, sizeof(names)), ENODATA);
	TRY(user_xattrs("f", names, sizeof(names)));
	ASSERT(strcmp(names, "user.b") == 0, "listxattr gives '%s' after "
	       "removing user.a", names);
	ERR(removexattr("f", "user.a"), ENODATA);
	OK(removexattr("f", "user.b"));
	TRY(user_xattrs("f", names, sizeof(names)));
	ASSERT(names[0] == '\0', "listxattr gives '%s', want none", names);
	return FST_PASS;
}

static int xattr_flags(void)
{
	char buf[16];

	OK(fst_put("f", "x", 1, 0644));
	TRY(xattr_supported("f"));
	ERR(setxattr("f", "user.r", "1", 1, XATTR_REPLACE), ENODATA);
	ERR(getxattr("f", "user.r", buf, sizeof(buf)), ENODATA);
	OK(setxattr("f", "user.r", "1", 1, XATTR_CREATE));
	ERR(setxattr("f", "user.r", "2", 1, XATTR_CREATE), EEXIST);
	TRY(expect_xattr("f", "user.r", "1", 1));
	OK(setxattr("f", "user.r", "3", 1, XATTR_REPLACE));
	TRY(expect_xattr("f", "user.r", "3", 1));
	ERR(getxattr("f", "user.missing", buf, sizeof(buf)), ENODATA);
	ERR(getxattr("missing", "user.r", buf, sizeof(buf)), ENOENT);
	return FST_PASS;
}

static int xattr_erange(void)
{
	char buf[64];
	ssize_t n;

	OK(fst_put("f", "x", 1, 0644));
	TRY(xattr_supported("f"));
	OK(setxattr("f", "user.long", "0123456789", 10, 0));
	ERR(getxattr("f", "user.long", buf, 9), ERANGE);
	n = listxattr("f", NULL, 0);
	ASSERT(n >= 10, "listxattr size query gave %zd", n);
	ERR(listxattr("f", buf, 3), ERANGE);
	ASSERT(getxattr("f", "user.long", buf, 10) == 10,
	       "getxattr into exactly 10 bytes: %s", fst_errname(errno));
	return FST_PASS;
}

static int statfs_checks(void)
{
	struct statvfs sv;
	struct statfs sf;
	int fd;

	OK(statvfs(".", &sv));
	ASSERT(sv.f_bsize > 0 && sv.f_frsize > 0, "f_bsize %lu, f_frsize %lu",
	       sv.f_bsize, sv.f_frsize);
	ASSERT(sv.f_namemax >= 255, "f_namemax %lu, want >= 255",
	       sv.f_namemax);
	ASSERT(sv.f_bfree <= sv.f_blocks && sv.f_bavail <= sv.f_bfree,
	       "blocks %llu, free %llu, avail %llu",
	       (unsigned long long)sv.f_blocks,
	       (unsigned long long)sv.f_bfree,
	       (unsigned long long)sv.f_bavail);
	OK(fst_put("f", "x", 1, 0644));
	OK(fd = open("f", O_RDONLY));
	OK(fstatfs(fd, &sf));
	OK(close(fd));
	ASSERT(sf.f_bsize > 0 && sf.f_namelen >= 255,
	       "fstatfs: f_bsize %ld, f_namelen %ld", (long)sf.f_bsize,
	       (long)sf.f_namelen);
	return FST_PASS;
}

const struct fst_check fst_attr_checks[] = {
	{ "chmod.file", "mode bits of a file read back, also via fd and link",
	  chmod_file },
	{ "chmod.dir", "mode bits of a directory read back", chmod_dir },
	{ "chown.own", "chown to the own uid/gid works (file, dir, link, fd)",
	  chown_own },
	{ "time.explicit", "utimensat/futimens set times to the nanosecond",
	  utime_explicit },
	{ "time.now_omit", "UTIME_NOW sets now, UTIME_OMIT keeps the time",
	  utime_now_omit },
	{ "time.mtime", "write, truncate and directory edits update mtime",
	  mtime_updates },
	{ "time.ctime", "chmod, chown, utimensat, link, rename, write update "
	  "ctime", ctime_updates },
	{ "xattr.set_get", "user.* values round-trip, listxattr lists them",
	  xattr_set_get },
	{ "xattr.remove", "removexattr, then ENODATA", xattr_remove },
	{ "xattr.flags", "XATTR_CREATE EEXIST, XATTR_REPLACE ENODATA",
	  xattr_flags },
	{ "xattr.erange", "a short buffer is ERANGE", xattr_erange },
	{ "statfs.checks", "statvfs/fstatfs: f_bsize > 0, f_namemax >= 255",
	  statfs_checks },
	{ NULL, NULL, NULL },
};
