//! The JSON report (`routelab run --json FILE`): every scenario's phases and outcomes, with
//! totals over the run, described by `schemas/report.schema.json`.
//!
//! [`SCHEMA_VERSION`] changes when a field is removed, renamed or changes meaning; fields
//! may be added without a change, so a reader should ignore what it does not know. The
//! schema itself forbids unknown fields, so it moves with every addition.

use serde::Serialize;

use super::{Counts, RunInfo, ScenarioReport, Verdict, rfc3339};
use crate::json::serialize_secs;

/// The version of the report's format, `schema_version` in it.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    routelab_version: &'static str,
    started_at: String,
    hostname: &'a str,
    totals: Totals,
    scenarios: Vec<Scenario<'a>>,
}

#[derive(Serialize)]
struct Totals {
    scenarios: Counts,
    expectations: Counts,
    /// From the start of the run (loading included) to the report.
    #[serde(serialize_with = "serialize_secs")]
    wall_time: std::time::Duration,
}

#[derive(Serialize)]
struct Scenario<'a> {
    result: Verdict,
    expectations: Counts,
    #[serde(flatten)]
    report: &'a ScenarioReport,
}

/// Every report of a run as one JSON document.
pub fn to_json(reports: &[ScenarioReport], run: &RunInfo) -> String {
    let mut expectations = Counts::default();
    let mut scenarios = Counts::default();
    for r in reports {
        expectations += r.expectation_counts();
        scenarios.total += 1;
        match r.result() {
            Verdict::Passed => scenarios.passed += 1,
            Verdict::Failed => scenarios.failed += 1,
            Verdict::Skipped => scenarios.skipped += 1,
        }
    }
    let document = Document {
        schema_version: SCHEMA_VERSION,
        routelab_version: env!("CARGO_PKG_VERSION"),
        started_at: rfc3339(run.started_at),
        hostname: &run.hostname,
        totals: Totals {
            scenarios,
            expectations,
            wall_time: run.wall_time,
        },
        scenarios: reports
            .iter()
            .map(|r| Scenario {
                result: r.result(),
                expectations: r.expectation_counts(),
                report: r,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&document).expect("reports serialize")
}
