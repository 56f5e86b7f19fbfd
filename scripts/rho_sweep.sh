#!/usr/bin/env bash
# One trained adapter, budgets chosen at inference: score finished runs again at several ρ with `evaluate`
# (no retraining) and print mean ± sd over the runs of dev accuracy, realised pairs per token (mean token rank)
# and adapter + controller FLOPs per sequence.
#
#   scripts/rho_sweep.sh MODEL_DIR DATA_DIR "2 4 8 16" runs/minilm-seeds/tabs-seed*
#
# MODEL_DIR and DATA_DIR are the checkpoint and the data the runs used (runs written before run.json need them;
# they are passed always). Each score goes to RUN/scores/rho<ρ>.json.
set -euo pipefail
model="$1"; data="$2"; rhos="$3"; shift 3
cargo build -q --release --example evaluate
bin="${CARGO_TARGET_DIR:-target}/release/examples/evaluate"
for run in "$@"; do
  for rho in $rhos; do
    "$bin" --run "$run" --model "$model" --data "$data" --split dev --rho "$rho" --out "$run/scores/rho$rho.json" > /dev/null
  done
done
python3 - "$rhos" "$@" <<'PY'
import json, statistics, sys
rhos, runs = sys.argv[1].split(), sys.argv[2:]
def ms(v):
    return f"{statistics.mean(v):.4g} ± {statistics.stdev(v):.2g}" if len(v) > 1 else f"{v[0]:.4g}"
print(f"| ρ | dev accuracy ({len(runs)} runs) | mean token rank | adapter + controller MFLOPs / sequence | violations |")
print("|---|---|---|---|---|")
for rho in rhos:
    r = [json.load(open(f"{run}/scores/rho{rho}.json")) for run in runs]
    acc = [x["metrics"]["dev"]["accuracy"] for x in r]
    rank = [statistics.mean(x["budget"]["mean_rank_per_layer"]) for x in r]
    flops = [x["flops"]["adapter_and_controller"]["mean"] / 1e6 for x in r]
    viol = sum(x["budget"]["violations"] for x in r)
    print(f"| {rho} | {ms(acc)} | {ms(rank)} | {ms(flops)} | {viol} |")
PY
