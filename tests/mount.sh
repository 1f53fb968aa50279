#!/bin/bash
# tests/mount.sh - the FUSE mount, for real: two versions of a generated
# tree read back byte-identical (full reads, preads around chunk-size
# boundaries, mmap), stat/readdir/readlink/xattrs, EROFS on every write,
# ENOENT on bad refs, concurrent readers, a commit showing up under the
# branch head, a corrupted pack giving EIO, kill -9 then umount/remount.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
case $MLFS in /*) ;; *) MLFS=$top/$MLFS ;; esac
PY=/usr/bin/python3
GEN=$top/tools/gen-data

tmp=$(mktemp -d /tmp/mlfs-mount.XXXXXX)
store=$tmp/store
mnt=$tmp/mnt
pass=0
fail=0

cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	umount -l "$tmp/ro" 2>/dev/null || true
	rm -rf "$tmp" || true
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
# check NAME CMD...: one test per call
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
mlfs() { "$MLFS" --store "$store" "$@"; }
manifest() { "$GEN" manifest "$1"; }
# mtimes past 2262 do not fit the store's int64 nanoseconds (a library
# limit, not the mount's): for such a source entry the mtime is not compared
same_manifest() {
	$PY - <(manifest "$1") <(manifest "$2") <<'EOF'
import sys
a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
def norm(x, y):
    x, y = x.split("\t"), y.split("\t")
    if x[4] != "-" and not -2**63 <= int(x[4]) < 2**63:
        x[4] = y[4] = "-"
    return x, y
sys.exit(0 if len(a) == len(b) and
         all(x == y for x, y in (norm(p, q) for p, q in zip(a, b))) else 1)
EOF
}
cmp_all() {
	local f
	while IFS= read -r -d '' f; do
		cmp -s "$1/$f" "$2/$f" || return 1
	done < <(cd "$1" && find . -type f -print0)
}
# pyrun: run a python check block (stdin), count its ok/FAIL lines
pyrun() {
	local out
	out=$($PY - "$@")
	echo "$out" | grep -E '^(ok|FAIL) - '
	pass=$((pass + $(echo "$out" | grep -c '^ok - ')))
	fail=$((fail + $(echo "$out" | grep -c '^FAIL - ')))
	echo "$out" | grep -q '^DONE$' || bad "python block did not finish"
}

mkdir -p "$mnt"

# ---- fixtures: v1 (generated tree), v2 (edited copy), v3 (one more file)
"$GEN" tree "$tmp/v1" --seed 4 --big-mib 8 >/dev/null || exit 1
cp -a "$tmp/v1" "$tmp/v2"
$PY - "$tmp/v2" <<'EOF' || exit 1
import os, sys, random
d = sys.argv[1]
rng = random.Random(7)
with open(os.path.join(d, "big/big.bin"), "r+b") as f:
    for off in (100, 3 << 20, 5 << 20):
        f.seek(off)
        f.write(rng.randbytes(5000))
with open(os.path.join(d, "added.bin"), "wb") as f:
    f.write(rng.randbytes(300_000))
os.unlink(os.path.join(d, "empty"))
EOF
cp -a "$tmp/v2" "$tmp/v3"
echo "made while mounted" >"$tmp/v3/new-file.txt"

mlfs init >/dev/null || { echo "mlfs init failed"; exit 1; }
c1=$(mlfs import -q -t v1 "$tmp/v1" test/data) || exit 1
c2=$(mlfs import -q -t v2 "$tmp/v2" test/data) || exit 1
c1=$(echo "$c1" | tail -n1 | tr -d '[:space:]')
c2=$(echo "$c2" | tail -n1 | tr -d '[:space:]')

# ---- mount errors come with a clear message and exit 1
out=$("$MLFS" --store "$tmp/nostore" mount "$mnt" 2>&1)
check "mount: missing store exits 1" test $? -eq 1
out=$(mlfs mount "$tmp/nodir" 2>&1)
check "mount: missing mountpoint exits 1 ($out)" test $? -eq 1
mkdir -p "$tmp/full" && touch "$tmp/full/x"
out=$(mlfs mount "$tmp/full" 2>&1)
rc=$?
check "mount: non-empty mountpoint exits 1" test $rc -eq 1
check "mount: non-empty message" grep -q "not empty" <<<"$out"

# ---- mount
mlfs mount "$mnt"
check "mount returns 0" test $? -eq 0
check "mountpoint is mounted" mountpoint -q "$mnt"
out=$(mlfs mount "$mnt" 2>&1)
check "mount: already mounted exits 1" test $? -eq 1

check "root lists namespace" test "$(ls "$mnt")" = test
listing=$(ls "$mnt/test" | tr '\n' ' ')
check "namespace lists head and tags ($listing)" \
	test "$listing" = "data data@v1 data@v2 "

# ---- content, metadata, readlink: manifests (sha256 of every file)
check "data@v1 matches v1" same_manifest "$tmp/v1" "$mnt/test/data@v1"
check "data@v2 matches v2" same_manifest "$tmp/v2" "$mnt/test/data@v2"
check "data (head) matches v2" same_manifest "$tmp/v2" "$mnt/test/data"
check "by commit id matches v1" same_manifest "$tmp/v1" "$mnt/test/data@$c1"
check "by short commit id" same_manifest "$tmp/v1" \
	"$mnt/test/data@${c1:0:8}"
check "data@main~1 matches v1" same_manifest "$tmp/v1" \
	"$mnt/test/data@main~1"
check "data@{2999-01-01} is the head" same_manifest "$tmp/v2" \
	"$mnt/test/data@{2999-01-01}"
for v in v1 v2; do
	n1=$(cd "$tmp/$v" && find . | wc -l)
	n2=$(cd "$mnt/test/data@$v" && find . | wc -l)
	check "find | wc -l $v ($n1 = $n2)" test "$n1" = "$n2"
	check "cmp every file $v" cmp_all "$tmp/$v" "$mnt/test/data@$v"
done

# ---- preads around chunk-size boundaries, mmap, readdir, stat, xattrs
pyrun "$tmp" "$mnt/test" "$c1" "$c2" <<'EOF'
import errno, hashlib, mmap, os, random, stat, sys, threading
tmp, m, c1, c2 = sys.argv[1:5]
ok = fail = 0
def check(name, cond):
    global ok, fail
    if cond:
        ok += 1; print("ok - " + name)
    else:
        fail += 1; print("FAIL - " + name)

for v in ("v1", "v2"):
    src, dst = f"{tmp}/{v}/big/big.bin", f"{m}/data@{v}/big/big.bin"
    size = os.path.getsize(src)
    a, b = os.open(src, os.O_RDONLY), os.open(dst, os.O_RDONLY)
    rng = random.Random(1)
    offs = []
    for unit in (16 << 10, 64 << 10, 256 << 10):
        for k in range(0, size // unit + 1):
            offs += [k * unit - 1, k * unit, k * unit + 1]
    offs += [rng.randrange(size) for _ in range(300)] + [size - 1, size]
    bad = 0
    for o in offs:
        if o < 0:
            continue
        n = rng.choice((1, 2, 4096, 65537, 300000))
        if os.pread(a, n, o) != os.pread(b, n, o):
            bad += 1
    check(f"{v}: {len(offs)} preads at chunk-size boundaries +-1", bad == 0)
    with open(dst, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        data = open(src, "rb").read()
        check(f"{v}: mmap equals source", mm[:] == data)
        check(f"{v}: mmap slice", mm[size // 3: size // 3 + 99999] ==
              data[size // 3: size // 3 + 99999])
        mm.close()
    os.close(a); os.close(b)

# stat
for v in ("v1", "v2"):
    for rel in ("big/big.bin", "modes/script.sh", "links/rel"):
        s1, s2 = os.lstat(f"{tmp}/{v}/{rel}"), os.lstat(f"{m}/data@{v}/{rel}")
        check(f"{v}: stat {rel}",
              (s1.st_size, stat.S_IFMT(s1.st_mode), s1.st_mtime_ns) ==
              (s2.st_size, stat.S_IFMT(s2.st_mode), s2.st_mtime_ns) and
              (stat.S_ISLNK(s1.st_mode) or
               stat.S_IMODE(s1.st_mode) == stat.S_IMODE(s2.st_mode)))
s = os.stat(f"{m}/data@v1/big/big.bin")
check("st_blocks covers the size", s.st_blocks * 512 >= s.st_size)
check("readlink", os.readlink(f"{m}/data@v1/links/rel") ==
      os.readlink(f"{tmp}/v1/links/rel"))
i1 = os.stat(f"{m}/data@v1/big/big.bin").st_ino
ents = {e.name: e.inode() for e in os.scandir(f"{m}/data@v1/big")}
check("readdir d_ino equals st_ino", ents.get("big.bin") == i1)
names = sorted(os.listdir(f"{m}/data@v1"))
check("readdir matches source", names == sorted(os.listdir(f"{tmp}/v1")))
check("readdir has . and ..", os.system(
    f"ls -a '{m}/data@v1' | head -2 | tr '\\n' ' ' | grep -qx '. .. '") == 0)
check("statfs reports usage", os.statvfs(m).f_blocks > 0)

# xattrs
cm = os.getxattr(f"{m}/data@v1/big/big.bin", "user.mlfs.commit").decode()
check("user.mlfs.commit of a file in v1", cm.startswith(c1) or c1.startswith(cm))
cm = os.getxattr(f"{m}/data@v2/big", "user.mlfs.commit").decode()
check("user.mlfs.commit of a dir in v2", cm.startswith(c2) or c2.startswith(cm))
dg = os.getxattr(f"{m}/data@v1/big/big.bin", "user.mlfs.digest").decode()
check("user.mlfs.digest is 32 hex", len(dg) == 32 and int(dg, 16) >= 0)
dg1 = os.getxattr(f"{m}/data@v1/modes/script.sh", "user.mlfs.digest")
dg2 = os.getxattr(f"{m}/data@v2/modes/script.sh", "user.mlfs.digest")
check("same content same digest", dg1 == dg2)
check("listxattr", sorted(os.listxattr(f"{m}/data@v1/big/big.bin")) ==
      ["user.mlfs.commit", "user.mlfs.digest"])

# EROFS on every kind of write into a version (branch heads are working
# trees: tests/worktree.sh)
def erofs(fn):
    try:
        fn()
    except OSError as e:
        return e.errno == errno.EROFS
    return False
for v in ("data@v1", "data@v2", f"data@{c1}"):
    d = f"{m}/{v}"
    f = f"{d}/modes/script.sh"
    tests = {
        "open for write": lambda: open(f, "r+b"),
        "append": lambda: open(f, "ab"),
        "create": lambda: open(f"{d}/new", "wb"),
        "O_TRUNC": lambda: os.open(f, os.O_RDONLY | os.O_TRUNC),
        "truncate": lambda: os.truncate(f, 0),
        "unlink": lambda: os.unlink(f),
        "rename": lambda: os.rename(f, f + ".x"),
        "chmod": lambda: os.chmod(f, 0o600),
        "chown": lambda: os.chown(f, 1, 1),
        "utime": lambda: os.utime(f, (1, 1)),
        "mkdir": lambda: os.mkdir(f"{d}/newdir"),
        "rmdir": lambda: os.rmdir(f"{d}/big"),
        "symlink": lambda: os.symlink("x", f"{d}/newlink"),
        "link": lambda: os.link(f, f"{d}/newhard"),
        "setxattr": lambda: os.setxattr(f, "user.x", b"1"),
    }
    for name, fn in tests.items():
        check(f"{v}: {name} fails with EROFS", erofs(fn))

# bad refs
def enoent(p):
    try:
        os.stat(p)
    except OSError as e:
        return e.errno == errno.ENOENT
    return False
for p in ("nope", "test/nope", "test/data@nope", "test/data@deadbeefdeadbeef",
          "test/data@v1/nope", "test/data@main~99", "test/data@{1990-01-01}",
          "test/data@", "test/@v1", "test/data@v1@v2"):
    check(f"ENOENT for {p}", enoent(f"{os.path.dirname(m)}/{p}"))

# 8 concurrent readers of one big file at random offsets
src, dst = f"{tmp}/v2/big/big.bin", f"{m}/data@v2/big/big.bin"
ref = open(src, "rb").read()
errs = []
def reader(seed):
    rng = random.Random(seed)
    fd = os.open(dst, os.O_RDONLY)
    for _ in range(300):
        o = rng.randrange(len(ref))
        n = rng.randrange(1, 400000)
        if os.pread(fd, n, o) != ref[o:o + n]:
            errs.append((seed, o, n))
    os.close(fd)
ts = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
check("8 concurrent readers get the right bytes", not errs)

print("DONE")
EOF

# ---- stable inode numbers, even after the kernel forgets the nodes
i1=$(stat -c %i "$mnt/test/data@v1/big/big.bin")
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
i2=$(stat -c %i "$mnt/test/data@v1/big/big.bin")
check "inode number stable ($i1 = $i2)" test "$i1" = "$i2"

# ---- a commit made while mounted shows under the branch head
ls "$mnt/test/data" >/dev/null
mlfs import -q "$tmp/v3" test/data >/dev/null
check "import while mounted" test $? -eq 0
sleep 1
check "new commit visible under the head within 1 s" \
	cmp -s "$tmp/v3/new-file.txt" "$mnt/test/data/new-file.txt"
check "head matches v3" same_manifest "$tmp/v3" "$mnt/test/data"
check "tag v2 unchanged" same_manifest "$tmp/v2" "$mnt/test/data@v2"
check "no new-file in v2" test ! -e "$mnt/test/data@v2/new-file.txt"

# ---- walks: readdirplus gives names only to a walker that stats nothing
# (find) and attributes to one that does (du, ls -l); both must stay right
$PY - "$tmp/walk" <<'EOF'
import os, sys
for d in range(40):
    p = os.path.join(sys.argv[1], "d%02d" % d)
    os.makedirs(p)
    for f in range(3):
        with open(os.path.join(p, "f%d" % f), "wb") as fh:
            fh.write(b"x" * (d * 3 + f + 1))
EOF
mlfs import -q "$tmp/walk" test/walk >/dev/null
check "import walk tree" test $? -eq 0
walk() {
	(cd "$1" && { find . -type f -printf '%p %s %m %T@\n'
		      find . -mindepth 1 ! -type f -printf '%p %y %m %T@\n'
		    } | sort)
}
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
for round in 1 2; do
	n=$(cd "$mnt/test/walk" && find . -type f | wc -l)
	check "find -type f counts every file, round $round ($n)" \
		test "$n" = 120
done
check "stat of every entry after names-only listings" \
	test "$(walk "$tmp/walk")" = "$(walk "$mnt/test/walk")"
check "du of every file agrees" \
	test "$(cd "$tmp/walk" && du -ab . | grep /f | sort)" = \
	"$(cd "$mnt/test/walk" && du -ab . | grep /f | sort)"
lsl() { ls -l --time-style=+%s "$1" | awk '{print $1, $5, $6, $7}'; }
check "ls -l of a listed directory" \
	test "$(lsl "$tmp/walk/d39")" = "$(lsl "$mnt/test/walk/d39")"

# ---- a corrupted pack: EIO for that file only, the daemon keeps going
mkdir -p "$tmp/c1" "$tmp/c2"
"$GEN" random "$tmp/c1/bad.bin" --size-mib 1 --seed 9 >/dev/null
cp "$tmp/c1/bad.bin" "$tmp/c2/bad.bin"
"$GEN" random "$tmp/c2/good.bin" --size-mib 1 --seed 10 >/dev/null
ls "$store/packs" | sort >"$tmp/packs.before"
mlfs import -q "$tmp/c1" test/corrupt >/dev/null
ls "$store/packs" | sort >"$tmp/packs.after"
mlfs import -q -t both "$tmp/c2" test/corrupt >/dev/null
pack=$(comm -13 "$tmp/packs.before" "$tmp/packs.after" | head -n1)
check "found the pack of bad.bin ($pack)" test -n "$pack"
printf '\xff' | dd of="$store/packs/$pack" bs=1 seek=$((32 + 40 + 100)) \
	conv=notrunc status=none
printf '\x00' | cmp -s - <(dd if="$store/packs/$pack" bs=1 \
	skip=$((32 + 40 + 100)) count=1 status=none) &&
	printf '\x01' | dd of="$store/packs/$pack" bs=1 \
		seek=$((32 + 40 + 100)) conv=notrunc status=none
pyrun "$mnt/test/corrupt@both" "$tmp/c2" <<'EOF'
import errno, os, sys
m, src = sys.argv[1:3]
def check(name, cond):
    print(("ok - " if cond else "FAIL - ") + name)
try:
    open(f"{m}/bad.bin", "rb").read()
    check("corrupt chunk gives EIO", False)
except OSError as e:
    check(f"corrupt chunk gives EIO (got {e.errno})", e.errno == errno.EIO)
check("other file of the version reads fine",
      open(f"{m}/good.bin", "rb").read() == open(f"{src}/good.bin", "rb").read())
fd = os.open(f"{m}/bad.bin", os.O_RDONLY)
check("bytes after the bad chunk still read",
      os.pread(fd, 4096, (1 << 20) - 4096) ==
      open(f"{src}/bad.bin", "rb").read()[-4096:])
os.close(fd)
print("DONE")
EOF
check "log names file, chunk and pack" \
	grep -q "bad.bin.*chunk.*$pack\|bad.bin.*chunk.*pack" "$store/mount.log"
check "daemon alive after EIO" same_manifest "$tmp/v1" "$mnt/test/data@v1"

# ---- kill -9: umount cleans up, mount again works
pid=$(pgrep -f -- "mount $mnt\$" | head -n1)
check "found the daemon ($pid)" test -n "$pid"
[ -n "$pid" ] && kill -9 "$pid"
sleep 0.3
check "dead mount is not usable" bash -c "! stat '$mnt/test' 2>/dev/null"
check "dead mount: Transport endpoint is not connected" \
	bash -c "stat '$mnt' 2>&1 | grep -q 'Transport endpoint is not connected'"
out=$(mlfs mount "$mnt" 2>&1)
check "mount on a dead mount is refused" test $? -eq 1
mlfs umount "$mnt"
check "umount after kill -9" test $? -eq 0
check "mountpoint is free" bash -c "! mountpoint -q '$mnt'"
mlfs mount "$mnt"
check "mount again" test $? -eq 0
check "reads after remount" same_manifest "$tmp/v1" "$mnt/test/data@v1"
pid=$(pgrep -f -- "mount $mnt\$" | head -n1)
mlfs umount "$mnt"
check "umount" test $? -eq 0
# the daemon exits after the unmount (and, under ASan, reports leaks)
for _ in $(seq 50); do
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
check "daemon exited after umount" bash -c "! kill -0 '${pid:-0}' 2>/dev/null"
check "no sanitizer report in the daemon log" \
	bash -c "! grep -q 'Sanitizer' '$store/mount.log'"
check "mountpoint empty after umount" test -z "$(ls -A "$mnt")"
out=$(mlfs umount "$mnt" 2>&1)
check "umount of nothing exits 1" test $? -eq 1

# a store on read-only media mounts too (the mount never writes it; its
# log goes to a per-user file instead of STORE/mount.log)
mkdir -p "$tmp/ro"
if mount -t tmpfs tmpfs "$tmp/ro" 2>/dev/null; then
	cp -a "$store" "$tmp/ro/store"
	mount -o remount,ro "$tmp/ro"
	"$MLFS" --store "$tmp/ro/store" mount "$mnt"
	check "mount of a store on read-only media" test $? -eq 0
	check "reads from a read-only store" same_manifest "$tmp/v1" "$mnt/test/data@v1"
	"$MLFS" umount "$mnt"
	check "umount of the read-only store's mount" test $? -eq 0
	umount "$tmp/ro"
else
	echo "SKIP - cannot mount a tmpfs for the read-only store test"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
