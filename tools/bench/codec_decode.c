/*
 * codec_decode.c - decode speed of a store's stored chunks, without I/O
 * or hashing: every entry of the given pack files is read into memory,
 * then mlfs_codec_decode() runs over all of them, one thread, --passes
 * times. Prints the codec mix, stored/raw sizes, MB/s of decoded bytes
 * and CPU seconds per GiB. A benchmark (tools/bench/codec.sh), not a test.
 *
 *   build/bench-codec-decode [--passes N] PACK...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/codec.h"
#include "mlfs/pack.h"

struct entry {
	const uint8_t *stored;
	uint32_t stored_len, raw_len;
	enum mlfs_codec codec;
};

struct bench {
	struct entry *e;
	size_t n, cap;
	uint64_t stored, raw, per_codec[MLFS_CODEC_MAX + 1];
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read pack @path whole (kept for the run) and index its entries. */
static int load_pack(struct bench *b, const char *path)
{
	struct stat sb;
	uint8_t *p;
	uint64_t id, off = MLFS_PACK_HEADER_LEN;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || sb.st_size < MLFS_PACK_HEADER_LEN) {
		close(fd);
		return -EBADMSG;
	}
	p = malloc((size_t)sb.st_size);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	r = mlfs_pread_full(fd, p, (size_t)sb.st_size, 0);
	close(fd);
	if (r == 0)
		r = mlfs_pack_header_check(p, &id);
	while (r == 0 && off + MLFS_PACK_ENTRY_HEADER_LEN <=
			 (uint64_t)sb.st_size) {
		struct mlfs_chunk_loc loc;
		struct mlfs_id cid;

		if (mlfs_pack_entry_locate(p + off, id, off,
					   (uint64_t)sb.st_size, &cid,
					   &loc) < 0)
			break; /* torn tail */
		if (b->n == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 1024;
			struct entry *t = realloc(b->e, cap * sizeof(*t));

			if (!t)
				return -ENOMEM;
			b->e = t;
			b->cap = cap;
		}
		b->e[b->n++] = (struct entry){
			p + off + MLFS_PACK_ENTRY_HEADER_LEN, loc.stored_len,
			loc.raw_len, (enum mlfs_codec)loc.codec };
		b->stored += loc.stored_len;
		b->raw += loc.raw_len;
		b->per_codec[loc.codec] += loc.raw_len;
		off += MLFS_PACK_ENTRY_HEADER_LEN + loc.stored_len;
	}
	return r; /* the pack's bytes stay allocated until exit */
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	unsigned passes = 3;
	uint8_t *out = malloc(MLFS_CHUNK_LIMIT);
	double t0, c0, wall, cpu, gib;
	int i = 1;

	if (argc > 2 && !strcmp(argv[1], "--passes")) {
		passes = (unsigned)atoi(argv[2]);
		i = 3;
	}
	if (!out || i >= argc || !passes) {
		fprintf(stderr, "usage: %s [--passes N] PACK...\n", argv[0]);
		return 2;
	}
	for (; i < argc; i++) {
		int r = load_pack(&b, argv[i]);

		if (r < 0) {
			fprintf(stderr, "cannot load '%s': %s\n", argv[i],
				strerror(-r));
			return 1;
		}
	}
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (unsigned k = 0; k < passes; k++) {
		for (size_t j = 0; j < b.n; j++) {
			struct entry *e = &b.e[j];

			if (mlfs_codec_decode(e->codec, e->stored,
					      e->stored_len, out,
					      e->raw_len) < 0) {
				fprintf(stderr, "entry %zu does not decode\n",
					j);
				return 1;
			}
		}
	}
	wall = now(CLOCK_MONOTONIC) - t0;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	gib = (double)b.raw * passes / (1024.0 * 1024 * 1024);
	printf("chunks %zu, stored %.1f MiB, raw %.1f MiB (%.3f); raw MiB by "
	       "codec:", b.n, (double)b.stored / 1048576.0,
	       (double)b.raw / 1048576.0,
	       b.raw ? (double)b.stored / (double)b.raw : 0);
	for (int c = 0; c <= MLFS_CODEC_MAX; c++)
		if (b.per_codec[c])
			printf(" %d=%.1f", c, (double)b.per_codec[c] / 1048576.0);
	printf("\ndecode: %.0f MB/s, %.3f CPU s/GiB (%u passes, %.2f s)\n",
	       (double)b.raw * passes / wall / 1e6, cpu / gib, passes, wall);
	return 0;
}
