#!/bin/bash
# names.sh - every malformed repository, branch or tag name and every
# malformed reference gets exit 2 and a message naming the rule; a
# well-formed name that does not exist gets exit 1; edge-valid names work.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
echo hello >"$W/f.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" ns/repo -t v1 -q
c1=$(tr -d '[:space:]' <"$OUT_F")
echo hello2 >"$W/f.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" ns/repo -q
c2=$(tr -d '[:space:]' <"$OUT_F")
[ "$(resolve "$S" ns/repo)" = "$c2" ] && ok "ns/repo resolves to its main head" ||
	fail "ns/repo does not resolve to $c2"

RULE='A-Za-z0-9\._-|1-128|128 char'
n129=$(printf 'a%.0s' $(seq 129))
n128=$(printf 'b%.0s' $(seq 128))
n4k=$(printf 'c%.0s' $(seq 4096))

# Bad name parts (each used as namespace, name, tag, branch).
bad_parts=(".." "." ".hidden" "-dash" "" "a b" "a@b" $'a\x01b' $'tab\there'
	$'nl\nx' "a:b" "a*b" "a~b" "a^b" "a\\b" "ünï" "$n129" "$n4k" "a{b}"
	"a#b" "a%b")
desc() { local s=$1; [ ${#s} -gt 24 ] && s="${s:0:12}...(${#1} chars)"; printf %q "$s"; }

# bad_name MSG cmd...: exit 2 and stderr names the rule.
bad_name() {
	local m=$1
	shift
	run "$@"
	if [ "$RC" -eq 2 ] && grep -Eq -- "$RULE" "$ERR_F"; then
		ok "$m: exit 2, names the rule"
	elif [ "$RC" -eq 2 ]; then
		fail "$m: exit 2 but the message does not name the rule"
		show_last
	else
		fail "$m: exit $RC, want 2"
		show_last
	fi
}

for p in "${bad_parts[@]}"; do
	d=$(desc "$p")
	bad_name "import to namespace $d" "$MLFS" import --store "$S" -q -- "$W/f.txt" "$p/repo"
	[ -n "$p" ] && [[ $p != *@* ]] &&
		bad_name "import to name $d" "$MLFS" import --store "$S" "$W/f.txt" "ns/$p" -q
	[ -n "$p" ] && [[ $p != -* ]] &&
		bad_name "tag $d" "$MLFS" tag --store "$S" ns/repo@v1 "$p"
	[ -n "$p" ] && [[ $p != -* ]] &&
		bad_name "branch $d" "$MLFS" branch --store "$S" ns/repo@v1 "$p"
	[ -n "$p" ] &&
		bad_name "import -t $d" "$MLFS" import --store "$S" "$W/f.txt" ns/repo -q -t "$p"
	[ -n "$p" ] &&
		bad_name "import -b $d" "$MLFS" import --store "$S" "$W/f.txt" ns/repo -q -b "$p"
done
# Names that look like options still fail cleanly (usage or rule: exit 2).
expect_exit 2 "$MLFS" tag --store "$S" ns/repo@v1 -- -dash
expect_exit 2 "$MLFS" tag --store "$S" ns/repo@v1 ""
expect_exit 2 "$MLFS" branch --store "$S" ns/repo@v1 ""

# Bad repository name shapes.
RULE_SAVE=$RULE
RULE="$RULE|<namespace>/<name>"
for r in "ns" "ns/" "/repo" "ns//repo" "ns/a/b" "a/b/c/d" "/" "" \
	"ns/../repo" "../ns/repo"; do
	bad_name "import to repo '$r'" "$MLFS" import --store "$S" "$W/f.txt" "$r" -q
done
RULE=$RULE_SAVE
run "$MLFS" import --store "$S" "$W/f.txt" "ns/slash/" -q
echo "   note: import to 'ns/slash/' (trailing slash) -> exit $RC"
# Readers reject bad names the same way (exit 2), before any lookup.
for r in ".x/repo" "ns/-x" "ns/$n129" "ns/a b" $'ns/a\x7fb' "ns/$n4k"; do
	d=$(desc "$r")
	bad_name "log $d" "$MLFS" log --store "$S" "$r"
	bad_name "show $d" "$MLFS" show --store "$S" "$r"
	bad_name "ls $d" "$MLFS" ls --store "$S" "$r"
	bad_name "du $d" "$MLFS" du --store "$S" "$r"
done
bad_name "cat with a bad name" "$MLFS" cat --store "$S" "ns/a b/f.txt"
bad_name "export with a bad name" "$MLFS" export --store "$S" "n\$s/repo" "$W/x"

# Bad reference syntax: exit 2 and a message about the reference.
bad_ref() {
	local ref=$1 re=$2
	run "$MLFS" show --store "$S" "$ref"
	if [ "$RC" -eq 2 ] && grep -Eiq -- "$re" "$ERR_F"; then
		ok "bad ref $(desc "$ref"): exit 2, message mentions /$re/"
	elif [ "$RC" -eq 2 ]; then
		fail "bad ref $(desc "$ref"): exit 2 but message lacks /$re/"
		show_last
	else
		fail "bad ref $(desc "$ref"): exit $RC, want 2"
		show_last
	fi
}
bad_ref "ns/repo@" 'ref|empty'
bad_ref "ns/repo@@" 'ref|@'
bad_ref "ns/repo@v1@v1" 'ref|@'
bad_ref "ns/repo@{}" 'date|empty'
bad_ref "ns/repo@{notadate}" 'date'
bad_ref "ns/repo@{2024-13-01}" 'date'
bad_ref "ns/repo@{2024-02-30}" 'date'
bad_ref "ns/repo@{2024-03-01T25:00:00Z}" 'date'
bad_ref "ns/repo@{2024-03-01" 'date|\}|ref'
bad_ref "ns/repo@main@{yesterday-ish}" 'date'
bad_ref "ns/repo@main~x" '~|number|ref'
bad_ref "ns/repo@main~-1" '~|number|ref'
bad_ref "ns/repo@main~1x" '~|number|ref'
bad_ref "ns/repo@main~99999999999999999999999" '~|number|ref|large|range'
bad_ref "ns/repo@~1" 'ref|~|empty'
bad_ref "ns/repo@.bad" "$RULE|ref"
bad_ref "ns/repo@-bad" "$RULE|ref"
bad_ref "ns/repo@$n129" "$RULE|ref"
bad_ref "ns/repo@$n4k" "$RULE|ref"
bad_ref "ns/repo@a b" "$RULE|ref"
bad_ref $'ns/repo@a\x01' "$RULE|ref"
# A path is not allowed where the command takes a version.
run "$MLFS" show --store "$S" "ns/repo@v1/f.txt"
[ "$RC" -eq 2 ] && ok "show with a /path: exit 2" || { fail "show ns/repo@v1/f.txt exit $RC, want 2"; show_last; }
run "$MLFS" log --store "$S" "ns/repo/f.txt"
[ "$RC" -eq 2 ] && ok "log with a /path: exit 2" || { fail "log ns/repo/f.txt exit $RC, want 2"; show_last; }
run "$MLFS" import --store "$S" "$W/f.txt" "ns/repo@v1" -q
[ "$RC" -eq 2 ] && ok "import to NS/NAME@REF: exit 2" || { fail "import to ns/repo@v1 exit $RC, want 2"; show_last; }
# Paths with . or .. components.
for p in "ns/repo@v1/../f.txt" "ns/repo@v1/./f.txt" "ns/repo/a//b"; do
	run "$MLFS" cat --store "$S" "$p"
	[ "$RC" -eq 2 ] || [ "$RC" -eq 1 ] && ok "cat '$p': exit $RC" ||
		{ fail "cat '$p': exit $RC"; show_last; }
	[ -s "$OUT_F" ] && fail "cat '$p' printed data"
done

# Ambiguous commit prefix: make a second commit row sharing c1's first
# 8 hex digits (there is no other way to get an 8-digit collision in a test).
db=$S/mlfs.db
if command -v sqlite3 >/dev/null; then
	tbl=$(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'commit%' ORDER BY length(name) LIMIT 1" 2>/dev/null)
	idcol=$(sqlite3 "$db" "SELECT name FROM pragma_table_info('$tbl') WHERE pk=1 OR name='id' LIMIT 1" 2>/dev/null)
fi
fake=${c1:0:8}00112233445566778899aabb
if [ -n "${tbl:-}" ] && [ -n "${idcol:-}" ] &&
	sqlite3 "$db" "CREATE TEMP TABLE t AS SELECT * FROM \"$tbl\" WHERE hex($idcol) = upper('$c1');
		UPDATE t SET $idcol = X'$fake';
		INSERT INTO \"$tbl\" SELECT * FROM t;" 2>"$W/sqlerr"; then
	run "$MLFS" show --store "$S" "ns/repo@${c1:0:8}"
	if [ "$RC" -eq 2 ] || [ "$RC" -eq 1 ]; then
		ok "ambiguous prefix ${c1:0:8}: exit $RC"
	else
		fail "ambiguous prefix ${c1:0:8}: exit $RC (want an error)"
	fi
	[ "$RC" -eq 2 ] || echo "   note: ambiguous prefix exits $RC (brief asks 2)"
	expect_err 'ambiguous' "ambiguous prefix: message says ambiguous"
	grep -q "$c1" "$ERR_F" && grep -qi "$fake" "$ERR_F" &&
		ok "ambiguous prefix: message lists both candidates" ||
		{ fail "ambiguous prefix: candidates not listed"; show_last; }
	chk=$(resolve "$S" "ns/repo@${c1:0:10}")
	[ "$chk" = "$c1" ] && ok "a longer unique prefix still resolves" ||
		fail "longer prefix ${c1:0:10} resolved to '$chk'"
	sqlite3 "$db" "DELETE FROM \"$tbl\" WHERE hex($idcol) = upper('$fake')" 2>/dev/null
else
	fail "could not fake a commit-id collision in $db (table '${tbl:-?}', $(cat "$W/sqlerr" 2>/dev/null))"
fi

# Short prefixes (< 8) are not commit ids: they are tag/branch names.
run "$MLFS" show --store "$S" "ns/repo@${c1:0:7}"
[ "$RC" -eq 1 ] && ok "7-hex prefix is not a commit id: unknown ref, exit 1" ||
	{ fail "7-hex prefix: exit $RC, want 1"; show_last; }

# Unknown but well-formed: exit 1.
expect_exit 1 "$MLFS" log --store "$S" ns/nosuch
expect_err 'nosuch' "unknown repo: message names it"
expect_err_prefix "unknown repo"
expect_exit 1 "$MLFS" log --store "$S" other/repo
expect_exit 1 "$MLFS" show --store "$S" ns/repo@nosuchtag
expect_err 'nosuchtag' "unknown ref: message names it"
expect_exit 1 "$MLFS" show --store "$S" ns/repo@deadbeef
expect_exit 1 "$MLFS" show --store "$S" ns/repo@deadbeefdeadbeefdeadbeefdeadbeef
expect_exit 1 "$MLFS" show --store "$S" ns/repo@main~2
expect_exit 1 "$MLFS" show --store "$S" "ns/repo@{1999-01-01}"
expect_exit 1 "$MLFS" cat --store "$S" ns/nosuch/f.txt
expect_exit 1 "$MLFS" tag --store "$S" --list ns/nosuch
expect_exit 1 "$MLFS" tag --store "$S" --delete ns/repo nosuchtag
expect_exit 1 "$MLFS" branch --store "$S" --delete ns/repo nosuchbranch
expect_exit 1 "$MLFS" du --store "$S" ns/nosuch

# Edge-valid names work.
for n in "$n128" "a" "A-b_c.9" "9start" "x.y-z_" "UPPER"; do
	run "$MLFS" import --store "$S" "$W/f.txt" "ns/$n" -q -t "$n" -b "$n"
	if [ "$RC" -eq 0 ]; then
		ok "valid name $(desc "$n") accepted as repo, tag and branch"
		r=$(resolve "$S" "ns/$n@$n")
		is_hex32 "$r" && ok "ns/$(desc "$n")@$(desc "$n") resolves" || fail "ns/$n@$n does not resolve"
	else
		fail "valid name $(desc "$n"): exit $RC"
		show_last
	fi
done
expect_exit 2 "$MLFS" import --store "$S" "$W/f.txt" "ns/a..b" -q
expect_err "'\.\.'" "'ns/a..b' is refused naming '..'"
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" "$n128/$n128" -q
expect_exit 0 "$MLFS" cat --store "$S" "$n128/$n128@main/f.txt"
expect_exit 0 "$MLFS" fsck --store "$S"

# A whole commit id names its commit for good: no tag, branch or alias
# may take one as its name (it would redirect pinned versions).
echo one >"$W/id.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/id.txt" ids/r -q -t v1
echo two >"$W/id.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/id.txt" ids/r -q -t v2
full=$("$MLFS" show --store "$S" ids/r@v2 --json |
       "$PY" -c 'import json, sys; print(json.load(sys.stdin)["commit"])')
upper=$(tr a-f A-F <<<"$full")
for cmd in "tag ids/r@v1 $full" "branch ids/r@v1 $upper" \
	   "alias ids/r@v1 $full" "import $W/id.txt ids/r -q -t $full" \
	   "import $W/id.txt ids/r -q -b $full"; do
	# shellcheck disable=SC2086
	expect_exit 2 "$MLFS" --store "$S" $cmd
	expect_err "32 hex digits is a commit id" "refused: $cmd"
done
"$MLFS" cat --store "$S" "ids/r@$full/id.txt" >"$OUT_F" 2>"$ERR_F"
[ "$(cat "$OUT_F")" = two ] && ok "@<whole id> reads its commit" ||
	fail "@<whole id> read '$(cat "$OUT_F")'"
expect_exit 0 "$MLFS" fsck --store "$S"

# Names that are not UTF-8 in --json: valid JSON, each stray byte as
# \udcXX (Python's surrogateescape), so os.fsencode gives the bytes back;
# UTF-8 names stay as they are. The CLI's writer (ls) and the library's
# (diff) alike.
U=$W/utf
mkdir -p "$U"
"$PY" - "$U" <<'PYEOF'
import os, sys
for n in (b"caf\xc3\xa9", b"bad\xff\xfename", b"half\xe2\x82", b"ok"):
    with open(os.path.join(os.fsencode(sys.argv[1]), n), "wb") as f:
        f.write(n)
PYEOF
expect_exit 0 "$MLFS" import --store "$S" "$U" utf/r -q -t v1
echo more >>"$U/ok"
for n in $'bad\xff\xfename' $'half\xe2\x82'; do echo x >>"$U/$n"; done
expect_exit 0 "$MLFS" import --store "$S" "$U" utf/r -q -t v2
check_names() {
	"$PY" -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
want = {b"caf\xc3\xa9", b"bad\xff\xfename", b"half\xe2\x82", b"ok"}
got = {os.fsencode(e[sys.argv[2]]) for e in (d if isinstance(d, list) else d["changes"])}
sys.exit(0 if got == want else 1)' "$OUT_F" "$1"
}
expect_exit 0 "$MLFS" ls --store "$S" utf/r@v1 --json
check_names path && ok "ls --json: valid JSON, every name's bytes back" ||
	fail "ls --json of names that are not UTF-8: $(head -c 300 "$OUT_F")"
expect_exit 1 "$MLFS" diff --store "$S" utf/r@v1 utf/r@v2 --json --no-content
"$PY" -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
got = sorted(os.fsencode(c["path"]) for c in d["changes"])
sys.exit(0 if got == [b"bad\xff\xfename", b"half\xe2\x82", b"ok"] else 1)' "$OUT_F" &&
	ok "diff --json: valid JSON, the names' bytes back" ||
	fail "diff --json of names that are not UTF-8: $(head -c 300 "$OUT_F")"

# An invalid name is quoted in the error, never echoed raw (a terminal
# would run its escape sequences).
for cmd in tag branch alias; do
	expect_exit 2 "$MLFS" "$cmd" --store "$S" ids/r@v1 $'bad\x1b[2Jname'
	if grep -q $'\x1b' "$ERR_F"; then
		fail "$cmd: a control byte of a bad name echoed raw"
	else
		expect_err 'bad\\033\[2Jname' "$cmd: the bad name is quoted in the error"
	fi
done

summary
