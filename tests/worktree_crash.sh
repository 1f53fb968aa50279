#!/bin/bash
# tests/worktree_crash.sh - crashes around working trees (issue 9):
# kill -9 of the mount daemon while writers write and fsync (every byte,
# file and rename acknowledged by fsync is there after umount + remount);
# kill -9 of `mlfs snapshot` at random moments, 20 times, with the mount
# stopped (the snapshot runs in the command) and then with it running
# (the command is only a client); kill -9 of the daemon in the middle of
# a snapshot it runs. After each kill: fsck exit 0, the previous head
# intact, the edits still there (mlfs status) or all in the new commit,
# and the next snapshot succeeds. Also the daemon killed again and again
# under an atomic-replace writer, and the state a snapshot killed between
# the store's commit and work.db's update leaves (made by hand), which
# status must read as committed.
#
# Known bug (2026-12-02, HEAD af86a77): kill -9 of the daemon under a
# program that replaces a file atomically in a loop (temp, fsync, rename,
# fsync dir) can leave the file's data file missing: EIO on read, fsck
# "damaged worktree", status and every snapshot fail. The replace-kill
# checks catch it (often at the first kills); the file is then dropped
# with discard so the rest of the suite still runs.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

ITER=${CRASH_ITER:-20}
EDIT_MIB=${CRASH_EDIT_MIB:-16}
SEED=${CRASH_SEED:-$(date +%s)}
RANDOM=$SEED
echo "   crash seed $SEED (CRASH_SEED=$SEED to replay), $ITER iterations"

mount_fixture
T() { timeout 60 "$@"; }
is() {
	local msg=$1
	shift
	if "$@"; then ok "$msg"; else fail "$msg"; fi
}
# alive PID: running (a zombie is not: it waits for init to reap it, which
# in some containers takes seconds, and holds no lock or file)
alive() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] &&
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
daemon_pid() { pgrep -f -- "mount $mnt\$" | head -n1; }
wait_gone() { # PID: until it exited (5 s at most)
	local i
	for i in $(seq 100); do
		alive "${1:-}" || return 0
		sleep 0.05
	done
	return 1
}
do_mount() { T "$MLFS" --store "$S" mount "$mnt"; }
do_umount() {
	local pid
	pid=$(daemon_pid)
	T "$MLFS" --store "$S" umount "$mnt" && wait_gone "$pid"
}
kill_daemon() {
	local pid
	pid=$(daemon_pid)
	[ -n "$pid" ] || return 1
	kill -9 "$pid" && wait_gone "$pid" || return 1
	T "$MLFS" --store "$S" umount "$mnt" >/dev/null 2>&1 ||
		umount -l "$mnt" 2>/dev/null
	! mountpoint -q "$mnt"
}
head_of() { resolve "$S" "$1"; }

# ---- fixture: a repository with a 4 MiB file to overwrite in place
src=$W/src
mkdir -p "$src"
gen random "$src/base.bin" --size-mib 4 --seed 5 >/dev/null
echo base >"$src/marker"
expect_exit 0 mlfs import -q "$src" crash/wt
check "mount" do_mount
B=$mnt/crash/wt
echo "   ${SECONDS}s: mounted"

# ---- kill -9 of the daemon while writers write and fsync
# Each writer prints one line per acknowledged fsync: "append END" (a new
# file, 64 KiB blocks whose bytes name their block), "files NAME" (a new
# small file, file and directory fsync'd), "replace N" (state.json
# atomically replaced: temp, fsync, rename, fsync dir), "over OFF" (a
# 64 KiB block of the imported base.bin overwritten).
cat >"$W/writer.py" <<'EOF'
import os, sys, time
B, what = sys.argv[1], sys.argv[2]
def block(i):
    return (b"%016d" % i) * 4096
def ack(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()
    # a little pause: the writers should not fill the disk while waiting
    time.sleep(0.002)
try:
    if what == "append":
        fd = os.open(os.path.join(B, "stream.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
        i = 0
        while True:
            os.write(fd, block(i))
            i += 1
            os.fsync(fd)
            ack("append %d" % (i * 65536))
    elif what == "files":
        os.makedirs(os.path.join(B, "many"), exist_ok=True)
        dfd = os.open(os.path.join(B, "many"), os.O_RDONLY | os.O_DIRECTORY)
        i = 0
        while True:
            fd = os.open(os.path.join(B, "many", "f%05d" % i),
                         os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"file %d\n" % i)
            os.fsync(fd)
            os.close(fd)
            os.fsync(dfd)
            ack("files f%05d" % i)
            i += 1
    elif what == "replace":
        dfd = os.open(B, os.O_RDONLY | os.O_DIRECTORY)
        i = 0
        while True:
            t = os.path.join(B, ".state.tmp")
            fd = os.open(t, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            os.write(fd, b'{"step": %d}\n' % i)
            os.fsync(fd)
            os.close(fd)
            os.rename(t, os.path.join(B, "state.json"))
            os.fsync(dfd)
            ack("replace %d" % i)
            i += 1
    elif what == "over":
        fd = os.open(os.path.join(B, "base.bin"), os.O_WRONLY)
        i = 0
        while True:
            off = (i * 7 % 64) * 65536
            os.pwrite(fd, block(1000000 + i), off)
            os.fsync(fd)
            ack("over %d %d" % (off, i))
            i += 1
except OSError as e:
    ack("stopped %s" % e.strerror)
EOF
pids=()
for w in append files replace over; do
	T "$PY" "$W/writer.py" "$B" "$w" >"$W/ack.$w" 2>&1 &
	pids+=($!)
done
# let them run until each acknowledged some work (at most 10 s)
for i in $(seq 200); do
	n=0
	for w in append files replace over; do
		[ "$(grep -c "^$w " "$W/ack.$w")" -ge 20 ] && n=$((n + 1))
	done
	[ $n -eq 4 ] && break
	sleep 0.05
done
is "the writers acknowledged fsyncs before the kill" test $n -eq 4
check "kill -9 of the daemon under the writers" kill_daemon
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
for w in append files replace over; do
	grep -q "^stopped" "$W/ack.$w" && ok "writer $w stopped on an error" ||
		fail "writer $w: $(tail -n1 "$W/ack.$w")"
done
check "mount after the kill" do_mount
"$PY" - "$B" "$W" "$src/base.bin" <<'EOF' >"$W/verify.out" 2>&1
import os, sys
B, W, base = sys.argv[1:4]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
def block(i):
    return (b"%016d" % i) * 4096
def acks(w):
    return [l.split() for l in open(os.path.join(W, "ack." + w)) if l.startswith(w + " ")]
end = int(acks("append")[-1][1])
data = open(os.path.join(B, "stream.bin"), "rb").read()
out(end > 0 and len(data) >= end, "stream.bin: %d bytes, %d acknowledged" % (len(data), end))
bad = [i for i in range(end // 65536) if data[i * 65536:(i + 1) * 65536] != block(i)]
out(not bad, "stream.bin: every acknowledged block intact (bad: %s)" % bad[:5])
names = [a[1] for a in acks("files")]
miss = [n for n in names if not os.path.exists(os.path.join(B, "many", n)) or
        open(os.path.join(B, "many", n), "rb").read() != b"file %d\n" % int(n[1:])]
out(names and not miss, "%d acknowledged new files there with their bytes (missing: %s)" %
    (len(names), miss[:5]))
last = int((acks("replace") or [[0, -1]])[-1][1])
try:
    st = open(os.path.join(B, "state.json"), "rb").read()
except OSError as e:
    st = repr(e).encode()
ok_state = st in (b'{"step": %d}\n' % last, b'{"step": %d}\n' % (last + 1))
out(last >= 0 and ok_state, "state.json: the last acknowledged replace or the next (%r, acked %d)" % (st, last))
want = bytearray(open(base, "rb").read())
ov = acks("over")
for _, off, i in ov:
    want[int(off):int(off) + 65536] = block(1000000 + int(i))
got = open(os.path.join(B, "base.bin"), "rb").read()
# the block after the last acknowledged one may or may not be there
n_last = len(ov)
nxt_off = (n_last * 7 % 64) * 65536
got_b = bytearray(got)
if got_b[nxt_off:nxt_off + 65536] == block(1000000 + n_last):
    got_b[nxt_off:nxt_off + 65536] = want[nxt_off:nxt_off + 65536]
out(ov and len(got) == len(want) and bytes(got_b) == bytes(want),
    "base.bin: every acknowledged overwrite there, the rest as imported")
print("DONE")
EOF
grep -E '^(ok|FAIL) - ' "$W/verify.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$W/verify.out")))
FAILED=$((FAILED + $(grep -c '^FAIL - ' "$W/verify.out")))
grep -q '^DONE$' "$W/verify.out" ||
	fail "verify block: $(tail -n3 "$W/verify.out" | tr '\n' ' ')"
expect_exit 0 mlfs status crash/wt
expect_out '^  A stream\.bin ' "status after the daemon kill: A stream.bin"
expect_out '^  M base\.bin ' "status after the daemon kill: M base.bin"
check "umount" do_umount
expect_exit 0 mlfs fsck
expect_exit 0 mlfs snapshot crash/wt -m "after the daemon kill"
h0=$(tr -d '[:space:]' <"$OUT_F")
is "snapshot after the daemon kill" is_hex32 "$h0"

# the atomic-replace writer alone, killed again and again: the file it
# replaces must read the last acknowledged step (or the next) after each
# kill, and fsck stay clean (known bug, 2026-12-02: within ~4-15 kills
# state.json's data file is missing: EIO on read, fsck "damaged
# worktree", status and every snapshot fail)
REPLACE_KILLS=${CRASH_REPLACE_KILLS:-20}
bad=0
for ((k = 1; k <= REPLACE_KILLS; k++)); do
	do_mount || { fail "replace kill $k: mount"; break; }
	T "$PY" "$W/writer.py" "$B" replace >"$W/ack.replace" 2>&1 &
	wp=$!
	for _ in $(seq 200); do
		[ "$(grep -c '^replace ' "$W/ack.replace")" -ge 5 ] && break
		sleep 0.01
	done
	sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
	kill_daemon || fail "replace kill $k: kill the daemon"
	wait "$wp" 2>/dev/null
	last=$(grep '^replace ' "$W/ack.replace" | tail -n1 | cut -d' ' -f2)
	if ! mlfs fsck >"$W/fsck" 2>&1; then
		fail "replace kill $k (acked step ${last:-none}): fsck: $(grep -m1 damaged "$W/fsck")"
		bad=1
		break
	fi
	do_mount || { fail "replace kill $k: mount again"; break; }
	got=$(cat "$B/state.json" 2>&1)
	do_umount
	if [ "$got" != "{\"step\": $last}" ] &&
		[ "$got" != "{\"step\": $((last + 1))}" ]; then
		fail "replace kill $k: state.json '$got', acked step $last"
		bad=1
		break
	fi
done
is "$REPLACE_KILLS kills under the atomic-replace writer: fsck clean, state.json acknowledged" \
	test $bad -eq 0
# a damaged state.json would block every snapshot below: drop it (and its
# temp file) so the rest of the suite runs
if [ $bad -ne 0 ]; then
	mountpoint -q "$mnt" && do_umount
	mlfs discard crash/wt state.json .state.tmp >/dev/null 2>&1 || {
		do_mount && rm -f "$B/state.json" "$B/.state.tmp"
		do_umount
	}
	mlfs fsck >/dev/null 2>&1 ||
		fail "the damaged state.json could not be dropped: $(mlfs fsck 2>&1 | grep -m1 damaged)"
fi
mountpoint -q "$mnt" && do_umount
mlfs snapshot crash/wt -m "after the replace kills" >/dev/null 2>&1 ||
	fail "snapshot after the replace kills: $(mlfs snapshot crash/wt 2>&1 | head -c 200)"
echo "   ${SECONDS}s: daemon kill checked"
# ---- kill -9 of mlfs snapshot at random moments
# edit N: rewrite two files through the mount (2 x EDIT_MIB MiB), marker
# says N
edit() {
	do_mount || return 1
	# fresh bytes each time (new chunks to compress and write), their
	# digest recorded below
	head -c "$EDIT_MIB"M /dev/urandom >"$B/r1.bin" &&
		head -c "$EDIT_MIB"M /dev/urandom >"$B/r2.bin" &&
		echo "iter $1" >"$B/marker" && rm -f "$B/deleted.$(($1 - 1))" &&
		echo "$1" >"$B/deleted.$1" || return 1
	sum_of[$1]=$(cat "$B/r1.bin" "$B/r2.bin" | md5sum | cut -c1-32)
	[ "${2:-}" = keep ] || do_umount
}
declare -A sum_of
# content_is REF N: the version holds edit N
content_is() {
	[ "$(mlfs cat "$1/marker" 2>/dev/null)" = "iter $2" ] &&
		[ "$( (mlfs cat "$1/r1.bin" && mlfs cat "$1/r2.bin") 2>/dev/null |
			md5sum | cut -c1-32)" = "${sum_of[$2]}" ] &&
		mlfs cat "$1/deleted.$2" >/dev/null 2>&1 &&
		! mlfs cat "$1/deleted.$(($2 - 1))" >/dev/null 2>&1
}

# calibrate: the time of one snapshot of such an edit (the faster of two)
SNAP_T=
for c in -1 0; do
	edit $c || fail "edit $c"
	t0=$(date +%s.%N)
	expect_exit 0 mlfs snapshot crash/wt -m "iter $c"
	t1=$(date +%s.%N)
	t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	SNAP_T=$(awk -v a="${SNAP_T:-$t}" -v b="$t" 'BEGIN { print (a < b ? a : b) }')
done
echo "   snapshot of $((2 * EDIT_MIB)) MiB of edits: ${SNAP_T}s"
prev=$(head_of crash/wt)
is "calibration snapshot holds edit 0" content_is "crash/wt@$prev" 0

# one_kill I MODE: edit, start the snapshot, kill -9 it after a random
# part of 1.1 x its time, then check. MODE "stopped": no mount (the
# command snapshots); "client": mount running (the daemon snapshots, the
# command is its client); "daemon": mount running, the daemon is killed.
killed=0
late=0
fsck_bad=0
one_kill() {
	local i=$1 mode=$2 delay pid rc h
	if [ "$mode" = stopped ]; then
		edit "$i" || { fail "iteration $i: edit"; return; }
	else
		edit "$i" keep || { fail "iteration $i: edit"; return; }
	fi
	delay=$(awk -v t="$SNAP_T" -v r=$RANDOM \
		'BEGIN { printf "%.3f", t * 1.1 * r / 32767 }')
	"$MLFS" --store "$S" snapshot crash/wt -m "iter $i" >"$W/out" \
		2>"$W/err" &
	pid=$!
	sleep "$delay"
	if [ "$mode" = daemon ]; then
		kill_daemon || fail "iteration $i: kill the daemon"
		{ wait "$pid"; } 2>/dev/null
		rc=$?
	else
		kill -9 "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		rc=$?
		# the daemon finishes or drops the snapshot it was asked for
		# on its own: give it the time of one snapshot
		[ "$mode" = client ] && sleep "$SNAP_T"
		[ "$mode" = client ] && { do_umount ||
			fail "iteration $i: umount after the client kill"; }
	fi
	[ $rc -eq 137 ] && killed=$((killed + 1))
	if ! mlfs fsck >"$W/fsck" 2>&1; then
		fsck_bad=$((fsck_bad + 1))
		fail "iteration $i ($mode, ${delay}s, rc $rc): fsck: $(head -c 300 "$W/fsck")"
	fi
	h=$(head_of crash/wt)
	if [ "$h" = "$prev" ]; then
		# not committed: the previous head intact, the edits pending
		content_is "crash/wt@$prev" $((i - 1)) ||
			fail "iteration $i ($mode): the previous head changed"
		mlfs status crash/wt >"$W/st" 2>&1
		grep -q '^  M marker ' "$W/st" ||
			fail "iteration $i ($mode): edits gone from status: $(head -c 200 "$W/st")"
		if mlfs snapshot crash/wt -m "iter $i" >"$W/out" 2>"$W/err"; then
			h=$(tr -d '[:space:]' <"$W/out")
		else
			fail "iteration $i ($mode): next snapshot: $(head -c 300 "$W/err")"
			return
		fi
	else
		late=$((late + 1))
		# Known bug (worktree_crash.sh, 2026-12-02): when the kill came
		# after the commit landed, a read-only status shows the edits
		# and "the branch moved" until a command opens the working
		# trees for editing and completes the pending snapshot.
		mlfs status crash/wt >"$W/st" 2>&1
		grep -q "no changes" "$W/st" ||
			fail "iteration $i ($mode): committed, yet status: $(head -c 200 "$W/st")"
		mlfs snapshot crash/wt >"$W/out" 2>"$W/err"
		grep -q "^nothing to snapshot" "$W/out" ||
			fail "iteration $i ($mode): snapshot after a committed one: $(cat "$W/out" "$W/err" | head -c 200)"
	fi
	content_is "crash/wt@$h" "$i" ||
		fail "iteration $i ($mode): the new head does not hold edit $i"
	[ "$(mlfs show crash/wt@$h --json 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
p = d.get("parent") or (d.get("parents") or [None])[0]
print(p.get("id") if isinstance(p, dict) else p)')" = "$prev" ] ||
		fail "iteration $i ($mode): the new head's parent is not the previous head"
	prev=$h
}

for ((i = 1; i <= ITER; i++)); do
	one_kill "$i" stopped
done
echo "   stopped mount: $killed of $ITER snapshots killed, $late committed before the kill"
is "fsck exit 0 after each of the $ITER kills" test $fsck_bad -eq 0
is "most snapshots were really killed ($killed of $ITER)" \
	test $killed -ge $((ITER / 2))
echo "   ${SECONDS}s: stopped-mount kills done"
k0=$killed
l0=$late
for ((i = ITER + 1; i <= ITER + 3; i++)); do
	one_kill "$i" client
done
echo "   running mount, client killed: $((killed - k0)) of 3 killed, $((late - l0)) committed"
k0=$killed
l0=$late
for ((i = ITER + 4; i <= ITER + 6; i++)); do
	one_kill "$i" daemon
done
echo "   daemon killed mid-snapshot: $((late - l0)) of 3 committed"
is "fsck exit 0 after every kill" test $fsck_bad -eq 0

# ---- the state of a snapshot killed between the store's commit and
# work.db's update, made by hand: work.db as it was before the snapshot,
# with the pending marker naming the commit the branch now points at.
# Read-only commands (status) must see it as committed, as the next
# editing open makes it (known bug, 2026-12-02: status shows the edits
# and "the branch moved ... a snapshot is refused").
check "mount for the marker case" do_mount
echo "marker case" >"$B/marker"
check "umount" do_umount
cp -a "$S/work" "$W/work.before"
expect_exit 0 mlfs snapshot crash/wt -m "marker case"
cm=$(tr -d '[:space:]' <"$OUT_F")
rm -rf "$S/work" && cp -a "$W/work.before" "$S/work"
check "set the pending marker" "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE wt SET pending = ? WHERE pending IS NULL AND id IN "
               "(SELECT id FROM wt)", (bytes.fromhex(sys.argv[2]),)).rowcount
db.commit()
sys.exit(0 if n >= 1 else 1)' "$S/work/work.db" "$cm"
expect_exit 0 mlfs status crash/wt
is "status of a committed pending snapshot: no changes" \
	test "$(cat "$OUT_F")" = "$(printf 'crash/wt:\n  no changes')"
expect_exit 0 mlfs status
expect_out "no working tree has changes" \
	"status of every branch: none with changes"
expect_exit 0 mlfs fsck
expect_exit 0 mlfs snapshot crash/wt
expect_out "^nothing to snapshot" "the next snapshot: nothing to snapshot"
expect_exit 0 mlfs status crash/wt
expect_out "no changes" "status after it: no changes"

# the store after all of that
expect_exit 0 mlfs fsck --read-data
expect_exit 0 mlfs log crash/wt --json
json_ok "log: the $((ITER + 6)) iterations' commits, each once, then the marker case" \
	"d[0]['message'] == 'marker case' and sorted(c['message'] for c in d
	if c['message'].startswith('iter ')) == sorted('iter %d' % i for i in
	range(-1, $((ITER + 7))))"
# under ASan/UBSan the daemon reports into its log
if grep -q 'Sanitizer\|runtime error' "$S/mount.log" 2>/dev/null; then
	fail "the daemon's log has a sanitizer report: $(grep -m1 'Sanitizer\|runtime error' "$S/mount.log")"
else
	ok "no sanitizer report in the daemon's log"
fi
summary
