//! A namespace's IP counters (RFC 4293 style), as `/proc/net/snmp` and `/proc/net/snmp6`
//! show them: how much was sent, forwarded, fragmented and reassembled.
//!
//! Read from a thread inside the namespace through `/proc/thread-self/net/`, which shows
//! the reading thread's own network namespace.

use std::collections::HashMap;
use std::fmt;
use std::io;

use crate::net::Netns;

/// One address family's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpStats {
    /// Datagrams received from interfaces, including ones in error.
    pub in_receives: u64,
    /// Datagrams handed to the IP layer for sending by local protocols (not forwarded ones).
    pub out_requests: u64,
    /// Datagrams forwarded on towards their destination.
    pub forw_datagrams: u64,
    pub in_discards: u64,
    pub out_discards: u64,
    /// Fragments made by this node.
    pub frag_creates: u64,
    /// Datagrams this node fragmented successfully.
    pub frag_oks: u64,
    /// Datagrams dropped because they needed fragmenting and could not be (DF, or IPv6).
    pub frag_fails: u64,
    /// Fragments received that needed reassembly.
    pub reasm_reqds: u64,
    pub reasm_oks: u64,
    pub reasm_fails: u64,
}

impl IpStats {
    /// Counts since `earlier` (a reading of the same namespace taken before this one).
    pub fn since(&self, earlier: &IpStats) -> IpStats {
        IpStats {
            in_receives: self.in_receives.saturating_sub(earlier.in_receives),
            out_requests: self.out_requests.saturating_sub(earlier.out_requests),
            forw_datagrams: self.forw_datagrams.saturating_sub(earlier.forw_datagrams),
            in_discards: self.in_discards.saturating_sub(earlier.in_discards),
            out_discards: self.out_discards.saturating_sub(earlier.out_discards),
            frag_creates: self.frag_creates.saturating_sub(earlier.frag_creates),
            frag_oks: self.frag_oks.saturating_sub(earlier.frag_oks),
            frag_fails: self.frag_fails.saturating_sub(earlier.frag_fails),
            reasm_reqds: self.reasm_reqds.saturating_sub(earlier.reasm_reqds),
            reasm_oks: self.reasm_oks.saturating_sub(earlier.reasm_oks),
            reasm_fails: self.reasm_fails.saturating_sub(earlier.reasm_fails),
        }
    }

    /// Whether anything was fragmented, reassembled, or dropped for want of fragmenting.
    pub fn any_fragmentation(&self) -> bool {
        self.frag_creates + self.frag_oks + self.frag_fails + self.reasm_reqds > 0
    }

    /// Fills the fields from a name → value map, with the field names `prefix` + the
    /// kernel's names (`"Ip6"` for snmp6, `""` for snmp's `Ip:` lines).
    fn from_map(values: &HashMap<String, u64>, prefix: &str, forwarded: &str) -> IpStats {
        let get = |name: &str| values.get(&format!("{prefix}{name}")).copied().unwrap_or(0);
        IpStats {
            in_receives: get("InReceives"),
            out_requests: get("OutRequests"),
            forw_datagrams: get(forwarded),
            in_discards: get("InDiscards"),
            out_discards: get("OutDiscards"),
            frag_creates: get("FragCreates"),
            frag_oks: get("FragOKs"),
            frag_fails: get("FragFails"),
            reasm_reqds: get("ReasmReqds"),
            reasm_oks: get("ReasmOKs"),
            reasm_fails: get("ReasmFails"),
        }
    }
}

impl fmt::Display for IpStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "in {} out {} forwarded {} | frag: created {} ok {} failed {} | reasm: needed {} ok {} failed {}",
            self.in_receives,
            self.out_requests,
            self.forw_datagrams,
            self.frag_creates,
            self.frag_oks,
            self.frag_fails,
            self.reasm_reqds,
            self.reasm_oks,
            self.reasm_fails
        )
    }
}

/// A namespace's IPv4 and IPv6 counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpCounters {
    pub v4: IpStats,
    /// `None` when the namespace has no IPv6 (no `snmp6` file).
    pub v6: Option<IpStats>,
}

impl IpCounters {
    /// Counts since `earlier`.
    pub fn since(&self, earlier: &IpCounters) -> IpCounters {
        IpCounters {
            v4: self.v4.since(&earlier.v4),
            v6: match (self.v6, earlier.v6) {
                (Some(now), Some(then)) => Some(now.since(&then)),
                (now, _) => now,
            },
        }
    }
}

/// Reads the IP counters of `ns`.
pub fn ip_counters(ns: &Netns) -> io::Result<IpCounters> {
    ns.run(ip_counters_here)?
}

/// [`ip_counters`] of the calling thread's namespace.
pub(crate) fn ip_counters_here() -> io::Result<IpCounters> {
    let snmp = std::fs::read_to_string("/proc/thread-self/net/snmp")?;
    let v4 = parse_snmp(&snmp)?;
    let v6 = match std::fs::read_to_string("/proc/thread-self/net/snmp6") {
        Ok(text) => Some(parse_snmp6(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(IpCounters { v4, v6 })
}

/// Parses the `Ip:` header and value lines of `/proc/net/snmp`.
fn parse_snmp(text: &str) -> io::Result<IpStats> {
    let mut lines = text.lines().filter(|l| l.starts_with("Ip: "));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no Ip: lines in /proc/net/snmp",
        ));
    };
    let mut map = HashMap::new();
    for (name, value) in names
        .split_whitespace()
        .zip(values.split_whitespace())
        .skip(1)
    {
        // Forwarding and DefaultTTL are small settings, not counters, but parse alike.
        if let Ok(v) = value.parse::<u64>() {
            map.insert(name.to_string(), v);
        }
    }
    Ok(IpStats::from_map(&map, "", "ForwDatagrams"))
}

/// Parses the `Ip6...` lines of `/proc/net/snmp6` (one `name value` pair per line).
fn parse_snmp6(text: &str) -> IpStats {
    let map: HashMap<String, u64> = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next()?;
            let value = parts.next()?.parse().ok()?;
            Some((name.to_string(), value))
        })
        .collect();
    IpStats::from_map(&map, "Ip6", "OutForwDatagrams")
}

/// TCP segments a namespace dropped for their MD5 signature (RFC 2385, what BGP's
/// `password` turns on), from `/proc/net/netstat`'s `TcpExt` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Md5Drops {
    /// Unsigned, to a socket that has a password (`TCPMD5NotFound`).
    pub not_found: u64,
    /// Signed, to a socket that has none (`TCPMD5Unexpected`).
    pub unexpected: u64,
    /// Signed with another password (`TCPMD5Failure`).
    pub failure: u64,
}

impl Md5Drops {
    pub fn any(&self) -> bool {
        self.not_found + self.unexpected + self.failure > 0
    }
}

impl fmt::Display for Md5Drops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.failure > 0 {
            parts.push(format!("{} signed with another password", self.failure));
        }
        if self.not_found > 0 {
            parts.push(format!(
                "{} unsigned though a password is set",
                self.not_found
            ));
        }
        if self.unexpected > 0 {
            parts.push(format!(
                "{} signed though no password is set",
                self.unexpected
            ));
        }
        write!(
            f,
            "the kernel dropped TCP segments for their MD5 signature ({}): the BGP passwords \
             of the two ends differ",
            parts.join(", ")
        )
    }
}

/// [`Md5Drops`] of `ns`, read from a thread inside it.
pub fn md5_drops(ns: &Netns) -> io::Result<Md5Drops> {
    ns.run(|| parse_md5(&std::fs::read_to_string("/proc/thread-self/net/netstat")?))?
}

/// Parses the `TcpExt:` header and value lines of `/proc/net/netstat`.
fn parse_md5(text: &str) -> io::Result<Md5Drops> {
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt: "));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no TcpExt: lines in /proc/net/netstat",
        ));
    };
    let map: HashMap<&str, u64> = names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter_map(|(n, v)| Some((n, v.parse().ok()?)))
        .collect();
    let get = |k: &str| map.get(k).copied().unwrap_or(0);
    Ok(Md5Drops {
        not_found: get("TCPMD5NotFound"),
        unexpected: get("TCPMD5Unexpected"),
        failure: get("TCPMD5Failure"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "\
Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits
Ip: 1 64 120 0 0 7 0 1 113 96 2 0 0 6 3 0 1 4 2 110
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs
Icmp: 5 0 0 2
";

    const SNMP6: &str = "\
Ip6InReceives                   	40
Ip6InHdrErrors                  	0
Ip6OutForwDatagrams             	9
Ip6OutRequests                  	31
Ip6ReasmReqds                   	4
Ip6ReasmOKs                     	2
Ip6FragOKs                      	1
Ip6FragCreates                  	2
Icmp6InMsgs                     	12
";

    #[test]
    fn snmp_ip_lines_are_read_by_name() {
        let stats = parse_snmp(SNMP).unwrap();
        assert_eq!(
            stats,
            IpStats {
                in_receives: 120,
                out_requests: 96,
                forw_datagrams: 7,
                in_discards: 1,
                out_discards: 2,
                frag_creates: 2,
                frag_oks: 1,
                frag_fails: 4,
                reasm_reqds: 6,
                reasm_oks: 3,
                reasm_fails: 0,
            }
        );
        assert!(parse_snmp("Icmp: InMsgs\nIcmp: 1\n").is_err());
    }

    #[test]
    fn snmp6_lines_are_read_by_name() {
        let stats = parse_snmp6(SNMP6);
        assert_eq!(stats.in_receives, 40);
        assert_eq!(stats.out_requests, 31);
        assert_eq!(stats.forw_datagrams, 9);
        assert_eq!((stats.frag_creates, stats.frag_oks), (2, 1));
        assert_eq!((stats.reasm_reqds, stats.reasm_oks), (4, 2));
        assert!(stats.any_fragmentation());
    }

    #[test]
    fn differences_never_go_negative() {
        let later = IpStats {
            frag_creates: 5,
            ..IpStats::default()
        };
        let earlier = IpStats {
            frag_creates: 2,
            reasm_oks: 1,
            ..IpStats::default()
        };
        let d = later.since(&earlier);
        assert_eq!((d.frag_creates, d.reasm_oks), (3, 0));
        assert!(!IpStats::default().any_fragmentation());
    }

    #[test]
    fn md5_drops_are_read_from_tcp_ext() {
        let text = "TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure\n\
                    TcpExt: 0 2 0 5\n\
                    IpExt: InNoRoutes\nIpExt: 0\n";
        let d = parse_md5(text).unwrap();
        assert_eq!(
            d,
            Md5Drops {
                not_found: 2,
                unexpected: 0,
                failure: 5
            }
        );
        assert!(
            d.to_string().contains("5 signed with another password"),
            "{d}"
        );
        assert!(!parse_md5("TcpExt: A\nTcpExt: 0\n").unwrap().any());
        assert!(parse_md5("").is_err());
    }
}
