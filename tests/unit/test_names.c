/*
 * test_names.c - name rules, the reference grammar, dates and commit-id
 * prefixes.
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

#include "mlfs/names.h"

static void expect_bad_name(const char *s, const char *why_part)
{
	const char *why = NULL;

	assert_int_equal(mlfs_name_check(s, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, why_part));
	/* Every name error quotes the rule. */
	assert_non_null(strstr(why, MLFS_NAME_RULE));
}

static void test_names_valid_names_pass(void **state)
{
	static const char *const good[] = {
		"a", "Z", "0", "model", "llama-3.1_8B", "a.b-c_d", "v1",
		"x-", "x.", "_x", "9lives", "UPPER.lower",
	};
	char max[MLFS_NAME_MAX + 1];
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(good); i++)
		assert_int_equal(mlfs_name_check(good[i], &why), 0);
	memset(max, 'n', MLFS_NAME_MAX);
	max[MLFS_NAME_MAX] = '\0';
	assert_int_equal(mlfs_name_check(max, &why), 0);
}

static void test_names_bad_names_are_einval_with_reason(void **state)
{
	char s129[130], s4096[4097];

	(void)state;
	expect_bad_name("", "empty");
	memset(s129, 'a', 129);
	s129[129] = '\0';
	expect_bad_name(s129, "longer than 128");
	memset(s4096, 'b', 4096);
	s4096[4096] = '\0';
	expect_bad_name(s4096, "longer than 128");
	expect_bad_name(".hidden", "starts with '.' or '-'");
	expect_bad_name("-flag", "starts with '.' or '-'");
	expect_bad_name(".", "starts with '.' or '-'");
	expect_bad_name("..", "starts with '.' or '-'");
	expect_bad_name("a..b", "contains '..'");
	expect_bad_name("v1..", "contains '..'");
	expect_bad_name("a/b", "outside [A-Za-z0-9._-]");
	expect_bad_name("a@b", "outside");
	expect_bad_name("a~1", "outside");
	expect_bad_name("a{b", "outside");
	expect_bad_name("a}b", "outside");
	expect_bad_name("a b", "outside");
	expect_bad_name("a\tb", "outside");
	expect_bad_name("a\nb", "outside");
	expect_bad_name("a\x01", "outside");
	expect_bad_name("a\x7f", "outside");
	expect_bad_name("caf\xc3\xa9", "outside");
	expect_bad_name("\xff", "outside");
	expect_bad_name("a:b", "outside");
	expect_bad_name("a\\b", "outside");
	expect_bad_name("a*", "outside");
}

struct rs {
	const char *ns, *name, *rev;
	bool has_date;
	int64_t date;
	unsigned back;
	const char *path;
};

static void expect_ref(const char *s, bool allow_path, const struct rs *w)
{
	struct mlfs_refspec r;
	const char *why = NULL;

	assert_int_equal(mlfs_refspec_parse(s, allow_path, &r, &why), 0);
	assert_string_equal(r.ns, w->ns);
	assert_string_equal(r.name, w->name);
	assert_string_equal(r.rev, w->rev);
	assert_int_equal(r.has_date, w->has_date);
	assert_int_equal(r.date, w->date);
	assert_int_equal(r.back, w->back);
	assert_non_null(r.path);
	assert_string_equal(r.path, w->path);
	mlfs_refspec_release(&r);
	assert_null(r.path);
	mlfs_refspec_release(&r);
}

static void expect_bad_ref(const char *s, bool allow_path,
			   const char *why_part)
{
	struct mlfs_refspec r;
	const char *why = NULL;

	assert_int_equal(mlfs_refspec_parse(s, allow_path, &r, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, why_part));
	assert_null(r.path);
	mlfs_refspec_release(&r); /* safe after a failure */
}

/* 2024-03-01T00:00:00Z */
#define MAR1 INT64_C(1709251200)

/* Parse @s with MLFS_REFSPEC_REMOTE (| @flags) and check the remote
 * reading and the other one (@alt NULL: none). */
static void expect_track(const char *s, unsigned flags, const char *remote,
			 const char *branch, unsigned back, const char *path,
			 const char *alt)
{
	struct mlfs_refspec r;
	const char *why = NULL;

	assert_int_equal(mlfs_refspec_parse(s, flags | MLFS_REFSPEC_REMOTE, &r,
					    &why), 0);
	assert_string_equal(r.remote, remote);
	assert_string_equal(r.rev, branch);
	assert_int_equal(r.back, back);
	assert_false(r.has_date);
	assert_string_equal(r.path, path);
	if (alt)
		assert_string_equal(r.alt_path, alt);
	else
		assert_null(r.alt_path);
	mlfs_refspec_release(&r);
	assert_null(r.alt_path);
}

static void expect_bad_track(const char *s, const char *why_part)
{
	struct mlfs_refspec r;
	const char *why = NULL;

	assert_int_equal(mlfs_refspec_parse(s, MLFS_REFSPEC_REMOTE, &r, &why),
			 -EINVAL);
	assert_non_null(strstr(why, why_part));
	mlfs_refspec_release(&r);
}

/* Tags, branches and aliases: a name, and never a whole commit id. */
static void test_names_ref_name_is_no_commit_id(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(mlfs_ref_name_check("v1", &why), 0);
	assert_int_equal(mlfs_ref_name_check("deadbeef", &why), 0);
	assert_int_equal(mlfs_ref_name_check(
		"0123456789abcdef0123456789abcdef0", &why), 0);
	assert_int_equal(mlfs_ref_name_check(
		"0123456789abcdefABCDEF0123456789", &why), -EINVAL);
	assert_non_null(strstr(why, "32 hex digits"));
	assert_int_equal(mlfs_ref_name_check("a/b", &why), -EINVAL);
	assert_non_null(strstr(why, "outside"));
	/* repositories may have such names: nothing resolves them as ids */
	assert_int_equal(mlfs_name_check(
		"0123456789abcdefABCDEF0123456789", &why), 0);
}

static void test_names_refspec_remote_tracking(void **state)
{
	struct mlfs_refspec r;
	const char *why;

	(void)state;
	expect_track("ns/name@origin/main", 0, "origin", "main", 0, "", NULL);
	expect_track("ns/name@origin/main~3", 0, "origin", "main", 3, "",
		     NULL);
	expect_track("ns/name@origin/main//", 0, "origin", "main", 0, "",
		     NULL);
	/* only slashes after the remote: no branch, or rev "origin" */
	expect_track("ns/name@origin/", 0, "origin", "", 0, "", "");
	/* with a path allowed "@X/Y/..." reads both ways */
	expect_track("ns/name@origin/main/a/b", MLFS_REFSPEC_PATH, "origin",
		     "main", 0, "a/b", "main/a/b");
	expect_track("ns/name@origin/main~1/a", MLFS_REFSPEC_PATH, "origin",
		     "main", 1, "a", "main~1/a");
	/* a path step that is no branch name: only the path reading */
	assert_int_equal(mlfs_refspec_parse("ns/name@v1/.x/y",
					    MLFS_REFSPEC_PATH |
					    MLFS_REFSPEC_REMOTE, &r, &why), 0);
	assert_string_equal(r.remote, "");
	assert_string_equal(r.rev, "v1");
	assert_string_equal(r.path, ".x/y");
	mlfs_refspec_release(&r);
	/* without the flag "@X/Y" is rev X and a path, as before */
	assert_int_equal(mlfs_refspec_parse("ns/name@origin/main", 0, &r,
					    &why), -EINVAL);
	mlfs_refspec_release(&r);
	expect_bad_track("ns/name@/main", "'@' must be followed by a ref");
	expect_bad_track("ns/name@", "'@' must be followed by a ref");
	expect_track("ns/name@origin//main", 0, "origin", "main", 0, "", NULL);
	expect_bad_track("ns/name@origin/~1", "must be followed by a branch");
	expect_bad_track("ns/name@origin/ma@in", "has no history");
	expect_bad_track("ns/name@origin/main@{2024-01-01}", "has no history");
	expect_bad_track("ns/name@origin/main/x", "a path is not allowed");
	expect_bad_track("ns/name@origin/.x", "name starts with");
}

static void test_names_refspec_plain(void **state)
{
	(void)state;
	expect_ref("ns/name", false, &(struct rs){ "ns", "name", "", false, 0,
						   0, "" });
	expect_ref("ns/name", true, &(struct rs){ "ns", "name", "", false, 0,
						  0, "" });
	/* A trailing slash is no path. */
	expect_ref("ns/name/", false, &(struct rs){ "ns", "name", "", false,
						    0, 0, "" });
}

static void test_names_refspec_rev_forms(void **state)
{
	(void)state;
	expect_ref("ns/name@v1", false,
		   &(struct rs){ "ns", "name", "v1", false, 0, 0, "" });
	expect_ref("ns/name@main~2", false,
		   &(struct rs){ "ns", "name", "main", false, 0, 2, "" });
	/* '~' alone is one step back. */
	expect_ref("ns/name@main~", false,
		   &(struct rs){ "ns", "name", "main", false, 0, 1, "" });
	expect_ref("ns/name@main~0", false,
		   &(struct rs){ "ns", "name", "main", false, 0, 0, "" });
	expect_ref("ns/name@3f9c2a1b", false,
		   &(struct rs){ "ns", "name", "3f9c2a1b", false, 0, 0, "" });
}

static void test_names_refspec_date_forms(void **state)
{
	(void)state;
	expect_ref("ns/name@{2024-03-01}", false,
		   &(struct rs){ "ns", "name", "", true, MAR1, 0, "" });
	expect_ref("ns/name@{2024-03-01T10:00:00Z}", false,
		   &(struct rs){ "ns", "name", "", true, MAR1 + 36000, 0, "" });
	expect_ref("ns/name@main@{2024-03-01 12:00:05+02:00}", false,
		   &(struct rs){ "ns", "name", "main", true,
				 INT64_C(1709287205), 0, "" });
	expect_ref("ns/name@{2024-03-01}~3", false,
		   &(struct rs){ "ns", "name", "", true, MAR1, 3, "" });
	expect_ref("ns/name@dev@{2024-03-01}~", false,
		   &(struct rs){ "ns", "name", "dev", true, MAR1, 1, "" });
}

static void test_names_refspec_path_is_normalised(void **state)
{
	(void)state;
	expect_ref("ns/name@3f9c2a1b/a/b.txt", true,
		   &(struct rs){ "ns", "name", "3f9c2a1b", false, 0, 0,
				 "a/b.txt" });
	expect_ref("ns/name/a//b/", true,
		   &(struct rs){ "ns", "name", "", false, 0, 0, "a/b" });
	expect_ref("ns/name@v1//x///y.bin", true,
		   &(struct rs){ "ns", "name", "v1", false, 0, 0, "x/y.bin" });
	expect_ref("ns/name@main~2/dir/", true,
		   &(struct rs){ "ns", "name", "main", false, 0, 2, "dir" });
	expect_ref("ns/name@{2024-03-01}/f", true,
		   &(struct rs){ "ns", "name", "", true, MAR1, 0, "f" });
	/* Path parts are file names, not ref names: '.x', '@' are fine. */
	expect_ref("ns/name/.hidden/a@b", true,
		   &(struct rs){ "ns", "name", "", false, 0, 0,
				 ".hidden/a@b" });
	expect_ref("ns/name/...", true,
		   &(struct rs){ "ns", "name", "", false, 0, 0, "..." });
}

static void test_names_refspec_rejects_dot_path_parts(void **state)
{
	(void)state;
	expect_bad_ref("ns/name/a/../b", true, "'.' and '..'");
	expect_bad_ref("ns/name/..", true, "'.' and '..'");
	expect_bad_ref("ns/name/./a", true, "'.' and '..'");
	expect_bad_ref("ns/name@v1/a/.", true, "'.' and '..'");
}

static void test_names_refspec_rejects_path_when_not_allowed(void **state)
{
	(void)state;
	expect_bad_ref("ns/name/a", false, "path is not allowed");
	expect_bad_ref("ns/name@v1/a/b", false, "path is not allowed");
	expect_bad_ref("ns/name//a", false, "path is not allowed");
}

static void test_names_refspec_rejects_malformed(void **state)
{
	(void)state;
	expect_bad_ref("ns", false, "<namespace>/<name>");
	expect_bad_ref("", false, "<namespace>/<name>");
	expect_bad_ref("/name", false, "empty name");
	expect_bad_ref("ns/", false, "empty name");
	expect_bad_ref("ns/@v1", false, "empty name");
	expect_bad_ref("ns/name@", false, "'@' must be followed by a ref");
	expect_bad_ref("ns/name@~", false, "empty name");
	expect_bad_ref("ns/name@/a", true, "'@' must be followed by a ref");
	expect_bad_ref("ns/name@{bad}", false, "bad date");
	expect_bad_ref("ns/name@{2024-02-30}", false, "bad date");
	expect_bad_ref("ns/name@{2024-03-01", false, "without a closing");
	expect_bad_ref("ns/name@{}", false, "bad date");
	expect_bad_ref("ns/name@v1~x", false, "'~' must be followed");
	expect_bad_ref("ns/name@v1~2x", false, "'~' must be followed");
	expect_bad_ref("ns/name@v1~-1", false, "'~' must be followed");
	expect_bad_ref("ns/name@v1~99999999999999999999", false,
		       "out of range");
	expect_bad_ref("ns/name@v1~1000001", false, "out of range");
	expect_bad_ref("ns/name@v1@v2", false, "only '@{date}'");
	expect_bad_ref("ns/name@v1@", false, "only '@{date}'");
	expect_bad_ref("ns/name@{2024-03-01}x", false, "unexpected");
	expect_bad_ref("ns/name@{2024-03-01}@{2024-03-02}", false,
		       "unexpected");
	expect_bad_ref("ns/name@v1@{2024-03-01}@{2024-03-02}", false,
		       "unexpected");
	expect_bad_ref(".ns/name", false, "starts with");
	expect_bad_ref("ns/-name", false, "starts with");
	expect_bad_ref("ns/na me", false, "outside");
	expect_bad_ref("ns/name@v 1", false, "outside");
	expect_bad_ref("ns/name@.v1", false, "starts with");
	expect_bad_ref("n~s/name", false, "outside");
	expect_bad_ref("ns/na{me", false, "outside");
}

static void test_names_refspec_rejects_long_names(void **state)
{
	char s[300];

	(void)state;
	memset(s, 'a', 200);
	strcpy(s + 200, "/name");
	expect_bad_ref(s, false, "longer than 128");
	memcpy(s, "ns/", 3);
	memset(s + 3, 'b', 200);
	s[203] = '\0';
	expect_bad_ref(s, false, "longer than 128");
	memcpy(s, "ns/name@", 8);
	memset(s + 8, 'c', 129);
	s[137] = '\0';
	expect_bad_ref(s, false, "longer than 128");
}

static void expect_date(const char *s, int64_t want)
{
	int64_t got = -1;

	assert_int_equal(mlfs_parse_date(s, &got), 0);
	assert_int_equal(got, want);
}

static void test_names_parse_date_exact_epochs(void **state)
{
	(void)state;
	expect_date("1970-01-01", 0);
	expect_date("1970-01-01T00:00:01Z", 1);
	expect_date("2024-03-01", MAR1);
	expect_date("2024-03-01T12:00", MAR1 + 43200);
	expect_date("2024-03-01 12:00:05Z", MAR1 + 43205);
	expect_date("2024-03-01T12:00:05+02:00", MAR1 + 43205 - 7200);
	expect_date("2024-03-01T12:00:05-0130", MAR1 + 43205 + 5400);
	expect_date("2024-03-01T12:00:05.123Z", MAR1 + 43205);
	expect_date("2024-02-29", MAR1 - 86400);     /* leap day */
	expect_date("2000-02-29", INT64_C(951782400));
	expect_date("2038-01-19T03:14:08Z", INT64_C(2147483648));
	expect_date("1969-12-31T23:59:59Z", -1);
	expect_date("2024-12-31T23:59:59Z", INT64_C(1735689599));
}

static void test_names_parse_date_rejects_bad_dates(void **state)
{
	static const char *const bad[] = {
		"", "2024", "2024-03", "2024-3-01", "24-03-01", "2024-03-1",
		"2024-00-01", "2024-13-01", "2024-01-00", "2024-01-32",
		"2024-02-30", "2023-02-29", "2024-04-31", "2024-03-01T",
		"2024-03-01T12", "2024-03-01T24:00", "2024-03-01T12:60",
		"2024-03-01T12:00:61", "2024-03-01T12:00:00.", "2024-03-01Z",
		"2024-03-01T12:00+2", "2024-03-01T12:00+24:00",
		"2024-03-01T12:00+02:60", "2024-03-01T12:00:00ZZ",
		"2024-03-01x", "2024/03/01", " 2024-03-01", "2024-03-01 ",
		"bad",
	};
	int64_t out = 12345;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++) {
		out = 12345;
		assert_int_equal(mlfs_parse_date(bad[i], &out), -EINVAL);
		assert_int_equal(out, 12345);
	}
}

static void test_names_is_hex_prefix(void **state)
{
	char s34[34];

	(void)state;
	assert_false(mlfs_is_hex_prefix(""));
	assert_false(mlfs_is_hex_prefix("3f9c2a1"));          /* 7 */
	assert_true(mlfs_is_hex_prefix("3f9c2a1b"));          /* 8 */
	assert_true(mlfs_is_hex_prefix("3F9C2A1B"));
	/* 32 */
	assert_true(mlfs_is_hex_prefix("0123456789abcdefABCDEF0123456789"));
	memset(s34, 'a', 33);
	s34[33] = '\0';
	assert_false(mlfs_is_hex_prefix(s34));               /* 33 */
	assert_false(mlfs_is_hex_prefix("3f9c2a1g"));
	assert_false(mlfs_is_hex_prefix("3f9c2a1b "));
	assert_false(mlfs_is_hex_prefix("v1234567"));
	assert_false(mlfs_is_hex_prefix("0x9c2a1b"));
	assert_true(mlfs_is_full_id("0123456789abcdefABCDEF0123456789"));
	assert_false(mlfs_is_full_id("0123456789abcdefABCDEF012345678"));
	assert_false(mlfs_is_full_id("0123456789abcdefABCDEF012345678g"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_valid_names_pass),
		cmocka_unit_test(test_names_bad_names_are_einval_with_reason),
		cmocka_unit_test(test_names_refspec_plain),
		cmocka_unit_test(test_names_refspec_rev_forms),
		cmocka_unit_test(test_names_refspec_date_forms),
		cmocka_unit_test(test_names_refspec_path_is_normalised),
		cmocka_unit_test(test_names_refspec_rejects_dot_path_parts),
		cmocka_unit_test(test_names_refspec_rejects_path_when_not_allowed),
		cmocka_unit_test(test_names_refspec_rejects_malformed),
		cmocka_unit_test(test_names_refspec_rejects_long_names),
		cmocka_unit_test(test_names_refspec_remote_tracking),
		cmocka_unit_test(test_names_parse_date_exact_epochs),
		cmocka_unit_test(test_names_parse_date_rejects_bad_dates),
		cmocka_unit_test(test_names_is_hex_prefix),
		cmocka_unit_test(test_names_ref_name_is_no_commit_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
