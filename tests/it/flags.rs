//! The documentation names only flags that exist (issue 16): every `--flag` in `README.md`, `book/src/*.md` and
//! `tabs-*/README.md` is in the `--help` of one of the workspace's programs (or a `scripts/*.py` argument, a flag
//! on a `scripts/*.sh` `usage:` line, or one of the few cargo / criterion flags below), and every command line in
//! them (`cargo run … --example NAME -- …`, `cargo run -p tabs-bench -- SUB …`, `tabs-bench SUB …`,
//! `python3 scripts/X.py …`) passes only flags that this very program (or subcommand) lists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::clis;

/// Flags of cargo, rustc, cargo-fmt/clippy/doc and criterion that the docs use around our commands.
const TOOL_FLAGS: &[&str] = &[
    "--release",
    "--example",
    "--examples",
    "--bin",
    "--bins",
    "--bench",
    "--test",
    "--features",
    "--workspace",
    "--package",
    "--profile",
    "--all-targets",
    "--no-run",
    "--timings",
    "--nocapture",
    "--no-deps",
    "--open",
    "--check",
    "--measurement-time",
    "--warm-up-time",
    "--sample-size",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The documents: README.md, book/src/*.md, tabs-*/README.md.
fn docs() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    for (dir, pick) in [("book/src", None), (".", Some("README.md"))] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            match pick {
                None if name.ends_with(".md") => out.push(p),
                Some(file) if p.is_dir() && name.starts_with("tabs-") && p.join(file).is_file() => {
                    out.push(p.join(file))
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Every `--flag` token of `text` (a letter after the dashes, up to the first character not in [a-z0-9-]).
fn flags_in(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < b.len() {
        let starts = b[i] == b'-' && b[i + 1] == b'-' && b[i + 2].is_ascii_lowercase();
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-' || b[i - 1] == b'_');
        if starts && boundary {
            let end = (i + 2..b.len())
                .find(|&j| !(b[j].is_ascii_lowercase() || b[j].is_ascii_digit() || b[j] == b'-'))
                .unwrap_or(b.len());
            out.push(text[i..end].trim_end_matches('-').to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The flags of each program: `--help` of every example and binary, of every `tabs-bench` subcommand
/// (`tabs-bench SUB`), the `add_argument` flags of every `scripts/*.py` (`scripts/X.py`) and the flags on the
/// `usage:` lines of every `scripts/*.sh`.
fn programs() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let help = |name: &str, args: &[&str]| -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let o = clis::run(name, &args);
        assert!(
            o.status.success(),
            "{name} {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for name in clis::executables().keys() {
        let text = help(name, &["--help"]);
        out.insert(name.clone(), flags_in(&text).into_iter().collect());
        // Subcommands: the indented first words of the `Commands:` section.
        if let Some(commands) = text.split("Commands:").nth(1) {
            let subs: Vec<&str> = commands
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|s| *s != "help")
                .collect();
            for sub in subs {
                let text = help(name, &[sub, "--help"]);
                out.insert(format!("{name} {sub}"), flags_in(&text).into_iter().collect());
            }
        }
    }
    // Scripts: the flags on the `add_argument(` lines of `*.py` and on the `usage:` lines of `*.sh`.
    for e in std::fs::read_dir(root().join("scripts")).unwrap() {
        let p = e.unwrap().path();
        let marker = match p.extension().and_then(|x| x.to_str()) {
            Some("py") => "add_argument(",
            Some("sh") => "usage:",
            _ => continue,
        };
        let text = std::fs::read_to_string(&p).unwrap();
        let flags = text
            .lines()
            .filter(|l| l.contains(marker))
            .flat_map(flags_in)
            .chain(["--help".to_string()])
            .collect();
        out.insert(format!("scripts/{}", p.file_name().unwrap().to_string_lossy()), flags);
    }
    out
}

/// The commands in code: fenced blocks (continuation lines joined) and inline `code` spans, split at `&&`, `;`
/// and `|`.
fn commands(text: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut fenced = false;
    let mut joined = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            let l = line.trim_end();
            match l.strip_suffix('\\') {
                Some(head) => joined.push_str(head),
                None => {
                    joined.push_str(l);
                    code.push(std::mem::take(&mut joined));
                }
            }
        } else {
            code.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    code.iter()
        .flat_map(|c| c.split("&&").flat_map(|c| c.split(';')).flat_map(|c| c.split('|')))
        .map(|c| c.trim().to_string())
        .collect()
}

/// The program a command line runs and the words passed to it, when it is one of ours.
fn invocation(command: &str) -> Option<(String, Vec<String>)> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let after = |i: usize| words[i + 1..].iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let sub = |name: &str, rest: Vec<String>| -> Option<(String, Vec<String>)> {
        let first = rest.first()?.clone();
        Some((format!("{name} {first}"), rest[1..].to_vec()))
    };
    let cargo_run = words.windows(2).position(|w| w == ["cargo", "run"]);
    if let Some(start) = cargo_run {
        let dashes = words[start..].iter().position(|w| *w == "--").map(|i| i + start);
        let cargo = &words[start..dashes.unwrap_or(words.len())];
        let rest = dashes.map_or(Vec::new(), after);
        let named = |flag: &str| cargo.windows(2).find(|w| w[0] == flag).map(|w| w[1].to_string());
        if let Some(example) = named("--example") {
            return Some((example, rest));
        }
        if named("-p").or(named("--package")).or(named("--bin")).as_deref() == Some("tabs-bench") {
            return sub("tabs-bench", rest);
        }
        return None;
    }
    // The binary itself, run by path or from PATH (not `-p tabs-bench` of another cargo command).
    if words
        .first()
        .is_some_and(|w| *w == "tabs-bench" || w.ends_with("/tabs-bench"))
    {
        return sub("tabs-bench", after(0));
    }
    if let Some(i) = words
        .iter()
        .position(|w| w.starts_with("scripts/") && w.ends_with(".py"))
    {
        return Some((words[i].to_string(), after(i)));
    }
    None
}

#[test]
fn every_documented_flag_exists_in_a_programs_help() {
    let programs = programs();
    let known: BTreeSet<&str> = programs
        .values()
        .flatten()
        .map(String::as_str)
        .chain(TOOL_FLAGS.iter().copied())
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(root()).unwrap().display().to_string();
        for flag in flags_in(&text) {
            if !known.contains(flag.as_str()) {
                problems.push(format!("{name}: {flag} is in no program's --help"));
            }
        }
        for command in commands(&text) {
            let Some((program, words)) = invocation(&command) else {
                continue;
            };
            let Some(accepted) = programs.get(&program) else {
                problems.push(format!("{name}: `{command}`: no program `{program}`"));
                continue;
            };
            checked += 1;
            for flag in words.iter().flat_map(|w| flags_in(w)) {
                if !accepted.contains(&flag) {
                    problems.push(format!("{name}: `{command}`: {flag} is not in `{program} --help`"));
                }
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} command lines found: is the parser still right?"
    );
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_parsers_find_flags_and_commands() {
    assert_eq!(
        flags_in("`--rho 2`, --max-length=64; a---b --no--- --x"),
        ["--rho", "--max-length", "--no", "--x"]
    );
    let cmds = commands("x `cargo run --release --example glue -- --rank 4` y\n```\ncargo run -p tabs-bench -- \\\n  budget --layers 2\n```\n");
    assert_eq!(
        cmds,
        [
            "cargo run --release --example glue -- --rank 4",
            "cargo run -p tabs-bench --   budget --layers 2"
        ]
    );
    assert_eq!(
        invocation(&cmds[0]),
        Some(("glue".into(), vec!["--rank".into(), "4".into()]))
    );
    assert_eq!(
        invocation(&cmds[1]),
        Some(("tabs-bench budget".into(), vec!["--layers".into(), "2".into()]))
    );
    assert_eq!(invocation("cargo test --workspace"), None);
    assert_eq!(invocation("cargo bench -p tabs-bench --no-run"), None);
    assert_eq!(invocation("tabs-bench report --root R").unwrap().0, "tabs-bench report");
}
