#!/bin/bash
# tests/s3_rgw.sh - the S3 behaviours mlfs remotes rely on, checked against
# a real Ceph RADOS Gateway (tests/s3/rgw.sh) with curl --aws-sigv4,
# path-style. Includes the RGW 16.2 quirks docs/remote.md lists, so a
# server update that changes one fails here first. Start-up time and RSS
# are printed as '#' lines, never checked.
. "$(dirname "$0")/lib.sh"

RGW=$TESTS_DIR/s3/rgw.sh

missing=
for c in radosgw ceph-mon ceph-osd ceph monmaptool radosgw-admin curl; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	fail "the S3 test server cannot run: missing$missing" \
		"(run tools/install-deps.sh; it needs the network)"
	summary
fi

srv=$(mktmp)/rgw
at_exit "'$RGW' stop '$srv'"
t0=$(date +%s.%N)
if ! "$RGW" start "$srv" >"$ERR_F" 2>&1; then
	fail "rgw.sh start"
	sed 's/^/   /' "$ERR_F"
	summary
fi
ok "rgw.sh start: mon, osd and radosgw are up"
# shellcheck disable=SC1091
. "$srv/env"
printf '# rgw start-up: %.1f s (rgw.sh measures %.1f s)\n' \
	"$(echo "$(date +%s.%N) - $t0" | bc)" "$MLFS_TEST_S3_STARTUP_SECONDS"

E=$MLFS_TEST_S3_ENDPOINT
BUCKET=mlfs-test
W=$(mktmp)
HDR=$W/hdr
BODY=$W/body
CODE=

# s3 [curl args...] URL: a signed request; status in $CODE, headers in
# $HDR, body in $BODY.
s3() {
	s3_as "$AWS_SECRET_ACCESS_KEY" "$@"
}

s3_as() {
	local secret=$1
	shift
	CODE=$(curl -s --max-time 30 -o "$BODY" -D "$HDR" -w '%{http_code}' \
		--aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$AWS_ACCESS_KEY_ID:$secret" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@")
}

# header NAME: the value of a response header of the last request.
header() {
	tr -d '\r' <"$HDR" | sed -n "s/^$1: //Ip" | tail -n1
}

# expect_code WANT MSG
expect_code() {
	if [ "$CODE" = "$1" ]; then
		ok "$2 (HTTP $1)"
	else
		fail "$2: HTTP $CODE, want $1"
		echo "   body: $(head -c 300 "$BODY")"
	fi
}

# expect_body FILE MSG: the last response body is FILE, byte for byte.
expect_body() {
	if cmp -s "$1" "$BODY"; then
		ok "$2"
	else
		fail "$2 (body differs: $(stat -c %s "$BODY") bytes," \
			"want $(stat -c %s "$1"))"
	fi
}

# expect_xml_code S3CODE MSG: the error body names S3CODE.
expect_xml_code() {
	if grep -q "<Code>$1</Code>" "$BODY"; then
		ok "$2"
	else
		fail "$2 (body: $(head -c 300 "$BODY"))"
	fi
}

# Fixtures from a seed: 5 MiB + 7 spans RGW's 4 MiB stripes.
gen_bytes() {
	"$PY" -c 'import random, sys
random.seed(int(sys.argv[1]))
sys.stdout.buffer.write(random.randbytes(int(sys.argv[2])))' "$1" "$2"
}
gen_bytes 1 $((5 * 1048576 + 7)) >"$W/big"
gen_bytes 2 4096 >"$W/v1"
gen_bytes 3 4096 >"$W/v2"
gen_bytes 4 4096 >"$W/v3"

# --- bucket
s3 -X PUT "$E/$BUCKET"
expect_code 200 "create bucket '$BUCKET'"

# --- PUT / GET / HEAD, byte-exact
s3 -T "$W/big" "$E/$BUCKET/packs/big"
expect_code 200 "PUT a 5 MiB object"
put_etag=$(header ETag)
md5=$(md5sum <"$W/big" | cut -d' ' -f1)
if [ "$put_etag" = "\"$md5\"" ]; then
	ok "PUT's ETag is the quoted MD5 of the bytes"
else
	fail "PUT's ETag is '$put_etag', want '\"$md5\"'"
fi
s3 "$E/$BUCKET/packs/big"
expect_code 200 "GET the object"
expect_body "$W/big" "GET returns the bytes PUT stored"
s3 -I "$E/$BUCKET/packs/big"
expect_code 200 "HEAD the object"
if [ "$(header Content-Length)" = "$(stat -c %s "$W/big")" ] &&
		[ "$(header ETag)" = "$put_etag" ]; then
	ok "HEAD gives the object's length and ETag"
else
	fail "HEAD gives length '$(header Content-Length)'," \
		"ETag '$(header ETag)'"
fi

# --- ranged GET: across the 4 MiB stripe boundary, and the last byte
for range in 4194000-4194999 0-0 5242886-5242886; do
	a=${range%-*}
	b=${range#*-}
	s3 -H "Range: bytes=$range" "$E/$BUCKET/packs/big"
	expect_code 206 "ranged GET bytes=$range"
	tail -c +$((a + 1)) "$W/big" | head -c $((b - a + 1)) >"$W/want"
	expect_body "$W/want" "ranged GET bytes=$range returns exactly them"
	want_cr="bytes $a-$b/$(stat -c %s "$W/big")"
	if [ "$(header Content-Range)" = "$want_cr" ]; then
		ok "Content-Range is '$want_cr'"
	else
		fail "Content-Range is '$(header Content-Range)', want '$want_cr'"
	fi
done

# --- If-None-Match: * (create-only, as for packs and tags)
s3 -T "$W/v1" -H "If-None-Match: *" "$E/$BUCKET/refs/tag"
expect_code 200 "If-None-Match: * on a new key creates it"
s3 -T "$W/v2" -H "If-None-Match: *" "$E/$BUCKET/refs/tag"
expect_code 412 "If-None-Match: * on an existing key"
expect_xml_code PreconditionFailed "the 412 body's code is PreconditionFailed"
if grep -q '<Message></Message>' "$BODY"; then
	ok "RGW quirk: the 412 body's Message is empty"
else
	fail "RGW quirk changed: the 412 body has a message (docs/remote.md)"
fi
s3 "$E/$BUCKET/refs/tag"
expect_body "$W/v1" "the refused PUT left the object unchanged"

# --- If-Match (compare-and-swap of refs on their ETag)
s3 -T "$W/v1" "$E/$BUCKET/refs/branch"
expect_code 200 "PUT a ref"
etag=$(header ETag)
bare=${etag//\"/}
s3 -T "$W/v2" -H "If-Match: $etag" "$E/$BUCKET/refs/branch"
quoted_code=$CODE
s3 -T "$W/v2" -H "If-Match: $bare" "$E/$BUCKET/refs/branch"
bare_code=$CODE
echo "# If-Match on PUT with the right ETag: quoted $etag -> $quoted_code," \
	"unquoted $bare -> $bare_code"
if [ "$quoted_code" = 412 ] && [ "$bare_code" = 200 ]; then
	ok "RGW quirk: PUT If-Match matches only the unquoted ETag"
else
	fail "RGW quirk changed: PUT If-Match quoted -> $quoted_code," \
		"unquoted -> $bare_code, want 412, 200 (docs/remote.md)"
fi
s3 "$E/$BUCKET/refs/branch"
expect_body "$W/v2" "the matching If-Match PUT replaced the object"
etag2=$(s3 -I "$E/$BUCKET/refs/branch"; header ETag)
for stale in "$etag" "$bare"; do
	s3 -T "$W/v3" -H "If-Match: $stale" "$E/$BUCKET/refs/branch"
	expect_code 412 "PUT If-Match with a stale ETag $stale"
done
s3 "$E/$BUCKET/refs/branch"
expect_body "$W/v2" "the refused If-Match PUTs left the object unchanged"
s3 -T "$W/v3" -H "If-Match: ${etag2//\"/}" "$E/$BUCKET/refs/branch"
expect_code 200 "PUT If-Match with the current (unquoted) ETag"
s3 -T "$W/v1" -H "If-Match: $bare" "$E/$BUCKET/refs/none"
expect_code 412 "RGW quirk: PUT If-Match on a missing key (AWS: 404)"
s3 -I "$E/$BUCKET/refs/none"
expect_code 404 "the refused PUT created nothing"
s3 -H "If-Match: $etag2" "$E/$BUCKET/packs/big"
expect_code 412 "GET If-Match with another object's ETag"
s3 -H "If-Match: $put_etag" -H "Range: bytes=0-9" "$E/$BUCKET/packs/big"
expect_code 206 "GET If-Match with the quoted ETag (GET accepts it)"

# --- list with a prefix
for k in data/a data/b/c datb/x other; do
	s3 -T "$W/v1" "$E/$BUCKET/lst/$k"
	[ "$CODE" = 200 ] || fail "PUT lst/$k: HTTP $CODE"
done
# The query is encoded in full ('/' as %2F): curl's SigV4 signs a raw '/'
# in a query differently from RGW (noted below).
s3 "$E/$BUCKET?list-type=2&prefix=lst%2Fdata%2F"
expect_code 200 "list objects with prefix lst/data/"
keys=$("$PY" -c '
import sys, xml.etree.ElementTree as ET
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
r = ET.parse(sys.argv[1]).getroot()
print(" ".join(k.text for k in r.iter(ns + "Key")),
      r.findtext(ns + "KeyCount"), r.findtext(ns + "IsTruncated"))
' "$BODY" 2>&1)
if [ "$keys" = "lst/data/a lst/data/b/c 2 false" ]; then
	ok "the listing is exactly lst/data/a lst/data/b/c, not truncated"
else
	fail "the listing is '$keys'"
fi
s3 "$E/$BUCKET?list-type=2&prefix=lst/data/"
echo "# ListObjectsV2 with a raw '/' in the prefix, signed by" \
	"curl $(curl --version | sed -n '1s/^curl \([^ ]*\).*/\1/p'): HTTP $CODE"

# --- errors the remote code keys on
s3_as "not-the-secret" "$E/$BUCKET/packs/big"
expect_code 403 "GET with a wrong secret"
expect_xml_code SignatureDoesNotMatch "... names SignatureDoesNotMatch"
s3 "$E/no-such-bucket/k"
expect_code 404 "GET from a missing bucket"
expect_xml_code NoSuchBucket "... names NoSuchBucket"
s3 "$E/$BUCKET/no/such/key"
expect_code 404 "GET of a missing key"
expect_xml_code NoSuchKey "... names NoSuchKey"
CODE=$(curl -s --max-time 30 -o "$BODY" -w '%{http_code}' \
	--aws-sigv4 "aws:amz:us-east-1:s3" \
	--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$E/$BUCKET/refs/tag")
expect_code 403 "RGW quirk: SigV4 without x-amz-content-sha256"

# --- multipart: CompleteMultipartUpload and If-None-Match (noted only:
# the design never relies on it, refs are single PUTs)
# "?uploads=", not "?uploads": curl signs a query key without '=' in a
# way RGW rejects (403).
s3 -X POST "$E/$BUCKET/refs/tag?uploads="
upload=$(sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p' "$BODY")
s3 -T "$W/v2" "$E/$BUCKET/refs/tag?partNumber=1&uploadId=$upload"
part_etag=$(header ETag)
printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
	"$part_etag" >"$W/complete"
s3 -X POST --data-binary "@$W/complete" -H "If-None-Match: *" \
	"$E/$BUCKET/refs/tag?uploadId=$upload"
mp_code=$CODE
s3 "$E/$BUCKET/refs/tag"
if cmp -s "$W/v2" "$BODY"; then
	mp_result="replaced the existing object"
else
	mp_result="left the existing object"
fi
echo "# CompleteMultipartUpload with If-None-Match: * on an existing key:" \
	"HTTP $mp_code, $mp_result"

# --- footprint, then a stop that leaves nothing behind
rss=
total=0
for name in mon.a osd.0 client.rgw; do
	pid=$(cat "$srv/pids/$name")
	kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")
	rss="$rss $name $((kb / 1024)) MB,"
	total=$((total + kb))
done
echo "# rgw RSS after the checks:$rss total $((total / 1024)) MB"
pids=$(cat "$srv"/pids/*)
t0=$(date +%s.%N)
check "rgw.sh stop" "$RGW" stop "$srv"
printf '# rgw stop: %.1f s\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
left=
for pid in $pids; do
	[ -r "/proc/$pid/cmdline" ] &&
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$srv" &&
		left="$left $pid"
done
if [ -z "$left" ]; then
	ok "no daemon is left after stop"
else
	fail "daemons left after stop:$left"
fi
check "a second stop is harmless" "$RGW" stop "$srv"

# --- a failed start stops what it started: a gateway that cannot start
# (a stand-in that exits) must leave neither mon nor OSD behind.
fake=$(mktmp)
printf '#!/bin/sh\necho "stand-in radosgw: not starting" >&2\nexit 1\n' \
	>"$fake/radosgw"
chmod +x "$fake/radosgw"
bad=$(mktmp)/rgw
at_exit "'$RGW' stop '$bad'"
PATH=$fake:$PATH expect_exit 1 "$RGW" start "$bad"
expect_err "start failed: client.rgw exited while waiting for radosgw" \
	"the failed start names the daemon and the step"
expect_err "stand-in radosgw: not starting" "... and shows its output"
left=
for p in /proc/[0-9]*; do
	tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$bad/ceph.conf" &&
		left="$left ${p#/proc/}"
done
if [ -z "$left" ] && [ -z "$(ls -A "$bad/pids")" ]; then
	ok "the failed start left no daemon and no pid file"
else
	fail "the failed start left daemons:$left, pid files:" \
		"$(ls "$bad/pids")"
fi
check "stop after the failed start" "$RGW" stop "$bad"

summary
