//! The whole pipeline for one scenario: load, validate, plan, check BIRD configs, build,
//! start daemons, check expectations, report, tear down.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::daemon::BirdSearch;
use crate::events::{Event, Reporter};
use crate::green::TimeToGreen;
use crate::lab::{DaemonDied, Lab, LabError, LabState, Mode};
use crate::machine::Span;
use crate::report::{PhaseReport, ScenarioReport, Status};
use crate::settle::Quiet;
use crate::timeline::{ActionReport, Measurements};
use routelab_model::scenario::Diagnostics;

pub use crate::preflight::Loaded;

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
    execute_with(loaded, mode, &crate::events::Silent, None).await
}

/// Like [`execute`], telling `events` what happens as it happens, and writing what a run
/// leaves to look at into `artifacts` (see [`crate::artifacts`]) before the lab goes.
pub async fn execute_with(
    loaded: &Loaded,
    mode: Mode,
    events: &dyn Reporter,
    artifacts: Option<&Path>,
) -> (ScenarioReport, Option<LabState>) {
    run_scenario(loaded, mode, events, artifacts, None).await
}

/// As [`execute`] with an ephemeral lab, capturing the network at the end of each phase
/// (see [`crate::snapshot`]) once it has settled, within the phase's budget. With
/// `no_expect`, the scenario's expectations are skipped.
pub async fn snapshot(
    loaded: &Loaded,
    no_expect: bool,
) -> (ScenarioReport, routelab_model::snapshot::Snapshot) {
    let mut capture = crate::snapshot::Capture::new(&loaded.scenario, &loaded.plan, no_expect);
    let silent = crate::events::Silent;
    let (report, _) =
        run_scenario(loaded, Mode::Ephemeral, &silent, None, Some(&mut capture)).await;
    (report, capture.finish())
}

async fn run_scenario(
    loaded: &Loaded,
    mode: Mode,
    events: &dyn Reporter,
    artifacts: Option<&Path>,
    mut capture: Option<&mut crate::snapshot::Capture>,
) -> (ScenarioReport, Option<LabState>) {
    let no_expect = capture.as_ref().is_some_and(|c| c.no_expect);
    // A snapshot is of the network at rest, whatever the expectations already saw.
    let wait_quiet = capture.is_some();
    let mut report = ScenarioReport::new(&loaded.scenario.name, &loaded.scenario.file);
    if !no_expect {
        let s = &loaded.scenario;
        report.declared =
            s.expectations.len() + s.steps.iter().map(|t| t.expectations.len()).sum::<usize>();
    }
    let missing = crate::env::missing_kernel_features(&loaded.scenario, &loaded.plan);
    if !missing.is_empty() {
        report.status = Status::Skipped {
            reason: missing.join("; "),
        };
        return (report, None);
    }
    let not_built = |what: &str, e: LabError| {
        let error = format!("{what}: {e}");
        // What the kernel or a daemon refused was asked for by some node or link of the
        // file: point at it.
        let at = (e.blame() == crate::blame::Blame::Input)
            .then(|| {
                let s = &loaded.scenario;
                s.positions
                    .keys()
                    .filter(|name| {
                        error.contains(&format!("`{name}`")) || error.contains(&format!(" {name} "))
                    })
                    .max_by_key(|name| name.len())
                    .and_then(|name| s.position_of(name))
            })
            .flatten();
        Status::NotBuilt {
            blame: e.blame(),
            error: match at {
                Some(at) => format!("{at}: {error}"),
                None => error,
            },
        }
    };
    let persistent = matches!(mode, Mode::Persistent { .. });
    let name = &loaded.scenario.name;
    tracing::info!(scenario = %name, "building the network");
    let started = Instant::now();
    let span = Span::begin();
    let mut lab = match Lab::build(&loaded.plan, mode).await {
        Ok(lab) => lab,
        Err(e) => {
            report.status = not_built("building the network", e);
            tracing::info!(scenario = %name, "not built");
            return (report, None);
        }
    };
    report.build = started.elapsed();
    tracing::info!(scenario = %name, took = ?report.build, "network built; starting daemons");
    report.machine_load.build = span.end();
    let started = Instant::now();
    let span = Span::begin();
    if let Err(e) = lab.start_daemons(&loaded.plan, &loaded.binaries).await {
        report.status = not_built("starting daemons", e);
        tracing::info!(scenario = %name, "daemons did not start");
        return (report, None);
    }
    report.daemons = started.elapsed();
    tracing::info!(
        scenario = %name,
        daemons = loaded.plan.daemons.len(),
        took = ?report.daemons,
        "daemons started and ready"
    );
    report.machine_load.daemons = span.end();
    events.event(&Event::Built {
        scenario: &loaded.scenario.name,
        build: report.build,
        daemons: report.daemons,
    });
    tracing::info!(scenario = %loaded.scenario.name, "lab up; checking expectations");
    let started = Instant::now();
    let scenario = &loaded.scenario;
    let phase0 = PhaseSpec {
        name: "as built",
        line: 0,
        expectations: if no_expect {
            &[]
        } else {
            &scenario.expectations
        },
        measures: &[],
        wait_quiet,
        within: None,
        budget: scenario.timing.deadline,
        prove_sessions: false,
    };
    let mut died = None;
    let span = Span::begin();
    match run_phase(&mut lab, &phase0, Vec::new(), events).await {
        Ok(done) => {
            report.time_to_green = TimeToGreen::of(report.build, report.daemons, &done.outcomes);
            report.phases.push(done);
            report.machine_load.phases.push(span.end());
        }
        Err(d) => died = Some(d),
    }
    if let (Some(c), Some(done), None) = (capture.as_deref_mut(), report.phases.last(), &died) {
        c.phase(&lab, done).await;
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        // Each step assumes the network the phases before it leave behind.
        let failed = report.phases.last().is_none_or(|p| p.failed() > 0);
        if died.is_some() || failed {
            report.not_run = scenario.steps[i..].iter().map(|s| s.name.clone()).collect();
            break;
        }
        let span = Span::begin();
        let actions = crate::timeline::apply(&mut lab, step).await;
        for action in &actions {
            events.event(&Event::ActionDone {
                phase: &step.name,
                action,
            });
        }
        if actions.iter().any(|a| a.error.is_some()) {
            // What the step should bring about never happened: its phase is not checked.
            let failed = PhaseReport {
                name: step.name.clone(),
                line: step.line,
                actions,
                outcomes: Vec::new(),
                outages: Vec::new(),
                took: Duration::ZERO,
                within: step.within,
            };
            events.event(&Event::PhaseFinished { report: &failed });
            report.phases.push(failed);
            report.machine_load.phases.push(span.end());
            if let (Some(c), Some(done)) = (capture.as_deref_mut(), report.phases.last()) {
                c.phase(&lab, done).await;
            }
            continue;
        }
        let phase = PhaseSpec {
            name: &step.name,
            line: step.line,
            expectations: if no_expect { &[] } else { &step.expectations },
            measures: &step.measures,
            wait_quiet,
            within: step.within,
            budget: step.within.unwrap_or(scenario.timing.deadline),
            prove_sessions: step.actions.iter().any(|a| a.may_silence_peers()),
        };
        match run_phase(&mut lab, &phase, actions, events).await {
            Ok(done) => {
                report.phases.push(done);
                report.machine_load.phases.push(span.end());
            }
            Err(d) => died = Some(d),
        }
        if let (Some(c), Some(done), None) = (capture.as_deref_mut(), report.phases.last(), &died) {
            c.phase(&lab, done).await;
        }
    }
    report.converge = started.elapsed();
    if let Some(dir) = artifacts
        && let Err(e) = crate::artifacts::collect(&lab, &loaded.plan, dir).await
    {
        tracing::error!("{e}");
    }
    if let Some(died) = died {
        report.status = Status::Aborted {
            error: died.to_string(),
        };
        return (report, None);
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

/// One phase to check.
struct PhaseSpec<'a> {
    name: &'a str,
    line: u64,
    expectations: &'a [routelab_model::expect::Expectation],
    measures: &'a [routelab_model::timeline::Measure],
    within: Option<Duration>,
    /// How long its measurements may wait for traffic to flow again.
    budget: Duration,
    /// Whether its actions may have silenced peers (see [`crate::settle`]).
    prove_sessions: bool,
    /// Whether the phase lasts until the lab has settled (for a snapshot).
    wait_quiet: bool,
}

/// Checks one phase from now on: its expectations, while its measurements run and the lab
/// is watched for quiet and for daemons that die uninvited.
async fn run_phase(
    lab: &mut Lab,
    phase: &PhaseSpec<'_>,
    actions: Vec<ActionReport>,
    events: &dyn Reporter,
) -> Result<PhaseReport, DaemonDied> {
    let clock = Instant::now();
    tracing::info!(
        phase = phase.name,
        expectations = phase.expectations.len(),
        "phase started"
    );
    events.event(&Event::PhaseStarted {
        phase: phase.name,
        expectations: phase.expectations.len(),
        budget: phase
            .expectations
            .iter()
            .map(|e| e.deadline)
            .max()
            .unwrap_or(Duration::ZERO),
    });
    let quiet = Quiet::new(clock, phase.prove_sessions);
    let measurements = Measurements::start(lab, phase.measures);
    let checked = {
        let lab = &*lab;
        let work = async {
            let told = |outcome: &crate::observe::Outcome| {
                tracing::info!(
                    phase = phase.name,
                    line = outcome.line,
                    attempts = outcome.attempts,
                    after = ?outcome.elapsed,
                    "{} {}",
                    if outcome.holds { "PASS" } else { "FAIL" },
                    outcome.label
                );
                events.event(&Event::ExpectationDone {
                    phase: phase.name,
                    outcome,
                })
            };
            let outcomes = crate::observe::check_phase(
                lab,
                phase.name,
                phase.expectations,
                clock,
                &quiet,
                &told,
            )
            .await;
            if phase.wait_quiet {
                let settled = crate::snapshot::wait_converged(lab, &quiet);
                let _ = tokio::time::timeout(phase.budget, settled).await;
            }
            // Outage probes go on until traffic flows again, within the phase's budget.
            let until = clock + phase.budget;
            let _ = tokio::time::timeout_at(until.into(), measurements.resumed(clock)).await;
            outcomes
        };
        let died = async {
            tokio::select! {
                node = lab.unexpected_exit() => node,
                () = quiet.watch(lab) => unreachable!("watching never ends"),
            }
        };
        let work = std::pin::pin!(work);
        let died = std::pin::pin!(died);
        match futures::future::select(work, died).await {
            futures::future::Either::Left((outcomes, _)) => Ok(outcomes),
            futures::future::Either::Right((node, _)) => Err(node),
        }
    };
    let took = clock.elapsed();
    let outages = measurements.finish(clock).await;
    match checked {
        Ok(mut outcomes) => {
            crate::logs::attach_tails(lab, phase.expectations, &mut outcomes);
            let report = PhaseReport {
                name: phase.name.to_string(),
                line: phase.line,
                actions,
                outcomes,
                outages,
                took,
                within: phase.within,
            };
            tracing::info!(
                phase = phase.name,
                took = ?took,
                passed = report.passed(),
                failed = report.failed(),
                "phase done"
            );
            events.event(&Event::PhaseFinished { report: &report });
            Ok(report)
        }
        Err(node) => Err(lab.daemon_died(&node)),
    }
}
