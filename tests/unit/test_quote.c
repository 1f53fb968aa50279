/*
 * test_quote.c - names quoted for text output as git quotes them
 * (core.quotePath): plain names untouched, C escapes, octal for other
 * control bytes and for bytes >= 0x80.
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

#include "mlfs/quote.h"

static void check(const char *in, size_t len, const char *want)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	assert_int_equal(mlfs_quote_path(&b, in, len), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	assert_int_equal(mlfs_quote_needed(in, len), strcmp(in, want) != 0);
	mlfs_buf_release(&b);
}

static void test_quote_plain_names_are_unchanged(void **state)
{
	(void)state;
	check("model.safetensors", 17, "model.safetensors");
	check("a b/c-d_e~f'g", 13, "a b/c-d_e~f'g");
	check("", 0, "");
}

static void test_quote_newline_tab_quote_backslash(void **state)
{
	(void)state;
	check("a\nb", 3, "\"a\\nb\"");
	check("tab\there", 8, "\"tab\\there\"");
	check("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
	check("back\\slash", 10, "\"back\\\\slash\"");
	check("\a\b\v\f\r", 5, "\"\\a\\b\\v\\f\\r\"");
}

static void test_quote_other_bytes_are_octal(void **state)
{
	(void)state;
	check("\x01x\x1f", 3, "\"\\001x\\037\"");
	check("del\x7f", 4, "\"del\\177\"");
	/* UTF-8 é, as git's default core.quotePath shows it. */
	check("caf\xc3\xa9", 5, "\"caf\\303\\251\"");
	check("\xff", 1, "\"\\377\"");
}

static void test_quote_nul_byte_inside_a_length(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	assert_int_equal(mlfs_quote_path(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "\"a\\000b\"", 8);
	mlfs_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_plain_names_are_unchanged),
		cmocka_unit_test(test_quote_newline_tab_quote_backslash),
		cmocka_unit_test(test_quote_other_bytes_are_octal),
		cmocka_unit_test(test_quote_nul_byte_inside_a_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
