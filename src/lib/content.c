/*
 * content.c - file contents: the packed chunk list (20 bytes a chunk:
 * id, le32 length) and reads at any offset through the store's verified
 * chunk cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/content.h"
#include "store_impl.h"

#define CHUNKLIST_ENTRY (MLFS_ID_LEN + 4)

int mlfs_chunklist_decode(const void *p, size_t len, uint64_t size,
			  struct mlfs_content *c)
{
	const uint8_t *b = p;
	size_t n = len / CHUNKLIST_ENTRY;
	uint64_t off = 0;

	if (len % CHUNKLIST_ENTRY)
		return -EBADMSG;
	c->ids = malloc((n ? n : 1) * sizeof(*c->ids));
	c->offs = malloc((n + 1) * sizeof(*c->offs));
	if (!c->ids || !c->offs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++, b += CHUNKLIST_ENTRY) {
		uint32_t l = mlfs_get_le32(b + MLFS_ID_LEN);

		if (l == 0 || l > MLFS_CHUNK_LIMIT)
			return -EBADMSG;
		memcpy(c->ids[i].b, b, MLFS_ID_LEN);
		c->offs[i] = off;
		off += l;
	}
	c->offs[n] = off;
	if (off != size)
		return -EBADMSG;
	c->n = n;
	c->size = size;
	return 0;
}

void mlfs_content_free(struct mlfs_content *c)
{
	if (!c)
		return;
	free(c->ids);
	free(c->offs);
	free(c->locs);
	free(c);
}

int mlfs_content_load(struct mlfs_store *s, const struct mlfs_id *digest,
		      unsigned flags, struct mlfs_content **out)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_content *c;
	uint64_t size;
	size_t bad = 0;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->digest = *digest;
	r = mlfs_meta_content_get(s->meta, digest, &size, &b);
	if (r == -ENOENT) {
		/* Digests come from tree entries that verified: a content
		 * without its row is damage, not absence. */
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(digest, hex);
		mlfs_error_set("content %s is missing (damaged database)",
			       hex);
		r = -EIO;
	}
	if (r == 0)
		r = mlfs_chunklist_decode(b.data, b.len, size, c);
	mlfs_buf_release(&b);
	if (r == 0 && (flags & MLFS_CONTENT_LOCATE)) {
		c->locs = malloc((c->n ? c->n : 1) * sizeof(*c->locs));
		if (!c->locs)
			r = -ENOMEM;
		/* One row read when the content row carries them; rows
		 * without (made while a chunk was not yet indexed) look
		 * each chunk up. */
		if (r == 0)
			r = mlfs_meta_content_locs_get(s->meta, c, c->locs);
		if (r == -ENOENT)
			r = mlfs_meta_chunk_get_many(s->meta, c->ids, c->n,
						     c->locs, &bad);
		else if (r < 0)
			goto out;
		for (size_t i = 0; r == 0 && i < c->n; i++) {
			if (c->locs[i].raw_len != c->offs[i + 1] - c->offs[i]) {
				r = -EBADMSG;
				bad = i;
			}
		}
		if (r < 0 && r != -ENOMEM) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&c->ids[bad], hex);
			mlfs_error_set("chunk %s: %s", hex,
				       r == -ENOENT ?
				       "missing from the index" :
				       "index entry disagrees with the "
				       "file's chunk list");
		}
	}
out:
	if (r < 0) {
		mlfs_content_free(c);
		return r;
	}
	*out = c;
	return 0;
}

size_t mlfs_content_chunk_index(const struct mlfs_content *c, uint64_t off)
{
	size_t lo = 0, hi = c->n;

	/* Last i with offs[i] <= off. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->offs[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int mlfs_content_get_chunk(struct mlfs_store *s, const struct mlfs_content *c,
			   size_t idx, const struct mlfs_chunk **out)
{
	const struct mlfs_chunk *ch;
	int r;

	if (idx >= c->n)
		return -EINVAL;
	r = mlfs_store_get_chunk(s, &c->ids[idx], c->locs ? &c->locs[idx] :
				 NULL, &ch);
	if (r < 0)
		return r;
	if (ch->len != c->offs[idx + 1] - c->offs[idx]) {
		mlfs_chunk_unref(s, ch);
		return -EIO;
	}
	*out = ch;
	return 0;
}

ssize_t mlfs_content_read(struct mlfs_store *s, const struct mlfs_content *c,
			  void *buf, size_t len, uint64_t off)
{
	uint8_t *dst = buf;
	size_t done = 0, i;

	if (off >= c->size || len == 0)
		return 0;
	if (len > c->size - off)
		len = (size_t)(c->size - off);
	i = mlfs_content_chunk_index(c, off);
	while (done < len) {
		const struct mlfs_chunk *ch;
		uint64_t in = off + done - c->offs[i];
		size_t n;
		int r = mlfs_content_get_chunk(s, c, i, &ch);

		if (r < 0)
			return r;
		n = ch->len - (size_t)in;
		if (n > len - done)
			n = len - done;
		memcpy(dst + done, ch->data + in, n);
		mlfs_chunk_unref(s, ch);
		done += n;
		i++;
	}
	return (ssize_t)done;
}
