#!/bin/bash
# tools/bench/packlist.sh - what a clone reads of a bucket that holds many
# packs (docs/remote.md#fetch-pull-and-clone), against a real Ceph RGW
# (tests/s3/rgw.sh). One store pushes a 2 MB repository and N small ones
# (one pack or two each); then, for a clone by $MLFS and, when given, by
# MLFS_BEFORE (an mlfs before pack lists), in the same run:
#   referenced  every ref there: the clone needs every pack
#   unrelated   the N small repositories' refs removed: their packs are
#               in the bucket, reached by no ref
# GETs are counted from the client's sendto() calls (strace; plain HTTP),
# times are the median of RUNS clones without strace.
# Usage: tools/bench/packlist.sh [N] (default 150); RUNS (default 3).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
PROBE=${PROBE:-$top/build/tests/s3probe}
N=${1:-150}
RUNS=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/mlfs-bench-packlist.XXXXXX")
srv=$work/rgw
cleanup() {
	"$top/tests/s3/rgw.sh" stop "$srv" >/dev/null 2>&1 || true
	rm -rf "$work" || true
}
trap cleanup EXIT
command -v strace >/dev/null || { echo "packlist.sh: needs strace" >&2; exit 1; }
"$top/tests/s3/rgw.sh" start "$srv"
# shellcheck disable=SC1091
. "$srv/env"
unset AWS_SESSION_TOKEN AWS_PROFILE S3_PREFIX
EP=$MLFS_TEST_S3_ENDPOINT
export S3_ENDPOINT=$EP S3_BUCKET=mlfs-bench
"$PROBE" mkbucket >/dev/null
M=$work/m
"$MLFS" init --store "$M" >/dev/null
head -c 2000000 /dev/urandom >"$work/f"
"$MLFS" import --store "$M" "$work/f" r/main -q
for i in $(seq 1 "$N"); do
	head -c 30000 /dev/urandom >"$work/j"
	"$MLFS" import --store "$M" "$work/j" junk/j"$i" -q
done
"$MLFS" remote add --store "$M" origin s3://mlfs-bench/b --endpoint "$EP"
"$MLFS" push --store "$M" --jobs 8 | tail -1
echo "bucket: $(S3_PREFIX=b/ "$PROBE" ls packs/ | grep -c '\.idx ') packs," \
	"$(S3_PREFIX=b/ "$PROBE" ls packlists/ | grep -c .) pack lists"

n=0
count() { # LABEL BINARY
	local d=$work/c$((n += 1))
	strace -f -qq -e trace=sendto -s 200 -o "$work/st" "$2" clone \
		s3://mlfs-bench/b --endpoint "$EP" --store "$d" >/dev/null
	printf '%-8s GETs %4d (pack indexes %d, pack lists %d, listings %d), remote_packs %d\n' \
		"$1" "$(grep -c '"GET ' "$work/st")" \
		"$(grep -c '"GET [^ ]*packs/pack-[0-9a-f]*\.idx' "$work/st")" \
		"$(grep -c '"GET [^ ]*packlists/' "$work/st")" \
		"$(grep -c '"GET [^ ]*list-type' "$work/st")" \
		"$(sqlite3 "$d/mlfs.db" 'SELECT count(*) FROM remote_packs')"
	"$2" cat --store "$d" r/main/f | cmp -s - "$work/f" ||
		echo "$1: r/main reads wrong" >&2
	rm -rf "$d"
}
timeit() { # LABEL BINARY
	local d t=() i t0
	for i in $(seq 1 "$RUNS"); do
		d=$work/t$((n += 1))
		t0=$(date +%s.%N)
		"$2" clone s3://mlfs-bench/b --endpoint "$EP" --store "$d" >/dev/null
		t+=("$(echo "$(date +%s.%N) - $t0" | bc)")
		rm -rf "$d"
	done
	printf '%-8s clone %.2f s (median of %d)\n' "$1" \
		"$(printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")" "$RUNS"
}
both() {
	count after "$MLFS"
	[ -z "${MLFS_BEFORE:-}" ] || count before "$MLFS_BEFORE"
	timeit after "$MLFS"
	[ -z "${MLFS_BEFORE:-}" ] || timeit before "$MLFS_BEFORE"
}
echo "== referenced: $N+1 refs, every pack needed"
both
for i in $(seq 1 "$N"); do
	S3_PREFIX=b/ "$PROBE" rm refs/junk/j"$i"/branches/main >/dev/null
done
echo "== unrelated: $N refs removed, their packs reached by no ref"
both
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
