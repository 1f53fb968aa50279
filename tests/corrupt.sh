#!/bin/bash
# corrupt.sh - damaged packs never yield wrong bytes: a flipped byte in a
# chunk's data (raw or zstd), a damaged entry header, a truncated or
# missing pack make cat/export fail (exit 1) with a message naming the
# chunk and pack, and fsck exit 1 naming the file; other files still read.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
src=$W/src
mkdir -p "$src/sub"
gen random "$src/A.bin" --size-mib 2 --seed 21
gen random "$src/B.bin" --size-mib 2 --seed 22
gen random "$src/sub/D.bin" --size-bytes 70000 --seed 23
seq 1 200000 | sed 's/$/ some compressible text line for zstd/' >"$src/C.txt"
repo=cr/r
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -t v1 -q
expect_exit 0 "$MLFS" fsck --store "$S" --read-data

# locate FILE OFFSET: "PACK POS ENTRY" where the 64 bytes of FILE at OFFSET
# sit in a pack (raw chunk) and the entry header that holds them.
locate() {
	"$PY" - "$S/packs" "$1" "$2" <<'EOF'
import glob, sys
packs, f, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
needle = open(f, "rb").read()[off:off + 64]
for p in sorted(glob.glob(packs + "/pack-*.mlp")):
    data = open(p, "rb").read()
    i = data.find(needle)
    if i >= 0:
        e = data.rfind(b"MLCK", 0, i)
        print(p, i, e)
        sys.exit(0)
sys.exit(1)
EOF
}

# zstd_entry: "PACK POS" of the first zstd-coded entry's stored bytes.
zstd_entry() {
	"$PY" - "$S/packs" <<'EOF'
import glob, sys
for p in sorted(glob.glob(sys.argv[1] + "/pack-*.mlp")):
    data = open(p, "rb").read()
    i = data.find(b"\x28\xb5\x2f\xfd")
    while i >= 0:
        e = data.rfind(b"MLCK", 0, i)
        if e >= 0 and i - e == 40:
            print(p, i)
            sys.exit(0)
        i = data.find(b"\x28\xb5\x2f\xfd", i + 1)
sys.exit(1)
EOF
}

flip() { # FILE POS
	"$PY" -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1)
    f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x5a]))' "$1" "$2"
}

# cat_prefix_only FILE: the last cat's stdout ($W/cat.out) is a prefix of
# FILE: whatever was written before the error is correct data.
cat_prefix_only() {
	local n
	n=$(stat -c %s "$W/cat.out")
	if cmp -s -n "$n" "$W/cat.out" "$1"; then
		ok "$2: the $n bytes written before the error are correct"
	else
		fail "$2: cat wrote WRONG bytes before failing"
	fi
}

# ---- 1: a flipped byte in a raw chunk of A.bin --------------------------------
read -r pack pos entry < <(locate "$src/A.bin" $((1024 * 1024 + 4096)))
if [ -z "${pack:-}" ]; then
	fail "could not find A.bin's bytes in any pack (stored raw?)"
	summary
fi
packname=$(basename "$pack")
echo "   A.bin byte 1 MiB+4 KiB is at $packname offset $pos (entry $entry)"
cp "$pack" "$W/pack.orig"
flip "$pack" "$pos"

"$MLFS" cat --store "$S" $repo/A.bin >"$W/cat.out" 2>"$ERR_F"
RC=$?
[ "$RC" -eq 1 ] && ok "cat of a file with a corrupt chunk exits 1" ||
	fail "cat of corrupt A.bin exited $RC, want 1"
expect_err 'chunk' "cat error names the chunk"
expect_err "pack-[0-9a-f]{16}|pack" "cat error names the pack"
expect_err 'A\.bin' "cat error names the file"
expect_err_prefix "cat error"
cat_prefix_only "$src/A.bin" "raw corruption"
for f in B.bin C.txt sub/D.bin; do
	if "$MLFS" cat --store "$S" "$repo/$f" 2>/dev/null | cmp -s - "$src/$f"; then
		ok "other file '$f' still reads fine"
	else
		fail "other file '$f' fails after A.bin's chunk was damaged"
	fi
done
expect_exit 1 "$MLFS" export --store "$S" $repo "$W/exp1"
expect_err 'chunk' "export error names the chunk"
expect_err 'pack' "export error names the pack"
if [ -e "$W/exp1/A.bin" ] && cmp -s "$W/exp1/A.bin" "$src/A.bin"; then
	fail "export left a complete A.bin though the chunk is bad?"
elif [ -e "$W/exp1/A.bin" ]; then
	echo "   note: failed export leaves a partial tree at DEST"
fi
expect_exit 0 "$MLFS" export --store "$S" $repo/sub "$W/exp-sub"
expect_exit 1 "$MLFS" fsck --store "$S" --read-data
cat "$OUT_F" "$ERR_F" >"$W/fsck.all"
grep -q 'A\.bin' "$W/fsck.all" && ok "fsck --read-data names the file A.bin" ||
	{ fail "fsck --read-data does not name A.bin"; show_last; }
grep -q 'cr/r' "$W/fsck.all" && ok "fsck --read-data names the repository" ||
	fail "fsck --read-data does not name the repository"
grep -Eq 'v1|[0-9a-f]{8}' "$W/fsck.all" && ok "fsck --read-data names the version" ||
	fail "fsck --read-data does not name the commit"
grep -q "${packname%.mlp}" "$W/fsck.all" && ok "fsck --read-data names the pack" ||
	fail "fsck --read-data does not name the pack $packname"
grep -qi 'chunk' "$W/fsck.all" && ok "fsck --read-data names the chunk" ||
	fail "fsck --read-data does not mention the chunk"
if grep -q 'B\.bin' "$W/fsck.all"; then fail "fsck blames B.bin too"; else
	ok "fsck does not blame intact files"; fi
expect_exit 1 "$MLFS" fsck --store "$S" --read-data --json
json_ok "fsck --read-data --json parses and names A.bin" "'A.bin' in json.dumps(d)"
run "$MLFS" fsck --store "$S"
echo "   fsck without --read-data on flipped data byte: exit $RC (not checked)"
cp "$W/pack.orig" "$pack"
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
if "$MLFS" cat --store "$S" $repo/A.bin 2>/dev/null | cmp -s - "$src/A.bin"; then
	ok "restored pack: A.bin reads fine again"
else
	fail "restored pack: A.bin still fails"
fi

# ---- 2: a flipped byte inside a zstd frame ------------------------------------------
read -r zpack zpos < <(zstd_entry)
if [ -n "${zpack:-}" ]; then
	cp "$zpack" "$W/zpack.orig"
	flip "$zpack" $((zpos + 60))
	bad=""
	for f in C.txt A.bin B.bin sub/D.bin; do
		"$MLFS" cat --store "$S" "$repo/$f" >"$W/cat.out" 2>"$ERR_F"
		rc=$?
		if [ $rc -ne 0 ]; then
			bad=$f
			[ $rc -eq 1 ] && ok "zstd corruption: cat '$f' exits 1" ||
				fail "zstd corruption: cat '$f' exit $rc"
			expect_err 'chunk' "zstd corruption: message names the chunk"
			expect_err 'pack' "zstd corruption: message names the pack"
			cat_prefix_only "$src/$f" "zstd corruption"
		elif ! cmp -s "$W/cat.out" "$src/$f"; then
			fail "zstd corruption: cat '$f' exit 0 with WRONG bytes"
		fi
	done
	[ -n "$bad" ] && ok "zstd corruption detected on read" ||
		fail "zstd corruption not detected by any cat"
	expect_exit 1 "$MLFS" fsck --store "$S" --read-data
	cp "$W/zpack.orig" "$zpack"
else
	fail "no zstd-coded entry found in the packs (C.txt not compressed?)"
fi

# ---- 3: a damaged entry header ---------------------------------------------------------
flip "$pack" $((entry + 20))
"$MLFS" cat --store "$S" $repo/A.bin >"$W/cat.out" 2>"$ERR_F"
RC=$?
[ $RC -eq 1 ] && ok "damaged entry header: cat exits 1" || fail "damaged entry header: cat exit $RC"
expect_err 'chunk|pack' "damaged entry header: message names chunk/pack"
cat_prefix_only "$src/A.bin" "damaged entry header"
expect_exit 1 "$MLFS" fsck --store "$S"
grep -q 'A\.bin' "$OUT_F" "$ERR_F" && ok "fsck (no --read-data) names A.bin for a bad entry header" ||
	fail "fsck (no --read-data) does not name A.bin for a bad entry header"
cp "$W/pack.orig" "$pack"
flip "$pack" $((entry + 1)) # the entry magic
expect_exit 1 "$MLFS" fsck --store "$S"
cp "$W/pack.orig" "$pack"

# ---- 4: truncated pack ------------------------------------------------------------------
psize=$(stat -c %s "$pack")
truncate -s $((psize - 1000)) "$pack"
expect_exit 1 "$MLFS" fsck --store "$S"
fails=0
for f in A.bin B.bin C.txt sub/D.bin; do
	"$MLFS" cat --store "$S" "$repo/$f" >"$W/cat.out" 2>"$ERR_F"
	rc=$?
	if [ $rc -ne 0 ]; then
		fails=$((fails + 1))
		[ $rc -eq 1 ] || fail "truncated pack: cat '$f' exit $rc"
		cat_prefix_only "$src/$f" "truncated pack '$f'"
	elif ! cmp -s "$W/cat.out" "$src/$f"; then
		fail "truncated pack: cat '$f' exit 0 with WRONG bytes"
	fi
done
[ $fails -ge 1 ] && ok "truncated pack: the file in its tail fails to read" ||
	fail "truncated pack: every file still reads?"
cp "$W/pack.orig" "$pack"

# ---- 5: missing pack ----------------------------------------------------------------------
mv "$pack" "$W/moved.mlp"
expect_exit 1 "$MLFS" fsck --store "$S"
cat "$OUT_F" "$ERR_F" | grep -q "${packname%.mlp}" && ok "fsck names the missing pack" ||
	fail "fsck does not name the missing pack $packname"
expect_exit 1 "$MLFS" cat --store "$S" $repo/A.bin
expect_err 'pack' "cat with a missing pack names the pack"
mv "$W/moved.mlp" "$pack"

# ---- 6: damaged pack header ----------------------------------------------------------------
flip "$pack" 2
expect_exit 1 "$MLFS" fsck --store "$S"
expect_exit 1 "$MLFS" fsck --store "$S" --read-data
cp "$W/pack.orig" "$pack"

# ---- 7: garbage appended to a pack (like a torn write) is harmless ------------------------
head -c 5000 /dev/urandom >>"$pack"
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
if "$MLFS" cat --store "$S" $repo/B.bin | cmp -s - "$src/B.bin"; then
	ok "torn tail: data still reads"; else fail "torn tail breaks reads"; fi
echo "new content after a torn tail" >"$src/new.txt"
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -q
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
if "$MLFS" cat --store "$S" $repo/new.txt | cmp -s - "$src/new.txt"; then
	ok "import after a torn tail: new data reads"; else fail "import after a torn tail"; fi

summary
