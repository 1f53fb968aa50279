/*
 * test_diff_safetensors.c - the safetensors header parser on hostile
 * input, element comparison per dtype, the chunk-range proof of
 * equality, and tensor-level diffs, all on memory buffers.
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

#include "mlfs/store.h"
#include "mlfs/content.h"
#include "mlfs/diff.h"

/* Whether @b holds the bytes of @s (buffers are not terminated). */
static bool has(const struct mlfs_buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

/* le64 length, header, data. */
static void build(struct mlfs_buf *b, uint64_t claimed_len, const char *hdr,
		  const void *data, size_t dlen)
{
	uint8_t le[8];

	b->len = 0;
	mlfs_put_le64(le, claimed_len);
	assert_int_equal(mlfs_buf_append(b, le, 8), 0);
	assert_int_equal(mlfs_buf_append(b, hdr, strlen(hdr)), 0);
	if (dlen)
		assert_int_equal(mlfs_buf_append(b, data, dlen), 0);
}

static int parse(const struct mlfs_buf *b, struct mlfs_st_file *f, char *err)
{
	struct mlfs_diff_src s = { "m.safetensors", b->len, b->data, NULL,
				   NULL };

	return mlfs_st_parse(&s, 0, f, err, 200);
}

static void expect_bad(uint64_t claimed, const char *hdr, size_t dlen,
		       const char *want)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_st_file f;
	uint8_t *data = calloc(1, dlen + 1);
	char err[200];

	build(&b, claimed == UINT64_MAX ? strlen(hdr) : claimed, hdr, data, dlen);
	assert_int_equal(parse(&b, &f, err), -EBADMSG);
	assert_string_equal(err, want);
	assert_int_equal(f.n, 0);
	mlfs_buf_release(&b);
	free(data);
}

static void test_st_parse_reads_tensors_and_metadata(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_st_file f;
	const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
		"\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
		"\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
	uint8_t data[32] = { 0 };
	char err[200];

	(void)state;
	build(&b, strlen(h), h, data, sizeof(data));
	assert_int_equal(parse(&b, &f, err), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.t[0].name, "b");
	assert_string_equal(f.t[1].name, "w");
	assert_int_equal(f.t[1].dtype, MLFS_ST_F32);
	assert_int_equal(f.t[1].rank, 2);
	assert_int_equal(f.t[1].shape[1], 3);
	assert_int_equal(f.t[1].nelem, 6);
	assert_int_equal(f.t[1].off, 8 + strlen(h) + 8);
	assert_int_equal(f.t[1].len, 24);
	assert_int_equal(f.nmeta, 1);
	assert_string_equal(f.meta[1], "pt");
	mlfs_st_file_release(&f);
	mlfs_buf_release(&b);
}

static void test_st_parse_rejects_hostile_headers(void **state)
{
	(void)state;
	expect_bad(1000, "{}", 0, "header length 1000 runs past the end of the "
		   "10-byte file");
	expect_bad(1ull << 40, "{}", 0, "header length 1099511627776 runs past "
		   "the end of the 10-byte file");
	expect_bad(UINT64_MAX, "{\"a\":", 0, "header is not valid JSON: "
		   "unexpected end of input at byte 5");
	expect_bad(UINT64_MAX, "[1]", 0, "header is not a JSON object");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
		   "\"data_offsets\":[0,8]}}", 4, "tensor 'a': data_offsets "
		   "[0, 8] outside the 4-byte data section");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
		   "\"data_offsets\":[8,0]}}", 8, "tensor 'a': data_offsets "
		   "[8, 0] outside the 8-byte data section");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],"
		   "\"data_offsets\":[0,8]}}", 8, "tensor 'a': 8 bytes for 3 F32 "
		   "elements");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
		   "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],"
		   "\"data_offsets\":[6,10]}}", 10, "tensors 'a' and 'b' overlap");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],"
		   "\"data_offsets\":[0,2]}}", 2, "tensor 'a' has unknown dtype "
		   "'Q4'");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"U8\",\"shape\":"
		   "[4294967296,4294967296,4294967296],\"data_offsets\":[0,1]}}",
		   1, "tensor 'a': shape overflows");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],"
		   "\"data_offsets\":[0,1]}}", 1, "tensor 'a' has a bad shape");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],"
		   "\"data_offsets\":[0,1]}}", 1, "tensor 'a' has a bad shape");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],"
		   "\"data_offsets\":[0]}}", 1, "tensor 'a' has bad data_offsets");
	expect_bad(UINT64_MAX, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],"
		   "\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],"
		   "\"data_offsets\":[1,2]}}", 2, "tensor 'a' appears twice");
	expect_bad(UINT64_MAX, "{\"__metadata__\":{\"k\":1}}", 0,
		   "__metadata__ value of 'k' is not a string");
	expect_bad(UINT64_MAX, "{\"a\":7}", 0, "tensor 'a' is not an object");
}

static void test_st_parse_short_file_has_no_length(void **state)
{
	struct mlfs_diff_src s = { "m.safetensors", 5, (const uint8_t *)"abcde",
				   NULL, NULL };
	struct mlfs_st_file f;
	char err[200];

	(void)state;
	assert_int_equal(mlfs_st_parse(&s, 0, &f, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "file of 5 bytes has no header length");
}

static void put_f32(uint8_t *p, float v)
{
	uint32_t u;

	memcpy(&u, &v, 4);
	mlfs_put_le32(p, u);
}

static void test_st_compare_f32_counts_and_magnitudes(void **state)
{
	uint8_t a[16], b[16];
	struct mlfs_diff_src sa = { "a", 16, a, NULL, NULL };
	struct mlfs_diff_src sb = { "b", 16, b, NULL, NULL };
	struct mlfs_st_cmp c;

	(void)state;
	put_f32(a, 1.0f); put_f32(a + 4, 2.0f); put_f32(a + 8, 3.0f);
	put_f32(a + 12, 4.0f);
	put_f32(b, 1.0f); put_f32(b + 4, 2.5f); put_f32(b + 8, 3.0f);
	put_f32(b + 12, 3.75f);
	assert_int_equal(mlfs_st_compare(&sa, &sb, MLFS_ST_F32, 4, 0, 0, &c), 0);
	assert_int_equal(c.ndiff, 2);
	assert_int_equal(c.nonfinite, 0);
	assert_true(c.max_abs == 0.5);
	assert_true(c.sum_abs == 0.75);
}

static void test_st_compare_half_bf16_and_ints(void **state)
{
	/* F16: 1.0 = 0x3c00, 1.5 = 0x3e00, -2.0 = 0xc000. */
	uint8_t h1[] = { 0x00, 0x3c, 0x00, 0xc0 }, h2[] = { 0x00, 0x3e, 0x00, 0xc0 };
	/* BF16: 1.0 = 0x3f80, 3.0 = 0x4040; NaN 0x7fc0. */
	uint8_t b1[] = { 0x80, 0x3f, 0x80, 0x3f }, b2[] = { 0x40, 0x40, 0xc0, 0x7f };
	int8_t i1[] = { -128, 5 }, i2[] = { 127, 5 };
	uint8_t l1[16] = { 0 }, l2[16] = { 0 };
	struct mlfs_diff_src s1 = { "a", 4, h1, NULL, NULL }, s2 = { "b", 4, h2,
								    NULL, NULL };
	struct mlfs_st_cmp c;

	(void)state;
	assert_int_equal(mlfs_st_compare(&s1, &s2, MLFS_ST_F16, 2, 0, 0, &c), 0);
	assert_int_equal(c.ndiff, 1);
	assert_true(c.max_abs == 0.5);
	s1.mem = b1;
	s2.mem = b2;
	assert_int_equal(mlfs_st_compare(&s1, &s2, MLFS_ST_BF16, 2, 0, 0, &c), 0);
	assert_int_equal(c.ndiff, 2);
	assert_int_equal(c.nonfinite, 1);
	assert_true(c.max_abs == 2.0);
	s1.mem = (const uint8_t *)i1;
	s2.mem = (const uint8_t *)i2;
	s1.size = s2.size = 2;
	assert_int_equal(mlfs_st_compare(&s1, &s2, MLFS_ST_I8, 2, 0, 0, &c), 0);
	assert_int_equal(c.ndiff, 1);
	assert_true(c.max_abs == 255.0);
	/* I64 extremes: |INT64_MIN - INT64_MAX| is exact in unsigned. */
	mlfs_put_le64(l1, (uint64_t)INT64_MIN);
	mlfs_put_le64(l2, (uint64_t)INT64_MAX);
	s1.mem = l1;
	s2.mem = l2;
	s1.size = s2.size = 16;
	assert_int_equal(mlfs_st_compare(&s1, &s2, MLFS_ST_I64, 2, 0, 0, &c), 0);
	assert_int_equal(c.ndiff, 1);
	assert_true(c.max_abs == 18446744073709551615.0);
}

static void test_st_range_same_chunks_needs_aligned_equal_chunks(void **state)
{
	struct mlfs_id ids_a[3] = { { { 1 } }, { { 2 } }, { { 3 } } };
	struct mlfs_id ids_b[3] = { { { 9 } }, { { 2 } }, { { 3 } } };
	uint64_t offs_a[4] = { 0, 100, 200, 300 };
	uint64_t offs_b[4] = { 0, 120, 220, 320 };
	struct mlfs_content a = { .size = 300, .n = 3, .ids = ids_a,
				  .offs = offs_a };
	struct mlfs_content b = { .size = 320, .n = 3, .ids = ids_b,
				  .offs = offs_b };

	(void)state;
	/* Tensor at 150..250 in A, 170..270 in B: chunks 2,3 both sides,
	 * 50 bytes into the first. */
	assert_true(mlfs_st_range_same_chunks(&a, 150, &b, 170, 100));
	/* Misaligned by one byte: not provable. */
	assert_false(mlfs_st_range_same_chunks(&a, 150, &b, 171, 100));
	/* Touches chunk 1, which differs. */
	assert_false(mlfs_st_range_same_chunks(&a, 50, &b, 70, 100));
	/* Out of range is never "same". */
	assert_false(mlfs_st_range_same_chunks(&a, 250, &b, 270, 100));
	assert_true(mlfs_st_range_same_chunks(&a, 0, &b, 0, 0));
}

static void test_st_diff_reports_each_kind_of_change(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	uint8_t da[40] = { 0 }, db[40] = { 0 };
	struct mlfs_diff_content_opts o = { .max_examples = 5 };
	struct mlfs_diff_out out;
	struct mlfs_json *j = NULL;
	struct mlfs_jv r, t, v;
	size_t len;
	char err[128];
	const char *ha = "{\"__metadata__\":{\"step\":\"1\"},"
		"\"keep\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		"\"vals\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]},"
		"\"gone\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[24,28]},"
		"\"shp\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[28,36]}}";
	const char *hb = "{\"__metadata__\":{\"step\":\"2\"},"
		"\"keep\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		"\"vals\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]},"
		"\"new\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[24,28]},"
		"\"shp\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[28,36]}}";

	(void)state;
	put_f32(da + 8, 1.0f);
	put_f32(db + 8, 1.25f);
	put_f32(da + 20, -1.0f);
	put_f32(db + 20, 1.0f);
	build(&a, strlen(ha), ha, da, sizeof(da));
	build(&b, strlen(hb), hb, db, sizeof(db));
	{
		struct mlfs_diff_src sa = { "m.safetensors", a.len, a.data,
					    NULL, NULL };
		struct mlfs_diff_src sb = { "m.safetensors", b.len, b.data,
					    NULL, NULL };

		memset(&out, 0, sizeof(out));
		assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	}
	assert_string_equal(out.format, "safetensors");
	assert_int_equal(mlfs_json_parse((char *)out.json.data, out.json.len,
					 &j, err, sizeof(err)), 0);
	r = mlfs_json_root(j);
	assert_true(mlfs_jv_num(mlfs_jv_get(r, "added")) == 1);
	assert_true(mlfs_jv_num(mlfs_jv_get(r, "removed")) == 1);
	assert_true(mlfs_jv_num(mlfs_jv_get(r, "changed")) == 1);
	assert_true(mlfs_jv_num(mlfs_jv_get(r, "relayout")) == 1);
	assert_true(mlfs_jv_num(mlfs_jv_get(r, "unchanged")) == 1);
	assert_true(mlfs_jv_num(mlfs_jv_get(r, "metadata_changes")) == 1);
	t = mlfs_jv_get(r, "tensors");
	assert_int_equal(mlfs_jv_count(t), 4);
	v = mlfs_jv_at(t, 3);
	assert_string_equal(mlfs_jv_str(mlfs_jv_get(v, "name"), &len), "vals");
	assert_true(mlfs_jv_num(mlfs_jv_get(v, "differing")) == 2);
	assert_true(mlfs_jv_num(mlfs_jv_get(v, "fraction")) == 0.5);
	assert_true(mlfs_jv_num(mlfs_jv_get(v, "max_abs_diff")) == 2.0);
	assert_true(mlfs_jv_num(mlfs_jv_get(v, "mean_abs_diff")) == 0.5625);
	assert_true(has(&out.text,
			       "~ vals F32 [4]: 2 of 4 elements differ (50%), "
			       "max |diff| 2, mean |diff| 0.5625\n"));
	assert_true(has(&out.text,
			       "~ shp F32 [2, 1] -> F32 [1, 2]\n"));
	assert_true(has(&out.text,
			       "metadata ~ step: \"1\" -> \"2\"\n"));
	mlfs_json_free(j);
	mlfs_diff_out_release(&out);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
}

static void test_st_diff_lying_header_falls_back_to_binary(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	struct mlfs_diff_content_opts o = { .max_examples = 5 };
	struct mlfs_diff_out out;
	const char *h = "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],"
		"\"data_offsets\":[0,1]}}";

	(void)state;
	build(&a, strlen(h), h, "a", 1);
	build(&b, 1u << 20, h, "b", 1);
	{
		struct mlfs_diff_src sa = { "m.safetensors", a.len, a.data,
					    NULL, NULL };
		struct mlfs_diff_src sb = { "m.safetensors", b.len, b.data,
					    NULL, NULL };

		memset(&out, 0, sizeof(out));
		assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	}
	assert_string_equal(out.format, "binary");
	assert_string_equal(out.err, "new version: header length 1048576 runs "
			    "past the end of the 62-byte file");
	mlfs_diff_out_release(&out);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
}

/* Many tensors of every rank: names and shapes live in two arenas, and a
 * tensor takes 56 bytes (176 before, with its shape inline), so a header
 * of a million tiny tensors costs about its own size. */
static void test_st_parse_many_tensors_in_compact_records(void **state)
{
	struct mlfs_buf h = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	struct mlfs_st_file f;
	uint8_t *data;
	size_t n = 5000, off = 0;
	char err[200], one[160];

	(void)state;
	assert_true(sizeof(struct mlfs_st_tensor) <= 56);
	assert_int_equal(mlfs_buf_append(&h, "{", 1), 0);
	for (size_t i = 0; i < n; i++) {
		unsigned rank = (unsigned)(i % (MLFS_ST_RANK_MAX + 1));
		int l = snprintf(one, sizeof(one), "%s\"t%05zu\":{\"dtype\":"
				 "\"U8\",\"shape\":[", i ? "," : "", n - i);

		assert_int_equal(mlfs_buf_append(&h, one, (size_t)l), 0);
		for (unsigned d = 0; d < rank; d++)
			assert_int_equal(mlfs_buf_append(&h, d ? ",1" : "1",
							 d ? 2 : 1), 0);
		l = snprintf(one, sizeof(one), "],\"data_offsets\":[%zu,%zu]}",
			     off, off + 1);
		assert_int_equal(mlfs_buf_append(&h, one, (size_t)l), 0);
		off++;
	}
	assert_int_equal(mlfs_buf_append(&h, "}", 2), 0);
	data = calloc(1, off);
	build(&b, strlen((char *)h.data), (char *)h.data, data, off);
	assert_int_equal(parse(&b, &f, err), 0);
	assert_int_equal(f.n, n);
	for (size_t i = 0; i < n; i++) {
		/* Sorted by name: t00001 is the last one written. */
		size_t w = n - 1 - i;

		snprintf(one, sizeof(one), "t%05zu", i + 1);
		assert_string_equal(f.t[i].name, one);
		assert_int_equal(f.t[i].rank, w % (MLFS_ST_RANK_MAX + 1));
		for (unsigned d = 0; d < f.t[i].rank; d++)
			assert_int_equal(f.t[i].shape[d], 1);
		assert_int_equal(f.t[i].len, 1);
	}
	mlfs_st_file_release(&f);
	mlfs_buf_release(&h);
	mlfs_buf_release(&b);
	free(data);
}

/* A header over the cap in a file that holds it: -E2BIG, refused on its
 * length before anything else is read. */
static void test_st_parse_header_over_the_cap_is_e2big(void **state)
{
	uint8_t le[8];
	struct mlfs_diff_src s = { "m.safetensors",
				   8 + (uint64_t)MLFS_ST_HEADER_MAX + 2, le,
				   NULL, NULL };
	struct mlfs_st_file f;
	char err[200];

	(void)state;
	mlfs_put_le64(le, (uint64_t)MLFS_ST_HEADER_MAX + 1);
	assert_int_equal(mlfs_st_parse(&s, 0, &f, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "header of 104857601 bytes too large to diff "
			    "(limit 104857600 bytes)");
	assert_int_equal(f.n, 0);
}

/* A tensor name with a newline is quoted in the text output, exact in
 * the JSON. */
static void test_st_diff_quotes_tensor_names_in_text(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	struct mlfs_diff_content_opts o = { .max_examples = 5 };
	struct mlfs_diff_out out;
	uint8_t d[1] = { 0 };
	const char *ha = "{}";
	const char *hb = "{\"evil\\nname\":{\"dtype\":\"U8\",\"shape\":[1],"
			 "\"data_offsets\":[0,1]}}";

	(void)state;
	build(&a, strlen(ha), ha, NULL, 0);
	build(&b, strlen(hb), hb, d, 1);
	{
		struct mlfs_diff_src sa = { "m.safetensors", a.len, a.data,
					    NULL, NULL };
		struct mlfs_diff_src sb = { "m.safetensors", b.len, b.data,
					    NULL, NULL };

		memset(&out, 0, sizeof(out));
		assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	}
	assert_string_equal(out.format, "safetensors");
	assert_true(has(&out.text, "+ \"evil\\nname\" U8 [1]\n"));
	assert_true(has(&out.json, "\"name\":\"evil\\nname\""));
	mlfs_diff_out_release(&out);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_st_parse_many_tensors_in_compact_records),
		cmocka_unit_test(test_st_parse_header_over_the_cap_is_e2big),
		cmocka_unit_test(test_st_diff_quotes_tensor_names_in_text),
		cmocka_unit_test(test_st_parse_reads_tensors_and_metadata),
		cmocka_unit_test(test_st_parse_rejects_hostile_headers),
		cmocka_unit_test(test_st_parse_short_file_has_no_length),
		cmocka_unit_test(test_st_compare_f32_counts_and_magnitudes),
		cmocka_unit_test(test_st_compare_half_bf16_and_ints),
		cmocka_unit_test(test_st_range_same_chunks_needs_aligned_equal_chunks),
		cmocka_unit_test(test_st_diff_reports_each_kind_of_change),
		cmocka_unit_test(test_st_diff_lying_header_falls_back_to_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
