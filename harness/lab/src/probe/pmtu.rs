//! Path MTU: the largest packet that crosses the whole path without being fragmented.
//!
//! Found by sending DF echo requests (for IPv6: never fragmented by the source) of chosen
//! sizes and searching ([`super::search`]) on which get a reply. Two kinds of failure are
//! handled:
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
use super::search::{LargestPassing, Outcome};
use super::socket::{EchoSocket, LocalRefusal};
use crate::net::Netns;

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
    /// A size to try first (an expectation's answer): right, it settles the search in two
    /// probes; wrong, it costs those two before the plain search (see `search`).
    pub expected: Option<u16>,
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
            expected: None,
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
/// Takes at most about `2 * (log2(max - min + 1) + 1 + 2 * MAX_REPORTS)` probes (the factor
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

impl Verdict {
    fn outcome(&self) -> Outcome {
        match self {
            Verdict::Passed => Outcome::Passed,
            Verdict::TooBig { mtu, .. } => Outcome::Failed {
                reported_mtu: Some(*mtu),
            },
            Verdict::Lost => Outcome::Failed { reported_mtu: None },
        }
    }
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
    let mut search = match spec.expected {
        Some(expected) => LargestPassing::expecting(spec.min, spec.max, expected),
        None => LargestPassing::new(spec.min, spec.max),
    };
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
        search.record(size, verdict.outcome());
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

#[cfg(test)]
mod tests {
    use super::*;

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
