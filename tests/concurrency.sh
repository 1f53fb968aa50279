#!/bin/bash
# concurrency.sh - readers never fail because a writer is active, and
# writers wait for each other: for ~20 s an import loop commits new
# versions while cat, ls, log, fsck and tag run against the same store,
# and (the store is shared with group users) cat and fsck run as nobody
# in that group, who may not write the store or its -shm. Every command
# must succeed ("store busy" is a failure), and the store is clean
# afterwards. Counts, not timings, decide.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

W=$(mktmp)
S=$W/store
shared=
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null &&
	id nobody >/dev/null 2>&1 &&
	getent group users >/dev/null; then
	shared="--shared users"
	chmod o+x "$_tmp_root" "$W"
fi
# shellcheck disable=SC2086
expect_exit 0 "$MLFS" init --store "$S" $shared
DUR=${CONCURRENCY_SECONDS:-20}
mkdir "$W/src"
for i in 1 2 3 4; do
	gen random "$W/src/f$i.bin" --size-mib 0 --size-bytes $((i * 70000)) \
		--seed "$i"
done
echo hello >"$W/src/hello.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/src" c/r -q -t v0

stop=$W/stop
# The writer: import a slightly changed tree, again and again.
writer() {
	local n=0 fails=0
	while [ ! -e "$stop" ]; do
		n=$((n + 1))
		echo "$n" >"$W/src/counter.txt"
		if ! "$MLFS" import --store "$S" "$W/src" c/r -q \
			>/dev/null 2>>"$W/writer.err"; then
			fails=$((fails + 1))
		fi
	done
	echo "$n $fails" >"$W/writer.count"
}

# A reader running one command in a loop; @1 names it, the rest is the
# command. Each failure's stderr is kept.
reader() {
	local name=$1 n=0 fails=0
	shift
	while [ ! -e "$stop" ]; do
		n=$((n + 1))
		if ! "$@" >/dev/null 2>"$W/$name.last"; then
			fails=$((fails + 1))
			cat "$W/$name.last" >>"$W/$name.err"
		fi
	done
	echo "$n $fails" >"$W/$name.count"
}

tagger() {
	local n=0 fails=0
	while [ ! -e "$stop" ]; do
		n=$((n + 1))
		if ! "$MLFS" tag --store "$S" c/r "t$n" >/dev/null \
			2>>"$W/tag.err"; then
			fails=$((fails + 1))
		fi
	done
	echo "$n $fails" >"$W/tag.count"
}

writer &
pids=($!)
reader cat "$MLFS" cat --store "$S" c/r/hello.txt &
pids+=($!)
reader ls "$MLFS" ls --store "$S" c/r &
pids+=($!)
reader log "$MLFS" log --store "$S" c/r &
pids+=($!)
reader fsck "$MLFS" fsck --store "$S" &
pids+=($!)
tagger &
pids+=($!)
names="writer cat ls log fsck tag"
if [ -n "$shared" ]; then
	asgroup() { runuser -u nobody -G users -- "$@"; }
	reader group-cat asgroup "$MLFS" cat --store "$S" c/r/hello.txt &
	pids+=($!)
	reader group-fsck asgroup "$MLFS" fsck --store "$S" &
	pids+=($!)
	names="$names group-cat group-fsck"
else
	echo "   note: no runuser, nobody or group users: shared readers skipped"
fi
at_exit "touch '$stop'; kill ${pids[*]}"
sleep "$DUR"
touch "$stop"
for p in "${pids[@]}"; do
	wait "$p"
done

for name in $names; do
	if [ ! -s "$W/$name.count" ]; then
		fail "$name: no count recorded"
		continue
	fi
	read -r n fails <"$W/$name.count"
	if [ "$n" -lt 3 ]; then
		fail "$name ran only $n times in ${DUR}s: no overlap tested"
	elif [ "$fails" -eq 0 ]; then
		ok "$name: $n runs against the other commands, 0 failures"
	else
		fail "$name: $fails of $n runs failed"
		sort "$W/$name.err" 2>/dev/null | uniq -c | head -5 |
			sed 's/^/   /'
	fi
done

# Every tag that was made is there, and points at a version that reads.
read -r ntags tfails <"$W/tag.count"
expect_exit 0 "$MLFS" tag --store "$S" --list c/r
[ "$(grep -c '^t[0-9]' "$OUT_F")" -eq $((ntags - tfails)) ] &&
	ok "every tag made under load is listed" ||
	fail "tags listed: $(grep -c '^t[0-9]' "$OUT_F") of $((ntags - tfails))"
expect_exit 0 "$MLFS" cat --store "$S" c/r@t1/hello.txt
expect_out '^hello$' "a tag made under load reads back"
expect_exit 0 "$MLFS" fsck --store "$S" --read-data

# Writers wait for a writer (busy_timeout, 5 s); readers never do. A
# Python connection holds the write lock for HOLD seconds; margins are
# seconds wide, and what is checked is the outcome, not the time.
hold_lock() { # SECONDS
	rm -f "$W/locked"
	"$PY" - "$S/mlfs.db" "$1" "$W/locked" <<'PYEOF' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO audit(time, user, command, detail) "
           "VALUES (0, 'test', 'hold', '')")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
PYEOF
	holder=$!
	for _ in $(seq 100); do [ -e "$W/locked" ] && break; sleep 0.1; done
}
hold_lock 1
expect_exit 0 "$MLFS" cat --store "$S" c/r/hello.txt
expect_out '^hello$' "a reader reads while a writer holds the write lock"
# The tag waits for the holder (1 s) instead of failing at once.
expect_exit 0 "$MLFS" tag --store "$S" c/r waited
wait "$holder"
hold_lock 9
expect_exit 1 "$MLFS" tag --store "$S" c/r gave-up
expect_err '^mlfs: store is busy; try again' \
	"a tag gives up on a writer that holds the lock past the timeout"
expect_exit 0 "$MLFS" ls --store "$S" c/r
wait "$holder"

summary
