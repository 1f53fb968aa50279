/*
 * import.c - a file or directory tree becomes a commit: a walk of local
 * files that feeds the ingest object (ingest.c), which cuts, dedups and
 * stores them and makes the commit. The walk never follows a symlink
 * below SRC and opens every entry relative to its parent's fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/import.h"
#include "mlfs/ingest.h"
#include "mlfs/tree.h"
#include "mlfs/worktree.h"
#include "filecache.h"
#include "import_ahead.h"
#include "store_impl.h"

struct importer {
	struct mlfs_ingest *in;
	const struct mlfs_import_opts *o;
	struct mlfs_import_stats *st; /* the walk's counts */
	/* where the commit goes, for the working-tree check in it */
	struct mlfs_store *s;
	const char *ns, *name, *branch;
	/* The files cache (NULL: none), and where the path below SRC starts
	 * in the walk's paths ("SRC/a/b" -> "a/b"). */
	struct filecache *fc;
	size_t rel_off;
	/* Listings and stat data made ahead by another thread (NULL:
	 * none), when the files cache may spare most files their reads. */
	struct import_ahead *ahead;
};

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

/* The walk's opens: IMPORT_WALK_OPEN (import_ahead.h). Looks at one
 * entry before an entry that keeps changing type is an error rather
 * than a guess. */
#define WALK_TRIES 8

struct pending {
	char *name;
	char *path; /* for messages and the files cache */
	struct mlfs_entry e;
	char *target;
	bool kept;  /* in the tree (not skipped) */
	/* A regular file: its stat data, for the next files cache; and
	 * whether its id came from the cache, not yet vouched for by the
	 * store (import_dir checks it before the tree is buffered). @pre:
	 * @st is the stat-ahead's look at the entry, the first one to use. */
	bool record, cached, pre;
	struct stat st;
};

static int cmp_pending(const void *a, const void *b)
{
	return strcmp(((const struct pending *)a)->name,
		      ((const struct pending *)b)->name);
}

/* Whether the file open at @fd changed while it was read (@read bytes,
 * from what @before describes): then it is stored as read, which may be
 * torn, so say so, as tar and borg do, and keep it out of the files
 * cache. */
static bool note_changed(struct importer *im, int fd, const char *path,
			 const struct stat *before, uint64_t read)
{
	char what[160];
	struct stat now;

	if (fstat(fd, &now) == 0 && read == (uint64_t)before->st_size &&
	    now.st_size == before->st_size &&
	    mtime_ns(&now) == mtime_ns(before) &&
	    now.st_ctim.tv_sec == before->st_ctim.tv_sec &&
	    now.st_ctim.tv_nsec == before->st_ctim.tv_nsec)
		return false;
	im->st->changed++;
	if (!im->o || !im->o->warn)
		return true;
	snprintf(what, sizeof(what), "changed while it was read: stored as "
		 "read (%" PRIu64 " bytes), which may mix old and new bytes; "
		 "import again when it is quiet", read);
	im->o->warn(im->o->ctx, path, what);
	return true;
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
			const char *path, struct pending *p, bool may_reuse);
static int cache_add(struct importer *im, const char *path,
		     const struct stat *st, const struct mlfs_entry *e);

/* The kept entries of @v into @ents; their count. */
static size_t fill_ents(struct pending *v, size_t n, struct mlfs_entry *ents)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].kept)
			continue;
		v[i].e.name = v[i].name;
		ents[kept++] = v[i].e;
	}
	return kept;
}

/*
 * The files of a directory whose ids came from the files cache are in
 * the store: when the tree they make is stored (its row present and
 * sound), every content it names was committed with it or before, and
 * only a gc that also removed the tree could have removed one. Otherwise
 * each such file's contents row is checked, and a file whose row is
 * missing or damaged is read after all. One tree lookup per unchanged
 * directory instead of one contents lookup per file.
 */
static int vouch(struct importer *im, int dfd, struct pending *v, size_t n,
		 struct mlfs_entry *ents)
{
	struct mlfs_buf enc = MLFS_BUF_INIT;
	struct mlfs_id id;
	size_t kept = fill_ents(v, n, ents);
	int r = mlfs_tree_encode(ents, kept, &enc);

	if (r == 0) {
		mlfs_hash(&im->s->cfg.key, enc.data, enc.len, &id);
		r = mlfs_ingest_has_tree(im->in, &id);
	}
	mlfs_buf_release(&enc);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct pending *p = &v[i];
		int known = r;

		if (!p->cached)
			continue;
		if (!known)
			known = mlfs_ingest_has_content(im->in, &p->e.id,
							p->e.size);
		if (known < 0) {
			r = known;
			break;
		}
		p->cached = false;
		if (known) {
			mlfs_ingest_count_cached(im->in, p->e.size);
			continue;
		}
		free(p->target);
		p->target = NULL;
		p->record = false;
		/* the store lacks it: read the file as if uncached */
		known = import_entry(im, dfd, p->name, p->path, p, false);
		if (known < 0) {
			r = known;
			break;
		}
		p->kept = known == 0;
	}
	return r < 0 ? r : 0;
}

/* The entries of @ad into @v (its names moved over, their stat data as
 * first looks). */
static int take_listing(struct ahead_dir *ad, struct pending **v,
			size_t *n)
{
	*v = calloc(ad->n ? ad->n : 1, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	for (size_t i = 0; i < ad->n; i++) {
		(*v)[i].name = ad->v[i].name;
		ad->v[i].name = NULL;
		(*v)[i].pre = !ad->v[i].err;
		(*v)[i].st = ad->v[i].st;
	}
	*n = ad->n;
	return 0;
}

/* The entries of the directory @d into @v, sorted by name. */
static int read_listing(DIR *d, const char *path, struct pending **pv,
			size_t *pn)
{
	struct pending *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct pending *nv = mlfs_grow(v, sizeof(*nv), n, &cap);

		if (!nv) {
			r = -ENOMEM;
			goto out;
		}
		v = nv;
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
out:
	*pv = v; /* freed by the caller, also on failure */
	*pn = n;
	return r;
}

/* Import the directory open at @dfd (taken: closed here), named @path,
 * whose fstat is @dst. */
static int import_dir(struct importer *im, int dfd, const char *path,
		      const struct stat *dst, struct mlfs_id *tree_id)
{
	struct ahead_dir *ad = import_ahead_take(im->ahead, dst);
	struct pending *v = NULL;
	struct mlfs_entry *ents = NULL;
	size_t n = 0, kept, ncached = 0;
	DIR *d = NULL;
	int r;

	if (ad) {
		r = take_listing(ad, &v, &n);
		import_ahead_dir_free(ad);
	} else {
		d = fdopendir(dfd);
		if (!d) {
			r = -errno;
			close(dfd);
			mlfs_error_set("cannot open directory '%s'", path);
			return r;
		}
		r = read_listing(d, path, &v, &n);
	}
	if (r < 0)
		goto out;
	ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].path = path_join(path, v[i].name);
		if (!v[i].path) {
			r = -ENOMEM;
			goto out;
		}
		r = import_entry(im, dfd, v[i].name, v[i].path, &v[i], true);
		if (r < 0)
			goto out;
		v[i].kept = r == 0;
		ncached += v[i].cached;
	}
	r = ncached ? vouch(im, dfd, v, n, ents) : 0;
	if (r < 0)
		goto out;
	kept = fill_ents(v, n, ents);
	r = mlfs_ingest_tree(im->in, ents, kept, tree_id);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].record)
			r = cache_add(im, v[i].path, &v[i].st, &v[i].e);
	im->st->dirs++;
out:
	if (d)
		closedir(d);
	else
		close(dfd);
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
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

/* @path below SRC, as the files cache knows it. */
static const char *rel_path(const struct importer *im, const char *path)
{
	size_t n = strlen(path);

	return n > im->rel_off ? path + im->rel_off : "";
}

/* Record a file in the files cache. A path too long for it is simply
 * read again next time. */
static int cache_add(struct importer *im, const char *path,
		     const struct stat *st, const struct mlfs_entry *e)
{
	int r;

	if (!im->fc)
		return 0;
	r = filecache_add(im->fc, rel_path(im, path), st, &e->id);
	return r == -ENAMETOOLONG ? 0 : r;
}

/* The file @path with stat data @st from the files cache, unread, when
 * the cache knows it unchanged: @p filled, its id still to be vouched
 * for (p->cached). Returns whether it did. */
static bool cache_reuse(struct importer *im, const char *path,
			const struct stat *st, struct pending *p)
{
	struct mlfs_entry *e = &p->e;

	if (!filecache_lookup(im->fc, rel_path(im, path), st, &e->id))
		return false;
	e->type = MLFS_ENTRY_FILE;
	e->mode = st->st_mode & 07777;
	e->mtime_ns = mtime_ns(st);
	e->size = (uint64_t)st->st_size;
	p->st = *st;
	p->record = true;
	p->cached = true;
	return true;
}

/* Fill @p->e for the entry @name of the directory @dfd (@path in
 * messages), from the files cache when @may_reuse and it knows the file.
 * Returns 0 (kept), 1 (skipped with a warning), or -errno. */
static int import_entry(struct importer *im, int dfd, const char *name,
			const char *path, struct pending *p, bool may_reuse)
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
		if (tries == 0 && p->pre) {
			st = p->st; /* the stat-ahead's look */
		} else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			mlfs_error_set("cannot stat '%s'", path);
			return r;
		}
		p->pre = false;
		if (S_ISLNK(st.st_mode)) {
			r = import_symlink(im, dfd, name, path, &st, p);
			if (r == -EINVAL)
				continue;
			return r;
		}
		/* unchanged since the last import: nothing to open */
		if (may_reuse && S_ISREG(st.st_mode) && im->fc &&
		    cache_reuse(im, path, &st, p))
			return 0;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			im->st->skipped++;
			if (im->o && im->o->warn)
				im->o->warn(im->o->ctx, path,
					    "not a regular file, directory "
					    "or symlink: skipped");
			return 1;
		}
		fd = openat(dfd, name, IMPORT_WALK_OPEN |
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
		return import_dir(im, fd, path, &fst, &e->id);
	}
	e->type = MLFS_ENTRY_FILE;
	(void)fcntl(fd, F_SETFL, 0); /* blocking reads from here on */
	r = mlfs_ingest_file(im->in, fd, path, &e->id, &e->size);
	/* a file that changed while it was read is not what @fst
	 * describes: left to the next import */
	p->st = fst;
	p->record = r == 0 && !note_changed(im, fd, path, &fst, e->size);
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
				    IMPORT_WALK_OPEN | O_DIRECTORY);
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
	if (S_ISDIR(fst.st_mode)) {
		/* worth a thread when the cache may spare most files their
		 * reads; without one the walk stats each file as it reads it */
		if (im->fc && filecache_loaded(im->fc) &&
		    import_ahead_start(fd, &im->ahead) < 0)
			im->ahead = NULL;
		r = import_dir(im, fd, src, &fst, root);
		import_ahead_stop(im->ahead);
		im->ahead = NULL;
		return r;
	}
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
	r = 0;
	if (im->fc && cache_reuse(im, src, &fst, &p)) {
		r = mlfs_ingest_has_content(im->in, &p.e.id, p.e.size);
		if (r > 0)
			mlfs_ingest_count_cached(im->in, p.e.size);
	}
	if (r == 0) {
		r = mlfs_ingest_file(im->in, fd, src, &p.e.id, &p.e.size);
		p.record = r == 0 && !note_changed(im, fd, src, &fst,
						   p.e.size);
	}
	if (r >= 0 && p.record)
		r = cache_add(im, src, &fst, &p.e);
	close(fd);
	if (r >= 0) {
		p.e.name = base;
		r = mlfs_ingest_tree(im->in, &p.e, 1, root);
	}
	free(copy);
	return r;
}

/* The walk's counts and the ingest's, as one import reports them. */
static void merge_stats(const struct mlfs_ingest *in,
			struct mlfs_import_stats *st)
{
	struct mlfs_import_stats is;

	mlfs_ingest_stats(in, &is);
	st->files = is.files;
	st->files_cached = is.files_cached;
	st->bytes = is.bytes;
	st->chunks = is.chunks;
	st->new_chunks = is.new_chunks;
	st->new_raw_bytes = is.new_raw_bytes;
	st->new_stored_bytes = is.new_stored_bytes;
	st->seconds = is.seconds;
}

/* The commit's hook: refuse when the branch's working tree got edits. */
static int refuse_edited(void *ctx, const struct mlfs_id *commit)
{
	struct importer *im = ctx;
	int r;

	(void)commit;
	r = mlfs_work_branch_dirty(im->s, im->ns, im->name, im->branch);
	if (r > 0) {
		mlfs_error_set("branch '%s' of '%s/%s' got edits through the "
			       "mount while it was imported (see 'mlfs status "
			       "%s/%s'): snapshot or discard them, then import "
			       "again", im->branch ? im->branch : "main",
			       im->ns, im->name, im->ns, im->name);
		return -EBUSY;
	}
	return r;
}

int mlfs_import(struct mlfs_store *s, const char *src, const char *ns,
		const char *name, const struct mlfs_import_opts *o,
		struct mlfs_import_stats *st)
{
	struct mlfs_ingest_opts io = { 0 };
	struct importer im = { .o = o, .st = st, .s = s, .ns = ns,
			       .name = name, .branch = o ? o->branch : NULL };
	struct mlfs_commit_req req = { .ns = ns, .name = name,
				       .audit_op = "import",
				       .create_repo = true };
	struct mlfs_commit_result res;
	struct mlfs_import_progress totals = { 0 };
	struct mlfs_repo repo;
	struct mlfs_id tag_at;
	struct stat sst;
	struct timespec t0;
	const char *why;
	char msg_default[PATH_MAX + 16];
	bool began;
	int r;

	/* Before any file is looked at: the files cache's racy rule needs
	 * a time no file seen by this import can have changed before. */
	(void)clock_gettime(CLOCK_REALTIME, &t0);
	memset(st, 0, sizeof(*st));
	mlfs_error_clear();
	if (mlfs_name_check(ns, &why) < 0 || mlfs_name_check(name, &why) < 0 ||
	    (o && o->branch && mlfs_ref_name_check(o->branch, &why) < 0) ||
	    (o && o->tag && mlfs_ref_name_check(o->tag, &why) < 0)) {
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
	r = mlfs_work_branch_dirty(s, ns, name, o ? o->branch : NULL);
	if (r > 0) {
		mlfs_error_set("branch '%s' of '%s/%s' has edits that are not "
			       "in a version yet (see 'mlfs status %s/%s'): "
			       "snapshot or discard them first, or import "
			       "to another branch", o && o->branch ?
			       o->branch : "main", ns, name, ns, name);
		return -EBUSY;
	}
	if (r < 0)
		return r;
	if (o) {
		io.threads = o->threads;
		io.progress = o->progress;
		io.ctx = o->ctx;
	}
	r = mlfs_ingest_begin(s, &io, &im.in);
	if (r < 0)
		return r;
	/* The cache only saves time: without one (no memory, SRC gone,
	 * which the walk reports) every file is read. */
	im.rel_off = strlen(src) + (src[0] && src[strlen(src) - 1] == '/' ?
				    0 : 1);
	if (filecache_open(s->dir, &s->cfg.key, ns, name, src,
			   !(o && o->no_files_cache),
			   (int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec,
			   &im.fc) < 0)
		im.fc = NULL;
	if (o && o->progress) {
		scan_totals(src, &totals);
		mlfs_ingest_set_totals(im.in, totals.bytes_total,
				       totals.files_total);
	}

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
	r = make_root(&im, src, &req.tree);
	mlfs_meta_read_end(s->meta, began);
	if (r < 0)
		goto out;

	snprintf(msg_default, sizeof(msg_default), "import %s", src);
	req.branch = o ? o->branch : NULL;
	req.tag = o ? o->tag : NULL;
	req.author = o ? o->author : NULL;
	req.meta = o ? o->meta : NULL;
	req.message = o && o->message ? o->message : msg_default;
	/* again inside the transaction: an edit made while the files were
	 * read would otherwise be left on a base that is no longer the
	 * head (the window left is the commit itself) */
	req.before_commit = refuse_edited;
	req.ctx = &im;
	req.inputs = o ? o->inputs : NULL;
	req.ninputs = o ? o->ninputs : 0;
	r = mlfs_ingest_commit(im.in, &req, &res);
	if (r == 0) {
		st->commit = res.commit;
		st->created_repo = res.created_repo;
		/* Every content the cache names is committed now. Failing to
		 * write it costs the next import time, not this one its
		 * version. */
		(void)filecache_save(im.fc);
	}
out:
	merge_stats(im.in, st);
	mlfs_ingest_end(im.in);
	filecache_free(im.fc);
	return r;
}
