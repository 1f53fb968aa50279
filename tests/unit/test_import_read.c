/*
 * test_import_read.c - the import's file reader: with and without its
 * read-ahead thread, the batches hold exactly the chunks of one pass of
 * the chunker over the whole file, in order, for sizes around its buffer
 * size (8 MiB), for empty, tiny and constant files, and for files with
 * holes (read as zeros without reading them, cut without scanning them).
 */
#include <errno.h>
#include <fcntl.h>
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

#include "import_read.h"

#define MIB (1u << 20)

static const struct mlfs_chunk_params defp = {
	MLFS_CHUNK_MIN_DEFAULT, MLFS_CHUNK_AVG_DEFAULT, MLFS_CHUNK_MAX_DEFAULT
};

static uint8_t *make_data(size_t len, uint64_t seed, bool constant)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = constant ? 0 : (uint8_t)(seed >> 56);
	}
	return p;
}

static int write_temp(const uint8_t *p, size_t len)
{
	char path[] = "/tmp/mlfs-test-read.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(mlfs_pwrite_full(fd, p, len, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read @fd (holding the @len bytes of @data) through a file_reader and
 * compare every chunk with a single pass of the chunker over @data. */
static void check_reader(const uint8_t *data, size_t len, int fd,
			 bool threaded, bool holes)
{
	struct file_reader *fr;
	struct read_batch b = { .last = false };
	size_t ref_pos = 0, batches = 0;

	assert_int_equal(file_reader_open(fd, &defp, &mlfs_splitter_fastcdc, NULL,
					  threaded, holes, &fr), 0);
	while (!b.last) {
		size_t start = 0;

		assert_int_equal(file_reader_next(fr, &b), 0);
		batches++;
		for (size_t i = 0; i < b.n; i++) {
			size_t want = mlfs_chunker_next(&defp, data + ref_pos,
							len - ref_pos, true);

			assert_int_equal(b.ends[i] - start, want);
			assert_memory_equal(b.data + start, data + ref_pos,
					    want);
			ref_pos += want;
			start = b.ends[i];
		}
	}
	assert_int_equal(ref_pos, len);
	assert_true(batches >= 1);
	file_reader_close(fr);
}

static void check_file(size_t len, uint64_t seed, bool constant,
		       bool threaded)
{
	uint8_t *data = make_data(len, seed, constant);
	int fd = write_temp(data, len);

	check_reader(data, len, fd, threaded, false);
	check_reader(data, len, fd, threaded, true);
	close(fd);
	free(data);
}

static void test_reader_matches_one_pass_around_buffer_sizes(void **state)
{
	static const size_t sizes[] = {
		0, 1, 100, 16 * 1024, 300 * 1024, 8 * MIB - 1, 8 * MIB,
		8 * MIB + 1, 16 * MIB, 20 * MIB + 12345,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_file(sizes[i], 7 + i, false, false);
		check_file(sizes[i], 7 + i, false, true);
	}
}

static void test_reader_constant_data_cuts_at_max(void **state)
{
	(void)state;
	/* No content cut ever: every chunk is max, batches still line up. */
	check_file(19 * MIB + 3, 1, true, false);
	check_file(19 * MIB + 3, 1, true, true);
}

/* Data and zeros, in runs longer and shorter than a chunk and than the
 * 8 MiB buffer, written as a file with holes where the zeros are
 * (ftruncate, then only the data): the reader's hole filling and its cut
 * in zeros give the chunks of one pass over the same bytes. */
static void test_reader_sparse_file_matches_one_pass(void **state)
{
	static const struct { size_t off, len; } runs[] = {
		{ 0, 5000 },                     /* data at the start */
		{ 300 * 1024, 100 },             /* a speck between holes */
		{ 9 * MIB + 4096, 2 * MIB },     /* across a buffer boundary */
		{ 17 * MIB - 30000, 70000 },
		{ 30 * MIB - 10, 10 },           /* the last bytes */
	};
	const size_t len = 30 * MIB;
	uint8_t *data = calloc(1, len);
	char path[] = "/tmp/mlfs-test-read-sparse.XXXXXX";
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(data);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		uint8_t *r = make_data(runs[i].len, 40 + i, false);

		memcpy(data + runs[i].off, r, runs[i].len);
		assert_int_equal(mlfs_pwrite_full(fd, r, runs[i].len,
						  runs[i].off), 0);
		free(r);
	}
	assert_int_equal(fstat(fd, &st), 0);
	/* Holes where the file system keeps them (not a test failure where
	 * it does not: the bytes must match all the same). */
	if ((uint64_t)st.st_blocks * 512 >= len)
		print_message("note: no holes on this file system\n");
	for (int threaded = 0; threaded < 2; threaded++)
		for (int holes = 0; holes < 2; holes++)
			check_reader(data, len, fd, threaded, holes);
	close(fd);
	free(data);
}

/* A file that ends in a hole ends at its size: the zeros up to it are
 * produced, nothing past it. */
static void test_reader_trailing_hole_ends_at_size(void **state)
{
	const size_t len = 12 * MIB + 5;
	uint8_t *data = calloc(1, len);
	uint8_t *head = make_data(70000, 9, false);
	char path[] = "/tmp/mlfs-test-read-tail.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(data);
	assert_true(fd >= 0);
	unlink(path);
	memcpy(data, head, 70000);
	assert_int_equal(mlfs_pwrite_full(fd, head, 70000, 0), 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	check_reader(data, len, fd, false, true);
	check_reader(data, len, fd, true, true);
	close(fd);
	free(head);
	free(data);
}

static void test_reader_closes_early_without_hanging(void **state)
{
	uint8_t *data = make_data(40 * MIB, 3, false);
	struct file_reader *fr;
	struct read_batch b;
	int fd = write_temp(data, 40 * MIB);

	(void)state;
	/* The consumer stops after one batch (an error upstream): closing
	 * must stop the read-ahead thread, which may be waiting for room. */
	assert_int_equal(file_reader_open(fd, &defp, &mlfs_splitter_fastcdc, NULL,
					  true, false, &fr), 0);
	assert_int_equal(file_reader_next(fr, &b), 0);
	assert_false(b.last);
	usleep(50000);
	file_reader_close(fr);
	close(fd);
	free(data);
}

static void test_reader_reports_read_errors(void **state)
{
	struct file_reader *fr;
	struct read_batch b;
	int fd = open("/", O_RDONLY | O_DIRECTORY);

	(void)state;
	/* read(2) of a directory fails with EISDIR. */
	assert_true(fd >= 0);
	for (int threaded = 0; threaded < 2; threaded++) {
		assert_int_equal(file_reader_open(fd, &defp,
						  &mlfs_splitter_fastcdc, NULL,
						  threaded, threaded, &fr), 0);
		assert_int_equal(file_reader_next(fr, &b), -EISDIR);
		file_reader_close(fr);
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_matches_one_pass_around_buffer_sizes),
		cmocka_unit_test(test_reader_constant_data_cuts_at_max),
		cmocka_unit_test(test_reader_sparse_file_matches_one_pass),
		cmocka_unit_test(test_reader_trailing_hole_ends_at_size),
		cmocka_unit_test(test_reader_closes_early_without_hanging),
		cmocka_unit_test(test_reader_reports_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
