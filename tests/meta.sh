#!/bin/bash
# tests/meta.sh - version metadata and metrics: mlfs meta (show, set,
# unset, --json), import and snapshot with --meta/--metrics (snapshot with
# and without the mount up), the metrics table of three versions (text and
# --json, sorted, named refs), log --meta, one audit record per change,
# every bad input refused with exit 2 and nothing written, the
# user.mlfs.meta.* xattrs through a live mount (changes seen at once;
# read-only), and a hand-damaged row named by meta and fsck (exit 1).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

mount_fixture
T() { timeout 60 "$@"; }
sql() { sqlite3 "$S/mlfs.db" "$@"; }
# same NAME FILE WANT: the file holds exactly WANT (and a newline)
same() {
	if [ "$(cat "$2")" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		echo "   want: $(printf '%s' "$3" | head -c 400 | tr '\n' '|')"
		echo "   got:  $(head -c 400 "$2" | tr '\n' '|')"
	fi
}
# The meta-* audit records: op ref new_commit message, oldest first.
audit_meta() {
	sql "SELECT op || ' ' || ref || ' ' || lower(hex(new_commit)) || ' ' ||
		coalesce(message, '-') FROM audit WHERE op LIKE 'meta-%'
		ORDER BY id"
}
pyjson() { "$PY" -c "import json,sys; d=json.load(open('$OUT_F')); $1"; }

mkdir -p "$W/src"
echo one >"$W/src/a"
printf '{"acc": 0.9130, "loss": 0.25}\n' >"$W/m1.json"
printf '{"acc": 0.95, "loss": 1.5e-3, "f1": 0.9}' >"$W/m2.json"

# ---- import with --meta and --metrics ----
expect_exit 0 mlfs import -q "$W/src" t/r -t v1 --meta owner=ann \
	--metrics "$W/m1.json" --meta note="first try"
C1=$(cat "$OUT_F")
echo two >"$W/src/a"
expect_exit 0 mlfs import -q "$W/src" t/r -t v2 --metrics "$W/m2.json" \
	--meta acc=0.96
C2=$(cat "$OUT_F")
echo three >"$W/src/a"
expect_exit 0 mlfs import -q "$W/src" t/r -t v3 --meta acc=-1 --meta lr=+.5
C3=$(cat "$OUT_F")

expect_exit 0 mlfs meta t/r@v1
same "meta shows the pairs by key, values as given" "$OUT_F" \
"acc=0.9130
loss=0.25
note=first try
owner=ann"
expect_exit 0 mlfs meta t/r@v2
same "a later --meta replaces the --metrics value of its key" "$OUT_F" \
"acc=0.96
f1=0.9
loss=1.5e-3"
expect_exit 0 mlfs meta t/r@v1 --json
pyjson "assert d == {'commit': '$C1', 'meta': {'acc': '0.9130',
  'loss': '0.25', 'note': 'first try', 'owner': 'ann'}}, d" &&
	ok "meta --json: commit and every pair as strings" ||
	fail "meta --json fields"
expect_exit 0 mlfs meta "t/r@${C1:0:8}"
expect_out "^owner=ann$" "meta takes a commit id prefix"
expect_exit 0 mlfs meta t/r
expect_out "^lr=\+\.5$" "meta of NS/NAME is the default branch head's"
[ -z "$(audit_meta)" ] && ok "metadata written with a commit adds no meta record" ||
	fail "import wrote meta records: $(audit_meta)"

# ---- set, change, unset; one audit record per change ----
expect_exit 0 mlfs meta t/r@v1 stage=prod note=second
same "set prints each change in key order" "$OUT_F" \
"set note=second (was first try)
set stage=prod"
expect_exit 0 mlfs meta t/r@v1 stage=prod
same "setting a key to its value changes nothing" "$OUT_F" "nothing changed"
expect_exit 0 mlfs meta t/r@v1 --unset note --unset stage
same "unset prints the old values" "$OUT_F" \
"unset note (was second)
unset stage (was prod)"
expect_exit 0 mlfs meta t/r@v1 --json epochs=12
pyjson "assert d == {'commit': '$C1', 'changes': [{'key': 'epochs',
  'old': None, 'new': '12'}]}, d" && ok "set --json lists the changes" ||
	fail "set --json fields"
expect_exit 0 mlfs meta t/r@v1
same "after set/unset" "$OUT_F" \
"acc=0.9130
epochs=12
loss=0.25
owner=ann"
same "one audit record per change: op, ref, version, new value" \
	<(audit_meta) \
"meta-set meta:note $C1 second
meta-set meta:stage $C1 prod
meta-unset meta:note $C1 -
meta-unset meta:stage $C1 -
meta-set meta:epochs $C1 12"
sql "SELECT count(*) FROM audit WHERE op LIKE 'meta-%' AND repo = 't/r'
	AND old_commit IS NULL" >"$W/n"
same "meta records name the repository" "$W/n" 5
expect_exit 1 mlfs meta t/r@v1 --unset nope
expect_err "^mlfs: no key 'nope' on 't/r@v1' \(commit $C1\); nothing was changed$" \
	"unset of a missing key names it"
expect_exit 1 mlfs meta t/r@v1 x=1 --unset nope
expect_exit 0 mlfs meta t/r@v1
expect_out "^epochs=12$" "meta after refused changes"
grep -q '^x=' "$OUT_F" && fail "a refused unset let a set through" ||
	ok "a refused unset lets nothing else through"
[ "$(audit_meta | wc -l)" = 5 ] && ok "refused changes add no record" ||
	fail "refused changes added records"
expect_exit 1 mlfs meta t/r@v9 a=1
expect_err "v9" "an unknown ref is named"

# ---- metrics table ----
expect_exit 0 mlfs alias t/r@v2 prod
# want_table ARGS...: the table mlfs metrics should print for the rows
# (commit:refs) given, built from `mlfs log --json` times.
mlfs log t/r --json >"$W/log.json"
want_table() {
	"$PY" - "$W/log.json" "$@" <<'EOF'
import json, sys
log = {c["commit"]: c for c in json.load(open(sys.argv[1]))}
cols = sys.argv[2].split(",")
rows = []
for spec in sys.argv[3:]:
    parts = spec.split("|")
    c = log[parts[0]]
    rows.append([c["commit"][:12], parts[1], c["date"]] + parts[2:])
table = [["commit", "refs", "time"] + cols] + rows
w = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
for r in table:
    print("  ".join(v.ljust(w[i]) if i + 1 < len(r) else v
                    for i, v in enumerate(r)))
EOF
}
expect_exit 0 mlfs metrics t/r
same "metrics: every version newest first, one column per metric key" \
	"$OUT_F" "$(want_table acc,epochs,f1,loss,lr \
	"$C3|main,v3|-1|-|-|-|+.5" "$C2|v2,prod|0.96|-|0.9|1.5e-3|-" \
	"$C1|v1|0.9130|12|-|0.25|-")"
expect_exit 0 mlfs metrics t/r --sort acc
same "--sort acc: highest first" "$OUT_F" "$(want_table acc,epochs,f1,loss,lr \
	"$C2|v2,prod|0.96|-|0.9|1.5e-3|-" "$C1|v1|0.9130|12|-|0.25|-" \
	"$C3|main,v3|-1|-|-|-|+.5")"
expect_exit 0 mlfs metrics t/r --sort loss:asc
same "--sort loss:asc: lowest first, versions without it last" "$OUT_F" \
	"$(want_table acc,epochs,f1,loss,lr "$C2|v2,prod|0.96|-|0.9|1.5e-3|-" \
	"$C1|v1|0.9130|12|-|0.25|-" "$C3|main,v3|-1|-|-|-|+.5")"
expect_exit 0 mlfs metrics t/r v1 v3
same "metrics of named refs, in the order given" "$OUT_F" \
	"$(want_table acc,epochs,loss,lr "$C1|v1|0.9130|12|0.25|-" \
	"$C3|main,v3|-1|-|-|+.5")"
expect_exit 0 mlfs metrics t/r --json --sort f1
pyjson "
t = {c['commit']: c['time'] for c in json.load(open('$W/log.json'))}
want = [
 {'commit': '$C2', 'refs': ['v2'], 'aliases': ['prod'], 'metrics': {'acc': 0.96, 'f1': 0.9,
  'loss': 1.5e-3}},
 {'commit': '$C3', 'refs': ['main', 'v3'], 'aliases': [], 'metrics': {'acc': -1,
  'lr': 0.5}},
 {'commit': '$C1', 'refs': ['v1'], 'aliases': [], 'metrics': {'acc': 0.913,
  'epochs': 12, 'loss': 0.25}},
]
for w in want:
    w['time'] = t[w['commit']]
got = [{k: r[k] for k in ('commit', 'refs', 'aliases', 'metrics', 'time')}
       for r in d]
assert got == want, got
assert all(r['date'].endswith('Z') for r in d)
" && ok "metrics --json: refs, aliases, times, numbers exact; f1 sort, rest last" ||
	fail "metrics --json"
grep -q '"acc": 0.9130' "$OUT_F" && ok "--json keeps a JSON-valid literal as written" ||
	fail "--json re-formatted 0.9130"
expect_exit 1 mlfs metrics t/r --sort nokey
expect_err "^mlfs: no version of 't/r' has the metric 'nokey'$" "--sort by an unknown metric"
expect_exit 2 mlfs metrics t/r --sort 'a b'
expect_exit 2 mlfs metrics t/r@v1

# ---- log --meta ----
expect_exit 0 mlfs log t/r -n 1 --meta
same "log --meta prints the metadata under the commit" <(tail -n 4 "$OUT_F") \
"Meta:
    acc=-1
    lr=+.5"
expect_exit 0 mlfs log t/r --meta --json
pyjson "assert [c['meta'] for c in d][2] == {'acc': '0.9130', 'epochs': '12',
  'loss': '0.25', 'owner': 'ann'}" && ok "log --meta --json has a meta object" ||
	fail "log --meta --json"
expect_exit 0 mlfs show t/r@v1 --meta --json
pyjson "assert d['meta']['owner'] == 'ann' and d['commit'] == '$C1'" &&
	ok "show --meta --json" || fail "show --meta --json"
expect_exit 0 mlfs show t/r@v1 --meta
expect_out "^    owner=ann$" "show --meta prints the Meta: block"
expect_exit 0 mlfs log t/r --json
pyjson "assert 'meta' not in d[0]" && ok "log without --meta has no meta" ||
	fail "log --json grew meta"

# ---- bad input: exit 2, a message, nothing written ----
printf '[1, 2]' >"$W/list.json"
printf '{"a": {"b": 1}}' >"$W/nested.json"
printf '{"a": NaN}' >"$W/nan.json"
printf '{"a": Infinity}' >"$W/inf.json"
printf '{"a": "0.5"}' >"$W/str.json"
printf '{"a b": 1}' >"$W/space.json"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$W/big.json"
K129=$(printf 'k%.0s' $(seq 129))
V5000=$(printf 'v%.0s' $(seq 5000))
ncommits() { mlfs log t/r --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
before=$(ncommits)
nrec=$(sql "SELECT count(*) FROM audit")
nrows=$(sql "SELECT count(*) FROM metadata")
bad() { # bad REGEX ARGS...: import and snapshot and meta refuse
	local re=$1
	shift
	expect_exit 2 mlfs import -q "$W/src" t/r "$@"
	expect_err "$re" "import $*: says why"
	expect_err_prefix "import $*"
	expect_exit 2 mlfs import -q "$W/src" t/newrepo "$@"
	expect_exit 2 mlfs snapshot t/r "$@"
	expect_err "$re" "snapshot $*: says why"
}
bad "--metrics: metrics file '.*list.json': not a JSON object" --metrics "$W/list.json"
bad "value of 'a' is not a number" --metrics "$W/nested.json"
bad "not JSON \(NaN and Infinity are not numbers in JSON" --metrics "$W/nan.json"
bad "not JSON \(NaN and Infinity" --metrics "$W/inf.json"
bad "value of 'a' is not a number \(metrics files hold a flat object of numbers\)" \
	--metrics "$W/str.json"
bad "key 'a b': only letters, digits" --metrics "$W/space.json"
bad "cannot open metrics file '.*none.json': No such file" --metrics "$W/none.json"
bad "metrics file '.*big.json' is over the 1048576 bytes" --metrics "$W/big.json"
bad "--meta 'a b=1': key 'a b': only letters" --meta "a b=1"
bad "--meta 'a/b=1': key 'a/b'" --meta "a/b=1"
bad "is 129 bytes, over 128" --meta "$K129=1"
bad "value of 'big' is 5000 bytes, over 4096" --meta "big=$V5000"
bad "'novalue' is not KEY=VALUE" --meta novalue
bad "'=v': empty key" --meta "=v"
bad "value of 'x' is a number out of range" --meta x=1e999
bad "value of 'x' is a number out of range" --meta ok=1 --meta x=1e999
expect_exit 2 mlfs meta t/r@v1 'a b=1'
expect_err "^mlfs meta: 'a b=1': key 'a b': only letters" "meta: a bad key"
expect_exit 2 mlfs meta t/r@v1 ok=1 "big=$V5000"
expect_exit 2 mlfs meta t/r@v1 novalue
expect_exit 2 mlfs meta t/r@v1 --unset 'a/b'
expect_exit 2 mlfs meta t/r@v1 a=1 --unset a
expect_err "key 'a' is both set and unset" "meta: set and unset of one key"
[ "$(ncommits)" = "$before" ] && ok "bad input made no commit" ||
	fail "bad input made a commit"
[ "$(sql "SELECT count(*) FROM audit")" = "$nrec" ] &&
	ok "bad input added no audit record" || fail "bad input was audited"
[ "$(sql "SELECT count(*) FROM metadata")" = "$nrows" ] &&
	ok "bad input wrote no metadata row" || fail "bad input wrote rows"
expect_exit 1 mlfs log t/newrepo
expect_exit 0 mlfs meta t/r@v1
grep -q '^ok=' "$OUT_F" && fail "a partly bad meta set wrote" ||
	ok "a partly bad meta set writes nothing"

# ---- snapshot --meta/--metrics, with and without the mount up ----
expect_exit 0 T "$MLFS" --store "$S" mount "$mnt"
echo four >"$mnt/t/r/a"
expect_exit 0 T "$MLFS" --store "$S" umount "$mnt"
for _ in $(seq 100); do mountpoint -q "$mnt" || break; sleep 0.05; done
expect_exit 0 mlfs snapshot t/r --meta stage=offline --metrics "$W/m1.json"
C4=$(head -n1 "$OUT_F")
expect_exit 0 mlfs meta "t/r@$C4"
same "snapshot without the mount writes --meta and --metrics" "$OUT_F" \
"acc=0.9130
loss=0.25
stage=offline"
expect_exit 0 T "$MLFS" --store "$S" mount "$mnt"
echo five >"$mnt/t/r/a"
expect_exit 0 mlfs snapshot t/r -t v5 --meta stage=mounted --meta 'x=a\b' \
	--metrics "$W/m2.json"
C5=$(head -n1 "$OUT_F")
expect_exit 0 mlfs meta t/r@v5
same "snapshot through the mount's daemon carries --meta and --metrics" \
	"$OUT_F" \
'acc=0.95
f1=0.9
loss=1.5e-3
stage=mounted
x=a\b'
[ "$(mlfs show t/r@v5 --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["commit"])')" = "$C5" ] &&
	ok "the tagged snapshot is the one with the metadata" || fail "v5 is not $C5"
expect_exit 0 mlfs snapshot t/r --meta stage=none
expect_out "nothing to snapshot" "snapshot with no changes makes no version"
expect_err "note: no version was made, so --meta and --metrics were not applied" \
	"and says the metadata was not applied"
expect_exit 2 mlfs snapshot t/r --metrics "$W/nan.json"

# ---- xattrs through the live mount ----
expect_exit 0 getfattr --only-values -n user.mlfs.meta.stage "$mnt/t/r@v5"
same "getfattr user.mlfs.meta.stage on a tag's root" "$OUT_F" "mounted"
cat >"$W/x.py" <<'EOF'
import errno, os, sys
m, c1 = sys.argv[1], sys.argv[2]
def check(msg, cond):
    print(("ok - " if cond else "FAIL - ") + msg)
def err(f):
    try:
        f()
    except OSError as e:
        return e.errno
    return 0
v1 = f"{m}/t/r@v1"
names = os.listxattr(v1)
check("listxattr of a version root: commit, then each key",
      names == ["user.mlfs.commit", "user.mlfs.meta.acc",
                "user.mlfs.meta.epochs", "user.mlfs.meta.loss",
                "user.mlfs.meta.owner"])
check("getxattr gives the value bytes", os.getxattr(v1, "user.mlfs.meta.acc") == b"0.9130")
check("the same on the commit id's root",
      os.getxattr(f"{m}/t/r@{c1}", "user.mlfs.meta.owner") == b"ann")
check("the same on an alias's root",
      os.getxattr(f"{m}/t/r@prod", "user.mlfs.meta.f1") == b"0.9")
check("a missing key is ENODATA",
      err(lambda: os.getxattr(v1, "user.mlfs.meta.nope")) == errno.ENODATA)
check("files inside a version have no meta names",
      not [n for n in os.listxattr(f"{v1}/a") if "meta" in n])
check("setxattr of a meta name on a version is refused (EROFS)",
      err(lambda: os.setxattr(v1, "user.mlfs.meta.acc", b"1")) == errno.EROFS)
wt = f"{m}/t/r"
check("a working tree's root shows its head's metadata",
      os.getxattr(wt, "user.mlfs.meta.stage") == b"mounted")
check("... in its list", "user.mlfs.meta.f1" in os.listxattr(wt))
check("... read-only: setxattr is EROFS",
      err(lambda: os.setxattr(wt, "user.mlfs.meta.stage", b"x")) == errno.EROFS)
check("... removexattr is EROFS",
      err(lambda: os.removexattr(wt, "user.mlfs.meta.stage")) == errno.EROFS)
os.setxattr(wt, "user.other", b"kept")
check("other user.* xattrs of the working tree's root still work",
      os.getxattr(wt, "user.other") == b"kept" and
      "user.other" in os.listxattr(wt))
os.removexattr(wt, "user.other")
print("DONE")
EOF
T "$PY" "$W/x.py" "$mnt" "$C1" >"$W/x.out" 2>&1
grep -E '^(ok|FAIL) - ' "$W/x.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$W/x.out")))
FAILED=$((FAILED + $(grep -c '^FAIL - ' "$W/x.out")))
grep -q '^DONE$' "$W/x.out" || fail "xattr checks did not finish: $(tail -n3 "$W/x.out")"
expect_exit 0 mlfs meta t/r@v1 acc=0.5 --unset owner
expect_exit 0 getfattr --only-values -n user.mlfs.meta.acc "$mnt/t/r@v1"
same "a change by mlfs meta is seen through the mount at once" "$OUT_F" "0.5"
expect_exit 1 getfattr -n user.mlfs.meta.owner "$mnt/t/r@v1"
expect_err "No such attribute" "an unset key is gone from the mount at once"
expect_exit 0 T "$MLFS" --store "$S" umount "$mnt"

# ---- damage: named by meta, metrics, log --meta and fsck ----
expect_exit 0 mlfs fsck
sql "UPDATE metadata SET value = '0.99' WHERE key = 'loss' AND
	commit_id = x'$C2'"
expect_exit 1 mlfs meta t/r@v2
expect_err "metadata 'loss' of commit $C2: check value mismatch \(damaged database\)" \
	"meta names the damaged key and commit"
expect_exit 1 mlfs metrics t/r
expect_err "metadata 'loss' of commit $C2" "metrics refuses a damaged row"
expect_exit 1 mlfs log t/r --meta
expect_err "metadata 'loss' of commit $C2" "log --meta refuses a damaged row"
expect_exit 1 mlfs fsck
expect_out "damaged metadata loss \(t/r@v2 \(commit ${C2:0:12}\)\): check value mismatch" \
	"fsck names the damaged row with its version"
sql "UPDATE metadata SET value = '1.5e-3' WHERE key = 'loss' AND
	commit_id = x'$C2'"
expect_exit 0 mlfs fsck
sql "UPDATE metadata SET commit_id = x'00112233445566778899aabbccddeeff'
	WHERE key = 'f1' AND commit_id = x'$C2'" 2>/dev/null ||
	sql "PRAGMA foreign_keys=OFF; UPDATE metadata SET commit_id =
	x'00112233445566778899aabbccddeeff' WHERE key = 'f1' AND commit_id = x'$C2'"
expect_exit 1 mlfs fsck
expect_out "damaged metadata f1.*of commit 00112233445566778899aabbccddeeff, which no repository holds" \
	"fsck names a row moved off its commit"

summary
