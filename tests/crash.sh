#!/bin/bash
# crash.sh - kill -9 of an import at random moments, many times: the store
# still opens, passes fsck (and fsck --read-data), and keeps every commit
# made before, with its files' exact bytes. A commit is all there or
# absent; a first import of a new repository killed leaves no half repo.
# Also two concurrent imports into one repository.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

ITER=${CRASH_ITER:-20}
SIZE_MIB=${CRASH_SIZE_MIB:-128}
SEED=${CRASH_SEED:-$(date +%s)}
RANDOM=$SEED
echo "   crash seed $SEED (CRASH_SEED=$SEED to replay), $ITER iterations, $SIZE_MIB MiB"

S=$(new_store) || exit 1
W=$(mktmp)
src=$W/src
mkdir -p "$src/d"
repo=crash/r

declare -A marker_of  # commit -> marker.txt content
declare -A md5_of     # commit -> md5 of big.bin
commits=()

new_big() { gen random "$src/big.bin" --size-mib "$SIZE_MIB" --seed "$1"; }
small_change() { # overwrite 1 MiB at a random offset
	local off=$(( (RANDOM * 32768 + RANDOM) % (SIZE_MIB - 1) ))
	gen random "$W/patch" --size-mib 1 --seed "$1"
	dd if="$W/patch" of="$src/big.bin" bs=1M seek="$off" conv=notrunc status=none
}

record() { # COMMIT MARKER MD5
	marker_of[$1]=$2
	md5_of[$1]=$3
	commits+=("$1")
}

# A first commit, then time a full import of new data to scale the kills.
new_big 1000
echo "base" >"$src/marker.txt"
echo "small file" >"$src/d/small.txt"
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -q -t base
record "$(tr -d '[:space:]' <"$OUT_F")" base "$(md5sum <"$src/big.bin" | cut -c1-32)"
new_big 1001
echo "timing" >"$src/marker.txt"
t0=$(date +%s.%N)
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -q
t1=$(date +%s.%N)
record "$(tr -d '[:space:]' <"$OUT_F")" timing "$(md5sum <"$src/big.bin" | cut -c1-32)"
T_NEW=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
echo "   full import of $SIZE_MIB MiB new data: ${T_NEW}s"
# A 1 MiB change is mostly deduplicated: much faster, timed on its own so
# its kills land inside that import too.
small_change 999
echo "timing small" >"$src/marker.txt"
t0=$(date +%s.%N)
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -q
t1=$(date +%s.%N)
record "$(tr -d '[:space:]' <"$OUT_F")" "timing small" "$(md5sum <"$src/big.bin" | cut -c1-32)"
T_SMALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
echo "   import of a 1 MiB change: ${T_SMALL}s"
T=$T_NEW

killed=0
late=0
completed=0
other=0
fsck_bad=0
for ((i = 1; i <= ITER; i++)); do
	if ((i % 2)); then
		new_big $((2000 + i))
		T=$T_NEW
	else
		small_change $((3000 + i))
		T=$T_SMALL
	fi
	echo "iter $i" >"$src/marker.txt"
	sum=$(md5sum <"$src/big.bin" | cut -c1-32)
	# Kill somewhere in [0, 1.4 T]: start, chunking, pack writes, commit,
	# and some after the import finished (so late commits are checked too).
	delay=$(awk -v t="$T" -v r=$RANDOM 'BEGIN { printf "%.3f", t * 1.4 * r / 32767 }')
	"$MLFS" import --store "$S" "$src" $repo -q -m "iter $i" >"$W/out" 2>"$W/err" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		completed=$((completed + 1))
		record "$(tr -d '[:space:]' <"$W/out")" "iter $i" "$sum"
	elif [ $rc -eq 137 ]; then
		killed=$((killed + 1))
		# Killed after its transaction committed: the commit is all
		# there (checked below like any other), not half there.
		head=$("$MLFS" log --store "$S" $repo -n 1 --json 2>/dev/null |
			"$PY" -c 'import json,sys; c=json.load(sys.stdin)[0]; print(c["commit"] if c["message"] == sys.argv[1] else "")' "iter $i" 2>/dev/null)
		if [ -n "$head" ]; then
			late=$((late + 1))
			record "$head" "iter $i" "$sum"
		fi
	else
		other=$((other + 1))
		fail "iteration $i: import exited $rc (not killed): $(head -c 300 "$W/err")"
	fi
	# The store must open and be consistent right after the kill.
	if ((i % 6 == 0)); then
		"$MLFS" fsck --store "$S" --read-data >"$W/fsck" 2>&1
	else
		"$MLFS" fsck --store "$S" >"$W/fsck" 2>&1
	fi
	r=$?
	if [ $r -ne 0 ]; then
		fsck_bad=$((fsck_bad + 1))
		fail "iteration $i (killed after ${delay}s): fsck exit $r: $(head -c 400 "$W/fsck")"
	fi
	n=$("$MLFS" log --store "$S" $repo --json 2>/dev/null |
		"$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d if isinstance(d,list) else d["commits"]))' 2>/dev/null)
	if [ "${n:-x}" != "${#commits[@]}" ]; then
		fail "iteration $i: log has '${n:-error}' commits, want ${#commits[@]}"
	fi
done
echo "   $killed imports killed ($late of them after their commit landed), $completed completed before the kill, $other other"
[ $fsck_bad -eq 0 ] && ok "fsck exit 0 after each of $ITER kills" || true
[ $killed -ge $((ITER / 3)) ] && ok "most imports were really killed mid-way ($killed)" ||
	fail "only $killed of $ITER imports were killed: timing calibration off"

# Killed first imports of new repositories leave nothing half-made.
T=$T_NEW
for ((i = 1; i <= 6; i++)); do
	delay=$(awk -v t="$T" -v r=$RANDOM 'BEGIN { printf "%.3f", t * 0.9 * r / 32767 }')
	"$MLFS" import --store "$S" "$src" crash/new$i -q >"$W/out" 2>"$W/err" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	if "$MLFS" repos --store "$S" 2>/dev/null | grep -q "crash/new$i\b"; then
		if "$MLFS" log --store "$S" crash/new$i >/dev/null 2>&1; then
			[ $rc -eq 0 ] || echo "   note: killed first import left crash/new$i with a commit (rc $rc)"
			ok "killed first import $i: repo listed and has a commit"
		else
			fail "killed first import $i (rc $rc): crash/new$i listed but log fails"
		fi
	else
		[ $rc -ne 0 ] && ok "killed first import $i: repo absent" ||
			fail "first import $i succeeded but repo not listed"
	fi
done

# Every commit recorded before is intact: log lists it, its files cat.
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
expect_exit 0 "$MLFS" log --store "$S" $repo
bad=0
for c in "${commits[@]}"; do
	grep -q "$c" "$OUT_F" || { bad=1; fail "commit $c missing from log"; }
done
[ $bad -eq 0 ] && ok "log lists all ${#commits[@]} commits made before the kills"
bad=0
for c in "${commits[@]}"; do
	m=$("$MLFS" cat --store "$S" "$repo@$c/marker.txt" 2>&1)
	[ "$m" = "${marker_of[$c]}" ] || { bad=1; fail "commit ${c:0:8}: marker '$m', want '${marker_of[$c]}'"; }
done
[ $bad -eq 0 ] && ok "marker.txt of every commit reads back"
# Full content of the first, the last and one random completed commit.
sel=("${commits[0]}" "${commits[-1]}" "${commits[$((RANDOM % ${#commits[@]}))]}")
for c in "${sel[@]}"; do
	got=$("$MLFS" cat --store "$S" "$repo@$c/big.bin" 2>/dev/null | md5sum | cut -c1-32)
	[ "$got" = "${md5_of[$c]}" ] && ok "commit ${c:0:8}: big.bin bytes intact" ||
		fail "commit ${c:0:8}: big.bin md5 $got, want ${md5_of[$c]}"
done
expect_exit 0 "$MLFS" cat --store "$S" "$repo@base/d/small.txt"

# The store is usable after all that: a clean import, then fsck.
echo "final" >"$src/marker.txt"
expect_exit 0 "$MLFS" import --store "$S" "$src" $repo -q -t final
m=$("$MLFS" cat --store "$S" "$repo@final/marker.txt" 2>&1)
[ "$m" = final ] && ok "import after the kills works" || fail "final import marker '$m'"
echo "   packs: $(du -sh "$S/packs" | cut -f1) (incl. unreferenced data of killed imports)"

# Two concurrent imports into the same repository and branch.
src2=$W/src2
mkdir "$src2"
gen random "$src2/other.bin" --size-mib 32 --seed 77
echo "concurrent" >"$src2/marker.txt"
"$MLFS" import --store "$S" "$src" $repo -q -m conc-a >"$W/oa" 2>"$W/ea" &
pa=$!
"$MLFS" import --store "$S" "$src2" $repo -q -m conc-b >"$W/ob" 2>"$W/eb" &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
echo "   concurrent imports: exit $ra and $rb"
if [ $ra -eq 0 ] && [ $rb -eq 0 ]; then
	ok "two concurrent imports both succeed"
	expect_exit 0 "$MLFS" log --store "$S" $repo -n 2
	grep -q "$(cat "$W/oa")" "$OUT_F" && grep -q "$(cat "$W/ob")" "$OUT_F" &&
		ok "both concurrent commits are on the branch (none lost)" ||
		fail "a concurrent commit was lost from the branch history"
elif [ $ra -le 1 ] && [ $rb -le 1 ]; then
	ok "concurrent imports: one failed cleanly ($(cat "$W/ea" "$W/eb" | head -c 200))"
else
	fail "concurrent imports: exit $ra/$rb: $(cat "$W/ea" "$W/eb" | head -c 300)"
fi
expect_exit 0 "$MLFS" fsck --store "$S" --read-data

summary
