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

use crate::lab::Lab;
use crate::probe::{IpCounters, PingOutcome, PingSpec};

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

async fn counters(lab: &Lab) -> Result<Vec<(String, IpCounters)>, String> {
    let names: Vec<String> = lab.namespace_names().map(str::to_string).collect();
    let reads = names.into_iter().map(|name| async move {
        let netns = lab
            .netns(&name)
            .ok_or_else(|| format!("namespace `{name}` vanished"))?;
        let read = tokio::task::spawn_blocking(move || crate::probe::ip_counters(&netns))
            .await
            .map_err(|e| format!("reading counters of {name}: {e}"))?
            .map_err(|e| format!("reading counters of {name}: {e}"))?;
        Ok::<_, String>((name, read))
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
) -> Result<Trial, String> {
    let netns = lab
        .netns(from)
        .ok_or_else(|| format!("no node `{from}` in the lab"))?;
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
    let outcome = tokio::task::spawn_blocking(move || crate::probe::ping(&netns, &spec))
        .await
        .map_err(|e| format!("ping from {from} panicked: {e}"))?
        .map_err(|e| format!("ping from {from}: {e}"))?;
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

/// The search for the largest clean size in `lo..=hi`, as a pure state machine: it says
/// which size to try next ([`Bisection::next`]) and is told how that went
/// ([`Bisection::record`]). It assumes that a size that crosses cleanly means every smaller
/// one does too. `first`, the expected answer, is tried before bisecting, then the size just
/// above it: when the expectation is right, two trials settle it.
#[derive(Debug, Clone)]
pub struct Bisection {
    lo: u16,
    hi: u16,
    first: Option<u16>,
    /// Every size <= good is clean.
    good: Option<u16>,
    /// Every size >= bad is not.
    bad: Option<u16>,
    /// `lo` was found not clean: there is no answer.
    nothing: bool,
}

impl Bisection {
    pub fn new(lo: u16, hi: u16, first: u16) -> Bisection {
        Bisection {
            lo,
            hi: hi.max(lo),
            first: (lo..hi).contains(&first).then_some(first),
            good: None,
            bad: None,
            nothing: false,
        }
    }

    /// The next size to try, or `None` when the answer is known.
    pub fn next(&self) -> Option<u16> {
        if self.nothing {
            return None;
        }
        if let Some(first) = self.first {
            return match (self.good, self.bad) {
                (None, None) => Some(first),
                (Some(g), None) if g == first => Some(first + 1),
                _ => self.bisect(),
            };
        }
        self.bisect()
    }

    fn bisect(&self) -> Option<u16> {
        let Some(g) = self.good else {
            return Some(self.lo);
        };
        if g >= self.hi {
            return None;
        }
        let Some(b) = self.bad else {
            return Some(self.hi);
        };
        (b - g > 1).then(|| g + (b - g) / 2)
    }

    /// Records how `size` went.
    pub fn record(&mut self, size: u16, clean: bool) {
        if clean {
            self.good = Some(self.good.map_or(size, |g| g.max(size)));
        } else if size <= self.lo {
            self.nothing = true;
        } else {
            self.bad = Some(self.bad.map_or(size, |b| b.min(size)));
        }
    }

    /// The largest clean size once [`Bisection::next`] says `None`: `None` if even `lo`
    /// was not clean.
    pub fn answer(&self) -> Option<u16> {
        if self.nothing { None } else { self.good }
    }
}

/// Runs a [`Bisection`] with real trials; returns the answer and the trials made.
pub async fn largest_clean(
    lab: &Lab,
    from: &str,
    to: IpAddr,
    src: Option<IpAddr>,
    (lo, hi): (u16, u16),
    first: u16,
) -> Result<(Option<u16>, Vec<Trial>), String> {
    let mut search = Bisection::new(lo, hi, first);
    let mut trials = Vec::new();
    while let Some(size) = search.next() {
        let t = trial(lab, from, to, src, size).await?;
        search.record(size, t.clean());
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

#[cfg(test)]
mod tests {
    use super::Bisection;

    /// Runs a search against a path whose largest clean size is `limit` (`None`: nothing
    /// is clean); returns the answer and the sizes tried.
    fn run(lo: u16, hi: u16, first: u16, limit: Option<u16>) -> (Option<u16>, Vec<u16>) {
        let mut b = Bisection::new(lo, hi, first);
        let mut tried = Vec::new();
        while let Some(size) = b.next() {
            assert!(tried.len() < 40, "the search does not end: {tried:?}");
            tried.push(size);
            b.record(size, limit.is_some_and(|l| size <= l));
        }
        (b.answer(), tried)
    }

    #[test]
    fn a_right_expectation_takes_two_trials() {
        assert_eq!(
            run(28, 1500, 1380, Some(1380)),
            (Some(1380), vec![1380, 1381])
        );
    }

    #[test]
    fn a_wrong_expectation_still_finds_the_exact_answer() {
        for limit in [28, 29, 100, 1379, 1381, 1420, 1499] {
            for first in [1380, 28, 1499, 1500, 2000] {
                let (found, tried) = run(28, 1500, first, Some(limit));
                assert_eq!(
                    found,
                    Some(limit),
                    "limit {limit}, first {first}: {tried:?}"
                );
                assert!(tried.len() <= 16, "limit {limit}, first {first}: {tried:?}");
            }
        }
    }

    #[test]
    fn the_ends_of_the_range() {
        // Everything clean: the top of the range is the answer.
        assert_eq!(run(28, 1500, 1380, Some(9000)).0, Some(1500));
        // Nothing clean, not even the smallest packet: no answer.
        assert_eq!(run(28, 1500, 1380, None).0, None);
        assert_eq!(run(28, 1500, 28, None), (None, vec![28]));
    }
}
