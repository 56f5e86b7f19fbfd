#!/usr/bin/env python3
"""Generate the DeBERTa-v3 tokenizer reference fixture for `tabs-deberta/tests/tokenizer.rs`.

Writes `tabs-deberta/tests/fixtures/tokenizer/reference.json`. The Rust test reads only that JSON, so CI never needs
Python; rerun this script (and commit the JSON) when the case list changes.

Each case records the ids of three HuggingFace paths:

* `expected`: the `tokenizers` pipeline of the shipped `tokenizer.json` (the output of transformers'
  `DebertaV2Converter`: Strip + Precompiled(nmt_nfkc) + Replace(' {2,}'), Metaspace, Unigram, [CLS]/[SEP] template)
  with padding and truncation switched off and then set explicitly per case. This is what the Rust tokenizer must
  reproduce, from `spm.model` and from `tokenizer.json` alike.
* `hf_auto`: `AutoTokenizer.from_pretrained(DIR)` of the installed transformers (5.x), where DIR is a temporary copy
  of the reference files. transformers 5.x rebuilds the DeBERTa-v2 normalizer in Python
  (Replace(r'\\s{2,}|[\\n\\r\\t]') + NFC + Strip(right)) instead of the SentencePiece `nmt_nfkc` charsmap, so it
  differs from `expected` on text that NFKC changes (ligatures, full-width forms, circled digits, NBSP, ...).
* `slow`: the pure SentencePiece path (transformers' `SentencePieceBackend` on `spm.model`, special tokens split out
  first, then `[CLS] A [SEP] B [SEP]` added by hand). It differs from `expected` where SentencePiece uses byte
  fallback (the fast tokenizer emits [UNK]) and around `[UNK]` (the fast tokenizer matches it after normalisation).
  Only recorded for cases without truncation.

An empty second text follows HF's call semantics: `tokenizer(text, "")` (one text) treats the empty pair as no pair
(`[CLS] A [SEP]`, Python truthiness in transformers), while `tokenizer([text], [""])` (a batch) keeps it
(`[CLS] A [SEP] [SEP]`). The fixture records both, and the Rust `encode` / `encode_batch` follow the same rule.

Needs PyPI transformers (with tokenizers), sentencepiece and protobuf (not needed by CI):

    pip install transformers sentencepiece protobuf
    python3 scripts/make_tokenizer_reference.py [--ref-dir DIR] [--out FILE]

DIR defaults to `tabs-deberta/tests/fixtures/deberta-v3` (the files the Rust test reads).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import sentencepiece
import tokenizers
import transformers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REF_DIR = ROOT / "tabs-deberta" / "tests" / "fixtures" / "deberta-v3"
DEFAULT_OUT = ROOT / "tabs-deberta" / "tests" / "fixtures" / "tokenizer" / "reference.json"
REF_FILES = ["spm.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
SPECIAL_TOKENS = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]

LONG_A = "The quick brown fox jumps over the lazy dog while the cat watches from the warm windowsill."
LONG_B = "Meanwhile, a completely different sentence about tokenizers, truncation and padding goes here too."

# (name, text, pair) for single encodings without truncation.
CASES: list[tuple[str, str, str | None]] = [
    ("hello", "Hello world!", None),
    ("plain_english", "The cat sat on the mat and looked out of the window.", None),
    ("punctuation", "Wait... what?! (Really) -- yes; no: maybe/perhaps [sic] {x} <y> @user #tag $5 %20 ^_^ & *", None),
    ("accents", "café naïve Ångström résumé façade São Paulo Zürich", None),
    ("cjk_japanese", "日本語のテキスト", None),
    ("cjk_chinese", "中文", None),
    ("cjk_mixed", "東京 is 日本's capital; 北京是中国的首都。", None),
    ("korean", "안녕하세요 세계", None),
    ("emoji", "👍🏽 🤗 great job!! 🎉🎉", None),
    ("rare_script", "cuneiform 𒀀 and ☃ snowman", None),
    ("numbers", "3.14159 1,000,000 42 007 -12.5e-3 2024-01-31", None),
    ("leading_trailing_spaces", "   leading and trailing   ", None),
    ("multiple_spaces", "multiple    spaces   between  words", None),
    ("tabs_newlines", "tab\tseparated\nnew line\r\nwindows\n\n\nparagraph", None),
    ("only_whitespace", " \t\n ", None),
    ("empty", "", None),
    ("long_word_a300", "a" * 300, None),
    ("long_word_repeated", "antidisestablishmentarianism" * 5, None),
    ("special_tokens_in_text", "[CLS] hi [SEP]", None),
    ("mask_token", "[MASK]", None),
    ("mask_in_sentence", "The capital of France is [MASK].", None),
    ("unk_in_text", "a [UNK] b", None),
    ("pad_glued", "x[PAD]y[SEP]z", None),
    ("mixed_case", "HeLLo WoRLD, iPhone McDonald's NASA eBay", None),
    ("url", "Visit https://www.example.com/path?query=1&x=y#frag or mail me@example.org", None),
    ("latex_quotes", "``like this'' and \"these\" and 'those' and \u201csmart\u201d \u2018quotes\u2019", None),
    ("nfkc_compat", "ﬁne ﬂow Ａ Ｂ ① ² … ™ ½", None),
    ("nbsp_and_controls", "non\u00a0breaking\u2009thin\u200bzero\u0007bell", None),
    ("combining", "cafe\u0301 vs café, n\u0303", None),
    ("byte_lookalike", "<0x41> <s> </s> <unk>", None),
    ("arabic_hebrew_cyrillic", "مرحبا שלום Привет мир", None),
    ("code", "fn main() { println!(\"{}\", x + 1); } // comment", None),
    ("pair_basic", "How old are you?", "I am six years old."),
    ("pair_empty_second", "Only the first text.", ""),
    ("pair_empty_first", "", "Only the second text."),
    ("pair_both_empty", "", ""),
    ("pair_specials", "[MASK] is here", "and [SEP] there"),
    ("pair_unicode", "Ångström café", "日本語 👍🏽"),
]

# (name, text, pair, max_length) encoded with truncation=True (longest first), max_length=N.
TRUNCATION_CASES: list[tuple[str, str, str | None, int]] = [
    ("trunc_single_8", LONG_A, None, 8),
    ("trunc_single_16", LONG_A, None, 16),
    ("trunc_single_short_16", "Short text.", None, 16),
    ("trunc_pair_8", LONG_A, LONG_B, 8),
    ("trunc_pair_16", LONG_A, LONG_B, 16),
    ("trunc_pair_uneven_8", "A short one.", LONG_B, 8),
    ("trunc_pair_uneven_16", LONG_A, "Tiny.", 16),
    ("trunc_pair_odd_9", LONG_A, LONG_B, 9),
    ("trunc_pair_empty_second_8", LONG_A, "", 8),
    ("trunc_single_exact_3", "Hello world!", None, 3),
]

# (name, texts, pairs, truncation max_length or None, padding: "longest" | int)
BATCH_CASES: list[tuple[str, list[str], list[str] | None, int | None, str | int]] = [
    ("batch_longest", ["Hello world!", "A somewhat longer sentence for the batch.", ""], None, None, "longest"),
    ("batch_pairs_longest", ["How old are you?", "Hi"], ["I am six.", "Hello there, general Kenobi."], None, "longest"),
    ("batch_max_length_16", ["Hello world!", "café 日本語 👍🏽"], None, None, 16),
    ("batch_trunc_pad_8", [LONG_A, "Hi", LONG_B], None, 8, 8),
    ("batch_pairs_empty_second", ["First text.", "", "Third."], ["", "", "x"], None, "longest"),
    ("batch_pairs_trunc_12_longest", [LONG_A, "Short."], [LONG_B, "Also short."], 12, "longest"),
]

# (name, ids source case, skip_special_tokens)
DECODE_CASES: list[tuple[str, str, bool]] = [
    ("decode_hello_keep", "hello", False),
    ("decode_hello_skip", "hello", True),
    ("decode_accents_skip", "accents", True),
    ("decode_pair_keep", "pair_basic", False),
    ("decode_mask_keep", "mask_in_sentence", False),
    ("decode_mask_skip", "mask_in_sentence", True),
    ("decode_spaces_skip", "multiple_spaces", True),
]


def encode_expected(raw: tokenizers.Tokenizer, text: str, pair: str | None, max_length: int | None) -> dict:
    raw.no_padding()
    if max_length is None:
        raw.no_truncation()
    else:
        raw.enable_truncation(max_length=max_length, strategy="longest_first", stride=0, direction="right")
    # Like HF's single-text call (`tokenizer(text, text_pair)`), an empty pair counts as no pair.
    enc = raw.encode(text, pair) if pair else raw.encode(text)
    raw.no_truncation()
    return {"input_ids": enc.ids, "token_type_ids": enc.type_ids, "attention_mask": enc.attention_mask}


def encode_hf(tok, text: str, pair: str | None, max_length: int | None) -> dict:
    kwargs = {"padding": False, "return_token_type_ids": True, "return_attention_mask": True}
    if max_length is None:
        kwargs["truncation"] = False
    else:
        kwargs.update(truncation=True, max_length=max_length)
    out = tok(text, pair, **kwargs) if pair is not None else tok(text, **kwargs)
    return {k: list(out[k]) for k in ("input_ids", "token_type_ids", "attention_mask")}


def encode_slow(slow, text: str, pair: str | None) -> list[int]:
    cls, sep = slow.convert_tokens_to_ids("[CLS]"), slow.convert_tokens_to_ids("[SEP]")
    ids = [cls] + slow.encode(text, add_special_tokens=False) + [sep]
    if pair:
        ids += slow.encode(pair, add_special_tokens=False) + [sep]
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-dir", type=Path, default=DEFAULT_REF_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        for name in REF_FILES:
            shutil.copy(args.ref_dir / name, Path(tmp) / name)
        hf = AutoTokenizer.from_pretrained(tmp)
        # The shipped tokenizer.json has padding and truncation (128) switched on: switch both off, then every call
        # below passes padding/truncation explicitly.
        hf.backend_tokenizer.no_padding()
        hf.backend_tokenizer.no_truncation()
        raw = tokenizers.Tokenizer.from_file(str(Path(tmp) / "tokenizer.json"))
        raw.no_padding()
        raw.no_truncation()
        from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

        slow = SentencePieceBackend(
            vocab_file=str(Path(tmp) / "spm.model"),
            bos_token="[CLS]",
            eos_token="[SEP]",
            unk_token="[UNK]",
            sep_token="[SEP]",
            pad_token="[PAD]",
            cls_token="[CLS]",
            mask_token="[MASK]",
        )

    hello = encode_hf(hf, "Hello world!", None, None)["input_ids"]
    if hello != [1, 5365, 447, 300, 2]:
        print(f"unexpected ids for 'Hello world!': {hello}", file=sys.stderr)
        return 1

    cases = []
    for name, text, pair in CASES:
        expected = encode_expected(raw, text, pair, None)
        hf_out = encode_hf(hf, text, pair, None)
        cases.append(
            {
                "name": name,
                "text": text,
                "pair": pair,
                "max_length": None,
                **expected,
                "hf_auto_input_ids": hf_out["input_ids"],
                "hf_auto_equal": hf_out == expected,
                "slow_input_ids": encode_slow(slow, text, pair),
            }
        )
    for name, text, pair, max_length in TRUNCATION_CASES:
        expected = encode_expected(raw, text, pair, max_length)
        hf_out = encode_hf(hf, text, pair, max_length)
        cases.append(
            {
                "name": name,
                "text": text,
                "pair": pair,
                "max_length": max_length,
                **expected,
                "hf_auto_input_ids": hf_out["input_ids"],
                "hf_auto_equal": hf_out == expected,
                "slow_input_ids": None,
            }
        )

    batches = []
    for name, texts, pairs, max_length, padding in BATCH_CASES:
        kwargs = {"return_token_type_ids": True, "return_attention_mask": True}
        kwargs["truncation"] = max_length is not None
        if padding == "longest":
            kwargs["padding"] = "longest"
            if max_length is not None:
                kwargs["max_length"] = max_length
        else:
            kwargs["padding"] = "max_length"
            kwargs["max_length"] = padding
            if max_length is not None and max_length != padding:
                raise ValueError(f"{name}: HF uses one max_length for padding and truncation")
        out = hf(texts, pairs, **kwargs) if pairs is not None else hf(texts, **kwargs)
        hf_out = {k: [list(row) for row in out[k]] for k in ("input_ids", "token_type_ids", "attention_mask")}

        raw.no_truncation()
        if max_length is not None:
            raw.enable_truncation(max_length=max_length, strategy="longest_first", stride=0, direction="right")
        if padding == "longest":
            raw.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]", direction="right")
        else:
            raw.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]", direction="right", length=padding)
        inputs = list(zip(texts, pairs)) if pairs is not None else texts
        encs = raw.encode_batch(inputs)
        raw.no_padding()
        raw.no_truncation()
        expected = {
            "input_ids": [e.ids for e in encs],
            "token_type_ids": [e.type_ids for e in encs],
            "attention_mask": [e.attention_mask for e in encs],
        }
        batches.append(
            {
                "name": name,
                "texts": texts,
                "pairs": pairs,
                "max_length": max_length,
                "padding": padding,
                **expected,
                "hf_auto_equal": hf_out == expected,
            }
        )

    by_name = {c["name"]: c for c in cases}
    decodes = []
    for name, source, skip in DECODE_CASES:
        ids = by_name[source]["input_ids"]
        decodes.append(
            {
                "name": name,
                "input_ids": ids,
                "skip_special_tokens": skip,
                "expected": raw.decode(ids, skip_special_tokens=skip),
                "hf_auto": hf.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=False),
            }
        )

    fixture = {
        "generator": "scripts/make_tokenizer_reference.py",
        "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
        "sentencepiece_version": sentencepiece.__version__,
        "python_version": sys.version.split()[0],
        "hf_auto_class": type(hf).__name__,
        "hf_auto_normalizer": str(hf.backend_tokenizer.normalizer),
        "vocab_size_with_added": len(hf),
        "vocab_size_base": hf.vocab_size,
        "special_ids": {t: hf.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS},
        "cases": cases,
        "batches": batches,
        "decodes": decodes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    n_hf_diff = sum(not c["hf_auto_equal"] for c in cases) + sum(not b["hf_auto_equal"] for b in batches)
    n_slow_diff = sum(c["slow_input_ids"] is not None and c["slow_input_ids"] != c["input_ids"] for c in cases)
    n_dec_diff = sum(d["expected"] != d["hf_auto"] for d in decodes)
    print(f"wrote {args.out}: {len(cases)} cases, {len(batches)} batches, {len(decodes)} decodes")
    print(f"hf_auto differs from expected in {n_hf_diff}; slow in {n_slow_diff}; decode in {n_dec_diff}")
    for c in cases:
        if not c["hf_auto_equal"]:
            print(f"  hf_auto != expected: {c['name']}")
        if c["slow_input_ids"] is not None and c["slow_input_ids"] != c["input_ids"]:
            print(f"  slow != expected: {c['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
