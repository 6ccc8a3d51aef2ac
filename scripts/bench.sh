#!/usr/bin/env bash
# Times the workloads through the core, each in its own process (so peak RSS
# is per workload): ../shared/bench/README.md's mlp, conv and langevin and
# this repository's hvae and xlangevin. Then, when Debian's python3-torch is
# installed, the PyTorch reference script right after, and bench/twins.py's
# twins of hvae and xlangevin, each checked against our weights, inputs and
# outputs before it is timed (a twin that does not compute what ours does
# stops the benchmark). Prints ours/PyTorch median ratios and each
# workload's arithmetic rate against the machine's peak.
# Usage: scripts/bench.sh BIN OUTDIR
set -euo pipefail
bin=$1
out=$2
ref=${TORCH_REF:-../shared/bench/torch_ref.py}
twins=$(dirname "$0")/../bench/twins.py
mkdir -p "$out"
ours=$out/bench-go.jsonl
torch=$out/bench-torch.jsonl
peak=$out/peak.json
: >"$ours"
for w in mlp conv langevin hvae xlangevin; do
	"$bin" bench "$w" | tee -a "$ours"
done
"$bin" bench peak | tee "$peak"
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null && command -v apt-get >/dev/null; then
	echo "installing python3-torch (Debian's PyTorch, the reference the ratios are against)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch >/dev/null || true
fi
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	/usr/bin/python3 "$ref" all --threads 2 | tee "$torch"
	"$bin" bench --export "$out/twins" hvae xlangevin
	/usr/bin/python3 "$twins" check "$out/twins"
	/usr/bin/python3 "$twins" time all --threads 2 | tee -a "$torch"
	/usr/bin/python3 - "$ours" "$torch" "$peak" <<'PY'
import json, sys
load = lambda p: {r["workload"]: r for r in map(json.loads, open(p))}
ours, ref = load(sys.argv[1]), load(sys.argv[2])
peak = json.load(open(sys.argv[3]))
print(f"peak: {peak['cores']} cores × {peak['cpu_mhz']:.0f} MHz × {peak['flop_per_cycle_per_core']} FLOP/cycle = "
      f"{peak['nominal_gflops']:.1f} GFLOP/s nominal; SGEMM (a 1024³ product per core) {peak['sgemm_gflops']:.1f} GFLOP/s")
for w, r in ours.items():
    if w in ref:
        print(f"{w:9s} ours {r['median_ms']:9.1f} ms  pytorch {ref[w]['median_ms']:9.1f} ms  "
              f"ratio {r['median_ms'] / ref[w]['median_ms']:.3f}  peak RSS {r['peak_rss_mib']:.0f} MiB  "
              f"Go alloc/step {r['go_alloc_mib_per_step']:.3f} MiB  "
              f"{r['gflops']:.0f} GFLOP/s ({100 * r['gflops'] / peak['nominal_gflops']:.0f}% of nominal)")
PY
else
	echo "no PyTorch reference (install python3-torch and keep $ref) — ours only" >&2
fi
