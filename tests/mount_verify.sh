#!/bin/bash
# tests/mount_verify.sh - damaged metadata through the mount: EIO and a
# log line, never wrong bytes taken for right ones.
#  - two same-size files swap chunk lists in mlfs.db (check values made
#    again with the store key, as an attacker who read STORE/config
#    would): every chunk is sound, only the whole-file digest tells. A
#    sequential reader gets EIO on the read that reaches EOF, the log
#    names the file, and the file cannot be opened again;
#  - a tree blob with one byte changed: its directory lists as EIO;
#  - a commit row with its message changed: its version looks up as EIO;
#  - a store whose schema is older: mount refuses and names mlfs upgrade.
. "$(dirname "$0")/lib.sh"

mount_fixture

mkdir -p "$W/swap" "$W/tree/sub"
gen random "$W/swap/a.bin" --size-mib 8 --seed 1 >/dev/null
gen random "$W/swap/b.bin" --size-mib 8 --seed 2 >/dev/null
gen random "$W/swap/good.bin" --size-mib 3 --seed 3 >/dev/null
echo "inner file" >"$W/tree/sub/inner.txt"
echo "outer file" >"$W/tree/outer.txt"
check "import swap" mlfs import -q "$W/swap" t/swap
check "import tree" mlfs import -q "$W/tree" t/tree
mkdir -p "$W/msg"
echo "a file of a version whose commit is damaged" >"$W/msg/f.txt"
cmsg=$(mlfs import -q -m "the message" "$W/msg" t/msg | tail -n1)
check "import msg" is_hex32 "$cmsg"

# swap the chunk lists of a.bin and b.bin, and seal each row again
run "$PY" - "$S" $((8 << 20)) <<'EOF'
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
cols = [r[1] for r in db.execute("PRAGMA table_info(contents)")]
rows = db.execute("SELECT digest, chunks FROM contents WHERE size = ?",
                  (size,)).fetchall()
assert len(rows) == 2, rows
if "locs" in cols:  # the chunks' locations go with their list
    l1, l2 = (db.execute("SELECT locs FROM contents WHERE digest = ?",
                         (d,)).fetchone()[0] for d, _ in rows)
    db.execute("UPDATE contents SET locs = ? WHERE digest = ?", (l2, rows[0][0]))
    db.execute("UPDATE contents SET locs = ? WHERE digest = ?", (l1, rows[1][0]))
if "mac" in cols:
    d, ch = rows[0]
    stored = db.execute("SELECT mac FROM contents WHERE digest = ?",
                        (d,)).fetchone()[0]
    assert stored == mac(d, size, ch), "cannot reproduce the row check"
(d1, c1), (d2, c2) = rows
for d, c in ((d1, c2), (d2, c1)):
    db.execute("UPDATE contents SET chunks = ? WHERE digest = ?", (c, d))
    if "mac" in cols:
        db.execute("UPDATE contents SET mac = ? WHERE digest = ?",
                   (mac(d, size, c), d))
db.commit()
print("swapped")
EOF
out=$(cat "$OUT_F")
check "chunk lists swapped and sealed again ($(tail -n1 "$ERR_F"))" \
	test "$out" = swapped

# one byte of the tree of sub/ ("inner.txt" -> "innes.txt")
run "$PY" - "$S" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/mlfs.db")
n = 0
for tid, data in db.execute("SELECT id, data FROM trees").fetchall():
    if b"inner.txt" in data:
        db.execute("UPDATE trees SET data = ? WHERE id = ?",
                   (data.replace(b"inner.txt", b"innes.txt"), tid))
        n += 1
db.commit()
print(n)
EOF
out=$(cat "$OUT_F")
check "tree of sub/ changed ($out)" test "$out" = 1

# the commit of t/msg says something else now
run "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/mlfs.db")
n = db.execute("UPDATE commits SET message = ? WHERE message = ?",
               ("another message", "the message")).rowcount
db.commit()
print(n)' "$S"
out=$(cat "$OUT_F")
check "commit of t/msg changed ($out)" test "$out" = 1

check "mount" mlfs mount "$mnt"
M=$mnt/t

# ---- a sequential reader of a.bin: EIO at the end, never a clean EOF
run timeout 60 "$PY" - "$M/swap/a.bin" $((8 << 20)) <<'EOF'
import errno, os, sys
path, size = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDONLY)
got = 0
while True:
    try:
        b = os.read(fd, 1 << 16)
    except OSError as e:
        print("EIO" if e.errno == errno.EIO else "errno %d" % e.errno, got)
        break
    if not b:
        print("EOF", got)
        break
    got += len(b)
EOF
read -r what at <"$OUT_F"
check "a.bin: sequential read fails with EIO ($what at $at)" test "$what" = EIO
check "a.bin: the log names the file and the digest" \
	grep -q "read 't/swap/a.bin' at EOF: .*do not match its digest" \
	"$S/mount.log"
run sh -c "cat '$M/swap/a.bin' >/dev/null"
expect_err "Input/output error" "a.bin: opened again, EIO (exit $RC)"
run sh -c "cat '$M/swap/b.bin' >/dev/null"
rc=$RC
expect_err "Input/output error" "b.bin: cat fails with EIO (exit $rc)"
check "b.bin: cat exits non-zero" test "$rc" -ne 0
check "b.bin: logged" grep -q "read 't/swap/b.bin' at EOF" "$S/mount.log"
check "good.bin of the same version reads fine" \
	cmp "$M/swap/good.bin" "$W/swap/good.bin"

# ---- the damaged tree
run ls "$M/tree/sub"
rc=$RC
listed=$(cat "$OUT_F")
expect_err "Input/output error" "ls of the damaged directory: EIO"
check "ls exits non-zero ($rc)" test "$rc" -ne 0
check "no wrong name listed" test -z "$listed"
check "the log names the directory and the tree" \
	grep -q "'t/tree/sub'.*Input/output error: .*tree" "$S/mount.log"
check "the rest of the version reads fine" \
	cmp "$M/tree/outer.txt" "$W/tree/outer.txt"

# ---- the damaged commit: the version's name does not resolve to it
for name in msg "msg@$cmsg"; do
	run cat "$M/$name/f.txt"
	rc=$RC
	expect_err "Input/output error" "cat $name/f.txt: EIO"
	check "cat $name/f.txt exits non-zero ($rc)" test "$rc" -ne 0
done
check "the log names the version and the commit" \
	grep -q "lookup 't/msg.*Input/output error: commit $cmsg" \
	"$S/mount.log"
check "umount" "$MLFS" umount "$mnt"

# ---- an older schema: the mount never migrates; it says what to run
S2=$(new_store) || exit 1
"$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/mlfs.db")
v = db.execute("PRAGMA user_version").fetchone()[0]
db.execute("PRAGMA user_version = %d" % (v - 1))
db.commit()' "$S2"
expect_exit 1 "$MLFS" --store "$S2" mount "$mnt"
expect_err "older format.*mlfs upgrade" \
	"older schema: the message names mlfs upgrade"
check "nothing mounted" bash -c "! mountpoint -q '$mnt'"
# the daemon exits after the unmount (under ASan, after its leak check)
for _ in $(seq 50); do
	pgrep -f -- "mount.* $mnt\$" >/dev/null || break
	sleep 0.1
done
check "daemon exited" bash -c "! pgrep -f -- 'mount.* $mnt\$'"
check "no sanitizer report in the daemon log" \
	bash -c "! grep -q Sanitizer '$S/mount.log'"
summary
