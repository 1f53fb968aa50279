/*
 * diff_binary.c - the content diff of last resort: sizes before and after
 * and the byte ranges of the new version that are new data. For stored
 * files the ranges come from the chunk lists alone (chunks of B whose id
 * is not among A's), so nothing is read; memory sources (tests) compare
 * 4 KiB blocks at equal offsets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/store.h" /* content.h needs struct mlfs_chunk declared */
#include "mlfs/content.h"
#include "mlfs/diff.h"
#include "mlfs/idset.h"

#define BLOCK 4096u

struct ranges {
	struct mlfs_jw *w;
	struct mlfs_buf *text;
	uint64_t count, bytes;
	size_t max;
	uint64_t start, end; /* pending range, end == 0: none */
	int err;
};

static void range_flush(struct ranges *g)
{
	char line[96];
	int n;

	if (g->end == 0)
		return;
	g->bytes += g->end - g->start;
	if (g->count++ < g->max) {
		mlfs_jw_arr(g->w);
		mlfs_jw_u64(g->w, g->start);
		mlfs_jw_u64(g->w, g->end);
		mlfs_jw_arr_end(g->w);
		n = snprintf(line, sizeof(line), "  new bytes [%" PRIu64
			     ", %" PRIu64 ")\n", g->start, g->end);
		if (!g->err)
			g->err = mlfs_buf_append(g->text, line, (size_t)n);
	}
	g->end = 0;
}

static void range_add(struct ranges *g, uint64_t start, uint64_t end)
{
	if (g->end && start == g->end) {
		g->end = end;
		return;
	}
	range_flush(g);
	g->start = start;
	g->end = end;
}

static int ranges_from_chunks(const struct mlfs_content *a,
			      const struct mlfs_content *b, struct ranges *g)
{
	struct mlfs_idset set = MLFS_IDSET_INIT;
	int r = 0;

	for (size_t i = 0; i < a->n && r >= 0; i++)
		r = mlfs_idset_add(&set, &a->ids[i], 0, NULL);
	if (r < 0)
		goto out;
	r = 0;
	for (size_t i = 0; i < b->n; i++)
		if (!mlfs_idset_get(&set, &b->ids[i]))
			range_add(g, b->offs[i], b->offs[i + 1]);
	range_flush(g);
out:
	mlfs_idset_release(&set);
	return r;
}

static int ranges_from_bytes(const struct mlfs_diff_src *a,
			     const struct mlfs_diff_src *b, struct ranges *g)
{
	uint8_t *ba = malloc(BLOCK), *bb = malloc(BLOCK);
	int r = -ENOMEM;

	if (!ba || !bb)
		goto out;
	for (uint64_t off = 0; off < b->size; off += BLOCK) {
		size_t nb = b->size - off < BLOCK ?
			    (size_t)(b->size - off) : BLOCK;
		size_t na = off >= a->size ? 0 : a->size - off < BLOCK ?
			    (size_t)(a->size - off) : BLOCK;

		r = mlfs_diff_src_read(b, bb, nb, off);
		if (r == 0 && na)
			r = mlfs_diff_src_read(a, ba, na, off);
		if (r < 0)
			goto out;
		if (na != nb || memcmp(ba, bb, nb))
			range_add(g, off, off + nb);
	}
	range_flush(g);
	r = 0;
out:
	free(ba);
	free(bb);
	return r;
}

static int binary_diff(const struct mlfs_diff_src *a,
		       const struct mlfs_diff_src *b,
		       const struct mlfs_diff_content_opts *o,
		       struct mlfs_diff_out *out)
{
	struct mlfs_jw w;
	struct ranges g;
	char line[160];
	int r, n;

	out->format = "binary";
	mlfs_jw_init(&w, &out->json);
	memset(&g, 0, sizeof(g));
	g.w = &w;
	g.text = &out->text;
	g.max = o->max_examples;
	n = snprintf(line, sizeof(line),
		     "size %" PRIu64 " -> %" PRIu64 " bytes\n",
		     a->size, b->size);
	r = mlfs_buf_append(&out->text, line, (size_t)n);
	if (r < 0)
		return r;
	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "format");
	mlfs_jw_str(&w, "binary");
	mlfs_jw_key(&w, "size_a");
	mlfs_jw_u64(&w, a->size);
	mlfs_jw_key(&w, "size_b");
	mlfs_jw_u64(&w, b->size);
	mlfs_jw_key(&w, "new_ranges");
	mlfs_jw_arr(&w);
	if (a->content && b->content)
		r = ranges_from_chunks(a->content, b->content, &g);
	else
		r = ranges_from_bytes(a, b, &g);
	if (r < 0)
		return r;
	mlfs_jw_arr_end(&w);
	mlfs_jw_key(&w, "new_range_count");
	mlfs_jw_u64(&w, g.count);
	mlfs_jw_key(&w, "new_bytes");
	mlfs_jw_u64(&w, g.bytes);
	mlfs_jw_obj_end(&w);
	if (g.count > g.max && !g.err) {
		n = snprintf(line, sizeof(line),
			     "  ... %" PRIu64 " more ranges\n",
			     g.count - g.max);
		g.err = mlfs_buf_append(&out->text, line, (size_t)n);
	}
	if (!g.err) {
		n = snprintf(line, sizeof(line), "%" PRIu64 " new bytes in %"
			     PRIu64 " ranges\n", g.bytes, g.count);
		g.err = mlfs_buf_append(&out->text, line, (size_t)n);
	}
	out->equal = a->size == b->size && g.count == 0;
	return g.err ? g.err : w.err;
}

static int binary_detect(const char *path, const uint8_t *head, size_t len,
			 uint64_t size)
{
	(void)path;
	(void)head;
	(void)len;
	(void)size;
	return 0; /* chosen only when nothing else fits */
}

const struct mlfs_diff_format mlfs_diff_format_binary = {
	.name = "binary",
	.detect = binary_detect,
	.diff = binary_diff,
};
