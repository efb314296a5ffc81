//! Taking a snapshot of a running lab at the end of a phase (see
//! [`routelab_model::snapshot`] for what it holds and how two are compared).
//!
//! What is read: every namespace's kernel routes of every table (both families), each
//! daemon's BGP and OSPF protocols and best routes, a reachability matrix of pings between
//! endpoints (nodes and pods), and a traceroute and path MTU for the pairs the scenario's
//! expectations probe plus one pod pair per pair of nodes with pods.
//!
//! Limits: one address per endpoint (its first loopback address, else its first interface
//! address, IPv4 first); with more than [`REACHABILITY_FULL_LIMIT`] endpoints the matrix
//! covers every node, the first pod of each and the endpoints the expectations name. A
//! traceroute sends one probe per hop, so of equal-cost paths it sees the one the kernel's
//! hash picks for it. IPv6 link-local addresses (random, from random MACs) are masked.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use futures::StreamExt;
use routelab_model::expect::{Expectation, Kind};
use routelab_model::observed::{KernelRoute, RouteKind};
use routelab_model::plan::{NamespaceRole, Plan};
use routelab_model::scenario::Scenario;
use routelab_model::snapshot::{
    self, NodeState, Outage, PathState, PhaseState, ProtocolState, REACHABILITY_FULL_LIMIT,
    Reachability, RouteState, Snapshot, Timing, mask_link_local, pair_key,
};

use crate::lab::Lab;
use crate::probe::{PingOutcome, PingSpec, PmtuSpec, TraceSpec};
use crate::report::PhaseReport;

/// Probes in flight at once: enough to keep a matrix of hundreds of pings short, few
/// enough for two cores and the blocking pool.
const CONCURRENCY: usize = 32;

/// A reachability or path endpoint.
#[derive(Debug, Clone)]
struct Endpoint {
    name: String,
    address: IpAddr,
}

/// Snapshots being taken of one run, phase by phase.
#[derive(Debug)]
pub struct Capture {
    snapshot: Snapshot,
    /// Skip the scenario's expectations: phases wait for the lab to settle instead.
    pub no_expect: bool,
    endpoints: Vec<Endpoint>,
    /// The pairs probed, and how they were chosen.
    matrix: (Vec<(usize, usize)>, String),
    /// Traced pairs: a node and an address.
    paths: BTreeSet<(String, IpAddr)>,
    /// The largest packet a path MTU search tries: the largest MTU in the plan.
    max_mtu: u16,
    /// The steps' declared tolerances, by phase name.
    tolerances: BTreeMap<String, u64>,
}

impl Capture {
    /// Ready to capture the phases of `scenario` built from `plan`.
    pub fn new(scenario: &Scenario, plan: &Plan, no_expect: bool) -> Capture {
        let endpoints = endpoints(plan);
        let named = named_pairs(scenario);
        let pods = pods_by_node(plan);
        let matrix = matrix(plan, &endpoints, &named, &pods);
        let mut paths: BTreeSet<(String, IpAddr)> = named.into_iter().collect();
        // One pod pair per ordered pair of nodes with pods.
        for (a, pods_a) in &pods {
            for (b, pods_b) in &pods {
                if a == b {
                    continue;
                }
                if let (Some(from), Some(to)) = (pods_a.first(), pods_b.first())
                    && let Some(to) = endpoints.iter().find(|e| &e.name == to)
                {
                    paths.insert((from.clone(), to.address));
                }
            }
        }
        let max_mtu = plan
            .veths
            .iter()
            .flat_map(|v| [v.a.mtu, v.b.mtu])
            .chain(plan.bridges.iter().map(|b| b.mtu))
            .max()
            .unwrap_or(1500)
            .clamp(1500, 9000) as u16;
        Capture {
            snapshot: Snapshot {
                format: snapshot::FORMAT,
                scenario: scenario.name.clone(),
                phases: Vec::new(),
            },
            no_expect,
            endpoints,
            matrix,
            paths,
            max_mtu,
            tolerances: scenario
                .steps
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.tolerance?.as_millis() as u64)))
                .collect(),
        }
    }

    /// Captures the lab as it is at the end of `phase`.
    pub async fn phase(&mut self, lab: &Lab, phase: &PhaseReport) {
        let started = std::time::Instant::now();
        let mut state = PhaseState {
            name: phase.name.clone(),
            ..PhaseState::default()
        };
        // Routing state first: the probes after it create neighbour entries, not routes.
        let names: Vec<String> = lab.namespace_names().map(str::to_string).collect();
        let nodes = futures::future::join_all(names.iter().map(|n| node_state(lab, n))).await;
        state.nodes = names.into_iter().zip(nodes).collect();
        state.reachability = self.reachability(lab).await;
        state.paths = self.paths(lab).await;
        state.timing = Timing {
            convergence_ms: phase.convergence().map(|(d, _)| d.as_millis() as u64),
            outages: phase
                .outages
                .iter()
                .filter_map(|o| {
                    o.figures.as_ref().map(|f| {
                        (
                            o.label.clone(),
                            Outage {
                                lost: u64::from(f.lost),
                                longest_gap_ms: f.longest_gap.as_millis() as u64,
                                still_down: f.resumed_at.is_none(),
                            },
                        )
                    })
                })
                .collect(),
            tolerance_ms: self.tolerances.get(&phase.name).copied(),
        };
        tracing::info!(phase = %phase.name, took = ?started.elapsed(), "snapshot taken");
        self.snapshot.phases.push(state);
    }

    /// The snapshot of every phase captured.
    pub fn finish(self) -> Snapshot {
        self.snapshot
    }

    async fn reachability(&self, lab: &Lab) -> Reachability {
        let (pairs, scope) = &self.matrix;
        let quick = |a: &Endpoint, b: &Endpoint| {
            let spec = PingSpec {
                timeout: Duration::from_millis(1000),
                ..PingSpec::new(b.address)
            };
            let from = a.name.clone();
            async move {
                let outcome = lab
                    .probe(&from, move |ns| crate::probe::ping(ns, &spec))
                    .await;
                (from, outcome)
            }
        };
        let first: Vec<_> = futures::stream::iter(pairs.iter().map(|&(a, b)| {
            let (ea, eb) = (&self.endpoints[a], &self.endpoints[b]);
            quick(ea, eb)
        }))
        .buffered(CONCURRENCY)
        .collect()
        .await;
        let mut results: Vec<String> = first.iter().map(|(_, o)| verdict(o)).collect();
        // A failure's reason comes from an ICMP error a router sends at most once a second
        // per destination after a burst of six (the kernel's icmp_ratelimit), so many
        // failures at once would read as timeouts in one run and unreachable in the next.
        // Each source asks again about its failures one at a time, at that pace.
        let mut by_source: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &(a, _)) in pairs.iter().enumerate() {
            if results[i] != "ok" {
                by_source.entry(a).or_default().push(i);
            }
        }
        let retries = by_source.into_values().map(|indexes| async move {
            let mut out = Vec::new();
            for i in indexes {
                let (a, b) = pairs[i];
                let (ea, eb) = (&self.endpoints[a], &self.endpoints[b]);
                let spec = PingSpec {
                    timeout: Duration::from_millis(1200),
                    attempts: 3,
                    ..PingSpec::new(eb.address)
                };
                let outcome = lab
                    .probe(&ea.name, move |ns| crate::probe::ping(ns, &spec))
                    .await;
                out.push((i, verdict(&outcome)));
            }
            out
        });
        for (i, v) in futures::future::join_all(retries)
            .await
            .into_iter()
            .flatten()
        {
            results[i] = v;
        }
        Reachability {
            scope: scope.clone(),
            pairs: pairs
                .iter()
                .zip(results)
                .map(|(&(a, b), v)| {
                    let (ea, eb) = (&self.endpoints[a], &self.endpoints[b]);
                    (
                        pair_key(&ea.name, format!("{} ({})", eb.name, eb.address)),
                        v,
                    )
                })
                .collect(),
        }
    }

    async fn paths(&self, lab: &Lab) -> BTreeMap<String, PathState> {
        let max_mtu = self.max_mtu;
        // Each trace costs every router on the way one ICMP error towards its source, and
        // the kernel allows a burst of six per source: traces from one source go one after
        // another, sources at once.
        let mut by_source: BTreeMap<&str, Vec<IpAddr>> = BTreeMap::new();
        for (from, to) in &self.paths {
            by_source.entry(from).or_default().push(*to);
        }
        let sources = by_source.into_iter().map(|(from, tos)| async move {
            let mut out = Vec::new();
            for to in tos {
                let mut state = trace(lab, from, to).await;
                // A silent hop before one that answered may be a rate-limited one: asked
                // again once the kernel's budget (one per second) has refilled. A trace that
                // did not arrive ends at the last router that answered, which may have been
                // rate-limited too: it is asked again as well, and the longest answer kept.
                for _ in 0..2 {
                    if !silent_gap(&state) && state.reached {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1100)).await;
                    let again = trace(lab, from, to).await;
                    if state.reached || again.reached || again.hops.len() > state.hops.len() {
                        state = again;
                    }
                }
                if state.reached {
                    let spec = PmtuSpec {
                        min: if to.is_ipv4() { 68 } else { 1280 },
                        max: max_mtu,
                        ..PmtuSpec::new(to)
                    };
                    state.pmtu = lab
                        .probe(from, move |ns| crate::probe::path_mtu(ns, &spec))
                        .await
                        .ok()
                        .map(|p| u32::from(p.mtu));
                }
                out.push((pair_key(from, to), state));
            }
            out
        });
        futures::future::join_all(sources)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Whether a hop was silent while a later one answered.
fn silent_gap(state: &PathState) -> bool {
    let silent = |h: &BTreeSet<String>| h.contains("*");
    state
        .hops
        .iter()
        .position(silent)
        .is_some_and(|i| state.hops[i..].iter().any(|h| !silent(h)))
}

async fn trace(lab: &Lab, from: &str, to: IpAddr) -> PathState {
    let spec = TraceSpec {
        dst: to,
        max_hops: 12,
        timeout_per_hop: Duration::from_millis(500),
        probes_per_hop: 1,
    };
    match lab
        .probe(from, move |ns| crate::probe::traceroute(ns, &spec))
        .await
    {
        Ok(t) => PathState {
            hops: t
                .hops
                .iter()
                .map(|h| {
                    let mut set: BTreeSet<String> = h
                        .responders
                        .iter()
                        .map(|r| mask_link_local(&r.to_string()))
                        .collect();
                    if set.is_empty() {
                        set.insert("*".into());
                    }
                    if let Some(mark) = &h.unreachable {
                        set = set.into_iter().map(|r| format!("{r} {mark}")).collect();
                    }
                    set
                })
                .collect(),
            reached: t.reached,
            pmtu: None,
        }
        .trim_unreached(),
        Err(e) => PathState {
            hops: vec![[format!("error: {e}")].into()],
            reached: false,
            pmtu: None,
        },
    }
}

/// `ok`, or `fails: WHY`.
///
/// Why is told only when the sender's own kernel refused the packet (no route, a local
/// firewall). Anything a router said about it — unreachable, prohibited, TTL exceeded —
/// and silence are one verdict, `no reply`: routers send those errors at most once a second
/// after a burst of six, and `!H` only once ARP has failed for 3 s, so which of them a
/// ping gets is decided by timing, and would read `unreachable` in one run and `timeout`
/// in the next.
fn verdict(outcome: &Result<PingOutcome, crate::lab::ProbeError>) -> String {
    match outcome {
        Ok(o) if o.is_reply() => "ok".into(),
        Ok(o @ PingOutcome::Unreachable { from: None, .. }) => format!(
            "fails: {}",
            o.failure().map_or("unknown".into(), |f| f.to_string())
        ),
        Ok(_) => "fails: no reply".into(),
        Err(e) => format!("fails: {e}"),
    }
}

/// The routing state of one namespace.
async fn node_state(lab: &Lab, name: &str) -> NodeState {
    let mut state = NodeState::default();
    if let Some(space) = lab.namespace(name) {
        for ipv6 in [false, true] {
            let Ok(routes) = crate::net::routes::tables(&space.netlink, ipv6).await else {
                continue;
            };
            for (table, r) in routes {
                if is_link_local_host(&r) {
                    continue;
                }
                let table = match table {
                    254 => "main".to_string(),
                    255 => "local".to_string(),
                    253 => "default".to_string(),
                    n => n.to_string(),
                };
                insert_route(
                    &mut state.routes,
                    format!("{table} {}", r.to),
                    route_state(&r),
                );
            }
        }
    }
    // calico-node's BIRD and, beside it, the node's own: one node's state.
    for daemon in lab.daemons_of(name) {
        daemon_state(daemon, &mut state).await;
    }
    state
}

/// What one of a node's daemons adds to the node's state: its BGP and OSPF protocols and
/// its best routes.
async fn daemon_state(daemon: &dyn crate::daemon::Daemon, state: &mut NodeState) {
    if let Ok(details) = daemon.protocol_details().await {
        for p in details {
            let proto = p.row.proto.to_ascii_uppercase();
            let mut neighbors = BTreeSet::new();
            let state_text = match proto.as_str() {
                "BGP" => {
                    if let Some(a) = p.neighbor_address {
                        neighbors.insert(mask_link_local(&a.to_string()));
                    }
                    snapshot::bgp_state(&p.row.state, p.bgp_state.as_deref())
                }
                "OSPF" => {
                    for n in daemon.ospf_neighbors(&p.row.name).await.unwrap_or_default() {
                        // The role after `/` (DR, BDR) goes to whoever came up first, so
                        // it differs between runs of the same network: only the state is
                        // kept.
                        let base = n.state.split('/').next().unwrap_or(&n.state);
                        neighbors.insert(format!("{} {base}", n.router_id));
                    }
                    p.row.state.clone()
                }
                _ => continue,
            };
            state.protocols.insert(
                p.row.name.clone(),
                ProtocolState {
                    proto,
                    state: state_text.trim().to_string(),
                    neighbors,
                },
            );
        }
    }
    if let Ok(text) = daemon.best_routes().await {
        state
            .bird_routes
            .extend(routelab_model::snapshot::bird::parse_best_routes(&text));
    }
}

/// A local-table route to one of the namespace's own link-local addresses: derived from a
/// random MAC, so left out.
fn is_link_local_host(r: &KernelRoute) -> bool {
    match r.to.addr() {
        IpAddr::V6(a) => a.is_unicast_link_local() && r.to.prefix_len() == 128,
        IpAddr::V4(_) => false,
    }
}

/// IPv6 keeps one route per device for the same prefix (`fe80::/64` on every interface),
/// listed in no fixed order: such routes are one entry, their next hops a set. Routes
/// that differ otherwise (another metric or protocol) are keyed apart by their metric.
fn insert_route(routes: &mut BTreeMap<String, RouteState>, key: String, route: RouteState) {
    match routes.get_mut(&key) {
        None => {
            routes.insert(key, route);
        }
        Some(have)
            if (&have.kind, &have.protocol, have.metric)
                == (&route.kind, &route.protocol, route.metric) =>
        {
            have.nexthops.extend(route.nexthops);
        }
        Some(_) => {
            let key = format!("{key} metric {}", route.metric.unwrap_or(0));
            insert_route(routes, key, route);
        }
    }
}

fn route_state(r: &KernelRoute) -> RouteState {
    let kind = match r.kind {
        RouteKind::Unicast => "unicast".to_string(),
        RouteKind::Blackhole => "blackhole".into(),
        RouteKind::Unreachable => "unreachable".into(),
        RouteKind::Prohibit => "prohibit".into(),
        RouteKind::Other(2) => "local".into(),
        RouteKind::Other(3) => "broadcast".into(),
        RouteKind::Other(4) => "anycast".into(),
        RouteKind::Other(5) => "multicast".into(),
        RouteKind::Other(t) => format!("type{t}"),
    };
    let nexthops = r
        .nexthops
        .iter()
        .map(|h| {
            let mut s = String::new();
            if let Some(via) = h.via {
                s.push_str(&format!("via {} ", mask_link_local(&via.to_string())));
            }
            if let Some(dev) = &h.dev {
                s.push_str(&format!("dev {dev} "));
            }
            if h.onlink {
                s.push_str("onlink ");
            }
            s.trim_end().to_string()
        })
        .filter(|s| !s.is_empty())
        .collect();
    RouteState {
        kind,
        protocol: r.protocol.clone(),
        metric: r.metric,
        nexthops,
    }
}

/// Every node and pod with the address others reach it at.
fn endpoints(plan: &Plan) -> Vec<Endpoint> {
    plan.namespaces
        .iter()
        .filter(|n| n.role != NamespaceRole::Segment)
        .filter_map(|n| {
            let mut mine: Vec<(bool, bool, &str, IpAddr)> = plan
                .addresses
                .iter()
                .filter(|a| a.ns == n.name)
                .filter(|a| match a.address.addr() {
                    IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_loopback(),
                    IpAddr::V6(v6) => !v6.is_unicast_link_local() && !v6.is_loopback(),
                })
                // Loopback first, then IPv4 first, then by interface: a stable choice.
                .map(|a| {
                    (
                        a.interface != "lo",
                        a.address.addr().is_ipv6(),
                        a.interface.as_str(),
                        a.address.addr(),
                    )
                })
                .collect();
            mine.sort();
            mine.first().map(|&(_, _, _, address)| Endpoint {
                name: n.name.clone(),
                address,
            })
        })
        .collect()
}

/// Each node's pods, in plan order (the first is `pod0`).
fn pods_by_node(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in plan
        .namespaces
        .iter()
        .filter(|n| n.role == NamespaceRole::Pod)
    {
        let node = plan.veths.iter().find_map(|v| {
            if v.a.ns == pod.name {
                Some(v.b.ns.clone())
            } else if v.b.ns == pod.name {
                Some(v.a.ns.clone())
            } else {
                None
            }
        });
        if let Some(node) = node {
            out.entry(node).or_default().push(pod.name.clone());
        }
    }
    out
}

/// The (from, to) pairs the expectations of every phase probe.
fn named_pairs(scenario: &Scenario) -> BTreeSet<(String, IpAddr)> {
    fn pair(e: &Expectation) -> Option<(String, IpAddr)> {
        match &e.kind {
            Kind::Ping(k) => Some((k.from.clone(), k.to)),
            Kind::Pmtu(k) => Some((k.from.clone(), k.to)),
            Kind::Traceroute(k) => Some((k.from.clone(), k.to)),
            Kind::MaxUnfragmented(k) => Some((k.from.clone(), k.to)),
            Kind::NoFragmentationUpTo(k) => Some((k.from.clone(), k.to)),
            Kind::Fails(k) => pair(&k.inner),
            _ => None,
        }
    }
    scenario
        .expectations
        .iter()
        .chain(scenario.steps.iter().flat_map(|s| s.expectations.iter()))
        .filter_map(pair)
        .collect()
}

/// The reachability pairs (indexes into `endpoints`) and a sentence saying which they are.
fn matrix(
    plan: &Plan,
    endpoints: &[Endpoint],
    named: &BTreeSet<(String, IpAddr)>,
    pods: &BTreeMap<String, Vec<String>>,
) -> (Vec<(usize, usize)>, String) {
    let all: Vec<usize> = (0..endpoints.len()).collect();
    let (chosen, scope) = if endpoints.len() <= REACHABILITY_FULL_LIMIT {
        (all, format!("all pairs of {} endpoints", endpoints.len()))
    } else {
        let nodes: BTreeSet<&str> = plan
            .namespaces
            .iter()
            .filter(|n| n.role == NamespaceRole::Node)
            .map(|n| n.name.as_str())
            .collect();
        let keep = |e: &Endpoint| {
            nodes.contains(e.name.as_str())
                || pods.values().any(|p| p.first() == Some(&e.name))
                || named
                    .iter()
                    .any(|(from, to)| from == &e.name || *to == e.address)
        };
        let chosen: Vec<usize> = all.into_iter().filter(|&i| keep(&endpoints[i])).collect();
        let scope = format!(
            "pairs of {} of {} endpoints: every node, the first pod of each and those the \
             expectations name",
            chosen.len(),
            endpoints.len()
        );
        (chosen, scope)
    };
    let pairs = chosen
        .iter()
        .flat_map(|&a| {
            chosen
                .iter()
                .filter(move |&&b| b != a)
                .map(move |&b| (a, b))
        })
        .collect();
    (pairs, scope)
}

/// How long the lab's routing must be unchanged before a snapshot: longer than OSPF's
/// 5 s between originations of a router's LSA (MinLSInterval) and between retransmissions
/// of an unacknowledged update, either of which can hold a route back while nothing
/// changes, so a network still converging is not taken for one at rest.
const SNAPSHOT_SETTLE: Duration = Duration::from_secs(6);

/// Waits for the lab to be at rest: every daemon past its first connection attempt, its
/// routing unchanged for [`SNAPSHOT_SETTLE`], no OSPF adjacency half formed, and no
/// peering down at both ends that may still come up (see [`crate::settle`]).
pub(crate) async fn wait_converged(lab: &Lab, quiet: &crate::settle::Quiet) {
    let grace_over = lab
        .daemon_starts()
        .into_iter()
        .map(|(_, t)| t + crate::settle::STARTUP_GRACE)
        .max();
    if let Some(t) = grace_over {
        tokio::time::sleep_until(t.into()).await;
    }
    loop {
        quiet.settled(SNAPSHOT_SETTLE).await;
        if let Some(until) = quiet.pair_down_until() {
            tokio::time::sleep_until(until.into()).await;
            continue;
        }
        if !ospf_forming(lab).await {
            return;
        }
        tokio::time::sleep(crate::settle::SAMPLE).await;
    }
}

/// Whether an OSPF adjacency is still forming. Quiet alone does not show it: a database
/// description that went unanswered is sent again only after the retransmit interval
/// (5 s by default), and nothing changes meanwhile.
async fn ospf_forming(lab: &Lab) -> bool {
    let names: Vec<String> = lab.namespace_names().map(str::to_string).collect();
    for daemon in names.iter().flat_map(|n| lab.daemons_of(n)) {
        let Ok(rows) = daemon.protocols().await else {
            continue;
        };
        for row in rows.iter().filter(|r| r.proto.eq_ignore_ascii_case("OSPF")) {
            let neighbors = daemon.ospf_neighbors(&row.name).await.unwrap_or_default();
            if neighbors.iter().any(|n| {
                let base = n.state.split('/').next().unwrap_or(&n.state);
                ["Init", "ExStart", "Exchange", "Loading"]
                    .iter()
                    .any(|s| base.eq_ignore_ascii_case(s))
            }) {
                return true;
            }
        }
    }
    false
}
