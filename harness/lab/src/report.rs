//! Reports: the text summary people read, and JSON and JUnit XML for machines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::blame::Blame;
use crate::green::TimeToGreen;
use crate::machine::MachineLoad;
use crate::observe::Outcome;
use crate::timeline::ActionReport;
use crate::timeline::outage::OutageReport;
use routelab_model::machine::Overload;

pub use crate::json::{serialize_opt_secs, serialize_secs};

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

/// What happened in one phase: the network as built, or after a step's actions.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// `as built` for phase 0, the step's name after.
    pub name: String,
    /// The step's line in the scenario (0 for phase 0).
    pub line: u64,
    pub actions: Vec<ActionReport>,
    pub outcomes: Vec<Outcome>,
    pub outages: Vec<OutageReport>,
    /// From the phase's start until its last expectation was decided.
    #[serde(serialize_with = "serialize_secs")]
    pub took: Duration,
    /// Steps only: the budget its positive expectations had (`within`).
    #[serde(serialize_with = "serialize_opt_secs")]
    pub within: Option<Duration>,
}

impl PhaseReport {
    /// The phase's convergence: when its last positive expectation first held, with the
    /// resolution of that figure. `None` if one never held or there are none.
    pub fn convergence(&self) -> Option<(Duration, Duration)> {
        let positives: Vec<&Outcome> = self.outcomes.iter().filter(|o| !o.negative).collect();
        if positives.is_empty() || positives.iter().any(|o| !o.holds) {
            return None;
        }
        positives
            .iter()
            .max_by_key(|o| o.elapsed)
            .map(|o| (o.elapsed, o.resolution))
    }

    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.holds).count()
            + self
                .outages
                .iter()
                .filter(|o| o.max.is_some() && o.holds)
                .count()
    }

    /// Expectations that failed, asserted outages that were too long, actions that failed.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.holds).count()
            + self.outages.iter().filter(|o| !o.holds).count()
            + self.actions.iter().filter(|a| a.error.is_some()).count()
    }

    /// `overload`: why the machine was too busy for this phase's figures to be clean.
    fn to_text(&self, out: &mut String, with_header: bool, overload: Option<&Overload>) {
        let busy = busy(overload);
        if with_header {
            for a in &self.actions {
                let _ = writeln!(out, "  DO    {} ({} ms)", a.action, a.took.as_millis());
                if let Some(e) = &a.error {
                    let _ = writeln!(out, "  FAIL  the step's action failed: {e}");
                }
                if let Some(note) = &a.note {
                    for l in note.lines() {
                        let _ = writeln!(out, "        {l}");
                    }
                }
            }
            let converged = match self.convergence() {
                Some((at, res)) => format!(
                    ", converged in {:.2} s (\u{b1}{} ms)",
                    at.as_secs_f64(),
                    res.as_millis()
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  phase `{}`: checked in {:.2} s{converged}{busy}",
                self.name,
                self.took.as_secs_f64()
            );
        }
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
                if let Some(tail) = &o.log_tail {
                    for l in tail.lines() {
                        let _ = writeln!(out, "        {l}");
                    }
                }
            }
        }
        for o in &self.outages {
            let status = match (o.max, o.holds) {
                (_, false) => "FAIL",
                (Some(_), true) => "PASS",
                (None, true) => "MEAS",
            };
            let seen = match (&o.figures, &o.error) {
                (Some(f), _) => f.to_string(),
                (None, Some(e)) => format!("could not measure: {e}"),
                (None, None) => String::new(),
            };
            let busy = if o.figures.is_some() {
                busy.as_str()
            } else {
                ""
            };
            let _ = writeln!(out, "  {status}  {}: {seen}{busy}", o.label);
        }
    }
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
    /// From the start of checking until every phase was done.
    #[serde(serialize_with = "serialize_secs")]
    pub converge: Duration,
    /// Phase 0 (the network as built), then one per step of the timeline.
    pub phases: Vec<PhaseReport>,
    /// Steps not run because a phase before them failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    /// routelab's and the protocols' shares of phase 0's convergence; `None` when it did
    /// not converge.
    pub time_to_green: Option<TimeToGreen>,
    /// Which timed spans ran on a machine too busy for their figures to be clean.
    pub machine_load: MachineLoad,
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
            phases: Vec::new(),
            not_run: Vec::new(),
            time_to_green: None,
            machine_load: MachineLoad::default(),
        }
    }

    /// Every expectation's outcome, phase after phase.
    pub fn outcomes(&self) -> impl Iterator<Item = &Outcome> {
        self.phases.iter().flat_map(|p| &p.outcomes)
    }

    pub fn passed(&self) -> usize {
        self.phases.iter().map(PhaseReport::passed).sum()
    }

    pub fn failed(&self) -> usize {
        self.phases.iter().map(PhaseReport::failed).sum()
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
    /// observation indented under them; with a timeline, each phase under a header with
    /// its actions and convergence.
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
        let load = &self.machine_load;
        let timeline = self.phases.len() > 1;
        // Without a timeline this line carries phase 0's figures too.
        let overload = [&load.build, &load.daemons]
            .into_iter()
            .chain(load.phases.iter().take(if timeline { 0 } else { 1 }))
            .find_map(Option::as_ref);
        let _ = writeln!(
            out,
            "  built in {} ms, daemons up in {} ms, checked in {:.2} s{}",
            self.build.as_millis(),
            self.daemons.as_millis(),
            self.converge.as_secs_f64(),
            busy(overload)
        );
        if let Some(green) = &self.time_to_green {
            let overload = [&load.build, &load.daemons]
                .into_iter()
                .chain(load.phases.first())
                .find_map(Option::as_ref);
            let _ = writeln!(out, "  {green}{}", busy(overload));
        }
        for (i, p) in self.phases.iter().enumerate() {
            let overload = load.phases.get(i).and_then(Option::as_ref);
            p.to_text(&mut out, timeline, overload);
        }
        if !self.not_run.is_empty() {
            let _ = writeln!(
                out,
                "  SKIP  steps after a failed phase, not run: {}",
                self.not_run.join(", ")
            );
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

/// What follows a figure measured on an overloaded machine.
fn busy(overload: Option<&Overload>) -> String {
    overload.map_or(String::new(), |o| format!(" [{o}: figures not clean]"))
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
        let timeline = r.phases.len() > 1;
        for (p, o) in r
            .phases
            .iter()
            .flat_map(|p| p.outcomes.iter().map(move |o| (p, o)))
        {
            let status = if o.holds {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("expected: {}", o.label));
                s.set_description(format!("observed:\n{}", o.observed));
                s
            };
            let name = if timeline {
                format!("{}: {}", p.name, o.label)
            } else {
                o.label.clone()
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(r.scenario.clone());
            case.set_time(o.elapsed);
            case.add_property(quick_junit::Property::new("phase", p.name.clone()));
            case.add_property(quick_junit::Property::new(
                "resolution",
                format!("{:.3}", o.resolution.as_secs_f64()),
            ));
            suite.add_test_case(case);
        }
        for (p, o) in r
            .phases
            .iter()
            .flat_map(|p| p.outages.iter().map(move |o| (p, o)))
        {
            if o.max.is_none() && o.holds {
                continue;
            }
            let status = if o.holds {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("expected: {}", o.label));
                s.set_description(match (&o.figures, &o.error) {
                    (Some(f), _) => f.to_string(),
                    (_, Some(e)) => e.clone(),
                    _ => String::new(),
                });
                s
            };
            let mut case = TestCase::new(format!("{}: {}", p.name, o.label), status);
            case.set_classname(r.scenario.clone());
            suite.add_test_case(case);
        }
        for (p, a) in r
            .phases
            .iter()
            .flat_map(|p| p.actions.iter().map(move |a| (p, a)))
        {
            if let Some(e) = &a.error {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(e.clone());
                let mut case = TestCase::new(format!("{}: {}", p.name, a.action), s);
                case.set_classname(r.scenario.clone());
                suite.add_test_case(case);
            }
        }
        suite.set_time(r.build + r.daemons + r.converge);
        report.add_test_suite(suite);
    }
    report.to_string().expect("a JUnit report serializes")
}
