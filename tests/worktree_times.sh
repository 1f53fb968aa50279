#!/bin/bash
# tests/worktree_times.sh - times before 1970 with a fraction of a second
# through a working tree: a file imported with one opens for writing and
# truncates (its copy-up sets its times), touch and os.utime set one on
# new files, stat through the mount shows it, and the snapshot and the
# export keep it to the nanosecond. (The nanoseconds of -1.5 s once came
# out as -500000000, which futimens refuses: EINVAL on every write.) A
# modification time alone that changed is listed by status (U), recorded
# by the snapshot and shown by diff.
. "$(dirname "$0")/lib.sh"

mount_fixture
# pycheck ARGS... < script: run it, each "ok - X" / "FAIL - X" line it
# prints counts as a check
pycheck() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"FAIL - "*) fail "${line#FAIL - }" ;;
		*) fail "python: $line" ;;
		esac
	done < <("$PY" - "$@" 2>&1)
}
mkdir -p "$W/src"
echo old >"$W/src/old.txt"
echo keep >"$W/src/keep.txt"
"$PY" -c "import os, sys; os.utime(sys.argv[1], ns=(-1500000000, -1500000000))" \
	"$W/src/old.txt"
expect_exit 0 mlfs import "$W/src" ds/neg -q -t v1
expect_exit 0 mlfs mount "$mnt"
T=$mnt/ds/neg

out=$("$PY" -c "import os, sys; print(os.stat(sys.argv[1]).st_mtime_ns)" "$T/old.txt")
[ "$out" = -1500000000 ] && ok "stat through the mount: mtime -1.5 s" ||
	fail "stat through the mount: mtime $out, want -1500000000"
if echo new >>"$T/old.txt" 2>"$ERR_F"; then
	ok "append to a file with mtime -1.5 s"
else
	fail "append to a file with mtime -1.5 s: $(cat "$ERR_F")"
fi
[ "$(cat "$T/old.txt")" = "$(printf 'old\nnew')" ] &&
	ok "its bytes after the append" || fail "bytes: $(cat "$T/old.txt")"
if truncate -s 2 "$T/keep.txt" 2>"$ERR_F"; then ok "truncate"; else
	fail "truncate: $(cat "$ERR_F")"; fi

echo x >"$T/t1"
if touch -d '1969-12-31 23:59:59.5' "$T/t1" 2>"$ERR_F"; then
	ok "touch -d 1969-12-31 23:59:59.5 on a new file"
else
	fail "touch -d before 1970: $(cat "$ERR_F")"
fi
echo y >"$T/t2"
pycheck "$T/t2" "$T/old.txt" <<'PYEOF'
import os, sys
os.utime(sys.argv[1], ns=(-250000001, -250000001))
os.utime(sys.argv[2], ns=(-1500000000, -1500000000))
for p, want in ((sys.argv[1], -250000001), (sys.argv[2], -1500000000)):
    got = os.stat(p).st_mtime_ns
    print(("ok" if got == want else "FAIL") + " - os.utime %d ns: stat %d" % (want, got))
PYEOF

expect_exit 0 mlfs snapshot ds/neg -t v2 -m "times before 1970"
expect_exit 0 mlfs export ds/neg@v2 "$W/out"
pycheck "$W/out" <<'PYEOF'
import os, sys
d = sys.argv[1]
want = {"t1": -500000000, "t2": -250000001, "old.txt": -1500000000}
for name, ns in sorted(want.items()):
    got = os.lstat(os.path.join(d, name)).st_mtime_ns
    print(("ok" if got == ns else "FAIL") +
          " - v2 %s exported with mtime %d (want %d)" % (name, got, ns))
PYEOF
[ "$(cat "$W/out/old.txt")" = "$(printf 'old\nnew')" ] &&
	ok "v2 old.txt bytes" || fail "v2 old.txt: $(cat "$W/out/old.txt")"
[ "$(cat "$W/out/keep.txt")" = ke ] && ok "v2 keep.txt truncated" ||
	fail "v2 keep.txt: $(cat "$W/out/keep.txt")"

# A change of a modification time alone is a change: status lists it
# (U), the snapshot records it, diff shows it. A directory's only when
# nothing below it is listed.
mkdir "$T/dir"
echo z >"$T/dir/z"
expect_exit 0 mlfs snapshot ds/neg -t v3 -m "a directory"
"$PY" -c "import os, sys; os.utime(sys.argv[1], ns=(10**18, 10**18))" "$T/t1"
touch "$T/dir/tmp" && rm "$T/dir/tmp"
expect_exit 0 mlfs status ds/neg
expect_out "^  U dir  \(modification time\)" "status: U for a directory whose mtime alone changed"
expect_out "^  U t1  \(modification time\)" "status: U for a file whose mtime alone changed"
n=$(grep -c '^  [A-Z] ' "$OUT_F")
[ "$n" = 2 ] && ok "status lists those two only" || fail "status lists $n entries"
expect_exit 0 mlfs status ds/neg --json
json_ok "status --json: change U" \
	"[c['change'] for c in d[0]['changes']] == ['U', 'U']"
expect_exit 0 mlfs snapshot ds/neg -t v4 -m "times only"
expect_exit 0 mlfs status ds/neg
expect_out "no changes" "no changes after the snapshot"
expect_exit 1 mlfs diff ds/neg@v3 ds/neg@v4
expect_out "^M  t1  \(modification time only\)" "diff shows the file's new mtime"
expect_out "^M  dir  \(modification time only\)" "diff shows the directory's"
expect_exit 1 mlfs diff ds/neg@v3 ds/neg@v4 --json
json_ok "diff --json: mtime_only" \
	"sorted((c['path'], c['mtime_only'], c['content_changed']) for c in d['changes']) == [('dir', True, False), ('t1', True, False)]"
expect_exit 0 mlfs diff ds/neg@v4 ds/neg@v4
# a content change is not "mtime only"
echo more >>"$T/t1"
expect_exit 0 mlfs snapshot ds/neg -t v5 -m "content"
expect_exit 1 mlfs diff ds/neg@v4 ds/neg@v5
if grep -q "modification time only" "$OUT_F"; then
	fail "a content change shown as mtime only"
else
	ok "a content change is no mtime-only change"
fi
# discarding an added file gives its directory the head's time back
echo new >"$T/dir/new"
expect_exit 0 mlfs status ds/neg
expect_out "^  A dir/new" "status: the new file"
expect_exit 0 mlfs discard ds/neg dir/new
expect_exit 0 mlfs status ds/neg
expect_out "no changes" "after discarding it: no changes (not even the directory's time)"

# The head moved by an import from outside, to bytes of the same size and
# mtime: the working tree's file keeps its path and inode, so its ctime
# must move, or an import that reads the working tree trusts its files
# cache and keeps the old bytes (it did: ctime was the stored mtime).
mkdir -p "$W/h1" "$W/h2"
printf 'AAAAAAAA\n' >"$W/h1/f"
printf 'BBBBBBBB\n' >"$W/h2/f"
touch -d 2020-01-01 "$W/h1/f" "$W/h2/f"
expect_exit 0 mlfs import -q "$W/h1" ds/head -t h1
expect_exit 0 mlfs import -q "$mnt/ds/head" ds/copy
c1=$(stat -c '%i %s %Y %z' "$mnt/ds/head/f")
expect_exit 0 mlfs import -q "$W/h2" ds/head -t h2
# the tree shows the new head once its 1 s entry timeout has run out
for _ in 1 2 3 4 5 6 7 8 9 10; do
	cmp -s "$mnt/ds/head/f" "$W/h2/f" && break
	sleep 0.5
done
cmp -s "$mnt/ds/head/f" "$W/h2/f" && ok "the working tree shows the new head" ||
	fail "the working tree does not show the new head"
c2=$(stat -c '%i %s %Y %z' "$mnt/ds/head/f")
[ "$c1" != "$c2" ] && ok "a moved head changes the file's ctime ($c1 -> $c2)" ||
	fail "the moved head left inode, size, mtime and ctime alike: $c1"
expect_exit 0 mlfs import -q "$mnt/ds/head" ds/copy
mlfs cat ds/copy/f 2>/dev/null | cmp -s - "$W/h2/f" &&
	ok "an import of the working tree takes the new head's bytes" ||
	fail "an import of the working tree kept the old bytes (files cache)"
expect_exit 0 mlfs fsck
summary
