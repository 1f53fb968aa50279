#!/bin/bash
# shellcheck disable=SC2154 # model_* are assigned through eval
# tools/bench/ingest.sh - ingest benchmark (not a test).
#
# Workload: a ~1 GiB safetensors model of float16 weights (normal(0, 0.02))
# and 4 more versions, each rewriting ~10 % of the tensors (by bytes); v3
# also inserts a new tensor in the middle, shifting every later byte. And a
# CSV dataset (~200 MiB) with versions that append rows and rewrite a block.
#
# Per version it prints mlfs import MB/s and store growth, and the same for
# the references, measured in the same run on the same files:
#   cp       cp SRC to a directory on the same disk, then sync the copy
#   zstd     zstd -3 -T0 SRC -o OUT, then sync OUT
#   borg     where installed: borg create --compression zstd,3 of the same
#            source directory into one repository for the series (its
#            size against mlfs's store; borg does not fsync each file)
# mlfs fsyncs its packs before committing, so both references are synced
# too. Page cache: by default NOT dropped (the source was just written and
# is cached; this measures mlfs's CPU path, like the references); with
# --drop-caches the cache is dropped before every run of every tool.
#
# Files: a tree of N small files (2-16 KiB, 1,000 directories) imported,
# then 100 of them changed and the tree imported again: the files cache
# (docs/design.md#the-files-cache) against the same import reading every
# file (--no-files-cache), a stat of every file (find -printf: the floor),
# rsync -a's second run onto a copy and borg create's second run (files
# cache on, zstd-3) where installed. Medians of 3 runs, warm page cache.
# MLFS_BEFORE=path/to/older/mlfs adds that binary's re-import to the row.
#
# Usage: tools/bench/ingest.sh [--size-mib N] [--csv-rows N] [--files N]
#                              [--only model,csv,files] [--dir DIR]
#                              [--keep] [--drop-caches]
set -u

size_mib=1024
csv_rows=2000000
nfiles=100000
only=model,csv,files
bench_dir=${TMPDIR:-/tmp}/mlfs-bench
keep=0
drop=0
while [ $# -gt 0 ]; do
	case $1 in
	--size-mib) size_mib=$2; shift ;;
	--csv-rows) csv_rows=$2; shift ;;
	--files) nfiles=$2; shift ;;
	--only) only=$2; shift ;;
	--dir) bench_dir=$2; shift ;;
	--keep) keep=1 ;;
	--drop-caches) drop=1 ;;
	-h | --help) sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "ingest.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done

top=$(cd "$(dirname "$0")/../.." && pwd)
: "${MLFS:=$top/build/mlfs}"
GEN="/usr/bin/python3 $top/tools/gen-data"
[ -x "$MLFS" ] || { echo "ingest.sh: no mlfs binary at $MLFS (make first)" >&2; exit 1; }
command -v zstd >/dev/null || { echo "ingest.sh: zstd not installed" >&2; exit 1; }

mkdir -p "$bench_dir"
data=$bench_dir/data
work=$bench_dir/work
rm -rf "$work"
mkdir -p "$data" "$work"
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT

drop_caches() {
	[ $drop = 1 ] || return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null ||
		{ echo "ingest.sh: cannot drop caches (need root)" >&2; exit 1; }
}
now() { date +%s.%N; }
bytes() { du -sb "$1" | cut -f1; }
fsize() { stat -c %s "$1"; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.0f", b / 1e6 / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b ? a / b : 0) }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b ? 100 * a / b : 0) }'; }

want() { [[ ,$only, == *",$1,"* ]]; }

# --- generate (cached across runs, keyed by parameters) --------------------
echo "== generating workload in $data (cached; seed 42)"
t0=$(now)
want model && for v in 1 2 3 4 5; do
	f=$data/model-${size_mib}m-v$v.safetensors
	[ -s "$f" ] || { $GEN model "$f.tmp" --seed 42 --size-mib "$size_mib" \
		--version $v -v && mv "$f.tmp" "$f"; }
done
want csv && for v in 1 2 3; do
	f=$data/data-${csv_rows}-v$v.csv
	[ -s "$f" ] || { $GEN csv "$f.tmp" --seed 42 --rows "$csv_rows" --version $v && mv "$f.tmp" "$f"; }
done
echo "   ($(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s)"

TIMECMD=
if [ -x /usr/bin/time ]; then
	TIMECMD="/usr/bin/time -o $work/cpu -f %U+%S"
fi
echo "== load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)" \
	"(other work on the machine skews every figure, mlfs and references alike)"
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo) RAM;" \
	"page cache $( [ $drop = 1 ] && echo 'dropped before each run' || echo 'warm (not dropped)')"
echo "   mlfs $("$MLFS" --version 2>/dev/null | head -1)"

# bench_series NAME REPO FILES...: import each file as a version into a
# fresh store, with the cp and zstd references for the same file.
bench_series() {
	local name=$1 repo=$2
	shift 2
	local store=$work/store-$name cpdir=$work/cp-$name zdir=$work/zstd-$name
	rm -rf "$store" "$cpdir" "$zdir"
	mkdir -p "$cpdir" "$zdir"
	"$MLFS" init --store "$store" >/dev/null || exit 1
	local v=0 first="" cpu_note="" borg_note="" bdir=$work/borg-$name
	rm -rf "$bdir"
	if command -v borg >/dev/null; then
		export BORG_PASSPHRASE='' BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
		borg init -e none "$bdir" >/dev/null 2>&1 || bdir=
	else
		bdir=
	fi
	printf '\n== %s\n' "$name"
	printf '%-4s %9s | %8s %10s | %8s %8s | %8s %10s | %s\n' \
		ver "size MB" "mlfs MB/s" "growth MB" "cp MB/s" "zstd MB/s" "zstd MB" \
		"mlfs/cp" "mlfs/zstd (speed; growth)"
	for f in "$@"; do
		v=$((v + 1))
		local sz b0 t1 t2 mt mg ct zt zsz
		sz=$(fsize "$f")
		[ -z "$first" ] && first=$sz
		# mlfs: import the file as the next version (one file in the tree:
		# the same name each time, as a user would re-save a model).
		mkdir -p "$work/src-$name"
		ln -f "$f" "$work/src-$name/$(basename "$repo")" 2>/dev/null ||
			cp "$f" "$work/src-$name/$(basename "$repo")"
		b0=$(bytes "$store")
		drop_caches
		t1=$(now)
		$TIMECMD "$MLFS" import --store "$store" "$work/src-$name" "$repo" -q \
			-t "v$v" >/dev/null || { echo "mlfs import failed" >&2; exit 1; }
		t2=$(now)
		mt=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
		cpu=$(cat "$work/cpu" 2>/dev/null)
		[ -n "$cpu" ] && cpu_note+=" v$v:$(awk -v c="$cpu" -v t="$mt" 'BEGIN { split(c, a, "+"); printf "%.0f%%", 100 * (a[1] + a[2]) / t }')"
		mg=$(( $(bytes "$store") - b0 ))
		# cp + sync
		drop_caches
		t1=$(now)
		cp "$f" "$cpdir/v$v" && sync "$cpdir/v$v"
		t2=$(now)
		ct=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
		# zstd -3 -T0 + sync
		drop_caches
		t1=$(now)
		zstd -q -3 -T0 -f "$f" -o "$zdir/v$v.zst" && sync "$zdir/v$v.zst"
		t2=$(now)
		zt=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
		zsz=$(fsize "$zdir/v$v.zst")
		if [ -n "$bdir" ]; then
			drop_caches
			t1=$(now)
			borg create --compression zstd,3 "$bdir::v$v" "$work/src-$name" >/dev/null 2>&1 &&
				borg_note+=" v$v:$(mbps "$sz" "$(awk -v a="$t1" -v b="$(now)" 'BEGIN { print b - a }')")"
		fi
		printf 'v%-3s %9.1f | %8s %10.1f | %8s %8s | %8.1f %10s | %s; %s\n' \
			$v "$(awk -v s="$sz" 'BEGIN { print s / 1e6 }')" \
			"$(mbps "$sz" "$mt")" "$(awk -v s="$mg" 'BEGIN { print s / 1e6 }')" \
			"$(mbps "$sz" "$ct")" "$(mbps "$sz" "$zt")" \
			"$(awk -v s="$zsz" 'BEGIN { print s / 1e6 }')" \
			"$(ratio "$ct" "$mt")x speed" \
			"$(ratio "$zt" "$mt")x" "$(ratio "$mg" "$zsz")x"
		rm -f "$cpdir/v$v"
		eval "${name}_mt_$v=$mt ${name}_growth_$v=$mg"
	done
	local total cp_total z_total
	[ -n "$cpu_note" ] && echo "mlfs import CPU use (user+sys / wall; 200% = both cores):$cpu_note"
	total=$(bytes "$store")
	z_total=$(bytes "$zdir")
	cp_total=0
	for f in "$@"; do cp_total=$((cp_total + $(fsize "$f"))); done
	printf '%s: %d versions: mlfs store %.1f MB (packs %.1f MB, db %.1f MB); ' \
		"$name" $v "$(awk -v s="$total" 'BEGIN { print s / 1e6 }')" \
		"$(awk -v s="$(bytes "$store/packs")" 'BEGIN { print s / 1e6 }')" \
		"$(awk -v s="$(( $(fsize "$store/mlfs.db") ))" 'BEGIN { print s / 1e6 }')"
	printf 'cp copies %.1f MB; zstd files %.1f MB\n' \
		"$(awk -v s="$cp_total" 'BEGIN { print s / 1e6 }')" \
		"$(awk -v s="$z_total" 'BEGIN { print s / 1e6 }')"
	printf '%s: store / one version = %s (cp: %s, zstd: %s)\n' "$name" \
		"$(ratio "$total" "$first")" "$(ratio "$cp_total" "$first")" \
		"$(ratio "$z_total" "$first")"
	if [ -n "$bdir" ]; then
		printf '%s: borg (zstd-3) repository %.1f MB: store / one version = %s; mlfs store / borg = %s; borg create MB/s:%s\n' \
			"$name" "$(awk -v s="$(bytes "$bdir")" 'BEGIN { print s / 1e6 }')" \
			"$(ratio "$(bytes "$bdir")" "$first")" \
			"$(ratio "$total" "$(bytes "$bdir")")" "$borg_note"
		rm -rf "$bdir"
	fi
	"$MLFS" du --store "$store" | sed 's/^/   du: /' | head -n 12
	eval "${name}_total=$total ${name}_first=$first"
	rm -rf "$cpdir" "$zdir"
}

models=()
for v in 1 2 3 4 5; do models+=("$data/model-${size_mib}m-v$v.safetensors"); done
csvs=()
for v in 1 2 3; do csvs+=("$data/data-${csv_rows}-v$v.csv"); done

# bench_files: the files cache row (see the header).
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
bench_files() {
	local tree=$data/small-$nfiles src=$work/small store=$work/store-files
	local t m=() nc=() fi=() rs=() bo=() be=() r
	if [ ! -d "$tree" ]; then
		/usr/bin/python3 - "$tree.tmp" "$nfiles" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(3)
per = max(1, n // 1000)
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // per))
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
        f.write(rng.randbytes(rng.randint(2048, 16384)))
EOF
		mv "$tree.tmp" "$tree"
	fi
	printf '\n== files: %d small files, 100 changed, imported again\n' "$nfiles"
	rm -rf "$src" "$store" "$work/rsync" "$work/borg"
	t=$(now)
	cp -a "$tree" "$src" && sync
	echo "cp -a of the tree (first copy): $(since "$t") s"
	sleep 3.2 # older than the racy margin, as files are between imports
	"$MLFS" init --store "$store" >/dev/null || exit 1
	t=$(now)
	"$MLFS" import --store "$store" -q "$src" bench/small >/dev/null || exit 1
	echo "mlfs first import: $(since "$t") s"
	command -v rsync >/dev/null && rsync -a "$src/" "$work/rsync/"
	if command -v borg >/dev/null; then
		export BORG_PASSPHRASE='' BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
		borg init -e none "$work/borg" >/dev/null 2>&1 &&
			borg create --compression zstd,3 "$work/borg::a0" "$src" >/dev/null 2>&1 ||
			echo "ingest.sh: borg failed, no borg reference" >&2
	fi
	/usr/bin/python3 - "$src" "$nfiles" <<'EOF'
import random, sys
root, n = sys.argv[1], int(sys.argv[2])
per = max(1, n // 1000)
for i in random.Random(7).sample(range(n), min(100, n)):
    with open("%s/d%04d/f%06d.bin" % (root, i // per, i), "ab") as f:
        f.write(b"changed")
EOF
	for r in 1 2 3; do
		t=$(now)
		"$MLFS" import --store "$store" -q "$src" bench/small >/dev/null || exit 1
		m+=("$(since "$t")")
		t=$(now)
		"$MLFS" import --store "$store" -q --no-files-cache "$src" bench/small >/dev/null || exit 1
		nc+=("$(since "$t")")
		if [ -n "${MLFS_BEFORE:-}" ]; then
			t=$(now)
			if "$MLFS_BEFORE" import --store "$store" -q "$src" bench/small >/dev/null; then
				be+=("$(since "$t")")
			else
				echo "ingest.sh: MLFS_BEFORE failed on this store (another schema?): left out" >&2
				MLFS_BEFORE=
			fi
		fi
		t=$(now)
		find "$src" -printf '%s %T@ %C@ %i\n' >/dev/null
		fi+=("$(since "$t")")
		if command -v rsync >/dev/null; then
			t=$(now)
			rsync -a "$src/" "$work/rsync/" && sync
			rs+=("$(since "$t")")
		fi
		if command -v borg >/dev/null; then
			t=$(now)
			borg create --compression zstd,3 "$work/borg::a$r" "$src" >/dev/null 2>&1 &&
				bo+=("$(since "$t")")
		fi
	done
	local mm ncm fim rsm bom
	mm=$(median3 "${m[@]}")
	ncm=$(median3 "${nc[@]}")
	fim=$(median3 "${fi[@]}")
	printf 'files: re-import after 100 changed (median of 3): mlfs %s s (aim <= 0.3); reading every file (--no-files-cache) %s s = %sx\n' \
		"$mm" "$ncm" "$(ratio "$ncm" "$mm")"
	[ ${#be[@]} -gt 0 ] &&
		printf 'files: MLFS_BEFORE (%s) re-import %s s = %sx\n' "$MLFS_BEFORE" \
			"$(median3 "${be[@]}")" "$(ratio "$(median3 "${be[@]}")" "$mm")"
	printf 'files: references: stat of every file (find -printf) %s s (mlfs/find %sx)' \
		"$fim" "$(ratio "$mm" "$fim")"
	if [ ${#rs[@]} -gt 0 ]; then
		rsm=$(median3 "${rs[@]}")
		printf '; rsync -a 2nd run %s s (mlfs/rsync %sx)' "$rsm" "$(ratio "$mm" "$rsm")"
	fi
	if [ ${#bo[@]} -gt 0 ]; then
		bom=$(median3 "${bo[@]}")
		printf '; borg create 2nd run %s s (mlfs/borg %sx)' "$bom" "$(ratio "$mm" "$bom")"
	fi
	echo
	rm -rf "$src" "$work/rsync" "$work/borg" "$store"
}

want files && bench_files
want model || want csv || exit 0
want csv && bench_series csv bench/data.csv "${csvs[@]}"
want model || exit 0
bench_series model bench/model.safetensors "${models[@]}"

# Re-import of an unchanged version (everything deduplicated).
t1=$(now)
"$MLFS" import --store "$work/store-model" "$work/src-model" bench/model.safetensors -q >/dev/null
t2=$(now)
echo
echo "unchanged re-import of v5: $(mbps "$(fsize "${models[4]}")" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')") MB/s"

# model_* are set by bench_series through eval.
sz1=$(fsize "${models[0]}")
sz2=$(fsize "${models[1]}")
echo "aims: first import >= 400 MB/s: $(mbps "$sz1" "$model_mt_1") MB/s;" \
	"10%-changed re-import (v2) >= 700 MB/s: $(mbps "$sz2" "$model_mt_2") MB/s"
echo "model: total store size / one version's size = $(ratio "$model_total" "$model_first") (aim <= 1.30)"
