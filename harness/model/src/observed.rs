//! What a lab is observed to be, as plain data: kernel routes as `ip route` shows them,
//! and a routing daemon's protocols and OSPF neighbours as BIRD reports them. The lab
//! fills these in; expectations match against them, and reports print them. Pure data, so
//! the matching is unit-tested without a network.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// One route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    pub to: IpNet,
    pub kind: RouteKind,
    /// As `ip route` names it: `kernel`, `boot`, `static`, `bird`, or a number.
    pub protocol: String,
    pub metric: Option<u32>,
    pub nexthops: Vec<NextHop>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Other(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub onlink: bool,
}

impl fmt::Display for KernelRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = if self.to.prefix_len() == 0 {
            "default".to_string()
        } else if self.to.prefix_len() == self.to.max_prefix_len() {
            self.to.addr().to_string()
        } else {
            self.to.to_string()
        };
        match self.kind {
            RouteKind::Unicast => write!(f, "{to}")?,
            RouteKind::Blackhole => write!(f, "blackhole {to}")?,
            RouteKind::Unreachable => write!(f, "unreachable {to}")?,
            RouteKind::Prohibit => write!(f, "prohibit {to}")?,
            RouteKind::Other(t) => write!(f, "type{t} {to}")?,
        }
        let hop = |f: &mut fmt::Formatter<'_>, h: &NextHop| -> fmt::Result {
            if let Some(via) = h.via {
                write!(f, " via {via}")?;
            }
            if let Some(dev) = &h.dev {
                write!(f, " dev {dev}")?;
            }
            if h.onlink {
                write!(f, " onlink")?;
            }
            Ok(())
        };
        if self.nexthops.len() == 1 {
            hop(f, &self.nexthops[0])?;
        }
        write!(f, " proto {}", self.protocol)?;
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if self.nexthops.len() > 1 {
            for h in &self.nexthops {
                write!(f, " nexthop")?;
                hop(f, h)?;
            }
        }
        Ok(())
    }
}

/// One row of `show protocols`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolRow {
    /// The protocol's name, e.g. `peer_b` or `Mesh_10_0_0_2`.
    pub name: String,
    /// Its type: `BGP`, `OSPF`, `Kernel`, `Device`, `Static`, `Direct`, ...
    pub proto: String,
    /// Its table, when BIRD names one: BIRD 1.6 always does (`master`); BIRD 2 prints
    /// `---`, which becomes `None`, for protocols with no or several channels, BGP included.
    pub table: Option<String>,
    /// BIRD's protocol state: `up`, `down`, `start`, `stop`, ...
    pub state: String,
    /// When the state last changed, as BIRD prints it.
    pub since: String,
    /// The rest of the row: for BGP the session state and any error
    /// (`Established`, `Idle          Received: Bad peer AS`), for OSPF `Running`, ...
    pub info: String,
}

/// Route counters of one channel (BIRD 2) or of the protocol (BIRD 1.6), from the
/// `Routes:` line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteCounts {
    /// The channel (`ipv4`, `ipv6`, ...) in BIRD 2; `None` in BIRD 1.6.
    pub channel: Option<String>,
    /// Routes imported from the protocol into the table.
    pub imported: u64,
    /// Routes rejected by the import filter but kept (`import keep filtered`).
    pub filtered: u64,
    /// Routes exported from the table to the protocol.
    pub exported: u64,
    /// Imported routes that are the best for their prefix.
    pub preferred: u64,
}

/// What `show protocols all NAME` says about one protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolDetail {
    /// The `show protocols` row.
    pub row: ProtocolRow,
    /// For BGP: `Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`, `Established`.
    pub bgp_state: Option<String>,
    /// For BGP: the neighbor's address (any `%interface` suffix removed).
    pub neighbor_address: Option<IpAddr>,
    /// For BGP: the neighbor's AS number as configured.
    pub neighbor_as: Option<u32>,
    /// The `Last error:` line, e.g. `Received: Bad peer AS` or `BGP Error: Bad peer AS`.
    pub last_error: Option<String>,
    /// For an established BGP session: the hold timer, seconds left and its length
    /// (`Hold timer: 232.669/240`). Left far below its length, the peer has gone silent.
    pub hold_timer: Option<(std::time::Duration, std::time::Duration)>,
    /// For an established BGP session: the keepalive timer, left and length.
    pub keepalive_timer: Option<(std::time::Duration, std::time::Duration)>,
    /// One entry per `Routes:` line.
    pub routes: Vec<RouteCounts>,
    /// The detail lines as BIRD printed them, for reports.
    pub lines: Vec<String>,
}

impl ProtocolDetail {
    /// Whether this is a BGP session in state Established.
    pub fn is_established(&self) -> bool {
        self.bgp_state.as_deref() == Some("Established")
    }

    /// Routes imported, summed over channels.
    pub fn imported(&self) -> u64 {
        self.routes.iter().map(|r| r.imported).sum()
    }
}

/// One line of `show ospf neighbors PROTO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OspfNeighbor {
    /// The neighbor's router ID.
    pub router_id: Ipv4Addr,
    /// Its priority for DR election.
    pub priority: u8,
    /// Adjacency state and role, e.g. `Full/PtP`, `Full/DR`, `2-Way/Other`, `Init/PtP`.
    pub state: String,
    /// Time until the neighbor is declared dead, as BIRD prints it.
    pub dead_time: String,
    /// The local interface it was seen on.
    pub interface: String,
    /// The neighbor's address on that interface.
    pub address: IpAddr,
}

impl OspfNeighbor {
    /// Whether the adjacency is Full.
    pub fn is_full(&self) -> bool {
        self.state.starts_with("Full")
    }
}

/// Why a probe got no answer, in the words `because:` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFailure {
    /// No route, a reject route, or ICMP destination (network, host) unreachable.
    Unreachable,
    /// Nothing came back in time.
    Timeout,
    /// Too big for a link, and not to be fragmented.
    FragNeeded,
    /// The TTL or hop limit ran out on the way.
    TtlExceeded,
    /// Administratively prohibited (ICMP), or refused by a local firewall.
    Filtered,
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeFailure::Unreachable => "unreachable",
            ProbeFailure::Timeout => "timeout",
            ProbeFailure::FragNeeded => "frag_needed",
            ProbeFailure::TtlExceeded => "ttl_exceeded",
            ProbeFailure::Filtered => "filtered",
        })
    }
}
