#!/bin/bash
# tests/worktree_open.sh - working trees under concurrent use through the
# mount: mlfs discard of a file that a process holds open for writing
# (the handle writes on into an orphan no reader sees; readers in other
# processes see the head's bytes at once, page cache and size included),
# mlfs status of entries renamed after a snapshot (R, not D + A; a copy
# of a deleted file is not a rename), and edits through the mount while a
# snapshot reads a large file (they do not wait for it; what they change
# stays in the working tree for the next snapshot).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

mount_fixture
T() { timeout 60 "$@"; }
# is MSG cmd...: like check, but leaves $OUT_F / $ERR_F / $RC alone
is() {
	local msg=$1
	shift
	if "$@"; then ok "$msg"; else fail "$msg"; fi
}

# pyrun: a python check block (stdin, args after), count its ok/FAIL lines
pyrun() {
	local out
	out=$(T "$PY" - "$@" 2>&1)
	echo "$out" | grep -E '^(ok|FAIL|SKIP) - '
	PASSED=$((PASSED + $(echo "$out" | grep -c '^ok - ')))
	FAILED=$((FAILED + $(echo "$out" | grep -c '^FAIL - ')))
	if ! echo "$out" | grep -q '^DONE$'; then
		fail "python block did not finish: $(echo "$out" | tail -n3)"
	fi
}

src=$W/src
mkdir -p "$src/sub"
# 64 KiB of the head's bytes: whole pages, so that a writer's pages are
# complete in the kernel's page cache
"$PY" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 256)' \
	>"$src/f.bin"
printf 'other\n' >"$src/sub/o.txt"
expect_exit 0 mlfs import -q "$src" t/r
D=$mnt/t/r

# discard_open MODE: a file held open for writing through a mount in MODE
# (the kernel's page cache through the daemon, or passthrough where the
# kernel offers it)
discard_open() {
pyrun "$D" "$MLFS" "$S" "$src/f.bin" "$1" <<'EOF'
import os, subprocess, sys
D, MLFS, S, HEAD, MODE = sys.argv[1:6]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + MODE + ": " + name)
head = open(HEAD, "rb").read()
p = os.path.join(D, "f.bin")
def reader():
    # another process, as a reader in another job would be
    r = subprocess.run(["cat", p], capture_output=True)
    return r.stdout
def size():
    r = subprocess.run(["stat", "-c", "%s", p], capture_output=True, text=True)
    return r.stdout.strip()
w = os.open(p, os.O_RDWR)
os.pwrite(w, b"A" * 65536, 0)
out(reader() == b"A" * 65536, "before the discard a reader sees the write")
r = subprocess.run([MLFS, "--store", S, "discard", "t/r"],
                   capture_output=True, text=True)
out(r.returncode == 0, "discard with a writer holding f.bin: exit 0 (%s)"
    % r.stderr.strip()[:200])
out(reader() == head, "right after the discard a reader sees the head's bytes")
# the writer goes on: whole pages, and past the end
os.pwrite(w, b"B" * 65536, 0)
os.pwrite(w, b"C" * 8192, 65536)
os.fsync(w)
got = reader()
out(got == head, "after the writer's later writes a reader still sees the "
    "head's bytes exactly (%d bytes, %r...)" % (len(got), got[:8]))
out(size() == str(len(head)), "stat of the path: the head's size (%s)" % size())
fd = os.open(p, os.O_RDONLY)
got = os.pread(fd, 200000, 0)
os.close(fd)
out(got == head, "an open after the writes reads the head's bytes")
# the writer's own handle keeps what it wrote (an orphan, as after unlink)
mine = os.pread(w, 200000, 0)
out(mine == b"B" * 65536 + b"C" * 8192,
    "the writer reads back its own writes (%d bytes)" % len(mine))
st = os.fstat(w)
out(st.st_size == 65536 + 8192, "fstat of the writer's handle: its size (%d)"
    % st.st_size)
os.ftruncate(w, 100)
out(size() == str(len(head)), "the writer's ftruncate does not reach the path")
os.close(w)
out(reader() == head, "after the writer's close: the head's bytes")
r = subprocess.run([MLFS, "--store", S, "status", "t/r"],
                   capture_output=True, text=True)
out(r.returncode == 0 and "no changes" in r.stdout,
    "status after the writer closed: no changes (%s)" % r.stdout.strip()[:200])
# a second writer after the discard edits the path itself
w2 = os.open(p, os.O_WRONLY)
os.pwrite(w2, b"D" * 10, 0)
os.close(w2)
out(reader() == b"D" * 10 + head[10:], "a new writer after the discard edits the path")
print("DONE")
EOF
expect_exit 0 mlfs status t/r
expect_out '^  M f\.bin ' "$1: status: M f.bin (the new writer's edit)"
check "$1: discard one path" mlfs discard t/r f.bin
check "$1: f.bin is the head's again" cmp "$D/f.bin" "$src/f.bin"

# one path held open for writing, a new file
pyrun "$D" "$MLFS" "$S" "$1" <<'EOF'
import os, subprocess, sys
D, MLFS, S, MODE = sys.argv[1:5]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + MODE + ": " + name)
p = os.path.join(D, "sub", "new.bin")
w = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(w, b"N" * 4096, 0)
r = subprocess.run([MLFS, "--store", S, "discard", "t/r", "sub/new.bin"],
                   capture_output=True, text=True)
out(r.returncode == 0, "discard sub/new.bin while it is open: exit 0 (%s)"
    % r.stderr.strip()[:200])
out(not os.path.exists(p), "sub/new.bin is gone for other processes")
os.pwrite(w, b"M" * 4096, 4096)
out(not os.path.exists(p), "and stays gone after the writer's next write")
out(sorted(os.listdir(os.path.join(D, "sub"))) == ["o.txt"],
    "sub lists only o.txt")
out(os.pread(w, 10000, 0) == b"N" * 4096 + b"M" * 4096,
    "the writer reads back its orphan")
os.close(w)
print("DONE")
EOF
expect_exit 0 mlfs status t/r
expect_out "no changes" "$1: status after discarding the new file: no changes"
}

# ---- discard of a file held open for writing, both I/O modes
check "mount" T "$MLFS" --store "$S" mount "$mnt"
discard_open default
check "umount" T "$MLFS" --store "$S" umount "$mnt"
check "mount without passthrough" \
	env MLFS_NO_PASSTHROUGH=1 timeout 60 "$MLFS" --store "$S" mount "$mnt"
discard_open no-passthrough
# ---- status after a snapshot: what was made before it and moved after
# it is a rename (before, its "new" inode number made it D + A); a copy of
# a deleted file is no rename
check "make n.txt and nd/x through the mount" bash -c "
	echo made >'$D/n.txt' && mkdir '$D/nd' && echo x >'$D/nd/x'"
expect_exit 0 mlfs snapshot t/r -m "made"
check "mv n.txt m.txt, mv nd/x top.txt, cp sub/o.txt o2.txt, rm sub/o.txt" \
	bash -c "mv '$D/n.txt' '$D/m.txt' && mv '$D/nd/x' '$D/top.txt' &&
		cp '$D/sub/o.txt' '$D/o2.txt' && rm '$D/sub/o.txt'"
expect_exit 0 mlfs status t/r
expect_out '^  R n\.txt -> m\.txt' "status: R n.txt -> m.txt"
expect_out '^  R nd/x -> top\.txt' "status: R nd/x -> top.txt"
expect_out '^  A o2\.txt' "status: the copy is A o2.txt"
expect_out '^  D sub/o\.txt' "status: and the original D sub/o.txt"
check "no other line" test "$(grep -c '^  [A-Z] ' "$OUT_F")" -eq 4
expect_exit 0 mlfs snapshot t/r -m "moved"
expect_exit 0 mlfs cat t/r/m.txt
check "the snapshot holds m.txt" test "$(cat "$OUT_F")" = made

check "umount" T "$MLFS" --store "$S" umount "$mnt"

# ---- edits through the mount while a snapshot reads a large file: they
# do not wait for it (before, the snapshot held the working trees' lock
# for its whole ingest), and what they change stays for the next one. The
# daemon pauses the snapshot where it starts reading, with the lock
# released (MLFS_TEST_SNAPSHOT_PAUSE: a FIFO it waits on).
P=$W/pause
mkfifo "$P"
check "mount with the snapshot pause" \
	env MLFS_TEST_SNAPSHOT_PAUSE="$P" timeout 60 "$MLFS" --store "$S" \
	mount "$mnt"
at_exit "timeout 5 bash -c 'echo >\"$P\"'"
check "write a 48 MiB file through the mount" \
	"$PY" "$GEN_DATA" random "$D/big.bin" --size-mib 48 --seed 3
cp "$D/big.bin" "$W/big.bin"
"$MLFS" --store "$S" snapshot t/r -m "during edits" >"$W/snap.out" \
	2>"$W/snap.err" &
snap_pid=$!
for _ in $(seq 600); do
	[ -e "$P.reached" ] && break
	sleep 0.1
done
is "the snapshot reached its read" test -e "$P.reached"
check "while it reads: mkdir" timeout 20 mkdir "$D/during"
check "while it reads: create a file" timeout 20 touch "$D/during/t"
check "while it reads: write another file" \
	timeout 20 bash -c "echo new >'$D/o2.txt'"
check "while it reads: rename" timeout 20 mv "$D/m.txt" "$D/m2.txt"
check "while it reads: a lookup of the tree by its branch" \
	timeout 20 test -d "$mnt/t/r@main/during"
check "while it reads: chmod" timeout 20 chmod 0600 "$D/top.txt"
# a write open of the file it reads waits until it is read
"$PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b"Z" * 4096, 0)
os.close(fd)' "$D/big.bin" &
writer_pid=$!
is "the snapshot is still reading" kill -0 "$snap_pid"
check "release the snapshot" timeout 20 bash -c "echo go >'$P'"
rm -f "$P" # (no pause for the next snapshots)
wait "$snap_pid"
is "the snapshot: exit 0 ($(head -c 200 "$W/snap.err"))" test $? -eq 0
wait "$writer_pid"
is "the waiting writer went on after the read" test $? -eq 0
check "the snapshot holds big.bin as it was when planned" \
	bash -c "'$MLFS' --store '$S' cat t/r/big.bin | cmp - '$W/big.bin'"
expect_exit 0 mlfs cat t/r/m.txt
check "the snapshot holds m.txt (renamed while it read)" \
	test "$(cat "$OUT_F")" = made
expect_exit 1 mlfs cat t/r/during/t
expect_exit 0 mlfs status t/r
expect_out '^  A during/' "status after it: A during/ (made while it read)"
expect_out '^  A during/t' "status after it: A during/t"
expect_out '^  M o2\.txt' "status after it: M o2.txt"
expect_out '^  R m\.txt -> m2\.txt' "status after it: R m.txt -> m2.txt"
expect_out '^  P top\.txt' "status after it: P top.txt"
expect_out '^  M big\.bin' "status after it: M big.bin (the waiting writer)"
check "the next snapshot takes them" mlfs snapshot t/r -m "after"
expect_exit 0 mlfs status t/r
expect_out "no changes" "then: no changes"
expect_exit 0 mlfs cat t/r/during/t
check "umount" T "$MLFS" --store "$S" umount "$mnt"
expect_exit 0 mlfs fsck
summary
