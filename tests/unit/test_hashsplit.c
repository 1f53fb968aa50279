/*
 * test_hashsplit.c - a file's digest from per-chunk parts equals
 * mlfs_hash() of the whole file (libxxhash's XXH3-128) for every size
 * class and chunking, whatever order the parts are made in; parts out of
 * order and unfinished digests are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mlfs/hashsplit.h"

static void fill_key(struct mlfs_hash_key *k, uint8_t seed)
{
	for (size_t i = 0; i < sizeof(k->secret); i++)
		k->secret[i] = (uint8_t)(seed * 37u + i * 11u + (i >> 2));
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static uint8_t *random_bytes(size_t len, uint32_t seed)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd(&seed);
	return p;
}

/* Digest of @p (@len bytes) cut at the @ncuts offsets of @cuts (sorted,
 * inside), parts made last first, added in order. */
static void split_digest(const struct mlfs_hash_key *k, const uint8_t *p,
			 size_t len, const size_t *cuts, size_t ncuts,
			 struct mlfs_id *out)
{
	struct mlfs_hashsplit_part **parts = calloc(ncuts + 1, sizeof(*parts));
	struct mlfs_hashsplit h;

	assert_non_null(parts);
	for (size_t i = ncuts + 1; i-- > 0;) {
		size_t from = i ? cuts[i - 1] : 0;
		size_t to = i < ncuts ? cuts[i] : len;

		size_t need = mlfs_hashsplit_part_size(len, from, to - from);

		if (i % 2) {
			/* in memory of our own, of just the size it asks */
			void *mem = malloc(need);

			assert_non_null(mem);
			assert_int_equal(mlfs_hashsplit_part_make(k, len, from,
					 p + from, to - from, mem, &parts[i]),
					 0);
			assert_ptr_equal(parts[i], mem);
		} else {
			assert_int_equal(mlfs_hashsplit_part_new(k, len, from,
					 p + from, to - from, &parts[i]), 0);
		}
		assert_int_equal(mlfs_hashsplit_part_mem(parts[i]), need);
	}
	mlfs_hashsplit_init(&h, k, len);
	for (size_t i = 0; i <= ncuts; i++) {
		assert_int_equal(mlfs_hashsplit_add(&h, parts[i]), 0);
		if (i % 2)
			free(parts[i]);
		else
			mlfs_hashsplit_part_free(parts[i]);
	}
	assert_int_equal(mlfs_hashsplit_final(&h, out), 0);
	free(parts);
}

/* Cut @len bytes every @step bytes; returns the number of cuts. */
static size_t even_cuts(size_t len, size_t step, size_t *cuts, size_t max)
{
	size_t n = 0;

	for (size_t o = step; o < len && n < max; o += step)
		cuts[n++] = o;
	return n;
}

static void test_hashsplit_equals_one_shot_for_every_size_and_cut(void **s)
{
	static const size_t sizes[] = {
		0, 1, 63, 64, 65, 128, 200, 239, 240, 241, 255, 256, 257, 300,
		1023, 1024, 1025, 1087, 1088, 1089, 1151, 1152, 2047, 2048,
		2049, 3071, 4096, 4160, 65536, 65537, 100003, (1u << 20) + 7,
	};
	static const size_t steps[] = {
		1, 7, 63, 64, 65, 100, 1000, 1023, 1024, 1025, 4097, 65536,
	};
	struct mlfs_hash_key k;
	size_t *cuts = malloc(sizeof(*cuts) * 4096);

	(void)s;
	assert_non_null(cuts);
	fill_key(&k, 5);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(sizes); i++) {
		uint8_t *p = random_bytes(sizes[i], (uint32_t)i + 1);
		struct mlfs_id want, got;

		mlfs_hash(&k, p, sizes[i], &want);
		split_digest(&k, p, sizes[i], NULL, 0, &got);
		assert_memory_equal(got.b, want.b, MLFS_ID_LEN);
		for (size_t j = 0; j < MLFS_ARRAY_SIZE(steps); j++) {
			size_t n = even_cuts(sizes[i], steps[j], cuts, 4096);

			if (n == 4096)
				continue; /* too many parts for this size */
			split_digest(&k, p, sizes[i], cuts, n, &got);
			assert_memory_equal(got.b, want.b, MLFS_ID_LEN);
		}
		free(p);
	}
	free(cuts);
}

static void test_hashsplit_equals_one_shot_for_random_cuts(void **s)
{
	struct mlfs_hash_key k;
	uint32_t seed = 42;
	size_t cuts[64];

	(void)s;
	fill_key(&k, 9);
	for (int round = 0; round < 300; round++) {
		size_t len = 241 + rnd(&seed) % 300000, n = rnd(&seed) % 64;
		uint8_t *p = random_bytes(len, seed);
		struct mlfs_id want, got;

		for (size_t i = 0; i < n; i++)
			cuts[i] = 1 + rnd(&seed) % (len - 1);
		/* sort and drop repeats (parts are never empty) */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		for (size_t i = 1; i < n;)
			if (cuts[i] == cuts[i - 1])
				memmove(cuts + i, cuts + i + 1,
					(--n - i) * sizeof(*cuts));
			else
				i++;
		mlfs_hash(&k, p, len, &want);
		split_digest(&k, p, len, cuts, n, &got);
		assert_memory_equal(got.b, want.b, MLFS_ID_LEN);
		free(p);
	}
}

static void test_hashsplit_one_changed_byte_changes_digest(void **s)
{
	struct mlfs_hash_key k;
	uint8_t *p = random_bytes(70000, 3);
	size_t cuts[] = { 16384, 40000 };
	struct mlfs_id a, b;

	(void)s;
	fill_key(&k, 1);
	split_digest(&k, p, 70000, cuts, 2, &a);
	p[39999] ^= 1;
	split_digest(&k, p, 70000, cuts, 2, &b);
	assert_memory_not_equal(a.b, b.b, MLFS_ID_LEN);
	mlfs_hash(&k, p, 70000, &a);
	assert_memory_equal(a.b, b.b, MLFS_ID_LEN);
	free(p);
}

static void test_hashsplit_refuses_parts_out_of_order(void **s)
{
	struct mlfs_hash_key k;
	uint8_t *p = random_bytes(5000, 4);
	struct mlfs_hashsplit_part *a, *b, *other;
	struct mlfs_hashsplit h;
	struct mlfs_id id;

	(void)s;
	fill_key(&k, 2);
	assert_int_equal(mlfs_hashsplit_part_new(&k, 5000, 0, p, 3000, &a), 0);
	assert_int_equal(mlfs_hashsplit_part_new(&k, 5000, 3000, p + 3000,
						 2000, &b), 0);
	assert_int_equal(mlfs_hashsplit_part_new(&k, 6000, 0, p, 3000,
						 &other), 0);
	mlfs_hashsplit_init(&h, &k, 5000);
	assert_int_equal(mlfs_hashsplit_add(&h, b), -EINVAL);
	assert_int_equal(mlfs_hashsplit_add(&h, other), -EINVAL);
	assert_int_equal(mlfs_hashsplit_add(&h, a), 0);
	assert_int_equal(mlfs_hashsplit_final(&h, &id), -EINVAL);
	assert_int_equal(mlfs_hashsplit_add(&h, a), -EINVAL);
	assert_int_equal(mlfs_hashsplit_add(&h, b), 0);
	assert_int_equal(mlfs_hashsplit_final(&h, &id), 0);
	mlfs_hashsplit_part_free(a);
	mlfs_hashsplit_part_free(b);
	mlfs_hashsplit_part_free(other);
	mlfs_hashsplit_part_free(NULL);
	free(p);
}

static void test_hashsplit_part_outside_the_file_is_einval(void **s)
{
	struct mlfs_hash_key k;
	uint8_t p[100] = { 0 };
	struct mlfs_hashsplit_part *pt = (void *)p;

	(void)s;
	fill_key(&k, 2);
	assert_int_equal(mlfs_hashsplit_part_new(&k, 1000, 950, p, 100, &pt),
			 -EINVAL);
	assert_null(pt);
	assert_int_equal(mlfs_hashsplit_part_new(&k, 1000, 1001, p, 0, &pt),
			 -EINVAL);
	assert_int_equal(mlfs_hashsplit_part_new(&k, 1000, 10, p, 0, &pt),
			 -EINVAL);
}

static int limit_scalar(void **s)
{
	(void)s;
	mlfs_hashsplit_limit_isa(MLFS_HASHSPLIT_ISA_SCALAR);
	return 0;
}

static int limit_avx2(void **s)
{
	(void)s;
	mlfs_hashsplit_limit_isa(MLFS_HASHSPLIT_ISA_AVX2);
	return 0;
}

static int limit_none(void **s)
{
	(void)s;
	mlfs_hashsplit_limit_isa(MLFS_HASHSPLIT_ISA_BEST);
	return 0;
}

int main(void)
{
	/* every size and cut once per instruction set the CPU may use */
	const struct CMUnitTest isa[] = {
		cmocka_unit_test_setup_teardown(
			test_hashsplit_equals_one_shot_for_every_size_and_cut,
			limit_scalar, limit_none),
		cmocka_unit_test_setup_teardown(
			test_hashsplit_equals_one_shot_for_random_cuts,
			limit_scalar, limit_none),
		cmocka_unit_test_setup_teardown(
			test_hashsplit_equals_one_shot_for_every_size_and_cut,
			limit_avx2, limit_none),
		cmocka_unit_test_setup_teardown(
			test_hashsplit_equals_one_shot_for_random_cuts,
			limit_avx2, limit_none),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_hashsplit_equals_one_shot_for_every_size_and_cut),
		cmocka_unit_test(
			test_hashsplit_equals_one_shot_for_random_cuts),
		cmocka_unit_test(
			test_hashsplit_one_changed_byte_changes_digest),
		cmocka_unit_test(test_hashsplit_refuses_parts_out_of_order),
		cmocka_unit_test(
			test_hashsplit_part_outside_the_file_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) |
	       cmocka_run_group_tests(isa, NULL, NULL);
}
