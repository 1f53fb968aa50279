#!/bin/bash
# tests/alias.sh - aliases: create, move (only with a reason), list,
# history, delete, rollback (twice, and with nothing before), the clash
# with tags and branches in both directions, bad names and arguments
# (exit 2, nothing written), an alias resolving in cat/ls/export/diff/
# log, a hand-damaged alias row or audit record (error naming it, fsck
# exit 1), a newer store refused, the audit records of every change
# (mlfs audit --json), and a live mount: a promoted, rolled
# back and deleted alias is seen by new opens within 1 s while a file
# opened before keeps reading its version.
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
mlfs() { "$MLFS" --store "$S" "$@"; }

for v in 1 2 3; do
	mkdir -p "$W/v$v"
	echo "version $v" >"$W/v$v/f"
	gen random "$W/v$v/big.bin" --size-mib 4 --seed "$v" >/dev/null
done
c1=$(mlfs import -q -t v1 "$W/v1" models/m | tail -n1)
c2=$(mlfs import -q -t v2 "$W/v2" models/m | tail -n1)
c3=$(mlfs import -q -t v3 "$W/v3" models/m | tail -n1)
o1=$(mlfs import -q "$W/v2" models/other | tail -n1)
check "imports" is_hex32 "$c3"
check "branch dev" mlfs branch models/m@v1 dev

# the number of alias records in the audit log (mlfs audit --json)
records() {
	"$MLFS" --store "$S" audit --json | "$PY" -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin)
          if (e["ref"] or "").startswith("alias:")))'
}

# ---- create, move, list, history -------------------------------------
expect_exit 0 mlfs alias models/m@v1 prod
expect_out "^alias 'prod' -> ${c1:0:12}$" "create says where"
check "m@prod is version 1" test "$(mlfs cat models/m@prod/f)" = "version 1"

n0=$(records)
expect_exit 2 mlfs alias models/m@v2 prod
expect_err "^mlfs alias: alias 'prod' of 'models/m' is at ${c1:0:12}: moving it needs -m REASON$" \
	"a move without -m says why"
check "nothing written by the refused move" test "$(records)" = "$n0"
check "m@prod is still version 1" \
	test "$(mlfs cat models/m@prod/f)" = "version 1"

expect_exit 0 mlfs alias models/m@v2 prod -m "promote v2"
expect_out "^alias 'prod' ${c1:0:12} -> ${c2:0:12}$" "move says from and to"
check "m@prod is version 2" test "$(mlfs cat models/m@prod/f)" = "version 2"
expect_exit 0 mlfs alias models/m@v2 prod -m "same again"
expect_out "^alias 'prod' already at ${c2:0:12}$" "a move to where it is changes nothing"
check "no record for a move that changed nothing" \
	test "$(records)" = "$((n0 + 1))"
expect_exit 0 mlfs alias models/m@v3 prod --message "promote v3"
check "m@prod is version 3" test "$(mlfs cat models/m@prod/f)" = "version 3"
expect_exit 0 mlfs alias models/m@v1 staging -m "first staging"

expect_exit 0 mlfs alias --list models/m
expect_out "^prod +${c3:0:12}  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  [^ ]+$" \
	"list: alias, short commit, time set, who"
expect_out "^staging +${c1:0:12} " "list: staging at v1"
check "list: two lines" test "$(wc -l <"$OUT_F")" = 2
expect_exit 0 mlfs alias --list models/m --json
json_ok "list --json" "[a['name'] for a in d] == ['prod', 'staging'] and \
d[0]['commit'] == '$c3' and d[1]['commit'] == '$c1' and \
isinstance(d[0]['time'], int) and d[0]['user'] != '' and 'host' in d[0]"

expect_exit 0 mlfs alias --history models/m prod
expect_out "alias-create +- +-> ${c1:0:12}" "history: created at v1"
expect_out "alias-move +${c1:0:12} -> ${c2:0:12}  promote v2$" \
	"history: moved to v2, with the reason"
expect_out "alias-move +${c2:0:12} -> ${c3:0:12}  promote v3$" \
	"history: moved to v3"
check "history: three changes" test "$(wc -l <"$OUT_F")" = 3
expect_exit 0 mlfs alias --history models/m prod --json
json_ok "history --json" "[e['op'] for e in d] == ['alias-create', \
'alias-move', 'alias-move'] and d[0]['old'] is None and \
d[0]['new'] == '$c1' and d[1]['old'] == '$c1' and d[2]['new'] == '$c3' \
and d[1]['message'] == 'promote v2' and d[0]['message'] is None and \
all(isinstance(e['time'], int) and e['user'] for e in d) and \
d[0]['id'] < d[1]['id'] < d[2]['id']"

# ---- an alias resolves everywhere a ref does -------------------------
expect_exit 0 mlfs ls models/m@prod
expect_out "big.bin" "ls m@prod"
E=$(mktmp)/out
check "export m@prod" mlfs export models/m@prod "$E"
check "export m@prod is version 3" cmp "$E/big.bin" "$W/v3/big.bin"
check "other@prod" mlfs alias models/other prod
expect_exit 1 mlfs diff models/m@prod models/other@prod
expect_out "^M +f  \(" "diff m@prod other@prod: f differs"
expect_out "^M +big\.bin  \(" "diff m@prod other@prod: big.bin differs"
check "prod of other at version 2 (same content as m@v2)" \
	mlfs diff models/m@v2 models/other@prod
check "m@prod~1 is version 2" \
	test "$(mlfs cat 'models/m@prod~1/f')" = "version 2"
expect_exit 2 mlfs cat 'models/m@prod@{2024-01-01}/f'
expect_err "'@\{date\}' applies to branches, and 'prod' is not one \(it is an alias" \
	"@{date} on an alias is refused like on a tag"
expect_exit 1 mlfs snapshot models/m@staging
expect_err "^mlfs: 'models/m@staging' names an alias: versions cannot be changed, only branch heads$" \
	"an alias has no working tree"
expect_exit 0 mlfs du models/m@prod
expect_out "^models/m +${c3:0:12} main,v3,prod " "du lists the alias among the refs"
expect_exit 0 mlfs log models/m
expect_out "^commit $c3 \(main, tag: v3, alias: prod\)$" "log decorates aliases"
expect_out "^commit $c1 \(dev, tag: v1, alias: staging\)$" "log: staging at v1"
expect_exit 0 mlfs show models/m@prod --json
json_ok "show --json lists aliases" "d['commit'] == '$c3' and \
d['aliases'] == ['prod'] and d['tags'] == ['v3']"

# ---- rollback ---------------------------------------------------------
n0=$(records)
expect_exit 2 mlfs rollback models/m prod
expect_err "^mlfs rollback: rolling back an alias needs -m REASON$" \
	"rollback without -m"
check "nothing written" test "$(records)" = "$n0"
expect_exit 0 mlfs rollback models/m prod -m "v3 is bad"
expect_out "^alias 'prod' rolled back ${c3:0:12} -> ${c2:0:12}$" \
	"rollback: v3 -> v2"
expect_exit 0 mlfs rollback models/m prod -m "v2 is bad too"
expect_out "^alias 'prod' rolled back ${c2:0:12} -> ${c1:0:12}$" \
	"second rollback walks further back: v2 -> v1"
check "m@prod is version 1" test "$(mlfs cat models/m@prod/f)" = "version 1"
expect_exit 1 mlfs rollback models/m prod -m "and before?"
expect_err "^mlfs: alias 'prod' of 'models/m' has no earlier target to roll back to$" \
	"rollback with nothing before"
expect_exit 1 mlfs rollback models/m nosuch -m "x"
expect_err "^mlfs: no alias 'nosuch' in 'models/m'$" "rollback of no alias"
# a move after rollbacks pushes again: rollback returns to v1
check "move to v3 again" mlfs alias models/m@v3 prod -m "v3 fixed"
check "rollback after a move" mlfs rollback models/m prod -m "no, it is not"
check "m@prod is version 1 again" \
	test "$(mlfs cat models/m@prod/f)" = "version 1"
expect_exit 0 mlfs alias --history models/m prod --json
json_ok "history has the rollbacks, with reasons" "[e['op'] for e in d] == \
['alias-create', 'alias-move', 'alias-move', 'rollback', 'rollback', \
'alias-move', 'rollback'] and d[3]['old'] == '$c3' and \
d[3]['new'] == '$c2' and d[3]['message'] == 'v3 is bad' and \
d[6]['new'] == '$c1'"

# ---- delete -----------------------------------------------------------
n0=$(records)
expect_exit 2 mlfs alias --delete models/m prod
expect_err "^mlfs alias: deleting an alias needs -m REASON$" "delete without -m"
check "nothing written" test "$(records)" = "$n0"
expect_exit 0 mlfs alias --delete models/m prod -m "retired"
expect_out "^deleted alias 'prod' \(was ${c1:0:12}" "delete says what it was"
expect_exit 1 mlfs cat models/m@prod/f
expect_err "^mlfs: no tag, branch, alias or commit 'prod' in 'models/m'$" \
	"a deleted alias resolves no more"
expect_exit 1 mlfs alias --delete models/m prod -m "again"
expect_err "^mlfs: no alias 'prod' in 'models/m'$" "delete of no alias"
expect_exit 0 mlfs alias --history models/m prod --json
json_ok "history after delete ends with it" "d[-1]['op'] == 'alias-delete' \
and d[-1]['old'] == '$c1' and d[-1]['new'] is None and \
d[-1]['message'] == 'retired'"
expect_exit 1 mlfs rollback models/m prod -m "undo the delete"
expect_err "^mlfs: no alias 'prod' in 'models/m'$" "no rollback over a delete"
expect_exit 1 mlfs alias --history models/m never
expect_err "^mlfs: no alias 'never' in 'models/m', now or before$" \
	"history of an alias that never was"
# made again: a fresh history stack (rollback has nothing before)
check "prod made again at v2" mlfs alias models/m@v2 prod
expect_exit 1 mlfs rollback models/m prod -m "x"
expect_err "no earlier target" "a re-created alias starts a new stack"

# ---- one name, one meaning: tags, branches and aliases never clash ----
n0=$(records)
expect_exit 1 mlfs alias models/m@v1 v2
expect_err "^mlfs: cannot set alias 'v2' \(name 'v2' is taken by a tag of 'models/m'\)$" \
	"alias named as a tag"
expect_exit 1 mlfs alias models/m@v1 dev
expect_err "^mlfs: cannot set alias 'dev' \(name 'dev' is taken by a branch of 'models/m'\)$" \
	"alias named as a branch"
expect_exit 1 mlfs alias models/m@v1 main -m "x"
expect_err "taken by a branch" "alias named as the default branch"
expect_exit 1 mlfs tag models/m@v1 prod
expect_err "^mlfs: cannot create tag 'prod' \(name 'prod' is taken by an alias of 'models/m'\)$" \
	"tag named as an alias"
expect_exit 1 mlfs branch models/m@v1 prod
expect_err "^mlfs: cannot create branch 'prod' \(name 'prod' is taken by an alias of 'models/m'\)$" \
	"branch named as an alias"
expect_exit 1 mlfs import -q -t prod "$W/v1" models/m
expect_err "^mlfs: name 'prod' is taken by an alias of 'models/m'$" \
	"import -t with an alias's name"
expect_exit 1 mlfs import -q -b prod "$W/v1" models/m
expect_err "^mlfs: name 'prod' is taken by an alias of 'models/m'$" \
	"import onto a new branch with an alias's name"
check "nothing written by the clashes" test "$(records)" = "$n0"
check "no tag prod" bash -c "! '$MLFS' --store '$S' tag --list models/m | grep -q prod"
check "no branch prod" bash -c "! '$MLFS' --store '$S' branch --list models/m | grep -q prod"
check "an alias of another repository may share a name" \
	mlfs alias models/other dev

# ---- bad input: exit 2 and a message, nothing written -----------------
n0=$(records)
long=$(head -c 4096 /dev/zero | tr '\0' x)
for bad in '..' 'a..b' 'a/b' 'a@b' '.hidden' '-x' '' "$long"; do
	expect_exit 2 mlfs alias models/m@v1 -- "$bad"
	expect_err "^mlfs: invalid alias name '" "bad alias name '${bad:0:12}'"
done
expect_exit 2 mlfs alias --delete models/m 'a/b' -m x
expect_err "^mlfs: invalid alias name 'a/b'" "delete with a bad name"
expect_exit 2 mlfs rollback models/m '..' -m x
expect_err "^mlfs: invalid alias name '\.\.'" "rollback with a bad name"
expect_exit 2 mlfs alias --history models/m 'a@b'
expect_err "^mlfs: invalid alias name 'a@b'" "history with a bad name"
expect_exit 2 mlfs alias models/m@v1 x -m ''
expect_err "^mlfs alias: -m needs a non-empty reason$" "empty reason"
expect_exit 2 mlfs alias models/m@v1
expect_err "^mlfs alias: wrong arguments$" "alias without a name"
expect_exit 2 mlfs alias --list models/m prod
expect_err "^mlfs alias: wrong arguments$" "list with an alias name"
expect_exit 2 mlfs alias --list --delete models/m prod -m x
expect_err "exclude each other" "list and delete"
expect_exit 2 mlfs alias models/m@v1 x --json
expect_err "^mlfs alias: --json goes with --list or --history$" "--json on a change"
expect_exit 2 mlfs alias --list models/m -m x
expect_err "^mlfs alias: -m goes with a change" "-m on a list"
expect_exit 2 mlfs alias --bogus models/m x
expect_err "^mlfs alias: unknown option$" "unknown option"
expect_exit 2 mlfs alias --delete models/m@v1 staging -m x
expect_err "^mlfs alias: expected NS/NAME without '@REF'" "--delete with @REF"
expect_exit 2 mlfs rollback models/m@v1 staging -m x
expect_err "^mlfs rollback: expected NS/NAME without '@REF'" "rollback with @REF"
expect_exit 2 mlfs rollback models/m
expect_err "^mlfs rollback: wrong arguments$" "rollback without an alias"
expect_exit 2 mlfs rollback models/m staging extra -m x
expect_err "^mlfs rollback: wrong arguments$" "rollback with too much"
expect_exit 2 mlfs alias 'models/m@{2024-01-01' x
expect_err "^mlfs: invalid reference" "a malformed reference"
check "nothing written by bad input" test "$(records)" = "$n0"
expect_exit 1 mlfs alias "models/m@$o1" x
expect_err "no tag, branch, alias or commit '$o1' in 'models/m'" \
	"a commit of another repository is no target"
expect_exit 1 mlfs alias models/nosuch x
expect_err "^mlfs: no repository 'models/nosuch'$" "no such repository"
expect_exit 0 "$MLFS" alias --help
expect_out "^usage: mlfs alias NS/NAME\[@REF\] ALIAS \[-m REASON\]$" "alias --help"
expect_exit 0 "$MLFS" rollback -h
expect_out "^usage: mlfs rollback NS/NAME ALIAS -m REASON$" "rollback -h"

# ---- every change is an audit record ----------------------------------
expect_exit 0 mlfs audit models/m --json
json_ok "audit: one record per change of prod, in order, with commits and reasons" "[
 (e['op'], e['old'], e['new'], e['message']) for e in d
 if e['ref'] == 'alias:prod'] == [
 ('alias-create', None, '$c1', None),
 ('alias-move', '$c1', '$c2', 'promote v2'),
 ('alias-move', '$c2', '$c3', 'promote v3'),
 ('rollback', '$c3', '$c2', 'v3 is bad'),
 ('rollback', '$c2', '$c1', 'v2 is bad too'),
 ('alias-move', '$c1', '$c3', 'v3 fixed'),
 ('rollback', '$c3', '$c1', 'no, it is not'),
 ('alias-delete', '$c1', None, 'retired'),
 ('alias-create', None, '$c2', None)]"
json_ok "audit: alias records say who, where, when and the command" "all(
 e['user'] and e['host'] and isinstance(e['time'], int) and
 e['repo'] == 'models/m' and not e['damaged'] and
 (' alias ' in e['command'] or ' rollback ' in e['command'])
 for e in d if (e['ref'] or '').startswith('alias:'))"
json_ok "audit: no record of a refused change (clash, bad name, no -m)" "not [
 e for e in d if e['ref'] in ('alias:v2', 'alias:dev', 'alias:main',
 'alias:x', 'tag:prod', 'branch:prod')]"
expect_exit 0 mlfs audit --verify
expect_out "chain intact" "the audit chain verifies"

# ---- damage: an alias row edited by hand ------------------------------
check "fsck clean before" mlfs fsck
sqlite3 "$S/mlfs.db" "UPDATE aliases SET commit_id = (SELECT commit_id FROM
	aliases WHERE name = 'prod') WHERE name = 'staging' AND repo_id =
	(SELECT id FROM repos WHERE name = 'm')"
expect_exit 1 mlfs cat models/m@staging/f
expect_err "alias 'staging' of 'models/m' \(-> $c2\): check value mismatch \(damaged database\)" \
	"a damaged alias is an error naming it, never another version"
check "nothing printed from a damaged alias" test "$(wc -c <"$OUT_F")" = 0
expect_exit 1 mlfs alias --list models/m
expect_out "^staging +\(damaged\)" "list shows it damaged, without a target"
expect_err "^mlfs: 1 alias of 'models/m' is damaged; run 'mlfs fsck'$" \
	"list exits 1 naming the damage"
expect_exit 1 mlfs fsck
expect_out "alias.*staging" "fsck names the alias"
expect_out "models/m" "fsck names the repository"
expect_exit 1 mlfs alias models/m@v3 staging -m "over damage"
expect_err "check value mismatch" "a damaged alias is not moved over"
# the row put back: clean again
sqlite3 "$S/mlfs.db" "UPDATE aliases SET commit_id = (SELECT commit_id FROM
	refs WHERE kind = 't' AND name = 'v1' AND repo_id = aliases.repo_id)
	WHERE name = 'staging'"
check "fsck clean once the row is back" mlfs fsck
# a row that its history does not lead to (moved by hand, check value
# recomputed is impossible without the key: deleting it is the edit)
sqlite3 "$S/mlfs.db" "DELETE FROM aliases WHERE name = 'prod' AND repo_id =
	(SELECT id FROM repos WHERE name = 'm')"
expect_exit 1 mlfs alias --history models/m prod
expect_err "alias 'prod' of 'models/m' is missing; its history says it exists \(damaged database\)" \
	"a row removed by hand is found by its history"

# an audit record of an alias edited by hand: its history is refused,
# and so is a rollback that would act on it
check "staging moved to v2" mlfs alias models/m@v2 staging -m "for rollback"
sqlite3 "$S/mlfs.db" "UPDATE audit SET message = 'edited' WHERE
	ref = 'alias:staging' AND message = 'for rollback'"
expect_exit 1 mlfs alias --history models/m staging
expect_err "history of alias 'staging' of 'models/m': audit record [0-9]+ is damaged \(damaged database\)" \
	"an edited record of the history is an error naming it"
expect_exit 1 mlfs rollback models/m staging -m "on damage"
expect_err "audit record [0-9]+ is damaged" "no rollback over an edited history"
check "staging still at v2" \
	test "$(mlfs cat models/m@staging/f)" = "version 2"
expect_exit 1 mlfs fsck
expect_out "alias staging \(models/m\): history of alias 'staging' of 'models/m': audit record [0-9]+ is damaged" \
	"fsck names the alias whose history is damaged"

# a store of a newer schema: refused, not touched
S2=$(new_store) || exit 1
sqlite3 "$S2/mlfs.db" "PRAGMA user_version = 99"
for cmd in "alias t/r@v1 prod" "alias --list t/r" "rollback t/r prod -m x"; do
	# shellcheck disable=SC2086
	expect_exit 1 "$MLFS" --store "$S2" $cmd
	expect_err "made by a newer mlfs" "'$cmd' refuses a newer store"
done
check "the newer store is left alone" \
	test "$(sqlite3 "$S2/mlfs.db" 'PRAGMA user_version')" = 99

# ---- a live mount: the path follows the alias within 1 s --------------
S=$(new_store) || exit 1
mnt=$(mktmp)
at_exit "fusermount3 -u '$mnt' || umount -l '$mnt'"
d1=$(mlfs import -q -t v1 "$W/v1" models/r | tail -n1)
d2=$(mlfs import -q -t v2 "$W/v2" models/r | tail -n1)
check "imports for the mount" is_hex32 "$d2"
check "prod at v1" mlfs alias models/r@v1 prod
check "mount" mlfs mount "$mnt"
M=$mnt/models

# poll_cat PATH WANT: `cat PATH` prints WANT within 1 s of the call
poll_cat() {
	local end=$(($(date +%s%N) + 1000000000))
	while :; do
		[ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}
# poll_gone PATH: PATH does not exist within 1 s of the call
poll_gone() {
	local end=$(($(date +%s%N) + 1000000000))
	while :; do
		[ -e "$1" ] || return 0
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

check "MNT/models/r@prod/f is version 1" \
	test "$(cat "$M/r@prod/f")" = "version 1"
check "the listing shows r@prod" bash -c "ls '$M' | grep -qx 'r@prod'"
check "r@prod is read-only (EROFS)" \
	bash -c "touch '$M/r@prod/new' 2>&1 | grep -q 'Read-only file system'"
# hold version 1's big.bin open across the moves (first 64 KiB read)
exec 3<"$M/r@prod/big.bin"
check "held descriptor reads version 1's first bytes" \
	"$PY" -c "import os, sys; sys.exit(os.pread(3, 65536, 0) != \
open('$W/v1/big.bin', 'rb').read(65536))"

check "promote prod to v2" mlfs alias models/r@v2 prod -m "promote"
check "a new cat shows version 2 within 1 s" poll_cat "$M/r@prod/f" "version 2"
check "r@prod/big.bin is version 2's" cmp "$M/r@prod/big.bin" "$W/v2/big.bin"
check "the held descriptor still reads version 1's bytes" \
	"$PY" -c "import os, sys; sys.exit(os.pread(3, 1 << 23, 0) != \
open('$W/v1/big.bin', 'rb').read())"

check "rollback prod" mlfs rollback models/r prod -m "back"
check "a new cat shows version 1 within 1 s" poll_cat "$M/r@prod/f" "version 1"
check "r@prod/big.bin is version 1's again" cmp "$M/r@prod/big.bin" "$W/v1/big.bin"

check "delete prod" mlfs alias --delete models/r prod -m "retire"
check "r@prod is gone (ENOENT) within 1 s" poll_gone "$M/r@prod"
check "cat r@prod/f fails" bash -c "! cat '$M/r@prod/f' 2>/dev/null"
check "the listing has no r@prod" bash -c "! ls '$M' | grep -qx 'r@prod'"
check "the held descriptor reads version 1 after the delete" \
	"$PY" -c "import os, sys; sys.exit(os.pread(3, 1 << 23, 0) != \
open('$W/v1/big.bin', 'rb').read())"
exec 3<&-

check "umount" "$MLFS" umount "$mnt"
check "no sanitizer report in the daemon log" \
	bash -c "! grep -q Sanitizer '$S/mount.log'"
summary
