#!/bin/bash
# enospc.sh - imports into a store on a small loop-mounted ext4 file system
# (64 MiB): an import larger than the free space fails with "no space left
# on device" and exit 1, the store stays intact (fsck clean, earlier
# versions byte-identical) and the failed import's pack files are removed
# (no pack file that no chunk row references). Imports that hit the wall
# at different points (pack data, pack fsync, the database) behave the
# same. An export onto the full file system removes its partial file. On
# a 100 % full disk reading commands still work: cat, export (to another
# disk), ls, log, fsck; writing ones fail with "no space left".
# Needs root (mount -o loop); the file system is unmounted in the EXIT trap.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v mkfs.ext4 >/dev/null ||
	! command -v sqlite3 >/dev/null; then
	fail "enospc.sh needs root, mkfs.ext4 and sqlite3"
	summary
fi
W=$(mktmp)
img=$W/fs.img
mnt=$W/mnt
mkdir "$mnt"
truncate -s 64M "$img"
mkfs.ext4 -q -F -m 0 "$img" || { fail "mkfs.ext4"; summary; }
if ! mount -o loop "$img" "$mnt"; then
	fail "cannot loop-mount an ext4 image"
	summary
fi
at_exit "umount '$mnt' || umount -l '$mnt'"

S=$mnt/store
expect_exit 0 "$MLFS" init --store "$S"
mkdir -p "$W/v1/sub"
gen random "$W/v1/model.bin" --size-mib 2 --seed 1 >/dev/null
echo "version one" >"$W/v1/sub/notes.txt"
expect_exit 0 "$MLFS" import --store "$S" -q -t v1 "$W/v1" m/r
mkdir -p "$W/v2"
gen random "$W/v2/data.bin" --size-mib 1 --seed 2 >/dev/null
expect_exit 0 "$MLFS" import --store "$S" -q -t v2 "$W/v2" m/r
# an edit through the mount: the store has a work.db (work/) from here
fm=$W/fm
mkdir "$fm"
at_exit "fusermount3 -u '$fm' 2>/dev/null"
if "$MLFS" mount --store "$S" "$fm" 2>"$ERR_F"; then
	mkdir "$fm/m/w" && mkdir "$fm/m/w/edited" &&
		echo kept >"$fm/m/w/edited/note"
	fusermount3 -u "$fm"
fi
expect_exit 0 "$MLFS" status --store "$S" m/w
expect_out "edited" "an edit through the mount is pending"

# Every pack file is one a chunk row references, and every referenced
# pack is there.
packs_ok() {
	local want have
	want=$(sqlite3 "file:$S/mlfs.db?mode=ro" \
		"SELECT DISTINCT printf('pack-%016x.mlp', pack_id) FROM chunks ORDER BY 1;")
	have=$(cd "$S/packs" && ls | grep '^pack-' | sort)
	[ "$want" = "$have" ]
}
# The store as it was: fsck clean, both versions byte-identical.
intact() {
	local what=$1
	run "$MLFS" fsck --store "$S" --read-data
	[ "$RC" -eq 0 ] && ok "$what: fsck --read-data clean" ||
		{ fail "$what: fsck exit $RC"; show_last; }
	run "$MLFS" cat --store "$S" m/r@v1/model.bin
	cmp -s "$OUT_F" "$W/v1/model.bin" && [ "$RC" -eq 0 ] &&
		ok "$what: v1 reads back byte-identical" ||
		{ fail "$what: v1 cat (exit $RC)"; show_last; }
	run "$MLFS" cat --store "$S" m/r@v2/data.bin
	cmp -s "$OUT_F" "$W/v2/data.bin" && [ "$RC" -eq 0 ] &&
		ok "$what: v2 reads back byte-identical" ||
		{ fail "$what: v2 cat (exit $RC)"; show_last; }
	packs_ok && ok "$what: no pack file without chunk rows, none missing" ||
		fail "$what: pack files and chunk rows disagree: $(ls "$S/packs")"
}
intact "before"
head_before=$(sqlite3 "file:$S/mlfs.db?mode=ro" "SELECT count(*) FROM commits;")

# --- an import larger than the file system -----------------------------------
gen random "$W/big.bin" --size-mib 90 --seed 3 >/dev/null
expect_exit 1 "$MLFS" import --store "$S" -q "$W/big.bin" m/r
expect_err 'no space left on device' "import larger than the disk: 'no space left on device'"
expect_err "^hint: the store's file system is full; nothing was committed" \
	"the message says nothing was committed"
expect_err_prefix "ENOSPC import"
rm -f "$W/big.bin"
intact "after the failed import"
n=$(sqlite3 "file:$S/mlfs.db?mode=ro" "SELECT count(*) FROM commits;")
[ "$n" = "$head_before" ] && ok "the failed import committed nothing" ||
	fail "commits: $head_before before, $n after"
expect_exit 0 "$MLFS" log --store "$S" m/r
[ "$(grep -c '^commit ' "$OUT_F")" -eq 2 ] || [ "$(grep -ci 'v2' "$OUT_F")" -ge 1 ] &&
	ok "log shows the history as it was" || { fail "log after ENOSPC"; show_last; }

# --- hitting the wall at different points -------------------------------------
# Fill the disk, then free a little: each import runs out somewhere else
# (pack data, its fsync, the SQLite WAL). Each must either commit a
# version that reads back exactly, or fail cleanly.
gen random "$W/mid.bin" --size-mib 3 --seed 4 >/dev/null
dd if=/dev/zero of="$mnt/filler" bs=1M status=none 2>/dev/null
sync
committed=0 refused=0
for free_kib in 0 64 512 1024 2048 3072 4096 6144; do
	rm -f "$mnt/filler"
	sync
	avail=$(($(stat -f -c '%a*%S' "$mnt") / 1024))
	if [ "$avail" -gt "$free_kib" ]; then
		fallocate -l $(((avail - free_kib) * 1024)) "$mnt/filler" 2>/dev/null ||
			dd if=/dev/zero of="$mnt/filler" bs=1K count=$((avail - free_kib)) status=none 2>/dev/null
	fi
	run "$MLFS" import --store "$S" -q -b "free$free_kib" "$W/mid.bin" m/r
	if [ "$RC" -eq 0 ]; then
		committed=$((committed + 1))
		run "$MLFS" cat --store "$S" "m/r@free$free_kib/mid.bin"
		cmp -s "$OUT_F" "$W/mid.bin" ||
			fail "import with ${free_kib} KiB free committed, but reads back wrong (exit $RC)"
	elif [ "$RC" -eq 1 ] && grep -qi 'no space left on device' "$ERR_F"; then
		refused=$((refused + 1))
	else
		fail "import with ${free_kib} KiB free: exit $RC"
		show_last
	fi
	packs_ok || fail "import with ${free_kib} KiB free left pack files without chunk rows: $(ls "$S/packs")"
done
rm -f "$mnt/filler"
echo "   imports near the wall: $committed committed, $refused refused (no space)"
[ "$refused" -ge 1 ] && ok "imports near the wall were refused with 'no space left on device'" ||
	fail "no import near the wall ran out of space"
intact "after the imports near the wall"

# --- an export onto a file system that fills up --------------------------------
# 200 KiB free: the directory and the file are created, the 2 MiB of
# model.bin do not fit. The partial file is removed, and the message says
# so (the store is on the same file system here; it only reads).
avail=$(($(stat -f -c '%a*%S' "$mnt") / 1024))
fallocate -l $(((avail - 200) * 1024)) "$mnt/filler" 2>/dev/null ||
	dd if=/dev/zero of="$mnt/filler" bs=1K count=$((avail - 200)) status=none 2>/dev/null
expect_exit 1 "$MLFS" export --store "$S" m/r@v1 "$mnt/exp"
expect_err "^mlfs: export of 'm/r@v1' failed: No space left on device \\(cannot write '$mnt/exp/model\\.bin'\\)" \
	"export onto a full disk names the file it could not write"
expect_err "^mlfs: removed the partial file '$mnt/exp/model\\.bin'" "export says it removed the partial file"
[ ! -e "$mnt/exp/model.bin" ] && ok "no partial model.bin left on the full disk" ||
	fail "a partial model.bin was left behind"
rm -rf "$mnt/exp" "$mnt/filler"
sync

# --- a 100 % full disk: reading commands work, writing ones say why -------
# A writer closes last, as after an import: SQLite then removes the WAL
# and shared-memory files, and a reader has to do without creating them.
expect_exit 0 "$MLFS" tag --store "$S" m/r@v1 before-full
# Where they stay (an empty WAL), remove them as SQLite would: no process
# has the database open, and an empty WAL holds nothing.
if [ -e "$S/mlfs.db-wal" ] && [ ! -s "$S/mlfs.db-wal" ]; then
	rm -f "$S/mlfs.db-wal" "$S/mlfs.db-shm"
fi
[ -e "$S/mlfs.db-wal" ] && fail "a non-empty WAL after the last writer closed"
# a pack no row names, as a killed import leaves: gc must be able to
# remove it on the full disk (it could not open the store writable)
orphan=$S/packs/pack-00000000deadbeef.mlp
cp "$(ls "$S"/packs/pack-*.mlp | head -n1)" "$orphan"
dd if=/dev/zero of="$mnt/filler" bs=1M status=none 2>/dev/null
# The last blocks: small files until not one more fits.
mkdir "$mnt/fill"
i=0
for sz in 65536 4096 1024 1; do
	while [ $i -lt 5000 ] && head -c $sz /dev/zero 2>/dev/null >"$mnt/fill/$i"; do
		i=$((i + 1))
	done
done
sync
[ "$(stat -f -c %a "$mnt")" -eq 0 ] && ok "the disk is 100 % full" ||
	fail "the disk still has $(stat -f -c %a "$mnt") free blocks"
expect_exit 0 "$MLFS" cat --store "$S" m/r@v1/model.bin
cmp -s "$OUT_F" "$W/v1/model.bin" && ok "full disk: cat reads byte-identical" || fail "full disk: cat bytes"
expect_exit 0 "$MLFS" export --store "$S" -q m/r@v1 "$W/full-export"
diff -r "$W/v1" "$W/full-export" >/dev/null && ok "full disk: export to another disk is exact" ||
	fail "full disk: export differs"
expect_exit 0 "$MLFS" ls --store "$S" m/r@v1
expect_out 'model\.bin' "full disk: ls lists the version"
expect_exit 0 "$MLFS" log --store "$S" m/r
# SQLite maps work.db's -shm too: on this 1 KiB-block disk a store into
# one of its holes was SIGBUS (fsck and status died of it); now the
# working trees are refused as on a full disk, never called damaged
run "$MLFS" fsck --store "$S"
[ "$RC" -lt 128 ] && ! grep -q "damaged" "$OUT_F" "$ERR_F" &&
	ok "full disk: fsck with a working tree runs (exit $RC), calls nothing damaged" ||
	{ fail "full disk: fsck exit $RC"; show_last; }
run "$MLFS" status --store "$S" m/w
[ "$RC" -lt 128 ] && { [ "$RC" -eq 0 ] || grep -qi "no space" "$ERR_F"; } &&
	ok "full disk: status runs or says the disk is full (exit $RC)" ||
	{ fail "full disk: status exit $RC"; show_last; }
expect_exit 1 "$MLFS" import --store "$S" -q "$W/v2" m/r
expect_err 'no space left on device' "full disk: import says 'no space left on device'"
expect_exit 1 "$MLFS" tag --store "$S" m/r@v1 v1-again
expect_err 'no space left on device' "full disk: tag says 'no space left on device'"
expect_exit 0 "$MLFS" gc --store "$S"
expect_out "removed 1 of" "full disk: gc runs and removes the unreferenced pack"
[ ! -e "$orphan" ] && ok "full disk: the unreferenced pack file is gone" ||
	fail "full disk: gc left the unreferenced pack"
rm -rf "$mnt/filler" "$mnt/fill"
sync
intact "after the full disk"
expect_exit 0 "$MLFS" status --store "$S" m/w
expect_out "edited" "with space again, the pending edit is still there"
expect_exit 0 "$MLFS" import --store "$S" -q -t v3 "$W/v2" m/r
expect_exit 0 "$MLFS" cat --store "$S" m/r@v3/data.bin
cmp -s "$OUT_F" "$W/v2/data.bin" && ok "with space again, an import commits and reads back" ||
	fail "import after freeing space"

summary
