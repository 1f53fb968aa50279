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
static bool json_u64(const struct mlfs_json *v, uint64_t *out)
{
	uint64_t x = 0;

	if (!v || v->type != MLFS_JSON_NUMBER || v->len == 0)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		unsigned d = (unsigned)(v->str[i] - '0');

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
	for (size_t i = 0; i < f->n; i++)
		free(f->t[i].name);
	for (size_t i = 0; i < 2 * f->nmeta; i++)
		free(f->meta[i]);
	free(f->t);
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

static int parse_tensor(const char *name, size_t namelen,
			const struct mlfs_json *v, uint64_t data_start,
			uint64_t data_len, struct mlfs_st_tensor *t,
			char *err, size_t errlen)
{
	const struct mlfs_json *dt = mlfs_json_get(v, "dtype");
	const struct mlfs_json *sh = mlfs_json_get(v, "shape");
	const struct mlfs_json *of = mlfs_json_get(v, "data_offsets");
	uint64_t begin, end, bytes;
	size_t d;

	if (memchr(name, 0, namelen))
		return st_fail(err, errlen, "tensor name with a NUL byte");
	if (v->type != MLFS_JSON_OBJECT)
		return st_fail(err, errlen, "tensor '%s' is not an object",
			       name);
	if (!dt || dt->type != MLFS_JSON_STRING)
		return st_fail(err, errlen, "tensor '%s' has no dtype", name);
	for (d = 0; d < MLFS_ARRAY_SIZE(st_dtypes); d++)
		if (!strcmp(dt->str, st_dtypes[d].name))
			break;
	if (d == MLFS_ARRAY_SIZE(st_dtypes))
		return st_fail(err, errlen, "tensor '%s' has unknown dtype "
			       "'%.32s'", name, dt->str);
	t->dtype = (enum mlfs_st_dtype)d;
	if (!sh || sh->type != MLFS_JSON_ARRAY)
		return st_fail(err, errlen, "tensor '%s' has no shape", name);
	if (sh->n > MLFS_ST_RANK_MAX)
		return st_fail(err, errlen, "tensor '%s' has rank %zu "
			       "(limit %d)", name, sh->n, MLFS_ST_RANK_MAX);
	t->rank = (unsigned)sh->n;
	t->nelem = 1;
	for (size_t i = 0; i < sh->n; i++) {
		if (!json_u64(sh->v[i], &t->shape[i]))
			return st_fail(err, errlen, "tensor '%s' has a bad "
				       "shape", name);
		if (__builtin_mul_overflow(t->nelem, t->shape[i], &t->nelem))
			return st_fail(err, errlen, "tensor '%s': shape "
				       "overflows", name);
	}
	if (!of || of->type != MLFS_JSON_ARRAY || of->n != 2 ||
	    !json_u64(of->v[0], &begin) || !json_u64(of->v[1], &end))
		return st_fail(err, errlen, "tensor '%s' has bad data_offsets",
			       name);
	if (begin > end || end > data_len)
		return st_fail(err, errlen, "tensor '%s': data_offsets [%"
			       PRIu64 ", %" PRIu64 "] outside the %" PRIu64
			       "-byte data section", name, begin, end,
			       data_len);
	if (__builtin_mul_overflow(t->nelem, (uint64_t)st_dtypes[d].size,
				   &bytes) ||
	    bytes != end - begin)
		return st_fail(err, errlen, "tensor '%s': %" PRIu64
			       " bytes for %" PRIu64 " %s elements", name,
			       end - begin, t->nelem, st_dtypes[d].name);
	t->off = data_start + begin;
	t->len = bytes;
	t->name = strndup(name, namelen);
	return t->name ? 0 : -ENOMEM;
}

int mlfs_st_parse(const struct mlfs_diff_src *src, int file,
		  struct mlfs_st_file *out, char *err, size_t errlen)
{
	struct mlfs_json *root = NULL;
	uint8_t le[8];
	char *hdr = NULL, jerr[128];
	uint64_t n, data_start;
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (src->size < 8)
		return st_fail(err, errlen, "file of %" PRIu64
			       " bytes has no header length", src->size);
	r = mlfs_diff_src_read(src, le, 8, 0);
	if (r < 0)
		return r;
	n = mlfs_get_le64(le);
	if (n > MLFS_ST_HEADER_MAX)
		return st_fail(err, errlen, "header length %" PRIu64
			       " over the %u-byte limit", n,
			       MLFS_ST_HEADER_MAX);
	if (n > src->size - 8)
		return st_fail(err, errlen, "header length %" PRIu64
			       " runs past the end of the %" PRIu64
			       "-byte file", n, src->size);
	hdr = malloc(n ? n : 1);
	if (!hdr)
		return -ENOMEM;
	r = mlfs_diff_src_read(src, hdr, n, 8);
	if (r < 0)
		goto out;
	r = mlfs_json_parse(hdr, n, &root, jerr, sizeof(jerr));
	if (r == -EBADMSG)
		r = st_fail(err, errlen, "header is not valid JSON: %s", jerr);
	if (r < 0)
		goto out;
	if (root->type != MLFS_JSON_OBJECT) {
		r = st_fail(err, errlen, "header is not a JSON object");
		goto out;
	}
	data_start = 8 + n;
	out->header_len = n;
	out->t = calloc(root->n ? root->n : 1, sizeof(*out->t));
	if (!out->t) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		const struct mlfs_json *v = root->v[i];

		if (!strcmp(root->keys[i], "__metadata__") &&
		    root->key_lens[i] == 12) {
			if (v->type != MLFS_JSON_OBJECT || out->meta) {
				r = st_fail(err, errlen, "bad __metadata__");
				goto out;
			}
			out->meta = calloc(2 * v->n + 1, sizeof(char *));
			if (!out->meta) {
				r = -ENOMEM;
				goto out;
			}
			for (size_t k = 0; k < v->n; k++) {
				if (v->v[k]->type != MLFS_JSON_STRING) {
					r = st_fail(err, errlen, "__metadata__ "
						    "value of '%s' is not a "
						    "string", v->keys[k]);
					goto out;
				}
				out->meta[2 * k] = strdup(v->keys[k]);
				out->meta[2 * k + 1] = strdup(v->v[k]->str);
				out->nmeta = k + 1;
				if (!out->meta[2 * k] ||
				    !out->meta[2 * k + 1]) {
					r = -ENOMEM;
					goto out;
				}
			}
			continue;
		}
		r = parse_tensor(root->keys[i], root->key_lens[i], v,
				 data_start, src->size - data_start,
				 &out->t[out->n], err, errlen);
		if (r < 0)
			goto out;
		out->t[out->n++].file = file;
	}
	/* Ranges must not overlap (empty tensors take no room). */
	qsort(out->t, out->n, sizeof(*out->t), cmp_off);
	for (size_t i = 1; i < out->n; i++) {
		const struct mlfs_st_tensor *p = &out->t[i - 1],
					    *c = &out->t[i];

		if (c->len && p->len && c->off < p->off + p->len) {
			r = st_fail(err, errlen, "tensors '%s' and '%s' "
				    "overlap", p->name, c->name);
			goto out;
		}
	}
	qsort(out->t, out->n, sizeof(*out->t), cmp_name);
	for (size_t i = 1; i < out->n; i++)
		if (!strcmp(out->t[i - 1].name, out->t[i].name)) {
			r = st_fail(err, errlen, "tensor '%s' appears twice",
				    out->t[i].name);
			goto out;
		}
	r = 0;
out:
	if (r < 0)
		mlfs_st_file_release(out);
	mlfs_json_free(root);
	free(hdr);
	return r;
}

/* ---- sharded index ----------------------------------------------- */

int st_index_load(struct mlfs_store *st, const struct mlfs_entry *ie,
		  const char *label, struct mlfs_json **idx,
		  const struct mlfs_json **map, char *err, size_t errlen)
{
	struct mlfs_content *ic = NULL;
	char *buf = NULL, jerr[128];
	int r;

	*idx = NULL;
	*map = NULL;
	r = mlfs_content_load(st, &ie->id, MLFS_CONTENT_LOCATE, &ic);
	if (r < 0)
		goto out;
	if (ic->size > INDEX_MAX) {
		r = st_fail(err, errlen, "%s: %s is too large", label,
			    ie->name);
		goto out;
	}
	buf = malloc(ic->size ? ic->size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	{
		ssize_t n = mlfs_content_read(st, ic, buf, ic->size, 0);

		r = n < 0 ? (int)n : (uint64_t)n != ic->size ? -EIO : 0;
	}
	if (r < 0)
		goto out;
	r = mlfs_json_parse(buf, ic->size, idx, jerr, sizeof(jerr));
	if (r == -EBADMSG)
		r = st_fail(err, errlen, "%s: %s: %s", label, ie->name, jerr);
	if (r < 0)
		goto out;
	*map = mlfs_json_get(*idx, "weight_map");
	if (!*map || (*map)->type != MLFS_JSON_OBJECT) {
		r = st_fail(err, errlen, "%s: %s has no weight_map", label,
			    ie->name);
		goto out;
	}
	r = 0;
out:
	if (r < 0) {
		mlfs_json_free(*idx);
		*idx = NULL;
		*map = NULL;
	}
	free(buf);
	mlfs_content_free(ic);
	return r;
}
