#!/bin/bash
# tests/mount_user.sh - `mlfs mount` as an ordinary user (nobody) with a
# store nobody made and a mountpoint nobody owns. With /dev/fuse mode 0666
# (the usual) libfuse mounts through the setuid fusermount3: nobody
# mounts, reads, and after kill -9 of the daemon `mlfs umount` clears the
# stale mount and a new mount works. With /dev/fuse 0600 no ordinary user
# can mount FUSE at all (fusermount3 opens the device with the caller's
# uid on purpose), and mount says so plainly. /dev/fuse's mode is
# restored at exit. Needs root (to be nobody and to chmod /dev/fuse).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v runuser >/dev/null ||
   ! id nobody >/dev/null 2>&1 || [ ! -c /dev/fuse ]; then
	echo "SKIP - needs root, runuser, user nobody and /dev/fuse"
	summary
fi
check "fusermount3 is setuid root" test -u "$(command -v fusermount3)"

# nobody must reach everything: its own directory under /tmp, not the
# test's root-only temp dir
U=$(mktemp -d /tmp/mlfs-user.XXXXXX)
chmod 755 "$U"
chown nobody "$U"
at_exit "rm -rf '$U'"
at_exit "fusermount3 -u '$U/mnt' || umount -l '$U/mnt'"
fuse_mode=$(stat -c %a /dev/fuse)
at_exit "chmod $fuse_mode /dev/fuse"

# root may not stat nobody's mount (no allow_other): ask /proc/mounts
mounted() { grep -q " $U/mnt fuse" /proc/mounts; }
asnobody() { runuser -u nobody -- env -u XDG_RUNTIME_DIR HOME="$U" "$@"; }
asnobody mkdir "$U/src" "$U/mnt"
asnobody sh -c "printf 'hello from nobody\n' >'$U/src/f.txt'"
asnobody sh -c "head -c 3000000 /dev/urandom >'$U/src/big.bin'"
check "nobody: init" asnobody "$MLFS" init --store "$U/store"
check "nobody: import" asnobody "$MLFS" import --store "$U/store" -q \
	"$U/src" me/data
check "store is nobody's" test "$(stat -c %U "$U/store/mlfs.db")" = nobody

# ---- /dev/fuse 0600: refused with a message that says why
chmod 0600 /dev/fuse
expect_exit 1 asnobody "$MLFS" mount --store "$U/store" "$U/mnt"
expect_err "'/dev/fuse' \(mode 0600.*does not let you use FUSE" \
	"0600 /dev/fuse: the message names the device and its mode"
check "nothing mounted" bash -c "! grep -q ' $U/mnt fuse' /proc/mounts"

# ---- /dev/fuse 0666: nobody mounts through fusermount3
chmod 0666 /dev/fuse
expect_exit 0 asnobody "$MLFS" mount --store "$U/store" "$U/mnt"
check "mountpoint is mounted" mounted
check "nobody reads f.txt" \
	test "$(asnobody cat "$U/mnt/me/data/f.txt")" = "hello from nobody"
check "nobody reads big.bin" asnobody cmp "$U/mnt/me/data/big.bin" \
	"$U/src/big.bin"
check "the mount is nobody's (user_id)" \
	grep -q "$U/mnt fuse.mlfs .*user_id=$(id -u nobody)" /proc/mounts

# ---- a dead daemon: nobody's own `mlfs umount` clears it
pid=$(pgrep -u nobody -f -- "mount --store $U/store $U/mnt\$" | head -n1)
check "found nobody's daemon ($pid)" test -n "$pid"
[ -n "$pid" ] && kill -9 "$pid"
for _ in $(seq 40); do
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
run asnobody stat "$U/mnt"
expect_err "Transport endpoint is not connected" "dead mount: ENOTCONN"
expect_exit 1 asnobody "$MLFS" mount --store "$U/store" "$U/mnt"
expect_err "daemon died; run 'mlfs umount" "mount on the dead mount: hint"
expect_exit 0 asnobody "$MLFS" umount "$U/mnt"
check "dead mount cleared" bash -c "! grep -q ' $U/mnt fuse' /proc/mounts"
expect_exit 0 asnobody "$MLFS" mount --store "$U/store" "$U/mnt"
check "nobody reads f.txt after remount" \
	test "$(asnobody cat "$U/mnt/me/data/f.txt")" = "hello from nobody"

expect_exit 0 asnobody "$MLFS" umount "$U/mnt"
check "unmounted" bash -c "! grep -q ' $U/mnt fuse' /proc/mounts"
check "no error in the daemon log" \
	bash -c "! grep -qi 'error\|failed' '$U/store/mount.log'"
# the daemon exits after the unmount (under ASan, after its leak check)
for _ in $(seq 50); do
	pgrep -f -- "mount.* $U/mnt\$" >/dev/null || break
	sleep 0.1
done
check "daemon exited" bash -c "! pgrep -f -- 'mount.* $U/mnt\$'"
check "no sanitizer report in the daemon log" \
	bash -c "! grep -q Sanitizer '$U/store/mount.log'"
summary
