#!/usr/bin/env python3
"""PyTorch peer of `cargo run --release -p tabs-deberta --example deberta-speed`: a base-size DeBERTa-v3
(random init, eval, batch 1) forward at the same lengths, with torch.set_num_threads(THREADS) (default 2).
Prints one JSON line per length.

    python3 scripts/torch_deberta_speed.py --lengths 128,512 --iters 5 --threads 2 [--device cuda]

On `--device cuda` each pass is timed to completion (torch.cuda.synchronize), as ours is (a host read).
"""
import argparse
import json
import time

import torch
from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

p = argparse.ArgumentParser()
p.add_argument("--lengths", default="128,512")
p.add_argument("--iters", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cpu")
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()

cfg = DebertaV2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                      relative_attention=True, position_buckets=256, norm_rel_ebd="layer_norm", share_att_key=True,
                      pos_att_type="p2c|c2p", layer_norm_eps=1e-7, max_relative_positions=-1,
                      position_biased_input=False, vocab_size=128100, type_vocab_size=0)
model = DebertaV2ForSequenceClassification(cfg).eval().to(dev)
for t in [int(x) for x in a.lengths.split(",")]:
    ids = torch.tensor([[4 + (i * 7919) % 128000 for i in range(t)]], device=dev)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)
        sync()
        times = []
        for _ in range(a.iters):
            s = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
            sync()
            times.append(time.perf_counter() - s)
    times.sort()
    print(json.dumps({"impl": f"torch-{torch.__version__}", "device": a.device, "threads": a.threads, "length": t,
                      "mean_s": round(sum(times) / len(times), 4), "min_s": round(times[0], 4),
                      "median_s": round(times[len(times) // 2], 4), "iters": len(times)}))
