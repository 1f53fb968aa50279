/*
 * diff_csv_read.c - the read side of the CSV/TSV diff: a streaming record
 * reader (RFC 4180 quoting, CRLF, blank lines skipped) and the scan that
 * turns each row into a 48-byte record (XXH3-128, keyed with the store's
 * secret, of the key and of the common columns; offset, line) for
 * diff_csv_sort.c. Bytes come from mlfs_diff_src_read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_csv.h"

#define RD_BLOCK (1u << 20)
#define RECORD_MAX (16u << 20)
#define FIELDS_MAX 65536u

/* ---- reader ---------------------------------------------------------- */

void csv_rd_release(struct rd *r)
{
	free(r->buf);
	free(r->fend);
	mlfs_buf_release(&r->rec);
}

int csv_rd_init(struct rd *r, const struct mlfs_diff_src *src, char delim,
		   uint64_t off)
{
	memset(r, 0, sizeof(*r));
	/* A UTF-8 byte order mark (spreadsheets write one) is not part of
	 * the first column's name. */
	if (off == 0 && src->size >= 3) {
		uint8_t head[3];
		int e = mlfs_diff_src_read(src, head, sizeof(head), 0);

		if (e < 0)
			return e;
		if (!memcmp(head, "\xEF\xBB\xBF", 3))
			off = 3;
	}
	r->src = src;
	r->delim = delim;
	r->pos = off;
	r->line = 1;
	/* Small files (and re-read rows near the end) need less. */
	r->cap = off < src->size && src->size - off < RD_BLOCK ?
		 (size_t)(src->size - off) : RD_BLOCK;
	r->buf = malloc(r->cap ? r->cap : 1);
	return r->buf ? 0 : -ENOMEM;
}

/* Next byte, -1 at EOF, or -errno - 1 (never collides: errno > 0). */
static int rd_byte(struct rd *r, int *err)
{
	if (r->at == r->len) {
		uint64_t left = r->src->size - (r->pos + r->len);
		size_t n = left < r->cap ? (size_t)left : r->cap;
		int e;

		r->pos += r->len;
		r->len = r->at = 0;
		if (n == 0)
			return -1;
		e = mlfs_diff_src_read(r->src, r->buf, n, r->pos);
		if (e < 0) {
			*err = e;
			return -1;
		}
		r->len = n;
	}
	return r->buf[r->at++];
}

static int end_field(struct rd *r)
{
	if (r->nf == r->fcap) {
		size_t nc = r->fcap ? r->fcap * 2 : 16;
		size_t *n;

		if (r->fcap >= FIELDS_MAX)
			return -E2BIG;
		n = realloc(r->fend, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->fend = n;
		r->fcap = nc;
	}
	r->fend[r->nf++] = r->rec.len;
	return 0;
}

const char *csv_field(const struct rd *r, size_t i, size_t *len)
{
	size_t s;

	/* Bounds first: callers ask the header for a data row's field. */
	if (i >= r->nf) {
		*len = 0;
		return "";
	}
	s = i ? r->fend[i - 1] : 0;
	*len = r->fend[i] - s;
	/* A record of empty fields has no buffer: no NULL + 0. */
	if (*len == 0)
		return "";
	return (const char *)r->rec.data + s;
}

int csv_rd_next(struct rd *r, char *err, size_t errlen)
{
	bool quoted = false, was_quoted = false, any = false;
	size_t qend = 0; /* record length where the last quote closed */
	uint64_t qline = 0;
	int e = 0, c;

	for (;;) {
		r->rec.len = 0;
		r->nf = 0;
		r->rec_off = r->pos + r->at;
		r->rec_line = r->line;
		any = false;
		for (;;) {
			c = rd_byte(r, &e);
			if (e)
				return e;
			if (c < 0) {
				if (quoted) {
					snprintf(err, errlen,
						 "quote opened on line %"
						 PRIu64 " is never closed",
						 qline);
					return -EBADMSG;
				}
				if (!any)
					return 0;
				break;
			}
			any = true;
			if (c == '\n')
				r->line++;
			if (quoted) {
				if (c == '"') {
					int n = rd_byte(r, &e);

					if (e)
						return e;
					if (n == '"') {
						c = '"';
					} else {
						quoted = false;
						qend = r->rec.len;
						/* Re-read @n as a plain
						 * byte. */
						if (n >= 0)
							r->at--;
						continue;
					}
				}
			} else if (c == '"' && (r->nf == 0 ? r->rec.len == 0 :
				   r->rec.len == r->fend[r->nf - 1])) {
				quoted = was_quoted = true;
				qline = r->line;
				continue;
			} else if (c == r->delim) {
				e = end_field(r);
				if (e < 0)
					goto toolong;
				was_quoted = false;
				continue;
			} else if (c == '\n') {
				break;
			}
			if (r->rec.len >= RECORD_MAX)
				goto toolong;
			e = mlfs_buf_append(&r->rec, &(char){ (char)c }, 1);
			if (e < 0)
				return e;
		}
		/* CRLF: drop the CR that ends the last field, unless it
		 * is inside its quotes ("a\r" keeps it). */
		if ((!was_quoted || r->rec.len > qend) && r->rec.len &&
		    r->rec.data[r->rec.len - 1] == '\r' &&
		    (r->nf == 0 || r->rec.len > r->fend[r->nf - 1]))
			r->rec.len--;
		e = end_field(r);
		if (e < 0)
			goto toolong;
		/* Skip blank lines. */
		if (r->nf == 1 && r->rec.len == 0 && !was_quoted)
			continue;
		return 1;
	}
toolong:
	if (e == -ENOMEM)
		return e;
	snprintf(err, errlen, "record starting on line %" PRIu64 " too large "
		 "to diff (limit %u bytes, %u fields; an unclosed quote?)",
		 r->rec_line, RECORD_MAX, FIELDS_MAX);
	return -E2BIG;
}

/* ---- records ------------------------------------------------------ */

char csv_detect_delim(const struct mlfs_diff_src *s)
{
	size_t pl = s->path ? strlen(s->path) : 0;
	uint8_t head[4096];
	size_t n = s->size < sizeof(head) ? (size_t)s->size : sizeof(head);
	size_t tabs = 0, commas = 0;

	if (pl >= 4 && (!strcmp(s->path + pl - 4, ".tsv") ||
			!strcmp(s->path + pl - 4, ".tab")))
		return '\t';
	if (mlfs_diff_src_read(s, head, n, 0) < 0)
		return ',';
	for (size_t i = 0; i < n && head[i] != '\n'; i++) {
		tabs += head[i] == '\t';
		commas += head[i] == ',';
	}
	return tabs > commas ? '\t' : ',';
}

void csv_hash_fields(const struct rd *r, const size_t *cols, size_t n,
		     const struct mlfs_hash_key *key, XXH3_state_t *st,
		     uint64_t out[2])
{
	XXH128_hash_t h;

	/* Cannot fail: the secret is MLFS_HASH_KEY_LEN bytes, above XXH3's
	 * minimum. */
	(void)XXH3_128bits_reset_withSecret(st, key->secret,
					    sizeof(key->secret));
	for (size_t i = 0; i < n; i++) {
		size_t l;
		const char *f = csv_field(r, cols[i], &l);
		uint8_t le[8];

		/* Length-prefixed, so ("a,b","c") and ("a","b,c") differ. */
		mlfs_put_le64(le, l);
		(void)XXH3_128bits_update(st, le, 8);
		(void)XXH3_128bits_update(st, f, l);
	}
	h = XXH3_128bits_digest(st);
	out[0] = h.high64;
	out[1] = h.low64;
}

/* Stream one side into records. */
int csv_scan_side(struct csv *x, int side, XXH3_state_t *st)
{
	const struct mlfs_diff_src *s = x->src[side];
	const size_t *cols = side ? x->cb : x->ca;
	size_t hdr_nf = x->hdr[side].nf;
	struct rd r;
	int e;

	e = csv_rd_init(&r, s, x->delim[side], 0);
	if (e < 0)
		goto out;
	e = csv_rd_next(&r, x->err, sizeof(x->err)); /* the header again */
	while (e > 0) {
		struct rowrec rec;

		e = csv_rd_next(&r, x->err, sizeof(x->err));
		if (e <= 0)
			break;
		if (side)
			x->res.rows_b++;
		else
			x->res.rows_a++;
		if (r.nf != hdr_nf) {
			if (side ? !x->res.ragged_b++ : !x->res.ragged_a++) {
				x->ragged_line[side] = r.rec_line;
				x->ragged_nf[side] = r.nf;
			}
		}
		csv_hash_fields(&r, cols, x->ncommon, x->hkey, st, rec.h);
		if (x->key[0] >= 0) {
			size_t kc = (size_t)x->key[side];

			csv_hash_fields(&r, &kc, 1, x->hkey, st, rec.k);
		} else {
			rec.k[0] = rec.h[0];
			rec.k[1] = rec.h[1];
		}
		rec.off = r.rec_off | (side ? SIDE_BIT : 0);
		rec.line = r.rec_line;
		e = csv_put_rec(x, &rec);
		if (e < 0)
			break;
		e = 1;
	}
	if (e == -EBADMSG || e == -E2BIG) {
		char tmp[sizeof(x->err)];

		snprintf(tmp, sizeof(tmp), "%s version: %.180s",
			 side ? "new" : "old", x->err);
		memcpy(x->err, tmp, sizeof(tmp));
	}
out:
	csv_rd_release(&r);
	return e < 0 ? e : 0;
}

int csv_read_row(struct csv *x, int side, uint64_t off, struct rd *r)
{
	int e = csv_rd_init(r, x->src[side], x->delim[side], off);
	char err[128];

	if (e == 0)
		e = csv_rd_next(r, err, sizeof(err));
	return e < 0 ? e : e == 0 ? -EIO : 0;
}
