/*
 * test_chunker.c - FastCDC cut points: determinism, size bounds, boundary
 * stability under insertions and removals, eof handling, parameter checks.
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

#include "mlfs/chunker.h"
#include "mlfs/hash.h"
#include "mlfs/idset.h"

static const struct mlfs_chunk_params defp = {
	MLFS_CHUNK_MIN_DEFAULT, MLFS_CHUNK_AVG_DEFAULT, MLFS_CHUNK_MAX_DEFAULT
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t *random_data(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix(&seed);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
	return p;
}

/* Chunk a whole buffer; returns the number of cuts, *cuts malloc'd holds
 * the end offset of each chunk. */
static size_t chunk_all(const struct mlfs_chunk_params *p, const uint8_t *buf,
			size_t len, size_t **cuts)
{
	size_t n = 0, cap = 1024, pos = 0;
	size_t *v = malloc(cap * sizeof(*v));

	assert_non_null(v);
	while (pos < len) {
		size_t c = mlfs_chunker_next(p, buf + pos, len - pos, true);

		assert_true(c > 0);
		assert_true(c <= len - pos);
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		pos += c;
		v[n++] = pos;
	}
	*cuts = v;
	return n;
}

/* The ids of every chunk of @buf in @set (value = chunk length). */
static size_t chunk_ids(const struct mlfs_chunk_params *p, const uint8_t *buf,
			size_t len, struct mlfs_idset *set)
{
	static const struct mlfs_hash_key key = { { 1, 2, 3 } };
	size_t *cuts, n = chunk_all(p, buf, len, &cuts), start = 0;

	for (size_t i = 0; i < n; i++) {
		struct mlfs_id id;

		mlfs_hash(&key, buf + start, cuts[i] - start, &id);
		assert_true(mlfs_idset_add(set, &id, cuts[i] - start,
					   NULL) >= 0);
		start = cuts[i];
	}
	free(cuts);
	return n;
}

static void test_chunker_same_input_gives_same_cuts(void **state)
{
	size_t len = 4u << 20, *a, *b, na, nb;
	uint8_t *d = random_data(len, 42);
	uint8_t *copy = malloc(len);

	(void)state;
	assert_non_null(copy);
	memcpy(copy, d, len);
	na = chunk_all(&defp, d, len, &a);
	nb = chunk_all(&defp, copy, len, &b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(*a));
	assert_int_equal(a[na - 1], len);
	free(a);
	free(b);
	free(copy);
	free(d);
}

static void test_chunker_chunks_within_min_max_except_last(void **state)
{
	static const struct mlfs_chunk_params params[] = {
		{ MLFS_CHUNK_MIN_DEFAULT, MLFS_CHUNK_AVG_DEFAULT,
		  MLFS_CHUNK_MAX_DEFAULT },
		{ 64, 128, 256 },
		{ 1024, 4096, 16384 },
		{ 2000, 4096, 5000 },
	};
	size_t len = (4u << 20) + 12345;
	uint8_t *d = random_data(len, 7);

	(void)state;
	for (size_t k = 0; k < MLFS_ARRAY_SIZE(params); k++) {
		const struct mlfs_chunk_params *p = &params[k];
		size_t *cuts, n = chunk_all(p, d, len, &cuts), start = 0;

		assert_int_equal(mlfs_chunk_params_check(p), 0);
		assert_true(n > 1);
		for (size_t i = 0; i < n; i++) {
			size_t cl = cuts[i] - start;

			assert_true(cl <= p->max);
			if (i + 1 < n)
				assert_true(cl >= p->min);
			start = cuts[i];
		}
		assert_int_equal(start, len);
		free(cuts);
	}
	free(d);
}

/* Streaming in windows of at least max bytes cuts where the whole-buffer
 * call does: 0 means "give me more", never a premature cut. */
static void test_chunker_streaming_matches_whole_buffer(void **state)
{
	size_t len = (3u << 20) + 777, *cuts, n, k = 0, pos = 0, have;
	uint8_t *d = random_data(len, 99);

	(void)state;
	n = chunk_all(&defp, d, len, &cuts);
	/* Feed 100000 bytes at a time: less than max, so zeros come back
	 * until the window is large enough. */
	have = 0;
	while (pos < len) {
		size_t c;
		bool eof;

		if (have < len)
			have = have + 100000 < len ? have + 100000 : len;
		eof = have == len;
		c = mlfs_chunker_next(&defp, d + pos, have - pos, eof);
		if (c == 0) {
			assert_false(eof);
			assert_true(have - pos < defp.max);
			continue;
		}
		assert_true(k < n);
		pos += c;
		assert_int_equal(pos, cuts[k]);
		k++;
	}
	assert_int_equal(k, n);
	free(cuts);
	free(d);
}

/* Chunk @a and @b; return the share of @a's chunks (by id) found in @b,
 * in percent, and check that the cuts realign: past the first few
 * chunks, @b's cuts are @a's shifted by @delta. */
static unsigned shared_percent(const uint8_t *a, size_t alen,
			       const uint8_t *b, size_t blen, long delta)
{
	struct mlfs_idset sa = MLFS_IDSET_INIT, sb = MLFS_IDSET_INIT;
	size_t *ca, *cb, na, nb, i, j, shared = 0;
	size_t ida, idb;

	ida = chunk_ids(&defp, a, alen, &sa);
	idb = chunk_ids(&defp, b, blen, &sb);
	assert_true(ida > 50 && idb > 50);
	na = chunk_all(&defp, a, alen, &ca);
	nb = chunk_all(&defp, b, blen, &cb);
	/* Find the first cut of a that reappears (shifted) in b. */
	for (i = 0, j = 0; i < na && j < nb;) {
		long sa_ = (long)ca[i] + delta, sb_ = (long)cb[j];

		if (sa_ == sb_)
			break;
		if (sa_ < sb_)
			i++;
		else
			j++;
	}
	assert_true(i < na && j < nb);
	/* Realigned within the first 1 MiB ... */
	assert_true(ca[i] < (1u << 20));
	/* ... and identical from there on. */
	assert_int_equal(na - i, nb - j);
	for (size_t k = 0; i + k < na; k++)
		assert_int_equal((long)ca[i + k] + delta, (long)cb[j + k]);
	/* Share by id: chunk a's chunks and look each up in b's set. */
	{
		static const struct mlfs_hash_key key = { { 1, 2, 3 } };
		size_t start = 0;

		for (size_t k = 0; k < na; k++) {
			struct mlfs_id id;

			mlfs_hash(&key, a + start, ca[k] - start, &id);
			if (mlfs_idset_get(&sb, &id))
				shared++;
			start = ca[k];
		}
	}
	free(ca);
	free(cb);
	mlfs_idset_release(&sa);
	mlfs_idset_release(&sb);
	return (unsigned)(shared * 100 / na);
}

static void test_chunker_boundaries_survive_insert_at_start(void **state)
{
	size_t len = 8u << 20;
	uint8_t *d = random_data(len, 2024);
	static const size_t ins[] = { 1, 100 };

	(void)state;
	for (size_t k = 0; k < MLFS_ARRAY_SIZE(ins); k++) {
		uint8_t *e = malloc(len + ins[k]);

		assert_non_null(e);
		memset(e, 0xa5, ins[k]);
		memcpy(e + ins[k], d, len);
		assert_true(shared_percent(d, len, e, len + ins[k],
					   (long)ins[k]) >= 90);
		free(e);
	}
	free(d);
}

static void test_chunker_boundaries_survive_removal_at_start(void **state)
{
	size_t len = 8u << 20;
	uint8_t *d = random_data(len, 77);
	static const size_t rm[] = { 1, 100 };

	(void)state;
	for (size_t k = 0; k < MLFS_ARRAY_SIZE(rm); k++)
		assert_true(shared_percent(d, len, d + rm[k], len - rm[k],
					   -(long)rm[k]) >= 90);
	free(d);
}

static void test_chunker_boundaries_survive_insert_in_middle(void **state)
{
	size_t len = 8u << 20, at = 3u << 20;
	uint8_t *d = random_data(len, 5);
	uint8_t *e = malloc(len + 100);
	struct mlfs_idset sa = MLFS_IDSET_INIT, sb = MLFS_IDSET_INIT;
	size_t *ca, na, shared = 0, start = 0;
	static const struct mlfs_hash_key key = { { 1, 2, 3 } };

	(void)state;
	assert_non_null(e);
	memcpy(e, d, at);
	memset(e + at, 0x5a, 100);
	memcpy(e + at + 100, d + at, len - at);
	(void)chunk_ids(&defp, d, len, &sa);
	(void)chunk_ids(&defp, e, len + 100, &sb);
	na = chunk_all(&defp, d, len, &ca);
	for (size_t k = 0; k < na; k++) {
		struct mlfs_id id;

		mlfs_hash(&key, d + start, ca[k] - start, &id);
		if (mlfs_idset_get(&sb, &id))
			shared++;
		start = ca[k];
	}
	/* At most the chunks around the edit change. */
	assert_true(na - shared <= 3);
	free(ca);
	free(e);
	free(d);
	mlfs_idset_release(&sa);
	mlfs_idset_release(&sb);
}

static void test_chunker_constant_data_cuts_at_max(void **state)
{
	size_t len = (2u << 20) + 1000, *cuts, n;
	uint8_t *z = calloc(1, len);
	static const struct mlfs_chunk_params small = { 1024, 4096, 16384 };

	(void)state;
	assert_non_null(z);
	n = chunk_all(&defp, z, len, &cuts);
	assert_int_equal(n, len / defp.max + 1);
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(cuts[i], (i + 1) * (size_t)defp.max);
	assert_int_equal(cuts[n - 1], len);
	free(cuts);

	n = chunk_all(&small, z, len, &cuts);
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(cuts[i], (i + 1) * (size_t)small.max);
	assert_int_equal(cuts[n - 1], len);
	free(cuts);
	free(z);
}

static void test_chunker_params_check_rejects_bad_params(void **state)
{
	static const struct mlfs_chunk_params bad[] = {
		{ 0, 0, 0 },
		{ 32, 128, 256 },                 /* min < 64 */
		{ 63, 128, 256 },
		{ 128, 128, 256 },                /* min == avg */
		{ 200, 128, 256 },                /* min > avg */
		{ 64, 256, 256 },                 /* avg == max */
		{ 64, 512, 256 },                 /* avg > max */
		{ 64, 192, 256 },                 /* avg not a power of two */
		{ 1024, 4095, 16384 },
		{ 1024, 4096, MLFS_CHUNK_LIMIT + 1 }, /* max > limit */
		{ 1024, 4096, UINT32_MAX },
	};
	static const struct mlfs_chunk_params good[] = {
		{ MLFS_CHUNK_MIN_DEFAULT, MLFS_CHUNK_AVG_DEFAULT,
		  MLFS_CHUNK_MAX_DEFAULT },
		{ 64, 128, 129 },
		{ 1024, 1u << 20, MLFS_CHUNK_LIMIT },
	};

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++)
		assert_int_equal(mlfs_chunk_params_check(&bad[i]), -EINVAL);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(good); i++)
		assert_int_equal(mlfs_chunk_params_check(&good[i]), 0);
}

static void test_chunker_eof_returns_len_else_needs_more(void **state)
{
	size_t len = 4u << 20, c;
	uint8_t *d = random_data(len, 11);
	size_t first = mlfs_chunker_next(&defp, d, len, true);

	(void)state;
	/* Empty input. */
	assert_int_equal(mlfs_chunker_next(&defp, d, 0, true), 0);
	assert_int_equal(mlfs_chunker_next(&defp, d, 0, false), 0);
	/* Shorter than min: all of it at eof, nothing before. */
	assert_int_equal(mlfs_chunker_next(&defp, d, 10, true), 10);
	assert_int_equal(mlfs_chunker_next(&defp, d, 10, false), 0);
	assert_int_equal(mlfs_chunker_next(&defp, d, defp.min, true), defp.min);
	assert_int_equal(mlfs_chunker_next(&defp, d, defp.min, false), 0);
	/* Just short of the first cut: no cut in it. */
	assert_true(first > defp.min + 1 && first <= defp.max);
	assert_int_equal(mlfs_chunker_next(&defp, d, first - 1, false), 0);
	assert_int_equal(mlfs_chunker_next(&defp, d, first - 1, true),
			 first - 1);
	/* Exactly up to the cut, with or without eof: the cut. */
	assert_int_equal(mlfs_chunker_next(&defp, d, first, false), first);
	assert_int_equal(mlfs_chunker_next(&defp, d, first, true), first);
	/* Constant data of exactly max bytes: a full chunk, eof or not. */
	memset(d, 0, defp.max + 10);
	c = mlfs_chunker_next(&defp, d, defp.max, false);
	assert_int_equal(c, defp.max);
	c = mlfs_chunker_next(&defp, d, defp.max + 10, false);
	assert_int_equal(c, defp.max);
	/* Between min and max, no cut in zeros: needs more unless eof. */
	assert_int_equal(mlfs_chunker_next(&defp, d, defp.max - 1, false), 0);
	assert_int_equal(mlfs_chunker_next(&defp, d, defp.max - 1, true),
			 defp.max - 1);
	free(d);
}

static void test_chunker_fastcdc_splitter_matches_chunker_next(void **state)
{
	size_t len = 1u << 20;
	uint8_t *d = random_data(len, 3);

	(void)state;
	assert_string_equal(mlfs_splitter_fastcdc.name, "fastcdc");
	for (size_t off = 0; off < len; off += 99991)
		assert_int_equal(mlfs_splitter_fastcdc.next(&defp, NULL,
							    d + off,
							    len - off, true),
				 mlfs_chunker_next(&defp, d + off, len - off,
						   true));
	free(d);
}

static void test_chunker_average_size_in_sane_range(void **state)
{
	size_t len = 32u << 20, *cuts, n, avg;
	uint8_t *d = random_data(len, 31337);

	(void)state;
	n = chunk_all(&defp, d, len, &cuts);
	avg = len / n;
	assert_in_range(avg, 40u * 1024, 110u * 1024);
	free(cuts);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunker_same_input_gives_same_cuts),
		cmocka_unit_test(test_chunker_chunks_within_min_max_except_last),
		cmocka_unit_test(test_chunker_streaming_matches_whole_buffer),
		cmocka_unit_test(test_chunker_boundaries_survive_insert_at_start),
		cmocka_unit_test(test_chunker_boundaries_survive_removal_at_start),
		cmocka_unit_test(test_chunker_boundaries_survive_insert_in_middle),
		cmocka_unit_test(test_chunker_constant_data_cuts_at_max),
		cmocka_unit_test(test_chunker_params_check_rejects_bad_params),
		cmocka_unit_test(test_chunker_eof_returns_len_else_needs_more),
		cmocka_unit_test(test_chunker_fastcdc_splitter_matches_chunker_next),
		cmocka_unit_test(test_chunker_average_size_in_sane_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
