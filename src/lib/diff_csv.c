/*
 * diff_csv.c - CSV/TSV diffs: header columns added, removed, reordered;
 * rows added, removed, changed, matched by a key column or as a multiset.
 * diff_csv_read.c turns each row into a 48-byte record, diff_csv_sort.c
 * sorts them by key hash in bounded memory (runs spilled and merged);
 * here groups of equal keys are scanned through cursors, and examples are
 * re-read from their offsets at the end, so memory stays bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "mlfs/store.h"
#include "mlfs/config.h"

#include "diff_csv.h"

/* Records in memory: one run (8 MiB), then as many again for the merge. */
#define RUN_RECS ((8u << 20) / sizeof(struct rowrec))
/* A group of equal keys up to this many records is scanned from memory;
 * a larger one (many rows of one key) is re-read from the sorted file. */
#define GROUP_RECS 4096u

/* ---- matching rows ------------------------------------------------ */

/* Returns whether @r was kept (a later offset would not be either). */
static bool ex_add(struct ex *e, const struct rowrec *r,
		   const struct rowrec *a)
{
	size_t i;
	uint64_t off = r->off & ~SIDE_BIT;

	if (e->max == 0)
		return false;
	if (e->n == e->max && (e->v[e->n - 1].off & ~SIDE_BIT) <= off)
		return false;
	if (e->n < e->max)
		e->n++;
	for (i = e->n - 1; i > 0 && (e->v[i - 1].off & ~SIDE_BIT) > off; i--) {
		e->v[i] = e->v[i - 1];
		if (e->pa)
			e->pa[i] = e->pa[i - 1];
	}
	e->v[i] = *r;
	if (e->pa && a)
		e->pa[i] = *a;
	return true;
}
/* Order of the names of field @i of @r and field @j of @q. */
static int name_cmp(const struct rd *r, size_t i, const struct rd *q,
		    size_t j)
{
	size_t la, lb;
	const char *a = csv_field(r, i, &la), *b = csv_field(q, j, &lb);
	int c = memcmp(a, b, la < lb ? la : lb);

	return c ? c : la < lb ? -1 : la > lb;
}

static long find_col(const struct rd *h, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < h->nf; i++) {
		size_t l;
		const char *f = csv_field(h, i, &l);

		if (l == nl && !memcmp(f, name, l))
			return (long)i;
	}
	return -1;
}

struct col {
	const struct rd *h;
	size_t i;
};

static int cmp_col(const void *x, const void *y)
{
	const struct col *a = x, *b = y;
	int c = name_cmp(a->h, a->i, b->h, b->i);

	return c ? c : a->i < b->i ? -1 : a->i > b->i;
}

/* Sorted (name, position) of @h's fields; NULL on -ENOMEM. */
static struct col *sorted_cols(const struct rd *h)
{
	struct col *v = malloc((h->nf ? h->nf : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < h->nf; i++)
		v[i] = (struct col){ h, i };
	if (h->nf > 1)
		qsort(v, h->nf, sizeof(*v), cmp_col);
	return v;
}

/*
 * Pair the header columns: the k-th column of a name in A with the k-th
 * of that name in B (so identical headers pair fully, duplicated names
 * included), through both headers sorted by name: O(n log n), where
 * headers have up to FIELDS_MAX fields. Fills ca/cb (in A's order) and
 * pa/pb (the partner of each column, or SIZE_MAX).
 */
static int columns(struct csv *x)
{
	const struct rd *a = &x->hdr[0], *b = &x->hdr[1];
	struct col *sa = sorted_cols(a), *sb = sorted_cols(b);
	size_t i = 0, j = 0, prev = 0;
	bool any = false;
	int e = -ENOMEM;

	x->ca = calloc(a->nf + 1, sizeof(*x->ca));
	x->cb = calloc(a->nf + 1, sizeof(*x->cb));
	x->pa = malloc((a->nf + 1) * sizeof(*x->pa));
	x->pb = malloc((b->nf + 1) * sizeof(*x->pb));
	if (!sa || !sb || !x->ca || !x->cb || !x->pa || !x->pb)
		goto out;
	for (size_t k = 0; k < a->nf; k++)
		x->pa[k] = SIZE_MAX;
	for (size_t k = 0; k < b->nf; k++)
		x->pb[k] = SIZE_MAX;
	while (i < a->nf && j < b->nf) {
		int c = name_cmp(a, sa[i].i, b, sb[j].i);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			x->pa[sa[i].i] = sb[j].i;
			x->pb[sb[j].i] = sa[i].i;
			i++;
			j++;
		}
	}
	for (size_t k = 0; k < a->nf; k++) {
		if (x->pa[k] == SIZE_MAX) {
			x->res.cols_removed++;
			continue;
		}
		x->ca[x->ncommon] = k;
		x->cb[x->ncommon] = x->pa[k];
		if (any && x->pa[k] < prev)
			x->res.cols_reordered = true;
		prev = x->pa[k];
		any = true;
		x->ncommon++;
	}
	x->res.cols_added = b->nf - x->ncommon;
	e = 0;
out:
	free(sa);
	free(sb);
	return e;
}

/* Offer records [at, at + n) of @s as examples to @e, in offset order,
 * until one is refused (every later one would be). */
static int offer(struct ex *e, const struct rsrc *s, uint64_t at, uint64_t n)
{
	struct rcur c;
	struct rowrec r;
	int k;

	if (e->max == 0 || n == 0)
		return 0;
	k = csv_rcur_init(&c, s, at, at + n, e->max);
	while (k == 0 && (k = csv_rcur_next(&c, &r)) > 0)
		k = ex_add(e, &r, NULL) ? 0 : 1;
	csv_rcur_release(&c);
	return k < 0 ? k : 0;
}

/* Key mode: the i-th row of a key in A pairs with the i-th in B. */
static int pair_group(struct csv *x, const struct rsrc *s, uint64_t g0,
		      uint64_t na, uint64_t nb)
{
	uint64_t m = na < nb ? na : nb;
	struct rcur ca, cb;
	int e, ka = 1, kb = 1;

	if (na > 1)
		x->res.dup_keys_a += na - 1;
	if (nb > 1)
		x->res.dup_keys_b += nb - 1;
	e = csv_rcur_init(&ca, s, g0, g0 + m, 512);
	if (e == 0)
		e = csv_rcur_init(&cb, s, g0 + na, g0 + na + m, 512);
	else
		memset(&cb, 0, sizeof(cb));
	for (uint64_t i = 0; e == 0 && i < m; i++) {
		struct rowrec ra, rb;

		ka = csv_rcur_next(&ca, &ra);
		kb = ka > 0 ? csv_rcur_next(&cb, &rb) : ka;
		if (ka <= 0 || kb <= 0) {
			e = ka < 0 ? ka : kb < 0 ? kb : -EIO;
			break;
		}
		if (ra.h[0] == rb.h[0] && ra.h[1] == rb.h[1]) {
			x->res.rows_same++;
		} else {
			x->res.rows_changed++;
			ex_add(&x->ex_ch, &rb, &ra);
		}
	}
	csv_rcur_release(&ca);
	csv_rcur_release(&cb);
	x->res.rows_removed += na - m;
	x->res.rows_added += nb - m;
	if (e == 0)
		e = offer(&x->ex_rm, s, g0 + m, na - m);
	if (e == 0)
		e = offer(&x->ex_add, s, g0 + na + m, nb - m);
	return e;
}

/* Records [g0, g0 + na + nb) of @s share a key: na of A, then nb of B. */
static int scan_group(struct csv *x, const struct rsrc *s, uint64_t g0,
		      uint64_t na, uint64_t nb)
{
	if (x->key[0] >= 0)
		return pair_group(x, s, g0, na, nb);
	/* Multiset: the surplus occurrences (the last ones) are the change. */
	if (na > nb) {
		x->res.rows_removed += na - nb;
		x->res.rows_same += nb;
		return offer(&x->ex_rm, s, g0 + nb, na - nb);
	}
	x->res.rows_added += nb - na;
	x->res.rows_same += na;
	return offer(&x->ex_add, s, g0 + na + na, nb - na);
}

/*
 * Walk the sorted records by groups of equal key. From memory a group is
 * scanned in place; from the merged file a group is collected into @g
 * while it is small, else (a key on very many rows) re-read from the file
 * by scan_group's cursors.
 */
static int scan_groups(struct csv *x, const struct rsrc *s)
{
	size_t gmax = x->run_max < GROUP_RECS ? x->run_max : GROUP_RECS;
	struct rowrec *g = NULL, r;
	uint64_t g0 = 0, na = 0, nb = 0, i = 0;
	struct rcur c;
	int e, k;

	if (s->mem) {
		while (i < s->n) {
			uint64_t j = i, a = 0;

			while (j < s->n && s->mem[j].k[0] == s->mem[i].k[0] &&
			       s->mem[j].k[1] == s->mem[i].k[1]) {
				a += !(s->mem[j].off & SIDE_BIT);
				j++;
			}
			e = scan_group(x, s, i, a, j - i - a);
			if (e < 0)
				return e;
			i = j;
		}
		return 0;
	}
	g = malloc(gmax * sizeof(*g));
	e = g ? csv_rcur_init(&c, s, 0, s->n, GROUP_RECS) : -ENOMEM;
	if (e < 0) {
		free(g);
		return e;
	}
	for (;;) {
		k = csv_rcur_next(&c, &r);
		if (k < 0) {
			e = k;
			break;
		}
		if (na + nb && (k == 0 || r.k[0] != g[0].k[0] ||
				r.k[1] != g[0].k[1])) {
			/* The group [g0, i) ends here. */
			if (na + nb <= gmax) {
				struct rsrc m = { g, -1, na + nb };

				e = scan_group(x, &m, 0, na, nb);
			} else {
				e = scan_group(x, s, g0, na, nb);
			}
			if (e < 0)
				break;
			g0 = i;
			na = nb = 0;
		}
		if (k == 0)
			break;
		if (na + nb < gmax)
			g[na + nb] = r; /* g[0] holds the group's key */
		if (r.off & SIDE_BIT)
			nb++;
		else
			na++;
		i++;
	}
	csv_rcur_release(&c);
	free(g);
	return e;
}

/* ---- output ------------------------------------------------------ */

/* Append field text, escaped for one line and cut at 80 bytes: \n, \t,
 * \r and octal for other control bytes (a field cannot move the cursor
 * or fake a line of the report). */
static int say_field(struct mlfs_buf *b, const char *f, size_t l)
{
	size_t n = l > 80 ? 80 : l;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned char c = (unsigned char)f[i];
		char oct[5];

		if (c == '\n')
			r = mlfs_buf_append(b, "\\n", 2);
		else if (c == '\t')
			r = mlfs_buf_append(b, "\\t", 2);
		else if (c == '\r')
			r = mlfs_buf_append(b, "\\r", 2);
		else if (c < 0x20 || c == 0x7f)
			r = mlfs_buf_append(b, oct, (size_t)snprintf(oct,
					    sizeof(oct), "\\%03o", c));
		else
			r = mlfs_buf_append(b, &f[i], 1);
	}
	if (r == 0 && l > n)
		r = mlfs_buf_append(b, "...", 3);
	return r;
}

static int show_row(struct csv *x, struct mlfs_jw *w, struct mlfs_buf *t,
		    int side, const struct rowrec *rec)
{
	const struct rd *h = &x->hdr[side];
	struct rd r;
	int e = csv_read_row(x, side, rec->off & ~SIDE_BIT, &r);

	if (e < 0)
		goto out;
	mlfs_jw_obj(w);
	mlfs_jw_key(w, "line");
	mlfs_jw_u64(w, rec->line);
	mlfs_jw_key(w, "row");
	mlfs_jw_obj(w);
	e = mlfs_buf_printf(t, "%c line %" PRIu64 ":", side ? '+' : '-',
			    rec->line);
	for (size_t i = 0; i < r.nf && e == 0; i++) {
		size_t hl, l;
		const char *hn = csv_field(h, i, &hl);
		const char *f = csv_field(&r, i, &l);
		char *k = strndup(hn, hl);

		if (!k) {
			e = -ENOMEM;
			break;
		}
		mlfs_jw_key(w, i < h->nf ? k : "");
		mlfs_jw_strn(w, f, l);
		free(k);
		e = mlfs_buf_printf(t, "%s", i ? "," : " ");
		if (e == 0)
			e = say_field(t, f, l);
	}
	mlfs_jw_obj_end(w);
	mlfs_jw_obj_end(w);
	if (e == 0)
		e = mlfs_buf_printf(t, "\n");
out:
	csv_rd_release(&r);
	return e;
}

static int show_changed(struct csv *x, struct mlfs_jw *w, struct mlfs_buf *t,
			const struct rowrec *rb, const struct rowrec *ra)
{
	struct rd a, b;
	size_t kl;
	const char *kv;
	int e;

	memset(&b, 0, sizeof(b));
	e = csv_read_row(x, 0, ra->off & ~SIDE_BIT, &a);
	if (e == 0)
		e = csv_read_row(x, 1, rb->off & ~SIDE_BIT, &b);
	if (e < 0)
		goto out;
	kv = csv_field(&b, (size_t)x->key[1], &kl);
	mlfs_jw_obj(w);
	mlfs_jw_key(w, "key");
	mlfs_jw_strn(w, kv, kl);
	mlfs_jw_key(w, "line_a");
	mlfs_jw_u64(w, ra->line);
	mlfs_jw_key(w, "line_b");
	mlfs_jw_u64(w, rb->line);
	mlfs_jw_key(w, "columns");
	mlfs_jw_obj(w);
	e = mlfs_buf_printf(t, "~ ");
	if (e == 0) {
		size_t hl;
		const char *hn = csv_field(&x->hdr[1], (size_t)x->key[1], &hl);

		e = say_field(t, hn, hl);
		if (e == 0)
			e = mlfs_buf_printf(t, "=");
		if (e == 0)
			e = say_field(t, kv, kl);
		if (e == 0)
			e = mlfs_buf_printf(t, " (line %" PRIu64 " -> %"
					    PRIu64 "):", ra->line, rb->line);
	}
	for (size_t i = 0; i < x->ncommon && e == 0; i++) {
		size_t la, lb, hl;
		const char *fa = csv_field(&a, x->ca[i], &la);
		const char *fb = csv_field(&b, x->cb[i], &lb);
		const char *hn = csv_field(&x->hdr[0], x->ca[i], &hl);
		char *k;

		if (la == lb && !memcmp(fa, fb, la))
			continue;
		k = strndup(hn, hl);
		if (!k) {
			e = -ENOMEM;
			break;
		}
		mlfs_jw_key(w, k);
		free(k);
		mlfs_jw_obj(w);
		mlfs_jw_key(w, "old");
		mlfs_jw_strn(w, fa, la);
		mlfs_jw_key(w, "new");
		mlfs_jw_strn(w, fb, lb);
		mlfs_jw_obj_end(w);
		e = mlfs_buf_printf(t, " ");
		if (e == 0)
			e = say_field(t, hn, hl);
		if (e == 0)
			e = mlfs_buf_printf(t, ": ");
		if (e == 0)
			e = say_field(t, fa, la);
		if (e == 0)
			e = mlfs_buf_printf(t, " -> ");
		if (e == 0)
			e = say_field(t, fb, lb);
	}
	mlfs_jw_obj_end(w);
	mlfs_jw_obj_end(w);
	if (e == 0)
		e = mlfs_buf_printf(t, "\n");
out:
	csv_rd_release(&a);
	csv_rd_release(&b);
	return e;
}

/* The columns of @h without a partner (@p: their partners). */
static void jw_cols(struct mlfs_jw *w, const struct rd *h, const size_t *p)
{
	mlfs_jw_arr(w);
	for (size_t i = 0; i < h->nf; i++) {
		size_t l;
		const char *f = csv_field(h, i, &l);

		if (p[i] == SIZE_MAX)
			mlfs_jw_strn(w, f, l);
	}
	mlfs_jw_arr_end(w);
}

static int say_cols(struct mlfs_buf *t, char sign, const struct rd *h,
		    const size_t *p)
{
	int e = 0;

	for (size_t i = 0; i < h->nf && e == 0; i++) {
		size_t l;
		const char *f = csv_field(h, i, &l);

		if (p[i] != SIZE_MAX)
			continue;
		e = mlfs_buf_printf(t, "%c column ", sign);
		if (e == 0)
			e = say_field(t, f, l);
		if (e == 0)
			e = mlfs_buf_printf(t, "\n");
	}
	return e;
}

static int report(struct csv *x, const struct mlfs_diff_content_opts *o,
		  struct mlfs_diff_out *out)
{
	struct mlfs_csv_result *s = &x->res;
	struct mlfs_buf *t = &out->text;
	struct mlfs_jw w;
	int e;

	mlfs_jw_init(&w, &out->json);
	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "format");
	mlfs_jw_str(&w, x->delim[1] == '\t' ? "tsv" : "csv");
	mlfs_jw_key(&w, "key");
	mlfs_jw_str(&w, x->key[0] >= 0 ? o->key : NULL);
	mlfs_jw_key(&w, "columns_added");
	jw_cols(&w, &x->hdr[1], x->pb);
	mlfs_jw_key(&w, "columns_removed");
	jw_cols(&w, &x->hdr[0], x->pa);
	mlfs_jw_key(&w, "columns_reordered");
	mlfs_jw_bool(&w, s->cols_reordered);
	mlfs_jw_key(&w, "rows_a");
	mlfs_jw_u64(&w, s->rows_a);
	mlfs_jw_key(&w, "rows_b");
	mlfs_jw_u64(&w, s->rows_b);
	mlfs_jw_key(&w, "rows_added");
	mlfs_jw_u64(&w, s->rows_added);
	mlfs_jw_key(&w, "rows_removed");
	mlfs_jw_u64(&w, s->rows_removed);
	mlfs_jw_key(&w, "rows_changed");
	mlfs_jw_u64(&w, s->rows_changed);
	mlfs_jw_key(&w, "rows_unchanged");
	mlfs_jw_u64(&w, s->rows_same);
	mlfs_jw_key(&w, "ragged_rows_a");
	mlfs_jw_u64(&w, s->ragged_a);
	mlfs_jw_key(&w, "ragged_rows_b");
	mlfs_jw_u64(&w, s->ragged_b);
	mlfs_jw_key(&w, "duplicate_keys_a");
	mlfs_jw_u64(&w, s->dup_keys_a);
	mlfs_jw_key(&w, "duplicate_keys_b");
	mlfs_jw_u64(&w, s->dup_keys_b);

	e = say_cols(t, '+', &x->hdr[1], x->pb);
	if (e == 0)
		e = say_cols(t, '-', &x->hdr[0], x->pa);
	if (e == 0 && s->cols_reordered)
		e = mlfs_buf_printf(t, "columns reordered\n");
	if (e == 0 && o->key && x->key[0] < 0)
		e = mlfs_buf_printf(t, "key column '%s' is not in both "
				    "headers: rows compared by content\n",
				    o->key);
	for (int side = 0; side < 2 && e == 0; side++)
		if (side ? s->ragged_b : s->ragged_a)
			e = mlfs_buf_printf(t, "%s version: %" PRIu64
					    " rows with a wrong field count "
					    "(first: line %" PRIu64 ", %zu "
					    "fields, header has %zu)\n",
					    side ? "new" : "old",
					    side ? s->ragged_b : s->ragged_a,
					    x->ragged_line[side],
					    x->ragged_nf[side],
					    x->hdr[side].nf);
	for (int side = 0; side < 2 && e == 0; side++)
		if (side ? s->dup_keys_b : s->dup_keys_a)
			e = mlfs_buf_printf(t, "%s version: %" PRIu64
					    " rows repeat a key\n",
					    side ? "new" : "old",
					    side ? s->dup_keys_b :
						   s->dup_keys_a);
	if (e == 0)
		e = mlfs_buf_printf(t, "rows: %" PRIu64 " -> %" PRIu64
				    ": %" PRIu64 " added, %" PRIu64
				    " removed, %" PRIu64 " changed, %" PRIu64
				    " unchanged%s\n", s->rows_a, s->rows_b,
				    s->rows_added, s->rows_removed,
				    s->rows_changed, s->rows_same,
				    x->key[0] >= 0 ? " (by key)" :
				    " (as a multiset of rows)");

	mlfs_jw_key(&w, "examples");
	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "added");
	mlfs_jw_arr(&w);
	for (size_t i = 0; i < x->ex_add.n && e == 0; i++)
		e = show_row(x, &w, t, 1, &x->ex_add.v[i]);
	mlfs_jw_arr_end(&w);
	mlfs_jw_key(&w, "removed");
	mlfs_jw_arr(&w);
	for (size_t i = 0; i < x->ex_rm.n && e == 0; i++)
		e = show_row(x, &w, t, 0, &x->ex_rm.v[i]);
	mlfs_jw_arr_end(&w);
	mlfs_jw_key(&w, "changed");
	mlfs_jw_arr(&w);
	for (size_t i = 0; i < x->ex_ch.n && e == 0; i++)
		e = show_changed(x, &w, t, &x->ex_ch.v[i], &x->ex_ch.pa[i]);
	mlfs_jw_arr_end(&w);
	mlfs_jw_obj_end(&w);
	mlfs_jw_obj_end(&w);
	out->equal = !s->rows_added && !s->rows_removed && !s->rows_changed &&
		     !s->cols_added && !s->cols_removed && !s->cols_reordered;
	return e ? e : w.err;
}

int csv_diff_runs(const struct mlfs_diff_src *a, const struct mlfs_diff_src *b,
		  const struct mlfs_diff_content_opts *o,
		  struct mlfs_diff_out *out, struct mlfs_csv_result *res,
		  size_t run_max)
{
	struct csv *x = calloc(1, sizeof(*x));
	XXH3_state_t *st = XXH3_createState();
	struct rsrc sorted;
	int e = -ENOMEM;

	if (!x || !st)
		goto out;
	out->format = "csv";
	x->src[0] = a;
	x->src[1] = b;
	/* Stored files: the store's key. Memory sources have none: a fresh
	 * random one (nothing in the result depends on its value). */
	if (a->store) {
		x->hkey = &mlfs_store_config(a->store)->key;
	} else {
		e = mlfs_random_bytes(&x->own_key, sizeof(x->own_key));
		if (e < 0)
			goto out;
		x->hkey = &x->own_key;
	}
	for (int side = 0; side < 2; side++) {
		x->delim[side] = csv_detect_delim(x->src[side]);
		e = csv_rd_init(&x->hdr[side], x->src[side], x->delim[side], 0);
		if (e < 0)
			goto out;
		e = csv_rd_next(&x->hdr[side], x->err, sizeof(x->err));
		if (e == 0) {
			snprintf(x->err, sizeof(x->err), "no header row");
			e = -EBADMSG;
		}
		if (e == -EBADMSG || e == -E2BIG) {
			snprintf(out->err, sizeof(out->err), "%s version: %s",
				 side ? "new" : "old", x->err);
			goto out;
		}
		if (e < 0)
			goto out;
		/* The header record stays; its block buffer is not needed. */
		free(x->hdr[side].buf);
		x->hdr[side].buf = NULL;
	}
	e = columns(x);
	if (e < 0)
		goto out;
	x->key[0] = x->key[1] = -1;
	if (o->key) {
		x->key[0] = find_col(&x->hdr[0], o->key);
		x->key[1] = find_col(&x->hdr[1], o->key);
		if (x->key[0] < 0 || x->key[1] < 0)
			x->key[0] = x->key[1] = -1;
	}
	x->ex_add.max = x->ex_rm.max = x->ex_ch.max = o->max_examples;
	if (o->max_examples) {
		x->ex_add.v = calloc(o->max_examples, sizeof(struct rowrec));
		x->ex_rm.v = calloc(o->max_examples, sizeof(struct rowrec));
		x->ex_ch.v = calloc(o->max_examples, sizeof(struct rowrec));
		x->ex_ch.pa = calloc(o->max_examples, sizeof(struct rowrec));
		if (!x->ex_add.v || !x->ex_rm.v || !x->ex_ch.v ||
		    !x->ex_ch.pa) {
			e = -ENOMEM;
			goto out;
		}
	}
	x->run_max = run_max ? run_max : 1;
	e = csv_scan_side(x, 0, st);
	if (e == 0)
		e = csv_scan_side(x, 1, st);
	if (e == -EBADMSG || e == -E2BIG)
		memcpy(out->err, x->err, sizeof(out->err) < sizeof(x->err) ?
		       sizeof(out->err) : sizeof(x->err));
	if (e < 0)
		goto out;
	e = csv_sort_all(x, &sorted);
	if (e == 0)
		e = scan_groups(x, &sorted);
	if (e < 0)
		goto out;
	x->res.cols_added = x->hdr[1].nf - x->ncommon;
	e = report(x, o, out);
	if (res)
		*res = x->res;
out:
	if (x) {
		csv_sort_release(x);
		csv_rd_release(&x->hdr[0]);
		csv_rd_release(&x->hdr[1]);
		free(x->ca);
		free(x->cb);
		free(x->pa);
		free(x->pb);
		free(x->ex_add.v);
		free(x->ex_rm.v);
		free(x->ex_ch.v);
		free(x->ex_ch.pa);
		free(x);
	}
	XXH3_freeState(st);
	return e;
}

int mlfs_csv_diff(const struct mlfs_diff_src *a, const struct mlfs_diff_src *b,
		  const struct mlfs_diff_content_opts *o,
		  struct mlfs_diff_out *out, struct mlfs_csv_result *res)
{
	return csv_diff_runs(a, b, o, out, res, RUN_RECS);
}

static int csv_diff(const struct mlfs_diff_src *a,
		    const struct mlfs_diff_src *b,
		    const struct mlfs_diff_content_opts *o,
		    struct mlfs_diff_out *out)
{
	return mlfs_csv_diff(a, b, o, out, NULL);
}

static int csv_detect(const char *path, const uint8_t *head, size_t len,
		      uint64_t size)
{
	size_t pl = strlen(path);

	(void)head;
	(void)len;
	(void)size;
	if (pl >= 4 && (!strcmp(path + pl - 4, ".csv") ||
			!strcmp(path + pl - 4, ".tsv") ||
			!strcmp(path + pl - 4, ".tab")))
		return 1;
	return 0;
}

const struct mlfs_diff_format mlfs_diff_format_csv = {
	.name = "csv",
	.detect = csv_detect,
	.diff = csv_diff,
};
