//! Traceroute with ICMP echo requests (like `traceroute -I`).
//!
//! Every probe of a trace carries the same echo identifier and differs only in its sequence
//! number, so a router that balances flows over several paths hashes every probe alike and
//! the trace follows one path, as a real flow to the destination would.
//!
//! Routers rate-limit the "time exceeded" messages a trace depends on (Linux: a burst of
//! about six per source, then one per second; `net.ipv4.icmp_ratelimit`), so a few probes
//! per hop is plenty.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::icmp::{ErrorKind, Message};
use super::socket::{EchoSocket, LocalRefusal};
use crate::net::Netns;

/// Packet size of each probe, as `traceroute -I` sends by default.
const PROBE_SIZE: usize = 60;

/// What to trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSpec {
    pub dst: IpAddr,
    /// The largest TTL (hop limit) tried.
    pub max_hops: u8,
    /// How long to wait for the answers to one hop's probes.
    pub timeout_per_hop: Duration,
    /// Echo requests sent per hop (at least one is).
    pub probes_per_hop: u8,
}

impl TraceSpec {
    /// Up to 30 hops, 3 probes each, one second per hop: traceroute's defaults, though its
    /// per-hop wait is longer.
    pub fn new(dst: IpAddr) -> TraceSpec {
        TraceSpec {
            dst,
            max_hops: 30,
            timeout_per_hop: Duration::from_secs(1),
            probes_per_hop: 3,
        }
    }
}

/// One TTL's worth of answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub ttl: u8,
    /// Distinct addresses that answered, in the order they did; empty means no answer ("*").
    pub responders: Vec<IpAddr>,
    /// Set when the hop answered "unreachable" (or the local stack refused to send), in
    /// traceroute's notation: `!N`, `!H`, `!P`, `!X`, `!F-1420`, ... The trace ends there.
    pub unreachable: Option<String>,
}

/// A finished trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub dst: IpAddr,
    pub max_hops: u8,
    pub hops: Vec<Hop>,
    /// Whether the destination answered; the trace stops at the hop where it did.
    pub reached: bool,
}

impl Trace {
    /// The first responder of each hop, `None` for a silent one: the path as one list.
    pub fn path(&self) -> Vec<Option<IpAddr>> {
        self.hops
            .iter()
            .map(|hop| hop.responders.first().copied())
            .collect()
    }
}

impl fmt::Display for Trace {
    /// traceroute's layout, without the timings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "traceroute to {}, {} hops max", self.dst, self.max_hops)?;
        for hop in &self.hops {
            write!(f, "{:2} ", hop.ttl)?;
            if hop.responders.is_empty() {
                write!(f, " *")?;
            }
            for responder in &hop.responders {
                write!(f, " {responder}")?;
            }
            if let Some(mark) = &hop.unreachable {
                write!(f, " {mark}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Traces the path from inside `ns` to `spec.dst`; blocks the calling thread.
pub fn traceroute(ns: &Netns, spec: &TraceSpec) -> io::Result<Trace> {
    ns.run(|| traceroute_here(spec))?
}

/// [`traceroute`] from the calling thread's namespace.
pub(crate) fn traceroute_here(spec: &TraceSpec) -> io::Result<Trace> {
    let mut socket = EchoSocket::open(spec.dst, None, false)?;
    let per_hop = u16::from(spec.probes_per_hop.max(1));
    let mut trace = Trace {
        dst: spec.dst,
        max_hops: spec.max_hops,
        hops: Vec::new(),
        reached: false,
    };
    for ttl in 1..=spec.max_hops {
        socket.set_ttl(ttl)?;
        let mut hop = Hop {
            ttl,
            responders: Vec::new(),
            unreachable: None,
        };
        // Sequence numbers are unique over the whole trace, so a late answer to an earlier
        // hop's probe is never taken for this hop's.
        let first_seq = u16::from(ttl - 1) * per_hop + 1;
        let seqs = first_seq..first_seq + per_hop;
        let mut pending = Vec::new();
        for seq in seqs.clone() {
            match socket.send(seq, PROBE_SIZE)? {
                Ok(_) => pending.push(seq),
                Err(LocalRefusal::Unreachable { description }) => {
                    hop.unreachable = Some(format!("!N ({description})"));
                    break;
                }
                Err(LocalRefusal::TooBig { mtu }) => {
                    hop.unreachable = Some(format!("!F-{mtu}"));
                    break;
                }
            }
        }
        let deadline = Instant::now() + spec.timeout_per_hop;
        while !pending.is_empty() {
            let Some(received) = socket.recv(deadline)? else {
                break;
            };
            let seq = received.seq();
            if !pending.contains(&seq) {
                continue;
            }
            pending.retain(|&s| s != seq);
            if !hop.responders.contains(&received.from) {
                hop.responders.push(received.from);
            }
            match received.message {
                Message::EchoReply { .. } => trace.reached = true,
                Message::Error { kind, .. } => match kind {
                    ErrorKind::TimeExceeded => {}
                    ErrorKind::TooBig { mtu } => hop.unreachable = Some(format!("!F-{mtu}")),
                    ErrorKind::Unreachable { code, .. } => {
                        hop.unreachable = Some(unreachable_mark(spec.dst.is_ipv6(), code));
                    }
                },
            }
        }
        let done = trace.reached || hop.unreachable.is_some();
        trace.hops.push(hop);
        if done {
            break;
        }
    }
    Ok(trace)
}

/// traceroute's annotation for a destination-unreachable code.
fn unreachable_mark(v6: bool, code: u8) -> String {
    let mark = if v6 {
        match code {
            0 => "!N",
            1 => "!X",
            3 => "!H",
            4 => "!P",
            5 | 6 => "!S",
            _ => "",
        }
    } else {
        match code {
            0 | 6 | 11 => "!N",
            1 | 7 | 12 => "!H",
            2 => "!P",
            5 => "!S",
            9 | 10 | 13 => "!X",
            14 => "!V",
            15 => "!C",
            _ => "",
        }
    };
    if mark.is_empty() {
        format!("!<{code}>")
    } else {
        mark.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_like_traceroute() {
        let trace = Trace {
            dst: "10.0.2.2".parse().unwrap(),
            max_hops: 30,
            hops: vec![
                Hop {
                    ttl: 1,
                    responders: vec!["10.0.1.1".parse().unwrap()],
                    unreachable: None,
                },
                Hop {
                    ttl: 2,
                    responders: vec![],
                    unreachable: None,
                },
                Hop {
                    ttl: 3,
                    responders: vec!["10.0.3.1".parse().unwrap(), "10.0.4.1".parse().unwrap()],
                    unreachable: Some("!H".into()),
                },
            ],
            reached: false,
        };
        assert_eq!(
            trace.to_string(),
            "traceroute to 10.0.2.2, 30 hops max\n 1  10.0.1.1\n 2  *\n 3  10.0.3.1 10.0.4.1 !H\n"
        );
        assert_eq!(
            trace.path(),
            vec![
                Some("10.0.1.1".parse().unwrap()),
                None,
                Some("10.0.3.1".parse().unwrap())
            ]
        );
    }

    #[test]
    fn unreachable_marks_follow_traceroute() {
        assert_eq!(unreachable_mark(false, 0), "!N");
        assert_eq!(unreachable_mark(false, 1), "!H");
        assert_eq!(unreachable_mark(false, 13), "!X");
        assert_eq!(unreachable_mark(true, 3), "!H");
        assert_eq!(unreachable_mark(false, 8), "!<8>");
    }
}
