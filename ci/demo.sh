#!/usr/bin/env bash
# Build routelab, install what is missing, and run one seed scenario, printing its report.
# Usage: ci/demo.sh [SCENARIO]   (default: scenarios/as-per-rack.yaml, seed 002)
# As root it runs as it is; as a user it builds as that user and uses sudo only to
# install packages and to run the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/root.sh

bash ci/setup.sh
cargo build --release --locked
as_root "${CARGO_TARGET_DIR:-target}/release/routelab" run "${1:-scenarios/as-per-rack.yaml}"
