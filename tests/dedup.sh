#!/bin/bash
# dedup.sh - re-importing the same tree writes no new chunk data (< 1 %
# store growth); a file with one byte inserted at its start (or in the
# middle, or one byte removed) shares >= 90 % of its chunks with the
# original; identical content in another repository costs nothing; du
# reports logical vs stored vs unique bytes consistently.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
src=$W/src
gen tree "$src" --seed 3 --big-mib 64 || { fail "gen-data tree"; summary; }
gen model "$src/model.safetensors" --seed 3 --size-mib 32

packs() { dir_bytes "$S/packs"; }
store_bytes() { dir_bytes "$S"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b ? 100 * a / b : 0) }'; }
# lt A B: A < B (floating point)
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# json_field FIELD: an integer field of the last stdout (import --json).
json_field() {
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$OUT_F" "$1" 2>/dev/null
}

# --- same tree twice -----------------------------------------------------------
expect_exit 0 "$MLFS" import --store "$S" "$src" dd/tree -q --json
json_ok "import --json has commit, files, bytes, new_chunks, new_stored_bytes, seconds" \
	"all(k in d for k in ('commit','files','bytes','new_chunks','new_stored_bytes','seconds'))"
p1=$(packs)
s1=$(store_bytes)
logical=$(json_field bytes)
echo "   first import: logical $logical, packs $p1, store $s1"
expect_exit 0 "$MLFS" import --store "$S" "$src" dd/tree -q --json
p2=$(packs)
s2=$(store_bytes)
nc=$(json_field new_chunks)
nsb=$(json_field new_stored_bytes)
growth=$(pct $((p2 - p1)) "$p1")
if lt "$growth" 1; then ok "second import of the same tree grows packs by $growth % (< 1 %)"; else
	fail "second import grows packs by $growth % ($((p2 - p1)) bytes)"; fi
sgrowth=$(pct $((s2 - s1)) "$s1")
if lt "$sgrowth" 1; then ok "whole store (db included) grows by $sgrowth % (< 1 %)"; else
	fail "whole store grows by $sgrowth % ($((s2 - s1)) bytes)"; fi
[ "$nc" = 0 ] && ok "second import: new_chunks 0" || fail "second import: new_chunks '$nc'"
[ "$nsb" = 0 ] && ok "second import: new_stored_bytes 0" || fail "second import: new_stored_bytes '$nsb'"

# The same tree in another repository shares everything.
expect_exit 0 "$MLFS" import --store "$S" "$src" other/copy -q --json
nc=$(json_field new_chunks)
p3=$(packs)
[ "$nc" = 0 ] && [ "$p3" = "$p2" ] && ok "same content in another repo: no new chunks" ||
	fail "another repo: new_chunks '$nc', packs grew $((p3 - p2))"

# A subtree moved elsewhere: file content still dedups.
mkdir "$W/moved"
mv "$src/sizes" "$W/moved/renamed-sizes"
mv "$src/big" "$W/moved/"
expect_exit 0 "$MLFS" import --store "$S" "$W/moved" dd/moved -q --json
nc=$(json_field new_chunks)
[ "$nc" = 0 ] && ok "renamed/moved files: no new chunks" || fail "moved files: new_chunks '$nc'"

# du: logical vs stored vs unique.
expect_exit 0 "$MLFS" du --store "$S" dd/tree --json
json_ok "du --json: logical of dd/tree == import bytes ($logical)" \
	"$logical in json_ints(d, 'logical')"
json_ok "du --json: a commit shared by two imports has unique 0" \
	"0 in json_ints(d, 'unique')"

# --- one byte inserted --------------------------------------------------------------
# unique_of REF: the "unique" bytes du reports for REF.
unique_of() {
	"$MLFS" du --store "$S" "$1" --json 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k.startswith("unique") and isinstance(v, int):
                yield v
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
print(max(walk(d)))' 2>/dev/null
}

F=$W/ins
mkdir "$F"
gen random "$F/data.bin" --size-mib 48 --seed 11
size=$(stat -c %s "$F/data.bin")
expect_exit 0 "$MLFS" import --store "$S" "$F/data.bin" dd/ins -t orig -q

try_edit() { # DESC PYTHON-EXPR-OVER-b
	local desc=$1 expr=$2
	"$PY" -c "
import sys
b = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write($expr)" "$F/data.bin" "$F/edited.bin"
	mkdir -p "$F/e"
	mv "$F/edited.bin" "$F/e/data.bin"
	local before after grown pg u
	before=$(packs)
	expect_exit 0 "$MLFS" import --store "$S" "$F/e/data.bin" dd/ins -q --json
	after=$(packs)
	grown=$((after - before))
	pg=$(pct "$grown" "$size")
	if lt "$pg" 10; then
		ok "$desc: packs grow $pg % of the file (>= 90 % of chunks shared)"
	else
		fail "$desc: packs grow $pg % of the file ($grown bytes)"
	fi
	u=$(unique_of "dd/ins@main")
	if [ -n "$u" ] && lt "$(pct "$u" "$size")" 10; then
		ok "$desc: du unique $(pct "$u" "$size") % of the file"
	else
		fail "$desc: du unique '${u:-?}' bytes of $size"
	fi
	if "$MLFS" cat --store "$S" dd/ins/data.bin | cmp -s - "$F/e/data.bin"; then
		ok "$desc: content reads back"
	else
		fail "$desc: content differs"
	fi
}
try_edit "one byte inserted at the start" "b'\\x5a' + b"
try_edit "one byte inserted in the middle" "b[:len(b)//2] + b'\\x00' + b[len(b)//2:]"
try_edit "one byte removed at the start" "b[1:]"
try_edit "4 KiB overwritten in the middle" "b[:len(b)//3] + bytes(4096) + b[len(b)//3 + 4096:]"
u=$(unique_of "dd/ins@orig")
[ -n "$u" ] && lt "$(pct "$u" "$size")" 10 && ok "original keeps little unique data (${u} bytes)" ||
	fail "original's unique bytes '${u:-?}'"

# Compression happened for compressible data, and not for random data.
expect_exit 0 "$MLFS" du --store "$S" dd/tree@main --json
"$PY" - "$OUT_F" <<'EOF' && ok "du: stored < logical for a tree with compressible files" || fail "du stored vs logical"
import json, sys
d = json.load(open(sys.argv[1]))
def find(x, key):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == key and isinstance(v, int):
                return v
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(x, list):
        for v in x:
            r = find(v, key)
            if r is not None:
                return r
lo, st = find(d, "logical"), find(d, "stored")
assert lo and st and st < lo, (lo, st)
EOF

expect_exit 0 "$MLFS" fsck --store "$S" --read-data
summary
