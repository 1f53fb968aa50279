/*
 * export.c - write a version back to the local filesystem with the
 * modes, mtimes and symlinks that were imported. Every chunk is verified
 * on the way out, and so are each file's size and whole-file digest; a
 * mismatch stops the export with an error naming the file, whose partial
 * copy is removed: never wrong bytes left behind. Aligned 4 KiB blocks of
 * zeros become holes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/content.h"
#include "mlfs/export.h"
#include "mlfs/store.h"
#include "store_impl.h"

/* The unit of holes: file systems allocate in blocks of 4 KiB (or a
 * multiple), so a smaller run of zeros would not save a block. */
#define HOLE_BLOCK 4096u

/* Codes a damaged store produces (bad bytes, bad entries, missing rows),
 * as opposed to a store that cannot be read for another reason. */
static bool is_damage(int r)
{
	return r == -EIO || r == -EBADMSG || r == -ENOENT;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	return p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A destination written with holes: every HOLE_BLOCK-aligned block of
 * zeros is skipped (also one that spans chunks: the block a chunk leaves
 * incomplete is completed by the next one), the size set at the end.
 */
struct sparse_out {
	int fd;
	uint64_t off;              /* file offset of the next byte */
	uint8_t part[HOLE_BLOCK];  /* the aligned block being completed */
	size_t npart;              /* its bytes so far: off % HOLE_BLOCK */
};

static int flush_part(struct sparse_out *o)
{
	int r = 0;

	if (o->npart && !is_zero(o->part, o->npart))
		r = mlfs_pwrite_full(o->fd, o->part, o->npart,
				     o->off - o->npart);
	o->npart = 0;
	return r;
}

static int sparse_write(struct sparse_out *o, const uint8_t *p, size_t len)
{
	size_t data = 0, b, n;
	int r;

	if (o->npart) {
		n = HOLE_BLOCK - o->npart < len ? HOLE_BLOCK - o->npart : len;
		memcpy(o->part + o->npart, p, n);
		o->npart += n;
		o->off += n;
		p += n;
		len -= n;
		if (o->npart < HOLE_BLOCK)
			return 0;
		r = flush_part(o);
		if (r < 0)
			return r;
	}
	/* o->off is aligned here: whole blocks go straight from the chunk,
	 * runs of data in one pwrite each. */
	for (b = 0; b + HOLE_BLOCK <= len; b += HOLE_BLOCK) {
		if (!is_zero(p + b, HOLE_BLOCK))
			continue;
		if (b > data) {
			r = mlfs_pwrite_full(o->fd, p + data, b - data,
					     o->off + data);
			if (r < 0)
				return r;
		}
		data = b + HOLE_BLOCK;
	}
	if (b > data) {
		r = mlfs_pwrite_full(o->fd, p + data, b - data, o->off + data);
		if (r < 0)
			return r;
	}
	memcpy(o->part, p + b, len - b);
	o->npart = len - b;
	o->off += len;
	return 0;
}

/* The last block, and the size: trailing holes are no write. */
static int sparse_finish(struct sparse_out *o)
{
	int r = flush_part(o);

	if (r == 0 && ftruncate(o->fd, (off_t)o->off) < 0)
		r = -errno;
	return r;
}

/* Name the damage when the layer below did not. */
static void damage_detail(const char *what, const struct mlfs_id *id, int r)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	if (mlfs_error_detail()[0])
		return;
	mlfs_id_to_hex(id, hex);
	mlfs_error_set("%s %s: %s", what, hex,
		       r == -ENOENT ? "missing from the store" :
		       r == -EBADMSG ? "malformed" : "does not match");
}

static int check_digest(struct mlfs_hasher *h, const struct mlfs_id *want)
{
	char a[MLFS_ID_HEX_LEN + 1], b[MLFS_ID_HEX_LEN + 1];
	struct mlfs_id got;

	mlfs_hasher_final(h, &got);
	if (!mlfs_id_cmp(&got, want))
		return 0;
	mlfs_id_to_hex(want, a);
	mlfs_id_to_hex(&got, b);
	mlfs_error_set("content digest mismatch (expected %s, got %s)", a, b);
	return -EIO;
}

int mlfs_export_content_fd(struct mlfs_store *s, const struct mlfs_entry *e,
			   int fd, unsigned flags,
			   enum mlfs_export_fault *fault)
{
	struct mlfs_hasher h = { 0 };
	struct mlfs_content *c = NULL;
	struct sparse_out *so = NULL;
	int r;

	*fault = MLFS_EXPORT_DAMAGED;
	r = mlfs_content_load(s, &e->id, MLFS_CONTENT_LOCATE, &c);
	if (r < 0) {
		if (is_damage(r))
			damage_detail("content", &e->id, r);
		else
			*fault = MLFS_EXPORT_READ;
		goto out;
	}
	if (c->size != e->size) {
		mlfs_error_set("size mismatch (the tree says %" PRIu64
			       " bytes, the content row %" PRIu64 ")",
			       e->size, c->size);
		r = -EIO;
		goto out;
	}
	r = mlfs_hasher_init(&h, &s->cfg.key);
	if (r == 0 && (flags & MLFS_EXPORT_SPARSE)) {
		so = calloc(1, sizeof(*so));
		r = so ? 0 : -ENOMEM;
	}
	if (r < 0) {
		*fault = MLFS_EXPORT_READ;
		goto out;
	}
	if (so)
		so->fd = fd;
	for (size_t i = 0; i < c->n; i++) {
		const struct mlfs_chunk *ch;

		r = mlfs_content_get_chunk(s, c, i, &ch);
		if (r < 0) {
			if (is_damage(r))
				damage_detail("chunk", &c->ids[i], r);
			else
				*fault = MLFS_EXPORT_READ;
			goto out;
		}
		mlfs_hasher_update(&h, ch->data, ch->len);
		if (so)
			r = sparse_write(so, ch->data, ch->len);
		else
			r = write_all(fd, ch->data, ch->len);
		mlfs_chunk_unref(s, ch);
		if (r < 0) {
			*fault = MLFS_EXPORT_WRITE;
			goto out;
		}
	}
	if (so) {
		r = sparse_finish(so);
		if (r < 0) {
			*fault = MLFS_EXPORT_WRITE;
			goto out;
		}
	}
	r = check_digest(&h, &e->id);
out:
	if (r == 0)
		*fault = MLFS_EXPORT_OK;
	free(so);
	mlfs_hasher_release(&h);
	mlfs_content_free(c);
	return r;
}

struct exporter {
	struct mlfs_store *s;
	struct mlfs_export_stats *st;
	size_t base_len; /* strlen(DEST): a path's tail past it is relative */
};

/* Record a failure at @dest (a path below DEST, or DEST itself). */
static int failed(struct exporter *x, const char *dest,
		  enum mlfs_export_fault fault, int r)
{
	const char *rel = dest + x->base_len;

	if (*rel == '/')
		rel++;
	x->st->fault = fault;
	snprintf(x->st->fault_path, sizeof(x->st->fault_path), "%s", rel);
	return r;
}

static void set_times(const char *path, int64_t mtime_ns, int flags)
{
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = mlfs_ns_to_timespec(mtime_ns);
	(void)utimensat(AT_FDCWD, path, ts, flags); /* best effort */
}

static int export_file(struct exporter *x, const struct mlfs_entry *e,
		       const char *dest)
{
	enum mlfs_export_fault fault;
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r;

	if (fd < 0) {
		r = -errno;
		mlfs_error_set("cannot create '%s'", dest);
		return failed(x, dest, MLFS_EXPORT_WRITE, r);
	}
	r = mlfs_export_content_fd(x->s, e, fd, MLFS_EXPORT_SPARSE, &fault);
	if (r == 0 && fchmod(fd, e->mode) < 0) {
		r = -errno;
		fault = MLFS_EXPORT_WRITE;
	}
	if (close(fd) < 0 && r == 0) {
		r = -errno;
		fault = MLFS_EXPORT_WRITE;
	}
	if (r < 0) {
		if (fault == MLFS_EXPORT_WRITE && !mlfs_error_detail()[0])
			mlfs_error_set("cannot write '%s'", dest);
		/* Never leave a file with wrong or missing bytes. */
		x->st->removed_partial = unlink(dest) == 0;
		return failed(x, dest, fault, r);
	}
	set_times(dest, e->mtime_ns, 0);
	x->st->files++;
	x->st->bytes += e->size;
	return 0;
}

static int export_entry(struct exporter *x, const struct mlfs_entry *e,
			const char *dest, bool root);

static int export_dir(struct exporter *x, const struct mlfs_entry *e,
		      const char *dest, bool root)
{
	struct mlfs_tree *t;
	char child[PATH_MAX];
	int r;

	if (mkdir(dest, 0700) < 0) {
		r = -errno;
		mlfs_error_set("cannot create directory '%s'", dest);
		return failed(x, dest, MLFS_EXPORT_WRITE, r);
	}
	r = mlfs_tree_load(x->s, &e->id, &t);
	if (r < 0) {
		if (is_damage(r))
			damage_detail("tree", &e->id, r);
		return failed(x, dest, is_damage(r) ? MLFS_EXPORT_DAMAGED :
			      MLFS_EXPORT_READ, r);
	}
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		if (snprintf(child, sizeof(child), "%s/%s", dest,
			     t->e[i].name) >= (int)sizeof(child)) {
			mlfs_error_set("path too long: '%s/%s'", dest,
				       t->e[i].name);
			r = failed(x, dest, MLFS_EXPORT_WRITE, -ENAMETOOLONG);
			break;
		}
		r = export_entry(x, &t->e[i], child, false);
	}
	mlfs_tree_free(t);
	if (r < 0)
		return r;
	if (chmod(dest, e->mode) < 0)
		return failed(x, dest, MLFS_EXPORT_WRITE, -errno);
	/* The root of a version has no recorded mtime of its own. */
	if (!root)
		set_times(dest, e->mtime_ns, 0);
	x->st->dirs++;
	return 0;
}

static int export_entry(struct exporter *x, const struct mlfs_entry *e,
			const char *dest, bool root)
{
	int r;

	switch (e->type) {
	case MLFS_ENTRY_DIR:
		return export_dir(x, e, dest, root);
	case MLFS_ENTRY_FILE:
		return export_file(x, e, dest);
	case MLFS_ENTRY_SYMLINK:
		if (symlink(e->target, dest) < 0) {
			r = -errno;
			mlfs_error_set("cannot create symlink '%s'", dest);
			return failed(x, dest, MLFS_EXPORT_WRITE, r);
		}
		set_times(dest, e->mtime_ns, AT_SYMLINK_NOFOLLOW);
		x->st->symlinks++;
		return 0;
	}
	mlfs_error_set("entry of unknown type %d", (int)e->type);
	return failed(x, dest, MLFS_EXPORT_DAMAGED, -EBADMSG);
}

int mlfs_export(struct mlfs_store *s, const struct mlfs_entry *entry,
		const char *dest, struct mlfs_export_stats *st)
{
	struct exporter x = { .s = s, .st = st, .base_len = strlen(dest) };
	struct stat sb;

	memset(st, 0, sizeof(*st));
	mlfs_error_clear();
	if (lstat(dest, &sb) == 0) {
		mlfs_error_set("'%s' already exists", dest);
		return failed(&x, dest, MLFS_EXPORT_WRITE, -EEXIST);
	}
	return export_entry(&x, entry, dest, entry->name[0] == '\0');
}
