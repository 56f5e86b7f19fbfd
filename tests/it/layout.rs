//! Where tests live. The root library and `tabs-hf` build no unit-test harness (`[lib] test = false`: it would
//! compile each library a second time for a handful of tests), so a `#[cfg(test)]` module in their sources would
//! never run. This test finds one if it is added.

use std::path::Path;

#[test]
fn no_unit_tests_where_no_harness_runs_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for dir in ["src", "tabs-hf/src"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("#[cfg(test)]") || text.contains("#[test]") {
                        found.push(path.strip_prefix(root).unwrap().display().to_string());
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "tests in {found:?} would never run: move them to tests/it"
    );
    for manifest in ["Cargo.toml", "tabs-hf/Cargo.toml"] {
        let text = std::fs::read_to_string(root.join(manifest)).unwrap();
        assert!(
            text.contains("[lib]\ntest = false"),
            "{manifest}: the check above assumes no harness"
        );
    }
}
