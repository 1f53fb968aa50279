#!/bin/bash
# tests/fuzz/check.sh BUILD RUNS HARNESS... - the fuzz step of make check:
# run each libFuzzer harness fuzz_<name> for RUNS inputs (fixed seed;
# tests/fuzz/<name>.runs may ask for fewer) from its checked-in corpus
# tests/fuzz/corpus/<name>/, and fail on any crash, leak, sanitizer
# report or broken invariant. New inputs go to a temp dir, never into the
# checked-in corpus; a crashing input is kept as BUILD/artifacts/<name>/.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
runs=$2
shift 2
fail=0
ms() { echo $(($(date +%s%N) / 1000000)); }
total_start=$(ms)

for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	corpus=$top/tests/fuzz/corpus/$name
	if [ ! -d "$corpus" ]; then
		echo "FAIL - fuzz $name: no seed corpus $corpus"
		fail=1
		continue
	fi
	new=$(mktemp -d /tmp/mlfs-fuzz-check.XXXXXX)
	art=$build/artifacts/$name
	log=$build/fuzz-$name.log
	mkdir -p "$art"
	opts=()
	[ -f "$top/tests/fuzz/$name.options" ] &&
		read -r -a opts <"$top/tests/fuzz/$name.options"
	[ -f "$top/tests/fuzz/$name.dict" ] &&
		opts+=(-dict="$top/tests/fuzz/$name.dict")
	# A slow harness may ask for fewer runs in <name>.runs.
	n=$runs
	[ -f "$top/tests/fuzz/$name.runs" ] &&
		read -r n <"$top/tests/fuzz/$name.runs"
	start=$(ms)
	"$bin" -runs="$n" -seed=1 -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" "${opts[@]}" \
		"$new" "$corpus" >"$log" 2>&1
	rc=$?
	took=$(($(ms) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rm -rf "$new"
	if [ "$rc" -eq 0 ]; then
		printf 'ok - fuzz %s: %s runs, %d.%d s, %d seeds\n' "$name" \
			"${execs:-?}" $((took / 1000)) $((took % 1000 / 100)) \
			"$(ls "$corpus" | wc -l)"
	else
		echo "FAIL - fuzz $name: exit $rc (log $log, inputs in $art/)"
		grep -E -m 8 'ERROR|invariant|SUMMARY|Test unit written' \
			"$log" |
			sed 's/^/   /'
		fail=1
	fi
done
took=$(($(ms) - total_start))
printf 'fuzz-check: %d harnesses, %d.%d s\n' $# $((took / 1000)) \
	$((took % 1000 / 100))
exit $fail
