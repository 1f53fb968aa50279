#!/bin/bash
# holes.sh - export writes aligned 4 KiB blocks of zeros as holes: a 5 GiB
# sparse file (truncate -s, a little data in the middle and at the end)
# exports into little disk (du << size) and reads back identical (cmp);
# so does a file that ends in a hole (the size is set, not written), and
# dense files are untouched. cat streams the same bytes. A sparse file
# written through a working tree shows the blocks it takes. Timings are
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

# A sparse file written through a working tree: stat's blocks are what
# its data file takes, not size / 512 (du, tar --sparse, rsync -S).
if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mnt=$(mktmp)
	at_exit "fusermount3 -u '$mnt' 2>/dev/null || umount -l '$mnt' 2>/dev/null"
	mkdir -p "$W/wt" && echo seed >"$W/wt/seed"
	expect_exit 0 "$MLFS" import --store "$S" "$W/wt" holes/wt -q
	expect_exit 0 "$MLFS" mount --store "$S" "$mnt"
	f=$mnt/holes/wt/sparse1g
	truncate -s 1G "$f" && echo x >>"$f"
	read -r size blocks <<<"$(stat -c '%s %b' "$f")"
	[ "$size" = 1073741826 ] && [ "$blocks" -lt 1024 ] &&
		ok "a 1 GiB sparse file in a working tree: $blocks blocks" ||
		fail "sparse file through the mount: size $size, $blocks blocks"
	dd if=/dev/urandom of="$mnt/holes/wt/dense" bs=1M count=2 status=none
	read -r size blocks <<<"$(stat -c '%s %b' "$mnt/holes/wt/dense")"
	[ "$blocks" -ge 4096 ] && ok "a dense one: $blocks blocks" ||
		fail "dense file through the mount: $blocks blocks"
	expect_exit 0 "$MLFS" umount "$mnt"
fi

summary
