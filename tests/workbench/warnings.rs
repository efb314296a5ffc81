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

/// `routelab mtu` says which path its figure is for, and that it assumed it.
#[test]
fn mtu_names_the_path_it_assumed() {
    let out = routelab(&["mtu", "tests/warnings/pmtu-prediction.yaml"]);
    let got = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(got.contains("  there: h1 > r1 > r2 > h2\n"), "{got}");
    assert!(got.contains("  back: h2 > r2 > r1 > h1\n"), "{got}");
    assert!(got.contains("(fewest hops)"), "{got}");
    assert!(
        got.contains("path MTU (largest DF packet that crosses):         1400"),
        "{got}"
    );
}
