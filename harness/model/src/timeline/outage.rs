//! `outage`: how long traffic from a node (or pod) to an address stops during a phase.
//!
//! ```yaml
//! measure:
//!   - outage: { from: kubemaster-pod0, to: 10.42.253.137 }            # measured, reported
//!   - outage: { from: kubemaster-pod0, to: 10.42.253.137, max: 10s }  # and asserted
//! ```
//! An ICMP echo goes out every [`INTERVAL`] from the phase's start until the phase ends,
//! for at least 5 s, and with `max` at least until traffic has resumed (within the phase's
//! budget). The report gives
//! the probes sent and lost, the longest gap between answered probes (a gap already open
//! when the phase starts counts from the phase's start), and when traffic resumed. With
//! `max`, a longer gap fails the phase.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::expect::{Probe, With, probe_origin};
use crate::network::Network;

/// How often a probe goes out.
pub const INTERVAL: Duration = Duration::from_millis(10);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    /// The longest gap allowed, e.g. `10s`.
    pub max: Option<Spanned<String>>,
}

pub type Spec = With<Probe, Fields>;

#[derive(Debug, Clone, Serialize)]
pub struct Outage {
    pub from: String,
    pub to: std::net::IpAddr,
    pub src: Option<std::net::IpAddr>,
    #[serde(skip)]
    pub max: Option<Duration>,
}

impl Outage {
    pub fn validate(spec: &Spec, cx: &mut Context, _: &Network) -> Option<Self> {
        let from = probe_origin(cx, &spec.group)?;
        let max = spec.spec.max.as_ref().map(|m| cx.duration(m));
        Some(Outage {
            from,
            to: spec.group.to(),
            src: spec.group.src(),
            max,
        })
    }
}

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "outage {} -> {}", self.from, self.to)?;
        if let Some(max) = self.max {
            write!(f, " at most {}", humantime::format_duration(max))?;
        }
        Ok(())
    }
}

/// What an outage probe saw in one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutageFigures {
    pub sent: u32,
    pub lost: u32,
    /// The longest time without an answered probe, from the phase's start.
    #[serde(serialize_with = "secs")]
    pub longest_gap: Duration,
    /// When the longest gap began, from the phase's start.
    #[serde(serialize_with = "secs")]
    pub gap_from: Duration,
    /// When traffic came back for good (the first answered probe after the last lost one),
    /// from the phase's start; `None` while the last probes are still lost.
    #[serde(serialize_with = "opt_secs")]
    pub resumed_at: Option<Duration>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

impl OutageFigures {
    /// From the probes of a phase — each one's send time after the phase's start and
    /// whether it was answered — and when the phase ended.
    pub fn from_probes(probes: &[(Duration, bool)], ended: Duration) -> OutageFigures {
        let sent = probes.len() as u32;
        let lost = probes.iter().filter(|(_, answered)| !answered).count() as u32;
        let mut longest = (Duration::ZERO, Duration::ZERO);
        let mut last_answer = Duration::ZERO;
        for &(at, answered) in probes.iter().filter(|(_, a)| *a) {
            let _ = answered;
            let gap = at.saturating_sub(last_answer);
            if gap > longest.0 {
                longest = (gap, last_answer);
            }
            last_answer = at;
        }
        let last_lost = probes.iter().rev().find(|(_, a)| !a).map(|(at, _)| *at);
        let resumed_at = match last_lost {
            None => Some(Duration::ZERO),
            Some(lost_at) => probes
                .iter()
                .find(|(at, a)| *a && *at > lost_at)
                .map(|(at, _)| *at),
        };
        if resumed_at.is_none() {
            // Still down at the end: the open gap counts up to then.
            let gap = ended.saturating_sub(last_answer);
            if gap > longest.0 {
                longest = (gap, last_answer);
            }
        }
        OutageFigures {
            sent,
            lost,
            longest_gap: longest.0,
            gap_from: longest.1,
            resumed_at,
        }
    }
}

impl fmt::Display for OutageFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} probes lost, longest gap {:.2} s from {:.2} s",
            self.lost,
            self.sent,
            self.longest_gap.as_secs_f64(),
            self.gap_from.as_secs_f64()
        )?;
        match self.resumed_at {
            Some(at) if self.lost > 0 => write!(f, ", traffic back at {:.2} s", at.as_secs_f64()),
            Some(_) => Ok(()),
            None => write!(f, ", traffic not back by the end of the phase"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn no_loss_means_no_outage() {
        let probes: Vec<_> = (0..10).map(|i| (ms(i * 10), true)).collect();
        let f = OutageFigures::from_probes(&probes, ms(100));
        assert_eq!((f.sent, f.lost), (10, 0));
        assert_eq!(f.longest_gap, ms(10));
        assert_eq!(f.resumed_at, Some(Duration::ZERO));
    }

    #[test]
    fn a_gap_in_the_middle_is_measured_between_answers() {
        let mut probes: Vec<_> = (0..10).map(|i| (ms(i * 10), true)).collect();
        for p in &mut probes[3..7] {
            p.1 = false;
        }
        let f = OutageFigures::from_probes(&probes, ms(100));
        assert_eq!(f.lost, 4);
        assert_eq!(f.longest_gap, ms(50));
        assert_eq!(f.gap_from, ms(20));
        assert_eq!(f.resumed_at, Some(ms(70)));
    }

    #[test]
    fn a_gap_open_at_the_start_counts_from_the_start_and_one_open_at_the_end_to_the_end() {
        let probes = [
            (ms(0), false),
            (ms(10), false),
            (ms(20), true),
            (ms(30), true),
        ];
        let f = OutageFigures::from_probes(&probes, ms(40));
        assert_eq!(f.longest_gap, ms(20));
        assert_eq!(f.gap_from, Duration::ZERO);
        assert_eq!(f.resumed_at, Some(ms(20)));
        let probes = [(ms(0), true), (ms(10), false), (ms(20), false)];
        let f = OutageFigures::from_probes(&probes, ms(500));
        assert_eq!(f.longest_gap, ms(500));
        assert_eq!(f.resumed_at, None);
    }
}
