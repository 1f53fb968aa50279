#!/bin/bash
# tests/mount_names.sh - names that move, under a live mount: a tag
# deleted and made again on another commit, a deleted tag, a branch
# deleted and made again, a short commit id. New lookups see the change
# within the short entry timeout (polled for up to 2 s, never a bare
# sleep); a file opened before the move keeps reading its own version;
# a full commit id keeps naming the same version.
. "$(dirname "$0")/lib.sh"

mount_fixture

# three versions; big.bin (4 MiB) differs between them, so reads through
# an old descriptor after the move must come from the daemon, not from
# pages the kernel already holds
for v in 1 2 3; do
	mkdir -p "$W/v$v"
	echo "version $v" >"$W/v$v/f"
	gen random "$W/v$v/big.bin" --size-mib 4 --seed "$v" >/dev/null
done
c1=$(mlfs import -q -t v1 "$W/v1" models/m | tail -n1)
c2=$(mlfs import -q -t v2 "$W/v2" models/m | tail -n1)
c3=$(mlfs import -q -t v3 "$W/v3" models/m | tail -n1)
check "three imports" is_hex32 "$c3"
check "branch dev at v1" mlfs branch models/m@v1 dev

check "mount" mlfs mount "$mnt"
M=$mnt/models

# poll PATH WANT: until `cat PATH` prints WANT (2 s at most)
poll_cat() {
	local i
	for i in $(seq 40); do
		[ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# poll_gone PATH: until PATH does not exist (2 s at most)
poll_gone() {
	local i
	for i in $(seq 40); do
		[ -e "$1" ] || return 0
		sleep 0.05
	done
	return 1
}

check "m@v1 is version 1" test "$(cat "$M/m@v1/f")" = "version 1"
check "m@dev is version 1" test "$(cat "$M/m@dev/f")" = "version 1"
check "m@<full id> is version 1" test "$(cat "$M/m@$c1/f")" = "version 1"
check "m@<short id> is version 2" \
	test "$(cat "$M/m@${c2:0:12}/f")" = "version 2"

# a reader holds big.bin of m@v1 open (first 64 KiB read) across the
# move; fifo "go" tells it to read the rest, and it prints the verdict
mkfifo "$W/go"
"$PY" - "$M/m@v1/big.bin" "$W/v1/big.bin" "$W/go" >"$W/reader.out" <<'EOF' &
import os, sys
path, src, go = sys.argv[1:4]
fd = os.open(path, os.O_RDONLY)
head = os.pread(fd, 65536, 0)
print("opened", flush=True)
open(go).read()
data = head + os.pread(fd, os.fstat(fd).st_size, 65536)
print("same" if data == open(src, "rb").read() else "different", flush=True)
EOF
reader=$!
for _ in $(seq 100); do
	grep -q opened "$W/reader.out" && break
	sleep 0.05
done
check "reader opened m@v1/big.bin" grep -q opened "$W/reader.out"

# the tag moves: delete v1, make it again on version 2
check "tag --delete v1" mlfs tag --delete models/m v1
check "tag v1 again at v2" mlfs tag models/m@v2 v1
check "m@v1 shows version 2 within 2 s" poll_cat "$M/m@v1/f" "version 2"
check "m@v1/big.bin is version 2's" cmp "$M/m@v1/big.bin" "$W/v2/big.bin"
timeout 10 bash -c "echo go >'$W/go'" || kill "$reader" 2>/dev/null
wait "$reader"
check "descriptor opened before the move reads version 1's bytes" \
	grep -qx same "$W/reader.out"

# and again, to version 3, while the kernel holds version 2's entry
check "m@v1 looked up" test -e "$M/m@v1/f"
check "tag --delete v1 (2)" mlfs tag --delete models/m v1
check "tag v1 at v3" mlfs tag models/m@v3 v1
check "m@v1 shows version 3 within 2 s" poll_cat "$M/m@v1/f" "version 3"

# a deleted tag disappears from lookups and from the listing
check "m@v2 is version 2" test "$(cat "$M/m@v2/f")" = "version 2"
check "tag --delete v2" mlfs tag --delete models/m v2
check "m@v2 is gone within 2 s" poll_gone "$M/m@v2"
check "m@v2/f is gone" test ! -e "$M/m@v2/f"
check "listing has no m@v2" bash -c "! ls '$M' | grep -qx 'm@v2'"
check "m@v3 still there" test "$(cat "$M/m@v3/f")" = "version 3"

# a branch deleted and made again elsewhere moves too
check "branch --delete dev" mlfs branch --delete models/m dev
check "m@dev is gone within 2 s" poll_gone "$M/m@dev"
check "branch dev at v3" mlfs branch models/m@v3 dev
check "m@dev shows version 3 within 2 s" poll_cat "$M/m@dev/f" "version 3"

# a full commit id never moves: still version 1 after all that
check "m@<full id> is still version 1" \
	test "$(cat "$M/m@$c1/f")" = "version 1"
check "m@<full id>/big.bin is version 1's" \
	cmp "$M/m@$c1/big.bin" "$W/v1/big.bin"

check "umount" "$MLFS" umount "$mnt"
# the daemon exits after the unmount (under ASan, after its leak check)
for _ in $(seq 50); do
	pgrep -f -- "mount.* $mnt\$" >/dev/null || break
	sleep 0.1
done
check "daemon exited" bash -c "! pgrep -f -- 'mount.* $mnt\$'"
check "no sanitizer report in the daemon log" \
	bash -c "! grep -q Sanitizer '$S/mount.log'"
summary
