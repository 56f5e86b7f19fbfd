//! The workspace's command-line programs as executables, for the tests that run them as subprocesses
//! (`bad_input`, `flags`): every example and binary, built once per test run with
//! `cargo build --workspace --examples --bins` in the test's own profile and target folder (a no-op after
//! `cargo test --workspace`, which builds them with the same features).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Every example and binary of the workspace by target name (`glue`, `deberta-forward`, `tabs-bench`, …).
pub fn executables() -> &'static BTreeMap<String, PathBuf> {
    static EXES: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    EXES.get_or_init(|| {
        // <target>/<profile dir>/deps/it-<hash>
        let me = std::env::current_exe().unwrap();
        let profile_dir = me.parent().and_then(Path::parent).and_then(Path::file_name).unwrap();
        let profile = match profile_dir.to_str().unwrap() {
            "debug" => "dev",
            other => other,
        };
        let out = Command::new(env!("CARGO"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "-q", "--workspace", "--examples", "--bins"])
            .args(["--profile", profile, "--message-format=json"])
            .output()
            .expect("cannot run cargo");
        assert!(
            out.status.success(),
            "cargo build --workspace --examples --bins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exes: BTreeMap<String, PathBuf> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact")
            .filter_map(|m| {
                let name = m["target"]["name"].as_str()?.to_string();
                Some((name, PathBuf::from(m["executable"].as_str()?)))
            })
            .collect();
        assert!(
            exes.contains_key("glue"),
            "cargo reported no executable for `glue`: {exes:?}"
        );
        exes
    })
}

/// The executable of example or binary `name`.
pub fn exe(name: &str) -> &'static Path {
    executables()
        .get(name)
        .unwrap_or_else(|| panic!("no example or binary named `{name}`"))
}

/// Run `name` with `args` (no backtraces, so that an error is exactly what a user sees).
pub fn run(name: &str, args: &[String]) -> Output {
    Command::new(exe(name))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}
