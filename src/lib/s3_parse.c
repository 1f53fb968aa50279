/*
 * s3_parse.c - the two S3 inputs parsed here: an ~/.aws/credentials INI
 * file and a ListObjectsV2 XML page. Both are untrusted and length-bound
 * (never NUL-terminated), fuzzed by tests/fuzz/fuzz_s3_*.c. The XML reader
 * is not a general parser: it finds the few elements S3 defines in a page
 * and decodes the five entities and numeric references.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/s3.h"

void mlfs_s3_creds_free(struct mlfs_s3_creds *c)
{
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	memset(c, 0, sizeof(*c));
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*b, *e) of blanks on both ends. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && is_space(**b))
		(*b)++;
	while (*e > *b && is_space((*e)[-1]))
		(*e)--;
}

static int set_field(char **field, const char *b, const char *e)
{
	char *v = strndup(b, (size_t)(e - b));

	if (!v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

int mlfs_s3_creds_parse(const char *text, size_t len, const char *profile,
			struct mlfs_s3_creds *out)
{
	struct mlfs_s3_creds c = { 0 };
	const char *p = text, *end = text + len;
	size_t plen = strlen(profile);
	bool in = false, seen = false;
	unsigned line = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *b = p, *e = nl ? nl : end;

		p = nl ? nl + 1 : end;
		line++;
		trim(&b, &e);
		if (b == e || *b == '#' || *b == ';')
			continue;
		if (*b == '[') {
			if (e[-1] != ']' || e - b < 2) {
				r = -EBADMSG;
				break;
			}
			b++, e--;
			trim(&b, &e);
			if (b == e) {
				r = -EBADMSG;
				break;
			}
			in = (size_t)(e - b) == plen && !memcmp(b, profile, plen);
			seen |= in;
			continue;
		}
		const char *eq = memchr(b, '=', (size_t)(e - b));
		if (!eq) {
			r = -EBADMSG;
			break;
		}
		if (!in)
			continue;
		const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
		trim(&kb, &ke);
		trim(&vb, &ve);
		size_t kl = (size_t)(ke - kb);
		if (kl == 17 && !memcmp(kb, "aws_access_key_id", kl))
			r = set_field(&c.access_key, vb, ve);
		else if (kl == 21 && !memcmp(kb, "aws_secret_access_key", kl))
			r = set_field(&c.secret_key, vb, ve);
		else if (kl == 17 && !memcmp(kb, "aws_session_token", kl))
			r = set_field(&c.session_token, vb, ve);
	}
	if (r == -EBADMSG)
		mlfs_error_set("credentials line %u: neither [section] nor "
			       "key = value", line);
	if (r == 0 && (!seen || !c.access_key || !c.secret_key ||
		       !*c.access_key || !*c.secret_key)) {
		mlfs_error_set("credentials: profile '%s' %s", profile,
			       seen ? "lacks aws_access_key_id or "
				      "aws_secret_access_key"
				    : "not found");
		r = -ENOENT;
	}
	if (r) {
		mlfs_s3_creds_free(&c);
		return r;
	}
	*out = c;
	return 0;
}

/* The text of the first <@tag>...</@tag> in [b, e): sets [*tb, *te). */
static int xml_find(const char *b, const char *e, const char *tag,
		    const char **tb, const char **te)
{
	char open[64], close[64];
	size_t ol, cl;

	ol = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	cl = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	const char *o = memmem(b, (size_t)(e - b), open, ol);
	if (!o)
		return -ENOENT;
	o += ol;
	const char *c = memmem(o, (size_t)(e - o), close, cl);
	if (!c)
		return -EBADMSG;
	*tb = o;
	*te = c;
	return 0;
}

static void put_utf8(char **w, uint32_t cp)
{
	char *q = *w;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | cp >> 18);
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*w = q;
}

/* A NUL-terminated, entity-decoded copy of [b, e) in *out. A NUL byte,
 * an unknown entity or a reference outside Unicode is -EBADMSG. */
static int xml_text(const char *b, const char *e, char **out)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	/* A reference is at least 4 bytes and decodes to at most 4. */
	char *s = malloc((size_t)(e - b) + 1), *w = s;

	if (!s)
		return -ENOMEM;
	while (b < e) {
		if (*b == '\0' || *b == '<')
			goto bad;
		if (*b != '&') {
			*w++ = *b++;
			continue;
		}
		b++;
		const char *semi = memchr(b, ';', (size_t)(e - b));
		if (!semi)
			goto bad;
		size_t n = (size_t)(semi - b) + 1;
		bool done = false;
		for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			if (n == strlen(ents[i].name) &&
			    !memcmp(b, ents[i].name, n)) {
				*w++ = ents[i].c;
				done = true;
				break;
			}
		}
		if (!done) {
			if (*b != '#' || n < 3 || n > 10)
				goto bad;
			bool hex = b[1] == 'x';
			const char *d = b + 1 + hex;
			uint32_t cp = 0;
			if (d == semi)
				goto bad;
			for (; d < semi; d++) {
				int v;
				if (*d >= '0' && *d <= '9')
					v = *d - '0';
				else if (hex && *d >= 'a' && *d <= 'f')
					v = *d - 'a' + 10;
				else if (hex && *d >= 'A' && *d <= 'F')
					v = *d - 'A' + 10;
				else
					goto bad;
				cp = cp * (hex ? 16 : 10) + (uint32_t)v;
				if (cp > 0x10ffff)
					goto bad;
			}
			if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				goto bad;
			put_utf8(&w, cp);
		}
		b = semi + 1;
	}
	*w = '\0';
	*out = s;
	return 0;
bad:
	free(s);
	return -EBADMSG;
}

static int parse_u64(const char *b, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (b == e)
		return -EBADMSG;
	for (; b < e; b++) {
		uint64_t d = (uint64_t)(*b - '0');
		if (*b < '0' || *b > '9' || v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* One <Contents> element [b, e). */
static int list_entry(const char *b, const char *e, const char *strip,
		      mlfs_s3_list_fn fn, void *ctx)
{
	const char *tb, *te;
	char *key = NULL, *etag = NULL;
	uint64_t size = 0;
	size_t sl = strip ? strlen(strip) : 0;
	int r;

	r = xml_find(b, e, "Key", &tb, &te);
	if (r == 0)
		r = xml_text(tb, te, &key);
	if (r == 0 && (strlen(key) < sl || memcmp(key, strip, sl)))
		r = -EBADMSG;
	if (r == 0)
		r = xml_find(b, e, "Size", &tb, &te);
	if (r == 0)
		r = parse_u64(tb, te, &size);
	if (r == 0) {
		r = xml_find(b, e, "ETag", &tb, &te);
		if (r == -ENOENT) {
			tb = te = b;
			r = 0;
		}
	}
	if (r == 0)
		r = xml_text(tb, te, &etag);
	if (r == 0) {
		/* The ETag comes quoted; callers get it bare. */
		size_t el = strlen(etag);
		if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
			memmove(etag, etag + 1, el - 2);
			etag[el - 2] = '\0';
		}
		r = fn(ctx, key + sl, size, etag);
	} else if (r == -ENOENT) {
		r = -EBADMSG;
	}
	free(key);
	free(etag);
	return r;
}

int mlfs_s3_list_parse(const char *xml, size_t len, const char *strip,
		       mlfs_s3_list_fn fn, void *ctx, char **next)
{
	const char *p = xml, *end = xml + len, *tb, *te;
	int r;

	*next = NULL;
	if (!memmem(xml, len, "<ListBucketResult", 17)) {
		mlfs_error_set("list: not a ListBucketResult");
		return -EBADMSG;
	}
	while ((r = xml_find(p, end, "Contents", &tb, &te)) == 0) {
		r = list_entry(tb, te, strip, fn, ctx);
		if (r == -EBADMSG)
			mlfs_error_set("list: malformed <Contents>");
		if (r)
			return r;
		p = te + strlen("</Contents>");
	}
	if (r == -EBADMSG) {
		mlfs_error_set("list: malformed <Contents>");
		return r;
	}
	r = xml_find(xml, end, "IsTruncated", &tb, &te);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && (size_t)(te - tb) == 4 && !memcmp(tb, "true", 4)) {
		r = xml_find(xml, end, "NextContinuationToken", &tb, &te);
		if (r == 0)
			r = xml_text(tb, te, next);
		if (r == 0 && !**next) {
			free(*next);
			*next = NULL;
			r = -EBADMSG;
		}
		if (r == -ENOENT)
			r = -EBADMSG;
	}
	if (r == -EBADMSG)
		mlfs_error_set("list: truncated page without a "
			       "NextContinuationToken");
	return r;
}

/* A whole file (at most 1 MiB: a credentials file) into a malloc'd
 * buffer that is not NUL-terminated. */
static int slurp(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0, cap = 0, got;
	int r = 0;

	if (!f)
		return -errno;
	do {
		if (n == cap) {
			if (cap >= (1u << 20)) {
				r = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 4096;
			char *nb = realloc(b, cap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (r == 0 && ferror(f))
		r = errno == EISDIR ? -EISDIR : -EIO;
	fclose(f);
	if (r) {
		free(b);
		return r;
	}
	*out = b;
	*len = n;
	return 0;
}

int mlfs_s3_creds_load(struct mlfs_s3_creds *out)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = getenv("AWS_PROFILE");
	const char *home = getenv("HOME");
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (id && *id && secret && *secret) {
		out->access_key = strdup(id);
		out->secret_key = strdup(secret);
		out->session_token = token && *token ? strdup(token) : NULL;
		if (!out->access_key || !out->secret_key ||
		    (token && *token && !out->session_token)) {
			mlfs_s3_creds_free(out);
			return -ENOMEM;
		}
		return 0;
	}
	/* Half a pair is a mistake to name, not a reason to look elsewhere
	 * (botocore's PartialCredentialsError). */
	if ((id && *id) != (secret && *secret)) {
		mlfs_error_set("s3: %s is set but %s is %s",
			       id && *id ? "AWS_ACCESS_KEY_ID" :
					   "AWS_SECRET_ACCESS_KEY",
			       id && *id ? "AWS_SECRET_ACCESS_KEY" :
					   "AWS_ACCESS_KEY_ID",
			       getenv(id && *id ? "AWS_SECRET_ACCESS_KEY" :
						  "AWS_ACCESS_KEY_ID") ?
				       "empty" : "not");
		return -ENOENT;
	}
	if (!profile || !*profile)
		profile = "default";
	if (file && *file)
		path = strdup(file);
	else if (!home || asprintf(&path, "%s/.aws/credentials", home) < 0)
		path = NULL;
	if (!path) {
		mlfs_error_set("s3: no credentials: set AWS_ACCESS_KEY_ID and "
			       "AWS_SECRET_ACCESS_KEY or write ~/.aws/credentials");
		return -ENOENT;
	}
	r = slurp(path, &text, &len);
	if (r) {
		mlfs_error_set("s3: no credentials in the environment and "
			       "%s: %s", path, strerror(-r));
	} else {
		r = mlfs_s3_creds_parse(text, len, profile, out);
		if (r) {
			/* The detail buffer cannot be both source and target. */
			char why[256];
			snprintf(why, sizeof(why), "%s", mlfs_error_detail());
			mlfs_error_set("s3: %s: %s", path, why);
		}
	}
	free(text);
	free(path);
	return r;
}
