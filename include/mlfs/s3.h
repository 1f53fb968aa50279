/*
 * s3.h - a small S3 client over libcurl (SigV4 by CURLOPT_AWS_SIGV4):
 * put/get/head/delete of whole objects, ranged get, ListObjectsV2 with
 * continuation, create bucket, and the conditional PUTs remotes build on.
 * Tested against Ceph RGW 16.2 (docs/remote.md "S3 client"). Every
 * function returns 0 or -errno; failures set mlfs_error_detail() to a
 * message naming the bucket, the key and the HTTP status.
 */
#ifndef MLFS_S3_H
#define MLFS_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/util.h"

/* An ETag as S3 returns it, without the quotes (hex MD5, or MD5-N for a
 * multipart object); longer ones are refused. */
#define MLFS_S3_ETAG_MAX 80

struct mlfs_s3_config {
	const char *endpoint; /* "http://127.0.0.1:8000" (no trailing path) */
	const char *bucket;
	const char *region;   /* NULL: "us-east-1" */
	const char *prefix;   /* NULL or "": none; prepended to every key */
	bool virtual_host;    /* bucket.host/key instead of host/bucket/key */
	int retries;          /* extra attempts on 5xx/timeouts; <0: 4 */
	long timeout_sec;     /* under 1 KiB/s this long fails; 0: 30 */
};

struct mlfs_s3_creds {
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when there is none */
};

/* Parse an ~/.aws/credentials text of @len bytes (not NUL-terminated)
 * and take section [@profile]. -ENOENT when the profile or one of its two
 * keys is missing, -EBADMSG on a line that is neither a section, a
 * comment nor key = value. On failure @out is left zeroed. */
MLFS_MUST_CHECK int mlfs_s3_creds_parse(const char *text, size_t len,
					const char *profile,
					struct mlfs_s3_creds *out);
/* AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN), else
 * AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE
 * or "default". */
MLFS_MUST_CHECK int mlfs_s3_creds_load(struct mlfs_s3_creds *out);
void mlfs_s3_creds_free(struct mlfs_s3_creds *c);

struct mlfs_s3;

/* The client copies @cfg and @creds. */
MLFS_MUST_CHECK int mlfs_s3_open(const struct mlfs_s3_config *cfg,
				 const struct mlfs_s3_creds *creds,
				 struct mlfs_s3 **out);
void mlfs_s3_close(struct mlfs_s3 *s);

enum mlfs_s3_cond {
	MLFS_S3_ALWAYS,      /* plain PUT */
	MLFS_S3_CREATE_ONLY, /* If-None-Match: *; -EEXIST when the key exists */
	MLFS_S3_IF_MATCH,    /* If-Match @etag; -ESTALE when it moved or is gone */
};

/* PUT @len bytes; @etag_out (may be NULL, MLFS_S3_ETAG_MAX bytes) gets
 * the new ETag. */
MLFS_MUST_CHECK int mlfs_s3_put(struct mlfs_s3 *s, const char *key,
				const void *data, size_t len,
				enum mlfs_s3_cond cond, const char *etag,
				char *etag_out);

struct mlfs_s3_buf {
	uint8_t *p; /* malloc'd; the caller frees it */
	size_t len;
};

/* GET the whole object (@len 0) or bytes @off..@off+@len-1 of it (a range
 * past the end gives what is there). -ENOENT when missing. */
MLFS_MUST_CHECK int mlfs_s3_get(struct mlfs_s3 *s, const char *key,
				uint64_t off, uint64_t len,
				struct mlfs_s3_buf *out);
/* The same for a range (@len > 0) into the caller's @buf of @cap > @len
 * bytes (a reused buffer: no allocation per request); *@got is what
 * came. An answer longer than the buffer fails the request. */
MLFS_MUST_CHECK int mlfs_s3_get_into(struct mlfs_s3 *s, const char *key,
				     uint64_t off, uint64_t len, void *buf,
				     size_t cap, size_t *got);
/* HEAD: size and ETag (either pointer may be NULL); -ENOENT on 404. */
MLFS_MUST_CHECK int mlfs_s3_head(struct mlfs_s3 *s, const char *key,
				 uint64_t *size, char *etag);
/* DELETE; a missing key is not an error (S3 answers 204 either way). */
MLFS_MUST_CHECK int mlfs_s3_delete(struct mlfs_s3 *s, const char *key);
/* PUT bucket; 0 also when the caller already owns it. */
MLFS_MUST_CHECK int mlfs_s3_create_bucket(struct mlfs_s3 *s);

/* One listed object; @key is relative to the config's prefix. Return
 * non-zero to stop the listing with that value. */
typedef int (*mlfs_s3_list_fn)(void *ctx, const char *key, uint64_t size,
			       const char *etag);
/* Every key under @prefix (relative to the config's prefix), in order,
 * @page_keys per request (0: server default, 1000). */
MLFS_MUST_CHECK int mlfs_s3_list(struct mlfs_s3 *s, const char *prefix,
				 unsigned page_keys, mlfs_s3_list_fn fn,
				 void *ctx);

/* One ListObjectsV2 result page of @len bytes (not NUL-terminated):
 * calls @fn for each <Contents> with its <Key> (entities decoded, the
 * leading @strip removed; a key not starting with it is -EBADMSG).
 * *@next gets the malloc'd NextContinuationToken when IsTruncated is
 * true, else NULL. -EBADMSG on a malformed page. */
MLFS_MUST_CHECK int mlfs_s3_list_parse(const char *xml, size_t len,
				       const char *strip, mlfs_s3_list_fn fn,
				       void *ctx, char **next);

#endif
