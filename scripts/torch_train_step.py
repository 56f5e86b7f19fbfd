#!/usr/bin/env python3
"""PyTorch peer of `tabs-bench train-step`: seconds per fine-tuning step (forward with dropout, cross-entropy,
backward, AdamW step) of a base-size DeBERTa-v3 (random init, the shapes of `deberta-speed` / `tabs-bench latency`)
on one fixed batch of random ids, with torch.set_num_threads(THREADS) (default 2).

- `lora`: peft LoRA, r = LORA_RANK (default 8), lora_alpha = 2r (tabs' default α), no LoRA dropout, on the six maps
  of every layer that tabs adapts (attention.self.{query,key,value}_proj, attention.output.dense,
  intermediate.dense, output.dense), with the pooler and the classifier trained (`modules_to_save`);
- `full`: every parameter trained.

Each method: WARMUP untimed steps, then STEPS timed ones. Prints one JSON line per method:
{"impl", "method", "threads", "length", "batch_size", "steps", "mean_step_s", "sd_step_s", "min_step_s"}.

    python3 scripts/torch_train_step.py --length 128 --batch-size 8 --steps 5 --threads 2 > peer-train-step.jsonl
    cargo run --release -p tabs-bench -- train-step --length 128 --batch-size 8 --steps 5 --peer peer-train-step.jsonl

Needs torch, transformers and peft (pip install torch transformers peft).
"""
import argparse
import json
import statistics
import time

import peft
import torch
from peft import LoraConfig, get_peft_model
from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

p = argparse.ArgumentParser()
p.add_argument("--methods", default="lora,full")
p.add_argument("--length", type=int, default=128)
p.add_argument("--batch-size", type=int, default=8)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--lora-rank", type=int, default=8)
p.add_argument("--lr", type=float, default=5e-4)
p.add_argument("--seed", type=int, default=42)
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
                      position_biased_input=False, vocab_size=128100, type_vocab_size=0, num_labels=2)
TARGETS = (r".*encoder\.layer\.\d+\.(attention\.self\.(query_proj|key_proj|value_proj)|attention\.output\.dense"
           r"|intermediate\.dense|output\.dense)")

g = torch.Generator().manual_seed(a.seed)
ids = torch.randint(4, cfg.vocab_size, (a.batch_size, a.length), generator=g)
mask = torch.ones_like(ids)
labels = torch.randint(0, 2, (a.batch_size,), generator=g)
ids, mask, labels = ids.to(dev), mask.to(dev), labels.to(dev)

for method in a.methods.split(","):
    torch.manual_seed(a.seed)
    model = DebertaV2ForSequenceClassification(cfg)
    if method == "lora":
        lc = LoraConfig(task_type="SEQ_CLS", r=a.lora_rank, lora_alpha=2 * a.lora_rank, lora_dropout=0.0,
                        target_modules=TARGETS, modules_to_save=["classifier", "pooler"])
        model = get_peft_model(model, lc)
    elif method != "full":
        raise SystemExit(f"--methods: unknown method {method!r} (expected lora or full)")
    model.train().to(dev)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    times = []
    for step in range(a.warmup + a.steps):
        s = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        opt.step()
        sync()
        if step >= a.warmup:
            times.append(time.perf_counter() - s)
    print(json.dumps({"impl": f"torch-{torch.__version__}+peft-{peft.__version__}", "method": method,
                      "device": a.device, "threads": a.threads, "length": a.length, "batch_size": a.batch_size, "steps": len(times),
                      "mean_step_s": round(statistics.mean(times), 4),
                      "sd_step_s": round(statistics.stdev(times), 4) if len(times) > 1 else 0.0,
                      "min_step_s": round(min(times), 4),
                      "trainable_params": sum(q.numel() for q in params)}), flush=True)
