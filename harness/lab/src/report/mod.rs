//! Reports: the text summary people read, and JSON ([`json`]) and JUnit XML ([`junit`])
//! for machines.

mod json;
mod junit;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

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
                let at = match &o.file {
                    Some(file) => format!("{}:{}", file.display(), o.line),
                    None => format!("line {}", o.line),
                };
                let _ = writeln!(
                    out,
                    "        expected: {} ({at}, gave up after {} attempts)",
                    o.label, o.attempts
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
    /// When the scenario began (before anything was built).
    #[serde(serialize_with = "serialize_time")]
    pub started_at: SystemTime,
    /// How many expectations it has, in all phases (after `--only`): those without an
    /// outcome were never judged.
    #[serde(skip)]
    pub declared: usize,
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
            started_at: SystemTime::now(),
            declared: 0,
            time_to_green: None,
            machine_load: MachineLoad::default(),
        }
    }

    /// Expectations judged and held, judged and failed, and never judged (the scenario
    /// skipped or not built, or their step not run).
    pub fn expectation_counts(&self) -> Counts {
        let passed = self.outcomes().filter(|o| o.holds).count();
        let failed = self.outcomes().filter(|o| !o.holds).count();
        Counts {
            total: self.declared.max(passed + failed),
            passed,
            failed,
            skipped: self.declared.saturating_sub(passed + failed),
        }
    }

    /// The scenario's verdict as a whole.
    pub fn result(&self) -> Verdict {
        match (&self.status, self.ok()) {
            (Status::Skipped { .. }, _) => Verdict::Skipped,
            (_, true) => Verdict::Passed,
            (_, false) => Verdict::Failed,
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

/// A scenario passed (everything judged held), failed (something did not, or it could not
/// be built or was aborted), or was skipped (the machine lacks what it needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Skipped,
}

/// How many of something passed, failed or were skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.total += other.total;
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// What the reports of one `run` share: when it began, how long it took, where.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub started_at: SystemTime,
    pub wall_time: Duration,
    /// The machine's host name, as the kernel has it (empty when unreadable).
    pub hostname: String,
}

impl RunInfo {
    /// A run that began at `started_at` (wall clock) and `clock` (monotonic), ending now.
    pub fn ended(started_at: SystemTime, clock: Instant) -> RunInfo {
        RunInfo {
            started_at,
            wall_time: clock.elapsed(),
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
        }
    }
}

/// A moment as UTC, to the second, in RFC 3339 (`2024-05-01T12:00:00Z`).
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn serialize_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
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

pub use json::to_json;
pub use junit::to_junit;
