#!/bin/bash
# tests/posix/run.sh DIR [FSX_OPS] - our POSIX conformance run in DIR
# (README.md): fstest, then fsx with three seeds of FSX_OPS ops (default
# 10000) on a file of up to 256 KiB and one run of 2000 ops on a file of
# up to 8 MiB. Prints each program's result and a last line
#   posix: fstest P passed, F failed, S skipped; fsx R of N runs passed
# and exits 0 only if nothing failed.
#
# Environment: FSTEST, FSX (the binaries; default: next to $MLFS, else
# build/tests), FSX_SEEDS (default "1 2 3"; the 8 MiB run uses the first
# plus 100), FSX_FLAGS (extra fsx flags, e.g. -W), FSTEST_SKIP and
# FSTEST_ONLY (passed to fstest).
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
	echo "usage: tests/posix/run.sh DIR [FSX_OPS]" >&2
	exit 2
fi
dir=$1
ops=${2:-10000}
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${MLFS:-}" ] && [ -x "$(dirname "$MLFS")/tests/fstest" ]; then
	bin=$(dirname "$MLFS")/tests
else
	bin=$top/build/tests
fi
: "${FSTEST:=$bin/fstest}"
: "${FSX:=$bin/fsx}"
seeds=${FSX_SEEDS:-1 2 3}
read -r -a flags <<<"${FSX_FLAGS:-}"
for b in "$FSTEST" "$FSX"; do
	if [ ! -x "$b" ]; then
		echo "posix: '$b' not found (run 'make all')" >&2
		exit 2
	fi
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$FSTEST" "$dir" | tee "$log"
fst_rc=${PIPESTATUS[0]}
line=$(grep -E '^fstest: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' \
	"$log" | tail -n1)
if [ -z "$line" ]; then
	line="fstest: 0 passed, 1 failed, 0 skipped"
	echo "posix: fstest exited $fst_rc without a summary"
elif [ "$fst_rc" -ne 0 ] && [[ $line == *" 0 failed"* ]]; then
	line="fstest: 0 passed, 1 failed, 0 skipped"
	echo "posix: fstest exited $fst_rc with no failed check"
fi

runs=0
good=0
run_fsx() {
	runs=$((runs + 1))
	echo "posix: fsx $*${flags[*]:+ ${flags[*]}}"
	if "$FSX" "${flags[@]}" "$@" "$dir"; then
		good=$((good + 1))
	fi
}
for s in $seeds; do
	run_fsx -q -S "$s" -N "$ops" -l 256K
done
first=${seeds%% *}
run_fsx -q -S $((first + 100)) -N 2000 -l 8M -o 1M

echo "posix: fstest ${line#fstest: }; fsx $good of $runs runs passed"
[ "$fst_rc" -eq 0 ] && [[ $line == *" 0 failed"* ]] && [ "$good" -eq "$runs" ]
