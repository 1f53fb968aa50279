/*
 * s3.c - the S3 requests over libcurl. One easy handle per client (so
 * connections are reused; a client is not for concurrent use), SigV4 by
 * libcurl with an unsigned payload (RGW wants the x-amz-content-sha256
 * header). 5xx answers, timeouts and connection failures are retried with
 * exponential backoff a bounded number of times; 4xx never are.
 */
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/s3.h"

struct mlfs_s3 {
	CURL *curl;
	char *base;   /* scheme://host[:port] or scheme://bucket.host[:port] */
	char *bucket;
	char *prefix; /* "" when none */
	char *userpwd;
	char *sigv4;
	char *token_hdr; /* "x-amz-security-token: ..." or NULL */
	bool virtual_host;
	int retries;
	long timeout_sec;
	curl_socket_t sock; /* the connection's, CURL_SOCKET_BAD when none */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mlfs_s3_close(struct mlfs_s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->base);
	free(s->bucket);
	free(s->prefix);
	free(s->userpwd);
	free(s->sigv4);
	free(s->token_hdr);
	free(s);
}

/* The endpoint with the bucket as the first label of its host. */
static char *virtual_base(const char *ep, const char *bucket)
{
	const char *host = strstr(ep, "://");
	char *b = NULL;

	if (!host)
		return NULL;
	host += 3;
	if (asprintf(&b, "%.*s%s.%s", (int)(host - ep), ep, bucket, host) < 0)
		return NULL;
	return b;
}

/* How long a request may move under 1 KiB/s: MLFS_S3_LOW_SPEED_TIME
 * seconds (as git's GIT_HTTP_LOW_SPEED_TIME), else 30. */
static long stall_sec(void)
{
	const char *v = getenv("MLFS_S3_LOW_SPEED_TIME");
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;

	return v && *v && !*end && n > 0 && n <= 3600 ? n : 30;
}

int mlfs_s3_open(const struct mlfs_s3_config *cfg,
		 const struct mlfs_s3_creds *creds, struct mlfs_s3 **out)
{
	struct mlfs_s3 *s;
	size_t el;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		mlfs_error_set("s3: libcurl: %s", curl_easy_strerror(curl_init_rc));
		return -EIO;
	}
	if (!cfg->endpoint || !strstr(cfg->endpoint, "://") || !cfg->bucket ||
	    !*cfg->bucket || strchr(cfg->bucket, '/')) {
		mlfs_error_set("s3: needs an endpoint URL (http://host:port) "
			       "and a bucket name");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sock = CURL_SOCKET_BAD;
	el = strlen(cfg->endpoint);
	while (el && cfg->endpoint[el - 1] == '/')
		el--;
	char *ep = strndup(cfg->endpoint, el);
	s->virtual_host = cfg->virtual_host;
	s->base = ep && cfg->virtual_host ? virtual_base(ep, cfg->bucket) : ep;
	if (ep && cfg->virtual_host)
		free(ep);
	s->bucket = strdup(cfg->bucket);
	s->prefix = strdup(cfg->prefix ? cfg->prefix : "");
	s->retries = cfg->retries < 0 ? 4 : cfg->retries;
	s->timeout_sec = cfg->timeout_sec ? cfg->timeout_sec : stall_sec();
	s->curl = curl_easy_init();
	if (!s->base || !s->bucket || !s->prefix || !s->curl ||
	    asprintf(&s->userpwd, "%s:%s", creds->access_key,
		     creds->secret_key) < 0 ||
	    asprintf(&s->sigv4, "aws:amz:%s:s3",
		     cfg->region ? cfg->region : "us-east-1") < 0 ||
	    (creds->session_token &&
	     asprintf(&s->token_hdr, "x-amz-security-token: %s",
		      creds->session_token) < 0)) {
		/* asprintf leaves its pointer undefined on failure. */
		mlfs_s3_close(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

/* Append @s URI-encoded (RFC 3986 unreserved kept; '/' kept if @slash). */
static int uri_append(char **buf, size_t *len, const char *s, bool slash)
{
	size_t n = strlen(s);
	char *b = realloc(*buf, *len + 3 * n + 1);

	if (!b)
		return -ENOMEM;
	*buf = b;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~' || (slash && *p == '/'))
			b[(*len)++] = (char)*p;
		else
			*len += (size_t)sprintf(b + *len, "%%%02X", *p);
	}
	b[*len] = '\0';
	return 0;
}

/* Append @s as it is. */
static int raw_append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *b = realloc(*buf, *len + n + 1);

	if (!b)
		return -ENOMEM;
	memcpy(b + *len, s, n + 1);
	*buf = b;
	*len += n;
	return 0;
}

/* The URL of @key (NULL: the bucket itself) with @query appended. */
static char *object_url(const struct mlfs_s3 *s, const char *key,
			const char *query)
{
	char *u = strdup(s->base);
	size_t len = strlen(u ? u : "");
	int r = u ? 0 : -ENOMEM;

	if (r == 0 && !s->virtual_host) {
		r = uri_append(&u, &len, "/", true);
		if (r == 0)
			r = uri_append(&u, &len, s->bucket, false);
	}
	if (r == 0 && key) {
		r = uri_append(&u, &len, "/", true);
		if (r == 0)
			r = uri_append(&u, &len, s->prefix, true);
		if (r == 0)
			r = uri_append(&u, &len, key, true);
	} else if (r == 0 && s->virtual_host) {
		r = uri_append(&u, &len, "/", true);
	}
	if (r == 0 && query)
		r = raw_append(&u, &len, query);
	if (r) {
		free(u);
		return NULL;
	}
	return u;
}

struct req {
	const char *method; /* for messages */
	const char *key;    /* for messages; NULL for the bucket */
	const uint8_t *up;  /* PUT body */
	size_t up_len, up_off;
	struct mlfs_s3_buf body; /* response body */
	size_t body_cap;         /* what body.p holds */
	bool body_fixed;         /* body.p is the caller's: never grown */
	long status;
	char etag[MLFS_S3_ETAG_MAX];
	uint64_t length;
	bool have_length;
	struct mlfs_s3 *s;       /* the client running it */
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t want = size * n, left = q->up_len - q->up_off;

	if (want > left)
		want = left;
	memcpy(buf, q->up + q->up_off, want);
	q->up_off += want;
	return want;
}

static size_t on_write(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t add = size * n, need = q->body.len + add + 1;

	if (need > q->body_cap && q->body_fixed)
		return 0; /* more than the caller's buffer: CURLE_WRITE_ERROR */
	if (need > q->body_cap) {
		/* the announced length at once, else doubling: a callback
		 * brings ~16 KiB, a body may be many MiB */
		size_t cap = q->body_cap ? q->body_cap * 2 : 16384;
		uint8_t *p;

		if (q->have_length && q->length < SIZE_MAX - 1 &&
		    q->length + 1 > cap)
			cap = (size_t)q->length + 1;
		if (cap < need)
			cap = need;
		p = realloc(q->body.p, cap);
		if (!p)
			return 0; /* libcurl fails it: CURLE_WRITE_ERROR */
		q->body.p = p;
		q->body_cap = cap;
	}
	memcpy(q->body.p + q->body.len, buf, add);
	q->body.len += add;
	q->body.p[q->body.len] = '\0';
	return add;
}

/*
 * Acknowledge at once what has come in on @c's connection. On a
 * connection kept alive Linux delays the ACK of a response's first
 * segment (up to 40 ms: it hopes to ride on the next request), and a
 * server that writes headers and body separately with Nagle on (Ceph
 * RGW's beast frontend unless tcp_nodelay=1) holds the body until that
 * ACK comes: every small GET took 44 ms instead of 3 here, a clone of
 * 200 commits 78 s. TCP_QUICKACK sends a pending ACK now; it is not
 * sticky, hence once per response, when its status line is in.
 */
static void ack_now(const struct mlfs_s3 *s)
{
	int one = 1;

	if (s->sock != CURL_SOCKET_BAD)
		(void)setsockopt(s->sock, IPPROTO_TCP, TCP_QUICKACK, &one,
				 sizeof(one));
}

/* curl's socket of the client's connection, kept for ack_now (curl only
 * tells the active socket once a transfer is over). */
static int on_sockopt(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	struct mlfs_s3 *s = ctx;

	if (purpose == CURLSOCKTYPE_IPCXN)
		s->sock = fd;
	return CURL_SOCKOPT_OK;
}

static int on_close(void *ctx, curl_socket_t fd)
{
	struct mlfs_s3 *s = ctx;

	if (fd == s->sock)
		s->sock = CURL_SOCKET_BAD;
	return close(fd);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;

	/* A new status line (a retry, a 100 Continue): forget the last. */
	if (len >= 5 && !memcmp(buf, "HTTP/", 5)) {
		q->etag[0] = '\0';
		q->have_length = false;
		ack_now(q->s);
	}
	if (len > 5 && !strncasecmp(buf, "ETag:", 5)) {
		const char *b = buf + 5, *e = buf + len;
		while (b < e && (*b == ' ' || *b == '"'))
			b++;
		while (e > b && (e[-1] == '\r' || e[-1] == '\n' ||
				 e[-1] == ' ' || e[-1] == '"'))
			e--;
		if ((size_t)(e - b) < sizeof(q->etag)) {
			memcpy(q->etag, b, (size_t)(e - b));
			q->etag[e - b] = '\0';
		}
	} else if (len > 15 && !strncasecmp(buf, "Content-Length:", 15)) {
		char tmp[32];
		size_t l = len - 15 < sizeof(tmp) - 1 ? len - 15 : sizeof(tmp) - 1;
		char *end;
		memcpy(tmp, buf + 15, l);
		tmp[l] = '\0';
		unsigned long long v = strtoull(tmp, &end, 10);
		if (end != tmp) {
			q->length = v;
			q->have_length = true;
		}
	}
	return len;
}

/* The S3 error <Code> of a response body, or "" (412 bodies are empty). */
static void error_code(const struct req *q, char *out, size_t cap)
{
	const char *b, *e;

	out[0] = '\0';
	if (!q->body.p)
		return;
	b = strstr((const char *)q->body.p, "<Code>");
	if (!b)
		return;
	b += 6;
	e = strstr(b, "</Code>");
	if (e && (size_t)(e - b) < cap) {
		memcpy(out, b, (size_t)(e - b));
		out[e - b] = '\0';
	}
}

static bool retryable(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT ||
	       c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
	       c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE ||
	       c == CURLE_COULDNT_RESOLVE_HOST;
}

static void backoff(int attempt)
{
	/* 100 ms, 200 ms, 400 ms, ... capped at 5 s. */
	long ms = 100L << (attempt < 6 ? attempt : 6);
	if (ms > 5000)
		ms = 5000;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Run one request to @url with @hdrs; q->status, q->body, q->etag are the
 * last attempt's. Returns 0 when an HTTP answer came (any status), else
 * -errno with a message (the transport failed every attempt).
 */
static int perform(struct mlfs_s3 *s, struct req *q, const char *url,
		   struct curl_slist *hdrs, const char *range)
{
	CURL *c = s->curl;
	CURLcode cc = CURLE_OK;
	int stalls = 0;

	for (int attempt = 0;; attempt++) {
		if (!q->body_fixed) {
			free(q->body.p);
			q->body.p = NULL;
			q->body_cap = 0;
		}
		q->body.len = 0;
		q->up_off = 0;
		q->status = 0;
		q->etag[0] = '\0';
		q->have_length = false;
		q->s = s;
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		/* A stall, not a slow link, fails a request: a 64 MiB pack
		 * goes up at any speed above 1 KiB/s, and a server that
		 * stops answering is given up on after timeout_sec. */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->timeout_sec);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_AWS_SIGV4);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
		curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
		curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, s);
		curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close);
		curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, s);
		if (range)
			curl_easy_setopt(c, CURLOPT_RANGE, range);
		if (!strcmp(q->method, "PUT")) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, q);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)q->up_len);
		} else if (!strcmp(q->method, "HEAD")) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(q->method, "GET")) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		}
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
		bool again = cc == CURLE_OK ? q->status >= 500 : retryable(cc);
		/* a server that stalled once is tried once more, not until
		 * the retries run out (each stall costs timeout_sec) */
		if (cc == CURLE_OPERATION_TIMEDOUT && stalls++ >= 1)
			again = false;
		if (!again || attempt >= s->retries)
			break;
		backoff(attempt);
	}
	if (cc == CURLE_OK)
		return 0;
	mlfs_error_set("s3 %s %s/%s%s: %s", q->method, s->bucket, s->prefix,
		       q->key ? q->key : "", curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY: case CURLE_WRITE_ERROR: return -ENOMEM;
	/* the transfer failed, not the bytes: never read as damage */
	default: return -EREMOTEIO;
	}
}

/* An answer other than 2xx as -errno, with a message. */
static int status_error(const struct mlfs_s3 *s, const struct req *q)
{
	char code[64];
	int r;

	error_code(q, code, sizeof(code));
	switch (q->status) {
	case 400: r = -EINVAL; break;
	case 401: case 403: r = -EACCES; break;
	case 404: r = -ENOENT; break;
	case 409: r = -EEXIST; break;
	case 412: r = -ESTALE; break;
	case 416: r = -ERANGE; break;
	default: r = q->status >= 500 ? -EREMOTEIO : -EPROTO; break;
	}
	mlfs_error_set("s3 %s %s/%s%s: HTTP %ld%s%s%s", q->method, s->bucket,
		       q->key ? s->prefix : "", q->key ? q->key : "",
		       q->status, code[0] ? " (" : "", code,
		       code[0] ? ")" : "");
	return r;
}

/* The headers every request carries, plus @extra (NULL or a header). */
static struct curl_slist *headers(const struct mlfs_s3 *s, const char *extra)
{
	struct curl_slist *h = NULL, *t;
	/* No "Expect:" removal: curl 7.88 would sign it as a header. */
	const char *all[] = { "x-amz-content-sha256: UNSIGNED-PAYLOAD",
			      s->token_hdr, extra };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!all[i])
			continue;
		t = curl_slist_append(h, all[i]);
		if (!t) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* One request to @key (NULL: the bucket) with optional header and query;
 * returns perform()'s result, the status is in q->status. */
static int request(struct mlfs_s3 *s, struct req *q, const char *extra,
		   const char *query, const char *range)
{
	char *url = object_url(s, q->key, query);
	struct curl_slist *h = headers(s, extra);
	int r = url && h ? perform(s, q, url, h, range) : -ENOMEM;

	curl_slist_free_all(h);
	free(url);
	return r;
}

static int put_once(struct mlfs_s3 *s, struct req *q, const char *hdr)
{
	int r = request(s, q, hdr, NULL, NULL);

	if (r == 0 && (q->status < 200 || q->status > 299))
		r = status_error(s, q);
	return r;
}

int mlfs_s3_put(struct mlfs_s3 *s, const char *key, const void *data,
		size_t len, enum mlfs_s3_cond cond, const char *etag,
		char *etag_out)
{
	struct req q = { .method = "PUT", .key = key, .up = data,
			 .up_len = len };
	char hdr[MLFS_S3_ETAG_MAX + 16];
	int r;

	if (cond == MLFS_S3_IF_MATCH &&
	    (!etag || !*etag || strlen(etag) >= MLFS_S3_ETAG_MAX)) {
		mlfs_error_set("s3 PUT %s/%s%s: If-Match needs an ETag",
			       s->bucket, s->prefix, key);
		return -EINVAL;
	}
	if (cond == MLFS_S3_CREATE_ONLY) {
		r = put_once(s, &q, "If-None-Match: *");
		if (r == -ESTALE)
			r = -EEXIST;
	} else if (cond == MLFS_S3_IF_MATCH) {
		/* Standard S3 wants the ETag quoted; RGW 16.2 matches only
		 * the bare one. A wrong ETag fails both ways. */
		snprintf(hdr, sizeof(hdr), "If-Match: \"%s\"", etag);
		r = put_once(s, &q, hdr);
		if (r == -ESTALE) {
			snprintf(hdr, sizeof(hdr), "If-Match: %s", etag);
			r = put_once(s, &q, hdr);
		}
		if (r == -ESTALE)
			mlfs_error_set("s3 PUT %s/%s%s: HTTP 412: the object "
				       "moved or is gone (If-Match %s)",
				       s->bucket, s->prefix, key, etag);
	} else {
		r = put_once(s, &q, NULL);
	}
	if (r == -EEXIST && cond == MLFS_S3_CREATE_ONLY)
		mlfs_error_set("s3 PUT %s/%s%s: HTTP 412: the key exists "
			       "(If-None-Match: *)", s->bucket, s->prefix, key);
	if (r == 0 && etag_out)
		strcpy(etag_out, q.etag);
	free(q.body.p);
	return r;
}

int mlfs_s3_get(struct mlfs_s3 *s, const char *key, uint64_t off,
		uint64_t len, struct mlfs_s3_buf *out)
{
	struct req q = { .method = "GET", .key = key };
	char range[64];
	int r;

	out->p = NULL;
	out->len = 0;
	if (len)
		snprintf(range, sizeof(range), "%llu-%llu",
			 (unsigned long long)off,
			 (unsigned long long)(off + len - 1));
	else if (off)
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)off);
	r = request(s, &q, NULL, NULL, len || off ? range : NULL);
	if (r == 0 && q.status != 200 && q.status != 206)
		r = status_error(s, &q);
	/* A server that ignores Range answers 200 with everything. */
	if (r == 0 && (len || off) && q.status == 200) {
		mlfs_error_set("s3 GET %s/%s%s: range %s answered with the "
			       "whole object", s->bucket, s->prefix, key, range);
		r = -EPROTO;
	}
	if (r) {
		free(q.body.p);
		return r;
	}
	if (!q.body.p && !(q.body.p = malloc(1))) /* an empty object */
		return -ENOMEM;
	*out = q.body;
	return 0;
}

int mlfs_s3_get_into(struct mlfs_s3 *s, const char *key, uint64_t off,
		     uint64_t len, void *buf, size_t cap, size_t *got)
{
	struct req q = { .method = "GET", .key = key, .body_fixed = true };
	char range[64];
	int r;

	*got = 0;
	if (!len || len >= cap)
		return -EINVAL;
	q.body.p = buf;
	q.body_cap = cap;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	r = request(s, &q, NULL, NULL, range);
	if (r == 0 && q.status != 200 && q.status != 206)
		r = status_error(s, &q);
	if (r == 0 && q.status == 200) {
		mlfs_error_set("s3 GET %s/%s%s: range %s answered with the "
			       "whole object", s->bucket, s->prefix, key, range);
		r = -EPROTO;
	}
	if (r == 0)
		*got = q.body.len;
	return r;
}

int mlfs_s3_head(struct mlfs_s3 *s, const char *key, uint64_t *size,
		 char *etag)
{
	struct req q = { .method = "HEAD", .key = key };
	int r = request(s, &q, NULL, NULL, NULL);

	if (r == 0 && q.status != 200)
		r = status_error(s, &q);
	if (r == 0 && !q.have_length) {
		mlfs_error_set("s3 HEAD %s/%s%s: no Content-Length", s->bucket,
			       s->prefix, key);
		r = -EPROTO;
	}
	if (r == 0 && size)
		*size = q.length;
	if (r == 0 && etag)
		strcpy(etag, q.etag);
	free(q.body.p);
	return r;
}

int mlfs_s3_delete(struct mlfs_s3 *s, const char *key)
{
	struct req q = { .method = "DELETE", .key = key };
	int r = request(s, &q, NULL, NULL, NULL);

	if (r == 0 && q.status != 204 && q.status != 200)
		r = status_error(s, &q);
	free(q.body.p);
	return r;
}

int mlfs_s3_create_bucket(struct mlfs_s3 *s)
{
	struct req q = { .method = "PUT" };
	int r = request(s, &q, NULL, NULL, NULL);

	if (r == 0 && q.status != 200)
		r = status_error(s, &q);
	free(q.body.p);
	return r;
}

int mlfs_s3_list(struct mlfs_s3 *s, const char *prefix, unsigned page_keys,
		 mlfs_s3_list_fn fn, void *ctx)
{
	char *token = NULL, *full = NULL, *query = NULL;
	size_t ql = 0;
	int r = 0;

	if (asprintf(&full, "%s%s", s->prefix, prefix ? prefix : "") < 0)
		return -ENOMEM;
	do {
		struct req q = { .method = "GET" };
		char num[32];

		/* curl 7.88 signs the query as written: keys sorted, every
		 * value strictly encoded, "=" even when empty. */
		free(query);
		query = strdup("?");
		ql = 1;
		r = query ? 0 : -ENOMEM;
		if (r == 0 && token) {
			r = raw_append(&query, &ql, "continuation-token=");
			if (r == 0)
				r = uri_append(&query, &ql, token, false);
			if (r == 0)
				r = raw_append(&query, &ql, "&");
		}
		if (r == 0)
			r = raw_append(&query, &ql, "list-type=2&");
		if (r == 0 && page_keys) {
			snprintf(num, sizeof(num), "max-keys=%u&", page_keys);
			r = raw_append(&query, &ql, num);
		}
		if (r == 0)
			r = raw_append(&query, &ql, "prefix=");
		if (r == 0)
			r = uri_append(&query, &ql, full, false);
		if (r == 0)
			r = request(s, &q, NULL, query, NULL);
		if (r == 0 && q.status != 200)
			r = status_error(s, &q);
		free(token);
		token = NULL;
		if (r == 0)
			r = mlfs_s3_list_parse((const char *)q.body.p,
					       q.body.len, s->prefix, fn, ctx,
					       &token);
		free(q.body.p);
	} while (r == 0 && token);
	free(token);
	free(query);
	free(full);
	return r;
}
