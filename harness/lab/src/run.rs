//! The whole pipeline for one scenario: load, validate, plan, check BIRD configs, build,
//! start daemons, check expectations, report, tear down.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::daemon::{BirdBinary, BirdSearch};
use crate::lab::{Lab, LabState, Mode};
use crate::report::ScenarioReport;
use routelab_model::plan::{DaemonKind, Plan};
use routelab_model::scenario::{self, Diagnostic, Diagnostics, Scenario};

/// A scenario that passed validation, with its plan and any warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub plan: Plan,
    pub warnings: Diagnostics,
    /// Where the daemons' binaries are looked for.
    pub binaries: BirdSearch,
}

/// Load → validate → plan, and have BIRD parse every daemon config (`bird -p`) so a bad
/// config is reported with BIRD's own message before anything is built. Needs no
/// privileges. When BIRD is not installed the configs are not parsed and a warning says so.
pub fn load(file: &Path, search: &BirdSearch) -> Result<Loaded, Diagnostics> {
    let (scenario, mut warnings) = scenario::load(file)?;
    let plan = routelab_model::plan::plan(&scenario);
    let mut errors = Diagnostics::default();
    let dir = tempfile::tempdir().map_err(|e| {
        Diagnostics(vec![file_note(
            file,
            format!("creating a temp dir: {e}"),
            true,
        )])
    })?;
    // Each kind of BIRD is looked up (and its version run) once, not per daemon.
    let mut binaries: Vec<(DaemonKind, Option<BirdBinary>)> = Vec::new();
    for d in &plan.daemons {
        if !binaries.iter().any(|(k, _)| *k == d.kind) {
            let found = search.binary(d.kind).map_err(|e| {
                warnings.push(file_note(
                    file,
                    format!("BIRD configs not parsed: {e}"),
                    false,
                ));
            });
            binaries.push((d.kind, found.ok()));
        }
        let Some(binary) = binaries
            .iter()
            .find(|(k, _)| *k == d.kind)
            .and_then(|(_, b)| b.as_ref())
        else {
            continue;
        };
        let path = crate::daemon::write_config(&d.config, dir.path(), &d.ns).map_err(|e| {
            Diagnostics(vec![file_note(
                file,
                format!("writing a BIRD config: {e}"),
                true,
            )])
        })?;
        let result = crate::daemon::check_config(binary, &path);
        if let Err(e) = result {
            errors.push(file_note(
                file,
                format!("BIRD rejects the config of node `{}`: {e}", d.ns),
                true,
            ));
        }
    }
    if errors.has_errors() {
        errors.0.extend(warnings.0);
        return Err(errors);
    }
    Ok(Loaded {
        scenario,
        plan,
        warnings,
        binaries: search.clone(),
    })
}

fn file_note(file: &Path, message: String, error: bool) -> Diagnostic {
    let at = serde_saphyr::Location::UNKNOWN;
    if error {
        Diagnostic::error(file, at, message)
    } else {
        Diagnostic::warning(file, at, message)
    }
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
