/*
 * meta_schema.c - the SQLite schema as ordered migrations. PRAGMA
 * user_version is the last migration applied; each runs in its own
 * transaction; a database newer than this mlfs is refused. Ids are the
 * 16-byte canonical hashes; big tables are WITHOUT ROWID keyed by them;
 * a file's chunk list is one packed blob (docs/format.md#schema).
 */
#include <errno.h>
#include <sqlite3.h>

#include "meta.h"

static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE repos("
	"  id INTEGER PRIMARY KEY,"
	"  ns TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  default_branch TEXT NOT NULL DEFAULT 'main',"
	"  created INTEGER NOT NULL,"
	"  UNIQUE(ns, name));"
	"CREATE TABLE commits("
	"  id BLOB PRIMARY KEY,"
	"  repo_id INTEGER NOT NULL REFERENCES repos(id),"
	"  parent BLOB,"
	"  tree BLOB NOT NULL,"
	"  author TEXT NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  message TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX commits_repo ON commits(repo_id, id);"
	"CREATE TABLE refs("
	"  repo_id INTEGER NOT NULL REFERENCES repos(id),"
	"  kind TEXT NOT NULL CHECK (kind IN ('b', 't')),"
	"  name TEXT NOT NULL,"
	"  commit_id BLOB NOT NULL REFERENCES commits(id),"
	"  PRIMARY KEY (repo_id, kind, name)) WITHOUT ROWID;"
	"CREATE TABLE reflog("
	"  id INTEGER PRIMARY KEY,"
	"  repo_id INTEGER NOT NULL REFERENCES repos(id),"
	"  branch TEXT NOT NULL,"
	"  commit_id BLOB,"
	"  time INTEGER NOT NULL);"
	"CREATE INDEX reflog_branch ON reflog(repo_id, branch, time);"
	"CREATE TABLE trees("
	"  id BLOB PRIMARY KEY,"
	"  data BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE contents("
	"  digest BLOB PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  chunks BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE packs("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE chunks("
	"  id BLOB PRIMARY KEY,"
	"  pack_id INTEGER NOT NULL,"
	"  offset INTEGER NOT NULL,"
	"  stored_len INTEGER NOT NULL,"
	"  raw_len INTEGER NOT NULL,"
	"  codec INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE metadata("
	"  commit_id BLOB NOT NULL REFERENCES commits(id),"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (commit_id, key)) WITHOUT ROWID;"
	"CREATE TABLE audit("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  user TEXT,"
	"  command TEXT NOT NULL,"
	"  detail TEXT);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	       MLFS_SCHEMA_VERSION, "one migration per schema version");

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return mlfs_meta_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : mlfs_meta_errno(rc);
}

/* PRAGMA takes no bound values; the version is one of our constants. */
static const char *const set_version[] = {
	"PRAGMA user_version = 1",
};

int mlfs_meta_migrate(struct mlfs_meta *m)
{
	sqlite3 *db = mlfs_meta_db(m);
	int v = 0, r;

	r = user_version(db, &v);
	if (r < 0)
		return r;
	if (v > MLFS_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	for (; v < MLFS_SCHEMA_VERSION; v++) {
		r = mlfs_meta_begin(m);
		if (r < 0)
			return r;
		r = mlfs_meta_exec(m, migrations[v]);
		if (r == 0)
			r = mlfs_meta_exec(m, set_version[v]);
		if (r < 0) {
			mlfs_meta_rollback(m);
			return r;
		}
		r = mlfs_meta_commit(m);
		if (r < 0)
			return r;
	}
	return 0;
}
