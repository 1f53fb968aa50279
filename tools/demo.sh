#!/bin/bash
# tools/demo.sh - the `make demo` tour: make a small model (float16
# safetensors) and a CSV dataset, two versions each, import them into
# ./demo-store, and show log, ls, du, and a file read back and verified.
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

printf '\nDemo done. Try:  %s --store %s ls -R demo/model@v1\n' "$MLFS" "$STORE"
