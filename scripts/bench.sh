#!/usr/bin/env bash
# Times the reference workloads of ../shared/bench/README.md through the
# core, each in its own process (so peak RSS is per workload), then, when
# Debian's python3-torch is installed, the PyTorch reference script right
# after, and prints ours/PyTorch median ratios. Usage: scripts/bench.sh BIN OUTDIR
set -euo pipefail
bin=$1
out=$2
ref=${TORCH_REF:-../shared/bench/torch_ref.py}
mkdir -p "$out"
ours=$out/bench-go.jsonl
torch=$out/bench-torch.jsonl
: >"$ours"
for w in mlp conv langevin; do
	"$bin" bench "$w" | tee -a "$ours"
done
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	/usr/bin/python3 "$ref" all --threads 2 | tee "$torch"
	/usr/bin/python3 - "$ours" "$torch" <<'PY'
import json, sys
load = lambda p: {r["workload"]: r for r in map(json.loads, open(p))}
ours, ref = load(sys.argv[1]), load(sys.argv[2])
for w, r in ours.items():
    if w in ref:
        print(f"{w:9s} ours {r['median_ms']:9.1f} ms  pytorch {ref[w]['median_ms']:9.1f} ms  "
              f"ratio {r['median_ms'] / ref[w]['median_ms']:.2f}  peak RSS {r['peak_rss_mib']:.0f} MiB  "
              f"Go alloc/step {r['go_alloc_mib_per_step']:.3f} MiB")
PY
else
	echo "no PyTorch reference (install python3-torch and keep $ref) — ours only" >&2
fi
