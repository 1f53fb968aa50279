#!/bin/bash
# tests/audit.sh - the audit log (docs/cli.md#mlfs-audit): one record,
# with exact op, ref, old and new commit and message, for import, tag and
# branch create and delete, repo create by mkdir in the mount, snapshot
# through the mount (the client's command line) and without it; the text
# form; --since and NS/NAME filters; a hand-edited row makes --verify and
# fsck exit 1 naming it; a deleted middle row is found; an upgraded
# schema-2 store verifies, its old records included.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

mount_fixture
T() { timeout 60 "$@"; }

# last_json EXPR MSG: `mlfs audit --json`, then EXPR on r = the last record
# (and d = all of them) must hold.
last_json() {
	expect_exit 0 mlfs audit --json
	json_ok "$2" "(lambda r: $1)(d[-1])"
}
count() {
	mlfs audit --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

me=$(id -un)
host=$(hostname)
src=$W/src
mkdir "$src"
echo one >"$src/a"

# ---- import: repo-create, then the branch, then the tag
expect_exit 0 mlfs import -q -t v1 -m "first import" "$src" m/r
c1=$(tr -d '[:space:]' <"$OUT_F")
expect_exit 0 mlfs audit --json
json_ok "three records: repo-create, import, tag-create" \
	"[r['op'] for r in d] == ['repo-create', 'import', 'tag-create']"
json_ok "repo-create: the repository, nothing else" \
	"d[0]['repo'] == 'm/r' and d[0]['ref'] is None and d[0]['old'] is None and d[0]['new'] is None and d[0]['message'] is None"
json_ok "import: branch:main, none -> the commit, its message" \
	"d[1]['ref'] == 'branch:main' and d[1]['old'] is None and d[1]['new'] == '$c1' and d[1]['message'] == 'first import'"
json_ok "tag-create of -t: tag:v1 -> the commit" \
	"d[2]['ref'] == 'tag:v1' and d[2]['old'] is None and d[2]['new'] == '$c1'"
json_ok "ids 1, 2, 3, none damaged" \
	"[r['id'] for r in d] == [1, 2, 3] and not any(r['damaged'] for r in d)"
json_ok "user is the uid's name, uid and host are ours" \
	"all(r['user'] == '$me' and r['uid'] == $(id -u) and r['host'] == '$host' for r in d)"
json_ok "command is the whole command line, --store included" \
	"d[1]['command'].endswith(' --store $S import -q -t v1 -m \'first import\' $src m/r') and d[1]['detail'] is None"
USER=someone-else expect_exit 0 mlfs import -q -m second "$src" m/r
c2=$(tr -d '[:space:]' <"$OUT_F")
last_json "r['op'] == 'import' and r['old'] == '$c1' and r['new'] == '$c2' and r['message'] == 'second'" \
	"second import: the head before -> after"
last_json "r['user'] == '$me'" "the user is not \$USER"

# ---- tags and branches
expect_exit 0 mlfs tag m/r@v1 t2
last_json "r['op'] == 'tag-create' and r['repo'] == 'm/r' and r['ref'] == 'tag:t2' and r['old'] is None and r['new'] == '$c1' and r['message'] is None" \
	"tag create: tag:t2 -> the tagged commit"
expect_exit 0 mlfs tag --delete m/r t2
last_json "r['op'] == 'tag-delete' and r['ref'] == 'tag:t2' and r['old'] == '$c1' and r['new'] is None" \
	"tag delete: what it pointed at -> none"
expect_exit 0 mlfs branch m/r exp
last_json "r['op'] == 'branch-create' and r['ref'] == 'branch:exp' and r['old'] is None and r['new'] == '$c2'" \
	"branch create: branch:exp -> the head"
expect_exit 0 mlfs branch --delete m/r exp
last_json "r['op'] == 'branch-delete' and r['ref'] == 'branch:exp' and r['old'] == '$c2' and r['new'] is None" \
	"branch delete"
n=$(count)
expect_exit 1 mlfs tag m/r v1
expect_exit 2 mlfs branch m/r bad..name
[ "$(count)" = "$n" ] && ok "refused changes append nothing" ||
	fail "refused changes appended records ($(count) != $n)"

# ---- through the mount: mkdir makes a repository, snapshot
check "mount" T "$MLFS" --store "$S" mount "$mnt"
check "mkdir MNT/m/made" mkdir "$mnt/m/made"
last_json "r['op'] == 'repo-create' and r['repo'] == 'm/made' and ' mount ' in r['command']" \
	"mkdir in the mount: repo-create with the daemon's command line"
check "edit the branch head" bash -c "echo mounted >'$mnt/m/r/b'"
expect_exit 0 mlfs snapshot m/r -m "via the mount"
c3=$(tr -d '[:space:]' <"$OUT_F")
last_json "r['op'] == 'snapshot' and r['ref'] == 'branch:main' and r['old'] == '$c2' and r['new'] == '$c3' and r['message'] == 'via the mount'" \
	"snapshot through the mount: old -> new, its message"
last_json "r['command'].endswith(' snapshot m/r -m \'via the mount\'') and r['uid'] == $(id -u)" \
	"snapshot through the mount records the client's command line"
check "edit again" bash -c "echo offline >'$mnt/m/r/c'"
check "umount" T "$MLFS" umount "$mnt"
for _ in $(seq 100); do
	pgrep -f -- "mount $mnt\$" >/dev/null || break
	sleep 0.05
done
expect_exit 0 mlfs snapshot m/r -m "no mount"
c4=$(tr -d '[:space:]' <"$OUT_F")
last_json "r['op'] == 'snapshot' and r['old'] == '$c3' and r['new'] == '$c4' and r['message'] == 'no mount' and ' mount ' not in r['command']" \
	"snapshot without the mount"

# ---- the text form, filters
expect_exit 0 mlfs audit
lines=$(wc -l <"$OUT_F")
[ "$lines" = "$(count)" ] && ok "text: one line per record" ||
	fail "text: $lines lines for $(count) records"
expect_out "^2	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z	$me@$host	import	m/r	branch:main	- -> ${c1:0:12}	first import\$" \
	"text: id, time, user@host, op, repo, ref, old -> new, message"
expect_out "^5	.*	tag-create	m/r	tag:t2	- -> ${c1:0:12}	\$" \
	"text: a record without a message"
expect_exit 0 mlfs audit m/made --json
json_ok "NS/NAME keeps that repository's records" \
	"[r['op'] for r in d] == ['repo-create'] and d[0]['repo'] == 'm/made'"
expect_exit 0 mlfs audit m/none
[ ! -s "$OUT_F" ] && ok "a repository without records: nothing" ||
	fail "m/none listed records"
expect_exit 0 mlfs audit --since 2000-01-01
[ "$(wc -l <"$OUT_F")" = "$lines" ] && ok "--since long ago: every record" ||
	fail "--since 2000-01-01: $(wc -l <"$OUT_F") lines"
expect_exit 0 mlfs audit --since "2999-01-01T00:00Z" --json
json_ok "--since in the future: none" "d == []"
sqlite3 "$S/mlfs.db" "SELECT 1" >/dev/null # the store is idle
expect_exit 2 mlfs audit --since yesterday
expect_err "^mlfs audit: invalid date 'yesterday'" "--since: a bad date is exit 2"
expect_exit 2 mlfs audit m/r@v1
expect_err "expected NS/NAME, not 'm/r@v1'" "NS/NAME takes no @REF"
expect_exit 2 mlfs audit --verify m/r
expect_exit 2 mlfs audit m/r m/made

# ---- verify, and damage
expect_exit 0 mlfs audit --verify
expect_out "^audit log: $lines records, chain intact\$" "--verify: intact"
expect_exit 0 mlfs fsck
expect_out ", $lines audit records checked: 0 problems\$" "fsck counts the records"
head_mac=$(sqlite3 "$S/mlfs.db" "SELECT lower(hex(mac)) FROM audit ORDER BY id DESC LIMIT 1")
last_json "r['id'] == $lines and r['mac'] == '$head_mac' and len(set(x['mac'] for x in d)) == len(d)" \
	"--json: each record's mac, the last one the head's"
cp "$S/mlfs.db" "$W/clean.db"
sqlite3 "$S/mlfs.db" "UPDATE audit SET message='x' WHERE id=2"
expect_exit 1 mlfs audit --verify
expect_err "^mlfs: audit log: $lines records, broken at audit record 2 \([0-9T:-]+Z, import\): altered: it does not match its check value\$" \
	"--verify names record 2, altered"
expect_exit 1 mlfs fsck
expect_out "^damaged audit record 2: altered: it does not match its check value; it says import at " \
	"fsck names record 2"
expect_exit 1 mlfs fsck --json
json_ok "fsck --json: kind audit, object record 2" \
	"[(p['kind'], p['object']) for p in d['problems']] == [('audit', 'record 2')] and not d['ok']"
expect_exit 1 mlfs audit
expect_out "^2	\(damaged\) " "the listing marks the altered record"
expect_out "^3	[0-9]" "the record after it is not marked"
expect_err "damaged audit records are marked" "the listing says so, exit 1"
expect_exit 1 mlfs audit --json
json_ok "--json: damaged true on record 2 only" \
	"[r['id'] for r in d if r['damaged']] == [2]"
sqlite3 "$S/mlfs.db" "UPDATE audit SET message='first import' WHERE id=2"
expect_exit 0 mlfs audit --verify
sqlite3 "$S/mlfs.db" "DELETE FROM audit WHERE id=4"
expect_exit 1 mlfs audit --verify
expect_err "broken at audit record 5 \([^)]*, tag-create\): record 4 before it is missing\$" \
	"a deleted middle record: the next one names the gap"
expect_exit 1 mlfs fsck
expect_out "^damaged audit record 5: record 4 before it is missing" "fsck finds it too"
sqlite3 "$S/mlfs.db" "UPDATE audit SET time = 'x' WHERE id=3"
expect_exit 1 mlfs audit --verify
expect_err "broken at audit record 3 .*a field has a type mlfs never writes" \
	"a field of the wrong type is damage"
# a forged record appended by hand: no key, no valid mac
cp "$W/clean.db" "$S/mlfs.db"
rm -f "$S/mlfs.db-wal" "$S/mlfs.db-shm"
sqlite3 "$S/mlfs.db" "INSERT INTO audit(id, time, uid, user, host, command, op, mac)
	SELECT max(id) + 1, 0, 0, 'root', 'h', 'c', 'tag-create', mac FROM audit"
expect_exit 1 mlfs audit --verify
expect_err "broken at audit record $((lines + 1)) " "a forged record at the end is found"

# ---- a schema-2 store: its free-form rows are sealed by the upgrade
S2=$(new_store)
expect_exit 0 "$MLFS" import --store "$S2" "$src" t/r -q -t v1
sqlite3 "$S2/mlfs.db" "DROP INDEX audit_repo; DROP TABLE aliases;
	DROP TABLE inputs; ALTER TABLE metadata DROP COLUMN mac;
	ALTER TABLE contents DROP COLUMN locs;
	ALTER TABLE audit DROP COLUMN uid; ALTER TABLE audit DROP COLUMN host;
	ALTER TABLE audit DROP COLUMN repo; ALTER TABLE audit DROP COLUMN ref;
	ALTER TABLE audit DROP COLUMN old_commit;
	ALTER TABLE audit DROP COLUMN new_commit;
	ALTER TABLE audit DROP COLUMN message; ALTER TABLE audit DROP COLUMN mac;
	ALTER TABLE audit DROP COLUMN op; DELETE FROM audit;
	INSERT INTO audit(time, user, command, detail) VALUES
	  (1700000000, 'ana', 'import', 't/r@main 00112233445566778899aabbccddeeff <- /src'),
	  (1700000100, NULL, 'repo-create', 'm/x');
	DROP TABLE remote_vmeta; DROP TABLE tracking; DROP TABLE remotes; DROP TABLE remote_packs;
	PRAGMA user_version = 2;"
expect_exit 0 "$MLFS" upgrade --store "$S2"
expect_exit 0 "$MLFS" audit --store "$S2" --verify
expect_out "^audit log: 2 records, chain intact\$" "an upgraded schema-2 store verifies"
expect_exit 0 "$MLFS" audit --store "$S2" --json
json_ok "old records: op from their command, detail kept, no uid" \
	"[(r['op'], r['command'], r['detail'], r['uid'], r['user']) for r in d] == [('import', 'import', 't/r@main 00112233445566778899aabbccddeeff <- /src', None, 'ana'), ('repo-create', 'repo-create', 'm/x', None, '')]"
expect_exit 0 "$MLFS" audit --store "$S2"
expect_out "^1	2023-11-14T22:13:20Z	ana@\?	import	-	-	- -> -	t/r@main 00112233445566778899aabbccddeeff <- /src\$" \
	"text: an old record shows its detail"
expect_exit 0 "$MLFS" tag --store "$S2" t/r v2
expect_exit 0 "$MLFS" audit --store "$S2" --verify
expect_out "^audit log: 3 records, chain intact\$" "a new record chains after the old ones"
sqlite3 "$S2/mlfs.db" "UPDATE audit SET detail = 'm/y' WHERE id = 2"
expect_exit 1 "$MLFS" audit --store "$S2" --verify
expect_err "broken at audit record 2 \(2023-11-14T22:15:00Z, repo-create\): altered" \
	"an old record edited after the upgrade is found"

summary
