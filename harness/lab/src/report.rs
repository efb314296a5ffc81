//! Reports: the text summary people read, and JSON and JUnit XML for machines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::observe::Outcome;

/// Durations as seconds with millisecond precision in JSON.
pub fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// What happened to one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub file: PathBuf,
    /// Building namespaces, links, addresses and routes.
    #[serde(serialize_with = "serialize_secs")]
    pub build: Duration,
    /// Starting daemons until each answered on its control socket.
    #[serde(serialize_with = "serialize_secs")]
    pub daemons: Duration,
    /// From the start of checking until every expectation held (or the last gave up).
    #[serde(serialize_with = "serialize_secs")]
    pub converge: Duration,
    pub outcomes: Vec<Outcome>,
    /// Set when the lab could not be built or started; then there are no outcomes.
    pub error: Option<String>,
    /// That error is the machine's (a missing kernel feature or binary), not the input's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub environment_problem: bool,
    /// Set when the scenario was not run because the kernel lacks a feature it needs
    /// (the reason); then nothing was built and there are no outcomes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl ScenarioReport {
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.holds).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }

    /// Nothing failed. A skipped scenario is ok: it asserted nothing, and says so.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed() == 0
    }

    /// The human-readable report: one line per expectation, failures with the last
    /// observation indented under them.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario {} ({})", self.scenario, self.file.display());
        if let Some(e) = &self.error {
            let _ = writeln!(out, "  ERROR {e}");
            return out;
        }
        if let Some(why) = &self.skipped {
            let _ = writeln!(out, "  SKIP  not run: {why}");
            return out;
        }
        let _ = writeln!(
            out,
            "  built in {} ms, daemons up in {} ms, checked in {:.2} s",
            self.build.as_millis(),
            self.daemons.as_millis(),
            self.converge.as_secs_f64()
        );
        let width = self
            .outcomes
            .iter()
            .map(|o| o.label.len())
            .max()
            .unwrap_or(0);
        for o in &self.outcomes {
            let status = if o.holds { "PASS" } else { "FAIL" };
            let _ = writeln!(
                out,
                "  {status}  {:<width$}  {:>6.2}s",
                o.label,
                o.elapsed.as_secs_f64()
            );
            if !o.holds {
                let _ = writeln!(
                    out,
                    "        expected: {} (line {}, gave up after {} attempts)",
                    o.label, o.line, o.attempts
                );
                let mut lines = o.observed.lines();
                if let Some(first) = lines.next() {
                    let _ = writeln!(out, "        observed: {first}");
                }
                for l in lines {
                    let _ = writeln!(out, "                  {l}");
                }
            }
        }
        let _ = writeln!(
            out,
            "  {}: {} passed, {} failed",
            self.scenario,
            self.passed(),
            self.failed()
        );
        out
    }
}

/// The closing line over all scenarios, in the form CI systems recognise.
pub fn summary_line(reports: &[ScenarioReport]) -> String {
    let passed: usize = reports.iter().map(ScenarioReport::passed).sum();
    let failed: usize = reports.iter().map(ScenarioReport::failed).sum::<usize>()
        + reports.iter().filter(|r| r.error.is_some()).count();
    let skipped = reports.iter().filter(|r| r.skipped.is_some()).count();
    let mut line = format!("expectations: {passed} passed, {failed} failed");
    if skipped > 0 {
        let s = if skipped == 1 { "" } else { "s" };
        line.push_str(&format!("; {skipped} scenario{s} skipped"));
    }
    line
}

/// Writes every report as one JSON document.
pub fn write_json(path: &Path, reports: &[ScenarioReport]) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(&serde_json::json!({ "scenarios": reports }))
        .expect("reports serialize");
    std::fs::write(path, json)
}

/// Writes JUnit XML: a test suite per scenario, a test case per expectation.
pub fn write_junit(path: &Path, reports: &[ScenarioReport]) -> std::io::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("routelab");
    for r in reports {
        let mut suite = TestSuite::new(r.scenario.clone());
        if let Some(e) = &r.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.clone());
            suite.add_test_case(TestCase::new("build and start", status));
        }
        if let Some(why) = &r.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(why.clone());
            suite.add_test_case(TestCase::new("build and start", status));
        }
        for o in &r.outcomes {
            let status = if o.holds {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("expected: {}", o.label));
                s.set_description(format!("observed:\n{}", o.observed));
                s
            };
            let mut case = TestCase::new(o.label.clone(), status);
            case.set_classname(r.scenario.clone());
            case.set_time(o.elapsed);
            suite.add_test_case(case);
        }
        suite.set_time(r.build + r.daemons + r.converge);
        report.add_test_suite(suite);
    }
    let xml = report
        .to_string()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::write(path, xml)
}
