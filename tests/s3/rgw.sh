#!/bin/bash
# tests/s3/rgw.sh - a throwaway Ceph RADOS Gateway for the S3 tests.
#
#   tests/s3/rgw.sh start DIR   one mon + one memstore OSD + one radosgw,
#                               cephx off, on free 127.0.0.1 ports, all
#                               state under DIR; writes DIR/env (source it)
#   tests/s3/rgw.sh stop DIR    stop what DIR's pid files name; works after
#                               a failed or partial start, and twice
#
# No systemd: each daemon runs in the foreground (-f) in the background of
# this script, and its pid goes to DIR/pids/NAME before anything waits on
# it, so stop always finds it. Every wait is bounded (MLFS_RGW_TIMEOUT
# seconds, default 90, per step) and a failure prints the daemon's log
# tail. Details and the quirks verified against this server: docs/remote.md.
set -u

TIMEOUT=${MLFS_RGW_TIMEOUT:-90}
# memstore keeps every object in the OSD's memory; this caps what the
# OSD reports as its size (the cluster refuses writes near it).
MEMSTORE_BYTES=${MLFS_RGW_MEMSTORE_BYTES:-4294967296}
S3_USER=mlfs-test

die() {
	echo "rgw.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: tests/s3/rgw.sh start|stop DIR" >&2
	exit 2
}

# log_tail NAME: the last lines a daemon wrote, for a failure message.
log_tail() {
	local f
	for f in "$D/log/$1.log" "$D/log/$1.out"; do
		[ -s "$f" ] || continue
		echo "--- last lines of $f" >&2
		tail -n 15 "$f" >&2
	done
}

# fail_start NAME MSG: report, stop what was started, exit 1.
fail_start() {
	echo "rgw.sh: start failed: $2" >&2
	log_tail "$1"
	do_stop
	exit 1
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, on one line. The
# kernel picks them (bind to port 0, all held open at once, so distinct);
# another process could take one before our daemon binds it, which the
# daemon then reports and start fails clearly (see start's retry).
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# alive PID: PID runs one of our daemons (its command line names our
# ceph.conf), so a recycled pid is never signalled.
alive() {
	[ -r "/proc/$1/cmdline" ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$D/ceph.conf"
}

# launch NAME CMD...: run a daemon in the foreground, in the background.
launch() {
	local name=$1
	shift
	"$@" -f -c "$D/ceph.conf" </dev/null >"$D/log/$name.out" 2>&1 &
	echo $! >"$D/pids/$name"
}

# wait_for NAME WHAT CMD...: retry CMD (which bounds its own time) until
# it succeeds, the daemon NAME dies, or TIMEOUT passes.
wait_for() {
	local name=$1 what=$2 end=$((SECONDS + TIMEOUT)) pid
	shift 2
	pid=$(cat "$D/pids/$name")
	while ! "$@" >/dev/null 2>&1; do
		alive "$pid" || fail_start "$name" "$name exited while $what"
		[ $SECONDS -lt $end ] ||
			fail_start "$name" "timed out after ${TIMEOUT}s $what"
		sleep 0.3
	done
}

ceph_cli() { timeout 15 ceph -c "$D/ceph.conf" --connect-timeout 10 "$@"; }

write_conf() {
	cat >"$D/ceph.conf" <<EOF
# Written by tests/s3/rgw.sh for a test cluster; nothing here is durable.
[global]
fsid = $fsid
mon host = $mon_addrs
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
# The default prefers the "secure" mode, which needs cephx session keys:
# with cephx off, clients would never finish talking to the mon.
ms mon client mode = crc secure
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
log to stderr = false
err to stderr = true
# Keep ceph-crash and friends from writing outside DIR.
crash dir = $D/crash
exec dir = $D/run
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon data avail crit = 1

[mon]
mon data = $D/mon.\$id
mon cluster log file = $D/log/cluster.log
# Propose map changes at once rather than batching them for 1 s: the
# gateway's first start creates its pools one change at a time, which
# took 9 of the 14 s the start needed.
paxos propose interval = 0.01

[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES

[client.rgw]
rgw data = $D/rgw
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw thread pool size = 64
rgw init timeout = $TIMEOUT
EOF
}

# start_once: one attempt on fresh ports; exits 1 on failure, returns 3
# when a port was taken under us (the caller retries).
start_once() {
	local ports fsid mon_addrs mon_v1 mon_v2 rgw_port uuid id t0 key secret
	t0=$(date +%s.%N)
	ports=$(free_ports 3) || die "cannot pick free ports"
	read -r mon_v2 mon_v1 rgw_port <<<"$ports"
	mon_addrs="[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]"
	fsid=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "$D/log" "$D/run" "$D/pids" "$D/crash" "$D/mon.a" \
		"$D/osd.0" "$D/rgw" || die "cannot create '$D'"
	write_conf

	monmaptool --create --fsid "$fsid" --addv a "$mon_addrs" \
		"$D/monmap" >"$D/log/monmap.out" 2>&1 ||
		fail_start monmap "monmaptool failed"
	ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. \
		--cap mon 'allow *' >"$D/log/keyring.out" 2>&1 ||
		fail_start keyring "ceph-authtool failed"
	ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" \
		--keyring "$D/mon.keyring" >"$D/log/mon-mkfs.out" 2>&1 ||
		fail_start mon-mkfs "ceph-mon --mkfs failed"
	launch mon.a ceph-mon -i a
	if ! wait_for_mon; then
		return 3
	fi

	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(timeout 30 ceph -c "$D/ceph.conf" --connect-timeout 10 \
		osd new "$uuid" 2>"$D/log/osd-new.out") ||
		fail_start osd-new "ceph osd new failed"
	[ "$id" = 0 ] || fail_start osd-new "ceph osd new gave id '$id', not 0"
	ceph-osd -c "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
		>"$D/log/osd-mkfs.out" 2>&1 ||
		fail_start osd-mkfs "ceph-osd --mkfs failed"
	launch osd.0 ceph-osd -i 0
	wait_for osd.0 "waiting for osd.0 to be up" osd_up

	launch client.rgw radosgw -n client.rgw
	wait_for client.rgw "waiting for radosgw on port $rgw_port" \
		curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$rgw_port/"

	key=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n' |
		tr a-f A-F)
	secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
	# As client.admin: client.rgw's admin socket is the gateway's.
	timeout "$TIMEOUT" radosgw-admin -c "$D/ceph.conf" \
		user create --uid="$S3_USER" --display-name="mlfs tests" \
		--access-key="MLFS$key" --secret-key="$secret" \
		>"$D/log/user.out" 2>&1 ||
		fail_start user "radosgw-admin user create failed"

	cat >"$D/env" <<EOF
export MLFS_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export AWS_ACCESS_KEY_ID=MLFS$key
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_DEFAULT_REGION=us-east-1
export MLFS_TEST_S3_STARTUP_SECONDS=$(echo "$(date +%s.%N) - $t0" | bc |
		sed 's/^\./0./')
EOF
	return 0
}

osd_up() {
	ceph_cli osd dump 2>/dev/null | grep -Eq '^osd\.0 up +in '
}

# wait_for_mon: like wait_for, but a port already in use is not fatal:
# return 1 so start can retry on other ports.
wait_for_mon() {
	local end=$((SECONDS + TIMEOUT)) pid
	pid=$(cat "$D/pids/mon.a")
	while ! timeout 15 ceph -c "$D/ceph.conf" --connect-timeout 10 \
			mon stat >/dev/null 2>&1; do
		if ! alive "$pid"; then
			if grep -qs 'Address already in use' \
					"$D/log/mon.a.log" "$D/log/mon.a.out"; then
				echo "rgw.sh: a mon port was taken," \
					"retrying on others" >&2
				do_stop
				remove_state
				return 1
			fi
			fail_start mon.a "mon.a exited while starting"
		fi
		[ $SECONDS -lt $end ] ||
			fail_start mon.a "timed out after ${TIMEOUT}s" \
				"waiting for mon.a to answer"
		sleep 0.3
	done
}

# remove_state: what start_once creates, and only that (DIR may be the
# caller's directory).
remove_state() {
	rm -rf "$D/ceph.conf" "$D/monmap" "$D/mon.keyring" "$D/env" \
		"$D/mon.a" "$D/osd.0" "$D/rgw" "$D/run" "$D/log" "$D/pids" \
		"$D/crash"
}

do_start() {
	local c r
	for c in radosgw ceph-mon ceph-osd ceph monmaptool ceph-authtool \
			radosgw-admin curl python3; do
		command -v "$c" >/dev/null ||
			die "'$c' is not installed (radosgw ceph-mon ceph-osd" \
				"ceph-common curl python3): run tools/install-deps.sh"
	done
	# A second start in DIR would overwrite the first's config and pids.
	[ -z "$(ls -A "$D")" ] ||
		die "'$D' is not empty (stop its server and use a new directory)"
	for _ in 1 2 3; do
		start_once
		r=$?
		[ $r -eq 3 ] || return $r
	done
	die "start failed: no free ports after 3 tries"
}

# do_stop: TERM each daemon (gateway first, mon last), wait, then KILL.
do_stop() {
	local name pid end
	for name in client.rgw osd.0 mon.a; do
		[ -r "$D/pids/$name" ] || continue
		pid=$(cat "$D/pids/$name")
		alive "$pid" && kill -TERM "$pid" 2>/dev/null
		end=$((SECONDS + 15))
		while alive "$pid" && [ $SECONDS -lt $end ]; do
			sleep 0.2
		done
		if alive "$pid"; then
			echo "rgw.sh: $name (pid $pid) ignored SIGTERM;" \
				"killing it" >&2
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
		fi
		alive "$pid" && echo "rgw.sh: $name (pid $pid) is still" \
			"running" >&2
		rm -f "$D/pids/$name"
	done
	return 0
}

[ $# -eq 2 ] || usage
mkdir -p "$2" || die "cannot create '$2'"
D=$(cd "$2" && pwd)
case $1 in
start) do_start ;;
stop) do_stop ;;
*) usage ;;
esac
