/*
 * diff_csv_sort.c - the CSV diff's row records in bounded memory: rows
 * collect in a run of at most run_max records; a full run is sorted and
 * spilled to a temporary file; at the end the runs are merged, each read
 * through a small buffer, into one sorted file. Inputs whose records fit
 * one run never touch the disk. Readers take records from either through
 * a cursor (struct rcur), so memory never depends on the number of rows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff_csv.h"

#define OUT_RECS 4096u   /* merge output buffer */
#define CUR_MIN 64u      /* smallest buffer of one run's cursor */

int csv_cmp_rec(const void *x, const void *y)
{
	const struct rowrec *a = x, *b = y;

	if (a->k[0] != b->k[0])
		return a->k[0] < b->k[0] ? -1 : 1;
	if (a->k[1] != b->k[1])
		return a->k[1] < b->k[1] ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

static int pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = pwrite(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pread_all(int fd, void *p, size_t len, uint64_t off)
{
	uint8_t *b = p;

	while (len) {
		ssize_t n = pread(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* our own file got shorter */
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* ---- cursors ------------------------------------------------------ */

int csv_rcur_init(struct rcur *c, const struct rsrc *s, uint64_t at,
		  uint64_t end, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->at = at;
	c->end = end < s->n ? end : s->n;
	if (s->mem)
		return 0;
	c->cap = cap ? cap : 1;
	c->buf = malloc(c->cap * sizeof(*c->buf));
	return c->buf ? 0 : -ENOMEM;
}

int csv_rcur_next(struct rcur *c, struct rowrec *out)
{
	if (c->pos == c->have) {
		uint64_t left = c->end - c->at;
		size_t n = left < c->cap ? (size_t)left : c->cap;
		int e;

		if (c->at >= c->end)
			return 0;
		if (c->s->mem) {
			*out = c->s->mem[c->at++];
			return 1;
		}
		e = pread_all(c->s->fd, c->buf, n * sizeof(*c->buf),
			      c->at * sizeof(*c->buf));
		if (e < 0)
			return e;
		c->at += n;
		c->have = n;
		c->pos = 0;
	}
	*out = c->buf[c->pos++];
	return 1;
}

void csv_rcur_release(struct rcur *c)
{
	free(c->buf);
	c->buf = NULL;
}

/* ---- runs --------------------------------------------------------- */

static int spill_run(struct csv *x)
{
	uint64_t *nr;
	int e;

	if (!x->spill) {
		x->spill = tmpfile();
		if (!x->spill)
			return -errno;
	}
	if (x->nrun > 1)
		qsort(x->run, x->nrun, sizeof(*x->run), csv_cmp_rec);
	e = pwrite_all(fileno(x->spill), x->run, x->nrun * sizeof(*x->run),
		       x->nspilled * sizeof(*x->run));
	if (e < 0)
		return e;
	nr = realloc(x->runs, (x->nruns + 2) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	x->runs = nr;
	x->runs[x->nruns++] = x->nspilled;
	x->nspilled += x->nrun;
	x->runs[x->nruns] = x->nspilled;
	x->nrun = 0;
	return 0;
}

int csv_put_rec(struct csv *x, const struct rowrec *r)
{
	if (x->nrun == x->run_cap) {
		size_t nc = x->run_cap ? x->run_cap * 2 : 1024;
		struct rowrec *nv;
		int e;

		if (nc > x->run_max)
			nc = x->run_max;
		if (x->nrun == nc) {
			/* Full at its limit: to disk, and start over. */
			e = spill_run(x);
			if (e < 0)
				return e;
		} else {
			nv = realloc(x->run, nc * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			x->run = nv;
			x->run_cap = nc;
		}
	}
	x->run[x->nrun++] = *r;
	return 0;
}

/* A binary min-heap of run indices, by each run's current record. */
struct merge {
	struct rcur *cur;
	struct rowrec *head;
	size_t *heap, n;
};

static bool heap_less(const struct merge *m, size_t a, size_t b)
{
	return csv_cmp_rec(&m->head[m->heap[a]], &m->head[m->heap[b]]) < 0;
}

static void heap_down(struct merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i, t;

		if (l < m->n && heap_less(m, l, s))
			s = l;
		if (r < m->n && heap_less(m, r, s))
			s = r;
		if (s == i)
			return;
		t = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = t;
		i = s;
	}
}

/* Merge the spilled runs into x->merged, in order. */
static int merge_runs(struct csv *x, const struct rsrc *spill)
{
	struct merge m = { NULL, NULL, NULL, 0 };
	size_t k = x->nruns, each = x->run_max / (k ? k : 1), nout = 0;
	struct rowrec *out = malloc(OUT_RECS * sizeof(*out));
	uint64_t written = 0;
	int e = -ENOMEM;

	if (each < CUR_MIN)
		each = CUR_MIN;
	m.cur = calloc(k, sizeof(*m.cur));
	m.head = calloc(k, sizeof(*m.head));
	m.heap = calloc(k, sizeof(*m.heap));
	if (!out || !m.cur || !m.head || !m.heap)
		goto out;
	x->merged = tmpfile();
	if (!x->merged) {
		e = -errno;
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		e = csv_rcur_init(&m.cur[i], spill, x->runs[i], x->runs[i + 1],
				  each);
		if (e == 0)
			e = csv_rcur_next(&m.cur[i], &m.head[i]);
		if (e < 0)
			goto out;
		if (e > 0)
			m.heap[m.n++] = i;
	}
	for (size_t i = m.n / 2; i-- > 0;)
		heap_down(&m, i);
	while (m.n) {
		size_t top = m.heap[0];

		out[nout++] = m.head[top];
		if (nout == OUT_RECS) {
			e = pwrite_all(fileno(x->merged), out,
				       nout * sizeof(*out),
				       written * sizeof(*out));
			if (e < 0)
				goto out;
			written += nout;
			nout = 0;
		}
		e = csv_rcur_next(&m.cur[top], &m.head[top]);
		if (e < 0)
			goto out;
		if (e == 0)
			m.heap[0] = m.heap[--m.n];
		heap_down(&m, 0);
	}
	e = pwrite_all(fileno(x->merged), out, nout * sizeof(*out),
		       written * sizeof(*out));
out:
	for (size_t i = 0; m.cur && i < k; i++)
		csv_rcur_release(&m.cur[i]);
	free(m.cur);
	free(m.head);
	free(m.heap);
	free(out);
	return e;
}

int csv_sort_all(struct csv *x, struct rsrc *out)
{
	struct rsrc spill;
	int e;

	if (!x->spill) {
		if (x->nrun > 1)
			qsort(x->run, x->nrun, sizeof(*x->run), csv_cmp_rec);
		*out = (struct rsrc){ x->run, -1, x->nrun };
		return 0;
	}
	if (x->nrun) {
		e = spill_run(x);
		if (e < 0)
			return e;
	}
	/* The run's memory goes to the merge's buffers. */
	free(x->run);
	x->run = NULL;
	x->run_cap = 0;
	spill = (struct rsrc){ NULL, fileno(x->spill), x->nspilled };
	e = merge_runs(x, &spill);
	if (e < 0)
		return e;
	fclose(x->spill);
	x->spill = NULL;
	*out = (struct rsrc){ NULL, fileno(x->merged), x->nspilled };
	return 0;
}

void csv_sort_release(struct csv *x)
{
	free(x->run);
	free(x->runs);
	if (x->spill)
		fclose(x->spill);
	if (x->merged)
		fclose(x->merged);
	x->run = NULL;
	x->runs = NULL;
	x->spill = x->merged = NULL;
}
