#!/bin/bash
# tests/remote.sh - S3 remotes against a real Ceph RADOS Gateway
# (tests/s3/rgw.sh): remote add/remove/list, push, clone, fetch/pull,
# reads of chunks that stay in the bucket (byte-identical exports of every
# version, a bounded cache), non-fast-forwards, tags, concurrent pushes,
# pack lists (a fetch reads only the pack indexes it needs), and the
# faults: wrong credentials, missing bucket, damaged objects in the
# bucket, the gateway stopped in the middle of a push.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/s3/server.sh"

s3_server_start
export S3_BUCKET=mlfs-remote
W=$(mktmp)
check "make the bucket" "$PROBE" mkbucket

# bucket objects of the remote at prefix "m/"
probe() { S3_PREFIX=m/ "$PROBE" "$@"; }
# export every version of $2 (ns/name) in store $1 under $3/<commit>
export_all() {
	local c
	for c in $("$MLFS" log --store "$1" "$2" --json 2>/dev/null |
		"$PY" -c 'import json,sys; [print(c["commit"]) for c in json.load(sys.stdin)]'); do
		"$MLFS" export --store "$1" "$2@$c" "$3/$c" >/dev/null || return 1
	done
}

# ---- store A: three versions (symlink, empty file, subdirectories,
# a 3 MB file changed in place), a tag, an alias, version metadata
A=$(new_store)
mkdir -p "$W/src/d/e"
gen random 3000000 1 >"$W/src/big" 2>/dev/null ||
	head -c 3000000 /dev/urandom >"$W/src/big"
echo one >"$W/src/d/a"
: >"$W/src/empty"
ln -s d/a "$W/src/link"
echo deep >"$W/src/d/e/f"
check "import v1" "$MLFS" import --store "$A" "$W/src" ml/model -q -t v1
printf 'X%.0s' $(seq 1 4096) | dd of="$W/src/big" bs=1 seek=1000000 conv=notrunc 2>/dev/null
echo two >>"$W/src/d/a"
check "import v2" "$MLFS" import --store "$A" "$W/src" ml/model -q -m second \
	--meta acc=0.91
rm "$W/src/d/e/f"
check "import v3" "$MLFS" import --store "$A" "$W/src" ml/model -q -t v3
check "alias prod" "$MLFS" alias --store "$A" ml/model@v1 prod
check "a second repository" "$MLFS" import --store "$A" "$W/src/d" ml/data -q

# ---- remote add / list / remove, bad input
expect_exit 0 "$MLFS" remote add --store "$A" origin s3://mlfs-remote/m \
	--endpoint "$EP"
expect_exit 1 "$MLFS" remote add --store "$A" origin s3://mlfs-remote/x \
	--endpoint "$EP"
expect_err "remote 'origin' already exists" "a taken name is refused"
for bad in "a/b" ".." "a..b" ".x" "a@b" "$(printf 'x%.0s' $(seq 1 65))"; do
	expect_exit 2 "$MLFS" remote add --store "$A" "$bad" s3://mlfs-remote/m
	expect_err "invalid remote name" "remote name '${bad:0:12}' refused"
done
for bad in "http://mlfs-remote/m" "s3://UP/m" "s3://ab" "s3://mlfs-remote/a/../b" \
	"s3://mlfs-remote/a//b"; do
	expect_exit 2 "$MLFS" remote add --store "$A" bad "$bad"
	expect_err "invalid remote URL" "URL '$bad' refused"
done
expect_exit 2 "$MLFS" remote add --store "$A" bad s3://mlfs-remote/m \
	--endpoint "ftp://x"
expect_err "invalid endpoint" "an endpoint that is not http(s) is refused"
expect_exit 2 "$MLFS" remote add --store "$A" bad s3://mlfs-remote/m \
	--endpoint "http://u:pw-in-url@127.0.0.1:80"
expect_err "credentials do not go in the endpoint" \
	"an endpoint with a password is refused, saying why"
if grep -q "pw-in-url" "$A/mlfs.db" "$ERR_F" 2>/dev/null; then
	fail "a password in an endpoint was stored or echoed"
else
	ok "a password in an endpoint is neither stored nor echoed"
fi
for bad in "http://h:99999" "http://h:" "http://h:80?x" "http://h/path" \
	"http://"; do
	expect_exit 2 "$MLFS" remote add --store "$A" bad s3://mlfs-remote/m \
		--endpoint "$bad"
	expect_err "invalid endpoint: " "endpoint '$bad' refused"
done
expect_exit 0 "$MLFS" remote add --store "$A" slash s3://mlfs-remote/slash \
	--endpoint "$EP/"
expect_exit 0 "$MLFS" remote list --store "$A"
expect_out "^slash	s3://mlfs-remote/slash	--endpoint $EP$" \
	"an endpoint's final / is dropped"
expect_exit 0 "$MLFS" remote remove --store "$A" slash
expect_exit 0 "$MLFS" remote add --store "$A" spare s3://mlfs-remote/spare \
	--region eu-west-1 --cache-size 64M
expect_exit 0 "$MLFS" remote list --store "$A"
expect_out "^origin	s3://mlfs-remote/m	--endpoint $EP$" "list shows the remote"
expect_exit 0 "$MLFS" remote list --store "$A" --json
json_ok "list --json" 'd[1]["name"] == "spare" and d[1]["prefix"] == "spare/" and d[1]["region"] == "eu-west-1" and d[1]["cache_size"] == 64 << 20 and d[0]["cache_size"] == 1 << 30'
if ! grep -q "$AWS_SECRET_ACCESS_KEY" "$A/mlfs.db" "$A/config" 2>/dev/null; then
	ok "no credentials in the store"
else
	fail "the secret key is in the store"
fi
expect_exit 0 "$MLFS" remote remove --store "$A" spare
expect_exit 1 "$MLFS" remote remove --store "$A" spare
expect_err "no remote 'spare'" "removing an unknown remote"
expect_exit 1 "$MLFS" push --store "$A" nosuch
expect_err "no remote 'nosuch'" "push to an unknown remote"
expect_exit 2 "$MLFS" push --store "$A" origin ml/model@origin/main
expect_err "without a path or a remote's branch \(@REMOTE/BRANCH\)" \
	"push of a remote's branch: said so (not 'a path is not allowed')"

# ---- push, and push again
expect_exit 0 "$MLFS" push --store "$A" --json
json_ok "first push uploads packs, commits and every ref" \
	'd["packs"] >= 1 and d["commits"] == 4 and d["rejected"] == 0 and sorted((r["repo"], r["kind"], r["name"], r["status"]) for r in d["refs"]) == [("ml/data","branch","main","created"), ("ml/model","alias","prod","created"), ("ml/model","branch","main","created"), ("ml/model","tag","v1","created"), ("ml/model","tag","v3","created")]'
expect_exit 0 "$MLFS" push --store "$A" --json
json_ok "a second push uploads nothing" \
	'd["packs"] == 0 and d["commits"] == 0 and d["trees"] == 0 and d["contents"] == 0 and all(r["status"] == "up-to-date" for r in d["refs"])'
probe ls refs/ >"$W/refs" 2>/dev/null
if [ "$(wc -l <"$W/refs")" = 5 ] && grep -q "^refs/ml/model/aliases/prod " "$W/refs" &&
	grep -q "^refs/ml/model/tags/v1 " "$W/refs"; then
	ok "the bucket has the five refs under refs/NS/NAME/"
else
	fail "refs in the bucket: $(cat "$W/refs")"
fi
probe get config >"$W/config" 2>/dev/null
if grep -q "^layout = 1$" "$W/config" &&
	[ "$(grep '^hash_key' "$W/config")" = "$(grep '^hash_key' "$A/config")" ]; then
	ok "the remote's config has the layout and the store's hash key"
else
	fail "remote config: $(head -3 "$W/config")"
fi

# ---- clone: metadata from the bucket, data read through ranged GETs
B=$(mktmp)/b
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$B"
expect_out "cloned s3://mlfs-remote/m into $B" "clone says where"
[ ! -e "$B/packs/"*.mlp ] 2>/dev/null && ls "$B/packs" | grep -q . &&
	fail "clone copied pack files" || ok "clone downloads no pack"
for repo in ml/model ml/data; do
	# log names the tags, branches and aliases at each commit
	for cmd in "log $repo" "ls -l -R $repo@v1" \
		"ls -l -R $repo@v3" "ls -l -R $repo" "meta $repo@main~1"; do
		case $repo:$cmd in ml/data:*v1* | ml/data:*v3* | ml/data:*~1*) continue ;; esac
		# shellcheck disable=SC2086
		"$MLFS" $cmd --store "$A" >"$W/a.out" 2>&1
		# shellcheck disable=SC2086
		"$MLFS" $cmd --store "$B" >"$W/b.out" 2>&1
		if cmp -s "$W/a.out" "$W/b.out" && [ -s "$W/a.out" ]; then
			ok "clone: '$cmd' is the same"
		else
			fail "clone: '$cmd' differs"
			diff "$W/a.out" "$W/b.out" | head -5
		fi
	done
done
mkdir -p "$W/ea" "$W/eb"
if export_all "$A" ml/model "$W/ea" && export_all "$B" ml/model "$W/eb" &&
	[ "$(ls "$W/eb" | wc -l)" = 3 ] && diff -r --no-dereference "$W/ea" "$W/eb" >/dev/null; then
	ok "every version exported from the clone is byte-identical"
else
	fail "exports of the clone differ"
fi
cached=$(du -s -B1 "$B/remote-cache/origin" 2>/dev/null | cut -f1)
if [ "${cached:-0}" -gt 3000000 ] && [ "$cached" -lt 8000000 ]; then
	ok "the chunks read are in the local cache ($cached bytes)"
else
	fail "remote cache holds ${cached:-nothing}"
fi
# Damaged cache files are misses, never bytes: every block file gets a
# run of bytes flipped in each of its 4 KiB pages; the next export reads
# the bucket again and is still byte-identical.
"$PY" - "$B/remote-cache/origin" <<'EOF'
import os, sys
d = sys.argv[1]
for n in os.listdir(d):
    p = os.path.join(d, n)
    with open(p, "r+b") as f:
        size = os.path.getsize(p)
        for off in range(100, size, 4096):
            f.seek(off)
            b = f.read(8)
            f.seek(off)
            f.write(bytes(x ^ 0x5A for x in b))
EOF
rm -rf "$W/eb"
mkdir -p "$W/eb"
export_all "$B" ml/model "$W/eb" && diff -r --no-dereference "$W/ea" "$W/eb" >/dev/null &&
	ok "damaged cache files are fetched again: exports still byte-identical" ||
	fail "exports after damaging the remote cache differ"
expect_exit 0 "$MLFS" fsck --store "$B"
expect_out " 0 problems" "fsck of the clone: remote packs are not missing ones"
expect_exit 0 "$MLFS" fsck --store "$B" --read-data
expect_out " 0 problems" "fsck --read-data of the clone reads the remote chunks"
expect_exit 0 "$MLFS" cat --store "$B" ml/model@v1/d/a
expect_out "^one$" "cat of a clone"

# A bounded cache: 1 MiB for a 3 MB file.
C=$(mktmp)/c
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$C" \
	--cache-size 1M
"$MLFS" cat --store "$C" ml/model@v1/big >"$W/big1" 2>"$ERR_F"
cached=$(du -s -B1 "$C/remote-cache/origin" 2>/dev/null | cut -f1)
if cmp -s "$W/big1" "$W/ea/$(resolve "$A" ml/model@v1)/big" &&
	[ "${cached:-0}" -gt 0 ] && [ "$cached" -le $((1048576 + 300000)) ]; then
	ok "a 1 MiB cache stays bounded ($cached bytes), the bytes are right"
else
	fail "bounded cache: ${cached:-none} bytes"
fi

expect_exit 1 "$MLFS" fetch --store "$C" --data ml/model@v1
expect_err "more than its cache holds" "fetch --data of more than the cache holds is refused"

# ---- clone into a non-empty directory, bad URL
mkdir -p "$W/full" && echo x >"$W/full/x"
expect_exit 1 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$W/full"
expect_err "not empty" "clone into a non-empty directory is refused"
expect_exit 1 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$B"
expect_err "already an mlfs store" "clone into a store is refused"
expect_exit 2 "$MLFS" clone "mlfs-remote/m" --store "$W/n1"
expect_err "invalid remote URL" "clone of a bad URL"
expect_exit 1 "$MLFS" clone "s3://mlfs-remote/nothing" --endpoint "$EP" --store "$W/n2"
expect_err "no mlfs remote at s3://mlfs-remote/nothing" "clone of an empty prefix"

# ---- fetch brings only what is new; pull fast-forwards
echo three >>"$W/src/d/a"
check "A: import v4" "$MLFS" import --store "$A" "$W/src" ml/model -q -m four
expect_exit 0 "$MLFS" push --store "$A" --json
json_ok "the push of one new version uploads one commit" \
	'd["commits"] == 1 and d["contents"] == 1 and [r["status"] for r in d["refs"] if r["kind"] == "branch" and r["repo"] == "ml/model"] == ["fast-forward"]'
expect_exit 0 "$MLFS" fetch --store "$B" --json
json_ok "fetch brings one commit, the branch is behind" \
	'd["commits"] == 1 and d["contents"] == 1 and [r["status"] for r in d["refs"] if r["kind"] == "branch" and r["repo"] == "ml/model"] == ["behind"]'
expect_exit 0 "$MLFS" fetch --store "$B" --json
json_ok "fetch again brings nothing" 'd["commits"] == 0 and d["packs"] == 0'
expect_exit 0 "$MLFS" pull --store "$B"
expect_out "\.\..*ml/model branch main" "pull fast-forwards main"
[ "$(resolve "$B" ml/model)" = "$(resolve "$A" ml/model)" ] &&
	ok "B's main is A's" || fail "B's main did not move"
expect_exit 0 "$MLFS" cat --store "$B" ml/model/d/a
expect_out "three" "the pulled version reads"
expect_exit 0 "$MLFS" audit --store "$B" ml/model
expect_out "pull" "the fast-forward is in B's audit log"

# ---- two clones push to main from the same base: one wins
C2=$(mktmp)/c2
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$C2"
echo b >"$W/b.txt"
echo c >"$W/c.txt"
check "B: new version" "$MLFS" import --store "$B" "$W/b.txt" ml/model -q
check "C2: new version" "$MLFS" import --store "$C2" "$W/c.txt" ml/model -q
expect_exit 0 "$MLFS" push --store "$B" ml/model@main
expect_exit 1 "$MLFS" push --store "$C2" ml/model@main
expect_out "rejected.*ml/model branch main \(non-fast-forward, fetch first\)" \
	"the second push is rejected as a non-fast-forward"
expect_err "rejected by remote 'origin'; fetch first" "and says to fetch first"
expect_exit 1 "$MLFS" pull --store "$C2"
expect_out "diverged.*ml/model branch main" "pull of a diverged branch leaves it"
[ "$(resolve "$C2" ml/model)" != "$(resolve "$B" ml/model)" ] &&
	ok "C2 keeps its own commit" || fail "C2's branch moved"
# the diverged branch's remote head has a name: origin/main (tracking)
bmain=$(resolve "$B" ml/model)
c2main=$(resolve "$C2" ml/model)
[ "$(resolve "$C2" ml/model@origin/main)" = "$bmain" ] &&
	ok "C2: ml/model@origin/main is what B pushed" ||
	fail "C2: origin/main is not B's commit"
[ "$(resolve "$C2" ml/model@origin/main~1)" = "$(resolve "$B" ml/model@main~1)" ] &&
	ok "C2: ~N after @origin/main" || fail "C2: origin/main~1 wrong"
expect_exit 0 "$MLFS" log --store "$C2" ml/model@origin/main --json
json_ok "log NS/NAME@origin/main starts at the pushed commit" \
	"d[0]['commit'] == '$bmain'"
expect_exit 0 "$MLFS" branch --store "$C2" -r ml/model
expect_out "^  origin/main +${bmain:0:12}\$" "branch -r lists origin/main"
expect_exit 0 "$MLFS" branch --store "$C2" -r ml/model --json
json_ok "branch -r --json" \
	"d == [{'name': 'origin/main', 'remote': 'origin', 'branch': 'main', 'commit': '$bmain'}]"
expect_exit 1 "$MLFS" diff --store "$C2" ml/model ml/model@origin/main
expect_out "b.txt" "diff between main and origin/main names the files"
rm -rf "$W/x-c2" "$W/x-b"
expect_exit 0 "$MLFS" export --store "$C2" ml/model@origin/main "$W/x-c2"
expect_exit 0 "$MLFS" export --store "$B" ml/model "$W/x-b"
diff -r "$W/x-c2" "$W/x-b" >/dev/null &&
	ok "export of @origin/main is byte-identical to the pusher's" ||
	fail "export of @origin/main differs from B's"
expect_exit 0 "$MLFS" cat --store "$C2" ml/model@origin/main/b.txt
expect_out "^b$" "cat NS/NAME@origin/main/PATH"
expect_exit 2 "$MLFS" log --store "$C2" ml/model@origin/
expect_err "'@origin/' names no branch" "@origin/ is a usage error"
expect_exit 2 "$MLFS" log --store "$C2" ml/model@/main
expect_err "'@' must be followed by a ref" "@/main is a usage error"
expect_exit 1 "$MLFS" log --store "$C2" ml/model@nosuch/main
expect_err "no remote 'nosuch'" "@nosuch/main: no such remote"
expect_exit 1 "$MLFS" log --store "$C2" ml/model@origin/nosuch
expect_err "remote 'origin' had no branch 'nosuch' of 'ml/model'" \
	"@origin/nosuch: no such remote branch"
expect_exit 2 "$MLFS" log --store "$C2" "ml/model@origin/main@{2024-01-01}"
expect_err "has no history" "@origin/main@{date} is refused"
# a damaged tracking row is an error naming it, fsck names it, and the
# next fetch writes it again
sqlite3 "$C2/mlfs.db" "UPDATE tracking SET commit_id = (SELECT commit_id FROM refs WHERE kind = 'b' AND name = 'main' AND repo_id = tracking.repo_id) WHERE branch = 'main'"
expect_exit 1 "$MLFS" log --store "$C2" ml/model@origin/main
expect_err "tracking ref 'origin/main' of 'ml/model'.*check value mismatch" \
	"a damaged tracking row: the error names it"
expect_exit 1 "$MLFS" fsck --store "$C2"
expect_out "^damaged tracking origin/main \(ml/model\): its row does not match its check value" \
	"fsck names a damaged tracking row"
expect_exit 0 "$MLFS" fetch --store "$C2"
[ "$(resolve "$C2" ml/model@origin/main)" = "$bmain" ] &&
	ok "fetch writes the tracking row again" || fail "tracking row not repaired"
expect_exit 0 "$MLFS" push --store "$C2" ml/model@main --force
expect_out "forced update" "--force moves it"
expect_exit 0 "$MLFS" audit --store "$C2" ml/model
expect_out "push-force" "the forced push is in the audit log"
expect_exit 0 "$MLFS" fetch --store "$B"
expect_out "diverged.*ml/model branch main" "B now sees its branch diverged"
# tracking refs follow the remote, also aside (a forced push)
[ "$(resolve "$B" ml/model@origin/main)" = "$c2main" ] &&
	ok "after the forced push B's origin/main is C2's commit" ||
	fail "B's origin/main did not follow the forced push"
[ "$(resolve "$C2" ml/model@origin/main)" = "$c2main" ] &&
	ok "the forced push moved C2's own origin/main" ||
	fail "C2's origin/main after its push"
[ "$(resolve "$B" ml/model)" = "$bmain" ] && ok "B's main stays" ||
	fail "B's main moved"
expect_exit 0 "$MLFS" gc --store "$B"
rm -rf "$W/x-b2" "$W/x-c22"
expect_exit 0 "$MLFS" export --store "$B" ml/model@origin/main "$W/x-b2"
expect_exit 0 "$MLFS" export --store "$C2" ml/model "$W/x-c22"
diff -r "$W/x-b2" "$W/x-c22" >/dev/null &&
	ok "after gc, @origin/main reads back as the pusher's version" ||
	fail "after gc, @origin/main differs"

# tags are create-only on the remote
check "B: tag x at main" "$MLFS" tag --store "$B" ml/model x
check "C2: tag x at main~1" "$MLFS" tag --store "$C2" ml/model@main~1 x
expect_exit 0 "$MLFS" push --store "$B" ml/model@x
expect_exit 1 "$MLFS" push --store "$C2" ml/model@x
expect_out "rejected.*ml/model tag x" "a tag elsewhere on the remote is rejected"
expect_exit 1 "$MLFS" push --store "$C2" ml/model@x --force
expect_out "rejected.*ml/model tag x" "even with --force"
expect_exit 1 "$MLFS" push --store "$C2" ml/nosuch
expect_err "no repository 'ml/nosuch'" "push of an unknown repository"

# ---- a push records the branches it moved; remote remove drops them
R=$(new_store)
check "R: import" "$MLFS" import --store "$R" "$W/b.txt" rt/one -q
expect_exit 0 "$MLFS" remote add --store "$R" up s3://mlfs-remote/rt --endpoint "$EP"
expect_exit 0 "$MLFS" push --store "$R" up
[ "$(resolve "$R" rt/one@up/main)" = "$(resolve "$R" rt/one)" ] &&
	ok "push sets the tracking ref of the branch it created" ||
	fail "no tracking ref after push"
expect_exit 0 "$MLFS" remote remove --store "$R" up
expect_exit 0 "$MLFS" branch --store "$R" -r rt/one
[ ! -s "$OUT_F" ] && ok "remote remove drops its tracking refs" ||
	fail "tracking refs left after remote remove: $(cat "$OUT_F")"
[ "$(sqlite3 "$R/mlfs.db" "SELECT count(*) FROM tracking")" = 0 ] &&
	ok "no tracking rows left" || fail "tracking rows left"
expect_exit 1 "$MLFS" log --store "$R" rt/one@up/main
expect_err "no remote 'up'" "@up/main after remote remove"

# ---- 8 concurrent pushes of different repositories, from 8 clones
pids=()
for i in 1 2 3 4 5 6 7 8; do
	S=$(mktmp)/p$i
	"$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$S" >/dev/null 2>&1
	head -c $((200000 + i)) /dev/urandom >"$W/p$i"
	"$MLFS" import --store "$S" "$W/p$i" par/r$i -q >/dev/null 2>&1
	( "$MLFS" push --store "$S" par/r$i >"$W/push$i.out" 2>&1 ) &
	pids+=($!)
done
n=0
for p in "${pids[@]}"; do wait "$p" && n=$((n + 1)); done
[ $n = 8 ] && ok "8 concurrent pushes all succeed" || fail "$n of 8 pushes succeeded"
expect_exit 0 "$MLFS" pull --store "$A"
n=0
for i in 1 2 3 4 5 6 7 8; do
	"$MLFS" cat --store "$A" par/r$i/p$i 2>/dev/null | cmp -s - "$W/p$i" &&
		n=$((n + 1))
done
[ $n = 8 ] && ok "all 8 repositories reached the bucket and read back" ||
	fail "$n of 8 repositories read back"

# ---- pack lists: a fetch reads the indexes of the packs its commits
# need (packlists/<commit>), not of every pack in the bucket
plp() { S3_PREFIX=pl/ "$PROBE" "$@"; }
P=$(new_store)
head -c 300000 /dev/urandom >"$W/pl1"
check "P: import a/x" "$MLFS" import --store "$P" "$W/pl1" a/x -q
expect_exit 0 "$MLFS" remote add --store "$P" origin s3://mlfs-remote/pl \
	--endpoint "$EP"
expect_exit 0 "$MLFS" push --store "$P"
x1=$(resolve "$P" a/x)
[ "$(plp ls packlists/ 2>/dev/null | cut -d' ' -f1)" = "packlists/$x1" ] &&
	ok "push writes the commit's pack list" ||
	fail "pack lists in the bucket: $(plp ls packlists/ 2>&1)"
Q=$(mktmp)/q
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/pl" --endpoint "$EP" --store "$Q"
head -c 300000 /dev/urandom >"$W/pl2"
check "Q: import b/y" "$MLFS" import --store "$Q" "$W/pl2" b/y -q
expect_exit 0 "$MLFS" push --store "$Q"
lpacks() { ls "$1/packs" | sed -n 's/^pack-\([0-9a-f]*\)\.mlp$/\1/p' | sort; }
qpacks=$(lpacks "$Q")
ppacks=$(lpacks "$P")
# b/y's ref removed from the bucket: no ref reaches Q's packs now
plp rm refs/b/y/branches/main >/dev/null 2>&1
rpacks() { sqlite3 "$1/mlfs.db" "SELECT printf('%016x', pack_id) FROM remote_packs" | sort; }
R=$(mktmp)/r
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/pl" --endpoint "$EP" --store "$R"
if [ -n "$qpacks" ] && plp head "packs/pack-$(echo "$qpacks" | head -1).idx" >/dev/null 2>&1 &&
	[ "$(rpacks "$R")" = "$ppacks" ]; then
	ok "a clone reads no index of a pack its commits do not need"
else
	fail "clone's remote packs: $(rpacks "$R" | tr '\n' ' ') (P's: $ppacks, Q's: $qpacks)"
fi
"$MLFS" cat --store "$R" a/x/pl1 2>/dev/null | cmp -s - "$W/pl1" &&
	ok "and reads the version byte for byte" || fail "a/x read from the clone differs"
# A bucket of an older mlfs has no pack lists: every index is read.
for k in $(plp ls packlists/ 2>/dev/null | cut -d' ' -f1); do
	plp rm "$k" >/dev/null 2>&1
done
S2=$(mktmp)/s2
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/pl" --endpoint "$EP" --store "$S2"
[ "$(rpacks "$S2")" = "$(printf '%s\n%s\n' "$ppacks" "$qpacks" | sort)" ] &&
	ok "without pack lists a clone reads every index, as before" ||
	fail "old-style clone's remote packs: $(rpacks "$S2" | tr '\n' ' ')"
"$MLFS" cat --store "$S2" a/x/pl1 2>/dev/null | cmp -s - "$W/pl1" &&
	ok "and reads the version byte for byte" || fail "a/x read from the old-style clone differs"
# A pack's index missing from such a bucket: the clone fails naming a
# chunk no index locates and inserts nothing (it used to succeed, and the
# version never read: later fetches do not walk commits the store has);
# with the index back, the same clone works.
pk=$(echo "$ppacks" | head -n1)
plp get "packs/pack-$pk.idx" >"$W/idx.good" 2>/dev/null
plp rm "packs/pack-$pk.idx" >/dev/null 2>&1
S4=$(mktmp)/s4
expect_exit 1 "$MLFS" clone "s3://mlfs-remote/pl" --endpoint "$EP" --store "$S4"
expect_err "chunk [0-9a-f]{32} of content [0-9a-f]{32} is in no pack index of remote 'origin' \(s3://mlfs-remote/pl is incomplete" \
	"a clone missing a pack index fails, naming a chunk it cannot locate"
[ ! -e "$S4/mlfs.db" ] ||
	[ "$(sqlite3 "$S4/mlfs.db" "SELECT count(*) FROM contents")" = 0 ] &&
	ok "and leaves no content without its chunks" ||
	fail "contents were inserted without their index"
plp put "packs/pack-$pk.idx" "$W/idx.good" >/dev/null 2>&1
rm -rf "$S4"
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/pl" --endpoint "$EP" --store "$S4"
"$MLFS" cat --store "$S4" a/x/pl1 2>/dev/null | cmp -s - "$W/pl1" &&
	ok "with the index back the clone reads byte for byte" ||
	fail "a/x read after the index came back differs"
# A damaged pack list fails the fetch, naming it; nothing is inserted.
echo more >>"$W/pl1"
check "P: import a/x v2" "$MLFS" import --store "$P" "$W/pl1" a/x -q
expect_exit 0 "$MLFS" push --store "$P"
x2=$(resolve "$P" a/x)
plp get "packlists/$x2" >"$W/pl.obj" 2>/dev/null
cp "$W/pl.obj" "$W/pl.good"
printf '\x01' | dd of="$W/pl.obj" bs=1 seek=40 conv=notrunc 2>/dev/null
plp put "packlists/$x2" "$W/pl.obj" >/dev/null 2>&1
before=$(sqlite3 "$R/mlfs.db" "SELECT count(*) FROM commits")
expect_exit 1 "$MLFS" fetch --store "$R"
expect_err "remote object mlfs-remote/pl/packlists/$x2 is damaged" \
	"a damaged pack list is an error naming its key"
[ "$(sqlite3 "$R/mlfs.db" "SELECT count(*) FROM commits")" = "$before" ] &&
	ok "nothing was inserted" || fail "commits were inserted"
plp put "packlists/$x2" "$W/pl.good" >/dev/null 2>&1
expect_exit 0 "$MLFS" pull --store "$R"
"$MLFS" cat --store "$R" a/x/pl1 2>/dev/null | cmp -s - "$W/pl1" &&
	ok "the repaired pack list fetches; the new version reads" ||
	fail "a/x v2 read after the repair differs"

# ---- faults
expect_exit 1 env AWS_SECRET_ACCESS_KEY=wrong "$MLFS" push --store "$A"
expect_err "HTTP 403.*SignatureDoesNotMatch" "wrong credentials: 403 named"
expect_exit 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$W" \
	AWS_SHARED_CREDENTIALS_FILE="$W/none" "$MLFS" push --store "$A"
expect_err "credentials" "no credentials at all: said so"
# half a pair is named, never a fall-back to the file; a clone without
# credentials says so (it said "no mlfs remote at ...")
expect_exit 1 env -u AWS_SECRET_ACCESS_KEY HOME="$W" \
	AWS_SHARED_CREDENTIALS_FILE="$W/none" "$MLFS" push --store "$A"
expect_err "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" \
	"a key id without its secret is named"
expect_exit 1 env AWS_ACCESS_KEY_ID= HOME="$W" \
	AWS_SHARED_CREDENTIALS_FILE="$W/none" "$MLFS" push --store "$A"
expect_err "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is empty" \
	"an empty key id is named"
expect_exit 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$W" \
	AWS_SHARED_CREDENTIALS_FILE="$W" "$MLFS" clone s3://mlfs-remote/m \
	--endpoint "$EP" --store "$W/nocreds"
expect_err "no credentials in the environment and $W: Is a directory" \
	"clone without credentials names the credentials file, not the remote"
expect_exit 0 "$MLFS" remote add --store "$A" nob s3://no-such-bucket/m --endpoint "$EP"
expect_exit 1 "$MLFS" push --store "$A" nob
expect_err "no-such-bucket.*404.*NoSuchBucket" "a missing bucket is named"
expect_exit 0 "$MLFS" remote add --store "$A" other s3://mlfs-remote/other \
	--endpoint "$EP"
D=$(new_store)
expect_exit 0 "$MLFS" import --store "$D" "$W/b.txt" x/y -q
expect_exit 0 "$MLFS" remote add --store "$D" origin s3://mlfs-remote/m --endpoint "$EP"
expect_exit 1 "$MLFS" push --store "$D"
expect_err "another hash key or chunking.*clone it" "a store with another key is refused"

# A damaged commit object: fetch fails naming it, inserts nothing.
echo five >>"$W/src/d/a"
check "A: import v5" "$MLFS" import --store "$A" "$W/src" ml/model -q -m five
expect_exit 0 "$MLFS" push --store "$A" ml/model@main --force
v5=$(resolve "$A" ml/model)
probe get "commits/$v5" >"$W/c5" 2>/dev/null
cp "$W/c5" "$W/c5.good"
printf '\x01' | dd of="$W/c5" bs=1 seek=40 conv=notrunc 2>/dev/null
probe put "commits/$v5" "$W/c5" >/dev/null 2>&1
before=$(sqlite3 "$B/mlfs.db" "SELECT count(*) FROM commits")
expect_exit 1 "$MLFS" fetch --store "$B"
expect_err "remote object mlfs-remote/m/commits/$v5 is damaged" \
	"a damaged commit object is an error naming its key"
[ "$(sqlite3 "$B/mlfs.db" "SELECT count(*) FROM commits")" = "$before" ] &&
	ok "nothing was inserted" || fail "commits were inserted"
"$MLFS" push --store "$A" ml/model@main >/dev/null 2>&1 # exists: not rewritten
probe get "commits/$v5" | cmp -s - "$W/c5" && ok "push does not overwrite objects" ||
	fail "push rewrote an object"
probe put "commits/$v5" "$W/c5.good" >/dev/null 2>&1 # repair it
expect_exit 0 "$MLFS" fetch --store "$B"
expect_out "diverged.*ml/model branch main" "the repaired object fetches"

# A ref object the listing says is 1 MiB is damaged without being read
# into memory (a ref object is 90 bytes).
head -c 1048576 /dev/zero >"$W/bigref"
probe put refs/zz/big/branches/main "$W/bigref" >/dev/null 2>&1
expect_exit 1 "$MLFS" fetch --store "$B"
expect_err "remote object mlfs-remote/m/refs/zz/big/branches/main is damaged \(malformed\)" \
	"an oversized ref object is damage, named"
probe rm refs/zz/big/branches/main >/dev/null 2>&1

# A damaged chunk in a remote pack: reads fail naming it, never wrong bytes.
E=$(mktmp)/e
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$E"
# every pack of the bucket so far: a big entry of each gets two bytes
sqlite3 "$E/mlfs.db" "SELECT printf('%016x', pack_id), min(offset) FROM chunks
	WHERE stored_len > 10000 GROUP BY pack_id" >"$W/victims"
while IFS='|' read -r pk off; do
	probe get "packs/pack-$pk.mlp" >"$W/pk" 2>/dev/null
	printf '\xff\xfe' | dd of="$W/pk" bs=1 seek=$((off + 100)) conv=notrunc 2>/dev/null
	probe put "packs/pack-$pk.mlp" "$W/pk" >/dev/null 2>&1
done <"$W/victims"
bad=0
for v in v1 v3 main; do
	"$MLFS" export --store "$E" ml/model@$v "$W/ee$v" >/dev/null 2>"$ERR_F" ||
		{ grep -Eq "chunk [0-9a-f]{32} from remote 'origin' \(mlfs-remote/m/packs/pack-[0-9a-f]{16}.mlp at [0-9]+\): (hash mismatch|corrupt entry)" "$ERR_F" && bad=$((bad + 1)); }
done
[ $bad = 3 ] && ok "a damaged remote chunk fails every read of it, naming chunk and pack" ||
	fail "damaged remote chunk: $(cat "$ERR_F")"

# The gateway stopped in the middle of a push: the push fails clearly,
# no ref points at a missing object, and a retry completes.
F=$(mktmp)/f
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$F"
# (and a version fetched with --data reads while the gateway is away)
O=$(mktmp)/o
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$O"
expect_exit 0 "$MLFS" fetch --store "$O" --data ml/data
expect_out "cached ml/data: 1 file\(s\), 1 remote chunk" "fetch --data caches a version's chunks"
# a remote's branch is a version --data takes too; a malformed one is a
# usage error before the fetch
expect_exit 0 "$MLFS" fetch --store "$O" --data ml/data@origin/main --json
json_ok "fetch --data NS/NAME@REMOTE/BRANCH --json: reported" \
	"d['data']['versions'] == 1 and d['data']['chunks'] == 1"
expect_exit 2 "$MLFS" fetch --store "$O" --data 'ml/data@@'
expect_err "mlfs fetch: --data 'ml/data@@'" "a malformed --data is a usage error"
"$MLFS" export --store "$A" ml/data "$W/offline_a" >/dev/null 2>&1
head -c 100000000 /dev/urandom >"$W/huge"
check "F: a 100 MB version (two packs)" "$MLFS" import --store "$F" "$W/huge" big/one -q
# The push waits (MLFS_TEST_PUSH_PAUSE) once its first pack and index
# landed, the gateway is stopped, then the push goes on: a known point,
# however fast the upload.
npk0=$(probe ls packs/ 2>/dev/null | grep -c '\.mlp ')
mkfifo "$W/pause"
MLFS_TEST_PUSH_PAUSE="$W/pause" "$MLFS" push --store "$F" big/one --jobs 1 \
	>"$W/mid.out" 2>"$W/mid.err" &
push_pid=$!
rgw_pid=$(cat "$srv/pids/client.rgw")
rgw_cmd=$(tr '\0' '\n' <"/proc/$rgw_pid/cmdline")
for _ in $(seq 1 600); do
	[ -e "$W/pause.reached" ] && break
	sleep 0.1
done
[ -e "$W/pause.reached" ] && ok "the push paused after its first pack" ||
	fail "the push did not reach its pause"
n=$(probe ls packs/ 2>/dev/null | grep -c '\.mlp ')
[ "$n" = $((npk0 + 1)) ] && ok "one pack of the push is in the bucket" ||
	fail "$n packs in the bucket at the pause, $npk0 before"
kill -TERM "$rgw_pid"
for _ in $(seq 1 100); do kill -0 "$rgw_pid" 2>/dev/null || break; sleep 0.1; done
"$MLFS" export --store "$O" ml/data "$W/offline" >/dev/null 2>&1 &&
	diff -r "$W/offline" "$W/offline_a" >/dev/null 2>&1 &&
	ok "a version fetched with --data reads without the gateway" ||
	fail "offline read of a --data version"
timeout 10 sh -c 'echo go >"$1"' sh "$W/pause" || true
wait "$push_pid"
prc=$?
[ $prc = 1 ] && ok "the push fails when the gateway goes away (exit 1)" ||
	fail "push exit $prc with the gateway stopped"
grep -Eq "cannot push to remote 'origin'.*(Connection refused|HTTP 5|Couldn't connect|reset)" "$W/mid.err" &&
	ok "and says why: $(head -c 120 "$W/mid.err")" || fail "push error: $(cat "$W/mid.err")"
mapfile -t argv_rgw <<<"$rgw_cmd"
"${argv_rgw[@]}" </dev/null >>"$srv/log/client.rgw.out" 2>&1 &
echo $! >"$srv/pids/client.rgw"
for _ in $(seq 1 100); do probe ls refs/ >/dev/null 2>&1 && break; sleep 0.2; done
if probe ls refs/big/ 2>/dev/null | grep -q .; then
	fail "a ref of the failed push is in the bucket"
else
	ok "no ref of the failed push is in the bucket"
fi
expect_exit 0 "$MLFS" push --store "$F" big/one
expect_out "new branch.*big/one branch main" "the retry completes"
G=$(mktmp)/g
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$G"
rgwlog=$srv/log/client.rgw.log
n0=$(wc -l <"$rgwlog")
"$MLFS" cat --store "$G" big/one/huge 2>/dev/null | cmp -s - "$W/huge" &&
	ok "the 100 MB version reads back from a new clone" ||
	fail "the retried push's version does not read back"
# A sequential read of a fresh clone GETs each window of the packs once
# (25 of 4 MiB for 100 MB in 2 packs) and, where the reader begins a
# pack, its first entry alone: an entry across two windows is taken
# from the windows, not fetched again on its own (it was, for about one
# window in five, before).
sleep 1 # the gateway's log lags the requests
gets=$(tail -n +"$((n0 + 1))" "$rgwlog" |
	grep -c '"GET /mlfs-remote/m/packs/' || true)
if [ "$gets" -ge 25 ] && [ "$gets" -le 28 ]; then
	ok "a sequential read of 100 MB in 2 packs took $gets GETs"
else
	fail "a sequential read of 100 MB in 2 packs took $gets GETs (at most 28)"
fi


# The mount of a fresh clone fetches what is read (with the read-ahead of
# one GET), not the file; the whole file then reads back exactly.
if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
	H=$(mktmp)/h
	mnt=$(mktmp)
	expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$H"
	at_exit "fusermount3 -u '$mnt' || umount -l '$mnt'"
	expect_exit 0 "$MLFS" mount --store "$H" "$mnt"
	head -c 1048576 "$mnt/big/one/huge" >"$W/head1m" 2>/dev/null
	sleep 2 # what was read ahead in the background has landed
	cached=$(du -s -B1 "$H/remote-cache/origin" 2>/dev/null | cut -f1)
	if cmp -s "$W/head1m" <(head -c 1048576 "$W/huge") &&
		[ "${cached:-0}" -ge 1048576 ] && [ "$cached" -le $((24 << 20)) ]; then
		ok "the mount read 1 MiB of 100 MB and fetched $cached bytes"
	else
		fail "mount: 1 MiB read, ${cached:-no} bytes fetched"
	fi
	cmp -s "$mnt/big/one/huge" "$W/huge" &&
		ok "the whole file reads back through the mount" ||
		fail "the mount's bytes differ"
	# Random 4 KiB reads of a fresh clone fetch their chunks' entries
	# only (at most 256 KiB each), not a window of the pack.
	R=$(mktmp)/r
	rmnt=$(mktmp)
	expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$R"
	at_exit "fusermount3 -u '$rmnt' 2>/dev/null || umount -l '$rmnt' 2>/dev/null"
	expect_exit 0 "$MLFS" mount --store "$R" "$rmnt"
	if "$PY" - "$rmnt/big/one/huge" "$W/huge" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
ref = open(sys.argv[2], "rb")
for off in (7 << 20, 31 << 20, 58 << 20, 93 << 20):
    ref.seek(off + 4096 * 3)
    assert os.pread(fd, 4096, off + 4096 * 3) == ref.read(4096), off
EOF
	then
		sleep 1
		cached=$(du -s -B1 "$R/remote-cache/origin" 2>/dev/null | cut -f1)
		[ "${cached:-0}" -gt 0 ] && [ "$cached" -le $((4 * (256 << 10) + 65536)) ] &&
			ok "4 random 4 KiB reads of a clone fetched $cached bytes" ||
			fail "4 random 4 KiB reads fetched ${cached:-no} bytes"
	else
		fail "random reads through the mount of a clone: wrong bytes"
	fi
	expect_exit 0 "$MLFS" umount "$rmnt"
	# 16 threads of random 64 KiB reads on a fresh clone's mount, with
	# the read-ahead of several streams, sharing a pool of 2 S3 clients
	# (MLFS_TEST_REMOTE_CLIENTS; 16 by default): a reader waits for a
	# client (it got EAGAIN, so EIO and short reads, once).
	P=$(mktmp)/p
	pmnt=$(mktmp)
	expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$P"
	at_exit "fusermount3 -u '$pmnt' 2>/dev/null || umount -l '$pmnt' 2>/dev/null"
	expect_exit 0 env MLFS_TEST_REMOTE_CLIENTS=2 "$MLFS" mount --store "$P" "$pmnt"
	out=$(timeout 300 "$PY" - "$pmnt/big/one/huge" "$W/huge" <<'EOF' 2>&1
import os, random, sys, threading
path, ref = sys.argv[1], open(sys.argv[2], "rb").read()
bad = []
def run(seed):
    rng = random.Random(seed)
    fd = os.open(path, os.O_RDONLY)
    for _ in range(60):
        off = rng.randrange(0, len(ref) - 65536)
        try:
            got = os.pread(fd, 65536, off)
        except OSError as e:
            bad.append("EIO at %d: %s" % (off, e))
            continue
        if got != ref[off:off + 65536]:
            bad.append("%d bytes at %d, wrong or short" % (len(got), off))
    os.close(fd)
ts = [threading.Thread(target=run, args=(i,)) for i in range(16)]
[t.start() for t in ts]
[t.join() for t in ts]
print("%d bad" % len(bad), *bad[:3])
EOF
)
	[ "$out" = "0 bad" ] &&
		ok "16 threads x 60 random reads of a clone's mount: all right" ||
		fail "concurrent reads of a clone's mount: $out"
	expect_exit 0 "$MLFS" umount "$pmnt"
	# Wrong credentials or a gateway that stops answering are failures
	# of the remote, never "damaged": exit 1, the HTTP status or the
	# stall named; fsck cannot finish rather than report damage. (A
	# clone of its own: nothing of it cached.)
	P=$(mktmp)/p2
	expect_exit 0 "$MLFS" clone "s3://mlfs-remote/m" --endpoint "$EP" --store "$P"
	expect_exit 1 env AWS_SECRET_ACCESS_KEY=wrong "$MLFS" cat --store "$P" big/one/huge
	expect_err "HTTP 403" "cat with wrong credentials names the 403"
	if grep -q "damaged" "$ERR_F"; then
		fail "wrong credentials reported as damage: $(cat "$ERR_F")"
	else
		ok "wrong credentials are not called damage"
	fi
	expect_exit 1 env AWS_SECRET_ACCESS_KEY=wrong "$MLFS" fsck --store "$P" --read-data
	expect_err "fsck could not run.*HTTP 403" "fsck --read-data: could not run, 403 named"
	if grep -q "^damaged" "$OUT_F"; then fail "fsck reports damage for a 403"; else
		ok "fsck reports no damage for a 403"; fi
	rgw_pid=$(cat "$srv/pids/client.rgw")
	at_exit "kill -CONT $rgw_pid 2>/dev/null" # before the gateway's stop
	kill -STOP "$rgw_pid"
	t0=$(date +%s)
	expect_exit 1 timeout 120 env MLFS_S3_LOW_SPEED_TIME=2 "$MLFS" cat \
		--store "$P" big/one/huge
	t1=$(date +%s)
	kill -CONT "$rgw_pid"
	expect_err "Timeout was reached" "a gateway that stops answering: the stall is named"
	[ $((t1 - t0)) -lt 30 ] && ok "and given up on in $((t1 - t0)) s (2 s stalls, tried twice)" ||
		fail "a stalled gateway took $((t1 - t0)) s"
	if grep -q "damaged" "$ERR_F"; then fail "a stall reported as damage"; else
		ok "a stall is not called damage"; fi
	# An edit through the mount keeps pull from moving the branch (the
	# check sits in the transaction that would move it): the edit and
	# the head stay.
	head_before=$("$MLFS" log --store "$H" big/one | grep -m1 '^commit ')
	echo edited >"$mnt/big/one/edit.txt"
	echo second >"$W/second"
	check "F: a second version of big/one" "$MLFS" import --store "$F" \
		"$W/second" big/one -q
	expect_exit 0 "$MLFS" push --store "$F" big/one
	expect_exit 1 "$MLFS" pull --store "$H"
	expect_out "! \[edited\].*big/one" "pull refuses a branch with mount edits"
	head_after=$("$MLFS" log --store "$H" big/one | grep -m1 '^commit ')
	[ -n "$head_before" ] && [ "$head_before" = "$head_after" ] &&
		ok "the edited branch's head did not move" ||
		fail "pull moved an edited branch ($head_before -> $head_after)"
	[ "$(cat "$mnt/big/one/edit.txt" 2>/dev/null)" = edited ] &&
		ok "the edit is still in the working tree" ||
		fail "the edit through the mount was lost"
	expect_exit 0 "$MLFS" umount "$mnt"
else
	fail "no FUSE here: the mount of a clone is not tested"
fi

# Metadata goes up in parallel batches (contents, trees a level at a
# time, pack lists; remote_objpool.c): a history with more objects than
# a batch, trees seven levels deep and subtrees shared between versions
# clones whole, every version byte-identical, each object once.
K=$(new_store)
for i in $(seq 1 300); do
	d=$W/wide/d$((i % 7))/e$((i % 3))/f/g/h/i
	mkdir -p "$d"
	echo "file $i" >"$d/x$i"
done
check "K: a version of 300 files in trees 7 deep" \
	"$MLFS" import --store "$K" "$W/wide" wide/t -q
echo changed >"$W/wide/d1/e1/f/g/h/i/x1"
check "K: a second version" "$MLFS" import --store "$K" "$W/wide" wide/t -q
expect_exit 0 "$MLFS" remote add --store "$K" origin s3://mlfs-remote/wide \
	--endpoint "$EP"
expect_exit 0 "$MLFS" push --store "$K" --jobs 4 --json
ktrees=$(sqlite3 "$K/mlfs.db" "SELECT count(*) FROM trees")
"$PY" - "$OUT_F" "$ktrees" <<'EOF' && ok "the push sent 301 contents and all $ktrees trees" ||
import json, sys
j = json.load(open(sys.argv[1]))
assert j["contents"] == 301 and j["commits"] == 2, j
assert j["trees"] == int(sys.argv[2]) and j["trees"] > 100, j
EOF
	fail "push of the wide history: $(head -c 300 "$OUT_F")"
ntrees=$(S3_PREFIX=wide/ "$PROBE" ls trees/ | grep -c . || true)
ncont=$(S3_PREFIX=wide/ "$PROBE" ls contents/ | grep -c . || true)
[ "$ntrees" = "$ktrees" ] &&
	[ "$ncont" = 301 ] &&
	ok "the bucket holds every tree and content once ($ntrees, $ncont)" ||
	fail "the bucket holds $ntrees trees and $ncont contents"
L=$(mktmp)/l
expect_exit 0 "$MLFS" clone "s3://mlfs-remote/wide" --endpoint "$EP" --store "$L"
mkdir -p "$W/kx" "$W/lx"
if export_all "$K" wide/t "$W/kx" && export_all "$L" wide/t "$W/lx" &&
	[ "$(ls "$W/kx" | wc -l)" = 2 ] && diff -r "$W/kx" "$W/lx" >/dev/null; then
	ok "both versions of the wide history export byte-identical from a clone"
else
	fail "the clone of the wide history differs"
fi
expect_exit 0 "$MLFS" fsck --store "$L"

summary
