#!/bin/bash
# empty_repo.sh - a repository with no commits (its default branch
# unborn, as mlfs_repo_create and the mount's mkdir make it): listings
# are empty (exit 0), commands that need a version say "has no commits
# yet" (exit 1), fsck, gc and du see no damage, and an import makes the
# first commit, with no parent.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
echo hello >"$W/f.txt"
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" data/one -q

# The row mlfs_repo_create inserts (src/lib/meta.c, ST_REPO_CREATE): no
# CLI command makes an empty repository; the mount's mkdir does.
mkrepo() {
	"$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO repos(ns, name, default_branch, created) "
           "VALUES (?, ?, \"main\", strftime(\"%s\", \"now\"))",
           (sys.argv[2], sys.argv[3]))
db.commit()' "$S/mlfs.db" "$1" "$2"
}
check "make the empty repository models/fraud" mkrepo models fraud
check "make the empty repository models/other" mkrepo models other

expect_exit 0 "$MLFS" repos --store "$S"
expect_out '^models/fraud[[:space:]]+main -[[:space:]]+0 branches, 0 tags$' \
	"repos lists models/fraud with no head"
expect_exit 0 "$MLFS" repos --store "$S" --json
json_ok "repos --json: head null, 0 branches" \
	'[r for r in d if r["repo"] == "models/fraud"] == [{
	"repo": "models/fraud", "namespace": "models", "name": "fraud",
	"default_branch": "main", "head": None, "branches": 0, "tags": 0}]'

# Listings: empty, exit 0.
for ref in models/fraud models/fraud@main; do
	expect_exit 0 "$MLFS" log --store "$S" "$ref"
	[ ! -s "$OUT_F" ] && [ ! -s "$ERR_F" ] && ok "log $ref: empty" ||
		fail "log $ref printed something"
	expect_exit 0 "$MLFS" log --store "$S" "$ref" --json
	[ "$(cat "$OUT_F")" = "[]" ] && ok "log $ref --json: []" ||
		fail "log $ref --json: $(cat "$OUT_F")"
	expect_exit 0 "$MLFS" ls --store "$S" -l "$ref"
	[ ! -s "$OUT_F" ] && [ ! -s "$ERR_F" ] && ok "ls $ref: empty" ||
		fail "ls $ref printed something"
	expect_exit 0 "$MLFS" ls --store "$S" "$ref" --json
	[ "$(cat "$OUT_F")" = "[]" ] && ok "ls $ref --json: []" ||
		fail "ls $ref --json: $(cat "$OUT_F")"
done
for kind in tag branch; do
	expect_exit 0 "$MLFS" "$kind" --store "$S" --list models/fraud
	[ ! -s "$OUT_F" ] && ok "$kind --list: empty" ||
		fail "$kind --list: $(cat "$OUT_F")"
	expect_exit 0 "$MLFS" "$kind" --store "$S" --list models/fraud --json
	[ "$(cat "$OUT_F")" = "[]" ] && ok "$kind --list --json: []" ||
		fail "$kind --list --json: $(cat "$OUT_F")"
done

# Commands that need a version: a clear message, exit 1, nothing made.
NOCOMMIT="^mlfs: 'models/fraud' has no commits yet \(branch 'main' is unborn\)$"
X=$(mktmp)
for cmd in "show models/fraud" "ls models/fraud/f.txt" \
	"cat models/fraud/f.txt" "export models/fraud $X/out" \
	"du models/fraud" "tag models/fraud v1" "branch models/fraud dev" \
	"show models/fraud@main~1"; do
	# shellcheck disable=SC2086 # the words are the arguments
	expect_exit 1 "$MLFS" ${cmd%% *} --store "$S" ${cmd#* }
	expect_err "$NOCOMMIT" "$cmd: says the repository has no commits yet"
done
[ ! -e "$X/out" ] && ok "export wrote nothing" || fail "export made $X/out"
expect_exit 0 "$MLFS" tag --store "$S" --list models/fraud
[ ! -s "$OUT_F" ] && ok "the refused tag was not made" ||
	fail "tag list after refusal: $(cat "$OUT_F")"
expect_exit 1 "$MLFS" log --store "$S" models/fraud@dev
expect_err "^mlfs: no tag, branch, alias or commit 'dev' in 'models/fraud'$" \
	"another branch of an empty repository does not exist"

# The whole store: no damage, nothing removed.
expect_exit 0 "$MLFS" fsck --store "$S"
expect_out '^fsck: 3 repositories, 1 versions, .*: 0 problems$' \
	"fsck counts the empty repositories, finds no problem"
expect_exit 0 "$MLFS" gc --store "$S"
expect_out '^removed 0 of 1 pack files' "gc keeps data/one's pack"
expect_exit 0 "$MLFS" du --store "$S"
if grep -q 'models/' "$OUT_F" || grep -qi damaged "$OUT_F"; then
	fail "du lists an empty repository or damage"
	show_last
else
	ok "du lists only the versions there are"
fi

# The first import: a commit with no parent, the branch born.
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" models/fraud -t v1 -q
c1=$(tr -d '[:space:]' <"$OUT_F")
is_hex32 "$c1" && ok "import into the empty repository made $c1" ||
	fail "import printed '$c1'"
expect_exit 0 "$MLFS" show --store "$S" models/fraud --json
json_ok "its first commit has no parent and is main and v1" \
	"d['commit'] == '$c1' and d['parent'] is None and
	 d['branches'] == ['main'] and d['tags'] == ['v1']"
expect_exit 0 "$MLFS" log --store "$S" models/fraud --json
json_ok "log has one commit" "len(d) == 1"
expect_exit 0 "$MLFS" cat --store "$S" models/fraud@v1/f.txt
cmp -s "$OUT_F" "$W/f.txt" && ok "cat of the first version" ||
	fail "cat differs"

# A new branch of an empty repository starts from nothing; main stays
# unborn.
expect_exit 0 "$MLFS" import --store "$S" "$W/f.txt" models/other -b dev -q
c2=$(tr -d '[:space:]' <"$OUT_F")
expect_exit 0 "$MLFS" show --store "$S" models/other@dev --json
json_ok "dev's first commit has no parent" \
	"d['commit'] == '$c2' and d['parent'] is None"
expect_exit 0 "$MLFS" log --store "$S" models/other --json
[ "$(cat "$OUT_F")" = "[]" ] && ok "main of models/other is still unborn" ||
	fail "log models/other: $(cat "$OUT_F")"
expect_exit 0 "$MLFS" fsck --store "$S"
expect_out ': 0 problems$' "fsck after the imports: 0 problems"

summary
