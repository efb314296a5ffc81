//! `ping`: an ICMP echo from a node to an address is answered, or is not.
//! Observed on the running lab: see `routelab_model::expect::ping` for the spec.

use routelab_model::expect::ping::Ping;

use std::time::Duration;

use crate::probe::{PingOutcome, PingSpec};
use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Ping {
    async fn observe(&self, lab: &Lab) -> Observation {
        self.look(lab, self.succeeds).await
    }

    async fn observe_failing(&self, lab: &Lab) -> Observation {
        self.look(lab, false).await
    }

    fn looks_overlap(&self) -> bool {
        self.succeeds
    }
}

trait Look {
    async fn look(&self, lab: &Lab, quick: bool) -> Observation;

    /// How long a reply the expectation wants may take: up to its `rtt` bound (twice a
    /// lower one), so a slow line's reply is waited for.
    fn slowest_reply(&self) -> Duration;
}

impl Look for Ping {
    fn slowest_reply(&self) -> Duration {
        let bound = self
            .rtt
            .and_then(|r| r.max.or(r.min.map(|m| routelab_model::impairment::Micros(m.0 * 2))));
        Duration::from_micros(bound.map_or(0, |b| b.0))
    }

    /// One ping: `quick` for one that should answer (looked at often, overlapping), else
    /// waiting long enough for the evidence of a failure.
    async fn look(&self, lab: &Lab, quick: bool) -> Observation {
        let spec = PingSpec {
            dst: self.to,
            src: self.src,
            size: self.size,
            dont_fragment: self.df,
            ttl: None,
            // A ping that must succeed is looked at often, by overlapping looks (see
            // `looks_overlap`); one that must fail waits longer for what would disprove it.
            timeout: if quick {
                Duration::from_millis(500).max(self.slowest_reply())
            } else {
                Duration::from_millis(1500)
            },
            // Three requests 1.5 s apart: an ICMP error that comes only after the
            // neighbour's address resolution has given up (3 s) still counts.
            attempts: if quick { 1 } else { 3 },
        };
        let outcome = match lab
            .probe(&self.from, move |ns| crate::probe::ping(ns, &spec))
            .await
        {
            Ok(o) => o,
            Err(e) => return Observation::error(e),
        };
        let holds = match (&outcome, outcome.failure()) {
            (PingOutcome::Reply { ttl, rtt, .. }, _) => {
                self.succeeds
                    && self.ttl.is_none_or(|want| want == *ttl)
                    && self.rtt.is_none_or(|bounds| bounds.holds(*rtt))
            }
            (_, failure) => !self.succeeds && (self.because.is_none() || self.because == failure),
        };
        let mut seen = outcome.to_string();
        if let Some(failure) = outcome.failure() {
            seen.push_str(&format!(" [{failure}]"));
        }
        let (from, ttl, rtt) = match &outcome {
            PingOutcome::Reply { from, ttl, rtt } => {
                (Some(*from), Some(*ttl), Some((rtt.as_secs_f64() * 1e6).round() / 1000.0))
            }
            PingOutcome::FragmentationNeeded { from, .. } | PingOutcome::TimeExceeded { from } => {
                (Some(*from), None, None)
            }
            PingOutcome::Unreachable { from, .. } => (*from, None, None),
            PingOutcome::NoReply => (None, None, None),
        };
        Observation::new(holds, seen)
            .with("reply", matches!(outcome, PingOutcome::Reply { .. }))
            .with("from", from)
            .with("ttl", ttl)
            .with("rtt_ms", rtt)
            .with("failure", outcome.failure().map(|f| f.to_string()))
    }
}
