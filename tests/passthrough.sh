#!/bin/bash
# tests/passthrough.sh - written files of working trees with the kernel's
# FUSE passthrough (src/fuse/passthrough.h): the kernel reads and writes
# their data files itself. Checks that it is on where the kernel offers
# it, that bytes, sizes and times are right through every mix of
# passthrough and cached (page cache) opens of one file, that status and
# snapshot see writes the daemon never saw, and that the same holds with
# passthrough off (MLFS_NO_PASSTHROUGH=1).
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
mnt=$(mktmp)
at_exit "fusermount3 -u '$mnt' 2>/dev/null || umount -l '$mnt' 2>/dev/null"
mlfs() { "$MLFS" --store "$S" "$@"; }
T() { timeout 60 "$@"; }

for m in pt daemon; do
	mkdir -p "$W/src/$m"
	printf 'stored bytes, version one\n' >"$W/src/$m/a.txt"
	head -c 300000 /dev/urandom >"$W/src/$m/b.bin"
done
expect_exit 0 mlfs import -q "$W/src" t/r -t v1

# The kernel offers passthrough from 6.9 on (CONFIG_FUSE_PASSTHROUGH);
# the daemon needs CAP_SYS_ADMIN for backing files.
kernel_has_pt() {
	local v maj min
	v=$(uname -r)
	maj=${v%%.*}
	min=${v#*.}
	min=${min%%[!0-9]*}
	[ "$(id -u)" -eq 0 ] && { [ "$maj" -gt 6 ] ||
		{ [ "$maj" -eq 6 ] && [ "$min" -ge 9 ]; }; }
}

# One pass of every check; $1 names the mode for the messages.
checks() {
	local m=$1 B=$mnt/t/r/$1
	local c

	# a new file written with dd, read back by another process
	head -c 3000000 /dev/urandom >"$W/new.bin"
	check "$m: dd into a new file" \
		T dd if="$W/new.bin" of="$B/new.bin" bs=64k conv=fsync status=none
	check "$m: the new file reads back byte for byte" cmp "$W/new.bin" "$B/new.bin"
	check "$m: its size" test "$(stat -c %s "$B/new.bin")" = 3000000

	# a cached open (stored bytes, chunk path) while the file is
	# written: the writer is cached too, and the reader sees its bytes
	T "$PY" - "$B/a.txt" <<'EOF' >"$W/mix.out" 2>&1
import os, sys
p = sys.argv[1]
r = open(p, "rb")                       # stored bytes: cached open
first = r.read()
w = os.open(p, os.O_WRONLY)             # materialized, cached (r is open)
os.pwrite(w, b"WRITTEN", 0)
os.close(w)
r.seek(0)
second = r.read()
r.close()
print("first", first == b"stored bytes, version one\n")
print("second", second == b"WRITTENbytes, version one\n")
# no cached open left: this one is passthrough, beneath the page cache
# the reader above filled
w = os.open(p, os.O_WRONLY)
os.pwrite(w, b"AGAIN!!", 0)
os.close(w)
with open(p, "rb") as f:
    print("third", f.read() == b"AGAIN!!bytes, version one\n")
EOF
	check "$m: a cached reader sees the bytes read first" grep -qx 'first True' "$W/mix.out"
	check "$m: and a write made while it is open" grep -qx 'second True' "$W/mix.out"
	check "$m: a later open sees the passthrough write" grep -qx 'third True' "$W/mix.out"
	check "$m: cat sees it too" test "$(cat "$B/a.txt")" = "AGAIN!!bytes, version one"

	# O_APPEND, ftruncate, mmap MAP_SHARED, and stat from another process
	T "$PY" - "$B/c.txt" <<'EOF' >"$W/ops.out" 2>&1
import mmap, os, sys
p = sys.argv[1]
with open(p, "wb") as f:
    f.write(b"0123456789")
fd = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(fd, b"abc")
os.close(fd)
print("append", open(p, "rb").read() == b"0123456789abc")
fd = os.open(p, os.O_RDWR)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[4096:4100] = b"page"
m.flush()
m.close()
os.close(fd)
d = open(p, "rb").read()
print("mmap", len(d) == 8192 and d[:13] == b"0123456789abc" and
      d[4096:4100] == b"page")
print("size", os.stat(p).st_size == 8192)
EOF
	check "$m: O_APPEND" grep -qx 'append True' "$W/ops.out"
	check "$m: ftruncate and mmap MAP_SHARED writes" grep -qx 'mmap True' "$W/ops.out"
	check "$m: stat sees the new size" grep -qx 'size True' "$W/ops.out"
	check "$m: stat from a shell too" test "$(stat -c %s "$B/c.txt")" = 8192

	# utimensat after a write: the time set is the time kept
	check "$m: touch -d on a written file" touch -d '2020-01-02 03:04:05' "$B/c.txt"
	check "$m: its mtime" test "$(stat -c %Y "$B/c.txt")" = \
		"$(date -d '2020-01-02 03:04:05' +%s)"

	# a file held open for writing: status sees the write the daemon
	# never saw, the snapshot takes the bytes as they are, and a write
	# after it is a change again
	rm -f "$W/held.go" "$W/held.ready"
	T "$PY" - "$B/held.txt" "$W/held" <<'EOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"before the snapshot\n")
open(sys.argv[2] + ".ready", "w").close()
while not os.path.exists(sys.argv[2] + ".go"):
    time.sleep(0.02)
os.write(fd, b"after it\n")
os.close(fd)
EOF
	local holder=$!
	for _ in $(seq 300); do [ -e "$W/held.ready" ] && break; sleep 0.02; done
	expect_exit 0 mlfs status t/r
	expect_out "A $m/held.txt" "$m: status shows the held-open file"
	expect_out "M $m/a.txt" "$m: and the passthrough write to a.txt"
	expect_exit 0 mlfs snapshot t/r -t "snap-$m" -m "held open"
	c=$(tr -d '[:space:]' <"$OUT_F")
	check "$m: the snapshot is a commit" is_hex32 "$c"
	expect_exit 0 mlfs cat "t/r@snap-$m/$m/held.txt"
	expect_out '^before the snapshot$' "$m: the snapshot holds the bytes written so far"
	# the data file of new.bin (closed, now stored) goes once the
	# snapshot is answered (the daemon removes it after replying)
	local gone=no
	for _ in $(seq 100); do
		if [ -z "$(find "$S/work" -type f -size +2M 2>/dev/null)" ]; then
			gone=yes
			break
		fi
		sleep 0.02
	done
	check "$m: the stored file's data file is removed after the snapshot" \
		test "$gone" = yes
	expect_exit 0 mlfs cat "t/r@snap-$m/$m/new.bin"
	cp "$OUT_F" "$W/snap.bin"
	check "$m: and the dd file" cmp "$W/new.bin" "$W/snap.bin"
	touch "$W/held.go"
	wait "$holder"
	check "$m: the holder finished" test $? -eq 0
	expect_exit 0 mlfs status t/r
	expect_out "M $m/held.txt" "$m: the write after the snapshot is a change"
	expect_exit 0 mlfs snapshot t/r -m "the later write"
	expect_exit 0 mlfs cat "t/r/$m/held.txt"
	expect_out '^after it$' "$m: the next snapshot holds it"

	# an open for writing that writes nothing changes nothing
	check "$m: open O_RDWR, no write" T "$PY" -c \
		"import os; os.close(os.open('$B/b.bin', os.O_RDWR))"
	expect_exit 0 mlfs snapshot t/r -m "nothing"
	expect_out "no changes" "$m: a snapshot after it says no changes"
	check "$m: b.bin still the stored bytes" cmp "$W/src/$m/b.bin" "$B/b.bin"

	# edits discarded while a writer holds the file: the writer keeps
	# its bytes on an orphan (a node of its own), and a new open, in
	# either mode, reads the head's bytes at once (before, in passthrough
	# mode it failed with EBUSY, and through the daemon the held writer's
	# later writes stayed in the page cache a new reader saw)
	T "$PY" - "$B/a.txt" "$MLFS" "$S" "t/r" "$m" <<'EOF' >"$W/disc.out" 2>&1
import errno, os, subprocess, sys
p, mlfs, store, repo, mode = sys.argv[1:6]
w = os.open(p, os.O_WRONLY)
os.pwrite(w, b"HELD!!!", 0)
d = subprocess.run([mlfs, "--store", store, "discard", repo, mode + "/a.txt"])
print("discard", d.returncode == 0)
try:
    got = open(p, "rb").read()
    print("new-open", "head" if got == b"AGAIN!!bytes, version one\n" else got)
except OSError as e:
    print("new-open", errno.errorcode[e.errno])
os.pwrite(w, b"STILL", 0)
os.close(w)
print("after", open(p, "rb").read() == b"AGAIN!!bytes, version one\n")
EOF
	check "$m: discard of a file held open" grep -qx 'discard True' "$W/disc.out"
	check "$m: a new open while it is held: the head's bytes" \
		grep -qx 'new-open head' "$W/disc.out"
	check "$m: once closed, the head's bytes" \
		grep -qx 'after True' "$W/disc.out"

	# after a snapshot the file is read back from the store: no page the
	# kernel kept from before a passthrough write may show
	check "$m: a.txt after the snapshots" test "$(cat "$B/a.txt")" = \
		"AGAIN!!bytes, version one"
	expect_exit 0 mlfs cat "t/r/$m/a.txt"
	expect_out '^AGAIN!!bytes, version one$' "$m: as the head has it"
}

# ---- passthrough on (where the kernel offers it)
check "mount" T "$MLFS" --store "$S" mount "$mnt"
if kernel_has_pt; then
	check "the daemon says written files use kernel passthrough" \
		grep -q 'written files: kernel passthrough' "$S/mount.log"
else
	echo "# kernel $(uname -r) or uid $(id -u): no passthrough expected"
	check "the daemon says written files go through it" \
		grep -q 'written files: read and written through the daemon' \
		"$S/mount.log"
fi
checks pt
check "umount" T "$MLFS" --store "$S" umount "$mnt"
for _ in $(seq 100); do mountpoint -q "$mnt" || break; sleep 0.05; done
expect_exit 0 mlfs fsck

# ---- passthrough off: the same, through the daemon
: >"$S/mount.log"
check "mount with MLFS_NO_PASSTHROUGH=1" \
	env MLFS_NO_PASSTHROUGH=1 timeout 60 "$MLFS" --store "$S" mount "$mnt"
check "the daemon says written files go through it" \
	grep -q 'written files: read and written through the daemon' "$S/mount.log"
checks daemon
check "umount" T "$MLFS" --store "$S" umount "$mnt"
for _ in $(seq 100); do mountpoint -q "$mnt" || break; sleep 0.05; done
expect_exit 0 mlfs fsck
check "no sanitizer report in the daemon's log" \
	bash -c "! grep -q 'Sanitizer' '$S/mount.log'"

summary
