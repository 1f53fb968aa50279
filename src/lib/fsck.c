/*
 * fsck.c - check the database against the packs and report problems per
 * repository, version and file. Store-wide checks come first (every
 * index entry points at a matching entry header inside an existing pack);
 * then every commit's tree is walked, remembering clean trees and
 * contents so shared data is checked once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlfs/content.h"
#include "mlfs/fsck.h"
#include "mlfs/gc.h"
#include "mlfs/idset.h"
#include "mlfs/tree.h"
#include "store_impl.h"

/* Values in the memo sets. */
#define OK 1
#define BAD 2

struct fsck {
	struct mlfs_store *s;
	bool read_data;
	void (*report)(void *ctx, const struct mlfs_fsck_problem *p);
	void *ctx;
	struct mlfs_fsck_stats *st;
	struct mlfs_idset bad_chunks; /* value: index of reason */
	char **reasons;
	size_t nreasons;
	struct mlfs_idset contents;   /* digest -> OK/BAD */
	struct mlfs_idset trees;      /* tree id -> OK/BAD */
	struct mlfs_idset packs;      /* pack id (first 8 bytes) -> OK/BAD */
	char repo[2 * MLFS_NAME_MAX + 2];
	char commit[MLFS_ID_HEX_LEN + 1];
	char *content_why;            /* last bad content's reason */
};

static void problem(struct fsck *f, const char *repo, const char *commit,
		    const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void problem(struct fsck *f, const char *repo, const char *commit,
		    const char *path, const char *fmt, ...)
{
	struct mlfs_fsck_problem p = { repo, commit, path, NULL };
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p.what = what;
	f->st->problems++;
	if (f->report)
		f->report(f->ctx, &p);
}

static int add_reason(struct fsck *f, const struct mlfs_id *id,
		      const char *why)
{
	char **v = realloc(f->reasons, (f->nreasons + 1) * sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	f->reasons = v;
	v[f->nreasons] = strdup(why);
	if (!v[f->nreasons])
		return -ENOMEM;
	r = mlfs_idset_add(&f->bad_chunks, id, f->nreasons, NULL);
	f->nreasons++;
	return r < 0 ? r : 0;
}

/* A pack's header makes it self-describing (repair scans rely on it):
 * check it once per pack. Its chunks are judged by their own entries. */
static int check_pack_header(struct fsck *f, uint64_t pack_id)
{
	uint8_t hdr[MLFS_PACK_HEADER_LEN];
	struct mlfs_id key = { { 0 } };
	char path[PATH_MAX], pname[40];
	uint64_t got;
	FILE *fp;
	int r;
	bool ok;

	mlfs_put_le64(key.b, pack_id);
	if (mlfs_idset_get(&f->packs, &key))
		return 0;
	mlfs_pack_name(pack_id, pname, sizeof(pname));
	snprintf(path, sizeof(path), "%s/%s", f->s->packs_dir, pname);
	fp = fopen(path, "re");
	if (!fp)
		return 0; /* reported per chunk as a missing pack */
	ok = fread(hdr, 1, sizeof(hdr), fp) == sizeof(hdr) &&
	     mlfs_pack_header_check(hdr, &got) == 0 && got == pack_id;
	fclose(fp);
	r = mlfs_idset_add(&f->packs, &key, ok ? OK : BAD, NULL);
	if (r < 0)
		return r;
	if (!ok)
		problem(f, NULL, NULL, NULL, "pack %s: header damaged (bad "
			"magic, version or pack id)", pname);
	return 0;
}

static int check_chunk(void *ctx, const struct mlfs_id *id,
		       const struct mlfs_chunk_loc *loc)
{
	struct fsck *f = ctx;
	uint8_t hdr[MLFS_PACK_ENTRY_HEADER_LEN];
	char hex[MLFS_ID_HEX_LEN + 1], pname[40], why[512];
	uint32_t raw_len, stored_len;
	enum mlfs_codec codec;
	struct mlfs_id hid;
	uint64_t size;
	int r;

	f->st->chunks++;
	r = check_pack_header(f, loc->pack_id);
	if (r < 0)
		return r;
	mlfs_id_to_hex(id, hex);
	mlfs_pack_name(loc->pack_id, pname, sizeof(pname));
	r = mlfs_pack_set_size(f->s->packs, loc->pack_id, &size);
	if (r < 0) {
		snprintf(why, sizeof(why), "chunk %s: pack %s is missing",
			 hex, pname);
		goto bad;
	}
	if (loc->offset + MLFS_PACK_ENTRY_HEADER_LEN + loc->stored_len >
	    size) {
		snprintf(why, sizeof(why), "chunk %s: runs past the end of "
			 "pack %s (truncated pack)", hex, pname);
		goto bad;
	}
	{
		char path[PATH_MAX];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", f->s->packs_dir, pname);
		fp = fopen(path, "re");
		if (!fp || fseeko(fp, (off_t)loc->offset, SEEK_SET) ||
		    fread(hdr, 1, sizeof(hdr), fp) != sizeof(hdr)) {
			if (fp)
				fclose(fp);
			snprintf(why, sizeof(why), "chunk %s: cannot read "
				 "pack %s", hex, pname);
			goto bad;
		}
		fclose(fp);
	}
	if (mlfs_pack_entry_parse(hdr, &hid, &codec, &raw_len,
				  &stored_len) < 0 ||
	    memcmp(hid.b, id->b, MLFS_ID_LEN) || raw_len != loc->raw_len ||
	    stored_len != loc->stored_len || codec != loc->codec) {
		snprintf(why, sizeof(why), "chunk %s: entry header in pack %s "
			 "at offset %" PRIu64 " is damaged or does not match "
			 "the index", hex, pname, loc->offset);
		goto bad;
	}
	return 0;
bad:
	problem(f, NULL, NULL, NULL, "%s", why);
	return add_reason(f, id, why);
}

/* Check one content: index entries, and with read_data its bytes.
 * Returns 0 (clean), 1 (bad: f->content_why says why), -errno. */
static int check_content(struct fsck *f, const struct mlfs_id *digest)
{
	struct mlfs_content *c = NULL;
	struct mlfs_hasher h = { 0 };
	uint64_t *memo = mlfs_idset_get(&f->contents, digest);
	char why[1200];
	int r, bad = 0;

	if (memo)
		return *memo == OK ? 0 : 1;
	f->st->contents++;
	why[0] = '\0';
	r = mlfs_content_load(f->s, digest, f->read_data ?
			      MLFS_CONTENT_LOCATE : 0, &c);
	if (r == -ENOENT || r == -EBADMSG) {
		snprintf(why, sizeof(why), "content record %s",
			 r == -ENOENT ? "missing (or a chunk of it is not "
			 "indexed)" : "damaged");
		if (mlfs_error_detail()[0])
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 ": %s", mlfs_error_detail());
		bad = 1;
		goto out;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n && !bad; i++) {
		uint64_t *reason = mlfs_idset_get(&f->bad_chunks, &c->ids[i]);
		struct mlfs_chunk_loc loc;

		if (reason) {
			snprintf(why, sizeof(why), "%s",
				 f->reasons[*reason]);
			bad = 1;
		} else if (!f->read_data &&
			   mlfs_meta_chunk_get(f->s->meta, &c->ids[i],
					       &loc) == -ENOENT) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&c->ids[i], hex);
			snprintf(why, sizeof(why), "chunk %s is not in the "
				 "index", hex);
			bad = 1;
		}
	}
	if (!bad && f->read_data) {
		struct mlfs_id got;

		r = mlfs_hasher_init(&h, &f->s->cfg.key);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < c->n; i++) {
			const struct mlfs_chunk *ch;

			r = mlfs_content_get_chunk(f->s, c, i, &ch);
			f->st->chunks_read++;
			if (r < 0) {
				snprintf(why, sizeof(why), "%s",
					 mlfs_error_detail()[0] ?
					 mlfs_error_detail() : strerror(-r));
				(void)add_reason(f, &c->ids[i], why);
				bad = 1;
				r = 0;
				break;
			}
			mlfs_hasher_update(&h, ch->data, ch->len);
			mlfs_chunk_unref(f->s, ch);
		}
		if (!bad) {
			mlfs_hasher_final(&h, &got);
			if (memcmp(got.b, digest->b, MLFS_ID_LEN)) {
				snprintf(why, sizeof(why), "file digest does "
					 "not match its bytes");
				bad = 1;
			}
		}
	}
out:
	mlfs_hasher_release(&h);
	mlfs_content_free(c);
	if (r < 0)
		return r;
	r = mlfs_idset_add(&f->contents, digest, bad ? BAD : OK, NULL);
	if (r < 0)
		return r;
	if (bad) {
		free(f->content_why);
		f->content_why = strdup(why);
	}
	return bad;
}

/* Walk a tree; returns 0 clean, 1 problems found and reported, -errno. */
static int check_tree(struct fsck *f, const struct mlfs_id *id,
		      const char *path)
{
	uint64_t *memo = mlfs_idset_get(&f->trees, id);
	struct mlfs_tree *t;
	char child[PATH_MAX];
	int r, bad = 0;

	if (memo && *memo == OK)
		return 0;
	if (!memo)
		f->st->trees++;
	r = mlfs_tree_load(f->s, id, &t);
	if (r == -ENOENT || r == -EBADMSG) {
		problem(f, f->repo, f->commit, path[0] ? path : "/",
			"directory tree %s", r == -ENOENT ? "missing" :
			"damaged");
		return 1;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n; i++) {
		const struct mlfs_entry *e = &t->e[i];

		snprintf(child, sizeof(child), "%s%s%s", path,
			 path[0] ? "/" : "", e->name);
		if (e->type == MLFS_ENTRY_DIR) {
			r = check_tree(f, &e->id, child);
		} else if (e->type == MLFS_ENTRY_FILE) {
			r = check_content(f, &e->id);
			if (r == 1)
				problem(f, f->repo, f->commit, child, "%s",
					f->content_why ? f->content_why : "");
		} else {
			r = 0;
		}
		if (r < 0)
			break;
		bad |= r;
		r = 0;
	}
	mlfs_tree_free(t);
	if (r < 0)
		return r;
	if (!memo) {
		r = mlfs_idset_add(&f->trees, id, bad ? BAD : OK, NULL);
		if (r < 0)
			return r;
	}
	return bad;
}

int mlfs_fsck(struct mlfs_store *s, bool read_data,
	      void (*report)(void *ctx, const struct mlfs_fsck_problem *p),
	      void *ctx, struct mlfs_fsck_stats *st)
{
	struct fsck f = { .s = s, .read_data = read_data, .report = report,
			  .ctx = ctx, .st = st };
	struct mlfs_repo *repos = NULL;
	struct mlfs_gc_stats gs;
	size_t nrepos = 0;
	bool began;
	int r;

	memset(st, 0, sizeof(*st));
	began = mlfs_meta_read_begin(s->meta); /* one consistent snapshot */
	r = mlfs_meta_each_chunk(s->meta, check_chunk, &f);
	if (r < 0)
		goto out;
	r = mlfs_repo_list(s, &repos, &nrepos);
	if (r < 0)
		goto out;
	st->repos = nrepos;
	for (size_t i = 0; i < nrepos; i++) {
		struct mlfs_commit *cv = NULL;
		struct mlfs_ref *refs = NULL;
		size_t nc = 0, nref = 0;

		snprintf(f.repo, sizeof(f.repo), "%s/%s", repos[i].ns,
			 repos[i].name);
		r = mlfs_ref_list(s, repos[i].id, 0, &refs, &nref);
		if (r < 0)
			goto out;
		for (size_t j = 0; j < nref; j++) {
			struct mlfs_commit c;

			if (mlfs_commit_get(s, &refs[j].commit, &c) < 0) {
				problem(&f, f.repo, NULL, NULL, "%s '%s' "
					"points to a missing commit",
					refs[j].kind == MLFS_REF_TAG ? "tag" :
					"branch", refs[j].name);
				continue;
			}
			mlfs_commit_release(&c);
		}
		free(refs);
		r = mlfs_commit_list_all(s, repos[i].id, &cv, &nc);
		if (r < 0)
			goto out;
		for (size_t j = 0; r >= 0 && j < nc; j++) {
			struct mlfs_commit parent;

			st->commits++;
			mlfs_id_to_hex(&cv[j].id, f.commit);
			if (cv[j].has_parent) {
				if (mlfs_commit_get(s, &cv[j].parent,
						    &parent) < 0)
					problem(&f, f.repo, f.commit, NULL,
						"parent commit is missing");
				else
					mlfs_commit_release(&parent);
			}
			r = check_tree(&f, &cv[j].tree, "");
		}
		mlfs_commit_list_free(cv, nc);
		if (r < 0)
			goto out;
	}
	r = mlfs_gc_scan(s, &gs);
	st->unreferenced_packs = gs.packs_unreferenced;
	st->unreferenced_bytes = gs.bytes_unreferenced;
out:
	mlfs_meta_read_end(s->meta, began);
	free(repos);
	mlfs_idset_release(&f.bad_chunks);
	mlfs_idset_release(&f.contents);
	mlfs_idset_release(&f.trees);
	mlfs_idset_release(&f.packs);
	for (size_t i = 0; i < f.nreasons; i++)
		free(f.reasons[i]);
	free(f.reasons);
	free(f.content_why);
	return r;
}
