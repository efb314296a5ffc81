//! Shared by `max_unfragmented` and `no_fragmentation_up_to`: does a packet of a given size
//! cross (there and back) without being fragmented anywhere in the lab?
//!
//! A trial reads the IP counters of every namespace of the lab (nodes and the hidden ones
//! that carry links), sends one echo request without DF, waits for the reply, and reads the
//! counters again. Any fragment made, any datagram that could not be fragmented, and any
//! reassembly, in either family (an overlay's outer packets are IPv4 whatever the inner
//! family), counts as fragmentation, and the namespaces where it happened are named.
//! The echo reply has the request's size and takes the way back, so the answer covers both
//! directions.
//!
//! While a trial runs no other probe of the lab sends anything
//! ([`Lab::exclusive_probing`]): expectations are checked concurrently, and another probe's
//! fragments would otherwise be counted as this one's. Routing daemons keep talking, but
//! their packets are small.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::lab::{Lab, ProbeError};
use crate::probe::{IpCounters, LargestPassing, Outcome, PingOutcome, PingSpec};

/// What one size came to.
#[derive(Debug, Clone)]
pub struct Trial {
    pub size: u16,
    /// The ping's result.
    pub outcome: PingOutcome,
    /// Namespaces whose fragmentation counters moved, with what moved.
    pub fragmented_in: Vec<(String, String)>,
}

impl Trial {
    /// Answered, and nothing fragmented on the way there or back.
    pub fn clean(&self) -> bool {
        self.outcome.is_reply() && self.fragmented_in.is_empty()
    }
}

impl fmt::Display for Trial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes: {}", self.size, self.outcome)?;
        if self.fragmented_in.is_empty() {
            if self.outcome.is_reply() {
                write!(f, ", not fragmented anywhere")?;
            }
        } else {
            for (ns, what) in &self.fragmented_in {
                write!(f, "\n    fragmentation in {ns}: {what}")?;
            }
        }
        Ok(())
    }
}

async fn counters(lab: &Lab) -> Result<Vec<(String, IpCounters)>, ProbeError> {
    let names: Vec<String> = lab.namespace_names().map(str::to_string).collect();
    let reads = names.into_iter().map(|name| async move {
        let netns = lab
            .netns(&name)
            .ok_or_else(|| ProbeError::NoSuchNode(name.clone()))?;
        let read =
            ProbeError::of_blocking(&name, move || crate::probe::ip_counters(&netns)).await?;
        Ok::<_, ProbeError>((name, read))
    });
    futures::future::try_join_all(reads).await
}

/// Sends one non-DF echo request of `size` bytes and reports where it was fragmented.
/// The caller holds [`Lab::exclusive_probing`].
pub async fn trial(
    lab: &Lab,
    from: &str,
    to: IpAddr,
    src: Option<IpAddr>,
    size: u16,
) -> Result<Trial, ProbeError> {
    let netns = lab
        .netns(from)
        .ok_or_else(|| ProbeError::NoSuchNode(from.to_string()))?;
    let before = counters(lab).await?;
    let spec = PingSpec {
        dst: to,
        src,
        size: Some(size),
        dont_fragment: false,
        ttl: None,
        timeout: Duration::from_millis(1000),
        attempts: 2,
    };
    let outcome = ProbeError::of_blocking(from, move || crate::probe::ping(&netns, &spec)).await?;
    let after = counters(lab).await?;
    let mut fragmented_in = Vec::new();
    for ((name, then), (_, now)) in before.iter().zip(&after) {
        let d = now.since(then);
        let mut what = Vec::new();
        if d.v4.any_fragmentation() {
            what.push(format!("IPv4 {}", d.v4));
        }
        if let Some(v6) = d.v6.filter(|s| s.any_fragmentation()) {
            what.push(format!("IPv6 {v6}"));
        }
        if !what.is_empty() {
            fragmented_in.push((name.clone(), what.join("; ")));
        }
    }
    Ok(Trial {
        size,
        outcome,
        fragmented_in,
    })
}

/// The largest size in `lo..=hi` that crosses cleanly, trying `first` (the expected answer)
/// first; returns the answer and the trials made.
pub async fn largest_clean(
    lab: &Lab,
    from: &str,
    to: IpAddr,
    src: Option<IpAddr>,
    (lo, hi): (u16, u16),
    first: u16,
) -> Result<(Option<u16>, Vec<Trial>), ProbeError> {
    let mut search = LargestPassing::expecting(lo, hi, first);
    let mut trials = Vec::new();
    while let Some(size) = search.next_size() {
        let t = trial(lab, from, to, src, size).await?;
        let outcome = if t.clean() {
            Outcome::Passed
        } else {
            Outcome::Failed { reported_mtu: None }
        };
        search.record(size, outcome);
        trials.push(t);
    }
    Ok((search.answer(), trials))
}

/// The trials as indented lines, for an observation.
pub fn describe(trials: &[Trial]) -> String {
    trials
        .iter()
        .map(|t| format!("  {t}"))
        .collect::<Vec<_>>()
        .join("\n")
}
