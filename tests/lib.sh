# shellcheck shell=bash
# tests/lib.sh - shared helpers of the mlfs integration tests.
# Source it first thing: `. "$(dirname "$0")/lib.sh"`.
#
#   ok MSG / fail MSG          count a result
#   check MSG cmd...           pass when cmd exits 0
#   expect_exit CODE cmd...    pass when cmd exits CODE; stdout in $OUT_F,
#                              stderr in $ERR_F, exit code in $RC
#   run cmd...                 run, record $OUT_F/$ERR_F/$RC, count nothing
#   expect_err REGEX MSG       last stderr matches REGEX (grep -E -i)
#   mktmp                      a temp dir removed by the EXIT trap
#   new_store                  mktmp + mlfs init; prints the store path
#   mount_fixture              S, W, mnt (unmounted at exit) and mlfs()
#   at_exit CMD                run CMD (eval'd, failure tolerated) at exit,
#                              before temp dirs are removed (LIFO)
#   summary                    print "N passed, N failed"; exit 1 on failure
set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$TESTS_DIR/.." && pwd)
: "${MLFS:=$TOP/build/mlfs}"
GEN_DATA=${GEN_DATA:-$TOP/tools/gen-data}
PY=/usr/bin/python3
TEST_NAME=$(basename "$0" .sh)
TMP_BASE=${MLFS_TEST_TMP:-${TMPDIR:-/tmp}}

if [ ! -x "$MLFS" ]; then
	echo "$TEST_NAME: mlfs binary '$MLFS' not found or not executable" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
export MLFS
unset MLFS_STORE

PASSED=0
FAILED=0
_TMPDIRS=()
_EXIT_HOOKS=()

gen() { "$PY" "$GEN_DATA" "$@"; }

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $*"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $*"
}

# Show the captured output of the last command (on failure).
show_last() {
	[ -n "${OUT_F:-}" ] || return 0
	if [ -s "$OUT_F" ]; then
		echo "   stdout: $(head -c 600 "$OUT_F" | tr -c '[:print:]\n' '?' |
			head -5 | sed '2,$s/^/           /')"
	fi
	if [ -s "$ERR_F" ]; then
		echo "   stderr: $(head -c 600 "$ERR_F" | tr -c '[:print:]\n' '?' |
			head -5 | sed '2,$s/^/           /')"
	fi
}

_tmp_root=$(mktemp -d "$TMP_BASE/mlfs-test-$TEST_NAME.XXXXXX")
OUT_F=$_tmp_root/.out
ERR_F=$_tmp_root/.err
RC=0

_cleanup() {
	local i
	for ((i = ${#_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${_EXIT_HOOKS[$i]}" >/dev/null 2>&1 || true
	done
	# Immutable bits (chattr +i) would keep rm from working.
	chattr -R -i "$_tmp_root" >/dev/null 2>&1 || true
	rm -rf "$_tmp_root" || true
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

at_exit() { _EXIT_HOOKS+=("$*"); }

mktmp() {
	mktemp -d "$_tmp_root/t.XXXXXX"
}

# run cmd...: record stdout, stderr and exit code; never fails.
run() {
	"$@" >"$OUT_F" 2>"$ERR_F"
	RC=$?
	return 0
}

_desc() {
	local s="$*"
	[ ${#s} -gt 140 ] && s="${s:0:137}..."
	printf '%s' "$s" | tr -c '[:print:]' '?'
}

check() {
	local msg=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		ok "$msg"
	else
		fail "$msg (exit $RC)"
		show_last
	fi
}

expect_exit() {
	local want=$1
	shift
	run "$@"
	if [ "$RC" -eq "$want" ]; then
		ok "exit $want: $(_desc "${@/#$MLFS/mlfs}")"
		return 0
	fi
	fail "exit $RC, want $want: $(_desc "${@/#$MLFS/mlfs}")"
	show_last
	return 1
}

# expect_err REGEX MSG: the last command's stderr matches REGEX.
expect_err() {
	if grep -Eiq -- "$1" "$ERR_F"; then
		ok "$2"
	else
		fail "$2 (stderr does not match /$1/)"
		show_last
	fi
}

# expect_out REGEX MSG: the last command's stdout matches REGEX.
expect_out() {
	if grep -Eiq -- "$1" "$OUT_F"; then
		ok "$2"
	else
		fail "$2 (stdout does not match /$1/)"
		show_last
	fi
}

# Error messages must start "mlfs: " or "mlfs CMD: ".
expect_err_prefix() {
	if head -n1 "$ERR_F" | grep -Eq '^mlfs( [a-z]+)?: '; then
		ok "${1:-error message} starts with 'mlfs: '"
	else
		fail "${1:-error message} does not start with 'mlfs: '"
		show_last
	fi
}

new_store() {
	local d
	d=$(mktmp)/store
	if ! "$MLFS" init --store "$d" >/dev/null 2>"$ERR_F"; then
		echo "new_store: mlfs init failed: $(cat "$ERR_F")" >&2
		return 1
	fi
	echo "$d"
}

# mount_fixture: sets S (a new store), W (a temp dir) and mnt (a mount
# point, unmounted at exit even when the test fails), and defines mlfs()
# on $S.
mount_fixture() {
	S=$(new_store) || exit 1
	W=$(mktmp)
	mnt=$(mktmp)
	at_exit "fusermount3 -u '$mnt' || umount -l '$mnt'"
	mlfs() { "$MLFS" --store "$S" "$@"; }
}

# The commit id (32 hex) a reference resolves to, via `mlfs show --json`.
resolve() {
	"$MLFS" show --store "$1" "$2" --json 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for k in ("commit", "id"):
    v = d.get(k)
    if isinstance(v, str):
        print(v); break
    if isinstance(v, dict) and isinstance(v.get("id"), str):
        print(v["id"]); break
' 2>/dev/null
}

# is_hex32 S
is_hex32() { [[ $1 =~ ^[0-9a-f]{32}$ ]]; }

# Parse the last stdout as JSON (optionally run a python expression on it
# as `d`, which must be true).
json_ok() {
	local msg=$1 expr=${2:-True}
	if "$PY" -c "
import json, sys
def json_ints(d, prefix):
    # Every int value under a key starting with @prefix, at any depth.
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            if k.startswith(prefix) and isinstance(v, int):
                out.append(v)
            out += json_ints(v, prefix)
    elif isinstance(d, list):
        for v in d:
            out += json_ints(v, prefix)
    return out
d = json.load(open(sys.argv[1]))
assert ($expr), 'assertion failed: ' + sys.argv[2]
" "$OUT_F" "$expr" 2>"$_tmp_root/.pyerr"; then
		ok "$msg"
	else
		fail "$msg ($(tail -n1 "$_tmp_root/.pyerr"))"
		show_last
	fi
}

dir_bytes() { du -sb "$1" | cut -f1; }

summary() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}
