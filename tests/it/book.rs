//! The book (`book/`, mdBook) stays whole: every chapter in `SUMMARY.md` exists and every file is listed, every
//! relative link and image resolves, every `{{#include path:anchor}}` names an existing file and anchor, and
//! every `--example NAME` in a command names an existing example. (`.ci/run` also builds the book with mdBook.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn book() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn chapters() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(book())
        .expect("book/src")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    out.sort();
    out
}

/// Targets of `](target)` links and images, without titles.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let target = rest[..end].split_whitespace().next().unwrap_or("").to_string();
            out.push(target);
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn summary_lists_every_chapter_and_every_chapter_exists() {
    let summary = std::fs::read_to_string(book().join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<String> = links(&summary).into_iter().collect();
    for l in &listed {
        assert!(book().join(l).is_file(), "SUMMARY.md lists {l}, which does not exist");
    }
    for c in chapters() {
        let name = c.file_name().unwrap().to_string_lossy().into_owned();
        if name != "SUMMARY.md" {
            assert!(listed.contains(&name), "{name} is not listed in SUMMARY.md");
        }
    }
    assert!(listed.len() >= 10, "{listed:?}");
}

#[test]
fn relative_links_and_images_resolve() {
    let mut checked = 0;
    for c in chapters() {
        let text = std::fs::read_to_string(&c).unwrap();
        for l in links(&text) {
            if l.starts_with("http://") || l.starts_with("https://") || l.starts_with('#') || l.is_empty() {
                continue;
            }
            let path = l.split('#').next().unwrap();
            assert!(
                c.parent().unwrap().join(path).exists(),
                "{}: broken link {l}",
                c.file_name().unwrap().to_string_lossy()
            );
            checked += 1;
        }
    }
    assert!(checked > 5, "only {checked} links checked");
}

#[test]
fn includes_name_existing_files_and_anchors() {
    let mut checked = 0;
    for c in chapters() {
        let text = std::fs::read_to_string(&c).unwrap();
        for (i, _) in text.match_indices("{{#include ") {
            let spec = &text[i + 11..i + text[i..].find("}}").expect("closed include")];
            let (file, anchor) = match spec.split_once(':') {
                Some((f, a)) => (f, Some(a)),
                None => (spec, None),
            };
            let path = c.parent().unwrap().join(file);
            let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: include {file}: {e}", c.display()));
            if let Some(a) = anchor {
                assert!(
                    src.contains(&format!("ANCHOR: {a}")) && src.contains(&format!("ANCHOR_END: {a}")),
                    "{}: {file} has no anchor {a}",
                    c.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} includes checked");
}

#[test]
fn commands_name_existing_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exists = |name: &str| {
        [
            "examples",
            "tabs-deberta/examples",
            "tabs-bert/examples",
            "tabs-bench/examples",
        ]
        .iter()
        .any(|d| root.join(d).join(format!("{name}.rs")).is_file())
    };
    let mut checked = 0;
    for c in chapters() {
        let text = std::fs::read_to_string(&c).unwrap();
        for (i, _) in text.match_indices("--example ") {
            let name: String = text[i + 10..]
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '-')
                .collect();
            if name.is_empty() || name == "NAME" {
                continue;
            }
            assert!(exists(&name), "{}: no example named {name}", c.display());
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} example commands checked");
}
