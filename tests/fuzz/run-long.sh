#!/bin/bash
# tests/fuzz/run-long.sh SECONDS [NAME...] - a long fuzzing run: each harness
# (all of build-fuzz/fuzz_*, or the NAMEs given, e.g. "tree pack") fuzzes
# for SECONDS, one after the other, from a persistent corpus
# $MLFS_FUZZ_DIR/<name> (default /tmp/mlfs-fuzz) that grows across runs and
# starts from the checked-in seeds. A crash stops libFuzzer; the harness is
# restarted for the rest of its time, so one bug does not end the run.
# Prints per-harness executions and crashes; crashing inputs are kept in
# $MLFS_FUZZ_DIR/crashes/<name>/. Exit 1 when anything crashed.
# Build first with `make fuzz`; run it niced on a shared machine:
#   nice -n 19 bash tests/fuzz/run-long.sh 600
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
work=${MLFS_FUZZ_DIR:-/tmp/mlfs-fuzz}

if [ $# -lt 1 ] || ! [ "$1" -gt 0 ] 2>/dev/null; then
	echo "usage: $0 SECONDS [NAME...]" >&2
	exit 2
fi
secs=$1
shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for bin in "$build"/fuzz_*; do
		[ -x "$bin" ] || continue
		name=$(basename "$bin")
		names+=("${name#fuzz_}")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "run-long: no harnesses in $build (make fuzz)" >&2
	exit 1
fi

any=0
printf '%-14s %8s %12s %8s %8s %8s\n' harness seconds executions crashes \
	corpus cov
for name in "${names[@]}"; do
	bin=$build/fuzz_$name
	corpus=$work/$name
	crashes=$work/crashes/$name
	log=$work/$name.log
	mkdir -p "$corpus" "$crashes"
	opts=()
	[ -f "$top/tests/fuzz/$name.options" ] &&
		read -r -a opts <"$top/tests/fuzz/$name.options"
	[ -f "$top/tests/fuzz/$name.dict" ] &&
		opts+=(-dict="$top/tests/fuzz/$name.dict")
	: >"$log"
	before=$(find "$crashes" -type f | wc -l)
	execs=0
	start=$(date +%s)
	for ((try = 0; try < 50; try++)); do
		left=$((secs - ($(date +%s) - start)))
		[ "$left" -gt 0 ] || break
		"$bin" -max_total_time="$left" -timeout=20 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$crashes/" \
			"${opts[@]}" "$corpus" "$top/tests/fuzz/corpus/$name" \
			>"$log.run" 2>&1
		rc=$?
		cat "$log.run" >>"$log"
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.run")
		execs=$((execs + ${n:-0}))
		# 0: ran its time out; anything else is a crash, leak,
		# timeout or out-of-memory, with its input in $crashes.
		[ "$rc" -ne 0 ] || break
		echo "--- restart after a crash" >>"$log"
	done
	rm -f "$log.run"
	ncrash=$(($(find "$crashes" -type f | wc -l) - before))
	[ "$ncrash" -gt 0 ] && any=1
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	printf '%-14s %8d %12d %8d %8d %8s\n' "$name" \
		$(($(date +%s) - start)) "$execs" "$ncrash" \
		"$(find "$corpus" -type f | wc -l)" "${cov:-?}"
done
exit $any
