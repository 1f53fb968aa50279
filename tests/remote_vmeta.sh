#!/bin/bash
# tests/remote_vmeta.sh - version metadata and inputs that change after a
# push, against a real Ceph RADOS Gateway (tests/s3/rgw.sh): mlfs meta
# after a push reaches the remote (vmeta/<commit>) and clones and fetches
# bring it; an unchanged store takes the remote's, one changed on both
# sides is rejected on push (--force overwrites, audited) and kept on
# fetch; unset propagates; inputs the pushing store lacks stay on the
# remote; a damaged vmeta object fails the fetch naming its key; two
# concurrent pushes of the same commit's metadata: one wins.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/s3/server.sh"

s3_server_start
export S3_BUCKET=mlfs-vmeta
W=$(mktmp)
check "make the bucket" "$PROBE" mkbucket
probe() { S3_PREFIX=v/ "$PROBE" "$@"; }
URL=s3://mlfs-vmeta/v
clone() { "$MLFS" clone "$URL" --endpoint "$EP" --store "$1" >/dev/null 2>&1; }
# the value of key $3 of version $2 in store $1 ("" when unset)
getv() {
	"$MLFS" meta --store "$1" "$2" --json 2>/dev/null |
		"$PY" -c "import json,sys; print(json.load(sys.stdin)['meta'].get('$3', ''))"
}

# ---- store A: ml/data, and ml/model made from it, with metadata
A=$(new_store)
mkdir -p "$W/d" "$W/m"
echo rows >"$W/d/train.csv"
echo weights >"$W/m/w.bin"
check "import ml/data" "$MLFS" import --store "$A" "$W/d" ml/data -q
check "import ml/model" "$MLFS" import --store "$A" "$W/m" ml/model -q -t v1 \
	--input ml/data@main --meta acc=0.5 --meta stage=dev
c=$(resolve "$A" ml/model@v1)
short=${c:0:12}
expect_exit 0 "$MLFS" remote add --store "$A" origin "$URL" --endpoint "$EP"
# push ml/model only: a clone made now lacks ml/data, so the input row
expect_exit 0 "$MLFS" push --store "$A" ml/model --json
json_ok "a first push has no metadata updates" 'd["metadata"] == [] and d["commits"] == 1'
B=$(mktmp)/b
check "B: clone" clone "$B"
expect_exit 0 "$MLFS" lineage --store "$B" ml/model@v1
! grep -q "ml/data" "$OUT_F" && ok "B lacks the input (ml/data not pushed)" ||
	fail "B has the input: $(cat "$OUT_F")"
expect_exit 0 "$MLFS" push --store "$A"
probe ls vmeta/ >"$W/ls" 2>/dev/null
[ ! -s "$W/ls" ] && ok "no vmeta object while nothing changed" ||
	fail "vmeta objects: $(cat "$W/ls")"

# ---- meta set after the push, push: a fresh clone sees it
expect_exit 0 "$MLFS" meta --store "$A" ml/model@v1 acc=0.9
expect_exit 0 "$MLFS" push --store "$A"
expect_out "^   \[metadata\]	ml/model@$short \(updated\)$" "push reports the metadata update"
expect_exit 0 "$MLFS" push --store "$A" --json
json_ok "a second push has nothing to send" 'd["metadata"] == [] and d["rejected"] == 0'
probe ls vmeta/ >"$W/ls" 2>/dev/null
[ "$(wc -l <"$W/ls")" = 1 ] && grep -q "^vmeta/$c " "$W/ls" &&
	ok "the bucket has vmeta/<commit>" || fail "vmeta objects: $(cat "$W/ls")"
C=$(mktmp)/c
check "C: fresh clone" clone "$C"
[ "$(getv "$C" ml/model@v1 acc)" = 0.9 ] && ok "the fresh clone has the new value" ||
	fail "clone: acc=$(getv "$C" ml/model@v1 acc)"
expect_exit 0 "$MLFS" lineage --store "$C" ml/model@v1
expect_out "^  ml/data " "the fresh clone has the input (lineage)"

# ---- B has not changed it: fetch takes A's, and the input B lacked
expect_exit 0 "$MLFS" fetch --store "$B"
expect_out "^   \[metadata\]	ml/model@$short \(updated from the remote\)$" \
	"fetch reports the metadata it took"
[ "$(getv "$B" ml/model@v1 acc)" = 0.9 ] && ok "B has A's value" ||
	fail "B: acc=$(getv "$B" ml/model@v1 acc)"
expect_exit 0 "$MLFS" audit --store "$B" ml/model --json
json_ok "the change fetched is audited as mlfs meta audits it" \
	"[(e['op'], e['ref'], e['message']) for e in d if e['op'].startswith('meta-')] == [('meta-set', 'meta:acc', '0.9')] and ' fetch --store ' in d[-1]['command']"
expect_exit 0 "$MLFS" lineage --store "$B" ml/model@v1
expect_out "^  ml/data " "B's lineage gets the input it lacked"
expect_exit 0 "$MLFS" fetch --store "$B" --json
json_ok "a second fetch has nothing to take" 'd["metadata"] == []'

# ---- unset propagates
expect_exit 0 "$MLFS" meta --store "$A" ml/model@v1 --unset stage
expect_exit 0 "$MLFS" push --store "$A"
expect_exit 0 "$MLFS" fetch --store "$B"
expect_exit 0 "$MLFS" meta --store "$B" ml/model@v1
if grep -q "^acc=0.9$" "$OUT_F" && ! grep -q "^stage=" "$OUT_F"; then
	ok "an unset key is gone in B"
else
	fail "B's metadata: $(cat "$OUT_F")"
fi
expect_exit 0 "$MLFS" audit --store "$B" ml/model --json
json_ok "the unset fetched is audited" "d[-1]['op'] == 'meta-unset' and d[-1]['ref'] == 'meta:stage'"

# ---- both changed: B's push is rejected, nothing lost; fetch keeps B's
expect_exit 0 "$MLFS" meta --store "$A" ml/model@v1 acc=1.0
expect_exit 0 "$MLFS" push --store "$A"
expect_exit 0 "$MLFS" meta --store "$B" ml/model@v1 acc=2.0 note=b
expect_exit 1 "$MLFS" push --store "$B"
expect_out "^ ! \[rejected\]	metadata of ml/model@$short changed on the remote \(fetch first\)$" \
	"B's push names the rejected metadata"
expect_err "metadata of 1 version\(s\) rejected by remote 'origin'" \
	"B's push says why it failed"
[ "$(getv "$B" ml/model@v1 acc)" = 2.0 ] && ok "B keeps its value" ||
	fail "B: acc=$(getv "$B" ml/model@v1 acc)"
expect_exit 0 "$MLFS" fetch --store "$C"
[ "$(getv "$C" ml/model@v1 acc)" = 1.0 ] && ok "the remote keeps A's value" ||
	fail "remote: acc=$(getv "$C" ml/model@v1 acc)"
expect_exit 0 "$MLFS" fetch --store "$B" --json
json_ok "B's fetch reports the divergence" \
	"d['metadata'] == [{'repo': 'ml/model', 'commit': '$c', 'status': 'diverged'}]"
expect_err "metadata of ml/model@$short diverged \(local and remote changed\)" \
	"the divergence is on stderr"
[ "$(getv "$B" ml/model@v1 acc)" = 2.0 ] && ok "fetch keeps B's value" ||
	fail "B after fetch: acc=$(getv "$B" ml/model@v1 acc)"
expect_exit 1 "$MLFS" pull --store "$B"
expect_out "^ ! \[diverged\]	metadata of ml/model@$short" "pull names it and fails"

# ---- --force overwrites, audited
expect_exit 0 "$MLFS" push --store "$B" --force
expect_out "^ \+ \[metadata\]	ml/model@$short \(forced update\)$" "--force overwrites"
expect_exit 0 "$MLFS" audit --store "$B" --json
json_ok "the forced metadata push is in the audit log" \
	"any(e['op'] == 'push-force' and e.get('ref') == 'meta' for e in d)"
expect_exit 0 "$MLFS" fetch --store "$C"
[ "$(getv "$C" ml/model@v1 acc)" = 2.0 ] && [ "$(getv "$C" ml/model@v1 note)" = b ] &&
	ok "C takes the forced value" || fail "C: acc=$(getv "$C" ml/model@v1 acc)"
expect_exit 0 "$MLFS" fetch --store "$A" --json
json_ok "A, unchanged since its push, takes it" \
	"d['metadata'] == [{'repo': 'ml/model', 'commit': '$c', 'status': 'fetched'}]"

# ---- a vmeta object B made keeps the inputs: a clone of it has them
D=$(mktmp)/d
check "D: fresh clone" clone "$D"
expect_exit 0 "$MLFS" lineage --store "$D" ml/model@v1
expect_out "^  ml/data " "the input survives B's pushes"

# ---- a damaged vmeta object: fetch fails naming it, nothing changed
expect_exit 0 "$MLFS" meta --store "$A" ml/model@v1 acc=3.0
expect_exit 0 "$MLFS" push --store "$A"
probe get "vmeta/$c" >"$W/vm" 2>/dev/null
cp "$W/vm" "$W/vm.good"
printf '\x01' | dd of="$W/vm" bs=1 seek=30 conv=notrunc 2>/dev/null
probe put "vmeta/$c" "$W/vm" >/dev/null 2>&1
expect_exit 1 "$MLFS" fetch --store "$C"
expect_err "remote object mlfs-vmeta/v/vmeta/$c is damaged" \
	"a damaged vmeta object is an error naming its key"
[ "$(getv "$C" ml/model@v1 acc)" = 2.0 ] && ok "C's metadata is untouched" ||
	fail "C: acc=$(getv "$C" ml/model@v1 acc)"
E=$(mktmp)/e
expect_exit 1 "$MLFS" clone "$URL" --endpoint "$EP" --store "$E"
expect_err "vmeta/$c is damaged" "a clone fails on it too"
probe put "vmeta/$c" "$W/vm.good" >/dev/null 2>&1
expect_exit 0 "$MLFS" fetch --store "$C"
[ "$(getv "$C" ml/model@v1 acc)" = 3.0 ] && ok "the repaired object fetches" ||
	fail "C after repair: acc=$(getv "$C" ml/model@v1 acc)"
# another commit's vmeta object copied under this key
expect_exit 0 "$MLFS" meta --store "$A" ml/data value=1
expect_exit 0 "$MLFS" push --store "$A"
cd_=$(resolve "$A" ml/data)
probe get "vmeta/$cd_" >"$W/vmd" 2>/dev/null
probe put "vmeta/$c" "$W/vmd" >/dev/null 2>&1
expect_exit 1 "$MLFS" fetch --store "$C"
expect_err "remote object mlfs-vmeta/v/vmeta/$c is damaged \(check value or id mismatch\)" \
	"another commit's object under the key is refused"
probe put "vmeta/$c" "$W/vm.good" >/dev/null 2>&1
expect_exit 0 "$MLFS" fetch --store "$C"

# ---- two stores push the same commit's metadata at once: one wins
expect_exit 0 "$MLFS" fetch --store "$A"
expect_exit 0 "$MLFS" meta --store "$A" ml/model@v1 race=a
expect_exit 0 "$MLFS" meta --store "$C" ml/model@v1 race=c
( "$MLFS" push --store "$A" >"$W/pa.out" 2>&1; echo $? >"$W/pa.rc" ) &
( "$MLFS" push --store "$C" >"$W/pc.out" 2>&1; echo $? >"$W/pc.rc" ) &
wait
ra=$(cat "$W/pa.rc") rc_=$(cat "$W/pc.rc")
if { [ "$ra" = 0 ] && [ "$rc_" = 1 ]; } || { [ "$ra" = 1 ] && [ "$rc_" = 0 ]; }; then
	ok "exactly one concurrent push wins ($ra, $rc_)"
else
	fail "concurrent pushes exited $ra and $rc_: $(cat "$W/pa.out" "$W/pc.out")"
fi
if [ "$ra" = 0 ]; then win=a lose=pc; else win=c lose=pa; fi
grep -q "metadata of ml/model@$short changed on the remote" "$W/$lose.out" &&
	ok "the loser is rejected" || fail "loser: $(cat "$W/$lose.out")"
F=$(mktmp)/f
check "F: fresh clone" clone "$F"
[ "$(getv "$F" ml/model@v1 race)" = $win ] && ok "the remote has the winner's value" ||
	fail "remote: race=$(getv "$F" ml/model@v1 race), winner $win"

# ---- a store with no sync rows (its pushes before schema 7): the
# commit objects are taken as last synced, read once
G=$(mktmp)/g
check "G: clone" clone "$G"
sqlite3 "$G/mlfs.db" "DELETE FROM remote_vmeta"
expect_exit 0 "$MLFS" push --store "$G" --json
json_ok "without rows, unchanged metadata sends nothing" 'd["metadata"] == [] and d["rejected"] == 0'
[ "$(sqlite3 "$G/mlfs.db" "SELECT count(*) FROM remote_vmeta")" -ge 2 ] &&
	ok "the push wrote the rows it lacked" || fail "no rows after the push"
mkdir -p "$W/n" && echo new >"$W/n/f"
check "G: import ml/new" "$MLFS" import --store "$G" "$W/n" ml/new -q --meta k=1
cn=$(resolve "$G" ml/new)
expect_exit 0 "$MLFS" push --store "$G" ml/new
sqlite3 "$G/mlfs.db" "DELETE FROM remote_vmeta"
expect_exit 0 "$MLFS" meta --store "$G" ml/new k=2
expect_exit 0 "$MLFS" push --store "$G" ml/new
expect_out "^   \[metadata\]	ml/new@${cn:0:12} \(updated\)$" \
	"without a row, a change over the commit object's is pushed"
sqlite3 "$G/mlfs.db" "DELETE FROM remote_vmeta"
expect_exit 0 "$MLFS" meta --store "$G" ml/data value=2
expect_exit 1 "$MLFS" push --store "$G"
expect_out "metadata of ml/data@${cd_:0:12} changed on the remote" \
	"without a row, a change over the remote's vmeta object is rejected"
expect_exit 0 "$MLFS" push --store "$G" --force
expect_out "^ \+ \[metadata\]	ml/data@${cd_:0:12} \(forced update\)$" "and --force overwrites it"
H=$(mktmp)/h
check "H: fresh clone" clone "$H"
[ "$(getv "$H" ml/data value)" = 2 ] && [ "$(getv "$H" ml/new k)" = 2 ] &&
	ok "the fresh clone has G's values" ||
	fail "H: value=$(getv "$H" ml/data value) k=$(getv "$H" ml/new k)"

# ---- sync rows: fsck, damage, remote remove
[ "$(sqlite3 "$A/mlfs.db" "SELECT count(*) FROM remote_vmeta WHERE remote = 'origin'")" -ge 1 ] &&
	ok "A has sync rows" || fail "A has no sync rows"
expect_exit 0 "$MLFS" fsck --store "$A"
sqlite3 "$A/mlfs.db" "UPDATE remote_vmeta SET etag = 'x' WHERE commit_id = x'$c'"
expect_exit 1 "$MLFS" fsck --store "$A"
expect_out "damaged vmeta sync $c: row of remote .origin.: check value mismatch" "fsck names a damaged sync row"
# a damaged row is taken as none: the push looks at the commit object
expect_exit 0 "$MLFS" meta --store "$A" ml/model@v1 race=a2
expect_exit 1 "$MLFS" push --store "$A"
expect_out "metadata of ml/model@$short changed on the remote" \
	"with its row damaged, A's push does not overwrite the remote"
expect_exit 0 "$MLFS" remote remove --store "$A" origin
[ "$(sqlite3 "$A/mlfs.db" "SELECT count(*) FROM remote_vmeta")" = 0 ] &&
	ok "remote remove drops its sync rows" || fail "sync rows left after remote remove"

summary
