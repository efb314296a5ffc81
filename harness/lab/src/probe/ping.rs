//! One ping: echo requests to a destination until one is answered.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use routelab_model::observed::ProbeFailure;

use super::icmp::{self, ErrorKind, Message};
use super::socket::{EchoSocket, LocalRefusal};
use crate::net::Netns;

/// Size of a default ping packet (56 bytes of payload, as ping sends) for IPv4.
pub const DEFAULT_SIZE_V4: u16 = 84;
/// Size of a default ping packet (56 bytes of payload) for IPv6.
pub const DEFAULT_SIZE_V6: u16 = 104;

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingSpec {
    pub dst: IpAddr,
    /// Source address to send from (must be one of the namespace's own); the routing table
    /// picks one if `None`.
    pub src: Option<IpAddr>,
    /// Size of the whole IP packet in bytes, as an interface MTU counts it (a 1421-byte IPv4
    /// packet is `ping -s 1393`). Defaults to [`DEFAULT_SIZE_V4`] / [`DEFAULT_SIZE_V6`].
    pub size: Option<u16>,
    /// Forbid fragmentation: the IPv4 DF bit, or no source fragmentation for IPv6. The
    /// kernel's cached path MTU is ignored either way (see [`ping`]).
    pub dont_fragment: bool,
    /// IP TTL or IPv6 hop limit of the request; the kernel's default if `None`.
    pub ttl: Option<u8>,
    /// How long to wait for an answer to each request.
    pub timeout: Duration,
    /// How many requests to send, one after another, before giving up (at least one is).
    pub attempts: u8,
}

impl PingSpec {
    /// A default-sized ping to `dst`: one request, one second to answer.
    pub fn new(dst: IpAddr) -> PingSpec {
        PingSpec {
            dst,
            src: None,
            size: None,
            dont_fragment: false,
            ttl: None,
            timeout: Duration::from_secs(1),
            attempts: 1,
        }
    }

    /// The IP packet size that will be sent.
    pub fn packet_size(&self) -> u16 {
        self.size.unwrap_or(if self.dst.is_ipv6() {
            DEFAULT_SIZE_V6
        } else {
            DEFAULT_SIZE_V4
        })
    }

    /// Checks what the kernel cannot: the size leaves room for the headers.
    pub(crate) fn validate(&self) -> io::Result<()> {
        let min = icmp::min_echo_packet(self.dst.is_ipv6());
        if usize::from(self.packet_size()) < min {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "ping size {} is below the {min} bytes of IP and ICMP headers",
                    self.packet_size()
                ),
            ));
        }
        Ok(())
    }
}

/// How a ping ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingOutcome {
    /// An echo reply came back.
    Reply {
        from: IpAddr,
        /// The reply's own IP TTL (IPv6: hop limit) on arrival, as ping prints it: a Linux
        /// host one router away answers with 63.
        ttl: u8,
        rtt: Duration,
    },
    /// The packet was too big for a link and could not be fragmented: ICMP "fragmentation
    /// needed" or ICMPv6 "packet too big" from a router, or the local stack refusing to send
    /// more than the outgoing interface's MTU (then `from` is this host's own address).
    FragmentationNeeded { from: IpAddr, mtu: u32 },
    /// Destination unreachable (or parameter problem) from `from`; `from` and `code` are
    /// `None` when the local stack refused to send (no route, reject route, firewall), and
    /// `description` then carries the kernel's error.
    Unreachable {
        from: Option<IpAddr>,
        code: Option<u8>,
        description: String,
    },
    /// The TTL or hop limit ran out at `from`.
    TimeExceeded { from: IpAddr },
    /// Nothing came back in time.
    NoReply,
}

impl PingOutcome {
    /// Whether an echo reply came back.
    pub fn is_reply(&self) -> bool {
        matches!(self, PingOutcome::Reply { .. })
    }

    /// Why no reply came back, in the words a scenario's `because:` uses; `None` for a
    /// reply.
    pub fn failure(&self) -> Option<ProbeFailure> {
        Some(match self {
            PingOutcome::Reply { .. } => return None,
            PingOutcome::FragmentationNeeded { .. } => ProbeFailure::FragNeeded,
            PingOutcome::TimeExceeded { .. } => ProbeFailure::TtlExceeded,
            PingOutcome::NoReply => ProbeFailure::Timeout,
            // Refused locally: a firewall says "not permitted", a missing route otherwise.
            PingOutcome::Unreachable {
                from: None,
                description,
                ..
            } => {
                if description.contains("not permitted") || description.contains("denied") {
                    ProbeFailure::Filtered
                } else {
                    ProbeFailure::Unreachable
                }
            }
            PingOutcome::Unreachable {
                from: Some(from),
                code,
                ..
            } => {
                // Administratively prohibited: ICMP codes 9, 10, 13; ICMPv6 codes 1 and 5.
                let prohibited: &[u8] = if from.is_ipv6() {
                    &[1, 5]
                } else {
                    &[9, 10, 13]
                };
                if code.is_some_and(|c| prohibited.contains(&c)) {
                    ProbeFailure::Filtered
                } else {
                    ProbeFailure::Unreachable
                }
            }
        })
    }
}

impl fmt::Display for PingOutcome {
    /// One line in ping's own words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PingOutcome::Reply { from, ttl, rtt } => write!(
                f,
                "reply from {from}: ttl={ttl} time={:.3} ms",
                rtt.as_secs_f64() * 1000.0
            ),
            PingOutcome::FragmentationNeeded { from, mtu } if from.is_ipv6() => {
                write!(f, "From {from} Packet too big: mtu={mtu}")
            }
            PingOutcome::FragmentationNeeded { from, mtu } => {
                write!(f, "From {from} Frag needed and DF set (mtu = {mtu})")
            }
            PingOutcome::Unreachable {
                from: Some(from),
                description,
                ..
            } => write!(f, "From {from} {description}"),
            PingOutcome::Unreachable {
                from: None,
                description,
                ..
            } => write!(f, "ping: sendmsg: {description}"),
            PingOutcome::TimeExceeded { from } if from.is_ipv6() => {
                write!(f, "From {from} Time exceeded: Hop limit")
            }
            PingOutcome::TimeExceeded { from } => write!(f, "From {from} Time to live exceeded"),
            PingOutcome::NoReply => write!(f, "no reply"),
        }
    }
}

/// Pings from inside `ns` and waits for the answer; blocks the calling thread (wrap it in
/// `tokio::task::spawn_blocking` from async code).
///
/// Sends up to `spec.attempts` requests, each waiting `spec.timeout`, and returns at the
/// first reply or ICMP error about any of them; a late answer to an earlier request counts.
/// With `dont_fragment` the kernel's cached path MTU is ignored, so a "fragmentation needed"
/// learnt earlier does not stop the packet before it leaves: the network is asked every
/// time. Without it, an IPv6 "packet too big" is not final: the kernel learns the path MTU
/// from it and the next attempt is fragmented to fit.
pub fn ping(ns: &Netns, spec: &PingSpec) -> io::Result<PingOutcome> {
    spec.validate()?;
    ns.run(|| ping_here(spec))?
}

/// [`ping`] from the calling thread's namespace.
pub(crate) fn ping_here(spec: &PingSpec) -> io::Result<PingOutcome> {
    spec.validate()?;
    let mut socket = EchoSocket::open(spec.dst, spec.src, spec.dont_fragment)?;
    if let Some(ttl) = spec.ttl {
        socket.set_ttl(ttl)?;
    }
    let size = usize::from(spec.packet_size());
    let mut sent_at: HashMap<u16, Instant> = HashMap::new();
    let mut deferred = None;
    for attempt in 0..spec.attempts.max(1) {
        let seq = u16::from(attempt) + 1;
        match socket.send(seq, size)? {
            Ok(at) => {
                sent_at.insert(seq, at);
            }
            Err(refusal) => return Ok(refused(&socket, refusal)),
        }
        let deadline = Instant::now() + spec.timeout;
        while let Some(received) = socket.recv(deadline)? {
            let Some(sent) = sent_at.get(&received.seq()) else {
                continue;
            };
            let outcome = match received.message {
                Message::EchoReply { .. } => {
                    return Ok(PingOutcome::Reply {
                        from: received.from,
                        ttl: received.ttl,
                        rtt: received.at.saturating_duration_since(*sent),
                    });
                }
                Message::Error { kind, .. } => from_error(received.from, kind),
            };
            let retry = !spec.dont_fragment
                && matches!(outcome, PingOutcome::FragmentationNeeded { .. })
                && attempt + 1 < spec.attempts;
            if !retry {
                return Ok(outcome);
            }
            deferred = Some(outcome);
        }
    }
    Ok(deferred.unwrap_or(PingOutcome::NoReply))
}

/// The outcome for a request the local stack would not send.
pub(crate) fn refused(socket: &EchoSocket, refusal: LocalRefusal) -> PingOutcome {
    match refusal {
        LocalRefusal::TooBig { mtu } => PingOutcome::FragmentationNeeded {
            from: socket.local_address(),
            mtu,
        },
        LocalRefusal::Unreachable { description } => PingOutcome::Unreachable {
            from: None,
            code: None,
            description,
        },
    }
}

/// The outcome an ICMP error from `from` stands for.
pub(crate) fn from_error(from: IpAddr, kind: ErrorKind) -> PingOutcome {
    match kind {
        ErrorKind::TooBig { mtu } => PingOutcome::FragmentationNeeded { from, mtu },
        ErrorKind::Unreachable { code, description } => PingOutcome::Unreachable {
            from: Some(from),
            code: Some(code),
            description,
        },
        ErrorKind::TimeExceeded => PingOutcome::TimeExceeded { from },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_like_ping() {
        let reply = PingOutcome::Reply {
            from: "10.0.2.2".parse().unwrap(),
            ttl: 63,
            rtt: Duration::from_micros(1234),
        };
        assert_eq!(
            reply.to_string(),
            "reply from 10.0.2.2: ttl=63 time=1.234 ms"
        );
        let frag = PingOutcome::FragmentationNeeded {
            from: "10.0.1.1".parse().unwrap(),
            mtu: 1420,
        };
        assert_eq!(
            frag.to_string(),
            "From 10.0.1.1 Frag needed and DF set (mtu = 1420)"
        );
        let too_big = PingOutcome::FragmentationNeeded {
            from: "fd00:1::1".parse().unwrap(),
            mtu: 1420,
        };
        assert_eq!(
            too_big.to_string(),
            "From fd00:1::1 Packet too big: mtu=1420"
        );
        let local = PingOutcome::Unreachable {
            from: None,
            code: None,
            description: "Network is unreachable".into(),
        };
        assert_eq!(local.to_string(), "ping: sendmsg: Network is unreachable");
        assert_eq!(
            PingOutcome::TimeExceeded {
                from: "10.0.1.1".parse().unwrap()
            }
            .to_string(),
            "From 10.0.1.1 Time to live exceeded"
        );
        assert_eq!(PingOutcome::NoReply.to_string(), "no reply");
    }

    #[test]
    fn sizes_default_per_family_and_must_hold_the_headers() {
        let v4 = PingSpec::new("10.0.0.1".parse().unwrap());
        assert_eq!(v4.packet_size(), 84);
        let v6 = PingSpec::new("fd00::1".parse().unwrap());
        assert_eq!(v6.packet_size(), 104);
        let tiny = PingSpec {
            size: Some(47),
            ..v6.clone()
        };
        assert_eq!(
            tiny.validate().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(
            PingSpec {
                size: Some(48),
                ..v6
            }
            .validate()
            .is_ok()
        );
    }
}
