/*
 * import.c - a file or directory tree becomes a commit. The calling
 * thread walks and hashes (large files are read and cut ahead by
 * import_read.c); chunks the store lacks go to the worker pool of
 * import_pool.c. Index rows wait in memory for one short transaction
 * that commits after the packs are fsync'd (docs/design.md#crash-safety).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/idset.h"
#include "mlfs/import.h"
#include "mlfs/tree.h"
#include "import_pool.h"
#include "import_read.h"
#include "objid.h"
#include "store_impl.h"

/* A content or tree row, buffered until the commit transaction. */
struct row {
	bool is_tree;
	struct mlfs_id id;
	uint64_t size;
	struct mlfs_buf blob; /* owned */
};

struct importer {
	struct mlfs_store *s;
	/* Index rows wait in memory: the write transaction only spans the
	 * final inserts, so other writers (tags, imports) are not blocked
	 * for the length of an import. */
	struct pool_result *chunk_rows;
	size_t nchunk_rows, cap_chunk_rows;
	struct row *rows;
	size_t nrows, cap_rows;
	struct mlfs_idset row_ids;
	const struct mlfs_import_opts *o;
	struct mlfs_import_stats *st;
	struct import_pool pool;
	struct mlfs_idset session; /* chunks submitted by this import */
	/* Where files are cut: the plug-in point for format-aware splitters
	 * (e.g. at safetensors tensor boundaries), chosen per file. */
	const struct mlfs_splitter *splitter;
	struct mlfs_import_progress prog;
	double t0, last_progress;
};

/* Take the workers' finished chunks into the rows to insert. */
static int collect_results(struct importer *im)
{
	struct pool_result *v;
	size_t n;
	int r = 0;

	import_pool_take_results(&im->pool, &v, &n);
	if (!n) {
		free(v);
		return 0;
	}
	if (im->nchunk_rows + n > im->cap_chunk_rows) {
		size_t nc = (im->nchunk_rows + n) * 2;
		struct pool_result *nv = realloc(im->chunk_rows,
						 nc * sizeof(*nv));

		if (!nv)
			r = -ENOMEM;
		else {
			im->chunk_rows = nv;
			im->cap_chunk_rows = nc;
		}
	}
	if (r == 0) {
		memcpy(im->chunk_rows + im->nchunk_rows, v, n * sizeof(*v));
		im->nchunk_rows += n;
	}
	free(v);
	return r;
}

/* Buffer a content or tree row; takes @blob's storage (left empty). */
static int add_row(struct importer *im, bool is_tree, const struct mlfs_id *id,
		   uint64_t size, struct mlfs_buf *blob)
{
	int r = mlfs_idset_add(&im->row_ids, id, 0, NULL);

	if (r <= 0)
		return r; /* already buffered (or -ENOMEM) */
	if (im->nrows == im->cap_rows) {
		size_t nc = im->cap_rows ? im->cap_rows * 2 : 256;
		struct row *nv = realloc(im->rows, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		im->rows = nv;
		im->cap_rows = nc;
	}
	im->rows[im->nrows].is_tree = is_tree;
	im->rows[im->nrows].id = *id;
	im->rows[im->nrows].size = size;
	im->rows[im->nrows].blob = *blob;
	im->nrows++;
	memset(blob, 0, sizeof(*blob));
	return 0;
}

/* Encode a directory and buffer it; its id is the hash of the encoding. */
static int add_tree(struct importer *im, const struct mlfs_entry *e, size_t n,
		    struct mlfs_id *id)
{
	struct mlfs_buf enc = MLFS_BUF_INIT;
	int r = mlfs_tree_encode(e, n, &enc);

	if (r == 0) {
		mlfs_hash(&im->s->cfg.key, enc.data, enc.len, id);
		r = add_row(im, true, id, 0, &enc);
	}
	mlfs_buf_release(&enc);
	return r;
}

/* Insert every buffered row; inside the commit transaction. */
static int insert_rows(struct importer *im)
{
	struct mlfs_meta *m = im->s->meta;
	int r = 0;

	for (size_t i = 0; r == 0 && i < im->nchunk_rows; i++) {
		const struct pool_result *x = &im->chunk_rows[i];

		if (i == 0 || x->loc.pack_id != x[-1].loc.pack_id)
			r = mlfs_meta_pack_put(m, x->loc.pack_id);
		if (r == 0)
			r = mlfs_meta_chunk_put(m, &x->id, &x->loc);
	}
	for (size_t i = 0; r == 0 && i < im->nrows; i++) {
		const struct row *x = &im->rows[i];

		if (x->is_tree)
			r = mlfs_meta_tree_put(m, &x->id, x->blob.data,
					       x->blob.len);
		else
			r = mlfs_meta_content_put(m, &x->id, x->size,
						  x->blob.data, x->blob.len);
	}
	return r;
}

static void progress(struct importer *im, bool force)
{
	double now;

	if (!im->o || !im->o->progress)
		return;
	now = mlfs_now();
	if (!force && now - im->last_progress < 0.25)
		return;
	im->last_progress = now;
	im->prog.seconds = now - im->t0;
	im->o->progress(im->o->ctx, &im->prog);
}

static int chunk_seen(struct importer *im, const struct mlfs_id *id)
{
	struct mlfs_chunk_loc loc;
	int r;

	if (mlfs_idset_get(&im->session, id))
		return 1;
	r = mlfs_meta_chunk_get(im->s->meta, id, &loc);
	if (r == 0)
		return 1;
	return r == -ENOENT ? 0 : r;
}

/* Files at least this large are read and chunked on a thread of their
 * own, one buffer ahead of the hashing and dedup done here. */
#define THREADED_READ_MIN (16u << 20)

/* Hash, record and (when new) hand one chunk to the workers. */
static int add_chunk(struct importer *im, struct mlfs_hasher *h,
		     struct mlfs_buf *list, const uint8_t *p, size_t len)
{
	uint8_t ent[MLFS_ID_LEN + 4];
	struct mlfs_id id;
	int r;

	mlfs_hash(&im->s->cfg.key, p, len, &id);
	mlfs_hasher_update(h, p, len);
	memcpy(ent, id.b, MLFS_ID_LEN);
	mlfs_put_le32(ent + MLFS_ID_LEN, (uint32_t)len);
	r = mlfs_buf_append(list, ent, sizeof(ent));
	if (r < 0)
		return r;
	im->st->chunks++;
	r = chunk_seen(im, &id);
	if (r == 0) {
		r = mlfs_idset_add(&im->session, &id, 0, NULL);
		if (r >= 0)
			r = import_pool_submit(&im->pool, &id, p,
					       (uint32_t)len);
		if (r >= 0) {
			im->st->new_chunks++;
			im->st->new_raw_bytes += len;
		}
	}
	im->prog.bytes_done += len;
	return r < 0 ? r : 0;
}

/* Chunk the open regular file @fd (named @path in messages): its digest
 * and size go to @digest and @size, its row to the buffered rows. */
static int import_file(struct importer *im, int fd, const char *path,
		       const struct stat *st, struct mlfs_id *digest,
		       uint64_t *size)
{
	struct mlfs_buf list = MLFS_BUF_INIT;
	struct mlfs_hasher h = { 0 };
	struct file_reader *fr = NULL;
	struct read_batch b = { .last = false };
	uint64_t total = 0;
	int r;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = mlfs_hasher_init(&h, &im->s->cfg.key);
	if (r == 0)
		r = file_reader_open(fd, &im->s->cfg.chunk, im->splitter,
				     st->st_size >= THREADED_READ_MIN,
				     (uint64_t)st->st_blocks * 512 <
				     (uint64_t)st->st_size, &fr);
	while (r == 0 && !b.last) {
		size_t start = 0;

		r = file_reader_next(fr, &b);
		if (r < 0) {
			mlfs_error_set("cannot read '%s'", path);
			break;
		}
		for (size_t i = 0; r == 0 && i < b.n; i++) {
			r = add_chunk(im, &h, &list, b.data + start,
				      b.ends[i] - start);
			total += b.ends[i] - start;
			start = b.ends[i];
		}
		progress(im, false);
	}
	file_reader_close(fr);
	if (r == 0) {
		mlfs_hasher_final(&h, digest);
		*size = total;
		r = collect_results(im);
	}
	if (r == 0)
		r = add_row(im, false, digest, total, &list);
	mlfs_hasher_release(&h);
	mlfs_buf_release(&list);
	im->st->bytes += total;
	im->st->files++;
	im->prog.files_done++;
	return r;
}

/* Nanoseconds since the epoch. int64 covers 1677-2262; a time outside
 * that range is clamped (documented in docs/format.md). */
static int64_t mtime_ns(const struct stat *st)
{
	int64_t ns;

	if (__builtin_mul_overflow((int64_t)st->st_mtim.tv_sec,
				   (int64_t)1000000000, &ns) ||
	    __builtin_add_overflow(ns, (int64_t)st->st_mtim.tv_nsec, &ns))
		return st->st_mtim.tv_sec < 0 ? INT64_MIN : INT64_MAX;
	return ns;
}

/*
 * The walk below SRC opens every entry relative to its parent's fd and
 * never follows a symlink: an entry swapped for a symlink (to /etc, say)
 * while the import runs is seen as the symlink it now is, never as the
 * tree it points to. O_NONBLOCK: a FIFO or device put in a file's place
 * after it was looked at does not block the open (and is then skipped).
 */
#define WALK_OPEN (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW)
/* Looks at one entry before an entry that keeps changing type is an
 * error rather than a guess. */
#define WALK_TRIES 8

struct pending {
	char *name;
	struct mlfs_entry e;
	char *target;
};

static int cmp_pending(const void *a, const void *b)
{
	return strcmp(((const struct pending *)a)->name,
		      ((const struct pending *)b)->name);
}

/* "@dir/@name" for messages (malloc'd), or NULL. */
static char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p;

	if (a > 1 && dir[a - 1] == '/')
		a--;
	p = malloc(a + b + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static int import_entry(struct importer *im, int dfd, const char *name,
			const char *path, struct pending *p);

/* Import the directory open at @dfd (taken: closed here), named @path. */
static int import_dir(struct importer *im, int dfd, const char *path,
		      struct mlfs_id *tree_id)
{
	struct pending *v = NULL;
	struct mlfs_entry *ents = NULL;
	size_t n = 0, cap = 0, kept = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		mlfs_error_set("cannot open directory '%s'", path);
		return r;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct pending *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = nc;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].name = strdup(de->d_name);
		if (!v[n].name) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		r = -errno;
		mlfs_error_set("cannot read directory '%s'", path);
		goto out;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_pending);
	ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *child = path_join(path, v[i].name);

		if (!child) {
			r = -ENOMEM;
			goto out;
		}
		r = import_entry(im, dirfd(d), v[i].name, child, &v[i]);
		free(child);
		if (r < 0)
			goto out;
		if (r == 0) {
			v[i].e.name = v[i].name;
			ents[kept++] = v[i].e;
		}
		r = 0;
	}
	r = add_tree(im, ents, kept, tree_id);
	im->st->dirs++;
out:
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].target);
	}
	free(v);
	free(ents);
	return r;
}

/* Record the symlink @name of @dfd. Returns 0, -EINVAL when it is no
 * longer a symlink (the caller looks again), or -errno. */
static int import_symlink(struct importer *im, int dfd, const char *name,
			  const char *path, const struct stat *st,
			  struct pending *p)
{
	struct mlfs_entry *e = &p->e;
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	int r;

	if (n < 0) {
		r = -errno;
		if (r != -EINVAL)
			mlfs_error_set("cannot read link '%s'", path);
		return r;
	}
	buf[n] = '\0';
	p->target = strdup(buf);
	if (!p->target)
		return -ENOMEM;
	e->type = MLFS_ENTRY_SYMLINK;
	e->mode = st->st_mode & 07777;
	e->mtime_ns = mtime_ns(st);
	e->target = p->target;
	e->size = (uint64_t)n;
	im->st->symlinks++;
	return 0;
}

/* Fill @p->e for the entry @name of the directory @dfd (@path in
 * messages). Returns 0 (kept), 1 (skipped with a warning), or -errno. */
static int import_entry(struct importer *im, int dfd, const char *name,
			const char *path, struct pending *p)
{
	struct mlfs_entry *e = &p->e;
	struct stat st, fst;
	int fd, r;

	/* Look, open without following, and check that what was opened is
	 * what was looked at; an entry replaced in between is looked at
	 * again. */
	for (int tries = 0;; tries++) {
		if (tries == WALK_TRIES) {
			mlfs_error_set("'%s' kept changing while it was "
				       "imported", path);
			return -EAGAIN;
		}
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			mlfs_error_set("cannot stat '%s'", path);
			return r;
		}
		if (S_ISLNK(st.st_mode)) {
			r = import_symlink(im, dfd, name, path, &st, p);
			if (r == -EINVAL)
				continue;
			return r;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			im->st->skipped++;
			if (im->o && im->o->warn)
				im->o->warn(im->o->ctx, path,
					    "not a regular file, directory "
					    "or symlink: skipped");
			return 1;
		}
		fd = openat(dfd, name, WALK_OPEN |
			    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0) {
			r = -errno;
			/* ELOOP: now a symlink; ENOTDIR: no longer a
			 * directory; ENOENT: gone (the next look says). */
			if (r == -ELOOP || r == -ENOTDIR || r == -ENOENT)
				continue;
			mlfs_error_set("cannot open '%s'", path);
			return r;
		}
		if (fstat(fd, &fst) < 0) {
			r = -errno;
			close(fd);
			mlfs_error_set("cannot stat '%s'", path);
			return r;
		}
		if ((fst.st_mode & S_IFMT) == (st.st_mode & S_IFMT))
			break;
		close(fd);
	}
	e->mode = fst.st_mode & 07777;
	e->mtime_ns = mtime_ns(&fst);
	if (S_ISDIR(fst.st_mode)) {
		e->type = MLFS_ENTRY_DIR;
		return import_dir(im, fd, path, &e->id);
	}
	e->type = MLFS_ENTRY_FILE;
	(void)fcntl(fd, F_SETFL, 0); /* blocking reads from here on */
	r = import_file(im, fd, path, &fst, &e->id, &e->size);
	close(fd);
	return r;
}

/* Sum sizes below the directory open at @dfd (taken) for the progress
 * total, walking as the import does; errors are found again later. */
static void scan_dir(int dfd, struct mlfs_import_progress *p)
{
	struct dirent *de;
	DIR *d = fdopendir(dfd);

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			p->bytes_total += (uint64_t)st.st_size;
			p->files_total++;
		} else if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), de->d_name,
				    WALK_OPEN | O_DIRECTORY);
			if (fd >= 0)
				scan_dir(fd, p);
		}
	}
	closedir(d);
}

static void scan_totals(const char *src, struct mlfs_import_progress *p)
{
	struct stat st;
	int fd;

	if (stat(src, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		p->bytes_total += (uint64_t)st.st_size;
		p->files_total++;
	} else if (S_ISDIR(st.st_mode)) {
		fd = open(src, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
		if (fd >= 0)
			scan_dir(fd, p);
	}
}

/* SRC itself may be a symlink to the tree or file to import: the only
 * link the import follows. */
static int make_root(struct importer *im, const char *src,
		     struct mlfs_id *root)
{
	struct pending p = { 0 };
	struct stat st, fst;
	const char *base;
	char *copy;
	int fd, r;

	if (stat(src, &st) < 0) {
		r = -errno;
		mlfs_error_set("cannot read '%s'", src);
		return r;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		mlfs_error_set("'%s' is not a file or directory", src);
		return -EINVAL;
	}
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		mlfs_error_set("cannot open '%s'", src);
		return r;
	}
	r = fstat(fd, &fst) < 0 ? -errno : 0;
	if (r == 0 && (fst.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
		r = -EAGAIN;
	if (r < 0) {
		close(fd);
		mlfs_error_set(r == -EAGAIN ? "'%s' changed while it was "
			       "opened" : "cannot stat '%s'", src);
		return r;
	}
	if (S_ISDIR(fst.st_mode))
		return import_dir(im, fd, src, root);
	/* A single file becomes a version holding just that file. */
	copy = strdup(src);
	if (!copy) {
		close(fd);
		return -ENOMEM;
	}
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	(void)fcntl(fd, F_SETFL, 0); /* blocking reads from here on */
	p.e.type = MLFS_ENTRY_FILE;
	p.e.mode = fst.st_mode & 07777;
	p.e.mtime_ns = mtime_ns(&fst);
	r = import_file(im, fd, src, &fst, &p.e.id, &p.e.size);
	close(fd);
	if (r == 0) {
		p.e.name = base;
		r = add_tree(im, &p.e, 1, root);
	}
	free(copy);
	return r;
}

static void default_author(char *buf, size_t size)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if (!u || !*u) {
		pw = getpwuid(geteuid());
		u = pw ? pw->pw_name : "unknown";
	}
	snprintf(buf, size, "%s", u);
}

int mlfs_import(struct mlfs_store *s, const char *src, const char *ns,
		const char *name, const struct mlfs_import_opts *o,
		struct mlfs_import_stats *st)
{
	struct importer im = { .s = s, .o = o, .st = st,
			       .splitter = &mlfs_splitter_fastcdc };
	struct mlfs_commit c = { 0 };
	struct mlfs_repo repo;
	struct mlfs_id tag_at;
	struct stat sst;
	const char *branch, *why;
	char author[256], msg_default[PATH_MAX + 16];
	bool in_txn = false, began;
	long ncpu;
	int r, nthreads, lock_fd = -1;

	memset(st, 0, sizeof(*st));
	mlfs_error_clear();
	if (mlfs_name_check(ns, &why) < 0 || mlfs_name_check(name, &why) < 0 ||
	    (o && o->branch && mlfs_name_check(o->branch, &why) < 0) ||
	    (o && o->tag && mlfs_name_check(o->tag, &why) < 0)) {
		mlfs_error_set("%s", why);
		return -EINVAL;
	}
	if (s->rdonly)
		return -EROFS;
	if (stat(src, &sst) < 0) {
		r = -errno;
		mlfs_error_set("cannot read '%s'", src);
		return r;
	}
	im.t0 = mlfs_now();
	if (o && o->progress)
		scan_totals(src, &im.prog);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = o && o->threads > 0 ? o->threads :
		   (int)(ncpu > 0 ? ncpu : 2);
	if (nthreads > IMPORT_POOL_MAX_WORKERS)
		nthreads = IMPORT_POOL_MAX_WORKERS;
	/* Shared with other imports, exclusive of gc: our packs are not
	 * referenced until we commit, and gc must not take them for debris. */
	r = store_lock(s, false, true, &lock_fd);
	if (r < 0) {
		mlfs_error_set("cannot take the store's lock");
		return r;
	}
	im.pool.level = s->cfg.zstd_level;
	im.pool.job_cap = s->cfg.chunk.max;
	r = mlfs_pack_writer_new(s->packs_dir, &im.pool.w);
	if (r < 0) {
		store_unlock(lock_fd);
		return r;
	}
	r = import_pool_start(&im.pool, nthreads);
	if (r < 0)
		goto out;

	/* Refuse an existing tag before doing the work (checked again in
	 * the transaction, where it counts). */
	if (o && o->tag && mlfs_meta_repo_get(s->meta, ns, name, &repo) == 0 &&
	    mlfs_meta_ref_get(s->meta, repo.id, MLFS_REF_TAG, o->tag,
			      &tag_at) == 0) {
		mlfs_error_set("tag '%s' already exists in '%s/%s'", o->tag,
			       ns, name);
		r = -EEXIST;
		goto out;
	}
	/* The walk's dedup lookups (one per chunk) share one read snapshot
	 * instead of taking SQLite's file locks per statement. */
	began = mlfs_meta_read_begin(s->meta);
	r = make_root(&im, src, &c.tree);
	mlfs_meta_read_end(s->meta, began);
	if (r < 0)
		goto out;
	r = import_pool_drain(&im.pool);
	if (r == 0)
		r = collect_results(&im);
	if (r < 0)
		goto out;
	/* The barrier: pack bytes reach the disk before the transaction
	 * that references them commits. */
	r = mlfs_pack_writer_sync(im.pool.w);
	if (r < 0)
		goto out;

	r = mlfs_meta_begin(s->meta);
	if (r < 0)
		goto out;
	in_txn = true;
	r = mlfs_meta_repo_get(s->meta, ns, name, &repo);
	if (r == -ENOENT) {
		r = mlfs_meta_repo_create(s->meta, ns, name, &repo);
		st->created_repo = r == 0;
	}
	if (r < 0)
		goto out;
	if (o && o->tag &&
	    mlfs_meta_ref_get(s->meta, repo.id, MLFS_REF_TAG, o->tag,
			      &tag_at) == 0) {
		mlfs_error_set("tag '%s' already exists in '%s/%s'", o->tag,
			       ns, name);
		r = -EEXIST;
		goto out;
	}
	/* The parent is the branch head now, in the transaction: a commit
	 * that landed on the branch during this import stays in history. */
	branch = o && o->branch ? o->branch : repo.default_branch;
	r = mlfs_meta_ref_get(s->meta, repo.id, MLFS_REF_BRANCH, branch,
			      &c.parent);
	if (r == -ENOENT)
		/* A new branch starts from the default branch's head. */
		r = mlfs_meta_ref_get(s->meta, repo.id, MLFS_REF_BRANCH,
				      repo.default_branch, &c.parent);
	c.has_parent = r == 0;
	if (r < 0 && r != -ENOENT)
		goto out;
	r = insert_rows(&im);
	if (r < 0)
		goto out;

	default_author(author, sizeof(author));
	snprintf(msg_default, sizeof(msg_default), "import %s", src);
	c.author = o && o->author ? (char *)o->author : author;
	c.message = o && o->message ? (char *)o->message : msg_default;
	c.repo_id = repo.id;
	c.time = (int64_t)time(NULL);
	mlfs_objid_commit(&s->cfg.key, ns, name, &c, &c.id);
	r = mlfs_meta_commit_put(s->meta, &c);
	if (r == 0)
		r = mlfs_meta_ref_set(s->meta, repo.id, MLFS_REF_BRANCH,
				      branch, &c.id, c.time);
	if (r == 0 && o && o->tag)
		r = mlfs_meta_ref_set(s->meta, repo.id, MLFS_REF_TAG, o->tag,
				      &c.id, c.time);
	if (r == 0) {
		char detail[PATH_MAX + 300];
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(&c.id, hex);
		snprintf(detail, sizeof(detail), "%s/%s@%s %s <- %s", ns,
			 name, branch, hex, src);
		r = mlfs_store_audit(s, "import", detail);
	}
	if (r < 0)
		goto out;
	in_txn = false;
	r = mlfs_meta_commit(s->meta);
	if (r < 0)
		goto out;
	st->commit = c.id;
	progress(&im, true);
out:
	if (in_txn)
		mlfs_meta_rollback(s->meta);
	import_pool_stop(&im.pool);
	st->new_stored_bytes = im.pool.stored_bytes;
	st->seconds = mlfs_now() - im.t0;
	if (r < 0)
		mlfs_pack_writer_discard(im.pool.w);
	else
		mlfs_pack_writer_free(im.pool.w);
	mlfs_idset_release(&im.session);
	mlfs_idset_release(&im.row_ids);
	for (size_t i = 0; i < im.nrows; i++)
		mlfs_buf_release(&im.rows[i].blob);
	free(im.rows);
	free(im.chunk_rows);
	store_unlock(lock_fd);
	return r;
}
