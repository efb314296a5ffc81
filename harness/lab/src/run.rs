//! The whole pipeline for one scenario: load, validate, plan, check BIRD configs, build,
//! start daemons, check expectations, report, tear down.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::daemon::BirdSearch;
use crate::lab::{Lab, LabState, Mode};
use crate::report::ScenarioReport;
use routelab_model::plan::Plan;
use routelab_model::scenario::{Diagnostics, Scenario};

/// A scenario that passed validation, with its plan and any warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub plan: Plan,
    pub warnings: Diagnostics,
    /// Where the daemons' binaries are looked for.
    pub binaries: BirdSearch,
}

/// Load → validate → plan, and the checks that need the machine ([`crate::preflight`]):
/// BIRD's parser on every daemon config, sysctl names, nftables rulesets, the lab's size.
/// Needs no privileges. When BIRD is not installed the configs are not parsed and a
/// warning says so.
pub fn load(file: &Path, search: &BirdSearch) -> Result<Loaded, Diagnostics> {
    crate::preflight::load(file, search, false)
}

/// Builds the lab, starts its daemons and checks every expectation. An ephemeral lab is
/// torn down before this returns; a persistent one is left running and its state returned.
/// A scenario that needs a kernel feature this machine lacks is skipped, with the reason in
/// the report, before anything is built.
///
/// Call from a thread that outlives the lab (see [`Lab::start_daemons`]).
pub async fn execute(loaded: &Loaded, mode: Mode) -> (ScenarioReport, Option<LabState>) {
    let mut report = ScenarioReport {
        scenario: loaded.scenario.name.clone(),
        file: loaded.scenario.file.clone(),
        build: Duration::ZERO,
        daemons: Duration::ZERO,
        converge: Duration::ZERO,
        outcomes: Vec::new(),
        error: None,
        environment_problem: false,
        skipped: None,
    };
    let missing = crate::env::missing_kernel_features(&loaded.plan);
    if !missing.is_empty() {
        report.skipped = Some(missing.join("; "));
        return (report, None);
    }
    let persistent = matches!(mode, Mode::Persistent { .. });
    let started = Instant::now();
    let mut lab = match Lab::build(&loaded.plan, mode).await {
        Ok(lab) => lab,
        Err(e) => {
            report.error = Some(format!("building the network: {e}"));
            report.environment_problem = e.is_environment();
            return (report, None);
        }
    };
    report.build = started.elapsed();
    let started = Instant::now();
    if let Err(e) = lab.start_daemons(&loaded.plan, &loaded.binaries).await {
        report.error = Some(format!("starting daemons: {e}"));
        report.environment_problem = e.is_environment();
        return (report, None);
    }
    report.daemons = started.elapsed();
    tracing::info!(scenario = %loaded.scenario.name, "lab up; checking expectations");
    let started = Instant::now();
    report.outcomes = crate::observe::check_all(&lab, &loaded.scenario).await;
    report.converge = started.elapsed();
    let state = persistent.then(|| lab.detach());
    (report, state)
}
