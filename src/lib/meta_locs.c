/*
 * meta_locs.c - the chunk locations a content row carries (locs column,
 * schema 4): 21 bytes a chunk in chunk-list order, le64 pack id, le64
 * offset of the entry, le32 stored length, u8 codec; the raw length is
 * the chunk list's. They copy immutable index entries (gc removes whole
 * packs, never moves a chunk), so they never go stale; damage to them
 * can only point a read at other bytes, which fail the chunk's id check.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/content.h"
#include "meta_internal.h"

#define LOC_ENTRY 21u
#define LIST_ENTRY (MLFS_ID_LEN + 4u)

bool meta_loc_in_range(int64_t off, int64_t stored, int64_t raw,
		       int64_t codec)
{
	return off >= MLFS_PACK_HEADER_LEN && raw >= 1 &&
	       raw <= MLFS_CHUNK_LIMIT_BYTES && stored >= 0 &&
	       stored <= MLFS_CHUNK_LIMIT_BYTES + MLFS_CHUNK_LIMIT_BYTES / 8 &&
	       codec >= 0 && codec <= 255;
}

int mlfs_meta_content_locs_record(struct mlfs_meta *m,
				  const struct mlfs_id *digest,
				  const void *chunks, size_t len)
{
	const uint8_t *p = chunks;
	size_t n = len / LIST_ENTRY;
	sqlite3_stmt *st = NULL;
	uint8_t *blob, *q;
	int r = 0;

	if (n == 0 || len % LIST_ENTRY || n * LOC_ENTRY > INT_MAX)
		return 0; /* the content row's own checks reject such lists */
	blob = malloc(n * LOC_ENTRY);
	if (!blob)
		return -ENOMEM;
	mlfs_meta_lock(m);
	q = blob;
	for (size_t i = 0; r == 0 && i < n; i++, p += LIST_ENTRY) {
		struct mlfs_chunk_loc loc;
		struct mlfs_id id;

		memcpy(id.b, p, MLFS_ID_LEN);
		r = mlfs_meta_chunk_get(m, &id, &loc);
		if (r < 0)
			break;
		mlfs_put_le64(q, loc.pack_id);
		mlfs_put_le64(q + 8, loc.offset);
		mlfs_put_le32(q + 16, loc.stored_len);
		q[20] = loc.codec;
		q += LOC_ENTRY;
	}
	if (r == -ENOENT) {
		r = 0; /* not indexed (yet): reads look the chunks up */
		goto out;
	}
	if (r == 0)
		r = meta_stmt(m, ST_CONTENT_LOCS_SET, &st);
	if (r == 0) {
		meta_bind_id(st, 1, digest);
		sqlite3_bind_blob(st, 2, blob, (int)(n * LOC_ENTRY),
				  SQLITE_STATIC);
		r = meta_step_done(st);
	}
out:
	mlfs_meta_unlock(m);
	free(blob);
	return r;
}

struct locs_row {
	const struct mlfs_content *c;
	struct mlfs_chunk_loc *locs;
};

int mlfs_content_locs_decode(const void *blob, size_t len,
			     const struct mlfs_content *c,
			     struct mlfs_chunk_loc *locs)
{
	const uint8_t *p = blob;

	if ((!p && len) || len != c->n * LOC_ENTRY)
		return -EBADMSG;
	for (size_t i = 0; i < c->n; i++, p += LOC_ENTRY) {
		struct mlfs_chunk_loc *loc = &locs[i];

		loc->pack_id = mlfs_get_le64(p);
		loc->offset = mlfs_get_le64(p + 8);
		loc->stored_len = mlfs_get_le32(p + 16);
		loc->raw_len = (uint32_t)(c->offs[i + 1] - c->offs[i]);
		loc->codec = p[20];
		if (loc->offset > INT64_MAX ||
		    !meta_loc_in_range((int64_t)loc->offset, loc->stored_len,
				       loc->raw_len, loc->codec))
			return -ERANGE;
	}
	return 0;
}

static int read_locs(sqlite3_stmt *st, void *ctx)
{
	struct locs_row *l = ctx;
	int r;

	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		return -ENOENT;
	r = mlfs_content_locs_decode(sqlite3_column_blob(st, 0),
				     (size_t)sqlite3_column_bytes(st, 0),
				     l->c, l->locs);
	if (r == -EBADMSG)
		return meta_damaged("contents row", &l->c->digest,
				    "chunk locations do not match the "
				    "chunk list");
	if (r < 0)
		return meta_damaged("contents row", &l->c->digest,
				    "chunk location out of range");
	return 0;
}

int mlfs_meta_content_locs_get(struct mlfs_meta *m,
			       const struct mlfs_content *c,
			       struct mlfs_chunk_loc *locs)
{
	struct locs_row l = { c, locs };

	if (c->n == 0)
		return 0;
	return meta_row_by_id(m, ST_CONTENT_LOCS_GET, &c->digest, read_locs,
			      &l);
}

static int read_digest(sqlite3_stmt *st, void *ctx, void *e)
{
	(void)ctx;
	return meta_col_id(st, 0, e);
}

int mlfs_meta_content_locs_fill(struct mlfs_meta *m)
{
	struct mlfs_buf list = MLFS_BUF_INIT;
	struct mlfs_id *digests = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r;

	/* The digests first: rows are updated while nothing reads them. */
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_CONTENT_NO_LOCS, &st);
	if (r == 0) {
		r = meta_collect(st, sizeof(*digests), read_digest, NULL,
				 (void **)&digests, &n);
		meta_done(st);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t size;

		r = mlfs_meta_content_get(m, &digests[i], &size, &list);
		/* A damaged row keeps none: it is fsck's to report, and an
		 * upgrade does not stop at it. */
		if (r == -EIO || r == -EBADMSG) {
			r = 0;
			continue;
		}
		if (r == 0)
			r = mlfs_meta_content_locs_record(m, &digests[i],
							  list.data,
							  list.len);
	}
	mlfs_meta_unlock(m);
	mlfs_buf_release(&list);
	free(digests);
	return r;
}
