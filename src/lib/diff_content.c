/*
 * diff_content.c - the content-diff driver: byte sources over memory or
 * stored content, the format table, detection (content first, then name)
 * and the fallback to the binary summary when a parser rejects a file or
 * finds it too large.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/store.h" /* content.h needs struct mlfs_chunk declared */
#include "mlfs/content.h"
#include "mlfs/diff.h"

#define HEAD_LEN 4096u

const struct mlfs_diff_format *const mlfs_diff_formats[] = {
	&mlfs_diff_format_safetensors,
	&mlfs_diff_format_csv,
	&mlfs_diff_format_json,
	&mlfs_diff_format_text,
	NULL,
};

int mlfs_diff_src_read(const struct mlfs_diff_src *src, void *buf, size_t len,
		       uint64_t off)
{
	ssize_t n;

	if (off > src->size || len > src->size - off)
		return -EIO;
	if (len == 0)
		return 0;
	if (src->mem) {
		memcpy(buf, src->mem + off, len);
		return 0;
	}
	if (!src->content || !src->store)
		return -EINVAL;
	n = mlfs_content_read(src->store, src->content, buf, len, off);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

void mlfs_diff_out_release(struct mlfs_diff_out *out)
{
	if (!out)
		return;
	mlfs_buf_release(&out->text);
	mlfs_buf_release(&out->json);
}

const struct mlfs_diff_format *mlfs_diff_detect(const char *path,
						const uint8_t *head_a,
						size_t len_a, uint64_t size_a,
						const uint8_t *head_b,
						size_t len_b, uint64_t size_b)
{
	const struct mlfs_diff_format *best = &mlfs_diff_format_binary;
	int best_score = 0;

	for (size_t i = 0; mlfs_diff_formats[i]; i++) {
		const struct mlfs_diff_format *f = mlfs_diff_formats[i];
		int sa = f->detect(path, head_a, len_a, size_a);
		int sb = f->detect(path, head_b, len_b, size_b);
		/* Both versions must plausibly be this format; the content
		 * verdict of either decides the strength. */
		int score = sa && sb ? (sa > sb ? sa : sb) : 0;

		if (score > best_score) {
			best = f;
			best_score = score;
		}
	}
	return best;
}

static int read_head(const struct mlfs_diff_src *s, uint8_t *buf, size_t *len)
{
	*len = s->size < HEAD_LEN ? (size_t)s->size : HEAD_LEN;
	return mlfs_diff_src_read(s, buf, *len, 0);
}

int mlfs_diff_content(const struct mlfs_diff_src *a,
		      const struct mlfs_diff_src *b,
		      const struct mlfs_diff_content_opts *o,
		      struct mlfs_diff_out *out)
{
	uint8_t *ha = malloc(HEAD_LEN), *hb = malloc(HEAD_LEN);
	const struct mlfs_diff_format *f;
	size_t la = 0, lb = 0;
	int r = -ENOMEM;

	if (!ha || !hb)
		goto out;
	r = read_head(a, ha, &la);
	if (r == 0)
		r = read_head(b, hb, &lb);
	if (r < 0)
		goto out;
	f = mlfs_diff_detect(b->path ? b->path : "", ha, la, a->size,
			     hb, lb, b->size);
	r = f->diff(a, b, o, out);
	/* Malformed (-EBADMSG) or over a parser's hard cap (-E2BIG): the
	 * binary summary, which needs no memory in proportion to anything,
	 * with the parser's reason. */
	if ((r == -EBADMSG || r == -E2BIG) &&
	    f != &mlfs_diff_format_binary) {
		char why[sizeof(out->err)];

		/* Keep the parser's reason, drop its partial output, and
		 * still say something useful about the file. */
		memcpy(why, out->err, sizeof(why));
		if (!why[0])
			snprintf(why, sizeof(why), "malformed %s file",
				 f->name);
		mlfs_diff_out_release(out);
		memset(out, 0, sizeof(*out));
		r = mlfs_diff_format_binary.diff(a, b, o, out);
		memcpy(out->err, why, sizeof(out->err));
	}
out:
	free(ha);
	free(hb);
	return r;
}

int mlfs_diff_content_stored(struct mlfs_store *s, const char *path,
			     const struct mlfs_id *a, const struct mlfs_id *b,
			     const struct mlfs_diff_content_opts *o,
			     struct mlfs_diff_out *out)
{
	struct mlfs_content *ca = NULL, *cb = NULL;
	struct mlfs_diff_src sa, sb;
	int r;

	r = mlfs_content_load(s, a, MLFS_CONTENT_LOCATE, &ca);
	if (r < 0)
		goto out;
	r = mlfs_content_load(s, b, MLFS_CONTENT_LOCATE, &cb);
	if (r < 0)
		goto out;
	sa = (struct mlfs_diff_src){ .path = path, .size = ca->size,
				     .store = s, .content = ca };
	sb = (struct mlfs_diff_src){ .path = path, .size = cb->size,
				     .store = s, .content = cb };
	r = mlfs_diff_content(&sa, &sb, o, out);
out:
	mlfs_content_free(ca);
	mlfs_content_free(cb);
	return r;
}
