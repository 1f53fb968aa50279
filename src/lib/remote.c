/*
 * remote.c - a store's remotes: names and s3:// URLs checked, kept in the
 * database (meta_remote.c; never credentials, which come from the
 * environment or ~/.aws/credentials at each use), the S3 client for one,
 * and the remote's config object, which clone reads before any store
 * exists. Push and fetch: remote_push.c, remote_fetch.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/remote.h"
#include "mlfs/s3.h"
#include "store_impl.h"

void mlfs_remote_release(struct mlfs_remote *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->url);
	free(r->bucket);
	free(r->prefix);
	free(r->endpoint);
	free(r->region);
	memset(r, 0, sizeof(*r));
}

void mlfs_remote_list_free(struct mlfs_remote *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		mlfs_remote_release(&v[i]);
	free(v);
}

void mlfs_remote_stats_release(struct mlfs_remote_stats *st)
{
	if (!st)
		return;
	free(st->refs);
	st->refs = NULL;
	st->nrefs = 0;
	free(st->vmeta);
	st->vmeta = NULL;
	st->nvmeta = 0;
}

int mlfs_remote_name_check(const char *name, const char **why)
{
	size_t n = strlen(name);

	if (n == 0 || n > MLFS_REMOTE_NAME_MAX) {
		*why = "remote names are 1-64 characters";
		return -EINVAL;
	}
	if (name[0] == '.' || name[0] == '-' || strstr(name, "..")) {
		*why = "remote names do not start with '.' or '-' and have "
		       "no '..'";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-')) {
			*why = "remote names are letters, digits, '.', '_' "
			       "and '-'";
			return -EINVAL;
		}
	}
	return 0;
}

static bool bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63 || b[0] == '.' || b[0] == '-' ||
	    b[n - 1] == '.' || b[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') ||
		      (b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
		      b[i] == '-'))
			return false;
	return true;
}

int mlfs_remote_url_parse(const char *url, char **bucket, char **prefix,
			  const char **why)
{
	const char *b, *slash, *p;
	size_t bn, pn;

	*bucket = *prefix = NULL;
	if (strlen(url) > MLFS_REMOTE_URL_MAX) {
		*why = "the URL is too long";
		return -EINVAL;
	}
	if (strncmp(url, "s3://", 5)) {
		*why = "remote URLs are s3://BUCKET[/PREFIX]";
		return -EINVAL;
	}
	b = url + 5;
	slash = strchr(b, '/');
	bn = slash ? (size_t)(slash - b) : strlen(b);
	if (!bucket_ok(b, bn)) {
		*why = "bucket names are 3-63 characters of [a-z0-9.-]";
		return -EINVAL;
	}
	p = slash ? slash + 1 : "";
	pn = strlen(p);
	while (pn && p[pn - 1] == '/')
		pn--;
	/* S3 keys are at most 1024 bytes, and a ref's key takes up to
	 * about 400 (three names of 128) after the prefix */
	if (pn > MLFS_REMOTE_PREFIX_MAX) {
		*why = "the prefix is longer than 512 bytes (S3 keys hold at "
		       "most 1024, and mlfs's keys need the rest)";
		return -EINVAL;
	}
	for (size_t i = 0; i < pn; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '\\' ||
		    (c == '/' && (i == 0 || p[i - 1] == '/'))) {
			*why = "the prefix has a control character, a "
			       "backslash or an empty path component";
			return -EINVAL;
		}
	}
	/* ".." and "." as components would make keys other tools resolve
	 * elsewhere */
	for (size_t i = 0; i < pn;) {
		size_t j = i;

		while (j < pn && p[j] != '/')
			j++;
		if ((j - i == 1 && p[i] == '.') ||
		    (j - i == 2 && p[i] == '.' && p[i + 1] == '.')) {
			*why = "the prefix has a '.' or '..' component";
			return -EINVAL;
		}
		i = j + 1;
	}
	*bucket = strndup(b, bn);
	*prefix = malloc(pn + 2);
	if (!*bucket || !*prefix) {
		free(*bucket);
		free(*prefix);
		*bucket = *prefix = NULL;
		return -ENOMEM;
	}
	memcpy(*prefix, p, pn);
	if (pn)
		(*prefix)[pn++] = '/';
	(*prefix)[pn] = '\0';
	return 0;
}

/* http(s)://HOST[:PORT] with an optional final '/' (@len without it):
 * HOST a name, an IPv4 address or a [bracketed] IPv6 one, PORT 1-65535.
 * NULL, or why not. Credentials never go in it: they would be stored. */
static const char *endpoint_check(const char *e, size_t *len)
{
	const char *h = !strncmp(e, "http://", 7) ? e + 7 :
			!strncmp(e, "https://", 8) ? e + 8 : NULL;
	size_t n = strlen(e);
	const char *p, *end;

	if (!h)
		return "it starts with http:// or https://";
	if (n > MLFS_REMOTE_URL_MAX)
		return "it is too long";
	end = e + n - (n > (size_t)(h - e) && e[n - 1] == '/');
	*len = (size_t)(end - e);
	if (memchr(h, '@', (size_t)(end - h)))
		return "credentials do not go in the endpoint (they would be "
		       "stored): use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
		       "or ~/.aws/credentials";
	p = h;
	if (*p == '[') {
		for (p++; p < end && *p != ']'; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return "a bad IPv6 address";
		if (p == end || p == h + 1)
			return "a bad IPv6 address";
		p++;
	} else {
		while (p < end && (isalnum((unsigned char)*p) || *p == '.' ||
				   *p == '-'))
			p++;
	}
	if (p == h)
		return "it has no host";
	if (p < end && *p == ':') {
		const char *d = ++p;
		long port = 0;

		while (p < end && isdigit((unsigned char)*p) && p - d < 6)
			port = port * 10 + (*p++ - '0');
		if (p == d || port < 1 || port > 65535)
			return "its port is not 1-65535";
	}
	if (p != end)
		return "it is http(s)://HOST[:PORT], without a path, query or "
		       "anything else";
	return NULL;
}

int mlfs_remote_make(const char *name, const char *url, const char *endpoint,
		     const char *region, bool virtual_host,
		     struct mlfs_remote *out)
{
	const char *why;
	bool oom = false;
	size_t elen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (mlfs_remote_name_check(name, &why) < 0) {
		mlfs_error_set("invalid remote name '%s': %s", name, why);
		return -EINVAL;
	}
	r = mlfs_remote_url_parse(url, &out->bucket, &out->prefix, &why);
	if (r == -EINVAL)
		mlfs_error_set("invalid remote URL '%s': %s", url, why);
	if (r < 0)
		return r;
	if (endpoint && (why = endpoint_check(endpoint, &elen))) {
		mlfs_remote_release(out);
		/* never echo what may hold a password */
		mlfs_error_set("invalid endpoint: %s", why);
		return -EINVAL;
	}
	if (region && (!*region || strlen(region) > 64 ||
		       strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-")
		       != strlen(region))) {
		mlfs_remote_release(out);
		mlfs_error_set("invalid region '%s'", region);
		return -EINVAL;
	}
	out->name = mlfs_strdup_opt(name, &oom);
	out->url = mlfs_strdup_opt(url, &oom);
	out->endpoint = endpoint ? strndup(endpoint, elen) : NULL;
	oom |= endpoint && !out->endpoint;
	out->region = mlfs_strdup_opt(region, &oom);
	out->virtual_host = virtual_host;
	if (oom) {
		mlfs_remote_release(out);
		return -ENOMEM;
	}
	return 0;
}

/* Complete a row read back (name, url, endpoint, region as stored) with
 * its bucket and prefix, checking everything again: the database is
 * untrusted like any file. */
static int complete(struct mlfs_remote *row, struct mlfs_remote *out)
{
	int r = mlfs_remote_make(row->name, row->url, row->endpoint,
				 row->region, row->virtual_host, out);

	out->cache_size = row->cache_size;

	mlfs_remote_release(row);
	if (r == -EINVAL)
		return -EBADMSG;
	return r;
}

int mlfs_remote_add(struct mlfs_store *s, const struct mlfs_remote *r)
{
	int e;

	if (s->rdonly)
		return -EROFS;
	e = mlfs_meta_remote_add(s->meta, r);
	if (e == -EEXIST)
		mlfs_error_set("remote '%s' already exists", r->name);
	return e;
}

int mlfs_remote_remove(struct mlfs_store *s, const char *name)
{
	uint64_t n = 0;
	int e;

	if (s->rdonly)
		return -EROFS;
	e = mlfs_meta_begin(s->meta);
	if (e < 0)
		return e;
	e = mlfs_meta_rpack_count(s->meta, name, &n);
	if (e == 0 && n) {
		mlfs_error_set("the index locates chunks in %llu pack(s) "
			       "only remote '%s' holds; versions fetched from "
			       "it would become unreadable",
			       (unsigned long long)n, name);
		e = -EBUSY;
	}
	if (e == 0)
		e = mlfs_meta_remote_delete(s->meta, name);
	/* its tracking refs name a remote that is no more */
	if (e == 0)
		e = mlfs_meta_track_clear(s->meta, name, 0);
	if (e == 0)
		e = mlfs_meta_vsync_clear(s->meta, name);
	if (e == -ENOENT)
		mlfs_error_set("no remote '%s'", name);
	if (e < 0) {
		mlfs_meta_rollback(s->meta);
		return e;
	}
	return mlfs_meta_commit(s->meta);
}

int mlfs_track_list(struct mlfs_store *s, const char *remote,
		    int64_t repo_id, struct mlfs_track **out, size_t *n)
{
	return mlfs_meta_track_list(s->meta, remote, repo_id, out, n);
}

int mlfs_remote_get(struct mlfs_store *s, const char *name,
		    struct mlfs_remote *out)
{
	struct mlfs_remote row;
	int e = mlfs_meta_remote_get(s->meta, name, &row);

	memset(out, 0, sizeof(*out));
	if (e == -ENOENT)
		mlfs_error_set("no remote '%s'", name);
	return e < 0 ? e : complete(&row, out);
}

int mlfs_remote_list(struct mlfs_store *s, struct mlfs_remote **out,
		     size_t *n)
{
	struct mlfs_remote *rows;
	size_t cnt;
	int e = mlfs_meta_remote_list(s->meta, &rows, &cnt);

	*out = NULL;
	*n = 0;
	if (e < 0)
		return e;
	for (size_t i = 0; i < cnt && e == 0; i++) {
		struct mlfs_remote done;

		e = complete(&rows[i], &done);
		if (e == 0)
			rows[i] = done;
	}
	if (e < 0) {
		mlfs_remote_list_free(rows, cnt);
		return e;
	}
	*out = rows;
	*n = cnt;
	return 0;
}

int mlfs_remote_pick(struct mlfs_store *s, const char *name,
		     struct mlfs_remote *out)
{
	struct mlfs_remote *v;
	size_t n;
	int e;

	if (name)
		return mlfs_remote_get(s, name, out);
	e = mlfs_remote_list(s, &v, &n);
	if (e < 0)
		return e;
	if (n == 1) {
		*out = v[0];
		free(v);
		return 0;
	}
	mlfs_remote_list_free(v, n);
	if (n == 0) {
		mlfs_error_set("the store has no remote (add one with 'mlfs "
			       "remote add NAME s3://BUCKET/PREFIX')");
		return -ENOENT;
	}
	return mlfs_remote_get(s, "origin", out);
}

int mlfs_remote_connect(const struct mlfs_remote *r, struct mlfs_s3 **out)
{
	struct mlfs_s3_config cfg = {
		.endpoint = r->endpoint ? r->endpoint : "https://s3.amazonaws.com",
		.bucket = r->bucket,
		.region = r->region,
		.prefix = r->prefix,
		.virtual_host = r->virtual_host,
		.retries = -1,
	};
	struct mlfs_s3_creds creds = { 0 };
	int e = mlfs_s3_creds_load(&creds);

	if (e < 0) {
		if (!*mlfs_error_detail())
			mlfs_error_set("no S3 credentials: set AWS_ACCESS_KEY_ID"
				       " and AWS_SECRET_ACCESS_KEY, or write "
				       "~/.aws/credentials");
		return e;
	}
	e = mlfs_s3_open(&cfg, &creds, out);
	mlfs_s3_creds_free(&creds);
	return e;
}

int mlfs_remote_read_config(const struct mlfs_remote *r,
			    struct mlfs_store_config *out)
{
	struct mlfs_s3 *s3 = NULL;
	struct mlfs_s3_buf b = { 0 };
	int e = mlfs_remote_connect(r, &s3);

	/* only the GET's -ENOENT means no config: the connect's is missing
	 * credentials, and says so itself */
	if (e == 0) {
		e = mlfs_s3_get(s3, "config", 0, 0, &b);
		if (e == -ENOENT &&
		    strstr(mlfs_error_detail(), "NoSuchBucket") == NULL)
			mlfs_error_set("no mlfs remote at %s (no object "
				       "%s/%sconfig)", r->url, r->bucket,
				       r->prefix);
	}
	if (e == 0) {
		e = mlfs_remote_config_parse((const char *)b.p, b.len, out);
		if (e == -EBADMSG)
			mlfs_error_set("remote %s: object %s/%sconfig is "
				       "damaged", r->url, r->bucket,
				       r->prefix);
		else if (e == -EPROTONOSUPPORT)
			mlfs_error_set("remote %s was written by a newer mlfs "
				       "(bucket layout or store format)",
				       r->url);
	}
	free(b.p);
	mlfs_s3_close(s3);
	return e;
}
