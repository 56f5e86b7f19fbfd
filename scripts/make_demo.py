#!/usr/bin/env python3
"""Generate the built-in GLUE demo of `cargo run --release --example glue` (no downloads needed at run time).

Writes tests/fixtures/demo/:
- SST-2/{train,dev}.tsv — a small SST-2-format sentiment task that needs context: the label of
  "the film was (not) <adjective> ..." flips with "not", so single words do not decide it;
- model/{config.json, model.safetensors, tokenizer.json} — a tiny random DeBERTa-v3-style encoder (2 layers,
  hidden 32, log buckets) and a word-level tokenizer.json over the task's vocabulary with DeBERTa's special tokens
  and post-processor, so the demo tokenises real text with the real tokenizer code path.

Needs PyPI torch, transformers, tokenizers (not CI):  python3 scripts/make_demo.py
"""
import json
import os
import random

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "demo")
rng = random.Random(7)
POS = ["good", "great", "wonderful", "moving", "funny", "brilliant", "charming", "fresh"]
NEG = ["bad", "awful", "boring", "dull", "clumsy", "tedious", "weak", "stale"]
SUBJ = ["the film", "this movie", "the story", "the acting", "the ending", "the script", "the music", "the cast"]
FILL = ["really", "quite", "truly", "honestly", "simply", "rather"]
TAIL = ["overall", "to me", "in the end", "for most of it", "at times", "from start to finish"]


def sentence():
    neg = rng.random() < 0.5
    positive = rng.random() < 0.5
    adj = rng.choice(POS if positive else NEG)
    words = [rng.choice(SUBJ), "was"]
    if neg:
        words.append("not")
    if rng.random() < 0.5:
        words.append(rng.choice(FILL))
    words.append(adj)
    if rng.random() < 0.6:
        words.append(rng.choice(TAIL))
    label = int(positive != neg)
    return " ".join(words), label


def main():
    os.makedirs(os.path.join(ROOT, "SST-2"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "model"), exist_ok=True)
    seen = set()
    rows = []
    while len(rows) < 1400:
        s, y = sentence()
        if s not in seen:
            seen.add(s)
            rows.append((s, y))
    for name, part in [("train", rows[:1200]), ("dev", rows[1200:])]:
        with open(os.path.join(ROOT, "SST-2", f"{name}.tsv"), "w") as f:
            f.write("sentence\tlabel\n")
            for s, y in part:
                f.write(f"{s}\t{y}\n")
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"] + sorted({w for s, _ in rows for w in s.split()}) + ["[MASK]"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    tok.add_special_tokens(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"])
    tok.save(os.path.join(ROOT, "model", "tokenizer.json"))
    raw = dict(model_type="deberta-v2", vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
               num_attention_heads=4, intermediate_size=64, hidden_act="gelu", hidden_dropout_prob=0.1,
               attention_probs_dropout_prob=0.1, max_position_embeddings=64, relative_attention=True,
               position_buckets=16, max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
               pos_att_type="p2c|c2p", layer_norm_eps=1e-7, position_biased_input=False, type_vocab_size=0,
               initializer_range=0.2, pad_token_id=0, num_labels=2)
    torch.manual_seed(0)
    model = DebertaV2ForSequenceClassification(DebertaV2Config(**{k: v for k, v in raw.items() if k != "model_type"}))
    from safetensors.torch import save_file
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith(("pooler", "classifier"))}
    save_file(state, os.path.join(ROOT, "model", "model.safetensors"))
    with open(os.path.join(ROOT, "model", "config.json"), "w") as f:
        json.dump(raw, f, indent=2)
    print(f"vocab {len(vocab)}, train 1200, dev 200")


if __name__ == "__main__":
    main()
