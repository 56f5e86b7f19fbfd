#!/usr/bin/env python3
"""peft interoperability references (issue 14.3) for `tests/it/peft.rs`, and a by-hand check of our exports.

Default mode: wraps the two tiny committed checkpoints — the demo DeBERTa-v3 (`tests/fixtures/demo/model`) and the
tiny BERT (`tabs-bert/tests/fixtures/bert/model_bin`) — in peft LoRA adapters (task_type SEQ_CLS, r = 4), sets every
LoRA A, B and every head to non-zero random values, saves each adapter with `save_pretrained` under
`tests/fixtures/peft/<name>/` (`adapter_config.json`, `adapter_model.safetensors`) and peft's logits on a padded
batch of 3 sequences of different lengths into `<name>/reference.json` (input_ids, attention_mask, token_type_ids,
logits, base). Adapters:

- `deberta-lora`: the six maps of every layer as a list (`DEFAULT_TARGETS`), α = 8, heads `classifier` + `pooler`
  in `modules_to_save`, 3 labels;
- `deberta-rslora`: `use_rslora` (scaling α/√r), `target_modules` as a regular expression (query_proj, value_proj,
  intermediate.dense), α = 6, 2 labels;
- `bert-lora`: BERT's six maps, α = 8, `modules_to_save` unset (peft adds the classifier; the pooler stays the
  base checkpoint's), 2 labels.

`--check-export DIR --model BASE --logits FILE` (run by hand): loads DIR/peft (our `export --format peft`) with
`PeftModel.from_pretrained` on BASE, and DIR/merged (our `export --format merged`) with
`AutoModelForSequenceClassification.from_pretrained`, runs both on FILE's batch (a run's `logits.json`: input_ids,
attention_mask, token_type_ids, logits = ours) and prints the largest absolute differences to our logits.

Needs torch, transformers, peft, safetensors (not needed by CI: the outputs are committed).
"""

import argparse
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBERTA = os.path.join(ROOT, "tests/fixtures/demo/model")
BERT = os.path.join(ROOT, "tabs-bert/tests/fixtures/bert/model_bin")
OUT = os.path.join(ROOT, "tests/fixtures/peft")

DEBERTA_TARGETS = ["query_proj", "key_proj", "value_proj", "attention.output.dense", "intermediate.dense", "output.dense"]
BERT_TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def batch(vocab, types):
    """3 sequences of lengths 7, 5, 3 padded with 0 (CLS = 1, SEP = 2)."""
    g = torch.Generator().manual_seed(7)
    ids, mask, tt = [], [], []
    for n in (7, 5, 3):
        body = torch.randint(3, vocab, (n - 2,), generator=g).tolist()
        row = [1] + body + [2]
        ids.append(row + [0] * (7 - n))
        mask.append([1] * n + [0] * (7 - n))
        # Second segment (type 1) on the last two real tokens when the model has token types.
        tt.append(([0] * (n - 2) + [1, 1] if types > 1 else [0] * n) + [0] * (7 - n))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}


def logits_of(model, b):
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(b["input_ids"]),
            attention_mask=torch.tensor(b["attention_mask"]),
            token_type_ids=torch.tensor(b["token_type_ids"]),
        )
    return out.logits.tolist()


def make(name, base, num_labels, config, seed):
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels)
    model = get_peft_model(model, config)
    # Non-zero A, B everywhere (peft initialises B = 0) and random heads (the modules_to_save copies).
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_" in n or "modules_to_save" in n:
                p.copy_(torch.randn_like(p) * 0.3)
    model.eval()
    out = os.path.join(OUT, name)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    cfg = model.base_model.model.config
    b = batch(cfg.vocab_size, getattr(cfg, "type_vocab_size", 0))
    b["logits"] = logits_of(model, b)
    b["base"] = os.path.relpath(base, ROOT)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(b, f)
    # The base folder relative to the repository (save_pretrained records the absolute path).
    path = os.path.join(out, "adapter_config.json")
    with open(path) as f:
        written = json.load(f)
    written["base_model_name_or_path"] = os.path.relpath(base, ROOT)
    with open(path, "w") as f:
        json.dump(written, f, indent=2, sort_keys=True)
    # Delete what save_pretrained writes besides the adapter (a README model card).
    readme = os.path.join(out, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    print(name, "->", out, sorted(os.listdir(out)))


def reference():
    common = dict(task_type="SEQ_CLS", r=4, lora_dropout=0.0)
    make(
        "deberta-lora",
        DEBERTA,
        3,
        LoraConfig(lora_alpha=8, target_modules=DEBERTA_TARGETS, modules_to_save=["classifier", "pooler"], **common),
        1,
    )
    make(
        "deberta-rslora",
        DEBERTA,
        2,
        LoraConfig(
            lora_alpha=6,
            use_rslora=True,
            target_modules=r".*\.(query_proj|value_proj|intermediate\.dense)",
            modules_to_save=["classifier", "pooler"],
            **common,
        ),
        2,
    )
    make("bert-lora", BERT, 2, LoraConfig(lora_alpha=8, target_modules=BERT_TARGETS, **common), 3)


def check_export(folder, base, logits_file):
    with open(logits_file) as f:
        ours = json.load(f)
    want = torch.tensor(ours["logits"])
    n = want.shape[1]
    worst = 0.0
    peft_dir = os.path.join(folder, "peft")
    if os.path.isdir(peft_dir):
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=n)
        model = PeftModel.from_pretrained(model, peft_dir).eval()
        got = torch.tensor(logits_of(model, ours))
        d = (got - want).abs().max().item()
        worst = max(worst, d)
        print(f"peft   {peft_dir}: max |peft logits - ours| = {d:.3e}")
    merged_dir = os.path.join(folder, "merged")
    if os.path.isdir(merged_dir):
        model = AutoModelForSequenceClassification.from_pretrained(merged_dir).eval()
        got = torch.tensor(logits_of(model, ours))
        d = (got - want).abs().max().item()
        worst = max(worst, d)
        print(f"merged {merged_dir}: max |transformers logits - ours| = {d:.3e}")
    if worst > 1e-4:
        sys.exit(f"difference {worst:.3e} above 1e-4")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check-export", metavar="DIR", help="DIR/peft and/or DIR/merged, written by `export`")
    ap.add_argument("--model", metavar="BASE", help="the base checkpoint folder (with --check-export)")
    ap.add_argument("--logits", metavar="FILE", help="our logits (a run's logits.json, with --check-export)")
    a = ap.parse_args()
    if a.check_export:
        if not (a.model and a.logits):
            ap.error("--check-export needs --model and --logits")
        check_export(a.check_export, a.model, a.logits)
    else:
        reference()


if __name__ == "__main__":
    main()
