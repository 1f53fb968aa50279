/*
 * folios.c - how large the page-cache folios holding a file are: reads
 * FILE to its end (so the kernel's read-ahead fills the cache the way a
 * reader does), maps it, and looks each page up in /proc/self/pagemap
 * and /proc/kpageflags (root only). A warm read copies folio by folio,
 * so a file system whose cache is made of 4 KiB folios reads warm
 * slower than one that uses large folios for the same bytes;
 * tools/bench/read.sh prints this beside its warm rows. A benchmark
 * tool, not part of mlfs.
 *
 *   folios FILE   ->   "pages N folios F mean-KiB M"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KPF_COMPOUND_TAIL (1ull << 16)
#define PFN_MASK ((1ull << 55) - 1)
#define PAGE_PRESENT (1ull << 63)

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct stat st;
	long pagesz = sysconf(_SC_PAGESIZE);

	if (argc != 2) {
		fprintf(stderr, "usage: folios FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(argv[1]);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	size_t npages = (size_t)st.st_size / (size_t)pagesz;
	if (npages == 0) {
		printf("pages 0 folios 0 mean-KiB 0\n");
		return 0;
	}
	const volatile char *map = mmap(NULL, npages * (size_t)pagesz,
					PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return fail("mmap");
	int pm = open("/proc/self/pagemap", O_RDONLY);
	int kf = open("/proc/kpageflags", O_RDONLY);
	if (pm < 0 || kf < 0)
		return fail("/proc/self/pagemap or /proc/kpageflags");

	/* every page that is not a compound tail starts a folio */
	size_t folios = 0, seen = 0;
	uintptr_t first = (uintptr_t)map / (uintptr_t)pagesz;
	for (size_t i = 0; i < npages; i++) {
		uint64_t entry, flags;
		(void)map[i * (size_t)pagesz];
		if (pread(pm, &entry, 8, (off_t)((first + i) * 8)) != 8)
			return fail("pagemap");
		if (!(entry & PAGE_PRESENT))
			continue;
		if (pread(kf, &flags, 8, (off_t)((entry & PFN_MASK) * 8)) != 8)
			return fail("kpageflags");
		seen++;
		if (!(flags & KPF_COMPOUND_TAIL))
			folios++;
	}
	printf("pages %zu folios %zu mean-KiB %.0f\n", seen, folios,
	       folios ? (double)seen * (double)pagesz / 1024.0 /
				(double)folios : 0.0);
	return 0;
}
