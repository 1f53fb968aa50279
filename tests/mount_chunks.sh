#!/bin/bash
# tests/mount_chunks.sh - reads over more chunks than IOV_MAX. A store
# with the smallest chunks the config allows (64 / 256 / 1024 bytes: the
# CLI has no chunking options, so the empty store's config is edited
# before anything is imported) puts ~4000 chunks in one 1 MiB FUSE read,
# more than one writev(2) may carry. Every read must still be answered
# with the right bytes (dd bs=1M, cat, Python reads and preads), never
# fail the reply and leave the reader hanging (each reader runs under
# timeout).
. "$(dirname "$0")/lib.sh"

mount_fixture

sed -i -e 's/^chunk_min = .*/chunk_min = 64/' \
	-e 's/^chunk_avg = .*/chunk_avg = 256/' \
	-e 's/^chunk_max = .*/chunk_max = 1024/' "$S/config"
check "config has 256-byte chunks" grep -qx 'chunk_avg = 256' "$S/config"

mkdir -p "$W/src"
gen random "$W/src/r.bin" --size-mib 6 --seed 11 >/dev/null
# compressible too: zeros and text make other chunk boundaries
head -c 1500000 /dev/zero >"$W/src/zeros.bin"
seq 1 300000 >"$W/src/seq.txt"
check "import" mlfs import -q "$W/src" small/c

# the chunk count of r.bin (20 bytes per chunk-list entry): ~24,000, so
# each 1 MiB read spans ~4,000 chunks
n=$("$PY" -c '
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT length(chunks) / 20 FROM contents WHERE size = ?",
                 (6 << 20,)).fetchone()[0])' "$S/mlfs.db")
check "r.bin has more than 16,000 chunks ($n)" test "${n:-0}" -gt 16000

check "mount" mlfs mount "$mnt"
M=$mnt/small/c

for f in r.bin zeros.bin seq.txt; do
	check "dd bs=1M of $f" \
		bash -c "timeout 60 dd if='$M/$f' bs=1M status=none | \
			 cmp - '$W/src/$f'"
done
check "cat of r.bin" bash -c "timeout 60 cat '$M/r.bin' | cmp - '$W/src/r.bin'"

run timeout 120 "$PY" - "$M/r.bin" "$W/src/r.bin" <<'EOF'
import os, random, sys
m, src = sys.argv[1:3]
ref = open(src, "rb").read()
# fresh descriptors; the kernel may have the pages already (keep_cache),
# so also read with O_DIRECT-free preads at odd offsets of 1 MiB and more
fd = os.open(m, os.O_RDONLY)
got = bytearray()
while True:
    b = os.read(fd, 1 << 20)
    if not b:
        break
    got += b
assert bytes(got) == ref, "sequential 1 MiB reads differ"
rng = random.Random(5)
for _ in range(20):
    o = rng.randrange(len(ref))
    n = rng.choice((1 << 20, 3 << 20, 1000003))
    assert os.pread(fd, n, o) == ref[o:o + n], f"pread {n} at {o} differs"
os.close(fd)
print("ok")
EOF
pyout=$(cat "$OUT_F" "$ERR_F")
check "python 1 MiB reads and large preads ($pyout)" test "$pyout" = ok

# with the page cache dropped the reads reach the daemon again
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
check "dd bs=1M of r.bin after dropping caches" \
	bash -c "timeout 60 dd if='$M/r.bin' bs=1M status=none | \
		 cmp - '$W/src/r.bin'"
check "no read errors in the log" bash -c "! grep -q \"read '\" '$S/mount.log'"

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
