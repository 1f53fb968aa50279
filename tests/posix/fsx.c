/*
 * fsx.c - `fsx [options] DIR`: random reads, writes, truncates, mapped
 * reads and writes, fallocates, reopens and fsyncs of one file in DIR,
 * each checked against a shadow copy in memory (in the spirit of
 * xfstests' fsx; our own code). Bytes of the shadow past the file's size
 * are always zero, so growing the file needs no bookkeeping. A failure
 * names the seed and op, dumps the last ops and the differing bytes, and
 * keeps the file and its shadow (FILE.good) for a look. README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op {
	OP_READ, OP_WRITE, OP_MAPREAD, OP_MAPWRITE, OP_TRUNCATE,
	OP_FALLOCATE, OP_REOPEN, OP_FSYNC, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"read", "write", "mapread", "mapwrite", "truncate", "fallocate",
	"reopen", "fsync",
};

/* Relative frequency of each op, as in fsx: data ops dominate. */
static const unsigned op_weight[OP_COUNT] = { 20, 20, 8, 8, 8, 8, 2, 2 };

/* The fallocate modes tried; one the file system refuses with
 * EOPNOTSUPP is dropped (reported at the end), except the two the
 * mount must support (mode 0 and KEEP_SIZE). */
static const struct {
	int mode;
	const char *name;
	int required;
} fmodes[] = {
	{ 0, "0", 1 },
	{ FALLOC_FL_KEEP_SIZE, "KEEP_SIZE", 1 },
	{ FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "PUNCH_HOLE", 0 },
	{ FALLOC_FL_ZERO_RANGE, "ZERO_RANGE", 0 },
	{ FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, "ZERO_RANGE|KEEP", 0 },
};
#define NFMODES (sizeof(fmodes) / sizeof(fmodes[0]))

struct logent {
	unsigned long n;	/* op number, from 1 */
	enum op op;
	uint64_t off, len;
	uint64_t size_before, size_after;
	const char *how;	/* fallocate mode, fsync kind, ... */
};

#define LOG_KEEP 20

/* The whole run; one thread, so no locks. */
struct fsx {
	const char *dir;
	char path[PATH_MAX];
	int fd;
	uint64_t seed, rng;
	uint64_t maxlen, maxoplen;
	unsigned long nops, opnum, inject_at;
	uint64_t inject_off;	/* flipped byte + 1 while unread, else 0 */
	int inject_done, quiet, no_mapwrite, no_falloc, no_mmap;
	int fmode_off[NFMODES];	/* 1 once the fs said EOPNOTSUPP */
	unsigned char *good;	/* shadow, maxlen bytes, zero past size */
	unsigned char *buf;	/* maxoplen scratch */
	uint64_t size;		/* the shadow's (= the file's) size */
	size_t pagesize;
	unsigned long count[OP_COUNT];
	struct logent log[LOG_KEEP];
};

static uint64_t rnd(struct fsx *f)
{
	/* splitmix64: any seed, 0 included, gives a full-period stream */
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint64_t rnd_below(struct fsx *f, uint64_t n)
{
	return rnd(f) % n;
}

static struct logent *log_op(struct fsx *f, enum op op, uint64_t off,
			     uint64_t len, const char *how)
{
	struct logent *e = &f->log[f->opnum % LOG_KEEP];

	*e = (struct logent){ f->opnum, op, off, len, f->size, f->size, how };
	return e;
}

static void dump_log(const struct fsx *f)
{
	unsigned long first = f->opnum > LOG_KEEP ? f->opnum - LOG_KEEP + 1 : 1;
	unsigned long n;

	fprintf(stderr, "fsx: the last %lu ops (offset, length, size "
		"before -> after):\n", f->opnum - first + 1);
	for (n = first; n <= f->opnum; n++) {
		const struct logent *e = &f->log[n % LOG_KEEP];

		if (e->n != n)
			continue;
		fprintf(stderr, "  %6lu %-9s 0x%08" PRIx64 " 0x%06" PRIx64
			"  0x%" PRIx64 " -> 0x%" PRIx64 "%s%s\n", e->n,
			op_names[e->op], e->off, e->len, e->size_before,
			e->size_after, e->how ? "  " : "",
			e->how ? e->how : "");
	}
}

/* Keep the file and write the shadow next to it, for a post-mortem. */
static void save_good(const struct fsx *f)
{
	char p[PATH_MAX + 8];
	FILE *o;

	snprintf(p, sizeof(p), "%s.good", f->path);
	o = fopen(p, "wb");
	if (!o)
		return;
	if (fwrite(f->good, 1, f->size, o) != f->size)
		fprintf(stderr, "fsx: short write of '%s'\n", p);
	if (fclose(o) == 0)
		fprintf(stderr, "fsx: kept '%s' and its shadow '%s'\n",
			f->path, p);
}

static void die(struct fsx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(struct fsx *f, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fsx: FAIL at op %lu of %lu (seed %" PRIu64 "): ",
		f->opnum, f->nops, f->seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_log(f);
	save_good(f);
	fprintf(stderr, "fsx: rerun with -S %" PRIu64 "\n", f->seed);
	exit(1);
}

/* Hexdump @n bytes of good and got from the first difference. */
static void hexdump_diff(const unsigned char *good, const unsigned char *got,
			 uint64_t base, size_t len, size_t first)
{
	size_t start = first & ~(size_t)15, i, j;
	size_t end = start + 64 < len ? start + 64 : len;

	fprintf(stderr, "fsx: first difference at file offset 0x%" PRIx64
		" (good 0x%02x, file 0x%02x)\n", base + first, good[first],
		got[first]);
	fprintf(stderr, "  %-10s %-48s| file\n", "offset", "good");
	for (i = start; i < end; i += 16) {
		fprintf(stderr, "  0x%08" PRIx64 " ", base + i);
		for (j = i; j < i + 16; j++)
			if (j < end)
				fprintf(stderr, "%02x ", good[j]);
			else
				fputs("   ", stderr);
		fputs("| ", stderr);
		for (j = i; j < i + 16 && j < end; j++)
			fprintf(stderr, "%02x%s", got[j],
				got[j] != good[j] ? "*" : " ");
		fputc('\n', stderr);
	}
}

/* @got (@len bytes of the file at @off) must equal the shadow. */
static void check_bytes(struct fsx *f, const unsigned char *got,
			uint64_t off, size_t len, const char *how)
{
	const unsigned char *good = f->good + off;
	size_t i;

	if (memcmp(good, got, len) == 0)
		return;
	for (i = 0; good[i] == got[i]; i++)
		;
	hexdump_diff(good, got, off, len, i);
	die(f, "%s of 0x%zx bytes at 0x%" PRIx64 ": data mismatch at 0x%"
	    PRIx64, how, len, off, off + i);
}

static void check_size(struct fsx *f)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		die(f, "fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != f->size)
		die(f, "st_size 0x%" PRIx64 ", want 0x%" PRIx64,
		    (uint64_t)st.st_size, f->size);
}

static void set_size(struct fsx *f, uint64_t size)
{
	/* keep the shadow zero past its end */
	if (size < f->size)
		memset(f->good + size, 0, f->size - size);
	f->size = size;
}

/* Read the whole file with pread and compare (after reopen, at the end). */
static void check_all(struct fsx *f, const char *how)
{
	uint64_t off;

	for (off = 0; off < f->size; off += f->maxoplen) {
		size_t len = f->size - off < f->maxoplen ?
			f->size - off : f->maxoplen;
		ssize_t n = pread(f->fd, f->buf, len, off);

		if (n < 0)
			die(f, "%s: pread: %s", how, strerror(errno));
		if ((size_t)n != len)
			die(f, "%s: pread at 0x%" PRIx64 " gave 0x%zx bytes, "
			    "want 0x%zx", how, off, (size_t)n, len);
		check_bytes(f, f->buf, off, len, how);
	}
}

static void do_read(struct fsx *f)
{
	uint64_t off, len, want;
	ssize_t n;

	/* now and then a read at or past EOF, which returns 0 */
	off = f->size && rnd_below(f, 16) ? rnd_below(f, f->size) :
		f->size + rnd_below(f, 4096);
	len = 1 + rnd_below(f, f->maxoplen);
	if (f->inject_off) {
		/* -X: this read covers the flipped byte */
		uint64_t before = f->inject_off < f->maxoplen ?
			f->inject_off : f->maxoplen;

		off = f->inject_off - 1 - rnd_below(f, before);
		len = f->inject_off - off;
		len += rnd_below(f, f->maxoplen - len + 1);
		f->inject_off = 0;
	}
	want = off >= f->size ? 0 : f->size - off < len ? f->size - off : len;
	log_op(f, OP_READ, off, len, NULL);
	n = pread(f->fd, f->buf, len, off);
	if (n < 0)
		die(f, "pread: %s", strerror(errno));
	if ((uint64_t)n != want)
		die(f, "pread of 0x%" PRIx64 " at 0x%" PRIx64 " gave 0x%zx "
		    "bytes, want 0x%" PRIx64, len, off, (size_t)n, want);
	check_bytes(f, f->buf, off, (size_t)n, "read");
}

static void fill_random(struct fsx *f, unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t r = rnd(f);

		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
}

/* A random range that fits in maxlen. */
static void pick_range(struct fsx *f, uint64_t *off, uint64_t *len)
{
	*off = rnd_below(f, f->maxlen);
	*len = 1 + rnd_below(f, f->maxoplen);
	if (*off + *len > f->maxlen)
		*len = f->maxlen - *off;
}

static void do_write(struct fsx *f)
{
	struct logent *e;
	uint64_t off, len;
	ssize_t n;

	pick_range(f, &off, &len);
	e = log_op(f, OP_WRITE, off, len, NULL);
	fill_random(f, f->good + off, len);
	n = pwrite(f->fd, f->good + off, len, off);
	if (n < 0)
		die(f, "pwrite: %s", strerror(errno));
	if ((uint64_t)n != len)
		die(f, "short pwrite: 0x%zx of 0x%" PRIx64, (size_t)n, len);
	if (off + len > f->size)
		f->size = off + len;
	e->size_after = f->size;
}

/* Map [off, off+len) of the file; returns the address of off. */
static unsigned char *map_range(struct fsx *f, uint64_t off, uint64_t len,
				int prot, void **base, size_t *maplen)
{
	uint64_t pg = off & ~(uint64_t)(f->pagesize - 1);

	*maplen = off - pg + len;
	*base = mmap(NULL, *maplen, prot, MAP_SHARED, f->fd, pg);
	if (*base == MAP_FAILED)
		die(f, "mmap of 0x%zx at 0x%" PRIx64 ": %s", *maplen, pg,
		    strerror(errno));
	return (unsigned char *)*base + (off - pg);
}

static void do_mapread(struct fsx *f)
{
	uint64_t off, len;
	size_t maplen;
	void *base;
	unsigned char *p;

	if (!f->size) {
		log_op(f, OP_MAPREAD, 0, 0, "empty file, skipped");
		return;
	}
	off = rnd_below(f, f->size);
	len = 1 + rnd_below(f, f->maxoplen);
	if (off + len > f->size)
		len = f->size - off;
	log_op(f, OP_MAPREAD, off, len, NULL);
	p = map_range(f, off, len, PROT_READ, &base, &maplen);
	/* compare from a copy: a fault mid-memcmp would hide the offset */
	memcpy(f->buf, p, len);
	if (munmap(base, maplen) < 0)
		die(f, "munmap: %s", strerror(errno));
	check_bytes(f, f->buf, off, len, "mapread");
}

static void do_mapwrite(struct fsx *f)
{
	struct logent *e;
	uint64_t off, len;
	size_t maplen;
	void *base;
	unsigned char *p;

	pick_range(f, &off, &len);
	e = log_op(f, OP_MAPWRITE, off, len, NULL);
	/* a mapping cannot grow a file: ftruncate first, as fsx does */
	if (off + len > f->size) {
		if (ftruncate(f->fd, off + len) < 0)
			die(f, "ftruncate to 0x%" PRIx64 ": %s", off + len,
			    strerror(errno));
		set_size(f, off + len);
		e->size_after = f->size;
	}
	p = map_range(f, off, len, PROT_READ | PROT_WRITE, &base, &maplen);
	fill_random(f, f->good + off, len);
	memcpy(p, f->good + off, len);
	if (msync(base, maplen, MS_SYNC) < 0)
		die(f, "msync: %s", strerror(errno));
	if (munmap(base, maplen) < 0)
		die(f, "munmap: %s", strerror(errno));
}

static void do_truncate(struct fsx *f)
{
	uint64_t size = rnd_below(f, f->maxlen + 1);
	struct logent *e = log_op(f, OP_TRUNCATE, size, 0,
				  size < f->size ? "down" : "up");

	if (ftruncate(f->fd, size) < 0)
		die(f, "ftruncate to 0x%" PRIx64 ": %s", size, strerror(errno));
	set_size(f, size);
	e->size_after = size;
}

static void do_fallocate(struct fsx *f)
{
	struct logent *e;
	uint64_t off, len, end;
	size_t m;
	int mode;

	do
		m = rnd_below(f, NFMODES);
	while (f->fmode_off[m]);
	mode = fmodes[m].mode;
	pick_range(f, &off, &len);
	e = log_op(f, OP_FALLOCATE, off, len, fmodes[m].name);
	if (fallocate(f->fd, mode, off, len) < 0) {
		if (errno == EOPNOTSUPP && !fmodes[m].required) {
			f->fmode_off[m] = 1;
			e->how = "unsupported, dropped";
			return;
		}
		die(f, "fallocate(%s) of 0x%" PRIx64 " at 0x%" PRIx64 ": %s",
		    fmodes[m].name, len, off, strerror(errno));
	}
	end = off + len;
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		uint64_t zend = end < f->size ? end : f->size;

		if (off < zend)
			memset(f->good + off, 0, zend - off);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > f->size)
		f->size = end;
	e->size_after = f->size;
}

static void open_file(struct fsx *f, int flags)
{
	f->fd = open(f->path, O_RDWR | O_CLOEXEC | flags, 0644);
	if (f->fd < 0)
		die(f, "open '%s': %s", f->path, strerror(errno));
}

static void do_reopen(struct fsx *f)
{
	log_op(f, OP_REOPEN, 0, 0, NULL);
	if (close(f->fd) < 0)
		die(f, "close: %s", strerror(errno));
	open_file(f, 0);
}

static void do_fsync(struct fsx *f)
{
	int data = (int)rnd_below(f, 2);

	log_op(f, OP_FSYNC, 0, 0, data ? "fdatasync" : "fsync");
	if ((data ? fdatasync(f->fd) : fsync(f->fd)) < 0)
		die(f, "%s: %s", data ? "fdatasync" : "fsync", strerror(errno));
}

static enum op pick_op(struct fsx *f)
{
	unsigned total = 0, r, i;
	unsigned w[OP_COUNT];

	for (i = 0; i < OP_COUNT; i++) {
		w[i] = op_weight[i];
		if ((i == OP_MAPREAD || i == OP_MAPWRITE) && f->no_mmap)
			w[i] = 0;
		if (i == OP_MAPWRITE && f->no_mapwrite)
			w[i] = 0;
		if (i == OP_FALLOCATE && f->no_falloc)
			w[i] = 0;
		total += w[i];
	}
	r = (unsigned)rnd_below(f, total);
	for (i = 0; r >= w[i]; i++)
		r -= w[i];
	return (enum op)i;
}

/* -X: flip one bit of the shadow, so that the self-test sees fsx fail. */
static void inject(struct fsx *f)
{
	uint64_t off;

	if (f->inject_done || !f->inject_at || f->opnum < f->inject_at ||
	    !f->size)
		return;
	off = rnd_below(f, f->size);
	f->good[off] ^= 0x10;
	f->inject_done = 1;
	/* the next op reads it back: a later write or truncate must not
	 * hide the flip, or the self-test could not fail */
	f->inject_off = off + 1;
	if (!f->quiet)
		printf("fsx: -X: flipped bit 4 of shadow byte 0x%" PRIx64
		       " after op %lu\n", off, f->opnum);
}

static uint64_t parse_size(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (errno || *end || end == s || s[0] == '-') {
		fprintf(stderr, "fsx: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fsx [-l LEN] [-o OPLEN] [-N OPS] [-S SEED] [-W] [-F] "
		"[-R] [-q] DIR\n"
		"  -l LEN    largest file size (default 256K)\n"
		"  -o OPLEN  largest read/write (default 64K)\n"
		"  -N OPS    number of ops (default 10000)\n"
		"  -S SEED   random seed (default: time and pid; printed)\n"
		"  -W        no mapped writes   -F  no fallocate\n"
		"  -R        no mmap at all     -q  quiet\n");
	exit(2);
}

static void parse_args(struct fsx *f, int argc, char **argv)
{
	int c, seeded = 0;

	while ((c = getopt(argc, argv, "l:o:N:S:X:WFRq")) != -1) {
		switch (c) {
		case 'l':
			f->maxlen = parse_size(optarg, "length");
			break;
		case 'o':
			f->maxoplen = parse_size(optarg, "op length");
			break;
		case 'N':
			f->nops = parse_size(optarg, "op count");
			break;
		case 'S':
			f->seed = parse_size(optarg, "seed");
			seeded = 1;
			break;
		case 'X':
			/* hidden: the self-test's proof that fsx can fail */
			f->inject_at = parse_size(optarg, "op number");
			break;
		case 'W':
			f->no_mapwrite = 1;
			break;
		case 'F':
			f->no_falloc = 1;
			break;
		case 'R':
			f->no_mmap = 1;
			break;
		case 'q':
			f->quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || !f->maxlen || !f->maxoplen ||
	    f->maxlen > (1ull << 32))
		usage();
	f->dir = argv[optind];
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		f->seed = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20 ^
			   (uint64_t)ts.tv_sec) % 1000000000;
	}
}

static void run(struct fsx *f)
{
	static void (*const ops[OP_COUNT])(struct fsx *) = {
		do_read, do_write, do_mapread, do_mapwrite, do_truncate,
		do_fallocate, do_reopen, do_fsync,
	};

	for (f->opnum = 1; f->opnum <= f->nops; f->opnum++) {
		enum op op = f->inject_off ? OP_READ : pick_op(f);

		f->count[op]++;
		ops[op](f);
		check_size(f);
		if (op == OP_REOPEN)
			check_all(f, "read after reopen");
		inject(f);
	}
	f->opnum = f->nops;
	check_all(f, "final read");
}

int main(int argc, char **argv)
{
	struct fsx f = { .maxlen = 256 << 10, .maxoplen = 64 << 10,
			 .nops = 10000, .fd = -1 };
	size_t i;

	parse_args(&f, argc, argv);
	f.rng = f.seed;
	f.pagesize = (size_t)sysconf(_SC_PAGESIZE);
	if (f.maxoplen > f.maxlen)
		f.maxoplen = f.maxlen;
	f.good = calloc(1, f.maxlen);
	f.buf = malloc(f.maxoplen);
	if (!f.good || !f.buf) {
		fprintf(stderr, "fsx: out of memory\n");
		return 1;
	}
	snprintf(f.path, sizeof(f.path), "%s/fsx.%" PRIu64 ".%ld", f.dir,
		 f.seed, (long)getpid());
	open_file(&f, O_CREAT | O_EXCL);
	if (!f.quiet)
		printf("fsx: seed %" PRIu64 ", %lu ops, file '%s', up to %"
		       PRIu64 " bytes, ops up to %" PRIu64 "%s%s%s\n", f.seed,
		       f.nops, f.path, f.maxlen, f.maxoplen,
		       f.no_mmap ? ", no mmap" : f.no_mapwrite ?
			       ", no mapped writes" : "",
		       f.no_falloc ? ", no fallocate" : "",
		       f.inject_at ? ", -X" : "");
	run(&f);
	if (close(f.fd) < 0)
		die(&f, "close: %s", strerror(errno));
	if (unlink(f.path) < 0)
		die(&f, "unlink '%s': %s", f.path, strerror(errno));
	printf("fsx: %lu ops passed (seed %" PRIu64 "):", f.nops, f.seed);
	for (i = 0; i < OP_COUNT; i++)
		printf(" %s %lu%s", op_names[i], f.count[i],
		       i + 1 < OP_COUNT ? "," : "\n");
	for (i = 0; i < NFMODES; i++)
		if (f.fmode_off[i])
			printf("fsx: fallocate %s is not supported here "
			       "(EOPNOTSUPP), dropped\n", fmodes[i].name);
	free(f.good);
	free(f.buf);
	return 0;
}
