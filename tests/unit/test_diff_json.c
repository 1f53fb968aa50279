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

static int parse(const char *s, struct mlfs_json **out, char *err)
{
	return mlfs_json_parse(s, strlen(s), out, err, 128);
}

static void test_json_parse_object_reads_members(void **state)
{
	struct mlfs_json *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(parse("{\"a\": [1, 2.5e1, -0], \"b\": \"x\\u00e9\\n\","
			       " \"c\": null, \"d\": true}", &j, err), 0);
	assert_int_equal(j->type, MLFS_JSON_OBJECT);
	assert_int_equal(j->n, 4);
	assert_int_equal(mlfs_json_get(j, "a")->n, 3);
	assert_true(mlfs_json_get(j, "a")->v[1]->num == 25.0);
	assert_string_equal(mlfs_json_get(j, "b")->str, "x\xc3\xa9\n");
	assert_int_equal(mlfs_json_get(j, "c")->type, MLFS_JSON_NULL);
	assert_int_equal(mlfs_json_get(j, "d")->type, MLFS_JSON_TRUE);
	assert_null(mlfs_json_get(j, "zz"));
	mlfs_json_free(j);
}

static void test_json_parse_surrogate_pair_decodes_to_utf8(void **state)
{
	struct mlfs_json *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(parse("\"\\ud83d\\ude00\"", &j, err), 0);
	assert_string_equal(j->str, "\xf0\x9f\x98\x80");
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
	const struct mlfs_json *ch;
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
	assert_true(mlfs_json_get(j, "changed")->num == 2);
	assert_true(mlfs_json_get(j, "added")->num == 2);
	assert_true(mlfs_json_get(j, "removed")->num == 1);
	ch = mlfs_json_get(j, "changes");
	assert_int_equal(ch->n, 5);
	assert_string_equal(mlfs_json_get(ch->v[0], "path")->str, ".lr");
	assert_string_equal(mlfs_json_get(ch->v[0], "old")->str, "0.1");
	assert_string_equal(mlfs_json_get(ch->v[0], "new")->str, "0.2");
	assert_string_equal(mlfs_json_get(ch->v[1], "path")->str, ".layers[1]");
	assert_string_equal(mlfs_json_get(ch->v[2], "path")->str, ".layers[2]");
	assert_string_equal(mlfs_json_get(ch->v[2], "change")->str, "added");
	assert_string_equal(mlfs_json_get(ch->v[3], "path")->str, ".old");
	assert_string_equal(mlfs_json_get(ch->v[4], "path")->str,
			    "[\"new key\"]");
	assert_non_null(strstr((char *)out.text.data, "~ .lr: 0.1 -> 0.2\n"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_parse_object_reads_members),
		cmocka_unit_test(test_json_parse_surrogate_pair_decodes_to_utf8),
		cmocka_unit_test(test_json_parse_rejects_malformed_input),
		cmocka_unit_test(test_json_parse_rejects_nesting_past_the_limit),
		cmocka_unit_test(test_json_parse_error_names_the_byte),
		cmocka_unit_test(test_json_writer_escapes_and_nests),
		cmocka_unit_test(test_json_diff_reports_changed_added_removed_keys),
		cmocka_unit_test(test_json_diff_formatting_only_is_equal),
		cmocka_unit_test(test_json_diff_malformed_falls_back_to_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
