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
		cmocka_unit_test(test_text_format_summarises_past_the_size_cap),
		cmocka_unit_test(test_text_detect_prefers_binary_for_nul_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
