#!/usr/bin/env bash
# Ours vs PyTorch on this CPU, one after the other (never concurrently), 2 threads each:
#  1. the frozen base-size DeBERTa-v3 forward at batch 1 (LENGTHS) and batch 4 (LENGTHS4): `tabs-bench latency`
#     and its peer scripts/torch_bench.py, same protocol (warm-up pass, then max(2, ITERS·256 / max(T, 256))
#     timed passes), combined into one table with the ratios per batch size;
#  2. one fine-tuning step, batch 8 x 128 tokens (tabs-bench train-step / scripts/torch_train_step.py).
# Writes OUT/forward-b1/ and OUT/forward-b4/ (latency.{json,csv,svg} with the peer and the ratios), the raw runs
# (OUT/ours-b{1,4}/, OUT/peer-b{1,4}.json), OUT/train-step-peer.jsonl and OUT/train-step/ (JSON + CSV with the
# ratios). Needs the release binary and python3 with torch, transformers and peft (PYTHON=... to choose one).
#
#   cargo build --release -p tabs-bench
#   scripts/cpu_speed.sh tabs-bench/results/cpu-speed [LENGTHS] [LENGTHS4] [ITERS] [STEPS]
set -euo pipefail
out=${1:?usage: scripts/cpu_speed.sh OUT [LENGTHS] [LENGTHS4] [ITERS] [STEPS]}
lengths=${2:-64,128,256,512,1024,2048,4096}
lengths4=${3:-64,128,256,512,1024}
iters=${4:-4}
steps=${5:-3}
python=${PYTHON:-python3}
bench=${CARGO_TARGET_DIR:-target}/release/tabs-bench
mkdir -p "$out"
# PyTorch spins its OpenMP threads by default, which on a loaded 2-core machine distorts its timings.
export OMP_WAIT_POLICY=PASSIVE
protocol=(--methods frozen --iters "$iters" --min-iters 2 --warmup 1 --mix 0)
for b in 1 4; do
  ls=$lengths
  [ "$b" = 4 ] && ls=$lengths4
  echo "== forward, batch $b, ours" >&2
  "$bench" latency --lengths "$ls" --batch "$b" "${protocol[@]}" --out "$out/ours-b$b"
  echo "== forward, batch $b, PyTorch" >&2
  "$python" scripts/torch_bench.py --lengths "$ls" --batch "$b" "${protocol[@]}" --threads 2 \
    --out "$out/peer-b$b.json"
  "$bench" latency --rows-from "$out/ours-b$b/latency.json" --peer "$out/peer-b$b.json" --out "$out/forward-b$b"
done
echo "== train step, PyTorch" >&2
"$python" scripts/torch_train_step.py --length 128 --batch-size 8 --steps "$steps" --warmup 1 --threads 2 \
  | tee "$out/train-step-peer.jsonl"
echo "== train step, ours" >&2
"$bench" train-step --methods lora,tabs,full --length 128 --batch-size 8 --steps "$steps" --warmup 1 \
  --peer "$out/train-step-peer.jsonl" --out "$out/train-step"
cat /proc/loadavg >&2
