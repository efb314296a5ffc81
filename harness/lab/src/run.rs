//! The whole pipeline for one scenario: load, validate, plan, check BIRD configs, build,
//! start daemons, check expectations, report, tear down.

use std::path::Path;
use std::time::Instant;

use crate::daemon::{BirdBinary, BirdSearch, DaemonUser};
use crate::lab::{Lab, LabError, LabState, Mode};
use crate::report::{ScenarioReport, Status};
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
        // As it will run: in a sandbox of its own, read as the daemon user.
        let user = DaemonUser::for_daemons();
        let sandbox = dir.path().join(&d.ns);
        let path = crate::daemon::make_sandbox(&sandbox, user)
            .and_then(|()| crate::daemon::write_config(&d.config, &sandbox, user))
            .map_err(|e| {
                Diagnostics(vec![file_note(
                    file,
                    format!("writing a BIRD config: {e}"),
                    true,
                )])
            })?;
        let result = crate::daemon::check_config(binary, &path, user);
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
    let mut report = ScenarioReport::new(&loaded.scenario.name, &loaded.scenario.file);
    let missing = crate::env::missing_kernel_features(&loaded.plan);
    if !missing.is_empty() {
        report.status = Status::Skipped {
            reason: missing.join("; "),
        };
        return (report, None);
    }
    let not_built = |what: &str, e: LabError| Status::NotBuilt {
        blame: e.blame(),
        error: format!("{what}: {e}"),
    };
    let persistent = matches!(mode, Mode::Persistent { .. });
    let started = Instant::now();
    let mut lab = match Lab::build(&loaded.plan, mode).await {
        Ok(lab) => lab,
        Err(e) => {
            report.status = not_built("building the network", e);
            return (report, None);
        }
    };
    report.build = started.elapsed();
    let started = Instant::now();
    if let Err(e) = lab.start_daemons(&loaded.plan, &loaded.binaries).await {
        report.status = not_built("starting daemons", e);
        return (report, None);
    }
    report.daemons = started.elapsed();
    tracing::info!(scenario = %loaded.scenario.name, "lab up; checking expectations");
    let started = Instant::now();
    let checked = {
        let check = std::pin::pin!(crate::observe::check_all(&lab, &loaded.scenario));
        let died = std::pin::pin!(lab.unexpected_exit());
        match futures::future::select(check, died).await {
            futures::future::Either::Left((outcomes, _)) => Ok(outcomes),
            futures::future::Either::Right((node, _)) => Err(node),
        }
    };
    report.converge = started.elapsed();
    match checked {
        Ok(outcomes) => report.outcomes = outcomes,
        Err(node) => {
            report.status = Status::Aborted {
                error: lab.daemon_died(&node).to_string(),
            };
            return (report, None);
        }
    }
    let state = if persistent {
        match lab.detach() {
            Ok(state) => Some(state),
            Err(e) => {
                report.status = not_built("recording the lab", e);
                None
            }
        }
    } else {
        None
    };
    (report, state)
}
