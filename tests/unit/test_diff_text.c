/*
 * test_diff_text.c - unified text diffs (Myers) and their caps.
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

static void check_udiff(const char *a, const char *b, unsigned ctx,
			const char *want, uint64_t want_add, uint64_t want_rm)
{
	struct mlfs_buf out = MLFS_BUF_INIT;
	uint64_t add, rm;

	assert_int_equal(mlfs_text_udiff(a, strlen(a), b, strlen(b), ctx, &out,
					 &add, &rm), 0);
	assert_int_equal(out.len, strlen(want));
	if (out.len)
		assert_memory_equal(out.data, want, out.len);
	assert_int_equal(add, want_add);
	assert_int_equal(rm, want_rm);
	mlfs_buf_release(&out);
}

static void test_text_udiff_one_changed_line_with_context(void **state)
{
	(void)state;
	check_udiff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n", 1,
		    "@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n", 1, 1);
}

static void test_text_udiff_identical_is_empty(void **state)
{
	(void)state;
	check_udiff("x\ny\n", "x\ny\n", 3, "", 0, 0);
}

static void test_text_udiff_insert_at_start_of_empty_range(void **state)
{
	(void)state;
	check_udiff("b\n", "a\nb\n", 0, "@@ -0,0 +1,1 @@\n+a\n", 1, 0);
	check_udiff("", "a\n", 3, "@@ -0,0 +1,1 @@\n+a\n", 1, 0);
}

static void test_text_udiff_separate_hunks_when_far_apart(void **state)
{
	(void)state;
	check_udiff("1\n2\n3\n4\n5\n6\n7\n8\n", "X\n2\n3\n4\n5\n6\n7\nY\n", 1,
		    "@@ -1,2 +1,2 @@\n-1\n+X\n 2\n@@ -7,2 +7,2 @@\n 7\n-8\n+Y\n",
		    2, 2);
}

static void test_text_udiff_marks_missing_final_newline(void **state)
{
	(void)state;
	check_udiff("a\nb", "a\nb\n", 3,
		    "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
		    1, 1);
}

static void test_text_udiff_interleaved_edits_are_minimal(void **state)
{
	const char *a = "a\nb\nc\na\nb\nb\na\n", *b = "c\nb\na\nb\na\nc\n";
	struct mlfs_buf out = MLFS_BUF_INIT;
	uint64_t add, rm;

	(void)state;
	/* Myers' paper example: the shortest edit script has 5 edits. */
	assert_int_equal(mlfs_text_udiff(a, strlen(a), b, strlen(b), 0, &out,
					 &add, &rm), 0);
	assert_int_equal(add, 2);
	assert_int_equal(rm, 3);
	mlfs_buf_release(&out);
}

static void test_text_udiff_over_the_edit_cap_is_e2big(void **state)
{
	size_t n = 3000;
	char *a = malloc(n * 8), *b = malloc(n * 8);
	struct mlfs_buf out = MLFS_BUF_INIT;
	size_t la = 0, lb = 0;
	uint64_t add, rm;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		la += (size_t)sprintf(a + la, "a%zu\n", i);
		lb += (size_t)sprintf(b + lb, "b%zu\n", i);
	}
	assert_int_equal(mlfs_text_udiff(a, la, b, lb, 3, &out, &add, &rm),
			 -E2BIG);
	mlfs_buf_release(&out);
	free(a);
	free(b);
}

static void test_text_format_summarises_past_the_size_cap(void **state)
{
	const char *a = "hello\nworld\n", *b = "hello\nthere\n";
	struct mlfs_diff_src sa = { "x.txt", strlen(a), (const uint8_t *)a,
				    NULL, NULL };
	struct mlfs_diff_src sb = { "x.txt", strlen(b), (const uint8_t *)b,
				    NULL, NULL };
	struct mlfs_diff_content_opts o = { .context = 3, .text_max = 8 };
	struct mlfs_diff_out out;

	(void)state;
	memset(&out, 0, sizeof(out));
	assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	assert_string_equal(out.format, "text");
	assert_int_equal(out.text.len,
			 strlen("file too large for a line diff (12 -> 12 bytes)\n"));
	assert_memory_equal(out.text.data,
			    "file too large for a line diff (12 -> 12 bytes)\n",
			    out.text.len);
	mlfs_diff_out_release(&out);
	o.text_max = 0;
	memset(&out, 0, sizeof(out));
	assert_int_equal(mlfs_diff_content(&sa, &sb, &o, &out), 0);
	assert_memory_equal(out.text.data,
			    "@@ -1,2 +1,2 @@\n hello\n-world\n+there\n",
			    out.text.len);
	mlfs_diff_out_release(&out);
}

static void test_text_detect_prefers_binary_for_nul_bytes(void **state)
{
	static const uint8_t bin[] = { 'a', 0, 'b' };
	const struct mlfs_diff_format *f;

	(void)state;
	f = mlfs_diff_detect("x.dat", bin, 3, 3, bin, 3, 3);
	assert_string_equal(f->name, "binary");
	f = mlfs_diff_detect("x.dat", (const uint8_t *)"ab\n", 3, 3,
			     (const uint8_t *)"ac\n", 3, 3);
	assert_string_equal(f->name, "text");
	f = mlfs_diff_detect("x.csv", (const uint8_t *)"a,b\n", 4, 4,
			     (const uint8_t *)"a,b\n", 4, 4);
	assert_string_equal(f->name, "csv");
}

/* A long shared prefix and suffix are trimmed on the bytes; the hunk
 * still counts their lines and re-reads its context from them. */
static void test_text_udiff_numbers_lines_after_a_trimmed_prefix(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT, out = MLFS_BUF_INIT;
	const char *want = "@@ -49999,3 +49999,3 @@\n l49998\n-l49999\n+X\n"
			   " l50000\n";
	uint64_t add, rm;
	char line[32];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		int l = snprintf(line, sizeof(line), "l%d\n", i);

		assert_int_equal(mlfs_buf_append(&a, line, (size_t)l), 0);
		if (i == 49999)
			l = snprintf(line, sizeof(line), "X\n");
		assert_int_equal(mlfs_buf_append(&b, line, (size_t)l), 0);
	}
	assert_int_equal(mlfs_text_udiff((char *)a.data, a.len, (char *)b.data,
					 b.len, 1, &out, &add, &rm), 0);
	assert_int_equal(add, 1);
	assert_int_equal(rm, 1);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
	mlfs_buf_release(&out);
}

/* Edits at both ends defeat trimming; a middle of many one-byte lines
 * is still diffed (4 bytes of table a line). */
static void test_text_udiff_changes_at_both_ends(void **state)
{
	struct mlfs_buf a = MLFS_BUF_INIT, b = MLFS_BUF_INIT, out = MLFS_BUF_INIT;
	const char *want = "@@ -1,2 +1,2 @@\n-x\n+y\n \n@@ -200001,2 +200001,2 @@\n"
			   " \n-x\n+y\n";
	uint64_t add, rm;

	(void)state;
	assert_int_equal(mlfs_buf_append(&a, "x\n", 2), 0);
	assert_int_equal(mlfs_buf_append(&b, "y\n", 2), 0);
	for (int i = 0; i < 200000; i++) {
		assert_int_equal(mlfs_buf_append(&a, "\n", 1), 0);
		assert_int_equal(mlfs_buf_append(&b, "\n", 1), 0);
	}
	assert_int_equal(mlfs_buf_append(&a, "x\n", 2), 0);
	assert_int_equal(mlfs_buf_append(&b, "y\n", 2), 0);
	assert_int_equal(mlfs_text_udiff((char *)a.data, a.len, (char *)b.data,
					 b.len, 1, &out, &add, &rm), 0);
	assert_int_equal(add, 2);
	assert_int_equal(rm, 2);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	mlfs_buf_release(&a);
	mlfs_buf_release(&b);
	mlfs_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_udiff_one_changed_line_with_context),
		cmocka_unit_test(test_text_udiff_identical_is_empty),
		cmocka_unit_test(test_text_udiff_insert_at_start_of_empty_range),
		cmocka_unit_test(test_text_udiff_separate_hunks_when_far_apart),
		cmocka_unit_test(test_text_udiff_marks_missing_final_newline),
		cmocka_unit_test(test_text_udiff_interleaved_edits_are_minimal),
		cmocka_unit_test(test_text_udiff_over_the_edit_cap_is_e2big),
		cmocka_unit_test(test_text_udiff_numbers_lines_after_a_trimmed_prefix),
		cmocka_unit_test(test_text_udiff_changes_at_both_ends),
		cmocka_unit_test(test_text_format_summarises_past_the_size_cap),
		cmocka_unit_test(test_text_detect_prefers_binary_for_nul_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
