#!/bin/bash
# tests/worktree.sh - writable branch heads through the mount (issue 9):
# every POSIX operation the issue lists, with ordinary tools and Python
# (offsets, O_APPEND, O_TRUNC, ftruncate, fallocate, renames, unlink of an
# open file, links, chmod, utime, fsync, mmap MAP_SHARED, xattrs, statfs,
# np.save / torch.save through a temp file, shutil.copytree, rsync -a,
# git clone), read-your-writes from a second process, then mlfs snapshot
# with the mount running and mlfs export compared byte for byte, modes
# and mtimes included. EROFS into tags, commit ids, ~N and @{date}; new
# repositories by mkdir; status/discard; a file open at snapshot time; a
# second mount refused; import into an edited branch; names the mount
# cannot make (clear errno), EXDEV across branches, O_APPEND from two
# processes, branch --delete and gc with edits; an edit made while an
# import of the branch runs (known bug: see that section); remount;
# umount then snapshot at once.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
mnt=$(mktmp)
mnt2=$(mktmp)
at_exit "fusermount3 -u '$mnt2' || umount -l '$mnt2'"
at_exit "fusermount3 -u '$mnt' || umount -l '$mnt'"
mlfs() { "$MLFS" --store "$S" "$@"; }
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

# alive PID: running (a zombie is not: it waits for init to reap it, which
# in some containers takes seconds, and holds no lock or file)
alive() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] &&
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
# The daemon of $mnt (to wait for its exit after an unmount).
daemon_pid() { pgrep -f -- "mount $1\$" | head -n1; }
do_mount() { T "$MLFS" --store "$S" mount "$mnt"; }
do_umount() {
	local pid i
	pid=$(daemon_pid "$mnt")
	T "$MLFS" --store "$S" umount "$mnt" || return 1
	for _ in $(seq 100); do
		alive "$pid" || return 0
		sleep 0.05
	done
	return 1
}

# snap ARGS...: mlfs snapshot with the mount running (the issue's final
# behaviour). Stdout in $OUT_F, stderr in $ERR_F, exit code in $RC. If it
# is refused because the store is mounted, that is a FAIL, and the
# snapshot is then taken with the mount stopped so the checks after it
# still run.
snap() {
	run "$MLFS" --store "$S" snapshot "$@"
	if [ "$RC" -ne 0 ] && grep -q "the store is mounted" "$ERR_F"; then
		fail "snapshot $* with the mount running: refused ($(head -c 120 "$ERR_F"))"
		do_umount || fail "umount for the fallback snapshot"
		run "$MLFS" --store "$S" snapshot "$@"
		local rc=$RC
		cp "$OUT_F" "$W/.snap.out"
		cp "$ERR_F" "$W/.snap.err"
		do_mount || fail "remount after the fallback snapshot"
		cp "$W/.snap.out" "$OUT_F"
		cp "$W/.snap.err" "$ERR_F"
		RC=$rc
	fi
}

# manifest DIR OUT: one line per entry below DIR (not DIR itself): path,
# type, mode & 07777, mtime_ns, size, sha256 or link target.
cat >"$W/manifest.py" <<'EOF'
import hashlib, os, stat, sys
root, out = sys.argv[1], sys.argv[2]
skip = set(sys.argv[3:])
lines = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        rel = os.path.relpath(p, root)
        if rel.split(os.sep)[0] in skip:
            continue
        st = os.lstat(p)
        m = st.st_mode
        if not (stat.S_ISLNK(m) or stat.S_ISDIR(m) or stat.S_ISREG(m)):
            continue  # FIFOs, sockets, devices: versions leave them out
        if stat.S_ISLNK(m):
            what, extra = "l", os.readlink(p)
        elif stat.S_ISDIR(m):
            what, extra = "d", "-"
        else:
            what = "f"
            with open(p, "rb") as f:
                extra = hashlib.sha256(f.read()).hexdigest()
        # a symlink's own mode and mtime are not kept by versions
        mt = "-" if what == "l" else str(st.st_mtime_ns)
        mo = "-" if what == "l" else "%04o" % (m & 0o7777)
        size = str(st.st_size) if what == "f" else "-"
        lines.append("\t".join([rel, what, mo, mt, size, extra]))
open(out, "w").write("\n".join(lines) + "\n")
EOF
manifest() { T "$PY" "$W/manifest.py" "$@"; }
# same_tree A B: manifests equal (prints a diff of the first lines else)
same_tree() {
	manifest "$1" "$W/.ma" && manifest "$2" "$W/.mb" &&
		diff "$W/.ma" "$W/.mb" >"$W/.md" && return 0
	head -n 8 "$W/.md" | sed 's/^/   /'
	return 1
}

# ---- fixture: a small tree with a 3 MiB file, a symlink, a subdir
src=$W/src
mkdir -p "$src/sub/deep"
printf 'hello\n' >"$src/a.txt"
printf 'keep me\n' >"$src/sub/keep.txt"
printf 'deep\n' >"$src/sub/deep/d.txt"
printf 'to be removed\n' >"$src/gone.txt"
printf 'renamed\n' >"$src/old-name.txt"
gen random "$src/big.bin" --size-mib 3 --seed 9 >/dev/null
ln -s a.txt "$src/link"
chmod 0640 "$src/sub/keep.txt"
expect_exit 0 mlfs import -q -t v0 "$src" data/set
c0=$(tr -d '[:space:]' <"$OUT_F")
check "import v0 gives a commit id" is_hex32 "$c0"
check "branch dev" mlfs branch data/set dev
sleep 1.1 # so @{date} below lies after the first commit
date_now=$(date -u +%Y-%m-%dT%H:%M:%S)
# a second commit so that ~1 exists
printf 'v1\n' >"$src/version"
expect_exit 0 mlfs import -q -t v1 "$src" data/set
c1=$(tr -d '[:space:]' <"$OUT_F")
rm "$src/version"

check "mount" do_mount
B=$mnt/data/set

# ---- one daemon per store: a second mount elsewhere is refused
expect_exit 1 "$MLFS" --store "$S" mount "$mnt2"
expect_err "already|mounted|in use" \
	"second mount of the store: a clear message"
expect_err_prefix "second mount"
check "second mountpoint is not mounted" \
	bash -c "! mountpoint -q '$mnt2'"

# ---- the POSIX operations, in Python
pyrun "$B" "$src" <<'EOF'
import errno, mmap, os, stat, subprocess, sys
B, SRC = sys.argv[1], sys.argv[2]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
def rd(p):
    with open(p, "rb") as f:
        return f.read()
def err_of(fn):
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0
P = lambda n: os.path.join(B, n)

# create, write at offsets (a hole in between), read back
fd = os.open(P("offsets.bin"), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
os.pwrite(fd, b"A" * 100, 0)
os.pwrite(fd, b"B" * 10, 1 << 20)
os.pwrite(fd, b"C" * 5, 50)
os.close(fd)
want = b"A" * 50 + b"C" * 5 + b"A" * 45 + b"\0" * ((1 << 20) - 100) + b"B" * 10
out(rd(P("offsets.bin")) == want, "pwrite at offsets: bytes and hole read back")
out(os.stat(P("offsets.bin")).st_size == (1 << 20) + 10, "pwrite: size")
out(err_of(lambda: os.open(P("offsets.bin"), os.O_CREAT | os.O_EXCL |
                           os.O_WRONLY)) == errno.EEXIST, "O_EXCL: EEXIST")

# writes into the middle of an imported file (copy of stored content)
big0 = rd(os.path.join(SRC, "big.bin"))
with open(P("big.bin"), "r+b") as f:
    f.seek(1 << 20)
    f.write(b"X" * 4096)
want_big = big0[:1 << 20] + b"X" * 4096 + big0[(1 << 20) + 4096:]
out(rd(P("big.bin")) == want_big, "overwrite inside an imported 3 MiB file")

# O_APPEND
fd = os.open(P("a.txt"), os.O_WRONLY | os.O_APPEND)
os.write(fd, b"more\n")
os.pwrite(fd, b"x", 0) if False else None
os.close(fd)
out(rd(P("a.txt")) == b"hello\nmore\n", "O_APPEND appends to an imported file")
with open(P("log.txt"), "ab") as f:
    f.write(b"1\n")
with open(P("log.txt"), "ab") as f:
    f.write(b"2\n")
out(rd(P("log.txt")) == b"1\n2\n", "O_APPEND on a new file")

# O_TRUNC of an imported file
with open(P("sub/deep/d.txt"), "wb") as f:
    f.write(b"new deep\n")
out(rd(P("sub/deep/d.txt")) == b"new deep\n", "O_TRUNC rewrites an imported file")
fd = os.open(P("sub/deep/d.txt"), os.O_WRONLY | os.O_TRUNC)
os.close(fd)
out(os.stat(P("sub/deep/d.txt")).st_size == 0, "O_TRUNC alone: size 0")
with open(P("sub/deep/d.txt"), "wb") as f:
    f.write(b"deep again\n")

# ftruncate: shrink and grow
fd = os.open(P("trunc.bin"), os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"0123456789")
os.ftruncate(fd, 4)
out(os.fstat(fd).st_size == 4 and os.pread(fd, 100, 0) == b"0123",
    "ftruncate shrink")
os.ftruncate(fd, 8)
out(os.pread(fd, 100, 0) == b"0123\0\0\0\0", "ftruncate grow: zeros")
os.close(fd)
out(rd(P("trunc.bin")) == b"0123\0\0\0\0", "ftruncate: bytes after close")
os.truncate(P("trunc.bin"), 2)
out(rd(P("trunc.bin")) == b"01", "truncate(2) by path")

# fallocate
fd = os.open(P("falloc.bin"), os.O_CREAT | os.O_RDWR, 0o644)
try:
    os.posix_fallocate(fd, 0, 65536)
    st = os.fstat(fd)
    out(st.st_size == 65536 and os.pread(fd, 65536, 0) == b"\0" * 65536,
        "posix_fallocate: size 65536 of zeros")
except OSError as e:
    out(False, "posix_fallocate: %s" % os.strerror(e.errno))
os.close(fd)

# rename over an existing file (os.replace), inode numbers kept
ino_tmp = None
with open(P("replace.tmp"), "wb") as f:
    f.write(b"replacement\n")
    f.flush()
    os.fsync(f.fileno())
ino_tmp = os.stat(P("replace.tmp")).st_ino
os.replace(P("replace.tmp"), P("a.txt"))
out(rd(P("a.txt")) == b"replacement\n", "os.replace over an imported file")
out(os.stat(P("a.txt")).st_ino == ino_tmp, "os.replace keeps the st_ino")
out(not os.path.exists(P("replace.tmp")), "os.replace: old name gone")
ino = os.stat(P("old-name.txt")).st_ino
os.rename(P("old-name.txt"), P("new-name.txt"))
out(os.stat(P("new-name.txt")).st_ino == ino, "rename of an imported file keeps st_ino")
dfd = os.open(B, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(dfd)
os.close(dfd)

# rename of a directory with its children
os.makedirs(P("tree1/x/y"))
with open(P("tree1/x/y/f"), "wb") as f:
    f.write(b"in tree\n")
ino_d = os.stat(P("tree1")).st_ino
os.rename(P("tree1"), P("tree2"))
out(rd(P("tree2/x/y/f")) == b"in tree\n" and not os.path.exists(P("tree1")),
    "rename of a new directory moves its children")
out(os.stat(P("tree2")).st_ino == ino_d, "rename of a directory keeps st_ino")
os.rename(P("sub/deep"), P("deep"))
out(rd(P("deep/d.txt")) == b"deep again\n", "rename of an imported directory")
os.rename(P("deep"), P("sub/deep"))
out(err_of(lambda: os.rename(P("sub"), P("sub/deep/x"))) == errno.EINVAL,
    "rename of a dir into itself: EINVAL")

# unlink of an open file
fd = os.open(P("unlinked"), os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"still here")
os.unlink(P("unlinked"))
out(not os.path.exists(P("unlinked")), "unlink: name gone")
os.pwrite(fd, b"!", 10)
out(os.pread(fd, 100, 0) == b"still here!", "unlinked open file reads and writes")
os.close(fd)
os.unlink(P("gone.txt"))
out(err_of(lambda: os.stat(P("gone.txt"))) == errno.ENOENT, "unlink of an imported file")

# mkdir / rmdir
os.mkdir(P("emptydir"), 0o750)
out(stat.S_IMODE(os.stat(P("emptydir")).st_mode) == 0o750, "mkdir with mode 0750")
os.mkdir(P("rmme"))
os.rmdir(P("rmme"))
out(not os.path.exists(P("rmme")), "rmdir of an empty dir")
out(err_of(lambda: os.rmdir(P("sub"))) == errno.ENOTEMPTY, "rmdir non-empty: ENOTEMPTY")
out(err_of(lambda: os.mkdir(P("sub"))) == errno.EEXIST, "mkdir existing: EEXIST")

# symlinks
os.symlink("sub/keep.txt", P("newlink"))
out(os.readlink(P("newlink")) == "sub/keep.txt", "symlink + readlink")
out(rd(P("newlink")) == b"keep me\n", "symlink is followed")
os.symlink("nowhere", P("dangling"))
out(os.path.islink(P("dangling")) and not os.path.exists(P("dangling")),
    "dangling symlink lstats")

# hard links
with open(P("hl1"), "wb") as f:
    f.write(b"linked\n")
os.link(P("hl1"), P("sub/hl2"))
a, b = os.stat(P("hl1")), os.stat(P("sub/hl2"))
out(a.st_ino == b.st_ino and a.st_nlink == 2, "hard link: same st_ino, nlink 2")
with open(P("sub/hl2"), "ab") as f:
    f.write(b"via 2\n")
out(rd(P("hl1")) == b"linked\nvia 2\n", "write through one link shows in the other")
os.link(P("sub/keep.txt"), P("keep-link"))
out(os.stat(P("keep-link")).st_ino == os.stat(P("sub/keep.txt")).st_ino,
    "hard link of an imported file: same st_ino")

# chmod, utime
os.chmod(P("offsets.bin"), 0o600)
out(stat.S_IMODE(os.stat(P("offsets.bin")).st_mode) == 0o600, "chmod 0600")
os.chmod(P("sub/keep.txt"), 0o755)
os.utime(P("offsets.bin"), ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
st = os.stat(P("offsets.bin"))
out(st.st_mtime_ns == 1_500_000_000_987_654_321, "utime: mtime to the ns")
out(st.st_atime_ns == 1_600_000_000_123_456_789, "utime: atime to the ns")
os.utime(P("emptydir"), ns=(1_400_000_000_000_000_001, 1_400_000_000_000_000_001))
out(os.stat(P("emptydir")).st_mtime_ns == 1_400_000_000_000_000_001, "utime of a dir")
# chown is kept in the working tree only (we run as root, or skip)
if os.getuid() == 0:
    os.chown(P("log.txt"), 1234, 2345)
    st = os.stat(P("log.txt"))
    out((st.st_uid, st.st_gid) == (1234, 2345), "chown shows in the working tree")

# fsync / fdatasync
fd = os.open(P("synced"), os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"durable\n")
os.fsync(fd)
os.fdatasync(fd)
os.close(fd)
out(rd(P("synced")) == b"durable\n", "fsync and fdatasync")

# mmap MAP_SHARED writes
with open(P("mapped.bin"), "wb") as f:
    f.write(b"\0" * 8192)
with open(P("mapped.bin"), "r+b") as f:
    m = mmap.mmap(f.fileno(), 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[0:5] = b"mmap!"
    m[4096:4100] = b"page"
    m.flush()
    m.close()
d = rd(P("mapped.bin"))
out(d[:5] == b"mmap!" and d[4096:4100] == b"page" and len(d) == 8192,
    "mmap MAP_SHARED writes reach the file")
# mmap of an imported file, written
with open(P("sub/keep.txt"), "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[0:4] = b"KEEP"
    m.close()
out(rd(P("sub/keep.txt")) == b"KEEP me\n", "mmap write into an imported file")

# xattrs (kept in the working tree only)
os.setxattr(P("synced"), "user.note", b"value1")
out(os.getxattr(P("synced"), "user.note") == b"value1", "setxattr / getxattr")
out("user.note" in os.listxattr(P("synced")), "listxattr")
os.setxattr(P("synced"), "user.note", b"v2", os.XATTR_REPLACE)
out(os.getxattr(P("synced"), "user.note") == b"v2", "setxattr XATTR_REPLACE")
out(err_of(lambda: os.setxattr(P("synced"), "user.note", b"x", os.XATTR_CREATE))
    == errno.EEXIST, "setxattr XATTR_CREATE on an existing name: EEXIST")
os.removexattr(P("synced"), "user.note")
out(err_of(lambda: os.getxattr(P("synced"), "user.note")) == errno.ENODATA,
    "removexattr: then ENODATA")

# statfs
sv = os.statvfs(B)
out(sv.f_bsize > 0 and sv.f_blocks > 0 and sv.f_namemax >= 255 and
    not (sv.f_flag & os.ST_RDONLY), "statvfs: sizes, namemax, not read-only")

# special files live in the working tree only (80cf527): a snapshot
# leaves them out and says so (checked there)
e = err_of(lambda: os.mkfifo(P("fifo")))
out(e == 0 and stat.S_ISFIFO(os.lstat(P("fifo")).st_mode),
    "mkfifo in a working tree (%s)" % errno.errorcode.get(e, e))

# readdir: d_ino == st_ino, every name once
names = sorted(os.listdir(B))
out(len(names) == len(set(names)) and "new-name.txt" in names and
    "gone.txt" not in names and "old-name.txt" not in names, "readdir shows the edits")
bad = [e.name for e in os.scandir(B) if e.inode() != os.lstat(e.path).st_ino]
out(not bad, "readdir d_ino == st_ino (%s)" % bad)
print("DONE")
EOF

# ---- read-your-writes from a second process, also after it cached pages
pyrun "$B" <<'EOF'
import os, subprocess, sys
B = sys.argv[1]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
p = os.path.join(B, "ryw.txt")
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"first")
# not closed, not fsync'd: another process must see it
r = subprocess.run(["cat", p], capture_output=True)
out(r.stdout == b"first", "another process reads a write before close")
# a reader that keeps the file open and has its pages cached
rd = subprocess.Popen([sys.executable, "-c", """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for line in sys.stdin:
    sys.stdout.write(os.pread(fd, 100, 0).decode() + "\\n")
    sys.stdout.flush()
""", p], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
rd.stdin.write("go\n"); rd.stdin.flush()
a = rd.stdout.readline().strip()
os.pwrite(fd, b"SECOND", 0)
rd.stdin.write("go\n"); rd.stdin.flush()
b = rd.stdout.readline().strip()
rd.stdin.close(); rd.wait()
out(a == "first" and b == "SECOND",
    "an open reader in another process sees the overwrite (%r, %r)" % (a, b))
os.close(fd)
# an imported file read (cached) by one process, rewritten by another
q = os.path.join(B, "sub/deep/d.txt")
r1 = subprocess.run(["cat", q], capture_output=True).stdout
with open(q, "r+b") as f:
    f.write(b"DEEP")
r2 = subprocess.run(["cat", q], capture_output=True).stdout
out(r1 == b"deep again\n" and r2 == b"DEEP again\n",
    "cat after a rewrite by another process: new bytes")
# size grows and shrinks are seen by stat in another process
with open(p, "ab") as f:
    f.write(b"+" * 1000)
r = subprocess.run(["stat", "-c", "%s", p], capture_output=True, text=True)
out(r.stdout.strip() == "1006", "stat in another process sees the new size")
print("DONE")
EOF

# ---- frameworks: np.save and torch.save through a temp file + os.replace
pyrun "$B" <<'EOF'
import os, sys
B = sys.argv[1]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
try:
    import numpy as np
except Exception:
    print("SKIP - numpy not installed")
    print("DONE"); sys.exit(0)
arr = np.random.default_rng(3).standard_normal((256, 512)).astype(np.float32)
os.makedirs(os.path.join(B, "ckpt"), exist_ok=True)
tmp = os.path.join(B, "ckpt", ".features.npy.tmp")
with open(tmp, "wb") as f:
    np.save(f, arr)
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, os.path.join(B, "ckpt", "features.npy"))
np.save(os.path.join(B, "ckpt", "direct.npy"), arr * 2)
back = np.load(os.path.join(B, "ckpt", "features.npy"))
out(np.array_equal(back, arr), "np.save via temp + os.replace, np.load back")
m = np.load(os.path.join(B, "ckpt", "direct.npy"), mmap_mode="r")
out(np.array_equal(m, arr * 2), "np.save direct, np.load mmap_mode='r'")
try:
    import torch
except Exception:
    print("SKIP - torch not installed")
    print("DONE"); sys.exit(0)
sd = {"w": torch.from_numpy(arr.copy()), "b": torch.arange(1000)}
tmp = os.path.join(B, "ckpt", "model.pt.tmp")
torch.save(sd, tmp)
os.replace(tmp, os.path.join(B, "ckpt", "model.pt"))
back = torch.load(os.path.join(B, "ckpt", "model.pt"))
out(set(back) == {"w", "b"} and torch.equal(back["w"], sd["w"]) and
    torch.equal(back["b"], sd["b"]), "torch.save via temp + os.replace, torch.load")
# a second save over the first (the checkpoint loop)
sd["b"] = sd["b"] * 3
torch.save(sd, tmp)
os.replace(tmp, os.path.join(B, "ckpt", "model.pt"))
back = torch.load(os.path.join(B, "ckpt", "model.pt"))
out(torch.equal(back["b"], sd["b"]), "torch.save over the previous checkpoint")
print("DONE")
EOF

# ---- shutil.copytree, rsync -a, git clone into the branch
cp -a "$src" "$W/tocopy"
touch -d '2020-01-02 03:04:05.123456789' "$W/tocopy/sub/keep.txt"
pyrun "$B" "$W/tocopy" <<'EOF'
import os, shutil, sys
B, SRC = sys.argv[1], sys.argv[2]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
shutil.copytree(SRC, os.path.join(B, "copied"), symlinks=True)
st = os.stat(os.path.join(B, "copied/sub/keep.txt"))
st0 = os.stat(os.path.join(SRC, "sub/keep.txt"))
out(st.st_mtime_ns == st0.st_mtime_ns and st.st_mode == st0.st_mode,
    "shutil.copytree keeps mode and mtime")
out(open(os.path.join(B, "copied/big.bin"), "rb").read() ==
    open(os.path.join(SRC, "big.bin"), "rb").read(), "shutil.copytree: bytes")
out(os.readlink(os.path.join(B, "copied/link")) == "a.txt", "shutil.copytree: symlink")
print("DONE")
EOF
check "copytree: same tree as the source" same_tree "$W/tocopy" "$B/copied"

if command -v rsync >/dev/null; then
	check "rsync -a into the branch" T rsync -a "$W/tocopy/" "$B/rsynced/"
	check "rsync -a: same tree as the source" \
		same_tree "$W/tocopy" "$B/rsynced"
	# a second rsync with changes: rsync writes a temp file and renames
	echo "changed by rsync" >"$W/tocopy/a.txt"
	touch -d '2021-05-06 07:08:09' "$W/tocopy/a.txt"
	check "rsync -a again (temp file + rename)" \
		T rsync -a "$W/tocopy/" "$B/rsynced/"
	check "rsync -a again: same tree" same_tree "$W/tocopy" "$B/rsynced"
else
	echo "SKIP - rsync not installed"
fi

git_src=$W/gitsrc
mkdir -p "$git_src"
(
	cd "$git_src" && git init -q && git config user.email t@t &&
		git config user.name t && printf 'print(1)\n' >train.py &&
		mkdir conf && printf 'lr: 0.1\n' >conf/a.yaml &&
		git add . && git commit -qm one && printf 'x\n' >>train.py &&
		git commit -qam two
) || fail "make the git fixture"
check "git clone into the branch" T git clone -q "$git_src" "$B/code"
check "git fsck of the clone" T git -C "$B/code" fsck --no-progress
check "git log of the clone: 2 commits" \
	test "$(T git -C "$B/code" rev-list --count HEAD)" = 2
check "git status of the clone: clean" \
	test -z "$(T git -C "$B/code" status --porcelain)"
check "git checkout in the branch" T git -C "$B/code" checkout -q HEAD~1
check "git checkout: train.py at commit one" \
	test "$(cat "$B/code/train.py")" = "print(1)"

# ---- status: A, M, D, R lines; --json parses
expect_exit 0 mlfs status data/set
expect_out '^  M a\.txt ' "status: M a.txt"
expect_out '^  M big\.bin ' "status: M big.bin"
expect_out '^  D gone\.txt ' "status: D gone.txt"
expect_out '^  R old-name\.txt -> new-name\.txt ' "status: R old -> new"
expect_out '^  A offsets\.bin ' "status: A offsets.bin"
expect_out '^  A emptydir/' "status: A emptydir/"
expect_out '^  P sub/keep\.txt|^  M sub/keep\.txt' \
	"status: sub/keep.txt changed (mode or content)"
expect_exit 0 mlfs status data/set --json
json_ok "status --json: one branch, the changes" '
len(d) == 1 and d[0]["branch"] in ("data/set", "data/set@main") and
not d[0]["branch_moved"] and
{(c["change"], c["path"]) for c in d[0]["changes"]} >= {
 ("M", "a.txt"), ("D", "gone.txt"), ("A", "offsets.bin"),
 ("R", "new-name.txt")} and
[c for c in d[0]["changes"] if c["path"] == "offsets.bin"][0]["size"] ==
 (1 << 20) + 10 and
[c.get("old_path") for c in d[0]["changes"] if c["path"] ==
 "new-name.txt"] == ["old-name.txt"]'
# (known bug, 2026-12-02: a FIFO's mode comes as "10644", type bits in it)
json_ok "status --json: every mode is four octal digits of permission bits" \
	'all(len(c["mode"]) == 4 and set(c["mode"]) <= set("01234567")
	 for c in d[0]["changes"])'
expect_exit 0 mlfs status
expect_out '^data/set(@main)?:$' "status without argument lists data/set"
if grep -q '^data/set@dev' "$OUT_F"; then
	fail "status without argument lists the clean branch dev"
else
	ok "status without argument leaves out the clean branch dev"
fi

# ---- the manifest of the working tree before the snapshot
check "manifest of the working tree" manifest "$B" "$W/wt.manifest"

# ---- a file open for writing at snapshot time
"$PY" - "$B/held-open.txt" "$W/held.fifo" <<'EOF' &
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"partial content\n")
open(sys.argv[2] + ".ready", "w").close()
while not os.path.exists(sys.argv[2] + ".done"):
    import time; time.sleep(0.02)
os.write(fd, b"after the snapshot\n")
os.close(fd)
EOF
holder=$!
for _ in $(seq 200); do [ -e "$W/held.fifo.ready" ] && break; sleep 0.02; done

# ---- snapshot with the mount running, tag v2
snap data/set -t v2 -m "worktree test"
if [ "$RC" -eq 0 ]; then ok "snapshot -t v2: exit 0"; else
	fail "snapshot -t v2: exit $RC"; show_last; fi
c2=$(tr -d '[:space:]' <"$OUT_F")
is "snapshot prints the commit id" is_hex32 "$c2"
expect_err "note: 'held-open\.txt' was open for writing" \
	"snapshot: a note names the file open for writing"
expect_err "note: 'fifo' is a FIFO, socket or device" \
	"snapshot: a note names the FIFO it leaves out"
touch "$W/held.fifo.done"
wait "$holder"
check "the open file's writer finished" test $? -eq 0

expect_exit 0 mlfs log data/set --json
json_ok "log --json: the snapshot is the head" \
	"(d[0].get('id') or d[0].get('commit')) == '$c2'"
if [ "$(resolve "$S" data/set@v2)" = "$c2" ]; then ok "tag v2 names the snapshot"
else fail "tag v2 does not name $c2"; fi
run mlfs show data/set@v2
expect_out "$c1" "the snapshot's parent is v1"
expect_out "worktree test" "the snapshot's message"

# the tag shows in the mount at once, read-only, same tree
check "the mount shows data/set@v2 at once" test -d "$mnt/data/set@v2"
held_tag=$(cat "$mnt/data/set@v2/held-open.txt" 2>/dev/null)
check "held-open.txt in v2: the content at snapshot time" \
	test "$held_tag" = "partial content"
check "the working tree keeps the later write" test \
	"$(cat "$B/held-open.txt")" = "$(printf 'partial content\nafter the snapshot')"

# export of v2 compared with the working tree as it was
X=$W/export
expect_exit 0 mlfs export -q data/set@v2 "$X"
check "export == working tree before the snapshot (bytes, modes, mtimes)" \
	bash -c "'$PY' '$W/manifest.py' '$X' '$W/x.manifest' &&
		grep -v '^held-open.txt	' '$W/wt.manifest' >'$W/wt2' &&
		grep -v '^held-open.txt	' '$W/x.manifest' >'$W/x2' &&
		diff '$W/wt2' '$W/x2'"
check "diff -r export vs the tag in the mount" \
	T diff -r --no-dereference "$X" "$mnt/data/set@v2"
check "export vs the tag in the mount (modes, mtimes)" \
	same_tree "$X" "$mnt/data/set@v2"
check "export: hard links became two files with the same bytes" \
	cmp "$X/hl1" "$X/sub/hl2"
check "export: no FIFO (versions leave it out)" \
	bash -c "test ! -e '$X/fifo' && test ! -e '$mnt/data/set@v2/fifo'"
check "the working tree keeps its FIFO" test -p "$B/fifo"
check "export: ckpt and clone present" \
	bash -c "test -f '$X/ckpt/features.npy' && test -d '$X/code/.git'"

# after the snapshot the working tree is clean and unchanged
# held-open.txt got a write after the snapshot: it alone differs (known
# bug, 2026-12-02: the FIFO the snapshot left out comes back as "A fifo"
# once anything else changed, though status says "no changes" while
# nothing else did)
expect_exit 0 mlfs status data/set
if [ "$(cat "$OUT_F")" = "$(printf 'data/set:\n  M held-open.txt  (16 B -> 35 B)')" ]; then
	ok "status after the snapshot: only the later write to held-open.txt"
else
	fail "status after the snapshot: only the later write to held-open.txt"
	show_last
fi
check "the working tree after the snapshot: same files" \
	bash -c "'$PY' '$W/manifest.py' '$B' '$W/wt3' &&
		grep -v '^held-open.txt	' '$W/wt3' >'$W/wt4' &&
		diff '$W/wt2' '$W/wt4'"

# ---- snapshot with no changes: says so, exit 0, no commit
snap data/set -t v3 -m "the later write"
is "snapshot -t v3 of the later write: exit 0" test "$RC" -eq 0
c3=$(tr -d '[:space:]' <"$OUT_F")
is "snapshot -t v3: a commit id" is_hex32 "$c3"
expect_exit 0 mlfs cat data/set@v3/held-open.txt
is "v3 holds the later write" test "$(cat "$OUT_F")" = \
	"$(printf 'partial content\nafter the snapshot')"
expect_exit 0 mlfs status data/set
expect_out "no changes" "status after the second snapshot: no changes"
snap data/set@dev
is "snapshot of an unedited branch: exit 0" test "$RC" -eq 0
expect_out "^nothing to snapshot" "snapshot of an unedited branch: says so"
check "no commit on dev" test "$(resolve "$S" data/set@dev)" = "$c0"
expect_exit 0 mlfs snapshot data/set --json
json_ok "snapshot --json with no changes" \
	'd["no_changes"] is True and d["commit"] is None'
check "head unchanged after the empty snapshot" \
	test "$(resolve "$S" data/set)" = "$c3"

# ---- EROFS on every write form into fixed versions
# each fixed version's a.txt, as the CLI reads it
for r in v0 "$c0" main~1 v1~1 "{$date_now}" v2; do
	mlfs cat "data/set@$r/a.txt" >"$W/a.$(echo "$r" | tr -c 'a-z0-9' _)"
done
pyrun "$W" "$mnt/data/set@v0" "$mnt/data/set@$c0" "$mnt/data/set@main~1" \
	"$mnt/data/set@v1~1" "$mnt/data/set@{$date_now}" "$mnt/data/set@v2" <<'EOF'
import errno, os, sys
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
def err_of(fn):
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0
import re
for root in sys.argv[2:]:
    tag = os.path.basename(root)
    want = open(os.path.join(sys.argv[1], "a." + re.sub("[^a-z0-9]", "_",
                tag.split("@", 1)[1] + "\n")), "rb").read()
    if not os.path.isdir(root):
        out(False, "%s: exists" % tag)
        continue
    f = os.path.join(root, "a.txt")
    n = os.path.join(root, "new")
    forms = {
        "create": lambda: os.open(n, os.O_CREAT | os.O_WRONLY, 0o644),
        "open O_WRONLY": lambda: os.open(f, os.O_WRONLY),
        "open O_RDWR": lambda: os.open(f, os.O_RDWR),
        "open O_TRUNC": lambda: os.open(f, os.O_WRONLY | os.O_TRUNC),
        "open O_APPEND": lambda: os.open(f, os.O_WRONLY | os.O_APPEND),
        "truncate": lambda: os.truncate(f, 0),
        "mkdir": lambda: os.mkdir(n),
        "rmdir": lambda: os.rmdir(os.path.join(root, "sub/deep")),
        "unlink": lambda: os.unlink(f),
        "rename": lambda: os.rename(f, n),
        "symlink": lambda: os.symlink("a.txt", n),
        "link": lambda: os.link(f, n),
        "chmod": lambda: os.chmod(f, 0o600),
        "utime": lambda: os.utime(f, (1, 1)),
        "setxattr": lambda: os.setxattr(f, "user.x", b"1"),
        "mkfifo": lambda: os.mkfifo(n),
    }
    if os.getuid() == 0:
        forms["chown"] = lambda: os.chown(f, 1, 1)
    bad = []
    for k, fn in forms.items():
        e = err_of(fn)
        if e != errno.EROFS:
            bad.append("%s: %s" % (k, errno.errorcode.get(e, e)))
    out(not bad, "%s: EROFS on every write form %s" % (tag, bad or ""))
    try:
        os.removexattr(f, "user.mlfs.digest")
        out(False, "%s: removexattr EROFS (succeeded)" % tag)
    except OSError as e:
        out(e.errno in (errno.EROFS,), "%s: removexattr %s" % (tag, errno.errorcode[e.errno]))
    out(open(f, "rb").read() == want and want, "%s: a.txt as mlfs cat reads it" % tag)
print("DONE")
EOF

# ---- new repositories by mkdir
check "mkdir MNT/data/newrepo" mkdir "$mnt/data/newrepo"
check "mkdir -p MNT/newns/newrepo" mkdir -p "$mnt/newns/newrepo"
expect_exit 0 mlfs repos
expect_out '^data/newrepo[[:space:]]' "repos lists data/newrepo"
expect_out '^newns/newrepo[[:space:]]' "repos lists newns/newrepo"
check "write into the new repository at once" \
	bash -c "echo first >'$mnt/newns/newrepo/f.txt' &&
		mkdir '$mnt/newns/newrepo/d' && echo x >'$mnt/newns/newrepo/d/x'"
expect_exit 0 mlfs ls newns/newrepo
is "the new repository has no version yet (ls prints nothing)" \
	test ! -s "$OUT_F"
run "$PY" -c 'import os,sys; os.rmdir(sys.argv[1])' "$mnt/data/set"
is "rmdir of a repository is refused" test "$RC" -ne 0
expect_err "Operation not permitted|Directory not empty" \
	"rmdir of a repository: EPERM or ENOTEMPTY"
run "$PY" -c 'import os,sys; os.rmdir(sys.argv[1])' "$mnt/data/newrepo"
is "rmdir of an empty new repository is refused" test "$RC" -ne 0
check "data/newrepo still listed" test -d "$mnt/data/newrepo"
snap newns/newrepo -t first
is "snapshot of the new repository: exit 0" test "$RC" -eq 0
cn=$(tr -d '[:space:]' <"$OUT_F")
is "snapshot of the new repository: a commit id" is_hex32 "$cn"
expect_exit 0 mlfs show newns/newrepo@first --json
json_ok "the first commit has no parent" \
	'not d.get("parent") and not d.get("parents")'
expect_exit 0 mlfs cat newns/newrepo/d/x
check "the first commit holds d/x" test "$(cat "$OUT_F")" = x

# ---- discard
check "edit dev: write, delete, mkdir" bash -c "
	echo dev-edit >'$mnt/data/set@dev/a.txt' &&
	rm '$mnt/data/set@dev/gone.txt' && mkdir '$mnt/data/set@dev/nd'"
expect_exit 0 mlfs status data/set@dev
expect_out '^  M a\.txt ' "status dev: M a.txt"
expect_out '^  D gone\.txt ' "status dev: D gone.txt"
expect_out '^  A nd/' "status dev: A nd/"
# the edited bytes are in the page cache now: discard must drop them
check "read the edit before the discard" \
	test "$(cat "$mnt/data/set@dev/a.txt")" = dev-edit
run mlfs discard data/set@dev
if [ "$RC" -ne 0 ] && grep -q "the store is mounted" "$ERR_F"; then
	fail "discard with the mount running: refused"
	do_umount
	run mlfs discard data/set@dev
	do_mount
fi
is "discard data/set@dev: exit 0" test "$RC" -eq 0
check "discard: a.txt is the head's again" \
	test "$(cat "$mnt/data/set@dev/a.txt")" = hello
check "discard: gone.txt is back" test -f "$mnt/data/set@dev/gone.txt"
check "discard: nd is gone" test ! -e "$mnt/data/set@dev/nd"
expect_exit 0 mlfs status data/set@dev
expect_out "no changes" "status after discard: no changes"

# ---- a file open for writing at snapshot time, --json
pyrun "$mnt/data/set@dev" "$MLFS" "$S" <<'EOF'
import json, os, subprocess, sys
D, MLFS, S = sys.argv[1:4]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
fd = os.open(os.path.join(D, "open2.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x" * 5000)
r = subprocess.run([MLFS, "--store", S, "snapshot", "data/set@dev", "--json"],
                   capture_output=True, text=True)
os.close(fd)
out(r.returncode == 0, "snapshot --json with a file open: exit 0 (%s)" % r.stderr.strip())
try:
    d = json.loads(r.stdout)
except ValueError:
    d = {}
out(d.get("open_files") == ["open2.bin"] and d.get("no_changes") is False,
    "snapshot --json: open_files names it (%s)" % r.stdout.strip())
r = subprocess.run([MLFS, "--store", S, "cat", "data/set@dev/open2.bin"],
                   capture_output=True)
out(r.stdout == b"x" * 5000, "the open file's content is in the commit")
print("DONE")
EOF

# ---- names the mount cannot make: a clear errno, never a silent success
pyrun "$mnt" <<'EOF'
import errno, os, sys
M = sys.argv[1]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
def err_of(fn):
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0
def name(e):
    return errno.errorcode.get(e, e)
for what, fn in [
        ("a file in a namespace", lambda: os.open(os.path.join(M, "data/f"),
                                                  os.O_CREAT | os.O_WRONLY)),
        ("a file at the top", lambda: os.open(os.path.join(M, "f"),
                                              os.O_CREAT | os.O_WRONLY)),
        ("a symlink in a namespace",
         lambda: os.symlink("x", os.path.join(M, "data/l"))),
        ("rename of a repository",
         lambda: os.rename(os.path.join(M, "data/set"), os.path.join(M, "data/s2")))]:
    e = err_of(fn)
    out(e in (errno.EROFS, errno.EPERM, errno.EACCES), "%s: %s" % (what, name(e)))
# a name with a reference in it names no directory that could be made:
# EEXIST would claim it exists (they did before 1287f04)
for n in ("set@newbranch", "bad@name", "set~1"):
    p = os.path.join(M, "data", n)
    exists = os.path.exists(p)
    e = err_of(lambda: os.mkdir(p))
    out(e != 0 and (e != errno.EEXIST or exists),
        "mkdir data/%s: %s (exists: %s)" % (n, name(e), exists))
# across branches: EXDEV, as between file systems (mv then copies)
a = os.path.join(M, "data/set@dev/a.txt")
out(err_of(lambda: os.rename(a, os.path.join(M, "data/set/x"))) == errno.EXDEV,
    "rename across branches: EXDEV")
out(err_of(lambda: os.link(a, os.path.join(M, "data/set/x"))) == errno.EXDEV,
    "link across branches: EXDEV")
out(not os.path.exists(os.path.join(M, "data/set/x")), "nothing made by them")
# appends from two processes at once interleave whole writes
p = os.path.join(M, "data/set@dev/appends.log")
pids = []
for k in range(2):
    pid = os.fork()
    if pid == 0:
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for i in range(1000):
            os.write(fd, (b"%d-%05d " % (k, i)).ljust(99, b".") + b"\n")
        os.close(fd)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
d = open(p, "rb").read()
lines = d.split(b"\n")[:-1]
out(len(d) == 200000 and all(len(l) == 99 for l in lines) and
    sorted(l[:7] for l in lines) == sorted(b"%d-%05d" % (k, i)
                                           for k in range(2) for i in range(1000)),
    "O_APPEND from two processes: 2000 whole lines")
os.unlink(p)
print("DONE")
EOF
# a bare namespace: refused, or there for good (listed, and after remount;
# before 1287f04 stat saw it, readdir did not, and a remount forgot it)
run mkdir "$mnt/onlyns"
if [ "$RC" -eq 0 ]; then
	is "mkdir of a bare namespace: readdir of the top lists it" \
		grep -qx onlyns <(ls "$mnt")
	echo onlyns >"$W/ns.made"
else
	expect_err "Operation not permitted|Read-only|not supported" \
		"mkdir of a bare namespace: refused with a clear errno"
fi

# ---- deleting a branch with edits is refused; gc keeps what they need
check "edit dev" bash -c "echo dev-edit >'$mnt/data/set@dev/e.txt'"
expect_exit 1 mlfs branch --delete data/set dev
expect_err "edits that are not in a version" \
	"branch --delete of a branch with edits: refused, names the edits"
expect_exit 0 mlfs gc
check "after gc: the edit reads back" \
	test "$(cat "$mnt/data/set@dev/e.txt")" = dev-edit
check "after gc: an untouched stored file reads back" \
	cmp "$mnt/data/set@dev/big.bin" "$src/big.bin"
check "discard data/set@dev e.txt (one path)" mlfs discard data/set@dev e.txt
check "e.txt is gone after its discard" test ! -e "$mnt/data/set@dev/e.txt"

# ---- snapshot names a branch: a tag or ~N is refused
expect_exit 1 mlfs snapshot data/set@v0
expect_err "names a tag" "snapshot of a tag: refused, says it is a tag"
run mlfs snapshot data/set@main~1
is "snapshot of ~N: refused (exit 1 or 2)" test "$RC" -eq 1 -o "$RC" -eq 2
expect_err "not a branch" "snapshot of ~N: says it is not a branch"
expect_exit 1 mlfs snapshot nope/nothing
expect_err "no repository 'nope/nothing'" "snapshot of a missing repository"

# ---- import into a branch with uncommitted edits is refused
check "edit main again" bash -c "echo uncommitted >'$B/pending.txt'"
printf 'import over edits\n' >"$W/imp.txt"
run mlfs import -q "$W/imp.txt" data/set
is "import into a branch with edits: exit 1" test "$RC" -eq 1
expect_err "uncommitted|working tree|edits" \
	"import into an edited branch: the message names the edits"
check "the refused import left the head" \
	test "$(resolve "$S" data/set)" = "$c3"
check "the edits are still there" \
	test "$(cat "$B/pending.txt" 2>/dev/null)" = uncommitted

# ---- an edit made while an import of the same branch runs: the import
# checked for edits before it began, so it must refuse, or the edit must
# go on top of its commit; never a branch that moved under the edits
# (known bug, 2026-12-02: the import commits, status says "the branch
# moved", and every snapshot is refused). The import is stopped (SIGSTOP)
# once it reads its source, so the edit lands inside it.
mkdir -p "$W/race"
head -c 64M /dev/urandom >"$W/race/big.bin"
expect_exit 0 mlfs import -q "$src" data/race
pyrun "$MLFS" "$S" "$W/race" "$mnt/data/race" <<'EOF'
import os, signal, subprocess, sys, time
MLFS, S, SRC, D = sys.argv[1:5]
def out(c, name):
    print(("ok - " if c else "FAIL - ") + name)
os.listdir(D)
p = subprocess.Popen([MLFS, "--store", S, "import", "-q", SRC, "data/race"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
caught = False
t = time.monotonic()
while p.poll() is None and time.monotonic() - t < 20:
    try:
        fds = os.listdir("/proc/%d/fd" % p.pid)
        if any(os.readlink("/proc/%d/fd/%s" % (p.pid, f)).endswith("big.bin")
               for f in fds):
            os.kill(p.pid, signal.SIGSTOP)
            caught = True
            break
    except OSError:
        pass
    time.sleep(0.0005)
with open(os.path.join(D, "a.txt"), "w") as f:
    f.write("edited during the import\n")
if caught:
    os.kill(p.pid, signal.SIGCONT)
o, e = p.communicate(timeout=60)
if not caught:
    print("SKIP - the import ended before it could be stopped")
st = subprocess.run([MLFS, "--store", S, "status", "data/race"],
                    capture_output=True, text=True).stdout
out("branch moved" not in st,
    "an edit during an import: no branch moved under it (import exit %d: %s; status: %s)"
    % (p.returncode, e.strip()[:100], st.strip().replace("\n", " / ")[:160]))
r = subprocess.run([MLFS, "--store", S, "snapshot", "data/race"],
                   capture_output=True, text=True)
out(r.returncode == 0, "and the next snapshot succeeds (%s)" % r.stderr.strip()[:200])
# (known bug, 2026-12-02: the refusal says the same sentence twice, once
# as the message and once as the detail cli_error appends)
out(r.stderr.count("moved to") <= 1, "a refused snapshot names the move once")
print("DONE")
EOF

# ---- edits survive unmount and remount
check "umount" do_umount
check "mount again" do_mount
check "after remount: the uncommitted file" \
	test "$(cat "$B/pending.txt" 2>/dev/null)" = uncommitted
check "after remount: the working tree as before (but pending.txt)" \
	bash -c "'$PY' '$W/manifest.py' '$B' '$W/wt5' pending.txt &&
		grep -v '^held-open.txt	' '$W/wt5' >'$W/wt6' &&
		diff '$W/wt2' '$W/wt6'"
check "after remount: the hard links still share st_ino" test \
	"$(stat -c %i "$B/hl1")" = "$(stat -c %i "$B/sub/hl2")"
expect_exit 0 mlfs status data/set
expect_out '^  A pending\.txt ' "status after remount: A pending.txt"

if [ -e "$W/ns.made" ]; then
	is "the bare namespace made by mkdir survives a remount" \
		test -d "$mnt/onlyns"
fi

# ---- a script that unmounts, then snapshots at once (before 1287f04 the
# snapshot failed: "held by a running mount that does not answer")
pid=$(daemon_pid "$mnt")
check "mlfs umount" T "$MLFS" --store "$S" umount "$mnt"
run mlfs snapshot data/set -m "right after umount"
is "snapshot right after mlfs umount: exit 0" test "$RC" -eq 0
[ "$RC" -eq 0 ] || show_last
for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
# (if it failed, the snapshot once the daemon is gone, for the checks after)
[ "$RC" -eq 0 ] || run mlfs snapshot data/set -m "after umount"
expect_exit 0 mlfs status data/set
expect_out "no changes" "after that snapshot: no changes"
expect_exit 0 mlfs fsck
# under ASan/UBSan the daemon reports into its log
if grep -q 'Sanitizer\|runtime error' "$S/mount.log" 2>/dev/null; then
	fail "the daemon's log has a sanitizer report: $(grep -m1 'Sanitizer\|runtime error' "$S/mount.log")"
else
	ok "no sanitizer report in the daemon's log"
fi
summary
