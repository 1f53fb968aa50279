#!/bin/bash
# posix_self.sh - the POSIX conformance programs (tests/posix/) check
# themselves: tests/posix/run.sh passes on ext4 (/var/tmp) and on tmpfs
# (/dev/shm), fstest's TAP plan, skip list and usage behave, fsx fails
# with the seed, the op and a hexdump when its shadow copy is damaged
# (-X), and, as root, fstest reports ENOSPC on a 4 MiB tmpfs as a failed
# check. No mount of mlfs: tests/posix.sh runs the same on a branch.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

BIN=$(dirname "$MLFS")/tests
FSTEST=$BIN/fstest
FSX=$BIN/fsx
RUN=$TESTS_DIR/posix/run.sh
for b in "$FSTEST" "$FSX"; do
	if [ ! -x "$b" ]; then
		fail "'$b' is not built (make all)"
		summary
	fi
done
export FSTEST FSX
unset FSTEST_SKIP FSTEST_ONLY FSX_SEEDS FSX_FLAGS

nchecks=$("$FSTEST" -l "$TMP_BASE" | wc -l)
[ "$nchecks" -ge 50 ] && ok "fstest -l lists $nchecks checks" ||
	fail "fstest -l lists $nchecks checks, want >= 50"

# run.sh on a real ext4 and a tmpfs directory: everything passes.
for base in /var/tmp /dev/shm; do
	if [ ! -d "$base" ] || [ ! -w "$base" ]; then
		echo "   note: $base is not writable here, not checked"
		continue
	fi
	fstype=$(findmnt -n -o FSTYPE -T "$base" 2>/dev/null | head -n1)
	[ -n "$fstype" ] || fstype=$(stat -f -c %T "$base")
	d=$(mktemp -d "$base/mlfs-posix-self.XXXXXX")
	at_exit "rm -rf '$d'"
	expect_exit 0 bash "$RUN" "$d"
	echo "   $base ($fstype): $(grep '^posix: fstest' "$OUT_F")"
	grep '^not ok' "$OUT_F" | head -5 | sed 's/^/   /'
	expect_out "^1\.\.$nchecks\$" "the TAP plan on $fstype counts $nchecks checks"
	expect_out "^fstest: [0-9]+ passed, 0 failed, [0-9]+ skipped\$" \
		"fstest on $fstype: no check failed"
	p=$(sed -n 's/^fstest: \([0-9]*\) passed, 0 failed, \([0-9]*\) skipped$/\1 \2/p' "$OUT_F")
	[ -n "$p" ] && [ $(( ${p% *} + ${p#* } )) -eq "$nchecks" ] &&
		ok "fstest on $fstype: passed + skipped = $nchecks" ||
		fail "fstest on $fstype: '$p' passed/skipped of $nchecks"
	n=$(grep -c '^fsx: [0-9]* ops passed (seed [0-9]*)' "$OUT_F")
	[ "$n" -eq 4 ] && ok "4 fsx runs passed on $fstype" ||
		fail "$n of 4 fsx runs passed on $fstype"
	expect_out '^posix: fstest [0-9]+ passed, 0 failed, [0-9]+ skipped; fsx 4 of 4 runs passed$' \
		"run.sh sums up both on $fstype"
	left=$(find "$d" -mindepth 1 | wc -l)
	[ "$left" -eq 0 ] && ok "fstest and fsx leave nothing behind in $base" ||
		fail "$left files left behind in $d"
done

# FSTEST_ONLY picks groups, FSTEST_SKIP skips names and groups.
W=$(mktmp)
run env FSTEST_ONLY=xattr,statfs,rename.self FSTEST_SKIP=xattr "$FSTEST" "$W"
[ "$RC" -eq 0 ] && ok "fstest with only skips and passes exits 0" ||
	fail "fstest exited $RC"
expect_out '^1\.\.6$' "FSTEST_ONLY=xattr,statfs,rename.self plans 6 checks"
expect_out '^ok [0-9]+ - xattr\.flags: .* # SKIP FSTEST_SKIP$' \
	"FSTEST_SKIP=xattr skips xattr.flags with the reason"
expect_out '^fstest: 2 passed, 0 failed, 4 skipped$' \
	"2 passed (statfs, rename.self), 4 skipped"
expect_exit 2 "$FSTEST"
expect_exit 2 "$FSTEST" "$W/missing"
expect_exit 2 bash "$RUN"

# fsx must catch a wrong byte: -X flips one in its shadow after op 1000.
expect_exit 1 "$FSX" -S 7 -N 2000 -X 1000 "$W"
expect_err '^fsx: FAIL at op 1001 of 2000 \(seed 7\): read of 0x[0-9a-f]+ bytes at 0x[0-9a-f]+: data mismatch at 0x[0-9a-f]+$' \
	"fsx names the op, the seed and the offset of the flipped byte"
expect_err '^fsx: first difference at file offset 0x[0-9a-f]+ \(good 0x[0-9a-f]{2}, file 0x[0-9a-f]{2}\)$' \
	"fsx hexdumps the first differing bytes"
n=$(grep -cE '^ +[0-9]+ (read|write|mapread|mapwrite|truncate|fallocate|reopen|fsync) ' "$ERR_F")
[ "$n" -eq 20 ] && ok "fsx prints the last 20 ops" ||
	fail "fsx printed $n ops, want 20"
expect_err '^fsx: rerun with -S 7$' "fsx says how to rerun"
kept=("$W"/fsx.7.*.good)
good=${kept[0]}
[ -f "$good" ] && [ -f "${good%.good}" ] &&
	ok "fsx keeps the file and its shadow" ||
	fail "no kept file and shadow in $W"
# and without -X the same seed passes: the failure was the flip
expect_exit 0 "$FSX" -q -S 7 -N 2000 "$W"
expect_out '^fsx: 2000 ops passed \(seed 7\): read [0-9]+, write [0-9]+' \
	"the same seed without -X passes and counts its ops"
expect_exit 2 "$FSX" -N 10x "$W"
# -R, -W and -F leave their ops out
expect_exit 0 "$FSX" -q -R -F -S 8 -N 3000 "$W"
expect_out 'mapread 0, mapwrite 0, truncate [0-9]+, fallocate 0,' \
	"fsx -R -F runs no mmap and no fallocate"
expect_exit 0 "$FSX" -q -W -S 8 -N 3000 "$W"
expect_out 'mapread [1-9][0-9]*, mapwrite 0, .*fallocate [1-9]' \
	"fsx -W maps for reads only"

# A real failure of a real file system: 8 MiB do not fit in 4 MiB.
if [ "$(id -u)" -eq 0 ]; then
	small=$(mktmp)
	if mount -t tmpfs -o size=4m tmpfs "$small" 2>/dev/null; then
		at_exit "umount -l '$small'"
		run env FSTEST_ONLY=io "$FSTEST" "$small"
		[ "$RC" -eq 1 ] && ok "fstest exits 1 when a check fails" ||
			fail "fstest exited $RC on a 4 MiB tmpfs, want 1"
		expect_out '^not ok [0-9]+ - io\.large: .* # .*ENOSPC \(fstest_file\.c:[0-9]+\)$' \
			"io.large fails with ENOSPC and where"
		expect_out '^fstest: [0-9]+ passed, 1 failed, 0 skipped$' \
			"the summary counts the one failure"
		umount "$small" && ok "the 4 MiB tmpfs unmounts (nothing left open)" ||
			fail "umount of the 4 MiB tmpfs"
	else
		echo "   note: cannot mount a tmpfs here, ENOSPC case not checked"
	fi
fi

summary
