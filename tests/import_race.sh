#!/bin/bash
# import_race.sh - the import walk never follows an entry swapped for a
# symlink while it runs: below SRC every entry is opened relative to its
# parent's fd with O_NOFOLLOW. Imports run again and again while a loop
# atomically exchanges (renameat2 RENAME_EXCHANGE) SRC/sub with a symlink
# to a directory outside SRC holding the same names with a marker, and
# SRC/etc with a symlink to /etc. No imported version may hold the marker
# or /etc's bytes; each holds either the inside bytes or the symlink. A
# file written to while it is read is stored as read, with a warning.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store)
W=$(mktmp)
SRC=$W/src
OUT=$W/outside
mkdir -p "$SRC/sub/deeper" "$SRC/etc" "$OUT/deeper"
for i in $(seq 1 100); do
	echo "inside $i" >"$SRC/sub/f$i"
	echo "OUTSIDE-MARKER $i" >"$OUT/f$i"
done
for i in 1 2 3; do
	echo "inside deeper $i" >"$SRC/sub/deeper/g$i"
	echo "OUTSIDE-MARKER deeper $i" >"$OUT/deeper/g$i"
done
# Names /etc has: opened by path through a swapped 'etc', they would be
# read from /etc.
for f in passwd group hostname os-release; do
	echo "inside $f" >"$SRC/etc/$f"
done
echo "top" >"$SRC/top.txt"
ln -s "$OUT" "$W/swap-sub"
ln -s /etc "$W/swap-etc"
cp -a "$SRC" "$W/pristine"

# The swapper: exchange each directory with its symlink, back and forth,
# until the stop file appears.
cat >"$W/swap.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
pairs = [(a.encode(), b.encode()) for a, b in zip(sys.argv[2::2], sys.argv[3::2])]
stop, n = sys.argv[1], 0
while not os.path.exists(stop):
    for a, b in pairs:
        if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE):
            sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    n += 1
# Leave the tree as it was: each directory back in SRC.
for a, b in pairs:
    if os.path.islink(a):
        libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
print(n)
PY
"$PY" "$W/swap.py" "$W/stop" "$SRC/sub" "$W/swap-sub" \
	"$SRC/etc" "$W/swap-etc" >"$W/swaps" 2>"$W/swap.err" &
swapper=$!
at_exit "touch '$W/stop'; kill $swapper"

runs=30 okruns=0 changed=0 bad=0 as_link=0 as_dir=0
for n in $(seq 1 $runs); do
	run "$MLFS" import --store "$S" -q "$SRC" race/r
	if [ "$RC" -ne 0 ]; then
		if grep -q "kept changing while it was imported" "$ERR_F"; then
			changed=$((changed + 1))
		else
			fail "import $n under the swap: exit $RC"
			show_last
		fi
		continue
	fi
	okruns=$((okruns + 1))
	id=$(head -n1 "$OUT_F")
	x=$W/x$n
	if ! "$MLFS" export --store "$S" -q "race/r@$id" "$x" 2>"$W/export.err"; then
		fail "export of import $n: $(cat "$W/export.err")"
		continue
	fi
	# grep -r does not follow symlinks: only stored bytes are searched.
	if grep -rqF -e OUTSIDE-MARKER -e "root:" "$x"; then
		bad=$((bad + 1))
		echo "   import $n holds bytes from outside SRC:" \
			"$(grep -rlF -e OUTSIDE-MARKER -e "root:" "$x" | head -3 | tr "\n" " ")"
	fi
	for d in sub etc; do
		if [ -L "$x/$d" ]; then
			as_link=$((as_link + 1))
		elif [ -d "$x/$d" ]; then
			diff -r "$W/pristine/$d" "$x/$d" >/dev/null ||
				{ bad=$((bad + 1)); echo "   import $n: '$d' differs from SRC's"; }
			as_dir=$((as_dir + 1))
		else
			bad=$((bad + 1))
			echo "   import $n: '$d' is missing"
		fi
	done
	rm -rf "$x"
done
touch "$W/stop"
wait "$swapper"
swaps=$(cat "$W/swaps")
[ -s "$W/swap.err" ] && fail "swapper: $(cat "$W/swap.err")"
echo "   $runs imports: $okruns committed, $changed refused (entry kept" \
	"changing); $swaps swap rounds; entries seen as dir $as_dir, as" \
	"symlink $as_link"

[ "$bad" -eq 0 ] && ok "no imported version holds bytes from outside SRC" ||
	fail "$bad imported versions hold bytes from outside SRC or wrong bytes"
[ "$okruns" -ge $((runs / 2)) ] && ok "most imports under the swap commit ($okruns of $runs)" ||
	fail "only $okruns of $runs imports under the swap committed"
[ "$as_link" -gt 0 ] && [ "$as_dir" -gt 0 ] &&
	ok "the race was real: swapped entries seen both as directory and as symlink" ||
	fail "the swap was never seen (dir $as_dir, symlink $as_link)"

# A swapped entry is stored as the symlink it was: its target verbatim.
rm -rf "$W/one"
mkdir -p "$W/one/a"
echo inside >"$W/one/a/f"
mv "$W/one/a" "$W/one-a-away"
ln -s "$OUT" "$W/one/a"
expect_exit 0 "$MLFS" import --store "$S" -q "$W/one" race/one
expect_exit 0 "$MLFS" export --store "$S" -q race/one "$W/one-x"
[ "$(readlink "$W/one-x/a")" = "$OUT" ] && ok "a symlink below SRC is stored as a symlink (target kept)" ||
	fail "symlink below SRC: got '$(readlink "$W/one-x/a")'"

# SRC itself may be a symlink: to a directory and to a file.
ln -s "$W/pristine" "$W/src-link"
expect_exit 0 "$MLFS" import --store "$S" -q "$W/src-link" race/srclink
expect_exit 0 "$MLFS" export --store "$S" -q race/srclink "$W/sl-x"
diff -r "$W/pristine" "$W/sl-x" >/dev/null && ok "SRC that is a symlink to a directory is followed" ||
	fail "SRC symlink to a directory: export differs"
ln -s "$W/pristine/top.txt" "$W/file-link"
expect_exit 0 "$MLFS" import --store "$S" -q "$W/file-link" race/filelink
expect_exit 0 "$MLFS" cat --store "$S" race/filelink/file-link
[ "$(cat "$OUT_F")" = top ] && ok "SRC that is a symlink to a file imports the file under the link's name" ||
	fail "SRC symlink to a file: got '$(cat "$OUT_F")'"

# The walk holds a descriptor per directory level: a tree 1100 levels
# deep still imports under a soft open-file limit of 1024 (import raises
# it to the hard limit), and exports exactly.
if [ "$(ulimit -H -n)" = unlimited ] || [ "$(ulimit -H -n)" -ge 1300 ]; then
	deep=$(mktmp)
	"$PY" -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(1100):
    os.mkdir("d")
    os.chdir("d")
open("leaf", "w").write("at the bottom\n")' "$deep"
	run bash -c 'ulimit -S -n 1024 && exec "$0" import --store "$1" -q "$2" race/deep' \
		"$MLFS" "$S" "$deep"
	[ "$RC" -eq 0 ] && ok "a tree 1100 directories deep imports with a soft fd limit of 1024" ||
		{ fail "deep tree import: exit $RC"; show_last; }
	leaf=race/deep/$(printf 'd/%.0s' $(seq 1 1100))leaf
	expect_exit 0 "$MLFS" cat --store "$S" "$leaf"
	expect_out '^at the bottom$' "the deep tree's leaf reads back"
else
	echo "   note: hard open-file limit $(ulimit -H -n): deep-tree check skipped"
fi

# After the race the unchanged tree imports exactly.
expect_exit 0 "$MLFS" import --store "$S" -q "$SRC" race/r
expect_exit 0 "$MLFS" export --store "$S" -q race/r "$W/final"
diff -r "$W/pristine" "$W/final" >/dev/null && ok "the tree imports exactly once the swapping stops" ||
	fail "final import differs from SRC"
expect_exit 0 "$MLFS" fsck --store "$S"

# A file written to while it is imported is stored as read, with a
# warning naming it (as tar's "file changed as we read it"); counted in
# --json. A quiet file gets none.
mkdir -p "$W/grow"
head -c $((64 << 20)) /dev/urandom >"$W/grow/log.bin"
echo quiet >"$W/grow/quiet.txt"
"$PY" - "$W/grow/log.bin" "$W/grow.started" <<'PYEOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
open(sys.argv[2], "w").close()
for _ in range(20000):
    os.write(fd, b"x")
    time.sleep(0.0005)
PYEOF
writer=$!
at_exit "kill $writer 2>/dev/null"
for _ in $(seq 100); do [ -e "$W/grow.started" ] && break; sleep 0.05; done
expect_exit 0 "$MLFS" import --store "$S" "$W/grow" race/grow --json
expect_err "warning: '.*log.bin': changed while it was read: stored as read \([0-9]+ bytes\)" \
	"a file appended to during the import: warned, by name"
json_ok "--json counts it" "d['changed'] == 1 and d['files'] == 2"
if grep -q "quiet.txt" "$ERR_F"; then fail "a quiet file warned about"; else
	ok "no warning for the quiet file"; fi
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
expect_exit 0 "$MLFS" import --store "$S" "$W/grow" race/grow --json
json_ok "once quiet: nothing changed" "d['changed'] == 0"
if grep -q "changed while" "$ERR_F"; then fail "a warning once quiet"; else
	ok "no warning once the file is quiet"; fi
expect_exit 0 "$MLFS" fsck --store "$S"

summary
