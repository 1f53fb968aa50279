#!/bin/bash
# tools/bench/diff-rss.sh - peak memory of `mlfs diff` on hostile-sized
# inputs, for one or two builds in the same run:
#  json  a 59 MiB [0,0,0,...] on each side (the last element differs);
#  jobj  a 59 MiB object of 5M members in shuffled key order, one
#        value changed;
#  st    a safetensors file whose header is ~64.5 MiB (1M tiny tensors),
#        one tensor's value changed;
#  csv   32 MiB of one-byte rows on each side, 1 % of them changed;
#  text  the text diff's 8 MiB cap of one-byte lines, 100 lines changed.
# Usage: tools/bench/diff-rss.sh [MLFS...] (default $MLFS or build/mlfs).
# Each build gets its own store (builds may differ in schema). Prints one
# line per build and input: peak RSS (MiB, /usr/bin/time -v "Maximum
# resident set size"), the input size of one side, the ratio, the exit
# status (124: stopped after LIMIT seconds), the wall time (for
# information only) and the first line mlfs printed about the content.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -eq 0 ]; then
	set -- "${MLFS:-$top/build/mlfs}"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mlfs-bench-rss.XXXXXX")
trap 'rm -rf "$work" || true' EXIT

/usr/bin/python3 - "$work" <<'PYEOF'
import json, os, struct, sys
work = sys.argv[1]
for v in ("v1", "v2"):
    for k in ("json", "jobj", "st", "csv", "text"):
        os.makedirs(f"{work}/{k}_{v}", exist_ok=True)
n = 59 * (1 << 20) // 2
body = b"[" + b"0," * (n - 1)
open(f"{work}/json_v1/big.json", "wb").write(body + b"0]")
open(f"{work}/json_v2/big.json", "wb").write(body + b"1]")
import random
rng = random.Random(1)
keys = [b'"k%d":%d' % (i, i % 10) for i in range(5 << 20)]
open(f"{work}/jobj_v1/big.json", "wb").write(b"{" + b",".join(keys) + b"}")
keys[12345] = b'"k12345":-1'
rng.shuffle(keys)
open(f"{work}/jobj_v2/big.json", "wb").write(b"{" + b",".join(keys) + b"}")
hdr, off = [], 0
for i in range(1 << 20):
    hdr.append('"t%07d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}'
               % (i, off, off + 4))
    off += 4
h = ("{" + ",".join(hdr) + "}").encode()
data = bytearray(off)
for v in ("v1", "v2"):
    if v == "v2":
        data[0:4] = struct.pack("<f", 1.0)
    with open(f"{work}/st_{v}/model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(data))
rows = 16 << 20
for v in ("v1", "v2"):
    b = bytearray(b"c\n" + b"a\n" * rows)
    if v == "v2":
        for i in range(0, rows, 100):
            b[2 + 2 * i] = ord("b")
    open(f"{work}/csv_{v}/rows.csv", "wb").write(b)
lines = 4 << 20
for v in ("v1", "v2"):
    b = bytearray(b"a\n" * lines)
    if v == "v2":
        for i in range(0, lines, lines // 100):
            b[2 * i] = ord("b")
    open(f"{work}/text_{v}/notes.txt", "wb").write(b)
PYEOF

size() { stat -c %s "$1"; }
declare -A file=([json]=big.json [jobj]=big.json [st]=model.safetensors
		 [csv]=rows.csv
		 [text]=notes.txt)
printf '%-40s %-5s %10s %10s %6s %4s %9s  %s\n' build input peak_MiB \
	input_MiB ratio exit wall first-line
for mlfs in "$@"; do
	store=$work/store.$RANDOM
	"$mlfs" init --store "$store" >/dev/null
	for k in json jobj st csv text; do
		for v in v1 v2; do
			"$mlfs" --store "$store" import -q "$work/${k}_$v" \
				"bench/$k" -t "$v" >/dev/null
		done
		set +e
		# A diff past LIMIT seconds (default 600) is stopped: the
		# peak is then the peak until then, and exit 124.
		/usr/bin/time -v -o "$work/time" timeout "${LIMIT:-600}" \
			"$mlfs" --store "$store" diff "bench/$k@v1" \
			"bench/$k@v2" >"$work/out" 2>&1
		rc=$?
		set -e
		kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' \
			"$work/time")
		wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' \
			"$work/time")
		in=$(size "$work/${k}_v1/${file[$k]}")
		line=$(grep -m1 -v "^[MADRT]" "$work/out" | cut -c1-60 || true)
		awk -v b="$mlfs" -v k="$k" -v kb="$kb" -v sz="$in" -v rc="$rc" \
		    -v w="$wall" -v l="$line" 'BEGIN {
			printf "%-40s %-5s %10.1f %10.1f %6.2f %4d %9s  %s\n",
			substr(b, length(b) > 40 ? length(b) - 39 : 1), k,
			kb / 1024, sz / 1048576, kb * 1024 / sz, rc, w, l }'
	done
	rm -rf "$store"
done
