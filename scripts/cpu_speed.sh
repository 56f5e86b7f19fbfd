#!/usr/bin/env bash
# Ours vs PyTorch on this CPU, one after the other (never concurrently), 2 threads each:
#  1. the frozen base-size DeBERTa-v3 forward, batch 1, at LENGTHS (deberta-speed / scripts/torch_deberta_speed.py);
#  2. one fine-tuning step, batch 8 x 128 tokens (tabs-bench train-step / scripts/torch_train_step.py).
# Writes OUT/forward-ours.jsonl, OUT/forward-peer.jsonl, OUT/train-step-peer.jsonl and OUT/train-step/ (JSON + CSV
# with the ratios). Needs the release binaries and python3 with torch, transformers and peft.
#
#   cargo build --release -p tabs-bench -p tabs-deberta --bin tabs-bench --example deberta-speed
#   scripts/cpu_speed.sh tabs-bench/results/cpu-speed [LENGTHS] [FORWARD_ITERS] [STEPS]
set -euo pipefail
out=${1:?usage: scripts/cpu_speed.sh OUT [LENGTHS] [FORWARD_ITERS] [STEPS]}
lengths=${2:-128,512,1024,2048}
iters=${3:-3}
steps=${4:-3}
python=${PYTHON:-python3}
target=${CARGO_TARGET_DIR:-target}/release
mkdir -p "$out"
# PyTorch spins its OpenMP threads by default, which on a loaded 2-core machine distorts its timings.
export OMP_WAIT_POLICY=PASSIVE
echo "== forward, ours" >&2
"$target/examples/deberta-speed" --lengths "$lengths" --iters "$iters" | tee "$out/forward-ours.jsonl"
echo "== forward, PyTorch" >&2
"$python" scripts/torch_deberta_speed.py --lengths "$lengths" --iters "$iters" --threads 2 | tee "$out/forward-peer.jsonl"
echo "== train step, PyTorch" >&2
"$python" scripts/torch_train_step.py --length 128 --batch-size 8 --steps "$steps" --warmup 1 --threads 2 \
  | tee "$out/train-step-peer.jsonl"
echo "== train step, ours" >&2
"$target/tabs-bench" train-step --methods lora,tabs,full --length 128 --batch-size 8 --steps "$steps" --warmup 1 \
  --peer "$out/train-step-peer.jsonl" --out "$out/train-step"
cat /proc/loadavg >&2
