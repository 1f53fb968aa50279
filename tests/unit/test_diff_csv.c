/*
 * test_diff_csv.c - CSV/TSV diffs on memory buffers: columns, rows by
 * multiset and by key, quoting, and hostile input (ragged rows, a quote
 * never closed, no header).
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
#include "mlfs/hash.h"

#include "diff_csv.h"

/* Whether @b holds the bytes of @s (buffers are not terminated). */
static bool has(const struct mlfs_buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

/* A JSON string value, NUL-terminated (strings here hold no NULs). */
static const char *jstr(struct mlfs_jv v)
{
	size_t len;
	const char *s = mlfs_jv_str(v, &len);

	assert_non_null(s);
	return s;
}

static int run(const char *path, const char *a, const char *b,
	       const char *key, struct mlfs_csv_result *res,
	       struct mlfs_diff_out *out)
{
	struct mlfs_diff_src sa = { path, strlen(a), (const uint8_t *)a,
				    NULL, NULL };
	struct mlfs_diff_src sb = { path, strlen(b), (const uint8_t *)b,
				    NULL, NULL };
	struct mlfs_diff_content_opts o = { .key = key, .max_examples = 5 };

	memset(out, 0, sizeof(*out));
	memset(res, 0, sizeof(*res));
	return mlfs_csv_diff(&sa, &sb, &o, out, res);
}

static void test_csv_multiset_counts_added_and_removed_rows(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "id,x\n1,a\n2,b\n2,b\n3,c\n",
			     "id,x\n3,c\n2,b\n1,z\n4,d\n", NULL, &r, &out), 0);
	assert_int_equal(r.rows_a, 4);
	assert_int_equal(r.rows_b, 4);
	assert_int_equal(r.rows_added, 2);   /* 1,z and 4,d */
	assert_int_equal(r.rows_removed, 2); /* 1,a and one 2,b */
	assert_int_equal(r.rows_changed, 0);
	assert_int_equal(r.rows_same, 2);
	assert_false(out.equal);
	assert_true(has(&out.text, "+ line 4: 1,z\n"));
	assert_true(has(&out.text, "- line 2: 1,a\n"));
	mlfs_diff_out_release(&out);
}

static void test_csv_row_order_only_is_equal(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a,b\n1,2\n3,4\n", "a,b\r\n3,4\r\n1,2\r\n",
			     NULL, &r, &out), 0);
	assert_true(out.equal);
	assert_int_equal(r.rows_same, 2);
	mlfs_diff_out_release(&out);
}

/* The CR of CRLF after a closing quote ends the line; one inside the
 * quotes is data. */
static void test_csv_crlf_after_a_quoted_last_field(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a,b\n1,\"x\"\n2,\"y\r\"\n",
			     "a,\"b\"\r\n1,\"x\"\r\n2,\"y\r\"\r\n",
			     NULL, &r, &out), 0);
	assert_true(out.equal);
	assert_int_equal(r.rows_same, 2);
	mlfs_diff_out_release(&out);
	assert_int_equal(run("d.csv", "a\n\"y\r\"\n", "a\r\n\"y\"\r\n",
			     NULL, &r, &out), 0);
	assert_false(out.equal);
	assert_int_equal(r.rows_added, 1);
	assert_int_equal(r.rows_removed, 1);
	mlfs_diff_out_release(&out);
}

/* A UTF-8 byte order mark is not part of the first column's name. */
static void test_csv_byte_order_mark_is_skipped(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "\xEF\xBB\xBFid,v\n1,a\n2,b\n",
			     "id,v\n1,a\n2,c\n", "id", &r, &out), 0);
	assert_int_equal(r.rows_changed, 1);
	assert_int_equal(r.rows_same, 1);
	assert_false(has(&out.text, "column"));
	mlfs_diff_out_release(&out);
	/* a quoted first name after the mark */
	assert_int_equal(run("d.csv", "\xEF\xBB\xBF\"id\",v\n1,a\n",
			     "id,v\n1,a\n", NULL, &r, &out), 0);
	assert_true(out.equal);
	mlfs_diff_out_release(&out);
	/* only at the very start: elsewhere the bytes are data */
	assert_int_equal(run("d.csv", "id\n\xEF\xBB\xBFx\n", "id\nx\n",
			     NULL, &r, &out), 0);
	assert_false(out.equal);
	mlfs_diff_out_release(&out);
}

static void test_csv_key_reports_changed_rows_and_columns(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;
	struct mlfs_json *j = NULL;
	struct mlfs_jv root, ch;
	char err[128];

	(void)state;
	assert_int_equal(run("d.csv", "id,price,name\n1,3.5,a\n2,4,b\n3,5,c\n",
			     "id,price,name\n1,3.7,a\n3,5,c\n5,9,e\n", "id",
			     &r, &out), 0);
	assert_int_equal(r.rows_changed, 1);
	assert_int_equal(r.rows_added, 1);
	assert_int_equal(r.rows_removed, 1);
	assert_int_equal(r.rows_same, 1);
	assert_true(has(&out.text,
			       "~ id=1 (line 2 -> 2): price: 3.5 -> 3.7\n"));
	assert_int_equal(mlfs_json_parse((char *)out.json.data, out.json.len,
					 &j, err, sizeof(err)), 0);
	root = mlfs_json_root(j);
	ch = mlfs_jv_get(mlfs_jv_get(root, "examples"), "changed");
	assert_int_equal(mlfs_jv_count(ch), 1);
	assert_string_equal(jstr(mlfs_jv_get(mlfs_jv_first(ch), "key")), "1");
	assert_string_equal(jstr(mlfs_jv_get(mlfs_jv_get(mlfs_jv_get(
			    mlfs_jv_first(ch), "columns"), "price"), "new")),
			    "3.7");
	assert_string_equal(jstr(mlfs_jv_get(root, "key")), "id");
	mlfs_json_free(j);
	mlfs_diff_out_release(&out);
}

static void test_csv_added_column_leaves_rows_unchanged(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "id,x\n1,a\n2,b\n",
			     "x,id,y\na,1,q\nb,2,r\n", "id", &r, &out), 0);
	assert_int_equal(r.cols_added, 1);
	assert_int_equal(r.cols_removed, 0);
	assert_true(r.cols_reordered);
	assert_int_equal(r.rows_same, 2);
	assert_int_equal(r.rows_changed, 0);
	assert_true(has(&out.text, "+ column y\n"));
	assert_true(has(&out.text, "columns reordered\n"));
	mlfs_diff_out_release(&out);
}

static void test_csv_quoted_fields_with_delimiters_and_newlines(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "k,v\n1,\"a,b\"\n2,\"x\ny\"\n",
			     "k,v\n1,\"a,b\"\n2,\"x\ny\"\"\"\n", "k", &r, &out), 0);
	assert_int_equal(r.rows_a, 2);
	assert_int_equal(r.rows_b, 2);
	assert_int_equal(r.rows_same, 1);
	assert_int_equal(r.rows_changed, 1);
	assert_true(has(&out.text,
			       "v: x\\ny -> x\\ny\"\n"));
	mlfs_diff_out_release(&out);
}

static void test_csv_ragged_rows_are_counted_not_fatal(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a,b,c\n1,2,3\n", "a,b,c\n1,2,3\n4,5\n"
			     "6,7,8,9\n", NULL, &r, &out), 0);
	assert_int_equal(r.ragged_b, 2);
	assert_int_equal(r.ragged_a, 0);
	assert_int_equal(r.rows_added, 2);
	assert_true(has(&out.text,
			       "new version: 2 rows with a wrong field count "
			       "(first: line 3, 2 fields, header has 3)\n"));
	mlfs_diff_out_release(&out);
}

static void test_csv_unclosed_quote_is_ebadmsg_with_line(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a,b\n1,2\n", "a,b\n1,2\n3,\"open\n4,5\n",
			     NULL, &r, &out), -EBADMSG);
	assert_string_equal(out.err, "new version: quote opened on line 3 is "
			    "never closed");
	mlfs_diff_out_release(&out);
}

static void test_csv_unclosed_quote_falls_back_to_binary(void **state)
{
	const char *a = "a,b\n1,2\n", *b = "a,b\n\"1,2\n";
	struct mlfs_diff_src sa = { "d.csv", strlen(a), (const uint8_t *)a,
				    NULL, NULL };
	struct mlfs_diff_src sb = { "d.csv", strlen(b), (const uint8_t *)b,
				    NULL, NULL };
	struct mlfs_diff_content_opts o = { .max_examples = 5 };
	struct mlfs_diff_out out;

	(void)state;
	memset(&out, 0, sizeof(out));
	assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	assert_string_equal(out.format, "binary");
	assert_string_equal(out.err, "new version: quote opened on line 2 is "
			    "never closed");
	mlfs_diff_out_release(&out);
}

static void test_csv_empty_file_has_no_header(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "", "a\n1\n", NULL, &r, &out), -EBADMSG);
	assert_string_equal(out.err, "old version: no header row");
	mlfs_diff_out_release(&out);
}

static void test_csv_tsv_by_extension(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.tsv", "a\tb\n1,5\t2\n", "a\tb\n1,5\t3\n", "a",
			     &r, &out), 0);
	assert_int_equal(r.rows_changed, 1);
	assert_true(has(&out.json, "\"format\":\"tsv\""));
	mlfs_diff_out_release(&out);
}

static void test_csv_missing_key_column_compares_by_content(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a\n1\n", "a\n2\n", "nope", &r, &out), 0);
	assert_int_equal(r.rows_added, 1);
	assert_int_equal(r.rows_removed, 1);
	assert_true(has(&out.text,
			       "key column 'nope' is not in both headers"));
	mlfs_diff_out_release(&out);
}

static void test_csv_examples_are_capped_and_in_file_order(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;
	char line[32];
	struct mlfs_json *j = NULL;
	struct mlfs_jv ex, e;
	char err[128];

	(void)state;
	assert_int_equal(mlfs_buf_append(&a, "n\n", 2), 0);
	assert_int_equal(mlfs_buf_append(&b, "n\n", 2), 0);
	for (int i = 0; i < 1000; i++) {
		int l = snprintf(line, sizeof(line), "%d\n", i);

		assert_int_equal(mlfs_buf_append(&b, line, (size_t)l), 0);
	}
	assert_int_equal(mlfs_buf_append(&a, "\0", 1), 0);
	assert_int_equal(mlfs_buf_append(&b, "\0", 1), 0);
	assert_int_equal(run("d.csv", (char *)a.data, (char *)b.data, NULL, &r,
			     &out), 0);
	assert_int_equal(r.rows_added, 1000);
	assert_int_equal(mlfs_json_parse((char *)out.json.data, out.json.len,
					 &j, err, sizeof(err)), 0);
	ex = mlfs_jv_get(mlfs_jv_get(mlfs_json_root(j), "examples"), "added");
	assert_int_equal(mlfs_jv_count(ex), 5);
	e = mlfs_jv_first(ex);
	for (size_t i = 0; i < 5; i++, e = mlfs_jv_next(e))
		assert_true(mlfs_jv_num(mlfs_jv_get(e, "line")) ==
			    (double)i + 2);
	mlfs_json_free(j);
	mlfs_diff_out_release(&out);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
}

/* A data row with more fields than the header: each extra field is shown
 * under an empty column name (csv_field on the header past its last
 * field read fend[] out of bounds, found by ASan). */
static void test_csv_row_wider_than_header_shows_extra_fields(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;
	char row[64];

	(void)state;
	memset(row, ',', 42);
	memcpy(row + 42, "\n", 2);
	row[44] = 0;
	{
		char b[128];

		snprintf(b, sizeof(b), "id,v\n1,a\n%s", row);
		assert_int_equal(strlen(b), 52);
		assert_int_equal(run("data.csv", "id,v\n1,a\n", b, NULL, &r,
				     &out), 0);
	}
	assert_int_equal(r.rows_added, 1);
	assert_int_equal(r.ragged_b, 1);
	assert_true(has(&out.text, "+ line 3: ,,,"));
	assert_true(has(&out.json,
			       "\"row\":{\"id\":\"\",\"v\":\"\",\"\":\"\","));
	mlfs_diff_out_release(&out);
}

/* Empty records and empty partitions: no NULL + 0, no qsort(NULL, 0). */
static void test_csv_empty_fields_and_partitions_are_defined(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a,b\n", "a,b\n", NULL, &r, &out), 0);
	assert_true(out.equal);
	assert_int_equal(r.rows_a, 0);
	mlfs_diff_out_release(&out);
	assert_int_equal(run("d.csv", "a,b\n,\n", "a,b\n,\n,\n", "a", &r,
			     &out), 0);
	assert_int_equal(r.rows_same, 1);
	assert_int_equal(r.rows_added, 1);
	assert_int_equal(r.dup_keys_b, 1);
	assert_true(has(&out.text, "+ line 3: ,\n"));
	mlfs_diff_out_release(&out);
}

/* Row hashes are the store-keyed hash of the length-prefixed fields, so
 * two keys give two hashes of one row. */
static void test_csv_row_hash_is_keyed(void **state)
{
	static const char csv[] = "x,yz\n";
	struct mlfs_diff_src src = { "d.csv", sizeof(csv) - 1,
				     (const uint8_t *)csv, NULL, NULL };
	struct mlfs_hash_key k1, k2;
	XXH3_state_t *st = XXH3_createState();
	size_t cols[2] = { 0, 1 };
	uint64_t h1[2], h2[2], want[2] = { 0, 0 };
	uint8_t l1[8], l2[8];
	struct mlfs_span sp[4];
	struct mlfs_id id;
	struct rd r;
	char err[64];

	(void)state;
	assert_non_null(st);
	memset(&k1, 0x5a, sizeof(k1));
	for (size_t i = 0; i < sizeof(k2.secret); i++)
		k2.secret[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(csv_rd_init(&r, &src, ',', 0), 0);
	assert_int_equal(csv_rd_next(&r, err, sizeof(err)), 1);
	csv_hash_fields(&r, cols, 2, &k1, st, h1);
	csv_hash_fields(&r, cols, 2, &k2, st, h2);
	assert_false(h1[0] == h2[0] && h1[1] == h2[1]);
	mlfs_put_le64(l1, 1);
	mlfs_put_le64(l2, 2);
	sp[0] = (struct mlfs_span){ l1, 8 };
	sp[1] = (struct mlfs_span){ "x", 1 };
	sp[2] = (struct mlfs_span){ l2, 8 };
	sp[3] = (struct mlfs_span){ "yz", 2 };
	mlfs_hash_parts(&k1, sp, 4, &id);
	for (int i = 0; i < 8; i++) {
		want[0] = want[0] << 8 | id.b[i];
		want[1] = want[1] << 8 | id.b[8 + i];
	}
	assert_true(h1[0] == want[0] && h1[1] == want[1]);
	csv_rd_release(&r);
	XXH3_freeState(st);
}

/* Duplicated column names pair by occurrence: the same file is equal to
 * itself (found by fuzz_csv: the second "a" counted removed and added). */
static void test_csv_duplicate_column_names_pair_by_occurrence(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a,a,b\n1,2,3\n", "a,a,b\n1,2,3\n", NULL,
			     &r, &out), 0);
	assert_true(out.equal);
	assert_int_equal(r.cols_added, 0);
	assert_int_equal(r.cols_removed, 0);
	assert_int_equal(r.rows_same, 1);
	mlfs_diff_out_release(&out);
	/* One "a" fewer: one removed, listed by name. */
	assert_int_equal(run("d.csv", "a,a,b\n1,2,3\n", "b,a\n3,1\n", NULL,
			     &r, &out), 0);
	assert_int_equal(r.cols_removed, 1);
	assert_int_equal(r.cols_added, 0);
	assert_true(r.cols_reordered);
	assert_true(has(&out.json, "\"columns_removed\":[\"a\"]"));
	mlfs_diff_out_release(&out);
}

/* Runs spilled to disk and merged, and groups of one key larger than a
 * run, give the same result, byte for byte, as one run in memory. */
static void test_csv_spilled_runs_match_the_in_memory_result(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT;
	static const size_t runs[] = { 1, 2, 3, 7, 64 };
	char line[64];

	(void)state;
	assert_int_equal(mlfs_buf_append(&a, "id,v\n", 5), 0);
	assert_int_equal(mlfs_buf_append(&b, "id,v\n", 5), 0);
	for (int i = 0; i < 600; i++) {
		/* Keys repeat (i % 50: groups of 12), values change. */
		int l = snprintf(line, sizeof(line), "%d,%d\n", i % 50, i % 7);

		assert_int_equal(mlfs_buf_append(&a, line, (size_t)l), 0);
		l = snprintf(line, sizeof(line), "%d,%d\n", (i * 7) % 53,
			     i % 5 ? i % 7 : 99);
		assert_int_equal(mlfs_buf_append(&b, line, (size_t)l), 0);
	}
	for (int key = 0; key < 2; key++) {
		struct mlfs_diff_src sa = { "d.csv", a.len, a.data, NULL, NULL };
		struct mlfs_diff_src sb = { "d.csv", b.len, b.data, NULL, NULL };
		struct mlfs_diff_content_opts o = { .key = key ? "id" : NULL,
						    .max_examples = 4 };
		struct mlfs_csv_result r0, r;
		struct mlfs_diff_out o0, out;

		memset(&o0, 0, sizeof(o0));
		assert_int_equal(mlfs_csv_diff(&sa, &sb, &o, &o0, &r0), 0);
		assert_true(r0.rows_added + r0.rows_removed > 0);
		assert_true(!key || r0.rows_changed > 0);
		for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
			memset(&out, 0, sizeof(out));
			assert_int_equal(csv_diff_runs(&sa, &sb, &o, &out, &r,
						       runs[i]), 0);
			assert_memory_equal(&r, &r0, sizeof(r));
			assert_int_equal(out.text.len, o0.text.len);
			assert_memory_equal(out.text.data, o0.text.data,
					    out.text.len);
			assert_int_equal(out.json.len, o0.json.len);
			assert_memory_equal(out.json.data, o0.json.data,
					    out.json.len);
			mlfs_diff_out_release(&out);
		}
		mlfs_diff_out_release(&o0);
	}
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
}

/* Control bytes in a field are escaped in the text, exact in the JSON. */
static void test_csv_text_escapes_control_bytes_in_fields(void **state)
{
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(run("d.csv", "a\n", "a\n\"x\r\x1b[2Jy\"\n", NULL, &r,
			     &out), 0);
	assert_true(has(&out.text, "+ line 2: x\\r\\033[2Jy\n"));
	assert_true(has(&out.json, "\"x\\r\\u001b[2Jy\""));
	mlfs_diff_out_release(&out);
}

/* A record of more than 65536 fields is over the reader's cap: -E2BIG,
 * 'too large to diff', and the binary summary through the driver. */
static void test_csv_record_over_the_cap_is_e2big(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_csv_result r;
	struct mlfs_diff_out out;

	(void)state;
	assert_int_equal(mlfs_buf_append(&b, "a\n", 2), 0);
	for (int i = 0; i < 70000; i++)
		assert_int_equal(mlfs_buf_append(&b, ",", 1), 0);
	assert_int_equal(mlfs_buf_append(&b, "\n", 2), 0);
	assert_int_equal(run("d.csv", "a\n", (char *)b.data, NULL, &r, &out),
			 -E2BIG);
	assert_string_equal(out.err, "new version: record starting on line 2 "
			    "too large to diff (limit 16777216 bytes, 65536 "
			    "fields; an unclosed quote?)");
	mlfs_diff_out_release(&out);
	{
		struct mlfs_diff_src sa = { "d.csv", 2, (const uint8_t *)"a\n",
					    NULL, NULL };
		struct mlfs_diff_src sb = { "d.csv", b.len - 1, b.data, NULL,
					    NULL };
		struct mlfs_diff_content_opts o = { .max_examples = 5 };

		memset(&out, 0, sizeof(out));
		assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
		assert_string_equal(out.format, "binary");
		assert_non_null(strstr(out.err, "too large to diff"));
		mlfs_diff_out_release(&out);
	}
	mlfs_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_multiset_counts_added_and_removed_rows),
		cmocka_unit_test(test_csv_row_order_only_is_equal),
		cmocka_unit_test(test_csv_crlf_after_a_quoted_last_field),
		cmocka_unit_test(test_csv_byte_order_mark_is_skipped),
		cmocka_unit_test(test_csv_key_reports_changed_rows_and_columns),
		cmocka_unit_test(test_csv_added_column_leaves_rows_unchanged),
		cmocka_unit_test(test_csv_quoted_fields_with_delimiters_and_newlines),
		cmocka_unit_test(test_csv_ragged_rows_are_counted_not_fatal),
		cmocka_unit_test(test_csv_unclosed_quote_is_ebadmsg_with_line),
		cmocka_unit_test(test_csv_unclosed_quote_falls_back_to_binary),
		cmocka_unit_test(test_csv_empty_file_has_no_header),
		cmocka_unit_test(test_csv_tsv_by_extension),
		cmocka_unit_test(test_csv_missing_key_column_compares_by_content),
		cmocka_unit_test(test_csv_examples_are_capped_and_in_file_order),
		cmocka_unit_test(test_csv_row_wider_than_header_shows_extra_fields),
		cmocka_unit_test(test_csv_empty_fields_and_partitions_are_defined),
		cmocka_unit_test(test_csv_row_hash_is_keyed),
		cmocka_unit_test(test_csv_duplicate_column_names_pair_by_occurrence),
		cmocka_unit_test(test_csv_spilled_runs_match_the_in_memory_result),
		cmocka_unit_test(test_csv_text_escapes_control_bytes_in_fields),
		cmocka_unit_test(test_csv_record_over_the_cap_is_e2big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
