/*
 * fstest_perm.c - checks of permissions as another user (nobody,
 * 65534): what the mount's default_permissions must enforce with
 * -o allow_other. Root prepares the files, a child that became nobody
 * tries them. Skipped when not root, or when nobody cannot reach the
 * directory (a FUSE mount without allow_other). Fresh directory each.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fstest.h"

#define NOBODY 65534

static int reach_probe(void)
{
	struct stat st;

	if (stat(".", &st) < 0)
		return fst_skip("uid %d cannot reach this directory (%s): a "
				"FUSE mount without allow_other?", NOBODY,
				fst_errname(errno));
	return FST_PASS;
}

/* Root, and nobody can stat the check directory. */
static int can_switch(void)
{
	if (geteuid() != 0)
		return fst_skip("needs root to act as uid %d", NOBODY);
	return fst_as_user(NOBODY, NOBODY, reach_probe);
}

static int others_file(void)
{
	struct timespec t[2] = { { 5, 0 }, { 5, 0 } };
	char buf[8];
	int fd;

	ERR(open("f", O_WRONLY), EACCES);
	ERR(open("f", O_RDWR | O_TRUNC), EACCES);
	OK(fd = open("f", O_RDONLY));
	OK(close(fd));
	ERR(open("secret", O_RDONLY), EACCES);
	ERR(truncate("f", 0), EACCES);
	ERR(chmod("f", 0666), EPERM);
	ERR(chown("f", NOBODY, NOBODY), EPERM);
	/* explicit times need the owner, "now" needs write permission */
	ERR(utimensat(AT_FDCWD, "f", t, 0), EPERM);
	ERR(utimensat(AT_FDCWD, "f", NULL, 0), EACCES);
	if (getxattr("f", "user.x", buf, sizeof(buf)) >= 0 ||
	    errno != ENOTSUP)
		ERR2(setxattr("f", "user.y", "1", 1, 0), EACCES, EPERM);
	return FST_PASS;
}

static int perm_file(void)
{
	TRY(can_switch());
	OK(fst_put("f", "root's", 6, 0644));
	OK(fst_put("secret", "s", 1, 0600));
	TRY(fst_as_user(NOBODY, NOBODY, others_file));
	TRY(fst_expect_file("f", "root's", 6));
	return FST_PASS;
}

static int others_dir(void)
{
	struct stat st;
	int fd;

	ERR(open("d/new", O_WRONLY | O_CREAT, 0644), EACCES);
	ERR(mkdir("d/sub", 0755), EACCES);
	ERR(unlink("d/f"), EACCES);
	ERR(rename("d/f", "d/g"), EACCES);
	ERR(rename("d/f", "open/g"), EACCES);
	ERR(symlink("x", "d/l"), EACCES);
	ERR(stat("closed/f", &st), EACCES);
	ERR(open("closed/f", O_RDONLY), EACCES);
	/* a world-writable directory takes nobody's files */
	OK(fd = open("open/mine", O_WRONLY | O_CREAT | O_EXCL, 0640));
	OK(fstat(fd, &st));
	OK(close(fd));
	ASSERT(st.st_uid == NOBODY && st.st_gid == NOBODY,
	       "a file nobody made is owned by %u:%u", (unsigned)st.st_uid,
	       (unsigned)st.st_gid);
	OK(mkdir("open/mydir", 0700));
	OK(rename("open/mine", "open/mydir/mine"));
	return FST_PASS;
}

static int perm_dir(void)
{
	struct stat st;

	TRY(can_switch());
	OK(mkdir("d", 0755));
	OK(fst_put("d/f", "x", 1, 0666));
	OK(mkdir("open", 0777));
	OK(chmod("open", 0777));
	OK(mkdir("closed", 0700));
	OK(fst_put("closed/f", "x", 1, 0644));
	TRY(fst_as_user(NOBODY, NOBODY, others_dir));
	TRY(fst_expect_listing("d", (const char *[]){ ".", "..", "f", NULL }));
	TRY(fst_lstat("open/mydir/mine", &st));
	ASSERT(st.st_uid == NOBODY, "nobody's file owned by %u after rename",
	       (unsigned)st.st_uid);
	return FST_PASS;
}

static int others_sticky(void)
{
	ERR(unlink("t/roots"), EPERM);
	ERR(rename("t/roots", "t/moved"), EPERM);
	ERR(rmdir("t/rootdir"), EPERM);
	OK(fst_put("t/mine", "m", 1, 0644));
	OK(rename("t/mine", "t/mine2"));
	OK(unlink("t/mine2"));
	return FST_PASS;
}

static int perm_sticky(void)
{
	TRY(can_switch());
	OK(mkdir("t", 0777));
	OK(chmod("t", 01777));
	OK(fst_put("t/roots", "r", 1, 0666));
	OK(mkdir("t/rootdir", 0777));
	TRY(fst_as_user(NOBODY, NOBODY, others_sticky));
	TRY(fst_expect_listing("t", (const char *[]){ ".", "..", "roots",
						      "rootdir", NULL }));
	return FST_PASS;
}

static int nobody_writes(void)
{
	int fd;

	OK(fd = open("f", O_WRONLY));
	ASSERT(write(fd, "w", 1) == 1, "write: %s", fst_errname(errno));
	OK(close(fd));
	ERR(chown("f", 0, 0), EPERM);
	ERR(chown("f", (uid_t)-1, 0), EPERM);
	return FST_PASS;
}

/* A write by anyone but root clears set-user-ID, as does any chown. */
static int perm_suid_cleared(void)
{
	struct stat st;

	TRY(can_switch());
	OK(fst_put("f", "x", 1, 0666));
	OK(chown("f", NOBODY, NOBODY));
	OK(chmod("f", 04777));
	TRY(fst_as_user(NOBODY, NOBODY, nobody_writes));
	TRY(fst_lstat("f", &st));
	ASSERT((st.st_mode & 07777) == 0777, "mode 0%o after nobody's "
	       "write, want 0777 (S_ISUID cleared)",
	       (unsigned)(st.st_mode & 07777));
	/* chown clears it too, even by root */
	OK(chmod("f", 04755));
	OK(chown("f", 0, 0));
	TRY(fst_lstat("f", &st));
	ASSERT((st.st_mode & 07777) == 0755, "mode 0%o after chown, want "
	       "0755", (unsigned)(st.st_mode & 07777));
	return FST_PASS;
}

const struct fst_check fst_perm_checks[] = {
	{ "perm.file", "another user cannot write, chmod, chown or touch a "
	  "0644 file", perm_file },
	{ "perm.dir", "another user cannot create or remove in a 0755 dir, "
	  "can in 0777", perm_dir },
	{ "perm.sticky", "in a sticky dir only the owner removes or renames",
	  perm_sticky },
	{ "perm.suid_cleared", "a write or chown clears S_ISUID",
	  perm_suid_cleared },
	{ NULL, NULL, NULL },
};
