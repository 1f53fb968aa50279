/*
 * diff_csv.h - what the parts of the CSV/TSV diff share (internal to
 * diff_csv.c, diff_csv_read.c and diff_csv_sort.c): the record reader,
 * the 48-byte row records, their sorted runs, and the state of one diff.
 */
#ifndef MLFS_DIFF_CSV_H
#define MLFS_DIFF_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xxhash.h>

#include "mlfs/diff.h"

#define SIDE_BIT (1ull << 63)

struct rd {
	const struct mlfs_diff_src *src;
	char delim;
	uint8_t *buf;
	size_t cap, len, at;    /* buf holds cap bytes, len of them read */
	uint64_t pos;           /* file offset of buf[0] */
	struct mlfs_buf rec;    /* field bytes of the current record */
	size_t *fend;           /* end of field i in rec */
	size_t nf, fcap;
	uint64_t line;          /* line of the next byte (1-based) */
	uint64_t rec_off, rec_line;
};

struct rowrec {
	uint64_t k[2];   /* key hash (or row hash without a key) */
	uint64_t h[2];   /* hash of the common columns */
	uint64_t off;    /* SIDE_BIT | offset of the row */
	uint64_t line;
};

/* Sorted records: in memory (@mem) or in a file (@fd), @n of them. */
struct rsrc {
	const struct rowrec *mem;
	int fd;
	uint64_t n;
};

/* Reads records [at, end) of a source, @cap at a time from a file. */
struct rcur {
	const struct rsrc *s;
	uint64_t at, end;
	struct rowrec *buf;
	size_t cap, have, pos;
};

/* Keep the @max records with the smallest offsets (file order). */
struct ex {
	struct rowrec *v;   /* for changed rows: pairs, B's offset orders */
	struct rowrec *pa;  /* changed: the A side of v[i] */
	size_t n, max;
};

struct csv {
	const struct mlfs_diff_src *src[2];
	char delim[2];
	struct rd hdr[2];       /* header records */
	size_t ncommon;
	size_t *ca, *cb;        /* common column i in A and in B */
	size_t *pa, *pb;        /* partner of each column, SIZE_MAX: none */
	long key[2];            /* key column index, -1 */
	/* Records (diff_csv_sort.c): the current run, of at most @run_max;
	 * full runs sorted in @spill (run i is records runs[i] to
	 * runs[i + 1]), merged at the end into @merged. */
	struct rowrec *run;
	size_t nrun, run_cap, run_max;
	FILE *spill, *merged;
	uint64_t *runs;
	size_t nruns;
	uint64_t nspilled;
	struct ex ex_add, ex_rm, ex_ch;
	struct mlfs_csv_result res;
	/* Row hashes are keyed with the store's secret, as chunk ids are,
	 * so rows cannot be crafted to collide; borrowed, or @own_key. */
	const struct mlfs_hash_key *hkey;
	struct mlfs_hash_key own_key;
	uint64_t ragged_line[2];
	size_t ragged_nf[2];
	char err[200];
};

/* Set up @r to read @src from offset @off, fields split at @delim (@src
 * borrowed). Release with csv_rd_release, also after a failure. Returns 0
 * or -ENOMEM. */
int csv_rd_init(struct rd *r, const struct mlfs_diff_src *src, char delim,
		uint64_t off);
/* Free @r's buffers (not @r itself). */
void csv_rd_release(struct rd *r);
/*
 * Read one record (RFC 4180 quoting; lenient about stray quotes in
 * unquoted fields). Returns 1, 0 at EOF, -EBADMSG (unclosed quote),
 * -E2BIG (record over RECORD_MAX or FIELDS_MAX), @err saying which line,
 * -errno.
 */
int csv_rd_next(struct rd *r, char *err, size_t errlen);
/* Field @i of the current record ("" past the last one); not terminated,
 * valid until the next csv_rd_next. */
const char *csv_field(const struct rd *r, size_t i, size_t *len);
/* Re-read the record at @off of @side into @r (released by the caller,
 * also after a failure). Returns 0, -EIO (nothing there), -errno. */
int csv_read_row(struct csv *x, int side, uint64_t off, struct rd *r);
/* '\t' for a .tsv or .tab path or a first line with more tabs than
 * commas, else ','. */
char csv_detect_delim(const struct mlfs_diff_src *s);
/* XXH3-128 keyed with @key of fields @cols[0..n) of @r's record, each
 * prefixed with its length as le64 (the mlfs_hash_parts of those spans);
 * @st is scratch. out[0] is the high half. */
void csv_hash_fields(const struct rd *r, const size_t *cols, size_t n,
		     const struct mlfs_hash_key *key, XXH3_state_t *st,
		     uint64_t out[2]);
/* Stream one side into partition records (row hashes keyed with
 * @x->hkey), counting rows and ragged rows in @x->res. Returns 0, -EBADMSG or -E2BIG
 * (@x->err says why), -errno. */
int csv_scan_side(struct csv *x, int side, XXH3_state_t *st);
/* mlfs_csv_diff with runs of @run_max records (tests force spills). */
int csv_diff_runs(const struct mlfs_diff_src *a, const struct mlfs_diff_src *b,
		  const struct mlfs_diff_content_opts *o,
		  struct mlfs_diff_out *out, struct mlfs_csv_result *res,
		  size_t run_max);
/* Order of records: key hash, then offset (so A's before B's). */
int csv_cmp_rec(const void *x, const void *y);
/* Add a record to @x's runs (spilling a full run). Returns 0, -ENOMEM,
 * -errno from the temporary file. */
int csv_put_rec(struct csv *x, const struct rowrec *r);
/* All records, sorted, as @out (valid until csv_sort_release). Returns
 * 0, -ENOMEM, -errno. */
int csv_sort_all(struct csv *x, struct rsrc *out);
void csv_sort_release(struct csv *x);
/* A cursor over records [at, end) of @s, reading @cap at a time from a
 * file (none for memory). Returns 0 or -ENOMEM; release it after. */
int csv_rcur_init(struct rcur *c, const struct rsrc *s, uint64_t at,
		  uint64_t end, size_t cap);
/* Next record into @out: 1, 0 at the end, -errno. */
int csv_rcur_next(struct rcur *c, struct rowrec *out);
void csv_rcur_release(struct rcur *c);

#endif
