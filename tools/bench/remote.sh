#!/bin/bash
# tools/bench/remote.sh - S3 remotes against a real Ceph RGW
# (tests/s3/rgw.sh), each figure a ratio to a reference measured in the
# same run on the same server:
#   push1   mlfs push of a SIZE_MB file (imported first) vs s3cmd put of it
#   push2   push of a second version with 10 % of the bytes changed (in
#           place, 1 MiB runs) vs s3cmd put of the whole file again
#   read    cold cat of the file from a fresh clone vs s3cmd get of the
#           whole object
#   mread   cold sequential dd bs=1M of the file through the mount of a
#           fresh clone vs the ranged-GET floor: curl of the whole object
#           (beside it, for what the mount cannot avoid: the FUSE floor,
#           tools/bench/fusefloor.c serving the local file with the
#           mount's settings, and curl into a local file; both fill
#           fresh page cache, as the mount must and curl -o /dev/null
#           does not)
#   meta    a clone of a history of NCOMMITS (100) small commits: its
#           time per GET (from the gateway's log) vs curl's GET of one
#           such object on a fresh connection (once, not per run)
#   ttfb    a random 4 KiB pread through the mount of a fresh clone
#           (median of 8, each a chunk not read before) vs curl's time to
#           first byte of a 4 KiB ranged GET of the object
# Usage: tools/bench/remote.sh [SIZE_MB] (default 1024); RUNS (default 3)
# runs each, medians printed. Needs s3cmd; RGW memstore gets
# MLFS_RGW_MEMSTORE_BYTES (default 6 GiB here: everything stored stays
# in the OSD's memory, about 3.2 x SIZE per run). Each run starts its own
# gateway: RGW frees deleted objects' data only in its garbage collection,
# hours later, so emptying the bucket does not give the memory back and a
# second 1 GiB run into the same memstore stalls when it fills.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
SIZE_MB=${1:-1024}
RUNS=${RUNS:-3}
export MLFS_RGW_MEMSTORE_BYTES=${MLFS_RGW_MEMSTORE_BYTES:-6442450944}
work=$(mktemp -d "${TMPDIR:-/tmp}/mlfs-bench-remote.XXXXXX")
srv=$work/rgw
cleanup() {
	[ -d "$work/mnt" ] && { "$MLFS" umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt" 2>/dev/null || true; }
	[ -d "$work/floor" ] && { fusermount3 -u "$work/floor" 2>/dev/null || umount -l "$work/floor" 2>/dev/null || true; }
	"$top/tests/s3/rgw.sh" stop "$srv" >/dev/null 2>&1 || true
	rm -rf "$work" || true
}
trap cleanup EXIT
command -v s3cmd >/dev/null || { echo "remote.sh: needs s3cmd" >&2; exit 1; }

head -c $((SIZE_MB << 20)) /dev/urandom >"$work/model.bin"
cp "$work/model.bin" "$work/model2.bin"
/usr/bin/python3 - "$work/model2.bin" <<'EOF'
import os, random, sys
f = open(sys.argv[1], "r+b")
size = os.path.getsize(sys.argv[1])
rng = random.Random(7)
run = 1 << 20
for _ in range(size // run // 10):          # 10 % of the bytes, 1 MiB runs
    f.seek(rng.randrange(0, size // run) * run)
    f.write(os.urandom(run))
EOF

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

: >"$work/p1" ; : >"$work/p2"; : >"$work/s1"; : >"$work/s2"
: >"$work/r"; : >"$work/g"; : >"$work/mr"; : >"$work/cf"; : >"$work/tt"
: >"$work/ct"
mnt=$work/mnt
mkdir -p "$mnt"
# a fresh gateway for run $1 (see the header): sets EP, S3CMD, CURL
start_server() {
	srv=$work/rgw$1
	"$top/tests/s3/rgw.sh" start "$srv" >/dev/null
	# shellcheck disable=SC1091
	. "$srv/env"
	EP=$MLFS_TEST_S3_ENDPOINT
	S3CMD=(s3cmd --no-ssl -c /dev/null --region=us-east-1 --host="${EP#http://}"
		--host-bucket="${EP#http://}" --access_key="$AWS_ACCESS_KEY_ID"
		--secret_key="$AWS_SECRET_ACCESS_KEY" --no-progress -q)
	CURL=(curl -sf --aws-sigv4 "aws:amz:us-east-1:s3"
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
	"${S3CMD[@]}" mb s3://bench >/dev/null
}
# fresh clone of run $1 in $2, mounted at $mnt
mount_clone() {
	"$MLFS" clone "s3://bench/r$1" --endpoint "$EP" --store "$2" \
		--cache-size $((SIZE_MB * 2))M >/dev/null
	"$MLFS" mount --store "$2" "$mnt"
}
cc -std=c11 -D_GNU_SOURCE -O2 $(pkg-config --cflags fuse3) \
	"$top/tools/bench/fusefloor.c" -o "$work/fusefloor" \
	$(pkg-config --libs fuse3) 2>/dev/null || echo "remote.sh: no FUSE floor (fusefloor.c did not build)" >&2
for run in $(seq 1 "$RUNS"); do
	start_server "$run"
	st=$work/store$run
	"$MLFS" init --store "$st" >/dev/null
	"$MLFS" import --store "$st" "$work/model.bin" m/model -q >/dev/null
	"$MLFS" remote add --store "$st" origin "s3://bench/r$run" --endpoint "$EP"
	drop
	t "$MLFS" push --store "$st" >>"$work/p1"
	drop
	t "${S3CMD[@]}" put "$work/model.bin" "s3://bench/plain$run/model.bin" >>"$work/s1"
	"$MLFS" import --store "$st" "$work/model2.bin" m/model -q >/dev/null
	drop
	t "$MLFS" push --store "$st" >>"$work/p2"
	drop
	t "${S3CMD[@]}" put "$work/model2.bin" "s3://bench/plain$run/model2.bin" >>"$work/s2"
	cl=$work/clone$run
	"$MLFS" clone "s3://bench/r$run" --endpoint "$EP" --store "$cl" \
		--cache-size $((SIZE_MB * 2))M >/dev/null
	drop
	t sh -c "'$MLFS' cat --store '$cl' m/model/model2.bin >'$work/out'" >>"$work/r"
	cmp "$work/out" "$work/model2.bin"
	rm -f "$work/out"
	drop
	t "${S3CMD[@]}" get --force "s3://bench/plain$run/model2.bin" "$work/out" >>"$work/g"
	rm -rf "$work/out" "$cl"
	mount_clone "$run" "$cl"
	drop
	t dd if="$mnt/m/model/model2.bin" of=/dev/null bs=1M status=none >>"$work/mr"
	"$MLFS" umount "$mnt"
	rm -rf "$cl"
	drop
	t "${CURL[@]}" -o /dev/null "$EP/bench/plain$run/model2.bin" >>"$work/cf"
	t "${CURL[@]}" -o "$work/dl" "$EP/bench/plain$run/model2.bin" >>"$work/cl"
	rm -f "$work/dl"
	if [ -x "$work/fusefloor" ]; then
		mkdir -p "$work/src" "$work/floor"
		ln -f "$work/model2.bin" "$work/src/model2.bin"
		"$work/fusefloor" "$work/src" "$work/floor" -o ro
		t dd if="$work/floor/model2.bin" of=/dev/null bs=1M status=none >>"$work/ff"
		fusermount3 -u "$work/floor" 2>/dev/null || umount -l "$work/floor"
	fi
	mount_clone "$run" "$cl"
	drop
	/usr/bin/python3 - "$mnt/m/model/model2.bin" >>"$work/tt" <<'EOF'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
rng = random.Random(11)
ts = []
for _ in range(8):
    off = rng.randrange(0, size // 4096) * 4096
    s = time.perf_counter()
    assert len(os.pread(fd, 4096, off)) == 4096
    ts.append(time.perf_counter() - s)
print(sorted(ts)[len(ts) // 2])
EOF
	"$MLFS" umount "$mnt"
	for k in 1 2 3 4 5 6 7 8; do
		"${CURL[@]}" -o /dev/null -r "$((k * 4096 * 997))-$((k * 4096 * 997 + 4095))" \
			-w '%{time_starttransfer}\n' "$EP/bench/plain$run/model2.bin"
	done | median >>"$work/ct"
	rm -rf "$cl" "$st"
	"$top/tests/s3/rgw.sh" stop "$srv" >/dev/null
done

# meta: many small objects, one after another on one connection
start_server meta
hs=$work/hist
"$MLFS" init --store "$hs" >/dev/null
mkdir -p "$work/htree"
for i in $(seq 1 "${NCOMMITS:-100}"); do
	echo "version $i" >"$work/htree/a.txt"
	mkdir -p "$work/htree/d$((i % 10))"
	echo "$i" >"$work/htree/d$((i % 10))/x"
	"$MLFS" import --store "$hs" -q "$work/htree" d/hist >/dev/null
done
"$MLFS" remote add --store "$hs" origin "s3://bench/hist" --endpoint "$EP"
"$MLFS" push --store "$hs" >/dev/null
rgwlog=$srv/log/client.rgw.log
n0=$(wc -l <"$rgwlog")
mt=$(t "$MLFS" clone "s3://bench/hist" --endpoint "$EP" --store "$work/hclone")
sleep 1 # the gateway's log lags
mg=$(tail -n +"$((n0 + 1))" "$rgwlog" | grep -c '"GET /bench/hist/' || true)
key=commits/$(sqlite3 "$hs/mlfs.db" "SELECT lower(hex(id)) FROM commits LIMIT 1")
for k in 1 2 3 4 5; do
	"${CURL[@]}" -o /dev/null -w '%{time_total}\n' "$EP/bench/hist/$key"
done | median >"$work/mc"
"$top/tests/s3/rgw.sh" stop "$srv" >/dev/null

p1=$(median <"$work/p1"); s1=$(median <"$work/s1")
p2=$(median <"$work/p2"); s2=$(median <"$work/s2")
r=$(median <"$work/r"); g=$(median <"$work/g")
mr=$(median <"$work/mr"); cf=$(median <"$work/cf")
tt=$(median <"$work/tt"); ct=$(median <"$work/ct")
echo "remote bench: ${SIZE_MB} MiB random file, $RUNS run(s), medians (s)"
printf 'push1  mlfs push %.2f  s3cmd put %.2f  ratio (s3cmd/mlfs) %.2f\n' "$p1" "$s1" "$(echo "$s1 / $p1" | bc -l)"
printf 'push2  mlfs push %.2f  s3cmd put %.2f  ratio (s3cmd/mlfs) %.2f\n' "$p2" "$s2" "$(echo "$s2 / $p2" | bc -l)"
printf 'read   mlfs cat  %.2f  s3cmd get %.2f  ratio (s3cmd/mlfs) %.2f\n' "$r" "$g" "$(echo "$g / $r" | bc -l)"
printf 'mread  mount dd %.2f  curl GET %.2f  ratio (curl/mount) %.2f  (%.0f vs %.0f MB/s)\n' "$mr" "$cf" "$(echo "$cf / $mr" | bc -l)" "$(echo "$SIZE_MB * 1.048576 / $mr" | bc -l)" "$(echo "$SIZE_MB * 1.048576 / $cf" | bc -l)"
cl=$(median <"$work/cl")
if [ -s "$work/ff" ]; then ff=$(median <"$work/ff"); else ff=0; fi
printf '       (context: FUSE floor dd of the local file %.2f, curl into a local file %.2f)\n' "$ff" "$cl"
printf 'meta   clone of %d commits: %.2f s, %d GETs, %.2f ms per GET  curl GET of one %.2f ms  ratio (curl/mlfs per GET) %.2f\n' \
	"${NCOMMITS:-100}" "$mt" "$mg" "$(echo "$mt * 1000 / $mg" | bc -l)" "$(echo "$(cat "$work/mc") * 1000" | bc -l)" \
	"$(echo "$(cat "$work/mc") * $mg / $mt" | bc -l)"
printf 'ttfb   mount 4 KiB pread %.2f ms  curl 4 KiB range %.2f ms  ratio (curl/mount) %.2f\n' "$(echo "$tt * 1000" | bc -l)" "$(echo "$ct * 1000" | bc -l)" "$(echo "$ct / $tt" | bc -l)"
