/*
 * remote_common.c - what push and fetch share: listing which objects a
 * bucket holds, the config handshake (one hash key and chunking per
 * remote, docs/format.md#bucket-layout), object keys, and the ancestry
 * walk that decides fast-forwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_impl.h"

void remote_have_release(struct remote_have *h)
{
	mlfs_idset_release(&h->commits);
	mlfs_idset_release(&h->trees);
	mlfs_idset_release(&h->contents);
	mlfs_idset_release(&h->packs);
}

void remote_pack_as_id(uint64_t pack_id, struct mlfs_id *id)
{
	memset(id, 0, sizeof(*id));
	mlfs_put_le64(id->b, pack_id);
}

void remote_obj_key(const char *dir, const struct mlfs_id *id, char *buf,
		    size_t size)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(id, hex);
	snprintf(buf, size, "%s%s", dir, hex);
}

int remote_bad_object(const struct mlfs_remote *r, const char *key, int e)
{
	if (e == -ENOENT) {
		mlfs_error_set("remote object %s/%s%s is missing (the bucket "
			       "is incomplete)", r->bucket, r->prefix, key);
		return -EIO;
	}
	if (e == -EBADMSG || e == -EIO || e == -EPROTONOSUPPORT) {
		mlfs_error_set("remote object %s/%s%s is damaged (%s)",
			       r->bucket, r->prefix, key,
			       e == -EIO ? "check value or id mismatch" :
			       e == -EPROTONOSUPPORT ? "newer version" :
			       "malformed");
		return -EIO;
	}
	return e;
}

void remote_ref_key(const char *ns, const char *name, int kind,
		    const char *ref, char *buf, size_t size)
{
	snprintf(buf, size, "refs/%s/%s/%s/%s", ns, name,
		 kind == 'b' ? "branches" : kind == 't' ? "tags" : "aliases",
		 ref);
}

/* One listed key: ids under commits/, trees/, contents/, and
 * pack-<16hex>.idx under packs/; anything else is ignored (a later
 * layout may add objects). */
static int have_one(void *ctx, const char *key, uint64_t size,
		    const char *etag)
{
	struct remote_have *h = ctx;
	static const struct {
		const char *dir;
		size_t off;
	} dirs[] = {
		{ "commits/", offsetof(struct remote_have, commits) },
		{ "trees/", offsetof(struct remote_have, trees) },
		{ "contents/", offsetof(struct remote_have, contents) },
	};
	struct mlfs_id id;

	(void)size;
	(void)etag;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(dirs); i++) {
		size_t n = strlen(dirs[i].dir);

		if (strncmp(key, dirs[i].dir, n))
			continue;
		if (mlfs_id_from_hex(key + n, &id) < 0)
			return 0;
		return mlfs_idset_add((struct mlfs_idset *)((char *)h +
							    dirs[i].off),
				      &id, 0, NULL) < 0 ? -ENOMEM : 0;
	}
	if (!strncmp(key, "packs/pack-", 11) && strlen(key) == 11 + 16 + 4 &&
	    !strcmp(key + 27, ".idx")) {
		char hex[17], *end;
		unsigned long long v;

		memcpy(hex, key + 11, 16);
		hex[16] = '\0';
		v = strtoull(hex, &end, 16);
		if (*end || strspn(hex, "0123456789abcdef") != 16)
			return 0;
		remote_pack_as_id(v, &id);
		return mlfs_idset_add(&h->packs, &id, 0, NULL) < 0 ?
		       -ENOMEM : 0;
	}
	return 0;
}

int remote_have_list(struct mlfs_s3 *s3, struct remote_have *h)
{
	static const char *const dirs[] = { "commits/", "trees/", "contents/",
					    "packs/" };
	int r = 0;

	for (size_t i = 0; r == 0 && i < MLFS_ARRAY_SIZE(dirs); i++)
		r = mlfs_s3_list(s3, dirs[i], 0, have_one, h);
	return r;
}

static bool same_store(const struct mlfs_store_config *a,
		       const struct mlfs_store_config *b)
{
	return a->format == b->format && a->chunk.min == b->chunk.min &&
	       a->chunk.avg == b->chunk.avg && a->chunk.max == b->chunk.max &&
	       !memcmp(a->key.secret, b->key.secret, sizeof(a->key.secret));
}

int remote_handshake(struct mlfs_store *s, const struct mlfs_remote *r,
		     struct mlfs_s3 *s3, bool create)
{
	struct mlfs_store_config rc;
	struct mlfs_s3_buf b = { 0 };
	struct mlfs_buf out = MLFS_BUF_INIT;
	int e, tries = 0;

again:
	e = mlfs_s3_get(s3, "config", 0, 0, &b);
	if (e == -ENOENT && create && !strstr(mlfs_error_detail(),
					      "NoSuchBucket") && tries++ == 0) {
		e = mlfs_remote_config_format(&s->cfg, &out);
		if (e == 0)
			e = mlfs_s3_put(s3, "config", out.data, out.len,
					MLFS_S3_CREATE_ONLY, NULL, NULL);
		mlfs_buf_release(&out);
		/* created by us, or meanwhile by another store: read it back
		 * and check it like any */
		if (e == 0 || e == -EEXIST) {
			mlfs_error_clear();
			goto again;
		}
		return e;
	}
	if (e == -ENOENT && !strstr(mlfs_error_detail(), "NoSuchBucket"))
		mlfs_error_set("no mlfs remote at %s (no object %s/%sconfig)",
			       r->url, r->bucket, r->prefix);
	if (e < 0)
		return e;
	e = mlfs_remote_config_parse((const char *)b.p, b.len, &rc);
	free(b.p);
	if (e == -EBADMSG) {
		mlfs_error_set("remote '%s': object %s/%sconfig is damaged",
			       r->name, r->bucket, r->prefix);
		return -EIO;
	}
	if (e == -EPROTONOSUPPORT)
		mlfs_error_set("remote '%s' was written by a newer mlfs",
			       r->name);
	if (e < 0)
		return e;
	if (!same_store(&rc, &s->cfg)) {
		mlfs_error_set("remote '%s' (%s) belongs to stores with another "
			       "hash key or chunking: its ids cannot be this "
			       "store's; clone it into a new store instead",
			       r->name, r->url);
		return -EXDEV;
	}
	return 0;
}

int remote_is_ancestor(struct mlfs_store *s, const struct mlfs_id *anc,
		       const struct mlfs_id *id, remote_parent_fn extra,
		       void *ctx)
{
	struct mlfs_id cur = *id;

	for (;;) {
		struct mlfs_commit c;
		struct mlfs_id parent;
		bool has_parent = false;
		int r = -ENOENT;

		if (!mlfs_id_cmp(&cur, anc))
			return 1;
		if (extra)
			r = extra(ctx, &cur, &parent, &has_parent);
		if (r == -ENOENT) {
			r = mlfs_meta_commit_get(s->meta, &cur, &c);
			if (r == -ENOENT)
				return 0; /* not known here: not ours */
			if (r < 0)
				return r;
			parent = c.parent;
			has_parent = c.has_parent;
			mlfs_meta_commit_release(&c);
		} else if (r < 0) {
			return r;
		}
		if (!has_parent)
			return 0;
		cur = parent;
	}
}
