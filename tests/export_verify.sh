#!/bin/bash
# export_verify.sh - cat and export check the whole-file digest and the
# size as they stream. Damage that no per-chunk check can see is made in
# mlfs.db with sqlite3: two same-size files exchange chunk lists (every
# chunk is intact, only the wrong file's), and a file is given the chunk
# list and size of a file of another size. cat and export must exit 1
# naming repository, version, path and commit; export removes the file
# it was writing and says so; undamaged files still read back exactly. A
# damaged chunk (a flipped pack byte) and a damaged tree are named the
# same way.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { fail "sqlite3 not installed"; summary; }

S=$(new_store)
W=$(mktmp)
mkdir -p "$W/src/sub"
gen random "$W/src/a.bin" --size-mib 1 --seed 11 >/dev/null
gen random "$W/src/sub/b.bin" --size-mib 1 --seed 12 >/dev/null
head -c 300000 "$W/src/a.bin" >"$W/src/c.bin"
echo "an intact file" >"$W/src/ok.txt"
expect_exit 0 "$MLFS" import --store "$S" -q -t v1 "$W/src" m/r
commit=$(head -n1 "$OUT_F")
is_hex32 "$commit" && ok "import printed the commit id" || fail "no commit id: '$commit'"
size_ab=$(stat -c %s "$W/src/a.bin")
size_c=$(stat -c %s "$W/src/c.bin")
DB=$S/mlfs.db
hexof() { # the content row of the file with this size (only one has it)
	sqlite3 "$DB" "SELECT hex(digest) FROM contents WHERE size = $1;"
}
rows=$(sqlite3 "$DB" "SELECT count(*) FROM contents WHERE size = $size_ab;")
[ "$rows" = 2 ] && ok "two content rows of the same size" || fail "rows of size $size_ab: $rows"
cp -a "$S" "$W/pristine"

# --- exchanged chunk lists of two same-size files ---------------------------
sqlite3 "$DB" "
CREATE TEMP TABLE t AS SELECT digest, chunks FROM contents WHERE size = $size_ab;
UPDATE contents SET chunks = (SELECT chunks FROM t WHERE t.digest != contents.digest)
WHERE size = $size_ab;" || fail "sqlite3 update"

expect_exit 1 "$MLFS" cat --store "$S" m/r@v1/a.bin
expect_err "^mlfs: 'm/r@v1:a\\.bin' \\(commit $commit\\) is damaged: " \
	"cat of a file with another file's chunk list names version, path and commit"
grep -q "digest mismatch\|chunk list\|does not match\|mismatch" "$ERR_F" &&
	ok "cat says what mismatched" || { fail "cat does not say what mismatched"; show_last; }
cmp -s "$OUT_F" "$W/src/sub/b.bin" && [ "$RC" -eq 0 ] &&
	fail "cat printed the other file's bytes with exit 0"
expect_exit 1 "$MLFS" cat --store "$S" m/r/sub/b.bin
expect_err "^mlfs: 'm/r@main:sub/b\\.bin' \\(commit $commit\\) is damaged: " \
	"without a ref the default branch is named"
expect_exit 0 "$MLFS" cat --store "$S" m/r@v1/ok.txt
expect_out '^an intact file$' "an undamaged file still reads"

expect_exit 1 "$MLFS" export --store "$S" m/r@v1 "$W/x1"
expect_err "^mlfs: 'm/r@v1:a\\.bin' \\(commit $commit\\) is damaged: " \
	"export names the damaged file with version and commit"
expect_err "removed the partial file '$W/x1/a\\.bin'" "export says it removed the partial file"
[ ! -e "$W/x1/a.bin" ] && ok "export left no a.bin behind" || fail "export left a damaged a.bin"
expect_exit 1 "$MLFS" export --store "$S" m/r@v1/sub "$W/x2"
expect_err "^mlfs: 'm/r@v1:sub/b\\.bin' \\(commit $commit\\) is damaged: " \
	"export of a subtree names the file's full path in the version"
[ ! -e "$W/x2/b.bin" ] && ok "export of the subtree left no b.bin behind" ||
	fail "export left a damaged b.bin"
expect_exit 1 "$MLFS" export --store "$S" m/r@v1/a.bin "$W/x3"
expect_err "^mlfs: 'm/r@v1:a\\.bin' \\(commit $commit\\) is damaged: " \
	"export of the single file names it"
[ ! -e "$W/x3" ] && ok "export of the single file left nothing" || fail "export left '$W/x3'"
expect_exit 0 "$MLFS" export --store "$S" m/r@v1/ok.txt "$W/x4"
cmp -s "$W/x4" "$W/src/ok.txt" && ok "an undamaged file still exports exactly" || fail "ok.txt export"

# --- another size's chunk list (and size) -----------------------------------
rm -rf "$S"
cp -a "$W/pristine" "$S"
a_hex=$(sqlite3 "$DB" "SELECT hex(digest) FROM contents WHERE size = $size_ab LIMIT 1;")
c_hex=$(hexof "$size_c")
sqlite3 "$DB" "UPDATE contents SET
  size = (SELECT size FROM contents WHERE digest = X'$c_hex'),
  chunks = (SELECT chunks FROM contents WHERE digest = X'$c_hex')
WHERE digest = X'$a_hex';" || fail "sqlite3 update"
damaged=
for f in a.bin sub/b.bin; do
	run "$MLFS" cat --store "$S" "m/r@v1/$f"
	[ "$RC" -eq 1 ] && damaged=$f
done
if [ -n "$damaged" ]; then
	ok "cat of the file with another size's chunk list: exit 1"
	expect_exit 1 "$MLFS" cat --store "$S" "m/r@v1/$damaged"
	expect_err "^mlfs: 'm/r@v1:${damaged//./\\.}' \\(commit $commit\\) is damaged: " \
		"the size damage names version, path and commit"
	[ "$(stat -c %s "$OUT_F")" -le "$size_ab" ] || fail "cat wrote more than the file's size"
	expect_exit 1 "$MLFS" export --store "$S" m/r@v1 "$W/y1"
	expect_err "is damaged: " "export stops at the size damage"
	[ ! -e "$W/y1/$damaged" ] && ok "export left no file of the wrong size" ||
		fail "export left '$W/y1/$damaged'"
else
	fail "cat of a file with another size's chunk list: exit 0 for both files"
fi

# --- a damaged chunk and a damaged tree get the same naming -------------------
rm -rf "$S"
cp -a "$W/pristine" "$S"
"$PY" - "$DB" "$S/packs" "$size_ab" <<'PY' || fail "damaging a chunk"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
chunks = db.execute("SELECT chunks FROM contents WHERE size = ? LIMIT 1",
                    (int(sys.argv[3]),)).fetchone()[0]
pack, off, slen = db.execute(
    "SELECT pack_id, offset, stored_len FROM chunks WHERE id = ?",
    (chunks[:16],)).fetchone()
path = "%s/pack-%016x.mlp" % (sys.argv[2], pack % (1 << 64))
with open(path, "r+b") as f:
    f.seek(off + slen - 1)
    b = f.read(1)
    f.seek(off + slen - 1)
    f.write(bytes([b[0] ^ 0xff]))
PY
damaged=
for f in a.bin sub/b.bin; do
	run "$MLFS" cat --store "$S" "m/r@v1/$f"
	[ "$RC" -eq 1 ] && damaged=$f
done
if [ -n "$damaged" ]; then
	expect_exit 1 "$MLFS" cat --store "$S" "m/r@v1/$damaged"
	expect_err "^mlfs: 'm/r@v1:${damaged//./\\.}' \\(commit $commit\\) is damaged: chunk [0-9a-f]{32} in pack pack-[0-9a-f]{16}\\.mlp at offset [0-9]+: " \
		"a damaged chunk is named with version, path, commit, chunk and pack"
	expect_exit 1 "$MLFS" export --store "$S" m/r@v1 "$W/c1"
	expect_err "^mlfs: 'm/r@v1:${damaged//./\\.}' \\(commit $commit\\) is damaged: chunk " \
		"export names the file with the damaged chunk the same way"
	[ ! -e "$W/c1/$damaged" ] && ok "export left no file with a damaged chunk" ||
		fail "export left '$W/c1/$damaged'"
else
	fail "a flipped byte in a chunk went unnoticed by cat"
fi

rm -rf "$S"
cp -a "$W/pristine" "$S"
# One byte of a name in sub's tree blob: b.bin becomes c.bin.
"$PY" - "$DB" <<'PY' || fail "damaging a tree"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for tid, data in db.execute("SELECT id, data FROM trees").fetchall():
    if b"b.bin" in data:
        db.execute("UPDATE trees SET data = ? WHERE id = ?",
                   (data.replace(b"b.bin", b"c.bin"), tid))
db.commit()
PY
expect_exit 1 "$MLFS" cat --store "$S" m/r@v1/sub/c.bin
expect_err "^mlfs: 'm/r@v1:sub/c\\.bin' \\(commit $commit\\) is damaged: " \
	"a damaged tree met on the path is named with version, path and commit"
expect_exit 1 "$MLFS" export --store "$S" m/r@v1 "$W/t1"
expect_err "^mlfs: 'm/r@v1:sub' \\(commit $commit\\) is damaged: " \
	"export names the damaged directory"
expect_exit 0 "$MLFS" cat --store "$S" m/r@v1/ok.txt
expect_out '^an intact file$' "files outside the damaged tree still read"

# --- the pristine copy reads back exactly ------------------------------------
rm -rf "$S"
cp -a "$W/pristine" "$S"
expect_exit 0 "$MLFS" export --store "$S" -q m/r@v1 "$W/z"
diff -r "$W/src" "$W/z" >/dev/null && ok "the undamaged store exports byte-identical" ||
	fail "pristine export differs"
expect_exit 0 "$MLFS" cat --store "$S" m/r@v1/sub/b.bin
cmp -s "$OUT_F" "$W/src/sub/b.bin" && ok "the undamaged store cats byte-identical" || fail "pristine cat differs"

summary
