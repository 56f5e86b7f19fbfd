//! After training (issue 14): a run folder loads back and scores its dev split exactly as training did
//! (`results.json`, bit for bit); predictions keep the input order and the logits of the evaluation, and at any
//! ρ the realised pairs stay within the budget on every input; the `predict` and `evaluate` programs write what
//! the library returns.

use std::path::Path;

use tabs_experiments::batch::Encoded;
use tabs_experiments::evaluate::evaluate;
use tabs_experiments::glue::{self, GlueTask, Split};
use tabs_experiments::method::Method;
use tabs_experiments::predict::{predict, Predicted, Prediction};
use tabs_experiments::rescore::{rescore, EvalSplit, ScoreReport};
use tabs_experiments::run::{encode_glue, Results};
use tabs_experiments::run_folder::{load_adapter_folder, load_run, LoadedModel, RUN_INFO_FILE};
use tabs_experiments::text_inputs::TextInput;

use crate::clis;
use crate::train::{run as train, SERIAL};

type B = tabs_hf::Cpu;

fn load(out: &Path) -> LoadedModel<B> {
    load_run::<B>(out, None, &Default::default()).unwrap_or_else(|e| panic!("{}: {e:#}", out.display()))
}

fn dev_texts() -> Vec<TextInput> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    glue::load_split(GlueTask::Sst2, &data, Split::Dev)
        .unwrap()
        .into_iter()
        .map(|e| TextInput::single(e.text_a))
        .collect()
}

fn dev_encoded(m: &LoadedModel<B>) -> Vec<Encoded> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    let ex = glue::load_split(GlueTask::Sst2, &data, Split::Dev).unwrap();
    encode_glue(&m.tokenizer, GlueTask::Sst2, &ex, m.config.max_length).unwrap()
}

#[test]
fn a_reloaded_run_scores_its_dev_split_as_training_did() {
    for method in [Method::Tabs, Method::Bhsp, Method::Lora, Method::Cbsp, Method::Full] {
        let (res, r) = train(method, 1, 160, &format!("reload-{method}"));
        let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let m = load(&r.out);
        assert_eq!(m.config.method, method);
        let s = rescore(
            &m,
            &r.data,
            &EvalSplit::Dev,
            None,
            m.config.batch_size,
            &Default::default(),
        )
        .unwrap()
        .report;
        // Exact equality: the same weights (adapters and the spectral basis are saved in f32, `full` in full
        // precision), the same batches, the same backend.
        assert_eq!(s.metrics["dev"], res.metrics["dev"], "{method}");
        assert_eq!(s.budget, res.budget, "{method}");
        assert_eq!(s.rank_histogram, res.rank_histogram, "{method}");
        assert_eq!(s.flops, res.flops, "{method}");
        assert_eq!(s.examples, 200);
        if method == Method::Tabs {
            // The adapter folder alone describes the run (its manifest records the run's settings).
            let a = load_adapter_folder::<B>(&r.model, &r.out.join("adapter"), &Default::default()).unwrap();
            let texts = dev_texts();
            let dev = Default::default();
            let (p, q) = (
                predict(&m, &texts, None, 16, &dev).unwrap(),
                predict(&a, &texts, None, 16, &dev).unwrap(),
            );
            assert_eq!(p, q);
            // A run from before run.json: loads with --model, and says what to do without it.
            std::fs::remove_file(r.out.join(RUN_INFO_FILE)).unwrap();
            let e = load_run::<B>(&r.out, None, &dev).unwrap_err();
            assert!(format!("{e:#}").contains("pass --model DIR"), "{e:#}");
            let old = load_run::<B>(&r.out, Some(&r.model), &dev).unwrap();
            assert_eq!(predict(&old, &texts, None, 16, &dev).unwrap(), p);
        }
        std::fs::remove_dir_all(&r.out).ok();
    }
}

/// Every line's fields are consistent, and pairs ≤ budget with the budget equal to its formula.
fn check_line(p: &Prediction, method: Method, rho: f64, layers: u64) {
    let probs = p.probabilities.as_ref().unwrap();
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let argmax = (0..probs.len()).max_by(|&a, &b| probs[a].total_cmp(&probs[b])).unwrap();
    assert_eq!(p.label, Predicted::Class(argmax));
    let t = p.tokens as u64;
    let (pairs, budget) = (p.active_pairs.unwrap(), p.budget.unwrap());
    let want = match method {
        // Σ_ℓ B(T) with B(T) = ⌊ρ·T⌋.
        Method::Tabs | Method::TabsShared => layers * (rho * t as f64 + 1e-9).floor() as u64,
        // One global budget ⌊ρ·L⌋ of directions, each costing T pairs.
        Method::Bhsp => t * (rho * layers as f64 + 1e-9).floor() as u64,
        _ => unreachable!(),
    };
    assert_eq!(budget, want, "{method} ρ = {rho}, T = {t}");
    assert!(pairs <= budget, "{method} ρ = {rho}: {pairs} pairs > budget {budget}");
}

#[test]
fn predictions_keep_order_logits_and_the_budget_at_any_rho() {
    for method in [Method::Tabs, Method::Bhsp, Method::TabsShared] {
        let (_, r) = train(method, 1, 160, &format!("predict-{method}"));
        let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dev = Default::default();
        let m = load(&r.out);
        let layers = m.net.shape().layers as u64;
        let texts = dev_texts();
        let p = predict(&m, &texts, None, 16, &dev).unwrap();
        assert_eq!(p.len(), texts.len());
        // The logits of the dev evaluation, in input order.
        let eval = evaluate(&m.net, &dev_encoded(&m), method, 16, &dev);
        for (line, logits) in p.iter().zip(&eval.logits) {
            assert_eq!(&line.logits, logits);
            check_line(line, method, m.config.adapter.rho, layers);
        }
        // Reversed input, reversed output (batches are formed by length, so the values are the same).
        let rev: Vec<TextInput> = texts.iter().rev().cloned().collect();
        let q = predict(&m, &rev, None, 16, &dev).unwrap();
        for (a, b) in p.iter().rev().zip(&q) {
            for (x, y) in a.logits.iter().zip(&b.logits) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
            assert_eq!(
                (a.active_pairs, a.budget, a.tokens),
                (b.active_pairs, b.budget, b.tokens)
            );
        }
        // Any ρ > 0: the budget follows ρ and bounds the pairs; more budget, at least as many pairs in all.
        let mut last = 0;
        for rho in [0.1, 0.5, 1.0, 2.0, 4.0, 8.0, 1e6] {
            let p = predict(&m, &texts, Some(rho), 16, &dev).unwrap();
            for line in &p {
                check_line(line, method, rho, layers);
            }
            let total: u64 = p.iter().map(|l| l.active_pairs.unwrap()).sum();
            assert!(
                total >= last,
                "{method}: {total} pairs at ρ = {rho} < {last} at a smaller ρ"
            );
            last = total;
        }
        std::fs::remove_dir_all(&r.out).ok();
    }
}

#[test]
fn empty_long_and_unbudgeted_inputs() {
    let (_, r) = train(Method::Tabs, 1, 64, "predict-edges");
    let (_, l) = train(Method::Lora, 1, 64, "predict-edges-lora");
    let (_, c) = train(Method::Cbsp, 1, 64, "predict-edges-cbsp");
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let m = load(&r.out);
    let long = "not a good film ".repeat(40);
    let inputs = [
        TextInput::single(""),
        TextInput::single(long),
        TextInput::single("a good film"),
    ];
    let p = predict(&m, &inputs, None, 2, &dev).unwrap();
    // An empty text is its special tokens alone; a long one is cut to max_length, as in training.
    assert_eq!((p[0].tokens, p[0].truncated), (2, false));
    assert_eq!((p[1].tokens, p[1].truncated), (m.config.max_length, true));
    assert!(!p[2].truncated);
    for rho in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = predict(&m, &inputs, Some(rho), 2, &dev).unwrap_err();
        assert!(e.to_string().contains("expected a finite ρ > 0"), "{e}");
    }
    // LoRA has no budget: no pairs, no budget, and --rho is refused; CBSP's budget is a training target only.
    let lora = load(&l.out);
    let p = predict(&lora, &inputs, None, 2, &dev).unwrap();
    assert!(p
        .iter()
        .all(|l| l.active_pairs.is_none() && l.budget.is_none() && l.adapter_flops > 0.0));
    let e = predict(&lora, &inputs, Some(2.0), 2, &dev).unwrap_err();
    assert!(e.to_string().contains("no gates"), "{e}");
    let cbsp = load(&c.out);
    let p = predict(&cbsp, &inputs, None, 2, &dev).unwrap();
    assert!(p.iter().all(|l| l.active_pairs.is_some() && l.budget.is_none()));
    let e = predict(&cbsp, &inputs, Some(2.0), 2, &dev).unwrap_err();
    assert!(e.to_string().contains("no inference cut"), "{e}");
    for d in [&r.out, &l.out, &c.out] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn the_programs_write_what_the_library_returns() {
    let (res, r) = train(Method::Tabs, 1, 160, "programs");
    let out = r.out.display().to_string();
    // predict: JSONL in, one JSON line per input out, in order.
    let input = r.out.join("texts.jsonl");
    std::fs::write(
        &input,
        "{\"text\": \"a good film\"}\n{\"text\": \"\"}\n{\"text\": \"not a good film\"}\n",
    )
    .unwrap();
    let predictions = r.out.join("predictions.jsonl");
    let o = clis::run(
        "predict",
        &[
            "--run".into(),
            out.clone(),
            "--input".into(),
            input.display().to_string(),
            "--output".into(),
            predictions.display().to_string(),
            "--rho".into(),
            "2".into(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Prediction> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let m = load(&r.out);
    let texts = ["a good film", "", "not a good film"].map(TextInput::single);
    let want = predict(&m, &texts, Some(2.0), 32, &Default::default()).unwrap();
    assert_eq!(lines.len(), 3);
    for (a, b) in lines.iter().zip(&want) {
        assert_eq!(a.logits, b.logits);
        assert_eq!(
            (a.active_pairs, a.budget, a.tokens),
            (b.active_pairs, b.budget, b.tokens)
        );
    }
    // evaluate: the dev split's blocks equal results.json's.
    let report = r.out.join("scores/dev.json");
    let o = clis::run(
        "evaluate",
        &[
            "--run".into(),
            out.clone(),
            "--out".into(),
            report.display().to_string(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: ScoreReport = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let res: Results = serde_json::from_str(&serde_json::to_string(&res).unwrap()).unwrap();
    assert_eq!(
        s.metrics["dev"].keys().collect::<Vec<_>>(),
        res.metrics["dev"].keys().collect::<Vec<_>>()
    );
    assert_eq!(s.metrics["dev"]["accuracy"], res.metrics["dev"]["accuracy"]);
    assert_eq!(s.budget, res.budget);
    assert_eq!(s.rank_histogram, res.rank_histogram);
    // GLUE test: the submission file GLUE's server reads, one row per test example.
    let glue = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/glue");
    let report = r.out.join("scores/test.json");
    let o = clis::run(
        "evaluate",
        &[
            "--run".into(),
            out.clone(),
            "--data".into(),
            glue.display().to_string(),
            "--split".into(),
            "test".into(),
            "--out".into(),
            report.display().to_string(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tsv = std::fs::read_to_string(r.out.join("scores/SST-2.tsv")).unwrap();
    let test = glue::load_split(GlueTask::Sst2, &glue, Split::Test).unwrap();
    let rows: Vec<&str> = tsv.lines().collect();
    assert_eq!(rows[0], "index\tprediction");
    assert_eq!(rows.len(), test.len() + 1);
    for (i, row) in rows[1..].iter().enumerate() {
        let (index, label) = row.split_once('\t').unwrap();
        assert_eq!(index, i.to_string());
        assert!(label == "0" || label == "1", "{row}");
    }
    std::fs::remove_dir_all(&r.out).ok();
}

#[test]
fn a_peft_adapter_predicts_with_peft_logits() {
    // The committed peft reference (tests/fixtures/peft): LoRA r = 4 on the tiny DeBERTa's six maps, non-zero A,
    // B and heads. `predict` on a folder of peft's own layout gives the logits of the imported model.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (model, adapter) = (
        root.join("tests/fixtures/demo/model"),
        root.join("tests/fixtures/peft/deberta-lora"),
    );
    let dev = Default::default();
    let m = load_adapter_folder::<B>(&model, &adapter, &dev).unwrap();
    assert_eq!(
        (m.config.method, m.config.adapter.lora_rank, m.config.max_length),
        (Method::Lora, 4, 512)
    );
    let texts = ["a good film", "", "not a good film at all"].map(TextInput::single);
    let p = predict(&m, &texts, None, 2, &dev).unwrap();
    let net = tabs_experiments::peft::load_peft::<B>(&model, &adapter, &dev).unwrap();
    let (enc, _) = tabs_experiments::predict::encode_inputs(&m, &texts).unwrap();
    let eval = evaluate(&net, &enc, Method::Lora, 2, &dev);
    for (line, logits) in p.iter().zip(&eval.logits) {
        assert_eq!(&line.logits, logits);
        assert!(line.active_pairs.is_none() && line.budget.is_none());
    }
    let e = predict(&m, &texts, Some(2.0), 2, &dev).unwrap_err();
    assert!(e.to_string().contains("no gates"), "{e}");
}
