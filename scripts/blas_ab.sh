#!/usr/bin/env bash
# burn-ndarray's GEMM: matrixmultiply (default) against the system OpenBLAS (`--features tabs/blas`), on our shapes,
# one binary after the other (never concurrently), in ROUNDS alternating rounds. OpenBLAS runs with 1 thread (rayon
# alone parallelises, over the batch of matrices) and with 2 (both parallelise: more threads than the 2 cores).
#  1. matmul-probe: GEMMs of DeBERTa-base shapes;
#  2. deberta-speed: the frozen base-size forward, batch 1, 128 and 512 tokens;
#  3. tabs-bench latency: the frozen forward at batch 4;
#  4. tabs-bench train-step: one LoRA step, batch 8 x 128 tokens.
# Builds both variants (release) into OUT/bin-off and OUT/bin-on, writes OUT/runs.txt (every run's output) and
# prints a summary. Needs libopenblas (Debian: libopenblas-dev).
#
#   scripts/blas_ab.sh tabs-bench/results/cpu-speed/blas [ROUNDS]
set -euo pipefail
out=${1:?usage: scripts/blas_ab.sh OUT [ROUNDS]}
rounds=${2:-2}
target=${CARGO_TARGET_DIR:-target}/release
mkdir -p "$out"
build() { # variant, cargo flags...
  local v=$1
  shift
  cargo build --release -q -p tabs-bench -p tabs-deberta --bin tabs-bench --example deberta-speed \
    --example matmul-probe "$@"
  mkdir -p "$out/bin-$v"
  cp "$target/tabs-bench" "$target/examples/deberta-speed" "$target/examples/matmul-probe" "$out/bin-$v/"
}
build off
build on --features tabs/blas
ldd "$out/bin-on/matmul-probe" | grep -q openblas || { echo "bin-on does not link OpenBLAS" >&2; exit 1; }
runs="$out/runs.txt"
: >"$runs"
run() { # label, variant, openblas threads, command...
  local label=$1 v=$2 threads=$3
  shift 3
  echo "== $label | $v | OPENBLAS_NUM_THREADS=$threads | $*" | tee -a "$runs" >&2
  OPENBLAS_NUM_THREADS=$threads "$out/bin-$v/$@" 2>&1 | grep -v '^built\|^ *[0-9]*/[0-9]*' | tee -a "$runs"
}
for round in $(seq "$rounds"); do
  for cfg in "off 1" "on 1" "on 2"; do
    set -- $cfg
    run "round $round matmul" "$1" "$2" matmul-probe
    run "round $round forward" "$1" "$2" deberta-speed --lengths 128,512 --iters 3
    run "round $round batch4" "$1" "$2" tabs-bench latency --lengths 128,512 --batch 4 --methods frozen \
      --iters 2 --min-iters 2 --warmup 1 --mix 0 --out "$out/latency-$1-$2"
    run "round $round step" "$1" "$2" tabs-bench train-step --methods lora --length 128 --batch-size 8 \
      --steps 2 --warmup 1 --out "$out/step-$1-$2"
  done
done
cat /proc/loadavg >&2
