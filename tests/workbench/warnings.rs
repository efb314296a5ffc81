//! `routelab check` warnings: every `tests/warnings/NAME.yaml` is valid (exit 0) and
//! prints exactly `NAME.stderr`, each warning at its file, line and column.

use crate::common::{corpus_failures, routelab, text};

#[test]
fn warnings_corpus() {
    let failures = corpus_failures("warnings", 0, 4);
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
