#!/bin/bash
# tests/frameworks.sh - ML frameworks read versions by path through the
# mount, with no mlfs code in them: numpy (np.load mmap_mode='r', .npz),
# pandas read_csv, h5py, torch.load of a state dict. Each result is
# compared with the object that was saved. A framework whose package is
# not installed is skipped with a SKIP line.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
MLFS=${MLFS:-$top/build/mlfs}
case $MLFS in /*) ;; *) MLFS=$top/$MLFS ;; esac
PY=/usr/bin/python3

tmp=$(mktemp -d /tmp/mlfs-fw.XXXXXX)
store=$tmp/store
mnt=$tmp/mnt
pass=0
fail=0

cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	rm -rf "$tmp" || true
}
trap cleanup EXIT

mlfs() { "$MLFS" --store "$store" "$@"; }
mkdir -p "$mnt" "$tmp/v1" "$tmp/v2"

# write the same objects, seeded, into v1 and (changed) v2; one Python
# program both writes (mode "write") and checks (mode "check")
cat >"$tmp/fw.py" <<'EOF'
import os, sys
mode, root, ver = sys.argv[1], sys.argv[2], int(sys.argv[3])

def out(ok, name):
    print(("ok - " if ok else "FAIL - ") + name)

def have(mod):
    try:
        __import__(mod)
        return True
    except Exception:
        return False

if not have("numpy"):
    print("SKIP - numpy not installed (and with it pandas, h5py, torch)")
    sys.exit(0)
import numpy as np
rng = np.random.default_rng(ver)
arr = rng.standard_normal((512, 1024)).astype(np.float32)
ints = rng.integers(0, 1 << 30, size=200_000)

if mode == "write":
    np.save(f"{root}/features.npy", arr)
    np.savez(f"{root}/bundle.npz", a=arr[:100], b=ints)
else:
    m = np.load(f"{root}/features.npy", mmap_mode="r")
    out(isinstance(m, np.memmap) and np.array_equal(m, arr),
        f"v{ver}: numpy np.load mmap_mode='r'")
    z = np.load(f"{root}/bundle.npz")
    out(np.array_equal(z["a"], arr[:100]) and np.array_equal(z["b"], ints),
        f"v{ver}: numpy .npz")

if not have("pandas"):
    print("SKIP - pandas not installed")
else:
    import pandas as pd
    df = pd.DataFrame({"id": np.arange(50_000), "x": ints[:50_000],
                       "y": arr.ravel()[:50_000],
                       "label": np.where(ints[:50_000] % 3 == 0, "a", "b")})
    if mode == "write":
        df.to_csv(f"{root}/table.csv", index=False)
    else:
        r = pd.read_csv(f"{root}/table.csv")
        exp = pd.read_csv(os.environ["FW_SRC"] + "/table.csv")
        out(r.equals(exp) and len(r) == len(df), f"v{ver}: pandas read_csv")

if not have("h5py"):
    print("SKIP - h5py not installed")
else:
    import h5py
    if mode == "write":
        with h5py.File(f"{root}/data.h5", "w") as f:
            f.create_dataset("arr", data=arr, chunks=(64, 1024),
                             compression="gzip")
            f.create_dataset("ints", data=ints)
            f.attrs["version"] = ver
    else:
        with h5py.File(f"{root}/data.h5", "r") as f:
            out(np.array_equal(f["arr"][:], arr) and
                np.array_equal(f["ints"][:], ints) and
                f.attrs["version"] == ver, f"v{ver}: h5py")

if not have("torch"):
    print("SKIP - torch not installed")
else:
    import torch
    torch.manual_seed(ver)
    model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 10))
    sd = model.state_dict()
    if mode == "write":
        torch.save(sd, f"{root}/model.pt")
    else:
        got = torch.load(f"{root}/model.pt", map_location="cpu")
        out(got.keys() == sd.keys() and
            all(torch.equal(got[k], sd[k]) for k in sd),
            f"v{ver}: torch.load state dict")
print("DONE")
EOF

for v in 1 2; do
	$PY "$tmp/fw.py" write "$tmp/v$v" $v >/dev/null || {
		echo "FAIL - cannot write fixtures"; exit 1; }
done
mlfs init >/dev/null || exit 1
mlfs import -q -t v1 "$tmp/v1" ml/fw >/dev/null || exit 1
mlfs import -q -t v2 "$tmp/v2" ml/fw >/dev/null || exit 1
if ! mlfs mount "$mnt"; then
	echo "FAIL - mount"
	echo "0 passed, 1 failed"
	exit 1
fi

for v in 1 2; do
	out=$(FW_SRC=$tmp/v$v $PY "$tmp/fw.py" check "$mnt/ml/fw@v$v" $v 2>&1)
	echo "$out" | grep -E '^(ok|FAIL|SKIP) - '
	pass=$((pass + $(echo "$out" | grep -c '^ok - ')))
	fail=$((fail + $(echo "$out" | grep -c '^FAIL - ')))
	if ! echo "$out" | grep -q '^DONE$'; then
		echo "$out" | tail -n 5
		echo "FAIL - v$v: python checks did not finish"
		fail=$((fail + 1))
	fi
done

"$MLFS" umount "$mnt" || { echo "FAIL - umount"; fail=$((fail + 1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
