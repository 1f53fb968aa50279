/*
 * test_remote_cache.c - the local cache of remote packs' bytes
 * (remote_cache.c): ranges written across blocks read back as verified
 * entries; a hole, a damaged byte or a wrong id is a miss, never bytes;
 * the bound holds in allocated bytes; files of the older per-entry cache
 * are removed; aligned windows, written around the page cache, read
 * back over what was written through it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/codec.h"
#include "mlfs/pack.h"
#include "mlfs/remote.h"
#include "mlfs/store.h"
#include "remote_cache.h"
#include "store_impl.h"
#include "testutil.h"

struct fx {
	char dir[256];
	struct mlfs_store *s;
	struct rcache c;
	struct mlfs_remote r;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[300];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/mlfs-rcache-XXXXXX",
		 testutil_tmp_base());
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/st", f->dir);
	assert_int_equal(mlfs_store_init(path, NULL), 0);
	assert_int_equal(mlfs_store_open(path, 0, &f->s), 0);
	rcache_init(&f->c);
	assert_int_equal(mlfs_remote_make("origin", "s3://bucket/p", NULL, NULL,
					  false, &f->r),
			 0);
	f->r.cache_size = 1 << 20; /* 128 KiB blocks */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rcache_destroy(&f->c);
	mlfs_remote_release(&f->r);
	mlfs_store_close(f->s);
	testutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* A raw-codec entry of @n bytes of pattern @seed at @p; its location at
 * @off of pack 7 in @loc, its id in @id. Returns the entry's length. */
static size_t make_entry(struct fx *f, uint8_t *p, size_t n, unsigned seed,
			 uint64_t off, struct mlfs_id *id,
			 struct mlfs_chunk_loc *loc)
{
	uint8_t *d = p + MLFS_PACK_ENTRY_HEADER_LEN;

	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
	mlfs_hash(&f->s->cfg.key, d, n, id);
	mlfs_pack_entry_format(p, id, MLFS_CODEC_RAW, (uint32_t)n,
			       (uint32_t)n);
	memset(loc, 0, sizeof(*loc));
	loc->pack_id = 7;
	loc->offset = off;
	loc->raw_len = (uint32_t)n;
	loc->stored_len = (uint32_t)n;
	loc->codec = MLFS_CODEC_RAW;
	return MLFS_PACK_ENTRY_HEADER_LEN + n;
}

static uint64_t cache_bytes(struct fx *f, size_t *files, bool *old_seen)
{
	char dir[400];
	struct dirent *de;
	uint64_t total = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/remote-cache/origin", f->s->dir);
	d = opendir(dir);
	*files = 0;
	*old_seen = false;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		assert_int_equal(fstatat(dirfd(d), de->d_name, &st, 0), 0);
		total += (uint64_t)st.st_blocks * 512;
		(*files)++;
		if (strlen(de->d_name) == 33)
			*old_seen = true;
	}
	closedir(d);
	return total;
}

/* Three entries written as one range across a block boundary read back
 * exactly; an entry never written is a miss. */
static void test_range_across_blocks(void **state)
{
	struct fx *f = *state;
	size_t sizes[3] = { 1000, 200000, 5000 };
	struct mlfs_chunk_loc loc[3], ghost;
	struct mlfs_id id[3], gid;
	uint8_t *buf = malloc(1 << 20), *out = malloc(1 << 20);
	uint64_t base = 100000, off = base;
	size_t at = 0;

	assert_non_null(buf);
	assert_non_null(out);
	for (int i = 0; i < 3; i++) {
		size_t n = make_entry(f, buf + at, sizes[i], (unsigned)i, off,
				      &id[i], &loc[i]);

		at += n;
		off += n;
	}
	assert_int_equal(rcache_put(f->s, &f->c, &f->r, 7, base, buf, at), 0);
	for (int i = 0; i < 3; i++) {
		memset(out, 0, sizes[i]);
		assert_int_equal(rcache_read(f->s, &f->r, &id[i], &loc[i], out),
				 0);
		assert_memory_equal(out, buf + (loc[i].offset - base) +
					    MLFS_PACK_ENTRY_HEADER_LEN,
				    sizes[i]);
	}
	/* an entry past what was written: a hole or no file */
	make_entry(f, out, 3000, 9, off + 500000, &gid, &ghost);
	assert_int_equal(rcache_read(f->s, &f->r, &gid, &ghost, out), -ENOENT);
	/* the right place, the wrong id */
	ghost = loc[1];
	gid = id[1];
	gid.b[0] ^= 1;
	assert_int_equal(rcache_read(f->s, &f->r, &gid, &ghost, out), -ENOENT);
	free(buf);
	free(out);
}

/* A flipped byte in the cached copy is a miss; writing the good bytes
 * again makes it a hit. */
static void test_damage_is_a_miss(void **state)
{
	struct fx *f = *state;
	struct mlfs_chunk_loc loc;
	struct mlfs_id id;
	uint8_t buf[8192], out[8192];
	char path[600];
	size_t n = make_entry(f, buf, 4000, 3, 4096, &id, &loc);
	int fd;
	uint8_t x;

	assert_int_equal(rcache_put(f->s, &f->c, &f->r, 7, 4096, buf, n), 0);
	assert_int_equal(rcache_read(f->s, &f->r, &id, &loc, out), 0);
	/* block 0 of pack 7 with 128 KiB blocks (log2 17 = 0x11) */
	snprintf(path, sizeof(path),
		 "%s/remote-cache/origin/0000000000000007.11.00000000",
		 f->s->dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &x, 1, 4096 + 1000), 1);
	x ^= 0x40;
	assert_int_equal(pwrite(fd, &x, 1, 4096 + 1000), 1);
	close(fd);
	assert_int_equal(rcache_read(f->s, &f->r, &id, &loc, out), -ENOENT);
	assert_int_equal(rcache_put(f->s, &f->c, &f->r, 7, 4096, buf, n), 0);
	assert_int_equal(rcache_read(f->s, &f->r, &id, &loc, out), 0);
	assert_memory_equal(out, buf + MLFS_PACK_ENTRY_HEADER_LEN, 4000);
}

/* 4 MiB written in 64 KiB entries into a 1 MiB cache: the files hold at
 * most the bound (plus the block being written); the latest entries
 * still read; a file of the older cache layout is removed. */
static void test_bound(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = malloc(70000), *out = malloc(70000);
	struct mlfs_chunk_loc loc;
	struct mlfs_id id;
	char old[600];
	size_t files;
	bool old_seen;
	uint64_t off = 0;

	assert_non_null(buf);
	assert_non_null(out);
	snprintf(old, sizeof(old), "%s/remote-cache", f->s->dir);
	assert_int_equal(mkdir(old, 0700), 0);
	snprintf(old, sizeof(old), "%s/remote-cache/origin", f->s->dir);
	assert_int_equal(mkdir(old, 0700), 0);
	testutil_write_file(old, "0000000000000007-0000000000000000", "x", 1);
	for (int i = 0; i < 64; i++) {
		size_t n = make_entry(f, buf, 65536, (unsigned)i, off, &id,
				      &loc);

		assert_int_equal(rcache_put(f->s, &f->c, &f->r, 7, off, buf, n),
				 0);
		off += n;
	}
	assert_true(cache_bytes(f, &files, &old_seen) <=
		    (1u << 20) + (128u << 10));
	assert_false(old_seen);
	assert_true(files > 1);
	assert_int_equal(rcache_read(f->s, &f->r, &id, &loc, out), 0);
	assert_memory_equal(out, buf + MLFS_PACK_ENTRY_HEADER_LEN, 65536);
	free(buf);
	free(out);
}

/* A window as the readers fetch it (aligned buffer and offset, a tail
 * that is not: written around the page cache, the tail through it)
 * over bytes written earlier through the page cache reads back as the
 * new bytes, every entry, also one across the direct part's end. */
static void test_aligned_window_over_buffered(void **state)
{
	struct fx *f = *state;
	size_t sizes[4] = { 4000, 9000, 70000, 3333 };
	struct mlfs_chunk_loc loc[4];
	struct mlfs_id id[4];
	uint64_t base = 2 * 131072, off = base;
	uint8_t *win = NULL, *old = malloc(1 << 18), *out = malloc(1 << 18);
	size_t at = 0;

	assert_int_equal(posix_memalign((void **)&win, RCACHE_ALIGN, 1 << 18),
			 0);
	assert_non_null(old);
	assert_non_null(out);
	for (int i = 0; i < 4; i++) {
		size_t n = make_entry(f, win + at, sizes[i], (unsigned)i + 9,
				      off, &id[i], &loc[i]);

		at += n;
		off += n;
	}
	assert_true(at % RCACHE_ALIGN != 0);
	/* other bytes at the same offsets, written unaligned (+1) first */
	memset(old, 0x5a, at + 1);
	assert_int_equal(rcache_put(f->s, &f->c, &f->r, 7, base - 1, old,
				    at + 1),
			 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rcache_read(f->s, &f->r, &id[i], &loc[i], out),
				 -ENOENT);
	assert_int_equal(rcache_put(f->s, &f->c, &f->r, 7, base, win, at), 0);
	for (int i = 0; i < 4; i++) {
		memset(out, 0, sizes[i]);
		assert_int_equal(rcache_read(f->s, &f->r, &id[i], &loc[i], out),
				 0);
		assert_memory_equal(out, win + (loc[i].offset - base) +
					    MLFS_PACK_ENTRY_HEADER_LEN,
				    sizes[i]);
	}
	free(win);
	free(old);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_range_across_blocks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damage_is_a_miss, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_aligned_window_over_buffered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
