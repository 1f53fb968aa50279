/*
 * test_s3.c - the S3 client's two parsers of untrusted input: the
 * ~/.aws/credentials INI reader and the ListObjectsV2 page reader. Every
 * parse gets an exact-size heap copy without a NUL, so a read past the
 * length is an ASan error. (The requests themselves are tested against a
 * real RGW by tests/s3_client.sh.)
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

#include "mlfs/s3.h"

static int creds(const char *text, const char *profile,
		 struct mlfs_s3_creds *out)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, text, len);
	r = mlfs_s3_creds_parse(copy, len, profile, out);
	free(copy);
	return r;
}

static void test_creds_profiles(void **state)
{
	struct mlfs_s3_creds c;
	const char *ini = "# comment\n"
			  "; other comment\n"
			  "[default]\n"
			  "aws_access_key_id = AKDEF\n"
			  "aws_secret_access_key = sdef\n"
			  "\n"
			  "  [ ml ]  \r\n"
			  "aws_access_key_id=AKML\r\n"
			  "\taws_secret_access_key =  s=ml \t\r\n"
			  "aws_session_token = tok\n"
			  "region = eu-west-1\n"
			  "[default]\n"
			  "aws_secret_access_key = sdef2";

	(void)state;
	assert_int_equal(creds(ini, "default", &c), 0);
	assert_string_equal(c.access_key, "AKDEF");
	/* A repeated section continues it; the last value wins. */
	assert_string_equal(c.secret_key, "sdef2");
	assert_null(c.session_token);
	mlfs_s3_creds_free(&c);
	assert_int_equal(creds(ini, "ml", &c), 0);
	assert_string_equal(c.access_key, "AKML");
	assert_string_equal(c.secret_key, "s=ml");
	assert_string_equal(c.session_token, "tok");
	mlfs_s3_creds_free(&c);
}

static void test_creds_errors(void **state)
{
	struct mlfs_s3_creds c;

	(void)state;
	assert_int_equal(creds("[a]\naws_access_key_id=x\n"
			       "aws_secret_access_key=y\n", "b", &c), -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "'b' not found"));
	assert_null(c.access_key);
	assert_int_equal(creds("[a]\naws_access_key_id=x\n", "a", &c), -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "lacks"));
	assert_int_equal(creds("[a]\naws_access_key_id=\n"
			       "aws_secret_access_key=y\n", "a", &c), -ENOENT);
	assert_int_equal(creds("[a]\nno equals sign\n", "a", &c), -EBADMSG);
	assert_non_null(strstr(mlfs_error_detail(), "line 2"));
	assert_null(c.secret_key);
	assert_int_equal(creds("[a\n", "a", &c), -EBADMSG);
	assert_int_equal(creds("[]\n", "a", &c), -EBADMSG);
	assert_int_equal(creds("", "default", &c), -ENOENT);
}

struct seen {
	char keys[8][64];
	uint64_t sizes[8];
	char etags[8][MLFS_S3_ETAG_MAX];
	int n;
	int stop_at; /* -1: never */
};

static int collect(void *ctx, const char *key, uint64_t size,
		   const char *etag)
{
	struct seen *s = ctx;

	if (s->n == s->stop_at)
		return 42;
	if (s->n < 8) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
		s->sizes[s->n] = size;
		snprintf(s->etags[s->n], sizeof(s->etags[0]), "%s", etag);
	}
	s->n++;
	return 0;
}

static int list(const char *xml, const char *strip, struct seen *s,
		char **next)
{
	size_t len = strlen(xml);
	char *copy = malloc(len ? len : 1);
	int r;

	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
	memcpy(copy, xml, len);
	r = mlfs_s3_list_parse(copy, len, strip, collect, s, next);
	free(copy);
	return r;
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult " \
	     "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

static void test_list_page(void **state)
{
	struct seen s;
	char *next;

	(void)state;
	assert_int_equal(list(HEAD "<Name>b</Name><Prefix>p/</Prefix>"
			      "<KeyCount>2</KeyCount><IsTruncated>true"
			      "</IsTruncated><Contents><Key>p/a&amp;b &lt;"
			      "&#x263A;&#65;</Key><LastModified>x"
			      "</LastModified><ETag>&quot;abc&quot;</ETag>"
			      "<Size>12</Size></Contents><Contents><Key>p/z"
			      "</Key><Size>18446744073709551615</Size><ETag>"
			      "\"d-2\"</ETag></Contents><NextContinuationToken>"
			      "t+/=&amp;1</NextContinuationToken>"
			      "</ListBucketResult>", "p/", &s, &next), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "a&b <\xe2\x98\xba" "A");
	assert_int_equal(s.sizes[0], 12);
	assert_string_equal(s.etags[0], "abc");
	assert_string_equal(s.keys[1], "z");
	assert_true(s.sizes[1] == UINT64_MAX);
	assert_string_equal(s.etags[1], "d-2");
	assert_string_equal(next, "t+/=&1");
	free(next);

	/* The last page: no token; an empty page. */
	assert_int_equal(list(HEAD "<IsTruncated>false</IsTruncated>"
			      "<Contents><Key>k</Key><Size>0</Size>"
			      "</Contents></ListBucketResult>", "", &s, &next),
			 0);
	assert_int_equal(s.n, 1);
	assert_null(next);
	assert_int_equal(list(HEAD "</ListBucketResult>", NULL, &s, &next), 0);
	assert_int_equal(s.n, 0);
}

static void test_list_errors(void **state)
{
	struct seen s;
	char *next;

	(void)state;
	/* An error document, not a listing. */
	assert_int_equal(list("<Error><Code>NoSuchBucket</Code></Error>", "",
			      &s, &next), -EBADMSG);
	/* Truncated without a token: would list forever or stop early. */
	assert_int_equal(list(HEAD "<IsTruncated>true</IsTruncated>"
			      "</ListBucketResult>", "", &s, &next), -EBADMSG);
	assert_null(next);
	assert_int_equal(list(HEAD "<IsTruncated>true</IsTruncated>"
			      "<NextContinuationToken></NextContinuationToken>",
			      "", &s, &next), -EBADMSG);
	assert_null(next);
	/* Contents without Key or Size, with a bad Size, unclosed. */
	const char *bad[] = {
		"<Contents><Size>1</Size></Contents>",
		"<Contents><Key>k</Key></Contents>",
		"<Contents><Key>k</Key><Size>1x</Size></Contents>",
		"<Contents><Key>k</Key><Size></Size></Contents>",
		"<Contents><Key>k</Key><Size>18446744073709551616</Size></Contents>",
		"<Contents><Key>k&bogus;</Key><Size>1</Size></Contents>",
		"<Contents><Key>k&#0;</Key><Size>1</Size></Contents>",
		"<Contents><Key>k&#xD800;</Key><Size>1</Size></Contents>",
		"<Contents><Key>k&#x110000;</Key><Size>1</Size></Contents>",
		"<Contents><Key>k&amp</Key><Size>1</Size></Contents>",
		"<Contents><Key>k",
		"<Contents><Key>q/k</Key><Size>1</Size></Contents>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char xml[512];
		snprintf(xml, sizeof(xml), "%s%s</ListBucketResult>", HEAD,
			 bad[i]);
		assert_int_equal(list(xml, "p/", &s, &next), -EBADMSG);
		assert_int_equal(s.n, 0);
	}
	/* The callback's value stops the listing. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	const char *two = HEAD "<Contents><Key>a</Key><Size>1</Size></Contents>"
			  "<Contents><Key>b</Key><Size>1</Size></Contents>"
			  "</ListBucketResult>";
	assert_int_equal(mlfs_s3_list_parse(two, strlen(two), "", collect, &s,
					    &next), 42);
	assert_int_equal(s.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_profiles),
		cmocka_unit_test(test_creds_errors),
		cmocka_unit_test(test_list_page),
		cmocka_unit_test(test_list_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
