#!/usr/bin/env python3
"""Tiny random BERT checkpoints and HuggingFace's outputs on them, for tabs-bert/tests/parity.rs.

Run with the reference venv (torch + transformers 5.x; not needed by the tests):
    python3 scripts/make_bert_reference.py

Writes tabs-bert/tests/fixtures/bert/<case>/ with config.json, weights, tokenizer.json (+ tokenizer_config.json)
and reference.safetensors (inputs and outputs), and tabs-bert/tests/fixtures/bert/tokenizer_reference.json.

Cases (2 layers, hidden 32, 4 heads, FFN 48, vocab of ~100 WordPiece tokens; every parameter perturbed so
LayerNorms, biases and the pooler matter):
  seqcls       BertForSequenceClassification (keys `bert.*`, `classifier.*`), 3 labels, model.safetensors, gelu
  model_bin    bare BertModel (keys without prefix, like all-MiniLM-L6-v2), pytorch_model.bin, gelu_new,
               layer_norm_eps 1e-7, type_vocab_size 3, no head in the checkpoint (the classifier is fresh)
  pretraining  BertForPreTraining (keys `bert.*`, `cls.predictions.*`, `cls.seq_relationship.*`), model.safetensors,
               relu, regression head (num_labels 1) initialised fresh
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    BertTokenizer,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tabs-bert", "tests", "fixtures", "bert")

WORDS = (
    "the a an is was be to of and in on at it this that not no yes good bad great movie film story "
    "actor play played plays run running ran fast slow very really quite i you he she we they "
    "love hate like liked think thought , . ! ? ' - ( )"
).split()
SUFFIXES = ["##s", "##ed", "##ing", "##ly", "##er", "##est", "##n", "##t", "##e", "##a", "##o", "##i", "##r"]
LETTERS = list("abcdefghijklmnopqrstuvwxyz")


def vocab():
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + LETTERS + ["##" + c for c in LETTERS[:10]]
    for w in WORDS + SUFFIXES:
        if w not in tokens:
            tokens.append(w)
    return {t: i for i, t in enumerate(tokens)}


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)


def batch(tok):
    """A padded batch: a pair with token types, a long single sentence, a short one (T = longest)."""
    texts = ["the movie was great", "she really liked this film, it is very good!", "bad"]
    pairs = ["i loved it", "yes", "no"]
    enc = tok(texts, pairs, padding="longest", return_tensors="pt")
    # Make the third row a single sentence (token type 0 everywhere), like a mixed batch.
    single = tok([texts[2]], return_tensors="pt")
    n = single["input_ids"].shape[1]
    enc["input_ids"][2] = 0
    enc["input_ids"][2, :n] = single["input_ids"][0]
    enc["token_type_ids"][2] = 0
    enc["attention_mask"][2] = 0
    enc["attention_mask"][2, :n] = 1
    return enc


def reference(model_cls, cfg, seed, enc):
    torch.manual_seed(seed)
    model = model_cls(cfg).eval()
    perturb(model, seed + 1)
    with torch.no_grad():
        if model_cls is BertModel:
            out = model(**enc)
            hidden, pooled, logits = out.last_hidden_state, out.pooler_output, None
        else:
            out = model(**enc, output_hidden_states=True)
            hidden = out.hidden_states[-1]
            bert = model.bert
            pooled = bert.pooler(hidden)
            logits = out.logits if model_cls is BertForSequenceClassification else None
    return model, hidden, pooled, logits


def save_case(name, model, cfg, hidden, pooled, logits, enc, fmt, tok_dir):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    cfg.save_pretrained(d)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if fmt == "safetensors":
        # Tied decoder weights would be saved twice; keep every key (clone) like a real checkpoint file has them.
        save_file({k: v.clone() for k, v in state.items()}, os.path.join(d, "model.safetensors"))
    else:
        torch.save(state, os.path.join(d, "pytorch_model.bin"))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(tok_dir, f)) as src, open(os.path.join(d, f), "w") as dst:
            dst.write(src.read())
    ref = {
        "input_ids": enc["input_ids"].to(torch.int64),
        "attention_mask": enc["attention_mask"].to(torch.int64),
        "token_type_ids": enc["token_type_ids"].to(torch.int64),
        "last_hidden_state": hidden.float().contiguous(),
        "pooler_output": pooled.float().contiguous(),
    }
    if logits is not None:
        ref["logits"] = logits.float().contiguous()
    save_file(ref, os.path.join(d, "reference.safetensors"))


def main():
    os.makedirs(ROOT, exist_ok=True)
    tok_dir = os.path.join(ROOT, "_tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    BertTokenizer(vocab=vocab()).save_pretrained(tok_dir)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    v = len(tok)
    base = dict(
        vocab_size=v,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=40,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    enc = batch(tok)

    cfg = BertConfig(**base, num_labels=3, hidden_act="gelu", architectures=["BertForSequenceClassification"])
    m, h, p, l = reference(BertForSequenceClassification, cfg, 10, enc)
    save_case("seqcls", m, cfg, h, p, l, enc, "safetensors", tok_dir)

    enc3 = {k: v.clone() for k, v in enc.items()}
    enc3["token_type_ids"][1, 5] = 2  # a third segment type on a real token
    cfg = BertConfig(
        **base, hidden_act="gelu_new", layer_norm_eps=1e-7, type_vocab_size=3, architectures=["BertModel"]
    )
    m, h, p, l = reference(BertModel, cfg, 20, enc3)
    save_case("model_bin", m, cfg, h, p, l, enc3, "bin", tok_dir)

    cfg = BertConfig(**base, hidden_act="relu", num_labels=1, architectures=["BertForPreTraining"])
    m, h, p, l = reference(BertForPreTraining, cfg, 30, enc)
    save_case("pretraining", m, cfg, h, p, l, enc, "safetensors", tok_dir)

    # Tokenizer reference: singles, pairs, truncation (longest first, special tokens counted), unknown words,
    # upper case and accents (lower-cased and stripped by the BERT normaliser), punctuation splitting.
    cases = [
        {"text": "The movie was GREAT!", "pair": None, "max_length": None},
        {"text": "she played the story really fast", "pair": "i thought it was bad", "max_length": None},
        {"text": "she played the story really fast", "pair": "i thought it was bad", "max_length": 12},
        {"text": "a very very very long film indeed, quite slow", "pair": None, "max_length": 8},
        {"text": "Café zebra's (fast) run-ning?", "pair": None, "max_length": None},
        {"text": "x", "pair": "yes no yes no yes no yes", "max_length": 7},
    ]
    for c in cases:
        kw = {"truncation": True, "max_length": c["max_length"]} if c["max_length"] else {}
        e = tok(c["text"], c["pair"], **kw) if c["pair"] is not None else tok(c["text"], **kw)
        c["input_ids"] = e["input_ids"]
        c["token_type_ids"] = e["token_type_ids"]
        c["attention_mask"] = e["attention_mask"]
    with open(os.path.join(ROOT, "tokenizer_reference.json"), "w") as f:
        json.dump(cases, f, indent=1)
    for f in os.listdir(tok_dir):
        os.remove(os.path.join(tok_dir, f))
    os.rmdir(tok_dir)
    print("wrote", os.path.abspath(ROOT), "vocab", v, "batch", tuple(enc["input_ids"].shape))


if __name__ == "__main__":
    main()
