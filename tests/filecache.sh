#!/bin/bash
# filecache.sh - the files cache of `mlfs import` (docs/design.md#the-files-cache)
# never makes a wrong version. Unchanged files are not read (files_cached
# in --json), and every version exported equals its source (manifest:
# paths, modes, sizes, mtimes, sha256) through: files written just before
# an import (racy: read again next time), a same-size rewrite with its
# mtime put back, a file replaced by another of the same size and mtime,
# a chmod, a moved store, a contents row removed as a gc would (with the
# trees naming it), a damaged contents row, a damaged or truncated cache
# file, a single-file source, and --no-files-cache.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store)
W=$(mktmp)
SRC=$W/src
mkdir -p "$SRC/a" "$SRC/b/deep"
for i in $(seq 1 20); do
	echo "file a $i" >"$SRC/a/f$i"
	echo "file b $i" >"$SRC/b/g$i"
done
printf 'AAAA' >"$SRC/a/x"
head -c 777 /dev/zero | tr '\0' 'g' >"$SRC/b/gone"      # unique sizes: the
head -c 778 /dev/zero | tr '\0' 'd' >"$SRC/b/damaged"   # rows are found by
head -c 779 /dev/zero | tr '\0' 'o' >"$SRC/b/deep/one"  # their size
ln -s a/f1 "$SRC/link"
NFILES=44

manifest() { gen manifest "$1"; }

# imp TAG [OPTS...]: import SRC as t/r tagged TAG; $CACHED is the
# files_cached count of its --json output ("" when it failed).
imp() {
	local tag=$1
	shift
	CACHED=
	run "$MLFS" import --store "$S" "$@" --json -t "$tag" "$SRC" t/r
	if [ "$RC" -ne 0 ]; then
		fail "import $tag (exit $RC)"
		show_last
		return
	fi
	CACHED=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["files_cached"])' "$OUT_F")
}

tree_of() {
	"$MLFS" show --store "$S" "t/r@$1" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tree"])'
}

# same TAG MSG: the export of TAG equals SRC now.
same() {
	local out
	out=$(mktmp)/x
	if ! "$MLFS" export --store "$S" -q "t/r@$1" "$out" 2>"$ERR_F"; then
		fail "$2: export of $1 failed"
		show_last
		return
	fi
	if cmp -s <(manifest "$SRC") <(manifest "$out"); then
		ok "$2"
	else
		fail "$2: export of $1 differs from the source (- source, + export):"
		diff <(manifest "$SRC") <(manifest "$out") | head -n 8
	fi
}

cached_is() {
	if [ "$CACHED" = "$1" ]; then
		ok "$2: $1 files not read"
	else
		fail "$2: files_cached '$CACHED', want $1"
		show_last
	fi
}

# --- files written just now are racy: read again ------------------------------
imp v1
cached_is 0 "first import reads everything"
same v1 "v1 is the source"
n=$(find "$S/cache" -name 'files-*' -type f | wc -l)
[ "$n" = 1 ] && ok "one cache file under STORE/cache" ||
	fail "cache files under STORE/cache: $n, want 1"
[ "$(stat -c %a "$S/cache")" = 700 ] && ok "STORE/cache is private (0700)" ||
	fail "STORE/cache mode $(stat -c %a "$S/cache"), want 700"
imp v2
cached_is 0 "files changed within 3 s before the last import are racy"
same v2 "v2 is the source"

# --- once older than the racy margin, unchanged files are not read -----------
sleep 4
imp v3   # reads all again (racy for v2's cache), and may trust them now
cached_is 0 "still racy for the cache of v2"
imp v4
cached_is $NFILES "unchanged tree"
same v4 "v4 (all from the cache) is the source"
[ "$(tree_of v4)" = "$(tree_of v1)" ] && ok "v4's tree is v1's" ||
	fail "v4's tree $(tree_of v4) differs from v1's $(tree_of v1)"

# --- changes the stat data shows, some made to look unchanged ----------------
printf 'BBBB' >"$SRC/a/x"                  # same size, mtime put back
touch -d "@$(stat -c %Y "$SRC/a/f1")" "$SRC/a/x"
printf 'file a X\n' >"$W/z"                # same size and mtime, new inode
touch -r "$SRC/a/f2" "$W/z"
mv "$W/z" "$SRC/a/f2"
chmod 0751 "$SRC/b/g1"
imp v5
cached_is $((NFILES - 3)) "rewritten a/x, replaced a/f2, chmod'ed b/g1 read again"
same v5 "v5 is the source (new bytes, new mode)"
[ "$("$MLFS" cat --store "$S" t/r@v5/a/x)" = BBBB ] && ok "a/x holds its new bytes" ||
	fail "a/x in v5: '$("$MLFS" cat --store "$S" t/r@v5/a/x)', want BBBB"

# --- a moved store keeps its cache, and it still holds --------------------
sleep 4
imp v6   # reads them again (racy for v5's cache), trusts them from now on
cached_is $((NFILES - 3)) "files changed just before the last import"
mv "$S" "$W/moved"
S=$W/moved
imp v7
cached_is $NFILES "moved store"
same v7 "v7 (moved store) is the source"

# --- a contents row removed as a gc would remove it -------------------------
gone=$(sqlite3 "$S/mlfs.db" "SELECT hex(digest) FROM contents WHERE size = 777")
sqlite3 "$S/mlfs.db" "DELETE FROM trees WHERE instr(data, X'$gone') > 0;
	DELETE FROM contents WHERE digest = X'$gone';"
imp v8
cached_is $((NFILES - 1)) "b/gone's row gone: read again, its neighbours checked one by one"
same v8 "v8 is the source"
[ "$("$MLFS" cat --store "$S" t/r@v8/b/gone | wc -c)" = 777 ] &&
	ok "b/gone reads again (its row put back)" || fail "b/gone in v8 does not read back"

# --- a damaged contents row: the same version as reading every file -------
# (which keeps the damaged row: finding it is fsck's part)
mac=$(sqlite3 "$S/mlfs.db" "SELECT hex(mac) FROM contents WHERE size = 778")
sqlite3 "$S/mlfs.db" "UPDATE contents SET mac = zeroblob(16) WHERE size = 778"
imp v9
cached_is $NFILES "damaged row in an unchanged directory"
imp v10 --no-files-cache
cached_is 0 "--no-files-cache"
[ "$(tree_of v9)" = "$(tree_of v10)" ] &&
	ok "the cache makes the version reading every file makes" ||
	fail "v9 (cache) tree $(tree_of v9), v10 (no cache) $(tree_of v10)"
expect_exit 1 "$MLFS" cat --store "$S" t/r@v9/b/damaged
expect_err "damaged" "the damaged row is an error, never other bytes"
echo "file b 5 changed" >"$SRC/b/g5"       # b's tree is new: rows checked
imp v11
cached_is $((NFILES - 2)) "damaged row in a changed directory: read again"
sqlite3 "$S/mlfs.db" "UPDATE contents SET mac = X'$mac' WHERE size = 778"
same v11 "v11 is the source (the row mended)"

# --- a damaged or truncated cache is not trusted ---------------------------
sleep 4
imp v12
f=$(find "$S/cache" -name 'files-*' -type f)
size=$(stat -c %s "$f")
printf '\x01' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none
imp v13
cached_is 0 "a cache with one byte changed"
same v13 "v13 is the source"
imp v14
cached_is $NFILES "the cache written again"
truncate -s $((size - 1)) "$f"
imp v15
cached_is 0 "a truncated cache"
same v15 "v15 is the source"

# --- the stat-ahead: listings made by another thread (import_ahead.c) --------
# A re-import with a cache lists and stats ahead of the walk; the version
# is the one reading every file makes, also after directories were
# swapped, emptied, turned into files, and with names whose order is
# byte order (upper case first, dots).
mkdir -p "$SRC/c/A" "$SRC/c/b.d/e" "$SRC/c/empty" "$SRC/c/a"
for d in A a b.d b.d/e; do
	for i in 1 2 3; do echo "c $d $i" >"$SRC/c/$d/h$i"; done
done
sleep 4
imp v16
imp v17
cached_is "$(find "$SRC" -type f | wc -l)" "with the stat-ahead, every file"
same v17 "v17 (read by the stat-ahead's listings) is the source"
imp v18 --no-files-cache
[ "$(tree_of v17)" = "$(tree_of v18)" ] &&
	ok "the stat-ahead's tree is the one reading every file makes" ||
	fail "trees differ: $(tree_of v17) with the stat-ahead, $(tree_of v18) reading every file"
mv "$SRC/c/A" "$SRC/c/tmp" && mv "$SRC/c/b.d" "$SRC/c/A" && mv "$SRC/c/tmp" "$SRC/c/b.d"
rm -r "$SRC/c/empty" && echo "now a file" >"$SRC/c/empty"
rm "$SRC/c/a/h2" && mkdir "$SRC/c/a/h2" && echo inner >"$SRC/c/a/h2/x"
imp v19
same v19 "v19 (directories swapped, one now a file, a file now a directory) is the source"
imp v20 --no-files-cache
[ "$(tree_of v19)" = "$(tree_of v20)" ] &&
	ok "after the reshape, the same tree as reading every file" ||
	fail "trees differ after the reshape: $(tree_of v19) vs $(tree_of v20)"

# --- a single file ------------------------------------------------------------
run "$MLFS" import --store "$S" --json "$SRC/b/g7" t/one
run "$MLFS" import --store "$S" --json "$SRC/b/g7" t/one
grep -q '"files_cached": 1' "$OUT_F" && ok "a single-file source from the cache" ||
	{ fail "single-file source not from the cache"; show_last; }
[ "$("$MLFS" cat --store "$S" t/one/g7)" = "file b 7" ] && ok "the single file reads back" ||
	fail "t/one/g7 does not read back"

summary
