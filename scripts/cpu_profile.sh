#!/usr/bin/env bash
# Where the CPU time goes: `perf record` (cpu-clock sampling, so it also works where hardware counters are not
# exposed, e.g. in VMs) of the release binaries, started after the model is built (-D), on
#  1. the frozen base-size DeBERTa-v3 forward, batch 1, at each of LENGTHS (deberta-speed);
#  2. the same at batch 4, 512 tokens (tabs-bench latency);
#  3. one LoRA and one TABS fine-tuning step, batch 8 x 128 tokens (tabs-bench train-step).
# For each, OUT/<name>.txt holds the flat profile (self time per symbol, top 40, all threads) and the command.
# Needs perf (Debian: linux-perf) and the release binaries:
#
#   cargo build --release -p tabs-bench -p tabs-deberta --bin tabs-bench --example deberta-speed
#   scripts/cpu_profile.sh tabs-bench/results/cpu-speed/profile [LENGTHS]
set -euo pipefail
out=${1:?usage: scripts/cpu_profile.sh OUT [LENGTHS]}
lengths=${2:-512,2048}
target=${CARGO_TARGET_DIR:-target}/release
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
profile() { # name, delay ms (model build), command...
  local name=$1 delay=$2
  shift 2
  echo "== $name: $*" >&2
  perf record -q -D "$delay" -e cpu-clock -F 499 -o "$data/$name.data" -- "$@" >"$data/$name.log" 2>&1
  {
    echo "# $*"
    echo "# perf record -D $delay -e cpu-clock -F 499; self time per symbol, all threads"
    tail -n 3 "$data/$name.log" | sed 's/^/# /'
    perf report -i "$data/$name.data" --stdio --no-children --sort symbol 2>/dev/null | grep -v '^#' |
      grep -v '^$' | awk 'NR <= 40' | sed 's/ *$//'
  } >"$out/$name.txt"
}
for t in ${lengths//,/ }; do
  profile "forward-b1-$t" 12000 "$target/examples/deberta-speed" --lengths "$t" --iters 2
done
profile forward-b4-512 12000 "$target/tabs-bench" latency --lengths 512 --batch 4 --methods frozen --iters 1 \
  --min-iters 1 --warmup 0 --mix 0 --out "$data/latency"
# The delay skips the model's random init (and, for TABS, the adapters' SVDs) and the warm-up step on this 2-core
# machine (about 20 s and 30 s); 4 timed steps follow.
for md in lora:20000 tabs:30000; do
  m=${md%%:*}
  profile "step-$m" "${md#*:}" "$target/tabs-bench" train-step --methods "$m" --length 128 --batch-size 8 \
    --steps 4 --warmup 1 --out "$data/step-$m"
done
ls "$out"
