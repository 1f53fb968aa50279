#!/bin/bash
# corrupt.sh - damage never yields wrong bytes. Packs: a flipped byte in a
# chunk's data (raw or zstd), a damaged entry header, a truncated or
# missing pack make cat/export fail (exit 1) with a message naming the
# chunk and pack, and fsck exit 1 naming the file; other files still read.
# mlfs.db (sections 8-14, edited with Python's sqlite3 and dd): a tree
# blob, a commit row, a chunk list, a ref row, a zeroed page, a truncated
# file. For each, cat, export and reads through the mount give the right
# bytes or fail, and fsck exits 1 naming the damaged object. Byte planes
# (section 16): a flipped byte in a raw plane or a plane's frame fails
# cat, fsck and a read through the mount (EIO). A branch row lost from
# the refs table (section 17) is damage, never an unborn branch, and a
# subtree's row lost (section 18) is damage, never a missing file; so is
# a commit lost from the middle of a history (section 19) and a file's
# contents row (section 20).
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

# ==== damaged mlfs.db ======================================================
# A store of its own: models/a.bin and b.bin have the same size (so their
# chunk lists and tree entries can be swapped and still decode), c.bin
# another; small/ holds enough files that the database spans many pages.
# v2 changes small/f000 only, so the models tree is shared by v1 and v2.
D=$(new_store) || exit 1
src2=$W/src2
mkdir -p "$src2/models" "$src2/small"
gen random "$src2/models/a.bin" --size-bytes 300000 --seed 31
gen random "$src2/models/b.bin" --size-bytes 300000 --seed 32
gen random "$src2/models/c.bin" --size-bytes 200000 --seed 33
"$PY" - "$src2/small" <<'EOF'
import random, sys
r = random.Random(34)
for i in range(600):
    with open("%s/f%03d" % (sys.argv[1], i), "wb") as f:
        f.write(r.randbytes(r.randint(40, 900)))
EOF
cp -a "$src2" "$W/src2-v1"
drepo=cr/db
expect_exit 0 "$MLFS" import --store "$D" "$src2" $drepo -t v1 -q
echo "changed in v2" >"$src2/small/f000"
expect_exit 0 "$MLFS" import --store "$D" "$src2" $drepo -t v2 -q
V1=$W/src2-v1
DB=$D/mlfs.db

# ls_id REF/PATH NAME: the tree id or digest of entry NAME in that dir.
ls_id() {
	"$MLFS" ls --store "$D" "$1" --json | "$PY" -c '
import json, sys
for e in json.load(sys.stdin):
    if e["path"] == sys.argv[1]:
        print(e.get("tree") or e.get("digest"))' "$2"
}
models_tree=$(ls_id $drepo@v1 models)
dig_a=$(ls_id $drepo@v1/models a.bin)
dig_b=$(ls_id $drepo@v1/models b.bin)
dig_c=$(ls_id $drepo@v1/models c.bin)
c1=$(resolve "$D" $drepo@v1)
c2=$(resolve "$D" $drepo@v2)
if is_hex32 "$models_tree" && is_hex32 "$dig_a" && is_hex32 "$dig_b" &&
	is_hex32 "$dig_c" && is_hex32 "$c1" && is_hex32 "$c2"; then
	ok "db fixture: ids of the models tree, a/b/c.bin and v1/v2 found"
else
	fail "db fixture: could not read the ids ($models_tree $dig_a $c1 $c2)"
	summary
fi
expect_exit 0 "$MLFS" fsck --store "$D" --read-data

# The pristine database, without a -wal file (every change checkpointed).
db_quiesce() {
	"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()' "$DB"
	rm -f "$DB-wal" "$DB-shm"
}
db_quiesce
cp "$DB" "$W/db.orig"
db_restore() {
	rm -f "$DB-wal" "$DB-shm"
	cp "$W/db.orig" "$DB"
}

# db_edit PYTHON: run PYTHON with `db` (an sqlite3 connection to mlfs.db)
# and H (bytes.fromhex); the change is committed and checkpointed.
db_edit() {
	"$PY" - "$DB" <<EOF
import sqlite3, sys
H = bytes.fromhex
db = sqlite3.connect(sys.argv[1])
$1
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
EOF
	local rc=$?
	rm -f "$DB-wal" "$DB-shm"
	[ $rc -eq 0 ] || fail "db_edit failed: $1"
}

# safe_cat LABEL REF/PATH SRCFILE [must-fail]: cat prints SRCFILE's bytes
# or exits 1 with an "mlfs" message; never exit 0 with other bytes.
safe_cat() {
	local label=$1 ref=$2 want=$3 must=${4:-}
	"$MLFS" cat --store "$D" "$ref" >"$W/cat.out" 2>"$ERR_F"
	RC=$?
	if [ $RC -eq 0 ] && cmp -s "$W/cat.out" "$want"; then
		[ -z "$must" ] && ok "$label: cat ${ref#*@} gives the right bytes" ||
			fail "$label: cat ${ref#*@} did not notice the damage (right bytes)"
	elif [ $RC -eq 0 ]; then
		fail "$label: cat ${ref#*@} exit 0 with WRONG bytes"
	elif [ $RC -eq 1 ] && head -n1 "$ERR_F" | grep -Eq '^mlfs( [a-z]+)?: '; then
		ok "$label: cat ${ref#*@} exits 1 ($(head -c 110 "$ERR_F" | head -n1))"
	else
		fail "$label: cat ${ref#*@} exit $RC"
		show_last
	fi
}

# safe_export LABEL REF SRCDIR [must-fail]: export gives SRCDIR's tree, or
# exits 1 leaving no file whose bytes are not a prefix of the right ones.
safe_export() {
	local label=$1 ref=$2 want=$3 must=${4:-} dest f n wrong=""
	dest=$(mktmp)/exp
	"$MLFS" export --store "$D" "$ref" "$dest" >/dev/null 2>"$ERR_F"
	RC=$?
	if [ $RC -eq 0 ]; then
		if diff -r -q "$dest" "$want" >/dev/null 2>&1; then
			[ -z "$must" ] && ok "$label: export gives the right tree" ||
				fail "$label: export did not notice the damage"
		else
			fail "$label: export exit 0 with WRONG bytes or files"
		fi
		return
	fi
	if [ -d "$dest" ]; then
		while IFS= read -r -d '' f; do
			n=$(stat -c %s "$dest/$f")
			cmp -s -n "$n" "$dest/$f" "$want/$f" 2>/dev/null || wrong="$wrong $f"
		done < <(cd "$dest" && find . -type f -print0)
	fi
	if [ $RC -ne 1 ]; then
		fail "$label: export exit $RC"
	elif [ -n "$wrong" ]; then
		fail "$label: failed export left WRONG bytes in:$wrong"
	else
		ok "$label: export exits 1, leaves no wrong bytes"
	fi
}

DMNT=$W/mnt
mkdir -p "$DMNT"
at_exit "fusermount3 -u '$DMNT' 2>/dev/null || umount -l '$DMNT'"
# safe_mount LABEL REF/PATH SRCFILE: through a fresh mount, cat and a
# Python read give SRCFILE's bytes or fail (EIO); a mount that refuses
# the damaged store is fine too. Always unmounted.
safe_mount() {
	local label=$1 path=$2 want=$3 rc
	if ! "$MLFS" mount --store "$D" "$DMNT" >/dev/null 2>"$W/mount.err"; then
		ok "$label: mount refuses the store ($(head -c 80 "$W/mount.err"))"
		return
	fi
	cat "$DMNT/$path" >"$W/mnt.out" 2>"$W/mnt.err"
	rc=$?
	if [ $rc -eq 0 ] && ! cmp -s "$W/mnt.out" "$want"; then
		fail "$label: cat through the mount read WRONG bytes"
	elif [ $rc -eq 0 ]; then
		ok "$label: cat through the mount reads the right bytes"
	else
		ok "$label: cat through the mount fails ($(head -c 80 "$W/mnt.err"))"
	fi
	if "$PY" - "$DMNT/$path" "$want" <<'EOF'
import errno, sys
want = open(sys.argv[2], "rb").read()
got = b""
try:
    with open(sys.argv[1], "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            got += b
except OSError as e:
    # Whatever came before the error must be the file's own bytes.
    sys.exit(0 if want.startswith(got) else 1)
sys.exit(0 if got == want else 1)
EOF
	then
		ok "$label: python read through the mount: right bytes or an error"
	else
		fail "$label: python read through the mount returned WRONG bytes"
	fi
	"$MLFS" umount "$DMNT" >/dev/null 2>&1 || fusermount3 -u "$DMNT" ||
		umount -l "$DMNT" || true
}

# fsck_names LABEL REGEX...: fsck (text and --json) exits 1, its output
# matches every REGEX, and --json is one document listing the problems.
fsck_names() {
	local label=$1 re
	shift
	run "$MLFS" fsck --store "$D"
	cat "$OUT_F" "$ERR_F" >"$W/fsck.all"
	if [ "$RC" -ne 1 ]; then
		fail "$label: fsck exit $RC, want 1"
		show_last
	elif grep -q 'could not run' "$W/fsck.all"; then
		fail "$label: fsck gave up instead of reporting"
		show_last
	else
		ok "$label: fsck exits 1"
	fi
	for re in "$@"; do
		if grep -Eq -- "$re" "$W/fsck.all"; then
			ok "$label: fsck names /$re/"
		else
			fail "$label: fsck output does not match /$re/"
			head -c 800 "$W/fsck.all"
		fi
	done
	expect_exit 1 "$MLFS" fsck --store "$D" --json
	json_ok "$label: fsck --json is one document listing the problems" \
		"not d['ok'] and len(d['problems']) >= 1"
}

# ---- 8: a tree blob ------------------------------------------------------------
# Flip a byte of the first entry's mtime in the models tree: it still
# decodes, but no longer hashes to its id.
db_edit "
(blob,) = db.execute('SELECT data FROM trees WHERE id = ?', (H('$models_tree'),)).fetchone()
b = bytearray(blob)
b[5 + 1 + 4 + 2] ^= 0x01
db.execute('UPDATE trees SET data = ? WHERE id = ?', (bytes(b), H('$models_tree')))"
safe_cat "tree byte" $drepo@v1/models/a.bin "$V1/models/a.bin" must-fail
expect_err 'tree|damaged' "tree byte: the message names the damaged tree"
safe_export "tree byte" $drepo@v1 "$V1" must-fail
safe_mount "tree byte" $drepo@v1/models/a.bin "$V1/models/a.bin"
fsck_names "tree byte" "damaged tree $models_tree" "path 'models'" \
	"also used by 1 more version"
db_restore

# Swap the content ids of a.bin and b.bin (same size) in their directory's
# tree blob: it decodes, a.bin would read as b.bin's bytes.
db_edit "
(blob,) = db.execute('SELECT data FROM trees WHERE id = ?', (H('$models_tree'),)).fetchone()
a, b = H('$dig_a'), H('$dig_b')
assert blob.count(a) == 1 and blob.count(b) == 1
i, j = blob.index(a), blob.index(b)
t = bytearray(blob)
t[i:i + 16], t[j:j + 16] = b, a
db.execute('UPDATE trees SET data = ? WHERE id = ?', (bytes(t), H('$models_tree')))"
safe_cat "tree id swap" $drepo@v1/models/a.bin "$V1/models/a.bin" must-fail
safe_cat "tree id swap" $drepo@v2/models/b.bin "$V1/models/b.bin" must-fail
safe_export "tree id swap" $drepo@v1/models "$V1/models" must-fail
safe_mount "tree id swap" $drepo@v1/models/a.bin "$V1/models/a.bin"
fsck_names "tree id swap" "damaged tree $models_tree"
safe_cat "tree id swap (elsewhere)" $drepo@v1/small/f001 "$V1/small/f001"
db_restore

# ---- 9: a commit row: message, time, tree ----------------------------------------
for change in "message = 'not what was imported'" "time = time + 1" \
	"tree = (SELECT tree FROM commits WHERE id = H('$c2'))"; do
	label="commit ${change%% *}"
	db_edit "
db.create_function('H', 1, H)
db.execute(\"UPDATE commits SET $change WHERE id = ?\", (H('$c1'),))
assert db.total_changes == 1"
	safe_cat "$label" $drepo@v1/small/f000 "$V1/small/f000" must-fail
	safe_cat "$label" $drepo@$c1/small/f000 "$V1/small/f000" must-fail
	safe_export "$label" $drepo@v1 "$V1" must-fail
	safe_mount "$label" $drepo@v1/small/f000 "$V1/small/f000"
	fsck_names "$label" "damaged commit $c1"
	db_restore
done

# ---- 10: a chunk list ---------------------------------------------------------------
# a.bin's row gets b.bin's chunk list (same size), then c.bin's (another
# size), then a changed size.
for how in same-size other-size size; do
	case $how in
	same-size) q="UPDATE contents SET chunks = (SELECT chunks FROM contents WHERE digest = H('$dig_b')) WHERE digest = H('$dig_a')" ;;
	other-size) q="UPDATE contents SET chunks = (SELECT chunks FROM contents WHERE digest = H('$dig_c')) WHERE digest = H('$dig_a')" ;;
	size) q="UPDATE contents SET size = size + 1 WHERE digest = H('$dig_a')" ;;
	esac
	label="chunk list ($how)"
	db_edit "
db.create_function('H', 1, H)
db.execute(\"$q\")
assert db.total_changes == 1"
	safe_cat "$label" $drepo@v1/models/a.bin "$V1/models/a.bin" must-fail
	safe_export "$label" $drepo@v1/models "$V1/models" must-fail
	safe_mount "$label" $drepo@v1/models/a.bin "$V1/models/a.bin"
	fsck_names "$label" "damaged content $dig_a" "path 'models/a\.bin'"
	safe_cat "$label (b.bin)" $drepo@v1/models/b.bin "$V1/models/b.bin"
	db_restore
done

# ---- 11: a ref row: tag v1 pointed at v2's commit --------------------------------------
db_edit "
db.execute(\"UPDATE refs SET commit_id = ? WHERE kind = 't' AND name = 'v1'\", (H('$c2'),))
assert db.total_changes == 1"
safe_cat "moved tag" $drepo@v1/small/f000 "$V1/small/f000" must-fail
expect_err "v1|tag|damaged" "moved tag: the message names the tag"
safe_export "moved tag" $drepo@v1/small "$V1/small" must-fail
safe_mount "moved tag" $drepo@v1/small/f000 "$V1/small/f000"
safe_cat "moved tag (by id)" $drepo@$c1/small/f000 "$V1/small/f000"
fsck_names "moved tag" "damaged tag 'v1'"
db_restore

# ---- 12: --read-data with a chunk row deleted ----------------------------------------------
db_edit "
(blob,) = db.execute('SELECT chunks FROM contents WHERE digest = ?', (H('$dig_c'),)).fetchone()
db.execute('DELETE FROM chunks WHERE id = ?', (blob[0:16],))
assert db.total_changes == 1"
# (the content row carries its chunks' locations, so cat may still read
# the verified bytes; fsck must name the missing index entry)
safe_cat "deleted chunk row" $drepo@v1/models/c.bin "$V1/models/c.bin"
expect_exit 1 "$MLFS" fsck --store "$D" --read-data
cat "$OUT_F" "$ERR_F" >"$W/fsck.all"
grep -q "could not run" "$W/fsck.all" && fail "deleted chunk row: fsck --read-data gave up" ||
	ok "deleted chunk row: fsck --read-data reports instead of giving up"
grep -q "path 'models/c\.bin'" "$W/fsck.all" && ok "deleted chunk row: fsck --read-data names c.bin" ||
	{ fail "deleted chunk row: fsck --read-data does not name c.bin"; show_last; }
expect_exit 1 "$MLFS" fsck --store "$D" --read-data --json
json_ok "deleted chunk row: fsck --read-data --json names c.bin" \
	"any(p['path'] == 'models/c.bin' and p['kind'] == 'content' for p in d['problems'])"
db_restore

# ---- 13: zeroed pages -------------------------------------------------------------------
# page_of TABLE: the leaf (or overflow) page in the middle of TABLE's
# pages; "middle" alone: the page nearest the file's middle that belongs to
# a table fsck reads. Pages are numbered from 1.
page_of() {
	"$PY" - "$DB" "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
read = ("chunks", "contents", "trees", "commits", "commits_repo", "refs")
try:
    rows = db.execute("SELECT name, pageno, pagetype FROM dbstat").fetchall()
except sqlite3.OperationalError:
    # An SQLite without the dbstat table: only the file's middle page.
    if sys.argv[2] == "middle":
        print(db.execute("PRAGMA page_count").fetchone()[0] // 2, "unknown")
    sys.exit(0)
if sys.argv[2] == "middle":
    n = db.execute("PRAGMA page_count").fetchone()[0]
    pages = sorted((abs(p - n // 2), p) for t, p, k in rows if t in read)
    print(pages[0][1], [t for t, p, k in rows if p == pages[0][1]][0])
else:
    pages = sorted(p for t, p, k in rows if t == sys.argv[2] and k != "internal")
    print(pages[len(pages) // 2], sys.argv[2])
EOF
}
for what in middle contents trees chunks commits_repo; do
	read -r pg table < <(page_of $what)
	if [ -z "${pg:-}" ]; then
		echo "   note: no dbstat in this SQLite: no zeroed page of $what"
		continue
	fi
	label="zeroed page $pg ($table)"
	dd if=/dev/zero of="$DB" bs=4096 seek=$((pg - 1)) count=1 conv=notrunc status=none
	for f in models/a.bin models/c.bin small/f000 small/f300 small/f599; do
		safe_cat "$label" $drepo@v1/$f "$V1/$f"
	done
	safe_export "$label" $drepo@v1 "$V1"
	safe_mount "$label" $drepo@v1/models/b.bin "$V1/models/b.bin"
	case $table in
	contents) re="database damaged .*cannot read content [0-9a-f]{32}" ;;
	trees) re="(database damaged .*cannot read|damaged) tree [0-9a-f]{32}" ;;
	chunks) re="database damaged.*(chunk index cannot be read|index entry of chunk [0-9a-f]{32})" ;;
	# The versions cannot be listed: the ones the tags reach are
	# still walked.
	commits_repo) re="cannot list the versions" ;;
	*) re="database damaged|damaged (tree|content|commit|tag|branch)" ;;
	esac
	if [ "$table" = unknown ]; then
		# Maybe a page fsck does not read (the audit log): it only
		# has to run to its end.
		run "$MLFS" fsck --store "$D"
		[ "$RC" -le 1 ] && ! grep -q "could not run" "$ERR_F" &&
			ok "$label: fsck runs (exit $RC)" ||
			fail "$label: fsck exit $RC"
	elif [ "$table" = commits_repo ]; then
		fsck_names "$label" "$re" "fsck: 1 repositories, 2 versions"
	else
		fsck_names "$label" "$re"
	fi
	db_restore
done

# ---- 14: a truncated database file ----------------------------------------------------------
truncate -s $(($(stat -c %s "$DB") / 2)) "$DB"
for f in models/a.bin small/f599; do
	safe_cat "truncated db" $drepo@v1/$f "$V1/$f"
done
safe_export "truncated db" $drepo@v1 "$V1"
safe_mount "truncated db" $drepo@v1/small/f599 "$V1/small/f599"
run "$MLFS" fsck --store "$D"
if [ "$RC" -eq 1 ]; then
	ok "truncated db: fsck exits 1 ($(cat "$OUT_F" "$ERR_F" | head -n1 | head -c 100))"
else
	fail "truncated db: fsck exit $RC, want 1"
fi
cat "$OUT_F" "$ERR_F" | grep -Eq "database damaged: mlfs.db is truncated: [0-9]+ bytes, its header says" &&
	ok "truncated db: fsck says mlfs.db is truncated" ||
	{ fail "truncated db: fsck does not say mlfs.db is truncated"; show_last; }
db_restore
# Cut inside the last page: SQLite may still open it, fsck notices.
truncate -s -100 "$DB"
for f in models/a.bin small/f599; do
	safe_cat "db cut mid-page" $drepo@v1/$f "$V1/$f"
done
expect_exit 1 "$MLFS" fsck --store "$D"
cat "$OUT_F" "$ERR_F" | grep -q "mlfs.db is not a whole number of pages" &&
	ok "db cut mid-page: fsck says mlfs.db is not whole pages" ||
	{ fail "db cut mid-page: fsck does not say what is wrong"; show_last; }
db_restore
expect_exit 0 "$MLFS" fsck --store "$D" --read-data

# ---- 15: fsck quotes a damaged file's name as ls does; --json stays exact ------------
Q=$(new_store) || exit 1
qsrc=$W/qsrc
mkdir -p "$qsrc"
printf 'x' >"$qsrc/a
b"
expect_exit 0 "$MLFS" import --store "$Q" "$qsrc" cr/q -q
"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE contents SET size = size + 1")
db.commit()' "$Q/mlfs.db"
expect_exit 1 "$MLFS" fsck --store "$Q"
grep -qF "path \"a\nb\")" "$OUT_F" && ok "fsck quotes a name with a newline" ||
	{ fail "fsck does not quote a name with a newline"; show_last; }
expect_exit 1 "$MLFS" fsck --store "$Q" --json
json_ok "fsck --json gives the name exactly" \
	"[p['path'] for p in d['problems']] == ['a\\nb']"

# ---- 16: byte planes: a flipped byte in a raw plane or in a plane's frame ----------
# A float16 model is stored PLANES2 (mantissa plane raw, the other a zstd
# frame). Damage to either plane must fail the read (cat exit 1; EIO
# through the mount), never give wrong bytes: the raw plane is read with
# no zstd check at all, so only the chunk hash stands between it and the
# reader.
P=$(new_store) || exit 1
psrc=$W/psrc
mkdir -p "$psrc"
gen model "$psrc/m.safetensors" --seed 5 --size-mib 2 >/dev/null
expect_exit 0 "$MLFS" import --store "$P" "$psrc" cr/p -q
# planes_entry raw|frame: "PACK POS" of a byte inside the first PLANES2
# entry's raw plane or its frame (mask byte, 3 zero bytes, le32 length of
# plane 0, plane 0, plane 1).
planes_entry() {
	"$PY" - "$P/packs" "$1" <<'EOF'
import glob, struct, sys
for p in sorted(glob.glob(sys.argv[1] + "/pack-*.mlp")):
    data = open(p, "rb").read()
    off = 32
    while off + 40 <= len(data):
        codec = data[off + 4]
        raw, stored = struct.unpack_from("<II", data, off + 8)
        d = off + 40
        if codec == 4 and data[d] in (1, 2):
            n0 = struct.unpack_from("<I", data, d + 4)[0]
            planes = [(d + 8, n0), (d + 8 + n0, stored - 8 - n0)]
            raw_plane = planes[0] if data[d] == 2 else planes[1]
            frame = planes[1] if data[d] == 2 else planes[0]
            start, n = raw_plane if sys.argv[2] == "raw" else frame
            print(p, start + n // 2)
            sys.exit(0)
        off = d + stored
sys.exit(1)
EOF
}
PMNT=$W/pmnt
mkdir -p "$PMNT"
at_exit "fusermount3 -u '$PMNT' 2>/dev/null || umount -l '$PMNT'"
for part in raw frame; do
	read -r ppack ppos < <(planes_entry $part)
	if [ -z "${ppack:-}" ]; then
		fail "planes: no PLANES2 entry with a raw plane in the packs"
		continue
	fi
	cp "$ppack" "$W/ppack.orig"
	flip "$ppack" "$ppos"
	"$MLFS" cat --store "$P" cr/p/m.safetensors >"$W/cat.out" 2>"$ERR_F"
	RC=$?
	[ $RC -eq 1 ] && ok "planes, $part plane damaged: cat exits 1" ||
		fail "planes, $part plane damaged: cat exit $RC, want 1"
	expect_err 'chunk' "planes, $part plane damaged: message names the chunk"
	cat_prefix_only "$psrc/m.safetensors" "planes, $part plane damaged"
	expect_exit 1 "$MLFS" fsck --store "$P" --read-data
	if "$MLFS" mount --store "$P" "$PMNT" >/dev/null 2>"$W/mount.err"; then
		if "$PY" - "$PMNT/cr/p/m.safetensors" "$psrc/m.safetensors" <<'EOF'
import errno, sys
want = open(sys.argv[2], "rb").read()
got = b""
try:
    with open(sys.argv[1], "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            got += b
except OSError as e:
    sys.exit(0 if e.errno == errno.EIO and want.startswith(got) else 1)
sys.exit(1)
EOF
		then
			ok "planes, $part plane damaged: a read through the mount fails with EIO, after right bytes only"
		else
			fail "planes, $part plane damaged: the mount read did not fail with EIO (or gave wrong bytes)"
		fi
		"$MLFS" umount "$PMNT" >/dev/null 2>&1 || fusermount3 -u "$PMNT" ||
			umount -l "$PMNT" || true
	else
		fail "planes: mount failed: $(head -c 200 "$W/mount.err")"
	fi
	cp "$W/ppack.orig" "$ppack"
done
expect_exit 0 "$MLFS" fsck --store "$P" --read-data

# 17. A branch row lost (the refs table edited), its history intact: never
# an unborn branch. Reads and an import of the branch fail naming it (an
# import used to start a new root commit), fsck names it; a branch that
# was deleted (an entry without a commit) stays simply absent.
B=$(mktmp)/lostbranch
expect_exit 0 "$MLFS" init --store "$B"
expect_exit 0 "$MLFS" import --store "$B" "$src/sub" lb/r -q -t v1
expect_exit 0 "$MLFS" import --store "$B" "$src/sub" lb/r -q -b exp
expect_exit 0 "$MLFS" branch --store "$B" lb/r@v1 gone
expect_exit 0 "$MLFS" branch --store "$B" --delete lb/r gone
sqlite3 "$B/mlfs.db" "DELETE FROM refs WHERE kind = 'b'"
for ref in lb/r lb/r@exp; do
	expect_exit 1 "$MLFS" log --store "$B" "$ref"
	expect_err "branch '[a-z]*' has no row, though its history says it is at [0-9a-f]{32} \(damaged database\)" \
		"log $ref: the lost branch row is damage, named"
done
expect_exit 1 "$MLFS" import --store "$B" "$src/sub" lb/r -q
expect_err "branch 'main' has no row" "import refuses to start a new history"
[ "$(sqlite3 "$B/mlfs.db" "SELECT count(*) FROM commits")" = 2 ] &&
	ok "no commit made" || fail "an import made a commit on a lost branch"
expect_exit 1 "$MLFS" log --store "$B" lb/r@gone
expect_err "no tag, branch, alias or commit 'gone'" "a deleted branch is just absent"
expect_exit 1 "$MLFS" fsck --store "$B"
for b in main exp; do
	expect_out "damaged branch '$b' \(lb/r\): its row is missing, though its history says it is at [0-9a-f]{32}" \
		"fsck names the lost branch $b"
done
if grep -q "'gone'" "$OUT_F"; then fail "fsck reports the deleted branch"; else
	ok "fsck does not report the deleted branch"; fi
expect_exit 0 "$MLFS" cat --store "$B" lb/r@v1/D.bin
cmp -s "$OUT_F" "$src/sub/D.bin" && ok "the tag still reads" ||
	fail "the tag's bytes"

# 18. A subtree's row deleted: damage named by every reader, never "no
# such file" (ls and cat used to say ENOENT).
C=$(mktmp)/losttree
cp -a "$S" "$C"
subtree=$("$MLFS" ls --store "$C" $repo@v1 --json | "$PY" -c '
import json, sys
print([e["tree"] for e in json.load(sys.stdin) if e["path"] == "sub"][0])')
sqlite3 "$C/mlfs.db" "DELETE FROM trees WHERE lower(hex(id)) = '$subtree'"
for cmd in "ls $repo@v1/sub" "ls -R $repo@v1" "cat $repo@v1/sub/D.bin" \
	   "du $repo@v1" "export $repo@v1 $(mktmp)/x"; do
	# shellcheck disable=SC2086
	expect_exit 1 "$MLFS" --store "$C" $cmd
	expect_err "tree $subtree is missing \(damaged database\)" \
		"$cmd: the missing tree is named as damage"
done
expect_exit 0 "$MLFS" cat --store "$C" $repo@v1/A.bin
cmp -s "$OUT_F" "$src/A.bin" && ok "a file outside it still reads" ||
	fail "A.bin after the tree row was deleted"
expect_exit 1 "$MLFS" fsck --store "$C"
expect_out "damaged tree $subtree .*is missing" "fsck names the missing tree"

# 19. A commit in the middle of the history lost its row: log and ~N name
# it as damage (log used to say only "No such file or directory").
H=$(mktmp)/lostcommit
expect_exit 0 "$MLFS" init --store "$H"
for i in 1 2 3; do
	echo "$i" >"$W/f$i"
	expect_exit 0 "$MLFS" import --store "$H" "$W/f$i" lc/r -q -t "v$i"
done
mid=$("$MLFS" show --store "$H" lc/r@v2 --json |
      "$PY" -c 'import json, sys; print(json.load(sys.stdin)["commit"])')
sqlite3 "$H/mlfs.db" "DELETE FROM commits WHERE lower(hex(id)) = '$mid'"
expect_exit 1 "$MLFS" log --store "$H" lc/r
expect_err "commit $mid of the history is missing \(damaged database\)" \
	"log names the missing commit"
expect_exit 1 "$MLFS" cat --store "$H" lc/r@main~2/f1
expect_err "commit $mid of the history is missing" "~2 names the missing commit"
expect_exit 0 "$MLFS" cat --store "$H" lc/r@v3/f3
expect_out "^3$" "the head still reads"

# 20. A file's contents row deleted: cat, diff and fsck name the content
# as damage (diff said only "No such file or directory").
echo 9 >"$W/f3"
expect_exit 0 "$MLFS" import --store "$H" "$W/f3" lc/r -q -t v4
dig=$("$MLFS" ls --store "$H" lc/r@v4 --json |
      "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["digest"])')
dig3=$("$MLFS" ls --store "$H" lc/r@v3 --json |
       "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["digest"])')
sqlite3 "$H/mlfs.db" "DELETE FROM contents WHERE lower(hex(digest)) = '$dig'"
expect_exit 1 "$MLFS" cat --store "$H" lc/r@v4/f3
expect_err "content $dig is missing \(damaged database\)" "cat names the missing content"
[ "$dig" != "$dig3" ] || fail "the fixture's two versions share a content"
expect_exit 2 "$MLFS" diff --store "$H" lc/r@v3 lc/r@v4
expect_err "content $dig is missing \(damaged database\)" "diff names the missing content"
expect_exit 1 "$MLFS" fsck --store "$H"
expect_out "damaged content $dig .*is missing" "fsck names the missing content"

summary
