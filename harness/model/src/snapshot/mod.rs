//! A snapshot: what a running lab was observed to be at the end of each phase — sessions,
//! kernel routes, BIRD's best routes, reachability, paths and path MTU, convergence and
//! outage figures — as data that a later snapshot can be compared with ([`diff`]).
//!
//! Everything is keyed (node, table, prefix; source and destination) and held in sorted
//! maps and sets, so the order things were captured in, or the order of ECMP next hops,
//! is never a difference. What changes from one run of the same network to the next —
//! timestamps, uptimes, pids, interface indexes, socket paths, link-local addresses
//! derived from random MACs — is left out when the snapshot is taken, not filtered when
//! it is compared.
//!
//! Limits: BIRD routes are its best route per prefix in its default tables only; a
//! reachability matrix beyond [`REACHABILITY_FULL_LIMIT`] endpoints is bounded (the
//! snapshot says how); traceroute hops are what one probe per hop saw.

pub mod bird;
pub mod diff;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The file format's version, written into every snapshot.
pub const FORMAT: u32 = 1;

/// With more endpoints than this, reachability is probed for a bounded set of pairs.
pub const REACHABILITY_FULL_LIMIT: usize = 24;

/// Every phase of one scenario, as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub scenario: String,
    /// Phase 0 (`as built`) first, then each timeline step that ran, in order.
    pub phases: Vec<PhaseState>,
}

/// The network at the end of one phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseState {
    pub name: String,
    pub nodes: BTreeMap<String, NodeState>,
    pub reachability: Reachability,
    /// Keyed `FROM -> ADDRESS`.
    pub paths: BTreeMap<String, PathState>,
    pub timing: Timing,
}

/// One namespace's routing state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// BGP and OSPF protocols of its daemon, by name.
    pub protocols: BTreeMap<String, ProtocolState>,
    /// Kernel routes, keyed `TABLE PREFIX` (`main 10.0.0.0/24`).
    pub routes: BTreeMap<String, RouteState>,
    /// The daemon's best route per prefix.
    pub bird_routes: BTreeMap<String, BirdRoute>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolState {
    /// `BGP` or `OSPF`.
    pub proto: String,
    /// BIRD's protocol state (`up`, `start`, ...), and for BGP the session state.
    pub state: String,
    /// For BGP: the neighbour's address; for OSPF: each neighbour's router ID and state.
    pub neighbors: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteState {
    /// `unicast`, `blackhole`, `local`, ...
    pub kind: String,
    pub protocol: String,
    pub metric: Option<u32>,
    /// `via ADDRESS dev DEVICE [onlink]`, as a set: ECMP order is not a change.
    pub nexthops: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BirdRoute {
    /// The protocol it came from (`to_ext`, `Mesh_10_0_0_2`, `static1`).
    pub protocol: String,
    pub nexthops: BTreeSet<String>,
    /// The BGP attributes that decide where traffic goes, by name (`as_path`,
    /// `next_hop`, `local_pref`, `community`, `large_community`, `origin`).
    pub bgp: BTreeMap<String, String>,
}

/// Pings from each endpoint to one address of every other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reachability {
    /// Which pairs were probed: `all pairs of N endpoints`, or how they were bounded.
    pub scope: String,
    /// Keyed `FROM -> TO (ADDRESS)`: `ok`, or `fails: WHY`.
    pub pairs: BTreeMap<String, String>,
}

/// One traced pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathState {
    /// Each hop's responders (`*` for none), as sets: equal-cost alternatives.
    pub hops: Vec<BTreeSet<String>>,
    pub reached: bool,
    /// The path MTU by DF probing, when the destination answers.
    pub pmtu: Option<u32>,
}

/// How long a phase took to converge and what its outage probes saw, in milliseconds.
/// These vary from run to run, so [`diff`] compares them with a tolerance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Until its last positive expectation held; `None` when it has none or one failed.
    pub convergence_ms: Option<u64>,
    /// Keyed `FROM -> ADDRESS`.
    pub outages: BTreeMap<String, Outage>,
    /// The scenario's `tolerance` for this step: how far its timings may differ between
    /// two snapshots and still count as the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    pub lost: u64,
    pub longest_gap_ms: u64,
    /// Traffic was not back when the phase ended: the gap and the losses were cut short
    /// by the phase's end, which the daemons' timers decide, so they are not compared.
    #[serde(default)]
    pub still_down: bool,
}

/// A key for a pair of endpoints.
pub fn pair_key(from: &str, to: impl std::fmt::Display) -> String {
    format!("{from} -> {to}")
}

/// Why a snapshot file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{file}: {source}")]
    Parse {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: snapshot format {found}, but this routelab reads format {FORMAT}")]
    Format { file: String, found: u32 },
}

impl Snapshot {
    /// Reads a snapshot from its JSON text; `file` names it in errors (with line and column).
    pub fn from_json(file: &str, text: &str) -> Result<Snapshot, SnapshotError> {
        let s: Snapshot = serde_json::from_str(text).map_err(|source| SnapshotError::Parse {
            file: file.to_string(),
            source,
        })?;
        if s.format != FORMAT {
            return Err(SnapshotError::Format {
                file: file.to_string(),
                found: s.format,
            });
        }
        Ok(s)
    }

    /// As JSON, keys in a stable order.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot is always serializable") + "\n"
    }
}

impl PathState {
    /// A trace that did not reach its destination, without the hops after the last router
    /// that forwarded it: silent hops (`*`) and routers answering "unreachable" (`!H`,
    /// `!N`, ...). Where such a trace ends is decided by timing, not by routing: a router
    /// answers `!H` only once its ARP resolution has failed (3 s), at most once a second,
    /// while traceroute waits half a second per hop; so of two traces of the same broken
    /// path, one ends `10.42.0.0 !H` and the other in silence. That it was not reached,
    /// and the routers that forwarded it, are what the diff compares.
    pub fn trim_unreached(mut self) -> PathState {
        if !self.reached {
            let ends_nowhere =
                |hop: &BTreeSet<String>| hop.iter().all(|r| r == "*" || r.contains(" !"));
            while self.hops.last().is_some_and(ends_nowhere) {
                self.hops.pop();
            }
        }
        self
    }
}

/// A BGP protocol's state in a snapshot: BIRD's protocol state (`up`, `start`, `down`)
/// and the session's, where every state short of `Established` reads `not established`.
/// A session that is not up cycles Idle, Connect, Active and OpenSent as its connect-retry
/// and error-wait timers fire: which of them a capture meets is timing, not routing.
pub fn bgp_state(protocol: &str, session: Option<&str>) -> String {
    match session {
        Some("Established") => format!("{protocol} Established"),
        Some(_) => format!("{protocol} not established"),
        None => protocol.to_string(),
    }
}

/// An IPv6 link-local address is derived from an interface's MAC, which the kernel picks
/// at random for each veth: in a snapshot it reads `fe80::(link-local)`, so the same
/// network gives the same snapshot. Any other text is returned as it is.
pub fn mask_link_local(text: &str) -> String {
    text.split(' ')
        .map(|w| match w.parse::<std::net::Ipv6Addr>() {
            Ok(a) if a.is_unicast_link_local() => "fe80::(link-local)".to_string(),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
