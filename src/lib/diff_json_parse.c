/*
 * diff_json_parse.c - the JSON parser for hostile input. A document is its
 * text, with each string decoded in place (a decoded string is never
 * longer than its literal), and a tape of 32-bit words, one per value
 * (two for a container or a string holding NUL bytes) in document order,
 * so memory is the text plus at most 4 bytes per input byte. Depth is
 * limited; nothing is allocated in proportion to anything but the input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/diff.h"

/*
 * Tape word: tag in the low 4 bits, payload above (28 bits, which is why
 * MLFS_JSON_MAX is 255 MiB). Scalars: payload = offset in the text of the
 * literal (NUMBER) or of the decoded, NUL-terminated string (STRING, KEY;
 * the _LEN forms are for strings
 * with NUL bytes: a LENGTH word follows). ARRAY, OBJECT: payload = number
 * of children, then an END word whose payload is the tape index just
 * past the container. An object member is a KEY word followed by its
 * value. Tags 0-6 are enum mlfs_json_type; every word is tagged, so only
 * a key's words carry a key's tag.
 */
#define TAG_KEY 7u
#define TAG_STRING_LEN 8u
#define TAG_KEY_LEN 9u
#define TAG_LENGTH 10u /* the word after a _LEN string */
#define TAG_END 11u    /* a container's second word */
#define TAG(w) ((w) & 15u)
#define PAYLOAD(w) ((w) >> 4)

struct mlfs_json {
	char *text;      /* NUL-terminated at len */
	size_t len;
	uint32_t *tape;
	uint32_t n, cap; /* words used, allocated */
};

struct jp {
	struct mlfs_json *d;
	char *p, *end, *start;
	unsigned depth;
	char *err;
	size_t errlen;
};

static int jp_fail(struct jp *j, const char *what)
{
	if (j->err && j->errlen)
		snprintf(j->err, j->errlen, "%s at byte %zu", what,
			 (size_t)(j->p - j->start));
	return -EBADMSG;
}

static void jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Append one word. A complete value takes at least as many bytes as
 * words, and an unfinished one at most two words ahead per open
 * container, so growth stops at len + 2 * depth limit + 2 words and every
 * index fits a payload. */
static int put(struct jp *j, uint32_t w)
{
	struct mlfs_json *d = j->d;

	if (d->n == d->cap) {
		size_t max = d->len + 2 * MLFS_JSON_DEPTH_MAX + 2;
		size_t nc = d->cap ? (size_t)d->cap * 2 : 1024;
		uint32_t *nt;

		if (nc > max)
			nc = max;
		if (nc <= d->cap)
			return -EOVERFLOW; /* cannot happen, see above */
		nt = realloc(d->tape, nc * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		d->tape = nt;
		d->cap = (uint32_t)nc;
	}
	d->tape[d->n++] = w;
	return 0;
}

static uint32_t word(unsigned tag, size_t payload)
{
	return (uint32_t)(payload << 4) | tag;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *d, unsigned u)
{
	if (u < 0x80) {
		*d++ = (char)u;
	} else if (u < 0x800) {
		*d++ = (char)(0xc0 | u >> 6);
		*d++ = (char)(0x80 | (u & 0x3f));
	} else if (u < 0x10000) {
		*d++ = (char)(0xe0 | u >> 12);
		*d++ = (char)(0x80 | ((u >> 6) & 0x3f));
		*d++ = (char)(0x80 | (u & 0x3f));
	} else {
		*d++ = (char)(0xf0 | u >> 18);
		*d++ = (char)(0x80 | ((u >> 12) & 0x3f));
		*d++ = (char)(0x80 | ((u >> 6) & 0x3f));
		*d++ = (char)(0x80 | (u & 0x3f));
	}
	return d;
}

/* Decode the string literal at j->p (its opening quote) in place, just
 * after the quote, NUL-terminated; put its word (@key: as a key). The
 * writer never overtakes the reader: \uXXXX is 6 bytes (12 for a pair)
 * and its UTF-8 at most 3 (4), every other escape 2 bytes for 1. */
static int jp_string(struct jp *j, bool key)
{
	char *d = j->p + 1, *s = d;
	size_t len;
	int r;

	j->p++;
	for (;;) {
		unsigned char c;
		unsigned u, lo;

		if (j->p >= j->end)
			return jp_fail(j, "unterminated string");
		c = (unsigned char)*j->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return jp_fail(j, "control character in string");
		if (c != '\\') {
			*d++ = (char)c;
			j->p++;
			continue;
		}
		if (j->end - j->p < 2)
			return jp_fail(j, "unterminated string");
		j->p++;
		switch (*j->p) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '/': *d++ = '/'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u':
			if (j->end - j->p < 5 || hex4(j->p + 1, &u) < 0)
				return jp_fail(j, "bad \\u escape");
			j->p += 4;
			if (u >= 0xd800 && u < 0xdc00) {
				if (j->end - j->p < 7 || j->p[1] != '\\' ||
				    j->p[2] != 'u' || hex4(j->p + 3, &lo) < 0 ||
				    lo < 0xdc00 || lo >= 0xe000)
					return jp_fail(j, "unpaired surrogate");
				j->p += 6;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (u >= 0xdc80 && u <= 0xdcff) {
				/* a byte that is not UTF-8, as the writer
				 * (and Python's surrogateescape) puts it */
				*d++ = (char)(u - 0xdc00);
				break;
			} else if (u >= 0xdc00 && u < 0xe000) {
				return jp_fail(j, "unpaired surrogate");
			}
			d = put_utf8(d, u);
			break;
		default:
			return jp_fail(j, "bad escape");
		}
		j->p++;
	}
	j->p++; /* past the closing quote, which @d has not passed */
	*d = 0;
	len = (size_t)(d - s);
	if (memchr(s, 0, len)) {
		r = put(j, word(key ? TAG_KEY_LEN : TAG_STRING_LEN,
				(size_t)(s - j->start)));
		return r < 0 ? r : put(j, word(TAG_LENGTH, len));
	}
	return put(j, word(key ? TAG_KEY : MLFS_JSON_STRING,
			   (size_t)(s - j->start)));
}

static bool digit(const struct jp *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static int jp_number(struct jp *j)
{
	size_t at = (size_t)(j->p - j->start);

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (!digit(j))
		return jp_fail(j, "bad number");
	if (*j->p == '0')
		j->p++;
	else
		while (digit(j))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digit(j))
			return jp_fail(j, "bad number");
		while (digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digit(j))
			return jp_fail(j, "bad number");
		while (digit(j))
			j->p++;
	}
	return put(j, word(MLFS_JSON_NUMBER, at));
}

static int jp_value(struct jp *j);

static int jp_container(struct jp *j, enum mlfs_json_type type)
{
	char close = type == MLFS_JSON_OBJECT ? '}' : ']';
	uint32_t at = j->d->n;
	size_t count = 0;
	int r;

	if (++j->depth > MLFS_JSON_DEPTH_MAX)
		return jp_fail(j, "nesting too deep");
	r = put(j, 0);
	if (r == 0)
		r = put(j, 0);
	if (r < 0)
		return r;
	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		goto done;
	}
	for (;;) {
		jp_ws(j);
		if (type == MLFS_JSON_OBJECT) {
			if (j->p >= j->end || *j->p != '"')
				return jp_fail(j, "expected a key");
			r = jp_string(j, true);
			if (r < 0)
				return r;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return jp_fail(j, "expected ':'");
			j->p++;
		}
		r = jp_value(j);
		if (r < 0)
			return r;
		count++;
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		return jp_fail(j, type == MLFS_JSON_OBJECT ?
			       "expected ',' or '}'" : "expected ',' or ']'");
	}
done:
	j->d->tape[at] = word(type, count);
	j->d->tape[at + 1] = word(TAG_END, j->d->n);
	j->depth--;
	return 0;
}

static int jp_value(struct jp *j)
{
	static const struct { const char *w; enum mlfs_json_type t; } lit[] = {
		{ "true", MLFS_JSON_TRUE },
		{ "false", MLFS_JSON_FALSE },
		{ "null", MLFS_JSON_NULL },
	};

	jp_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "unexpected end of input");
	switch (*j->p) {
	case '{':
		return jp_container(j, MLFS_JSON_OBJECT);
	case '[':
		return jp_container(j, MLFS_JSON_ARRAY);
	case '"':
		return jp_string(j, false);
	case 't': case 'f': case 'n':
		for (size_t i = 0; i < MLFS_ARRAY_SIZE(lit); i++) {
			size_t l = strlen(lit[i].w);

			if ((size_t)(j->end - j->p) >= l &&
			    !memcmp(j->p, lit[i].w, l)) {
				j->p += l;
				return put(j, word(lit[i].t, 0));
			}
		}
		return jp_fail(j, "unexpected character");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return jp_number(j);
		return jp_fail(j, "unexpected character");
	}
}

void mlfs_json_free(struct mlfs_json *j)
{
	if (!j)
		return;
	free(j->text);
	free(j->tape);
	free(j);
}

int mlfs_json_parse_buf(struct mlfs_buf *text, struct mlfs_json **out,
			char *err, size_t errlen)
{
	struct mlfs_json *d = NULL;
	struct jp j;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (text->len > MLFS_JSON_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%zu bytes of JSON, over the "
				 "%u-byte limit", text->len, MLFS_JSON_MAX);
		r = -E2BIG;
		goto out;
	}
	r = mlfs_buf_reserve(text, text->len + 1);
	if (r < 0)
		goto out;
	d = calloc(1, sizeof(*d));
	if (!d) {
		r = -ENOMEM;
		goto out;
	}
	d->text = (char *)text->data;
	d->len = text->len;
	d->text[d->len] = 0;
	*text = (struct mlfs_buf)MLFS_BUF_INIT;
	j = (struct jp){ d, d->text, d->text + d->len, d->text, 0, err,
			 errlen };
	/* A UTF-8 byte order mark is allowed before the value. */
	if (d->len >= 3 && !memcmp(d->text, "\xef\xbb\xbf", 3))
		j.p += 3;
	r = jp_value(&j);
	if (r < 0)
		goto out;
	jp_ws(&j);
	if (j.p != j.end) {
		r = jp_fail(&j, "trailing data after the value");
		goto out;
	}
	/* Give back what doubling over-allocated (a failure keeps it). */
	if (d->cap - d->n > d->n / 8) {
		uint32_t *nt = realloc(d->tape, (d->n ? d->n : 1) *
				       sizeof(*nt));

		if (nt) {
			d->tape = nt;
			d->cap = d->n;
		}
	}
	*out = d;
	d = NULL;
out:
	mlfs_json_free(d);
	mlfs_buf_release(text);
	return r;
}

size_t mlfs_json_size(const struct mlfs_json *j)
{
	return sizeof(*j) + j->len + 1 + (size_t)j->cap * sizeof(*j->tape);
}

int mlfs_json_parse(const char *p, size_t len, struct mlfs_json **out,
		    char *err, size_t errlen)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	*out = NULL;
	if (len <= MLFS_JSON_MAX) {
		int r = mlfs_buf_reserve(&b, len + 1);

		if (r < 0)
			return r;
		if (len)
			memcpy(b.data, p, len);
	}
	b.len = len; /* over the limit: parse_buf says so, reads nothing */
	return mlfs_json_parse_buf(&b, out, err, errlen);
}

/* ---- values ------------------------------------------------------------ */

struct mlfs_jv mlfs_json_root(const struct mlfs_json *j)
{
	return (struct mlfs_jv){ j, 0 };
}

static uint32_t wd(struct mlfs_jv v)
{
	return v.doc->tape[v.at];
}

enum mlfs_json_type mlfs_jv_type(struct mlfs_jv v)
{
	unsigned t;

	if (!v.doc)
		return MLFS_JSON_NULL;
	t = TAG(wd(v));
	return t == TAG_STRING_LEN ? MLFS_JSON_STRING :
	       (enum mlfs_json_type)t;
}

static bool container(struct mlfs_jv v)
{
	unsigned t = v.doc ? TAG(wd(v)) : 0;

	return t == MLFS_JSON_ARRAY || t == MLFS_JSON_OBJECT;
}

size_t mlfs_jv_count(struct mlfs_jv v)
{
	return container(v) ? PAYLOAD(wd(v)) : 0;
}

/* Words of the value or key at @at, children included. */
static uint32_t skip(const struct mlfs_json *d, uint32_t at)
{
	unsigned t = TAG(d->tape[at]);

	if (t == MLFS_JSON_ARRAY || t == MLFS_JSON_OBJECT)
		return PAYLOAD(d->tape[at + 1]);
	return at + (t == TAG_STRING_LEN || t == TAG_KEY_LEN ? 2 : 1);
}

/* @at is a child position: step over a member's key to its value. */
static struct mlfs_jv child_at(const struct mlfs_json *d, uint32_t at)
{
	if (at >= d->n)
		return (struct mlfs_jv){ NULL, 0 };
	if (TAG(d->tape[at]) == TAG_KEY || TAG(d->tape[at]) == TAG_KEY_LEN)
		at = skip(d, at);
	return (struct mlfs_jv){ d, at };
}

struct mlfs_jv mlfs_jv_first(struct mlfs_jv v)
{
	if (!mlfs_jv_count(v))
		return (struct mlfs_jv){ NULL, 0 };
	return child_at(v.doc, v.at + 2);
}

struct mlfs_jv mlfs_jv_next(struct mlfs_jv v)
{
	if (!v.doc)
		return v;
	return child_at(v.doc, skip(v.doc, v.at));
}

static const char *str_at(const struct mlfs_json *d, uint32_t at,
			  size_t *len)
{
	uint32_t w = d->tape[at];
	const char *s = d->text + PAYLOAD(w);

	*len = TAG(w) == TAG_STRING_LEN || TAG(w) == TAG_KEY_LEN ?
	       PAYLOAD(d->tape[at + 1]) : strlen(s);
	return s;
}

const char *mlfs_jv_key(struct mlfs_jv v, size_t *len)
{
	uint32_t k;

	*len = 0;
	if (!v.doc || v.at == 0)
		return NULL;
	/* The key is the word (or the two words) just before the value. */
	k = v.at - 1;
	if (TAG(v.doc->tape[k]) == TAG_LENGTH && v.at >= 2 &&
	    TAG(v.doc->tape[k - 1]) == TAG_KEY_LEN)
		k--;
	else if (TAG(v.doc->tape[k]) != TAG_KEY)
		return NULL; /* not an object member */
	return str_at(v.doc, k, len);
}

/* Length of the number literal at @s (validated by the parser). */
static size_t num_len(const char *s)
{
	size_t n = 0;

	while ((s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '+' ||
	       s[n] == '.' || s[n] == 'e' || s[n] == 'E')
		n++;
	return n;
}

const char *mlfs_jv_str(struct mlfs_jv v, size_t *len)
{
	unsigned t = v.doc ? TAG(wd(v)) : 0;

	*len = 0;
	if (t == MLFS_JSON_STRING || t == TAG_STRING_LEN)
		return str_at(v.doc, v.at, len);
	if (t == MLFS_JSON_NUMBER) {
		const char *s = v.doc->text + PAYLOAD(wd(v));

		*len = num_len(s);
		return s;
	}
	return NULL;
}

double mlfs_jv_num(struct mlfs_jv v)
{
	char buf[64], *copy = NULL;
	size_t len;
	const char *s;
	double x;

	if (mlfs_jv_type(v) != MLFS_JSON_NUMBER)
		return 0;
	s = mlfs_jv_str(v, &len);
	/* strtod needs the literal alone: what follows it in the text may
	 * be a digit of a decoded string. */
	if (len < sizeof(buf)) {
		memcpy(buf, s, len);
		buf[len] = 0;
		return strtod(buf, NULL);
	}
	copy = strndup(s, len);
	if (!copy)
		return 0;
	x = strtod(copy, NULL);
	free(copy);
	return x;
}

struct mlfs_jv mlfs_jv_get(struct mlfs_jv obj, const char *key)
{
	struct mlfs_jv found = { NULL, 0 }, c;
	size_t kl = strlen(key), n;

	if (mlfs_jv_type(obj) != MLFS_JSON_OBJECT)
		return found;
	n = mlfs_jv_count(obj);
	c = mlfs_jv_first(obj);
	/* Last duplicate wins, as in most parsers. */
	for (size_t i = 0; i < n; i++, c = mlfs_jv_next(c)) {
		size_t l;
		const char *k = mlfs_jv_key(c, &l);

		if (l == kl && !memcmp(k, key, kl))
			found = c;
	}
	return found;
}

struct mlfs_jv mlfs_jv_at(struct mlfs_jv arr, size_t i)
{
	struct mlfs_jv c;

	if (mlfs_jv_type(arr) != MLFS_JSON_ARRAY || i >= mlfs_jv_count(arr))
		return (struct mlfs_jv){ NULL, 0 };
	c = mlfs_jv_first(arr);
	while (i--)
		c = mlfs_jv_next(c);
	return c;
}
