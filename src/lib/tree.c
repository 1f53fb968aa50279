/*
 * tree.c - canonical encoding of directory trees (docs/format.md#trees)
 * and path lookup. The decoder treats its input as untrusted: every
 * length is checked against what is left, names must be valid and
 * strictly sorted, so two equal trees always have one encoding and id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/tree.h"
#include "store_impl.h"

#define TREE_VERSION 1
/* type u8, mode u32, mtime i64, size u64, id 16, name_len u16 */
#define ENTRY_FIXED (1 + 4 + 8 + 8 + MLFS_ID_LEN + 2)
#define TREE_NAME_MAX 255
#define TREE_TARGET_MAX 4095

static bool valid_name(const char *n, size_t len)
{
	if (len == 0 || len > TREE_NAME_MAX)
		return false;
	if ((len == 1 && n[0] == '.') || (len == 2 && !memcmp(n, "..", 2)))
		return false;
	return !memchr(n, '/', len) && !memchr(n, '\0', len);
}

int mlfs_tree_encode(const struct mlfs_entry *e, size_t n,
		     struct mlfs_buf *out)
{
	uint8_t hdr[5], fixed[ENTRY_FIXED];
	int r;

	out->len = 0;
	hdr[0] = TREE_VERSION;
	mlfs_put_le32(hdr + 1, (uint32_t)n);
	r = mlfs_buf_append(out, hdr, sizeof(hdr));
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t nl = strlen(e[i].name), tl = 0;

		if (!valid_name(e[i].name, nl) ||
		    (i && strcmp(e[i - 1].name, e[i].name) >= 0))
			return -EINVAL;
		fixed[0] = (uint8_t)e[i].type;
		mlfs_put_le32(fixed + 1, e[i].mode & 07777);
		mlfs_put_le64(fixed + 5, (uint64_t)e[i].mtime_ns);
		mlfs_put_le64(fixed + 13, e[i].size);
		memcpy(fixed + 21, e[i].id.b, MLFS_ID_LEN);
		fixed[37] = (uint8_t)nl;
		fixed[38] = (uint8_t)(nl >> 8);
		r = mlfs_buf_append(out, fixed, sizeof(fixed));
		if (r == 0)
			r = mlfs_buf_append(out, e[i].name, nl);
		if (r == 0 && e[i].type == MLFS_ENTRY_SYMLINK) {
			uint8_t tlen[2];

			tl = strlen(e[i].target);
			if (tl > TREE_TARGET_MAX)
				return -EINVAL;
			tlen[0] = (uint8_t)tl;
			tlen[1] = (uint8_t)(tl >> 8);
			r = mlfs_buf_append(out, tlen, 2);
			if (r == 0)
				r = mlfs_buf_append(out, e[i].target, tl);
		}
	}
	return r;
}

int mlfs_tree_decode(const void *p, size_t len, struct mlfs_tree **out)
{
	const uint8_t *b = p, *end = b + len;
	struct mlfs_tree *t;
	char *strs;
	uint32_t n;
	int r = -EBADMSG;

	if (len < 5 || b[0] != TREE_VERSION)
		return -EBADMSG;
	n = mlfs_get_le32(b + 1);
	if (n > (len - 5) / (ENTRY_FIXED + 1))
		return -EBADMSG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->e = calloc(n ? n : 1, sizeof(*t->e));
	/* Names and targets with their terminating NULs fit in len + 2n. */
	t->blob = malloc(len + 2 * (size_t)n + 1);
	if (!t->e || !t->blob) {
		r = -ENOMEM;
		goto fail;
	}
	strs = (char *)t->blob;
	b += 5;
	for (uint32_t i = 0; i < n; i++) {
		struct mlfs_entry *e = &t->e[i];
		size_t nl;

		if ((size_t)(end - b) < ENTRY_FIXED)
			goto fail;
		e->type = b[0];
		if (e->type < MLFS_ENTRY_FILE || e->type > MLFS_ENTRY_SYMLINK)
			goto fail;
		e->mode = mlfs_get_le32(b + 1);
		if (e->mode & ~07777u)
			goto fail;
		e->mtime_ns = (int64_t)mlfs_get_le64(b + 5);
		e->size = mlfs_get_le64(b + 13);
		memcpy(e->id.b, b + 21, MLFS_ID_LEN);
		nl = (size_t)b[37] | (size_t)b[38] << 8;
		b += ENTRY_FIXED;
		if ((size_t)(end - b) < nl || !valid_name((const char *)b, nl))
			goto fail;
		memcpy(strs, b, nl);
		strs[nl] = '\0';
		e->name = strs;
		strs += nl + 1;
		b += nl;
		if (i && strcmp(t->e[i - 1].name, e->name) >= 0)
			goto fail;
		if (e->type == MLFS_ENTRY_SYMLINK) {
			size_t tl;

			if (end - b < 2)
				goto fail;
			tl = (size_t)b[0] | (size_t)b[1] << 8;
			b += 2;
			if ((size_t)(end - b) < tl || tl > TREE_TARGET_MAX ||
			    memchr(b, '\0', tl))
				goto fail;
			memcpy(strs, b, tl);
			strs[tl] = '\0';
			e->target = strs;
			strs += tl + 1;
			b += tl;
		}
	}
	if (b != end)
		goto fail;
	t->n = n;
	*out = t;
	return 0;
fail:
	mlfs_tree_free(t);
	return r;
}

void mlfs_tree_free(struct mlfs_tree *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->blob);
	free(t);
}

int mlfs_tree_load(struct mlfs_store *s, const struct mlfs_id *id,
		   struct mlfs_tree **out)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	int r = mlfs_meta_tree_get(s->meta, id, &b);

	if (r == -ENOENT) {
		/* Every tree id comes from a commit or a parent tree that
		 * verified: one without its row is damage, not absence
		 * (a reader must not take it for "no such file"). */
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(id, hex);
		mlfs_error_set("tree %s is missing (damaged database)", hex);
		r = -EIO;
	}
	if (r == 0)
		r = mlfs_tree_decode(b.data, b.len, out);
	if (r == 0)
		(*out)->id = *id;
	mlfs_buf_release(&b);
	return r;
}

const struct mlfs_entry *mlfs_tree_find(const struct mlfs_tree *t,
					const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->e[mid].name);

		if (c == 0)
			return &t->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int copy_entry(const struct mlfs_entry *e, struct mlfs_entry_copy *out)
{
	size_t nl = strlen(e->name), tl = e->target ? strlen(e->target) : 0;

	out->strings = malloc(nl + tl + 2);
	if (!out->strings)
		return -ENOMEM;
	out->e = *e;
	memcpy(out->strings, e->name, nl + 1);
	out->e.name = out->strings;
	if (e->target) {
		memcpy(out->strings + nl + 1, e->target, tl + 1);
		out->e.target = out->strings + nl + 1;
	}
	return 0;
}

int mlfs_tree_lookup_path(struct mlfs_store *s, const struct mlfs_id *root,
			  const char *path, struct mlfs_entry_copy *out)
{
	struct mlfs_entry cur = { .name = "", .type = MLFS_ENTRY_DIR,
				  .mode = 0755, .id = *root };
	struct mlfs_tree *t = NULL;
	const char *p = path;
	char name[TREE_NAME_MAX + 1];
	int r;

	memset(out, 0, sizeof(*out));
	while (*p == '/')
		p++;
	while (*p) {
		const struct mlfs_entry *e;
		size_t len = strcspn(p, "/");

		if (cur.type != MLFS_ENTRY_DIR) {
			r = -ENOTDIR;
			goto out;
		}
		if (len > TREE_NAME_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		mlfs_tree_free(t);
		t = NULL;
		r = mlfs_tree_load(s, &cur.id, &t);
		if (r < 0)
			goto out;
		e = mlfs_tree_find(t, name);
		if (!e) {
			r = -ENOENT;
			goto out;
		}
		cur = *e;
		p += len;
		while (*p == '/')
			p++;
	}
	r = copy_entry(&cur, out);
out:
	mlfs_tree_free(t);
	return r;
}

void mlfs_entry_copy_release(struct mlfs_entry_copy *c)
{
	free(c->strings);
	c->strings = NULL;
}
