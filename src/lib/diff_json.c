/*
 * diff_json.c - JSON for diffs: a writer used by every content diff for
 * its --json member, and the JSON content diff itself (changed keys with
 * old and new values, by path), over documents of diff_json_parse.c.
 * Objects are compared through sorted key indexes, so a diff is
 * O(n log n) however the keys are ordered.
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
	w->total += len;
	if (w->limit && w->b->len + len > w->limit) {
		if (w->limit > w->b->len)
			w->err = mlfs_buf_append(w->b, s,
						 w->limit - w->b->len);
		return;
	}
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
		       (unsigned char)s[run] < 0x80 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			jw_raw(w, s + i, run - i);
			i = run - 1;
			continue;
		}
		if (ch >= 0x80) {
			size_t k = mlfs_utf8_seq_len((const unsigned char *)s +
						     i, len - i);

			if (k) {
				jw_raw(w, s + i, k);
				i += k - 1;
			} else { /* not UTF-8: the byte, surrogate-escaped */
				memcpy(esc, "\\udc", 4);
				esc[4] = hex[ch >> 4];
				esc[5] = hex[ch & 15];
				jw_raw(w, esc, 6);
			}
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

void mlfs_jw_value(struct mlfs_jw *w, struct mlfs_jv v)
{
	size_t n = mlfs_jv_count(v), len;
	struct mlfs_jv c = mlfs_jv_first(v);
	const char *str;

	switch (mlfs_jv_type(v)) {
	case MLFS_JSON_NULL: mlfs_jw_null(w); break;
	case MLFS_JSON_FALSE: mlfs_jw_bool(w, false); break;
	case MLFS_JSON_TRUE: mlfs_jw_bool(w, true); break;
	case MLFS_JSON_NUMBER:
		str = mlfs_jv_str(v, &len);
		jw_sep(w);
		jw_raw(w, str, len);
		break;
	case MLFS_JSON_STRING:
		str = mlfs_jv_str(v, &len);
		mlfs_jw_strn(w, str, len);
		break;
	case MLFS_JSON_ARRAY:
		mlfs_jw_arr(w);
		for (size_t i = 0; i < n && !w->err; i++, c = mlfs_jv_next(c))
			mlfs_jw_value(w, c);
		mlfs_jw_arr_end(w);
		break;
	case MLFS_JSON_OBJECT:
		mlfs_jw_obj(w);
		for (size_t i = 0; i < n && !w->err; i++, c = mlfs_jv_next(c)) {
			str = mlfs_jv_key(c, &len);
			jw_sep(w);
			jw_quoted(w, str, len);
			jw_raw(w, ":", 1);
			w->after_key = true;
			mlfs_jw_value(w, c);
		}
		mlfs_jw_obj_end(w);
		break;
	}
}

/* ---- the JSON content diff ---------------------------------------- */

struct jd {
	struct mlfs_jw *w;
	struct mlfs_buf *text;
	struct mlfs_buf path;
	uint64_t changed, added, removed;
	size_t shown, hidden, max_shown;
	size_t out_max; /* stop showing once the output is this large */
	int err;
};

/* An object's members sorted by key, equal keys in document order: 4
 * bytes a member (tape positions of @doc). */
struct kidx {
	const struct mlfs_json *doc;
	uint32_t *at;
	size_t n;
	bool dups; /* some key appears twice */
};

static int key_cmp(struct mlfs_jv a, struct mlfs_jv b)
{
	size_t la, lb;
	const char *ka = mlfs_jv_key(a, &la), *kb = mlfs_jv_key(b, &lb);
	int c = memcmp(ka, kb, la < lb ? la : lb);

	return c ? c : la < lb ? -1 : la > lb;
}

static int kidx_cmp(const void *x, const void *y, void *doc)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	int c = key_cmp((struct mlfs_jv){ doc, a }, (struct mlfs_jv){ doc, b });

	return c ? c : a < b ? -1 : a > b;
}

static int kidx_build(struct mlfs_jv obj, struct kidx *k)
{
	struct mlfs_jv c = mlfs_jv_first(obj);

	k->doc = obj.doc;
	k->n = mlfs_jv_count(obj);
	k->at = malloc((k->n ? k->n : 1) * sizeof(*k->at));
	if (!k->at)
		return -ENOMEM;
	for (size_t i = 0; i < k->n; i++, c = mlfs_jv_next(c))
		k->at[i] = c.at;
	if (k->n > 1)
		qsort_r(k->at, k->n, sizeof(*k->at), kidx_cmp,
			(void *)k->doc);
	k->dups = false;
	for (size_t i = 1; i < k->n && !k->dups; i++)
		k->dups = !key_cmp((struct mlfs_jv){ k->doc, k->at[i - 1] },
				   (struct mlfs_jv){ k->doc, k->at[i] });
	return 0;
}


/* The member of @k whose key is @key's (the last duplicate), or none. */
static struct mlfs_jv kidx_find(const struct kidx *k, struct mlfs_jv key)
{
	size_t lo = 0, hi = k->n;

	/* First entry with a greater key; the one before it is the last
	 * duplicate of @key, if any. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp((struct mlfs_jv){ k->doc, k->at[mid] }, key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && key_cmp((struct mlfs_jv){ k->doc, k->at[lo - 1] }, key) == 0)
		return (struct mlfs_jv){ k->doc, k->at[lo - 1] };
	return (struct mlfs_jv){ NULL, 0 };
}

/* Whether member @c of the indexed object is the last of its key. */
static bool kidx_last(const struct kidx *k, struct mlfs_jv c)
{
	return !k->dups || kidx_find(k, c).at == c.at;
}

/* A JSON number literal (the parser checked its grammar) as a sign, its
 * significant digits and the power of ten of the last one: 1.50e2 and
 * 150 are both (+, "15", 1); every zero is (+, "", 0). */
struct jnum {
	bool neg;
	const char *s, *end; /* the digits, a '.' perhaps among them */
	size_t ndig;
	int64_t exp;
};

/* False when the exponent is too large to hold exactly. */
static bool jnum_parse(const char *p, size_t n, struct jnum *j)
{
	const char *end = p + n, *mant = p, *q;
	int64_t e = 0, nfrac = 0;
	bool eneg = false;

	j->neg = p < end && *p == '-';
	if (j->neg)
		p++;
	mant = p;
	while (mant < end && *mant != 'e' && *mant != 'E')
		mant++;
	for (q = p; q < mant; q++)
		if (*q == '.')
			nfrac = mant - q - 1;
	if (mant < end) {
		q = mant + 1;
		if (q < end && (*q == '+' || *q == '-'))
			eneg = *q++ == '-';
		for (; q < end; q++) {
			if (e > INT64_MAX / 100)
				return false;
			e = e * 10 + (*q - '0');
		}
		if (eneg)
			e = -e;
	}
	e -= nfrac;
	while (p < mant && (*p == '0' || *p == '.'))
		p++;
	for (q = mant; q > p && (q[-1] == '0' || q[-1] == '.'); q--)
		if (q[-1] == '0')
			e++;
	j->s = p;
	j->end = q;
	j->ndig = 0;
	for (; p < q; p++)
		j->ndig += *p != '.';
	if (!j->ndig) {
		j->neg = false;
		e = 0;
	}
	j->exp = e;
	return true;
}

/* Do two number literals denote the same value? Exactly, not as doubles:
 * 9007199254740993 and 9007199254740992 differ. */
static bool num_equal(const char *a, size_t la, const char *b, size_t lb)
{
	struct jnum x, y;

	if (!jnum_parse(a, la, &x) || !jnum_parse(b, lb, &y))
		return false;
	if (x.neg != y.neg || x.exp != y.exp || x.ndig != y.ndig)
		return false;
	for (const char *p = x.s, *q = y.s; p < x.end && q < y.end;
	     p++, q++) {
		if (*p == '.')
			p++;
		if (*q == '.')
			q++;
		if (*p != *q)
			return false;
	}
	return true;
}

/* Scalars (and an empty container against one of its own type). */
static bool scalar_equal(struct mlfs_jv a, struct mlfs_jv b)
{
	enum mlfs_json_type t = mlfs_jv_type(a);
	size_t la, lb;
	const char *sa, *sb;

	if (t != mlfs_jv_type(b))
		return false;
	switch (t) {
	case MLFS_JSON_NUMBER:
		/* 1.0 == 1 and 1e2 == 100 (the same value written
		 * differently), 1e999 != 2e999 */
		sa = mlfs_jv_str(a, &la);
		sb = mlfs_jv_str(b, &lb);
		return (la == lb && !memcmp(sa, sb, la)) ||
		       num_equal(sa, la, sb, lb);
	case MLFS_JSON_STRING:
		sa = mlfs_jv_str(a, &la);
		sb = mlfs_jv_str(b, &lb);
		return la == lb && !memcmp(sa, sb, la);
	case MLFS_JSON_ARRAY:
	case MLFS_JSON_OBJECT:
		return !mlfs_jv_count(a) && !mlfs_jv_count(b);
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

/* Render a value for the text output, cut at 200 bytes (the rest is only
 * counted, never held). */
static void text_value(struct jd *d, struct mlfs_jv v)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_jw w;

	mlfs_jw_init(&w, &b);
	w.limit = 200;
	mlfs_jw_value(&w, v);
	if (w.err)
		d->err = w.err;
	else if (w.total > 200)
		text_printf(d, "%.*s... (%" PRIu64 " bytes)", (int)b.len,
			    (const char *)b.data, w.total);
	else
		text_printf(d, "%.*s", (int)b.len, (const char *)b.data);
	mlfs_buf_release(&b);
}

static void jd_report(struct jd *d, const char *kind, struct mlfs_jv a,
		      struct mlfs_jv b)
{
	if (kind[0] == 'c')
		d->changed++;
	else if (kind[0] == 'a')
		d->added++;
	else
		d->removed++;
	if (d->shown >= d->max_shown || d->w->b->len + d->text->len >
	    d->out_max) {
		d->hidden++;
		return;
	}
	d->shown++;
	mlfs_jw_obj(d->w);
	mlfs_jw_key(d->w, "path");
	mlfs_jw_strn(d->w, (const char *)d->path.data, d->path.len);
	mlfs_jw_key(d->w, "change");
	mlfs_jw_str(d->w, kind);
	if (a.doc) {
		mlfs_jw_key(d->w, "old");
		mlfs_jw_value(d->w, a);
	}
	if (b.doc) {
		mlfs_jw_key(d->w, "new");
		mlfs_jw_value(d->w, b);
	}
	mlfs_jw_obj_end(d->w);
	text_printf(d, "%c %.*s: ", kind[0] == 'c' ? '~' : kind[0] == 'a' ?
		    '+' : '-', (int)d->path.len, (const char *)d->path.data);
	if (a.doc)
		text_value(d, a);
	if (a.doc && b.doc)
		text_printf(d, " -> ");
	if (b.doc)
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

static void jd_walk(struct jd *d, struct mlfs_jv a, struct mlfs_jv b);

static void jd_objects(struct jd *d, struct mlfs_jv a, struct mlfs_jv b)
{
	struct kidx ka = { NULL, NULL, 0, false }, kb = { NULL, NULL, 0, false };
	size_t mark = d->path.len, n, kl;
	struct mlfs_jv c;
	const char *k;

	d->err = kidx_build(a, &ka);
	if (!d->err)
		d->err = kidx_build(b, &kb);
	n = mlfs_jv_count(a);
	c = mlfs_jv_first(a);
	for (size_t i = 0; i < n && !d->err; i++, c = mlfs_jv_next(c)) {
		struct mlfs_jv bv;

		/* A duplicate key: only the last occurrence counts. */
		if (!kidx_last(&ka, c))
			continue;
		bv = kidx_find(&kb, c);
		k = mlfs_jv_key(c, &kl);
		path_push_key(d, k, kl);
		if (!bv.doc)
			jd_report(d, "removed", c, bv);
		else
			jd_walk(d, c, bv);
		d->path.len = mark;
	}
	n = mlfs_jv_count(b);
	c = mlfs_jv_first(b);
	for (size_t i = 0; i < n && !d->err; i++, c = mlfs_jv_next(c)) {
		if (!kidx_last(&kb, c) || kidx_find(&ka, c).doc)
			continue;
		k = mlfs_jv_key(c, &kl);
		path_push_key(d, k, kl);
		jd_report(d, "added", (struct mlfs_jv){ NULL, 0 }, c);
		d->path.len = mark;
	}
	free(ka.at);
	free(kb.at);
}

static void jd_arrays(struct jd *d, struct mlfs_jv a, struct mlfs_jv b)
{
	size_t na = mlfs_jv_count(a), nb = mlfs_jv_count(b);
	size_t n = na > nb ? na : nb, mark = d->path.len;
	struct mlfs_jv ca = mlfs_jv_first(a), cb = mlfs_jv_first(b);
	struct mlfs_jv none = { NULL, 0 };
	char idx[32];

	for (size_t i = 0; i < n && !d->err; i++) {
		int l = snprintf(idx, sizeof(idx), "[%zu]", i);

		d->err = mlfs_buf_append(&d->path, idx, (size_t)l);
		if (i >= nb)
			jd_report(d, "removed", ca, none);
		else if (i >= na)
			jd_report(d, "added", none, cb);
		else
			jd_walk(d, ca, cb);
		d->path.len = mark;
		if (i + 1 < na)
			ca = mlfs_jv_next(ca);
		if (i + 1 < nb)
			cb = mlfs_jv_next(cb);
	}
}

static void jd_walk(struct jd *d, struct mlfs_jv a, struct mlfs_jv b)
{
	enum mlfs_json_type ta = mlfs_jv_type(a), tb = mlfs_jv_type(b);

	if (d->err || scalar_equal(a, b))
		return;
	if (ta == MLFS_JSON_OBJECT && tb == MLFS_JSON_OBJECT)
		jd_objects(d, a, b);
	else if (ta == MLFS_JSON_ARRAY && tb == MLFS_JSON_ARRAY)
		jd_arrays(d, a, b);
	else
		jd_report(d, "changed", a, b);
}

/* Read all of @s into @out (left empty on failure). */
static int load_all(const struct mlfs_diff_src *s, uint64_t max,
		    struct mlfs_buf *out)
{
	int r;

	if (s->size > max)
		return -E2BIG;
	r = mlfs_buf_reserve(out, (size_t)s->size + 1);
	if (r < 0)
		return r;
	r = mlfs_diff_src_read(s, out->data, (size_t)s->size, 0);
	if (r < 0)
		return r;
	out->len = (size_t)s->size;
	return 0;
}

/* Load and parse one side; the document takes the text's memory. */
static int load_side(const struct mlfs_diff_src *s, uint64_t max,
		     const char *label, struct mlfs_json **doc,
		     struct mlfs_diff_out *out)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	char err[160];
	int r = load_all(s, max, &b);

	if (r == -E2BIG) {
		snprintf(out->err, sizeof(out->err), "%s: JSON file of %"
			 PRIu64 " bytes too large to diff (limit %" PRIu64
			 " bytes)", label, s->size, max);
		mlfs_buf_release(&b);
		return r;
	}
	if (r < 0) {
		mlfs_buf_release(&b);
		return r;
	}
	r = mlfs_json_parse_buf(&b, doc, err, sizeof(err));
	if (r == -EBADMSG)
		snprintf(out->err, sizeof(out->err),
			 "%s: malformed JSON: %s", label, err);
	else if (r == -E2BIG)
		snprintf(out->err, sizeof(out->err), "%s: JSON %s too large "
			 "to diff", label, err);
	return r;
}

static int json_diff(const struct mlfs_diff_src *a,
		     const struct mlfs_diff_src *b,
		     const struct mlfs_diff_content_opts *o,
		     struct mlfs_diff_out *out)
{
	struct mlfs_json *ja = NULL, *jb = NULL;
	uint64_t max = o->json_max ? o->json_max : 64ull << 20;
	struct mlfs_jw w;
	struct jd d;
	int r;

	out->format = "json";
	if (max > MLFS_JSON_MAX)
		max = MLFS_JSON_MAX;
	r = load_side(a, max, "old version", &ja, out);
	if (r == 0)
		r = load_side(b, max, "new version", &jb, out);
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
	/* Configs are small: show every change up to a generous cap, and
	 * stop showing (not counting) once the output outgrows the input:
	 * a long path repeated in every change would multiply it. */
	d.max_shown = o->max_examples > 1000 ? o->max_examples : 1000;
	d.out_max = (size_t)(a->size + b->size) + (1u << 20);
	jd_walk(&d, mlfs_json_root(ja), mlfs_json_root(jb));
	mlfs_jw_arr_end(&w);
	mlfs_jw_key(&w, "changed");
	mlfs_jw_u64(&w, d.changed);
	mlfs_jw_key(&w, "added");
	mlfs_jw_u64(&w, d.added);
	mlfs_jw_key(&w, "removed");
	mlfs_jw_u64(&w, d.removed);
	mlfs_jw_obj_end(&w);
	out->equal = d.changed + d.added + d.removed == 0;
	/* Counted but not shown: past max_shown or out_max. */
	if (!d.err && d.hidden)
		text_printf(&d, "... %zu more changes\n", d.hidden);
	if (!d.err && out->equal)
		text_printf(&d, "same JSON value (formatting only)\n");
	r = d.err ? d.err : w.err;
	mlfs_buf_release(&d.path);
out:
	mlfs_json_free(ja);
	mlfs_json_free(jb);
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
