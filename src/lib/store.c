/*
 * store.c - creating and opening a store (its config file is config.c),
 * and verified chunk reads through a bounded cache of decompressed
 * chunks. A chunk is handed out only after its bytes hash to its id: a
 * mismatch is -EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "remote_read.h"
#include "store_impl.h"

/* ---- location ---- */

char *mlfs_store_default_dir(void)
{
	const char *env = getenv("MLFS_STORE"), *home;
	char *out = NULL;

	if (env && *env)
		return strdup(env);
	if (geteuid() == 0)
		return strdup("/var/lib/mlfs");
	env = getenv("XDG_DATA_HOME");
	if (env && *env) {
		if (asprintf(&out, "%s/mlfs", env) < 0)
			return NULL;
		return out;
	}
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : "/";
	}
	if (asprintf(&out, "%s/.local/share/mlfs", home) < 0)
		return NULL;
	return out;
}

/* ---- init / open ---- */

static int dir_entries(const char *dir, bool *only_leftovers)
{
	bool has_db = false, has_packs = false, other = false;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *n = de->d_name;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (!strcmp(n, "mlfs.db") || !strcmp(n, "mlfs.db-wal") ||
		    !strcmp(n, "mlfs.db-shm") || !strcmp(n, "mlfs.db-journal"))
			has_db = true;
		else if (!strcmp(n, "packs"))
			has_packs = true;
		else
			other = true;
	}
	closedir(d);
	*only_leftovers = !other && (!has_db || has_packs);
	return has_db || has_packs || other;
}

/* Empty, or holding only what an interrupted init leaves before it
 * writes the config that marks a complete store: an empty packs/ and
 * (made after it) the database. Those leftovers are removed. Returns 1
 * when the directory can take a new store, 0 when it cannot. */
static int dir_is_empty(const char *dir)
{
	static const char *const f[] = { "mlfs.db", "mlfs.db-wal",
					 "mlfs.db-shm", "mlfs.db-journal" };
	char p[PATH_MAX];
	bool leftovers = false;
	int r = dir_entries(dir, &leftovers);

	if (r <= 0)
		return r < 0 ? r : 1;
	if (!leftovers)
		return 0;
	snprintf(p, sizeof(p), "%s/packs", dir);
	if (rmdir(p) < 0 && errno != ENOENT)
		return 0; /* packs/ holds data: not an interrupted init */
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(f); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, f[i]);
		(void)unlink(p); /* absent is fine */
	}
	return 1;
}

/* mkdir -p @dir: a new user's ~/.local/share may not exist yet. Parents
 * get 0755 (less the umask), as mkdir(1) gives them. */
static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return n ? -ENAMETOOLONG : -ENOENT;
	memcpy(p, dir, n + 1);
	for (char *q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*q = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Give @path to group @gid with permissions @mode (a shared store). */
static int share(const char *dir, const char *name, gid_t gid, mode_t mode)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s%s%s", dir, *name ? "/" : "",
		     name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (chown(path, (uid_t)-1, gid) < 0 || chmod(path, mode) < 0)
		return errno == ENOENT && *name ? 0 : -errno;
	return 0;
}

/* The database and the -wal and -shm SQLite kept: group-readable, as
 * readers take their WAL read locks through a read-only -shm. */
static int share_db(const char *dir, gid_t gid)
{
	static const char *const f[] = { "mlfs.db", "mlfs.db-wal",
					 "mlfs.db-shm" };
	int r = 0;

	for (size_t i = 0; i < MLFS_ARRAY_SIZE(f) && r == 0; i++)
		r = share(dir, f[i], gid, 0640);
	return r;
}

int mlfs_store_init(const char *dir, const struct mlfs_store_init_opts *o)
{
	bool shared = o && o->shared;
	struct mlfs_store_config c = { 0 };
	char path[PATH_MAX];
	struct mlfs_meta *m = NULL;
	struct stat st;
	int r;

	c.format = MLFS_FORMAT_VERSION;
	c.zstd_level = o && o->zstd_level ? o->zstd_level :
		       MLFS_ZSTD_LEVEL_DEFAULT;
	if (o && o->chunk.avg) {
		c.chunk = o->chunk;
	} else {
		c.chunk.min = MLFS_CHUNK_MIN_DEFAULT;
		c.chunk.avg = MLFS_CHUNK_AVG_DEFAULT;
		c.chunk.max = MLFS_CHUNK_MAX_DEFAULT;
	}
	if (mlfs_chunk_params_check(&c.chunk) < 0 || c.zstd_level < 1 ||
	    c.zstd_level > 19)
		return -EINVAL;
	if (stat(dir, &st) == 0) {
		snprintf(path, sizeof(path), "%s/config", dir);
		if (access(path, F_OK) == 0)
			return -EEXIST;
		r = dir_is_empty(dir);
		if (r < 0)
			return r;
		if (!r)
			return -ENOTEMPTY;
	} else if (errno != ENOENT) {
		return -errno;
	} else {
		r = mkdir_p(dir);
		if (r < 0)
			return r;
	}
	if (shared) {
		r = share(dir, "", o->group, 02750);
		if (r < 0)
			return r;
	}
	if (o && o->key)
		c.key = *o->key; /* a clone: the remote's key names its ids */
	else if ((r = mlfs_random_bytes(c.key.secret,
					sizeof(c.key.secret))) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/packs", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (shared) {
		r = share(dir, "packs", o->group, 02750);
		if (r < 0)
			return r;
	}
	snprintf(path, sizeof(path), "%s/mlfs.db", dir);
	r = mlfs_meta_open(path, false, true, &m);
	if (r < 0)
		return r;
	mlfs_meta_set_key(m, &c.key);
	r = mlfs_meta_migrate(m, NULL);
	mlfs_meta_close(m);
	if (r == 0 && shared)
		r = share_db(dir, o->group);
	if (r < 0)
		return r;
	/* The config goes last: its presence marks a complete store. It
	 * holds the hash key: the owner's alone, or its group's too, never
	 * the world's. */
	r = mlfs_config_write(dir, &c, shared ? 0640 : 0600);
	if (r == 0 && shared)
		r = share(dir, "config", o->group, 0640);
	return r;
}

static void cache_init(struct chunk_cache *c, size_t max_bytes);
static void cache_release(struct chunk_cache *c);

int mlfs_store_open(const char *dir, unsigned flags, struct mlfs_store **out)
{
	bool rdonly = flags & MLFS_STORE_RDONLY;
	struct mlfs_store *s;
	char path[PATH_MAX];
	int version, r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rdonly = rdonly;
	cache_init(&s->cache, 64u << 20);
	s->dir = strdup(dir);
	if (!s->dir || asprintf(&s->packs_dir, "%s/packs", dir) < 0) {
		s->packs_dir = NULL;
		r = -ENOMEM;
		goto fail;
	}
	r = mlfs_config_read(dir, &s->cfg);
	if (r == -EACCES || r == -EPERM)
		mlfs_error_set("cannot read store config '%s/config'", dir);
	if (r < 0)
		goto fail;
	if (access(s->packs_dir, R_OK | X_OK) < 0) {
		r = -errno;
		if (r == -EACCES)
			mlfs_error_set("cannot read store packs '%s'",
				       s->packs_dir);
		if (r == -ENOENT) { /* config without packs/: damaged */
			mlfs_error_set("the packs directory '%s' is missing",
				       s->packs_dir);
			r = -EBADMSG;
		}
		goto fail;
	}
	if (!rdonly && access(s->packs_dir, W_OK) < 0) {
		r = -errno;
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/mlfs.db", dir);
	r = mlfs_meta_open(path, rdonly, false, &s->meta);
	if (r == -ENOENT) { /* config without database: damaged store */
		mlfs_error_set("the database '%s' is missing", path);
		r = -EBADMSG;
	}
	if (r == -EACCES && access(path, R_OK) < 0)
		mlfs_error_set("cannot read store database '%s'", path);
	if (r == -EBADMSG && !*mlfs_error_detail())
		mlfs_error_set("the database '%s' is not a readable SQLite "
			       "database (overwritten or truncated)", path);
	if (r < 0)
		goto fail;
	mlfs_meta_set_key(s->meta, &s->cfg.key);
	/* Writers bring an older schema up to date; readers (and the
	 * daemon, which opens read-only) never change the store: -ESTALE
	 * tells them to ask for `mlfs upgrade`. A database at version 0
	 * has lost everything: init migrates it before it writes the
	 * config, so a store's database is never empty. Migrating it
	 * would make an empty store of a damaged one (and let gc remove
	 * every pack). */
	r = mlfs_meta_check_version(s->meta, &version);
	if (r == -ESTALE && version == 0) {
		mlfs_error_set("the database '%s' holds no schema (emptied, "
			       "truncated or replaced)", path);
		r = -EBADMSG;
	} else if (r == -ESTALE && !rdonly) {
		r = mlfs_meta_migrate(s->meta, NULL);
	}
	if (r < 0)
		goto fail;
	r = mlfs_pack_set_new(s->packs_dir, &s->packs);
	if (r < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	mlfs_store_close(s);
	return r;
}

void mlfs_store_close(struct mlfs_store *s)
{
	if (!s)
		return;
	remote_reader_free(s->remote);
	mlfs_meta_close(s->meta);
	mlfs_pack_set_free(s->packs);
	cache_release(&s->cache);
	free(s->dir);
	free(s->packs_dir);
	free(s);
}

const struct mlfs_store_config *mlfs_store_config(const struct mlfs_store *s)
{
	return &s->cfg;
}

const char *mlfs_store_dir(const struct mlfs_store *s)
{
	return s->dir;
}

int mlfs_store_usage(struct mlfs_store *s, uint64_t *packs, uint64_t *db)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	*packs = *db = 0;
	d = opendir(s->packs_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "pack-", 5))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			*packs += (uint64_t)st.st_size;
	}
	closedir(d);
	for (int i = 0; i < 3; i++) {
		static const char *const f[] = { "mlfs.db", "mlfs.db-wal",
						 "mlfs.db-shm" };

		snprintf(path, sizeof(path), "%s/%s", s->dir, f[i]);
		if (stat(path, &st) == 0)
			*db += (uint64_t)st.st_size;
	}
	return 0;
}

/* ---- writer lock ---- */

int store_lock(struct mlfs_store *s, bool exclusive, bool wait, int *fd)
{
	char path[PATH_MAX];
	int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);

	snprintf(path, sizeof(path), "%s/lock", s->dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return -errno;
	while (flock(*fd, op) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (errno == EINTR)
			continue;
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing drops the flock */
}

/* ---- chunk cache ---- */

struct cache_ent {
	struct mlfs_chunk pub;
	uint8_t *buf;
	int refs;           /* protected by cache lock */
	bool in_table;      /* protected by cache lock */
	struct cache_ent *hnext, *prev, *next;
};

static void cache_init(struct chunk_cache *c, size_t max_bytes)
{
	pthread_mutex_init(&c->lock, NULL);
	c->nbuckets = 8192;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets)
		c->nbuckets = 0;
	c->max_bytes = max_bytes;
}

static void ent_free(struct cache_ent *e)
{
	free(e->buf);
	free(e);
}

/* Unlink @e from table and LRU; called with the lock held. */
static void cache_unlink(struct chunk_cache *c, struct cache_ent *e)
{
	size_t b = (size_t)mlfs_get_le64(e->pub.id.b) & (c->nbuckets - 1);
	struct cache_ent **pp = &c->buckets[b];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		c->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->in_table = false;
	c->bytes -= e->pub.len;
}

static void cache_evict(struct chunk_cache *c)
{
	while (c->bytes > c->max_bytes && c->lru_tail) {
		struct cache_ent *e = c->lru_tail;

		cache_unlink(c, e);
		if (e->refs == 0)
			ent_free(e);
	}
}

static void cache_release(struct chunk_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->max_bytes = 0;
	cache_evict(c);
	pthread_mutex_unlock(&c->lock);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
}

void mlfs_store_set_cache_size(struct mlfs_store *s, size_t bytes)
{
	pthread_mutex_lock(&s->cache.lock);
	s->cache.max_bytes = bytes;
	cache_evict(&s->cache);
	pthread_mutex_unlock(&s->cache.lock);
}

static struct cache_ent *cache_find(struct chunk_cache *c,
				    const struct mlfs_id *id)
{
	size_t b;
	struct cache_ent *e;

	if (!c->nbuckets)
		return NULL;
	b = (size_t)mlfs_get_le64(id->b) & (c->nbuckets - 1);
	for (e = c->buckets[b]; e; e = e->hnext)
		if (!memcmp(e->pub.id.b, id->b, MLFS_ID_LEN))
			return e;
	return NULL;
}

static void lru_front(struct chunk_cache *c, struct cache_ent *e)
{
	if (c->lru_head == e)
		return;
	if (e->prev)
		e->prev->next = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else if (c->lru_tail == e)
		c->lru_tail = e->prev;
	e->prev = NULL;
	e->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

/* Insert @e (refs already 1) unless an equal chunk is there; returns the
 * entry the caller now holds a reference to. Lock held. */
static struct cache_ent *cache_insert(struct chunk_cache *c,
				      struct cache_ent *e)
{
	struct cache_ent *old = cache_find(c, &e->pub.id);
	size_t b;

	if (old) {
		old->refs++;
		lru_front(c, old);
		ent_free(e);
		return old;
	}
	if (!c->nbuckets || e->pub.len > c->max_bytes)
		return e; /* uncached: freed on unref */
	b = (size_t)mlfs_get_le64(e->pub.id.b) & (c->nbuckets - 1);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	e->in_table = true;
	e->prev = e->next = NULL;
	c->bytes += e->pub.len;
	e->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
	cache_evict(c);
	return e;
}

void mlfs_chunk_unref(struct mlfs_store *s, const struct mlfs_chunk *c)
{
	struct cache_ent *e = (struct cache_ent *)c;

	if (!c)
		return;
	pthread_mutex_lock(&s->cache.lock);
	if (--e->refs == 0 && !e->in_table)
		ent_free(e);
	pthread_mutex_unlock(&s->cache.lock);
}

int mlfs_store_locate_chunk(struct mlfs_store *s, const struct mlfs_id *id,
			    struct mlfs_chunk_loc *loc)
{
	return mlfs_meta_chunk_get(s->meta, id, loc);
}

int mlfs_store_get_chunk(struct mlfs_store *s, const struct mlfs_id *id,
			 const struct mlfs_chunk_loc *loc,
			 const struct mlfs_chunk **out)
{
	char hex[MLFS_ID_HEX_LEN + 1], pname[40];
	struct mlfs_chunk_loc l;
	struct cache_ent *e;
	struct mlfs_id got;
	bool remote = false;
	int r;

	pthread_mutex_lock(&s->cache.lock);
	e = cache_find(&s->cache, id);
	if (e) {
		e->refs++;
		lru_front(&s->cache, e);
		pthread_mutex_unlock(&s->cache.lock);
		*out = &e->pub;
		return 0;
	}
	pthread_mutex_unlock(&s->cache.lock);

	mlfs_id_to_hex(id, hex);
	if (!loc) {
		r = mlfs_meta_chunk_get(s->meta, id, &l);
		if (r == -ENOENT)
			mlfs_error_set("chunk %s is not in the index", hex);
		if (r < 0)
			return r;
		loc = &l;
	}
	mlfs_pack_name(loc->pack_id, pname, sizeof(pname));
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->buf = malloc(loc->raw_len ? loc->raw_len : 1);
	if (!e->buf) {
		free(e);
		return -ENOMEM;
	}
	r = mlfs_pack_set_read(s->packs, id, loc, e->buf);
	if (r == -ENOENT) {
		/* not a local pack: maybe one a remote holds */
		r = remote_read_chunk(s, id, loc, e->buf);
		remote = r != -ENOENT;
	}
	if (r == 0 && !remote) { /* (a remote read hashed it already) */
		mlfs_hash(&s->cfg.key, e->buf, loc->raw_len, &got);
		if (memcmp(got.b, id->b, MLFS_ID_LEN))
			r = -EIO;
	}
	if (r < 0) {
		const char *what = r == -EIO ? "hash mismatch" :
				   r == -EBADMSG ? "corrupt entry" :
				   r == -ENOENT ? "pack file missing" :
				   strerror(-r);

		if (!remote || !*mlfs_error_detail())
			mlfs_error_set("chunk %s in pack %s at offset %" PRIu64
				       ": %s", hex, pname, loc->offset, what);
		if (r == -EBADMSG)
			r = -EIO; /* to readers, corrupt data is an I/O error */
		ent_free(e);
		return r;
	}
	e->pub.id = *id;
	e->pub.len = loc->raw_len;
	e->pub.data = e->buf;
	e->refs = 1;
	pthread_mutex_lock(&s->cache.lock);
	e = cache_insert(&s->cache, e);
	pthread_mutex_unlock(&s->cache.lock);
	*out = &e->pub;
	return 0;
}
