//! `routelab check` warnings: every `tests/warnings/NAME.yaml` is valid (exit 0) and
//! prints exactly `NAME.stderr`, each warning at its file, line and column.

use crate::common::corpus_failures;

#[test]
fn warnings_corpus() {
    let failures = corpus_failures("warnings", 0, 4);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
