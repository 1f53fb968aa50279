#!/bin/bash
# errors.sh - clear errors for a missing store, a read-only store (real
# read-only mount, and chattr +i), a full disk (tmpfs, and ext4 filled to
# 100 %: reads and the mount work, writes say no space), a missing SRC, special
# files in SRC, bad DEST; --help on every command; usage errors exit 2.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

W=$(mktmp)
echo data >"$W/f.txt"
cmds=(init import tag branch repos log show ls cat export du fsck)
# Plus whatever else `mlfs --help` lists (later issues add commands).
for c in $("$MLFS" --help 2>/dev/null | sed -n 's/^   \([a-z][a-z-]*\)  .*/\1/p'); do
	[[ " ${cmds[*]} " == *" $c "* ]] || cmds+=("$c")
done

# --- help and usage -----------------------------------------------------------
for c in "${cmds[@]}"; do
	expect_exit 0 "$MLFS" "$c" --help
	if [ -s "$OUT_F" ] && grep -qi "usage" "$OUT_F"; then
		ok "'mlfs $c --help' prints usage on stdout"
	else
		fail "'mlfs $c --help' prints no usage on stdout"
	fi
done
expect_exit 0 "$MLFS" --help
for c in init import log cat export; do
	grep -q "$c" "$OUT_F" || fail "'mlfs --help' does not list $c"
done
expect_exit 2 "$MLFS"
expect_exit 2 "$MLFS" no-such-command
expect_err 'no-such-command' "unknown command is named in the message"
expect_err_prefix "unknown command"
expect_exit 2 "$MLFS" log --no-such-option
expect_exit 2 "$MLFS" import
expect_exit 2 "$MLFS" import "$W/f.txt"
expect_exit 2 "$MLFS" import "$W/f.txt" ns/r extra-arg
expect_exit 2 "$MLFS" cat
expect_exit 2 "$MLFS" export ns/r
expect_exit 2 "$MLFS" tag
expect_exit 2 "$MLFS" log -n notanumber ns/r
expect_exit 2 "$MLFS" --store
expect_exit 2 "$MLFS" init --zstd-level abc --store "$W/zs"
expect_exit 2 "$MLFS" init --zstd-level 99 --store "$W/zs"
[ -e "$W/zs/mlfs.db" ] && fail "init with a bad --zstd-level created a store"

# --- missing store ------------------------------------------------------------------
for c in "repos" "log ns/r" "cat ns/r/f" "import $W/f.txt ns/r" "du" "fsck"; do
	# shellcheck disable=SC2086
	expect_exit 1 "$MLFS" --store "$W/nostore" $c
	expect_err 'mlfs init' "'$c' with no store says how to create one (mlfs init)"
done
[ -e "$W/nostore" ] && fail "a read command created the missing store directory"
mkdir "$W/emptydir"
expect_exit 1 "$MLFS" --store "$W/emptydir" repos
expect_err 'mlfs init' "an empty directory is not a store: says mlfs init"
MLFS_STORE=$W/nostore2 run "$MLFS" repos
[ "$RC" -eq 1 ] && grep -q 'mlfs init' "$ERR_F" && ok "\$MLFS_STORE honoured (missing store)" ||
	{ fail "\$MLFS_STORE=missing: exit $RC"; show_last; }
if [ ! -e /var/lib/mlfs ] && [ "$(id -u)" = 0 ]; then
	run env -u MLFS_STORE "$MLFS" repos
	[ "$RC" -eq 1 ] && grep -q '/var/lib/mlfs' "$ERR_F" &&
		ok "default store for root is /var/lib/mlfs (named in the error)" ||
		{ fail "default store: exit $RC"; show_last; }
	[ -e /var/lib/mlfs ] && fail "a read command created /var/lib/mlfs"
fi

# --- init --------------------------------------------------------------------------------
S=$W/store
expect_exit 0 "$MLFS" init --store "$S"
[ -f "$S/mlfs.db" ] && [ -d "$S/packs" ] && [ -f "$S/config" ] &&
	ok "init creates mlfs.db, packs/, config" || fail "init layout"
expect_exit 0 "$MLFS" --store "$S" repos
expect_exit 0 "$MLFS" repos --store "$S" --json
json_ok "repos --json of an empty store is an empty list" "d == [] or d.get('repos') == []"
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" ns/r -q
expect_exit 1 "$MLFS" init --store "$S"
expect_err 'exist|already' "init on an existing store refuses"
expect_exit 0 "$MLFS" cat --store "$S" ns/r/f.txt
mkdir "$W/nonempty" && echo x >"$W/nonempty/file"
expect_exit 1 "$MLFS" init --store "$W/nonempty"
expect_exit 0 "$MLFS" init --store "$W/zstore" --zstd-level 19
MLFS_STORE=$W/envstore run "$MLFS" init
[ "$RC" -eq 0 ] && [ -f "$W/envstore/mlfs.db" ] && ok "init uses \$MLFS_STORE" ||
	fail "init with \$MLFS_STORE: exit $RC"
MLFS_STORE=$W/envstore run "$MLFS" import "$W/f.txt" env/r -q
[ "$RC" -eq 0 ] && ok "import uses \$MLFS_STORE" || fail "import with \$MLFS_STORE: exit $RC"
expect_exit 0 "$MLFS" log env/r --store "$W/envstore"
# Parents are created as mkdir -p does (a new user has no ~/.local/share).
expect_exit 0 "$MLFS" init --store "$W/new/parents/x"
[ -f "$W/new/parents/x/config" ] && ok "init creates missing parents" ||
	fail "init with missing parents made no store"
touch "$W/afile"
expect_exit 1 "$MLFS" init --store "$W/afile/x"
expect_err "cannot create a store in '$W/afile/x': Not a directory" \
	"init under a file says which path and why"
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null &&
	id nobody >/dev/null 2>&1; then
	chmod o+x "$_tmp_root" "$W"
	nh=$W/newhome
	mkdir "$nh" && chown nobody "$nh"
	run runuser -u nobody -- env -u MLFS_STORE -u XDG_DATA_HOME HOME="$nh" \
		"$MLFS" init
	if [ "$RC" -eq 0 ] && [ -f "$nh/.local/share/mlfs/config" ]; then
		ok "a new user's first 'mlfs init' creates ~/.local/share/mlfs"
	else
		fail "new user's 'mlfs init' with no ~/.local/share: exit $RC"
		show_last
	fi
	run runuser -u nobody -- env -u MLFS_STORE -u XDG_DATA_HOME HOME="$nh" \
		"$MLFS" repos
	[ "$RC" -eq 0 ] && ok "the new user's default store opens" ||
		{ fail "new user's default store: exit $RC"; show_last; }
fi
# A damaged config and a missing database are reported, not crashed on.
cp -a "$S" "$W/dmg"
echo "garbage" >"$W/dmg/config"
run "$MLFS" repos --store "$W/dmg"
[ "$RC" -eq 1 ] && ok "damaged config: exit 1" || { fail "damaged config: exit $RC"; show_last; }
expect_err_prefix "damaged config"
cp -a "$S" "$W/nodb"
rm -f "$W/nodb/mlfs.db"*
run "$MLFS" log ns/r --store "$W/nodb"
[ "$RC" -eq 1 ] && ok "missing mlfs.db: exit 1" || { fail "missing mlfs.db: exit $RC"; show_last; }
[ -e "$W/nodb/mlfs.db" ] && [ ! -s "$W/nodb/mlfs.db" ] && echo "   note: reading a store without mlfs.db created an empty one"

# --- SRC problems --------------------------------------------------------------------------
expect_exit 1 "$MLFS" import --store "$S" "$W/does-not-exist" ns/r -q
expect_err 'does-not-exist' "non-existent SRC: the path is named"
expect_err_prefix "non-existent SRC"
expect_exit 1 "$MLFS" log ns/new --store "$S"
# Special files and hard links: kept or reported, never a silent failure.
sp=$W/special
mkdir -p "$sp/d"
echo regular >"$sp/regular"
ln "$sp/regular" "$sp/hardlink"
mkfifo "$sp/fifo"
expect_exit 0 "$MLFS" import --store "$S" "$sp" ns/special -q
expect_err 'fifo' "import warns about the skipped fifo on stderr"
expect_exit 0 "$MLFS" export --store "$S" ns/special "$W/special-out"
[ ! -e "$W/special-out/fifo" ] && ok "fifo not exported" || fail "fifo exported?"
cmp -s "$W/special-out/hardlink" "$sp/regular" && ok "hard link exported as a file with the content" ||
	fail "hard link content"
# Unreadable file (as root, only possible through a file we cannot open:
# a directory we cannot search does not stop root) - skipped.
# SRC that is a symlink to a directory.
ln -s "$sp/d" "$W/link-to-dir"
run "$MLFS" import --store "$S" "$W/link-to-dir" ns/linksrc -q
echo "   note: import of a SRC that is a symlink to a dir: exit $RC"

# --- export DEST problems -------------------------------------------------------------------
expect_exit 1 "$MLFS" export --store "$S" ns/r "$W"
expect_err 'exist' "export onto an existing dir names the problem"
expect_exit 1 "$MLFS" export --store "$S" ns/r "$W/no/such/parent/dest"
expect_exit 1 "$MLFS" export --store "$S" ns/r/no-such-path "$W/dest-x"
[ -e "$W/dest-x" ] && fail "failed export left DEST behind"

# --- read-only store: a real read-only mount --------------------------------------------------
ro=$W/ro
mkdir "$ro"
if mount -t tmpfs -o size=64m tmpfs "$ro" 2>/dev/null; then
	at_exit "umount -l '$ro'"
	RS=$ro/store
	expect_exit 0 "$MLFS" init --store "$RS"
	expect_exit 0 "$MLFS" import --store "$RS" "$W/f.txt" ro/r -q -t v1
	# A copy without -wal/-shm (as an older mlfs left stores): read
	# from the database file alone, safe since nobody can write it.
	cp -a "$RS" "$ro/bare"
	rm -f "$ro/bare/mlfs.db-wal" "$ro/bare/mlfs.db-shm"
	mount -o remount,ro "$ro"
	expect_exit 0 "$MLFS" cat --store "$ro/bare" ro/r/f.txt
	expect_out '^data$' "read-only media without -shm: cat returns the bytes"
	expect_exit 0 "$MLFS" fsck --store "$ro/bare" --read-data
	expect_exit 1 "$MLFS" import --store "$RS" "$sp" ro/r -q
	expect_err 'read-only|read only|EROFS' "import into a read-only store says read-only"
	expect_err_prefix "read-only import"
	expect_exit 0 "$MLFS" log --store "$RS" ro/r
	expect_exit 0 "$MLFS" ls --store "$RS" ro/r
	expect_exit 0 "$MLFS" cat --store "$RS" ro/r/f.txt
	expect_out '^data$' "cat from a read-only store returns the bytes"
	expect_exit 0 "$MLFS" repos --store "$RS"
	expect_exit 0 "$MLFS" du --store "$RS"
	expect_exit 0 "$MLFS" fsck --store "$RS" --read-data
	expect_exit 0 "$MLFS" export --store "$RS" ro/r "$W/ro-out"
	expect_exit 1 "$MLFS" tag --store "$RS" ro/r@v1 v2
	expect_err 'read-only|read only' "tag in a read-only store says read-only"
	mount -o remount,rw "$ro"
	expect_exit 0 "$MLFS" fsck --store "$RS"
	expect_exit 0 "$MLFS" import --store "$RS" "$sp" ro/r -q
	# --- full disk ---------------------------------------------------------------------
	umount "$ro"
	mount -t tmpfs -o size=24m tmpfs "$ro"
	FS=$ro/store
	expect_exit 0 "$MLFS" init --store "$FS"
	expect_exit 0 "$MLFS" import --store "$FS" "$W/f.txt" full/r -q -t v1
	gen random "$W/big40" --size-mib 40 --seed 5
	expect_exit 1 "$MLFS" import --store "$FS" "$W/big40" full/r -q
	expect_err 'space' "import on a full disk says no space"
	rm -f "$W/big40"
	expect_exit 0 "$MLFS" fsck --store "$FS" --read-data
	expect_exit 0 "$MLFS" cat --store "$FS" full/r@v1/f.txt
	expect_exit 0 "$MLFS" log --store "$FS" full/r
	if [ "$(grep -c . "$OUT_F")" -ge 1 ]; then ok "full disk: earlier commit intact"; fi
	umount "$ro"
else
	fail "cannot mount a tmpfs for the read-only and full-disk checks"
fi

# --- a 100 % full disk: reads work, writes say no space ------------------
# A loop-mounted ext4 filled with dd until ENOSPC, with 1 KiB blocks (the
# mkfs default at this size, where SQLite's -shm has holes) and 4 KiB.
# Each store is read once with its -wal/-shm kept by the last close, and
# once without them (as an older mlfs leaves a store).
fill_disk() {
	local bs
	for bs in 1M 4k 512; do
		dd if=/dev/zero of="$1/fill.$bs" bs=$bs status=none 2>/dev/null
	done
	sync
}
full_disk_reads() { # STORE MNT LABEL
	local fs=$1 m=$2 what=$3
	expect_exit 0 "$MLFS" cat --store "$fs" full/r@v1/t.txt
	expect_out '^hello$' "$what: cat returns the bytes"
	expect_exit 0 "$MLFS" ls --store "$fs" full/r
	expect_exit 0 "$MLFS" log --store "$fs" full/r
	expect_exit 0 "$MLFS" diff --store "$fs" full/r@v1 full/r
	expect_exit 0 "$MLFS" fsck --store "$fs" --read-data
	rm -rf "$W/full-out"
	expect_exit 0 "$MLFS" export --store "$fs" full/r@v1 "$W/full-out"
	cmp -s "$W/full-out/a.bin" "$W/fsrc/a.bin" &&
		ok "$what: export to another disk has the bytes" ||
		fail "$what: export differs"
	if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
		if "$MLFS" mount --store "$fs" "$m" 2>"$ERR_F"; then
			cmp -s "$m/full/r@v1/a.bin" "$W/fsrc/a.bin" &&
				ok "$what: reads through the mount" ||
				fail "$what: mount read differs"
			"$MLFS" umount "$m" || fusermount3 -u "$m" || true
		else
			fail "$what: mount failed: $(cat "$ERR_F")"
		fi
	fi
	for c in "tag full/r@v1 v9" "tag --delete full/r v1" \
		"import $W/fsrc full/r -q"; do
		# shellcheck disable=SC2086
		expect_exit 1 "$MLFS" --store "$fs" $c
		expect_err 'no space left on device' \
			"$what: '${c%% *}' says no space left on device"
	done
}
if command -v mkfs.ext4 >/dev/null && mkdir "$W/fullmnt" "$W/fullfuse"; then
	mkdir "$W/fsrc"
	gen random "$W/fsrc/a.bin" --size-mib 3 --seed 9
	echo hello >"$W/fsrc/t.txt"
	at_exit "fusermount3 -u '$W/fullfuse'"
	at_exit "umount -l '$W/fullmnt'"
	for blk in 1024 4096; do
		truncate -s 64M "$W/full.img"
		mkfs.ext4 -q -F -m 0 -b $blk "$W/full.img" >/dev/null 2>&1
		if ! mount -o loop "$W/full.img" "$W/fullmnt" 2>/dev/null; then
			echo "   note: cannot loop-mount ext4; full-disk checks skipped"
			break
		fi
		FS=$W/fullmnt/store
		expect_exit 0 "$MLFS" init --store "$FS"
		expect_exit 0 "$MLFS" import --store "$FS" "$W/fsrc" full/r -q -t v1
		fill_disk "$W/fullmnt"
		[ "$(df --output=avail "$W/fullmnt" | tail -n1)" -eq 0 ] &&
			ok "ext4 ($blk-byte blocks) filled to 100 %" ||
			fail "ext4 ($blk) not full"
		full_disk_reads "$FS" "$W/fullfuse" "full disk ($blk), -shm kept"
		rm -f "$FS/mlfs.db-wal" "$FS/mlfs.db-shm"
		full_disk_reads "$FS" "$W/fullfuse" "full disk ($blk), no -shm"
		rm -f "$W/fullmnt"/fill.*
		expect_exit 0 "$MLFS" fsck --store "$FS" --read-data
		expect_exit 0 "$MLFS" tag --store "$FS" full/r@v1 v2
		umount "$W/fullmnt"
		rm -f "$W/full.img"
	done
fi

# --- read-only store: chattr +i ----------------------------------------------------------------
IS=$W/istore
expect_exit 0 "$MLFS" init --store "$IS"
expect_exit 0 "$MLFS" import --store "$IS" "$W/f.txt" imm/r -q -t v1
if chattr -R +i "$IS" 2>/dev/null; then
	at_exit "chattr -R -i '$IS'"
	expect_exit 1 "$MLFS" import --store "$IS" "$sp" imm/r -q
	expect_err 'read-only|permission|not permitted|cannot write' "import into an immutable store fails clearly"
	expect_exit 0 "$MLFS" cat --store "$IS" imm/r/f.txt
	expect_exit 0 "$MLFS" log --store "$IS" imm/r
	expect_exit 0 "$MLFS" fsck --store "$IS" --read-data
	# Without -wal/-shm: the database file alone (immutable=1).
	chattr -R -i "$IS"
	rm -f "$IS/mlfs.db-wal" "$IS/mlfs.db-shm"
	chattr -R +i "$IS"
	expect_exit 0 "$MLFS" cat --store "$IS" imm/r/f.txt
	expect_out '^data$' "immutable store without -shm: cat returns the bytes"
	expect_exit 0 "$MLFS" fsck --store "$IS" --read-data
	chattr -R -i "$IS"
	expect_exit 0 "$MLFS" fsck --store "$IS"
	expect_exit 0 "$MLFS" import --store "$IS" "$sp" imm/r -q
else
	echo "   note: chattr +i unsupported here; skipped"
fi

# --- read-only store directory for a non-root user (chmod a-w) -----------------
if command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
	US=$W/ustore
	expect_exit 0 "$MLFS" init --store "$US"
	expect_exit 0 "$MLFS" import --store "$US" "$W/f.txt" usr/r -q -t v1
	chmod o+x "$_tmp_root" "$W"
	chown -R nobody "$US"
	chmod -R a-w "$US"
	asnobody() { runuser -u nobody -- "$@"; }
	expect_exit 1 asnobody "$MLFS" import --store "$US" "$W/f.txt" usr/r -q
	expect_err 'read-only|permission|cannot write' "chmod a-w store: import fails clearly"
	expect_exit 0 asnobody "$MLFS" log --store "$US" usr/r
	expect_exit 0 asnobody "$MLFS" cat --store "$US" usr/r/f.txt
	expect_exit 0 asnobody "$MLFS" fsck --store "$US" --read-data
	chmod -R u+w "$US"
fi

# --- a store shared read-only with a group (docs/design.md#sharing-a-store) --
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null &&
	id nobody >/dev/null 2>&1 &&
	getent group users >/dev/null; then
	chmod o+x "$_tmp_root" "$W"
	SS=$W/shared
	member() { runuser -u nobody -G users -- "$@"; }
	other() { runuser -u nobody -- "$@"; }
	# The reported case: a root-owned private store (config 0600) read
	# by another user got "cannot write to store (this command changes
	# the store)" for cat, ls and log, which only read.
	expect_exit 0 "$MLFS" init --store "$W/private"
	expect_exit 0 "$MLFS" import --store "$W/private" "$W/f.txt" p/r -q
	for c in "cat p/r/f.txt" "ls p/r" "log p/r"; do
		# shellcheck disable=SC2086
		expect_exit 1 other "$MLFS" --store "$W/private" $c
		expect_err "^mlfs: cannot read store config '$W/private/config': Permission denied; ask the store's owner to add you to its group \(docs/design.md#sharing-a-store\)$" \
			"'${c%% *}' of a private store by another user names the config"
	done
	expect_exit 0 "$MLFS" init --store "$SS" --shared users
	expect_out 'readable by group users' "init --shared says who may read"
	expect_exit 0 "$MLFS" import --store "$SS" "$W/f.txt" sh/r -q -t v1
	modes=$(cd "$SS" && stat -c '%n %a %G' . packs config mlfs.db \
		mlfs.db-wal mlfs.db-shm | tr '\n' ' ')
	[ "$modes" = ". 2750 users packs 2750 users config 640 users mlfs.db 640 users mlfs.db-wal 640 users mlfs.db-shm 640 users " ] &&
		ok "shared store: group users, setgid dirs, nothing for others" ||
		fail "shared store modes: $modes"
	stat -c '%G %A' "$SS"/packs/pack-* | grep -qv '^users -r--r--' &&
		fail "a pack is not group-readable: $(stat -c '%n %G %A' "$SS"/packs/*)" ||
		ok "packs written later belong to the group"
	expect_exit 0 member "$MLFS" cat --store "$SS" sh/r/f.txt
	expect_out '^data$' "a group member reads the bytes (chunks verified)"
	# The owner's umask does not hide new packs from the group.
	echo umask >"$W/u.txt"
	(umask 077 && "$MLFS" import --store "$SS" "$W/u.txt" sh/u -q >/dev/null) ||
		fail "import with umask 077"
	expect_exit 0 member "$MLFS" cat --store "$SS" sh/u/u.txt
	expect_out '^umask$' "packs written with umask 077 are group-readable"
	expect_exit 0 member "$MLFS" ls --store "$SS" sh/r
	expect_exit 0 member "$MLFS" log --store "$SS" sh/r
	expect_exit 0 member "$MLFS" fsck --store "$SS" --read-data
	mkdir "$W/nhome" && chown nobody "$W/nhome"
	expect_exit 0 member "$MLFS" export --store "$SS" sh/r "$W/nhome/out"
	cmp -s "$W/nhome/out/f.txt" "$W/f.txt" && ok "a member exports the bytes" ||
		fail "member export differs"
	expect_exit 1 member "$MLFS" tag --store "$SS" sh/r@v1 v2
	expect_err "^mlfs: cannot write to store '$SS' \(this command changes the store\): Permission denied$" \
		"a group member who tags is told the store is not theirs to write"
	expect_exit 1 other "$MLFS" cat --store "$SS" sh/r/f.txt
	expect_err "^mlfs: cannot read store config '$SS/config': Permission denied; ask the store's owner to add you to its group \(docs/design.md#sharing-a-store\)$" \
		"a user outside the group is told what is wrong and what helps"
	expect_exit 1 other "$MLFS" log --store "$SS" sh/r
	expect_err "cannot read store config" "log outside the group: same message"
	# A config the group may not read: the key is missing, say so.
	chmod 0600 "$SS/config"
	expect_exit 1 member "$MLFS" ls --store "$SS" sh/r
	expect_err "^mlfs: cannot read store config '$SS/config': Permission denied; ask" \
		"a group member without the key is told it is the config"
	chmod 0640 "$SS/config"
	# Without -wal/-shm (an older mlfs removed them) a member cannot
	# take WAL read locks and the owner could be writing: refused.
	rm -f "$SS/mlfs.db-wal" "$SS/mlfs.db-shm"
	expect_exit 1 member "$MLFS" cat --store "$SS" sh/r/f.txt
	expect_err "cannot read store '$SS' safely: you may not create its lock file mlfs.db-shm" \
		"a member is refused, clearly, a store that could change underneath"
	expect_exit 0 "$MLFS" repos --store "$SS"
	expect_exit 0 member "$MLFS" cat --store "$SS" sh/r/f.txt
	expect_out '^data$' "after any owner command the member reads again"
	expect_exit 2 "$MLFS" init --store "$W/shared2" --shared no-such-group-x
	expect_err "no group 'no-such-group-x'" "init --shared with an unknown group"
	[ -e "$W/shared2" ] && fail "init with an unknown group made a store"
	expect_exit 1 other "$MLFS" init --store "$W/nhome/s" --shared users
	expect_err "cannot give the store '$W/nhome/s' to group 'users' \(you must be a member of it\)" \
		"init --shared with a group one is not in says so"
fi

summary
