/*
 * test_hash.c - keyed XXH3-128 ids: determinism, key separation,
 * streaming equals one-shot, canonical byte order, hex encoding.
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
#include <xxhash.h>

#include "mlfs/hash.h"

static void fill_key(struct mlfs_hash_key *k, uint8_t seed)
{
	for (size_t i = 0; i < sizeof(k->secret); i++)
		k->secret[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 3));
}

static uint8_t *pattern(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131u + (i >> 9));
	return p;
}

static void test_hash_equal_input_equal_id(void **state)
{
	struct mlfs_hash_key k;
	struct mlfs_id a, b;
	uint8_t *p = pattern(5000), *q = pattern(5000);

	(void)state;
	fill_key(&k, 1);
	mlfs_hash(&k, p, 5000, &a);
	mlfs_hash(&k, q, 5000, &b);
	assert_memory_equal(a.b, b.b, MLFS_ID_LEN);
	assert_int_equal(mlfs_id_cmp(&a, &b), 0);
	assert_false(mlfs_id_is_zero(&a));
	free(p);
	free(q);
}

static void test_hash_differs_across_keys(void **state)
{
	struct mlfs_hash_key k1, k2;
	struct mlfs_id a, b;
	uint8_t *p = pattern(1000);
	static const size_t lens[] = { 0, 1, 16, 17, 128, 129, 240, 241, 1000 };

	(void)state;
	fill_key(&k1, 1);
	fill_key(&k2, 2);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
		mlfs_hash(&k1, p, lens[i], &a);
		mlfs_hash(&k2, p, lens[i], &b);
		assert_memory_not_equal(a.b, b.b, MLFS_ID_LEN);
	}
	free(p);
}

static void test_hash_differs_for_one_changed_byte(void **state)
{
	struct mlfs_hash_key k;
	struct mlfs_id a, b;
	uint8_t *p = pattern(4096);

	(void)state;
	fill_key(&k, 3);
	mlfs_hash(&k, p, 4096, &a);
	p[4095] ^= 0x80;
	mlfs_hash(&k, p, 4096, &b);
	assert_memory_not_equal(a.b, b.b, MLFS_ID_LEN);
	/* A prefix is a different input too. */
	mlfs_hash(&k, p, 4095, &b);
	assert_memory_not_equal(a.b, b.b, MLFS_ID_LEN);
	free(p);
}

static void test_hash_streaming_equals_one_shot(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 240, 241, 1023, 65536,
				       300001 };
	static const size_t pieces[] = { 1, 7, 64, 1000, 4096, 100000 };
	struct mlfs_hash_key k;
	uint8_t *p = pattern(300001);

	(void)state;
	fill_key(&k, 9);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
		struct mlfs_id one;

		mlfs_hash(&k, p, lens[i], &one);
		for (size_t j = 0; j < MLFS_ARRAY_SIZE(pieces); j++) {
			struct mlfs_hasher h = { 0 };
			struct mlfs_id st;

			if (lens[i] > 20000 && pieces[j] < 64)
				continue; /* slow and adds nothing */
			assert_int_equal(mlfs_hasher_init(&h, &k), 0);
			for (size_t off = 0; off < lens[i]; off += pieces[j])
				mlfs_hasher_update(&h, p + off,
						   lens[i] - off < pieces[j] ?
						   lens[i] - off : pieces[j]);
			mlfs_hasher_final(&h, &st);
			mlfs_hasher_release(&h);
			assert_null(h.state);
			assert_memory_equal(one.b, st.b, MLFS_ID_LEN);
		}
	}
	free(p);
}

static void test_hash_release_accepts_zeroed_hasher(void **state)
{
	struct mlfs_hasher h = { 0 };

	(void)state;
	mlfs_hasher_release(&h);
	mlfs_hasher_release(&h);
	assert_null(h.state);
}

static void test_hash_id_is_canonical_xxh3_128(void **state)
{
	struct mlfs_hash_key k;
	struct mlfs_id id;
	XXH128_canonical_t c;
	XXH128_hash_t h;
	uint8_t *p = pattern(777);

	(void)state;
	fill_key(&k, 5);
	mlfs_hash(&k, p, 777, &id);
	h = XXH3_128bits_withSecret(p, 777, k.secret, sizeof(k.secret));
	XXH128_canonicalFromHash(&c, h);
	assert_memory_equal(id.b, c.digest, MLFS_ID_LEN);
	/* Canonical is big-endian: high64 first. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(id.b[i], (uint8_t)(h.high64 >> (56 - 8 * i)));
		assert_int_equal(id.b[8 + i],
				 (uint8_t)(h.low64 >> (56 - 8 * i)));
	}
	free(p);
}

/* Ids are part of the format: whichever SIMD path hash.c takes (the
 * run-time dispatch on x86-64), one-shot, streaming and multi-part
 * hashing must equal libxxhash's portable entry point at every size
 * class XXH3 treats differently. */
static void test_hash_all_paths_match_portable_xxh3(void **state)
{
	static const size_t lens[] = { 0, 1, 3, 4, 8, 9, 16, 17, 128, 129,
				       240, 241, 1023, 1024, 65543,
				       1u << 20 };
	struct mlfs_hash_key k;
	uint8_t *p = pattern(1u << 20);

	(void)state;
	fill_key(&k, 9);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], half = n / 3;
		struct mlfs_id one, streamed, parts;
		struct mlfs_span sp[2] = { { p, half }, { p + half, n - half } };
		struct mlfs_hasher h = { 0 };
		XXH128_canonical_t c;

		XXH128_canonicalFromHash(&c, XXH3_128bits_withSecret(p, n,
					 k.secret, sizeof(k.secret)));
		mlfs_hash(&k, p, n, &one);
		assert_int_equal(mlfs_hasher_init(&h, &k), 0);
		mlfs_hasher_update(&h, p, half);
		mlfs_hasher_update(&h, p + half, n - half);
		mlfs_hasher_final(&h, &streamed);
		mlfs_hasher_release(&h);
		mlfs_hash_parts(&k, sp, 2, &parts);
		assert_memory_equal(one.b, c.digest, MLFS_ID_LEN);
		assert_memory_equal(streamed.b, c.digest, MLFS_ID_LEN);
		assert_memory_equal(parts.b, c.digest, MLFS_ID_LEN);
	}
	free(p);
}

static void test_hash_hex_round_trip(void **state)
{
	struct mlfs_id id, back;
	char hex[MLFS_ID_HEX_LEN + 1];

	(void)state;
	for (int i = 0; i < MLFS_ID_LEN; i++)
		id.b[i] = (uint8_t)(i * 17 + 0x0f);
	mlfs_id_to_hex(&id, hex);
	assert_string_equal(hex, "0f2031425364758697a8b9cadbecfd0e");
	assert_int_equal(mlfs_id_from_hex(hex, &back), 0);
	assert_memory_equal(id.b, back.b, MLFS_ID_LEN);
	/* Upper case parses to the same bytes. */
	assert_int_equal(mlfs_id_from_hex("0F2031425364758697A8B9CADBECFD0E",
					  &back), 0);
	assert_memory_equal(id.b, back.b, MLFS_ID_LEN);
	memset(id.b, 0xff, MLFS_ID_LEN);
	mlfs_id_to_hex(&id, hex);
	assert_string_equal(hex, "ffffffffffffffffffffffffffffffff");
	memset(id.b, 0, MLFS_ID_LEN);
	mlfs_id_to_hex(&id, hex);
	assert_string_equal(hex, "00000000000000000000000000000000");
	assert_true(mlfs_id_is_zero(&id));
}

static void test_hash_from_hex_rejects_bad_input(void **state)
{
	static const char *const bad[] = {
		"",
		"0",
		"0f203142536475869708192a3b4c5d6",   /* 31 */
		"0f203142536475869708192a3b4c5d6e0", /* 33 */
		"0f203142536475869708192a3b4c5d6g",  /* non-hex last */
		"g0203142536475869708192a3b4c5d6e",  /* non-hex first */
		"0f20314253647586 708192a3b4c5d6e",  /* space */
		"0x203142536475869708192a3b4c5d6e",
		"0f203142536475869708192a3b4c5d6e\n",
		"-f203142536475869708192a3b4c5d6e",
	};
	struct mlfs_id out;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++)
		assert_int_equal(mlfs_id_from_hex(bad[i], &out), -EINVAL);
}

static void test_hash_id_cmp_orders_like_hex(void **state)
{
	struct mlfs_id a, b;

	(void)state;
	assert_int_equal(mlfs_id_from_hex("00000000000000000000000000000001",
					  &a), 0);
	assert_int_equal(mlfs_id_from_hex("10000000000000000000000000000000",
					  &b), 0);
	assert_true(mlfs_id_cmp(&a, &b) < 0);
	assert_true(mlfs_id_cmp(&b, &a) > 0);
	assert_int_equal(mlfs_id_cmp(&a, &a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_equal_input_equal_id),
		cmocka_unit_test(test_hash_differs_across_keys),
		cmocka_unit_test(test_hash_differs_for_one_changed_byte),
		cmocka_unit_test(test_hash_streaming_equals_one_shot),
		cmocka_unit_test(test_hash_release_accepts_zeroed_hasher),
		cmocka_unit_test(test_hash_id_is_canonical_xxh3_128),
		cmocka_unit_test(test_hash_all_paths_match_portable_xxh3),
		cmocka_unit_test(test_hash_hex_round_trip),
		cmocka_unit_test(test_hash_from_hex_rejects_bad_input),
		cmocka_unit_test(test_hash_id_cmp_orders_like_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
