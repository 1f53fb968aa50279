#!/bin/bash
# tests/run.sh [FILTER] - run every integration test tests/*.sh (except
# this file and lib.sh), or those whose name contains FILTER, sum their
# "N passed, N failed" lines and print the total the same way. Exits
# non-zero if anything failed. Uses $MLFS (default build/mlfs).
set -u

dir=$(cd "$(dirname "$0")" && pwd)
: "${MLFS:=$(cd "$dir/.." && pwd)/build/mlfs}"
case $MLFS in /*) ;; *) MLFS=$PWD/$MLFS ;; esac
export MLFS
filter=${1:-}

total_pass=0
total_fail=0
results=()
for t in "$dir"/*.sh; do
	name=$(basename "$t" .sh)
	case $name in run | lib) continue ;; esac
	if [ -n "$filter" ] && [[ $name != *"$filter"* ]]; then
		continue
	fi
	echo "=== $name"
	start=$SECONDS
	log=$(mktemp)
	bash "$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
	rm -f "$log"
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed}
	else
		echo "FAIL - $name printed no summary line (exit $rc)"
		p=0
		f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL - $name exited $rc with no failed check"
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	results+=("$(printf '%-10s %4d passed, %3d failed  (%ds)' "$name" \
		"$p" "$f" $((SECONDS - start)))")
done

echo "=== summary"
for r in "${results[@]}"; do
	echo "$r"
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
