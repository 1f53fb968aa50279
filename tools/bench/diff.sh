#!/bin/bash
# tools/bench/diff.sh - how fast `mlfs diff` is where it matters:
#  1. a large tree (FILES files, default 100000) with 10 files changed;
#  2. a SIZE_MB (default 1024) MiB safetensors checkpoint, 10 % of its
#     tensors changed, timed beside `cat`-ing both files once (the cost
#     of any tool that must read everything). Prints the figures.
# Uses $MLFS (default build/mlfs) and a temp store; needs /usr/bin/python3
# with numpy.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
FILES=${FILES:-100000}
SIZE_MB=${SIZE_MB:-1024}
work=$(mktemp -d "${TMPDIR:-/tmp}/mlfs-bench-diff.XXXXXX")
trap 'rm -rf "$work" || true' EXIT
M() { "$MLFS" --store "$work/store" "$@"; }
now() { date +%s.%N; }
"$MLFS" init --store "$work/store" >/dev/null

/usr/bin/python3 - "$work" "$FILES" "$SIZE_MB" <<'PYEOF'
import json, os, struct, sys
import numpy as np
work, nfiles, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for v in ("t1", "t2"):
    os.makedirs(f"{work}/{v}", exist_ok=True)
per_dir = 1000
for i in range(nfiles):
    d = f"d{i // per_dir:04d}"
    for v in ("t1", "t2"):
        os.makedirs(f"{work}/{v}/{d}", exist_ok=True)
        body = f"file {i}\n"
        if v == "t2" and i % (nfiles // 10) == 7:
            body += "changed\n"
        with open(f"{work}/{v}/{d}/f{i}.txt", "w") as f:
            f.write(body)
rng = np.random.default_rng(1)
ntensors = 100
elems = size_mb * (1 << 20) // 4 // ntensors
names = [f"layer.{i}.weight" for i in range(ntensors)]
def write(path, changed):
    hdr, off = {}, 0
    for n in names:
        hdr[n] = {"dtype": "F32", "shape": [elems], "data_offsets": [off, off + 4 * elems]}
        off += 4 * elems
    h = json.dumps(hdr).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for i, n in enumerate(names):
            a = np.random.default_rng(i).standard_normal(elems, dtype=np.float32)
            if i in changed:
                a[::1000] += np.float32(0.01)
            f.write(a.tobytes())
os.makedirs(f"{work}/m1"); os.makedirs(f"{work}/m2")
write(f"{work}/m1/model.safetensors", set())
write(f"{work}/m2/model.safetensors", set(range(0, ntensors, 10)))
PYEOF

M import "$work/t1" bench/tree -t a -q >/dev/null
M import "$work/t2" bench/tree -t b -q >/dev/null
M import "$work/m1" bench/model -t a -q >/dev/null
M import "$work/m2" bench/model -t b -q >/dev/null

t0=$(now)
M diff --name-status bench/tree@a bench/tree@b >"$work/tree.out" || true
t1=$(now)
echo "tree diff: $FILES files, $(wc -l <"$work/tree.out") changed: $(echo "$t1 - $t0" | bc) s"

sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now)
cat "$work/m1/model.safetensors" "$work/m2/model.safetensors" >/dev/null
t1=$(now)
cat_s=$(echo "$t1 - $t0" | bc)
t0=$(now)
M diff --json bench/model@a bench/model@b >"$work/model.json" || true
t1=$(now)
diff_s=$(echo "$t1 - $t0" | bc)
/usr/bin/python3 - "$work/model.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["changes"][0]["content"]
print(f"checkpoint diff: {c['changed']} of {c['tensors_b']} tensors changed, "
      f"{c['unchanged']} unchanged ({c['unchanged_by_chunks']} from chunk lists alone), "
      f"{c['bytes_compared'] / 2**20:.1f} MiB compared")
PYEOF
echo "checkpoint: ${SIZE_MB} MiB x 2: mlfs diff ${diff_s} s, cat both ${cat_s} s, ratio $(echo "scale=2; $diff_s / $cat_s" | bc)"
