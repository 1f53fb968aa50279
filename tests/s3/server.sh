# tests/s3/server.sh - sourced (after tests/lib.sh) by the integration
# tests that need an S3 server: s3_server_start starts a real Ceph RADOS
# Gateway of the test's own (tests/s3/rgw.sh), stopped at exit even when
# the test fails, and sets srv (its directory), EP (its endpoint), the
# AWS_* credentials of its env file and S3_ENDPOINT for the s3probe test
# driver, PROBE. A missing driver or server binary is a failed check.
RGW=$TESTS_DIR/s3/rgw.sh
PROBE=$(dirname "$MLFS")/tests/s3probe

s3_server_start() {
	local c
	if [ ! -x "$PROBE" ]; then
		fail "test driver $PROBE not built (make all)"
		summary
	fi
	for c in radosgw ceph-mon ceph-osd radosgw-admin; do
		if ! command -v "$c" >/dev/null; then
			fail "the S3 test server cannot run: missing $c" \
				"(run tools/install-deps.sh)"
			summary
		fi
	done
	srv=$(mktmp)/rgw
	at_exit "'$RGW' stop '$srv'"
	if ! "$RGW" start "$srv" >"$ERR_F" 2>&1; then
		fail "rgw.sh start"
		sed 's/^/   /' "$ERR_F"
		summary
	fi
	# shellcheck disable=SC1091
	. "$srv/env"
	unset AWS_SESSION_TOKEN AWS_PROFILE S3_PREFIX
	EP=$MLFS_TEST_S3_ENDPOINT
	export S3_ENDPOINT=$EP
}
