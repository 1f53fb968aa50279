#!/bin/bash
# safetensors_split.sh - safetensors files are cut at the header's end and
# at tensor boundaries: a second version with a longer header and one
# rewritten tensor stores only the header chunk and that tensor's chunk
# (tensors of 16 KiB, the default min: one chunk each), a 3 MiB tensor
# behind the grown header dedups whole, exports
# are byte-identical, and a file that only looks like safetensors (a
# lying header) imports and exports like any other.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

S=$(new_store) || exit 1
W=$(mktmp)
mkdir -p "$W/v1" "$W/v2" "$W/odd"

# mkst FILE PAD CHANGED: tensors t0..t5 of 16 KiB, a 4 KiB norm, big of
# 3 MiB; __metadata__ padded with PAD bytes; tensor
# CHANGED (a name, or -) gets other bytes.
mkst() {
	"$PY" - "$@" <<'PYEOF'
import json, random, struct, sys
path, pad, changed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ts = [("t%d" % i, 16 * 1024) for i in range(6)]
ts += [("norm", 4096), ("big", 3 << 20)]
hdr, off = {"__metadata__": {"pad": "x" * pad}}, 0
for n, ln in ts:
    hdr[n] = {"dtype": "U8", "shape": [ln], "data_offsets": [off, off + ln]}
    off += ln
hj = json.dumps(hdr, separators=(",", ":")).encode()
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(hj)) + hj)
    for n, ln in ts:
        f.write(random.Random(n + ("*" if n == changed else "")).randbytes(ln))
PYEOF
}

mkst "$W/v1/m.safetensors" 10 - || { fail "generating v1"; summary; }
mkst "$W/v2/m.safetensors" 5000 t3 || { fail "generating v2"; summary; }
h1=$("$PY" -c 'import struct,sys; print(8 + struct.unpack("<Q", open(sys.argv[1],"rb").read(8))[0])' "$W/v1/m.safetensors")
h2=$("$PY" -c 'import struct,sys; print(8 + struct.unpack("<Q", open(sys.argv[1],"rb").read(8))[0])' "$W/v2/m.safetensors")
[ "$h2" -gt "$h1" ] && ok "v2's header is longer ($h1 -> $h2 bytes)" ||
	fail "v2's header is not longer ($h1 -> $h2)"

field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT_F" "$1"; }

expect_exit 0 "$MLFS" import --store "$S" "$W/v1" st/model -t v1 -q --json
# 6 tensors + the norm: 1 chunk each; the header: 1; big: many.
n1=$(field chunks)
[ "$n1" -gt 9 ] && ok "v1: $n1 chunks" || fail "v1: $n1 chunks, want > 9"
expect_exit 0 "$MLFS" import --store "$S" "$W/v2" st/model -q --json
nc=$(field new_chunks)
nr=$(field new_raw_bytes)
[ "$nc" = 2 ] && ok "v2: 2 new chunks (the header and t3)" ||
	fail "v2: $nc new chunks, want 2 (the header and t3)"
want=$((h2 + 16 * 1024))
[ "$nr" = "$want" ] && ok "v2: new raw bytes = header + t3 ($want)" ||
	fail "v2: new raw bytes $nr, want $want (header $h2 + t3 16384)"

expect_exit 0 "$MLFS" export --store "$S" st/model "$W/out2"
cmp -s "$W/out2/m.safetensors" "$W/v2/m.safetensors" &&
	ok "export of v2 is byte-identical" || fail "export of v2 differs"
expect_exit 0 "$MLFS" export --store "$S" st/model@v1 "$W/out1"
cmp -s "$W/out1/m.safetensors" "$W/v1/m.safetensors" &&
	ok "export of v1 is byte-identical" || fail "export of v1 differs"

# A lying header (a tensor past the end of the file): FastCDC, no error.
"$PY" - "$W/odd/x.safetensors" <<'PYEOF'
import random, struct, sys
hj = b'{"a":{"dtype":"U8","shape":[999999999],"data_offsets":[0,999999999]}}'
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(hj)) + hj + random.Random(1).randbytes(1 << 20))
PYEOF
expect_exit 0 "$MLFS" import --store "$S" "$W/odd" st/odd -q
expect_exit 0 "$MLFS" export --store "$S" st/odd "$W/out3"
cmp -s "$W/out3/x.safetensors" "$W/odd/x.safetensors" &&
	ok "a lying safetensors header imports and exports byte-identical" ||
	fail "a lying safetensors header: export differs"

summary
