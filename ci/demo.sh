#!/usr/bin/env bash
# Build routelab, install what is missing, and run one seed scenario, printing its report.
# Usage: sudo ci/demo.sh [SCENARIO]   (default: scenarios/as-per-rack.yaml, seed 002)
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
cargo build --release --locked
./target/release/routelab run "${1:-scenarios/as-per-rack.yaml}"
