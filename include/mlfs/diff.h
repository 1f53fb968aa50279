/*
 * diff.h - what changed between two versions. Two layers:
 *  - the tree diff walks two root trees of one store in step, skipping
 *    every subtree whose id is the same on both sides and recognising
 *    unchanged files by digest, and emits one record per change;
 *  - content diffs (a plug-in table keyed by file type) explain a
 *    modified file in its own terms: tensors, rows, keys, lines, bytes.
 * Parsers read only through struct mlfs_diff_src, so they run as well on
 * a memory buffer (unit tests) as on stored content. Formats: docs/diff.md.
 */
#ifndef MLFS_DIFF_H
#define MLFS_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/tree.h"
#include "mlfs/util.h"

struct mlfs_store;
struct mlfs_content;

/* ---- tree diff ---------------------------------------------------- */

enum mlfs_diff_status {
	MLFS_DIFF_ADDED = 'A',
	MLFS_DIFF_REMOVED = 'D',
	MLFS_DIFF_MODIFIED = 'M',
	MLFS_DIFF_RENAMED = 'R',
	MLFS_DIFF_TYPE = 'T', /* file <-> symlink */
};

/* What differs in a MODIFIED (or RENAMED) record. */
#define MLFS_DIFF_F_CONTENT 0x1u /* file digest */
#define MLFS_DIFF_F_MODE 0x2u    /* permission bits */
#define MLFS_DIFF_F_TARGET 0x4u  /* symlink target */
/* modification time: a record for it alone exists only when nothing else
 * differs (of a directory: nor anything below it) */
#define MLFS_DIFF_F_MTIME 0x8u

/* Chunk-level sharing of a modified file, from the two chunk lists only. */
struct mlfs_diff_chunks {
	uint64_t a_chunks, b_chunks;
	uint64_t shared_chunks; /* chunks of B whose id is also in A */
	uint64_t shared_bytes;  /* bytes of B in those chunks */
	uint64_t new_bytes;     /* size of B - shared_bytes */
};

struct mlfs_diff_rec {
	enum mlfs_diff_status status;
	const char *path;     /* path in B; in A for REMOVED */
	const char *old_path; /* path in A (== path unless RENAMED) */
	const struct mlfs_entry *a; /* NULL for ADDED */
	const struct mlfs_entry *b; /* NULL for REMOVED */
	unsigned what;              /* MLFS_DIFF_F_* */
	bool has_chunks;            /* @chunks filled (modified files) */
	struct mlfs_diff_chunks chunks;
};

struct mlfs_diff_stats {
	uint64_t added, removed, modified, renamed, type_changed;
	uint64_t trees_loaded;   /* trees actually read (skips show here) */
	uint64_t bytes_a, bytes_b;  /* sizes of the changed files */
	uint64_t new_bytes;      /* added files + new bytes of modified ones */
};

/* Compute chunk sharing for modified files (loads two chunk lists each). */
#define MLFS_DIFF_CHUNK_STATS 0x1u
/* Do not pair removed and added files of equal content as renames. */
#define MLFS_DIFF_NO_RENAMES 0x2u

struct mlfs_diff_opts {
	unsigned flags;
	/* Restrict to these paths ("a/b": that entry and everything under
	 * it; no leading '/'); none = everything. Borrowed. */
	const char *const *paths;
	size_t npaths;
	/* Called once per change, in path order of B (REMOVED in order of
	 * A's path). The record and its strings are valid during the call.
	 * A non-zero return stops the diff and is returned. */
	int (*fn)(void *ctx, const struct mlfs_diff_rec *r);
	void *ctx;
};

/*
 * Diff root tree @a against root tree @b, both in @s. Subtrees with equal
 * ids are not read. Directories appear only through the entries below
 * them (an empty directory added or removed is a record of its own, and
 * so is a directory's mode change). A file that changes to a directory
 * is REMOVED plus the ADDED files below it. A rename is a removed and an
 * added file of the same non-empty content; a moved file that was also
 * edited shows as REMOVED + ADDED. Modification times are not compared.
 * @st may be NULL. Returns 0, @fn's non-zero result, -ENOENT/-EBADMSG
 * (missing or damaged tree or chunk list), -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_diff_trees(struct mlfs_store *s,
				    const struct mlfs_id *a,
				    const struct mlfs_id *b,
				    const struct mlfs_diff_opts *o,
				    struct mlfs_diff_stats *st);

/* Chunk sharing between two contents (B's chunks looked up in A's).
 * Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_diff_chunk_stats(const struct mlfs_content *a,
					  const struct mlfs_content *b,
					  struct mlfs_diff_chunks *out);

/* ---- content diffs -------------------------------------------------- */

/* A random-access byte source: stored content or a memory buffer. */
struct mlfs_diff_src {
	const char *path;      /* for detection by extension and messages */
	uint64_t size;
	const uint8_t *mem;    /* memory source (then @content is NULL) */
	struct mlfs_store *store;            /* stored source, borrowed */
	const struct mlfs_content *content;  /* loaded with LOCATE, borrowed */
};

/* Read exactly @len bytes at @off. Returns 0, -EIO (past the end, or a
 * bad chunk), -EBADMSG, -ENOENT. */
MLFS_MUST_CHECK int mlfs_diff_src_read(const struct mlfs_diff_src *src,
				       void *buf, size_t len, uint64_t off);

struct mlfs_diff_content_opts {
	const char *key;        /* CSV key column name, or NULL */
	size_t max_examples;    /* examples per category (rows, ranges) */
	unsigned context;       /* text: lines of context (-U) */
	uint64_t text_max;      /* text: bytes per side past which we only
				 * summarise; 0 = 8 MiB */
	uint64_t json_max;      /* JSON: bytes per side; 0 = 64 MiB */
};

/*
 * A content diff's result. @text is human-readable lines (each ending in
 * '\n', not indented), @json one JSON object (the "content" member of
 * the --json schema, docs/diff.md). @equal is set when the format finds
 * the two files equivalent (e.g. only a CSV's row order changed).
 * @err holds why a parser gave up on a malformed file.
 */
struct mlfs_diff_out {
	const char *format; /* static name of the format that ran */
	bool equal;
	struct mlfs_buf text;
	struct mlfs_buf json;
	char err[256];
};
void mlfs_diff_out_release(struct mlfs_diff_out *out);

/*
 * One content format. @detect scores a file from its first bytes (@head,
 * @len of them, up to 4 KiB) and name: 2 = recognised by content, 1 = by
 * name or a weak content hint, 0 = not this format. @diff compares two
 * sources and fills @out; it returns 0, -EBADMSG for a malformed file
 * (with @out->err set: the caller reports it and falls back to the binary
 * summary), -E2BIG for a file over one of the format's hard limits (with
 * @out->err "... too large to diff (limit ...)": the same fallback), or
 * -ENOMEM/-EIO/-errno. A format never allocates in proportion to an
 * untrusted length without checking it against a limit, and its memory
 * is bounded by a small multiple of its input (docs/diff.md#memory).
 */
struct mlfs_diff_format {
	const char *name;
	int (*detect)(const char *path, const uint8_t *head, size_t len,
		      uint64_t size);
	int (*diff)(const struct mlfs_diff_src *a,
		    const struct mlfs_diff_src *b,
		    const struct mlfs_diff_content_opts *o,
		    struct mlfs_diff_out *out);
};

extern const struct mlfs_diff_format mlfs_diff_format_safetensors;
extern const struct mlfs_diff_format mlfs_diff_format_csv;
extern const struct mlfs_diff_format mlfs_diff_format_json;
extern const struct mlfs_diff_format mlfs_diff_format_text;
extern const struct mlfs_diff_format mlfs_diff_format_binary;

/* The table, NULL-terminated, in tie-break order. */
extern const struct mlfs_diff_format *const mlfs_diff_formats[];

/* Pick the format for two versions of a file: the best score over both
 * heads; binary when nothing matches. Never NULL. */
const struct mlfs_diff_format *mlfs_diff_detect(const char *path,
						const uint8_t *head_a,
						size_t len_a, uint64_t size_a,
						const uint8_t *head_b,
						size_t len_b, uint64_t size_b);

/*
 * Diff two sources with the detected format; on -EBADMSG or -E2BIG from
 * it, keep its message in @out->err and run the binary summary instead. @out must
 * be zeroed. Returns 0 or -errno (I/O, memory).
 */
MLFS_MUST_CHECK int mlfs_diff_content(const struct mlfs_diff_src *a,
				      const struct mlfs_diff_src *b,
				      const struct mlfs_diff_content_opts *o,
				      struct mlfs_diff_out *out);

/* Load files @a and @b (digests) with LOCATE and run mlfs_diff_content.
 * Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_diff_content_stored(struct mlfs_store *s,
				const char *path,
				const struct mlfs_id *a,
				const struct mlfs_id *b,
				const struct mlfs_diff_content_opts *o,
				struct mlfs_diff_out *out);

/*
 * Sharded safetensors: when directory @dir ("" = root) holds a
 * "*.safetensors.index.json" in version @root_a or @root_b, diff the
 * tensors of all its shards by name (a tensor that moved to another
 * shard unchanged is not a change). Returns 1 and fills @out when @dir
 * is such a directory, 0 when it is not, -EBADMSG (out->err set) for a
 * malformed index or shard, -errno.
 */
MLFS_MUST_CHECK int mlfs_diff_safetensors_sharded(struct mlfs_store *s,
				const struct mlfs_id *root_a,
				const struct mlfs_id *root_b, const char *dir,
				const struct mlfs_diff_content_opts *o,
				struct mlfs_diff_out *out);

/* ---- pieces exposed for unit tests ---------------------------------- */

/* safetensors dtypes. */
enum mlfs_st_dtype {
	MLFS_ST_BOOL, MLFS_ST_U8, MLFS_ST_I8, MLFS_ST_F8_E5M2, MLFS_ST_F8_E4M3,
	MLFS_ST_U16, MLFS_ST_I16, MLFS_ST_F16, MLFS_ST_BF16,
	MLFS_ST_U32, MLFS_ST_I32, MLFS_ST_F32,
	MLFS_ST_U64, MLFS_ST_I64, MLFS_ST_F64,
};

#define MLFS_ST_HEADER_MAX (100u * 1024 * 1024)
#define MLFS_ST_RANK_MAX 16

/* 56 bytes: a header of a million tiny tensors takes about as much
 * memory as its text. */
struct mlfs_st_tensor {
	const char *name;       /* in the file's @names */
	const uint64_t *shape;  /* @rank dims, in the file's @dims */
	uint64_t nelem;
	uint64_t off;  /* absolute offset of the data in its file */
	uint64_t len;
	enum mlfs_st_dtype dtype;
	unsigned rank;
	int file;      /* index of the shard (0 for a single file) */
};

struct mlfs_st_file {
	size_t n;
	struct mlfs_st_tensor *t;   /* sorted by name */
	char *names;                /* the tensors' names, NUL-separated */
	uint64_t *dims;             /* their shapes, one after another */
	size_t nmeta;
	char **meta;                /* 2 * nmeta: key, value, ... */
	uint64_t header_len;
};

/* Parse the header of a safetensors file: length, JSON, every tensor's
 * dtype, shape and range (inside the file, matching shape x dtype, not
 * overlapping). @file is stored in each tensor. Returns 0, -EBADMSG
 * (@err gets the reason, @errlen bytes), -E2BIG (a header over
 * MLFS_ST_HEADER_MAX; @err says so), -ENOMEM, -EIO. */
MLFS_MUST_CHECK int mlfs_st_parse(const struct mlfs_diff_src *src, int file,
				  struct mlfs_st_file *out, char *err,
				  size_t errlen);
/* The same checks on a header already in memory: @text is the @len bytes
 * of JSON after the length (borrowed), of a file of @file_size bytes (its
 * data section is the rest). For the safetensors splitter, which reads a
 * file's first bytes before it is cut. Returns as mlfs_st_parse; tensors
 * get file 0. */
MLFS_MUST_CHECK int mlfs_st_parse_header(const uint8_t *text, size_t len,
					 uint64_t file_size,
					 struct mlfs_st_file *out, char *err,
					 size_t errlen);
void mlfs_st_file_release(struct mlfs_st_file *f);

/* Element-wise comparison of two tensors of equal dtype and element count.
 * Returns 0 or -errno. */
struct mlfs_st_cmp {
	uint64_t ndiff;     /* elements whose bits differ */
	uint64_t nonfinite; /* differing pairs with a NaN/Inf: not in
			     * max/mean */
	double max_abs;
	double sum_abs;
	uint64_t bytes_read; /* both sides; chunk-proven spans are skipped */
};
MLFS_MUST_CHECK int mlfs_st_compare(const struct mlfs_diff_src *a,
				    const struct mlfs_diff_src *b,
				    enum mlfs_st_dtype dtype, uint64_t nelem,
				    uint64_t off_a, uint64_t off_b,
				    struct mlfs_st_cmp *out);
/* True when the chunk lists prove the two ranges hold the same bytes. */
bool mlfs_st_range_same_chunks(const struct mlfs_content *a, uint64_t off_a,
			       const struct mlfs_content *b, uint64_t off_b,
			       uint64_t len);

/*
 * JSON documents (hostile-input-safe parser, diff_json_parse.c). A
 * document holds its text, with strings decoded in place, and a tape of
 * 32-bit words, one or two per value, so it takes at most the input plus
 * 4 bytes per input byte (docs/diff.md#memory). Values are positions on
 * the tape (struct mlfs_jv), valid while the document lives.
 */
enum mlfs_json_type {
	MLFS_JSON_NULL, MLFS_JSON_FALSE, MLFS_JSON_TRUE, MLFS_JSON_NUMBER,
	MLFS_JSON_STRING, MLFS_JSON_ARRAY, MLFS_JSON_OBJECT,
};

#define MLFS_JSON_DEPTH_MAX 128
/* Largest text a document holds (tape words carry 28-bit offsets). */
#define MLFS_JSON_MAX (255u << 20)

struct mlfs_json; /* a document */

/* A value of a document; @doc NULL: no value (a failed lookup). */
struct mlfs_jv {
	const struct mlfs_json *doc;
	uint32_t at;
};

/* Parse @len bytes (copied). Rejects trailing garbage, depth over
 * MLFS_JSON_DEPTH_MAX, bad escapes and unpaired surrogates. Returns 0,
 * -EBADMSG (@err says where and why), -E2BIG (over MLFS_JSON_MAX, @err
 * says so), -ENOMEM. The caller frees *@out with mlfs_json_free. */
MLFS_MUST_CHECK int mlfs_json_parse(const char *p, size_t len,
				    struct mlfs_json **out, char *err,
				    size_t errlen);
/* The same on @text's bytes, without a copy: the document takes @text's
 * memory (@text is left empty, on failure too). */
MLFS_MUST_CHECK int mlfs_json_parse_buf(struct mlfs_buf *text,
					struct mlfs_json **out, char *err,
					size_t errlen);
/* Accepts NULL. */
void mlfs_json_free(struct mlfs_json *j);
/* Bytes @j holds: at most 5 per byte of its text plus a few hundred. */
size_t mlfs_json_size(const struct mlfs_json *j);
struct mlfs_jv mlfs_json_root(const struct mlfs_json *j);
/* Type of @v (MLFS_JSON_NULL for no value). */
enum mlfs_json_type mlfs_jv_type(struct mlfs_jv v);
/* Children of an array or object (0 for anything else). */
size_t mlfs_jv_count(struct mlfs_jv v);
/* First child (an object's: its first member's value), or no value;
 * then mlfs_jv_next, mlfs_jv_count(parent) - 1 times: past the last
 * child it returns an unspecified value. */
struct mlfs_jv mlfs_jv_first(struct mlfs_jv v);
struct mlfs_jv mlfs_jv_next(struct mlfs_jv v);
/* Key of an object member's value @v (NUL-terminated; *@len counts NUL
 * bytes inside), or NULL when @v is not a member. */
const char *mlfs_jv_key(struct mlfs_jv v, size_t *len);
/* A STRING's decoded bytes (NUL-terminated, may hold NULs: see *@len), a
 * NUMBER's literal (not terminated), else NULL. */
const char *mlfs_jv_str(struct mlfs_jv v, size_t *len);
/* A NUMBER's value (strtod of its literal), else 0. */
double mlfs_jv_num(struct mlfs_jv v);
/* Member @key of object @obj (the last of duplicates), or no value. */
struct mlfs_jv mlfs_jv_get(struct mlfs_jv obj, const char *key);
/* Element @i of array @arr, or no value (linear in @i). */
struct mlfs_jv mlfs_jv_at(struct mlfs_jv arr, size_t i);

/* A tiny JSON writer over a buffer. Errors are sticky in @err. With
 * @limit set, output past @limit bytes is dropped (and counted in
 * @total), to show the head of a large value. */
struct mlfs_jw {
	struct mlfs_buf *b;
	int err;
	unsigned depth;
	/* A parsed value nests MLFS_JSON_DEPTH_MAX deep, inside a report. */
	bool need_comma[MLFS_JSON_DEPTH_MAX + 32];
	bool after_key;
	size_t limit;  /* 0: none */
	uint64_t total; /* bytes written, dropped ones included */
};
void mlfs_jw_init(struct mlfs_jw *w, struct mlfs_buf *b);
void mlfs_jw_obj(struct mlfs_jw *w);
void mlfs_jw_obj_end(struct mlfs_jw *w);
void mlfs_jw_arr(struct mlfs_jw *w);
void mlfs_jw_arr_end(struct mlfs_jw *w);
void mlfs_jw_key(struct mlfs_jw *w, const char *k);
void mlfs_jw_str(struct mlfs_jw *w, const char *s);
void mlfs_jw_strn(struct mlfs_jw *w, const char *s, size_t len);
void mlfs_jw_u64(struct mlfs_jw *w, uint64_t v);
void mlfs_jw_i64(struct mlfs_jw *w, int64_t v);
void mlfs_jw_f64(struct mlfs_jw *w, double v); /* NaN/Inf as null */
void mlfs_jw_bool(struct mlfs_jw *w, bool v);
void mlfs_jw_null(struct mlfs_jw *w);
/* A parsed value, re-encoded. */
void mlfs_jw_value(struct mlfs_jw *w, struct mlfs_jv v);

/* Text diff core on memory: lines of @a and @b, unified format with
 * @context lines, into @out. Returns 0, -E2BIG (edit distance over the
 * cap: summarise instead), -ENOMEM. */
MLFS_MUST_CHECK int mlfs_text_udiff(const char *a, size_t alen,
				    const char *b, size_t blen,
				    unsigned context, struct mlfs_buf *out,
				    uint64_t *added, uint64_t *removed);

/* CSV results, also written into @out by the csv format. */
struct mlfs_csv_result {
	uint64_t rows_a, rows_b;
	uint64_t rows_added, rows_removed, rows_changed, rows_same;
	uint64_t ragged_a, ragged_b;     /* rows with a wrong field count */
	uint64_t dup_keys_a, dup_keys_b; /* extra rows sharing a key */
	size_t cols_added, cols_removed;
	bool cols_reordered;
};
MLFS_MUST_CHECK int mlfs_csv_diff(const struct mlfs_diff_src *a,
				  const struct mlfs_diff_src *b,
				  const struct mlfs_diff_content_opts *o,
				  struct mlfs_diff_out *out,
				  struct mlfs_csv_result *res);

#endif
