#!/bin/bash
# tests/gc.sh - mlfs gc: an import killed with -9 leaves pack files no
# version references; fsck notes them (exit 0: not damage), gc --dry-run
# counts them, gc removes them and nothing else (every version still
# reads and passes fsck --read-data), and gc refuses to run while an
# import holds the store's lock. A damaged database (packs rows lost, the
# database emptied) never makes gc remove a pack that chunks use.
. "$(dirname "$0")/lib.sh"

S=$(new_store)
W=$(mktmp)
mkdir -p "$W/a" "$W/big"
gen random "$W/a/one.bin" --size-bytes 3000000 --seed 1 >/dev/null 2>&1 ||
	head -c 3000000 /dev/urandom >"$W/a/one.bin"
echo "small file" >"$W/a/two.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/a" gc/r -q -t v1
packs_before=$(ls "$S/packs" | wc -l)

expect_exit 0 "$MLFS" gc --store "$S"
grep -q "removed 0 of $packs_before" "$OUT_F" && ok "gc on a clean store removes nothing" ||
	{ fail "gc on a clean store"; show_last; }

# An import killed after it wrote pack data, before its commit.
head -c $((400 << 20)) /dev/urandom >"$W/big/big.bin"
"$MLFS" import --store "$S" "$W/big" gc/r -q -t v2 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	n=$(find "$S/packs" -name 'pack-*' -newer "$S/mlfs.db" -size +1M | wc -l)
	[ "$n" -gt 0 ] && break
	sleep 0.05
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
expect_exit 1 "$MLFS" show --store "$S" gc/r@v2
packs_after=$(ls "$S/packs" | wc -l)
[ "$packs_after" -gt "$packs_before" ] && ok "the killed import left pack files" ||
	fail "the killed import left no pack file (killed too early?)"

expect_exit 0 "$MLFS" fsck --store "$S" --read-data
expect_err "pack files .* hold no data of any version.*mlfs gc" "fsck notes the unreferenced packs"
expect_exit 0 "$MLFS" fsck --store "$S" --json
json_ok "fsck --json counts unreferenced packs" "d['unreferenced_packs'] >= 1 and d['ok']"

# gc waits for no import: with the lock held it removes nothing.
flock -s "$S/lock" sleep 3 &
lockpid=$!
sleep 0.5
expect_exit 1 "$MLFS" gc --store "$S"
expect_err "import is running" "gc refuses while an import holds the lock"
[ "$(ls "$S/packs" | wc -l)" -eq "$packs_after" ] && ok "nothing removed while locked" ||
	fail "gc removed packs while an import held the lock"
wait $lockpid

expect_exit 0 "$MLFS" gc --store "$S" --dry-run --json
json_ok "gc --dry-run counts the debris" "d['dry_run'] and d['unreferenced_packs'] == $((packs_after - packs_before))"
[ "$(ls "$S/packs" | wc -l)" -eq "$packs_after" ] && ok "--dry-run removes nothing" ||
	fail "--dry-run removed packs"
expect_exit 0 "$MLFS" gc --store "$S"
[ "$(ls "$S/packs" | wc -l)" -eq "$packs_before" ] && ok "gc removed exactly the debris" ||
	fail "gc left $(ls "$S/packs" | wc -l) packs, want $packs_before"
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
if grep -q "hold no data" "$ERR_F"; then fail "fsck still notes debris after gc"; else
	ok "fsck clean after gc"; fi
for f in one.bin two.txt; do
	if "$MLFS" cat --store "$S" "gc/r@v1/$f" | cmp -s - "$W/a/$f"; then
		ok "v1 $f reads back after gc"
	else
		fail "v1 $f differs after gc"
	fi
done
expect_exit 0 "$MLFS" import --store "$S" "$W/big" gc/r -q -t v2
if "$MLFS" cat --store "$S" gc/r@v2/big.bin | cmp -s - "$W/big/big.bin"; then
	ok "import after gc works"; else fail "import after gc"; fi

# A damaged database never makes gc remove live packs. Chunks whose pack
# lost its packs row: gc keeps the pack (exit 1, says why), fsck names it.
D=$(mktmp)/lostrow
cp -a "$S" "$D"
sqlite3 "$D/mlfs.db" "DELETE FROM packs"
npacks=$(ls "$D/packs" | wc -l)
expect_exit 1 "$MLFS" gc --store "$D"
expect_err "kept $npacks pack files that chunks use.*run 'mlfs fsck'" \
	"gc keeps packs that lost their rows and says the database is damaged"
[ "$(ls "$D/packs" | wc -l)" -eq "$npacks" ] && ok "no pack removed" ||
	fail "gc removed packs chunks still use"
expect_exit 1 "$MLFS" fsck --store "$D"
expect_out "damaged pack pack-[0-9a-f]*.mlp: has no row in the packs table" \
	"fsck names a pack without its row"
"$MLFS" cat --store "$D" gc/r@v1/two.txt | cmp -s - "$W/a/two.txt" &&
	ok "v1 still reads" || fail "v1 lost after gc on a damaged database"

# An emptied database (0 bytes: truncated, or replaced by a new one) is
# damage, never an empty store to migrate: every command refuses it,
# gc removes nothing, import starts no new history.
D=$(mktmp)/empty
cp -a "$S" "$D"
rm -f "$D/mlfs.db-wal" "$D/mlfs.db-shm"
: >"$D/mlfs.db"
for cmd in gc fsck upgrade "import $W/a gc/r" "log gc/r"; do
	# shellcheck disable=SC2086
	expect_exit 1 "$MLFS" --store "$D" $cmd
	expect_err "damaged.*database '.*mlfs.db' holds no schema" \
		"$cmd refuses an emptied database, naming it"
done
[ "$(ls "$D/packs" | wc -l)" -eq "$(ls "$S/packs" | wc -l)" ] &&
	ok "no pack removed from a store with an emptied database" ||
	fail "packs removed from a store whose database was emptied"
[ "$(sqlite3 "$D/mlfs.db" "SELECT count(*) FROM sqlite_master")" = 0 ] &&
	ok "no schema was written into the emptied database" ||
	fail "a schema was written into the emptied database"
summary
