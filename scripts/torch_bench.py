#!/usr/bin/env python3
"""PyTorch peer of `tabs-bench latency`: the same shapes through PyTorch + transformers (+ peft LoRA).

Rows (same names as tabs-bench): `frozen` (the base model), `lora-unmerged` (peft LoRA r=8, alpha=16 on
query_proj, key_proj, value_proj, attention.output.dense, intermediate.dense, output.dense) and `lora-merged`
(the same after `merge_and_unload()`). Model: base-size random-init DeBERTa-v3 (768/12/12/3072, vocab 128100,
position buckets 256, p2c|c2p), eval mode, `torch.inference_mode()`, `torch.set_num_threads(--threads)`.

Protocol (identical to tabs-bench): per (row, length) `--warmup` untimed passes, then
n = max(min_iters, iters*256 // max(T, 256)) timed passes of a [batch, T] input; per-sequence time = pass / batch;
the mix times each of `--mix` stratified log-normal quantile lengths (median 48, sigma 0.7, clipped to
[8, mix_max]) once at batch 1. Summary: mean, nearest-rank p50/p99, max, min (ms).

    python3 scripts/torch_bench.py --lengths 64,128,256,512,1024 --out tabs-bench/results/peer.json

Writes JSON {implementation, threads, command, rows: [{method, shape, length, mean_length, batch, ms, note}]},
the format `tabs-bench latency --peer FILE` reads.
"""
import os

# On a shared machine OpenMP's default spin-waiting makes a 2-thread torch stall whenever another process holds a
# core (measured here: 3.3 s instead of 0.5 s per T = 128 pass); passive waiting is what burn's rayon pool does.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import math
import statistics
import sys
import time

import torch
import transformers
from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

TARGETS = ["query_proj", "key_proj", "value_proj", "attention.output.dense", "intermediate.dense", "output.dense"]


def summary(xs):
    s = sorted(xs)
    n = len(s)

    def pct(q):
        k = min(max(math.ceil(q * n), 1), n)
        return s[k - 1]

    return {"n": n, "mean": sum(s) / n, "p50": pct(0.5), "p99": pct(0.99), "max": s[-1], "min": s[0]}


def glue_mix(n, max_len):
    nd = statistics.NormalDist()
    out = []
    for i in range(n):
        x = math.exp(math.log(48.0) + 0.7 * nd.inv_cdf((i + 0.5) / n))
        out.append(min(max(int(math.floor(x + 0.5)), min(8, max_len)), max_len))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--methods", default="frozen,lora-unmerged,lora-merged")
    p.add_argument("--lengths", default="64,128,256,512,1024,2048,4096")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--min-iters", type=int, default=3)
    p.add_argument("--mix", type=int, default=50)
    p.add_argument("--mix-max", type=int, default=512)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="bench-results/peer/peer.json")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    cfg = DebertaV2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                          relative_attention=True, position_buckets=256, norm_rel_ebd="layer_norm",
                          share_att_key=True, pos_att_type="p2c|c2p", layer_norm_eps=1e-7,
                          max_relative_positions=-1, position_biased_input=False, vocab_size=128100,
                          type_vocab_size=0, max_position_embeddings=512)
    base = DebertaV2ForSequenceClassification(cfg).eval()
    methods = a.methods.split(",")
    lengths = [int(x) for x in a.lengths.split(",") if x]
    versions = f"torch {torch.__version__} + transformers {transformers.__version__}"
    models = {}
    if "frozen" in methods:
        models["frozen"] = base
    if "lora-unmerged" in methods or "lora-merged" in methods:
        import copy

        import peft

        versions += f" + peft {peft.__version__}"
        lcfg = peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS)
        lora = peft.get_peft_model(copy.deepcopy(base), lcfg).eval()
        if "lora-unmerged" in methods:
            models["lora-unmerged"] = lora
        if "lora-merged" in methods:
            models["lora-merged"] = peft.get_peft_model(copy.deepcopy(base), lcfg).merge_and_unload().eval()
    gen = torch.Generator().manual_seed(a.seed)
    rows = []

    def ids(b, t):
        x = torch.randint(4, cfg.vocab_size, (b, t), generator=gen)
        return x, torch.ones_like(x)

    def timed(m, x, mask):
        s = time.perf_counter()
        m(input_ids=x, attention_mask=mask).logits.numpy()
        return (time.perf_counter() - s) * 1e3

    with torch.inference_mode():
        for name in methods:
            m = models[name]
            for t in lengths:
                x, mask = ids(a.batch, t)
                for _ in range(a.warmup):
                    timed(m, x, mask)
                n = max(a.iters * 256 // max(t, 256), a.min_iters)
                ms = summary([timed(m, x, mask) / a.batch for _ in range(n)])
                print(f"[torch_bench] {name} T={t} b={a.batch}: mean {ms['mean']:.1f} ms, p99 {ms['p99']:.1f} ms "
                      f"({n} passes)", file=sys.stderr, flush=True)
                rows.append({"method": name, "shape": "fixed", "length": t, "mean_length": float(t),
                             "batch": a.batch, "ms": ms, "note": None})
            if a.mix > 0:
                mix = glue_mix(a.mix, a.mix_max)
                x, mask = ids(1, mix[0])
                for _ in range(a.warmup):
                    timed(m, x, mask)
                ms = summary([timed(m, *ids(1, t)) for t in mix])
                print(f"[torch_bench] {name} mix: mean {ms['mean']:.1f} ms, p99 {ms['p99']:.1f} ms",
                      file=sys.stderr, flush=True)
                rows.append({"method": name, "shape": "mix", "length": a.mix_max,
                             "mean_length": sum(mix) / len(mix), "batch": 1, "ms": ms, "note": None})
    versions += f", OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    out = {"implementation": versions, "threads": torch.get_num_threads(),
           "command": " ".join([os.path.basename(sys.executable)] + sys.argv), "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + f".tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
