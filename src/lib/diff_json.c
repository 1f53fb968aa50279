/*
 * diff_json.c - JSON for diffs: a small parser for hostile input (depth
 * limit, no allocation larger than the input), a writer used by every
 * content diff for its --json member, and the JSON content diff itself
 * (changed keys with old and new values, by path).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/diff.h"

/* ---- writer ------------------------------------------------------- */

static void jw_raw(struct mlfs_jw *w, const char *s, size_t len)
{
	if (w->err)
		return;
	w->err = mlfs_buf_append(w->b, s, len);
}

/* Comma before a value or key, unless it follows a key. */
static void jw_sep(struct mlfs_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth && w->need_comma[w->depth - 1])
		jw_raw(w, ",", 1);
	if (w->depth)
		w->need_comma[w->depth - 1] = true;
}

void mlfs_jw_init(struct mlfs_jw *w, struct mlfs_buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

static void jw_open(struct mlfs_jw *w, const char *c)
{
	jw_sep(w);
	jw_raw(w, c, 1);
	if (w->depth >= MLFS_ARRAY_SIZE(w->need_comma)) {
		w->err = -E2BIG;
		return;
	}
	w->need_comma[w->depth++] = false;
}

static void jw_close(struct mlfs_jw *w, const char *c)
{
	if (w->depth)
		w->depth--;
	jw_raw(w, c, 1);
}

void mlfs_jw_obj(struct mlfs_jw *w) { jw_open(w, "{"); }
void mlfs_jw_obj_end(struct mlfs_jw *w) { jw_close(w, "}"); }
void mlfs_jw_arr(struct mlfs_jw *w) { jw_open(w, "["); }
void mlfs_jw_arr_end(struct mlfs_jw *w) { jw_close(w, "]"); }

static void jw_quoted(struct mlfs_jw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char esc[8];

	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		size_t run = i;

		/* Copy runs of plain bytes at once. */
		while (run < len && (unsigned char)s[run] >= 0x20 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			jw_raw(w, s + i, run - i);
			i = run - 1;
			continue;
		}
		switch (ch) {
		case '"': jw_raw(w, "\\\"", 2); break;
		case '\\': jw_raw(w, "\\\\", 2); break;
		case '\n': jw_raw(w, "\\n", 2); break;
		case '\t': jw_raw(w, "\\t", 2); break;
		case '\r': jw_raw(w, "\\r", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			jw_raw(w, esc, 6);
		}
	}
	jw_raw(w, "\"", 1);
}

void mlfs_jw_key(struct mlfs_jw *w, const char *k)
{
	jw_sep(w);
	jw_quoted(w, k, strlen(k));
	jw_raw(w, ":", 1);
	w->after_key = true;
}

void mlfs_jw_strn(struct mlfs_jw *w, const char *s, size_t len)
{
	jw_sep(w);
	jw_quoted(w, s, len);
}

void mlfs_jw_str(struct mlfs_jw *w, const char *s)
{
	if (!s) {
		mlfs_jw_null(w);
		return;
	}
	mlfs_jw_strn(w, s, strlen(s));
}

static void jw_fmt(struct mlfs_jw *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void jw_fmt(struct mlfs_jw *w, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	jw_sep(w);
	if (n > 0)
		jw_raw(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		       sizeof(tmp) - 1);
}

void mlfs_jw_u64(struct mlfs_jw *w, uint64_t v) { jw_fmt(w, "%" PRIu64, v); }
void mlfs_jw_i64(struct mlfs_jw *w, int64_t v) { jw_fmt(w, "%" PRId64, v); }
void mlfs_jw_bool(struct mlfs_jw *w, bool v)
{
	jw_fmt(w, "%s", v ? "true" : "false");
}
void mlfs_jw_null(struct mlfs_jw *w) { jw_fmt(w, "null"); }

void mlfs_jw_f64(struct mlfs_jw *w, double v)
{
	if (!isfinite(v))
		mlfs_jw_null(w);
	else
		jw_fmt(w, "%.17g", v);
}

void mlfs_jw_value(struct mlfs_jw *w, const struct mlfs_json *v)
{
	switch (v->type) {
	case MLFS_JSON_NULL: mlfs_jw_null(w); break;
	case MLFS_JSON_FALSE: mlfs_jw_bool(w, false); break;
	case MLFS_JSON_TRUE: mlfs_jw_bool(w, true); break;
	case MLFS_JSON_NUMBER:
		jw_sep(w);
		jw_raw(w, v->str, v->len);
		break;
	case MLFS_JSON_STRING: mlfs_jw_strn(w, v->str, v->len); break;
	case MLFS_JSON_ARRAY:
		mlfs_jw_arr(w);
		for (size_t i = 0; i < v->n; i++)
			mlfs_jw_value(w, v->v[i]);
		mlfs_jw_arr_end(w);
		break;
	case MLFS_JSON_OBJECT:
		mlfs_jw_obj(w);
		for (size_t i = 0; i < v->n; i++) {
			jw_sep(w);
			jw_quoted(w, v->keys[i], v->key_lens[i]);
			jw_raw(w, ":", 1);
			w->after_key = true;
			mlfs_jw_value(w, v->v[i]);
		}
		mlfs_jw_obj_end(w);
		break;
	}
}

/* ---- parser ------------------------------------------------------- */

struct jp {
	const char *p, *end, *start;
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

void mlfs_json_free(struct mlfs_json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		mlfs_json_free(j->v[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->keys);
	free(j->key_lens);
	free(j->v);
	free(j->str);
	free(j);
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

/* Decode a string literal at j->p (the opening quote); the decoded form
 * is never longer than the literal, so one allocation of that size. */
static int jp_string(struct jp *j, char **out, size_t *outlen)
{
	const char *q = j->p + 1;
	char *s, *d;
	size_t cap;

	while (q < j->end && *q != '"') {
		if (*q == '\\' && q + 1 < j->end)
			q++;
		q++;
	}
	if (q >= j->end)
		return jp_fail(j, "unterminated string");
	cap = (size_t)(q - j->p);
	s = malloc(cap + 1);
	if (!s)
		return -ENOMEM;
	d = s;
	j->p++;
	while (*j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		unsigned u, lo;

		if (c < 0x20) {
			free(s);
			return jp_fail(j, "control character in string");
		}
		if (c != '\\') {
			*d++ = (char)c;
			j->p++;
			continue;
		}
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
			if (j->end - j->p < 5 || hex4(j->p + 1, &u) < 0) {
				free(s);
				return jp_fail(j, "bad \\u escape");
			}
			j->p += 4;
			if (u >= 0xd800 && u < 0xdc00) {
				if (j->end - j->p < 7 || j->p[1] != '\\' ||
				    j->p[2] != 'u' || hex4(j->p + 3, &lo) < 0 ||
				    lo < 0xdc00 || lo >= 0xe000) {
					free(s);
					return jp_fail(j, "unpaired surrogate");
				}
				j->p += 6;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (u >= 0xdc00 && u < 0xe000) {
				free(s);
				return jp_fail(j, "unpaired surrogate");
			}
			/* \uXXXX is 6 bytes (12 for a pair), UTF-8 at most
			 * 3 (4): the output still fits. */
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
			break;
		default:
			free(s);
			return jp_fail(j, "bad escape");
		}
		j->p++;
	}
	j->p++;
	*d = 0;
	*out = s;
	*outlen = (size_t)(d - s);
	return 0;
}

static int jp_number(struct jp *j, struct mlfs_json *v)
{
	const char *s = j->p;
	char *endp;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return jp_fail(j, "bad number");
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jp_fail(j, "bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jp_fail(j, "bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	v->len = (size_t)(j->p - s);
	v->str = strndup(s, v->len);
	if (!v->str)
		return -ENOMEM;
	v->num = strtod(v->str, &endp);
	return 0;
}

static int jp_value(struct jp *j, struct mlfs_json **out);

static int jp_push(struct mlfs_json *v, size_t *cap, struct mlfs_json *child,
		   char *key, size_t klen)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct mlfs_json **nv = realloc(v->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		if (v->type == MLFS_JSON_OBJECT) {
			char **nk = realloc(v->keys, nc * sizeof(*nk));
			size_t *nl;

			if (!nk)
				return -ENOMEM;
			v->keys = nk;
			nl = realloc(v->key_lens, nc * sizeof(*nl));
			if (!nl)
				return -ENOMEM;
			v->key_lens = nl;
		}
		*cap = nc;
	}
	v->v[v->n] = child;
	if (v->type == MLFS_JSON_OBJECT) {
		v->keys[v->n] = key;
		v->key_lens[v->n] = klen;
	}
	v->n++;
	return 0;
}

static int jp_container(struct jp *j, struct mlfs_json *v)
{
	char close = v->type == MLFS_JSON_OBJECT ? '}' : ']';
	size_t cap = 0;
	int r;

	if (++j->depth > MLFS_JSON_DEPTH_MAX)
		return jp_fail(j, "nesting too deep");
	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		struct mlfs_json *child = NULL;
		char *key = NULL;
		size_t klen = 0;

		jp_ws(j);
		if (v->type == MLFS_JSON_OBJECT) {
			if (j->p >= j->end || *j->p != '"')
				return jp_fail(j, "expected a key");
			r = jp_string(j, &key, &klen);
			if (r < 0)
				return r;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				return jp_fail(j, "expected ':'");
			}
			j->p++;
		}
		r = jp_value(j, &child);
		if (r == 0)
			r = jp_push(v, &cap, child, key, klen);
		if (r < 0) {
			mlfs_json_free(child);
			free(key);
			return r;
		}
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		return jp_fail(j, v->type == MLFS_JSON_OBJECT ?
			       "expected ',' or '}'" : "expected ',' or ']'");
	}
	j->depth--;
	return 0;
}

static int jp_value(struct jp *j, struct mlfs_json **out)
{
	struct mlfs_json *v;
	int r = 0;

	jp_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "unexpected end of input");
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	switch (*j->p) {
	case '{':
		v->type = MLFS_JSON_OBJECT;
		r = jp_container(j, v);
		break;
	case '[':
		v->type = MLFS_JSON_ARRAY;
		r = jp_container(j, v);
		break;
	case '"':
		v->type = MLFS_JSON_STRING;
		r = jp_string(j, &v->str, &v->len);
		break;
	case 't': case 'f': case 'n': {
		static const struct { const char *w; enum mlfs_json_type t; }
		lit[] = { { "true", MLFS_JSON_TRUE },
			  { "false", MLFS_JSON_FALSE },
			  { "null", MLFS_JSON_NULL } };
		size_t i;

		for (i = 0; i < MLFS_ARRAY_SIZE(lit); i++) {
			size_t l = strlen(lit[i].w);

			if ((size_t)(j->end - j->p) >= l &&
			    !memcmp(j->p, lit[i].w, l)) {
				v->type = lit[i].t;
				j->p += l;
				break;
			}
		}
		if (i == MLFS_ARRAY_SIZE(lit))
			r = jp_fail(j, "unexpected character");
		break;
	}
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
			v->type = MLFS_JSON_NUMBER;
			r = jp_number(j, v);
		} else {
			r = jp_fail(j, "unexpected character");
		}
	}
	if (r < 0) {
		mlfs_json_free(v);
		return r;
	}
	*out = v;
	return 0;
}

int mlfs_json_parse(const char *p, size_t len, struct mlfs_json **out,
		    char *err, size_t errlen)
{
	struct jp j = { p, p + len, p, 0, err, errlen };
	struct mlfs_json *v = NULL;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	/* A UTF-8 byte order mark is allowed before the value. */
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		j.p += 3;
	r = jp_value(&j, &v);
	if (r < 0)
		return r;
	jp_ws(&j);
	if (j.p != j.end) {
		mlfs_json_free(v);
		return jp_fail(&j, "trailing data after the value");
	}
	*out = v;
	return 0;
}

const struct mlfs_json *mlfs_json_get(const struct mlfs_json *obj,
				      const char *key)
{
	size_t kl = strlen(key);

	if (!obj || obj->type != MLFS_JSON_OBJECT)
		return NULL;
	/* Last duplicate wins, as in most parsers. */
	for (size_t i = obj->n; i-- > 0;)
		if (obj->key_lens[i] == kl && !memcmp(obj->keys[i], key, kl))
			return obj->v[i];
	return NULL;
}

/* ---- the JSON content diff ---------------------------------------- */

struct jd {
	struct mlfs_jw *w;
	struct mlfs_buf *text;
	struct mlfs_buf path;
	uint64_t changed, added, removed;
	size_t shown, max_shown;
	int err;
};

static bool json_equal(const struct mlfs_json *a, const struct mlfs_json *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case MLFS_JSON_NUMBER:
		return a->num == b->num || (a->len == b->len &&
					    !memcmp(a->str, b->str, a->len));
	case MLFS_JSON_STRING:
		return a->len == b->len && !memcmp(a->str, b->str, a->len);
	case MLFS_JSON_ARRAY:
	case MLFS_JSON_OBJECT:
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++) {
			const struct mlfs_json *bv = b->v[i];

			if (a->type == MLFS_JSON_OBJECT) {
				bv = mlfs_json_get(b, a->keys[i]);
				if (!bv)
					return false;
			}
			if (!json_equal(a->v[i], bv))
				return false;
		}
		return true;
	default:
		return true;
	}
}

static void text_printf(struct jd *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void text_printf(struct jd *d, const char *fmt, ...)
{
	va_list ap;

	if (d->err)
		return;
	va_start(ap, fmt);
	d->err = mlfs_buf_vprintf(d->text, fmt, ap);
	va_end(ap);
}

/* Render a value for the text output, cut at 200 bytes. */
static void text_value(struct jd *d, const struct mlfs_json *v)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_jw w;

	mlfs_jw_init(&w, &b);
	mlfs_jw_value(&w, v);
	if (w.err) {
		d->err = w.err;
	} else if (b.len > 200) {
		text_printf(d, "%.*s... (%zu bytes)", 200, (const char *)b.data,
			    b.len);
	} else {
		text_printf(d, "%.*s", (int)b.len, (const char *)b.data);
	}
	mlfs_buf_release(&b);
}

static void jd_report(struct jd *d, const char *kind,
		      const struct mlfs_json *a, const struct mlfs_json *b)
{
	if (kind[0] == 'c')
		d->changed++;
	else if (kind[0] == 'a')
		d->added++;
	else
		d->removed++;
	if (d->shown++ >= d->max_shown)
		return;
	mlfs_jw_obj(d->w);
	mlfs_jw_key(d->w, "path");
	mlfs_jw_strn(d->w, (const char *)d->path.data, d->path.len);
	mlfs_jw_key(d->w, "change");
	mlfs_jw_str(d->w, kind);
	if (a) {
		mlfs_jw_key(d->w, "old");
		mlfs_jw_value(d->w, a);
	}
	if (b) {
		mlfs_jw_key(d->w, "new");
		mlfs_jw_value(d->w, b);
	}
	mlfs_jw_obj_end(d->w);
	text_printf(d, "%c %.*s: ", kind[0] == 'c' ? '~' : kind[0] == 'a' ?
		    '+' : '-', (int)d->path.len, (const char *)d->path.data);
	if (a)
		text_value(d, a);
	if (a && b)
		text_printf(d, " -> ");
	if (b)
		text_value(d, b);
	text_printf(d, "\n");
}

/* Path syntax: .key for identifier-like keys, ["key"] otherwise, [i]. */
static void path_push_key(struct jd *d, const char *k, size_t kl)
{
	bool plain = kl > 0;
	struct mlfs_buf tmp = MLFS_BUF_INIT;
	struct mlfs_jw w;

	for (size_t i = 0; i < kl; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
		      (k[i] >= 'A' && k[i] <= 'Z') ||
		      (k[i] >= '0' && k[i] <= '9') ||
		      k[i] == '_' || k[i] == '-'))
			plain = false;
	if (plain) {
		if (!d->err)
			d->err = mlfs_buf_append(&d->path, ".", 1);
		if (!d->err)
			d->err = mlfs_buf_append(&d->path, k, kl);
		return;
	}
	mlfs_jw_init(&w, &tmp);
	mlfs_jw_strn(&w, k, kl);
	if (w.err && !d->err)
		d->err = w.err;
	if (!d->err)
		d->err = mlfs_buf_append(&d->path, "[", 1);
	if (!d->err)
		d->err = mlfs_buf_append(&d->path, tmp.data, tmp.len);
	if (!d->err)
		d->err = mlfs_buf_append(&d->path, "]", 1);
	mlfs_buf_release(&tmp);
}

static void jd_walk(struct jd *d, const struct mlfs_json *a,
		    const struct mlfs_json *b)
{
	size_t mark = d->path.len;
	char idx[32];

	if (d->err || json_equal(a, b))
		return;
	if (a->type == MLFS_JSON_OBJECT && b->type == MLFS_JSON_OBJECT) {
		for (size_t i = 0; i < a->n; i++) {
			const struct mlfs_json *bv, *av;

			/* A duplicate key: only the last occurrence counts. */
			av = mlfs_json_get(a, a->keys[i]);
			if (av != a->v[i])
				continue;
			bv = mlfs_json_get(b, a->keys[i]);
			path_push_key(d, a->keys[i], a->key_lens[i]);
			if (!bv)
				jd_report(d, "removed", av, NULL);
			else
				jd_walk(d, av, bv);
			d->path.len = mark;
		}
		for (size_t i = 0; i < b->n; i++) {
			if (mlfs_json_get(b, b->keys[i]) != b->v[i] ||
			    mlfs_json_get(a, b->keys[i]))
				continue;
			path_push_key(d, b->keys[i], b->key_lens[i]);
			jd_report(d, "added", NULL, b->v[i]);
			d->path.len = mark;
		}
		return;
	}
	if (a->type == MLFS_JSON_ARRAY && b->type == MLFS_JSON_ARRAY) {
		size_t n = a->n > b->n ? a->n : b->n;

		for (size_t i = 0; i < n; i++) {
			int l = snprintf(idx, sizeof(idx), "[%zu]", i);

			if (!d->err)
				d->err = mlfs_buf_append(&d->path, idx,
							 (size_t)l);
			if (i >= b->n)
				jd_report(d, "removed", a->v[i], NULL);
			else if (i >= a->n)
				jd_report(d, "added", NULL, b->v[i]);
			else
				jd_walk(d, a->v[i], b->v[i]);
			d->path.len = mark;
		}
		return;
	}
	jd_report(d, "changed", a, b);
}

static int load_all(const struct mlfs_diff_src *s, uint64_t max,
		    struct mlfs_buf *out)
{
	int r;

	if (s->size > max)
		return -EFBIG;
	r = mlfs_buf_reserve(out, (size_t)s->size + 1);
	if (r < 0)
		return r;
	r = mlfs_diff_src_read(s, out->data, (size_t)s->size, 0);
	if (r < 0)
		return r;
	out->len = (size_t)s->size;
	return 0;
}

static int json_diff(const struct mlfs_diff_src *a,
		     const struct mlfs_diff_src *b,
		     const struct mlfs_diff_content_opts *o,
		     struct mlfs_diff_out *out)
{
	struct mlfs_buf ba = MLFS_BUF_INIT, bb = MLFS_BUF_INIT;
	struct mlfs_json *ja = NULL, *jb = NULL;
	uint64_t max = o->json_max ? o->json_max : 64ull << 20;
	struct mlfs_jw w;
	struct jd d;
	char err[160];
	int r;

	out->format = "json";
	r = load_all(a, max, &ba);
	if (r == 0)
		r = load_all(b, max, &bb);
	if (r == -EFBIG) {
		snprintf(out->err, sizeof(out->err),
			 "JSON file larger than %" PRIu64 " bytes", max);
		r = -EBADMSG;
	}
	if (r < 0)
		goto out;
	r = mlfs_json_parse((const char *)ba.data, ba.len, &ja, err,
			    sizeof(err));
	if (r == -EBADMSG)
		snprintf(out->err, sizeof(out->err),
			 "old version: malformed JSON: %s", err);
	if (r < 0)
		goto out;
	r = mlfs_json_parse((const char *)bb.data, bb.len, &jb, err,
			    sizeof(err));
	if (r == -EBADMSG)
		snprintf(out->err, sizeof(out->err),
			 "new version: malformed JSON: %s", err);
	if (r < 0)
		goto out;

	mlfs_jw_init(&w, &out->json);
	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "format");
	mlfs_jw_str(&w, "json");
	mlfs_jw_key(&w, "changes");
	mlfs_jw_arr(&w);
	memset(&d, 0, sizeof(d));
	d.w = &w;
	d.text = &out->text;
	/* Configs are small: show every change up to a generous cap. */
	d.max_shown = o->max_examples > 1000 ? o->max_examples : 1000;
	jd_walk(&d, ja, jb);
	mlfs_jw_arr_end(&w);
	mlfs_jw_key(&w, "changed");
	mlfs_jw_u64(&w, d.changed);
	mlfs_jw_key(&w, "added");
	mlfs_jw_u64(&w, d.added);
	mlfs_jw_key(&w, "removed");
	mlfs_jw_u64(&w, d.removed);
	mlfs_jw_obj_end(&w);
	out->equal = d.changed + d.added + d.removed == 0;
	if (!d.err && d.shown > d.max_shown)
		text_printf(&d, "... %zu more changes\n",
			    d.shown - d.max_shown);
	if (!d.err && out->equal)
		text_printf(&d, "same JSON value (formatting only)\n");
	r = d.err ? d.err : w.err;
	mlfs_buf_release(&d.path);
out:
	mlfs_json_free(ja);
	mlfs_json_free(jb);
	mlfs_buf_release(&ba);
	mlfs_buf_release(&bb);
	return r;
}

static int json_detect(const char *path, const uint8_t *head, size_t len,
		       uint64_t size)
{
	size_t pl = strlen(path), i = 0;
	bool ext = pl >= 5 && !strcmp(path + pl - 5, ".json");

	(void)size;
	if (len >= 3 && !memcmp(head, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && (head[i] == ' ' || head[i] == '\n' ||
			   head[i] == '\r' || head[i] == '\t'))
		i++;
	if (i < len && (head[i] == '{' || head[i] == '['))
		return ext ? 2 : 1;
	return ext ? 1 : 0;
}

const struct mlfs_diff_format mlfs_diff_format_json = {
	.name = "json",
	.detect = json_detect,
	.diff = json_diff,
};
