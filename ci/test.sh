#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, check formatting and
# lints, run every test (unit, snapshot, CLI, conformance, and every scenario in
# scenarios/ against real namespaces and real BIRD). Needs root: as a user it runs itself
# again with sudo, keeping PATH so cargo is found.
set -euo pipefail
# Before the cd: the script runs itself again by the path it was started with.
source "$(dirname "$0")/lib/root.sh"
rerun_as_root "$@"
cd "$(dirname "$0")/.."

bash ci/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --no-fail-fast
