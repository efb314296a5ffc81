//! The observation half of every expectation kind, and the loop that checks them.
//!
//! Each kind is one file here implementing [`Observe`] for the kind's validated type from
//! `routelab_model::expect`, plus a line in the [`observers!`] list below; the compiler
//! insists every kind of the model has one.
//!
//! Checking a phase ([`check_phase`]) follows FRR's topotests: every positive expectation
//! (a session is up, a route is there, a ping answers) is retried until it holds or its
//! deadline passes, and a failure reports what was last observed next to what was
//! expected. Each one's time to hold is measured from the phase's start, to the start of
//! the look that saw it hold, with the time since the look before as its resolution.
//!
//! Negative expectations (a route absent, a ping failing) also hold in a network that has
//! not converged, so they are judged only once the positive ones are done *and* the
//! phase has settled (see [`crate::settle`]), and must then stay true for their hold time.

mod fragments;

use std::time::{Duration, Instant};

use routelab_model::expect::{Expectation, Kind};
use serde::Serialize;

use crate::lab::Lab;
use crate::settle::{Quiet, STARTUP_GRACE};

/// How one kind looks at the running network.
pub(crate) trait Observe {
    /// Looks once and says whether the expectation holds, and what was seen.
    async fn observe(&self, lab: &Lab) -> Observation;

    /// Looks once, when the expectation is meant to fail (inside `fails`): then the look
    /// waits for the evidence of the failure, such as an ICMP error that comes only after
    /// address resolution gave up.
    async fn observe_failing(&self, lab: &Lab) -> Observation {
        self.observe(lab).await
    }

    /// Whether a look may wait long for an answer that will not come (a ping's timeout),
    /// so looks should overlap for the time to hold to stay precise.
    fn looks_overlap(&self) -> bool {
        false
    }

    /// For a kind whose failing look is slow (it waits out timeouts, seconds long): the
    /// ping that must be answered before it can hold, as (node, destination, source). Until
    /// one is, cheap overlapping pings are sent instead of looks, so the first slow look
    /// starts soon after the destination answers rather than when a failing look ends.
    fn answered_first(&self) -> Option<Gate<'_>> {
        None
    }
}

/// A ping an expectation needs answered before it can hold (see
/// [`Observe::answered_first`]).
pub(crate) struct Gate<'a> {
    pub from: &'a str,
    pub to: std::net::IpAddr,
    pub src: Option<std::net::IpAddr>,
}

/// A slow look is still made this often while the gate's pings go unanswered, in case
/// something answers the look but not a plain ping (a size-specific filter).
const GATE_FALLBACK: Duration = Duration::from_secs(5);

/// One gate ping: whether the destination answered.
async fn gate_ping(lab: &Lab, gate: &Gate<'_>) -> Observation {
    let mut spec = crate::probe::PingSpec::new(gate.to);
    spec.src = gate.src;
    spec.timeout = Duration::from_millis(500);
    match lab
        .probe(gate.from, move |ns| crate::probe::ping(ns, &spec))
        .await
    {
        Ok(o @ crate::probe::PingOutcome::Reply { .. }) => Observation::new(true, o),
        Ok(o) => Observation::new(
            false,
            format!(
                "not looked at: a ping from {} to {} is not answered yet: {o}",
                gate.from, gate.to
            ),
        ),
        Err(e) => Observation::new(false, e.to_string()),
    }
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

            async fn observe_failing(&self, lab: &Lab) -> Observation {
                match self {
                    $(Kind::$variant(k) => k.observe_failing(lab).await,)*
                }
            }

            fn looks_overlap(&self) -> bool {
                match self {
                    $(Kind::$variant(k) => k.looks_overlap(),)*
                }
            }

            fn answered_first(&self) -> Option<Gate<'_>> {
                match self {
                    $(Kind::$variant(k) => k.answered_first(),)*
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
    Neighbor => neighbor,
}

/// What one look at the network found.
#[derive(Debug, Clone)]
pub struct Observation {
    pub holds: bool,
    /// What was seen, in the terms of the tool a person would have used (`ip route`,
    /// `birdc show protocols`, `ping`): printed next to the expectation when it fails.
    pub observed: String,
    /// The same as values for machines (the JSON report's `actual`): the kind's own
    /// fields, or `error` when the look itself failed. Empty for a kind that has none.
    pub actual: serde_json::Map<String, serde_json::Value>,
}

impl Observation {
    pub fn new(holds: bool, observed: impl std::fmt::Display) -> Observation {
        Observation {
            holds,
            observed: observed.to_string(),
            actual: serde_json::Map::new(),
        }
    }

    /// A look that could not be made (a daemon not answering, a namespace gone).
    pub fn error(error: impl std::fmt::Display) -> Observation {
        let error = error.to_string();
        Observation::new(false, &error).with("error", error)
    }

    /// Adds one value to what the report gives as observed.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Observation {
        let value = serde_json::to_value(value).expect("observed values serialize");
        self.actual.insert(key.to_string(), value);
        self
    }
}

/// The verdict on one expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub label: String,
    /// The expectation's kind, as the file writes it (`ping`, `bgp`).
    pub kind: &'static str,
    /// The node it is about (a probe's sender).
    pub node: String,
    /// The phase it was checked in (`as built`, or the step's name).
    pub phase: String,
    pub line: u64,
    /// The file `line` is in, when not the scenario's own (a variant's base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<std::path::PathBuf>,
    pub negative: bool,
    pub holds: bool,
    /// The last observation (the one that held, or the one that decided).
    pub observed: String,
    /// From the phase's start: for a positive, until the look that saw it hold began (or
    /// until giving up); for a negative, until its judgement ended.
    #[serde(serialize_with = "crate::json::serialize_secs")]
    pub elapsed: Duration,
    /// How precisely a positive's `elapsed` is known: it first held within this much
    /// before.
    #[serde(serialize_with = "crate::json::serialize_secs")]
    pub resolution: Duration,
    pub attempts: u32,
    /// From the phase's start until the verdict was in: for a positive that held, the
    /// look that saw it and any looks still out when it did are included.
    #[serde(serialize_with = "crate::json::serialize_secs")]
    pub duration: Duration,
    /// The expectation's fields as validated (what the file asks for, defaults filled in).
    pub expected: serde_json::Value,
    /// The last observation's values (see [`Observation::actual`]).
    pub actual: serde_json::Map<String, serde_json::Value>,
    /// For a failure: the end of the BIRD log of the node it is about, when that node
    /// runs one (see [`crate::logs`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
}

/// How often a positive expectation is looked at: the resolution of its time to hold.
const POLL: Duration = Duration::from_millis(25);
/// How many overlapping looks a kind whose looks wait (a ping) may have out at once.
const MAX_OVERLAPPING: usize = 20;
/// How often a negative is looked at while it must hold.
const HOLD_POLL: Duration = Duration::from_millis(100);

/// Looks at a positive expectation until it holds or its deadline passes.
async fn until_it_holds(lab: &Lab, e: &Expectation, clock: Instant) -> Outcome {
    use futures::StreamExt;
    // Before the looks, which borrow it.
    let gate = e.kind.answered_first();
    let mut looks = futures::stream::FuturesUnordered::new();
    let mut attempts = 0;
    // Starts of the looks that did not see it hold, and the first that did.
    let mut failed_starts: Vec<Duration> = Vec::new();
    let mut held: Option<(Duration, Observation)> = None;
    // Once a look holds, looks begun before it may still hold and move the time to hold
    // earlier; they get as long as the one that held took (an answer that is coming
    // comes within about that much), then they are left to finish unwatched and count as
    // not holding, as their timeout would have had them.
    let mut drained_by: Option<Instant> = None;
    // Starts of the looks still out (not the gate's pings).
    let mut out: Vec<Duration> = Vec::new();
    let mut last_seen = Observation::new(false, "not looked at yet");
    let overlap = e.kind.looks_overlap();
    let mut gate_open = gate.is_none();
    // Starts of unanswered gate pings: they show the expectation could not hold then, once
    // the gate opens (until it does, pings may just be filtered).
    let mut gate_failed: Vec<Duration> = Vec::new();
    let mut gate_pings_out = 0;
    // Whether a look (not a gate ping) has come back.
    let mut looked = false;
    let mut fallback_at = clock + GATE_FALLBACK;
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        let deadline = clock + e.deadline;
        let looking = held.is_none() && now < deadline;
        let may_look = gate_open || now >= fallback_at;
        if looking
            && now >= next
            && may_look
            && (out.is_empty() || (overlap && out.len() < MAX_OVERLAPPING))
        {
            let started = now.duration_since(clock);
            attempts += 1;
            out.push(started);
            if !gate_open {
                fallback_at = now + GATE_FALLBACK;
            }
            looks.push(futures::future::Either::Left(async move {
                (started, false, e.kind.observe(lab).await)
            }));
            next = now + POLL;
        } else if let Some(g) = gate.as_ref().filter(|_| !gate_open)
            && looking
            && now >= next
            && gate_pings_out < MAX_OVERLAPPING
        {
            let started = now.duration_since(clock);
            gate_pings_out += 1;
            looks.push(futures::future::Either::Right(async move {
                (started, true, gate_ping(lab, g).await)
            }));
            next = now + POLL;
        }
        // Looks begun after the one that held cannot move the time to hold.
        let drained = held
            .as_ref()
            .is_some_and(|(at, _)| out.iter().all(|s| s > at))
            || drained_by.is_some_and(|by| now >= by);
        if looks.is_empty() || drained {
            if let Some((at, seen)) = held {
                failed_starts.extend(out.iter().filter(|s| **s < at));
                // The earliest look that held, and the latest before it that did not: the
                // expectation began to hold between the two.
                let before = failed_starts.iter().filter(|s| **s < at).max();
                let resolution = before.map_or(Duration::ZERO, |b| at.saturating_sub(*b));
                return outcome(e, true, seen, at, resolution, attempts, clock);
            }
            if !looking {
                return outcome(
                    e,
                    false,
                    last_seen,
                    clock.elapsed(),
                    Duration::ZERO,
                    attempts,
                    clock,
                );
            }
        }
        let wake = match drained_by {
            Some(by) => by,
            None if !may_look && gate_pings_out >= MAX_OVERLAPPING => fallback_at.min(deadline),
            None => next.max(now).min(deadline),
        };
        let wake = tokio::time::sleep_until(wake.into());
        tokio::select! {
            Some((started, gating, seen)) = looks.next(), if !looks.is_empty() => {
                tracing::debug!(
                    expectation = %e.label,
                    started = ?started,
                    holds = seen.holds,
                    observed = %seen.observed,
                    "looked"
                );
                if gating {
                    gate_pings_out -= 1;
                    if seen.holds && !gate_open {
                        gate_open = true;
                        failed_starts.append(&mut gate_failed);
                        next = Instant::now();
                    } else if !gate_open {
                        gate_failed.push(started);
                        if !looked {
                            last_seen = seen;
                        }
                    }
                } else if seen.holds {
                    out.retain(|s| *s != started);
                    // Looks still out began earlier or later; an earlier one may hold too.
                    if held.as_ref().is_none_or(|(at, _)| started < *at) {
                        held = Some((started, seen));
                    }
                    if drained_by.is_none() {
                        let took = Instant::now().saturating_duration_since(clock + started);
                        drained_by = Some(Instant::now() + took.max(POLL));
                    }
                } else {
                    out.retain(|s| *s != started);
                    looked = true;
                    failed_starts.push(started);
                    last_seen = seen;
                }
            }
            _ = wake => {}
        }
        if Instant::now() >= deadline + Duration::from_secs(5) {
            // A look that hangs past the deadline: give up with what was seen.
            return outcome(
                e,
                false,
                last_seen,
                clock.elapsed(),
                Duration::ZERO,
                attempts,
                clock,
            );
        }
    }
}

/// Judges a negative expectation once the phase has settled: it must hold on every look
/// for its hold time.
async fn judged_when_settled(lab: &Lab, e: &Expectation, clock: Instant, quiet: &Quiet) -> Outcome {
    // Judging begins when the positives are done; from then it has the expectation's
    // deadline, and at least long enough for a daemon's startup grace, the settle time and
    // any keepalive window the phase needs (which grows as sessions are seen).
    let start = Instant::now();
    let deadline = || {
        let least = e.settle.max(quiet.window()) + STARTUP_GRACE + e.hold;
        start + e.deadline.max(least)
    };
    loop {
        if quiet.is_settled(e.settle) {
            break;
        }
        if Instant::now() >= deadline() {
            return outcome(
                e,
                false,
                Observation::new(
                    false,
                    format!(
                        "the phase never settled: {:.1} s after it began (the last change {:.1} \
                     s in); negatives are judged only once nothing changes for {}{}{}",
                        clock.elapsed().as_secs_f64(),
                        quiet.since().saturating_duration_since(clock).as_secs_f64(),
                        humantime::format_duration(e.settle),
                        match quiet.unproven() {
                            u if u.is_empty() => String::new(),
                            u => format!(
                                " and every session is heard from (not yet: {})",
                                u.join(", ")
                            ),
                        },
                        match quiet.dying() {
                            None => String::new(),
                            Some((n, left)) => format!(
                                " and OSPF neighbours no longer heard from are dropped ({n}: \
                                 {:.1} s to go)",
                                left.as_secs_f64()
                            ),
                        }
                    ),
                ),
                clock.elapsed(),
                Duration::ZERO,
                0,
                clock,
            );
        }
        tokio::time::sleep(crate::settle::SAMPLE).await;
    }
    let judging = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut seen = e.kind.observe(lab).await;
        tracing::debug!(expectation = %e.label, attempt = attempts, holds = seen.holds, observed = %seen.observed, "looked while holding");
        if !seen.holds {
            let at = judging.duration_since(clock);
            seen.observed = format!(
                "after the phase settled ({:.1} s in), it did not hold:\n{}",
                at.as_secs_f64(),
                seen.observed
            );
            return outcome(
                e,
                false,
                seen,
                clock.elapsed(),
                Duration::ZERO,
                attempts,
                clock,
            );
        }
        if judging.elapsed() >= e.hold {
            return outcome(
                e,
                true,
                seen,
                clock.elapsed(),
                Duration::ZERO,
                attempts,
                clock,
            );
        }
        tokio::time::sleep(HOLD_POLL.min(e.hold.saturating_sub(judging.elapsed()))).await;
    }
}

/// The verdict `holds` on `e`, from what was last `seen`. Its phase is filled in by the
/// caller that knows it.
fn outcome(
    e: &Expectation,
    holds: bool,
    seen: Observation,
    elapsed: Duration,
    resolution: Duration,
    attempts: u32,
    clock: Instant,
) -> Outcome {
    Outcome {
        label: e.label.clone(),
        kind: e.kind.tag(),
        node: e.kind.subject().to_string(),
        phase: String::new(),
        line: e.line,
        file: e.file.clone(),
        negative: e.is_negative(),
        holds,
        observed: seen.observed,
        elapsed,
        resolution,
        attempts,
        duration: clock.elapsed(),
        expected: expected_values(&e.kind),
        actual: seen.actual,
        log_tail: None,
    }
}

/// The kind's validated fields: its serialized form without the kind's tag around it.
fn expected_values(kind: &Kind) -> serde_json::Value {
    match serde_json::to_value(kind).expect("expectations serialize") {
        serde_json::Value::Object(tagged) => tagged
            .into_iter()
            .next()
            .map_or(serde_json::Value::Null, |(_, fields)| fields),
        other => other,
    }
}

/// Checks the expectations of phase `phase` whose clock started at `clock`; outcomes come
/// back in file order. `quiet` must be watching the lab meanwhile (see [`Quiet::watch`]).
pub async fn check_phase(
    lab: &Lab,
    phase: &str,
    expectations: &[Expectation],
    clock: Instant,
    quiet: &Quiet,
    told: &dyn Fn(&Outcome),
) -> Vec<Outcome> {
    let (negative, positive): (Vec<_>, Vec<_>) = expectations
        .iter()
        .enumerate()
        .partition(|(_, e)| e.is_negative());
    let mut outcomes: Vec<(usize, Outcome)> =
        futures::future::join_all(positive.iter().map(|(i, e)| async move {
            let mut outcome = until_it_holds(lab, e, clock).await;
            outcome.phase = phase.to_string();
            outcome.duration = clock.elapsed();
            told(&outcome);
            (*i, outcome)
        }))
        .await;
    let negatives = futures::future::join_all(negative.iter().map(|(i, e)| async move {
        let mut outcome = judged_when_settled(lab, e, clock, quiet).await;
        outcome.phase = phase.to_string();
        outcome.duration = clock.elapsed();
        told(&outcome);
        (*i, outcome)
    }))
    .await;
    outcomes.extend(negatives);
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}
