#!/bin/bash
# tools/bench/wt_lock.sh - metadata operations through the mount while a
# snapshot of a large file runs (issue 9: the snapshot no longer holds the
# working trees' lock while it reads files). A benchmark, not a test: it
# prints figures and ratios and does not fail on them.
#
#   a file of --size-mib MiB (1024) written through the mount, then
#   `mlfs snapshot` in the background; 0.3 s later (it is then reading)
#   `mkdir`, `touch` and a first lookup of the tree by its branch name
#   (MNT/ns/name@main/...) through the mount: each one's latency, against
#   the same operations with no snapshot running (the reference, same
#   run), and whether they returned before the snapshot ended.
#
# Usage: tools/bench/wt_lock.sh [--size-mib N] [--runs N]
# MLFS=path/to/mlfs picks the binary (default build/mlfs).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
case $MLFS in /*) ;; *) MLFS=$top/$MLFS ;; esac
PY=/usr/bin/python3
size_mib=1024
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--size-mib) size_mib=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--size-mib N] [--runs N]" >&2; exit 2 ;;
	esac
done

W=$(mktemp -d)
S=$W/store
M=$W/mnt
mkdir -p "$M" "$W/src"
cleanup() {
	"$MLFS" --store "$S" umount "$M" >/dev/null 2>&1 ||
		fusermount3 -u "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   binary: $MLFS"
"$MLFS" --store "$S" init >/dev/null
echo seed >"$W/src/seed.txt"
"$MLFS" --store "$S" import -q "$W/src" b/r
"$MLFS" --store "$S" mount "$M" || exit 1

now() { date +%s.%N; }
# ops TAG: mkdir, touch, a first lookup by the branch name; prints the
# three latencies in seconds
ops() {
	local t0 t1 t2 t3
	t0=$(now)
	mkdir "$M/b/r/d-$1"
	t1=$(now)
	touch "$M/b/r/d-$1/f"
	t2=$(now)
	stat "$M/b/r@main/d-$1/f" >/dev/null
	t3=$(now)
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc)"
}

for run in $(seq "$runs"); do
	"$PY" "$top/tools/gen-data" random "$M/b/r/big-$run.bin" \
		--size-mib "$size_mib" --seed "$run" >/dev/null
	sleep 1.2 # the kernel's 1 s entry timeout: lookups reach the daemon
	read -r im it il <<<"$(ops idle-$run)"
	sleep 1.2
	s0=$(now)
	"$MLFS" --store "$S" snapshot b/r -m "run $run" >/dev/null &
	pid=$!
	sleep 0.3
	read -r bm bt bl <<<"$(ops busy-$run)"
	back=$(now)
	wait "$pid"
	s1=$(now)
	during=no
	[ "$(echo "$back < $s1" | bc)" = 1 ] && during=yes
	printf 'run %d: snapshot %.2f s; idle mkdir %.3f touch %.3f lookup %.3f s; during it mkdir %.3f touch %.3f lookup %.3f s (returned before it ended: %s); mkdir ratio %.1fx\n' \
		"$run" "$(echo "$s1 - $s0" | bc)" "$im" "$it" "$il" "$bm" "$bt" "$bl" \
		"$during" "$(echo "$bm / $im" | bc -l)"
done
