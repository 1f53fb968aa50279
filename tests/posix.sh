#!/bin/bash
# tests/posix.sh - our POSIX conformance run (tests/posix/run.sh: fstest,
# then fsx) in the working tree of a new repository made by mkdir through
# the mount, and once more in the working tree of an imported version
# (a tree that starts as a view of stored content, not yet materialized).
# FIFOs, sockets and devices live in the working tree only (80cf527): a
# snapshot leaves them out and says so. The mount uses allow_other when we are root, so
# fstest's checks as another user run too.
# Prints the pass counts; then the tree is snapshot and fsck'd.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

OPS=${POSIX_FSX_OPS:-10000}

mount_fixture
opts=()
[ "$(id -u)" -eq 0 ] && opts=(-o allow_other)
# fstest checks as uid 65534 need to reach the mountpoint
chmod 0755 "$mnt" "$(dirname "$mnt")"

gen tree "$W/src" --seed 3 --big-mib 2 >/dev/null
expect_exit 0 mlfs import -q "$W/src" posix/imported
check "mount" timeout 60 "$MLFS" --store "$S" mount "$mnt" "${opts[@]}"

# run_in DIR LABEL: one conformance run, its counts in the summary
run_in() {
	local log=$W/$2.log rc line
	timeout 300 bash "$TESTS_DIR/posix/run.sh" "$1" "$OPS" >"$log" 2>&1
	rc=$?
	grep -E '^(not ok|posix:|fstest:|fsx:)' "$log" | sed 's/^/   /'
	line=$(grep -E '^posix: fstest ' "$log" | tail -n1)
	if [ $rc -eq 0 ] && [ -n "$line" ]; then
		ok "$2: ${line#posix: }"
	else
		fail "$2: exit $rc: ${line:-no summary}"
	fi
	# the skips: only what mlfs documents as unsupported (O_TMPFILE); as
	# root with allow_other the other-user checks must run
	local other
	other=$(grep -E '# SKIP' "$log" | grep -Ev '^ok [0-9]+ - open\.tmpfile:')
	if [ -z "$other" ] || [ -n "${FSTEST_SKIP:-}" ]; then
		ok "$2: fstest skipped only open.tmpfile"
	else
		fail "$2: other skips: $(echo "$other" | head -n2)"
	fi
}

check "mkdir of a new repository" mkdir -p "$mnt/posix/fresh"
check "a working directory in it" mkdir "$mnt/posix/fresh/run"
run_in "$mnt/posix/fresh/run" "new repository"
check "a working directory in the imported branch" \
	mkdir "$mnt/posix/imported/run"
run_in "$mnt/posix/imported/run" "imported branch"
# a FIFO is kept in the working tree; the snapshot below leaves it out
check "mkfifo in a working tree" \
	"$PY" -c 'import os, sys; os.mkfifo(sys.argv[1])' "$mnt/posix/fresh/fifo"

# what the runs left behind is a tree like any other: snapshot, fsck
run "$MLFS" --store "$S" snapshot posix/fresh -m "after the posix run"
if [ "$RC" -eq 0 ] && is_hex32 "$(tr -d '[:space:]' <"$OUT_F")"; then
	ok "snapshot of the tree the runs left"
else
	fail "snapshot of the tree the runs left (exit $RC)"
	show_last
fi
expect_err "note: 'fifo' is a FIFO, socket or device" \
	"the snapshot says it left the FIFO out"
check "umount" timeout 60 "$MLFS" --store "$S" umount "$mnt"
for _ in $(seq 100); do
	pgrep -f -- "mount $mnt\$" >/dev/null || break
	sleep 0.05
done
expect_exit 0 mlfs fsck
# under ASan/UBSan the daemon reports into its log
if grep -q 'Sanitizer\|runtime error' "$S/mount.log" 2>/dev/null; then
	fail "the daemon's log has a sanitizer report: $(grep -m1 'Sanitizer\|runtime error' "$S/mount.log")"
else
	ok "no sanitizer report in the daemon's log"
fi
summary
