#!/bin/bash
# roundtrip.sh - a tricky tree (chunker-boundary sizes, a ~300 MiB file,
# nested and empty dirs, symlinks, odd names, modes, odd mtimes) comes
# back byte-identical from export; versions, cat, ls, log, show and
# --json; every reference form resolves to the right commit.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

BIG_MIB=${ROUNDTRIP_BIG_MIB:-300}
S=$(new_store) || exit 1
W=$(mktmp)
src=$W/src
gen tree "$src" --seed 7 --big-mib "$BIG_MIB" || { fail "gen-data tree"; summary; }
repo=test/tricky

# Manifest of a tree: path, type, mode, size, mtime_ns, target, sha256.
manifest() { gen manifest "$@"; }

# --- version 1 -------------------------------------------------------------
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -t v1 -m "first version" -q
c1=$(tr -d '[:space:]' <"$OUT_F")
[ -s "$ERR_F" ] && fail "import -q printed on stderr: $(head -c 200 "$ERR_F")" ||
	ok "import -q prints nothing on stderr"
if is_hex32 "$c1"; then ok "import prints a 32-hex commit id"; else
	fail "import printed '$c1', want a 32-hex commit id"; fi
sleep 1.1
date1=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1

# Export v1 and compare everything.
out1=$W/out1
expect_exit 0 "$MLFS" export --store "$S" $repo@v1 "$out1"
if diff -r --no-dereference "$src" "$out1" >"$W/diff" 2>&1; then
	ok "export v1: diff -r finds no difference (content, symlinks)"
else
	fail "export v1: diff -r: $(head -c 400 "$W/diff")"
fi
manifest "$src" >"$W/m.src"
manifest "$out1" >"$W/m.out1"
if cmp -s "$W/m.src" "$W/m.out1"; then
	ok "export v1: types, modes, sizes, mtime_ns, targets, digests identical"
else
	fail "export v1 manifest differs (- source, + export):"
	diff "$W/m.src" "$W/m.out1" | grep '^[<>]' | head -n 12 | sed 's/^/     /'
	# Narrow down: which attribute classes differ?
	for opt in "--no-link-mtime" "--no-link-mtime --no-dir-mtime"; do
		if cmp -s <(manifest $opt "$src") <(manifest $opt "$out1"); then
			echo "     (identical with $opt)"
			break
		fi
	done
fi
if cmp -s "$src/big/big.bin" "$out1/big/big.bin"; then
	ok "export v1: ${BIG_MIB} MiB file cmp-identical"
else
	fail "export v1: ${BIG_MIB} MiB file differs"
fi
# Spot checks with stat, independent of gen-data's manifest.
for f in empty one-byte modes/script.sh "odd/with space.txt" text/zeros.bin \
	sizes/1m+3.bin; do
	a=$(stat -c '%a %s %Y' -- "$src/$f")
	b=$(stat -c '%a %s %Y' -- "$out1/$f" 2>/dev/null)
	if [ "$a" = "$b" ]; then ok "stat '$f': $a"; else
		fail "stat '$f': source '$a', export '$b'"; fi
done
a=$(stat -c %y "$src/modes/script.sh")
b=$(stat -c %y "$out1/modes/script.sh" 2>/dev/null)
if [ "$a" = "$b" ]; then ok "nanosecond mtime kept ($a)"; else
	fail "nanosecond mtime: source '$a', export '$b'"; fi
for l in rel to-dir abs dangling dangling-abs self-loop "odd target" long; do
	a=$(readlink -- "$src/links/$l")
	b=$(readlink -- "$out1/links/$l" 2>/dev/null)
	if [ "$a" = "$b" ] && [ -L "$out1/links/$l" ]; then
		ok "symlink '$l' target kept"
	else
		fail "symlink '$l': source '${a:0:60}', export '${b:0:60}'"
	fi
done
if [ -d "$out1/nest/empty-dir" ] && [ -z "$(ls -A "$out1/nest/empty-dir")" ]; then
	ok "empty directory kept"
else
	fail "empty directory nest/empty-dir missing"
fi
expect_exit 1 "$MLFS" export --store "$S" $repo@v1 "$out1"
expect_err 'exist' "export to an existing DEST names the problem"

# Export of a sub-path and of a single file.
expect_exit 0 "$MLFS" export --store "$S" $repo@v1/nest/a "$W/sub"
if diff -r --no-dereference "$src/nest/a" "$W/sub" >/dev/null 2>&1; then
	ok "export of a sub-directory"; else fail "export of sub-directory differs"; fi
expect_exit 0 "$MLFS" export --store "$S" "$repo@v1/modes/script.sh" "$W/one"
if cmp -s "$src/modes/script.sh" "$W/one" &&
	[ "$(stat -c %a "$W/one")" = 755 ]; then
	ok "export of a single file keeps bytes and mode"
else
	fail "export of a single file"
fi

# An mtime past what int64 nanoseconds hold (year 2400; ext4 keeps it) must
# not come back as garbage: kept, clamped to the range, or refused clearly.
mkdir "$W/far"
echo far >"$W/far/f"
touch -d '2400-01-01 00:00:00 UTC' "$W/far/f"
far_src=$(stat -c %Y "$W/far/f")
run "$MLFS" import --store "$S" "$W/far" test/far -q
if [ "$RC" -eq 0 ]; then
	run "$MLFS" export --store "$S" test/far "$W/far-out"
	far_out=$(stat -c %Y "$W/far-out/f" 2>/dev/null)
	# int64 ns ends at 2262-04-11 (9223372036 s).
	if [ "$far_out" = "$far_src" ] || [ "${far_out:-0}" -ge 9223372035 ]; then
		ok "mtime in year 2400: exported as $far_out (source $far_src)"
	else
		fail "mtime in year 2400 ($far_src) exported as ${far_out:-?}: silently wrong"
	fi
else
	grep -qi 'time' "$ERR_F" && ok "mtime in year 2400 refused with a message about the time" ||
		{ fail "mtime in year 2400: import exit $RC without naming the time"; show_last; }
fi

# --- version 2 on main, a dev branch from v1 --------------------------------
echo "changed" >"$src/one-byte"
rm "$src/sizes/16k+0.bin"
gen random "$src/new-file.bin" --size-bytes 200000 --seed 99
chmod 700 "$src/text/compressible.txt"
mkdir "$src/new-dir"
ln -s ../empty "$src/new-dir/link"
touch -d '2001-02-03 04:05:06.5 UTC' "$src/nest/a/mid.txt"
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -t v2 -m "second version" -q
c2=$(tr -d '[:space:]' <"$OUT_F")
if is_hex32 "$c2" && [ "$c2" != "$c1" ]; then ok "second import: new commit"; else
	fail "second import printed '$c2'"; fi
expect_exit 0 "$MLFS" export --store "$S" $repo@v2 "$W/out2"
if cmp -s <(manifest "$src") <(manifest "$W/out2"); then
	ok "export v2 identical to the changed source"
else
	fail "export v2 differs: $(diff <(manifest "$src") <(manifest "$W/out2") | head -4)"
fi
# v1 is unchanged after v2.
rm -rf "$W/out1b"
expect_exit 0 "$MLFS" export --store "$S" $repo@v1 "$W/out1b"
if cmp -s "$W/m.out1" <(manifest "$W/out1b"); then ok "v1 unchanged by v2"; else
	fail "v1 export changed after importing v2"; fi

expect_exit 0 "$MLFS" branch --store "$S" $repo@v1 dev
echo "dev only" >"$W/devfile"
expect_exit 0 "$MLFS" import --store "$S" "$W/devfile" $repo -b dev -m "dev import" -q
c3=$(tr -d '[:space:]' <"$OUT_F")
is_hex32 "$c3" && ok "import onto branch dev" || fail "import -b dev printed '$c3'"

# --- cat --------------------------------------------------------------------
for f in empty one-byte sizes/64k-1.bin sizes/256k+1.bin "odd/with space.txt" \
	"odd/ünïcødé-文件-🙂.bin" "odd/-leading-dash" text/compressible.txt \
	text/zeros.bin; do
	if "$MLFS" cat --store "$S" "$repo/$f" 2>"$ERR_F" | cmp -s - "$src/$f"; then
		ok "cat '$f'"
	else
		fail "cat '$f' differs"
		show_last
	fi
done
if "$MLFS" cat --store "$S" "$repo@v1/big/big.bin" | cmp -s - "$src/big/big.bin"; then
	ok "cat of the ${BIG_MIB} MiB file"; else fail "cat of the big file differs"; fi
if "$MLFS" cat --store "$S" "$repo@v1/one-byte" | cmp -s - <(printf x); then
	ok "cat @v1 returns the old content"; else fail "cat @v1/one-byte"; fi
if "$MLFS" cat --store "$S" "$repo@dev/devfile" | cmp -s - "$W/devfile"; then
	ok "cat from branch dev (single-file import)"; else fail "cat @dev/devfile"; fi
expect_exit 1 "$MLFS" cat --store "$S" "$repo/no-such-file"
expect_exit 1 "$MLFS" cat --store "$S" "$repo/nest"
expect_exit 1 "$MLFS" cat --store "$S" "$repo@v2/sizes/16k+0.bin"
expect_exit 0 "$MLFS" cat --store "$S" "$repo@v1/sizes/16k+0.bin"

# --- ls ---------------------------------------------------------------------
expect_exit 0 "$MLFS" ls --store "$S" $repo
for n in empty one-byte nest links modes odd sizes new-file.bin; do
	grep -q -- "$n" "$OUT_F" || { fail "ls root lacks '$n'"; continue; }
done
ok "ls lists the root"
expect_exit 0 "$MLFS" ls --store "$S" -l $repo@v1/modes
expect_out 'script\.sh' "ls -l modes/ lists script.sh"
expect_out 'rwxr-xr-x|755' "ls -l shows the exec mode"
expect_exit 0 "$MLFS" ls --store "$S" -l $repo@v1/links
expect_out 'rel.*->.*\.\./one-byte' "ls -l shows symlink targets"
# setuid, setgid and sticky bits, as ls(1) shows them
mkdir -p "$W/special/tmpd"
echo a >"$W/special/suid" && chmod 4755 "$W/special/suid"
echo b >"$W/special/sgid" && chmod 2644 "$W/special/sgid"
chmod 1777 "$W/special/tmpd"
expect_exit 0 "$MLFS" import --store "$S" "$W/special" rt/special -q
expect_exit 0 "$MLFS" ls --store "$S" -l rt/special
for want in '^-rwsr-xr-x .* suid$' '^-rw-r-Sr-- .* sgid$' '^drwxrwxrwt .* tmpd$'; do
	expect_out "$want" "ls -l: $want"
done
expect_exit 0 "$MLFS" ls --store "$S" -R $repo@v1
n_ls=$(grep -c 'leaf.txt' "$OUT_F")
[ "$n_ls" -ge 1 ] && ok "ls -R reaches nest/a/b/c/d/e/f/g/leaf.txt" ||
	fail "ls -R misses deep files"
expect_exit 0 "$MLFS" ls --store "$S" --json $repo@v1
json_ok "ls --json parses" "isinstance(d, (list, dict))"
"$PY" - "$OUT_F" <<'EOF' && ok "ls --json has name/type/size/mode/mtime per entry" || fail "ls --json entry fields"
import json, sys
d = json.load(open(sys.argv[1]))
ents = d if isinstance(d, list) else d.get("entries") or d.get("children")
names = {e.get("name", e.get("path", "")).rsplit("/", 1)[-1]: e for e in ents}
e = names["one-byte"]
for k in ("type", "size", "mode"):
    assert k in e, k
assert e["size"] == 1, e
assert any(k.startswith("mtime") for k in e), e
assert "empty" in names and names["empty"]["size"] == 0
EOF
expect_exit 0 "$MLFS" ls --store "$S" -R --json $repo@v1
json_ok "ls -R --json parses"
expect_exit 0 "$MLFS" ls --store "$S" -l "$repo@v1/one-byte"
expect_out 'one-byte' "ls of a single file"
expect_exit 1 "$MLFS" ls --store "$S" "$repo@v1/no/such/dir"

# --- log, show, repos, tag/branch lists, du -----------------------------------
expect_exit 0 "$MLFS" log --store "$S" $repo
if grep -q "$c2" "$OUT_F" && grep -q "$c1" "$OUT_F" && ! grep -q "$c3" "$OUT_F"; then
	ok "log of main lists c2 and c1, not the dev commit"
else
	fail "log of main: want $c2 and $c1"
	show_last
fi
l1=$(grep -n "$c2" "$OUT_F" | head -1 | cut -d: -f1)
l2=$(grep -n "$c1" "$OUT_F" | head -1 | cut -d: -f1)
[ -n "$l1" ] && [ -n "$l2" ] && [ "$l1" -lt "$l2" ] && ok "log is newest first" ||
	fail "log order"
expect_out 'second version' "log shows messages"
expect_exit 0 "$MLFS" log --store "$S" $repo@dev --json
json_ok "log --json is a list of 2 commits with ids, newest first" \
	"[c.get('commit', c.get('id')) for c in (d if isinstance(d, list) else d['commits'])] == ['$c3', '$c1']"
json_ok "log --json commits carry parent/time/message/author" \
	"all(k in (d if isinstance(d, list) else d['commits'])[0] for k in ('parent','time','message','author'))"
expect_exit 0 "$MLFS" log --store "$S" $repo -n 1 --json
json_ok "log -n 1 shows one commit" "len(d if isinstance(d, list) else d['commits']) == 1 and '$c2' in json.dumps(d)"
expect_exit 0 "$MLFS" show --store "$S" $repo@v1
expect_out "$c1" "show prints the commit id"
expect_out 'first version' "show prints the message"
expect_exit 0 "$MLFS" show --store "$S" $repo@v2 --json
json_ok "show --json has the commit and its parent" \
	"'$c2' in json.dumps(d) and '$c1' in json.dumps(d)"
expect_exit 0 "$MLFS" repos --store "$S" --json
json_ok "repos --json lists test/tricky" "'tricky' in json.dumps(d)"
expect_exit 0 "$MLFS" repos --store "$S"
expect_out 'test/tricky' "repos lists test/tricky"
expect_exit 0 "$MLFS" tag --store "$S" --list $repo --json
json_ok "tag --list --json has v1 -> c1 and v2 -> c2" \
	"'v1' in json.dumps(d) and '$c1' in json.dumps(d) and '$c2' in json.dumps(d)"
expect_exit 0 "$MLFS" branch --store "$S" --list $repo
expect_out 'dev' "branch --list shows dev"
expect_out 'main' "branch --list shows main"
expect_exit 0 "$MLFS" branch --store "$S" --list $repo --json
json_ok "branch --list --json parses" "'dev' in json.dumps(d)"
expect_exit 0 "$MLFS" du --store "$S" $repo@v1 --json
logical=$(find "$out1" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
json_ok "du --json of v1: logical == sum of file sizes ($logical)" \
	"$logical in json_ints(d, 'logical')"
expect_exit 0 "$MLFS" du --store "$S"
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
expect_exit 0 "$MLFS" fsck --store "$S" --json
json_ok "fsck --json parses"

# --- references -----------------------------------------------------------------
chk_ref() {
	local ref=$1 want=$2 got
	got=$(resolve "$S" "$repo@$ref")
	[ -z "$ref" ] && got=$(resolve "$S" "$repo")
	if [ "$got" = "$want" ]; then ok "ref '@$ref' -> ${want:0:8}"; else
		fail "ref '@$ref' resolved to '${got:-<error>}', want $want"
		"$MLFS" show --store "$S" "$repo@$ref" 2>&1 | head -2 | sed 's/^/     /'
	fi
}
[ -n "$(resolve "$S" "$repo@v1")" ] || fail "show --json gives no commit id (keys 'commit' or 'id')"
chk_ref "" "$c2"
chk_ref v1 "$c1"
chk_ref v2 "$c2"
chk_ref main "$c2"
chk_ref dev "$c3"
chk_ref "${c1:0:8}" "$c1"
chk_ref "${c1:0:12}" "$c1"
chk_ref "$c1" "$c1"
chk_ref "$(echo "${c2:0:10}" | tr a-f A-F)" "$c2"
chk_ref "main~1" "$c1"
chk_ref "v2~1" "$c1"
chk_ref "dev~1" "$c1"
chk_ref "main~0" "$c2"
chk_ref "main~" "$c1"
chk_ref "${c2:0:8}~1" "$c1"
chk_ref "{$date1}" "$c1"
chk_ref "main@{$date1}" "$c1"
chk_ref "{$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)}" "$c2"
chk_ref "{$(date -u -d '+1 day' +%Y-%m-%d)}" "$c2"
chk_ref "dev@{$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)}" "$c3"
expect_exit 1 "$MLFS" show --store "$S" "$repo@{2001-01-01}"
expect_exit 1 "$MLFS" show --store "$S" "$repo@main~5"
expect_exit 1 "$MLFS" show --store "$S" "$repo@nosuchref"
# A tag and a branch with the same name: tags win (documented).
expect_exit 0 "$MLFS" tag --store "$S" $repo@v1 same
expect_exit 0 "$MLFS" branch --store "$S" $repo@v2 same
chk_ref same "$c1"
# tag/branch delete.
expect_exit 0 "$MLFS" tag --store "$S" --delete $repo same
chk_ref same "$c2"
expect_exit 0 "$MLFS" branch --store "$S" --delete $repo dev
expect_exit 1 "$MLFS" show --store "$S" "$repo@dev"
if "$MLFS" cat --store "$S" "$repo@${c3:0:8}/devfile" 2>/dev/null | cmp -s - "$W/devfile"; then
	ok "deleted branch's commit still readable by id"
else
	fail "commit of a deleted branch lost"
fi
expect_exit 1 "$MLFS" tag --store "$S" $repo@v1 v2
expect_err 'exist' "creating an existing tag fails and says it exists"
expect_exit 1 "$MLFS" branch --store "$S" --delete $repo main
expect_exit 0 "$MLFS" fsck --store "$S"

summary
