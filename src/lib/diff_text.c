/*
 * diff_text.c - unified diffs of text files: Myers' O(ND) greedy
 * algorithm after trimming the common prefix and suffix, keeping each
 * step's frontier for the backtrack. The edit distance is capped
 * (TEXT_D_MAX) so time and memory stay bounded; past the cap, or past
 * the size cap, the diff is summarised.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/diff.h"

/* Trace memory is about 4 * TEXT_D_MAX^2 bytes (16 MiB). */
#define TEXT_D_MAX 2000
#define TEXT_LINES_MAX (4u * 1024 * 1024)

struct line {
	const char *p;
	size_t len;   /* without the '\n' */
	bool noeol;   /* last line without a newline */
	uint64_t h;
};

struct op {
	char t; /* ' ', '-', '+' */
	size_t ai, bi;
};

static uint64_t hash_line(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: fast, good enough
					      * to pre-filter compares */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static int split_lines(const char *s, size_t len, struct line **out,
		       size_t *n)
{
	size_t cnt = 0, k = 0;
	struct line *v;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n')
			cnt++;
	if (len && s[len - 1] != '\n')
		cnt++;
	if (cnt > TEXT_LINES_MAX)
		return -E2BIG;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (s + i)) : len - i;

		v[k].p = s + i;
		v[k].len = l;
		v[k].noeol = !nl;
		v[k].h = hash_line(s + i, l);
		k++;
		i += l + (nl ? 1 : 0);
	}
	*out = v;
	*n = cnt;
	return 0;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->h == b->h && a->len == b->len && a->noeol == b->noeol &&
	       !memcmp(a->p, b->p, a->len);
}

/* Myers on a[0..n) and b[0..m): append the ops to @ops (in order). */
static int myers(const struct line *a, size_t n, const struct line *b,
		 size_t m, size_t abase, size_t bbase, struct op *ops,
		 size_t *nops)
{
	long dmax = (long)(n + m), D = -1;
	long *trace = NULL, *v, off;
	size_t tcap, cnt = 0;
	long x, y;
	int r = 0;

	if (dmax > TEXT_D_MAX)
		dmax = TEXT_D_MAX;
	/* trace[d] = frontier after step d, indices -d..d: offset d*d. */
	tcap = (size_t)(dmax + 1) * (size_t)(dmax + 1);
	trace = malloc(tcap * sizeof(*trace));
	v = calloc((size_t)(2 * dmax + 3), sizeof(*v));
	if (!trace || !v) {
		r = -ENOMEM;
		goto out;
	}
	off = dmax + 1;
	for (long d = 0; d <= dmax && D < 0; d++) {
		for (long k = -d; k <= d; k += 2) {
			if (k == -d ||
			    (k != d && v[off + k - 1] < v[off + k + 1]))
				x = v[off + k + 1];
			else
				x = v[off + k - 1] + 1;
			y = x - k;
			while (x < (long)n && y < (long)m &&
			       line_eq(&a[x], &b[y])) {
				x++;
				y++;
			}
			v[off + k] = x;
			if (x >= (long)n && y >= (long)m)
				D = d;
		}
		memcpy(trace + d * d, v + off - d, (size_t)(2 * d + 1) *
		       sizeof(*v));
	}
	if (D < 0) {
		r = -E2BIG;
		goto out;
	}
	/* Backtrack from (n, m), writing ops from the end of the slot
	 * range this call owns (n + m ops at most). */
	x = (long)n;
	y = (long)m;
	cnt = n + m;
	{
		size_t w = cnt;

		for (long d = D; d > 0; d--) {
			const long *vp = trace + (d - 1) * (d - 1) + (d - 1);
			long k = x - y, pk, mx, my;

			if (k == -d || (k != d && vp[k - 1] < vp[k + 1]))
				pk = k + 1; /* came down: an insertion */
			else
				pk = k - 1; /* came right: a deletion */
			/* The point just after the edit, where the snake of
			 * step d starts. */
			mx = pk == k + 1 ? vp[pk] : vp[pk] + 1;
			my = mx - k;
			while (x > mx && y > my) {
				x--;
				y--;
				ops[--w] = (struct op){ ' ', abase + (size_t)x,
							bbase + (size_t)y };
			}
			if (pk == k + 1) {
				y--;
				ops[--w] = (struct op){ '+', abase + (size_t)x,
							bbase + (size_t)y };
			} else {
				x--;
				ops[--w] = (struct op){ '-', abase + (size_t)x,
							bbase + (size_t)y };
			}
		}
		while (x > 0 && y > 0) {
			x--;
			y--;
			ops[--w] = (struct op){ ' ', abase + (size_t)x,
						bbase + (size_t)y };
		}
		/* Move the ops to the front. */
		memmove(ops, ops + w, (cnt - w) * sizeof(*ops));
		*nops = cnt - w;
	}
out:
	free(trace);
	free(v);
	return r;
}

static int put_line(struct mlfs_buf *b, char t, const struct line *l)
{
	int r = mlfs_buf_append(b, &t, 1);

	if (r == 0)
		r = mlfs_buf_append(b, l->p, l->len);
	if (r == 0)
		r = mlfs_buf_append(b, "\n", 1);
	if (r == 0 && l->noeol)
		r = mlfs_buf_append(b, "\\ No newline at end of file\n", 28);
	return r;
}

static int emit_hunks(const struct line *la, const struct line *lb,
		      const struct op *ops, size_t nops, unsigned ctx,
		      struct mlfs_buf *out)
{
	size_t i = 0;
	int r = 0;

	while (i < nops && r == 0) {
		size_t first, last, end, as = 0, bs = 0, an = 0, bn = 0;

		while (i < nops && ops[i].t == ' ')
			i++;
		if (i >= nops)
			break;
		first = i >= ctx ? i - ctx : 0;
		/* Extend while the next change is within 2 * ctx lines. */
		last = i;
		for (size_t j = i + 1; j < nops; j++) {
			if (ops[j].t == ' ')
				continue;
			if (j - last > 2 * (size_t)ctx)
				break;
			last = j;
		}
		end = last + ctx + 1 < nops ? last + ctx + 1 : nops;
		as = ops[first].ai;
		bs = ops[first].bi;
		for (size_t j = first; j < end; j++) {
			if (ops[j].t != '+')
				an++;
			if (ops[j].t != '-')
				bn++;
		}
		r = mlfs_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n",
				    an ? as + 1 : as, an, bn ? bs + 1 : bs, bn);
		for (size_t j = first; j < end && r == 0; j++)
			r = put_line(out, ops[j].t, ops[j].t == '+' ?
				     &lb[ops[j].bi] : &la[ops[j].ai]);
		i = end;
	}
	return r;
}

int mlfs_text_udiff(const char *a, size_t alen, const char *b, size_t blen,
		    unsigned context, struct mlfs_buf *out, uint64_t *added,
		    uint64_t *removed)
{
	struct line *la = NULL, *lb = NULL;
	struct op *ops = NULL;
	size_t na = 0, nb = 0, pre = 0, suf = 0, nmid = 0, nops;
	int r;

	*added = *removed = 0;
	r = split_lines(a, alen, &la, &na);
	if (r == 0)
		r = split_lines(b, blen, &lb, &nb);
	if (r < 0)
		goto out;
	while (pre < na && pre < nb && line_eq(&la[pre], &lb[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre &&
	       line_eq(&la[na - 1 - suf], &lb[nb - 1 - suf]))
		suf++;
	ops = malloc((na + nb + 1) * sizeof(*ops));
	if (!ops) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pre; i++)
		ops[i] = (struct op){ ' ', i, i };
	r = myers(la + pre, na - pre - suf, lb + pre, nb - pre - suf, pre, pre,
		  ops + pre, &nmid);
	if (r < 0)
		goto out;
	nops = pre + nmid;
	for (size_t i = 0; i < suf; i++)
		ops[nops++] = (struct op){ ' ', na - suf + i, nb - suf + i };
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].t == '+')
			(*added)++;
		else if (ops[i].t == '-')
			(*removed)++;
	}
	r = emit_hunks(la, lb, ops, nops, context, out);
out:
	free(la);
	free(lb);
	free(ops);
	return r;
}

static int load(const struct mlfs_diff_src *s, struct mlfs_buf *b)
{
	int r = mlfs_buf_reserve(b, (size_t)s->size + 1);

	if (r == 0)
		r = mlfs_diff_src_read(s, b->data, (size_t)s->size, 0);
	if (r == 0)
		b->len = (size_t)s->size;
	return r;
}

static int text_diff(const struct mlfs_diff_src *a,
		     const struct mlfs_diff_src *b,
		     const struct mlfs_diff_content_opts *o,
		     struct mlfs_diff_out *out)
{
	struct mlfs_buf ba = MLFS_BUF_INIT, bb = MLFS_BUF_INIT;
	struct mlfs_buf ud = MLFS_BUF_INIT;
	uint64_t max = o->text_max ? o->text_max : 8ull << 20;
	uint64_t added = 0, removed = 0;
	const char *why = NULL;
	struct mlfs_jw w;
	int r = 0;

	out->format = "text";
	if (a->size > max || b->size > max) {
		why = "file too large for a line diff";
	} else {
		r = load(a, &ba);
		if (r == 0)
			r = load(b, &bb);
		if (r == 0)
			r = mlfs_text_udiff((const char *)ba.data, ba.len,
					    (const char *)bb.data, bb.len,
					    o->context, &ud, &added, &removed);
		if (r == -E2BIG) {
			why = "too many differences for a line diff";
			r = 0;
		}
		if (r < 0)
			goto out;
	}
	mlfs_jw_init(&w, &out->json);
	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "format");
	mlfs_jw_str(&w, "text");
	mlfs_jw_key(&w, "size_a");
	mlfs_jw_u64(&w, a->size);
	mlfs_jw_key(&w, "size_b");
	mlfs_jw_u64(&w, b->size);
	if (why) {
		mlfs_jw_key(&w, "summary");
		mlfs_jw_str(&w, why);
		r = mlfs_buf_printf(&out->text, "%s (%" PRIu64 " -> %"
				    PRIu64 " bytes)\n", why, a->size, b->size);
	} else {
		mlfs_jw_key(&w, "lines_added");
		mlfs_jw_u64(&w, added);
		mlfs_jw_key(&w, "lines_removed");
		mlfs_jw_u64(&w, removed);
		mlfs_jw_key(&w, "unified");
		mlfs_jw_strn(&w, (const char *)ud.data, ud.len);
		r = mlfs_buf_append(&out->text, ud.data, ud.len);
		out->equal = added == 0 && removed == 0;
	}
	mlfs_jw_obj_end(&w);
	if (r == 0)
		r = w.err;
out:
	mlfs_buf_release(&ba);
	mlfs_buf_release(&bb);
	mlfs_buf_release(&ud);
	return r;
}

/* Text when the first 4 KiB hold no NUL and few control bytes. */
static int text_detect(const char *path, const uint8_t *head, size_t len,
		       uint64_t size)
{
	size_t ctl = 0;

	(void)path;
	(void)size;
	for (size_t i = 0; i < len; i++) {
		if (head[i] == 0)
			return 0;
		if (head[i] < 0x20 && head[i] != '\n' && head[i] != '\r' &&
		    head[i] != '\t' && head[i] != '\f')
			ctl++;
	}
	return ctl * 100 <= len ? 1 : 0;
}

const struct mlfs_diff_format mlfs_diff_format_text = {
	.name = "text",
	.detect = text_detect,
	.diff = text_diff,
};
