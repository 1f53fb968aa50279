/*
 * test_pack.c - pack files: append and read back, header and entry
 * checks, scans with torn tails, rollover, discard.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mlfs/pack.h"

#define NCHUNKS 5

struct fixture {
	char dir[64];
	struct mlfs_pack_writer *w;
	struct mlfs_pack_set *set;
	uint8_t *data[NCHUNKS];
	size_t len[NCHUNKS];
	struct mlfs_id id[NCHUNKS];
	struct mlfs_chunk_loc loc[NCHUNKS];
	enum mlfs_codec codec[NCHUNKS];
	uint32_t stored_len[NCHUNKS];
	char path[PATH_MAX];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* tmpfs when there is one: writes here are fsync'd. */
static const char *tmp_base(void)
{
	const char *t = getenv("MLFS_TEST_TMPDIR");

	if (t && *t)
		return t;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

/* Chunks: random (RAW), text (ZSTD), 16-bit (PLANES2: the random even
 * plane raw), 1 byte, zeros. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mlfs_hash_key key;
	void *cctx = NULL;
	uint64_t seed = 77;
	struct mlfs_buf enc = MLFS_BUF_INIT;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%.30s/mlfs-test-pack-XXXXXX",
		 tmp_base());
	assert_non_null(mkdtemp(f->dir));
	memset(&key, 0x11, sizeof(key));
	f->len[0] = 70000;
	f->len[1] = 50000;
	f->len[2] = 60000;
	f->len[3] = 1;
	f->len[4] = 4096;
	for (int i = 0; i < NCHUNKS; i++) {
		f->data[i] = malloc(f->len[i]);
		assert_non_null(f->data[i]);
		for (size_t j = 0; j < f->len[i]; j++) {
			uint8_t r = (uint8_t)splitmix(&seed);

			f->data[i][j] = i == 0 ? r :
					i == 1 ? (uint8_t)("abcde"[j % 5]) :
					i == 2 ? (j & 1 ? (uint8_t)(0x3c +
								(r & 1)) : r) :
					i == 3 ? 0x42 : 0;
		}
		mlfs_hash(&key, f->data[i], f->len[i], &f->id[i]);
	}
	assert_int_equal(mlfs_pack_writer_new(f->dir, &f->w), 0);
	for (int i = 0; i < NCHUNKS; i++) {
		assert_int_equal(mlfs_codec_encode(&cctx, 3, f->data[i],
						   f->len[i], &enc,
						   &f->codec[i]), 0);
		f->stored_len[i] = (uint32_t)enc.len;
		assert_int_equal(mlfs_pack_writer_append(f->w, 0, &f->id[i],
							 f->codec[i],
							 (uint32_t)f->len[i],
							 enc.data,
							 (uint32_t)enc.len,
							 &f->loc[i]), 0);
	}
	mlfs_buf_release(&enc);
	mlfs_codec_cctx_free(cctx);
	assert_int_equal(f->codec[0], MLFS_CODEC_RAW);
	assert_int_equal(f->codec[1], MLFS_CODEC_ZSTD);
	assert_int_equal(f->codec[2], MLFS_CODEC_PLANES2);
	assert_int_equal(mlfs_pack_writer_sync(f->w), 0);
	assert_int_equal(mlfs_pack_set_new(f->dir, &f->set), 0);
	{
		char name[40];

		mlfs_pack_name(f->loc[0].pack_id, name, sizeof(name));
		snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mlfs_pack_set_free(f->set);
	mlfs_pack_writer_free(f->w);
	for (int i = 0; i < NCHUNKS; i++)
		free(f->data[i]);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* Overwrite one byte of the pack file at @off with @v. */
static void poke(const char *path, uint64_t off, uint8_t v)
{
	int fd;

	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 1, (off_t)off), 1);
	assert_int_equal(close(fd), 0);
}

static uint8_t peek(const char *path, uint64_t off)
{
	int fd = open(path, O_RDONLY);
	uint8_t v = 0;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, (off_t)off), 1);
	close(fd);
	return v;
}

static int read_chunk(struct fixture *f, int i, uint8_t **out)
{
	int r;

	*out = malloc(f->len[i]);
	assert_non_null(*out);
	r = mlfs_pack_set_read(f->set, &f->id[i], &f->loc[i], *out);
	return r;
}

static void test_pack_name_format(void **state)
{
	char name[40];

	(void)state;
	mlfs_pack_name(0x0123456789abcdefull, name, sizeof(name));
	assert_string_equal(name, "pack-0123456789abcdef.mlp");
	mlfs_pack_name(1, name, sizeof(name));
	assert_string_equal(name, "pack-0000000000000001.mlp");
}

static void test_pack_append_then_read_returns_bytes(void **state)
{
	struct fixture *f = *state;
	uint64_t off = MLFS_PACK_HEADER_LEN, size;

	for (int i = 0; i < NCHUNKS; i++) {
		uint8_t *out;

		/* Entries are laid out back to back in one pack. */
		assert_int_equal(f->loc[i].pack_id, f->loc[0].pack_id);
		assert_int_equal(f->loc[i].offset, off);
		assert_int_equal(f->loc[i].raw_len, f->len[i]);
		assert_int_equal(f->loc[i].stored_len, f->stored_len[i]);
		assert_int_equal(f->loc[i].codec, f->codec[i]);
		off += MLFS_PACK_ENTRY_HEADER_LEN + f->stored_len[i];
		assert_int_equal(read_chunk(f, i, &out), 0);
		assert_memory_equal(out, f->data[i], f->len[i]);
		free(out);
	}
	assert_int_equal(mlfs_pack_writer_bytes(f->w), off);
	assert_int_equal(mlfs_pack_set_size(f->set, f->loc[0].pack_id, &size),
			 0);
	assert_int_equal(size, off);
	assert_int_equal(count_files(f->dir), 1);
}

static void test_pack_header_on_disk_is_checked(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[MLFS_PACK_HEADER_LEN];
	uint64_t id = 0;
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	assert_memory_equal(hdr, "MLFSPACK", 8);
	assert_int_equal(mlfs_get_le32(hdr + 8), MLFS_PACK_VERSION);
	assert_int_equal(mlfs_pack_header_check(hdr, &id), 0);
	assert_int_equal(id, f->loc[0].pack_id);
	hdr[8] = 2;
	assert_int_equal(mlfs_pack_header_check(hdr, &id), -EBADMSG);
	hdr[8] = 1;
	hdr[0] = 'X';
	assert_int_equal(mlfs_pack_header_check(hdr, &id), -EBADMSG);
}

static void test_pack_entry_header_flipped_byte_is_ebadmsg(void **state)
{
	struct fixture *f = *state;
	uint64_t base = f->loc[1].offset;

	/* Each byte of the 40-byte entry header is covered (magic, codec,
	 * padding, lengths, id, checksum). */
	for (unsigned b = 0; b < MLFS_PACK_ENTRY_HEADER_LEN; b++) {
		uint8_t old = peek(f->path, base + b), *out;

		poke(f->path, base + b, (uint8_t)(old ^ 0x04));
		assert_int_equal(read_chunk(f, 1, &out), -EBADMSG);
		free(out);
		poke(f->path, base + b, old);
	}
	/* Undamaged again: reads fine. */
	{
		uint8_t *out;

		assert_int_equal(read_chunk(f, 1, &out), 0);
		assert_memory_equal(out, f->data[1], f->len[1]);
		free(out);
	}
}

static void test_pack_entry_parse_checks_fields(void **state)
{
	struct fixture *f = *state;
	uint8_t h[MLFS_PACK_ENTRY_HEADER_LEN];
	enum mlfs_codec codec;
	uint32_t raw, stored;
	struct mlfs_id id;
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(h), (off_t)f->loc[2].offset),
			 (ssize_t)sizeof(h));
	close(fd);
	assert_int_equal(mlfs_pack_entry_parse(h, &id, &codec, &raw, &stored),
			 0);
	assert_memory_equal(id.b, f->id[2].b, MLFS_ID_LEN);
	assert_int_equal(codec, f->codec[2]);
	assert_int_equal(raw, f->len[2]);
	assert_int_equal(stored, f->stored_len[2]);
	assert_int_equal(mlfs_get_le32(h), MLFS_PACK_ENTRY_MAGIC);
}

static void test_pack_read_id_or_loc_mismatch_is_ebadmsg(void **state)
{
	struct fixture *f = *state;
	uint8_t *out = malloc(200000);
	struct mlfs_chunk_loc l;
	struct mlfs_id other = f->id[1];

	assert_non_null(out);
	other.b[15] ^= 1;
	assert_int_equal(mlfs_pack_set_read(f->set, &other, &f->loc[1], out),
			 -EBADMSG);
	/* The right entry, but the id of another chunk. */
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[0], &f->loc[1],
					    out), -EBADMSG);
	l = f->loc[1];
	l.raw_len++;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	l = f->loc[1];
	l.stored_len--;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	l = f->loc[1];
	l.codec = MLFS_CODEC_RAW;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	/* Offset into the middle of an entry. */
	l = f->loc[1];
	l.offset += 8;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	/* Offset past the end of the pack. */
	l = f->loc[1];
	l.offset = 1u << 30;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	/* Absurd lengths are refused before any allocation. */
	l = f->loc[1];
	l.stored_len = UINT32_MAX;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	l = f->loc[1];
	l.raw_len = MLFS_CHUNK_LIMIT + 1;
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[1], &l, out),
			 -EBADMSG);
	free(out);
}

static void test_pack_read_corrupt_stored_bytes_is_ebadmsg(void **state)
{
	struct fixture *f = *state;
	uint64_t at = f->loc[1].offset + MLFS_PACK_ENTRY_HEADER_LEN;
	uint8_t *out;

	/* The zstd frame magic of a ZSTD entry. */
	poke(f->path, at, (uint8_t)(peek(f->path, at) ^ 0xff));
	assert_int_equal(read_chunk(f, 1, &out), -EBADMSG);
	free(out);
	/* The plane mask of a PLANES2 entry: a bit past its two planes. */
	at = f->loc[2].offset + MLFS_PACK_ENTRY_HEADER_LEN;
	poke(f->path, at, (uint8_t)(peek(f->path, at) | 0x80));
	assert_int_equal(read_chunk(f, 2, &out), -EBADMSG);
	free(out);
}

static void test_pack_missing_pack_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_chunk_loc l = f->loc[0];
	uint8_t *out;
	uint64_t size;

	l.pack_id ^= 0x5555;
	out = malloc(l.raw_len);
	assert_non_null(out);
	assert_int_equal(mlfs_pack_set_read(f->set, &f->id[0], &l, out),
			 -ENOENT);
	assert_int_equal(mlfs_pack_set_size(f->set, l.pack_id, &size),
			 -ENOENT);
	free(out);
	/* The real pack deleted, read through a fresh set (no cached fd). */
	mlfs_pack_set_free(f->set);
	f->set = NULL;
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mlfs_pack_set_new(f->dir, &f->set), 0);
	assert_int_equal(read_chunk(f, 0, &out), -ENOENT);
	free(out);
}

struct scan_ctx {
	struct fixture *f;
	int n;
	int fail_at;
};

static int scan_fn(void *ctx, const struct mlfs_id *id,
		   const struct mlfs_chunk_loc *loc)
{
	struct scan_ctx *c = ctx;
	const struct mlfs_chunk_loc *want = &c->f->loc[c->n];

	assert_true(c->n < NCHUNKS);
	assert_memory_equal(id->b, c->f->id[c->n].b, MLFS_ID_LEN);
	assert_int_equal(loc->pack_id, want->pack_id);
	assert_int_equal(loc->offset, want->offset);
	assert_int_equal(loc->stored_len, want->stored_len);
	assert_int_equal(loc->raw_len, want->raw_len);
	assert_int_equal(loc->codec, want->codec);
	c->n++;
	if (c->fail_at && c->n == c->fail_at)
		return -ECANCELED;
	return 0;
}

static void test_pack_scan_finds_every_entry(void **state)
{
	struct scan_ctx c = { *state, 0, 0 };
	bool tail_bad = true;

	assert_int_equal(mlfs_pack_scan(c.f->path, scan_fn, &c, &tail_bad), 0);
	assert_int_equal(c.n, NCHUNKS);
	assert_false(tail_bad);
}

static void test_pack_scan_stops_on_callback_error(void **state)
{
	struct scan_ctx c = { *state, 0, 2 };
	bool tail_bad = true;

	assert_int_equal(mlfs_pack_scan(c.f->path, scan_fn, &c, &tail_bad),
			 -ECANCELED);
	assert_int_equal(c.n, 2);
}

static void test_pack_scan_flags_torn_tail(void **state)
{
	struct fixture *f = *state;
	const struct mlfs_chunk_loc *last = &f->loc[NCHUNKS - 1];
	/* Cut inside the last entry's data, inside its header, and just
	 * after its header. */
	uint64_t cuts[] = {
		last->offset + MLFS_PACK_ENTRY_HEADER_LEN + last->stored_len -
			1,
		last->offset + MLFS_PACK_ENTRY_HEADER_LEN,
		last->offset + 10,
		last->offset + 1,
	};

	for (size_t i = 0; i < MLFS_ARRAY_SIZE(cuts); i++) {
		struct scan_ctx c = { f, 0, 0 };
		bool tail_bad = false;

		assert_int_equal(truncate(f->path, (off_t)cuts[i]), 0);
		assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c,
						&tail_bad), 0);
		assert_int_equal(c.n, NCHUNKS - 1);
		assert_true(tail_bad);
	}
	/* Exactly at an entry boundary: clean. */
	{
		struct scan_ctx c = { f, 0, 0 };
		bool tail_bad = true;

		assert_int_equal(truncate(f->path, (off_t)last->offset), 0);
		assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c,
						&tail_bad), 0);
		assert_int_equal(c.n, NCHUNKS - 1);
		assert_false(tail_bad);
	}
	/* The surviving entries still read; the cut one does not. */
	{
		uint8_t *out;

		assert_int_equal(read_chunk(f, 0, &out), 0);
		assert_memory_equal(out, f->data[0], f->len[0]);
		free(out);
		assert_int_equal(read_chunk(f, NCHUNKS - 1, &out), -EBADMSG);
		free(out);
	}
}

static void test_pack_scan_flags_garbage_after_entries(void **state)
{
	struct fixture *f = *state;
	struct scan_ctx c = { f, 0, 0 };
	bool tail_bad = false;
	uint8_t junk[100];
	int fd;

	memset(junk, 0xab, sizeof(junk));
	assert_int_equal(chmod(f->path, 0644), 0);
	fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c, &tail_bad), 0);
	assert_int_equal(c.n, NCHUNKS);
	assert_true(tail_bad);
}

static void test_pack_scan_bad_header_is_ebadmsg(void **state)
{
	struct fixture *f = *state;
	struct scan_ctx c = { f, 0, 0 };
	bool tail_bad;

	/* Version. */
	poke(f->path, 8, 2);
	assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c, &tail_bad),
			 -EBADMSG);
	poke(f->path, 8, 1);
	/* Magic. */
	poke(f->path, 0, 'm');
	assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c, &tail_bad),
			 -EBADMSG);
	poke(f->path, 0, 'M');
	assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c, &tail_bad), 0);
	/* Shorter than a header. */
	c.n = 0;
	assert_int_equal(truncate(f->path, 20), 0);
	assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c, &tail_bad),
			 -EBADMSG);
	assert_int_equal(truncate(f->path, 0), 0);
	assert_int_equal(mlfs_pack_scan(f->path, scan_fn, &c, &tail_bad),
			 -EBADMSG);
	assert_int_equal(c.n, 0);
}

static void test_pack_scan_missing_file_is_enoent(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX];
	bool tail_bad;

	snprintf(p, sizeof(p), "%s/pack-0000000000000000.mlp", f->dir);
	assert_int_equal(mlfs_pack_scan(p, scan_fn, NULL, &tail_bad), -ENOENT);
}

static void test_pack_discard_removes_files(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(count_files(f->dir), 1);
	mlfs_pack_writer_discard(f->w);
	f->w = NULL;
	assert_int_equal(count_files(f->dir), 0);
	mlfs_pack_writer_discard(NULL);
	mlfs_pack_writer_free(NULL);
	mlfs_pack_set_free(NULL);
}

/* 8 entries of 8 MiB: the 8th does not fit in 64 MiB and starts pack 2. */
static void test_pack_writer_rolls_over_past_target_size(void **state)
{
	char dir[64];
	struct mlfs_pack_writer *w;
	struct mlfs_pack_set *set;
	struct mlfs_chunk_loc loc[8];
	uint32_t len = MLFS_CHUNK_LIMIT;
	uint8_t *buf = malloc(len), *out = malloc(len);
	struct mlfs_id id = { { 0 } };

	(void)state;
	assert_non_null(buf);
	assert_non_null(out);
	snprintf(dir, sizeof(dir), "%.30s/mlfs-test-roll-XXXXXX", tmp_base());
	assert_non_null(mkdtemp(dir));
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	assert_int_equal(mlfs_pack_writer_new(dir, &w), 0);
	for (int i = 0; i < 8; i++) {
		id.b[0] = (uint8_t)i;
		buf[0] = (uint8_t)i;
		assert_int_equal(mlfs_pack_writer_append(w, 0, &id, MLFS_CODEC_RAW,
							 len, buf, len,
							 &loc[i]), 0);
	}
	for (int i = 1; i < 7; i++)
		assert_int_equal(loc[i].pack_id, loc[0].pack_id);
	assert_int_not_equal(loc[7].pack_id, loc[0].pack_id);
	assert_int_equal(loc[7].offset, MLFS_PACK_HEADER_LEN);
	assert_int_equal(mlfs_pack_writer_bytes(w),
			 2 * MLFS_PACK_HEADER_LEN +
			 8 * ((uint64_t)len + MLFS_PACK_ENTRY_HEADER_LEN));
	assert_int_equal(count_files(dir), 2);
	assert_int_equal(mlfs_pack_set_new(dir, &set), 0);
	id.b[0] = 7;
	buf[0] = 7;
	assert_int_equal(mlfs_pack_set_read(set, &id, &loc[7], out), 0);
	assert_memory_equal(out, buf, len);
	id.b[0] = 3;
	buf[0] = 3;
	assert_int_equal(mlfs_pack_set_read(set, &id, &loc[3], out), 0);
	assert_memory_equal(out, buf, len);
	mlfs_pack_set_free(set);
	mlfs_pack_writer_discard(w);
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	free(buf);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_name_format),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pack_append_then_read_returns_bytes),
		T(test_pack_header_on_disk_is_checked),
		T(test_pack_entry_header_flipped_byte_is_ebadmsg),
		T(test_pack_entry_parse_checks_fields),
		T(test_pack_read_id_or_loc_mismatch_is_ebadmsg),
		T(test_pack_read_corrupt_stored_bytes_is_ebadmsg),
		T(test_pack_missing_pack_is_enoent),
		T(test_pack_scan_finds_every_entry),
		T(test_pack_scan_stops_on_callback_error),
		T(test_pack_scan_flags_torn_tail),
		T(test_pack_scan_flags_garbage_after_entries),
		T(test_pack_scan_bad_header_is_ebadmsg),
		T(test_pack_scan_missing_file_is_enoent),
		T(test_pack_discard_removes_files),
#undef T
		cmocka_unit_test(test_pack_writer_rolls_over_past_target_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
