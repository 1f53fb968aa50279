#!/bin/bash
# tools/bench/verify.sh - what metadata verification costs a reader, in one
# run: two mlfs binaries side by side (BASE, before, and NEW, after) on the
# same ~1 GiB safetensors-like file (float16 weights, tools/gen-data model),
# each imported into a store of its own (NEW may have a newer schema).
# A benchmark, not a test: it prints figures and fails only when it cannot
# measure. Needs root (drop_caches) and FUSE.
#
#   open cold   first open() through a fresh mount, page cache dropped
#               (lookups of namespace, repository and file, then OPEN);
#               3 per run
#   open warm   open()+close() again on the same mount, median of 50
#   dd cold     dd bs=1M of the whole file through a fresh mount, cold
#   cat, export `mlfs cat > /dev/null`, `mlfs export` of the file, cold
#   native      the same open and dd on the local source file
#
# Each figure is given as the best and the median of --runs runs (default
# 5; open cold and warm: 3 per run), BASE and NEW interleaved within each
# run and alternating which goes first, so load from others' work hits
# both alike. The ratio is NEW / BASE of the time: 1.05 is 5 % slower
# (issue 8 allows at most that for open and the cold read); "paired" is
# the median of the runs' own NEW / BASE ratios, which drifting load
# from others' work disturbs least. CPU times of the daemon (dd; "ucpu":
# user time only, which the page cache's work does not blur) and of
# cat/export are less disturbed by load than wall times.
#
# Usage: tools/bench/verify.sh [--base BIN] [--new BIN] [--size-mib N]
#                              [--runs N] [--work DIR] [--only LIST]
#                              [--raw FILE]
# --only: a comma-separated subset of open,dd,cat,export,native (all by
# default); "--only dd" gives many cold-read samples quickly. --raw FILE
# keeps every sample ("METRIC WHO VALUE" lines, in the order taken).
# BASE and NEW may also come from the environment. The generated source
# file is kept in --work (default /var/tmp/mlfs-bench-verify) for the
# next run; the stores are made afresh each time.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
BASE=${BASE:-/tmp/mlfs-base/build/mlfs}
NEW=${NEW:-$top/build/mlfs}
PY=/usr/bin/python3
GEN=$top/tools/gen-data
size_mib=1024
runs=5
only=,open,dd,cat,export,native,
raw=
work=/var/tmp/mlfs-bench-verify

usage() {
	echo "usage: $0 [--base BIN] [--new BIN] [--size-mib N] [--runs N]" \
	     "[--work DIR] [--only open,dd,cat,export,native] [--raw FILE]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--base) BASE=$2; shift 2 ;;
	--new) NEW=$2; shift 2 ;;
	--size-mib) size_mib=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--only) only=,$2,; shift 2 ;;
	--raw) raw=$2; shift 2 ;;
	*) usage ;;
	esac
done
case $NEW in /*) ;; *) NEW=$PWD/$NEW ;; esac
case $BASE in /*) ;; *) BASE=$PWD/$BASE ;; esac
for b in "$BASE" "$NEW"; do
	if [ ! -x "$b" ]; then
		echo "verify.sh: '$b' is not an executable mlfs" >&2
		exit 1
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "verify.sh: needs root to drop the page cache" >&2
	exit 1
fi

src=$work/src
file=$src/model.safetensors
run=$(mktemp -d "$work.run.XXXXXX")
declare -A BIN=([base]=$BASE [new]=$NEW)
mnt_of() { echo "$run/mnt-$1"; }
store_of() { echo "$run/store-$1"; }

unmount() {
	fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
}
cleanup() {
	unmount "$(mnt_of base)"
	unmount "$(mnt_of new)"
	rm -rf "$run" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
# ms_since T0 -> milliseconds since T0 (from now), 1 decimal
ms_since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '
	{ v[NR] = $1 }
	END { if (NR % 2) print v[(NR + 1) / 2];
	      else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# remount KIND: a fresh daemon, so its caches are empty too. The old
# daemon may still be closing its database after the unmount: wait for
# it to exit, and retry a mount refused as busy.
remount() {
	local m i
	m=$(mnt_of "$1")
	unmount "$m"
	for ((i = 0; i < 50; i++)); do
		pgrep -f -- "mount --store $(store_of "$1") $m\$" >/dev/null ||
			break
		sleep 0.1
	done
	for ((i = 0; i < 5; i++)); do
		"${BIN[$1]}" mount --store "$(store_of "$1")" "$m" \
			2>"$run/mount.err" && return 0
		sleep 0.5
	done
	echo "verify.sh: cannot mount the $1 store: $(cat "$run/mount.err")" >&2
	exit 1
}

# open_times PATH -> "cold_ms warm_ms": the first open() (as the caller
# left the caches), then the median of 50 more open()+close()
open_times() {
	$PY - "$1" <<'EOF'
import os, statistics, sys, time
p = sys.argv[1]
t = time.perf_counter()
fd = os.open(p, os.O_RDONLY)
cold = (time.perf_counter() - t) * 1e3
os.close(fd)
warm = []
for _ in range(50):
    t = time.perf_counter()
    fd = os.open(p, os.O_RDONLY)
    warm.append((time.perf_counter() - t) * 1e3)
    os.close(fd)
print("%.3f %.3f" % (cold, statistics.median(warm)))
EOF
}

# dd_ms PATH -> milliseconds for a 1 MiB-block read of the whole file;
# fails when dd does (an EIO through the mount must not look fast)
dd_ms() {
	local t0
	t0=$(now)
	dd if="$1" of=/dev/null bs=1M status=none || return 1
	ms_since "$t0"
}

mkdir -p "$src"
if [ ! -s "$file" ] || [ "$(cat "$work/size-mib" 2>/dev/null)" != "$size_mib" ]
then
	echo "# generating a ${size_mib} MiB model in $src (kept for next runs)"
	"$GEN" model "$file" --seed 1 --size-mib "$size_mib" >/dev/null ||
		exit 1
	echo "$size_mib" >"$work/size-mib"
fi
bytes=$(stat -c %s "$file")
model=bench/model
path=model.safetensors

echo "# mlfs verify benchmark: $(nproc) cores, $bytes bytes, $runs runs"
echo "# BASE $BASE ($(git -C "$(dirname "$BASE")" describe --always \
	--dirty 2>/dev/null || echo '?'))"
echo "# NEW  $NEW ($(git -C "$(dirname "$NEW")" describe --always \
	--dirty 2>/dev/null || echo '?'))"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A imp
for k in base new; do
	s=$(store_of "$k")
	mkdir -p "$(mnt_of "$k")"
	"${BIN[$k]}" init --store "$s" >/dev/null || exit 1
	drop
	t0=$(now)
	"${BIN[$k]}" import -q --store "$s" "$src" "$model" >/dev/null ||
		{ echo "verify.sh: $k import failed" >&2; exit 1; }
	imp[$k]=$(ms_since "$t0")
done

res=$run/results
rec() { printf '%s %s %s\n' "$1" "$2" "$3" >>"$res"; } # METRIC WHO VALUE

# daemon_cpu KIND -> "total user" CPU ms its mount daemon used so far
daemon_cpu() {
	local pid
	pid=$(pgrep -f -- "mount --store $(store_of "$1") $(mnt_of "$1")\$" |
		head -n1)
	awk -v t="$(getconf CLK_TCK)" \
		'{ printf "%.0f %.0f", ($14 + $15) * 1e3 / t, $14 * 1e3 / t }' \
		"/proc/$pid/stat" 2>/dev/null || echo 0 0
}
want() { case $only in *,$1,*) return 0 ;; esac; return 1; }
# timed METRIC WHO CMD...: record wall and CPU ms of CMD (stdout dropped);
# fails when CMD does
timed() {
	local m=$1 who=$2 t
	shift 2
	t=$(/usr/bin/time -f '%e %U %S' "$@" 2>&1 >/dev/null) || return 1
	read -r e u s <<<"$(tail -n1 <<<"$t")"
	rec "$m" "$who" "$(awk -v e="$e" 'BEGIN { print e * 1e3 }')"
	rec "$m cpu" "$who" \
		"$(awk -v u="$u" -v s="$s" 'BEGIN { print (u + s) * 1e3 }')"
}

for r in $(seq "$runs"); do
	# Alternate which binary goes first, so neither always follows the
	# other's page-cache drop and I/O.
	order="base new"
	[ $((r % 2)) = 0 ] && order="new base"
	for k in $order; do
		m=$(mnt_of "$k")
		for _ in 1 2 3; do
			want open || break
			drop
			remount "$k"
			drop
			read -r c w <<<"$(open_times "$m/$model/$path")"
			rec "open cold" "$k" "$c"
			rec "open warm" "$k" "$w"
		done
		if want dd; then
			remount "$k"
			drop
			read -r c0 u0 <<<"$(daemon_cpu "$k")"
			v=$(dd_ms "$m/$model/$path") ||
				{ echo "verify.sh: $k: mount read failed" >&2
				  exit 1; }
			read -r c1 u1 <<<"$(daemon_cpu "$k")"
			rec "dd cold" "$k" "$v"
			rec "dd cold cpu" "$k" $((c1 - c0))
			rec "dd cold ucpu" "$k" $((u1 - u0))
		fi
		if want cat; then
			drop
			timed "mlfs cat" "$k" "${BIN[$k]}" cat \
				--store "$(store_of "$k")" "$model/$path" ||
				{ echo "verify.sh: $k cat failed" >&2; exit 1; }
		fi
		if want export; then
			drop
			timed "mlfs export" "$k" "${BIN[$k]}" export -q \
				--store "$(store_of "$k")" "$model/$path" \
				"$run/export-$k" ||
				{ echo "verify.sh: $k export failed" >&2
				  exit 1; }
			rm -f "$run/export-$k"
		fi
	done
	if want native; then
		for _ in 1 2 3; do
			want open || break
			drop
			read -r c _ <<<"$(open_times "$file")"
			rec "open cold" native "$c"
		done
		if want dd; then
			drop
			rec "dd cold" native "$(dd_ms "$file")"
		fi
	fi
	echo "# run $r/$runs done (load $(cut -d' ' -f1 /proc/loadavg))"
done
for k in base new; do
	rec import "$k" "${imp[$k]}"
done
[ -n "$raw" ] && cp "$res" "$raw"

echo
$PY - "$res" "$bytes" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    *metric, who, v = line.split()
    rows.setdefault(" ".join(metric), {}).setdefault(who, []).append(float(v))
nbytes = int(sys.argv[2])
order = ["open cold", "open warm", "dd cold", "mlfs cat", "mlfs export",
         "import", "dd cold cpu", "dd cold ucpu", "mlfs cat cpu",
         "mlfs export cpu"]
print("%-16s %9s %9s %7s  %9s %9s %7s  %7s  %9s" % ("metric (ms)",
      "BASE min", "NEW min", "ratio", "BASE med", "NEW med", "ratio",
      "paired", "native"))
for m in order:
    d = rows.get(m)
    if not d:
        continue
    b, n = d["base"], d["new"]
    bm, nm = min(b), min(n)
    bd, nd = statistics.median(b), statistics.median(n)
    rm = nm / bm if bm else 0
    rd = nd / bd if bd else 0
    # the same run's (or open's) samples, in the order they were taken
    pr = [y / x for x, y in zip(b, n) if x]
    rp = statistics.median(pr) if pr else 0
    nat = "%9.2f" % min(d["native"]) if "native" in d else "%9s" % "-"
    print("%-16s %9.2f %9.2f %6.3f%s  %9.2f %9.2f %6.3f%s  %6.3f%s  %s" % (
          m, bm, nm, rm, "!" if rm > 1.05 else " ", bd, nd, rd,
          "!" if rd > 1.05 else " ", rp, "!" if rp > 1.05 else " ", nat))
    if m == "dd cold":
        mbs = lambda ms: nbytes / ms / 1e3
        nat = "%9.0f" % mbs(min(d["native"])) if "native" in d else \
              "%9s" % "-"
        print("%-16s %9.0f %9.0f %7s  %9.0f %9.0f %7s  %7s  %s" % (
              "  (MB/s)", mbs(bm), mbs(nm), "", mbs(bd), mbs(nd), "", "",
              nat))
print()
print("# ratio = NEW / BASE; '!' marks NEW more than 5 % slower. min: the")
print("# best run (least disturbed by other load); med: the median.")
print("# '... cpu': CPU ms of the mount daemon (dd) or of the command.")
print("# 'paired': median of the per-run NEW / BASE ratios.")
print("# samples per binary: %s" % ", ".join("%s %d" % (m, len(rows[m]["base"]))
      for m in ("open cold", "dd cold", "mlfs cat") if m in rows))
EOF
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
