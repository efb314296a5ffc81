//! Path MTU prediction from the network file alone: what `routelab mtu FILE` prints, and
//! what the `pmtu` and `max_unfragmented` expectations should measure.
//!
//! For a source node and a destination address, the path is found hop by hop as the
//! kernel would forward, from what the file says:
//!
//! 1. the longest matching prefix among the node's connected subnets, its static routes,
//!    Felix's tunnel routes on a calico node, and the routes links install
//!    ([`Link::routes_at`]; flannel's host-gw: via the other node's IP; vxlan: an
//!    encapsulated hop over `flannel.1`);
//! 2. where nothing in the file matches on a node that runs a routing daemon (BIRD), the
//!    route is one it learns at run time, which cannot be known statically: the
//!    *assumption* is the shortest path over links (fewest hops), which is what OSPF or
//!    BGP with equal link costs would choose. Each such step is marked as assumed. A node
//!    without a daemon and without a matching route has no route.
//!
//! Each hop has two sizes:
//!
//! - `mtu`, the largest packet with DF that crosses it: what the link says
//!   ([`Link::hop`]: the smaller MTU of its two ends; for an `overlay`, no more than its
//!   threshold, as bigger DF packets are lost); for an encapsulated hop (a flannel VXLAN
//!   or a Calico tunnel), the device's MTU, and no more than the path underneath less the
//!   overhead when the outer packet copies the inner DF;
//! - `unfragmented`, the largest packet that crosses without being fragmented anywhere:
//!   the same for plain links and overlays, and for an encapsulated hop also no more than
//!   the unfragmented size of the path underneath (between the two node IPs) less the
//!   encapsulation's overhead.
//!
//! The predicted path MTU is the smallest `mtu` on the way there (an echo reply carries no
//! DF, so the way back does not limit it); the predicted unfragmented size is the smallest
//! `unfragmented` there *and back*, as the reply has the request's size.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::calico::node::{TunnelKind, TunnelRoute};
use crate::expect::Expectation;
use crate::expect::Kind;
pub use crate::hop::{Encapsulation, HopSizes, LinkRoute, OuterDf, Way};
use crate::link::Link;
use crate::link::endpoint::Interface;
use crate::network::Network;
use crate::overhead;

/// Why no path MTU can be predicted for a pair (no route in the file, a loop, a
/// blackhole), as a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unpredictable(pub String);

/// `format!` for an [`Unpredictable`].
macro_rules! why {
    ($($t:tt)*) => { Unpredictable(format!($($t)*)) };
}

/// How many hops a path may have before it is taken for a loop.
const MAX_HOPS: usize = 64;

/// Pod encapsulations and their per-packet overhead, for the pod MTU recommendation.
pub const POD_ENCAPSULATIONS: &[(&str, u32)] = &[
    ("Calico, no encapsulation", 0),
    ("Calico IPIP", overhead::IPIP),
    ("Calico VXLAN", overhead::VXLAN),
    ("Calico WireGuard", overhead::CALICO_WIREGUARD),
    ("flannel host-gw", 0),
    ("flannel vxlan", overhead::VXLAN),
    ("flannel wireguard", overhead::FLANNEL_WIREGUARD),
];

/// One hop of a predicted path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub from: String,
    pub to: String,
    /// The sender's interface.
    pub interface: String,
    /// The link, with its kind, e.g. `overlay zt-global`.
    pub link: String,
    /// Largest DF packet that crosses the hop.
    pub mtu: u32,
    /// Largest packet that crosses the hop unfragmented.
    pub unfragmented: u32,
    /// How the hop carries a packet, outermost last, e.g. `inner packet ≤ 1420 (zt0)` and
    /// `ZeroTier-like UDP, 66 bytes, underlay 1446: unfragmented ≤ 1380`.
    pub stack: Vec<String>,
    /// The path underneath an encapsulated hop (flannel VXLAN between node IPs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub underneath: Option<Box<Route>>,
    /// Set when the step rests on the shortest-path assumption rather than on the file.
    pub assumed: bool,
}

/// A one-way path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub from: String,
    pub to: IpAddr,
    pub hops: Vec<Hop>,
}

impl Route {
    pub fn mtu(&self) -> Option<u32> {
        self.hops.iter().map(|h| h.mtu).min()
    }

    pub fn unfragmented(&self) -> Option<u32> {
        self.hops.iter().map(|h| h.unfragmented).min()
    }

    /// The nodes the path goes through, its start and end included.
    pub fn nodes(&self) -> Vec<&str> {
        std::iter::once(self.from.as_str())
            .chain(self.hops.iter().map(|h| h.to.as_str()))
            .collect()
    }

    /// [`Route::nodes`] as a `pmtu` expectation's `via` would list them: the nodes
    /// between the two ends.
    pub fn between(&self) -> Vec<&str> {
        let nodes = self.nodes();
        nodes[1..nodes.len().saturating_sub(1).max(1)].to_vec()
    }

    /// Whether any step rests on the shortest-path assumption, here or underneath.
    pub fn assumed(&self) -> bool {
        self.hops
            .iter()
            .any(|h| h.assumed || h.underneath.as_ref().is_some_and(|u| u.assumed()))
    }
}

/// The prediction for one pair of endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub from: String,
    pub to: IpAddr,
    /// The source address the reply goes back to.
    pub src: IpAddr,
    pub forward: Route,
    pub back: Route,
    /// Largest DF packet that crosses there (what `pmtu` measures).
    pub path_mtu: u32,
    /// Largest packet that crosses there and back unfragmented (what `max_unfragmented`
    /// measures).
    pub unfragmented: u32,
}

impl Prediction {
    /// The pod MTU each encapsulation leaves for pods talking over this path.
    pub fn pod_mtus(&self) -> Vec<(&'static str, u32, u32)> {
        POD_ENCAPSULATIONS
            .iter()
            .map(|(name, overhead)| {
                (
                    *name,
                    *overhead,
                    self.unfragmented.saturating_sub(*overhead),
                )
            })
            .collect()
    }
}

/// Predicts the path from node `from` to `to` and back, the reply going to `src` (or the
/// address the kernel would pick: the first one of the outgoing interface).
pub fn predict(
    network: &Network,
    from: &str,
    to: IpAddr,
    src: Option<IpAddr>,
) -> Result<Prediction, Unpredictable> {
    // A pod's traffic starts on its node; its veth (the pod MTU) caps the path, as does the
    // veth of a pod at the far end.
    let from_pod = network.pod(from);
    let from = from_pod.map_or(from, |(node, _)| node.name.as_str());
    let pod_caps: Vec<u32> = from_pod
        .map(|(_, p)| p.mtu)
        .into_iter()
        .chain(network.pod_with(to).map(|(_, p)| p.mtu))
        .collect();
    let forward = route(network, from, to)?;
    let src = match (src, from_pod) {
        (Some(s), _) => s,
        (None, Some((_, pod))) => match pod.ip6 {
            Some(ip6) if to.is_ipv6() => ip6,
            _ => pod.ip,
        },
        (None, None) => source_address(network, &forward)?,
    };
    let dst_owner = network
        .owner_of(to)
        .ok_or_else(|| why!("no node has {to}"))?
        .to_string();
    let back = route(network, &dst_owner, src)?;
    let path_mtu = forward
        .mtu()
        .into_iter()
        .chain(pod_caps.iter().copied())
        .min()
        .ok_or_else(|| why!("{to} is on {from} itself"))?;
    let unfragmented = forward
        .unfragmented()
        .into_iter()
        .chain(back.unfragmented())
        .chain(pod_caps.iter().copied())
        .min()
        .unwrap_or(path_mtu);
    Ok(Prediction {
        from: from.to_string(),
        to,
        src,
        forward,
        back,
        path_mtu,
        unfragmented,
    })
}

/// The address the kernel would pick for a packet along `route`: the first address of the
/// same family on the first hop's interface.
fn source_address(network: &Network, route: &Route) -> Result<IpAddr, Unpredictable> {
    let first = route
        .hops
        .first()
        .ok_or_else(|| why!("{} is on {} itself", route.to, route.from))?;
    if let Some(address) = network
        .node(&route.from)
        .and_then(|n| n.calico.as_ref())
        .and_then(|c| {
            c.tunnels
                .iter()
                .find(|t| t.kind.device() == first.interface)
        })
        .and_then(|t| t.address)
    {
        return Ok(address);
    }
    network
        .interfaces_of(&route.from)
        .filter(|i| i.name == first.interface)
        .flat_map(|i| &i.addresses)
        .map(IpNet::addr)
        .find(|a| a.is_ipv4() == route.to.is_ipv4())
        .ok_or_else(|| {
            why!(
                "{}:{} has no address of {}'s family",
                route.from,
                first.interface,
                route.to
            )
        })
}

/// What one node's forwarding decision for a destination is.
enum Step<'a> {
    /// Out of `iface` on `link` to the node `next`.
    Link {
        link: &'a Link,
        iface: &'a Interface,
        next: String,
        assumed: bool,
    },
    /// Into a tunnel a link installed (flannel's VXLAN).
    Encapsulated(Encapsulation),
    /// Into a Calico tunnel device (of MTU `mtu`), encapsulated to the node with address
    /// `via`.
    CalicoTunnel {
        kind: TunnelKind,
        via: IpAddr,
        mtu: u32,
    },
}

/// The one-way path from node `from` to address `to`.
pub fn route(network: &Network, from: &str, to: IpAddr) -> Result<Route, Unpredictable> {
    let owner = network
        .owner_of(to)
        .ok_or_else(|| why!("no node of the network has the address {to}"))?
        .to_string();
    let mut hops = Vec::new();
    let mut at = from.to_string();
    let mut visited = BTreeSet::new();
    while at != owner {
        if hops.len() >= MAX_HOPS || !visited.insert(at.clone()) {
            return Err(why!("the path from {from} to {to} loops at {at}"));
        }
        let hop = match step(network, &at, to, &owner)? {
            Step::Link {
                link,
                iface,
                next,
                assumed,
            } => link_hop(link, iface, &next, assumed),
            Step::Encapsulated(tunnel) => encapsulated_hop(network, tunnel)?,
            Step::CalicoTunnel { kind, via, mtu } => tunnel_hop(network, &at, kind, via, mtu)?,
        };
        at = hop.to.clone();
        hops.push(hop);
    }
    Ok(Route {
        from: from.to_string(),
        to,
        hops,
    })
}

/// `(mtu, unfragmented)` of a hop into a tunnel device of MTU `inner_mtu` whose outer
/// packets, `overhead` bytes larger, take the path `underneath`.
fn tunnel_sizes(
    inner_mtu: u32,
    overhead: u32,
    outer_df: OuterDf,
    underneath: &Route,
) -> (u32, u32) {
    let room = |size: Option<u32>| size.unwrap_or(u32::MAX).saturating_sub(overhead);
    let mtu = match outer_df {
        OuterDf::Never => inner_mtu,
        OuterDf::Copied => inner_mtu.min(room(underneath.mtu())),
    };
    (mtu, inner_mtu.min(room(underneath.unfragmented())))
}

/// A hop into a tunnel a link installed, over the path between its outer addresses.
fn encapsulated_hop(network: &Network, tunnel: Encapsulation) -> Result<Hop, Unpredictable> {
    let underneath = route(network, &tunnel.from, tunnel.outer_dst)?;
    let below = underneath.unfragmented().unwrap_or(u32::MAX);
    let overhead = tunnel.overhead;
    let (mtu, unfragmented) =
        tunnel_sizes(tunnel.inner_mtu, overhead, tunnel.outer_df, &underneath);
    let stack = vec![
        format!(
            "{} ≤ {} ({})",
            tunnel.inner, tunnel.inner_mtu, tunnel.device
        ),
        format!(
            "{} {overhead} bytes, {} -> {} {}: unfragmented ≤ {below} - {overhead} = {}",
            tunnel.protocol,
            tunnel.outer_src,
            tunnel.outer_dst,
            tunnel.outer_df,
            below.saturating_sub(overhead)
        ),
    ];
    Ok(Hop {
        from: tunnel.from,
        to: tunnel.to,
        interface: tunnel.device,
        link: tunnel.link,
        mtu,
        unfragmented,
        stack,
        underneath: Some(Box::new(underneath)),
        assumed: false,
    })
}

/// A hop through a Calico tunnel device from `at` to the node with address `via`. IPIP's
/// outer packet copies the inner one's DF, so the underlay's path MTU also caps DF packets;
/// VXLAN's outer packets never carry DF, so the underlay fragments them instead.
fn tunnel_hop(
    network: &Network,
    at: &str,
    kind: TunnelKind,
    via: IpAddr,
    mtu: u32,
) -> Result<Hop, Unpredictable> {
    let underneath = route(network, at, via)?;
    let next = network
        .owner_of(via)
        .ok_or_else(|| why!("no node has {via}"))?
        .to_string();
    let overhead = kind.overhead();
    let device = kind.device();
    let (protocol, outer_df) = match kind {
        TunnelKind::Ipip => ("IPIP", OuterDf::Copied),
        TunnelKind::Vxlan => ("VXLAN", OuterDf::Never),
    };
    let (df_mtu, unfragmented) = tunnel_sizes(mtu, overhead, outer_df, &underneath);
    Ok(Hop {
        from: at.to_string(),
        to: next,
        interface: device.into(),
        link: format!("calico {device}"),
        mtu: df_mtu,
        unfragmented,
        stack: vec![
            format!("inner packet ≤ {mtu} ({device} MTU)"),
            format!(
                "{protocol}, {outer_df}, {overhead} bytes to {via}: unfragmented ≤ underlay \
                 {} - {overhead}",
                underneath.unfragmented().unwrap_or(u32::MAX)
            ),
        ],
        underneath: Some(Box::new(underneath)),
        assumed: false,
    })
}

fn link_hop(link: &Link, iface: &Interface, next: &str, assumed: bool) -> Hop {
    let peer_mtu = link
        .interfaces()
        .iter()
        .find(|i| i.node == next)
        .map_or(iface.mtu, |i| i.mtu);
    let HopSizes {
        mtu,
        unfragmented,
        mut stack,
    } = link.hop(iface, peer_mtu);
    stack.insert(
        0,
        format!(
            "{} MTU {}, {next}'s end MTU {peer_mtu}",
            iface.name, iface.mtu
        ),
    );
    Hop {
        from: iface.node.clone(),
        to: next.to_string(),
        interface: iface.name.clone(),
        link: format!("{} {}", link.tag(), link.name()),
        mtu,
        unfragmented,
        stack,
        underneath: None,
        assumed,
    }
}

/// A route candidate at a node, for the longest-prefix match.
enum Candidate<'a> {
    Connected(&'a Link, &'a Interface),
    Static(&'a crate::network::StaticRoute),
    /// A route a link installed.
    Link(LinkRoute),
    /// A block of another calico node, which Felix routes to that node's address.
    CalicoTunnel(&'a TunnelRoute, TunnelKind, u32),
}

fn step<'a>(
    network: &'a Network,
    at: &str,
    to: IpAddr,
    owner: &str,
) -> Result<Step<'a>, Unpredictable> {
    let node = network.node(at).ok_or_else(|| why!("no node `{at}`"))?;
    let mut best: Option<(u8, Candidate<'a>)> = None;
    let mut offer = |len: u8, c: Candidate<'a>| {
        // Longer prefixes win; on a tie the earlier candidate (connected first) stays.
        if best.as_ref().is_none_or(|(l, _)| len > *l) {
            best = Some((len, c));
        }
    };
    for link in network.links.iter().filter(|l| l.joins_nodes()) {
        for i in link.interfaces().iter().filter(|i| i.node == at) {
            for a in i.addresses.iter().filter(|a| a.trunc().contains(&to)) {
                offer(a.prefix_len(), Candidate::Connected(link, i));
            }
        }
    }
    for r in node.routes.iter().filter(|r| r.to.contains(&to)) {
        offer(r.to.prefix_len(), Candidate::Static(r));
    }
    for tunnel in node.calico.iter().flat_map(|c| &c.tunnels) {
        for r in tunnel.routes.iter().filter(|r| r.block.contains(&to)) {
            offer(
                r.block.prefix_len(),
                Candidate::CalicoTunnel(r, tunnel.kind, tunnel.mtu),
            );
        }
    }
    for r in network.links.iter().flat_map(|l| l.routes_at(at)) {
        if r.to.contains(&to) {
            offer(r.to.prefix_len(), Candidate::Link(r));
        }
    }
    match best.map(|(_, c)| c) {
        Some(Candidate::Connected(link, i)) => {
            if link.interfaces().iter().any(|m| m.node == owner) {
                Ok(Step::Link {
                    link,
                    iface: i,
                    next: owner.to_string(),
                    assumed: false,
                })
            } else {
                Err(why!(
                    "{at} has {to} on the subnet of {}, but no node there has it",
                    i.name
                ))
            }
        }
        Some(Candidate::Static(r)) if r.blackhole => {
            Err(why!("{at} drops traffic to {to} (blackhole {})", r.to))
        }
        Some(Candidate::Static(r)) => {
            let gw = r.via.first().copied();
            via_gateway(network, at, gw, r.dev.as_deref())
                .ok_or_else(|| why!("{at}: cannot follow its route {} to {to}", r.to))
        }
        Some(Candidate::CalicoTunnel(r, kind, mtu)) if r.encapsulated => Ok(Step::CalicoTunnel {
            kind,
            via: r.node_ip,
            mtu,
        }),
        Some(Candidate::CalicoTunnel(r, ..)) => direct(network, at, r.node_ip, None),
        Some(Candidate::Link(r)) => match r.way {
            Way::Gateway { gateway, dev } => direct(network, at, gateway, Some(&dev)),
            Way::Encapsulated(tunnel) => Ok(Step::Encapsulated(tunnel)),
        },
        // Routes a daemon would learn: only a node that runs one can have them.
        None if node.bird.is_some() || node.calico.is_some() => {
            shortest_first_step(network, at, owner)
        }
        None => Err(why!(
            "{at} has no route to {to} (none in the file, and no routing daemon to learn one)"
        )),
    }
}

/// The hop to a gateway that must be on a subnet of `at` (through `dev` if given).
fn direct<'a>(
    network: &'a Network,
    at: &str,
    gw: IpAddr,
    dev: Option<&str>,
) -> Result<Step<'a>, Unpredictable> {
    via_gateway(network, at, Some(gw), dev)
        .ok_or_else(|| why!("{at}: {gw} is not reachable directly"))
}

/// The hop to the owner of `gw` on a link `at` shares with it (through `dev` if given).
fn via_gateway<'a>(
    network: &'a Network,
    at: &str,
    gw: Option<IpAddr>,
    dev: Option<&str>,
) -> Option<Step<'a>> {
    for link in &network.links {
        for i in link.interfaces().iter().filter(|i| i.node == at) {
            if dev.is_some_and(|d| d != i.name) {
                continue;
            }
            let next = match gw {
                Some(gw) => link
                    .interfaces()
                    .iter()
                    .find(|m| m.addresses.iter().any(|a| a.addr() == gw))
                    .map(|m| m.node.clone()),
                // A device route on a point-to-point link: the far end.
                None => link
                    .interfaces()
                    .iter()
                    .find(|m| m.node != at)
                    .map(|m| m.node.clone()),
            };
            if let Some(next) = next.filter(|n| n != at) {
                return Some(Step::Link {
                    link,
                    iface: i,
                    next,
                    assumed: false,
                });
            }
        }
    }
    None
}

/// The first hop of a shortest path (fewest links) from `at` to `owner`, breadth first over
/// links in file order: the stand-in for routes a routing daemon would learn.
fn shortest_first_step<'a>(
    network: &'a Network,
    at: &str,
    owner: &str,
) -> Result<Step<'a>, Unpredictable> {
    // Parent pointers: node -> (previous node, link, interface of previous node).
    let mut came: std::collections::BTreeMap<String, (String, &'a Link, &'a Interface)> =
        std::collections::BTreeMap::new();
    let mut queue = VecDeque::from([at.to_string()]);
    let mut seen = BTreeSet::from([at.to_string()]);
    while let Some(n) = queue.pop_front() {
        if n == owner {
            break;
        }
        for link in network.links.iter().filter(|l| l.joins_nodes()) {
            let Some(out) = link.interfaces().iter().find(|i| i.node == n) else {
                continue;
            };
            for peer in link.interfaces().iter().filter(|i| i.node != n) {
                if seen.insert(peer.node.clone()) {
                    came.insert(peer.node.clone(), (n.clone(), link, out));
                    queue.push_back(peer.node.clone());
                }
            }
        }
    }
    let mut node = owner.to_string();
    loop {
        let Some((prev, link, out)) = came.get(&node) else {
            return Err(why!("no link path from {at} to {owner}"));
        };
        if prev == at {
            return Ok(Step::Link {
                link,
                iface: out,
                next: node,
                assumed: true,
            });
        }
        node = prev.clone();
    }
}

/// The endpoint pairs a scenario's MTU expectations name: `(from, to, src)`.
pub fn expectation_pairs(expectations: &[Expectation]) -> Vec<(String, IpAddr, Option<IpAddr>)> {
    let mut out: Vec<(String, IpAddr, Option<IpAddr>)> = Vec::new();
    for e in expectations {
        let pair = match &e.kind {
            Kind::Pmtu(p) => (p.from.clone(), p.to, p.src),
            Kind::MaxUnfragmented(m) => (m.from.clone(), m.to, m.src),
            Kind::NoFragmentationUpTo(n) => (n.from.clone(), n.to, n.src),
            _ => continue,
        };
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

/// Every ordered pair of nodes, each to the other's first IPv4 address (of an interface,
/// else of its loopback).
pub fn all_pairs(network: &Network) -> Vec<(String, IpAddr, Option<IpAddr>)> {
    let first_v4 = |node: &str| -> Option<IpAddr> {
        network
            .links
            .iter()
            .filter(|l| l.joins_nodes())
            .flat_map(|l| l.interfaces())
            .filter(|i| i.node == node)
            .flat_map(|i| &i.addresses)
            .chain(network.node(node).into_iter().flat_map(|n| &n.loopback))
            .map(IpNet::addr)
            .find(IpAddr::is_ipv4)
    };
    let mut out = Vec::new();
    for a in &network.nodes {
        for b in network.nodes.iter().filter(|b| b.name != a.name) {
            if let Some(to) = first_v4(&b.name) {
                out.push((a.name.clone(), to, None));
            }
        }
    }
    out
}

impl fmt::Display for Prediction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} -> {} (replies to {})", self.from, self.to, self.src)?;
        writeln!(
            f,
            "  path MTU (largest DF packet that crosses):         {}",
            self.path_mtu
        )?;
        writeln!(
            f,
            "  unfragmented (largest packet, there and back):     {}",
            self.unfragmented
        )?;
        writeln!(f, "  there: {}", self.forward.nodes().join(" > "))?;
        write_route(f, &self.forward, 4)?;
        writeln!(f, "  back: {}", self.back.nodes().join(" > "))?;
        write_route(f, &self.back, 4)?;
        writeln!(f, "  pod MTU for pods talking over this path:")?;
        for (name, overhead, mtu) in self.pod_mtus() {
            writeln!(f, "    {name:<26} {overhead:>3} bytes  -> {mtu}")?;
        }
        if self.forward.assumed() || self.back.assumed() {
            writeln!(
                f,
                "  (*) no route in the file: assumed to follow the shortest path over links \
                 (fewest hops), as a routing daemon with equal costs would; OSPF costs, \
                 BGP policy and firewalls are not considered"
            )?;
        }
        Ok(())
    }
}

fn write_route(f: &mut fmt::Formatter<'_>, r: &Route, indent: usize) -> fmt::Result {
    let pad = " ".repeat(indent);
    for (n, h) in r.hops.iter().enumerate() {
        writeln!(
            f,
            "{pad}{}. {} {} -> {} over {}{}: mtu {}, unfragmented {}",
            n + 1,
            h.from,
            h.interface,
            h.to,
            h.link,
            if h.assumed { " (*)" } else { "" },
            h.mtu,
            h.unfragmented
        )?;
        for layer in &h.stack {
            writeln!(f, "{pad}     {layer}")?;
        }
        if let Some(u) = &h.underneath {
            writeln!(f, "{pad}     underneath, {} -> {}:", u.from, u.to)?;
            write_route(f, u, indent + 7)?;
        }
    }
    Ok(())
}

/// The text `routelab mtu FILE` prints for a loaded scenario: every pair its MTU
/// expectations name, or every pair of nodes when it has none.
pub fn report(network: &Network, expectations: &[Expectation]) -> String {
    let mut pairs = expectation_pairs(expectations);
    let named = !pairs.is_empty();
    if !named {
        pairs = all_pairs(network);
    }
    let mut out = format!(
        "network {}: {}\n\n",
        network.name,
        if named {
            "the endpoints its MTU expectations name"
        } else {
            "every pair of nodes (it has no MTU expectations)"
        }
    );
    for (from, to, src) in pairs {
        match predict(network, &from, to, src) {
            Ok(p) => out.push_str(&format!("{p}\n")),
            Err(e) => out.push_str(&format!("{from} -> {to}: no prediction: {e}\n\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests;
