/*
 * fsck_tree.c - fsck of a version's tree: every tree below it (loaded by
 * the verifying loader, checked once: f->trees), every file's chunk list
 * (its row check, its chunks indexed with the list's lengths and the
 * locations the row carries) and, with read_data, every file's bytes
 * against its digest. A damaged object met again counts the version
 * that shares it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck_impl.h"
#include "mlfs/content.h"
#include "mlfs/tree.h"

/* ---- files' contents ----------------------------------------------- */

/* Every chunk of @c is indexed, with the list's length, and not known
 * damaged. Returns 0 clean, 1 (@why says what, *kind is "content", or
 * "database" when an index entry could not be read), -ENOMEM. */
/* The locations a content row carries must be its chunks' index
 * entries: reads trust them to find the bytes (which still pass the id
 * check, so a wrong one is an EIO, never wrong bytes). */
static int check_locations(struct fsck *f, const struct mlfs_content *c,
			   const char **kind, char *why, size_t size)
{
	struct mlfs_chunk_loc *locs, ix;
	char hex[MLFS_ID_HEX_LEN + 1];
	int r;

	locs = malloc((c->n ? c->n : 1) * sizeof(*locs));
	if (!locs)
		return -ENOMEM;
	mlfs_error_clear();
	r = mlfs_meta_content_locs_get(f->s->meta, c, locs);
	if (r == -ENOENT || r == -ENOMEM) {
		free(locs);
		return r == -ENOMEM ? r : 0; /* reads use the index */
	}
	if (r < 0) {
		snprintf(why, size, "%s", mlfs_error_detail()[0] ?
			 mlfs_error_detail() : "chunk locations unreadable");
		*kind = "content";
		free(locs);
		return 1;
	}
	for (size_t i = 0; i < c->n; i++) {
		r = mlfs_meta_chunk_get(f->s->meta, &c->ids[i], &ix);
		if (r == -ENOMEM)
			break;
		if (r == 0 && ix.pack_id == locs[i].pack_id &&
		    ix.offset == locs[i].offset &&
		    ix.stored_len == locs[i].stored_len &&
		    ix.codec == locs[i].codec)
			continue;
		mlfs_id_to_hex(&c->ids[i], hex);
		snprintf(why, size, "chunk %s (%zu of %zu): the location its "
			 "contents row carries is not its index entry", hex,
			 i + 1, c->n);
		*kind = "content";
		r = 1;
		break;
	}
	free(locs);
	return r;
}

static int check_chunk_list(struct fsck *f, const struct mlfs_content *c,
			    const char **kind, char *why, size_t size)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	for (size_t i = 0; i < c->n; i++) {
		uint64_t len = c->offs[i + 1] - c->offs[i], v = 0;
		int r = fsck_chunk_value(f, &c->ids[i], &v);

		if (r == -ENOMEM)
			return r;
		if (r == 0 && !(v >> 32) && (uint32_t)v == len)
			continue;
		mlfs_id_to_hex(&c->ids[i], hex);
		if (r == 1)
			snprintf(why, size, "chunk %s (%zu of %zu) is not in "
				 "the chunk index", hex, i + 1, c->n);
		else if (r < 0)
			snprintf(why, size, "cannot read the index entry of "
				 "chunk %s: %s", hex, fsck_db_why(hex, r));
		else if (v >> 32)
			snprintf(why, size, "chunk %s: %s", hex,
				 f->probs[(v >> 32) - 1].what);
		else
			snprintf(why, size, "chunk %s (%zu of %zu): the index "
				 "says %u bytes, the chunk list %" PRIu64, hex,
				 i + 1, c->n, (uint32_t)v, len);
		*kind = r < 0 ? "database" : "content";
		return 1;
	}
	return check_locations(f, c, kind, why, size);
}

/* Read every chunk of @c and hash the file. 0 clean, 1, -ENOMEM. */
static int read_content(struct fsck *f, const struct mlfs_content *c,
			char *why, size_t size)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_hasher h = { 0 };
	struct mlfs_id got;
	int r;

	r = mlfs_hasher_init(&h, &f->s->cfg.key);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n; i++) {
		const struct mlfs_chunk *ch;
		uint64_t *v;
		long pi;

		mlfs_error_clear();
		r = mlfs_content_get_chunk(f->s, c, i, &ch);
		f->st->chunks_read++;
		/* a remote that does not answer (or refuses) leaves the
		 * check unfinished: an error, not damage to report */
		if (r == -ENOMEM || r == -EREMOTEIO)
			goto out;
		if (r == 0) {
			mlfs_hasher_update(&h, ch->data, ch->len);
			mlfs_chunk_unref(f->s, ch);
			continue;
		}
		/* The chunk itself is damaged: name it once, and let other
		 * files that share it say so without reading it again. */
		mlfs_id_to_hex(&c->ids[i], hex);
		pi = fsck_problem(f, "chunk", hex, AT_PATH, "%s",
				  fsck_detail(hex, strerror(-r)));
		r = pi < 0 ? -ENOMEM : 1;
		if (pi >= 0) {
			v = mlfs_idset_get(&f->chunks, &c->ids[i]);
			if (v)
				*v |= (uint64_t)(pi + 1) << 32;
			snprintf(why, size, "chunk %s: %s", hex,
				 f->probs[pi].what);
		}
		goto out;
	}
	mlfs_hasher_final(&h, &got);
	r = 0;
	if (mlfs_id_cmp(&got, &c->digest)) {
		snprintf(why, size, "its bytes do not hash to its digest "
			 "(whole-file digest mismatch)");
		r = 1;
	}
out:
	mlfs_hasher_release(&h);
	return r;
}

/* Check the file at f->path with content @digest, of @size bytes as
 * its tree entry says, once per content. */
static int check_file(struct fsck *f, const struct mlfs_id *digest,
		      uint64_t size)
{
	uint64_t *memo = mlfs_idset_get(&f->contents, digest);
	char hex[MLFS_ID_HEX_LEN + 1], why[1200];
	struct mlfs_content *c = NULL;
	const char *kind = "content";
	uint64_t value = MEMO_OK;
	long pi = 0;
	int r;

	if (memo) {
		if (*memo >= MEMO_BAD)
			fsck_seen_again(f, *memo);
		return *memo != MEMO_OK;
	}
	f->st->contents++;
	mlfs_id_to_hex(digest, hex);
	mlfs_error_clear();
	r = mlfs_content_load(f->s, digest, 0, &c);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		pi = fsck_load_problem(f, "content", hex, AT_PATH, r);
	} else {
		r = check_chunk_list(f, c, &kind, why, sizeof(why));
		if (r == 0 && c->size != size) {
			snprintf(why, sizeof(why), "its contents row says %"
				 PRIu64 " bytes, the tree entry %" PRIu64,
				 c->size, size);
			r = 1;
		}
		if (r == 0 && f->read_data)
			r = read_content(f, c, why, sizeof(why));
		mlfs_content_free(c);
		if (r < 0)
			return r;
		if (r == 1)
			pi = fsck_problem(f, kind, hex, AT_PATH, "%s", why);
		else
			pi = -1; /* clean */
	}
	if (pi == -ENOMEM)
		return -ENOMEM;
	if (pi >= 0)
		value = MEMO_BAD + (uint64_t)pi;
	r = mlfs_idset_add(&f->contents, digest, value, NULL);
	if (r < 0)
		return r;
	return value != MEMO_OK;
}

/* ---- trees ----------------------------------------------------------- */

/* Walk tree @id at f->path (of length @plen). Returns 0 clean, 1 damage
 * found in it or below, -ENOMEM. */
int fsck_check_tree(struct fsck *f, const struct mlfs_id *id, size_t plen)
{
	uint64_t *memo = mlfs_idset_get(&f->trees, id);
	struct mlfs_tree *t = NULL;
	char hex[MLFS_ID_HEX_LEN + 1];
	int r, bad = 0;
	long pi;

	if (memo && *memo == MEMO_OK)
		return 0;
	if (memo && *memo >= MEMO_BAD) {
		fsck_seen_again(f, *memo);
		return 1;
	}
	if (!memo)
		f->st->trees++;
	mlfs_error_clear();
	r = mlfs_tree_load(f->s, id, &t);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		mlfs_id_to_hex(id, hex);
		pi = fsck_load_problem(f, "tree", hex, AT_PATH, r);
		if (pi < 0)
			return -ENOMEM;
		r = mlfs_idset_add(&f->trees, id, MEMO_BAD + (uint64_t)pi,
				   NULL);
		return r < 0 ? r : 1;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct mlfs_entry *e = &t->e[i];
		int n = snprintf(f->path + plen, sizeof(f->path) - plen,
				 "%s%s", plen ? "/" : "", e->name);

		if (n < 0 || (size_t)n >= sizeof(f->path) - plen)
			n = (int)strlen(f->path + plen);
		if (e->type == MLFS_ENTRY_DIR)
			r = fsck_check_tree(f, &e->id, plen + (size_t)n);
		else if (e->type == MLFS_ENTRY_FILE)
			r = check_file(f, &e->id, e->size);
		else
			r = 0;
		f->path[plen] = '\0';
		if (r < 0)
			break;
		bad |= r;
		r = 0;
	}
	mlfs_tree_free(t);
	if (r < 0)
		return r;
	if (!memo) {
		r = mlfs_idset_add(&f->trees, id, bad ? MEMO_BELOW : MEMO_OK,
				   NULL);
		if (r < 0)
			return r;
	}
	return bad;
}
