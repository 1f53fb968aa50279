#!/bin/bash
# tools/bench/codec.sh - store size and decode speed of a model's chunks,
# for this mlfs and optionally an older one, in the same run (a
# benchmark, not a test: it prints figures, it does not fail on them).
#
# Imports a ~1 GiB float16 safetensors model (tools/gen-data, seed 1, as
# tools/bench/read.sh) into a fresh store per binary, prints each store's
# packs size, then decodes every stored chunk in memory with
# build/bench-codec-decode (one thread, no I/O, no hashing), the binaries'
# stores interleaved, --rounds times: MB/s of decoded bytes and CPU s per
# GiB. The decoder is this tree's either way, so the rows compare what
# each encoder stored.
#
# Usage: tools/bench/codec.sh [--size-mib N] [--rounds N] [--passes N]
#                             [--keep DIR]
# MLFS=BIN (default build/mlfs), MLFS_BEFORE=BIN adds the older binary.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
DEC=$top/build/bench-codec-decode
size_mib=1024
rounds=5
passes=5
work=""

while [ $# -gt 0 ]; do
	case $1 in
	--size-mib) size_mib=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--passes) passes=$2; shift 2 ;;
	--keep) work=$2; shift 2 ;;
	*) echo "usage: $0 [--size-mib N] [--rounds N] [--passes N] [--keep DIR]" >&2
	   exit 2 ;;
	esac
done
[ -x "$DEC" ] || { echo "codec.sh: no $DEC (make first)" >&2; exit 1; }

keep=1
if [ -z "$work" ]; then
	work=$(mktemp -d /var/tmp/mlfs-codec.XXXXXX)
	keep=0
fi
cleanup() { [ "$keep" = 1 ] || rm -rf "$work" || true; }
trap cleanup EXIT

mkdir -p "$work/src"
model=$work/src/model.safetensors
[ -s "$model" ] || "$top/tools/gen-data" model "$model" --seed 1 \
	--size-mib "$size_mib" >/dev/null || exit 1

names="now"
[ -n "${MLFS_BEFORE:-}" ] && names="before now"
echo "# codec benchmark: $(nproc) cores, ${size_mib} MiB model," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $names; do
	bin=$MLFS
	[ "$n" = before ] && bin=$MLFS_BEFORE
	store=$work/store-$n
	if [ ! -e "$store" ]; then
		"$bin" --store "$store" init >/dev/null &&
		"$bin" --store "$store" import -q "$work/src" bench/model \
			>/dev/null || exit 1
	fi
	echo "$n: packs $(du -sb "$store/packs" | cut -f1) bytes"
done
for r in $(seq "$rounds"); do
	for n in $names; do
		echo "$n round $r: $("$DEC" --passes "$passes" \
			"$work/store-$n"/packs/*.mlp | tr '\n' ' ')"
	done
done
