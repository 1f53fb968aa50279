/*
 * fuzz_remote.c - the parsers of bucket objects (remote_obj.c and
 * remote_commit.c, bucket layout 1) and of remote names and URLs. Input:
 * one byte picks the parser, the rest is the object, checked with a
 * fixed key (so seeds made with that key carry valid check values).
 *   0 config   1 pack index   2 contents   3 commit   4 ref
 *   5 ref key  6 remote URL, name and endpoint   7 pack list   8 vmeta
 * Invariants: failures are the documented codes and leave no output;
 * whatever parses formats back to the same bytes (and a vmeta object's
 * pairs and inputs have a digest).
 */
#include <errno.h>
#include <stdlib.h>

#include "fuzz.h"
#include "mlfs/content.h"
#include "mlfs/remote.h"

static struct mlfs_hash_key key;

static void fuzz_config(const uint8_t *p, size_t n)
{
	struct mlfs_store_config c;
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_store_config c2;
	int r = mlfs_remote_config_parse((const char *)p, n, &c);

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		return;
	}
	FUZZ_CHECK(mlfs_remote_config_format(&c, &b) == 0);
	FUZZ_CHECK(mlfs_remote_config_parse((const char *)b.data, b.len,
					    &c2) == 0);
	FUZZ_CHECK(!memcmp(&c.key, &c2.key, sizeof(c.key)) &&
		   c.chunk.avg == c2.chunk.avg && c.format == c2.format);
	mlfs_buf_release(&b);
}

static void fuzz_idx(const uint8_t *p, size_t n)
{
	struct mlfs_remote_idx_entry *e = NULL;
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint64_t id = 0, size = 0;
	size_t cnt = 0;
	int r = mlfs_remote_idx_parse(&key, p, n, &id, &size, &e, &cnt);

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EIO ||
			   r == -EPROTONOSUPPORT || r == -ENOMEM);
		FUZZ_CHECK(!e && !cnt);
		return;
	}
	for (size_t i = 0; i < cnt; i++)
		FUZZ_CHECK(e[i].loc.pack_id == id &&
			   e[i].loc.offset + MLFS_PACK_ENTRY_HEADER_LEN +
			   e[i].loc.stored_len <= size);
	FUZZ_CHECK(mlfs_remote_idx_format(&key, id, size, e, cnt, &b) == 0);
	FUZZ_CHECK(b.len == n && !memcmp(b.data, p, n));
	mlfs_buf_release(&b);
	free(e);
}

static void fuzz_packlist(const uint8_t *p, size_t n)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id commit;
	uint64_t *ids = NULL;
	size_t cnt = 0;
	int r;

	if (n < MLFS_ID_LEN)
		return;
	memcpy(commit.b, p, MLFS_ID_LEN); /* the key names the commit */
	r = mlfs_remote_packlist_parse(&key, &commit, p + MLFS_ID_LEN,
				       n - MLFS_ID_LEN, &ids, &cnt);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EIO ||
			   r == -EPROTONOSUPPORT || r == -ENOMEM);
		FUZZ_CHECK(!ids && !cnt);
		return;
	}
	for (size_t i = 1; i < cnt; i++)
		FUZZ_CHECK(ids[i - 1] < ids[i]);
	FUZZ_CHECK(mlfs_remote_packlist_format(&key, &commit, ids, cnt,
					       &b) == 0);
	FUZZ_CHECK(b.len == n - MLFS_ID_LEN &&
		   !memcmp(b.data, p + MLFS_ID_LEN, b.len));
	mlfs_buf_release(&b);
	free(ids);
}

static void fuzz_content(const uint8_t *p, size_t n)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id digest;
	uint8_t *chunks = NULL;
	uint64_t size;
	size_t len = 0;
	int r;

	if (n < MLFS_ID_LEN)
		return;
	memcpy(digest.b, p, MLFS_ID_LEN); /* the key names the digest */
	r = mlfs_remote_content_parse(&key, &digest, p + MLFS_ID_LEN,
				      n - MLFS_ID_LEN, &size, &chunks, &len);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EIO ||
			   r == -EPROTONOSUPPORT || r == -ENOMEM);
		FUZZ_CHECK(!chunks);
		return;
	}
	FUZZ_CHECK(len % 20 == 0);
	FUZZ_CHECK(mlfs_remote_content_format(&key, &digest, size, chunks,
					      len, &b) == 0);
	FUZZ_CHECK(b.len == n - MLFS_ID_LEN &&
		   !memcmp(b.data, p + MLFS_ID_LEN, b.len));
	mlfs_buf_release(&b);
	free(chunks);
}

static void fuzz_commit(const uint8_t *p, size_t n)
{
	struct mlfs_remote_commit c;
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id id;
	int r;

	if (n < MLFS_ID_LEN)
		return;
	memcpy(id.b, p, MLFS_ID_LEN);
	r = mlfs_remote_commit_parse(&key, &id, p + MLFS_ID_LEN,
				     n - MLFS_ID_LEN, &c);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EIO ||
			   r == -EPROTONOSUPPORT || r == -ENOMEM);
		return;
	}
	FUZZ_CHECK(mlfs_remote_commit_format(&key, &c, &b) == 0);
	FUZZ_CHECK(b.len == n - MLFS_ID_LEN &&
		   !memcmp(b.data, p + MLFS_ID_LEN, b.len));
	mlfs_buf_release(&b);
	mlfs_remote_commit_release(&c);
}

static void fuzz_vmeta(const uint8_t *p, size_t n)
{
	struct mlfs_remote_vmeta v;
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id commit, d;
	int r;

	if (n < MLFS_ID_LEN)
		return;
	memcpy(commit.b, p, MLFS_ID_LEN); /* the key names the commit */
	r = mlfs_remote_vmeta_parse(&key, &commit, p + MLFS_ID_LEN,
				    n - MLFS_ID_LEN, &v);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EIO ||
			   r == -EPROTONOSUPPORT || r == -ENOMEM);
		FUZZ_CHECK(!v.kv && !v.in && !v.nkv && !v.nin);
		return;
	}
	FUZZ_CHECK(!mlfs_id_cmp(&v.commit, &commit));
	FUZZ_CHECK(mlfs_remote_vmeta_digest(&key, v.kv, v.nkv, v.in, v.nin,
					    &d) == 0);
	FUZZ_CHECK(mlfs_remote_vmeta_format(&key, &v, &b) == 0);
	FUZZ_CHECK(b.len == n - MLFS_ID_LEN &&
		   !memcmp(b.data, p + MLFS_ID_LEN, b.len));
	mlfs_buf_release(&b);
	mlfs_remote_vmeta_release(&v);
}

static void fuzz_ref(const uint8_t *p, size_t n)
{
	static const int kinds[] = { 'b', 't', 'a' };
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id c;
	int kind, r;

	if (n < 1)
		return;
	kind = kinds[p[0] % 3];
	r = mlfs_remote_ref_parse(&key, "ns", "name", kind, "main", p + 1,
				  n - 1, &c);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EIO);
		return;
	}
	FUZZ_CHECK(mlfs_remote_ref_format(&key, "ns", "name", kind, "main",
					  &c, &b) == 0);
	FUZZ_CHECK(b.len == n - 1 && !memcmp(b.data, p + 1, b.len));
	mlfs_buf_release(&b);
}

static void fuzz_refkey(const uint8_t *p, size_t n)
{
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	char ref[MLFS_NAME_MAX + 1], *s = malloc(n + 1), back[512];
	const char *why;
	int kind;

	if (!s)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	if (mlfs_remote_ref_key_parse(s, ns, name, &kind, ref) == 0) {
		FUZZ_CHECK(mlfs_name_check(ns, &why) == 0 &&
			   mlfs_name_check(name, &why) == 0 &&
			   mlfs_name_check(ref, &why) == 0);
		snprintf(back, sizeof(back), "refs/%s/%s/%s/%s", ns, name,
			 kind == 'b' ? "branches" : kind == 't' ? "tags" :
			 "aliases", ref);
		FUZZ_CHECK(!strcmp(back, s));
	}
	free(s);
}

static void fuzz_url(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1), *bucket, *prefix;
	const char *why;
	struct mlfs_remote r;

	if (!s)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	if (mlfs_remote_url_parse(s, &bucket, &prefix, &why) == 0) {
		size_t pl = strlen(prefix);

		FUZZ_CHECK(strlen(bucket) >= 3 && strlen(bucket) <= 63);
		FUZZ_CHECK(pl == 0 || (prefix[pl - 1] == '/' &&
				       prefix[0] != '/' &&
				       !strstr(prefix, "//")));
		free(bucket);
		free(prefix);
	} else {
		FUZZ_CHECK(why && !bucket && !prefix);
	}
	if (mlfs_remote_name_check(s, &why) == 0) {
		FUZZ_CHECK(!strchr(s, '/') && !strstr(s, "..") &&
			   !strchr(s, '@') && strlen(s) <= 64);
		if (mlfs_remote_make(s, "s3://bucket/x", NULL, NULL, false,
				     &r) == 0)
			mlfs_remote_release(&r);
	}
	/* the same bytes as an endpoint: one kept is a bare scheme and
	 * host[:port], never with credentials, a path or a query */
	if (mlfs_remote_make("r", "s3://bucket/x", s, NULL, false, &r) == 0) {
		const char *h = strstr(r.endpoint, "://");

		FUZZ_CHECK(h && !strchr(h + 3, '/') && !strchr(h, '@') &&
			   !strchr(h, '?') && !strchr(h, '#') &&
			   (!strncmp(r.endpoint, "http://", 7) ||
			    !strncmp(r.endpoint, "https://", 8)));
		mlfs_remote_release(&r);
	}
	mlfs_error_clear();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	for (size_t i = 0; i < sizeof(key.secret); i++)
		key.secret[i] = (uint8_t)(i * 7 + 1);
	switch (data[0] % 9) {
	case 0: fuzz_config(data + 1, size - 1); break;
	case 1: fuzz_idx(data + 1, size - 1); break;
	case 2: fuzz_content(data + 1, size - 1); break;
	case 3: fuzz_commit(data + 1, size - 1); break;
	case 4: fuzz_ref(data + 1, size - 1); break;
	case 5: fuzz_refkey(data + 1, size - 1); break;
	case 7: fuzz_packlist(data + 1, size - 1); break;
	case 8: fuzz_vmeta(data + 1, size - 1); break;
	default: fuzz_url(data + 1, size - 1); break;
	}
	return 0;
}
