#!/usr/bin/env python3
"""Generate the DeBERTa parity fixtures of tabs-deberta (tiny random checkpoints + HF outputs).

Needs PyPI torch + transformers (not needed by CI, which reads the committed fixtures):

    pip install torch transformers safetensors
    python3 scripts/make_reference.py

Writes tabs-deberta/tests/fixtures/deberta/<name>/{config.json, model.safetensors | pytorch_model.bin,
reference.json}. Every parameter is perturbed (LayerNorm weights ~ 1 + N(0, 0.1²), biases ~ N(0, 0.1²)) so
biases and LayerNorms matter; each reference holds a padded batch (input_ids, attention_mask, token_type_ids)
and HF's logits and last_hidden_state (float32, eval mode).
"""
import json
import os
import shutil
import sys

import torch
import transformers
from transformers import DebertaV2Config, DebertaV2ForMaskedLM, DebertaV2ForSequenceClassification

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tabs-deberta", "tests", "fixtures", "deberta")

TINY = dict(
    model_type="deberta-v2",
    vocab_size=211,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    initializer_range=0.02,
    layer_norm_eps=1e-7,
    pad_token_id=0,
)

# name -> (raw config.json dict, format, lengths of the padded batch, head kind, write HF's full config?)
CASES = {
    # DeBERTa-v3 layout: log buckets (16 → mid 8) reached by distances up to 69; sequences (70) longer than
    # max_position_embeddings (64); no pooler keys (defaults); pos_att_type as a "p2c|c2p" string.
    "v3_buckets": (
        dict(TINY, max_position_embeddings=64, relative_attention=True, position_buckets=16,
             max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type="p2c|c2p",
             position_biased_input=False, type_vocab_size=0, num_labels=3),
        "safetensors", [70, 33, 5], "cls", False),
    # share_att_key false, c2p only (list form), absolute positions + token types, no buckets (distances clamp
    # at max_relative_positions 12), regression head, pytorch_model.bin.
    "c2p_absolute_regression": (
        dict(TINY, max_position_embeddings=48, relative_attention=True, position_buckets=-1,
             max_relative_positions=12, norm_rel_ebd="none", share_att_key=False, pos_att_type=["c2p"],
             position_biased_input=True, type_vocab_size=2, num_labels=1),
        "bin", [40, 17], "cls", False),
    # p2c only, share_att_key false, embedding_size ≠ hidden (embed_proj), gelu_new, HF's full saved config.
    "p2c_embed_proj": (
        dict(TINY, embedding_size=24, max_position_embeddings=64, relative_attention=True, position_buckets=8,
             max_relative_positions=32, norm_rel_ebd="layer_norm", share_att_key=False, pos_att_type="p2c",
             position_biased_input=False, type_vocab_size=0, num_labels=2, hidden_act="gelu_new",
             pooler_hidden_act="tanh", pooler_dropout=0.1),
        "safetensors", [30, 12, 30], "cls", True),
    # No relative attention (absolute positions only).
    "absolute_only": (
        dict(TINY, max_position_embeddings=32, relative_attention=False, position_biased_input=True,
             type_vocab_size=2, num_labels=2),
        "safetensors", [20, 9], "cls", False),
    # A pre-training (masked-LM) checkpoint: lm_predictions.* must be ignored and the classification head
    # initialised fresh; only hidden states are compared.
    "mlm_checkpoint": (
        dict(TINY, max_position_embeddings=64, relative_attention=True, position_buckets=16,
             max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"],
             position_biased_input=False, type_vocab_size=0),
        "bin", [25, 11], "mlm", False),
}


def perturb(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    os.makedirs(ROOT, exist_ok=True)
    for name, (raw, fmt, lengths, kind, full_config) in CASES.items():
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        cfg = DebertaV2Config(**{k: v for k, v in raw.items() if k != "model_type"})
        model = (DebertaV2ForSequenceClassification if kind == "cls" else DebertaV2ForMaskedLM)(cfg)
        perturb(model, gen)
        model.eval()
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if fmt == "safetensors":
            from safetensors.torch import save_file
            # Tied weights (MLM) would share storage; clone so safetensors accepts them.
            save_file({k: v.clone() for k, v in state.items()}, os.path.join(out, "model.safetensors"))
        else:
            torch.save(state, os.path.join(out, "pytorch_model.bin"))
        if full_config:
            cfg.save_pretrained(out)
        else:
            with open(os.path.join(out, "config.json"), "w") as f:
                json.dump(raw, f, indent=2)
        b, t = len(lengths), max(lengths)
        ids = torch.randint(4, raw["vocab_size"], (b, t), generator=gen)
        mask = torch.zeros(b, t, dtype=torch.long)
        for i, n in enumerate(lengths):
            mask[i, :n] = 1
        ids = ids * mask  # padding id 0
        tt = None
        if raw.get("type_vocab_size", 0) > 0:
            tt = torch.zeros(b, t, dtype=torch.long)
            for i, n in enumerate(lengths):
                tt[i, n // 2 : n] = 1
        with torch.no_grad():
            if kind == "cls":
                o = model(input_ids=ids, attention_mask=mask, token_type_ids=tt, output_hidden_states=True)
                logits = o.logits.tolist()
                hidden = o.hidden_states[-1]
            else:
                o = model.deberta(input_ids=ids, attention_mask=mask, token_type_ids=tt)
                logits = None
                hidden = o.last_hidden_state
        ref = {
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "token_type_ids": tt.tolist() if tt is not None else None,
            "logits": logits,
            "last_hidden_state": [[[round(x, 7) for x in row] for row in seq] for seq in hidden.tolist()],
        }
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(ref, f)
        size = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
        print(f"{name}: {fmt}, lengths {lengths}, {size / 1024:.0f} KiB", file=sys.stderr)


if __name__ == "__main__":
    main()
