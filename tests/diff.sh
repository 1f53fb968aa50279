#!/bin/bash
# tests/diff.sh - `mlfs diff` end to end: generated model versions
# (tensors changed slightly, added, removed, re-shaped; a sharded
# checkpoint), dataset versions (rows appended, a block changed, a column
# added), renames, a hostile file, path filters, --json checked by
# Python, exit codes. Expected values are computed by the generator.
. "$(dirname "$0")/lib.sh"

store=$(new_store)
work=$(mktmp)
M() { "$MLFS" --store "$store" "$@"; }

"$PY" - "$work" <<'PYEOF' || { fail "generate data"; summary; }
import json, os, struct, sys
import numpy as np

work = sys.argv[1]
rng = np.random.default_rng(20240301)

def write_st(path, tensors, meta=None):
    hdr, off, blobs = {}, 0, []
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, (dt, arr) in tensors.items():
        b = arr.tobytes()
        hdr[name] = {"dtype": dt, "shape": list(arr.shape),
                     "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def bf16(a):
    return (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)

def as_f64(dt, a):
    if dt == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return a.astype(np.float64)

exp = {}
for v in ("v1", "v2"):
    os.makedirs(f"{work}/model_{v}/config", exist_ok=True)
    os.makedirs(f"{work}/model_{v}/shards", exist_ok=True)
    os.makedirs(f"{work}/data_{v}", exist_ok=True)

# --- single-file checkpoint -------------------------------------------
w1 = rng.standard_normal((256, 256)).astype(np.float32)
w2 = rng.standard_normal(1000).astype(np.float16)
emb = bf16(rng.standard_normal(512))
ids = rng.integers(-1000, 1000, 100).astype(np.int64)
old = rng.integers(0, 255, 64).astype(np.uint8)
rs = rng.standard_normal((4, 6)).astype(np.float32)
keep = rng.standard_normal(200000).astype(np.float64)
a = {"w1": ("F32", w1), "w2": ("F16", w2), "emb": ("BF16", emb),
     "ids": ("I64", ids), "old": ("U8", old), "rs": ("F32", rs),
     "keep": ("F64", keep)}
write_st(f"{work}/model_v1/model.safetensors", a, {"step": "100"})

w1b = w1.copy(); idx = rng.choice(w1.size, 10, replace=False)
w1b.flat[idx] += np.float32(0.5) * (1 + np.arange(10, dtype=np.float32) / 10)
w2b = w2.copy(); w2b[[3, 500, 999]] += np.float16(0.25)
idsb = ids.copy(); idsb[[0, 50]] += np.array([7, -3])
head = rng.standard_normal(8).astype(np.float32)
b = {"w1": ("F32", w1b), "w2": ("F16", w2b), "emb": ("BF16", emb),
     "ids": ("I64", idsb), "head": ("F32", head),
     "rs": ("F32", rs.reshape(6, 4)), "keep": ("F64", keep)}
write_st(f"{work}/model_v2/model.safetensors", b, {"step": "200"})

changed = {}
for name, (x, y, dt) in {"w1": (w1, w1b, "F32"), "w2": (w2, w2b, "F16"),
                         "ids": (ids, idsb, "I64")}.items():
    d = np.abs(as_f64(dt, y) - as_f64(dt, x))
    changed[name] = {"differing": int((x.view(np.uint8).reshape(x.size, -1) !=
                                       y.view(np.uint8).reshape(y.size, -1)).any(1).sum()),
                     "max": float(d.max()), "mean": float(d.sum() / x.size)}
exp["model"] = {"changed": changed, "added": 1, "removed": 1, "relayout": 1,
                "unchanged": 2}

# --- sharded checkpoint: t3 moves shard unchanged, t1 changes ----------
t1 = rng.standard_normal(1000).astype(np.float32)
t2 = rng.standard_normal(1000).astype(np.float32)
t3 = rng.standard_normal(1000).astype(np.float32)
for v, shard_of_t3, t1v in (("v1", 1, t1), ("v2", 2, t1 * np.float32(2))):
    s1 = {"t1": ("F32", t1v)}
    s2 = {"t2": ("F32", t2)}
    (s1 if shard_of_t3 == 1 else s2)["t3"] = ("F32", t3)
    d = f"{work}/model_{v}/shards"
    write_st(f"{d}/model-00001-of-00002.safetensors", s1)
    write_st(f"{d}/model-00002-of-00002.safetensors", s2)
    wm = {k: "model-00001-of-00002.safetensors" for k in s1}
    wm.update({k: "model-00002-of-00002.safetensors" for k in s2})
    json.dump({"metadata": {}, "weight_map": wm},
              open(f"{d}/model.safetensors.index.json", "w"))
exp["shard_t1_max"] = float(np.abs(t1.astype(np.float64)).max())

# --- config json, text, rename, hostile file --------------------------
json.dump({"lr": 0.001, "layers": 12, "act": "gelu"},
          open(f"{work}/model_v1/config/train.json", "w"))
json.dump({"lr": 0.0005, "layers": 12, "act": "gelu", "warmup": 100},
          open(f"{work}/model_v2/config/train.json", "w"))
lines = [f"line {i}\n" for i in range(100)]
open(f"{work}/model_v1/notes.txt", "w").writelines(lines)
lines[50] = "line fifty\n"
open(f"{work}/model_v2/notes.txt", "w").writelines(lines + ["the end\n"])
blob = rng.integers(0, 255, 300000).astype(np.uint8).tobytes()
open(f"{work}/model_v1/config/vocab.bin", "wb").write(blob)
open(f"{work}/model_v2/config/vocab-renamed.bin", "wb").write(blob)
hdr = b'{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
open(f"{work}/model_v1/bad.safetensors", "wb").write(
    struct.pack("<Q", len(hdr)) + hdr + b"a")
open(f"{work}/model_v2/bad.safetensors", "wb").write(
    struct.pack("<Q", 1 << 40) + hdr + b"b")

# --- dataset: 1000 rows; v2 appends 50, changes 20, adds a column -----
rows = [[i, f"name{i}", f"{rng.random():.6f}"] for i in range(1000)]
with open(f"{work}/data_v1/train.csv", "w") as f:
    f.write("id,name,value\n")
    for r in rows:
        f.write(f"{r[0]},{r[1]},{r[2]}\n")
with open(f"{work}/data_v2/train.csv", "w") as f:
    f.write("id,name,value,extra\n")
    for i, r in enumerate(rows + [[1000 + k, f"new{k}", "0.5"] for k in range(50)]):
        val = "9.999" if 100 <= i < 120 else r[2]
        f.write(f"{r[0]},{r[1]},{val},x{i % 3}\n")
json.dump(exp, open(f"{work}/expected.json", "w"))
PYEOF

M import "$work/model_v1" ml/fraud -t v1 -q >/dev/null
M import "$work/model_v2" ml/fraud -t v2 -q >/dev/null
M import "$work/data_v1" data/train -t 2024-02 -q >/dev/null
M import "$work/data_v2" data/train -t 2024-03 -q >/dev/null

# --- exit codes --------------------------------------------------------
expect_exit 0 M diff ml/fraud@v1 ml/fraud@v1
[ ! -s "$OUT_F" ] && ok "equal versions print nothing" ||
	fail "equal versions print nothing"
expect_exit 1 M diff ml/fraud@v1 ml/fraud@v2
expect_exit 2 M diff ml/fraud@v1 ml/fraud@nope
expect_exit 2 M diff ml/fraud@v1
expect_exit 2 M diff --bogus ml/fraud@v1 ml/fraud@v2
expect_err "unknown option '--bogus'" "unknown option is named"
expect_exit 2 M diff ml/fraud@v1 ml/fraud@v2 --max-examples x

# --- name-status: renames, adds, modifications ------------------------
expect_exit 1 M diff --name-status ml/fraud@v1 ml/fraud@v2
grep -qx $'R\tconfig/vocab.bin\tconfig/vocab-renamed.bin' "$OUT_F" &&
	ok "rename detected by content" || { fail "rename detected"; show_last; }
grep -qx $'M\tmodel.safetensors' "$OUT_F" && ok "modified file listed" ||
	fail "modified file listed"
[ "$(wc -l < "$OUT_F")" -eq 8 ] && ok "eight changes in the model" ||
	{ fail "eight changes in the model"; cat "$OUT_F"; }
expect_exit 1 M diff --name-status --no-renames ml/fraud@v1 ml/fraud@v2
grep -qx $'D\tconfig/vocab.bin' "$OUT_F" && grep -qx $'A\tconfig/vocab-renamed.bin' \
	"$OUT_F" && ok "--no-renames gives remove + add" || fail "--no-renames"

# --- path filters --------------------------------------------------------
expect_exit 1 M diff --name-status ml/fraud@v1 ml/fraud@v2 -- config
[ "$(cut -f1 "$OUT_F" | sort | tr '\n' ' ')" = "M R " ] &&
	ok "path filter keeps config/ only" || { fail "path filter"; cat "$OUT_F"; }
expect_exit 0 M diff ml/fraud@v1 ml/fraud@v2 -- no/such/path

# --- human output --------------------------------------------------------
expect_exit 1 M diff ml/fraud@v1 ml/fraud@v2
grep -q "cannot read as its format: new version: header length 1099511627776" \
	"$OUT_F" && ok "hostile safetensors reported, diff goes on" ||
	{ fail "hostile safetensors reported"; show_last; }
grep -q '^    -line 50$' "$OUT_F" && grep -q '^    +line fifty$' "$OUT_F" &&
	ok "text diff shown" || fail "text diff shown"
grep -q '^    ~ .lr: 0.001 -> 0.0005$' "$OUT_F" && ok "json key change shown" ||
	fail "json key change shown"
grep -q "sharded checkpoint 'shards/'" "$OUT_F" && ok "shards diffed together" ||
	fail "shards diffed together"

# --- JSON, checked by Python ---------------------------------------------
expect_exit 1 M diff --json ml/fraud@v1 ml/fraud@v2
"$PY" - "$OUT_F" "$work/expected.json" <<'PYEOF' && ok "model --json matches expected values" || fail "model --json"
import json, sys
d = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))["model"]
ch = {c["path"]: c for c in d["changes"]}
assert d["schema"] == "mlfs.diff/1" and d["equal"] is False
st = ch["model.safetensors"]["content"]
assert st["format"] == "safetensors", st
for k in ("added", "removed", "relayout", "unchanged"):
    assert st[k] == e[k], (k, st[k], e[k])
assert st["changed"] == 3, st["changed"]
# "keep" (1.6 MB, unchanged) is proven from chunk lists but for its
# edge chunks: far less than both copies is read.
assert st["bytes_compared"] < 1600000, st["bytes_compared"]
t = {x["name"]: x for x in st["tensors"]}
for name, want in e["changed"].items():
    got = t[name]
    assert got["change"] == "values", got
    assert got["differing"] == want["differing"], (name, got, want)
    assert abs(got["max_abs_diff"] - want["max"]) <= 1e-12 * max(1, want["max"]), (name, got, want)
    assert abs(got["mean_abs_diff"] - want["mean"]) <= 1e-9 * max(1, want["mean"]), (name, got, want)
assert t["head"]["change"] == "added" and t["old"]["change"] == "removed"
assert t["rs"]["change"] == "shape" and t["rs"]["b"]["shape"] == [6, 4]
assert st["metadata"] == [{"key": "step", "old": "100", "new": "200"}]
r = ch["config/vocab-renamed.bin"]
assert r["status"] == "renamed" and r["old_path"] == "config/vocab.bin"
assert ch["bad.safetensors"]["content"]["format"] == "binary"
assert "header length" in ch["bad.safetensors"]["content_error"]
assert "chunks" in ch["model.safetensors"]
assert d["summary"]["renamed"] == 1 and d["summary"]["added"] == 0
sh = [c for c in d["changes"] if c.get("content_scope", "").startswith("sharded")]
assert len(sh) == 1, sh
sc = sh[0]["content"]
assert (sc["changed"], sc["added"], sc["removed"], sc["unchanged"]) == (1, 0, 0, 2), sc
assert sc["tensors"][0]["name"] == "t1" and sc["tensors"][0]["differing"] == 1000
PYEOF

# --- datasets --------------------------------------------------------------
expect_exit 1 M diff --json --key id data/train@2024-02 data/train@2024-03
"$PY" - "$OUT_F" <<'PYEOF' && ok "dataset --key counts" || fail "dataset --key counts"
import json, sys
c = json.load(open(sys.argv[1]))["changes"][0]["content"]
assert c["format"] == "csv" and c["key"] == "id", c
assert c["columns_added"] == ["extra"] and c["columns_removed"] == [], c
assert (c["rows_a"], c["rows_b"]) == (1000, 1050), c
assert (c["rows_added"], c["rows_removed"], c["rows_changed"], c["rows_unchanged"]) == (50, 0, 20, 980), c
ex = c["examples"]
assert len(ex["changed"]) == 5 and ex["changed"][0]["key"] == "100", ex["changed"][0]
assert ex["changed"][0]["columns"]["value"]["new"] == "9.999"
assert [a["row"]["id"] for a in ex["added"]] == ["1000", "1001", "1002", "1003", "1004"]
PYEOF
expect_exit 1 M diff --json --max-examples 2 data/train@2024-02 data/train@2024-03
"$PY" - "$OUT_F" <<'PYEOF' && ok "dataset multiset counts" || fail "dataset multiset counts"
import json, sys
c = json.load(open(sys.argv[1]))["changes"][0]["content"]
assert c["key"] is None
assert (c["rows_added"], c["rows_removed"], c["rows_changed"], c["rows_unchanged"]) == (70, 20, 0, 980), c
assert len(c["examples"]["added"]) == 2 and len(c["examples"]["removed"]) == 2
assert c["examples"]["removed"][0]["line"] == 102
PYEOF
expect_exit 1 M diff --key id data/train@2024-02 data/train@2024-03
grep -q '^    rows: 1000 -> 1050: 50 added, 0 removed, 20 changed, 980 unchanged (by key)$' \
	"$OUT_F" && ok "dataset summary line" || { fail "dataset summary line"; show_last; }
grep -q '^    + column extra$' "$OUT_F" && ok "added column shown" ||
	fail "added column shown"

# --- stat and no-content ----------------------------------------------------
expect_exit 1 M diff --stat data/train@2024-02 data/train@2024-03
grep -q '^ 1 changes: 0 added, 0 removed, 1 modified, 0 renamed, 0 type changes; ' \
	"$OUT_F" && ok "--stat summary" || { fail "--stat summary"; show_last; }
expect_exit 1 M diff --no-content ml/fraud@v1 ml/fraud@v2
grep -q '^    ' "$OUT_F" && fail "--no-content shows no content" ||
	ok "--no-content shows no content"


# --- hostile CSV: a row wider than its header ------------------------------
# 52 bytes: header "id,v", then a row of 42 commas. Showing that row read
# the header's field table out of bounds (caught by the ASan build).
hostile=$(mktmp)
mkdir -p "$hostile/h1" "$hostile/h2"
printf 'id,v\n1,a\n' > "$hostile/h1/data.csv"
{ printf 'id,v\n1,a\n'; printf ',%.0s' $(seq 42); printf '\n'; } \
	> "$hostile/h2/data.csv"
M import "$hostile/h1" data/hostile -t h1 -q >/dev/null
M import "$hostile/h2" data/hostile -t h2 -q >/dev/null
[ "$(wc -c < "$hostile/h2/data.csv")" -eq 52 ] && ok "hostile CSV is 52 bytes" ||
	fail "hostile CSV is 52 bytes"
expect_exit 1 M diff data/hostile@h1 data/hostile@h2
grep -q '^    rows: 1 -> 2: 1 added, 0 removed, 0 changed, 1 unchanged' \
	"$OUT_F" && grep -q '^    + line 3: ,,,,' "$OUT_F" &&
	ok "row wider than the header is shown" || { fail "wide row"; show_last; }
expect_exit 1 M diff --json data/hostile@h1 data/hostile@h2
"$PY" - "$OUT_F" <<'PYEOF' && ok "wide row in --json" || fail "wide row in --json"
import json, sys
c = json.load(open(sys.argv[1]))["changes"][0]["content"]
assert c["ragged_rows_b"] == 1, c
assert c["examples"]["added"][0]["line"] == 3, c["examples"]
PYEOF


# --- names with a newline, a tab, a quote: quoted in text, exact in JSON ----
nm=$(mktmp)
mkdir -p "$nm/n1" "$nm/n2/sub"$'\t'"dir"
printf 'one\n' > "$nm/n1/keep.txt"
printf 'one\n' > "$nm/n2/keep.txt"
# unchanged is the same bytes and time (a time alone is a change)
touch -r "$nm/n1/keep.txt" "$nm/n2/keep.txt"
printf 'x\n' > "$nm/n2/bad"$'\n'"name.txt"
printf 'y\n' > "$nm/n2/sub"$'\t'"dir/q\"uote\\d"
M import "$nm/n1" names/q -t n1 -q >/dev/null
M import "$nm/n2" names/q -t n2 -q >/dev/null
expect_exit 1 M diff --name-status names/q@n1 names/q@n2
[ "$(cat "$OUT_F")" = $'A\t"bad\\nname.txt"\nA\t"sub\\tdir/q\\"uote\\\\d"' ] &&
	ok "--name-status quotes names as git does" ||
	{ fail "--name-status quotes names"; cat -A "$OUT_F"; }
expect_exit 1 M diff --stat names/q@n1 names/q@n2
grep -q '^ A "bad\\nname.txt" | ' "$OUT_F" && ok "--stat quotes names" ||
	{ fail "--stat quotes names"; cat -A "$OUT_F"; }
expect_exit 1 M diff names/q@n1 names/q@n2
grep -q '^A  "bad\\nname.txt"  (2 B)$' "$OUT_F" && ok "diff quotes names" ||
	{ fail "diff quotes names"; cat -A "$OUT_F"; }
expect_exit 1 M diff --json names/q@n1 names/q@n2
"$PY" - "$OUT_F" <<'PYEOF' && ok "--json keeps names exact" || fail "--json keeps names exact"
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(c["path"] for c in d["changes"]) == ["bad\nname.txt", "sub\tdir/q\"uote\\d"], d
PYEOF
# A parser's reason naming a tensor with a newline: quoted too.
"$PY" - "$nm" <<'PYEOF' || fail "generate a safetensors with a bad name"
import json, struct, sys
for v, dt in (("n3", "U8"), ("n4", "Q4")):
    h = json.dumps({"bad\nname": {"dtype": dt, "shape": [1],
                                   "data_offsets": [0, 1]}}).encode()
    import os
    os.makedirs(f"{sys.argv[1]}/{v}", exist_ok=True)
    open(f"{sys.argv[1]}/{v}/m.safetensors", "wb").write(
        struct.pack("<Q", len(h)) + h + b"x")
PYEOF
M import "$nm/n3" names/st -t n3 -q >/dev/null
M import "$nm/n4" names/st -t n4 -q >/dev/null
expect_exit 1 M diff names/st@n3 names/st@n4
grep -qF "    cannot read as its format: \"new version: tensor 'bad\\nname' has unknown dtype 'Q4'\"" \
	"$OUT_F" && ok "a parser's reason is quoted when it names a bad name" ||
	{ fail "parser reason quoted"; cat -A "$OUT_F"; }
expect_exit 0 M ls names/q@n2
[ "$(cat "$OUT_F")" = $'"bad\\nname.txt"\nkeep.txt\n"sub\\tdir/"' ] &&
	ok "ls quotes names, a directory's / inside the quotes" ||
	{ fail "ls quotes names"; cat -A "$OUT_F"; }
expect_exit 0 M ls -l -R names/q@n2
grep -q ' "sub\\tdir/q\\"uote\\\\d"$' "$OUT_F" && ok "ls -l -R quotes names" ||
	{ fail "ls -l -R quotes names"; cat -A "$OUT_F"; }
expect_exit 0 M ls --json names/q@n2
"$PY" - "$OUT_F" <<'PYEOF' && ok "ls --json keeps names exact" || fail "ls --json keeps names exact"
import json, sys
d = json.load(open(sys.argv[1]))
assert [e["path"] for e in d] == ["bad\nname.txt", "keep.txt", "sub\tdir"], d
PYEOF

summary
