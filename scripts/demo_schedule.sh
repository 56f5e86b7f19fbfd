#!/usr/bin/env bash
# How the demo's defaults were chosen: the built-in demo (tiny random DeBERTa, the "not"-flips-the-label task,
# R = 8, ρ = 4) trained with and without the gates' schedule, several seeds each, plus the ungated `spectral`
# ceiling, BHSP and tabs-shared. Writes runs/demo-schedule/<variant>-seed<N>/ and appends to
# results/demo-schedule/summary.csv (variant, method, seed, epochs, dev accuracy, violations, mean rank per layer,
# wall seconds; the committed w20/w40 rows were timed with a test-profile build, the others with release, all on a
# machine shared with other runs). w20 is the default schedule (gate warm-up 20 %, annealing 30 %).
#
#   scripts/demo_schedule.sh                     # every variant, seeds 1 2 3, 24 epochs
#   SEEDS="1 2 3 4 5" VARIANTS="w20 no-schedule" EPOCHS=16 scripts/demo_schedule.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-1 2 3}"
EPOCHS="${EPOCHS:-24}"
VARIANTS="${VARIANTS:-w20 w40 no-schedule spectral bhsp tabs-shared}"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/examples/glue}"
[ -x "$BIN" ] || cargo build -q --release --example glue
OUT=runs/demo-schedule
mkdir -p "$OUT"
SUMMARY=results/demo-schedule/summary.csv
mkdir -p "$(dirname "$SUMMARY")"
[ -f "$SUMMARY" ] || echo "variant,method,seed,epochs,dev_accuracy,violations,mean_rank_per_layer,seconds" > "$SUMMARY"
for v in $VARIANTS; do
  case "$v" in
    default) args=(--method tabs) ;;
    no-schedule) args=(--method tabs --gate-warmup-ratio 0 --anneal-ratio 0) ;;
    warmup-only) args=(--method tabs --anneal-ratio 0) ;;
    anneal-only) args=(--method tabs --gate-warmup-ratio 0) ;;
    gate-lr-x3) args=(--method tabs --gate-lr 9e-3) ;;
    w20) args=(--method tabs --gate-warmup-ratio 0.2 --anneal-ratio 0.3) ;;
    w40) args=(--method tabs --gate-warmup-ratio 0.4 --anneal-ratio 0.3) ;;
    w40-bhsp) args=(--method bhsp --gate-warmup-ratio 0.4 --anneal-ratio 0.3) ;;
    w40-tabs-shared) args=(--method tabs-shared --gate-warmup-ratio 0.4 --anneal-ratio 0.3) ;;
    spectral) args=(--method spectral) ;;
    lora) args=(--method lora) ;;
    *) args=(--method "$v") ;;
  esac
  for seed in $SEEDS; do
    dir="$OUT/$v-seed$seed"
    start=$(date +%s.%N)
    "$BIN" "${args[@]}" ${EPOCHS:+--epochs "$EPOCHS"} --seed "$seed" --latency-samples 10 --out "$dir" > "$dir.log" 2>&1
    secs=$(python3 -c "import time; print(round(time.time() - $start, 1))")
    python3 - "$dir" "$v" "$seed" "$secs" "${EPOCHS:-default}" >> "$SUMMARY" <<'PY'
import json, sys
d, v, seed, secs, epochs = sys.argv[1:6]
r = json.load(open(f"{d}/results.json"))
b = r.get("budget") or {}
ranks = " ".join(f"{x:.2f}" for x in b.get("mean_rank_per_layer", []))
print(f"{v},{r['method']},{seed},{epochs},{r['metrics']['dev']['accuracy']:.4f},{b.get('violations', '')},{ranks},{secs}")
PY
    tail -n 1 "$SUMMARY"
  done
done
