//! Path MTU: the largest packet that crosses the whole path without being fragmented.
//!
//! Found by sending DF echo requests (for IPv6: never fragmented by the source) of chosen
//! sizes and bisecting on which get a reply. Two kinds of failure are handled:
//!
//! - a router says why: ICMP "fragmentation needed" / ICMPv6 "packet too big" with the MTU
//!   of its next hop. That MTU is tried next, and the size just above it too, so a wrong or
//!   stale report cannot decide the answer on its own.
//! - the packet vanishes (a PMTU black hole: the router's ICMP is filtered). A probe that
//!   gets no reply is sent once more before the size is taken as too big.
//!
//! The kernel's cached path MTU is ignored for every probe, so earlier probes (or earlier
//! runs) do not change the result.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::icmp::{self, ErrorKind, Message};
use super::ping::PingOutcome;
use super::socket::{EchoSocket, LocalRefusal};
use crate::net::Netns;

/// How many router-reported MTUs the search follows before it just bisects; each hop on the
/// path that is narrower than the one before can report one.
const MAX_HINTS: usize = 4;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmtuSpec {
    pub dst: IpAddr,
    /// Source address to probe from; the routing table picks one if `None`.
    pub src: Option<IpAddr>,
    /// Smallest packet size considered (it must itself get a reply, or there is no answer).
    pub min: u16,
    /// Largest packet size considered; the answer is `max` if a packet that big gets through.
    pub max: u16,
    /// How long to wait for each probe's answer. A size whose probe is silently lost costs
    /// twice this.
    pub timeout: Duration,
}

impl PmtuSpec {
    /// Searches 1280 (the IPv6 minimum) or 576 (IPv4's) up to 1500, half a second per probe.
    pub fn new(dst: IpAddr) -> PmtuSpec {
        PmtuSpec {
            dst,
            src: None,
            min: if dst.is_ipv6() { 1280 } else { 576 },
            max: 1500,
            timeout: Duration::from_millis(500),
        }
    }
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMtu {
    pub dst: IpAddr,
    /// Largest DF packet size (whole IP packet, in bytes) that got an echo reply; every size
    /// above it that was tried did not.
    pub mtu: u16,
    /// Echo requests actually sent, retries included.
    pub probes_sent: u32,
    /// What each too-big probe saw, in the order sent, e.g.
    /// `1421 bytes: frag needed, mtu 1420 from 10.0.0.2` or `1421 bytes: no reply to 2 probes`.
    pub evidence: Vec<String>,
}

impl fmt::Display for PathMtu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "path MTU to {}: {} bytes ({} probes)",
            self.dst, self.mtu, self.probes_sent
        )?;
        for line in &self.evidence {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// Measures the path MTU from inside `ns`; blocks the calling thread.
///
/// Takes at most about `2 * (log2(max - min + 1) + 1 + 2 * MAX_HINTS)` probes (the factor
/// two is the retry after silence). Fails if even `min` bytes get no reply, or if the path
/// answers with something other than a reply or a too-big error (unreachable, TTL exceeded).
pub fn path_mtu(ns: &Netns, spec: &PmtuSpec) -> io::Result<PathMtu> {
    validate(spec)?;
    ns.run(|| path_mtu_here(spec))?
}

fn validate(spec: &PmtuSpec) -> io::Result<()> {
    let floor = icmp::min_echo_packet(spec.dst.is_ipv6());
    if usize::from(spec.min) < floor || spec.min > spec.max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "path MTU search range {}..={} must satisfy {floor} <= min <= max",
                spec.min, spec.max
            ),
        ));
    }
    Ok(())
}

/// What one probe size came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Passed,
    /// Refused with a reported MTU, by a router or by the local stack.
    TooBig {
        mtu: u32,
        from: IpAddr,
        local: bool,
    },
    /// No answer to either try.
    Lost,
}

/// Sends DF probes and counts them.
struct Prober {
    socket: EchoSocket,
    timeout: Duration,
    seq: u16,
    sent: u32,
}

impl Prober {
    /// Tries `size` up to twice; an answer to either try counts.
    fn probe(&mut self, size: u16) -> io::Result<Verdict> {
        let mut ours = Vec::new();
        for _ in 0..2 {
            self.seq = self.seq.wrapping_add(1);
            let seq = self.seq;
            match self.socket.send(seq, usize::from(size))? {
                Ok(_) => {
                    self.sent += 1;
                    ours.push(seq);
                }
                Err(LocalRefusal::TooBig { mtu }) => {
                    let from = self.socket.local_address();
                    return Ok(Verdict::TooBig {
                        mtu,
                        from,
                        local: true,
                    });
                }
                Err(LocalRefusal::Unreachable { description }) => {
                    return Err(io::Error::new(
                        io::ErrorKind::HostUnreachable,
                        format!(
                            "path MTU to {}: cannot send: {description}",
                            self.socket.dst()
                        ),
                    ));
                }
            }
            let deadline = Instant::now() + self.timeout;
            while let Some(received) = self.socket.recv(deadline)? {
                // Only answers to this size's tries count: a late reply to a smaller probe
                // says nothing about this one.
                if !ours.contains(&received.seq()) {
                    continue;
                }
                match received.message {
                    Message::EchoReply { .. } => return Ok(Verdict::Passed),
                    Message::Error {
                        kind: ErrorKind::TooBig { mtu },
                        ..
                    } => {
                        return Ok(Verdict::TooBig {
                            mtu,
                            from: received.from,
                            local: false,
                        });
                    }
                    Message::Error { kind, .. } => {
                        let outcome = super::ping::from_error(received.from, kind);
                        return Err(broken_path(self.socket.dst(), size, &outcome));
                    }
                }
            }
        }
        Ok(Verdict::Lost)
    }
}

fn broken_path(dst: IpAddr, size: u16, outcome: &PingOutcome) -> io::Error {
    io::Error::new(
        io::ErrorKind::HostUnreachable,
        format!("path MTU to {dst}: a {size}-byte probe got \"{outcome}\""),
    )
}

/// [`path_mtu`] from the calling thread's namespace.
pub(crate) fn path_mtu_here(spec: &PmtuSpec) -> io::Result<PathMtu> {
    validate(spec)?;
    let mut prober = Prober {
        socket: EchoSocket::open(spec.dst, spec.src, true)?,
        timeout: spec.timeout,
        seq: 0,
        sent: 0,
    };
    let v6 = spec.dst.is_ipv6();
    let mut search = Search::new(spec.min, spec.max);
    let mut evidence = Vec::new();
    while let Some(size) = search.next_size() {
        let verdict = prober.probe(size)?;
        match &verdict {
            Verdict::Passed => {}
            Verdict::TooBig { mtu, from, local } => evidence.push(format!(
                "{size} bytes: {}, mtu {mtu} from {from}{}",
                if v6 { "packet too big" } else { "frag needed" },
                if *local { " (local interface)" } else { "" }
            )),
            Verdict::Lost => evidence.push(format!("{size} bytes: no reply to 2 probes")),
        }
        search.record(size, &verdict);
    }
    match search.answer() {
        Some(mtu) => Ok(PathMtu {
            dst: spec.dst,
            mtu,
            probes_sent: prober.sent,
            evidence,
        }),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "path MTU to {}: not even {} bytes get through ({})",
                spec.dst,
                spec.min,
                evidence.join("; ")
            ),
        )),
    }
}

/// The search state, apart from sending: which sizes are known to pass and to fail, and
/// which size to try next. Sizes are held as u32 so that `min - 1` and `max + 1` fit.
#[derive(Debug)]
struct Search {
    /// Largest size that got a reply, or `min - 1` if none has yet.
    passed: u32,
    /// Whether `passed` was actually seen to pass (rather than being `min - 1`).
    verified: bool,
    /// Smallest size that did not get through, or `max + 1`.
    failed: u32,
    /// The next size to try, if the last answer suggested one.
    suggested: Option<u32>,
    /// Sizes tried because a router reported them as the MTU.
    hinted: Vec<u32>,
}

impl Search {
    fn new(min: u16, max: u16) -> Search {
        Search {
            passed: u32::from(min) - 1,
            verified: false,
            failed: u32::from(max) + 1,
            // The common case is that the largest size fits: try it first.
            suggested: Some(u32::from(max)),
            hinted: Vec::new(),
        }
    }

    /// The size to try next, or `None` once the answer is exact.
    fn next_size(&mut self) -> Option<u16> {
        if self.failed <= self.passed + 1 {
            return None;
        }
        let size = match self.suggested.take() {
            Some(s) if s > self.passed && s < self.failed => s,
            _ => self.passed + (self.failed - self.passed) / 2,
        };
        u16::try_from(size).ok()
    }

    fn record(&mut self, size: u16, verdict: &Verdict) {
        let size = u32::from(size);
        match verdict {
            Verdict::Passed => {
                if size > self.passed {
                    self.passed = size;
                    self.verified = true;
                }
                // A reported MTU that works: check that one byte more really fails.
                if self.hinted.contains(&size) {
                    self.suggested = Some(size + 1);
                }
            }
            Verdict::TooBig { mtu, .. } => {
                self.failed = self.failed.min(size);
                let usable = *mtu > self.passed && *mtu < self.failed;
                if usable && self.hinted.len() < MAX_HINTS {
                    self.hinted.push(*mtu);
                    self.suggested = Some(*mtu);
                }
            }
            Verdict::Lost => self.failed = self.failed.min(size),
        }
    }

    /// The path MTU, once `next_size` is `None`; `None` if nothing got through.
    fn answer(&self) -> Option<u16> {
        if self.verified {
            u16::try_from(self.passed).ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against a model path: sizes up to `mtu` pass; larger ones are refused
    /// with `report(size)` as the MTU, or lost if that is `None`. Returns the answer and the
    /// sizes tried.
    fn simulate(
        min: u16,
        max: u16,
        mtu: u16,
        report: impl Fn(u16) -> Option<u32>,
    ) -> (Option<u16>, Vec<u16>) {
        let mut search = Search::new(min, max);
        let mut tried = Vec::new();
        while let Some(size) = search.next_size() {
            tried.push(size);
            assert!(tried.len() < 64, "search does not end: {tried:?}");
            let verdict = if size <= mtu {
                Verdict::Passed
            } else {
                match report(size) {
                    Some(m) => Verdict::TooBig {
                        mtu: m,
                        from: "10.0.0.1".parse().unwrap(),
                        local: false,
                    },
                    None => Verdict::Lost,
                }
            };
            search.record(size, &verdict);
        }
        (search.answer(), tried)
    }

    #[test]
    fn an_honest_report_takes_three_probes() {
        let (answer, tried) = simulate(576, 1500, 1420, |_| Some(1420));
        assert_eq!(answer, Some(1420));
        assert_eq!(tried, vec![1500, 1420, 1421]);
    }

    #[test]
    fn a_black_hole_is_bisected() {
        let (answer, tried) = simulate(576, 1500, 1420, |_| None);
        assert_eq!(answer, Some(1420));
        // 925 candidate sizes: at most ten halvings after the first probe at max.
        assert!(tried.len() <= 11, "{tried:?}");
    }

    #[test]
    fn narrowing_hops_report_one_after_another() {
        // First hop says 1450; a later, narrower hop says 1400.
        let (answer, tried) = simulate(576, 1500, 1400, |size| {
            Some(if size > 1450 { 1450 } else { 1400 })
        });
        assert_eq!(answer, Some(1400));
        assert_eq!(tried, vec![1500, 1450, 1400, 1401]);
    }

    #[test]
    fn wrong_reports_cannot_decide_the_answer() {
        // Claims 1300 but 1420 fits: the confirmation probe at 1301 passes, bisection goes on.
        let (answer, _) = simulate(576, 1500, 1420, |_| Some(1300));
        assert_eq!(answer, Some(1420));
        // Reports of 0 or of the probe's own size are ignored.
        let (answer, _) = simulate(576, 1500, 1000, |_| Some(0));
        assert_eq!(answer, Some(1000));
        let (answer, _) = simulate(576, 1500, 1000, |size| Some(u32::from(size)));
        assert_eq!(answer, Some(1000));
    }

    #[test]
    fn the_search_is_bounded_whatever_is_reported() {
        for mtu in [576u16, 577, 1000, 1279, 1499, 1500] {
            for lie in [None, Some(577u32), Some(1499), Some(9000)] {
                let (answer, tried) = simulate(576, 1500, mtu, |_| lie);
                assert_eq!(answer, Some(mtu), "mtu {mtu} lie {lie:?}");
                assert!(tried.len() <= 11 + 2 * MAX_HINTS, "{tried:?}");
            }
        }
    }

    #[test]
    fn nothing_fits_means_no_answer() {
        let (answer, tried) = simulate(576, 1500, 500, |_| None);
        assert_eq!(answer, None);
        assert_eq!(tried.last(), Some(&576));
        let (answer, tried) = simulate(1400, 1400, 1500, |_| None);
        assert_eq!((answer, tried), (Some(1400), vec![1400]));
    }

    #[test]
    fn ranges_are_checked() {
        let mut spec = PmtuSpec::new("10.0.0.1".parse().unwrap());
        assert!(validate(&spec).is_ok());
        spec.min = 27;
        assert!(validate(&spec).is_err());
        spec.min = 1600;
        assert!(validate(&spec).is_err());
    }
}
