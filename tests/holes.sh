#!/bin/bash
# holes.sh - export writes aligned 4 KiB blocks of zeros as holes: a 5 GiB
# sparse file (truncate -s, a little data in the middle and at the end)
# exports into little disk (du << size) and reads back identical (cmp);
# so does a file that ends in a hole (the size is set, not written), and
# dense files are untouched. cat streams the same bytes. Timings are
# printed, never asserted.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store)
W=$(mktmp)
mkdir "$W/src"
big=$W/src/sparse-5g.bin
truncate -s 5G "$big"
gen random "$W/r1" --size-mib 1 --seed 21 >/dev/null
dd if="$W/r1" of="$big" bs=1M seek=1000 conv=notrunc status=none
printf 'unaligned data' | dd of="$big" bs=1 seek=$((3 * 1024 * 1024 * 1024 + 777)) conv=notrunc status=none
printf 'the end' | dd of="$big" bs=1 seek=$((5 * 1024 * 1024 * 1024 - 7)) conv=notrunc status=none
tailhole=$W/src/tail-hole.bin
truncate -s 100M "$tailhole"
dd if="$W/r1" of="$tailhole" bs=64K count=3 conv=notrunc status=none
cp "$W/r1" "$W/src/dense.bin"
: >"$W/src/empty"
head -c 20000 /dev/zero >"$W/src/zeros-small"
rm -f "$W/r1"

t0=$(date +%s.%N)
expect_exit 0 "$MLFS" import --store "$S" -q "$W/src" h/r
t1=$(date +%s.%N)
expect_exit 0 "$MLFS" export --store "$S" -q h/r "$W/x"
t2=$(date +%s.%N)
echo "   import of 5.1 GiB (mostly holes): $(echo "$t1 - $t0" | bc) s;" \
	"export: $(echo "$t2 - $t1" | bc) s"

kib=$(du -k "$W/x/sparse-5g.bin" | cut -f1)
[ "$kib" -le 8192 ] && ok "5 GiB sparse file exported into $kib KiB of disk" ||
	fail "5 GiB sparse file exported into $kib KiB of disk (want <= 8 MiB)"
[ "$(stat -c %s "$W/x/sparse-5g.bin")" -eq $((5 * 1024 * 1024 * 1024)) ] &&
	ok "the exported sparse file is 5 GiB long" || fail "exported size $(stat -c %s "$W/x/sparse-5g.bin")"
cmp "$big" "$W/x/sparse-5g.bin" && ok "the 5 GiB sparse file reads back identical (cmp)" ||
	fail "the 5 GiB sparse file differs"
kib=$(du -k "$W/x/tail-hole.bin" | cut -f1)
[ "$kib" -le 1024 ] && ok "a file ending in a hole exports into $kib KiB" ||
	fail "a file ending in a hole exports into $kib KiB"
cmp "$tailhole" "$W/x/tail-hole.bin" && ok "a file ending in a hole reads back identical, size included" ||
	fail "tail-hole.bin differs"
for f in dense.bin empty zeros-small; do
	cmp "$W/src/$f" "$W/x/$f" && ok "$f exports identical" || fail "$f differs"
done
kib=$(du -k "$W/x/dense.bin" | cut -f1)
[ "$kib" -ge 1024 ] && ok "a dense file stays fully allocated ($kib KiB)" || fail "dense.bin: $kib KiB"

"$MLFS" cat --store "$S" h/r/tail-hole.bin | cmp - "$tailhole" &&
	ok "cat streams the file ending in a hole identical" || fail "cat of tail-hole.bin differs"
expect_exit 0 "$MLFS" export --store "$S" -q h/r/tail-hole.bin "$W/one"
cmp "$tailhole" "$W/one" && [ "$(du -k "$W/one" | cut -f1)" -le 1024 ] &&
	ok "export of the single file writes holes too" || fail "single-file export"

summary
