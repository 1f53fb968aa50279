#!/bin/bash
# tests/mount_listing.sh - directories are opened with no request to the
# daemon (FUSE no-opendir) and their listings live in the kernel's readdir
# cache (dir.c):
#  - a warm walk of a version (os.walk with an lstat per file) is
#    answered by the kernel alone: it completes, with the right names
#    and sizes, while the daemon is stopped;
#  - a namespace lists what the CLI made since the last listing (tags,
#    branches, aliases, new repositories), and the root new namespaces;
#  - a working tree's directory lists what was made and removed through
#    the mount, by ls and Python, at once;
#  - a listing read on while the directory changes and another process
#    lists it from the start neither repeats nor loses an entry that was
#    there all along (offsets are cookies of the names, not indexes);
#  - seekdir to a telldir cookie resumes where it was; rm -rf and
#    shutil.rmtree empty big directories they read on as they unlink.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

mount_fixture
T() { timeout 60 "$@"; }

# a version of 30 directories of 40 files, two levels deep
run "$PY" - "$W/src" <<'EOF'
import os, sys
top = sys.argv[1]
for d in range(30):
    p = os.path.join(top, "d%02d" % d, "inner")
    os.makedirs(p)
    for f in range(40):
        q = os.path.join(top, "d%02d" % d, "f%03d.bin" % f)
        with open(q, "wb") as fh:
            fh.write(os.urandom(100 + 37 * f + d))
    with open(os.path.join(p, "leaf.txt"), "w") as fh:
        fh.write("leaf %d\n" % d)
EOF
check "a tree of 30 directories made" test "$RC" = 0
check "import" mlfs import -q "$W/src" t/v -t v1
check "a writable branch" mlfs import -q "$W/src" t/w
check "mount" mlfs mount "$mnt"
check "the log says directories are opened with no request" \
	grep -q "directories: opened with no request to the daemon" \
	"$S/mount.log"

# the daemon: the one process whose command line mounts $mnt
dpid=$(pgrep -f -- "mount $mnt\$" | head -n1)
check "the daemon's pid ($dpid)" test -n "$dpid"
at_exit "kill -CONT $dpid"

# what a walk sees: directories, and files with their sizes
walk() {
	find . -mindepth 1 \( -type d -printf 'd %p\n' \) -o \
		\( -type f -printf 'f %s %p\n' \) | LC_ALL=C sort
}
(cd "$W/src" && walk) >"$W/native.txt"
for pass in 1 2; do
	(cd "$mnt/t/v@v1" && T find . -printf '%y %s %p\n' >/dev/null &&
		T du -s . >/dev/null && walk) >"$W/warm$pass.txt"
done
check "a walk through the mount lists the version" \
	cmp "$W/native.txt" "$W/warm2.txt"

# A warm walk with the daemon stopped: any request would hang it. find
# and du ask for the file system's statfs (a request, never cached) once
# per walk, so the walker is Python's os.walk with an lstat per file,
# started (and its imports done) before the daemon stops.
mkfifo "$W/go"
(cd "$mnt/t/v@v1" && exec "$PY" -I -c '
import os, sys
open(sys.argv[1], "w").write("ready")
open(sys.argv[2]).read()
out = []
for root, dirs, files in os.walk("."):
    out += ["d " + os.path.join(root, n) for n in dirs]
    out += ["f %d %s" % (os.lstat(os.path.join(root, n)).st_size,
                         os.path.join(root, n)) for n in files]
sys.stdout.write("".join(sorted(x + "\n" for x in out)))
' "$W/ready" "$W/go" >"$W/stopped.txt") &
wpid=$!
for _ in $(seq 100); do [ -s "$W/ready" ] && break; sleep 0.1; done
kill -STOP "$dpid"
echo go >"$W/go"
for _ in $(seq 200); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$wpid" 2>/dev/null; then
	fail "a warm walk completes with the daemon stopped (hung)"
	kill -9 "$wpid"
else
	ok "a warm walk completes with the daemon stopped"
fi
kill -CONT "$dpid"
wait "$wpid"
check "and lists the right names and sizes" \
	cmp "$W/native.txt" "$W/stopped.txt"
check "the mount answers again" test -d "$mnt/t/v@v1/d00"

# ---- namespaces and the root change with no request through the mount
ls "$mnt/t" >"$W/ns1.txt"
check "the namespace lists the tag" grep -qx "v@v1" "$W/ns1.txt"
check "tag v2" mlfs tag t/v v2
check "branch exp" mlfs branch t/v exp
check "alias prod" mlfs alias t/v@v1 prod -m "for the test"
ls "$mnt/t" >"$W/ns2.txt"
for e in v@v2 v@exp v@prod; do
	check "the next listing of the namespace has $e" \
		grep -qx "$e" "$W/ns2.txt"
done
run "$PY" - "$mnt/t" "$MLFS" "$S" <<'EOF'
import os, subprocess, sys
ns, mlfs, store = sys.argv[1:4]
missing = []
for i in range(10):
    os.listdir(ns)  # a whole listing, then a tag, then the next one
    subprocess.run([mlfs, "--store", store, "tag", "t/v", "loop%d" % i],
                   check=True, stdout=subprocess.DEVNULL)
    if "v@loop%d" % i not in os.listdir(ns):
        missing.append(i)
print("missing", missing)
EOF
check "ten tags, each in the listing right after it ($(cat "$OUT_F"))" \
	test "$(cat "$OUT_F")" = "missing []"
check "import into a new namespace" mlfs import -q "$W/src/d01" other/r
check "the next listing of the root has it" \
	grep -qx other <(ls "$mnt")
check "tag --delete v2" mlfs tag --delete t/v v2
check "the next listing of the namespace has v@v2 no more" \
	bash -c "! ls '$mnt/t' | grep -qx v@v2"

# ---- a working tree: changes through the mount are listed at once
WT=$mnt/t/w/d00
check "a new file in a working tree" touch "$WT/new.txt"
check "ls lists it" grep -qx new.txt <(ls "$WT")
check "rm it" rm "$WT/new.txt"
check "ls lists it no more" bash -c "! ls '$WT' | grep -qx new.txt"
run "$PY" -c '
import os, sys
d = sys.argv[1]
os.mkdir(os.path.join(d, "sub"))
a = sorted(os.listdir(d))
os.rename(os.path.join(d, "sub"), os.path.join(d, "sub2"))
b = sorted(os.listdir(d))
os.rmdir(os.path.join(d, "sub2"))
c = sorted(os.listdir(d))
print("sub" in a, "sub2" in b and "sub" not in b, "sub2" not in c)
' "$WT"
check "Python lists mkdir, rename and rmdir at once ($(cat "$OUT_F"))" \
	test "$(cat "$OUT_F")" = "True True True"

check "mkdir an empty directory" mkdir "$WT/empty"
check "its listing is empty" test -z "$(ls -A "$WT/empty")"
check "rmdir it" rmdir "$WT/empty"

# ---- a listing read on while the directory changes under it
BIG=$mnt/t/w/big
check "mkdir a big directory" mkdir "$BIG"
run "$PY" - "$BIG" <<'EOF'
import os, sys
d = sys.argv[1]
for i in range(3000):
    open(os.path.join(d, "entry-%05d-%s" % (i, "x" * 80)), "w").close()
print("made")
EOF
check "3000 files made through the mount" test "$(cat "$OUT_F")" = made
run "$PY" - "$BIG" <<'EOF'
import os, subprocess, sys
d = sys.argv[1]
orig = set(os.listdir(d))
it = os.scandir(d)
seen = [next(it).name for _ in range(500)]
# changes, and a whole listing from offset 0 by another process
for i in range(200):
    open(os.path.join(d, "added-%04d" % i), "w").close()
removed = set(sorted(orig - set(seen))[:100])
for n in removed:
    os.unlink(os.path.join(d, n))
subprocess.run(["ls", "-f", d], check=True, stdout=subprocess.DEVNULL)
seen += [e.name for e in it]
dups = len(seen) - len(set(seen))
lost = len(orig - removed - set(seen))
print("dups=%d lost=%d" % (dups, lost))
EOF
check "a listing read on while it changes: $(cat "$OUT_F")" \
	test "$(cat "$OUT_F")" = "dups=0 lost=0"

run "$PY" - "$BIG" <<'EOF'
import ctypes, ctypes.util, os, sys
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir64.restype = ctypes.POINTER(Dirent)
libc.readdir64.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]
def names(dp, n):
    out = []
    for _ in range(n):
        e = libc.readdir64(dp)
        if not e:
            break
        out.append(e.contents.d_name)
    return out
dp = libc.opendir(sys.argv[1].encode())
names(dp, 1000)
pos = libc.telldir(dp)
after = names(dp, 50)
names(dp, 1000)
libc.seekdir(dp, pos)
again = names(dp, 50)
libc.closedir(dp)
print("same" if after == again and len(after) == 50 else "differs")
EOF
check "seekdir to a telldir cookie resumes there" \
	test "$(cat "$OUT_F")" = same

# removing while listing: rm -rf reads the directory on as it unlinks
check "rm -rf of the big directory" rm -rf "$BIG"
check "it is gone" test ! -e "$BIG"
check "mkdir it again" mkdir "$BIG"
run "$PY" -c '
import os, shutil, sys
d = sys.argv[1]
for i in range(1500):
    os.mkdir(os.path.join(d, "sub%04d" % i))
    open(os.path.join(d, "sub%04d" % i, "f"), "w").close()
shutil.rmtree(d)
print("gone" if not os.path.exists(d) else "left")
' "$BIG"
check "shutil.rmtree of 1500 directories ($(cat "$OUT_F"))" \
	test "$(cat "$OUT_F")" = gone

check "umount" fusermount3 -u "$mnt"
check "no sanitizer report in the daemon's log" \
	bash -c "! grep -q 'Sanitizer' '$S/mount.log'"
summary
