//! The observation half of every expectation kind, and the loop that checks them.
//!
//! Each kind is one file here implementing [`Observe`] for the kind's validated type from
//! `routelab_model::expect`, plus a line in the [`observers!`] list below; the compiler
//! insists every kind of the model has one.
//!
//! Checking follows FRR's topotests: every expectation is retried until it holds or its
//! deadline passes, and a failure reports what was last observed next to what was
//! expected. Positive expectations (a session is up, a route is there, a ping answers) are
//! checked first, all at once; negative ones (a route is absent, a ping must fail) only
//! after every positive one has held, since before convergence they would hold trivially.

mod fragments;

use std::time::{Duration, Instant};

use routelab_model::expect::{Expectation, Kind};
use routelab_model::scenario::Scenario;
use serde::Serialize;

use crate::lab::Lab;

/// How one kind looks at the running network.
pub(crate) trait Observe {
    /// Looks once and says whether the expectation holds, and what was seen.
    async fn observe(&self, lab: &Lab) -> Observation;
}

/// Declares the observation of each expectation kind: the [`Kind`] variant and the module
/// that implements [`Observe`] for it. One line per kind.
macro_rules! observers {
    ($($variant:ident => $module:ident,)*) => {
        $(mod $module;)*

        impl Observe for Kind {
            async fn observe(&self, lab: &Lab) -> Observation {
                match self {
                    $(Kind::$variant(k) => k.observe(lab).await,)*
                }
            }
        }
    };
}

observers! {
    Bgp => bgp,
    Ospf => ospf,
    Route => route,
    Ping => ping,
    Pmtu => pmtu,
    Traceroute => traceroute,
    Fails => fails,
    MaxUnfragmented => max_unfragmented,
    NoFragmentationUpTo => no_fragmentation_up_to,
    CalicoPeers => calico_peers,
}

/// What one look at the network found.
#[derive(Debug, Clone)]
pub struct Observation {
    pub holds: bool,
    /// What was seen, in the terms of the tool a person would have used (`ip route`,
    /// `birdc show protocols`, `ping`): printed next to the expectation when it fails.
    pub observed: String,
}

impl Observation {
    pub fn new(holds: bool, observed: impl Into<String>) -> Observation {
        Observation {
            holds,
            observed: observed.into(),
        }
    }
}

/// The verdict on one expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub label: String,
    pub line: u64,
    pub holds: bool,
    /// The last observation (the one that held, or the last before the deadline).
    pub observed: String,
    /// Time from the start of checking until it held, or until giving up.
    #[serde(serialize_with = "crate::report::serialize_secs")]
    pub elapsed: Duration,
    pub attempts: u32,
}

/// Retries one expectation until it holds or its deadline passes.
async fn settle(lab: &Lab, e: &Expectation, started: Instant) -> Outcome {
    let mut attempts = 0;
    // Start fast (sessions often come up within a second) and back off to 500 ms so a
    // slow network is not hammered by probes.
    let mut pause = Duration::from_millis(50);
    loop {
        attempts += 1;
        let seen = e.kind.observe(lab).await;
        let elapsed = started.elapsed();
        if seen.holds || elapsed >= e.deadline {
            return Outcome {
                label: e.label.clone(),
                line: e.line,
                holds: seen.holds,
                observed: seen.observed,
                elapsed,
                attempts,
            };
        }
        tokio::time::sleep(pause.min(e.deadline - elapsed)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Checks every expectation of `scenario` against `lab`; outcomes come back in file order.
pub async fn check_all(lab: &Lab, scenario: &Scenario) -> Vec<Outcome> {
    let started = Instant::now();
    let (negative, positive): (Vec<_>, Vec<_>) = scenario
        .expectations
        .iter()
        .enumerate()
        .partition(|(_, e)| e.is_negative());
    let mut outcomes: Vec<(usize, Outcome)> = futures::future::join_all(
        positive
            .iter()
            .map(|(i, e)| async move { (*i, settle(lab, e, started).await) }),
    )
    .await;
    let settled = Instant::now();
    let negatives = futures::future::join_all(negative.iter().map(|(i, e)| async move {
        let mut o = settle(lab, e, settled).await;
        // Report time to green from the start of checking, like the positive ones.
        o.elapsed += settled - started;
        (*i, o)
    }))
    .await;
    outcomes.extend(negatives);
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}
