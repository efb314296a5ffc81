//! Reports: the text summary people read, and JSON and JUnit XML for machines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::lab::Blame;
use crate::observe::Outcome;

/// Durations as seconds with millisecond precision in JSON.
pub fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// How far a scenario got.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Built, started and checked: the outcomes say what held.
    Checked,
    /// Not run because the machine lacks a kernel feature it needs (the reason); nothing
    /// was built and there are no outcomes.
    Skipped { reason: String },
    /// The lab could not be built or its daemons started; there are no outcomes.
    NotBuilt { blame: Blame, error: String },
    /// Checking stopped early (a daemon died that nothing had asked to stop); the outcomes
    /// are those judged before.
    Aborted { error: String },
}

/// What happened to one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub file: PathBuf,
    pub status: Status,
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
}

impl ScenarioReport {
    /// A report of a scenario not (yet) run.
    pub fn new(scenario: &str, file: &Path) -> ScenarioReport {
        ScenarioReport {
            scenario: scenario.to_string(),
            file: file.to_path_buf(),
            status: Status::Checked,
            build: Duration::ZERO,
            daemons: Duration::ZERO,
            converge: Duration::ZERO,
            outcomes: Vec::new(),
        }
    }

    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.holds).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }

    /// Nothing failed. A skipped scenario is ok: it asserted nothing, and says so.
    pub fn ok(&self) -> bool {
        matches!(self.status, Status::Checked | Status::Skipped { .. }) && self.failed() == 0
    }

    /// The reason, when the scenario was skipped.
    pub fn skipped(&self) -> Option<&str> {
        match &self.status {
            Status::Skipped { reason } => Some(reason),
            _ => None,
        }
    }

    /// The error that stopped the scenario, if one did.
    pub fn error(&self) -> Option<&str> {
        match &self.status {
            Status::NotBuilt { error, .. } | Status::Aborted { error } => Some(error),
            _ => None,
        }
    }

    /// Whose fault a failure to build was.
    pub fn blame(&self) -> Option<Blame> {
        match &self.status {
            Status::NotBuilt { blame, .. } => Some(*blame),
            _ => None,
        }
    }

    /// The human-readable report: one line per expectation, failures with the last
    /// observation indented under them.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario {} ({})", self.scenario, self.file.display());
        match &self.status {
            Status::NotBuilt { error, .. } => {
                let _ = writeln!(out, "  ERROR {error}");
                return out;
            }
            Status::Skipped { reason } => {
                let _ = writeln!(out, "  SKIP  not run: {reason}");
                return out;
            }
            Status::Checked | Status::Aborted { .. } => {}
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
        if let Status::Aborted { error } = &self.status {
            let mut lines = error.lines();
            let _ = writeln!(out, "  ABORT {}", lines.next().unwrap_or_default());
            for l in lines {
                let _ = writeln!(out, "        {l}");
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
        + reports.iter().filter(|r| r.error().is_some()).count();
    let skipped = reports.iter().filter(|r| r.skipped().is_some()).count();
    let mut line = format!("expectations: {passed} passed, {failed} failed");
    if skipped > 0 {
        let s = if skipped == 1 { "" } else { "s" };
        line.push_str(&format!("; {skipped} scenario{s} skipped"));
    }
    line
}

/// Every report as one JSON document.
pub fn to_json(reports: &[ScenarioReport]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({ "scenarios": reports }))
        .expect("reports serialize")
}

/// JUnit XML: a test suite per scenario, a test case per expectation.
pub fn to_junit(reports: &[ScenarioReport]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("routelab");
    for r in reports {
        let mut suite = TestSuite::new(r.scenario.clone());
        match &r.status {
            Status::NotBuilt { error, .. } | Status::Aborted { error } => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(error.clone());
                suite.add_test_case(TestCase::new("build and start", status));
            }
            Status::Skipped { reason } => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(reason.clone());
                suite.add_test_case(TestCase::new("build and start", status));
            }
            Status::Checked => {}
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
    report.to_string().expect("a JUnit report serializes")
}
