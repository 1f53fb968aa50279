/*
 * meta_schema.c - the SQLite schema as ordered migrations. PRAGMA
 * user_version is the last migration applied; each runs in its own
 * transaction; a database newer than this mlfs is refused. Ids are the
 * 16-byte canonical hashes; big tables are WITHOUT ROWID keyed by them;
 * a file's chunk list is one packed blob (docs/format.md#schema).
 * Migration 2 seals existing rows with check values computed by SQL
 * functions registered here, after checking what can be checked.
 */
#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#include "meta_internal.h"
#include "mlfs/chunker.h"
#include "objid.h"

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
	/* 2: check values on the rows that no id covers (chunk lists, refs,
	 * branch history); NULL reads as damaged. Existing rows are sealed
	 * here only when they pass every check that is possible: a chunk
	 * list must add up to its size, a ref or history entry must name a
	 * commit of its own repository whose id verifies. */
	"ALTER TABLE contents ADD COLUMN mac BLOB;"
	"ALTER TABLE refs ADD COLUMN mac BLOB;"
	"ALTER TABLE reflog ADD COLUMN mac BLOB;"
	"UPDATE contents SET mac = mlfs_content_mac(digest, size, chunks);"
	"UPDATE refs SET mac = CASE WHEN (SELECT mlfs_commit_ok(c.id, r.ns,"
	"    r.name, c.parent, c.tree, c.time, c.author, c.message)"
	"  FROM commits c JOIN repos r ON r.id = c.repo_id"
	"  WHERE c.id = refs.commit_id AND c.repo_id = refs.repo_id)"
	"  THEN mlfs_ref_mac((SELECT ns FROM repos WHERE id = refs.repo_id),"
	"    (SELECT name FROM repos WHERE id = refs.repo_id), kind, name,"
	"    commit_id) END;"
	"UPDATE reflog SET mac = CASE WHEN commit_id IS NULL OR"
	"  (SELECT mlfs_commit_ok(c.id, r.ns, r.name, c.parent, c.tree,"
	"    c.time, c.author, c.message)"
	"  FROM commits c JOIN repos r ON r.id = c.repo_id"
	"  WHERE c.id = reflog.commit_id AND c.repo_id = reflog.repo_id)"
	"  THEN mlfs_reflog_mac(id,"
	"    (SELECT ns FROM repos WHERE id = reflog.repo_id),"
	"    (SELECT name FROM repos WHERE id = reflog.repo_id), branch,"
	"    commit_id, time) END;",
	/* 3: the registry (docs/format.md#schema). Audit records become
	 * structured and chained (each mac covers the record and the mac
	 * before it; rows of older stores are sealed in id order when the
	 * migration runs); aliases are movable names checked like refs;
	 * version metadata rows get a check value; inputs are the versions
	 * a commit was made from (lineage). */
	"ALTER TABLE audit ADD COLUMN uid INTEGER;"
	"ALTER TABLE audit ADD COLUMN host TEXT;"
	"ALTER TABLE audit ADD COLUMN repo TEXT;"
	"ALTER TABLE audit ADD COLUMN ref TEXT;"
	"ALTER TABLE audit ADD COLUMN old_commit BLOB;"
	"ALTER TABLE audit ADD COLUMN new_commit BLOB;"
	"ALTER TABLE audit ADD COLUMN message TEXT;"
	"ALTER TABLE audit ADD COLUMN mac BLOB;"
	"ALTER TABLE audit ADD COLUMN op TEXT;"
	/* an old row's command was its operation ("import ...") */
	"UPDATE audit SET op = command;"
	"CREATE INDEX audit_repo ON audit(repo, id);"
	"CREATE TABLE aliases("
	"  repo_id INTEGER NOT NULL REFERENCES repos(id),"
	"  name TEXT NOT NULL,"
	"  commit_id BLOB NOT NULL REFERENCES commits(id),"
	"  mac BLOB,"
	"  PRIMARY KEY (repo_id, name)) WITHOUT ROWID;"
	"ALTER TABLE metadata ADD COLUMN mac BLOB;"
	"CREATE TABLE inputs("
	"  commit_id BLOB NOT NULL REFERENCES commits(id),"
	"  input BLOB NOT NULL REFERENCES commits(id),"
	"  files INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  how TEXT NOT NULL CHECK (how IN ('mount', 'manual')),"
	"  mac BLOB,"
	"  PRIMARY KEY (commit_id, input)) WITHOUT ROWID;"
	"CREATE INDEX inputs_input ON inputs(input, commit_id);",
	/* 4: a content row carries its chunks' locations (meta_locs.c), so
	 * that an open reads one row rather than the index once per chunk;
	 * rows of older stores get them when the migration runs. */
	"ALTER TABLE contents ADD COLUMN locs BLOB;",
	/* 5: S3 remotes (meta_remote.c, docs/remote.md): where each remote
	 * is (never its credentials), and which packs a remote holds for
	 * chunks the index locates there but this store has no file of. */
	"CREATE TABLE remotes("
	"  name TEXT PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  endpoint TEXT,"
	"  region TEXT,"
	"  virtual_host INTEGER NOT NULL DEFAULT 0,"
	"  cache_size INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE remote_packs("
	"  pack_id INTEGER PRIMARY KEY,"
	"  remote TEXT NOT NULL,"
	"  size INTEGER NOT NULL);",
	/* 6: remote-tracking refs (meta_track.c, docs/remote.md): the
	 * branch heads a fetch, pull, clone or push last saw in a remote,
	 * each row sealed like a ref. Older stores have none to seal. */
	"CREATE TABLE tracking("
	"  remote TEXT NOT NULL,"
	"  repo_id INTEGER NOT NULL REFERENCES repos(id),"
	"  branch TEXT NOT NULL,"
	"  commit_id BLOB NOT NULL REFERENCES commits(id),"
	"  mac BLOB,"
	"  PRIMARY KEY (remote, repo_id, branch)) WITHOUT ROWID;"
	"CREATE INDEX tracking_repo ON tracking(repo_id, remote, branch);",
	/* 7: version metadata synced with remotes (meta_vsync.c,
	 * docs/remote.md#version-metadata): what a push or fetch last saw,
	 * for three-way decisions. Older stores have none: a push or fetch
	 * takes the commit object's as the last seen. */
	"CREATE TABLE remote_vmeta("
	"  remote TEXT NOT NULL,"
	"  commit_id BLOB NOT NULL REFERENCES commits(id),"
	"  digest BLOB NOT NULL,"
	"  etag TEXT NOT NULL,"
	"  mac BLOB,"
	"  PRIMARY KEY (remote, commit_id)) WITHOUT ROWID;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	       MLFS_SCHEMA_VERSION, "one migration per schema version");

/* PRAGMA takes no bound values; the version is one of our constants. */
static const char *const set_version[] = {
	"PRAGMA user_version = 1",
	"PRAGMA user_version = 2",
	"PRAGMA user_version = 3",
	"PRAGMA user_version = 4",
	"PRAGMA user_version = 5",
	"PRAGMA user_version = 6",
	"PRAGMA user_version = 7",
};

/* What a migration does after its SQL, in its transaction: migration 3
 * chains the audit rows of older stores (each check value covers the one
 * before it, which one UPDATE cannot compute in order). */
static int (*const after_sql[])(struct mlfs_meta *m) = {
	NULL,
	NULL,
	mlfs_meta_audit_seal,
	mlfs_meta_content_locs_fill,
	NULL,
	NULL,
	NULL,
};

_Static_assert(sizeof(after_sql) / sizeof(after_sql[0]) ==
	       MLFS_SCHEMA_VERSION, "one step per schema version");

/* ---- SQL functions for migration 2 (the key is their user data) ---- */

static const struct mlfs_hash_key *fn_key(sqlite3_context *ctx)
{
	return sqlite3_user_data(ctx);
}

static bool arg_id(sqlite3_value *v, struct mlfs_id *id)
{
	if (sqlite3_value_type(v) != SQLITE_BLOB ||
	    sqlite3_value_bytes(v) != MLFS_ID_LEN)
		return false;
	memcpy(id->b, sqlite3_value_blob(v), MLFS_ID_LEN);
	return true;
}

static const char *arg_text(sqlite3_value *v)
{
	return sqlite3_value_type(v) == SQLITE_TEXT ?
	       (const char *)sqlite3_value_text(v) : NULL;
}

static void result_id(sqlite3_context *ctx, const struct mlfs_id *id)
{
	sqlite3_result_blob(ctx, id->b, MLFS_ID_LEN, SQLITE_TRANSIENT);
}

/* mlfs_content_mac(digest, size, chunks): the check value, or NULL when
 * the chunk list is malformed or does not add up to the size. */
static void fn_content_mac(sqlite3_context *ctx, int argc,
			   sqlite3_value **argv)
{
	const uint8_t *b = sqlite3_value_blob(argv[2]);
	size_t len = (size_t)sqlite3_value_bytes(argv[2]);
	sqlite3_int64 size = sqlite3_value_int64(argv[1]);
	uint64_t sum = 0;
	struct mlfs_id digest, mac;

	(void)argc;
	if (!arg_id(argv[0], &digest) || size < 0 ||
	    sqlite3_value_type(argv[2]) != SQLITE_BLOB || len % 20)
		goto bad;
	for (size_t i = 0; i < len; i += 20) {
		uint32_t l = mlfs_get_le32(b + i + MLFS_ID_LEN);

		if (l == 0 || l > MLFS_CHUNK_LIMIT)
			goto bad;
		sum += l;
	}
	if (sum != (uint64_t)size)
		goto bad;
	mlfs_objid_content_mac(fn_key(ctx), &digest, (uint64_t)size,
			       len ? b : (const uint8_t *)"", len, &mac);
	result_id(ctx, &mac);
	return;
bad:
	sqlite3_result_null(ctx);
}

/* mlfs_commit_ok(id, ns, name, parent, tree, time, author, message). */
static void fn_commit_ok(sqlite3_context *ctx, int argc,
			 sqlite3_value **argv)
{
	const char *ns = arg_text(argv[1]), *name = arg_text(argv[2]);
	struct mlfs_commit c = { 0 };
	struct mlfs_id id, got;

	(void)argc;
	c.has_parent = sqlite3_value_type(argv[3]) != SQLITE_NULL;
	c.time = sqlite3_value_int64(argv[5]);
	c.author = (char *)arg_text(argv[6]);
	c.message = (char *)arg_text(argv[7]);
	if (!arg_id(argv[0], &id) || !ns || !name || !c.author ||
	    !c.message || (c.has_parent && !arg_id(argv[3], &c.parent)) ||
	    !arg_id(argv[4], &c.tree)) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	mlfs_objid_commit(fn_key(ctx), ns, name, &c, &got);
	sqlite3_result_int(ctx, mlfs_id_cmp(&got, &id) == 0);
}

/* mlfs_ref_mac(ns, name, kind, ref, commit). */
static void fn_ref_mac(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *ns = arg_text(argv[0]), *name = arg_text(argv[1]);
	const char *kind = arg_text(argv[2]), *ref = arg_text(argv[3]);
	struct mlfs_id commit, mac;

	(void)argc;
	if (!ns || !name || !kind || !ref || !arg_id(argv[4], &commit) ||
	    (strcmp(kind, "b") && strcmp(kind, "t"))) {
		sqlite3_result_null(ctx);
		return;
	}
	mlfs_objid_ref_mac(fn_key(ctx), ns, name, kind[0], ref, &commit,
			   &mac);
	result_id(ctx, &mac);
}

/* mlfs_reflog_mac(row, ns, name, branch, commit or NULL, time). */
static void fn_reflog_mac(sqlite3_context *ctx, int argc,
			  sqlite3_value **argv)
{
	const char *ns = arg_text(argv[1]), *name = arg_text(argv[2]);
	const char *branch = arg_text(argv[3]);
	bool deleted = sqlite3_value_type(argv[4]) == SQLITE_NULL;
	struct mlfs_id commit, mac;

	(void)argc;
	if (!ns || !name || !branch ||
	    (!deleted && !arg_id(argv[4], &commit))) {
		sqlite3_result_null(ctx);
		return;
	}
	mlfs_objid_reflog_mac(fn_key(ctx), sqlite3_value_int64(argv[0]), ns,
			      name, branch, deleted ? NULL : &commit,
			      sqlite3_value_int64(argv[5]), &mac);
	result_id(ctx, &mac);
}

static int register_functions(struct mlfs_meta *m)
{
	static const struct {
		const char *name;
		int nargs;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{ "mlfs_content_mac", 3, fn_content_mac },
		{ "mlfs_commit_ok", 8, fn_commit_ok },
		{ "mlfs_ref_mac", 5, fn_ref_mac },
		{ "mlfs_reflog_mac", 6, fn_reflog_mac },
	};

	for (size_t i = 0; i < MLFS_ARRAY_SIZE(fns); i++) {
		int rc = sqlite3_create_function_v2(
			m->db, fns[i].name, fns[i].nargs,
			SQLITE_UTF8 | SQLITE_DETERMINISTIC,
			(void *)m->key, fns[i].fn, NULL, NULL, NULL);

		if (rc != SQLITE_OK)
			return mlfs_meta_errno(rc);
	}
	return 0;
}

/* ---- applying migrations ---- */

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return mlfs_meta_errno(rc);
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : mlfs_meta_errno(rc);
}

int mlfs_meta_check_version(struct mlfs_meta *m, int *version)
{
	int v = 0, r;

	mlfs_meta_lock(m);
	r = user_version(m->db, &v);
	mlfs_meta_unlock(m);
	if (r < 0)
		return r;
	if (version)
		*version = v;
	if (v > MLFS_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	return v < MLFS_SCHEMA_VERSION ? -ESTALE : 0;
}

int mlfs_meta_migrate(struct mlfs_meta *m, int *from)
{
	int v = 0, r;

	r = mlfs_meta_check_version(m, &v);
	if (from)
		*from = v;
	if (r != -ESTALE)
		return r;
	r = register_functions(m);
	if (r < 0)
		return r;
	for (;;) {
		r = mlfs_meta_begin(m);
		if (r < 0)
			return r;
		/* Read again under the write lock: another process may have
		 * migrated between our first look and now. */
		r = user_version(m->db, &v);
		if (r < 0 || v >= MLFS_SCHEMA_VERSION) {
			mlfs_meta_rollback(m);
			return r;
		}
		r = mlfs_meta_exec(m, migrations[v]);
		if (r == 0 && after_sql[v])
			r = after_sql[v](m);
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
}
