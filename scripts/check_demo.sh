#!/usr/bin/env bash
# The demo's promise, checked: `cargo run --release --example glue` with no flags (TABS at ρ = 4 of R = 8, default
# gate schedule, 24 epochs) must reach ≥ 90 % dev accuracy with 0 budget violations. Too slow for `cargo test`
# (30–60 s in release, more in the test profile), so it is this script: exit status 1 when the promise fails.
#
#   scripts/check_demo.sh [SEED ...]        # default: the demo's own seed (42)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example glue
BIN="${CARGO_TARGET_DIR:-target}/release/examples/glue"
status=0
mkdir -p runs
for seed in "${@:-42}"; do
  out="runs/check-demo-seed$seed"
  start=$(date +%s)
  "$BIN" --seed "$seed" --out "$out" > "$out.log" 2>&1 || { echo "seed $seed: the demo failed (see $out.log)"; status=1; continue; }
  python3 - "$out/results.json" "$seed" "$(( $(date +%s) - start ))" <<'PY' || status=1
import json, sys
r = json.load(open(sys.argv[1]))
acc, b = r["metrics"]["dev"]["accuracy"], r["budget"]
ok = acc >= 0.90 and b["violations"] == 0
print(f"seed {sys.argv[2]}: dev accuracy {100 * acc:.1f} %, {b['violations']} violations of {b['groups']}, "
      f"{sys.argv[3]} s: {'ok' if ok else 'FAILED (need >= 90 % and 0 violations)'}")
sys.exit(0 if ok else 1)
PY
done
exit $status
