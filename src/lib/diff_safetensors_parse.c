/*
 * diff_safetensors_parse.c - the checked reading of safetensors headers.
 * Format: le64 header length N, N bytes of JSON {name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__": {str: str}}, then data;
 * offsets are relative to the end of the header. Every field is checked
 * before use, as is a sharded checkpoint's index.json (weight_map).
 * Relies on diff_json.c for JSON and mlfs_diff_src_read for bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/store.h" /* content.h needs struct mlfs_chunk declared */
#include "mlfs/content.h"
#include "mlfs/diff.h"
#include "mlfs/tree.h"

#include "diff_safetensors.h"

#define INDEX_MAX (64u << 20)

const struct st_dtype st_dtypes[ST_NDTYPES] = {
	[MLFS_ST_BOOL] = { "BOOL", 1 },
	[MLFS_ST_U8] = { "U8", 1 },
	[MLFS_ST_I8] = { "I8", 1 },
	[MLFS_ST_F8_E5M2] = { "F8_E5M2", 1 },
	[MLFS_ST_F8_E4M3] = { "F8_E4M3", 1 },
	[MLFS_ST_U16] = { "U16", 2 },
	[MLFS_ST_I16] = { "I16", 2 },
	[MLFS_ST_F16] = { "F16", 2 },
	[MLFS_ST_BF16] = { "BF16", 2 },
	[MLFS_ST_U32] = { "U32", 4 },
	[MLFS_ST_I32] = { "I32", 4 },
	[MLFS_ST_F32] = { "F32", 4 },
	[MLFS_ST_U64] = { "U64", 8 },
	[MLFS_ST_I64] = { "I64", 8 },
	[MLFS_ST_F64] = { "F64", 8 },
};

int st_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* A JSON number that is a plain non-negative integer below 2^64. */
static bool json_u64(struct mlfs_jv v, uint64_t *out)
{
	uint64_t x = 0;
	size_t len;
	const char *s;

	if (mlfs_jv_type(v) != MLFS_JSON_NUMBER)
		return false;
	s = mlfs_jv_str(v, &len);
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || __builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, d, &x))
			return false;
	}
	*out = x;
	return true;
}

void mlfs_st_file_release(struct mlfs_st_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < 2 * f->nmeta; i++)
		free(f->meta[i]);
	free(f->t);
	free(f->names);
	free(f->dims);
	free(f->meta);
	memset(f, 0, sizeof(*f));
}

static int cmp_off(const void *x, const void *y)
{
	const struct mlfs_st_tensor *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off ? 1 :
	       a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_name(const void *x, const void *y)
{
	const struct mlfs_st_tensor *a = x, *b = y;

	return strcmp(a->name, b->name);
}

static bool is_metadata(struct mlfs_jv v)
{
	size_t kl;
	const char *k = mlfs_jv_key(v, &kl);

	return kl == 12 && !memcmp(k, "__metadata__", 12);
}

/* Check tensor @v and fill @t; its name goes to @name (namelen + 1 bytes
 * of room), its dims to @dims (room for its shape, counted before). */
static int parse_tensor(struct mlfs_jv v, uint64_t data_start,
			uint64_t data_len, struct mlfs_st_tensor *t,
			char *name, uint64_t *dims, char *err, size_t errlen)
{
	struct mlfs_jv dt = mlfs_jv_get(v, "dtype");
	struct mlfs_jv sh = mlfs_jv_get(v, "shape");
	struct mlfs_jv of = mlfs_jv_get(v, "data_offsets");
	uint64_t begin, end, bytes;
	size_t namelen, dl, d, rank;
	const char *key = mlfs_jv_key(v, &namelen), *ds;
	struct mlfs_jv c;

	if (memchr(key, 0, namelen))
		return st_fail(err, errlen, "tensor name with a NUL byte");
	if (mlfs_jv_type(v) != MLFS_JSON_OBJECT)
		return st_fail(err, errlen, "tensor '%s' is not an object",
			       key);
	if (mlfs_jv_type(dt) != MLFS_JSON_STRING)
		return st_fail(err, errlen, "tensor '%s' has no dtype", key);
	ds = mlfs_jv_str(dt, &dl);
	for (d = 0; d < MLFS_ARRAY_SIZE(st_dtypes); d++)
		if (strlen(st_dtypes[d].name) == dl &&
		    !memcmp(ds, st_dtypes[d].name, dl))
			break;
	if (d == MLFS_ARRAY_SIZE(st_dtypes))
		return st_fail(err, errlen, "tensor '%s' has unknown dtype "
			       "'%.32s'", key, ds);
	t->dtype = (enum mlfs_st_dtype)d;
	if (mlfs_jv_type(sh) != MLFS_JSON_ARRAY)
		return st_fail(err, errlen, "tensor '%s' has no shape", key);
	rank = mlfs_jv_count(sh);
	if (rank > MLFS_ST_RANK_MAX)
		return st_fail(err, errlen, "tensor '%s' has rank %zu "
			       "(limit %d)", key, rank, MLFS_ST_RANK_MAX);
	t->rank = (unsigned)rank;
	t->nelem = 1;
	c = mlfs_jv_first(sh);
	for (size_t i = 0; i < rank; i++, c = mlfs_jv_next(c)) {
		if (!json_u64(c, &dims[i]))
			return st_fail(err, errlen, "tensor '%s' has a bad "
				       "shape", key);
		if (__builtin_mul_overflow(t->nelem, dims[i], &t->nelem))
			return st_fail(err, errlen, "tensor '%s': shape "
				       "overflows", key);
	}
	t->shape = dims;
	if (mlfs_jv_type(of) != MLFS_JSON_ARRAY || mlfs_jv_count(of) != 2 ||
	    !json_u64(mlfs_jv_at(of, 0), &begin) ||
	    !json_u64(mlfs_jv_at(of, 1), &end))
		return st_fail(err, errlen, "tensor '%s' has bad data_offsets",
			       key);
	if (begin > end || end > data_len)
		return st_fail(err, errlen, "tensor '%s': data_offsets [%"
			       PRIu64 ", %" PRIu64 "] outside the %" PRIu64
			       "-byte data section", key, begin, end,
			       data_len);
	if (__builtin_mul_overflow(t->nelem, (uint64_t)st_dtypes[d].size,
				   &bytes) ||
	    bytes != end - begin)
		return st_fail(err, errlen, "tensor '%s': %" PRIu64
			       " bytes for %" PRIu64 " %s elements", key,
			       end - begin, t->nelem, st_dtypes[d].name);
	t->off = data_start + begin;
	t->len = bytes;
	memcpy(name, key, namelen + 1);
	t->name = name;
	return 0;
}

static int parse_metadata(struct mlfs_jv v, struct mlfs_st_file *out,
			  char *err, size_t errlen)
{
	size_t n = mlfs_jv_count(v);
	struct mlfs_jv c = mlfs_jv_first(v);

	if (mlfs_jv_type(v) != MLFS_JSON_OBJECT || out->meta)
		return st_fail(err, errlen, "bad __metadata__");
	out->meta = calloc(2 * n + 1, sizeof(char *));
	if (!out->meta)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++, c = mlfs_jv_next(c)) {
		size_t kl, vl;
		const char *key = mlfs_jv_key(c, &kl), *val;

		if (mlfs_jv_type(c) != MLFS_JSON_STRING)
			return st_fail(err, errlen, "__metadata__ value of "
				       "'%s' is not a string", key);
		val = mlfs_jv_str(c, &vl);
		out->meta[2 * k] = strdup(key);
		out->meta[2 * k + 1] = strdup(val);
		out->nmeta = k + 1;
		if (!out->meta[2 * k] || !out->meta[2 * k + 1])
			return -ENOMEM;
	}
	return 0;
}

/* Size the arenas: tensors, bytes of names, dims (capped per tensor at
 * the rank limit; parse_tensor rejects more). */
static int alloc_arenas(struct mlfs_jv root, struct mlfs_st_file *out)
{
	size_t n = mlfs_jv_count(root), nt = 0, nbytes = 0, ndims = 0;
	struct mlfs_jv c = mlfs_jv_first(root);

	for (size_t i = 0; i < n; i++, c = mlfs_jv_next(c)) {
		size_t kl, r;

		if (is_metadata(c))
			continue;
		(void)mlfs_jv_key(c, &kl);
		r = mlfs_jv_count(mlfs_jv_get(c, "shape"));
		nt++;
		nbytes += kl + 1;
		ndims += r < MLFS_ST_RANK_MAX ? r : MLFS_ST_RANK_MAX;
	}
	out->t = calloc(nt ? nt : 1, sizeof(*out->t));
	out->names = malloc(nbytes ? nbytes : 1);
	out->dims = malloc((ndims ? ndims : 1) * sizeof(*out->dims));
	return out->t && out->names && out->dims ? 0 : -ENOMEM;
}

static int parse_root(struct mlfs_jv root, uint64_t data_start,
		      uint64_t data_len, int file, struct mlfs_st_file *out,
		      char *err, size_t errlen)
{
	size_t n = mlfs_jv_count(root), name_at = 0, dim_at = 0;
	struct mlfs_jv c = mlfs_jv_first(root);
	int r = alloc_arenas(root, out);

	for (size_t i = 0; i < n && r == 0; i++, c = mlfs_jv_next(c)) {
		struct mlfs_st_tensor *t = &out->t[out->n];
		size_t kl;

		if (is_metadata(c)) {
			r = parse_metadata(c, out, err, errlen);
			continue;
		}
		(void)mlfs_jv_key(c, &kl);
		r = parse_tensor(c, data_start, data_len, t,
				 out->names + name_at, out->dims + dim_at,
				 err, errlen);
		if (r < 0)
			break;
		t->file = file;
		name_at += kl + 1;
		dim_at += t->rank;
		out->n++;
	}
	return r;
}

/* Ranges must not overlap (empty tensors take no room); names must be
 * unique. Sorts @f by name. */
static int check_tensors(struct mlfs_st_file *f, char *err, size_t errlen)
{
	if (f->n < 2)
		return 0;
	qsort(f->t, f->n, sizeof(*f->t), cmp_off);
	for (size_t i = 1; i < f->n; i++) {
		const struct mlfs_st_tensor *p = &f->t[i - 1], *c = &f->t[i];

		if (c->len && p->len && c->off < p->off + p->len)
			return st_fail(err, errlen, "tensors '%s' and '%s' "
				       "overlap", p->name, c->name);
	}
	qsort(f->t, f->n, sizeof(*f->t), cmp_name);
	for (size_t i = 1; i < f->n; i++)
		if (!strcmp(f->t[i - 1].name, f->t[i].name))
			return st_fail(err, errlen, "tensor '%s' appears "
				       "twice", f->t[i].name);
	return 0;
}

/* Parse the @hdr->len bytes of JSON in @hdr (decoded in place) as the
 * header of a @file_size-byte file. */
static int parse_text(struct mlfs_buf *hdr, uint64_t file_size, int file,
		      struct mlfs_st_file *out, char *err, size_t errlen)
{
	struct mlfs_json *doc = NULL;
	struct mlfs_jv root;
	uint64_t n = hdr->len, data_start = 8 + n;
	char jerr[128];
	int r;

	r = mlfs_json_parse_buf(hdr, &doc, jerr, sizeof(jerr));
	if (r == -EBADMSG)
		r = st_fail(err, errlen, "header is not valid JSON: %s", jerr);
	if (r < 0)
		goto out;
	root = mlfs_json_root(doc);
	if (mlfs_jv_type(root) != MLFS_JSON_OBJECT) {
		r = st_fail(err, errlen, "header is not a JSON object");
		goto out;
	}
	out->header_len = n;
	r = parse_root(root, data_start, file_size - data_start, file, out,
		       err, errlen);
	if (r == 0)
		r = check_tensors(out, err, errlen);
out:
	if (r < 0)
		mlfs_st_file_release(out);
	mlfs_json_free(doc);
	return r;
}

/* The checks of the header length both entry points make. */
static int check_len(uint64_t n, uint64_t file_size, char *err,
		     size_t errlen)
{
	if (file_size < 8)
		return st_fail(err, errlen, "file of %" PRIu64
			       " bytes has no header length", file_size);
	if (n > file_size - 8)
		return st_fail(err, errlen, "header length %" PRIu64
			       " runs past the end of the %" PRIu64
			       "-byte file", n, file_size);
	/* A real header, too large: not malformed, over our cap. */
	if (n > MLFS_ST_HEADER_MAX) {
		(void)st_fail(err, errlen, "header of %" PRIu64 " bytes too "
			      "large to diff (limit %u bytes)", n,
			      MLFS_ST_HEADER_MAX);
		return -E2BIG;
	}
	return 0;
}

int mlfs_st_parse(const struct mlfs_diff_src *src, int file,
		  struct mlfs_st_file *out, char *err, size_t errlen)
{
	struct mlfs_buf hdr = MLFS_BUF_INIT;
	uint8_t le[8];
	uint64_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (src->size >= 8) {
		r = mlfs_diff_src_read(src, le, 8, 0);
		if (r < 0)
			return r;
		n = mlfs_get_le64(le);
	}
	r = check_len(n, src->size, err, errlen);
	if (r < 0)
		return r;
	r = mlfs_buf_reserve(&hdr, (size_t)n + 1);
	if (r < 0)
		return r;
	r = mlfs_diff_src_read(src, hdr.data, (size_t)n, 8);
	if (r == 0) {
		hdr.len = (size_t)n;
		r = parse_text(&hdr, src->size, file, out, err, errlen);
	}
	mlfs_buf_release(&hdr);
	return r;
}

int mlfs_st_parse_header(const uint8_t *text, size_t len,
			 uint64_t file_size, struct mlfs_st_file *out,
			 char *err, size_t errlen)
{
	struct mlfs_buf hdr = MLFS_BUF_INIT;
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	r = check_len(len, file_size, err, errlen);
	if (r < 0)
		return r;
	r = mlfs_buf_reserve(&hdr, len + 1);
	if (r < 0)
		return r;
	memcpy(hdr.data, text, len);
	hdr.len = len;
	r = parse_text(&hdr, file_size, 0, out, err, errlen);
	mlfs_buf_release(&hdr);
	return r;
}

/* ---- sharded index ----------------------------------------------- */

int st_index_load(struct mlfs_store *st, const struct mlfs_entry *ie,
		  const char *label, struct mlfs_json **idx,
		  struct mlfs_jv *map, char *err, size_t errlen)
{
	struct mlfs_content *ic = NULL;
	struct mlfs_buf buf = MLFS_BUF_INIT;
	char jerr[128];
	int r;

	*idx = NULL;
	*map = (struct mlfs_jv){ NULL, 0 };
	r = mlfs_content_load(st, &ie->id, MLFS_CONTENT_LOCATE, &ic);
	if (r < 0)
		goto out;
	if (ic->size > INDEX_MAX) {
		r = st_fail(err, errlen, "%s: %s is too large", label,
			    ie->name);
		goto out;
	}
	r = mlfs_buf_reserve(&buf, (size_t)ic->size + 1);
	if (r < 0)
		goto out;
	{
		ssize_t n = mlfs_content_read(st, ic, buf.data, ic->size, 0);

		r = n < 0 ? (int)n : (uint64_t)n != ic->size ? -EIO : 0;
	}
	if (r < 0)
		goto out;
	buf.len = (size_t)ic->size;
	r = mlfs_json_parse_buf(&buf, idx, jerr, sizeof(jerr));
	if (r == -EBADMSG)
		r = st_fail(err, errlen, "%s: %s: %s", label, ie->name, jerr);
	if (r < 0)
		goto out;
	*map = mlfs_jv_get(mlfs_json_root(*idx), "weight_map");
	if (mlfs_jv_type(*map) != MLFS_JSON_OBJECT) {
		r = st_fail(err, errlen, "%s: %s has no weight_map", label,
			    ie->name);
		goto out;
	}
	r = 0;
out:
	if (r < 0) {
		mlfs_json_free(*idx);
		*idx = NULL;
		*map = (struct mlfs_jv){ NULL, 0 };
	}
	mlfs_buf_release(&buf);
	mlfs_content_free(ic);
	return r;
}
