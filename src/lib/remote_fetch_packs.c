/*
 * remote_fetch_packs.c - which pack index objects a fetch reads, and
 * reading them: the packs named by the pack lists of the commits that
 * brought new contents, or, when that is cheaper or a list is missing
 * (an older mlfs pushed it), every unknown index of packs/. Lists and
 * indexes are GET in parallel (remote_objpool.c) and checked here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "remote_fetch.h"

/* 1 when the store knows pack @id (as a file, or a remote pack from a
 * fetch before), 0 when not. */
static int pack_known(struct fetch *f, uint64_t id)
{
	char name[40], path[4096], *rem = NULL;
	struct stat st;
	int r;

	mlfs_pack_name(id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", f->s->packs_dir, name);
	if (stat(path, &st) == 0)
		return 1;
	r = mlfs_meta_rpack_get(f->s->meta, id, &rem, NULL);
	free(rem);
	if (r == 0)
		return 1;
	if (r == -ENOENT) {
		mlfs_error_clear();
		return 0;
	}
	return r;
}

/* Queue pack @id for its index to be read, unless known or queued. */
static int want_pack(struct fetch *f, uint64_t id)
{
	struct mlfs_id key;
	struct fpack *p;
	int r;

	remote_pack_as_id(id, &key);
	r = fetch_first_visit(&f->seen_p, &key);
	if (r <= 0)
		return r;
	r = pack_known(f, id);
	if (r != 0)
		return r < 0 ? r : 0;
	p = fetch_vec_push(&f->packs, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->id = id;
	return 0;
}

/* The pack id of a "packs/pack-<16 hex>.idx" key: 1, else 0. */
static int idx_key_id(const char *key, uint64_t *id)
{
	char hex[17], *end;

	if (strncmp(key, "packs/pack-", 11) || strlen(key) != 31 ||
	    strcmp(key + 27, ".idx"))
		return 0;
	memcpy(hex, key + 11, 16);
	hex[16] = '\0';
	*id = strtoull(hex, &end, 16);
	return !*end && strspn(hex, "0123456789abcdef") == 16;
}

static int list_pack(void *ctx, const char *key, uint64_t size,
		     const char *etag)
{
	uint64_t id;

	(void)size;
	(void)etag;
	return idx_key_id(key, &id) ? want_pack(ctx, id) : 0;
}

/* A first look at packs/, to choose between the pack lists and reading
 * every unknown index: it stops (1) after @budget keys or once @want
 * unknown packs are seen; the unknown ids go in @ids (at most @want). */
struct plan {
	struct fetch *f;
	size_t keys, budget, want, n;
	uint64_t *ids;
};

static int plan_pack(void *ctx, const char *key, uint64_t size,
		     const char *etag)
{
	struct plan *pl = ctx;
	uint64_t id;
	int r;

	(void)size;
	(void)etag;
	if (++pl->keys > pl->budget)
		return 1;
	if (!idx_key_id(key, &id))
		return 0;
	r = pack_known(pl->f, id);
	if (r != 0)
		return r < 0 ? r : 0;
	pl->ids[pl->n++] = id;
	return pl->n == pl->want ? 1 : 0;
}

/* The pack list of commit @c: 0 with its packs queued, 1 when the
 * bucket has none (pushed by an mlfs before pack lists), or an error
 * naming the key. */
/* GET the objects @g (@n), several at a time; a missing one is an
 * error naming it unless @missing_ok (then its err is -ENOENT). */
static int get_many(struct fetch *f, struct remote_get *g, size_t n,
		    bool missing_ok)
{
	int r = remote_get_all(f->r, f->s3, g, n, 4);

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (g[i].err != -ENOENT)
			continue;
		if (strstr(g[i].detail, "NoSuchBucket")) {
			mlfs_error_set("%s", g[i].detail);
			r = -ENOENT;
		} else if (!missing_ok) {
			r = fetch_bad_object(f, g[i].key, -ENOENT);
		}
	}
	return r;
}

static void free_many(struct remote_get *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		free(g[i].body.p);
	free(g);
}

/* The pack lists of the @n commits @c: 1 when one has none (an older
 * mlfs pushed it). */
static int read_packlists(struct fetch *f, const struct mlfs_id *c, size_t n)
{
	struct remote_get *g = calloc(n ? n : 1, sizeof(*g));
	int r = g ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++)
		remote_obj_key("packlists/", &c[i], g[i].key, sizeof(g[i].key));
	if (r == 0)
		r = get_many(f, g, n, true);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t *ids = NULL;
		size_t nids = 0;

		if (g[i].err == -ENOENT) {
			r = 1;
			break;
		}
		r = fetch_bad_object(f, g[i].key, mlfs_remote_packlist_parse(
			&f->s->cfg.key, &c[i], g[i].body.p, g[i].body.len,
			&ids, &nids));
		for (size_t j = 0; r == 0 && j < nids; j++)
			r = want_pack(f, ids[j]);
		free(ids);
	}
	free_many(g, n);
	return r;
}

/* The index object of every pack in f->packs. */
static int read_indexes(struct fetch *f)
{
	size_t n = f->packs.n;
	struct remote_get *g = calloc(n ? n : 1, sizeof(*g));
	int r = g ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++)
		mlfs_remote_pack_key(f->packs.v[i].id, true, g[i].key,
				     sizeof(g[i].key));
	if (r == 0)
		r = get_many(f, g, n, false);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct fpack *p = &f->packs.v[i];
		uint64_t id = 0;

		r = fetch_bad_object(f, g[i].key, mlfs_remote_idx_parse(
			&f->s->cfg.key, g[i].body.p, g[i].body.len, &id,
			&p->size, &p->e, &p->n));
		if (r == 0 && id != p->id)
			r = fetch_bad_object(f, g[i].key, -EBADMSG);
	}
	free_many(g, n);
	return r;
}

/* The indexes of the packs that hold the chunks of the contents fetched
 * and that the store does not know, read the cheaper of two ways:
 * - the pack lists of the L commits that reached those contents, then
 *   the indexes they name (L + needed GETs);
 * - every unknown index of packs/ (U GETs), as before pack lists, also
 *   the way when one of those commits has no list (an older mlfs).
 * A listing of at most 1000 (1 + L / 8) keys decides: when it ends with
 * fewer than 2 L unknown packs, all of them are read (never more than
 * twice the lists' way; what a clone of a bucket whose every pack it
 * needs does); else, and when the bucket is too large to see in that
 * budget, the lists (the listing costs at most 1 + L / 8 GETs). */
int fetch_read_packs(struct fetch *f)
{
	size_t nl = f->listed.n;
	struct plan pl = { .f = f, .budget = 1000 * (1 + nl / 8),
			   .want = 2 * nl };
	bool all;
	int r;

	if (!nl)
		return 0;
	pl.ids = malloc(pl.want * sizeof(*pl.ids));
	if (!pl.ids)
		return -ENOMEM;
	r = mlfs_s3_list(f->s3, "packs/", 0, plan_pack, &pl);
	all = r == 0;
	if (r == 1)
		r = 0;
	for (size_t i = 0; all && r == 0 && i < pl.n; i++)
		r = want_pack(f, pl.ids[i]);
	free(pl.ids);
	if (!all && r == 0)
		r = read_packlists(f, f->listed.v, nl);
	if (r == 1)
		r = mlfs_s3_list(f->s3, "packs/", 0, list_pack, f);
	return r == 0 ? read_indexes(f) : r;
}
