#!/usr/bin/env python3
"""Write the GLUE fixtures of tests/data_glue.rs under tests/fixtures/glue/ (standard library only).

    python3 scripts/make_glue_fixtures.py

The files copy the layouts of the distributed GLUE folders (headers, column order, label spellings, the
header-less CoLA train/dev files, MNLI's five files) with short sentences written for the tests. Quirks that the
loader must survive are put in on purpose and written byte-exactly here:
  * CoLA/dev.tsv and MNLI/dev_mismatched.tsv use \\r\\n line ends; MRPC/train.tsv starts with a UTF-8 BOM (the
    MSR source file has one);
  * sentences contain unbalanced double quotes (GLUE is read with QUOTE_NONE: quotes are ordinary characters);
  * some sentences are empty, some end with a space (SST-2 does);
  * one blank line in QNLI/train.tsv (Python's csv module skips empty rows).
The malformed/ files each hold exactly one error that tests/data_glue.rs expects to be reported by file, line and
column. CI reads the committed files; this script only documents and regenerates them.
"""
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "glue")


def write(rel, rows, eol="\n", bom=False):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "".join("\t".join(r) + eol if isinstance(r, (list, tuple)) else r + eol for r in rows)
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    with open(path, "wb") as f:
        f.write(data)


def write_jsonl(rel, objs):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for o in objs:
            f.write((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n")


def main():
    # CoLA: train/dev without header (source, label, original label, sentence); test with header.
    write("CoLA/train.tsv", [
        ["ab01", "1", "", "The cat sat on the mat."],
        ["ab01", "0", "*", "Cat the mat on sat."],
        ["cd02", "1", "", 'She said "hello.'],
        ["cd02", "0", "*", ""],
    ])
    write("CoLA/dev.tsv", [
        ["ef03", "1", "", "Birds fly."],
        ["ef03", "0", "*", "Fly birds the."],
    ], eol="\r\n")
    write("CoLA/test.tsv", [["index", "sentence"], ["0", "Dogs bark."], ["1", "Bark dogs loud the."]])

    # SST-2.
    write("SST-2/train.tsv", [
        ["sentence", "label"],
        ["a gentle , moving film ", "1"],
        ["dull and overlong ", "0"],
        ["it 's \" fine", "1"],
    ])
    write("SST-2/dev.tsv", [["sentence", "label"], ["a triumph . ", "1"], ["", "0"]])
    write("SST-2/test.tsv", [["index", "sentence"], ["0", "uneven but charming"], ["1", "a mess"]])

    # MRPC (train starts with a BOM).
    mrpc_header = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    write("MRPC/train.tsv", [
        mrpc_header,
        ["1", "101", "102", "The firm posted a profit .", "The company reported a profit ."],
        ["0", "103", "104", "Shares fell 2 % .", "The index rose \" sharply ."],
    ], bom=True)
    write("MRPC/dev.tsv", [mrpc_header, ["1", "105", "106", "He left early .", "He departed early ."]])
    write("MRPC/test.tsv", [
        ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"],
        ["0", "107", "108", "Rain is expected .", "It may rain ."],
    ])

    # STS-B.
    sts_cols = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"]
    write("STS-B/train.tsv", [
        sts_cols + ["score"],
        ["0", "main-captions", "MSRvid", "2012test", "0001", "none", "none", "A dog runs.", "A dog is running.", "5.000"],
        ["1", "main-captions", "MSRvid", "2012test", "0004", "none", "none", "A man sings.", "A woman cooks.", "0.000"],
        ["2", "main-news", "headlines", "2013", "0010", "none", "none", "Stocks fall.", "Markets drop.", "2.615"],
    ])
    write("STS-B/dev.tsv", [
        sts_cols + ["score"],
        ["0", "main-forums", "answers-forums", "2015", "0001", "none", "none", "Yes.", "No.", "0.4"],
    ])
    write("STS-B/test.tsv", [sts_cols, ["0", "main-news", "headlines", "2016", "0002", "none", "none", "Hi.", "Hello."]])

    # QQP.
    qqp_header = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    write("QQP/train.tsv", [
        qqp_header,
        ["1", "11", "12", "How do I learn Rust?", "What is the best way to learn Rust?", "1"],
        ["2", "13", "14", "Why is the sky blue?", "", "0"],
    ])
    write("QQP/dev.tsv", [qqp_header, ["3", "15", "16", "Is tea healthy?", "Is coffee healthy?", "0"]])
    write("QQP/test.tsv", [["id", "question1", "question2"], ["0", "What is 2+2?", "What's two plus two?"]])

    # MNLI.
    parses = ["sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse", "sentence2_parse"]
    head = ["index", "promptID", "pairID", "genre"] + parses + ["sentence1", "sentence2"]

    def mnli_row(i, s1, s2, labels):
        return [str(i), "1000", "1000e", "fiction", "( x )", "( y )", "(ROOT x)", "(ROOT y)", s1, s2] + labels

    write("MNLI/train.tsv", [
        head + ["label1", "gold_label"],
        mnli_row(0, "A man plays.", "Someone plays.", ["entailment", "entailment"]),
        mnli_row(1, "A man plays.", "Nobody plays.", ["contradiction", "contradiction"]),
        mnli_row(2, "A man plays.", "A man plays well.", ["neutral", "neutral"]),
    ])
    dev_head = head + ["label1", "label2", "label3", "label4", "label5", "gold_label"]
    write("MNLI/dev_matched.tsv", [
        dev_head,
        mnli_row(0, "The door is open.", "The door is closed.", ["contradiction"] * 5 + ["contradiction"]),
        mnli_row(1, "Kids laugh.", "Children are happy.", ["entailment", "neutral", "entailment", "entailment",
                                                            "entailment", "entailment"]),
    ])
    write("MNLI/dev_mismatched.tsv", [
        dev_head,
        mnli_row(0, "It snowed.", "It was cold.", ["neutral"] * 5 + ["neutral"]),
    ], eol="\r\n")
    write("MNLI/test_matched.tsv", [head, mnli_row(0, "Cats sleep.", "Cats rest.", [])])
    write("MNLI/test_mismatched.tsv", [head, mnli_row(0, "Ships sail.", "Boats move.", [])])

    # QNLI (one blank line inside train).
    write("QNLI/train.tsv", [
        ["index", "question", "sentence", "label"],
        ["0", "Who wrote it?", "It was written by Ann.", "entailment"],
        "",
        ["1", "When did it end?", "The war was long.", "not_entailment"],
    ])
    write("QNLI/dev.tsv", [["index", "question", "sentence", "label"], ["0", "Where?", "Here.", "entailment"]])
    write("QNLI/test.tsv", [["index", "question", "sentence"], ["0", "Why?", "Because."]])

    # RTE.
    write("RTE/train.tsv", [
        ["index", "sentence1", "sentence2", "label"],
        ["0", "Paris is the capital of France.", "Paris is in France.", "entailment"],
        ["1", "The vote was delayed.", "The vote happened.", "not_entailment"],
    ])
    write("RTE/dev.tsv", [["index", "sentence1", "sentence2", "label"], ["0", "A.", "B.", "not_entailment"]])
    write("RTE/test.tsv", [["index", "sentence1", "sentence2"], ["0", "C.", "D."]])

    # JSONL forms.
    write_jsonl("jsonl/SST-2/train.jsonl", [
        {"sentence1": "great fun", "label": 1, "idx": 0},
        {"sentence1": "", "label": "negative"},
        "",
        {"sentence1": "so-so", "sentence2": None, "label": 0},
    ])
    write_jsonl("jsonl/MNLI/dev_matched.jsonl", [
        {"sentence1": "A.", "sentence2": "B.", "label": "neutral"},
        {"sentence1": "C.", "sentence2": "D.", "label": 2},
    ])
    write_jsonl("jsonl/STS-B/dev.jsonl", [
        {"sentence1": "x", "sentence2": "y", "label": 3.2},
        {"sentence1": "x", "sentence2": "z", "label": 0},
    ])
    write_jsonl("jsonl/RTE/test.jsonl", [
        {"sentence1": "E.", "sentence2": "F.", "label": -1},
        {"sentence1": "G.", "sentence2": "H."},
    ])

    # Malformed files: one error each.
    write("malformed/sst2_short_row.tsv", [["sentence", "label"], ["fine", "1"], ["no label column"]])
    write("malformed/rte_bad_label.tsv", [
        ["index", "sentence1", "sentence2", "label"],
        ["0", "A.", "B.", "entailment"],
        ["1", "C.", "D.", "contradiction"],
    ])
    write("malformed/mnli_no_gold_label.tsv", [head + ["label1"], mnli_row(0, "A.", "B.", ["neutral"])])
    write("malformed/stsb_bad_score.tsv", [
        sts_cols + ["score"],
        ["0", "g", "f", "y", "o", "none", "none", "A.", "B.", "5.5"],
    ])
    write("malformed/cola_three_fields.tsv", [["ab01", "1", "", "ok"], ["ab01", "1", "missing a field"]])
    write_jsonl("malformed/pair_without_sentence2.jsonl", [
        {"sentence1": "A.", "sentence2": "B.", "label": 0},
        {"sentence1": "C.", "label": 1},
    ])
    write_jsonl("malformed/not_json.jsonl", [{"sentence1": "A.", "label": 0}, '{"sentence1": "B.", "label": '])
    print(f"wrote fixtures under {ROOT}")


if __name__ == "__main__":
    main()
