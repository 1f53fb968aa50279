/*
 * meta_sql.c - the text of every cached SQL statement of libmlfs, by
 * statement id (meta_internal.h). meta_stmt() prepares each one once per
 * connection; values always go through sqlite3_bind_*.
 */
#include "meta_internal.h"

const char *const meta_sql[ST_MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_CHUNK_GET] = "SELECT pack_id, offset, stored_len, raw_len, codec "
			 "FROM chunks WHERE id = ?1",
	[ST_CHUNK_PUT] = "INSERT OR IGNORE INTO chunks(id, pack_id, offset, "
			 "stored_len, raw_len, codec) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PACK_EXISTS] = "SELECT 1 FROM packs WHERE id = ?1",
	/* ?2 is the id as 8 little-endian bytes, as locs hold it (a match
	 * at another offset only keeps a pack: never the unsafe way) */
	[ST_PACK_USED] = "SELECT 1 FROM chunks WHERE pack_id = ?1 "
			 "UNION ALL SELECT 1 FROM contents "
			 "WHERE instr(locs, ?2) > 0 LIMIT 1",
	[ST_PACK_PUT] = "INSERT OR IGNORE INTO packs(id, created) "
			"VALUES (?1, strftime('%s','now'))",
	[ST_CONTENT_GET] = "SELECT size, chunks, mac FROM contents "
			   "WHERE digest = ?1",
	[ST_CONTENT_PUT] = "INSERT OR IGNORE INTO contents(digest, size, "
			   "chunks, mac) VALUES (?1, ?2, ?3, ?4)",
	[ST_CONTENT_LOCS_GET] = "SELECT locs FROM contents WHERE digest = ?1",
	[ST_CONTENT_LOCS_SET] = "UPDATE contents SET locs = ?2 "
				"WHERE digest = ?1",
	[ST_CONTENT_NO_LOCS] = "SELECT digest FROM contents "
			       "WHERE locs IS NULL AND length(chunks) > 0",
	[ST_TREE_GET] = "SELECT data FROM trees WHERE id = ?1",
	[ST_TREE_PUT] = "INSERT OR IGNORE INTO trees(id, data) VALUES (?1, ?2)",
	[ST_REPO_GET] = "SELECT id, ns, name, default_branch, created "
			"FROM repos WHERE ns = ?1 AND name = ?2",
	[ST_REPO_GET_ID] = "SELECT id, ns, name, default_branch, created "
			   "FROM repos WHERE id = ?1",
	[ST_REPO_CREATE] = "INSERT INTO repos(ns, name, default_branch, "
			   "created) VALUES (?1, ?2, 'main', "
			   "strftime('%s','now'))",
	[ST_REPO_LIST] = "SELECT id, ns, name, default_branch, created "
			 "FROM repos ORDER BY ns, name",
	[ST_COMMIT_GET] = "SELECT c.repo_id, c.parent, c.tree, c.author, "
			  "c.time, c.message, r.ns, r.name FROM commits c "
			  "LEFT JOIN repos r ON r.id = c.repo_id "
			  "WHERE c.id = ?1",
	[ST_COMMIT_PUT] = "INSERT OR IGNORE INTO commits(id, repo_id, parent, "
			  "tree, author, time, message) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_COMMIT_RANGE] = "SELECT id FROM commits WHERE repo_id = ?1 AND "
			    "id >= ?2 AND id <= ?3 ORDER BY id LIMIT ?4",
	[ST_COMMIT_ALL] = "SELECT c.id, c.repo_id, c.parent, c.tree, "
			  "c.author, c.time, c.message, r.ns, r.name "
			  "FROM commits c LEFT JOIN repos r "
			  "ON r.id = c.repo_id WHERE c.repo_id = ?1",
	[ST_COMMIT_ALL_REPOS] = "SELECT c.id, c.repo_id, c.parent, c.tree, "
				"c.author, c.time, c.message, r.ns, r.name "
				"FROM commits c LEFT JOIN repos r "
				"ON r.id = c.repo_id",
	[ST_REF_GET] = "SELECT f.kind, f.name, f.commit_id, f.mac, r.ns, "
		       "r.name FROM refs f JOIN repos r ON r.id = f.repo_id "
		       "WHERE f.repo_id = ?1 AND f.kind = ?2 AND f.name = ?3",
	[ST_REF_SET] = "INSERT OR REPLACE INTO refs(repo_id, kind, name, "
		       "commit_id, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_REF_DELETE] = "DELETE FROM refs WHERE repo_id = ?1 AND kind = ?2 "
			  "AND name = ?3",
	[ST_REF_LIST] = "SELECT f.kind, f.name, f.commit_id, f.mac, r.ns, "
			"r.name FROM refs f JOIN repos r "
			"ON r.id = f.repo_id WHERE f.repo_id = ?1 "
			"ORDER BY f.kind, f.name",
	[ST_REF_LIST_KIND] = "SELECT f.kind, f.name, f.commit_id, f.mac, "
			     "r.ns, r.name FROM refs f JOIN repos r "
			     "ON r.id = f.repo_id WHERE f.repo_id = ?1 AND "
			     "f.kind = ?2 ORDER BY f.name",
	[ST_REFLOG_ADD] = "INSERT INTO reflog(repo_id, branch, commit_id, "
			  "time) "
			  "VALUES (?1, ?2, ?3, ?4)",
	[ST_REFLOG_SET_MAC] = "UPDATE reflog SET mac = ?2 WHERE id = ?1",
	[ST_REFLOG_AT] = "SELECT l.id, l.commit_id, l.time, l.mac, r.ns, "
			 "r.name FROM reflog l JOIN repos r "
			 "ON r.id = l.repo_id WHERE l.repo_id = ?1 AND "
			 "l.branch = ?2 ORDER BY l.id DESC",
	[ST_REFLOG_LIST] = "SELECT l.id, l.commit_id, l.time, l.mac, r.ns, "
			   "r.name, l.branch FROM reflog l JOIN repos r "
			   "ON r.id = l.repo_id WHERE l.repo_id = ?1 "
			   "ORDER BY l.id",
	[ST_ALIAS_GET] = "SELECT a.name, a.commit_id, a.mac, r.ns, r.name "
			 "FROM aliases a JOIN repos r ON r.id = a.repo_id "
			 "WHERE a.repo_id = ?1 AND a.name = ?2",
	[ST_ALIAS_SET] = "INSERT OR REPLACE INTO aliases(repo_id, name, "
			 "commit_id, mac) VALUES (?1, ?2, ?3, ?4)",
	[ST_ALIAS_DELETE] = "DELETE FROM aliases WHERE repo_id = ?1 AND "
			    "name = ?2",
	[ST_ALIAS_LIST] = "SELECT a.name, a.commit_id, a.mac, r.ns, r.name "
			  "FROM aliases a JOIN repos r ON r.id = a.repo_id "
			  "WHERE a.repo_id = ?1 ORDER BY a.name",
	[ST_AUDIT_ADD] = "INSERT INTO audit(id, time, uid, user, host, "
			 "command, op, repo, ref, old_commit, new_commit, "
			 "message, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
			 "?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_AUDIT_LAST] = "SELECT id, mac FROM audit ORDER BY id DESC "
			  "LIMIT 1",
	[ST_AUDIT_ALL] = "SELECT " MLFS_META_AUDIT_COLS " FROM audit "
			 "ORDER BY id",
	[ST_AUDIT_SET_MAC] = "UPDATE audit SET mac = ?2 WHERE id = ?1",
	[ST_CHUNK_EACH] = "SELECT id, pack_id, offset, stored_len, raw_len, "
			  "codec FROM chunks",
	[ST_VMETA_LIST] = "SELECT commit_id, key, value, mac FROM metadata "
			  "WHERE commit_id = ?1 ORDER BY key",
	[ST_VMETA_ALL] = "SELECT commit_id, key, value, mac FROM metadata "
			 "ORDER BY commit_id, key",
	[ST_VMETA_PUT] = "INSERT OR REPLACE INTO metadata(commit_id, key, "
			 "value, mac) VALUES (?1, ?2, ?3, ?4)",
	[ST_VMETA_DELETE] = "DELETE FROM metadata WHERE commit_id = ?1 AND "
			    "key = ?2",
	[ST_INPUT_PUT] = "INSERT INTO inputs(commit_id, input, files, bytes, "
			 "how, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_INPUT_OF] = "SELECT commit_id, input, files, bytes, how, mac "
			"FROM inputs WHERE commit_id = ?1 ORDER BY input",
	[ST_INPUT_USERS] = "SELECT commit_id, input, files, bytes, how, mac "
			   "FROM inputs WHERE input = ?1 ORDER BY commit_id",
	[ST_INPUT_ALL] = "SELECT commit_id, input, files, bytes, how, mac "
			 "FROM inputs ORDER BY commit_id, input",
	[ST_REMOTE_GET] = "SELECT name, url, endpoint, region, virtual_host, "
			  "cache_size FROM remotes WHERE name = ?1",
	[ST_REMOTE_ADD] = "INSERT INTO remotes(name, url, endpoint, region, "
			  "virtual_host, cache_size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_REMOTE_DELETE] = "DELETE FROM remotes WHERE name = ?1",
	[ST_REMOTE_LIST] = "SELECT name, url, endpoint, region, virtual_host, "
			   "cache_size FROM remotes ORDER BY name",
	[ST_RPACK_GET] = "SELECT remote, size FROM remote_packs "
			 "WHERE pack_id = ?1",
	[ST_RPACK_PUT] = "INSERT OR IGNORE INTO remote_packs(pack_id, remote, "
			 "size) VALUES (?1, ?2, ?3)",
	[ST_RPACK_COUNT] = "SELECT count(*) FROM remote_packs WHERE remote = ?1",
	/* tracking rows: columns remote, branch, commit_id, mac, ns, name */
	[ST_TRACK_GET] = "SELECT t.remote, t.branch, t.commit_id, t.mac, "
			 "r.ns, r.name FROM tracking t JOIN repos r "
			 "ON r.id = t.repo_id WHERE t.remote = ?1 AND "
			 "t.repo_id = ?2 AND t.branch = ?3",
	[ST_TRACK_SET] = "INSERT OR REPLACE INTO tracking(remote, repo_id, "
			 "branch, commit_id, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_TRACK_CLEAR] = "DELETE FROM tracking WHERE remote = ?1",
	[ST_TRACK_CLEAR_REPO] = "DELETE FROM tracking WHERE remote = ?1 AND "
				"repo_id = ?2",
	/* a row whose repository is gone is listed too (ns NULL): damage */
	[ST_TRACK_LIST] = "SELECT t.remote, t.branch, t.commit_id, t.mac, "
			  "r.ns, r.name FROM tracking t LEFT JOIN repos r "
			  "ON r.id = t.repo_id WHERE (?1 IS NULL OR "
			  "t.remote = ?1) AND (?2 = 0 OR t.repo_id = ?2) "
			  "ORDER BY r.ns, r.name, t.remote, t.branch",
	/* vmeta sync rows: columns remote, commit_id, digest, etag, mac */
	[ST_VSYNC_GET] = "SELECT remote, commit_id, digest, etag, mac FROM "
			 "remote_vmeta WHERE remote = ?1 AND commit_id = ?2",
	[ST_VSYNC_SET] = "INSERT OR REPLACE INTO remote_vmeta(remote, "
			 "commit_id, digest, etag, mac) VALUES (?1, ?2, ?3, "
			 "?4, ?5)",
	[ST_VSYNC_CLEAR] = "DELETE FROM remote_vmeta WHERE remote = ?1",
	[ST_VSYNC_LIST] = "SELECT remote, commit_id, digest, etag, mac FROM "
			  "remote_vmeta WHERE ?1 IS NULL OR remote = ?1 "
			  "ORDER BY remote, commit_id",
};
