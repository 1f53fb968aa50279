#!/bin/bash
# tests/mount_noopen.sh - a mount without working trees (-o ro) serves the
# files of versions with no FUSE OPEN or RELEASE (no-open): the first read
# of a node loads its chunk list (read.c, file.c). Damage still gives EIO,
# never wrong bytes:
#  - two same-size small files swap chunk lists (sealed again with the
#    store key): every chunk is sound, only the whole-file digest tells,
#    on the one read that covers the file; later reads fail too;
#  - a flipped byte in a small file's chunk: EIO naming the chunk;
#  - a chunk list that fails its row check: the open succeeds (it loads
#    nothing), the first read fails with EIO, here and on the default
#    mount;
#  - sound files of the same version read right, cold and warm, whole or
#    by two readers at different offsets at once, after the damage;
#  - the default mount (with working trees) still opens through the
#    daemon, and its reads of the same files are right;
#  - the default mount stores a file of up to 256 KiB in the page cache
#    with its first open (read.c, push_small), after checking it: in the
#    cache before any read; larger files and damaged ones are not.
. "$(dirname "$0")/lib.sh"

mount_fixture
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

mkdir -p "$W/s/sub"
gen random "$W/s/a.bin" --size-bytes 5000 --seed 1 >/dev/null
gen random "$W/s/b.bin" --size-bytes 5000 --seed 2 >/dev/null
gen random "$W/s/c.bin" --size-bytes 6000 --seed 3 >/dev/null
gen random "$W/s/good.bin" --size-bytes 7000 --seed 4 >/dev/null
gen random "$W/s/d.bin" --size-bytes 4000 --seed 6 >/dev/null
gen random "$W/s/sub/big.bin" --size-mib 3 --seed 5 >/dev/null
gen random "$W/s/edge.bin" --size-bytes 262144 --seed 7 >/dev/null
gen random "$W/s/over.bin" --size-bytes 262145 --seed 8 >/dev/null
echo "a small text file" >"$W/s/sub/t.txt"
ln -s sub/t.txt "$W/s/link"
check "import" mlfs import -q "$W/s" t/s -t v1

# swap the chunk lists (and locations) of a.bin and b.bin, seal again
run "$PY" - "$S" 5000 <<'EOF'
import ctypes, sqlite3, sys
store, size = sys.argv[1], int(sys.argv[2])
key = None
for line in open(store + "/config"):
    k, _, v = line.partition("=")
    if k.strip() == "hash_key":
        key = bytes.fromhex(v.strip())
class H128(ctypes.Structure):
    _fields_ = [("low", ctypes.c_uint64), ("high", ctypes.c_uint64)]
xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_128bits_withSecret.restype = H128
xxh.XXH3_128bits_withSecret.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                        ctypes.c_char_p, ctypes.c_size_t]
def keyed(b):
    h = xxh.XXH3_128bits_withSecret(b, len(b), key, len(key))
    return h.high.to_bytes(8, "big") + h.low.to_bytes(8, "big")
def mac(digest, size, chunks):  # docs/format.md: the contents row check
    return keyed(b"mlfs-content-1\0" + digest + size.to_bytes(8, "little") +
                 len(chunks).to_bytes(8, "little") + chunks)
db = sqlite3.connect(store + "/mlfs.db")
rows = db.execute("SELECT digest, chunks, locs, mac FROM contents "
                  "WHERE size = ?", (size,)).fetchall()
assert len(rows) == 2, rows
assert rows[0][3] == mac(rows[0][0], size, rows[0][1]), "row check differs"
(d1, c1, l1, _), (d2, c2, l2, _) = rows
for d, c, l in ((d1, c2, l2), (d2, c1, l1)):
    db.execute("UPDATE contents SET chunks = ?, locs = ?, mac = ? "
               "WHERE digest = ?", (c, l, mac(d, size, c), d))
db.commit()
print("swapped")
EOF
out=$(cat "$OUT_F")
check "a.bin and b.bin swap chunk lists ($(tail -n1 "$ERR_F"))" \
	test "$out" = swapped

# flip one byte of c.bin's only chunk where the pack holds it (raw)
run "$PY" - "$S/packs" "$W/s/c.bin" <<'EOF'
import glob, sys
needle = open(sys.argv[2], "rb").read()[1000:1064]
for p in sorted(glob.glob(sys.argv[1] + "/pack-*.mlp")):
    data = bytearray(open(p, "rb").read())
    i = data.find(needle)
    if i >= 0:
        data[i + 10] ^= 0x5a
        open(p, "r+b").write(data)
        print("flipped")
        sys.exit(0)
sys.exit(1)
EOF
out=$(cat "$OUT_F")
check "c.bin: one byte flipped in its pack" test "$out" = flipped

# one byte of d.bin's chunk list changes: its row check fails
run "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/mlfs.db")
(c,) = db.execute("SELECT chunks FROM contents WHERE size = 4000").fetchone()
c = bytearray(c); c[3] ^= 1
n = db.execute("UPDATE contents SET chunks = ? WHERE size = 4000",
               (bytes(c),)).rowcount
db.commit()
print(n)' "$S"
out=$(cat "$OUT_F")
check "d.bin: its chunk list damaged ($out)" test "$out" = 1

# open_then_read PATH: "open ok, read EIO" when the open succeeds and
# the read fails with EIO
open_then_read() {
	run "$PY" -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
except OSError as e:
    print("open errno %d" % e.errno); sys.exit(0)
try:
    os.read(fd, 65536); print("open ok, read ok")
except OSError as e:
    print("open ok, read %s" % ("EIO" if e.errno == errno.EIO else e.errno))
' "$1"
}

check "mount -o ro" mlfs mount "$mnt" -o ro
M=$mnt/t/s
check "the log says files are opened with no request to the daemon" \
	grep -q "files of versions: opened with no request to the daemon" \
	"$S/mount.log"

for f in good.bin sub/big.bin sub/t.txt; do
	drop
	check "$f: cold read is right" cmp "$M/$f" "$W/s/$f"
	check "$f: warm read is right" cmp "$M/$f" "$W/s/$f"
done
check "the symlink reads" test "$(readlink "$M/link")" = sub/t.txt
check "through the symlink" cmp "$M/link" "$W/s/sub/t.txt"
check "the version by tag reads the same" cmp "$M@v1/good.bin" "$W/s/good.bin"

# ---- a.bin: the read that covers it fails, and so does every later one
for f in a.bin b.bin; do
	drop
	run cat "$M/$f"
	rc=$RC
	expect_err "Input/output error" "$f: cat fails with EIO"
	check "$f: cat exits non-zero ($rc)" test "$rc" -ne 0
	check "$f: no byte handed out" test ! -s "$OUT_F"
	check "$f: the log names the file and the digest" \
		grep -q "read 't/s/$f' at EOF: .*do not match its digest" \
		"$S/mount.log"
	run cat "$M/$f"
	expect_err "Input/output error" "$f: read again, EIO (exit $RC)"
	run "$PY" -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.pread(fd, 100, 4096)
    print("read")
except OSError as e:
    print("EIO" if e.errno == errno.EIO else "errno %d" % e.errno)' "$M/$f"
	out=$(cat "$OUT_F")
	check "$f: a read elsewhere than 0 fails too ($out)" test "$out" = EIO
done

# ---- c.bin: the chunk fails its check
drop
run cat "$M/c.bin"
expect_err "Input/output error" "c.bin (flipped byte): cat fails with EIO"
check "c.bin: no byte handed out" test ! -s "$OUT_F"
check "c.bin: the log names the chunk" \
	grep -q "read 't/s/c.bin' chunk 0 " "$S/mount.log"

# ---- d.bin: the chunk list is loaded (and fails) at the first read
open_then_read "$M/d.bin"
out=$(cat "$OUT_F")
check "d.bin: open succeeds, the first read is EIO ($out)" \
	test "$out" = "open ok, read EIO"
check "d.bin: the log names the file and the row" \
	grep -q "read 't/s/d.bin': Input/output error: contents row" \
	"$S/mount.log"

# ---- two readers of one file at different offsets, at once
drop
run "$PY" - "$M/sub/big.bin" "$W/s/sub/big.bin" <<'EOF'
import os, sys, threading
m, l = sys.argv[1], sys.argv[2]
want = open(l, "rb").read()
bad = []
def reader(start):
    fd = os.open(m, os.O_RDONLY)
    pos = start
    while pos < len(want):
        b = os.pread(fd, 65536, pos)
        if b != want[pos:pos + len(b)] or not b:
            bad.append(pos)
            break
        pos += len(b)
    os.close(fd)
ts = [threading.Thread(target=reader, args=(o,)) for o in (0, 1 << 20)]
for t in ts: t.start()
for t in ts: t.join()
print("ok" if not bad else "bad %s" % bad)
EOF
out=$(cat "$OUT_F")
check "big.bin: two readers at 0 and 1 MiB get the right bytes ($out)" \
	test "$out" = ok
check "good.bin still reads right after the damage" \
	cmp "$M/good.bin" "$W/s/good.bin"
check "umount" "$MLFS" umount "$mnt"

# ---- the default mount opens through the daemon (working trees)
check "mount" mlfs mount "$mnt"
check "v1/good.bin reads right" cmp "$mnt/t/s@v1/good.bin" "$W/s/good.bin"
run cat "$mnt/t/s@v1/a.bin"
expect_err "Input/output error" "a.bin through the default mount: EIO"
open_then_read "$mnt/t/s@v1/d.bin"
out=$(cat "$OUT_F")
check "d.bin through the default mount: open succeeds, read EIO ($out)" \
	test "$out" = "open ok, read EIO"
res() { fincore --bytes --noheadings --output RES "$1" 2>/dev/null | tr -d ' '; }
drop
for f in sub/t.txt edge.bin; do
	# fincore opens and maps the file, and reads nothing
	r=$(res "$mnt/t/s@v1/$f")
	check "$f: in the page cache after an open alone (${r:-?} bytes)" \
		test "${r:-0}" -ge "$(stat -c %s "$W/s/$f")"
	check "$f: reads right from there" cmp "$mnt/t/s@v1/$f" "$W/s/$f"
done
for f in over.bin sub/big.bin b.bin c.bin; do
	r=$(res "$mnt/t/s@v1/$f")
	check "$f: not stored at its open (${r:-?} bytes)" test "${r:-x}" = 0
done
check "over.bin reads right" cmp "$mnt/t/s@v1/over.bin" "$W/s/over.bin"
# the same through the branch's working tree (its files still stored)
r=$(res "$mnt/t/s/sub/t.txt")
check "working tree: sub/t.txt in the page cache after an open alone (${r:-?} bytes)" \
	test "${r:-0}" -ge "$(stat -c %s "$W/s/sub/t.txt")"
check "working tree: sub/t.txt reads right" cmp "$mnt/t/s/sub/t.txt" "$W/s/sub/t.txt"
r=$(res "$mnt/t/s/c.bin")
check "working tree: c.bin (flipped byte) not stored at its open (${r:-?} bytes)" \
	test "${r:-x}" = 0
run cat "$mnt/t/s/c.bin"
expect_err "Input/output error" "working tree: c.bin after its open: EIO"
echo "edited" >"$mnt/t/s/sub/t.txt"
check "working tree: an edited small file reads its new bytes" \
	test "$(cat "$mnt/t/s/sub/t.txt")" = edited
run cat "$mnt/t/s@v1/b.bin"
expect_err "Input/output error" "b.bin (swapped chunk list) after its open: EIO"
run cat "$mnt/t/s@v1/c.bin"
expect_err "Input/output error" "c.bin (flipped byte) after its open: EIO"
drop
check "sub/t.txt reads right once the kernel dropped its pages" \
	cmp "$mnt/t/s@v1/sub/t.txt" "$W/s/sub/t.txt"
check "the default mount logs no no-open line" \
	test "$(grep -c 'files of versions: opened with no request' \
		"$S/mount.log")" -eq 1
check "umount" "$MLFS" umount "$mnt"
for _ in $(seq 50); do
	pgrep -f -- "mount.* $mnt\$" >/dev/null || break
	sleep 0.1
done
check "no sanitizer report in the daemon log" \
	bash -c "! grep -q Sanitizer '$S/mount.log'"
summary
