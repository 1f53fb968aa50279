#!/bin/bash
# tests/lineage.sh - lineage recorded by the mount (docs/lineage.md), for
# real through FUSE: a job (a process group) that reads data/train@v1 and
# writes a model makes `mlfs snapshot` record exactly v1 (file count and
# bytes), not data/train@v2 read at the same time by a process started
# with setsid; a shell script with a reader child and a writer child is
# one job; a job's reads of the branch it writes are not inputs;
# --input by hand on snapshot and import; two levels (data -> features ->
# model) up and --downstream; --depth; --json; mlfs run of a Python
# training job (its inputs, its metadata, a failing and a killed job,
# bad flags before the job, no mount); -o nolineage records nothing; bad
# input is exit 2 (or 1) with nothing written; a damaged inputs row is
# named by lineage and by fsck.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# Lineage counts the bytes that reach the mount; the page cache answers
# repeated reads itself (docs/lineage.md#bytes): a job whose bytes are
# checked reads from a cold cache.
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }

mount_fixture
T() { timeout 60 "$@"; }

# Fixtures: data/train v1 (a.bin 10000 B, b.bin 5000 B) and v2 (another
# a.bin, 7000 B, and c.bin 3000 B); empty-ish repositories for outputs.
"$PY" - "$W" <<'EOF'
import os, random, sys
w = sys.argv[1]
def put(path, n, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(random.Random(seed).randbytes(n))
put(w + "/v1/a.bin", 10000, 1)
put(w + "/v1/b.bin", 5000, 2)
put(w + "/v2/a.bin", 7000, 3)
put(w + "/v2/c.bin", 3000, 4)
for r in ("m", "feat", "m2", "sh", "own", "imp", "nol"):
    put(w + "/seed-%s/README" % r, 10, r)
EOF
mlfs import -q -t v1 "$W/v1" data/train >/dev/null || fail "import v1"
mlfs import -q -t v2 "$W/v2" data/train >/dev/null || fail "import v2"
for r in m m2 sh own nol; do
	mlfs import -q "$W/seed-$r" models/$r >/dev/null || fail "import $r"
done
mlfs import -q "$W/seed-feat" data/feat >/dev/null || fail "import feat"
V1=$(resolve "$S" data/train@v1)
V2=$(resolve "$S" data/train@v2)
is_hex32 "$V1" && is_hex32 "$V2" || fail "resolve v1/v2"

T "$MLFS" --store "$S" mount "$mnt" || { fail "mount"; summary; }

# A job: read the files given, write OUT with their bytes (python).
cat >"$W/job.py" <<'EOF'
import sys
out, ins = sys.argv[1], sys.argv[2:]
data = b"".join(open(p, "rb").read() for p in ins)
with open(out, "wb") as f:
    f.write(data)
EOF
# A reader that keeps reading until its stop file appears.
cat >"$W/reader.py" <<'EOF'
import os, sys, time
stop, ins = sys.argv[1], sys.argv[2:]
open(stop + ".started", "w").close()
while not os.path.exists(stop):
    for p in ins:
        open(p, "rb").read()
    time.sleep(0.01)
EOF

# inputs REF: "repo commit files bytes how" per input (lineage --json).
inputs() {
	mlfs lineage --json "$1" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for i in d["inputs"]:
    print(i["repo"], i["commit"], i["files"], i["bytes"], i["how"])'
}

# ---- a job and a concurrent setsid reader of another version ----
rm -f "$W/stop" "$W/stop.started"
setsid "$PY" "$W/reader.py" "$W/stop" "$mnt/data/train@v2/a.bin" \
	"$mnt/data/train@v2/c.bin" &
rpid=$!
for _ in $(seq 200); do [ -e "$W/stop.started" ] && break; sleep 0.05; done
cold
T setsid -w "$PY" "$W/job.py" "$mnt/models/m/model.bin" \
	"$mnt/data/train@v1/a.bin" "$mnt/data/train@v1/b.bin" ||
	fail "the job ran"
# the reader goes on past the snapshot
run mlfs snapshot -t v1 models/m
[ "$RC" -eq 0 ] && ok "snapshot of the job's output" ||
	{ fail "snapshot (exit $RC)"; show_last; }
expect_err '^inputs: 1 version\(s\) recorded' "snapshot says one input"
touch "$W/stop"
wait "$rpid"
got=$(inputs models/m@v1)
want="data/train $V1 2 15000 mount"
[ "$got" = "$want" ] && ok "lineage: exactly data/train@v1, 2 files, 15000 bytes" ||
	fail "lineage: got '$got', want '$want'"
case $got in *"$V2"*) fail "lineage names v2, read by another job" ;;
*) ok "lineage does not name v2 (read by a setsid process)" ;; esac


expect_exit 0 mlfs lineage models/m@v1
want_text="models/m ${S:+}"
if "$PY" - "$OUT_F" "$V1" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
v1 = sys.argv[2]
assert len(lines) == 2, lines
assert re.fullmatch(r"models/m [0-9a-f]{12} \[main v1\]", lines[0]), lines
assert lines[1] == "  data/train %s [v1] 2 file(s), 15000 byte(s), mount" % v1[:12], lines
EOF
then ok "lineage text: root line, then the input indented"
else fail "lineage text"; show_last; fi

mlfs alias data/train@v1 prod >/dev/null || fail "alias prod"
expect_exit 0 mlfs lineage models/m@v1
grep -q "^  data/train ${V1:0:12} \[v1 alias:prod\] " "$OUT_F" &&
	ok "lineage shows an alias at the input" || { fail "alias shown"; show_last; }
expect_exit 0 mlfs lineage --json models/m@v1
M1=$(resolve "$S" models/m@v1)
json_ok "lineage --json: exact fields" \
	"d == {'repo': 'models/m', 'commit': '$M1', 'branches': ['main'], 'tags': ['v1'], 'aliases': [], 'cycle': False, 'truncated': False, 'inputs': [{'repo': 'data/train', 'commit': '$V1', 'branches': [], 'tags': ['v1'], 'aliases': ['prod'], 'files': 2, 'bytes': 15000, 'how': 'mount', 'cycle': False, 'truncated': False, 'inputs': []}]}"

# ---- a shell script with a reader child and a writer child: one job ----
cat >"$W/job.sh" <<EOF
cat "$mnt/data/train@v2/c.bin" >/dev/null &
wait
"$PY" -c 'open("$mnt/models/sh/out.bin", "wb").write(b"x" * 100)' &
wait
EOF
cold
T setsid -w bash "$W/job.sh" || fail "the script ran"
run mlfs snapshot -t s1 models/sh
[ "$RC" -eq 0 ] || { fail "snapshot sh (exit $RC)"; show_last; }
got=$(inputs models/sh@s1)
want="data/train $V2 1 3000 mount"
[ "$got" = "$want" ] && ok "a script's reader and writer children are one job" ||
	fail "script job: got '$got', want '$want'"

# ---- a job's reads of the branch it writes are its parent, not input ----
cold
T setsid -w "$PY" "$W/job.py" "$mnt/models/own/copy" \
	"$mnt/models/own/README" "$mnt/data/train@v1/b.bin" || fail "own job"
run mlfs snapshot -t o1 models/own
got=$(inputs models/own@o1)
want="data/train $V1 1 5000 mount"
[ "$got" = "$want" ] && ok "reads of the written branch's head are not inputs" ||
	fail "own branch: got '$got', want '$want'"

# ---- two levels: data -> features -> model; --downstream; --depth ----
cold
T setsid -w "$PY" "$W/job.py" "$mnt/data/feat/f.bin" \
	"$mnt/data/train@v1/a.bin" || fail "feature job"
run mlfs snapshot -t f1 data/feat
cold
T setsid -w "$PY" "$W/job.py" "$mnt/models/m2/model.bin" \
	"$mnt/data/feat@f1/f.bin" || fail "model job"
run mlfs snapshot -t m1 models/m2
F1=$(resolve "$S" data/feat@f1)
expect_exit 0 mlfs lineage models/m2@m1
if "$PY" - "$OUT_F" "$F1" "$V1" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
f1, v1 = sys.argv[2], sys.argv[3]
assert len(lines) == 3, lines
assert lines[1] == "  data/feat %s [main f1] 1 file(s), 10000 byte(s), mount" % f1[:12], lines
assert lines[2] == "    data/train %s [v1 alias:prod] 1 file(s), 10000 byte(s), mount" % v1[:12], lines
EOF
then ok "lineage two levels deep: model <- features <- data"
else fail "lineage two levels"; show_last; fi
expect_exit 0 mlfs lineage --depth 1 models/m2@m1
if [ "$(wc -l <"$OUT_F")" -eq 2 ] && grep -q "^  data/feat .*(more below --depth)$" "$OUT_F"; then
	ok "--depth 1 stops after one level and says so"
else fail "--depth 1"; show_last; fi

expect_exit 0 mlfs lineage --downstream --json data/train@v1
json_ok "--downstream finds the model, the features and the model made from them" \
	"sorted((k['repo'], sorted(g['repo'] for g in k['used_by'])) for k in d['used_by']) == [('data/feat', ['models/m2']), ('models/m', []), ('models/own', [])]"
expect_exit 0 mlfs lineage --downstream data/train@v2
grep -q "^  models/sh " "$OUT_F" && ! grep -q "models/m " "$OUT_F" &&
	ok "--downstream of v2: only what read v2" ||
	{ fail "--downstream v2"; show_last; }

# ---- by hand: snapshot --input, import --input ----
echo extra >"$mnt/models/m/notes.txt"
expect_exit 0 mlfs snapshot --input data/train@v2 --input data/feat@f1 -t v2 models/m
got=$(inputs models/m@v2 | sort)
want=$(printf '%s\n' "data/feat $F1 0 0 manual" "data/train $V2 0 0 manual" | sort)
[ "$got" = "$want" ] && ok "snapshot --input records both, how manual" ||
	fail "snapshot --input: got '$got', want '$want'"
expect_exit 0 mlfs import -q --input data/train@v1 "$W/v2" data/imp
got=$(inputs data/imp)
[ "$got" = "data/train $V1 0 0 manual" ] && ok "import --input" ||
	fail "import --input: got '$got'"

# ---- bad input: exit 2 or 1, nothing written ----
echo more >"$mnt/models/m/more.txt"
before=$(mlfs log models/m | grep -c '^commit ')
expect_exit 2 mlfs snapshot --input 'data/train@v1@x' models/m
expect_exit 1 mlfs snapshot --input data/nope@v1 models/m
expect_err "no repository 'data/nope'" "unknown input repository named"
expect_exit 1 mlfs snapshot --input data/train@v9 models/m
expect_exit 1 mlfs import -q --input data/train@v9 "$W/v1" data/imp2
after=$(mlfs log models/m | grep -c '^commit ')
[ "$before" = "$after" ] && ok "bad --input: no commit made" ||
	fail "bad --input made a commit ($before -> $after)"
expect_exit 0 mlfs status models/m
expect_out "more.txt" "bad --input: the edits are kept"
expect_exit 1 mlfs log data/imp2
expect_exit 2 mlfs lineage --depth 0 models/m@v1
expect_exit 2 mlfs lineage --depth x models/m@v1
expect_exit 2 mlfs lineage
expect_exit 1 mlfs lineage models/m@nope
expect_exit 0 mlfs snapshot models/m

# ---- mlfs run: a training job in Python, one concurrent setsid reader ----
mlfs import -q "$W/seed-m" models/r >/dev/null || fail "import r"
cat >"$W/train.py" <<EOF
import json, sys
data = open("$mnt/data/train@v1/a.bin", "rb").read()
data += open("$mnt/data/train@v1/b.bin", "rb").read()
tail = sys.argv[1].encode() if len(sys.argv) > 1 else b""
open("$mnt/models/r/model.bin", "wb").write(data[::-1] + tail)
json.dump({"auc": 0.93, "loss": 1.5e-2}, open("$W/metrics.json", "w"))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
EOF
rm -f "$W/stop" "$W/stop.started"
setsid "$PY" "$W/reader.py" "$W/stop" "$mnt/data/train@v2/a.bin" \
	"$mnt/data/train@v2/c.bin" &
rpid=$!
for _ in $(seq 200); do [ -e "$W/stop.started" ] && break; sleep 0.05; done
cold
expect_exit 0 T "$MLFS" --store "$S" run --out models/r -t v1 -m "retrain" \
	--meta owner=ana --metrics "$W/metrics.json" -- "$PY" "$W/train.py"
R1=$(resolve "$S" models/r@v1)
[ "$(cat "$OUT_F")" = "models/r $R1" ] && ok "run prints the --out and its new commit" ||
	{ fail "run output"; show_last; }
touch "$W/stop"
wait "$rpid"
got=$(inputs models/r@v1)
want="data/train $V1 2 15000 mount"
[ "$got" = "$want" ] && ok "run: lineage is exactly data/train@v1, 2 files, 15000 bytes" ||
	fail "run lineage: got '$got', want '$want'"
expect_exit 0 mlfs lineage --downstream data/train@v1
grep -q "^  models/r ${R1:0:12} \[main v1\] 2 file(s), 15000 byte(s), mount$" "$OUT_F" &&
	ok "--downstream data/train@v1 finds models/r@v1" ||
	{ fail "--downstream finds the run's model"; show_last; }
expect_exit 0 mlfs meta --json models/r@v1
json_ok "run: metadata (run.*, --meta, --metrics)" \
	"sorted(d['meta']) == ['auc', 'loss', 'owner', 'run.command', 'run.duration_s', 'run.exit', 'run.host', 'run.start', 'run.user'] and d['meta']['run.command'] == '$PY $W/train.py' and d['meta']['run.exit'] == '0' and d['meta']['owner'] == 'ana' and d['meta']['auc'] == '0.93' and d['meta']['loss'] == '0.015' and d['meta']['run.user'] == '$(id -un)' and d['meta']['run.host'] == '$(hostname)' and float(d['meta']['run.duration_s']) >= 0 and d['meta']['run.start'].endswith('Z') and len(d['meta']['run.start']) == 20"
mlfs log models/r@v1 | grep -q "^    retrain$" && ok "run: -m is the message" ||
	fail "run: commit message"

# a job that fails: its status, no commit, the edits kept
before=$(mlfs log models/r | grep -c '^commit ')
expect_exit 3 T "$MLFS" --store "$S" run --out models/r -t v2 -- "$PY" "$W/train.py" 3
expect_err "exited with status 3; nothing snapshotted, the edits are kept" "run says the job failed"
after=$(mlfs log models/r | grep -c '^commit ')
[ "$before" = "$after" ] && ok "failed job: no commit" || fail "failed job made a commit"
expect_exit 0 mlfs status models/r
expect_out "model.bin" "failed job: its edits are kept (mlfs status)"
expect_exit 143 T "$MLFS" --store "$S" run --out models/r -- sh -c 'kill -TERM $$'
expect_err "killed by signal 15" "run says the job was killed"
# SIGTERM to mlfs run goes to the job's group
cold
"$MLFS" --store "$S" run --out models/r -- sleep 30 >/dev/null 2>&1 &
rp=$!
for _ in $(seq 100); do pgrep -P "$rp" -x sleep >/dev/null && break; sleep 0.05; done
kill -TERM "$rp"
wait "$rp"
rc=$?
[ "$rc" = 143 ] && ok "SIGTERM to mlfs run reaches the job (exit 143)" ||
	fail "SIGTERM forwarded: exit $rc, want 143"
# on a terminal: the job has the foreground, Ctrl-Z stops it and mlfs
# run both, fg continues them, Ctrl-C reaches the job (exit 130)
T "$PY" - "$MLFS" "$S" <<'EOF' >"$W/tty.out" 2>&1
import os, pty, signal, sys, time
mlfs, store = sys.argv[1:3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(mlfs, [mlfs, "--store", store, "run", "--out", "models/r",
                    "--", "sleep", "30"])
def fg():
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return -1
def comm(p):
    try:
        return open("/proc/%d/comm" % p).read().strip()
    except OSError:
        return ""
def until(cond):
    end = time.time() + 10
    while time.time() < end and not cond():
        time.sleep(0.05)
    return cond()
# the job has the terminal and runs CMD (not mlfs code before exec)
print("job-has-tty", until(lambda: fg() not in (-1, pid) and comm(fg()) == "sleep"))
job = fg()
os.write(fd, b"\x1a")                   # Ctrl-Z
_, st = os.waitpid(pid, os.WUNTRACED)
print("run-stopped", os.WIFSTOPPED(st))
os.kill(pid, signal.SIGCONT)            # what fg does
print("job-has-tty-again", until(lambda: fg() == job))
os.write(fd, b"\x03")                   # Ctrl-C
_, st = os.waitpid(pid, 0)
print("exit", os.WEXITSTATUS(st) if os.WIFEXITED(st) else -1)
EOF
for want in "job-has-tty True" "run-stopped True" "job-has-tty-again True" "exit 130"; do
	grep -qx "$want" "$W/tty.out" && ok "run on a terminal: $want" ||
		{ fail "run on a terminal: $want ($(tr '\n' ' ' <"$W/tty.out" | tr -d '\r' | head -c 300))"; }
done
expect_exit 0 mlfs discard models/r

# bad flags: exit 2 (or 1), CMD never runs
rm -f "$W/ran"
expect_exit 2 mlfs run --meta 'a b=1' --out models/r -- touch "$W/ran"
expect_exit 2 mlfs run -t 'bad tag' --out models/r -- touch "$W/ran"
expect_exit 2 mlfs run --out models/r
expect_exit 2 mlfs run --out 'models/r@{yesterday}' -- touch "$W/ran"
expect_exit 1 mlfs run --out models/nope -- touch "$W/ran"
expect_err "no repository 'models/nope'" "run: unknown --out named"
expect_exit 1 mlfs run --out models/r@v1 -- touch "$W/ran"
expect_err "names a tag" "run: a tag is not a branch"
expect_exit 1 mlfs run --out models/r -t v1 -- touch "$W/ran"
expect_err "tag 'v1' already exists in 'models/r'" "run: an existing tag, before the job"
[ ! -e "$W/ran" ] && ok "bad flags: the command never ran" || fail "the command ran"

# the same files again, by a new job, from the page cache the first one
# filled (recording keeps it): the version and files are exact, the
# bytes are what reached the mount
mkdir "$mnt/models/warm"
cat "$mnt/data/train@v1/a.bin" "$mnt/data/train@v1/b.bin" >/dev/null
T setsid -w "$PY" "$W/job.py" "$mnt/models/warm/model.bin" \
	"$mnt/data/train@v1/a.bin" "$mnt/data/train@v1/b.bin" ||
	fail "the warm job ran"
expect_exit 0 mlfs snapshot -t w1 models/warm
got=$(inputs models/warm@w1)
case $got in
"data/train $V1 2 "*" mount")
	b=${got#"data/train $V1 2 "}
	b=${b%" mount"}
	[ "$b" -ge 0 ] && [ "$b" -le 15000 ] &&
		ok "a warm job: data/train@v1, 2 files, $b of 15000 bytes through the mount" ||
		fail "a warm job: bytes $b" ;;
*) fail "a warm job: got '$got'" ;;
esac

# ---- -o nolineage records nothing ----
T "$MLFS" --store "$S" umount "$mnt" || fail "umount"
sleep 0.2
T "$MLFS" --store "$S" mount -o nolineage "$mnt" || fail "mount -o nolineage"
cold
T setsid -w "$PY" "$W/job.py" "$mnt/models/nol/model.bin" \
	"$mnt/data/train@v1/a.bin" || fail "nolineage job"
expect_exit 0 mlfs snapshot -t n1 models/nol
got=$(inputs models/nol@n1)
[ -z "$got" ] && ok "-o nolineage: no inputs recorded" ||
	fail "-o nolineage recorded '$got'"
rm -f "$W/ran"
expect_exit 1 mlfs run --out models/r -- touch "$W/ran"
expect_err "records no lineage" "run refuses a -o nolineage mount"
T "$MLFS" --store "$S" umount "$mnt" || fail "umount"
sleep 0.2
expect_exit 1 mlfs run --out models/r -- touch "$W/ran"
expect_err "the store is not mounted" "run without the mount says so"
[ ! -e "$W/ran" ] && ok "no mount: the command never ran" || fail "the command ran"

# ---- a damaged inputs row ----
expect_exit 0 mlfs fsck
"$PY" - "$S/mlfs.db" "$M1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE inputs SET bytes = bytes + 1 WHERE commit_id = ?",
               (bytes.fromhex(sys.argv[2]),)).rowcount
db.commit()
assert n == 1, n
EOF
expect_exit 1 mlfs lineage models/m@v1
expect_err "inputs row of commit $M1, input $V1: its fields do not match its check value \(damaged database\)" \
	"lineage names the damaged row"
expect_exit 1 mlfs fsck
expect_out "input" "fsck reports the damaged inputs row"
grep -q "$M1" "$OUT_F" "$ERR_F" && ok "fsck names the commit of the row" ||
	{ fail "fsck names the commit"; show_last; }

summary
