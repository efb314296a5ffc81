//! Expectations: what a scenario says must be true of the running network, and the loop
//! that checks it.
//!
//! Each kind is one file here with its YAML spec, its validation and its observation of the
//! real kernel or daemon state. Adding a kind means adding a file, a variant to
//! [`ExpectationSpec`] and [`Kind`], and an arm in the three `match`es below.
//!
//! Checking follows FRR's topotests: every expectation is retried until it holds or its
//! deadline passes, and a failure reports what was last observed next to what was
//! expected. Positive expectations (a session is up, a route is there, a ping answers) are
//! checked first, all at once; negative ones (a route is absent, a ping must fail) only
//! after every positive one has held, since before convergence they would hold trivially.

pub mod bgp;
pub mod calico_peers;
pub mod fails;
pub mod fragments;
pub mod max_unfragmented;
pub mod no_fragmentation_up_to;
pub mod ospf;
pub mod ping;
pub mod pmtu;
pub mod route;
pub mod traceroute;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::lab::Lab;
use crate::scenario::Scenario;
use crate::scenario::validate::Context;

/// An expectation as written in the file, tagged by kind: `- bgp: {...}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectationSpec {
    Bgp(bgp::Spec),
    Ospf(ospf::Spec),
    Route(route::Spec),
    Ping(ping::Spec),
    Pmtu(pmtu::Spec),
    Traceroute(traceroute::Spec),
    Fails(fails::Spec),
    #[serde(rename = "max_unfragmented")]
    MaxUnfragmented(max_unfragmented::Spec),
    #[serde(rename = "no_fragmentation_up_to")]
    NoFragmentationUpTo(no_fragmentation_up_to::Spec),
    #[serde(rename = "calico_peers")]
    CalicoPeers(calico_peers::Spec),
}

/// A validated expectation of one kind.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Bgp(bgp::Bgp),
    Ospf(ospf::Ospf),
    Route(route::Route),
    Ping(ping::Ping),
    Pmtu(pmtu::Pmtu),
    Traceroute(traceroute::Traceroute),
    Fails(fails::Fails),
    #[serde(rename = "max_unfragmented")]
    MaxUnfragmented(max_unfragmented::MaxUnfragmented),
    #[serde(rename = "no_fragmentation_up_to")]
    NoFragmentationUpTo(no_fragmentation_up_to::NoFragmentationUpTo),
    #[serde(rename = "calico_peers")]
    CalicoPeers(calico_peers::CalicoPeers),
}

/// A validated expectation with its deadline and where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// One line saying what is expected, e.g. `bgp r1/peer_r2 is Established`.
    pub label: String,
    /// Line of the expectation in the scenario file.
    pub line: u64,
    #[serde(skip)]
    pub deadline: Duration,
    pub kind: Kind,
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

impl Expectation {
    pub fn validate(
        spec: &Spanned<ExpectationSpec>,
        cx: &mut Context,
        scenario: &crate::scenario::Scenario,
    ) -> Option<Expectation> {
        let at = spec.referenced;
        let (kind, deadline) = match &spec.value {
            ExpectationSpec::Bgp(s) => (Kind::Bgp(s.validate(cx, scenario)?), &s.deadline),
            ExpectationSpec::Ospf(s) => (Kind::Ospf(s.validate(cx, scenario)?), &s.deadline),
            ExpectationSpec::Route(s) => (Kind::Route(s.validate(cx, scenario)?), &s.deadline),
            ExpectationSpec::Ping(s) => (Kind::Ping(s.validate(cx, scenario)?), &s.deadline),
            ExpectationSpec::Pmtu(s) => (Kind::Pmtu(s.validate(cx, scenario)?), &s.deadline),
            ExpectationSpec::Traceroute(s) => {
                (Kind::Traceroute(s.validate(cx, scenario)?), &s.deadline)
            }
            ExpectationSpec::Fails(s) => (Kind::Fails(s.validate(cx, scenario)?), &s.deadline),
            ExpectationSpec::MaxUnfragmented(s) => (
                Kind::MaxUnfragmented(s.validate(cx, scenario)?),
                &s.deadline,
            ),
            ExpectationSpec::NoFragmentationUpTo(s) => (
                Kind::NoFragmentationUpTo(s.validate(cx, scenario)?),
                &s.deadline,
            ),
            ExpectationSpec::CalicoPeers(s) => {
                (Kind::CalicoPeers(s.validate(cx, scenario)?), &s.deadline)
            }
        };
        let deadline = cx.deadline(deadline.as_ref());
        Some(Expectation {
            label: kind.label(),
            line: at.line(),
            deadline,
            kind,
        })
    }

    /// Negative expectations are checked once the positive ones hold.
    pub fn is_negative(&self) -> bool {
        match &self.kind {
            Kind::Route(r) => r.is_negative(),
            Kind::Ping(p) => p.is_negative(),
            Kind::Bgp(b) => b.is_negative(),
            Kind::CalicoPeers(c) => c.is_negative(),
            // A bug's diagnosis may already show before the network has converged (a route
            // not there yet looks like a route that will never come); only after is it proof.
            Kind::Fails(_) => true,
            Kind::Ospf(_)
            | Kind::Pmtu(_)
            | Kind::Traceroute(_)
            | Kind::MaxUnfragmented(_)
            | Kind::NoFragmentationUpTo(_) => false,
        }
    }

    /// Looks at the network once.
    pub async fn observe(&self, lab: &Lab) -> Observation {
        match &self.kind {
            Kind::Bgp(k) => k.observe(lab).await,
            Kind::Ospf(k) => k.observe(lab).await,
            Kind::Route(k) => k.observe(lab).await,
            Kind::Ping(k) => k.observe(lab).await,
            Kind::Pmtu(k) => k.observe(lab).await,
            Kind::Traceroute(k) => k.observe(lab).await,
            Kind::Fails(k) => k.observe(lab).await,
            Kind::MaxUnfragmented(k) => k.observe(lab).await,
            Kind::NoFragmentationUpTo(k) => k.observe(lab).await,
            Kind::CalicoPeers(k) => k.observe(lab).await,
        }
    }
}

impl Kind {
    fn label(&self) -> String {
        match self {
            Kind::Bgp(k) => k.to_string(),
            Kind::Ospf(k) => k.to_string(),
            Kind::Route(k) => k.to_string(),
            Kind::Ping(k) => k.to_string(),
            Kind::Pmtu(k) => k.to_string(),
            Kind::Traceroute(k) => k.to_string(),
            Kind::Fails(k) => k.to_string(),
            Kind::MaxUnfragmented(k) => k.to_string(),
            Kind::NoFragmentationUpTo(k) => k.to_string(),
            Kind::CalicoPeers(k) => k.to_string(),
        }
    }
}

/// Retries one expectation until it holds or its deadline passes.
async fn settle(lab: &Lab, e: &Expectation, started: Instant) -> Outcome {
    let mut attempts = 0;
    // Start fast (sessions often come up within a second) and back off to 500 ms so a
    // slow network is not hammered by probes.
    let mut pause = Duration::from_millis(50);
    loop {
        attempts += 1;
        let seen = e.observe(lab).await;
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

/// The sending node of a probe, checking that a given source address is of the
/// destination's family.
pub(crate) fn probe_origin(
    cx: &mut Context,
    from: &Spanned<String>,
    to: std::net::IpAddr,
    src: Option<std::net::IpAddr>,
) -> Option<String> {
    let node = node_ref(cx, from);
    if let Some(src) = src
        && src.is_ipv4() != to.is_ipv4()
    {
        cx.error(
            from.referenced,
            format!("source {src} and destination {to} differ in family"),
        );
        return None;
    }
    node
}

/// Checks that a name refers to a node; reports it otherwise.
pub(crate) fn node_ref(cx: &mut Context, node: &Spanned<String>) -> Option<String> {
    cx.known_node(node).then(|| node.value.clone())
}
