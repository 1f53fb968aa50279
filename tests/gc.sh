#!/bin/bash
# tests/gc.sh - mlfs gc: an import killed with -9 leaves pack files no
# version references; fsck notes them (exit 0: not damage), gc --dry-run
# counts them, gc removes them and nothing else (every version still
# reads and passes fsck --read-data), and gc refuses to run while an
# import holds the store's lock.
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
summary
