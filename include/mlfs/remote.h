/*
 * remote.h - S3 buckets as remotes of a store: their configuration
 * (kept in the store's database, never credentials), the bucket objects
 * of layout 1 (docs/format.md#bucket-layout) and push / fetch / clone
 * (docs/remote.md). Every function returns 0 or -errno and leaves a
 * message in mlfs_error_detail() naming the remote, the key and the
 * HTTP status when the server was the cause.
 */
#ifndef MLFS_REMOTE_H
#define MLFS_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/config.h"
#include "mlfs/hash.h"
#include "mlfs/names.h"
#include "mlfs/pack.h"
#include "mlfs/util.h"

struct mlfs_store;
struct mlfs_s3;

/* Bucket layout version, in PREFIX/config ("layout = 1"). */
#define MLFS_REMOTE_LAYOUT 1u
#define MLFS_REMOTE_NAME_MAX 64
#define MLFS_REMOTE_URL_MAX 1024
#define MLFS_REMOTE_PREFIX_MAX 512

struct mlfs_remote {
	char *name;      /* "origin" */
	char *url;       /* "s3://bucket/prefix" as given */
	char *bucket;    /* parsed from url */
	char *prefix;    /* "" or "prefix/" (always ends in '/') */
	char *endpoint;  /* "http://127.0.0.1:8000", or NULL */
	char *region;    /* or NULL */
	bool virtual_host;
	/* Bound of the local cache of this remote's chunks (bytes; 0:
	 * MLFS_REMOTE_CACHE_DEFAULT). */
	uint64_t cache_size;
};
#define MLFS_REMOTE_CACHE_DEFAULT (1ull << 30)
void mlfs_remote_release(struct mlfs_remote *r);
void mlfs_remote_list_free(struct mlfs_remote *v, size_t n);

/* 0 when @name may name a remote: 1-64 characters of [A-Za-z0-9._-],
 * not starting with '.' or '-', no "..". Else -EINVAL, *why static. */
MLFS_MUST_CHECK int mlfs_remote_name_check(const char *name,
					   const char **why);
/* Parse "s3://bucket[/prefix]" into @bucket and @prefix (malloc'd;
 * the prefix without leading or doubled '/', with one trailing '/', or
 * ""). -EINVAL (*why static) for another scheme, a bad bucket name
 * (3-63 of [a-z0-9.-]), a prefix with "..", "//", NUL or control bytes,
 * or a URL over MLFS_REMOTE_URL_MAX. */
MLFS_MUST_CHECK int mlfs_remote_url_parse(const char *url, char **bucket,
					  char **prefix, const char **why);
/* Fill @out from @name, @url etc. (copied), checking all of them. */
MLFS_MUST_CHECK int mlfs_remote_make(const char *name, const char *url,
				     const char *endpoint, const char *region,
				     bool virtual_host,
				     struct mlfs_remote *out);

/* The store's remotes (schema 5 table `remotes`). Add: -EEXIST when the
 * name is taken; remove: -ENOENT, -EBUSY when the index locates chunks
 * in packs only that remote holds (the store would lose them); it drops
 * the remote's tracking refs in the same transaction. */
MLFS_MUST_CHECK int mlfs_remote_add(struct mlfs_store *s,
				    const struct mlfs_remote *r);
MLFS_MUST_CHECK int mlfs_remote_remove(struct mlfs_store *s,
				       const char *name);
MLFS_MUST_CHECK int mlfs_remote_get(struct mlfs_store *s, const char *name,
				    struct mlfs_remote *out);
MLFS_MUST_CHECK int mlfs_remote_list(struct mlfs_store *s,
				     struct mlfs_remote **out, size_t *n);
/* @name, else the only remote, else "origin": -ENOENT (detail says
 * which) when there is none to take. */
MLFS_MUST_CHECK int mlfs_remote_pick(struct mlfs_store *s, const char *name,
				     struct mlfs_remote *out);
/* A remote-tracking ref (schema 6): where branch @branch of @ns/@name
 * was in remote @remote when a fetch, pull, clone or push last saw it.
 * "NS/NAME@REMOTE/BRANCH" resolves to it (mlfs/repo.h). */
struct mlfs_track {
	char remote[MLFS_REMOTE_NAME_MAX + 1];
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	char branch[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;
	/* The row fails its check value: @commit must not be used (and
	 * resolving the name fails with -EIO). */
	bool damaged;
};
/* The tracking refs of @remote (NULL: of every remote) and repository
 * @repo_id (0: of every one), by repository, remote and branch. *out
 * malloc'd (free()). Returns 0, -ENOMEM, -errno of the database. */
MLFS_MUST_CHECK int mlfs_track_list(struct mlfs_store *s, const char *remote,
				    int64_t repo_id, struct mlfs_track **out,
				    size_t *n);

/* Open an S3 client for @r with credentials from the environment or
 * ~/.aws/credentials (mlfs_s3_creds_load). */
MLFS_MUST_CHECK int mlfs_remote_connect(const struct mlfs_remote *r,
					struct mlfs_s3 **out);

/* ---- bucket objects (remote_obj.c): pure, untrusted input ---- */

/* PREFIX/config: "layout = 1" and the store config lines (format,
 * chunking, zstd level, hash key). Parse: -EPROTONOSUPPORT for a newer
 * layout or format, -EBADMSG otherwise bad. */
MLFS_MUST_CHECK int mlfs_remote_config_format(
	const struct mlfs_store_config *c, struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_config_parse(const char *text, size_t len,
					     struct mlfs_store_config *out);

/* One entry of a pack index object. */
struct mlfs_remote_idx_entry {
	struct mlfs_id id;
	struct mlfs_chunk_loc loc; /* loc.pack_id is the index's pack */
};
/* PREFIX/packs/pack-<16hex>.idx: where each chunk of the pack is
 * (docs/format.md#pack-index-objects). @e must be sorted by id and
 * unique; format writes the check value with @k. Parse checks magic,
 * version, counts, order, every location against @pack_size (from the
 * index itself) and the check value: -EBADMSG or -EIO (check value). *e
 * malloc'd (free()). */
MLFS_MUST_CHECK int mlfs_remote_idx_format(const struct mlfs_hash_key *k,
					   uint64_t pack_id,
					   uint64_t pack_size,
					   const struct mlfs_remote_idx_entry *e,
					   size_t n, struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_idx_parse(const struct mlfs_hash_key *k,
					  const void *p, size_t len,
					  uint64_t *pack_id,
					  uint64_t *pack_size,
					  struct mlfs_remote_idx_entry **e,
					  size_t *n);

/* PREFIX/packlists/<commit id>: the pack ids (sorted, unique) whose
 * entries hold the chunks of every file of that commit's tree, so a
 * fetch reads only those packs' indexes (docs/format.md#pack-list-
 * objects). Format: -EINVAL when @ids is not strictly increasing. Parse
 * checks magic, version, count, order and the check value (which covers
 * the commit id: a list copied under another commit's key fails):
 * -EBADMSG (shape), -EIO (check value or commit), -EPROTONOSUPPORT
 * (newer version). *ids malloc'd (free()), NULL on failure. */
MLFS_MUST_CHECK int mlfs_remote_packlist_format(const struct mlfs_hash_key *k,
						const struct mlfs_id *commit,
						const uint64_t *ids, size_t n,
						struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_packlist_parse(const struct mlfs_hash_key *k,
					       const struct mlfs_id *commit,
					       const void *p, size_t len,
					       uint64_t **ids, size_t *n);

/* PREFIX/contents/<digest>: size and chunk list, with the contents
 * row's check value. Parse: -EBADMSG (shape), -EIO (check value). *chunks
 * malloc'd. */
MLFS_MUST_CHECK int mlfs_remote_content_format(const struct mlfs_hash_key *k,
					       const struct mlfs_id *digest,
					       uint64_t size,
					       const void *chunks, size_t len,
					       struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_content_parse(const struct mlfs_hash_key *k,
					      const struct mlfs_id *digest,
					      const void *p, size_t len,
					      uint64_t *size, uint8_t **chunks,
					      size_t *clen);

/* A version metadata pair and an input of a commit object. */
struct mlfs_remote_kv {
	char *key, *value;
};
struct mlfs_remote_input {
	struct mlfs_id commit;
	uint64_t files, bytes;
	int how; /* enum mlfs_input_how */
};
/* A commit object, PREFIX/commits/<id>: the commit, its repository and
 * the rows that belong to it (version metadata, inputs). */
struct mlfs_remote_commit {
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	struct mlfs_id id, parent, tree;
	bool has_parent;
	int64_t time;
	char *author, *message;
	struct mlfs_remote_kv *kv;
	size_t nkv;
	struct mlfs_remote_input *in;
	size_t nin;
};
void mlfs_remote_commit_release(struct mlfs_remote_commit *c);
/* Format: the object's bytes, its check value with @k. Parse: the
 * commit id is recomputed from the fields and must be @id; the check
 * value must match; names, keys, values and inputs must be valid.
 * -EBADMSG (shape), -EIO (id or check value). */
MLFS_MUST_CHECK int mlfs_remote_commit_format(const struct mlfs_hash_key *k,
					      const struct mlfs_remote_commit *c,
					      struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_commit_parse(const struct mlfs_hash_key *k,
					     const struct mlfs_id *id,
					     const void *p, size_t len,
					     struct mlfs_remote_commit *out);

/* A version metadata object, PREFIX/vmeta/<commit id>: the pairs and
 * inputs of a commit whose metadata changed after its first push (the
 * commit object keeps what it had then; docs/format.md#version-metadata-
 * objects). Mutable: created with If-None-Match, moved with If-Match. */
struct mlfs_remote_vmeta {
	struct mlfs_id commit;
	struct mlfs_remote_kv *kv;    /* by key, unique */
	size_t nkv;
	struct mlfs_remote_input *in; /* by commit id, unique */
	size_t nin;
};
void mlfs_remote_vmeta_release(struct mlfs_remote_vmeta *v);
/* Format: -EINVAL when the keys or inputs are not strictly increasing,
 * or more than the bounds (1024 pairs, 65536 inputs). Parse checks
 * magic, version, every key, value and input, their order and the
 * check value: -EBADMSG (shape), -EIO (check value, or the object names
 * another commit than @commit), -EPROTONOSUPPORT (newer version). */
MLFS_MUST_CHECK int mlfs_remote_vmeta_format(const struct mlfs_hash_key *k,
					     const struct mlfs_remote_vmeta *v,
					     struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_vmeta_parse(const struct mlfs_hash_key *k,
					    const struct mlfs_id *commit,
					    const void *p, size_t len,
					    struct mlfs_remote_vmeta *out);
/* Sort inputs by commit id (the order the objects and digest take). */
void mlfs_remote_inputs_sort(struct mlfs_remote_input *in, size_t n);
/* The digest of pairs @kv and inputs @in (both sorted as above, else
 * -EINVAL): a keyed hash of their serialization, what push and fetch
 * compare to see whether metadata changed. 0, -EINVAL, -ENOMEM. */
MLFS_MUST_CHECK int mlfs_remote_vmeta_digest(const struct mlfs_hash_key *k,
					     const struct mlfs_remote_kv *kv,
					     size_t nkv,
					     const struct mlfs_remote_input *in,
					     size_t nin, struct mlfs_id *out);

/* A ref object, PREFIX/refs/<ns>/<name>/{branches,tags,aliases}/<ref>:
 * text "mlfs-ref 1\ncommit <hex>\ncheck <hex>\n", the check value being
 * that of the local row (refs row for 'b'/'t', aliases row for 'a').
 * Parse: -EBADMSG (shape), -EIO (check value). */
MLFS_MUST_CHECK int mlfs_remote_ref_format(const struct mlfs_hash_key *k,
					   const char *ns, const char *name,
					   int kind, const char *ref,
					   const struct mlfs_id *commit,
					   struct mlfs_buf *out);
MLFS_MUST_CHECK int mlfs_remote_ref_parse(const struct mlfs_hash_key *k,
					  const char *ns, const char *name,
					  int kind, const char *ref,
					  const void *p, size_t len,
					  struct mlfs_id *commit);
/* Split a listed key "refs/<ns>/<name>/<dir>/<ref>" (-EINVAL for any
 * other shape or a bad name). @kind gets 'b', 't' or 'a'. */
MLFS_MUST_CHECK int mlfs_remote_ref_key_parse(const char *key, char *ns,
					      char *name, int *kind,
					      char *ref);

/* ---- push and fetch ---- */

enum mlfs_remote_ref_status {
	MLFS_PUSH_UPTODATE,  /* the remote had it */
	MLFS_PUSH_CREATED,   /* new on the remote */
	MLFS_PUSH_UPDATED,   /* fast-forward (branch) */
	MLFS_PUSH_FORCED,    /* --force over a non-fast-forward */
	MLFS_PUSH_REJECTED_NFF,   /* not a fast-forward: fetch first */
	MLFS_PUSH_REJECTED_EXISTS,/* tag or alias elsewhere on the remote */
	/* fetch/pull */
	MLFS_FETCH_NEW,      /* created locally */
	MLFS_FETCH_FF,       /* branch fast-forwarded / alias moved */
	MLFS_FETCH_SAME,
	MLFS_FETCH_DIVERGED, /* local branch not an ancestor: left alone */
	MLFS_FETCH_AHEAD,    /* local branch ahead of the remote: left */
	MLFS_FETCH_DIFFERS,  /* tag differs locally: left alone */
	MLFS_FETCH_EDITED,   /* branch has working-tree edits: left alone */
	MLFS_FETCH_BEHIND,   /* fetch only: local branch behind (pull moves) */
};

struct mlfs_remote_ref_result {
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	int kind; /* 'b', 't', 'a' */
	char ref[MLFS_NAME_MAX + 1];
	struct mlfs_id old, new;
	bool has_old;
	enum mlfs_remote_ref_status status;
};

/* What push or fetch did with a commit's version metadata. */
enum mlfs_remote_vmeta_status {
	MLFS_VMETA_PUSHED,   /* the remote now has the local metadata */
	MLFS_VMETA_FORCED,   /* --force over metadata changed there */
	MLFS_VMETA_REJECTED, /* changed on the remote too: fetch first */
	MLFS_VMETA_FETCHED,  /* the remote's replaced the local (unchanged) */
	MLFS_VMETA_DIVERGED, /* both changed: the local kept */
};

struct mlfs_remote_vmeta_result {
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;
	enum mlfs_remote_vmeta_status status;
};

struct mlfs_remote_stats {
	uint64_t packs, pack_bytes;      /* uploaded / indexed */
	uint64_t commits, trees, contents;
	double seconds;
	struct mlfs_remote_ref_result *refs; /* malloc'd; free() */
	size_t nrefs;
	/* refs rejected (push) or left alone (fetch), and commits whose
	 * metadata was rejected or diverged */
	size_t rejected;
	struct mlfs_remote_vmeta_result *vmeta; /* malloc'd; free() */
	size_t nvmeta;
};
void mlfs_remote_stats_release(struct mlfs_remote_stats *st);

/* Progress callback: bytes done of @total (pack uploads). */
typedef void (*mlfs_remote_progress_fn)(void *ctx, uint64_t done,
					uint64_t total);

struct mlfs_remote_push_opts {
	/* "ns/name" or "ns/name@ref" (a branch, tag or alias), none: every
	 * repository with all its refs. */
	char *const *specs;
	size_t nspecs;
	bool force;   /* branches and aliases may move backwards/aside */
	int jobs;     /* parallel pack uploads; 0: 4 */
	mlfs_remote_progress_fn progress;
	void *ctx;
};

/* Upload what @r lacks and move its refs. A rejected ref is not an
 * error: it is counted in st->rejected (the others still go). Returns
 * 0, -EACCES/-ENOENT/... from S3 (detail names key and status),
 * -EXDEV (the remote belongs to another store: other hash key or
 * chunking), -ENOENT (a spec names nothing: detail says), -EIO. */
MLFS_MUST_CHECK int mlfs_remote_push(struct mlfs_store *s,
				     const struct mlfs_remote *r,
				     const struct mlfs_remote_push_opts *o,
				     struct mlfs_remote_stats *st);

/* Bring every commit, tree and content the remote's refs reach, and the
 * locations of the chunks in its packs (the data stays remote). Then
 * refs: new ones are created locally; with @pull, branches that are
 * behind are fast-forwarded (not those with working-tree edits) and
 * aliases moved to the remote's. All objects are verified before
 * anything is inserted, in one transaction. -EIO names a damaged
 * object's key; -EXDEV as for push. */
MLFS_MUST_CHECK int mlfs_remote_fetch(struct mlfs_store *s,
				      const struct mlfs_remote *r, bool pull,
				      struct mlfs_remote_stats *st);

struct mlfs_remote_prefetch_stats {
	uint64_t files;  /* distinct contents walked */
	uint64_t chunks; /* distinct chunks a remote holds */
	uint64_t bytes;  /* their entries' bytes (what the cache keeps) */
};
/* mlfs fetch --data: read every chunk of the @n versions @commits that a
 * remote holds through the store's read path (fetched, verified,
 * cached), so the versions read without the bucket while the cache keeps
 * them. Returns 0, -EFBIG (together the chunks need more than the
 * remote's cache bound: nothing read), the read errors (-EIO naming the
 * chunk, -EREMOTEIO when the remote fails). */
MLFS_MUST_CHECK int mlfs_remote_prefetch(struct mlfs_store *s,
					 const struct mlfs_id *commits,
					 size_t n,
					 struct mlfs_remote_prefetch_stats *st);

/* Read the config object of @r (no store needed): for clone.
 * -ENOENT when the bucket has no mlfs remote at that prefix. */
MLFS_MUST_CHECK int mlfs_remote_read_config(const struct mlfs_remote *r,
					    struct mlfs_store_config *out);

/* The S3 key of pack @pack_id's file or index under a remote's prefix
 * (@idx), into @buf (>= 40 bytes). */
void mlfs_remote_pack_key(uint64_t pack_id, bool idx, char *buf,
			  size_t size);

#endif
