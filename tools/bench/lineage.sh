#!/bin/bash
# tools/bench/lineage.sh - what recording lineage costs the mount's reads
# (docs/lineage.md#overhead): sequential (dd, 1 MiB blocks) and random
# (4 KiB preads at random offsets) read throughput of one large file
# through the mount, with lineage (the default) and with -o nolineage, in
# the same run. A benchmark, not a test: it prints figures, it does not
# fail on them. Needs root to drop the page cache between runs.
#
# Each run mounts afresh (so no page cache and no chunk cache carry over),
# reads, and unmounts; the two settings alternate (on off off on ...) so
# drift in the machine's load hits both alike. Figures: per-run values,
# medians, and the ratio lineage / nolineage (aim: >= 0.98), plus the
# daemon's CPU seconds per sequential run, the figure least disturbed by
# other work on a shared machine.
#
# Usage: tools/bench/lineage.sh [--size-mib N] [--runs N] [--reads N]
#                               [--keep DIR]
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
PY=/usr/bin/python3
GEN=$top/tools/gen-data
size_mib=1024
runs=5
reads=4000
work=""

while [ $# -gt 0 ]; do
	case $1 in
	--size-mib) size_mib=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--reads) reads=$2; shift 2 ;;
	--keep) work=$2; shift 2 ;;
	*) echo "usage: $0 [--size-mib N] [--runs N] [--reads N] [--keep DIR]" >&2
	   exit 2 ;;
	esac
done

keep=1
if [ -z "$work" ]; then
	work=$(mktemp -d /var/tmp/mlfs-bench-lineage.XXXXXX)
	keep=0
fi
store=$work/store
mnt=$work/mnt
src=$work/src

cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	[ "$keep" = 1 ] || rm -rf "$work" || true
}
trap cleanup EXIT

drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
mlfs() { "$MLFS" --store "$store" "$@"; }

mkdir -p "$mnt" "$src"
if [ ! -e "$store" ]; then
	echo "# generating a ${size_mib} MiB file in $work"
	"$GEN" model "$src/model.safetensors" --seed 1 \
		--size-mib "$size_mib" >/dev/null
	mlfs init >/dev/null
	mlfs import -q "$src" bench/model -t v1 >/dev/null
	rm -f "$src/model.safetensors"
fi
file=$mnt/bench/model@v1/model.safetensors

daemon=""
daemon_cpu() {
	awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' \
		"/proc/$daemon/stat" 2>/dev/null || echo 0
}
do_mount() {
	mlfs mount ${1:+-o "$1"} "$mnt" || exit 1
	daemon=$(pgrep -f -- "mount .*$mnt\$" | head -n1)
}
do_umount() {
	mlfs umount "$mnt" >/dev/null || exit 1
	for _ in $(seq 100); do
		[ -d "/proc/$daemon" ] || break
		sleep 0.05
	done
}

# seq -> MB/s of dd over the whole file
seq_read() {
	dd if="$file" of=/dev/null bs=1M 2>&1 | awk '
		/bytes/ { for (i = 1; i < NF; i++) if ($i ~ /^s,?$/) s = $(i - 1);
			  printf "%.0f", $1 / s / 1e6 }'
}

# rand -> MB/s of $reads 4 KiB preads at random 4 KiB-aligned offsets
rand_read() {
	$PY - "$file" "$reads" <<'EOF'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
n = int(sys.argv[2])
size = os.fstat(fd).st_size
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
rng = random.Random(7)
offs = [rng.randrange(size // 4096) * 4096 for _ in range(n)]
t = time.perf_counter()
for o in offs:
    os.pread(fd, 4096, o)
dt = time.perf_counter() - t
print("%.2f" % (n * 4096 / dt / 1e6))
EOF
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '
	{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
			     else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

echo "# mlfs lineage overhead: $(nproc) cores, ${size_mib} MiB file, $runs runs each, $reads random reads a run"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

seq_on=""; seq_off=""; rnd_on=""; rnd_off=""; cpu_on=""; cpu_off=""
for i in $(seq "$runs"); do
	# on off, then off on: each setting goes first half the time
	if [ $((i % 2)) = 1 ]; then order="on off"; else order="off on"; fi
	for mode in $order; do
		opt=""
		[ "$mode" = off ] && opt=nolineage
		do_mount "$opt"
		drop
		c0=$(daemon_cpu)
		s=$(seq_read)
		c=$(awk -v a="$c0" -v b="$(daemon_cpu)" 'BEGIN { printf "%.2f", b - a }')
		do_umount
		do_mount "$opt"
		drop
		r=$(rand_read)
		do_umount
		if [ "$mode" = on ]; then
			seq_on="$seq_on $s"; rnd_on="$rnd_on $r"; cpu_on="$cpu_on $c"
		else
			seq_off="$seq_off $s"; rnd_off="$rnd_off $r"; cpu_off="$cpu_off $c"
		fi
		echo "# run $i $mode: seq $s MB/s (daemon CPU $c s), rand 4K $r MB/s"
	done
done
so=$(median <<<"$seq_on"); sf=$(median <<<"$seq_off")
ro=$(median <<<"$rnd_on"); rf=$(median <<<"$rnd_off")
co=$(median <<<"$cpu_on"); cf=$(median <<<"$cpu_off")
echo "seq:     lineage $so MB/s, nolineage $sf MB/s, ratio $(ratio "$so" "$sf") (medians; runs on:$seq_on off:$seq_off)"
echo "seq CPU: lineage $co s, nolineage $cf s of daemon CPU per sequential run (medians)"
echo "rand 4K: lineage $ro MB/s, nolineage $rf MB/s, ratio $(ratio "$ro" "$rf") (medians; runs on:$rnd_on off:$rnd_off)"
echo "aim: ratios >= 0.98 (lineage costs <= 2 % of read throughput)"
