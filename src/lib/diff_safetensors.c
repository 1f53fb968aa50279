/*
 * diff_safetensors.c - tensor-level diffs of safetensors checkpoints (one
 * file, or a directory of shards with a *.safetensors.index.json).
 * Headers are read and checked by diff_safetensors_parse.c; offsets are
 * absolute from there on. A tensor whose byte range is covered by the
 * same chunks at the same relative position on both sides is unchanged
 * without reading.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/store.h" /* content.h needs struct mlfs_chunk declared */
#include "mlfs/content.h"
#include "mlfs/diff.h"
#include "mlfs/quote.h"
#include "mlfs/tree.h"

#include "diff_safetensors.h"

/* Compare in blocks this big: a multiple of every element size. */
#define CMP_BLOCK (1u << 20)
#define SHARDS_MAX 4096u

/* ---- element comparison ----------------------------------------- */

static double half_to_double(uint16_t h)
{
	int e = (h >> 10) & 0x1f;
	double m = h & 0x3ff, v;

	if (e == 0)
		v = ldexp(m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexp(m + 1024, e - 25);
	return h & 0x8000 ? -v : v;
}

static double f32_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static void cmp_elem(enum mlfs_st_dtype dt, const uint8_t *pa,
		     const uint8_t *pb, struct mlfs_st_cmp *c)
{
	double x, y, d;
	uint64_t ua, ub;
	int64_t sa, sb;

	switch (dt) {
	case MLFS_ST_F16:
		x = half_to_double((uint16_t)(pa[0] | pa[1] << 8));
		y = half_to_double((uint16_t)(pb[0] | pb[1] << 8));
		break;
	case MLFS_ST_BF16:
		x = f32_bits((uint32_t)(pa[0] | pa[1] << 8) << 16);
		y = f32_bits((uint32_t)(pb[0] | pb[1] << 8) << 16);
		break;
	case MLFS_ST_F32:
		x = f32_bits(mlfs_get_le32(pa));
		y = f32_bits(mlfs_get_le32(pb));
		break;
	case MLFS_ST_F64:
		ua = mlfs_get_le64(pa);
		ub = mlfs_get_le64(pb);
		memcpy(&x, &ua, sizeof(x));
		memcpy(&y, &ub, sizeof(y));
		break;
	case MLFS_ST_F8_E5M2:
	case MLFS_ST_F8_E4M3:
		/* Counted, but no magnitudes: no decoder for these. */
		c->nonfinite++;
		return;
	default:
		switch (dt) {
		case MLFS_ST_BOOL: case MLFS_ST_U8:
			ua = pa[0]; ub = pb[0]; break;
		case MLFS_ST_U16:
			ua = (uint64_t)(pa[0] | pa[1] << 8);
			ub = (uint64_t)(pb[0] | pb[1] << 8);
			break;
		case MLFS_ST_U32:
			ua = mlfs_get_le32(pa); ub = mlfs_get_le32(pb); break;
		case MLFS_ST_U64:
			ua = mlfs_get_le64(pa); ub = mlfs_get_le64(pb); break;
		default:
			if (dt == MLFS_ST_I8) {
				sa = (int8_t)pa[0]; sb = (int8_t)pb[0];
			} else if (dt == MLFS_ST_I16) {
				sa = (int16_t)(uint16_t)(pa[0] | pa[1] << 8);
				sb = (int16_t)(uint16_t)(pb[0] | pb[1] << 8);
			} else if (dt == MLFS_ST_I32) {
				sa = (int32_t)mlfs_get_le32(pa);
				sb = (int32_t)mlfs_get_le32(pb);
			} else {
				sa = (int64_t)mlfs_get_le64(pa);
				sb = (int64_t)mlfs_get_le64(pb);
			}
			/* Exact |a - b| in unsigned arithmetic. */
			d = (double)(sa > sb ? (uint64_t)sa - (uint64_t)sb :
				     (uint64_t)sb - (uint64_t)sa);
			goto add;
		}
		d = (double)(ua > ub ? ua - ub : ub - ua);
		goto add;
	}
	if (!isfinite(x) || !isfinite(y)) {
		c->nonfinite++;
		return;
	}
	d = fabs(x - y);
add:
	if (d > c->max_abs)
		c->max_abs = d;
	c->sum_abs += d;
}

/* Compare bytes [start, end) of the two tensors (element-aligned). */
static int cmp_span(const struct mlfs_diff_src *a,
		    const struct mlfs_diff_src *b,
		    enum mlfs_st_dtype dtype, uint64_t off_a, uint64_t off_b,
		    uint64_t start, uint64_t end, uint8_t *ba, uint8_t *bb,
		    struct mlfs_st_cmp *out)
{
	unsigned es = st_dtypes[dtype].size;

	for (uint64_t done = start; done < end; done += CMP_BLOCK) {
		size_t n = end - done < CMP_BLOCK ? (size_t)(end - done) :
			   CMP_BLOCK;
		int r = mlfs_diff_src_read(a, ba, n, off_a + done);

		if (r == 0)
			r = mlfs_diff_src_read(b, bb, n, off_b + done);
		if (r < 0)
			return r;
		out->bytes_read += 2 * (uint64_t)n;
		if (!memcmp(ba, bb, n))
			continue;
		for (size_t i = 0; i < n; i += es) {
			if (!memcmp(ba + i, bb + i, es))
				continue;
			out->ndiff++;
			cmp_elem(dtype, ba + i, bb + i, out);
		}
	}
	return 0;
}

/* Is B's chunk @j matched by the same chunk at the same distance from
 * the tensor start in A? Then its bytes need no reading. */
static bool chunk_proven(const struct mlfs_content *ca,
			 const struct mlfs_content *cb, size_t j,
			 uint64_t off_a, uint64_t off_b)
{
	uint64_t bs = cb->offs[j], apos;
	size_t i;

	if (off_a >= off_b) {
		apos = bs + (off_a - off_b);
	} else {
		if (bs < off_b - off_a)
			return false;
		apos = bs - (off_b - off_a);
	}
	if (apos >= ca->size)
		return false;
	i = mlfs_content_chunk_index(ca, apos);
	return ca->offs[i] == apos &&
	       !memcmp(&ca->ids[i], &cb->ids[j], sizeof(ca->ids[0]));
}

/*
 * Element-wise comparison. With chunk lists on both sides, B's chunks
 * that sit at the same place relative to the tensor as an identical
 * chunk of A are skipped: only the rest (typically the chunks at the
 * tensor's edges, plus changed ones) is read.
 */
int mlfs_st_compare(const struct mlfs_diff_src *a,
		    const struct mlfs_diff_src *b,
		    enum mlfs_st_dtype dtype, uint64_t nelem, uint64_t off_a,
		    uint64_t off_b, struct mlfs_st_cmp *out)
{
	unsigned es = st_dtypes[dtype].size;
	uint64_t total = nelem * es; /* checked by the parser */
	const struct mlfs_content *ca = a->content, *cb = b->content;
	uint8_t *ba = NULL, *bb = NULL;
	uint64_t rel = 0, us = 0, done = 0;
	bool open = false;
	int r = -ENOMEM;

	memset(out, 0, sizeof(*out));
	ba = malloc(CMP_BLOCK);
	bb = malloc(CMP_BLOCK);
	if (!ba || !bb)
		goto out;
	if (!ca || !cb || !ca->n || !cb->n || total == 0) {
		r = cmp_span(a, b, dtype, off_a, off_b, 0, total, ba, bb, out);
		goto out;
	}
	for (size_t j = mlfs_content_chunk_index(cb, off_b);
	     rel < total && j < cb->n; j++) {
		uint64_t e = cb->offs[j + 1] - off_b;
		bool proven = chunk_proven(ca, cb, j, off_a, off_b);

		if (e > total)
			e = total;
		if (!proven && !open) {
			us = rel;
			open = true;
		}
		if (proven && open) {
			/* Widen to whole elements; never re-read one. */
			uint64_t s0 = us / es * es,
				 e0 = (rel + es - 1) / es * es;

			if (s0 < done)
				s0 = done;
			if (e0 > total)
				e0 = total;
			r = cmp_span(a, b, dtype, off_a, off_b, s0, e0, ba, bb,
				     out);
			if (r < 0)
				goto out;
			done = e0;
			open = false;
		}
		rel = e;
	}
	r = 0;
	if (open) {
		uint64_t s0 = us / es * es;

		r = cmp_span(a, b, dtype, off_a, off_b, s0 < done ? done : s0,
			     total, ba, bb, out);
	}
out:
	free(ba);
	free(bb);
	return r;
}

/*
 * The chunks overlapping [off_a, off_a + len) in A and [off_b, ...) in B
 * are the same chunks, in the same order, starting at the same distance
 * before the range: then the range's bytes are equal. Content-defined
 * chunking re-synchronises after a change, so this holds for most
 * unchanged tensors even when the header grew or tensors moved.
 */
bool mlfs_st_range_same_chunks(const struct mlfs_content *a, uint64_t off_a,
			       const struct mlfs_content *b, uint64_t off_b,
			       uint64_t len)
{
	size_t ia, ja, ib, jb;

	if (len == 0)
		return true;
	if (!a || !b || !a->n || !b->n || off_a + len > a->size ||
	    off_b + len > b->size)
		return false;
	ia = mlfs_content_chunk_index(a, off_a);
	ja = mlfs_content_chunk_index(a, off_a + len - 1);
	ib = mlfs_content_chunk_index(b, off_b);
	jb = mlfs_content_chunk_index(b, off_b + len - 1);
	if (ja - ia != jb - ib || off_a - a->offs[ia] != off_b - b->offs[ib])
		return false;
	for (size_t i = 0; i <= ja - ia; i++)
		if (memcmp(&a->ids[ia + i], &b->ids[ib + i], sizeof(a->ids[0])))
			return false;
	return true;
}

/* ---- tensor-set diff -------------------------------------------- */

/* One version: its files and all their tensors, sorted by name. */
struct st_side {
	size_t nfiles;
	struct mlfs_diff_src *src;
	struct mlfs_content **content; /* owned when sharded */
	char **names;                  /* owned shard names when sharded */
	struct mlfs_st_file *files;
	size_t n;
	struct mlfs_st_tensor **t;
};

static void side_release(struct st_side *s)
{
	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->files)
			mlfs_st_file_release(&s->files[i]);
		if (s->content)
			mlfs_content_free(s->content[i]);
		if (s->names)
			free(s->names[i]);
	}
	free(s->files);
	free(s->content);
	free(s->names);
	free(s->src);
	free(s->t);
	memset(s, 0, sizeof(*s));
}

static int cmp_tptr(const void *x, const void *y)
{
	const struct mlfs_st_tensor *const *a = x, *const *b = y;

	return strcmp((*a)->name, (*b)->name);
}

/* Parse every file of @s and index the tensors by name. */
static int side_index(struct st_side *s, const char *label, char *err,
		      size_t errlen)
{
	char why[192];
	size_t total = 0, k = 0;
	int r;

	s->files = calloc(s->nfiles ? s->nfiles : 1, sizeof(*s->files));
	if (!s->files)
		return -ENOMEM;
	for (size_t i = 0; i < s->nfiles; i++) {
		r = mlfs_st_parse(&s->src[i], (int)i, &s->files[i], why,
				  sizeof(why));
		if (r == -EBADMSG || r == -E2BIG) {
			(void)st_fail(err, errlen, "%s%s%s: %s", label,
				      s->nfiles > 1 ? " " : "",
				      s->nfiles > 1 ? s->src[i].path : "",
				      why);
			return r;
		}
		if (r < 0)
			return r;
		total += s->files[i].n;
	}
	s->t = calloc(total ? total : 1, sizeof(*s->t));
	if (!s->t)
		return -ENOMEM;
	for (size_t i = 0; i < s->nfiles; i++)
		for (size_t j = 0; j < s->files[i].n; j++)
			s->t[k++] = &s->files[i].t[j];
	s->n = total;
	qsort(s->t, s->n, sizeof(*s->t), cmp_tptr);
	for (size_t i = 1; i < s->n; i++)
		if (!strcmp(s->t[i - 1]->name, s->t[i]->name))
			return st_fail(err, errlen, "%s: tensor '%s' is in two "
				       "shards", label, s->t[i]->name);
	return 0;
}

struct st_out {
	struct mlfs_buf *text;
	int err;
	struct mlfs_buf q; /* qname's scratch */
};

/* A tensor name for the text output, quoted as paths are (a name in the
 * header may hold a newline); valid until the next call. */
static const char *qname(struct st_out *o, const char *name)
{
	o->q.len = 0;
	if (!o->err)
		o->err = mlfs_quote_path(&o->q, name, strlen(name));
	if (!o->err)
		o->err = mlfs_buf_append(&o->q, "", 1);
	return o->err ? name : (const char *)o->q.data;
}

static void say(struct st_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct st_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->err)
		return;
	va_start(ap, fmt);
	o->err = mlfs_buf_vprintf(o->text, fmt, ap);
	va_end(ap);
}

static void shape_str(const struct mlfs_st_tensor *t, char *buf, size_t size)
{
	size_t used = 0;

	used += (size_t)snprintf(buf, size, "[");
	for (unsigned i = 0; i < t->rank && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64,
					 i ? ", " : "", t->shape[i]);
	if (used < size)
		snprintf(buf + used, size - used, "]");
}

static void jw_tensor(struct mlfs_jw *w, const char *key,
		      const struct mlfs_st_tensor *t)
{
	if (key)
		mlfs_jw_key(w, key);
	mlfs_jw_obj(w);
	mlfs_jw_key(w, "dtype");
	mlfs_jw_str(w, st_dtypes[t->dtype].name);
	mlfs_jw_key(w, "shape");
	mlfs_jw_arr(w);
	for (unsigned i = 0; i < t->rank; i++)
		mlfs_jw_u64(w, t->shape[i]);
	mlfs_jw_arr_end(w);
	mlfs_jw_obj_end(w);
}

static bool same_layout(const struct mlfs_st_tensor *a,
			const struct mlfs_st_tensor *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank)
		return false;
	for (unsigned i = 0; i < a->rank; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return true;
}

static void meta_diff(struct st_out *o, struct mlfs_jw *w,
		      const struct mlfs_st_file *a,
		      const struct mlfs_st_file *b,
		      uint64_t *nchanged)
{
	mlfs_jw_key(w, "metadata");
	mlfs_jw_arr(w);
	for (int pass = 0; pass < 2; pass++) {
		const struct mlfs_st_file *x = pass ? b : a, *y = pass ? a : b;

		for (size_t i = 0; i < x->nmeta; i++) {
			const char *k = x->meta[2 * i], *v = x->meta[2 * i + 1];
			const char *other = NULL;

			for (size_t j = 0; j < y->nmeta; j++)
				if (!strcmp(y->meta[2 * j], k))
					other = y->meta[2 * j + 1];
			if (pass && other)
				continue; /* seen in the first pass */
			if (other && !strcmp(other, v))
				continue;
			(*nchanged)++;
			mlfs_jw_obj(w);
			mlfs_jw_key(w, "key");
			mlfs_jw_str(w, k);
			mlfs_jw_key(w, "old");
			mlfs_jw_str(w, pass ? NULL : v);
			mlfs_jw_key(w, "new");
			mlfs_jw_str(w, pass ? v : other);
			mlfs_jw_obj_end(w);
			if (pass)
				say(o, "metadata + %s: \"%.200s\"\n", k, v);
			else if (other)
				say(o, "metadata ~ %s: \"%.200s\" -> "
				    "\"%.200s\"\n", k, v, other);
			else
				say(o, "metadata - %s: \"%.200s\"\n", k, v);
		}
	}
	mlfs_jw_arr_end(w);
}

static int diff_sides(struct st_side *A, struct st_side *B,
		      struct mlfs_diff_out *out)
{
	uint64_t added = 0, removed = 0, changed = 0, relaid = 0;
	uint64_t same_chunks = 0, same_read = 0, bytes_read = 0, nmeta = 0;
	struct st_out o = { &out->text, 0, MLFS_BUF_INIT };
	struct mlfs_buf changes = MLFS_BUF_INIT;
	struct mlfs_jw w, cw;
	char sa[160], sb[160];
	size_t i = 0, j = 0;
	int r = 0;

	mlfs_jw_init(&w, &out->json);
	mlfs_jw_init(&cw, &changes);
	mlfs_jw_arr(&cw);
	while (i < A->n || j < B->n) {
		const struct mlfs_st_tensor *ta = i < A->n ? A->t[i] : NULL;
		const struct mlfs_st_tensor *tb = j < B->n ? B->t[j] : NULL;
		int c = !ta ? 1 : !tb ? -1 : strcmp(ta->name, tb->name);
		struct mlfs_st_cmp cmp;

		if (c < 0) {
			i++;
			removed++;
			shape_str(ta, sa, sizeof(sa));
			say(&o, "- %s %s %s\n", qname(&o, ta->name),
			    st_dtypes[ta->dtype].name, sa);
			mlfs_jw_obj(&cw);
			mlfs_jw_key(&cw, "name");
			mlfs_jw_str(&cw, ta->name);
			mlfs_jw_key(&cw, "change");
			mlfs_jw_str(&cw, "removed");
			jw_tensor(&cw, "a", ta);
			mlfs_jw_obj_end(&cw);
			continue;
		}
		if (c > 0) {
			j++;
			added++;
			shape_str(tb, sb, sizeof(sb));
			say(&o, "+ %s %s %s\n", qname(&o, tb->name),
			    st_dtypes[tb->dtype].name, sb);
			mlfs_jw_obj(&cw);
			mlfs_jw_key(&cw, "name");
			mlfs_jw_str(&cw, tb->name);
			mlfs_jw_key(&cw, "change");
			mlfs_jw_str(&cw, "added");
			jw_tensor(&cw, "b", tb);
			mlfs_jw_obj_end(&cw);
			continue;
		}
		i++;
		j++;
		if (!same_layout(ta, tb)) {
			relaid++;
			shape_str(ta, sa, sizeof(sa));
			shape_str(tb, sb, sizeof(sb));
			say(&o, "~ %s %s %s -> %s %s\n", qname(&o, ta->name),
			    st_dtypes[ta->dtype].name, sa,
			    st_dtypes[tb->dtype].name, sb);
			mlfs_jw_obj(&cw);
			mlfs_jw_key(&cw, "name");
			mlfs_jw_str(&cw, ta->name);
			mlfs_jw_key(&cw, "change");
			mlfs_jw_str(&cw, ta->dtype != tb->dtype ?
				    "dtype" : "shape");
			jw_tensor(&cw, "a", ta);
			jw_tensor(&cw, "b", tb);
			mlfs_jw_obj_end(&cw);
			continue;
		}
		if (mlfs_st_range_same_chunks(A->src[ta->file].content, ta->off,
					      B->src[tb->file].content, tb->off,
					      ta->len)) {
			same_chunks++;
			continue;
		}
		r = mlfs_st_compare(&A->src[ta->file], &B->src[tb->file],
				    ta->dtype, ta->nelem, ta->off, tb->off,
				    &cmp);
		if (r < 0)
			goto out;
		bytes_read += cmp.bytes_read;
		if (cmp.ndiff == 0) {
			/* Every chunk proven equal: nothing was read. */
			if (cmp.bytes_read == 0)
				same_chunks++;
			else
				same_read++;
			continue;
		}
		changed++;
		shape_str(ta, sa, sizeof(sa));
		{
			uint64_t nfin = cmp.ndiff - cmp.nonfinite;
			double mean = ta->nelem ?
				      cmp.sum_abs / (double)ta->nelem : 0;

			say(&o, "~ %s %s %s: %" PRIu64 " of %" PRIu64
			    " elements differ (%.4g%%)", qname(&o, ta->name),
			    st_dtypes[ta->dtype].name, sa, cmp.ndiff, ta->nelem,
			    100.0 * (double)cmp.ndiff / (double)ta->nelem);
			if (nfin)
				say(&o, ", max |diff| %.6g, mean |diff| %.6g",
				    cmp.max_abs, mean);
			if (cmp.nonfinite)
				say(&o, ", %" PRIu64 " NaN/Inf/undecoded",
				    cmp.nonfinite);
			say(&o, "\n");
			mlfs_jw_obj(&cw);
			mlfs_jw_key(&cw, "name");
			mlfs_jw_str(&cw, ta->name);
			mlfs_jw_key(&cw, "change");
			mlfs_jw_str(&cw, "values");
			jw_tensor(&cw, "a", ta);
			mlfs_jw_key(&cw, "elements");
			mlfs_jw_u64(&cw, ta->nelem);
			mlfs_jw_key(&cw, "differing");
			mlfs_jw_u64(&cw, cmp.ndiff);
			mlfs_jw_key(&cw, "fraction");
			mlfs_jw_f64(&cw, (double)cmp.ndiff / (double)ta->nelem);
			mlfs_jw_key(&cw, "max_abs_diff");
			if (nfin)
				mlfs_jw_f64(&cw, cmp.max_abs);
			else
				mlfs_jw_null(&cw);
			mlfs_jw_key(&cw, "mean_abs_diff");
			if (nfin)
				mlfs_jw_f64(&cw, mean);
			else
				mlfs_jw_null(&cw);
			mlfs_jw_key(&cw, "nonfinite");
			mlfs_jw_u64(&cw, cmp.nonfinite);
			mlfs_jw_obj_end(&cw);
		}
	}
	mlfs_jw_arr_end(&cw);

	mlfs_jw_obj(&w);
	mlfs_jw_key(&w, "format");
	mlfs_jw_str(&w, "safetensors");
	mlfs_jw_key(&w, "tensors_a");
	mlfs_jw_u64(&w, A->n);
	mlfs_jw_key(&w, "tensors_b");
	mlfs_jw_u64(&w, B->n);
	mlfs_jw_key(&w, "added");
	mlfs_jw_u64(&w, added);
	mlfs_jw_key(&w, "removed");
	mlfs_jw_u64(&w, removed);
	mlfs_jw_key(&w, "changed");
	mlfs_jw_u64(&w, changed);
	mlfs_jw_key(&w, "relayout");
	mlfs_jw_u64(&w, relaid);
	mlfs_jw_key(&w, "unchanged");
	mlfs_jw_u64(&w, same_chunks + same_read);
	mlfs_jw_key(&w, "unchanged_by_chunks");
	mlfs_jw_u64(&w, same_chunks);
	mlfs_jw_key(&w, "bytes_compared");
	mlfs_jw_u64(&w, bytes_read);
	mlfs_jw_key(&w, "tensors");
	if (!cw.err && !w.err) {
		/* Splice the list built beside. */
		if (w.need_comma[w.depth - 1] && !w.after_key)
			w.err = mlfs_buf_append(w.b, ",", 1);
		w.after_key = false;
		if (!w.err)
			w.err = mlfs_buf_append(w.b, changes.data, changes.len);
	}
	{
		static const struct mlfs_st_file none;

		meta_diff(&o, &w, A->nfiles ? &A->files[0] : &none,
			  B->nfiles ? &B->files[0] : &none, &nmeta);
	}
	mlfs_jw_key(&w, "metadata_changes");
	mlfs_jw_u64(&w, nmeta);
	mlfs_jw_obj_end(&w);
	say(&o, "tensors: %" PRIu64 " changed, %" PRIu64 " added, %" PRIu64
	    " removed, %" PRIu64 " re-shaped or re-typed, %" PRIu64
	    " unchanged (%" PRIu64 " from chunk lists alone)\n", changed, added,
	    removed, relaid, same_chunks + same_read, same_chunks);
	out->equal = !added && !removed && !changed && !relaid && !nmeta;
	r = o.err ? o.err : cw.err ? cw.err : w.err;
out:
	mlfs_buf_release(&o.q);
	mlfs_buf_release(&changes);
	return r;
}

static int st_diff(const struct mlfs_diff_src *a, const struct mlfs_diff_src *b,
		   const struct mlfs_diff_content_opts *opts,
		   struct mlfs_diff_out *out)
{
	struct st_side A = { 0 }, B = { 0 };
	int r = -ENOMEM;

	(void)opts;
	out->format = "safetensors";
	A.nfiles = B.nfiles = 1;
	A.src = malloc(sizeof(*A.src));
	B.src = malloc(sizeof(*B.src));
	if (!A.src || !B.src)
		goto out;
	A.src[0] = *a;
	B.src[0] = *b;
	r = side_index(&A, "old version", out->err, sizeof(out->err));
	if (r == 0)
		r = side_index(&B, "new version", out->err, sizeof(out->err));
	if (r == 0)
		r = diff_sides(&A, &B, out);
out:
	side_release(&A);
	side_release(&B);
	return r;
}

static int st_detect(const char *path, const uint8_t *head, size_t len,
		     uint64_t size)
{
	size_t pl = strlen(path);
	bool ext = pl >= 12 && !strcmp(path + pl - 12, ".safetensors");
	uint64_t n;

	if (len >= 9 && size >= 8) {
		n = mlfs_get_le64(head);
		if (n >= 2 && n <= MLFS_ST_HEADER_MAX && n <= size - 8 &&
		    head[8] == '{')
			return 2;
	}
	return ext ? 1 : 0;
}

const struct mlfs_diff_format mlfs_diff_format_safetensors = {
	.name = "safetensors",
	.detect = st_detect,
	.diff = st_diff,
};

/* ---- sharded checkpoints ----------------------------------------- */

static bool has_suffix(const char *s, const char *suf)
{
	size_t ls = strlen(s), lf = strlen(suf);

	return ls >= lf && !strcmp(s + ls - lf, suf);
}

static int add_shard(struct st_side *s, struct mlfs_store *st,
		     const struct mlfs_entry *e, const char *dir)
{
	struct mlfs_content *c = NULL;
	char *name = NULL;
	size_t i = s->nfiles;
	int r;

	if (s->nfiles >= SHARDS_MAX)
		return -E2BIG;
	if (asprintf(&name, "%s%s%s", dir, *dir ? "/" : "", e->name) < 0)
		return -ENOMEM;
	/* The weight map names each shard once per tensor. */
	for (size_t k = 0; k < s->nfiles; k++)
		if (!strcmp(s->names[k], name)) {
			free(name);
			return 0;
		}
	r = mlfs_content_load(st, &e->id, MLFS_CONTENT_LOCATE, &c);
	if (r < 0) {
		free(name);
		return r;
	}
	/* Arrays grow by one: shard counts are small. */
	{
		struct mlfs_diff_src *ns = realloc(s->src,
						   (i + 1) * sizeof(*ns));
		struct mlfs_content **nc;
		char **nn;

		if (ns)
			s->src = ns;
		nc = ns ? realloc(s->content, (i + 1) * sizeof(*nc)) : NULL;
		if (nc)
			s->content = nc;
		nn = nc ? realloc(s->names, (i + 1) * sizeof(*nn)) : NULL;
		if (!nn) {
			free(name);
			mlfs_content_free(c);
			return -ENOMEM;
		}
		s->names = nn;
	}
	s->names[i] = name;
	s->content[i] = c;
	s->src[i] = (struct mlfs_diff_src){ .path = name, .size = c->size,
					    .store = st, .content = c };
	s->nfiles++;
	return 0;
}

/* Build one side from directory @dir of @root: the shards the index
 * names, or every *.safetensors file when there is no index. Returns 1
 * when an index was found, 0 when not, or -errno. */
static int side_from_dir(struct st_side *s, struct mlfs_store *st,
			 const struct mlfs_id *root, const char *dir,
			 const char *label, char *err, size_t errlen)
{
	struct mlfs_entry_copy d = { 0 };
	struct mlfs_tree *t = NULL;
	struct mlfs_json *idx = NULL;
	const struct mlfs_entry *ie = NULL;
	int r;

	r = mlfs_tree_lookup_path(st, root, dir, &d);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	if (d.e.type != MLFS_ENTRY_DIR)
		goto none;
	r = mlfs_tree_load(st, &d.e.id, &t);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].type == MLFS_ENTRY_FILE &&
		    has_suffix(t->e[i].name, ".safetensors.index.json"))
			ie = &t->e[i];
	if (ie) {
		struct mlfs_jv map, f;
		size_t n;

		r = st_index_load(st, ie, label, &idx, &map, err, errlen);
		if (r < 0)
			goto out;
		n = mlfs_jv_count(map);
		f = mlfs_jv_first(map);
		for (size_t i = 0; i < n; i++, f = mlfs_jv_next(f)) {
			const struct mlfs_entry *se;
			size_t fl;
			const char *fs = mlfs_jv_str(f, &fl);

			if (mlfs_jv_type(f) != MLFS_JSON_STRING ||
			    strlen(fs) != fl) {
				r = st_fail(err, errlen, "%s: %s: bad shard "
					    "name", label, ie->name);
				goto out;
			}
			se = mlfs_tree_find(t, fs);
			if (!se || se->type != MLFS_ENTRY_FILE) {
				r = st_fail(err, errlen, "%s: shard '%.100s' "
					    "named by %s is missing", label,
					    fs, ie->name);
				goto out;
			}
			r = add_shard(s, st, se, dir);
			if (r < 0)
				goto out;
		}
		r = 1;
	} else {
		for (size_t i = 0; i < t->n; i++) {
			if (t->e[i].type != MLFS_ENTRY_FILE ||
			    !has_suffix(t->e[i].name, ".safetensors"))
				continue;
			r = add_shard(s, st, &t->e[i], dir);
			if (r < 0)
				goto out;
		}
		r = 0;
	}
	goto out;
none:
	r = 0;
out:
	mlfs_json_free(idx);
	mlfs_tree_free(t);
	mlfs_entry_copy_release(&d);
	return r;
}

int mlfs_diff_safetensors_sharded(struct mlfs_store *s,
				  const struct mlfs_id *root_a,
				  const struct mlfs_id *root_b,
				  const char *dir,
				  const struct mlfs_diff_content_opts *o,
				  struct mlfs_diff_out *out)
{
	struct st_side A = { 0 }, B = { 0 };
	int ra, rb, r;

	(void)o;
	ra = side_from_dir(&A, s, root_a, dir, "old version", out->err,
			   sizeof(out->err));
	if (ra < 0) {
		r = ra;
		goto out;
	}
	rb = side_from_dir(&B, s, root_b, dir, "new version", out->err,
			   sizeof(out->err));
	if (rb < 0) {
		r = rb;
		goto out;
	}
	if (!ra && !rb) {
		r = 0;
		goto out;
	}
	out->format = "safetensors-sharded";
	r = side_index(&A, "old version", out->err, sizeof(out->err));
	if (r == 0)
		r = side_index(&B, "new version", out->err, sizeof(out->err));
	if (r == 0)
		r = diff_sides(&A, &B, out);
	if (r == 0)
		r = 1;
	/* A shard too large to parse: reported like a malformed one. */
	if (r == -E2BIG)
		r = -EBADMSG;
out:
	side_release(&A);
	side_release(&B);
	return r;
}
