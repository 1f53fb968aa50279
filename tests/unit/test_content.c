/*
 * test_content.c - the packed chunk list (20 bytes a chunk) and the
 * offset -> chunk index search.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mlfs/content.h"

#define ENTRY 20

/* Build a chunk list blob of @n chunks with lengths @lens. */
static uint8_t *make_list(const uint32_t *lens, size_t n)
{
	uint8_t *p = malloc(n ? n * ENTRY : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		memset(p + i * ENTRY, (int)(0x10 + i), MLFS_ID_LEN);
		mlfs_put_le32(p + i * ENTRY + MLFS_ID_LEN, lens[i]);
	}
	return p;
}

static void content_release(struct mlfs_content *c)
{
	free(c->ids);
	free(c->offs);
	free(c->locs);
	memset(c, 0, sizeof(*c));
}

static int decode(const uint8_t *p, size_t len, uint64_t size)
{
	struct mlfs_content c;
	int r;

	memset(&c, 0, sizeof(c));
	r = mlfs_chunklist_decode(p, len, size, &c);
	content_release(&c);
	return r;
}

static void test_content_chunklist_decode_valid_list(void **state)
{
	static const uint32_t lens[] = { 100, 1, 65536, MLFS_CHUNK_LIMIT };
	uint8_t *p = make_list(lens, 4);
	uint64_t size = 100 + 1 + 65536 + (uint64_t)MLFS_CHUNK_LIMIT;
	struct mlfs_content c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mlfs_chunklist_decode(p, 4 * ENTRY, size, &c), 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.size, size);
	assert_int_equal(c.offs[0], 0);
	assert_int_equal(c.offs[1], 100);
	assert_int_equal(c.offs[2], 101);
	assert_int_equal(c.offs[3], 65637);
	assert_int_equal(c.offs[4], size);
	for (int i = 0; i < 4; i++) {
		uint8_t want[MLFS_ID_LEN];

		memset(want, 0x10 + i, sizeof(want));
		assert_memory_equal(c.ids[i].b, want, MLFS_ID_LEN);
	}
	content_release(&c);
	free(p);
}

static void test_content_chunklist_decode_empty_list(void **state)
{
	struct mlfs_content c;
	uint8_t dummy = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mlfs_chunklist_decode(&dummy, 0, 0, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(c.offs[0], 0);
	content_release(&c);
	/* An empty list cannot describe a non-empty file. */
	assert_int_equal(decode(&dummy, 0, 1), -EBADMSG);
}

static void test_content_chunklist_decode_rejects_bad_length(void **state)
{
	static const uint32_t lens[] = { 10, 20 };
	uint8_t *p = make_list(lens, 2);

	(void)state;
	for (size_t len = 1; len < 2 * ENTRY; len++) {
		if (len == ENTRY)
			continue;
		assert_int_equal(decode(p, len, 30), -EBADMSG);
	}
	assert_int_equal(decode(p, ENTRY, 10), 0);
	assert_int_equal(decode(p, 2 * ENTRY, 30), 0);
	free(p);
}

static void test_content_chunklist_decode_rejects_zero_length_chunk(
	void **state)
{
	static const uint32_t lens[] = { 10, 0, 20 };
	uint8_t *p = make_list(lens, 3);

	(void)state;
	assert_int_equal(decode(p, 3 * ENTRY, 30), -EBADMSG);
	free(p);
}

static void test_content_chunklist_decode_rejects_size_mismatch(void **state)
{
	static const uint32_t lens[] = { 10, 20 };
	uint8_t *p = make_list(lens, 2);

	(void)state;
	assert_int_equal(decode(p, 2 * ENTRY, 29), -EBADMSG);
	assert_int_equal(decode(p, 2 * ENTRY, 31), -EBADMSG);
	assert_int_equal(decode(p, 2 * ENTRY, 0), -EBADMSG);
	assert_int_equal(decode(p, 2 * ENTRY, UINT64_MAX), -EBADMSG);
	free(p);
}

static void test_content_chunklist_decode_rejects_oversized_chunk(void **state)
{
	static const uint32_t lens[] = { MLFS_CHUNK_LIMIT + 1 };
	static const uint32_t huge[] = { UINT32_MAX };
	uint8_t *p = make_list(lens, 1), *q = make_list(huge, 1);

	(void)state;
	assert_int_equal(decode(p, ENTRY, MLFS_CHUNK_LIMIT + 1ull), -EBADMSG);
	assert_int_equal(decode(q, ENTRY, UINT32_MAX), -EBADMSG);
	free(p);
	free(q);
}

static void test_content_chunk_index_boundaries(void **state)
{
	static const uint32_t lens[] = { 100, 1, 50, 1, 1, 4096, 7 };
	size_t n = MLFS_ARRAY_SIZE(lens);
	uint8_t *p = make_list(lens, n);
	struct mlfs_content c;
	uint64_t size = 0;

	(void)state;
	for (size_t i = 0; i < n; i++)
		size += lens[i];
	memset(&c, 0, sizeof(c));
	assert_int_equal(mlfs_chunklist_decode(p, n * ENTRY, size, &c), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t first = c.offs[i], last = c.offs[i + 1] - 1;
		uint64_t mid = first + (last - first) / 2;

		assert_int_equal(mlfs_content_chunk_index(&c, first), i);
		assert_int_equal(mlfs_content_chunk_index(&c, last), i);
		if (i > 0)
			assert_int_equal(
				mlfs_content_chunk_index(&c, first - 1), i - 1);
		if (i + 1 < n)
			assert_int_equal(
				mlfs_content_chunk_index(&c, last + 1), i + 1);
		assert_int_equal(mlfs_content_chunk_index(&c, mid), i);
	}
	/* Every byte, by brute force. */
	for (uint64_t off = 0, i = 0; off < size; off++) {
		if (off == c.offs[i + 1])
			i++;
		assert_int_equal(mlfs_content_chunk_index(&c, off), i);
	}
	content_release(&c);
	free(p);
}

static void test_content_chunk_index_single_chunk(void **state)
{
	static const uint32_t lens[] = { 10 };
	uint8_t *p = make_list(lens, 1);
	struct mlfs_content c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mlfs_chunklist_decode(p, ENTRY, 10, &c), 0);
	assert_int_equal(mlfs_content_chunk_index(&c, 0), 0);
	assert_int_equal(mlfs_content_chunk_index(&c, 9), 0);
	content_release(&c);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_chunklist_decode_valid_list),
		cmocka_unit_test(test_content_chunklist_decode_empty_list),
		cmocka_unit_test(test_content_chunklist_decode_rejects_bad_length),
		cmocka_unit_test(test_content_chunklist_decode_rejects_zero_length_chunk),
		cmocka_unit_test(test_content_chunklist_decode_rejects_size_mismatch),
		cmocka_unit_test(test_content_chunklist_decode_rejects_oversized_chunk),
		cmocka_unit_test(test_content_chunk_index_boundaries),
		cmocka_unit_test(test_content_chunk_index_single_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
