//! How the command-line programs end: an error is one line on stderr, `<program>: error: <message>: <cause>: …`
//! (anyhow's chain joined, a cause its parent already shows skipped), and exit status 1.

use std::process::ExitCode;

/// The error and its causes on one line, skipping a cause whose text its parent already shows.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Exit status of `result`, printing an error as one line prefixed with `program`.
pub fn exit(program: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}
