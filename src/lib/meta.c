/*
 * meta.c - the metadata connection: opening (WAL, read-only fallbacks),
 * the statement cache, row helpers and transactions. The statements'
 * text is in meta_sql.c, the object rows in meta_objects.c.
 * Connection settings (WAL, synchronous=FULL, foreign keys, busy timeout)
 * follow ../shared/CONVENTIONS.md#8; the schema is in meta_schema.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "meta_internal.h"
#include "mlfs/store.h"
#include "objid.h"

/* How long a statement waits for another connection's lock (a writer
 * holds the write lock for one transaction at a time). */
#define MLFS_META_BUSY_MS 5000

int mlfs_meta_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

void mlfs_meta_lock(struct mlfs_meta *m)
{
	pthread_mutex_lock(&m->lock);
}

void mlfs_meta_unlock(struct mlfs_meta *m)
{
	pthread_mutex_unlock(&m->lock);
}

sqlite3 *mlfs_meta_db(struct mlfs_meta *m)
{
	return m->db;
}

int mlfs_meta_exec(struct mlfs_meta *m, const char *sql)
{
	int rc;

	mlfs_meta_lock(m);
	rc = sqlite3_exec(m->db, sql, NULL, NULL, NULL);
	mlfs_meta_unlock(m);
	return mlfs_meta_errno(rc);
}

/* Can this connection read the schema? A WAL database opened read-only
 * fails here, not at open, when it cannot use its -shm file. */
static int probe(sqlite3 *db)
{
	return sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
			    NULL, NULL);
}

/* Open and probe @path; on failure *sys_errno is the errno SQLite saw
 * (ENOSPC when -shm could not grow on a full disk). */
static int open_db(const char *path, int flags, bool immutable, sqlite3 **db,
		   int *sys_errno)
{
	char *uri = NULL;
	int on = 1, rc;

	if (immutable) {
		/* Only when nobody can change the file while we read it
		 * (ro_fallback): SQLite then skips locks and the WAL. */
		uri = sqlite3_mprintf("file:%s?immutable=1", path);
		if (!uri)
			return SQLITE_NOMEM;
		flags |= SQLITE_OPEN_URI;
	}
	rc = sqlite3_open_v2(uri ? uri : path, db, flags, NULL);
	sqlite3_free(uri);
	if (rc == SQLITE_OK) {
		/* Before the first statement, the probe included: one that
		 * meets a writer's lock (the WAL header, a migration, a
		 * checkpoint) waits for it instead of failing at once. */
		sqlite3_busy_timeout(*db, MLFS_META_BUSY_MS);
		/* Keep -wal and -shm when the last connection closes, so a
		 * reader who may not create them (a shared store, a full
		 * disk, read-only media) still finds them and takes WAL
		 * read locks through a read-only -shm. */
		(void)sqlite3_file_control(*db, "main",
					   SQLITE_FCNTL_PERSIST_WAL, &on);
		rc = probe(*db);
	}
	if (rc != SQLITE_OK) {
		*sys_errno = sqlite3_system_errno(*db);
		sqlite3_close(*db);
		*db = NULL;
	}
	return rc;
}

/* A reader who may only read -shm meets a writer that is just setting
 * it up (SQLITE_READONLY_RECOVERY, _CANTINIT) or holds it for a moment
 * (SQLITE_BUSY): that passes, as a lock does, so it is tried again for
 * as long as a lock is waited for. */
static bool ro_transient(int rc)
{
	return rc == SQLITE_READONLY_RECOVERY ||
	       rc == SQLITE_READONLY_CANTINIT || (rc & 0xff) == SQLITE_BUSY;
}

int mlfs_meta_step(sqlite3_stmt *st)
{
	int rc;

	for (int waited = 0;; waited += 5) {
		rc = sqlite3_step(st);
		if ((rc != SQLITE_READONLY_RECOVERY &&
		     rc != SQLITE_READONLY_CANTINIT) ||
		    waited >= MLFS_META_BUSY_MS)
			return rc;
		sqlite3_reset(st);
		usleep(5 * 1000);
	}
}

static int open_db_retry(const char *path, int flags, bool rdonly,
			 sqlite3 **db, int *sys_errno)
{
	int rc;

	for (int waited = 0;; waited += 20) {
		rc = open_db(path, flags, false, db, sys_errno);
		if (!rdonly || !ro_transient(rc) || waited >= MLFS_META_BUSY_MS)
			return rc;
		usleep(20 * 1000);
	}
}

/* The failures of a first read-only open that mean "cannot set up the
 * WAL index" (create or grow -shm, create -wal), not a bad database. */
static bool wal_setup_failed(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_PERM:
	case SQLITE_IOERR:
		return true;
	default:
		return false;
	}
}

/* chattr +i? Asked with statx, not an ioctl on a descriptor: closing a
 * descriptor of mlfs.db would drop the POSIX locks this process's other
 * connections hold on it. */
static bool is_immutable(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_IMMUTABLE) &&
	       (stx.stx_attributes & STATX_ATTR_IMMUTABLE);
}

/* May a reader that could not set up the WAL index read the database
 * file alone (SQLite's immutable mode: no locks, the WAL ignored)? Only
 * if everything committed is in that file (-wal empty or absent) and
 * nobody can change it while we read: a read-only file system, an
 * immutable (chattr +i) file or directory, or a file system too full
 * for any writer to start (our own try to set up -shm met ENOSPC or
 * EDQUOT: a writer with our rights cannot grow -shm or append to -wal
 * either). A user who merely may not write the store gets -ENOLCK
 * instead: its owner could start an import at any moment, and reading
 * pages a checkpoint is rewriting could mix two versions.
 * Returns 0 (safe), -ENOLCK or -errno. */
static int ro_fallback(const char *path, int sys_errno)
{
	char dir[PATH_MAX], wal[PATH_MAX + 8], *slash;
	struct statvfs v;
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0 && st.st_size > 0)
		return -ENOLCK;
	if (statvfs(path, &v) < 0)
		return -errno;
	if (v.f_flag & ST_RDONLY)
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (is_immutable(path) || is_immutable(dir))
		return 0;
	if (sys_errno == ENOSPC || sys_errno == EDQUOT)
		return 0;
	return -ENOLCK;
}

/* SQLite sizes a new -shm by writing one byte per memory page; on a
 * file system whose blocks are smaller than a page (1 KiB-block ext4)
 * the rest of each page stays a hole, and a store into a hole through
 * SQLite's mapping on a full disk kills the process with SIGBUS. There,
 * a disk with less than this left counts as full before SQLite maps
 * anything. (The -shm cannot be allocated for SQLite: closing any other
 * descriptor of it would drop the process's POSIX locks on it.) */
#define SHM_RESERVE (256u << 10)

bool mlfs_meta_shm_may_fault(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	struct statvfs v;

	if (statvfs(path, &v) < 0 || page <= 0 ||
	    v.f_frsize >= (unsigned long)page)
		return false;
	return (uint64_t)v.f_bavail * v.f_frsize < SHM_RESERVE;
}

/* An I/O error because the disk is full is a full disk, not -EIO. */
static int open_errno(int rc, int sys_errno)
{
	if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
	    (sys_errno == ENOSPC || sys_errno == EDQUOT))
		return -ENOSPC;
	return mlfs_meta_errno(rc);
}

int mlfs_meta_open(const char *path, bool rdonly, bool create,
		   struct mlfs_meta **out)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	pthread_mutexattr_t attr;
	struct mlfs_meta *m;
	int rc = SQLITE_OK, r, sys_errno = 0;

	flags |= rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	else if (access(path, R_OK) < 0)
		return -errno; /* -ENOENT, or -EACCES: not "cannot open" */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (mlfs_meta_shm_may_fault(path)) {
		rc = SQLITE_FULL;
		sys_errno = ENOSPC;
	} else {
		rc = open_db_retry(path, flags, rdonly, &m->db, &sys_errno);
	}
	if (rc != SQLITE_OK && rdonly && wal_setup_failed(rc)) {
		r = ro_fallback(path, sys_errno);
		if (r < 0)
			goto fail;
		rc = open_db(path, flags, true, &m->db, &sys_errno);
	}
	if (rc != SQLITE_OK) {
		r = open_errno(rc, sys_errno);
		goto fail;
	}
	rc = sqlite3_exec(m->db,
			  "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; "
			  "PRAGMA journal_size_limit=67108864;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK && !rdonly)
		rc = sqlite3_exec(m->db, "PRAGMA journal_mode=WAL;", NULL,
				  NULL, NULL);
	if (rc != SQLITE_OK) {
		r = open_errno(rc, sqlite3_system_errno(m->db));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	mlfs_meta_close(m);
	return r;
}

void mlfs_meta_close(struct mlfs_meta *m)
{
	if (!m)
		return;
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(m->stmts[i]);
	sqlite3_close(m->db);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Get a reset, unbound statement; called with the lock held. */
int meta_stmt(struct mlfs_meta *m, enum stmt_id id, sqlite3_stmt **out)
{
	if (!m->stmts[id]) {
		int rc = sqlite3_prepare_v3(m->db, meta_sql[id], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &m->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return mlfs_meta_errno(rc);
	}
	*out = m->stmts[id];
	return 0;
}

void meta_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void mlfs_meta_set_key(struct mlfs_meta *m, const struct mlfs_hash_key *k)
{
	m->key = k;
}

int meta_damaged(const char *what, const struct mlfs_id *id,
		 const char *why)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(id, hex);
	mlfs_error_set("%s %s: %s (damaged database)", what, hex, why);
	return -EIO;
}

int meta_bind_id(sqlite3_stmt *st, int i, const struct mlfs_id *id)
{
	return sqlite3_bind_blob(st, i, id->b, MLFS_ID_LEN, SQLITE_STATIC);
}

int meta_col_id(sqlite3_stmt *st, int i, struct mlfs_id *id)
{
	if (sqlite3_column_type(st, i) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, i) != MLFS_ID_LEN)
		return -EBADMSG;
	memcpy(id->b, sqlite3_column_blob(st, i), MLFS_ID_LEN);
	return 0;
}

int meta_col_text(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? strlen((const char *)t) : 0;

	if (n >= size)
		return -EBADMSG;
	memcpy(dst, t ? (const char *)t : "", n + 1);
	return 0;
}

/* Run a statement that returns no rows. */
int meta_step_done(sqlite3_stmt *st)
{
	int rc = mlfs_meta_step(st);

	meta_done(st);
	return rc == SQLITE_DONE ? 0 : mlfs_meta_errno(rc);
}

int meta_row_by_id(struct mlfs_meta *m, enum stmt_id sid,
		   const struct mlfs_id *id,
		   int (*read)(sqlite3_stmt *st, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, sid, &st);
	if (r == 0) {
		meta_bind_id(st, 1, id);
		rc = mlfs_meta_step(st);
		if (rc == SQLITE_ROW)
			r = read(st, ctx);
		else
			r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

/* Step @st (bound, lock held) to its end, one element of @elem bytes per
 * row, filled by @read, into a malloc'd *out. On failure *out and *n
 * still hold the elements read so far, for the caller to release. */
int meta_collect(sqlite3_stmt *st, size_t elem,
		 int (*read)(sqlite3_stmt *st, void *ctx, void *e),
		 void *ctx, void **out, size_t *n)
{
	uint8_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int r = 0, rc;

	while ((rc = mlfs_meta_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;

			nv = realloc(v, nc * elem);
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		memset(v + cnt * elem, 0, elem);
		r = read(st, ctx, v + cnt * elem);
		if (r < 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	meta_done(st);
	*out = v;
	*n = cnt;
	return r;
}

static int simple(struct mlfs_meta *m, enum stmt_id id)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = meta_stmt(m, id, &st);
	if (r == 0)
		r = meta_step_done(st);
	return r;
}

int mlfs_meta_begin(struct mlfs_meta *m)
{
	int r;

	mlfs_meta_lock(m);
	r = simple(m, ST_BEGIN);
	if (r < 0)
		mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_commit(struct mlfs_meta *m)
{
	int r = simple(m, ST_COMMIT);

	if (r < 0) {
		(void)simple(m, ST_ROLLBACK); /* best effort after failure */
	}
	mlfs_meta_unlock(m);
	return r;
}

void mlfs_meta_rollback(struct mlfs_meta *m)
{
	(void)simple(m, ST_ROLLBACK); /* nothing more to do if it fails */
	mlfs_meta_unlock(m);
}

bool mlfs_meta_in_write(struct mlfs_meta *m)
{
	bool in;

	mlfs_meta_lock(m);
	in = !sqlite3_get_autocommit(m->db);
	mlfs_meta_unlock(m);
	return in;
}

bool mlfs_meta_read_begin(struct mlfs_meta *m)
{
	bool began = false;

	mlfs_meta_lock(m);
	if (sqlite3_get_autocommit(m->db))
		began = simple(m, ST_BEGIN_READ) == 0;
	return began;
}

void mlfs_meta_read_end(struct mlfs_meta *m, bool began)
{
	if (began)
		(void)simple(m, ST_COMMIT); /* read-only: nothing to lose */
	mlfs_meta_unlock(m);
}
