/*
 * test_diff_json.c - the hostile-input JSON parser, the writer and the
 * JSON content diff (changed keys with old and new values).
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

#include "mlfs/diff.h"

/* Whether @b holds the bytes of @s (buffers are not terminated). */
static bool has(const struct mlfs_buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

static int parse(const char *s, struct mlfs_json **out, char *err)
{
	return mlfs_json_parse(s, strlen(s), out, err, 128);
}

static struct mlfs_jv get(struct mlfs_jv o, const char *k)
{
	return mlfs_jv_get(o, k);
}

/* A string's (or number literal's) bytes, NUL-terminated copy kept in a
 * small ring so several can be compared in one assert. */
static const char *str(struct mlfs_jv v)
{
	static char ring[4][256];
	static int at;
	size_t len;
	const char *s = mlfs_jv_str(v, &len);
	char *d = ring[at++ % 4];

	assert_non_null(s);
	assert_true(len < 256);
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

static void test_json_parse_object_reads_members(void **state)
{
	struct mlfs_json *j = NULL;
	struct mlfs_jv r;
	char err[128];

	(void)state;
	assert_int_equal(parse("{\"a\": [1, 2.5e1, -0], \"b\": \"x\\u00e9\\n\","
			       " \"c\": null, \"d\": true}", &j, err), 0);
	r = mlfs_json_root(j);
	assert_int_equal(mlfs_jv_type(r), MLFS_JSON_OBJECT);
	assert_int_equal(mlfs_jv_count(r), 4);
	assert_int_equal(mlfs_jv_count(get(r, "a")), 3);
	assert_true(mlfs_jv_num(mlfs_jv_at(get(r, "a"), 1)) == 25.0);
	assert_string_equal(str(mlfs_jv_at(get(r, "a"), 1)), "2.5e1");
	assert_string_equal(str(mlfs_jv_at(get(r, "a"), 2)), "-0");
	assert_string_equal(str(get(r, "b")), "x\xc3\xa9\n");
	assert_int_equal(mlfs_jv_type(get(r, "c")), MLFS_JSON_NULL);
	assert_int_equal(mlfs_jv_type(get(r, "d")), MLFS_JSON_TRUE);
	assert_null(get(r, "zz").doc);
	assert_null(mlfs_jv_at(get(r, "a"), 3).doc);
	mlfs_json_free(j);
}

static void test_json_parse_surrogate_pair_decodes_to_utf8(void **state)
{
	struct mlfs_json *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(parse("\"\\ud83d\\ude00\"", &j, err), 0);
	assert_string_equal(str(mlfs_json_root(j)), "\xf0\x9f\x98\x80");
	mlfs_json_free(j);
}

static void test_json_parse_rejects_malformed_input(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,", "{\"a\" 1}", "{\"a\":1,}", "[1 2]", "\"abc",
		"\"a\\q\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u12\"", "01x",
		"1.", "-", "1e", "tru", "nul", "{} x", "[1]]", "\"a\x01\"",
		"{1:2}", "\"abc\\",
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mlfs_json *j = (void *)1;

		assert_int_equal(parse(bad[i], &j, err), -EBADMSG);
		assert_null(j);
		assert_true(strlen(err) > 0);
	}
}

static void test_json_parse_rejects_nesting_past_the_limit(void **state)
{
	char *s = malloc(2 * 200 + 1);
	struct mlfs_json *j = NULL;
	char err[128];

	(void)state;
	for (int d = MLFS_JSON_DEPTH_MAX; d <= MLFS_JSON_DEPTH_MAX + 1; d++) {
		memset(s, '[', (size_t)d);
		memset(s + d, ']', (size_t)d);
		s[2 * d] = 0;
		if (d == MLFS_JSON_DEPTH_MAX) {
			assert_int_equal(parse(s, &j, err), 0);
			mlfs_json_free(j);
		} else {
			assert_int_equal(parse(s, &j, err), -EBADMSG);
			assert_non_null(strstr(err, "nesting too deep"));
		}
	}
	/* 100k unclosed brackets: refused, no deep recursion. */
	s = realloc(s, 100001);
	memset(s, '[', 100000);
	s[100000] = 0;
	assert_int_equal(parse(s, &j, err), -EBADMSG);
	free(s);
}

static void test_json_parse_error_names_the_byte(void **state)
{
	struct mlfs_json *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(parse("{\"a\": 1 \"b\"}", &j, err), -EBADMSG);
	assert_string_equal(err, "expected ',' or '}' at byte 8");
}

static void test_json_writer_escapes_and_nests(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_jw w;

	(void)state;
	mlfs_jw_init(&w, &b);
	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "s");
	mlfs_jw_str(&w, "a\"b\\c\n\x01");
	mlfs_jw_key(&w, "n");
	mlfs_jw_arr(&w);
	mlfs_jw_u64(&w, 18446744073709551615ull);
	mlfs_jw_i64(&w, -5);
	mlfs_jw_f64(&w, 0.5);
	mlfs_jw_f64(&w, 1.0 / 0.0);
	mlfs_jw_bool(&w, false);
	mlfs_jw_arr_end(&w);
	mlfs_jw_obj_end(&w);
	assert_int_equal(w.err, 0);
	assert_int_equal(b.len, strlen("{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":"
				       "[18446744073709551615,-5,0.5,null,false]}"));
	assert_memory_equal(b.data, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":"
			    "[18446744073709551615,-5,0.5,null,false]}", b.len);
	mlfs_buf_release(&b);
}

/* Bytes that are not UTF-8 go out as \udcXX (surrogateescape) and come
 * back as the bytes; UTF-8 passes as it is. */
static void test_json_bytes_not_utf8_round_trip(void **state)
{
	static const char s[] = "caf\xc3\xa9 \xff\xfe \xe2\x82 \xed\xa0\x80 ok";
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_json *j = NULL;
	struct mlfs_jw w;
	char err[128];
	size_t len;
	const char *got;

	(void)state;
	mlfs_jw_init(&w, &b);
	mlfs_jw_str(&w, s);
	assert_int_equal(w.err, 0);
	assert_int_equal(b.len, strlen("\"caf\xc3\xa9 \\udcff\\udcfe \\udce2"
				       "\\udc82 \\udced\\udca0\\udc80 ok\""));
	assert_memory_equal(b.data, "\"caf\xc3\xa9 \\udcff\\udcfe \\udce2"
			    "\\udc82 \\udced\\udca0\\udc80 ok\"", b.len);
	assert_int_equal(mlfs_json_parse((const char *)b.data, b.len, &j, err,
					 sizeof(err)), 0);
	got = mlfs_jv_str(mlfs_json_root(j), &len);
	assert_int_equal(len, strlen(s));
	assert_memory_equal(got, s, len);
	mlfs_json_free(j);
	mlfs_buf_release(&b);
	/* other lone low surrogates are still refused */
	assert_int_not_equal(parse("\"\\udc7f\"", &j, err), 0);
	assert_int_not_equal(parse("\"\\udd00\"", &j, err), 0);
}

static int diff_str(const char *a, const char *b, struct mlfs_diff_out *out)
{
	struct mlfs_diff_src sa = { "c.json", strlen(a), (const uint8_t *)a,
				    NULL, NULL };
	struct mlfs_diff_src sb = { "c.json", strlen(b), (const uint8_t *)b,
				    NULL, NULL };
	struct mlfs_diff_content_opts o = { .max_examples = 5 };

	memset(out, 0, sizeof(*out));
	return mlfs_diff_content(&sa, &sb, &o, out);
}

static void test_json_diff_reports_changed_added_removed_keys(void **state)
{
	struct mlfs_diff_out out;
	struct mlfs_json *j = NULL;
	struct mlfs_jv r, ch;
	char err[128];

	(void)state;
	assert_int_equal(diff_str("{\"lr\": 0.1, \"layers\": [1, 2], \"old\": 1,"
				  " \"same\": {\"x\": 1}}",
				  "{\"same\": {\"x\": 1.0}, \"lr\": 0.2, "
				  "\"layers\": [1, 3, 4], \"new key\": \"v\"}",
				  &out), 0);
	assert_string_equal(out.format, "json");
	assert_false(out.equal);
	assert_int_equal(mlfs_json_parse((char *)out.json.data, out.json.len,
					 &j, err, sizeof(err)), 0);
	r = mlfs_json_root(j);
	assert_true(mlfs_jv_num(get(r, "changed")) == 2);
	assert_true(mlfs_jv_num(get(r, "added")) == 2);
	assert_true(mlfs_jv_num(get(r, "removed")) == 1);
	ch = get(r, "changes");
	assert_int_equal(mlfs_jv_count(ch), 5);
	assert_string_equal(str(get(mlfs_jv_at(ch, 0), "path")), ".lr");
	assert_string_equal(str(get(mlfs_jv_at(ch, 0), "old")), "0.1");
	assert_string_equal(str(get(mlfs_jv_at(ch, 0), "new")), "0.2");
	assert_string_equal(str(get(mlfs_jv_at(ch, 1), "path")), ".layers[1]");
	assert_string_equal(str(get(mlfs_jv_at(ch, 2), "path")), ".layers[2]");
	assert_string_equal(str(get(mlfs_jv_at(ch, 2), "change")), "added");
	assert_string_equal(str(get(mlfs_jv_at(ch, 3), "path")), ".old");
	assert_string_equal(str(get(mlfs_jv_at(ch, 4), "path")),
			    "[\"new key\"]");
	assert_true(has(&out.text, "~ .lr: 0.1 -> 0.2\n"));
	mlfs_json_free(j);
	mlfs_diff_out_release(&out);
}

static void test_json_diff_formatting_only_is_equal(void **state)
{
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(diff_str("{\"a\":[1,2]}", "{ \"a\" : [ 1 , 2 ] }\n",
				  &out), 0);
	assert_true(out.equal);
	mlfs_diff_out_release(&out);
}

static void test_json_diff_malformed_falls_back_to_binary(void **state)
{
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(diff_str("{\"a\": 1}", "{\"a\": [1, 2}", &out), 0);
	assert_string_equal(out.format, "binary");
	assert_string_equal(out.err, "new version: malformed JSON: "
			    "expected ',' or ']' at byte 11");
	mlfs_diff_out_release(&out);
}

static void test_json_strings_with_nul_bytes_keep_their_length(void **state)
{
	struct mlfs_json *j = NULL;
	struct mlfs_jv r, c;
	const char *k, *v;
	size_t kl, vl;
	char err[128];

	(void)state;
	assert_int_equal(parse("{\"a\\u0000b\": \"x\\u0000yz\", \"k\": [\"\"]}",
			       &j, err), 0);
	r = mlfs_json_root(j);
	c = mlfs_jv_first(r);
	k = mlfs_jv_key(c, &kl);
	v = mlfs_jv_str(c, &vl);
	assert_int_equal(kl, 3);
	assert_memory_equal(k, "a\0b", 3);
	assert_int_equal(vl, 4);
	assert_memory_equal(v, "x\0yz", 4);
	c = mlfs_jv_next(c);
	assert_string_equal(mlfs_jv_key(c, &kl), "k");
	/* An array element is not a member: no key. */
	assert_null(mlfs_jv_key(mlfs_jv_first(c), &kl));
	assert_string_equal(str(mlfs_jv_first(c)), "");
	mlfs_json_free(j);
}

static void test_json_get_returns_the_last_duplicate(void **state)
{
	struct mlfs_json *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(parse("{\"a\": 1, \"b\": 2, \"a\": 3}", &j, err), 0);
	assert_string_equal(str(get(mlfs_json_root(j), "a")), "3");
	mlfs_json_free(j);
}

/* The document holds its text and at most 4 bytes of tape per byte of
 * text, whatever the value: 60 bytes or more per element before. */
static void test_json_document_memory_is_bounded_by_its_input(void **state)
{
	static const char *const unit[] = { "0,", "[],", "\"\",", "{},",
					    "{\"\":0},", "{\"\":[]},", };
	(void)state;
	for (size_t u = 0; u < sizeof(unit) / sizeof(unit[0]); u++) {
		struct mlfs_buf b = MLFS_BUF_INIT;
		struct mlfs_json *j = NULL;
		size_t ul = strlen(unit[u]), len;
		char err[128];

		assert_int_equal(mlfs_buf_append(&b, "[", 1), 0);
		for (int i = 0; i < 100000; i++)
			assert_int_equal(mlfs_buf_append(&b, unit[u], ul), 0);
		b.data[b.len - 1] = ']';
		len = b.len;
		assert_int_equal(mlfs_json_parse_buf(&b, &j, err, sizeof(err)),
				 0);
		assert_null(b.data);
		assert_int_equal(mlfs_jv_count(mlfs_json_root(j)), 100000);
		assert_true(mlfs_json_size(j) <= 5 * len + 4096);
		mlfs_json_free(j);
	}
}

static void test_json_parse_over_the_limit_is_e2big(void **state)
{
	struct mlfs_json *j = (void *)1;
	char err[128];

	(void)state;
	/* Refused on the length alone: nothing is read. */
	assert_int_equal(mlfs_json_parse("{}", (size_t)MLFS_JSON_MAX + 1, &j,
					 err, sizeof(err)), -E2BIG);
	assert_null(j);
	assert_non_null(strstr(err, "over the 267386880-byte limit"));
}

static void test_json_diff_over_json_max_falls_back_with_limit(void **state)
{
	static const char a[] = "{\"a\": [1, 2, 3]}", b[] = "{\"a\": [1, 2, 4]}";
	struct mlfs_diff_src sa = { "c.json", sizeof(a) - 1,
				    (const uint8_t *)a, NULL, NULL };
	struct mlfs_diff_src sb = { "c.json", sizeof(b) - 1,
				    (const uint8_t *)b, NULL, NULL };
	struct mlfs_diff_content_opts o = { .max_examples = 5,
					    .json_max = 10 };
	struct mlfs_diff_out out;

	(void)state;
	memset(&out, 0, sizeof(out));
	assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	assert_string_equal(out.format, "binary");
	assert_string_equal(out.err, "old version: JSON file of 16 bytes too "
			    "large to diff (limit 10 bytes)");
	mlfs_diff_out_release(&out);
}

/* A changed value nested to the depth limit is written whole (the
 * writer's stack used to stop at 64). */
static void test_json_diff_reports_a_value_at_the_depth_limit(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT;
	struct mlfs_diff_out out;
	int d = MLFS_JSON_DEPTH_MAX - 1;

	(void)state;
	assert_int_equal(mlfs_buf_append(&a, "{\"x\":", 5), 0);
	for (int i = 0; i < d; i++)
		assert_int_equal(mlfs_buf_append(&a, "[", 1), 0);
	for (int i = 0; i < d; i++)
		assert_int_equal(mlfs_buf_append(&a, "]", 1), 0);
	assert_int_equal(mlfs_buf_append(&a, "}", 2), 0);
	assert_int_equal(diff_str((char *)a.data, "{\"x\": 1}", &out), 0);
	assert_string_equal(out.format, "json");
	assert_non_null(memmem(out.json.data, out.json.len,
			       "]]]],\"new\":1}", 13));
	assert_non_null(memmem(out.text.data, out.text.len, "~ .x: [[[[", 10));
	mlfs_diff_out_release(&out);
	mlfs_buf_release(&a);
}

/* Keys in another order, duplicates: compared by sorted index. */
static void test_json_diff_matches_keys_in_any_order(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	struct mlfs_diff_out out;
	char kv[48];

	(void)state;
	assert_int_equal(mlfs_buf_append(&a, "{", 1), 0);
	assert_int_equal(mlfs_buf_append(&b, "{", 1), 0);
	for (int i = 0; i < 20000; i++) {
		int l = snprintf(kv, sizeof(kv), "\"k%d\":%d,", i, i);
		int m = snprintf(kv + 24, 24, "\"k%d\":%d,", 19999 - i,
				 19999 - i == 777 ? -1 : 19999 - i);

		assert_int_equal(mlfs_buf_append(&a, kv, (size_t)l), 0);
		assert_int_equal(mlfs_buf_append(&b, kv + 24, (size_t)m), 0);
	}
	assert_int_equal(mlfs_buf_append(&a, "\"k1\":5}", 8), 0);
	assert_int_equal(mlfs_buf_append(&b, "\"k1\":5}", 8), 0);
	assert_int_equal(diff_str((char *)a.data, (char *)b.data, &out), 0);
	assert_string_equal(out.format, "json");
	assert_int_equal(out.text.len, strlen("~ .k777: 777 -> -1\n"));
	assert_memory_equal(out.text.data, "~ .k777: 777 -> -1\n",
			    out.text.len);
	mlfs_diff_out_release(&out);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
}

static void test_json_diff_numbers_by_value_not_overflow(void **state)
{
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(diff_str("[1, 1e2, -0, 1e999]", "[1.0, 100, 0, 1e999]",
				  &out), 0);
	assert_true(out.equal);
	mlfs_diff_out_release(&out);
	assert_int_equal(diff_str("[1e999]", "[2e999]", &out), 0);
	assert_false(out.equal);
	assert_int_equal(out.text.len, strlen("~ [0]: 1e999 -> 2e999\n"));
	assert_memory_equal(out.text.data, "~ [0]: 1e999 -> 2e999\n",
			    out.text.len);
	mlfs_diff_out_release(&out);
}

/* Numbers compare by their exact decimal value, not as doubles: a seed or
 * an id past 2^53 that changed is a change. */
static void test_json_diff_numbers_exactly(void **state)
{
	static const char *const same[][2] = {
		{ "1.50e2", "150" }, { "0.000", "0" }, { "100.00", "1e2" },
		{ "12.5E-1", "1.25" }, { "-0.0e5", "0" }, { "7e+0", "7" },
		{ "123456789012345678901234567890",
		  "1.2345678901234567890123456789e29" },
	};
	static const char *const differ[][2] = {
		{ "9007199254740993", "9007199254740992" },
		{ "123456789012345678901234567890",
		  "123456789012345678901234567891" },
		{ "0.1", "0.10000000000000000001" }, { "-1", "1" },
		{ "1e2", "1e3" }, { "15", "1.5" }, { "1e-400", "2e-400" },
	};
	struct mlfs_diff_out out;
	char a[128], b[128];

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		snprintf(a, sizeof(a), "[%s]", same[i][0]);
		snprintf(b, sizeof(b), "[%s]", same[i][1]);
		assert_int_equal(diff_str(a, b, &out), 0);
		if (!out.equal)
			fail_msg("%s and %s differ", a, b);
		mlfs_diff_out_release(&out);
	}
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		snprintf(a, sizeof(a), "{\"seed\": %s}", differ[i][0]);
		snprintf(b, sizeof(b), "{\"seed\": %s}", differ[i][1]);
		assert_int_equal(diff_str(a, b, &out), 0);
		if (out.equal)
			fail_msg("%s and %s are equal", a, b);
		assert_true(has(&out.text,
				       "~ .seed: "));
		mlfs_diff_out_release(&out);
	}
}

/* Of duplicated keys only the last counts, on either side. */
static void test_json_diff_duplicate_keys_last_wins(void **state)
{
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(diff_str("{\"a\": 1, \"b\": 0, \"a\": 2}",
				  "{\"b\": 0, \"a\": 2}", &out), 0);
	assert_true(out.equal);
	mlfs_diff_out_release(&out);
	assert_int_equal(diff_str("{\"a\": 1, \"a\": 2}",
				  "{\"a\": 2, \"c\": 3, \"a\": 1, \"c\": 4}", &out),
			 0);
	assert_int_equal(out.text.len, strlen("~ .a: 2 -> 1\n+ .c: 4\n"));
	assert_memory_equal(out.text.data, "~ .a: 2 -> 1\n+ .c: 4\n",
			    out.text.len);
	mlfs_diff_out_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_parse_object_reads_members),
		cmocka_unit_test(test_json_parse_surrogate_pair_decodes_to_utf8),
		cmocka_unit_test(test_json_parse_rejects_malformed_input),
		cmocka_unit_test(test_json_parse_rejects_nesting_past_the_limit),
		cmocka_unit_test(test_json_parse_error_names_the_byte),
		cmocka_unit_test(test_json_writer_escapes_and_nests),
		cmocka_unit_test(test_json_bytes_not_utf8_round_trip),
		cmocka_unit_test(test_json_diff_reports_changed_added_removed_keys),
		cmocka_unit_test(test_json_diff_formatting_only_is_equal),
		cmocka_unit_test(test_json_diff_malformed_falls_back_to_binary),
		cmocka_unit_test(test_json_strings_with_nul_bytes_keep_their_length),
		cmocka_unit_test(test_json_get_returns_the_last_duplicate),
		cmocka_unit_test(test_json_document_memory_is_bounded_by_its_input),
		cmocka_unit_test(test_json_parse_over_the_limit_is_e2big),
		cmocka_unit_test(test_json_diff_over_json_max_falls_back_with_limit),
		cmocka_unit_test(test_json_diff_reports_a_value_at_the_depth_limit),
		cmocka_unit_test(test_json_diff_matches_keys_in_any_order),
		cmocka_unit_test(test_json_diff_numbers_by_value_not_overflow),
		cmocka_unit_test(test_json_diff_numbers_exactly),
		cmocka_unit_test(test_json_diff_duplicate_keys_last_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
