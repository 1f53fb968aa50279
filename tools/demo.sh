#!/bin/bash
# tools/demo.sh - the `make demo` tour: make a small model (float16
# safetensors) and a CSV dataset, two versions each, import them into
# ./demo-store, show log, ls, du, a file read back and verified, then
# mount the store and read both versions side by side with Python by
# path, and show what changed with mlfs diff; then train through the
# mount with mlfs run (lineage, metrics), promote and roll back an alias,
# and read the audit log.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
: "${MLFS:=$top/build/mlfs}"
GEN="/usr/bin/python3 $top/tools/gen-data"
DATA=${DEMO_DATA:-$PWD/demo-data}
STORE=${DEMO_STORE:-$PWD/demo-store}
mlfs() { "$MLFS" --store "$STORE" "$@"; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
trap 'echo; echo "demo: FAILED (line $LINENO)" >&2' ERR

[ -x "$MLFS" ] || { echo "demo: $MLFS not built (run make)" >&2; exit 1; }

step "Making sample data in $DATA (a 24 MiB model, a CSV dataset; two versions each)"
rm -rf "$DATA"
mkdir -p "$DATA/v1/model" "$DATA/v1/dataset" "$DATA/v2/model" "$DATA/v2/dataset"
for v in 1 2; do
	$GEN model "$DATA/v$v/model/model.safetensors" --seed 5 --size-mib 24 --version $v -v
	$GEN csv "$DATA/v$v/dataset/train.csv" --seed 5 --rows 60000 --version $v
	printf '{"architectures": ["DemoForCausalLM"], "torch_dtype": "float16", "version": %d}\n' \
		$v >"$DATA/v$v/model/config.json"
done
ls -l "$DATA"/v*/*

step "Creating a fresh store in $STORE"
rm -rf "$STORE"
mlfs init

step "Importing version 1 of the model and the dataset (tag v1)"
mlfs import "$DATA/v1/model" demo/model -t v1 -m "model: first training run"
mlfs import "$DATA/v1/dataset" demo/dataset -t v1 -m "dataset: initial rows"

step "Importing version 2 (~10 % of the tensors retrained; rows appended and fixed)"
mlfs import "$DATA/v2/model" demo/model -t v2 -m "model: fine-tuned"
mlfs import "$DATA/v2/dataset" demo/dataset -t v2 -m "dataset: more rows, fixes"

step "Repositories"
mlfs repos

step "History: mlfs log demo/model"
mlfs log demo/model

step "Files: mlfs ls -l demo/model@v2, then demo/dataset@v1"
mlfs ls -l demo/model@v2
echo "--"
mlfs ls -l demo/dataset@v1

step "Space: mlfs du (logical vs stored vs unique to each version)"
mlfs du

step "Reading a file back: mlfs cat demo/dataset@v1/train.csv | head -5"
(mlfs cat demo/dataset@v1/train.csv || [ $? -eq 141 ]) | head -5

step "Verifying every file of both versions byte for byte"
for v in 1 2; do
	for f in model/model.safetensors model/config.json dataset/train.csv; do
		repo=demo/${f%%/*}
		mlfs cat "$repo@v$v/${f#*/}" | cmp - "$DATA/v$v/$f"
		echo "  v$v $f: identical"
	done
done

step "Checking the store: mlfs fsck --read-data"
mlfs fsck --read-data

step "What changed: mlfs diff demo/model@v1 demo/model@v2 (tensors)"
mlfs diff demo/model@v1 demo/model@v2 || [ $? -eq 1 ]

step "What changed: mlfs diff --key id demo/dataset@v1 demo/dataset@v2 (rows)"
mlfs diff --key id --max-examples 3 demo/dataset@v1 demo/dataset@v2 ||
	[ $? -eq 1 ]

MNT=$(mktemp -d /tmp/mlfs-demo-mnt.XXXXXX)
unmount() {
	"$MLFS" umount "$MNT" 2>/dev/null || fusermount3 -u "$MNT" 2>/dev/null ||
		umount -l "$MNT" 2>/dev/null || true
	rmdir "$MNT" 2>/dev/null || true
}
trap unmount EXIT
step "Mounting the store on $MNT: every version is a directory"
mlfs mount "$MNT"
ls "$MNT" "$MNT/demo"

step "Reading both versions side by side with Python, by path"
/usr/bin/python3 - "$MNT" <<'PYEOF'
import csv, json, os, struct, sys
import numpy as np

mnt = sys.argv[1]

def tensors(path):
    # safetensors: 8-byte little-endian header length, JSON header, data
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = data[a:b].view(np.float16).reshape(t["shape"])
    return out

v1 = tensors(f"{mnt}/demo/model@v1/model.safetensors")
v2 = tensors(f"{mnt}/demo/model@v2/model.safetensors")
changed = [k for k in v1 if k in v2 and v1[k].shape == v2[k].shape
           and not np.array_equal(v1[k], v2[k])]
print(f"model: {len(v1)} tensors in v1, {len(v2)} in v2; "
      f"{len(changed)} changed, e.g. {changed[:3]}")
for v in ("v1", "v2"):
    with open(f"{mnt}/demo/dataset@{v}/train.csv", newline="") as f:
        rows = list(csv.reader(f))
    commit = os.getxattr(f"{mnt}/demo/dataset@{v}/train.csv",
                         "user.mlfs.commit").decode()
    print(f"dataset@{v}: {len(rows) - 1} rows, columns {rows[0]}, "
          f"commit {commit[:12]}")
PYEOF

step "Training through the mount: mlfs run records what the job read"
cat >"$DATA/train.py" <<'PYEOF2'
# A stand-in training job: reads a dataset version by path, writes a
# "model" (per-column means) and its metrics into the mounted branch.
import csv, json, sys
data, out = sys.argv[1], sys.argv[2]
with open(f"{data}/train.csv", newline="") as f:
    rows = list(csv.DictReader(f))
cols = [c for c in rows[0] if c not in ("id", "label")]
means = {}
for c in cols:
    try:
        means[c] = sum(float(r[c]) for r in rows) / len(rows)
    except ValueError:
        pass
with open(f"{out}/model.json", "w") as f:
    json.dump({"means": means, "rows": len(rows)}, f, indent=1)
with open(sys.argv[3], "w") as f:
    json.dump({"rows": len(rows), "features": len(means)}, f)
PYEOF2
mkdir "$MNT/demo/fraud" # a new repository, its main branch writable
for v in 1 2; do
	mlfs run --out demo/fraud -t "v$v" -m "trained on dataset@v$v" \
		--metrics "$DATA/metrics-v$v.json" -- \
		/usr/bin/python3 "$DATA/train.py" "$MNT/demo/dataset@v$v" \
		"$MNT/demo/fraud" "$DATA/metrics-v$v.json"
done
mlfs log demo/fraud

step "Which data trained it: mlfs lineage demo/fraud@v2"
mlfs lineage demo/fraud@v2
echo "--"
mlfs lineage --downstream demo/dataset@v1

step "Versions and their metrics: mlfs metrics demo/fraud"
mlfs metrics demo/fraud

step "Promote v2 to production, then roll back"
mlfs alias demo/fraud@v1 production -m "first model in production"
mlfs alias demo/fraud@v2 production -m "retrained on more rows"
printf 'production reads: %s\n' \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"], "rows")' \
	"$MNT/demo/fraud@production/model.json")"
mlfs rollback demo/fraud production -m "latency regression"
mlfs alias --history demo/fraud production

step "Who did what: mlfs audit demo/fraud, and its hash chain checked"
mlfs audit demo/fraud
mlfs audit --verify

step "Unmounting"
unmount
trap - EXIT

printf '\nDemo done. Try:  %s --store %s ls -R demo/model@v1\n' "$MLFS" "$STORE"
