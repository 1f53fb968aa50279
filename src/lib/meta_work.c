/*
 * meta_work.c - the SQL of working trees (meta_work.h). The database is
 * scratch state that a snapshot turns into versions; what it points to in
 * the store (contents, trees, commits) is verified when it is read there.
 * WAL with synchronous=NORMAL: a transaction survives a killed process at
 * once, and a power cut once mlfs_wdb_sync() has run (fsync and
 * fsyncdir through the mount call it), so that metadata changes through
 * the mount do not each cost a disk flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta.h"
#include "meta_work_impl.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "mlfs/worktree.h"

#define BUSY_MS 10000

#define NODE_COLS "n.ino, n.type, n.mode, n.uid, n.gid, n.nlink, n.size, " \
		  "n.mtime, n.ctime, n.content, n.data, n.target, " \
		  "n.parent, n.dirty, n.snap, n.atime, n.opar, n.oname"
/* A database of schema 1 opened read-only (not migrated): no origins */
#define NODE_COLS_V1 "n.ino, n.type, n.mode, n.uid, n.gid, n.nlink, " \
		     "n.size, n.mtime, n.ctime, n.content, n.data, " \
		     "n.target, n.parent, n.dirty, n.snap, n.atime, NULL, NULL"
#define WDB_SCHEMA 2

static const char *const sql[W_MAX] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_WT_GET] = "SELECT id, repo_id, branch, base, materialized, "
		     "next_ino, pending FROM wt WHERE repo_id = ?1 AND "
		     "branch = ?2",
	[W_WT_CREATE] = "INSERT INTO wt(repo_id, branch, base, materialized,"
			" next_ino, pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[W_WT_UPDATE] = "UPDATE wt SET base = ?2, materialized = ?3, "
			"next_ino = ?4, pending = ?5 WHERE id = ?1",
	[W_WT_DELETE] = "DELETE FROM wt WHERE id = ?1",
	[W_WT_LIST] = "SELECT id, repo_id, branch, base, materialized, "
		      "next_ino, pending FROM wt ORDER BY id",
	[W_NODE_GET] = "SELECT " NODE_COLS " FROM node n WHERE n.wt = ?1 "
		       "AND n.ino = ?2",
	[W_NODE_PUT] = "INSERT OR REPLACE INTO node(wt, ino, type, mode, "
		       "uid, gid, nlink, size, mtime, ctime, content, data, "
		       "target, parent, dirty, snap, atime, opar, oname) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		       "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
	[W_NODE_DELETE] = "DELETE FROM node WHERE wt = ?1 AND ino = ?2",
	[W_SEL_SNAP] = "SELECT " NODE_COLS " FROM node n WHERE n.wt = ?1 "
		       "AND n.snap IS NOT NULL",
	[W_SEL_ORPHANS] = "SELECT " NODE_COLS " FROM node n WHERE n.wt = ?1 "
			  "AND n.nlink = 0",
	[W_SEL_DATA] = "SELECT " NODE_COLS " FROM node n WHERE n.wt = ?1 "
		       "AND n.data != 0",
	[W_SEL_ALL] = "SELECT " NODE_COLS " FROM node n WHERE n.wt = ?1",
	[W_CLEAR_NODES] = "DELETE FROM node WHERE wt = ?1",
	[W_CLEAR_DIRENTS] = "DELETE FROM dirent WHERE wt = ?1",
	[W_CLEAR_XATTRS] = "DELETE FROM xattr WHERE wt = ?1",
	[W_DIRENT_GET] = "SELECT ino FROM dirent WHERE wt = ?1 AND "
			 "parent = ?2 AND name = ?3",
	[W_DIRENT_PUT] = "INSERT OR REPLACE INTO dirent(wt, parent, name, "
			 "ino) VALUES (?1, ?2, ?3, ?4)",
	[W_DIRENT_DELETE] = "DELETE FROM dirent WHERE wt = ?1 AND "
			    "parent = ?2 AND name = ?3",
	[W_DIRENT_ANY] = "SELECT 1 FROM dirent WHERE wt = ?1 AND "
			 "parent = ?2 LIMIT 1",
	/* BINARY collation compares with memcmp: the order of trees */
	[W_DIRENT_LIST] = "SELECT d.name, " NODE_COLS " FROM dirent d "
			  "JOIN node n ON n.wt = d.wt AND n.ino = d.ino "
			  "WHERE d.wt = ?1 AND d.parent = ?2 "
			  "ORDER BY d.name",
	[W_DIRENT_PARENTS] = "SELECT DISTINCT parent FROM dirent WHERE "
			     "wt = ?1 AND ino = ?2",
	[W_XATTR_GET] = "SELECT value FROM xattr WHERE wt = ?1 AND "
			"ino = ?2 AND name = ?3",
	[W_XATTR_SET] = "INSERT OR REPLACE INTO xattr(wt, ino, name, value) "
			"VALUES (?1, ?2, ?3, ?4)",
	[W_XATTR_DELETE] = "DELETE FROM xattr WHERE wt = ?1 AND ino = ?2 "
			   "AND name = ?3",
	[W_XATTR_LIST] = "SELECT name FROM xattr WHERE wt = ?1 AND "
			 "ino = ?2 ORDER BY name",
	[W_XATTR_CLEAR] = "DELETE FROM xattr WHERE wt = ?1 AND ino = ?2",
	[W_NS_ADD] = "INSERT OR IGNORE INTO namespace(name) VALUES (?1)",
	[W_NS_DELETE] = "DELETE FROM namespace WHERE name = ?1",
	[W_NS_LIST] = "SELECT name FROM namespace ORDER BY name",
};

/* The statements that read nodes, for a schema-1 database opened
 * read-only (mlfs status of a store no edit has opened since). */
static const char *const sql_v1[W_MAX] = {
	[W_NODE_GET] = "SELECT " NODE_COLS_V1 " FROM node n WHERE n.wt = ?1 "
		       "AND n.ino = ?2",
	[W_SEL_SNAP] = "SELECT " NODE_COLS_V1 " FROM node n WHERE n.wt = ?1 "
		       "AND n.snap IS NOT NULL",
	[W_SEL_ORPHANS] = "SELECT " NODE_COLS_V1 " FROM node n WHERE "
			  "n.wt = ?1 AND n.nlink = 0",
	[W_SEL_DATA] = "SELECT " NODE_COLS_V1 " FROM node n WHERE n.wt = ?1 "
		       "AND n.data != 0",
	[W_SEL_ALL] = "SELECT " NODE_COLS_V1 " FROM node n WHERE n.wt = ?1",
	[W_DIRENT_LIST] = "SELECT d.name, " NODE_COLS_V1 " FROM dirent d "
			  "JOIN node n ON n.wt = d.wt AND n.ino = d.ino "
			  "WHERE d.wt = ?1 AND d.parent = ?2 "
			  "ORDER BY d.name",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS wt("
	" id INTEGER PRIMARY KEY,"
	" repo_id INTEGER NOT NULL,"
	" branch TEXT NOT NULL,"
	" base BLOB,"
	" materialized INTEGER NOT NULL DEFAULT 0,"
	" next_ino INTEGER NOT NULL DEFAULT 1,"
	" pending BLOB,"
	" UNIQUE(repo_id, branch));"
	"CREATE TABLE IF NOT EXISTS node("
	" wt INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" type INTEGER NOT NULL, mode INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	" nlink INTEGER NOT NULL, size INTEGER NOT NULL,"
	" mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,"
	" content BLOB, data INTEGER NOT NULL DEFAULT 0,"
	" target TEXT, parent INTEGER NOT NULL DEFAULT 0,"
	" dirty INTEGER NOT NULL DEFAULT 0, snap BLOB,"
	" atime INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(wt, ino)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS dirent("
	" wt INTEGER NOT NULL, parent INTEGER NOT NULL,"
	" name TEXT NOT NULL, ino INTEGER NOT NULL,"
	" PRIMARY KEY(wt, parent, name)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS dirent_ino ON dirent(wt, ino);"
	"CREATE TABLE IF NOT EXISTS xattr("
	" wt INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" name TEXT NOT NULL, value BLOB NOT NULL,"
	" PRIMARY KEY(wt, ino, name)) WITHOUT ROWID;"
	/* namespaces made by mkdir before any repository is in them */
	"CREATE TABLE IF NOT EXISTS namespace(name TEXT PRIMARY KEY)"
	" WITHOUT ROWID;";

/* Schema 2: each node's origin, the directory node and name it has in
 * the base (or the last snapshot), from which mlfs status knows the
 * path it was committed at after it moved (format.md). */
static const char migrate_2[] =
	"BEGIN IMMEDIATE;"
	"ALTER TABLE node ADD COLUMN opar INTEGER;"
	"ALTER TABLE node ADD COLUMN oname TEXT;"
	"PRAGMA user_version = 2;"
	"COMMIT;";

int wdb_stmt(struct mlfs_wdb *db, enum wst id, sqlite3_stmt **out)
{
	int rc;

	if (!db->st[id]) {
		const char *text = db->v1 && sql_v1[id] ? sql_v1[id] : sql[id];

		rc = sqlite3_prepare_v3(db->db, text, -1,
					SQLITE_PREPARE_PERSISTENT,
					&db->st[id], NULL);
		if (rc != SQLITE_OK) {
			mlfs_error_set("work database: %s",
				       sqlite3_errmsg(db->db));
			return mlfs_meta_errno(rc);
		}
	}
	*out = db->st[id];
	return 0;
}

void wdb_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int wdb_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	wdb_done(st);
	return rc == SQLITE_DONE ? 0 : mlfs_meta_errno(rc);
}

static void bind_id(sqlite3_stmt *st, int i, const struct mlfs_id *id)
{
	if (id)
		sqlite3_bind_blob(st, i, id->b, MLFS_ID_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Column @i as an optional id: 0 (absent: *has false), 1, -EBADMSG. */
static int col_id(sqlite3_stmt *st, int i, bool *has, struct mlfs_id *id)
{
	*has = false;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	if (sqlite3_column_bytes(st, i) != MLFS_ID_LEN) {
		mlfs_error_set("work database: a malformed id");
		return -EBADMSG;
	}
	memcpy(id->b, sqlite3_column_blob(st, i), MLFS_ID_LEN);
	*has = true;
	return 0;
}

/*
 * Step @st (bound, reset here) to its end, reading each row with @read
 * into one @elem-byte element of a malloc'd array. On failure the
 * elements read so far go to @release (may be NULL) and nothing is
 * returned.
 */
int wdb_collect(sqlite3_stmt *st, size_t elem,
		int (*read)(sqlite3_stmt *st, void *e),
		void (*release)(void *e), void **out, size_t *n)
{
	char *v = NULL;
	size_t cnt = 0, cap = 0;
	int r = 0, rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char *nv = realloc(v, nc * elem);

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		r = read(st, v + cnt * elem);
		if (r < 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	wdb_done(st);
	if (r < 0) {
		for (size_t i = 0; release && i < cnt; i++)
			release(v + i * elem);
		free(v);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int user_version(struct mlfs_wdb *db, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st,
				    NULL);

	if (rc != SQLITE_OK)
		return mlfs_meta_errno(rc);
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : mlfs_meta_errno(rc);
}

/* Bring the schema to WDB_SCHEMA (a new database: its tables were
 * just made in schema 1's layout); read-only, read an older one as it
 * is. A newer one is refused. */
static int schema_version(struct mlfs_wdb *db, const char *path, bool rdonly)
{
	int v = 0, rc, r = user_version(db, &v);

	if (r < 0)
		return r;
	if (v > WDB_SCHEMA) {
		mlfs_error_set("work database '%s' has schema %d, newer than "
			       "this mlfs (%d)", path, v, WDB_SCHEMA);
		return -EPROTONOSUPPORT;
	}
	if (rdonly) {
		db->v1 = v < 2;
		return 0;
	}
	if (v < 1) {
		rc = sqlite3_exec(db->db, "PRAGMA user_version = 1", NULL, NULL,
				  NULL);
		if (rc != SQLITE_OK)
			return mlfs_meta_errno(rc);
		v = 1;
	}
	if (v < 2) {
		rc = sqlite3_exec(db->db, migrate_2, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			mlfs_error_set("work database '%s': %s", path,
				       sqlite3_errmsg(db->db));
			(void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL,
					   NULL);
			return mlfs_meta_errno(rc);
		}
	}
	return 0;
}

int mlfs_wdb_open(const char *path, bool rdonly, struct mlfs_wdb **out)
{
	struct mlfs_wdb *db = calloc(1, sizeof(*db));
	int rc, r = 0;

	*out = NULL;
	if (!db)
		return -ENOMEM;
	db->wal_path = malloc(strlen(path) + 5);
	if (!db->wal_path) {
		free(db);
		return -ENOMEM;
	}
	sprintf(db->wal_path, "%s-wal", path);
	/* the -shm guard of mlfs.db (meta.c), for work.db too: fsck and
	 * status died of SIGBUS here on a full 1 KiB-block disk */
	if (mlfs_meta_shm_may_fault(path)) {
		mlfs_error_set("cannot open '%s': no space left on the disk "
			       "(SQLite needs some to map its shared memory)",
			       path);
		free(db->wal_path);
		free(db);
		return -ENOSPC;
	}
	rc = sqlite3_open_v2(path, &db->db, rdonly ? SQLITE_OPEN_READONLY :
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     NULL);
	if (rc != SQLITE_OK) {
		mlfs_error_set("cannot open '%s': %s", path,
			       db->db ? sqlite3_errmsg(db->db) :
			       sqlite3_errstr(rc));
		r = mlfs_meta_errno(rc);
		goto out;
	}
	sqlite3_busy_timeout(db->db, BUSY_MS);
	if (!rdonly) {
		rc = sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; "
				  "PRAGMA synchronous=NORMAL;", NULL, NULL,
				  NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db->db, schema, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			mlfs_error_set("work database '%s': %s", path,
				       sqlite3_errmsg(db->db));
			r = mlfs_meta_errno(rc);
			goto out;
		}
	}
	r = schema_version(db, path, rdonly);
out:
	if (r < 0)
		mlfs_wdb_close(db);
	else
		*out = db;
	return r;
}

void mlfs_wdb_close(struct mlfs_wdb *db)
{
	if (!db)
		return;
	for (int i = 0; i < W_MAX; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->db);
	free(db->wal_path);
	free(db);
}

static int run(struct mlfs_wdb *db, enum wst id)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, id, &st);

	return r < 0 ? r : wdb_step_done(st);
}

int mlfs_wdb_begin(struct mlfs_wdb *db)
{
	return run(db, W_BEGIN);
}

int mlfs_wdb_commit(struct mlfs_wdb *db)
{
	int r = run(db, W_COMMIT);

	if (r < 0)
		mlfs_wdb_rollback(db);
	return r;
}

void mlfs_wdb_rollback(struct mlfs_wdb *db)
{
	if (!sqlite3_get_autocommit(db->db))
		(void)run(db, W_ROLLBACK);
}

int mlfs_wdb_sync(struct mlfs_wdb *db)
{
	/* In WAL mode a commit is its frames in the log: once the log is
	 * on disk, so is every transaction committed before. A checkpoint
	 * that moved them on syncs the database file itself first. */
	int fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* ---- working trees ---- */

static int read_wt(sqlite3_stmt *st, struct mlfs_wdb_wt *w)
{
	const unsigned char *b;
	int r;

	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(st, 0);
	w->repo_id = sqlite3_column_int64(st, 1);
	b = sqlite3_column_text(st, 2);
	if (!b || strlen((const char *)b) > MLFS_NAME_MAX) {
		mlfs_error_set("work database: a malformed branch name");
		return -EBADMSG;
	}
	strcpy(w->branch, (const char *)b);
	r = col_id(st, 3, &w->has_base, &w->base);
	w->materialized = sqlite3_column_int(st, 4) != 0;
	w->next_ino = sqlite3_column_int64(st, 5);
	if (r == 0)
		r = col_id(st, 6, &w->has_pending, &w->pending);
	return r;
}

int mlfs_wdb_wt_get(struct mlfs_wdb *db, int64_t repo_id, const char *branch,
		    struct mlfs_wdb_wt *out)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_WT_GET, &st), rc;

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, repo_id);
	sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_wt(st, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	wdb_done(st);
	return r;
}

static void bind_wt(sqlite3_stmt *st, int first, const struct mlfs_wdb_wt *w)
{
	bind_id(st, first, w->has_base ? &w->base : NULL);
	sqlite3_bind_int(st, first + 1, w->materialized);
	sqlite3_bind_int64(st, first + 2, w->next_ino);
	bind_id(st, first + 3, w->has_pending ? &w->pending : NULL);
}

int mlfs_wdb_wt_create(struct mlfs_wdb *db, struct mlfs_wdb_wt *w)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_WT_CREATE, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, w->repo_id);
	sqlite3_bind_text(st, 2, w->branch, -1, SQLITE_STATIC);
	bind_wt(st, 3, w);
	r = wdb_step_done(st);
	if (r == 0)
		w->id = sqlite3_last_insert_rowid(db->db);
	return r;
}

int mlfs_wdb_wt_update(struct mlfs_wdb *db, const struct mlfs_wdb_wt *w)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_WT_UPDATE, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, w->id);
	bind_wt(st, 2, w);
	return wdb_step_done(st);
}

int mlfs_wdb_wt_delete(struct mlfs_wdb *db, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_WT_DELETE, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	return wdb_step_done(st);
}

static int read_wt_elem(sqlite3_stmt *st, void *e)
{
	return read_wt(st, e);
}

int mlfs_wdb_wt_list(struct mlfs_wdb *db, struct mlfs_wdb_wt **out,
		     size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_WT_LIST, &st);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	return wdb_collect(st, sizeof(**out), read_wt_elem, NULL, (void **)out, n);
}

/* ---- nodes ---- */

void mlfs_wnode_release(struct mlfs_wnode *n)
{
	if (!n)
		return;
	free(n->target);
	n->target = NULL;
	free(n->oname);
	n->oname = NULL;
}

/* Read the node columns starting at @c. */
int wdb_read_node(sqlite3_stmt *st, int c, struct mlfs_wnode *n)
{
	const unsigned char *t;
	bool has_snap = false;
	int r;

	memset(n, 0, sizeof(*n));
	n->ino = (uint64_t)sqlite3_column_int64(st, c);
	n->type = sqlite3_column_int(st, c + 1);
	n->mode = (uint32_t)sqlite3_column_int64(st, c + 2);
	n->uid = (uint32_t)sqlite3_column_int64(st, c + 3);
	n->gid = (uint32_t)sqlite3_column_int64(st, c + 4);
	n->nlink = (uint32_t)sqlite3_column_int64(st, c + 5);
	n->size = (uint64_t)sqlite3_column_int64(st, c + 6);
	n->mtime_ns = sqlite3_column_int64(st, c + 7);
	n->ctime_ns = sqlite3_column_int64(st, c + 8);
	r = col_id(st, c + 9, &n->has_content, &n->content);
	n->data = sqlite3_column_int(st, c + 10) != 0;
	t = sqlite3_column_text(st, c + 11);
	if (r == 0 && t) {
		n->target = strdup((const char *)t);
		if (!n->target)
			r = -ENOMEM;
	}
	n->parent = (uint64_t)sqlite3_column_int64(st, c + 12);
	n->dirty = sqlite3_column_int(st, c + 13) != 0;
	if (r == 0)
		r = col_id(st, c + 14, &has_snap, &n->snap);
	n->has_snap = has_snap;
	n->atime_ns = sqlite3_column_int64(st, c + 15);
	t = sqlite3_column_text(st, c + 17);
	if (r == 0 && t && sqlite3_column_type(st, c + 16) != SQLITE_NULL) {
		n->has_origin = true;
		n->opar = (uint64_t)sqlite3_column_int64(st, c + 16);
		n->oname = strdup((const char *)t);
		if (!n->oname)
			r = -ENOMEM;
	}
	/* a special file keeps its S_IFMT bits in mode (worktree.h) */
	n->mode &= n->type == MLFS_WT_SPECIAL ? (S_IFMT | 07777) : 07777;
	if (r == 0 && n->type != MLFS_ENTRY_FILE &&
	    n->type != MLFS_ENTRY_DIR && n->type != MLFS_ENTRY_SYMLINK &&
	    n->type != MLFS_WT_SPECIAL) {
		mlfs_error_set("work database: node %llx has type %d",
			       (unsigned long long)n->ino, n->type);
		r = -EBADMSG;
	}
	if (r == 0 && n->type == MLFS_ENTRY_SYMLINK && !n->target) {
		mlfs_error_set("work database: symlink %llx has no target",
			       (unsigned long long)n->ino);
		r = -EBADMSG;
	}
	if (r < 0)
		mlfs_wnode_release(n);
	return r;
}

int mlfs_wdb_node_get(struct mlfs_wdb *db, int64_t wt, uint64_t ino,
		      struct mlfs_wnode *out)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_NODE_GET, &st), rc;

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = wdb_read_node(st, 0, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	wdb_done(st);
	return r;
}

int mlfs_wdb_node_put(struct mlfs_wdb *db, int64_t wt,
		      const struct mlfs_wnode *n)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_NODE_PUT, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)n->ino);
	sqlite3_bind_int(st, 3, n->type);
	sqlite3_bind_int64(st, 4, n->mode & (n->type == MLFS_WT_SPECIAL ?
					     (S_IFMT | 07777) : 07777));
	sqlite3_bind_int64(st, 5, n->uid);
	sqlite3_bind_int64(st, 6, n->gid);
	sqlite3_bind_int64(st, 7, n->nlink);
	sqlite3_bind_int64(st, 8, (int64_t)n->size);
	sqlite3_bind_int64(st, 9, n->mtime_ns);
	sqlite3_bind_int64(st, 10, n->ctime_ns);
	bind_id(st, 11, n->has_content ? &n->content : NULL);
	sqlite3_bind_int(st, 12, n->data);
	if (n->target)
		sqlite3_bind_text(st, 13, n->target, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 13);
	sqlite3_bind_int64(st, 14, (int64_t)n->parent);
	sqlite3_bind_int(st, 15, n->dirty);
	bind_id(st, 16, n->has_snap ? &n->snap : NULL);
	sqlite3_bind_int64(st, 17, n->atime_ns);
	if (n->has_origin && n->oname) {
		sqlite3_bind_int64(st, 18, (int64_t)n->opar);
		sqlite3_bind_text(st, 19, n->oname, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 18);
		sqlite3_bind_null(st, 19);
	}
	return wdb_step_done(st);
}

int wdb_run_wt_ino(struct mlfs_wdb *db, enum wst id, int64_t wt,
		   uint64_t ino)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, id, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	return wdb_step_done(st);
}

int mlfs_wdb_node_delete(struct mlfs_wdb *db, int64_t wt, uint64_t ino)
{
	return wdb_run_wt_ino(db, W_NODE_DELETE, wt, ino);
}

static int read_node_elem(sqlite3_stmt *st, void *e)
{
	return wdb_read_node(st, 0, e);
}

static void release_node_elem(void *e)
{
	mlfs_wnode_release(e);
}

int mlfs_wdb_node_select(struct mlfs_wdb *db, int64_t wt,
			 enum mlfs_wdb_select what, struct mlfs_wnode **out,
			 size_t *n)
{
	static const enum wst ids[] = {
		[MLFS_WDB_SNAP] = W_SEL_SNAP,
		[MLFS_WDB_ORPHANS] = W_SEL_ORPHANS,
		[MLFS_WDB_DATA] = W_SEL_DATA,
		[MLFS_WDB_ALL] = W_SEL_ALL,
	};
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, ids[what], &st);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	return wdb_collect(st, sizeof(**out), read_node_elem, release_node_elem,
		       (void **)out, n);
}

int mlfs_wdb_wt_clear(struct mlfs_wdb *db, int64_t wt)
{
	static const enum wst ids[] = { W_CLEAR_NODES, W_CLEAR_DIRENTS,
					W_CLEAR_XATTRS };
	int r = 0;

	for (size_t i = 0; r == 0 && i < MLFS_ARRAY_SIZE(ids); i++) {
		sqlite3_stmt *st = NULL;

		r = wdb_stmt(db, ids[i], &st);
		if (r < 0)
			break;
		sqlite3_bind_int64(st, 1, wt);
		r = wdb_step_done(st);
	}
	return r;
}
