#!/bin/bash
# tests/verify.sh - the command line over verified metadata: a tag whose
# row was changed is listed as damaged (exit 1), never decorates a
# commit and never resolves; a store made by the previous schema is
# refused by reading commands with the upgrade hint and upgraded by
# 'mlfs upgrade', after which everything reads back byte for byte.
. "$(dirname "$0")/lib.sh"

S=$(new_store)
W=$(mktmp)
mkdir -p "$W/src"
echo one >"$W/src/a"
expect_exit 0 "$MLFS" import --store "$S" "$W/src" t/r -q -t v1
echo two >"$W/src/a"
expect_exit 0 "$MLFS" import --store "$S" "$W/src" t/r -q -t v2

# Point v1 at v2's commit behind mlfs's back.
sqlite3 "$S/mlfs.db" "UPDATE refs SET commit_id = (SELECT commit_id FROM
	refs WHERE name = 'v2') WHERE name = 'v1'"
expect_exit 1 "$MLFS" tag --store "$S" --list t/r
expect_out '^v1 +\(damaged\)$' "a moved tag is listed as damaged"
expect_out '^v2 +[0-9a-f]{12}$' "the sound tag is listed with its commit"
expect_err "1 ref of 't/r' is damaged; run 'mlfs fsck'" "tag --list says what is wrong"
expect_exit 1 "$MLFS" tag --store "$S" --list t/r --json
json_ok "tag --list --json flags the damaged tag" \
	'[t["name"] for t in d if t.get("damaged") and t["commit"] is None] == ["v1"]'
expect_exit 1 "$MLFS" cat --store "$S" t/r@v1/a
expect_err "tag 'v1'.*check value mismatch" "cat of a damaged tag names it"
[ ! -s "$OUT_F" ] && ok "cat of a damaged tag prints no bytes" ||
	fail "cat of a damaged tag printed '$(cat "$OUT_F")'"
expect_exit 0 "$MLFS" log --store "$S" t/r
if grep -q "tag: v1" "$OUT_F"; then
	fail "log decorates a commit with the damaged tag"
else
	ok "log does not decorate with a damaged tag"
fi
expect_exit 0 "$MLFS" cat --store "$S" t/r@v2/a
expect_out '^two$' "the sound tag still reads"

# The default branch is not covered by a check value: only 'main' is
# accepted, so a changed row cannot serve another branch as 't/r'.
expect_exit 0 "$MLFS" branch --store "$S" t/r@v2 dev
sqlite3 "$S/mlfs.db" "UPDATE repos SET default_branch = 'dev'"
expect_exit 1 "$MLFS" cat --store "$S" t/r/a
expect_err "default branch 'dev' is not one mlfs sets" "a changed default branch is damage"
expect_exit 1 "$MLFS" repos --store "$S"
expect_out '^t/r.*\(damaged\)' "repos lists the damaged repository"
expect_err "1 repository is damaged" "repos says so and exits 1"
sqlite3 "$S/mlfs.db" "UPDATE repos SET default_branch = 'main'"

# Branch history: fsck checks every entry and that the newest is the head.
# (Put v1 back where it was first: reflog entry 1 is main's first head.)
sqlite3 "$S/mlfs.db" "UPDATE refs SET commit_id = (SELECT commit_id FROM
	reflog WHERE id = 1) WHERE name = 'v1'"
expect_exit 0 "$MLFS" fsck --store "$S"
last_main="(SELECT max(id) FROM reflog WHERE branch = 'main')"
sqlite3 "$S/mlfs.db" "UPDATE reflog SET time = time - 5 WHERE id = $last_main"
expect_exit 1 "$MLFS" fsck --store "$S"
expect_out "history main .*entry [0-9]+ does not match its check value" "fsck names a changed history entry"
expect_exit 1 "$MLFS" cat --store "$S" "t/r@{2999-01-01}/a"
expect_err "history of branch 'main', entry" "@{date} over a changed entry fails naming it"
sqlite3 "$S/mlfs.db" "DELETE FROM reflog WHERE id = (SELECT max(id) FROM reflog WHERE branch = 'dev')"
expect_exit 1 "$MLFS" fsck --store "$S"
expect_out "history dev .*newest entry is not the branch head" "fsck notices a dropped newest entry"

# A schema-1 store: what mlfs 0.1 wrote (no check values).
S1=$(new_store)
echo one >"$W/src/a"
expect_exit 0 "$MLFS" import --store "$S1" "$W/src" t/r -q -t v1
sqlite3 "$S1/mlfs.db" "ALTER TABLE contents DROP COLUMN mac;
	ALTER TABLE contents DROP COLUMN locs;
	ALTER TABLE refs DROP COLUMN mac; ALTER TABLE reflog DROP COLUMN mac;
	DROP INDEX audit_repo; DROP TABLE aliases; DROP TABLE inputs;
	ALTER TABLE metadata DROP COLUMN mac;
	ALTER TABLE audit DROP COLUMN uid; ALTER TABLE audit DROP COLUMN host;
	ALTER TABLE audit DROP COLUMN repo; ALTER TABLE audit DROP COLUMN ref;
	ALTER TABLE audit DROP COLUMN old_commit;
	ALTER TABLE audit DROP COLUMN new_commit;
	ALTER TABLE audit DROP COLUMN message; ALTER TABLE audit DROP COLUMN mac;
	ALTER TABLE audit DROP COLUMN op;
	DROP TABLE remote_vmeta; DROP TABLE tracking; DROP TABLE remotes; DROP TABLE remote_packs;
	PRAGMA user_version = 1;"
for cmd in "cat t/r@v1/a" "ls t/r" "log t/r" "fsck"; do
	# shellcheck disable=SC2086
	expect_exit 1 "$MLFS" $cmd --store "$S1"
	expect_err "made by an older mlfs; run 'mlfs upgrade --store $S1'" \
		"'$cmd' on a schema-1 store asks for mlfs upgrade"
done
[ "$(sqlite3 "$S1/mlfs.db" 'PRAGMA user_version')" = 1 ] &&
	ok "reading commands leave the schema alone" ||
	fail "a reading command migrated the store"
expect_exit 0 "$MLFS" upgrade --store "$S1"
expect_out "upgraded store" "upgrade says it upgraded"
[ "$(sqlite3 "$S1/mlfs.db" 'PRAGMA user_version')" = 7 ] &&
	ok "upgrade moves the schema to 7" || fail "schema not upgraded"
expect_exit 0 "$MLFS" upgrade --store "$S1"
expect_out "is up to date" "a second upgrade has nothing to do"
expect_exit 0 "$MLFS" cat --store "$S1" t/r@v1/a
expect_out '^one$' "the upgraded store reads back"
expect_exit 0 "$MLFS" fsck --store "$S1" --read-data
# the upgraded store has the aliases table: an alias, its history
expect_exit 0 "$MLFS" alias --store "$S1" t/r@v1 prod
expect_exit 0 "$MLFS" alias --store "$S1" --history t/r prod
expect_out "alias-create" "an upgraded store records aliases"
expect_exit 0 "$MLFS" cat --store "$S1" t/r@prod/a
expect_out '^one$' "an alias of an upgraded store resolves"

# A schema-3 store (before content rows carried their chunks' locations):
# the upgrade gives every row its locations; reads and fsck agree.
S3=$(new_store)
head -c 3000000 /dev/urandom >"$W/src/big"
expect_exit 0 "$MLFS" import --store "$S3" "$W/src" t/r -q -t v1
sqlite3 "$S3/mlfs.db" "ALTER TABLE contents DROP COLUMN locs;
	DROP TABLE remote_vmeta; DROP TABLE tracking; DROP TABLE remotes; DROP TABLE remote_packs; PRAGMA user_version = 3;"
expect_exit 1 "$MLFS" cat --store "$S3" t/r@v1/big
expect_err "made by an older mlfs" "a schema-3 store asks for mlfs upgrade"
expect_exit 0 "$MLFS" upgrade --store "$S3"
[ "$(sqlite3 "$S3/mlfs.db" "SELECT count(*) FROM contents WHERE locs IS NULL")" = 0 ] &&
	ok "upgrade 3 -> 4 gives every content row its chunk locations" ||
	fail "content rows without locations after the upgrade"
expect_exit 0 "$MLFS" cat --store "$S3" t/r@v1/big
cmp -s "$OUT_F" "$W/src/big" && ok "the upgraded store reads back byte for byte" ||
	fail "upgraded store: wrong bytes"
expect_exit 0 "$MLFS" fsck --store "$S3" --read-data
# Locations are a cache of the index: pointing the first chunk at another
# chunk's entry gives an error naming the chunk, never other bytes, and
# fsck names the content row.
sqlite3 "$S3/mlfs.db" "UPDATE contents SET locs = substr(locs, 22, 21) || substr(locs, 22)
	WHERE length(locs) >= 42 AND size = 3000000"
expect_exit 1 "$MLFS" cat --store "$S3" t/r@v1/big
expect_err "chunk [0-9a-f]{32}" "a wrong location: cat fails naming the chunk"
expect_exit 1 "$MLFS" fsck --store "$S3"
expect_out "location its contents row carries is not its index entry" \
	"fsck names a content row whose locations disagree with the index"
sqlite3 "$S3/mlfs.db" "UPDATE contents SET locs = substr(locs, 2) WHERE size = 3000000"
expect_exit 1 "$MLFS" cat --store "$S3" t/r@v1/big
expect_err "chunk locations do not match the chunk list" "truncated locations: cat names them"

# A schema-4 store (before S3 remotes): the upgrade adds the remotes
# tables; the store reads as before and takes a remote.
S4=$(new_store)
echo four >"$W/src/a"
expect_exit 0 "$MLFS" import --store "$S4" "$W/src" t/r -q -t v1
sqlite3 "$S4/mlfs.db" "DROP TABLE remote_vmeta; DROP TABLE tracking; DROP TABLE remotes; DROP TABLE remote_packs; PRAGMA user_version = 4;"
expect_exit 1 "$MLFS" remote list --store "$S4"
expect_err "made by an older mlfs" "a schema-4 store asks for mlfs upgrade"
expect_exit 0 "$MLFS" upgrade --store "$S4"
[ "$(sqlite3 "$S4/mlfs.db" 'PRAGMA user_version')" = 7 ] &&
	ok "upgrade 4 -> 7" || fail "schema-4 store not upgraded"
expect_exit 0 "$MLFS" remote add --store "$S4" origin s3://bucket/p
expect_exit 0 "$MLFS" remote list --store "$S4"
expect_out "^origin	s3://bucket/p$" "the upgraded store keeps a remote"
expect_exit 0 "$MLFS" cat --store "$S4" t/r@v1/a
expect_out '^four$' "the upgraded store reads back"
expect_exit 0 "$MLFS" fsck --store "$S4"

# A schema-5 store (before remote-tracking refs): refused by reading
# commands with the upgrade hint, untouched by them; the upgrade adds the
# tracking table; the store reads as before, lists no tracking refs and
# resolves "@origin/main" to a clear error, not to tag or path.
S5=$(new_store)
echo five >"$W/src/a"
expect_exit 0 "$MLFS" import --store "$S5" "$W/src" t/r -q -t v1
expect_exit 0 "$MLFS" remote add --store "$S5" origin s3://bucket/p
sqlite3 "$S5/mlfs.db" "DROP TABLE remote_vmeta; DROP TABLE tracking; PRAGMA user_version = 5;"
expect_exit 1 "$MLFS" branch --store "$S5" -r t/r
expect_err "made by an older mlfs; run 'mlfs upgrade --store $S5'" \
	"a schema-5 store asks for mlfs upgrade"
[ "$(sqlite3 "$S5/mlfs.db" 'PRAGMA user_version')" = 5 ] &&
	ok "reading a schema-5 store leaves it alone" ||
	fail "a reading command migrated the schema-5 store"
expect_exit 0 "$MLFS" upgrade --store "$S5"
expect_out "upgraded store" "upgrade 5 -> 7 says it upgraded"
[ "$(sqlite3 "$S5/mlfs.db" 'PRAGMA user_version')" = 7 ] &&
	ok "upgrade 5 -> 7" || fail "schema-5 store not upgraded"
expect_exit 0 "$MLFS" branch --store "$S5" -r t/r
[ ! -s "$OUT_F" ] && ok "an upgraded store has no tracking refs" ||
	fail "tracking refs after the upgrade: $(cat "$OUT_F")"
expect_exit 1 "$MLFS" log --store "$S5" t/r@origin/main
expect_err "remote 'origin' had no branch 'main' of 't/r'" \
	"@origin/main in an upgraded store: no such tracking ref"
expect_exit 0 "$MLFS" cat --store "$S5" t/r@v1/a
expect_out '^five$' "the schema-5 store reads back after the upgrade"
expect_exit 0 "$MLFS" fsck --store "$S5"

# A schema-6 store (before version metadata synced with remotes): refused
# by reading commands with the upgrade hint, untouched by them; the
# upgrade adds the remote_vmeta table, empty; the store reads as before,
# keeps its metadata and tracking refs' table, and fsck is clean.
S6=$(new_store)
echo six >"$W/src/a"
expect_exit 0 "$MLFS" import --store "$S6" "$W/src" t/r -q -t v1 --meta acc=0.6
expect_exit 0 "$MLFS" remote add --store "$S6" origin s3://bucket/p
sqlite3 "$S6/mlfs.db" "DROP TABLE remote_vmeta; PRAGMA user_version = 6;"
expect_exit 1 "$MLFS" meta --store "$S6" t/r@v1
expect_err "made by an older mlfs; run 'mlfs upgrade --store $S6'" \
	"a schema-6 store asks for mlfs upgrade"
[ "$(sqlite3 "$S6/mlfs.db" 'PRAGMA user_version')" = 6 ] &&
	ok "reading a schema-6 store leaves it alone" ||
	fail "a reading command migrated the schema-6 store"
expect_exit 0 "$MLFS" upgrade --store "$S6"
expect_out "upgraded store" "upgrade 6 -> 7 says it upgraded"
[ "$(sqlite3 "$S6/mlfs.db" 'PRAGMA user_version')" = 7 ] &&
	ok "upgrade 6 -> 7" || fail "schema-6 store not upgraded"
[ "$(sqlite3 "$S6/mlfs.db" 'SELECT count(*) FROM remote_vmeta')" = 0 ] &&
	ok "an upgraded store has no sync rows" || fail "sync rows after the upgrade"
expect_exit 0 "$MLFS" meta --store "$S6" t/r@v1
expect_out '^acc=0.6$' "the schema-6 store keeps its metadata"
expect_exit 0 "$MLFS" cat --store "$S6" t/r@v1/a
expect_out '^six$' "the schema-6 store reads back after the upgrade"
expect_exit 0 "$MLFS" fsck --store "$S6"

# A store newer than this mlfs is refused, not touched.
S2=$(new_store)
sqlite3 "$S2/mlfs.db" "PRAGMA user_version = 99"
expect_exit 1 "$MLFS" upgrade --store "$S2"
expect_err "made by a newer mlfs" "upgrade refuses a newer store"
expect_exit 1 "$MLFS" repos --store "$S2"
expect_err "made by a newer mlfs" "repos refuses a newer store"

summary
