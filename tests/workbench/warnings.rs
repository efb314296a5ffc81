//! `routelab check` warnings: every `tests/warnings/NAME.yaml` is valid (exit 0) and
//! prints exactly `NAME.stderr`, each warning at its file, line and column.

use std::path::PathBuf;

use crate::common::{root, routelab, text};

#[test]
fn warnings_corpus() {
    let dir = root().join("tests/warnings");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 4, "the corpus is missing cases");
    let mut failures = Vec::new();
    for case in &cases {
        let rel = case
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let out = routelab(&["check", &rel]);
        let expected = std::fs::read_to_string(case.with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{rel} has no .stderr file"));
        let got = text(&out.stderr);
        if out.status.code() != Some(0) || got != expected || !got.contains(": warning: ") {
            failures.push(format!(
                "{rel}: exit {:?}\n--- expected\n{expected}--- got\n{got}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
