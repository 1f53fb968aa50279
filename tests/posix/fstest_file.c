/*
 * fstest_file.c - checks of one file's life: open flags, reads and
 * writes (holes, offsets, 8 MiB, a second fd, a child process), truncate,
 * fallocate, fsync and shared mappings. Each runs in a fresh directory
 * (fstest.c), so names are short and fixed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fstest.h"

static int open_creat(void)
{
	struct stat st;
	int fd;

	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	OK(fstat(fd, &st));
	ASSERT(S_ISREG(st.st_mode), "st_mode 0%o is not a regular file",
	       (unsigned)st.st_mode);
	ASSERT(st.st_size == 0, "st_size %lld, want 0", (long long)st.st_size);
	ASSERT(st.st_nlink == 1, "st_nlink %lu, want 1",
	       (unsigned long)st.st_nlink);
	ASSERT(st.st_uid == geteuid(), "st_uid %u, want %u",
	       (unsigned)st.st_uid, (unsigned)geteuid());
	OK(close(fd));
	TRY(fst_expect_file("f", "", 0));
	/* O_CREAT without O_EXCL opens what exists and keeps its bytes */
	OK(fst_put("g", "keep", 4, 0644));
	OK(fd = open("g", O_RDWR | O_CREAT, 0600));
	OK(close(fd));
	TRY(fst_expect_file("g", "keep", 4));
	return FST_PASS;
}

static int open_excl(void)
{
	OK(fst_put("f", "x", 1, 0644));
	ERR(open("f", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
	OK(mkdir("d", 0755));
	ERR(open("d", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	/* O_EXCL never follows a symlink, even a dangling one */
	OK(symlink("nowhere", "l"));
	ERR(open("l", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
	TRY(fst_expect_gone("nowhere"));
	TRY(fst_expect_file("f", "x", 1));
	return FST_PASS;
}

static int open_trunc(void)
{
	struct stat st;
	int fd;

	OK(fst_put("f", "0123456789", 10, 0644));
	OK(fd = open("f", O_WRONLY | O_TRUNC));
	OK(fstat(fd, &st));
	ASSERT(st.st_size == 0, "st_size %lld after O_TRUNC, want 0",
	       (long long)st.st_size);
	ASSERT(write(fd, "ab", 2) == 2, "write: %s", fst_errname(errno));
	OK(close(fd));
	TRY(fst_expect_file("f", "ab", 2));
	return FST_PASS;
}

static int open_append(void)
{
	int a, b;

	OK(fst_put("f", "start:", 6, 0644));
	OK(a = open("f", O_WRONLY | O_APPEND));
	OK(b = open("f", O_WRONLY | O_APPEND));
	/* each write lands at the current end, whichever fd wrote last */
	ASSERT(write(a, "A1", 2) == 2, "write a: %s", fst_errname(errno));
	ASSERT(write(b, "B1", 2) == 2, "write b: %s", fst_errname(errno));
	ASSERT(write(a, "A2", 2) == 2, "write a: %s", fst_errname(errno));
	ASSERT(lseek(a, 0, SEEK_SET) == 0, "lseek: %s", fst_errname(errno));
	ASSERT(write(a, "A3", 2) == 2, "write a: %s", fst_errname(errno));
	ASSERT(write(b, "B2", 2) == 2, "write b: %s", fst_errname(errno));
	ASSERT(lseek(b, 0, SEEK_CUR) == 16, "b's offset %lld, want 16",
	       (long long)lseek(b, 0, SEEK_CUR));
	OK(close(a));
	OK(close(b));
	TRY(fst_expect_file("f", "start:A1B1A2A3B2", 16));
	return FST_PASS;
}

static int open_errors(void)
{
	OK(fst_put("f", "x", 1, 0644));
	OK(mkdir("d", 0755));
	OK(symlink("f", "l"));
	ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	ERR(open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
	ERR(open("missing", O_RDONLY), ENOENT);
	ERR(open("missing/f", O_RDONLY | O_CREAT, 0644), ENOENT);
	ERR(open("f/x", O_RDONLY), ENOTDIR);
	ERR(open("d", O_WRONLY), EISDIR);
	ERR(open("d", O_RDWR), EISDIR);
	ERR(open("d", O_WRONLY | O_CREAT, 0644), EISDIR);
	TRY(fst_expect_gone("missing"));
	return FST_PASS;
}

static int open_dir_rdonly(void)
{
	int fd;

	OK(mkdir("d", 0755));
	OK(fd = open("d", O_RDONLY | O_DIRECTORY));
	ERR(read(fd, (char[4]){ 0 }, 4), EISDIR);
	OK(close(fd));
	return FST_PASS;
}

static int mode_of(const char *path, mode_t *m)
{
	struct stat st;

	TRY(fst_lstat(path, &st));
	*m = st.st_mode & 07777;
	return FST_PASS;
}

static int open_umask(void)
{
	static const struct {
		mode_t umask, mode, want;
	} t[] = {
		{ 022, 0666, 0644 }, { 077, 0666, 0600 }, { 0, 0640, 0640 },
		{ 027, 0777, 0750 }, { 0, 0, 0 },
	};
	char name[16];
	mode_t m;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		umask(t[i].umask);
		snprintf(name, sizeof(name), "f%zu", i);
		OK(fd = open(name, O_WRONLY | O_CREAT | O_EXCL, t[i].mode));
		OK(close(fd));
		TRY(mode_of(name, &m));
		ASSERT(m == t[i].want, "file 0%o under umask 0%o is 0%o, "
		       "want 0%o", (unsigned)t[i].mode, (unsigned)t[i].umask,
		       (unsigned)m, (unsigned)t[i].want);
		snprintf(name, sizeof(name), "d%zu", i);
		OK(mkdir(name, t[i].mode | 0100));
		TRY(mode_of(name, &m));
		ASSERT(m == ((t[i].mode | 0100) & ~t[i].umask),
		       "dir 0%o under umask 0%o is 0%o",
		       (unsigned)(t[i].mode | 0100), (unsigned)t[i].umask,
		       (unsigned)m);
	}
	umask(022);
	return FST_PASS;
}

static int io_hole(void)
{
	const off_t off = 1 << 20;
	unsigned char *buf = calloc(1, off + 5);
	struct stat st;
	int fd;

	ASSERT(buf, "out of memory");
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(fst_pwrite_all(fd, "tail!", 5, off) == 5, "pwrite: %s",
	       fst_errname(errno));
	OK(fstat(fd, &st));
	ASSERT(st.st_size == off + 5, "st_size %lld, want %lld",
	       (long long)st.st_size, (long long)off + 5);
	memcpy(buf + off, "tail!", 5);
	TRY(fst_expect_fd(fd, buf, off + 5));
	/* a hole between two writes in the middle of a file, too */
	ASSERT(fst_pwrite_all(fd, "mid", 3, 4096 * 3 + 7) == 3, "pwrite: %s",
	       fst_errname(errno));
	memcpy(buf + 4096 * 3 + 7, "mid", 3);
	OK(close(fd));
	TRY(fst_expect_file("f", buf, off + 5));
	free(buf);
	return FST_PASS;
}

static int io_pwrite_pread(void)
{
	static const off_t offs[] = { 0, 1, 4095, 4096, 65537, 300000 };
	unsigned char want[300000 + 1000], got[1000];
	size_t i;
	int fd;

	memset(want, 0, sizeof(want));
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(write(fd, "xy", 2) == 2, "write: %s", fst_errname(errno));
	memcpy(want, "xy", 2);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		fst_pattern(got, sizeof(got), (uint32_t)i + 1);
		ASSERT(fst_pwrite_all(fd, got, 1000, offs[i]) == 1000,
		       "pwrite at %lld: %s", (long long)offs[i],
		       fst_errname(errno));
		memcpy(want + offs[i], got, 1000);
	}
	/* pread/pwrite leave the file offset where write(2) put it */
	ASSERT(lseek(fd, 0, SEEK_CUR) == 2, "offset %lld after pwrite, want 2",
	       (long long)lseek(fd, 0, SEEK_CUR));
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		ASSERT(fst_pread_all(fd, got, 1000, offs[i]) == 1000,
		       "pread at %lld: %s", (long long)offs[i],
		       fst_errname(errno));
		ASSERT(memcmp(got, want + offs[i], 1000) == 0,
		       "pread at %lld differs", (long long)offs[i]);
	}
	ASSERT(pread(fd, got, 10, sizeof(want)) == 0,
	       "pread at EOF did not return 0");
	ASSERT(pread(fd, got, 10, sizeof(want) + 12345) == 0,
	       "pread past EOF did not return 0");
	ASSERT(pread(fd, got, 10, sizeof(want) - 3) == 3,
	       "pread across EOF did not return the 3 bytes left");
	OK(close(fd));
	TRY(fst_expect_file("f", want, sizeof(want)));
	return FST_PASS;
}

static int io_large(void)
{
	const size_t len = 8u << 20;
	unsigned char *buf = malloc(len);
	struct stat st;
	ssize_t n;
	int fd;

	ASSERT(buf, "out of memory");
	fst_pattern(buf, len, 8);
	OK(fd = open("f", O_WRONLY | O_CREAT | O_EXCL, 0644));
	/* one write(2) of 8 MiB; the kernel may split it, we may not */
	n = write(fd, buf, len);
	ASSERT(n > 0, "write of 8 MiB: %s", fst_errname(errno));
	if ((size_t)n < len)
		ASSERT(fst_pwrite_all(fd, buf + n, len - n, n) ==
		       (ssize_t)(len - n), "write rest: %s",
		       fst_errname(errno));
	OK(close(fd));
	OK(stat("f", &st));
	ASSERT(st.st_size == (off_t)len, "st_size %lld, want %zu",
	       (long long)st.st_size, len);
	TRY(fst_expect_file("f", buf, len));
	free(buf);
	return FST_PASS;
}

static int io_short_files(void)
{
	static const size_t sizes[] = { 0, 1, 2, 511, 512, 4095, 4096, 4097,
					65535, 131073 };
	unsigned char buf[131073];
	char name[16];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "f%zu", sizes[i]);
		fst_pattern(buf, sizes[i], (uint32_t)sizes[i]);
		OK(fst_put(name, buf, sizes[i], 0644));
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct stat st;

		snprintf(name, sizeof(name), "f%zu", sizes[i]);
		fst_pattern(buf, sizes[i], (uint32_t)sizes[i]);
		OK(stat(name, &st));
		ASSERT(st.st_size == (off_t)sizes[i], "'%s': st_size %lld",
		       name, (long long)st.st_size);
		TRY(fst_expect_file(name, buf, sizes[i]));
	}
	return FST_PASS;
}

static int io_overwrite(void)
{
	unsigned char want[20000], part[3000];
	int fd;

	fst_pattern(want, sizeof(want), 1);
	OK(fst_put("f", want, sizeof(want), 0644));
	fst_pattern(part, sizeof(part), 2);
	OK(fd = open("f", O_WRONLY));
	ASSERT(fst_pwrite_all(fd, part, sizeof(part), 7777) == sizeof(part),
	       "pwrite: %s", fst_errname(errno));
	OK(close(fd));
	memcpy(want + 7777, part, sizeof(part));
	TRY(fst_expect_file("f", want, sizeof(want)));
	return FST_PASS;
}

static int io_second_fd(void)
{
	unsigned char data[70000];
	struct stat st;
	int w, r, late;

	fst_pattern(data, sizeof(data), 3);
	OK(w = open("f", O_WRONLY | O_CREAT, 0644));
	OK(r = open("f", O_RDONLY));
	/* no fsync: the second fd must see the bytes once write returned */
	ASSERT(fst_pwrite_all(w, data, sizeof(data), 0) == sizeof(data),
	       "write: %s", fst_errname(errno));
	OK(stat("f", &st));
	ASSERT(st.st_size == sizeof(data), "st_size %lld by path, want %zu",
	       (long long)st.st_size, sizeof(data));
	TRY(fst_expect_fd(r, data, sizeof(data)));
	OK(late = open("f", O_RDONLY));
	TRY(fst_expect_fd(late, data, sizeof(data)));
	ASSERT(fst_pwrite_all(w, "Z", 1, 100) == 1, "write: %s",
	       fst_errname(errno));
	data[100] = 'Z';
	TRY(fst_expect_fd(r, data, sizeof(data)));
	TRY(fst_expect_fd(late, data, sizeof(data)));
	OK(close(w));
	OK(close(r));
	OK(close(late));
	return FST_PASS;
}

/* The child writes @len bytes of pattern @seed at 0 of "f" and exits. */
static int child_write(size_t len, uint32_t seed)
{
	int status;
	pid_t pid = fork();

	ASSERT(pid >= 0, "fork: %s", fst_errname(errno));
	if (pid == 0) {
		unsigned char buf[50000];
		int fd = open("f", O_WRONLY | O_CREAT, 0644);

		fst_pattern(buf, len, seed);
		_exit(fd < 0 || fst_pwrite_all(fd, buf, len, 0) !=
			(ssize_t)len || close(fd) < 0);
	}
	ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s",
	       fst_errname(errno));
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the child's write failed");
	return FST_PASS;
}

static int io_fork_child(void)
{
	unsigned char want[50000];
	int fd, status;
	pid_t pid;

	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	TRY(child_write(sizeof(want), 4));
	fst_pattern(want, sizeof(want), 4);
	/* the parent's fd was open before the child wrote */
	TRY(fst_expect_fd(fd, want, sizeof(want)));
	/* and the other way: the parent writes, a child reads */
	fst_pattern(want, sizeof(want), 5);
	ASSERT(fst_pwrite_all(fd, want, sizeof(want), 0) == sizeof(want),
	       "write: %s", fst_errname(errno));
	pid = fork();
	ASSERT(pid >= 0, "fork: %s", fst_errname(errno));
	if (pid == 0) {
		int rfd = open("f", O_RDONLY);

		_exit(rfd < 0 || fst_expect_fd(rfd, want, sizeof(want)));
	}
	ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s",
	       fst_errname(errno));
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "a child process read other bytes than the parent wrote");
	OK(close(fd));
	return FST_PASS;
}

static int trunc_shrink_grow(void)
{
	unsigned char want[10000];
	struct stat st;

	fst_pattern(want, sizeof(want), 6);
	OK(fst_put("f", want, sizeof(want), 0644));
	OK(truncate("f", 1000));
	OK(stat("f", &st));
	ASSERT(st.st_size == 1000, "st_size %lld after shrink, want 1000",
	       (long long)st.st_size);
	TRY(fst_expect_file("f", want, 1000));
	/* growing again shows zeros, never the bytes cut off before */
	OK(truncate("f", 9000));
	memset(want + 1000, 0, 8000);
	TRY(fst_expect_file("f", want, 9000));
	OK(truncate("f", 0));
	TRY(fst_expect_file("f", "", 0));
	return FST_PASS;
}

static int trunc_ftruncate(void)
{
	unsigned char want[300000];
	int fd;

	fst_pattern(want, 5000, 7);
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(fst_pwrite_all(fd, want, 5000, 0) == 5000, "write: %s",
	       fst_errname(errno));
	OK(ftruncate(fd, sizeof(want)));
	memset(want + 5000, 0, sizeof(want) - 5000);
	TRY(fst_expect_fd(fd, want, sizeof(want)));
	OK(ftruncate(fd, 4097));
	TRY(fst_expect_fd(fd, want, 4097));
	/* a write past the new end: the gap reads as zeros */
	ASSERT(fst_pwrite_all(fd, "E", 1, 6000) == 1, "pwrite: %s",
	       fst_errname(errno));
	memset(want + 4097, 0, 6000 - 4097);
	want[6000] = 'E';
	OK(close(fd));
	TRY(fst_expect_file("f", want, 6001));
	return FST_PASS;
}

static int trunc_errors(void)
{
	int fd;

	OK(fst_put("f", "abc", 3, 0644));
	OK(mkdir("d", 0755));
	ERR2(truncate("f", -1), EINVAL, EFBIG);
	OK(fd = open("f", O_RDWR));
	ERR2(ftruncate(fd, -1), EINVAL, EFBIG);
	OK(close(fd));
	OK(fd = open("f", O_RDONLY));
	ERR2(ftruncate(fd, 1), EINVAL, EBADF);
	OK(close(fd));
	ERR(truncate("d", 0), EISDIR);
	ERR(truncate("missing", 0), ENOENT);
	TRY(fst_expect_file("f", "abc", 3));
	return FST_PASS;
}

static int falloc_grow(void)
{
	unsigned char want[1 << 20];
	struct stat st;
	int fd;

	memset(want, 0, sizeof(want));
	fst_pattern(want, 3000, 8);
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(fst_pwrite_all(fd, want, 3000, 0) == 3000, "write: %s",
	       fst_errname(errno));
	/* mode 0 over existing data and past the end: data kept, size grows */
	OK(fallocate(fd, 0, 1000, sizeof(want) - 1000));
	OK(fstat(fd, &st));
	ASSERT(st.st_size == sizeof(want), "st_size %lld, want %zu",
	       (long long)st.st_size, sizeof(want));
	TRY(fst_expect_fd(fd, want, sizeof(want)));
	ERR(fallocate(fd, 0, 0, 0), EINVAL);
	ERR(fallocate(fd, 0, -1, 10), EINVAL);
	OK(close(fd));
	return FST_PASS;
}

static int falloc_keep_size(void)
{
	unsigned char want[5000];
	struct stat st;
	int fd;

	fst_pattern(want, sizeof(want), 9);
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(fst_pwrite_all(fd, want, sizeof(want), 0) == sizeof(want),
	       "write: %s", fst_errname(errno));
	OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
	OK(fstat(fd, &st));
	ASSERT(st.st_size == sizeof(want), "st_size %lld after KEEP_SIZE, "
	       "want %zu", (long long)st.st_size, sizeof(want));
	TRY(fst_expect_fd(fd, want, sizeof(want)));
	/* the reserved space past EOF does not leak into a later grow */
	OK(ftruncate(fd, 9000));
	OK(close(fd));
	{
		unsigned char big[9000];

		memcpy(big, want, sizeof(want));
		memset(big + sizeof(want), 0, sizeof(big) - sizeof(want));
		TRY(fst_expect_file("f", big, sizeof(big)));
	}
	return FST_PASS;
}

static int falloc_punch(void)
{
	unsigned char want[65536];
	int fd, r;

	fst_pattern(want, sizeof(want), 10);
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(fst_pwrite_all(fd, want, sizeof(want), 0) == sizeof(want),
	       "write: %s", fst_errname(errno));
	r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000,
		      20000);
	if (r < 0 && errno == EOPNOTSUPP)
		return fst_skip("PUNCH_HOLE is not supported (EOPNOTSUPP)");
	ASSERT(r == 0, "fallocate(PUNCH_HOLE): %s", fst_errname(errno));
	memset(want + 1000, 0, 20000);
	TRY(fst_expect_fd(fd, want, sizeof(want)));
	OK(close(fd));
	return FST_PASS;
}

static int sync_calls(void)
{
	int fd, dfd;

	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(write(fd, "data", 4) == 4, "write: %s", fst_errname(errno));
	OK(fsync(fd));
	OK(fdatasync(fd));
	OK(close(fd));
	OK(fd = open("f", O_RDONLY));
	OK(fsync(fd));
	OK(close(fd));
	OK(dfd = open(".", O_RDONLY | O_DIRECTORY));
	OK(fsync(dfd));
	OK(fdatasync(dfd));
	OK(close(dfd));
	OK(mkdir("d", 0755));
	OK(dfd = open("d", O_RDONLY | O_DIRECTORY));
	OK(fsync(dfd));
	OK(close(dfd));
	TRY(fst_expect_file("f", "data", 4));
	return FST_PASS;
}

static int mmap_shared_write(void)
{
	const size_t len = 65536 + 100;
	unsigned char *want = malloc(len), *m;
	int fd, other;

	ASSERT(want, "out of memory");
	fst_pattern(want, len, 11);
	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fd, len));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT(m != MAP_FAILED, "mmap: %s", fst_errname(errno));
	memcpy(m, want, len);
	OK(msync(m, len, MS_SYNC));
	OK(munmap(m, len));
	OK(close(fd));
	OK(other = open("f", O_RDONLY));
	TRY(fst_expect_fd(other, want, len));
	OK(close(other));
	free(want);
	return FST_PASS;
}

static int mmap_coherent(void)
{
	unsigned char want[8192], *m;
	int fd, other;

	fst_pattern(want, sizeof(want), 12);
	OK(fst_put("f", want, sizeof(want), 0644));
	OK(fd = open("f", O_RDWR));
	OK(other = open("f", O_RDWR));
	m = mmap(NULL, sizeof(want), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	ASSERT(m != MAP_FAILED, "mmap: %s", fst_errname(errno));
	ASSERT(memcmp(m, want, sizeof(want)) == 0,
	       "the mapping shows other bytes than the file");
	/* a store to the map, no msync: read(2) shares the page cache */
	memcpy(m + 5000, "mapped", 6);
	memcpy(want + 5000, "mapped", 6);
	TRY(fst_expect_fd(other, want, sizeof(want)));
	/* and a write(2) shows in the map */
	ASSERT(fst_pwrite_all(other, "written", 7, 100) == 7, "pwrite: %s",
	       fst_errname(errno));
	ASSERT(memcmp(m + 100, "written", 7) == 0,
	       "a write(2) does not show in the shared mapping");
	OK(munmap(m, sizeof(want)));
	OK(close(fd));
	OK(close(other));
	return FST_PASS;
}

static int mmap_grown(void)
{
	const size_t old = 3000, len = 200000;
	unsigned char *want = calloc(1, len), *m;
	int fd;

	ASSERT(want, "out of memory");
	fst_pattern(want, old, 13);
	OK(fst_put("f", want, old, 0644));
	OK(fd = open("f", O_RDWR));
	OK(ftruncate(fd, len));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT(m != MAP_FAILED, "mmap: %s", fst_errname(errno));
	ASSERT(memcmp(m, want, len) == 0,
	       "the grown file maps other bytes than data then zeros");
	memcpy(m + len - 10, "the end!!!", 10);
	memcpy(want + len - 10, "the end!!!", 10);
	OK(msync(m, len, MS_SYNC));
	OK(munmap(m, len));
	OK(close(fd));
	TRY(fst_expect_file("f", want, len));
	free(want);
	return FST_PASS;
}

static int mmap_private(void)
{
	unsigned char want[4096], *m;
	int fd;

	fst_pattern(want, sizeof(want), 14);
	OK(fst_put("f", want, sizeof(want), 0644));
	OK(fd = open("f", O_RDONLY));
	m = mmap(NULL, sizeof(want), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		 0);
	ASSERT(m != MAP_FAILED, "mmap: %s", fst_errname(errno));
	memset(m, 'P', 100);
	OK(munmap(m, sizeof(want)));
	OK(close(fd));
	TRY(fst_expect_file("f", want, sizeof(want)));
	return FST_PASS;
}

/* cp (coreutils 9) copies with copy_file_range, SEEK_DATA/SEEK_HOLE. */
static int io_copy_file_range(void)
{
	unsigned char want[200000];
	loff_t in_off = 1000, out_off = 0;
	ssize_t n;
	size_t done = 0;
	int in, out;

	fst_pattern(want, sizeof(want), 15);
	OK(fst_put("src", want, sizeof(want), 0644));
	OK(in = open("src", O_RDONLY));
	OK(out = open("dst", O_WRONLY | O_CREAT | O_EXCL, 0644));
	while (done < sizeof(want) - 1000) {
		n = copy_file_range(in, &in_off, out, &out_off,
				    sizeof(want) - 1000 - done, 0);
		ASSERT(n > 0, "copy_file_range after %zu bytes: %s", done,
		       n < 0 ? fst_errname(errno) : "returned 0");
		done += (size_t)n;
	}
	ASSERT(in_off == sizeof(want) && out_off == sizeof(want) - 1000,
	       "offsets %lld and %lld after the copy", (long long)in_off,
	       (long long)out_off);
	OK(close(in));
	OK(close(out));
	TRY(fst_expect_file("dst", want + 1000, sizeof(want) - 1000));
	return FST_PASS;
}

static int io_seek_data_hole(void)
{
	const off_t size = 3 << 20;
	off_t d, h;
	int fd;

	OK(fd = open("f", O_RDWR | O_CREAT, 0644));
	ASSERT(fst_pwrite_all(fd, "head", 4, 0) == 4, "pwrite: %s",
	       fst_errname(errno));
	ASSERT(fst_pwrite_all(fd, "tail", 4, size - 4) == 4, "pwrite: %s",
	       fst_errname(errno));
	/* what any file system gives, also one that reports no holes:
	 * data at 0, the first hole after "head" and at most at EOF */
	d = lseek(fd, 0, SEEK_DATA);
	ASSERT(d == 0, "SEEK_DATA from 0 gave %lld (%s), want 0",
	       (long long)d, d < 0 ? fst_errname(errno) : "");
	h = lseek(fd, 0, SEEK_HOLE);
	ASSERT(h >= 4 && h <= size, "SEEK_HOLE from 0 gave %lld (%s)",
	       (long long)h, h < 0 ? fst_errname(errno) : "");
	d = lseek(fd, size - 4, SEEK_DATA);
	ASSERT(d == size - 4, "SEEK_DATA at the tail gave %lld, want %lld",
	       (long long)d, (long long)size - 4);
	h = lseek(fd, size - 4, SEEK_HOLE);
	ASSERT(h == size, "SEEK_HOLE at the tail gave %lld, want EOF %lld",
	       (long long)h, (long long)size);
	ERR(lseek(fd, size, SEEK_DATA), ENXIO);
	ERR(lseek(fd, size + 10, SEEK_HOLE), ENXIO);
	OK(close(fd));
	return FST_PASS;
}

/* Run @fn in a child with the file @path open; its exit code back. */
static int in_child(int (*fn)(const char *), const char *path, int *code)
{
	int status;
	pid_t pid = fork();

	ASSERT(pid >= 0, "fork: %s", fst_errname(errno));
	if (pid == 0)
		_exit(fn(path));
	ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	       "the child did not exit");
	*code = WEXITSTATUS(status);
	return FST_PASS;
}

/* 0: the range lock conflicts as it should; 1: it does not; 2: error */
static int child_fcntl_lock(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 10, .l_len = 10 };
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return 2;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 1;
	if (errno != EAGAIN && errno != EACCES)
		return 2;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type != F_WRLCK ||
	    fl.l_pid != getppid())
		return 3;
	/* a range next to the held one is free */
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
			     .l_start = 0, .l_len = 10 };
	return fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 4;
}

static int child_flock(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return 2;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	return errno == EWOULDBLOCK ? 0 : 2;
}

/* SQLite and git lock with fcntl; pip, cargo and many tools with flock. */
static int lock_checks(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 10, .l_len = 10 };
	int fd, code;

	OK(fst_put("f", "0123456789012345678901234567890", 31, 0644));
	OK(fd = open("f", O_RDWR));
	OK(fcntl(fd, F_SETLK, &fl));
	TRY(in_child(child_fcntl_lock, "f", &code));
	ASSERT(code == 0, "a child's fcntl lock of a held range: case %d "
	       "(1 granted, 2 wrong errno, 3 F_GETLK, 4 free range refused)",
	       code);
	fl.l_type = F_UNLCK;
	OK(fcntl(fd, F_SETLK, &fl));
	TRY(in_child(child_fcntl_lock, "f", &code));
	ASSERT(code == 1, "the range stays locked after F_UNLCK (case %d)",
	       code);
	OK(flock(fd, LOCK_EX));
	TRY(in_child(child_flock, "f", &code));
	ASSERT(code == 0, "a second flock(LOCK_EX) was %s",
	       code == 1 ? "granted" : "refused with a wrong errno");
	OK(flock(fd, LOCK_UN));
	TRY(in_child(child_flock, "f", &code));
	ASSERT(code == 1, "flock stays held after LOCK_UN");
	OK(close(fd));
	return FST_PASS;
}

static int open_tmpfile(void)
{
	char proc[64];
	int fd;

	fd = open(".", O_TMPFILE | O_RDWR, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL))
		return fst_skip("O_TMPFILE is not supported (%s)",
				fst_errname(errno));
	ASSERT(fd >= 0, "open(O_TMPFILE): %s", fst_errname(errno));
	ASSERT(fst_pwrite_all(fd, "anonymous", 9, 0) == 9, "pwrite: %s",
	       fst_errname(errno));
	TRY(fst_expect_listing(".", (const char *[]){ ".", "..", NULL }));
	/* and linked into the name space, as a safe atomic create does */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	OK(linkat(AT_FDCWD, proc, AT_FDCWD, "named", AT_SYMLINK_FOLLOW));
	OK(close(fd));
	TRY(fst_expect_file("named", "anonymous", 9));
	return FST_PASS;
}

const struct fst_check fst_file_checks[] = {
	{ "open.creat", "O_CREAT makes an empty regular file, keeps an "
	  "existing one", open_creat },
	{ "open.excl", "O_EXCL on a file, dir or dangling symlink is EEXIST",
	  open_excl },
	{ "open.trunc", "O_TRUNC empties the file", open_trunc },
	{ "open.append", "two O_APPEND fds both write at the end", open_append },
	{ "open.errors", "ENOTDIR (O_DIRECTORY), ELOOP (O_NOFOLLOW), ENOENT, "
	  "EISDIR", open_errors },
	{ "open.dir_rdonly", "a directory opens read-only, read(2) is EISDIR",
	  open_dir_rdonly },
	{ "open.umask", "open and mkdir modes honour the umask", open_umask },
	{ "open.tmpfile", "an O_TMPFILE file is unnamed until linkat "
	  "(skip if unsupported)", open_tmpfile },
	{ "io.hole", "a write past EOF leaves a hole that reads as zeros",
	  io_hole },
	{ "io.pwrite_pread", "pwrite/pread at offsets keep the file offset",
	  io_pwrite_pread },
	{ "io.large", "an 8 MiB write reads back the same", io_large },
	{ "io.short_files", "files of 0..131073 bytes read back exactly",
	  io_short_files },
	{ "io.overwrite", "overwriting the middle keeps the rest",
	  io_overwrite },
	{ "io.second_fd", "a second fd reads the writes of the first",
	  io_second_fd },
	{ "io.fork_child", "a child's writes are read by the parent and back",
	  io_fork_child },
	{ "io.copy_file_range", "copy_file_range copies the bytes (as cp does)",
	  io_copy_file_range },
	{ "io.seek_data_hole", "SEEK_DATA/SEEK_HOLE find data and EOF, ENXIO "
	  "past it", io_seek_data_hole },
	{ "lock.checks", "fcntl range locks and flock exclude another process",
	  lock_checks },
	{ "trunc.shrink_grow", "truncate shrinks, then grows with zeros",
	  trunc_shrink_grow },
	{ "trunc.ftruncate", "ftruncate grows and shrinks an open file",
	  trunc_ftruncate },
	{ "trunc.errors", "negative length EINVAL, read-only fd, dir EISDIR",
	  trunc_errors },
	{ "falloc.grow", "fallocate mode 0 grows the size, keeps the data",
	  falloc_grow },
	{ "falloc.keep_size", "FALLOC_FL_KEEP_SIZE leaves st_size alone",
	  falloc_keep_size },
	{ "falloc.punch", "PUNCH_HOLE zeroes a range (skip if unsupported)",
	  falloc_punch },
	{ "sync.calls", "fsync, fdatasync and fsync of a directory return 0",
	  sync_calls },
	{ "mmap.shared_write", "MAP_SHARED stores + msync are read by read(2)",
	  mmap_shared_write },
	{ "mmap.coherent", "a shared map and read/write see each other",
	  mmap_coherent },
	{ "mmap.grown", "a file grown by ftruncate maps zeros, writes back",
	  mmap_grown },
	{ "mmap.private", "MAP_PRIVATE stores never reach the file",
	  mmap_private },
	{ NULL, NULL, NULL },
};
