//! `report`: one Markdown page from the latest result files of every subcommand (with the commands that
//! produced them), and the Markdown tables the README cites. Missing results are listed as "not run".

use std::fmt::Write as _;
use std::path::Path;

use crate::budget::{BudgetArgs, BudgetRow};
use crate::flops::{FlopArgs, FlopPoint};
use crate::latency::{LatencyArgs, LatencyResults};
use crate::output::{read_json, ResultFile};
use crate::plot::format_si;
use crate::ranks::{RanksArgs, RanksResult};

/// The latency file.
pub type LatencyFile = ResultFile<LatencyArgs, LatencyResults>;
/// The FLOPs file.
pub type FlopFile = ResultFile<FlopArgs, Vec<FlopPoint>>;
/// The budget file.
pub type BudgetFile = ResultFile<BudgetArgs, Vec<BudgetRow>>;
/// The ranks file.
pub type RanksFile = ResultFile<RanksArgs, RanksResult>;

/// Latency table: one row per (method, shape), one column per length (mean / p99 ms).
pub fn latency_table(r: &LatencyResults) -> String {
    let mut s = String::from("| method | shape | T | batch | passes | mean ms | p50 ms | p99 ms | max ms | note |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            row.method,
            row.shape,
            if row.shape == "mix" {
                format!("≤{} (mean {:.0})", row.length, row.mean_length)
            } else {
                row.length.to_string()
            },
            row.batch,
            row.ms.n,
            row.ms.mean,
            row.ms.p50,
            row.ms.p99,
            row.ms.max,
            row.note.as_deref().map_or("", |_| "= frozen (same shapes)")
        );
    }
    s
}

/// Ours vs peer.
pub fn ratio_table(r: &LatencyResults) -> String {
    let mut s = String::from("| method | shape | T | ours mean ms | peer mean ms | ratio mean | ours p99 ms | peer p99 ms | ratio p99 |\n|---|---|---|---|---|---|---|---|---|\n");
    for x in &r.ratios {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} | {:.1} | {:.2}× | {:.1} | {:.1} | {:.2}× |",
            x.method, x.shape, x.length, x.ours_mean, x.peer_mean, x.mean_ratio, x.ours_p99, x.peer_p99, x.p99_ratio
        );
    }
    s
}

/// Dense vs gathered.
pub fn kernel_table(r: &LatencyResults) -> String {
    let mut s = String::from("| T | dense-masked mean ms | gathered mean ms | dense p99 ms | gathered p99 ms | gathered / dense |\n|---|---|---|---|---|---|\n");
    for k in &r.kernels {
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} |",
            k.length, k.dense_mean, k.gathered_mean, k.dense_p99, k.gathered_p99, k.gathered_over_dense
        );
    }
    s
}

/// FLOPs: mean (max) per method and length, guarantee column.
pub fn flops_table(points: &[FlopPoint]) -> String {
    let mut lengths: Vec<usize> = points.iter().map(|p| p.length).collect();
    lengths.sort_unstable();
    lengths.dedup();
    let mut methods: Vec<&str> = Vec::new();
    for p in points {
        if !methods.contains(&p.method.as_str()) {
            methods.push(&p.method);
        }
    }
    let mut s = String::from("| method |");
    for t in &lengths {
        let _ = write!(s, " T={t} |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(lengths.len()));
    s.push('\n');
    let cell = |m: &str, t: usize| {
        points
            .iter()
            .find(|p| p.method == m && p.length == t)
            .map_or("–".to_string(), |p| {
                format!("{} (max {})", format_si(p.mean), format_si(p.max))
            })
    };
    for m in &methods {
        let _ = write!(s, "| {m} |");
        for &t in &lengths {
            let _ = write!(s, " {} |", cell(m, t));
        }
        s.push('\n');
    }
    let _ = write!(s, "| guarantee B(T)·cost |");
    for &t in &lengths {
        let g = points.iter().find(|p| p.length == t).map_or(0.0, |p| p.guarantee);
        let _ = write!(s, " {} |", format_si(g));
    }
    s.push('\n');
    let _ = write!(s, "| frozen maps (reference) |");
    for &t in &lengths {
        let g = points.iter().find(|p| p.length == t).map_or(0.0, |p| p.frozen_maps);
        let _ = write!(s, " {} |", format_si(g));
    }
    s.push('\n');
    s
}

/// Where a FLOPs file's gates came from, its table and the lengths it skipped.
pub fn flops_section(f: &FlopFile) -> String {
    let mut s = String::new();
    match &f.args.trained {
        Some(t) => {
            let runs: Vec<String> = t.runs.iter().map(|r| format!("`{}`", r.display())).collect();
            let _ = writeln!(
                s,
                "Gates: the trained runs {} ({}) on windows of their dev texts (`{}`), up to {} per length.\n",
                runs.join(", "),
                f.args.model,
                t.data.display(),
                f.args.samples
            );
        }
        None => {
            if let Some(cfg) = crate::methods::BenchMethod::TabsGathered.gating(&f.args.hyper) {
                let _ = writeln!(s, "Gates: {}. Shapes: {}.\n", f.args.dist.describe(&cfg), f.args.model);
            }
        }
    }
    s.push_str(&flops_table(&f.results));
    for k in &f.args.skipped {
        let _ = writeln!(s, "\nNot measured: {k}.");
    }
    s
}

/// Budget table.
pub fn budget_table(rows: &[BudgetRow]) -> String {
    let mut s = String::from("| method | granularity | cut | inputs | groups | violations | rate | worst r/B | mean r/B | mean rank |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {:?} | {} | {} | {} | {} | {:.2} % | {:.3} | {:.3} | {:.2} |",
            r.method,
            r.granularity,
            if r.inference_cut { "yes" } else { "no" },
            r.inputs,
            r.groups,
            r.violations,
            100.0 * r.violations as f64 / r.groups.max(1) as f64,
            r.worst_ratio,
            r.mean_ratio,
            r.mean_rank
        );
    }
    s
}

/// Budget by length bin for one method.
pub fn budget_bins_table(rows: &[BudgetRow]) -> String {
    let mut s =
        String::from("| method | lengths | groups | violations | worst r/B | mean r/B |\n|---|---|---|---|---|---|\n");
    for r in rows {
        for b in &r.by_length {
            let _ = writeln!(
                s,
                "| {} | {}–{} | {} | {} | {:.3} | {:.3} |",
                r.method, b.lo, b.hi, b.groups, b.violations, b.worst_ratio, b.mean_ratio
            );
        }
    }
    s
}

/// Ranks: histogram per layer, top / bottom tokens.
pub fn ranks_tables(r: &RanksResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {} ({} dev examples, {} tokens; R = {}, ρ = {}): {} violations in {} groups (worst r/B {:.3}); realised adapter + controller FLOPs per sequence {} with the run's {} kernel, {} with the gathered kernel, vs the guarantee line {} (frozen maps {}).\n",
        r.method,
        r.task,
        r.examples,
        r.tokens,
        r.rank,
        r.rho,
        r.violations,
        r.groups,
        r.worst_ratio,
        format_si(r.flops_mean),
        r.kernel,
        format_si(r.flops_gathered_mean),
        format_si(r.guarantee_mean),
        format_si(r.frozen_mean)
    );
    s.push_str("| layer | mean rank | histogram (tokens of rank 0, 1, …, R) |\n|---|---|---|\n");
    for (l, h) in r.histogram.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {l} | {:.2} | {} |",
            r.mean_rank_per_layer[l],
            h.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    s.push_str("\n| highest mean rank | count | mean rank | | lowest mean rank | count | mean rank |\n|---|---|---|---|---|---|---|\n");
    for i in 0..r.top_tokens.len().max(r.bottom_tokens.len()) {
        let f = |v: &Vec<crate::ranks::TokenRank>| {
            v.get(i).map_or("| | |".to_string(), |t| {
                format!("`{}` | {} | {:.2} |", t.token.replace('|', "\\|"), t.count, t.mean_rank)
            })
        };
        let _ = writeln!(s, "| {} | {}", f(&r.top_tokens), f(&r.bottom_tokens));
    }
    s
}

/// The seed's claims against the latest numbers.
pub fn claims(lat: Option<&LatencyFile>, fl: Option<&FlopFile>, bu: Option<&BudgetFile>) -> String {
    let mut s = String::new();
    if let Some(l) = lat {
        let rows = &l.results.rows;
        let longest = rows
            .iter()
            .filter(|r| r.method == "cbsp" && r.shape == "fixed")
            .map(|r| r.length)
            .max();
        for shape in ["fixed", "mix"] {
            let len = if shape == "fixed" { longest } else { Some(usize::MAX) };
            let find = |m: &str| {
                rows.iter()
                    .find(|r| r.method == m && r.shape == shape && (shape == "mix" || Some(r.length) == len))
            };
            for (t, cb) in [
                ("tabs-dense", "cbsp"),
                ("tabs-gathered", "cbsp-gathered"),
                ("tabs-dense", "cbsp-gathered"),
            ] {
                if let Some(c) = find(cb) {
                    if let Some(x) = find(t) {
                        let _ = writeln!(
                            s,
                            "- p99 latency, {t} vs {cb} ({shape}{}): {:.1} vs {:.1} ms = {:+.1} % (claim: −40 %)",
                            if shape == "fixed" {
                                format!(", T = {}", c.length)
                            } else {
                                String::new()
                            },
                            x.ms.p99,
                            c.ms.p99,
                            100.0 * (x.ms.p99 / c.ms.p99 - 1.0)
                        );
                    }
                }
            }
        }
    }
    if let Some(f) = fl {
        let lengths: Vec<usize> = f
            .results
            .iter()
            .filter(|p| p.method == "cbsp")
            .map(|p| p.length)
            .collect();
        for t in lengths {
            let get = |m: &str| f.results.iter().find(|p| p.method == m && p.length == t);
            if let (Some(c), Some(x)) = (get("cbsp-gathered"), get("tabs-gathered")) {
                let _ = writeln!(
                    s,
                    "- mean adapter + controller FLOPs (gathered kernels: active pairs), tabs vs cbsp, T = {t}: {} vs {} = {:+.1} % (claim: −55 %)",
                    format_si(x.mean),
                    format_si(c.mean),
                    100.0 * (x.mean / c.mean - 1.0)
                );
            }
        }
    }
    if let Some(b) = bu {
        for r in &b.results {
            let long = r.by_length.last();
            let _ = writeln!(
                s,
                "- budget, {}: {} violations in {} groups, worst r/B {:.3}{} (claim: TABS 0; CBSP 2–3× at 4k)",
                r.method,
                r.violations,
                r.groups,
                r.worst_ratio,
                long.map_or(String::new(), |l| format!(
                    "; lengths {}–{}: worst {:.3}, mean {:.3}",
                    l.lo, l.hi, l.worst_ratio, l.mean_ratio
                ))
            );
        }
    }
    s
}

fn load<T: for<'de> serde::Deserialize<'de>>(path: &Path) -> Option<T> {
    path.exists().then(|| read_json(path).ok()).flatten()
}

/// The result folders of one subcommand under `root`: `kind/` first, then every `kind-*/` in name order, each
/// with its parsed `<kind>.json` (folders whose file is absent or unreadable are left out).
fn folders<T: for<'de> serde::Deserialize<'de>>(root: &Path, kind: &str) -> Vec<(String, T)> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.strip_prefix(kind).is_some_and(|r| r.is_empty() || r.starts_with('-')))
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|n| (n.len() != kind.len(), n.clone()));
    names
        .into_iter()
        .filter_map(|n| load(&root.join(&n).join(format!("{kind}.json"))).map(|f| (n, f)))
        .collect()
}

/// The Markdown page from `root/<kind>[-*]/<kind>.json` for kind = latency, flops, budget, ranks: the seed's
/// claims from the main folders (`latency/`, `flops/`, `budget/`), then one section per result folder.
pub fn page(root: &Path) -> String {
    let lat: Vec<(String, LatencyFile)> = folders(root, "latency");
    let fl: Vec<(String, FlopFile)> = folders(root, "flops");
    let bu: Vec<(String, BudgetFile)> = folders(root, "budget");
    let ra: Vec<(String, RanksFile)> = folders(root, "ranks");
    let main = |n: &str, kind: &str| n == kind;
    let mut s =
        String::from("# tabs-bench report\n\nGenerated by `tabs-bench report` from the latest result files.\n\n");
    let cmd =
        |r: &crate::output::RunRecord| format!("```sh\n{}\n```\n\n{} · {:.0} s\n\n", r.command, r.device, r.elapsed_s);
    let head = |s: &mut String, title: &str, name: &str, kind: &str| {
        if main(name, kind) {
            let _ = write!(s, "\n## {title}\n\n");
        } else {
            let _ = write!(s, "\n## {title}: `{name}/`\n\n");
        }
    };
    s.push_str("## The seed's claims\n\n");
    s.push_str(&claims(
        lat.iter().find(|(n, _)| main(n, "latency")).map(|x| &x.1),
        fl.iter().find(|(n, _)| main(n, "flops")).map(|x| &x.1),
        bu.iter().find(|(n, _)| main(n, "budget")).map(|x| &x.1),
    ));
    let not_run = |s: &mut String, title: &str, none: bool| {
        if none {
            let _ = write!(s, "\n## {title}\n\nnot run\n");
        }
    };
    not_run(&mut s, "Latency (per sequence)", lat.is_empty());
    for (name, l) in &lat {
        head(&mut s, "Latency (per sequence)", name, "latency");
        if let Some(t) = &l.results.timed_by {
            let _ = write!(s, "Timed by:\n```sh\n{t}\n```\nthen:\n");
        }
        s.push_str(&cmd(&l.record));
        s.push_str(&latency_table(&l.results));
        if let Some(p) = &l.results.peer {
            let _ = write!(
                s,
                "\n### Ours / PyTorch peer\n\nPeer: {} ({} threads):\n```sh\n{}\n```\n\n",
                p.implementation, p.threads, p.command
            );
            s.push_str(&ratio_table(&l.results));
        }
        if !l.results.kernels.is_empty() {
            s.push_str("\n### Kernels (TABS)\n\n");
            s.push_str(&kernel_table(&l.results));
        }
        let _ = writeln!(s, "\n![latency]({name}/latency.svg)");
    }
    not_run(&mut s, "FLOPs (adapter + controller, per sequence)", fl.is_empty());
    for (name, f) in &fl {
        head(&mut s, "FLOPs (adapter + controller, per sequence)", name, "flops");
        s.push_str(&cmd(&f.record));
        s.push_str(&flops_section(f));
        let _ = writeln!(s, "\n![flops]({name}/flops.svg)");
    }
    not_run(&mut s, "Budget", bu.is_empty());
    for (name, b) in &bu {
        head(&mut s, "Budget", name, "budget");
        s.push_str(&cmd(&b.record));
        s.push_str(&budget_table(&b.results));
        s.push_str("\n<details><summary>by length</summary>\n\n");
        s.push_str(&budget_bins_table(&b.results));
        let _ = writeln!(s, "\n</details>\n\n![budget]({name}/budget.svg)");
    }
    not_run(&mut s, "Ranks of a trained adapter", ra.is_empty());
    for (name, r) in &ra {
        head(&mut s, "Ranks of a trained adapter", name, "ranks");
        s.push_str(&cmd(&r.record));
        s.push_str(&ranks_tables(&r.results));
        let _ = writeln!(s, "\n![ranks]({name}/ranks.svg)");
    }
    s
}
