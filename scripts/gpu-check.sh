#!/usr/bin/env bash
# The GPU check: one short run that answers what only a CUDA GPU can, prepared so that it fits machines with no
# package registry that receive a copied working tree of at most 64 MiB.
#
#   scripts/gpu-check.sh build            # on a Linux x86-64 machine with cargo (no GPU needed): release binaries
#                                         # with --features cuda, stripped and packed into gpu-check/bin.tar.xz
#                                         # (ignored by git)
#   scripts/gpu-check.sh run OUT [--dry-run]
#                                         # on the GPU machine, from a copy of the checkout with gpu-check/: unpacks the binaries into a temporary folder and runs, each step
#                                         # with its own time limit (about 8 minutes in all on one H200):
#     1. nvidia-smi;
#     2. the portable tests (tests/portable.rs) on CUDA: the library on CUDA equals the CPU backend;
#     3. the glue demo on CUDA and on the CPU: accuracy and wall time of each;
#     4. the frozen base-size DeBERTa-v3 forward at 128 / 512 / 2048 tokens, ours (deberta-speed) and PyTorch's
#        (scripts/torch_deberta_speed.py) on the same GPU;
#     5. tabs-bench latency, dense-masked against gathered TABS (and the frozen model) at 512 and 4096 tokens:
#        does skipping pay on a GPU?
#     6. tabs-bench train-step on CUDA: LoRA and TABS steps of a randomly initialised base-size DeBERTa-v3
#        (batch 8 x 128), with PyTorch + peft LoRA on the same GPU as the peer (ratios).
#   Everything lands in OUT: gpu-check.json (every step's figures, exit status and milliseconds), gpu-check.log (all
#   output) and gpu-check.tar.gz (every file the steps wrote). A failing step is recorded and the next one runs.
#   PyTorch steps run when `python3 -c "import torch, transformers, peft"` works there, else they are skipped
#   (and recorded as such). --dry-run (for a machine without a GPU): checks the binaries, runs the CPU half of
#   step 3 and prints each CUDA command instead of running it.
#
# Copy the whole checkout (its fixtures are read) with gpu-check/ to the GPU machine, or mount it there.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
pack=gpu-check/bin.tar.xz

build() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
  local rel="$CARGO_TARGET_DIR/release"
  echo "== cargo build --release --features cuda (glue, deberta-speed, tabs-bench, the portable tests)" >&2
  cargo build --release --workspace --features "cuda tabs-bench/cuda tabs-deberta/cuda" \
    --example glue --example deberta-speed --bin tabs-bench
  local portable
  portable=$(cargo test --release --features cuda --test portable --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*portable[^"]*\)".*/\1/p' | tail -n1)
  [ -x "$portable" ] || { echo "gpu-check build: no portable test binary found" >&2; exit 1; }
  local stage
  stage=$(mktemp -d)
  cp "$rel/examples/glue" "$rel/examples/deberta-speed" "$rel/tabs-bench" "$stage/"
  cp "$portable" "$stage/portable"
  strip "$stage"/* 2>/dev/null || echo "gpu-check build: strip not found, packing unstripped binaries" >&2
  mkdir -p gpu-check
  echo "$here" >gpu-check/root
  tar -C "$stage" -cJf "$pack.tmp" glue deberta-speed tabs-bench portable
  mv "$pack.tmp" "$pack"
  rm -rf "$stage"
  du -h "$pack" >&2
  echo "gpu-check build: $pack ready; carry gpu-check and run: scripts/gpu-check.sh run OUT" >&2
}

run() {
  local out=${1:?usage: scripts/gpu-check.sh run OUT [--dry-run]}
  local dry=${2:-}
  [ -f "$pack" ] || { echo "gpu-check run: $pack is missing; run scripts/gpu-check.sh build first" >&2; exit 2; }
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  local bin work
  bin=$(mktemp -d)
  work=$(mktemp -d)
  tar -C "$bin" -xJf "$pack"
  local log="$out/gpu-check.log" steps="$work/steps.jsonl"
  : >"$log"
  : >"$steps"
  export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}" OMP_WAIT_POLICY=PASSIVE
  local torch=0
  if python3 -c "import torch, transformers, peft; assert torch.cuda.is_available()" >/dev/null 2>&1; then torch=1; fi

  # The binaries find the committed fixtures (the demo model and task) at the path they were built in; where that
  # path does not exist (another machine), it is linked to this checkout.
  local root
  root=$(cat gpu-check/root)
  if [ ! -e "$root" ]; then
    mkdir -p "$(dirname "$root")" && ln -s "$here" "$root" ||
      echo "gpu-check run: cannot link $root to $here; the glue demo and portable tests will not find their fixtures" >&2
  fi

  # step NAME LIMIT_S GPU CMD...: runs CMD (output to the log), records its exit status and seconds; GPU = 1 marks
  # a step that needs the GPU (printed, not run, with --dry-run).
  step() {
    local name=$1 limit=$2 gpu=$3
    shift 3
    echo "== $name: $*" | tee -a "$log" >&2
    if [ "$dry" = "--dry-run" ] && [ "$gpu" = 1 ]; then
      echo "   (dry run: needs the GPU, not run)" | tee -a "$log" >&2
      printf '{"step": "%s", "status": "dry-run"}\n' "$name" >>"$steps"
      return 0
    fi
    local s rc=0
    s=$(date +%s%N)
    timeout "$limit" "$@" >>"$log" 2>&1 || rc=$?
    printf '{"step": "%s", "status": %d, "ms": %d}\n' "$name" "$rc" $((($(date +%s%N) - s) / 1000000)) >>"$steps"
    [ "$rc" -eq 0 ] || echo "   -> exit status $rc (see the log)" | tee -a "$log" >&2
  }

  step gpu 20 1 nvidia-smi
  step portable 150 1 "$bin/portable" --test-threads=1
  step glue-cuda 120 1 "$bin/glue" --device cuda --out "$work/glue-cuda"
  step glue-cpu 120 0 "$bin/glue" --device cpu --out "$work/glue-cpu"
  step forward-ours 90 1 sh -c "'$bin/deberta-speed' --device cuda --lengths 128,512,2048 --iters 10 >'$work/forward-ours.jsonl'"
  if [ "$torch" = 1 ]; then
    step forward-peer 90 1 sh -c "python3 scripts/torch_deberta_speed.py --device cuda --lengths 128,512,2048 --iters 10 >'$work/forward-peer.jsonl'"
    step train-step-peer 90 1 sh -c "python3 scripts/torch_train_step.py --device cuda --methods lora --length 128 --batch-size 8 --steps 10 --warmup 2 >'$work/train-step-peer.jsonl'"
  else
    printf '{"step": "pytorch", "status": "skipped: python3 with torch, transformers, peft and a visible GPU not found"}\n' >>"$steps"
  fi
  step latency 120 1 "$bin/tabs-bench" latency --device cuda --lengths 512,4096 --methods frozen,tabs-dense,tabs-gathered \
    --iters 10 --min-iters 3 --warmup 2 --mix 0 --out "$work/latency"
  local peer=()
  [ -s "$work/train-step-peer.jsonl" ] && peer=(--peer "$work/train-step-peer.jsonl")
  step train-step 120 1 "$bin/tabs-bench" train-step --device cuda --methods lora,tabs --length 128 --batch-size 8 \
    --steps 10 --warmup 2 "${peer[@]}" --out "$work/train-step"

  (cd "$work" && tar -czf "$out/gpu-check.tar.gz" .)
  python3 - "$work" "$out/gpu-check.json" <<'EOF' || cp "$steps" "$out/gpu-check.json"
import json, pathlib, sys
work, dest = pathlib.Path(sys.argv[1]), sys.argv[2]
def lines(name):
    p = work / name
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else None
def load(name):
    p = work / name
    return json.loads(p.read_text()) if p.exists() else None
summary = {
    "steps": lines("steps.jsonl"),
    "glue_cuda": load("glue-cuda/results.json"),
    "glue_cpu": load("glue-cpu/results.json"),
    "forward_ours": lines("forward-ours.jsonl"),
    "forward_peer": lines("forward-peer.jsonl"),
    "train_step_peer": lines("train-step-peer.jsonl"),
    "latency": load("latency/latency.json"),
    "train_step": load("train-step/train-step.json"),
}
pathlib.Path(dest).write_text(json.dumps(summary, indent=1))
EOF
  rm -rf "$bin" "$work"
  echo "gpu-check: $out/gpu-check.json, $out/gpu-check.log, $out/gpu-check.tar.gz" >&2
}

case "${1:-}" in
  build) build ;;
  run) shift; run "$@" ;;
  *) echo "usage: scripts/gpu-check.sh build | run OUT [--dry-run]" >&2; exit 2 ;;
esac
