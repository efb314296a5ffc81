//! Time to green, explained: from the start of building until routelab knew the last
//! positive expectation of phase 0 held, split into routelab's own work and the time the
//! daemons' protocols took.
//!
//! The model is simple and says where it is unsure:
//! - routelab's share is building the network, starting the daemons until each answered
//!   on its control socket, the probing of the decisive expectation (from the start of the
//!   look that saw it hold until its verdict was in), and the polling latency — it began
//!   to hold at most one poll interval (the outcome's resolution) before that look began,
//!   so this part is an upper bound;
//! - the protocols' share is the rest: BGP's connect and start delays (BIRD 2's default
//!   `connect delay time` and `start delay time` are 5 s), OSPF's hello, wait and dead
//!   intervals, route propagation, and the kernel.
//!
//! Limits: the last expectation decides; earlier ones' probing overlaps it and is not
//! counted. Negative expectations are judged only after the phase settles, so they are
//! not part of the time to green. Probes' CPU use, which may slow the daemons, is counted
//! as the protocols'.

use std::time::Duration;

use serde::Serialize;

use crate::json::serialize_secs;
use crate::observe::Outcome;

/// The split of one scenario's time to green.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeToGreen {
    #[serde(serialize_with = "serialize_secs")]
    pub total: Duration,
    #[serde(serialize_with = "serialize_secs")]
    pub build: Duration,
    #[serde(serialize_with = "serialize_secs")]
    pub daemons: Duration,
    /// The decisive expectation's look that held, and any looks still out when it did.
    #[serde(serialize_with = "serialize_secs")]
    pub probing: Duration,
    /// At most this long between it beginning to hold and a look seeing it.
    #[serde(serialize_with = "serialize_secs")]
    pub polling: Duration,
    /// The remainder.
    #[serde(serialize_with = "serialize_secs")]
    pub protocols: Duration,
}

impl TimeToGreen {
    /// The split for a scenario built in `build`, its daemons up in `daemons`, and the
    /// outcomes of its phase 0. `None` when phase 0 has no positive expectation or one did
    /// not hold.
    pub fn of(build: Duration, daemons: Duration, phase0: &[Outcome]) -> Option<TimeToGreen> {
        let positives = || phase0.iter().filter(|o| !o.negative);
        if positives().any(|o| !o.holds) {
            return None;
        }
        let last = positives().max_by_key(|o| o.duration)?;
        let probing = last.duration.saturating_sub(last.elapsed);
        let polling = last.resolution.min(last.elapsed);
        let total = build + daemons + last.duration;
        Some(TimeToGreen {
            total,
            build,
            daemons,
            probing,
            polling,
            protocols: total.saturating_sub(build + daemons + probing + polling),
        })
    }

    /// routelab's own share.
    pub fn routelab(&self) -> Duration {
        self.build + self.daemons + self.probing + self.polling
    }
}

impl std::fmt::Display for TimeToGreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |d: Duration| d.as_secs_f64();
        write!(
            f,
            "time to green {:.2} s: routelab {:.2} s (build {:.2}, daemons {:.2}, probing {:.2}, \
             polling \u{2264}{:.2}), protocols {:.2} s",
            s(self.total),
            s(self.routelab()),
            s(self.build),
            s(self.daemons),
            s(self.probing),
            s(self.polling),
            s(self.protocols)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positive(elapsed_ms: u64, resolution_ms: u64, decided_ms: u64) -> Outcome {
        Outcome {
            label: "bgp r1 r2".into(),
            kind: "bgp",
            line: 1,
            negative: false,
            holds: true,
            observed: String::new(),
            elapsed: Duration::from_millis(elapsed_ms),
            resolution: Duration::from_millis(resolution_ms),
            duration: Duration::from_millis(decided_ms),
            attempts: 3,
            log_tail: None,
            node: "r1".into(),
            phase: "as built".into(),
            file: None,
            expected: serde_json::Value::Null,
            actual: serde_json::Map::new(),
        }
    }

    #[test]
    fn the_last_decided_expectation_splits_the_time() {
        let ms = Duration::from_millis;
        let mut negative = positive(19_000, 0, 19_000);
        negative.negative = true;
        let p = [
            positive(10_000, 25, 10_300),
            positive(11_000, 25, 11_050),
            negative,
        ];
        let green = TimeToGreen::of(ms(10), ms(200), &p).unwrap();
        assert_eq!(green.total, ms(11_260));
        assert_eq!(green.probing, ms(50));
        assert_eq!(green.polling, ms(25));
        assert_eq!(green.routelab(), ms(285));
        assert_eq!(green.protocols, ms(10_975));
        assert_eq!(
            green.to_string(),
            "time to green 11.26 s: routelab 0.28 s (build 0.01, daemons 0.20, probing 0.05, \
             polling \u{2264}0.03), protocols 10.97 s"
        );
    }

    #[test]
    fn no_green_without_every_positive_holding() {
        let mut failed = positive(30_000, 0, 30_000);
        failed.holds = false;
        let ms = Duration::from_millis;
        let held = positive(1_000, 25, 1_010);
        assert_eq!(TimeToGreen::of(ms(1), ms(1), &[held, failed]), None);
        assert_eq!(TimeToGreen::of(ms(1), ms(1), &[]), None);
    }
}
