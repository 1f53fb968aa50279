/*
 * config.c - reading and writing STORE/config (docs/format.md#config).
 * mlfs_config_parse() is a pure function of its bytes: it reads nothing
 * past the length it is given and assumes no NUL, so a damaged or hostile
 * file can only be refused. The file holds the hash key: it is written
 * 0600 (0640 for a shared store) and never made world-readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/config.h"

enum {
	K_FORMAT,
	K_CHUNK_MIN,
	K_CHUNK_AVG,
	K_CHUNK_MAX,
	K_ZSTD_LEVEL,
	K_HASH,
	K_HASH_KEY,
	K_COUNT,
};

static const char *const key_names[K_COUNT] = {
	[K_FORMAT] = "format",
	[K_CHUNK_MIN] = "chunk_min",
	[K_CHUNK_AVG] = "chunk_avg",
	[K_CHUNK_MAX] = "chunk_max",
	[K_ZSTD_LEVEL] = "zstd_level",
	[K_HASH] = "hash",
	[K_HASH_KEY] = "hash_key",
};

/* Every key but "hash", which may be left out (it has one value). */
#define REQUIRED (((1u << K_COUNT) - 1) & ~(1u << K_HASH))

static const char hash_name[] = "xxh3-128-keyed";

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* A span of the input: [p, p + n). */
struct span {
	const char *p;
	size_t n;
};

static bool span_is(struct span s, const char *word)
{
	size_t n = strlen(word);

	return s.n == n && !memcmp(s.p, word, n);
}

static struct span trim(const char *p, size_t n)
{
	while (n && is_blank(*p)) {
		p++;
		n--;
	}
	while (n && is_blank(p[n - 1]))
		n--;
	return (struct span){ p, n };
}

/* Decimal digits only: no sign, no blanks, at most UINT32_MAX. */
static int parse_u32(struct span v, uint32_t *out)
{
	uint64_t x = 0;

	if (!v.n)
		return -EBADMSG;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -EBADMSG;
		x = x * 10 + (uint64_t)(v.p[i] - '0');
		if (x > UINT32_MAX)
			return -EBADMSG;
	}
	*out = (uint32_t)x;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int parse_key(struct span v, struct mlfs_hash_key *key)
{
	if (v.n != 2 * MLFS_HASH_KEY_LEN)
		return -EBADMSG;
	for (size_t i = 0; i < MLFS_HASH_KEY_LEN; i++) {
		int hi = hex_digit(v.p[2 * i]), lo = hex_digit(v.p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		key->secret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_value(int k, struct span v, struct mlfs_store_config *c)
{
	uint32_t u = 0;
	int r;

	switch (k) {
	case K_FORMAT:
		return parse_u32(v, &c->format);
	case K_CHUNK_MIN:
		return parse_u32(v, &c->chunk.min);
	case K_CHUNK_AVG:
		return parse_u32(v, &c->chunk.avg);
	case K_CHUNK_MAX:
		return parse_u32(v, &c->chunk.max);
	case K_ZSTD_LEVEL:
		r = parse_u32(v, &u);
		if (r == 0 && (u < 1 || u > 19))
			r = -EBADMSG;
		c->zstd_level = (int)u;
		return r;
	case K_HASH:
		return span_is(v, hash_name) ? 0 : -EBADMSG;
	default:
		return parse_key(v, &c->key);
	}
}

/* One "key = value" line (without its '\n'). Blank and '#' lines have
 * been skipped. Sets bit k of *seen for a known key. */
static int parse_line(const char *p, size_t n, unsigned *seen,
		      struct mlfs_store_config *c)
{
	const char *eq = memchr(p, '=', n);
	struct span k, v;

	if (!eq)
		return -EBADMSG;
	k = trim(p, (size_t)(eq - p));
	v = trim(eq + 1, n - (size_t)(eq - p) - 1);
	for (int i = 0; i < K_COUNT; i++) {
		if (!span_is(k, key_names[i]))
			continue;
		if (*seen & (1u << i))
			return -EBADMSG; /* given twice: which one counts? */
		*seen |= 1u << i;
		return parse_value(i, v, c);
	}
	return 0;
}

int mlfs_config_parse(const char *text, size_t len,
		      struct mlfs_store_config *out)
{
	struct mlfs_store_config c = { 0 };
	const char *p = text, *end = text + len;
	unsigned seen = 0;
	int r = 0;

	if (len > MLFS_CONFIG_MAX || (len && memchr(text, '\0', len)))
		return -EBADMSG;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct span line = trim(p, n);

		if (line.n && line.p[0] != '#' && r == 0)
			r = parse_line(line.p, line.n, &seen, &c);
		p += n + (nl ? 1 : 0);
	}
	/* A newer format may change any other line, so it is told first. */
	if ((seen & (1u << K_FORMAT)) && c.format > MLFS_FORMAT_VERSION)
		return -EPROTONOSUPPORT;
	if (r < 0)
		return r;
	if ((seen & REQUIRED) != REQUIRED || c.format < 1 ||
	    mlfs_chunk_params_check(&c.chunk) < 0)
		return -EBADMSG;
	*out = c;
	return 0;
}

int mlfs_config_format(const struct mlfs_store_config *c, char *buf,
		       size_t size)
{
	char hex[2 * MLFS_HASH_KEY_LEN + 1];
	int n;

	for (int i = 0; i < MLFS_HASH_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", c->key.secret[i]);
	n = snprintf(buf, size,
		     "# mlfs store configuration (docs/format.md#config).\n"
		     "# Do not edit: chunking and the hash key decide every "
		     "object id.\n"
		     "format = %u\n"
		     "chunk_min = %u\n"
		     "chunk_avg = %u\n"
		     "chunk_max = %u\n"
		     "zstd_level = %d\n"
		     "hash = %s\n"
		     "hash_key = %s\n",
		     c->format, c->chunk.min, c->chunk.avg, c->chunk.max,
		     c->zstd_level, hash_name, hex);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return n;
}

int mlfs_config_read(const char *dir, struct mlfs_store_config *out)
{
	char path[PATH_MAX], *text = NULL;
	struct stat st;
	ssize_t got;
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/config", dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MLFS_CONFIG_MAX) {
		r = -EBADMSG;
		goto out;
	}
	/* One byte more than allowed, to see a file that grew past it. */
	text = malloc(MLFS_CONFIG_MAX + 1);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	got = mlfs_read_full(fd, text, MLFS_CONFIG_MAX + 1);
	if (got < 0) {
		r = (int)got;
		goto out;
	}
	if ((size_t)got > MLFS_CONFIG_MAX) {
		r = -EBADMSG;
		goto out;
	}
	r = mlfs_config_parse(text, (size_t)got, out);
out:
	free(text);
	close(fd);
	return r;
}

int mlfs_config_write(const char *dir, const struct mlfs_store_config *c,
		      mode_t mode)
{
	char path[PATH_MAX], text[1024];
	int n = mlfs_config_format(c, text, sizeof(text));

	if (n < 0)
		return n;
	if (snprintf(path, sizeof(path), "%s/config", dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return mlfs_write_file_atomic(path, text, (size_t)n, mode);
}
