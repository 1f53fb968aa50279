/*
 * test_config.c - the store config parser and writer: round trip, every
 * malformed line refused with -EBADMSG, a newer format -EPROTONOSUPPORT,
 * and input that is not NUL-terminated (each parse gets an exact-size
 * heap copy, so a read past the length is an ASan error).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mlfs/config.h"

static void sample(struct mlfs_store_config *c)
{
	memset(c, 0, sizeof(*c));
	c->format = MLFS_FORMAT_VERSION;
	c->chunk.min = 1024;
	c->chunk.avg = 4096;
	c->chunk.max = 16384;
	c->zstd_level = 7;
	for (size_t i = 0; i < MLFS_HASH_KEY_LEN; i++)
		c->key.secret[i] = (uint8_t)(i * 37u + 11u);
}

/* Parse @len bytes of @text from an exact-size copy without a NUL. */
static int parse_n(const char *text, size_t len,
		   struct mlfs_store_config *out)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, len);
	r = mlfs_config_parse(copy, len, out);
	free(copy);
	return r;
}

static int parse(const char *text, struct mlfs_store_config *out)
{
	return parse_n(text, strlen(text), out);
}

/* The sample config's text with the line starting @key replaced by
 * @line (dropped when NULL); caller frees. */
static char *edited(const char *key, const char *line)
{
	struct mlfs_store_config c;
	char text[1024], *out, *p;

	sample(&c);
	assert_true(mlfs_config_format(&c, text, sizeof(text)) > 0);
	out = calloc(1, sizeof(text) + (line ? strlen(line) : 0) + 2);
	assert_non_null(out);
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (!strncmp(p, key, strlen(key))) {
			if (line) {
				strcat(out, line);
				strcat(out, "\n");
			}
		} else {
			strncat(out, p, n);
		}
		p += n;
	}
	return out;
}

static void test_config_format_then_parse_round_trips(void **state)
{
	struct mlfs_store_config c, got;
	char text[1024];
	int n;

	(void)state;
	sample(&c);
	n = mlfs_config_format(&c, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(text));
	memset(&got, 0xee, sizeof(got));
	assert_int_equal(parse_n(text, (size_t)n, &got), 0);
	assert_int_equal(got.format, MLFS_FORMAT_VERSION);
	assert_int_equal(got.chunk.min, 1024);
	assert_int_equal(got.chunk.avg, 4096);
	assert_int_equal(got.chunk.max, 16384);
	assert_int_equal(got.zstd_level, 7);
	assert_memory_equal(got.key.secret, c.key.secret, MLFS_HASH_KEY_LEN);
}

static void test_config_format_small_buffer_is_enobufs(void **state)
{
	struct mlfs_store_config c;
	char text[100];

	(void)state;
	sample(&c);
	assert_int_equal(mlfs_config_format(&c, text, sizeof(text)), -ENOBUFS);
}

static void test_config_parse_accepts_crlf_blanks_comments_unknown(void **state)
{
	struct mlfs_store_config c, got;
	char hex[2 * MLFS_HASH_KEY_LEN + 1], *in;

	(void)state;
	sample(&c);
	for (int i = 0; i < MLFS_HASH_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02X", c.key.secret[i]);
	/* Upper-case hex, CRLF, tabs, blank lines, an unknown key, and no
	 * newline after the last line. */
	assert_true(asprintf(&in, "\r\n# comment = not a key\r\n\t\r\n"
			     "format\t=\t1\r\n  chunk_min=1024  \r\n"
			     "chunk_avg = 4096\nchunk_max = 16384\n"
			     "later_setting = whatever\n"
			     "zstd_level = 7\nhash = xxh3-128-keyed\n"
			     "hash_key = %s", hex) > 0);
	assert_int_equal(parse(in, &got), 0);
	assert_int_equal(got.zstd_level, 7);
	assert_memory_equal(got.key.secret, c.key.secret, MLFS_HASH_KEY_LEN);
	free(in);
}

static void test_config_parse_damage_is_ebadmsg(void **state)
{
	static const struct {
		const char *key, *line;
	} damage[] = {
		{ "format", "format = one" },
		{ "format", "format = " },
		{ "format", "format = 1x" },
		{ "format", "format = -1" },
		{ "format", "format = +1" },
		{ "format", "format = 0" },
		{ "format", "format = 99999999999" },
		{ "format", "format = 4294967296" },
		{ "format", NULL },
		{ "format", "format = 1\nformat = 1" },
		{ "chunk_avg", "chunk_avg = 3000" },
		{ "chunk_min", "chunk_min = 1000000" },
		{ "chunk_max", NULL },
		{ "zstd_level", "zstd_level = 0" },
		{ "zstd_level", "zstd_level = 20" },
		{ "zstd_level", "zstd_level = 4294967295" },
		{ "hash =", "hash = sha256" },
		{ "hash =", "hash = xxh3-128-keyedX" },
		{ "hash_key", "hash_key = 00ff" },
		{ "hash_key", NULL },
		{ "format", "this line has no equals sign" },
		{ "format", "= 1" },
	};
	struct mlfs_store_config got;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(damage); i++) {
		char *t = edited(damage[i].key, damage[i].line);

		memset(&got, 0xee, sizeof(got));
		if (parse(t, &got) != -EBADMSG)
			fail_msg("damage %zu ('%s') not refused", i,
				 damage[i].line ? damage[i].line : "(drop)");
		/* @out is written only on success. */
		assert_int_equal(got.format, 0xeeeeeeeeu);
		free(t);
	}
}

static void test_config_parse_hash_line_is_optional(void **state)
{
	char *t = edited("hash =", NULL);
	struct mlfs_store_config got;

	(void)state;
	assert_null(strstr(t, "hash = "));
	assert_int_equal(parse(t, &got), 0);
	free(t);
}

static void test_config_parse_bad_key_hex_is_ebadmsg(void **state)
{
	char *t = edited("zzz", NULL), *k = strstr(t, "hash_key = ");
	struct mlfs_store_config got;

	(void)state;
	assert_non_null(k);
	k[11 + 101] = 'g';
	assert_int_equal(parse(t, &got), -EBADMSG);
	k[11 + 101] = ' ';
	assert_int_equal(parse(t, &got), -EBADMSG);
	free(t);
}

static void test_config_parse_nul_byte_is_ebadmsg(void **state)
{
	char *t = edited("zzz", NULL);
	size_t len = strlen(t);
	struct mlfs_store_config got;

	(void)state;
	assert_int_equal(parse_n(t, len, &got), 0);
	/* A NUL inside a comment still makes it not a text file of ours. */
	t[3] = '\0';
	assert_int_equal(parse_n(t, len, &got), -EBADMSG);
	free(t);
}

static void test_config_parse_reads_only_len_bytes(void **state)
{
	char *t = edited("zzz", NULL);
	size_t len = strlen(t);
	struct mlfs_store_config got;

	(void)state;
	/* Cut inside the hash key: too short a key. */
	assert_int_equal(parse_n(t, len - 2, &got), -EBADMSG);
	/* Cut before the hash key: a missing key. */
	assert_int_equal(parse_n(t, (size_t)(strstr(t, "hash_key") - t), &got),
			 -EBADMSG);
	/* Cut after the last newline's '\n' is gone: still whole. */
	assert_int_equal(parse_n(t, len - 1, &got), 0);
	assert_int_equal(parse_n(t, 0, &got), -EBADMSG);
	assert_int_equal(mlfs_config_parse(NULL, 0, &got), -EBADMSG);
	free(t);
}

static void test_config_parse_over_max_is_ebadmsg(void **state)
{
	char *t = edited("zzz", NULL), *big;
	size_t len = strlen(t);
	struct mlfs_store_config got;

	(void)state;
	/* The same config padded with comments to the limit, then past. */
	big = malloc(MLFS_CONFIG_MAX + 1);
	assert_non_null(big);
	memset(big, '\n', MLFS_CONFIG_MAX + 1);
	big[0] = '#';
	memcpy(big + MLFS_CONFIG_MAX - len, t, len);
	assert_int_equal(parse_n(big, MLFS_CONFIG_MAX, &got), 0);
	memmove(big + 1, big, MLFS_CONFIG_MAX);
	assert_int_equal(parse_n(big, MLFS_CONFIG_MAX + 1, &got), -EBADMSG);
	free(big);
	free(t);
}

static void test_config_parse_newer_format_is_eprotonosupport(void **state)
{
	struct mlfs_store_config got;
	char *t = edited("format", "format = 2");

	(void)state;
	assert_int_equal(parse(t, &got), -EPROTONOSUPPORT);
	free(t);
	/* Said even when the rest is in a grammar this mlfs does not know. */
	assert_int_equal(parse("format = 999\nnew grammar here\n", &got),
			 -EPROTONOSUPPORT);
	assert_int_equal(parse("format = 1\nnew grammar here\n", &got),
			 -EBADMSG);
}

static void test_config_write_then_read_round_trips(void **state)
{
	char dir[] = "/tmp/mlfs-test-config-XXXXXX", path[PATH_MAX];
	struct mlfs_store_config c, got;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	sample(&c);
	assert_int_equal(mlfs_config_read(dir, &got), -ENOENT);
	assert_int_equal(mlfs_config_write(dir, &c, 0600), 0);
	snprintf(path, sizeof(path), "%s/config", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mlfs_config_read(dir, &got), 0);
	assert_memory_equal(got.key.secret, c.key.secret, MLFS_HASH_KEY_LEN);
	/* A file past MLFS_CONFIG_MAX is not a config. */
	f = fopen(path, "a");
	assert_non_null(f);
	for (unsigned i = 0; i < MLFS_CONFIG_MAX / 8; i++)
		fputs("# pad  \n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(mlfs_config_read(dir, &got), -EBADMSG);
	assert_int_equal(unlink(path), 0);
	/* A directory named config is not a config either. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mlfs_config_read(dir, &got), -EBADMSG);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_format_then_parse_round_trips),
		cmocka_unit_test(test_config_format_small_buffer_is_enobufs),
		cmocka_unit_test(
			test_config_parse_accepts_crlf_blanks_comments_unknown),
		cmocka_unit_test(test_config_parse_damage_is_ebadmsg),
		cmocka_unit_test(test_config_parse_hash_line_is_optional),
		cmocka_unit_test(test_config_parse_bad_key_hex_is_ebadmsg),
		cmocka_unit_test(test_config_parse_nul_byte_is_ebadmsg),
		cmocka_unit_test(test_config_parse_reads_only_len_bytes),
		cmocka_unit_test(test_config_parse_over_max_is_ebadmsg),
		cmocka_unit_test(
			test_config_parse_newer_format_is_eprotonosupport),
		cmocka_unit_test(test_config_write_then_read_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
