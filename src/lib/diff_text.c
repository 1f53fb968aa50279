/*
 * diff_text.c - unified diffs of text files: Myers' O(ND) greedy
 * algorithm after trimming the common prefix and suffix (on the bytes, in
 * whole lines), keeping each step's frontier for the backtrack. Only the
 * middle gets a line table (4 bytes a line) and only edits are kept;
 * equal lines are re-read for context. The edit distance is capped
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
/* Lines of the middle (what prefix and suffix trimming leave): 4 bytes
 * each a side. */
#define TEXT_LINES_MAX (4u * 1024 * 1024)
/* Offsets are 32-bit. */
#define TEXT_BYTES_MAX (1ull << 31)

/* One side: the file and the line starts of its middle region. */
struct side {
	const char *s;
	size_t len;
	uint32_t *off;   /* middle line i is [off[i], off[i + 1]) */
	size_t n;        /* middle lines */
};

/* An edit of the script; positions are line numbers in the whole files:
 * '-' removes A's line @ai, '+' inserts B's line @bi before A's @ai. */
struct edit {
	char t;
	uint32_t ai, bi;
};

/* Line starts of s[from, to) (a run of whole lines). */
static int split_lines(struct side *x, size_t from, size_t to)
{
	size_t cnt = 0, k = 0;

	for (size_t i = from; i < to; i++)
		if (x->s[i] == '\n')
			cnt++;
	if (to > from && x->s[to - 1] != '\n')
		cnt++;
	if (cnt > TEXT_LINES_MAX)
		return -E2BIG;
	x->off = malloc((cnt + 1) * sizeof(*x->off));
	if (!x->off)
		return -ENOMEM;
	for (size_t i = from; i < to;) {
		const char *nl = memchr(x->s + i, '\n', to - i);

		x->off[k++] = (uint32_t)i;
		i = nl ? (size_t)(nl - x->s) + 1 : to;
	}
	x->off[k] = (uint32_t)to;
	x->n = cnt;
	return 0;
}

/* Middle lines compare with their newline, so a last line without one
 * differs from the same text with one. */
static bool line_eq(const struct side *a, size_t i, const struct side *b,
		    size_t j)
{
	size_t la = a->off[i + 1] - a->off[i], lb = b->off[j + 1] - b->off[j];

	return la == lb && !memcmp(a->s + a->off[i], b->s + b->off[j], la);
}

/* Myers on the middles: append the edits to @ed (line numbers offset by
 * @base, the prefix lines). Returns 0, -E2BIG (over TEXT_D_MAX), -ENOMEM. */
static int myers(const struct side *a, const struct side *b, size_t base,
		 struct edit *ed, size_t *ned)
{
	long n = (long)a->n, m = (long)b->n;
	long dmax = n + m, D = -1;
	int32_t *trace = NULL, *v, off;
	size_t tcap;
	long x, y;
	int r = 0;

	*ned = 0;
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
	off = (int32_t)dmax + 1;
	for (long d = 0; d <= dmax && D < 0; d++) {
		for (long k = -d; k <= d; k += 2) {
			if (k == -d ||
			    (k != d && v[off + k - 1] < v[off + k + 1]))
				x = v[off + k + 1];
			else
				x = v[off + k - 1] + 1;
			y = x - k;
			while (x < n && y < m &&
			       line_eq(a, (size_t)x, b, (size_t)y)) {
				x++;
				y++;
			}
			v[off + k] = (int32_t)x;
			if (x >= n && y >= m)
				D = d;
		}
		memcpy(trace + d * d, v + off - d, (size_t)(2 * d + 1) *
		       sizeof(*v));
	}
	if (D < 0) {
		r = -E2BIG;
		goto out;
	}
	/* Backtrack from (n, m): one edit per step, written from the end. */
	x = n;
	y = m;
	for (long d = D; d > 0; d--) {
		const int32_t *vp = trace + (d - 1) * (d - 1) + (d - 1);
		long k = x - y, pk, mx;

		if (k == -d || (k != d && vp[k - 1] < vp[k + 1]))
			pk = k + 1; /* came down: an insertion */
		else
			pk = k - 1; /* came right: a deletion */
		/* The point just after the edit, where the snake of step d
		 * starts. */
		mx = pk == k + 1 ? vp[pk] : vp[pk] + 1;
		y -= x - mx;
		x = mx;
		if (pk == k + 1) {
			y--;
			ed[d - 1] = (struct edit){ '+', (uint32_t)(base + x),
						   (uint32_t)(base + y) };
		} else {
			x--;
			ed[d - 1] = (struct edit){ '-', (uint32_t)(base + x),
						   (uint32_t)(base + y) };
		}
	}
	*ned = (size_t)D;
out:
	free(trace);
	free(v);
	return r;
}

/* A forward cursor over the lines of one whole file. */
struct cur {
	const char *s;
	size_t len, at;   /* byte offset of line @line */
	size_t line;
};

/* Print line @c->line with prefix @t and step to the next line. */
static int put_line(struct mlfs_buf *b, char t, struct cur *c)
{
	const char *nl = memchr(c->s + c->at, '\n', c->len - c->at);
	size_t l = nl ? (size_t)(nl - (c->s + c->at)) : c->len - c->at;
	int r = mlfs_buf_append(b, &t, 1);

	if (r == 0)
		r = mlfs_buf_append(b, c->s + c->at, l);
	if (r == 0)
		r = mlfs_buf_append(b, "\n", 1);
	if (r == 0 && !nl)
		r = mlfs_buf_append(b, "\\ No newline at end of file\n", 28);
	c->at += l + (nl ? 1 : 0);
	c->line++;
	return r;
}

static void skip_to(struct cur *c, size_t line)
{
	while (c->line < line) {
		const char *nl = memchr(c->s + c->at, '\n', c->len - c->at);

		c->at = nl ? (size_t)(nl - c->s) + 1 : c->len;
		c->line++;
	}
}

/* Hunks from the edits (in order) of files of @na and @nb lines; equal
 * lines between edits are implied, read with one cursor a side. */
static int emit_hunks(const struct side *A, const struct side *B,
		      size_t na, size_t nb, const struct edit *ed,
		      size_t ned, unsigned ctx, struct mlfs_buf *out)
{
	struct cur ca = { A->s, A->len, 0, 0 }, cb = { B->s, B->len, 0, 0 };
	size_t i = 0;
	int r = 0;

	while (i < ned && r == 0) {
		size_t last = i, as, bs, ae, be;

		/* Extend while the next edit is within 2 * ctx equal lines
		 * (edits in one run are adjacent: no equal lines). */
		while (last + 1 < ned) {
			const struct edit *p = &ed[last], *q = &ed[last + 1];
			size_t after = p->ai + (p->t == '-');

			if (q->ai - after > 2 * (size_t)ctx)
				break;
			last++;
		}
		as = ed[i].ai >= ctx ? ed[i].ai - ctx : 0;
		bs = ed[i].bi - (ed[i].ai - as);
		ae = ed[last].ai + (ed[last].t == '-') + ctx;
		if (ae > na)
			ae = na;
		be = ed[last].bi + (ed[last].t == '+') +
		     (ae - ed[last].ai - (ed[last].t == '-'));
		if (be > nb)
			be = nb;
		r = mlfs_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n",
				    ae > as ? as + 1 : as, ae - as,
				    be > bs ? bs + 1 : bs, be - bs);
		skip_to(&ca, as);
		skip_to(&cb, bs);
		for (size_t j = i; j <= last && r == 0; j++) {
			while (r == 0 && ca.line < ed[j].ai) {
				r = put_line(out, ' ', &ca);
				skip_to(&cb, cb.line + 1);
			}
			if (r == 0 && ed[j].t == '-')
				r = put_line(out, '-', &ca);
			else if (r == 0)
				r = put_line(out, '+', &cb);
		}
		while (r == 0 && ca.line < ae) {
			r = put_line(out, ' ', &ca);
			skip_to(&cb, cb.line + 1);
		}
		i = last + 1;
	}
	return r;
}

static size_t count_nl(const char *s, size_t from, size_t to)
{
	size_t n = 0;

	for (const char *p = s + from, *e = s + to;
	     (p = memchr(p, '\n', (size_t)(e - p))); p++)
		n++;
	return n;
}

/*
 * Trim what both files share at the start and the end, in whole lines,
 * on the bytes (no line table): @pre bytes and @pre_lines lines at the
 * start; the suffix starts at A's @sa and B's @sb.
 */
static void trim(const struct side *a, const struct side *b, size_t *pre,
		 size_t *sa, size_t *sb)
{
	size_t p = 0, q = 0, max = a->len < b->len ? a->len : b->len;

	while (p < max && a->s[p] == b->s[p])
		p++;
	if (p == a->len && p == b->len) {
		*pre = *sa = *sb = p;
		return;
	}
	/* Back to the end of the last whole line both share. */
	while (p > 0 && a->s[p - 1] != '\n')
		p--;
	*pre = p;
	while (q < a->len - p && q < b->len - p &&
	       a->s[a->len - 1 - q] == b->s[b->len - 1 - q])
		q++;
	*sa = a->len - q;
	*sb = b->len - q;
	/* Forward to a line start in both. */
	while (*sa < a->len && !((*sa == p || a->s[*sa - 1] == '\n') &&
				 (*sb == p || b->s[*sb - 1] == '\n'))) {
		(*sa)++;
		(*sb)++;
	}
}

int mlfs_text_udiff(const char *a, size_t alen, const char *b, size_t blen,
		    unsigned context, struct mlfs_buf *out, uint64_t *added,
		    uint64_t *removed)
{
	struct side A = { a, alen, NULL, 0 }, B = { b, blen, NULL, 0 };
	struct edit *ed = NULL;
	size_t pre, sa, sb, pre_lines, suf_lines, ned = 0;
	int r;

	*added = *removed = 0;
	if (alen >= TEXT_BYTES_MAX || blen >= TEXT_BYTES_MAX)
		return -E2BIG;
	trim(&A, &B, &pre, &sa, &sb);
	if (pre == alen && pre == blen)
		return 0;
	r = split_lines(&A, pre, sa);
	if (r == 0)
		r = split_lines(&B, pre, sb);
	if (r < 0)
		goto out;
	ed = malloc((A.n + B.n < TEXT_D_MAX ? A.n + B.n : TEXT_D_MAX) *
		    sizeof(*ed) + 1);
	if (!ed) {
		r = -ENOMEM;
		goto out;
	}
	pre_lines = count_nl(a, 0, pre);
	r = myers(&A, &B, pre_lines, ed, &ned);
	if (r < 0)
		goto out;
	suf_lines = count_nl(a, sa, alen) + (alen > sa && a[alen - 1] != '\n');
	for (size_t i = 0; i < ned; i++) {
		if (ed[i].t == '+')
			(*added)++;
		else
			(*removed)++;
	}
	r = emit_hunks(&A, &B, pre_lines + A.n + suf_lines,
		       pre_lines + B.n + suf_lines, ed, ned, context, out);
out:
	free(A.off);
	free(B.off);
	free(ed);
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
