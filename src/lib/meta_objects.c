/*
 * meta_objects.c - the rows of the content-addressed objects: chunk
 * locations, packs, contents (chunk lists) and trees. Every row read is
 * range-checked or verified before use (docs/format.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "mlfs/store.h"
#include "objid.h"

int mlfs_meta_chunk_get_many(struct mlfs_meta *m, const struct mlfs_id *ids,
			      size_t n, struct mlfs_chunk_loc *locs,
			      size_t *bad)
{
	/* One read transaction for the batch: each statement on its own
	 * would take and drop the database's file locks. */
	bool began = mlfs_meta_read_begin(m);
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		r = mlfs_meta_chunk_get(m, &ids[i], &locs[i]);
		if (r < 0 && bad)
			*bad = i;
	}
	mlfs_meta_read_end(m, began);
	return r;
}

/* Columns from @col: pack_id, offset, stored_len, raw_len, codec. The
 * values are untrusted: each is range-checked before anything sizes a
 * buffer by it (the pack read checks them against the entry header too). */
static int read_loc_cols(sqlite3_stmt *st, int col, const struct mlfs_id *id,
			 struct mlfs_chunk_loc *loc)
{
	sqlite3_int64 off = sqlite3_column_int64(st, col + 1);
	sqlite3_int64 stored = sqlite3_column_int64(st, col + 2);
	sqlite3_int64 raw = sqlite3_column_int64(st, col + 3);
	sqlite3_int64 codec = sqlite3_column_int64(st, col + 4);

	if (!meta_loc_in_range(off, stored, raw, codec)) {
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(id, hex);
		mlfs_error_set("chunk %s: index entry out of range (damaged "
			       "database)", hex);
		return -EBADMSG;
	}
	loc->pack_id = (uint64_t)sqlite3_column_int64(st, col);
	loc->offset = (uint64_t)off;
	loc->stored_len = (uint32_t)stored;
	loc->raw_len = (uint32_t)raw;
	loc->codec = (uint8_t)codec;
	return 0;
}

struct loc_row {
	const struct mlfs_id *id;
	struct mlfs_chunk_loc *loc;
};

static int read_loc(sqlite3_stmt *st, void *ctx)
{
	struct loc_row *l = ctx;

	return read_loc_cols(st, 0, l->id, l->loc);
}

int mlfs_meta_chunk_get(struct mlfs_meta *m, const struct mlfs_id *id,
			struct mlfs_chunk_loc *loc)
{
	struct loc_row l = { id, loc };

	return meta_row_by_id(m, ST_CHUNK_GET, id, read_loc, &l);
}

int mlfs_meta_chunk_put(struct mlfs_meta *m, const struct mlfs_id *id,
			const struct mlfs_chunk_loc *loc)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_CHUNK_PUT, &st);
	if (r == 0) {
		meta_bind_id(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)loc->pack_id);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)loc->offset);
		sqlite3_bind_int64(st, 4, loc->stored_len);
		sqlite3_bind_int64(st, 5, loc->raw_len);
		sqlite3_bind_int(st, 6, loc->codec);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_pack_exists(struct mlfs_meta *m, uint64_t pack_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_PACK_EXISTS, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pack_id);
		rc = mlfs_meta_step(st);
		r = rc == SQLITE_ROW ? 1 :
		    rc == SQLITE_DONE ? 0 : mlfs_meta_errno(rc);
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_pack_used(struct mlfs_meta *m, uint64_t pack_id)
{
	sqlite3_stmt *st = NULL;
	uint8_t le[8];
	int r, rc;

	mlfs_put_le64(le, pack_id);
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_PACK_USED, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pack_id);
		sqlite3_bind_blob(st, 2, le, sizeof(le), SQLITE_STATIC);
		rc = mlfs_meta_step(st);
		r = rc == SQLITE_ROW ? 1 :
		    rc == SQLITE_DONE ? 0 : mlfs_meta_errno(rc);
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_pack_put(struct mlfs_meta *m, uint64_t pack_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_PACK_PUT, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pack_id);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

struct blob_row {
	struct mlfs_meta *m;
	const struct mlfs_id *id;
	uint64_t *size;     /* NULL: a tree row (no size, no mac column) */
	struct mlfs_buf *buf;
};

/* Columns: blob (trees) or size, blob, mac (contents). The row is
 * checked before it is handed out: a tree against its id, a contents row
 * against its check value. */
static int read_blob(sqlite3_stmt *st, void *ctx)
{
	struct blob_row *b = ctx;
	int col = b->size ? 1 : 0, r;
	struct mlfs_id got, mac;

	b->buf->len = 0;
	r = mlfs_buf_append(b->buf, sqlite3_column_blob(st, col),
			    (size_t)sqlite3_column_bytes(st, col));
	if (r < 0)
		return r;
	if (!b->size) {
		mlfs_hash(b->m->key, b->buf->data, b->buf->len, &got);
		if (mlfs_id_cmp(&got, b->id))
			return meta_damaged("tree", b->id, "hash mismatch");
		return 0;
	}
	if (sqlite3_column_int64(st, 0) < 0)
		return meta_damaged("contents row", b->id, "negative size");
	*b->size = (uint64_t)sqlite3_column_int64(st, 0);
	if (meta_col_id(st, 2, &mac) < 0)
		return meta_damaged("contents row", b->id,
				    "check value missing");
	mlfs_objid_content_mac(b->m->key, b->id, *b->size, b->buf->data,
			       b->buf->len, &got);
	if (mlfs_id_cmp(&got, &mac))
		return meta_damaged("contents row", b->id,
				    "chunk list or size does not match its "
				    "check value");
	return 0;
}

int mlfs_meta_content_get(struct mlfs_meta *m, const struct mlfs_id *digest,
			  uint64_t *size, struct mlfs_buf *chunks)
{
	struct blob_row b = { m, digest, size, chunks };

	return meta_row_by_id(m, ST_CONTENT_GET, digest, read_blob, &b);
}

int mlfs_meta_content_put(struct mlfs_meta *m, const struct mlfs_id *digest,
			  uint64_t size, const void *chunks, size_t len)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_id mac;
	int r;

	if (len > INT_MAX || size > INT64_MAX)
		return -EFBIG;
	mlfs_objid_content_mac(m->key, digest, size, chunks, len, &mac);
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_CONTENT_PUT, &st);
	if (r == 0) {
		meta_bind_id(st, 1, digest);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
		/* zeroblob(0) rather than NULL for the empty file. */
		sqlite3_bind_blob(st, 3, len ? chunks : "", (int)len,
				  SQLITE_STATIC);
		meta_bind_id(st, 4, &mac);
		r = meta_step_done(st);
	}
	/* A new row gets its chunks' locations while they are at hand
	 * (the chunk rows come first in the same transaction). */
	if (r == 0 && len && sqlite3_changes(m->db) == 1)
		r = mlfs_meta_content_locs_record(m, digest, chunks, len);
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_tree_get(struct mlfs_meta *m, const struct mlfs_id *id,
		       struct mlfs_buf *data)
{
	struct blob_row b = { m, id, NULL, data };

	return meta_row_by_id(m, ST_TREE_GET, id, read_blob, &b);
}

int mlfs_meta_tree_put(struct mlfs_meta *m, const struct mlfs_id *id,
		       const void *data, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_TREE_PUT, &st);
	if (r == 0) {
		meta_bind_id(st, 1, id);
		sqlite3_bind_blob(st, 2, len ? data : "", (int)len,
				  SQLITE_STATIC);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_each_chunk(struct mlfs_meta *m,
	int (*fn)(void *ctx, const struct mlfs_id *id,
		  const struct mlfs_chunk_loc *loc),
	void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_CHUNK_EACH, &st);
	if (r < 0)
		goto out;
	while ((rc = mlfs_meta_step(st)) == SQLITE_ROW) {
		struct mlfs_chunk_loc loc;
		struct mlfs_id id;

		r = meta_col_id(st, 0, &id);
		if (r < 0)
			break;
		r = read_loc_cols(st, 1, &id, &loc);
		if (r < 0)
			break;
		r = fn(ctx, &id, &loc);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	meta_done(st);
out:
	mlfs_meta_unlock(m);
	return r;
}

