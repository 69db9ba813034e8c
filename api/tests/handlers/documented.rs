//! Every error code the README documents is produced by at least one test (a test asserting
//! it, in a test file or a `#[cfg(test)]` module), so a documented answer cannot drift from
//! what the API does unnoticed, and a newly documented code needs its test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The codes in the README's table of error answers (rows `| 4xx |` and `| 5xx |`).
fn documented_codes(readme: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for row in readme.lines().filter(|l| {
        let status = l.trim_start_matches("| ");
        l.starts_with("| ") && (status.starts_with('4') || status.starts_with('5'))
    }) {
        for quoted in row.split('`').skip(1).step_by(2) {
            let code = quoted.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            if code && quoted.len() > 2 {
                codes.insert(quoted.to_string());
            }
        }
    }
    codes
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if entry.is_dir() {
            rust_files(&entry, out);
        } else if entry.extension().is_some_and(|e| e == "rs") {
            out.push(entry);
        }
    }
}

/// The test code of the workspace: test files whole, and the `#[cfg(test)]` part of sources.
fn test_code(root: &Path) -> String {
    let mut text = String::new();
    for dir in ["tests/tests", "api/tests"] {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        for f in files {
            text += &std::fs::read_to_string(f).unwrap();
        }
    }
    for dir in ["api/src", "domain/src", "store/src", "workflows/src"] {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        for f in files {
            let source = std::fs::read_to_string(&f).unwrap();
            let is_test_file = f.components().any(|c| c.as_os_str() == "tests")
                || f.file_name().is_some_and(|n| n == "tests.rs");
            if is_test_file {
                text += &source;
            } else if let Some(at) = source.find("#[cfg(test)]") {
                text += &source[at..];
            }
        }
    }
    text
}

#[test]
fn every_documented_error_code_is_produced_by_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let codes = documented_codes(&std::fs::read_to_string(root.join("README.md")).unwrap());
    assert!(codes.len() >= 40, "the README's error table: {codes:?}");
    let tests = test_code(&root);
    let untested: Vec<&String> = codes
        .iter()
        .filter(|code| {
            !tests.contains(&format!("\"{code}\""))
                && !tests.contains(&format!("::{}", camel(code)))
        })
        .collect();
    assert!(
        untested.is_empty(),
        "documented in README.md but asserted by no test: {untested:?}"
    );
}

/// `REQUEST_IN_PROGRESS` → `RequestInProgress`, as a `RuleCode` variant is named.
fn camel(code: &str) -> String {
    code.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| {
                f.to_string() + &c.as_str().to_lowercase()
            })
        })
        .collect()
}
