#!/usr/bin/env bash
# burn-ndarray's GEMM on our shapes, one binary after the other (never concurrently), in ROUNDS alternating rounds:
#  fma      matrixmultiply with its FMA (AVX2) kernel only — what burn-ndarray gets by default. Binaries from FMA_BIN,
#           a folder holding tabs-bench, deberta-speed and matmul-probe built at commit 29418fa (before the workspace
#           enabled the AVX-512 kernel); skipped when FMA_BIN is unset. To make them:
#             git worktree add /tmp/fma 29418fa && (cd /tmp/fma && cargo build --release -p tabs-bench \
#               -p tabs-deberta --bin tabs-bench --example deberta-speed --example matmul-probe)
#  avx512   this tree: matrixmultiply with its AVX-512 kernel on CPUs that have AVX-512 (else the same as fma);
#  openblas this tree with `--features tabs/blas` (the system OpenBLAS), OPENBLAS_NUM_THREADS=1 (rayon
#           parallelises over the batch of matrices; 2 OpenBLAS threads oversubscribe the 2 cores) and, when set,
#           OPENBLAS_CORETYPE (Debian's OpenBLAS 0.3.21 takes a family-6 model-207 Xeon for a Prescott: set SkylakeX there).
# Each round runs matmul-probe (DeBERTa-base GEMMs), deberta-speed (the frozen base-size forward, batch 1, 128 and
# 512 tokens) and tabs-bench train-step (one LoRA step, batch 8 x 128). Writes OUT/runs.txt (every run's output)
# and OUT/step-<variant>-r<round>/. Keeps the builds in TARGET/gemm-ab/ (TARGET: $CARGO_TARGET_DIR or target).
# Needs libopenblas (Debian: libopenblas-dev).
#
#   FMA_BIN=/tmp/fma/target/release OPENBLAS_CORETYPE=SkylakeX scripts/gemm_ab.sh tabs-bench/results/cpu-speed/gemm 2
set -euo pipefail
out=${1:?usage: scripts/gemm_ab.sh OUT [ROUNDS]}
rounds=${2:-2}
target=${CARGO_TARGET_DIR:-target}/release
bins=${CARGO_TARGET_DIR:-target}/gemm-ab
mkdir -p "$out"
take() { # variant, release folder (cargo's layout): copy its three binaries into $bins/<variant>
  mkdir -p "$bins/$1"
  cp "$2/tabs-bench" "$2/examples/deberta-speed" "$2/examples/matmul-probe" "$bins/$1/"
}
build() { # variant, cargo flags... (OPENBLAS_BIN: a release folder built with them, taken instead of building)
  local v=$1
  shift
  if [ "$v" = openblas ] && [ -n "${OPENBLAS_BIN:-}" ]; then
    take "$v" "$OPENBLAS_BIN"
    return
  fi
  cargo build --release -q -p tabs-bench -p tabs-deberta --bin tabs-bench --example deberta-speed \
    --example matmul-probe "$@"
  take "$v" "$target"
}
variants="avx512 openblas"
if [ -n "${FMA_BIN:-}" ]; then
  take fma "$FMA_BIN"
  variants="fma $variants"
fi
build openblas --features tabs/blas
build avx512
ldd "$bins/openblas/matmul-probe" | grep -q openblas || { echo "the openblas build does not link OpenBLAS" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1
runs="$out/runs.txt"
: >"$runs"
run() { # label, variant, command...
  local label=$1 v=$2
  shift 2
  echo "== $label | $v | OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} | $*" | tee -a "$runs" >&2
  "$bins/$v/$@" 2>&1 | grep -v '^built\|^ *[0-9]*/[0-9]*' | tee -a "$runs"
}
for round in $(seq "$rounds"); do
  for v in $variants; do
    run "round $round matmul" "$v" matmul-probe
    run "round $round forward" "$v" deberta-speed --lengths 128,512 --iters 3
    run "round $round step" "$v" tabs-bench train-step --methods lora --length 128 --batch-size 8 --steps 2 \
      --warmup 1 --out "$out/step-$v-r$round"
  done
done
cat /proc/loadavg >&2
