#!/bin/bash
# tests/s3_client.sh - the libmlfs S3 client (include/mlfs/s3.h) against a
# real Ceph RADOS Gateway (tests/s3/rgw.sh), through the test driver
# $(BUILD)/tests/s3probe: bytes round trip, ranged GET, create-only and
# If-Match PUTs, HEAD, DELETE, listing across continuation tokens, and
# the errors for a missing key, a missing bucket and a wrong secret.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/s3/server.sh"

s3_server_start
export S3_BUCKET=mlfs-client
W=$(mktmp)

check "create bucket" "$PROBE" mkbucket
check "create bucket again (owned: not an error)" "$PROBE" mkbucket

# Bytes round trip, 5 MiB: more than one RGW stripe (4 MiB).
gen random 5242880 1 >"$W/big" 2>/dev/null ||
	head -c 5242880 /dev/urandom >"$W/big"
check "put 5 MiB" "$PROBE" put m/big "$W/big"
md5=$(md5sum "$W/big" | cut -d' ' -f1)
expect_out "^$md5\$" "put returns the ETag (MD5 of the bytes)"
"$PROBE" get m/big >"$W/got" 2>"$ERR_F"
if cmp -s "$W/big" "$W/got"; then ok "get: bytes exact"; else
	fail "get: bytes differ"; show_last; fi
check "head" "$PROBE" head m/big
expect_out "^5242880 $md5\$" "head: size and ETag"

# Ranged GET across the 4 MiB stripe boundary.
"$PROBE" get m/big 4194000 1000 >"$W/rng" 2>"$ERR_F"
if cmp -s "$W/rng" <(tail -c +4194001 "$W/big" | head -c 1000); then
	ok "ranged get: exactly bytes 4194000..4194999"
else
	fail "ranged get: wrong bytes ($(wc -c <"$W/rng") bytes)"; show_last
fi

# Empty object.
: >"$W/empty"
check "put empty" "$PROBE" put m/empty "$W/empty"
"$PROBE" get m/empty >"$W/got" 2>"$ERR_F"
if [ "$?" -eq 0 ] && [ ! -s "$W/got" ]; then ok "get empty: 0 bytes"; else
	fail "get empty"; show_last; fi

# Create-only.
echo one >"$W/one"
echo two >"$W/two"
check "create-only put of a new key" "$PROBE" put ref/main "$W/one" create
e1=$(cat "$OUT_F")
expect_exit 3 "$PROBE" put ref/main "$W/two" create
expect_err "PUT mlfs-client/ref/main: HTTP 412.*key exists" \
	"create-only put of an existing key: EEXIST naming bucket, key, status"
"$PROBE" get ref/main >"$W/got" 2>/dev/null
if cmp -s "$W/got" "$W/one"; then ok "the refused put left the object"; else
	fail "the refused put changed the object"; fi

# If-Match compare-and-swap (the client retries unquoted for RGW).
check "if-match put with the right ETag wins" \
	"$PROBE" put ref/main "$W/two" match "$e1"
e2=$(cat "$OUT_F")
expect_exit 4 "$PROBE" put ref/main "$W/one" match "$e1"
expect_err "PUT mlfs-client/ref/main: HTTP 412.*moved" \
	"if-match put with a stale ETag: ESTALE naming bucket, key, status"
"$PROBE" get ref/main >"$W/got" 2>/dev/null
if cmp -s "$W/got" "$W/two"; then ok "the stale put left the winner"; else
	fail "the stale put changed the object"; fi
expect_exit 4 "$PROBE" put ref/none "$W/one" match "$e2"
expect_exit 5 "$PROBE" head ref/none
ok "if-match on a missing key created nothing (HEAD: ENOENT)"

# Missing key.
expect_exit 5 "$PROBE" get no/such
expect_err "GET mlfs-client/no/such: HTTP 404 \(NoSuchKey\)" \
	"get of a missing key: ENOENT naming bucket, key, status and code"
expect_exit 5 "$PROBE" head no/such
expect_err "HEAD mlfs-client/no/such: HTTP 404" "head of a missing key: ENOENT"

# Delete.
check "delete" "$PROBE" rm m/empty
expect_exit 5 "$PROBE" head m/empty
check "delete of a missing key is not an error" "$PROBE" rm m/empty

# Listing across pages: 7 keys, 2 a page, names needing URL encoding.
: >"$W/want"
for k in "l/a b" "l/c&d" "l/e=f" "l/g+h" "l/i%j" "l/k/l" "l/ü"; do
	printf '%s\n' "$k" | "$PROBE" put "$k" /dev/stdin >/dev/null ||
		fail "put '$k'"
	printf '%s\n' "$k" >>"$W/want"
done
echo x | "$PROBE" put "lz" /dev/stdin >/dev/null
LC_ALL=C sort -o "$W/want" "$W/want"
check "list l/ 2 keys a page" "$PROBE" ls l/ 2
cut -d' ' -f1-2 "$OUT_F" | sed 's/ [0-9]*$//' >"$W/got"
if cmp -s "$W/want" "$W/got"; then
	ok "list: the 7 keys under l/ in order, across 4 pages"
else
	fail "list: got $(tr '\n' '|' <"$W/got")"
fi
check "list in one page" "$PROBE" ls l/
if [ "$(wc -l <"$OUT_F")" -eq 7 ]; then ok "list in one page: 7 keys"; else
	fail "list in one page: $(wc -l <"$OUT_F") keys"; fi
S3_PREFIX=l/ "$PROBE" ls "" 3 >"$W/rel" 2>"$ERR_F"
if [ "$(head -n1 "$W/rel" | cut -d' ' -f1-2)" = "a b" ] &&
	[ "$(wc -l <"$W/rel")" -eq 7 ]; then
	ok "config prefix: keys listed relative to it"
else
	fail "config prefix listing: $(tr '\n' '|' <"$W/rel")"
fi
S3_PREFIX=l/ "$PROBE" get "c&d" >"$W/got" 2>"$ERR_F"
if [ "$(cat "$W/got")" = "l/c&d" ]; then ok "config prefix: get"; else
	fail "config prefix: get"; show_last; fi

# Errors.
S3_BUCKET=no-such-bucket expect_exit 5 "$PROBE" ls ""
expect_err "no-such-bucket.*HTTP 404 \(NoSuchBucket\)" \
	"missing bucket: ENOENT naming the bucket and NoSuchBucket"
S3_BUCKET=no-such-bucket expect_exit 5 "$PROBE" put k "$W/one"
expect_err "PUT no-such-bucket/k: HTTP 404 \(NoSuchBucket\)" \
	"put into a missing bucket"
AWS_SECRET_ACCESS_KEY=wrong expect_exit 6 "$PROBE" get m/big
expect_err "GET mlfs-client/m/big: HTTP 403 \(SignatureDoesNotMatch\)" \
	"wrong secret: EACCES naming status and SignatureDoesNotMatch"

# Credentials from a file when the environment has none.
cat >"$W/creds" <<EOC
# test
[other]
aws_access_key_id = nobody
aws_secret_access_key = nothing
[mlfs]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key=$AWS_SECRET_ACCESS_KEY
EOC
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_SHARED_CREDENTIALS_FILE="$W/creds" AWS_PROFILE=mlfs \
	"$PROBE" head m/big >"$OUT_F" 2>"$ERR_F"
RC=$?
if [ "$RC" -eq 0 ]; then ok "credentials file, AWS_PROFILE"; else
	fail "credentials file (exit $RC)"; show_last; fi
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_SHARED_CREDENTIALS_FILE="$W/creds" AWS_PROFILE=other \
	"$PROBE" head m/big >"$OUT_F" 2>"$ERR_F"
RC=$?
if [ "$RC" -eq 6 ]; then ok "credentials file, other profile: 403"; else
	fail "other profile (exit $RC)"; show_last; fi
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_SHARED_CREDENTIALS_FILE="$W/creds" AWS_PROFILE=gone \
	"$PROBE" head m/big >"$OUT_F" 2>"$ERR_F"
RC=$?
if [ "$RC" -eq 5 ]; then expect_err "profile 'gone' not found" \
	"missing profile: a clear error"; else
	fail "missing profile (exit $RC)"; show_last; fi

# Connection refused: retried (bounded), then a clear error.
S3_ENDPOINT=http://127.0.0.1:1 expect_exit 1 "$PROBE" head m/big
expect_err "HEAD mlfs-client/m/big: .*(connect|Connection)" \
	"no server: the transport error after the retries"

summary
