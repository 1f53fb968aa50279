#!/bin/bash
# readonly.sh - a store the user may only read: a read-only bind mount of
# the store directory (mount --bind, remount ro) and, for a user who is
# not root, chmod -R a-w. Every reading command works (cat, export, ls,
# log, show, repos, du, diff, fsck --read-data), also when the last
# writer closed and left no WAL or shared-memory file; import and tag
# fail with exit 1 and a message saying the store is read-only or not
# writable; and nothing in the store changes (every file's bytes, mode
# and name compared before and after). errors.sh has the tmpfs-remount,
# chattr +i and basic chmod cases; this extends them.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

W=$(mktmp)
S=$(new_store)
mkdir -p "$W/v1/sub" "$W/v2"
gen random "$W/v1/model.bin" --size-mib 1 --seed 31 >/dev/null
echo "notes one" >"$W/v1/sub/notes.txt"
ln -s sub/notes.txt "$W/v1/link"
cp -a "$W/v1/." "$W/v2/"
echo "notes two" >"$W/v2/sub/notes.txt"
expect_exit 0 "$MLFS" import --store "$S" -q -t v1 "$W/v1" ro/r
expect_exit 0 "$MLFS" import --store "$S" -q -t v2 "$W/v2" ro/r

# A fingerprint of everything in the store: names, types, modes, sizes and
# the bytes of every file.
fingerprint() {
	(cd "$1" && find . -printf '%p %y %m %s\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# Reading commands against store $1 (as "$2"-prefixed command, e.g. runuser).
reads_work() {
	local st=$1 what=$2
	shift 2
	local x
	x=$(mktemp -d "$W/x.XXXXXX")
	rmdir "$x"
	run "$@" "$MLFS" cat --store "$st" ro/r@v1/model.bin
	[ "$RC" -eq 0 ] && cmp -s "$OUT_F" "$W/v1/model.bin" &&
		ok "$what: cat reads byte-identical" || { fail "$what: cat (exit $RC)"; show_last; }
	run "$@" "$MLFS" export --store "$st" -q ro/r@v2 "$x"
	[ "$RC" -eq 0 ] && diff -r "$W/v2" "$x" >/dev/null &&
		ok "$what: export is exact" || { fail "$what: export (exit $RC)"; show_last; }
	run "$@" "$MLFS" ls --store "$st" -R ro/r@v1
	[ "$RC" -eq 0 ] && grep -q 'notes.txt' "$OUT_F" &&
		ok "$what: ls lists the version" || { fail "$what: ls (exit $RC)"; show_last; }
	run "$@" "$MLFS" log --store "$st" ro/r
	[ "$RC" -eq 0 ] && ok "$what: log works" || { fail "$what: log (exit $RC)"; show_last; }
	run "$@" "$MLFS" diff --store "$st" ro/r@v1 ro/r@v2
	[ "$RC" -le 1 ] && grep -q 'notes.txt' "$OUT_F" &&
		ok "$what: diff names the changed file" || { fail "$what: diff (exit $RC)"; show_last; }
	for c in "show ro/r@v1" "repos" "du" "fsck --read-data"; do
		# shellcheck disable=SC2086
		run "$@" "$MLFS" $c --store "$st"
		[ "$RC" -eq 0 ] && ok "$what: $c works" || { fail "$what: $c (exit $RC)"; show_last; }
	done
}

writes_fail() {
	local st=$1 what=$2 re=$3
	shift 3
	run "$@" "$MLFS" import --store "$st" -q "$W/v2" ro/r
	[ "$RC" -eq 1 ] && grep -Eiq "$re" "$ERR_F" &&
		ok "$what: import fails (exit 1) saying so" || { fail "$what: import (exit $RC)"; show_last; }
	expect_err_prefix "$what: import"
	run "$@" "$MLFS" import --store "$st" -q "$W/v2" ro/new
	[ "$RC" -eq 1 ] && ok "$what: import of a new repository fails" ||
		{ fail "$what: import of a new repository (exit $RC)"; show_last; }
	run "$@" "$MLFS" tag --store "$st" ro/r@v1 v3
	[ "$RC" -eq 1 ] && grep -Eiq "$re" "$ERR_F" &&
		ok "$what: tag fails saying so" || { fail "$what: tag (exit $RC)"; show_last; }
}

# --- a read-only bind mount -----------------------------------------------------
RO=$W/ro-view
mkdir "$RO"
if [ "$(id -u)" = 0 ] && mount --bind "$S" "$RO" 2>/dev/null; then
	at_exit "umount '$RO' || umount -l '$RO'"
	if mount -o remount,bind,ro "$RO"; then
		for state in "with its WAL files" "after the last writer closed"; do
			if [ "$state" = "after the last writer closed" ]; then
				# As SQLite leaves it when a writer closes last.
				"$MLFS" tag --store "$S" ro/r@v1 pre-ro >/dev/null 2>&1
				if [ -e "$S/mlfs.db-wal" ] && [ ! -s "$S/mlfs.db-wal" ]; then
					rm -f "$S/mlfs.db-wal" "$S/mlfs.db-shm"
				fi
			fi
			before=$(fingerprint "$S")
			reads_work "$RO" "ro bind mount, $state"
			writes_fail "$RO" "ro bind mount, $state" 'read-only|read only'
			after=$(fingerprint "$S")
			[ "$before" = "$after" ] && ok "ro bind mount, $state: nothing in the store changed" ||
				{ fail "ro bind mount, $state: the store changed"; diff <(echo "$before") <(echo "$after") | head -5; }
		done
	else
		fail "cannot remount the bind mount read-only"
	fi
	umount "$RO" || umount -l "$RO"
else
	fail "cannot bind-mount (needs root)"
fi

# --- chmod -R a-w, as a user who is not root -------------------------------------
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
	US=$W/ustore
	cp -a "$S" "$US"
	# The owner has used it since the last writer closed (which leaves
	# the shared-memory file the readers coordinate through, see
	# docs/design.md#sharing-a-store).
	"$MLFS" log --store "$US" ro/r >/dev/null 2>&1
	chmod o+x "$_tmp_root" "$W"
	chmod -R o+r "$W/v1" "$W/v2"
	chown -R nobody "$US"
	chmod -R a-w "$US"
	at_exit "chmod -R u+w '$US'"
	# Export destinations must be writable by nobody.
	chmod 1777 "$W"
	before=$(fingerprint "$US")
	reads_work "$US" "chmod a-w" runuser -u nobody --
	writes_fail "$US" "chmod a-w" 'read-only|permission|cannot write' runuser -u nobody --
	after=$(fingerprint "$US")
	[ "$before" = "$after" ] && ok "chmod a-w: nothing in the store changed" ||
		{ fail "chmod a-w: the store changed"; diff <(echo "$before") <(echo "$after") | head -5; }
	chmod 755 "$W"
else
	fail "cannot run as another user (needs root, runuser and the user nobody)"
fi

# The store itself is unharmed and writable again.
expect_exit 0 "$MLFS" fsck --store "$S" --read-data
expect_exit 0 "$MLFS" import --store "$S" -q -t v3 "$W/v2" ro/r

summary
