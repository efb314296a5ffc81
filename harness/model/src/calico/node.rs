//! The mock calico-node of a scenario, computed from the file alone: the Node resources
//! the cluster holds, the IPAM blocks each node owns, the pods it runs with their addresses,
//! interfaces and MTU (Felix's part), and the BIRD configuration confd would write for it.
//!
//! Pure. The plan turns a [`CalicoNode`] into namespaces, veths, routes, sysctls and a
//! BIRD 1.6 daemon; see `plan.rs`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::error::{Context, bail};
use ipnet::IpNet;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::cluster::{Cluster, Encap, Pool};
use super::config::ClusterRoutePolicy;
use super::ipam::{self, AffinityState, BlockAffinity};
use super::peerings::LocalWorkload;
use super::resources::{AsNumber, NodeBgpSpec, NodeSpec, ObjectMeta, Resource};
use super::{RenderedConfig, render_with_workloads};
use crate::mac::MacAddr;
use crate::overhead;

/// The gateway address every Calico pod routes through: link-local, answered by the host
/// with proxy ARP, never configured anywhere.
pub const POD_GATEWAY: &str = "169.254.1.1";

/// The MAC address Calico's CNI plugin gives the host side of every pod's veth (routelab
/// sets it where it matters: on dual-stack pods, whose IPv6 gateway it makes).
pub const HOST_SIDE_MAC: MacAddr = MacAddr::new([0xee; 6]);

/// A dual-stack pod's IPv6 gateway: the link-local address of [`HOST_SIDE_MAC`].
pub const POD_GATEWAY6: &str = "fe80::ecee:eeff:feee:eeee";

/// What the scenario says about one Kubernetes node running calico-node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInput {
    pub name: String,
    /// As `kubectl label node` sets them.
    pub labels: BTreeMap<String, String>,
    /// `spec.bgp.asNumber`: overrides the cluster's AS for this node.
    pub as_number: Option<u32>,
    /// `spec.bgp.routeReflectorClusterID`: makes the node a route reflector.
    pub route_reflector_cluster_id: Option<String>,
    /// The node's IPv4 address with its subnet, as calico-node detects it.
    pub address: IpNet,
    /// The node's IPv6 address with its subnet, for a dual-stack node.
    pub address6: Option<IpNet>,
    /// IPAM blocks pinned to this node (otherwise allocated deterministically).
    pub pinned_blocks: Vec<IpNet>,
    pub pods: Vec<PodInput>,
    /// MTU of the interface holding `address`, for Calico's automatic pod MTU.
    pub host_mtu: u32,
}

/// What the scenario says about one pod.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodInput {
    pub name: String,
    /// The pod's labels, which BGPPeers' `localWorkloadSelector`s match.
    pub labels: BTreeMap<String, String>,
    /// Addresses on the pod's `lo`: a service address the pod answers and advertises.
    pub loopback: Vec<IpNet>,
    /// A BIRD 2 the pod runs, as a MetalLB- or kube-vip-like workload runs a BGP speaker.
    pub bird: Option<crate::daemon::BirdConfig>,
}

impl PodInput {
    /// A pod with nothing but a name.
    pub fn named(name: &str) -> PodInput {
        PodInput {
            name: name.to_string(),
            ..PodInput::default()
        }
    }
}

/// A pod's labels as a workload endpoint carries them: its own, then the ones Calico sets
/// on every Kubernetes workload endpoint, which win (routelab's pods are all in namespace
/// `default`, with its `default` service account). Labels a namespace's profile passes on
/// (`pcns.*`) are not modelled.
pub fn workload_labels(own: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut labels = own.clone();
    labels.extend(
        [
            ("projectcalico.org/namespace", "default"),
            ("projectcalico.org/orchestrator", "k8s"),
            ("projectcalico.org/serviceaccount", "default"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    labels
}

/// A pod: a namespace of its own with `eth0`, wired to its node by a `cali…` veth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pod {
    pub name: String,
    /// The lab namespace: `<node>-<pod>`.
    pub namespace: String,
    pub ip: IpAddr,
    /// Its IPv6 address, when an IPv6 pool gives the node a block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip6: Option<IpAddr>,
    /// The host side of the pod's veth, named as Felix names it: `cali` + 11 hex digits.
    pub host_interface: String,
    pub mtu: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loopback: Vec<IpNet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bird: Option<crate::daemon::BirdConfig>,
    /// The BGPPeer whose `localWorkloadSelector` selected the pod (Felix's choice), for
    /// which confd renders a `Local_Workload_<ip>` session on the node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_peer: Option<String>,
    /// The addresses Felix puts on `host_interface` for the pod to peer with
    /// (BGPConfiguration `localWorkloadPeeringIPV4`, and `localWorkloadPeeringIPV6` for a
    /// pod with IPv6), when it is selected and they are set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peering_addresses: Vec<IpAddr>,
}

/// Everything routelab does as calico-node on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalicoNode {
    pub name: String,
    pub address: IpNet,
    /// Set on a dual-stack node, which runs `bird6` beside `bird`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address6: Option<IpNet>,
    pub blocks: Vec<String>,
    pub pods: Vec<Pod>,
    /// Whether the cluster runs BGP at all (the Installation may disable it).
    pub bgp: bool,
    /// What of the pools' encapsulation routelab does not reproduce, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unprogrammed_encapsulation: Option<String>,
    /// Felix's tunnels, one per encapsulation an enabled IPv4 pool uses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelDataplane>,
    #[serde(skip)]
    pub rendered: RenderedConfig,
}

impl CalicoNode {
    /// The configuration its BIRD runs: confd's rendered files, the main one first (the
    /// `bird6` files too, which `bird` does not read).
    pub fn bird_config(&self) -> crate::daemon::BirdConfig {
        self.files(|_| true)
    }

    /// The configuration its `bird6` runs: the IPv6 files, the main one first.
    pub fn bird6_config(&self) -> crate::daemon::BirdConfig {
        self.files(|name| name.starts_with("bird6"))
    }

    fn files(&self, wanted: impl Fn(&str) -> bool) -> crate::daemon::BirdConfig {
        crate::daemon::BirdConfig::Rendered(
            self.rendered
                .files()
                .iter()
                .filter(|(name, _)| wanted(name))
                .map(|(name, text)| (name.to_string(), text.to_string()))
                .collect(),
        )
    }
}

/// An encapsulation Felix programs for pod traffic between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    /// IP in IP through `tunl0`, the kernel's fallback tunnel, which receives every IPIP
    /// packet no other tunnel claims.
    Ipip,
    /// VXLAN through `vxlan.calico` (VNI 4096, UDP port 4789), with static ARP and FDB
    /// entries for every other node's VTEP.
    Vxlan,
}

impl TunnelKind {
    /// The device Felix creates.
    pub fn device(self) -> &'static str {
        match self {
            TunnelKind::Ipip => "tunl0",
            TunnelKind::Vxlan => "vxlan.calico",
        }
    }

    /// Bytes the outer headers add to each packet.
    pub fn overhead(self) -> u32 {
        match self {
            TunnelKind::Ipip => overhead::IPIP,
            TunnelKind::Vxlan => overhead::VXLAN,
        }
    }

    /// How `pool` uses this encapsulation (VXLAN wins when a pool names both).
    fn mode(self, pool: &Pool) -> Encap {
        match self {
            TunnelKind::Ipip if pool.vxlan.in_use() => Encap::Never,
            TunnelKind::Ipip => pool.ipip,
            TunnelKind::Vxlan => pool.vxlan,
        }
    }
}

/// The VXLAN network identifier and UDP port of `vxlan.calico` (Felix's defaults).
pub const VXLAN_VNI: u32 = 4096;
pub const VXLAN_PORT: u16 = 4789;

/// What Felix programs on a node for one encapsulation its IPv4 pools use: the device, and
/// the routes to the blocks of the pools' other nodes.
///
/// Calico's confd has BIRD leave these pools' routes to Felix ("Cluster routes are
/// handled by Felix"; for IPIP unless `programClusterRoutes` says otherwise), and Felix
/// derives them from the IPAM block affinities and the Node resources, not from BGP.
/// (Older Calico had its BIRD fork install IPIP routes from BGP through `krt_tunnel`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TunnelDataplane {
    pub kind: TunnelKind,
    /// The device's address: Calico's IPAM gives the tunnel the first free address of the
    /// node's block before any pod gets one. None when no such pool gives the node a block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// The device's MTU, the same as the pods' (Felix's tunnel MTU follows the pod MTU).
    pub mtu: u32,
    /// VXLAN: this node's VTEP MAC address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// Routes to other nodes' blocks. Empty when BIRD programs them instead.
    pub routes: Vec<TunnelRoute>,
    /// This node's own blocks in these pools, blackholed (Felix installs these too, since
    /// BIRD's kernel filter rejects the pools).
    pub blackholes: Vec<IpNet>,
}

/// One route Felix installs for a remote block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TunnelRoute {
    pub block: IpNet,
    /// The owning node's address.
    pub node_ip: IpAddr,
    /// Through the tunnel when true; a plain route via `node_ip` on the host interface when
    /// false (CrossSubnet, the node being on the same subnet).
    pub encapsulated: bool,
    /// VXLAN: the owning node's VTEP, the route's gateway on `vxlan.calico`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtep: Option<Vtep>,
}

/// A remote VXLAN tunnel endpoint as Felix learns it from the Node resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vtep {
    pub address: IpAddr,
    pub mac: MacAddr,
}

/// A VTEP MAC for `node`: Felix picks one at random and publishes it in the Node resource;
/// one derived from the name keeps plans stable. Locally administered, unicast.
pub fn vtep_mac(node: &str) -> MacAddr {
    let d = Sha256::digest(format!("vtep.{node}").as_bytes());
    MacAddr::new([0x66, d[0], d[1], d[2], d[3], d[4]])
}

/// Felix's interface name for a pod: `cali` and 11 hex digits of a hash of its identity,
/// so names are unique, stable and within Linux's 15 characters.
pub fn host_interface_name(node: &str, pod: &str) -> String {
    let digest = Sha256::digest(format!("{node}.{pod}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("cali{}", &hex[..11])
}

/// Calico's automatic pod MTU: the host interface's MTU less the overhead of the
/// encapsulation the pools use (IPIP 20, VXLAN 50, none 0).
pub fn auto_mtu(cluster: &Cluster, host_mtu: u32) -> u32 {
    let overhead = [TunnelKind::Vxlan, TunnelKind::Ipip]
        .into_iter()
        .filter(|kind| tunnel_pools(cluster, *kind).next().is_some())
        .map(TunnelKind::overhead)
        .max()
        .unwrap_or(0);
    host_mtu - overhead
}

/// IPIP routes that `programClusterRoutes` gives to BIRD, phrased as a warning: Calico's
/// BIRD fork sets `krt_tunnel` on them; vanilla BIRD cannot.
fn unprogrammed_encapsulation(cluster: &Cluster) -> Option<String> {
    let policy = ClusterRoutePolicy::from(cluster.bgp_default.as_ref());
    let p = tunnel_pools(cluster, TunnelKind::Ipip).find(|p| policy.programs(p))?;
    Some(format!(
        "programClusterRoutes has BIRD install the routes of IPIP pool {}, through the \
         `krt_tunnel` attribute only Calico's BIRD has: in routelab's vanilla BIRD they go \
         through the host interface, unencapsulated (leave programClusterRoutes unset so \
         that Felix programs them, as routelab does)",
        p.name
    ))
}

/// Adds (or completes) a Node resource for each scenario node, so confd sees the node with
/// its address, labels, AS and route-reflector cluster. Values the scenario gives win.
fn with_scenario_nodes(mut resources: Vec<Resource>, nodes: &[NodeInput]) -> Vec<Resource> {
    for n in nodes {
        let existing = resources.iter_mut().rev().find_map(|r| match r {
            Resource::Node(meta, spec) if meta.name == n.name => Some((meta, spec)),
            _ => None,
        });
        let (meta, spec) = match existing {
            Some(found) => found,
            None => {
                resources.push(Resource::Node(
                    ObjectMeta {
                        name: n.name.clone(),
                        ..ObjectMeta::default()
                    },
                    NodeSpec::default(),
                ));
                match resources.last_mut() {
                    Some(Resource::Node(meta, spec)) => (meta, spec),
                    _ => unreachable!("a Node was just pushed"),
                }
            }
        };
        meta.labels.extend(n.labels.clone());
        let bgp = spec.bgp.get_or_insert_with(NodeBgpSpec::default);
        if bgp.ipv4_address.is_empty() {
            bgp.ipv4_address = n.address.to_string();
        }
        if let Some(a6) = n.address6 {
            bgp.ipv6_address = a6.to_string();
        }
        if let Some(asn) = n.as_number {
            bgp.as_number = Some(AsNumber(asn));
        }
        if let Some(id) = &n.route_reflector_cluster_id {
            bgp.route_reflector_cluster_id = id.clone();
        }
    }
    resources
}

/// Legal but almost certainly unintended: a BGPPeer whose selectors match no node (so it
/// does nothing), or that names a node the cluster does not have.
pub fn suspicious_peers(cluster: &Cluster) -> Vec<String> {
    let mut out = Vec::new();
    let known = || {
        cluster
            .nodes
            .values()
            .map(|n| {
                let labels: Vec<String> =
                    n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{} [{}]", n.name, labels.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    for (name, peer) in &cluster.bgp_peers {
        for (field, selector) in [
            ("nodeSelector", &peer.node_selector),
            ("peerSelector", &peer.peer_selector),
        ] {
            if !selector.trim().is_empty() && cluster.nodes_matching(selector).is_empty() {
                out.push(format!(
                    "BGPPeer {name}: {field} `{selector}` selects no node, so this peering is never \
                     made (nodes and labels: {})",
                    known()
                ));
            }
        }
        if !peer.node.is_empty() && !cluster.nodes.contains_key(&peer.node) {
            out.push(format!(
                "BGPPeer {name}: node `{}` is not a node of the cluster",
                peer.node
            ));
        }
    }
    out
}

/// Computes every calico-node of a scenario, with warnings about the resources.
pub fn plan_cluster(
    resources: Vec<Resource>,
    nodes: &[NodeInput],
    env: &BTreeMap<String, String>,
) -> super::Result<(Vec<CalicoNode>, Vec<String>)> {
    // bird6 runs where the scenario gives an IPv6 address, so a Node resource must not
    // give one the scenario does not know of.
    for n in nodes.iter().filter(|n| n.address6.is_none()) {
        let manifest6 = resources.iter().rev().find_map(|r| match r {
            Resource::Node(meta, spec) if meta.name == n.name => spec
                .bgp
                .as_ref()
                .map(|b| b.ipv6_address.clone())
                .filter(|a| !a.is_empty()),
            _ => None,
        });
        if let Some(a) = manifest6 {
            bail!(
                "the Node resource of {} sets ipv6Address {a}, but the scenario gives the node \
                 no `address6`: give `calico: {{ address6: {a} }}` (an address of one of its \
                 interfaces) so that it runs bird6, or remove it from the manifest",
                n.name
            );
        }
    }
    let resources = with_scenario_nodes(resources, nodes);
    let cluster = Cluster::from_resources(&resources)?;
    cluster.validate()?;
    let mut warnings = suspicious_peers(&cluster);
    warnings.extend(cluster.unreadable_passwords());
    let pins: BTreeMap<String, Vec<IpNet>> = nodes
        .iter()
        .map(|n| (n.name.clone(), n.pinned_blocks.clone()))
        .collect();
    for n in nodes {
        for pin in &n.pinned_blocks {
            if !cluster
                .pools
                .iter()
                .any(|p| !p.disabled && p.cidr.contains(pin))
            {
                bail!(
                    "block {pin} pinned to node {} is in no enabled IP pool",
                    n.name
                );
            }
        }
    }
    let affinities = ipam::cluster_affinities(&cluster, &pins)?;
    let mut out = Vec::new();
    for n in nodes {
        let blocks: Vec<BlockAffinity> = affinities.get(&n.name).cloned().unwrap_or_default();
        let mtu = cluster
            .mtu()
            .unwrap_or_else(|| auto_mtu(&cluster, n.host_mtu));
        let tunnels: Vec<TunnelDataplane> = [TunnelKind::Vxlan, TunnelKind::Ipip]
            .into_iter()
            .filter_map(|kind| tunnel_dataplane(kind, &cluster, &affinities, n, mtu))
            .collect();
        let reserved: Vec<IpAddr> = tunnels.iter().filter_map(|t| t.address).collect();
        let mut pods = pods_of(n, &blocks, mtu, &reserved)?;
        if n.address6.is_none() && cluster.bgp_enabled() && pods.iter().any(|p| p.ip6.is_some()) {
            warnings.push(format!(
                "node {} has an IPv6 block, so its pods get IPv6 addresses, but it has no \
                 `address6`, so it runs no bird6 and no other node learns the block; give \
                 it `calico: {{ address6: ... }}`",
                n.name
            ));
        }
        let peering_v4 = cluster.local_workload_peering_ipv4().map(IpAddr::V4);
        let peering_v6 = cluster.local_workload_peering_ipv6().map(IpAddr::V6);
        let mut workloads = Vec::new();
        for pod in &mut pods {
            pod.bgp_peer = cluster.workload_bgp_peer(&n.name, &workload_labels(&pod.labels));
            let Some(peer) = &pod.bgp_peer else { continue };
            pod.peering_addresses = peering_v4
                .into_iter()
                .chain(peering_v6.filter(|_| pod.ip6.is_some()))
                .collect();
            if peering_v4.is_none() && pod.bird.is_some() {
                warnings.push(format!(
                    "pod {} is selected by the localWorkloadSelector of BGPPeer {peer}, but the \
                     default BGPConfiguration sets no localWorkloadPeeringIPV4, so Felix gives \
                     its interface no address to peer with; set one (a link-local address such \
                     as 169.254.0.179), or have the pod peer with the node's address",
                    pod.namespace
                ));
            }
            workloads.push(LocalWorkload {
                bgp_peer: peer.clone(),
                ipv4: Some(pod.ip).filter(IpAddr::is_ipv4),
                ipv6: pod.ip6,
            });
        }
        let rendered = render_with_workloads(&resources, &n.name, &blocks, env, &workloads)
            .with_context(|| format!("rendering calico-node's BIRD config for {}", n.name))?;
        out.push(CalicoNode {
            name: n.name.clone(),
            address: n.address,
            address6: n.address6,
            blocks: blocks.iter().map(ToString::to_string).collect(),
            pods,
            bgp: cluster.bgp_enabled(),
            unprogrammed_encapsulation: unprogrammed_encapsulation(&cluster),
            tunnels,
            rendered,
        });
    }
    Ok((out, warnings))
}

/// The enabled IPv4 pools that use `kind` (Always or CrossSubnet).
fn tunnel_pools(cluster: &Cluster, kind: TunnelKind) -> impl Iterator<Item = &Pool> {
    cluster
        .pools
        .iter()
        .filter(move |p| !p.disabled && p.cidr.addr().is_ipv4() && kind.mode(p).in_use())
}

/// Felix's part for `kind` on node `n`, or None when no pool uses it. Blocks pending
/// confirmation are not routed (they are not the node's yet).
fn tunnel_dataplane(
    kind: TunnelKind,
    cluster: &Cluster,
    affinities: &BTreeMap<String, Vec<BlockAffinity>>,
    n: &NodeInput,
    mtu: u32,
) -> Option<TunnelDataplane> {
    let first_pool = tunnel_pools(cluster, kind).next()?;
    let pool_of = |block: &IpNet| tunnel_pools(cluster, kind).find(|p| p.cidr.contains(block));
    // A node's blocks in these pools; the first one's first address is its tunnel's.
    let blocks_of = |node: &str| -> Vec<IpNet> {
        affinities
            .get(node)
            .into_iter()
            .flatten()
            .filter(|b| b.state != AffinityState::Pending && pool_of(&b.cidr).is_some())
            .map(|b| b.cidr)
            .collect()
    };
    let own = blocks_of(&n.name);
    let felix_routes = kind == TunnelKind::Vxlan
        || !ClusterRoutePolicy::from(cluster.bgp_default.as_ref()).programs(first_pool);
    let mut routes = Vec::new();
    for node in affinities.keys().filter(|name| **name != n.name) {
        let Some(node_ip) = cluster
            .nodes
            .get(node)
            .and_then(|info| info.ipv4.parse::<IpAddr>().ok())
        else {
            continue;
        };
        let blocks = blocks_of(node);
        let vtep = (kind == TunnelKind::Vxlan)
            .then(|| blocks.first())
            .flatten()
            .map(|b| Vtep {
                address: b.network(),
                mac: vtep_mac(node),
            });
        for block in blocks.iter().copied() {
            let Some(pool) = pool_of(&block) else {
                continue;
            };
            let encapsulated = match kind.mode(pool) {
                Encap::CrossSubnet => !n.address.contains(&node_ip),
                _ => true,
            };
            routes.push(TunnelRoute {
                block,
                node_ip,
                encapsulated,
                vtep: vtep.clone(),
            });
        }
    }
    Some(TunnelDataplane {
        kind,
        address: own.first().map(IpNet::network),
        mtu,
        mac: (kind == TunnelKind::Vxlan).then(|| vtep_mac(&n.name)),
        routes: if felix_routes { routes } else { Vec::new() },
        blackholes: if felix_routes { own } else { Vec::new() },
    })
}

/// Pod addresses come from the node's first IPv4 block, in order from its first address,
/// as Calico's IPAM hands them out, skipping `reserved` (the tunnels').
fn pods_of(
    n: &NodeInput,
    blocks: &[BlockAffinity],
    mtu: u32,
    reserved: &[IpAddr],
) -> super::Result<Vec<Pod>> {
    if n.pods.is_empty() {
        return Ok(Vec::new());
    }
    let Some(block) = blocks.iter().find(|b| b.cidr.addr().is_ipv4()) else {
        bail!(
            "node {} runs pods but no IPv4 IP pool gives it a block (check the pools' nodeSelector)",
            n.name
        );
    };
    let mut hosts = block
        .cidr
        .hosts_including_ends()
        .filter(|ip| !reserved.contains(ip));
    // Dual stack: an IPv6 address too, from the node's first IPv6 block.
    let block6 = blocks.iter().find(|b| b.cidr.addr().is_ipv6());
    let mut hosts6 = block6.map(|b| b.cidr.hosts_including_ends());
    n.pods
        .iter()
        .map(|pod| {
            let Some(ip) = hosts.next() else {
                bail!(
                    "node {}: block {} has too few addresses for {} pods",
                    n.name,
                    block.cidr,
                    n.pods.len()
                );
            };
            let ip6 = match (&mut hosts6, block6) {
                (Some(h), Some(b)) => Some(h.next().with_context(|| {
                    format!(
                        "node {}: block {} has too few addresses for {} pods",
                        n.name,
                        b.cidr,
                        n.pods.len()
                    )
                })?),
                _ => None,
            };
            Ok(Pod {
                name: pod.name.clone(),
                namespace: format!("{}-{}", n.name, pod.name),
                ip,
                ip6,
                host_interface: host_interface_name(&n.name, &pod.name),
                mtu,
                labels: pod.labels.clone(),
                loopback: pod.loopback.clone(),
                bird: pod.bird.clone(),
                bgp_peer: None,
                peering_addresses: Vec::new(),
            })
        })
        .collect()
}

/// Every address of a block, network and broadcast included: a block is not a subnet on
/// a link, so Calico uses them all.
trait HostsIncludingEnds {
    fn hosts_including_ends(&self) -> Box<dyn Iterator<Item = IpAddr>>;
}

impl HostsIncludingEnds for IpNet {
    fn hosts_including_ends(&self) -> Box<dyn Iterator<Item = IpAddr>> {
        match self {
            IpNet::V4(n) => {
                let first = u32::from(n.network());
                let last = u32::from(n.broadcast());
                Box::new((first..=last).map(|a| IpAddr::V4(a.into())))
            }
            IpNet::V6(n) => {
                let first = u128::from(n.network());
                let last = u128::from(n.broadcast());
                Box::new((first..=last).map(|a| IpAddr::V6(a.into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, addr: &str, pods: &[&str]) -> NodeInput {
        NodeInput {
            name: name.into(),
            labels: BTreeMap::new(),
            as_number: None,
            route_reflector_cluster_id: None,
            address: addr.parse().unwrap(),
            pinned_blocks: Vec::new(),
            address6: None,
            pods: pods.iter().map(|p| PodInput::named(p)).collect(),
            host_mtu: 1500,
        }
    }

    const POOL: &str = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.42.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never}\n";

    #[test]
    fn dual_stack_nodes_give_pods_both_families_and_mesh_over_ipv6() {
        let pool6 = "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p6}\nspec: {cidr: 'fd00:42::/48', blockSize: 122}\n";
        // p1 peers with its node over both families.
        let peering = "---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {localWorkloadPeeringIPV4: 169.254.0.179, localWorkloadPeeringIPV6: 'fd00:ff::179'}\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: speakers}\nspec: {localWorkloadSelector: has(speaker), asNumber: 65100}\n";
        let res =
            super::super::resources::parse_str("t", &format!("{POOL}{pool6}{peering}")).unwrap();
        let mut a = input("a", "10.0.0.1/24", &["p0", "p1"]);
        a.pods[1].labels.insert("speaker".into(), String::new());
        a.address6 = Some("fd00:1::1/64".parse().unwrap());
        let mut b = input("b", "10.0.0.2/24", &["p0"]);
        b.address6 = Some("fd00:1::2/64".parse().unwrap());
        // A node without an IPv6 address still gets IPv6 blocks and pod addresses, as
        // Calico's IPAM gives them, but no bird6.
        let c = input("c", "10.0.0.3/24", &["p0"]);
        let (out, _) = plan_cluster(res, &[a, b, c], &BTreeMap::new()).unwrap();
        let ip6: Vec<String> = out[0]
            .pods
            .iter()
            .map(|p| p.ip6.unwrap().to_string())
            .collect();
        assert_eq!(ip6, ["fd00:42::", "fd00:42::1"]);
        assert_eq!(out[1].pods[0].ip6.unwrap().to_string(), "fd00:42::40");
        let crate::daemon::BirdConfig::Rendered(files) = out[0].bird6_config() else {
            panic!("rendered")
        };
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bird6.cfg", "bird6_aggr.cfg", "bird6_ipam.cfg"]);
        let bird6 = &out[0].rendered.bird6;
        assert!(
            bird6.contains("protocol bgp Mesh_fd00_1__2 from"),
            "{bird6}"
        );
        assert!(bird6.contains("source address fd00:1::1;"), "{bird6}");
        // c has no IPv6 address: no mesh session with it over IPv6.
        assert!(!bird6.contains("Mesh_fd00_1__3"), "{bird6}");
        // The speaker's sessions, one per family, and Felix's addresses to peer with.
        assert!(
            bird6.contains("protocol bgp Local_Workload_fd00_42__1 from"),
            "{bird6}"
        );
        assert!(
            out[0]
                .rendered
                .bird
                .contains("protocol bgp Local_Workload_10_42_0_1 from")
        );
        let peering: Vec<String> = out[0].pods[1]
            .peering_addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(peering, ["169.254.0.179", "fd00:ff::179"]);
        assert!(out[0].pods[0].peering_addresses.is_empty());

        let mut plan = crate::plan::Plan::default();
        crate::planner::plan_calico_node(&out[0], &mut plan);
        assert!(
            plan.daemons
                .iter()
                .any(|d| d.kind == crate::daemon::DaemonKind::CalicoBird6)
        );
        let mut plan = crate::plan::Plan::default();
        crate::planner::plan_calico_node(&out[2], &mut plan);
        assert!(
            !plan
                .daemons
                .iter()
                .any(|d| d.kind == crate::daemon::DaemonKind::CalicoBird6)
        );
    }

    #[test]
    fn nodes_get_consecutive_blocks_and_pods_the_first_addresses() {
        let res = super::super::resources::parse_str("t", POOL).unwrap();
        let nodes = [
            input("a", "10.0.0.1/24", &["p0", "p1"]),
            input("b", "10.0.0.2/24", &["p0"]),
        ];
        let (out, _) = plan_cluster(res, &nodes, &BTreeMap::new()).unwrap();
        assert_eq!(out[0].blocks, vec!["10.42.0.0/26:confirmed"]);
        assert_eq!(out[1].blocks, vec!["10.42.0.64/26:confirmed"]);
        let ips: Vec<String> = out[0].pods.iter().map(|p| p.ip.to_string()).collect();
        assert_eq!(ips, vec!["10.42.0.0", "10.42.0.1"]);
        assert_eq!(out[1].pods[0].ip.to_string(), "10.42.0.64");
        assert_eq!(out[0].pods[0].namespace, "a-p0");
        assert_eq!(out[0].pods[0].mtu, 1500, "no encapsulation: the host's MTU");
        // confd's view: a mesh session to the other node, and a blackhole for the own block.
        assert!(
            out[0].rendered.bird.contains("protocol bgp Mesh_10_0_0_2"),
            "{}",
            out[0].rendered.bird
        );
        assert!(
            out[0]
                .rendered
                .bird_aggr
                .contains("route 10.42.0.0/26 blackhole;")
        );
    }

    #[test]
    fn pinned_blocks_are_honoured_and_checked() {
        let res = super::super::resources::parse_str("t", POOL).unwrap();
        let mut a = input("a", "10.0.0.1/24", &["p0"]);
        a.pinned_blocks = vec!["10.42.141.0/26".parse().unwrap()];
        let (out, _) =
            plan_cluster(res.clone(), std::slice::from_ref(&a), &BTreeMap::new()).unwrap();
        assert_eq!(out[0].pods[0].ip.to_string(), "10.42.141.0");
        a.pinned_blocks = vec!["10.99.0.0/26".parse().unwrap()];
        let err = plan_cluster(res, &[a], &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("in no enabled IP pool"), "{err}");
    }

    fn plan_with_pool(mode: &str, extra: &str, nodes: &[NodeInput]) -> Vec<CalicoNode> {
        let modes = "ipipMode: Never, vxlanMode: Never";
        let text = format!("{}{extra}", POOL.replace(modes, mode));
        let res = super::super::resources::parse_str("t", &text).unwrap();
        plan_cluster(res, nodes, &BTreeMap::new()).unwrap().0
    }

    fn three_nodes() -> [NodeInput; 3] {
        [
            input("a", "10.0.0.1/24", &["p0"]),
            input("b", "10.0.0.2/24", &[]),
            input("c", "10.1.0.3/24", &[]),
        ]
    }

    fn tunnel(node: &CalicoNode, kind: TunnelKind) -> &TunnelDataplane {
        let found = node.tunnels.iter().find(|t| t.kind == kind);
        found.unwrap_or_else(|| panic!("no {kind:?} tunnel on {}", node.name))
    }

    fn routes(node: &CalicoNode) -> Vec<(String, String, bool)> {
        tunnel(node, TunnelKind::Ipip)
            .routes
            .iter()
            .map(|r| (r.block.to_string(), r.node_ip.to_string(), r.encapsulated))
            .collect()
    }

    #[test]
    fn ipip_takes_the_first_address_and_lowers_the_automatic_mtu() {
        let out = plan_with_pool("ipipMode: Always", "", &three_nodes());
        let a = &out[0];
        assert_eq!(a.pods[0].mtu, 1480, "IPIP costs 20 bytes");
        let ipip = tunnel(a, TunnelKind::Ipip);
        assert_eq!(ipip.mtu, 1480, "tunl0 has the pods' MTU");
        assert_eq!(ipip.mac, None);
        assert!(ipip.routes.iter().all(|r| r.vtep.is_none()));
        assert_eq!(ipip.address, Some("10.42.0.0".parse().unwrap()));
        assert_eq!(
            a.pods[0].ip.to_string(),
            "10.42.0.1",
            "the tunnel address is not handed to a pod"
        );
        assert_eq!(
            ipip.blackholes,
            vec!["10.42.0.0/26".parse::<IpNet>().unwrap()]
        );
        assert_eq!(a.unprogrammed_encapsulation, None);
        // BIRD leaves the pool's routes to Felix.
        assert!(
            a.rendered
                .bird_ipam
                .contains("if (net ~ 10.42.0.0/16) then { reject; } # Cluster routes"),
            "{}",
            a.rendered.bird_ipam
        );
    }

    #[test]
    fn ipip_always_routes_every_remote_block_through_the_tunnel() {
        let out = plan_with_pool("ipipMode: Always", "", &three_nodes());
        assert_eq!(
            routes(&out[0]),
            vec![
                ("10.42.0.64/26".into(), "10.0.0.2".into(), true),
                ("10.42.0.128/26".into(), "10.1.0.3".into(), true),
            ]
        );
        assert_eq!(
            routes(&out[2]),
            vec![
                ("10.42.0.0/26".into(), "10.0.0.1".into(), true),
                ("10.42.0.64/26".into(), "10.0.0.2".into(), true),
            ]
        );
    }

    #[test]
    fn ipip_cross_subnet_encapsulates_only_off_the_subnet() {
        let out = plan_with_pool("ipipMode: CrossSubnet", "", &three_nodes());
        assert_eq!(
            routes(&out[0]),
            vec![
                ("10.42.0.64/26".into(), "10.0.0.2".into(), false),
                ("10.42.0.128/26".into(), "10.1.0.3".into(), true),
            ]
        );
    }

    #[test]
    fn ipip_routes_given_to_bird_are_not_programmed_and_are_warned_about() {
        let cfg = "---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {programClusterRoutes: Enabled}\n";
        let out = plan_with_pool("ipipMode: Always", cfg, &three_nodes());
        let ipip = tunnel(&out[0], TunnelKind::Ipip);
        assert!(ipip.routes.is_empty() && ipip.blackholes.is_empty());
        assert_eq!(ipip.address, Some("10.42.0.0".parse().unwrap()));
        let warning = out[0].unprogrammed_encapsulation.as_deref().unwrap();
        assert!(warning.contains("krt_tunnel"), "{warning}");
    }

    #[test]
    fn vxlan_routes_each_remote_block_to_the_owners_vtep() {
        let out = plan_with_pool("vxlanMode: Always", "", &three_nodes());
        let a = &out[0];
        assert_eq!(a.tunnels.len(), 1, "VXLAN only, no tunl0");
        let vxlan = tunnel(a, TunnelKind::Vxlan);
        assert_eq!(
            (a.pods[0].mtu, vxlan.mtu),
            (1450, 1450),
            "VXLAN costs 50 bytes"
        );
        assert_eq!(vxlan.address, Some("10.42.0.0".parse().unwrap()));
        assert_eq!(a.pods[0].ip.to_string(), "10.42.0.1");
        assert_eq!(vxlan.mac, Some(vtep_mac("a")));
        let got: Vec<(String, String, MacAddr, String, bool)> = vxlan
            .routes
            .iter()
            .map(|r| {
                let vtep = r.vtep.as_ref().expect("a VXLAN route names a VTEP");
                (
                    r.block.to_string(),
                    vtep.address.to_string(),
                    vtep.mac,
                    r.node_ip.to_string(),
                    r.encapsulated,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "10.42.0.64/26".into(),
                    "10.42.0.64".into(),
                    vtep_mac("b"),
                    "10.0.0.2".into(),
                    true
                ),
                (
                    "10.42.0.128/26".into(),
                    "10.42.0.128".into(),
                    vtep_mac("c"),
                    "10.1.0.3".into(),
                    true
                ),
            ]
        );
        assert_eq!(
            vxlan.blackholes,
            vec!["10.42.0.0/26".parse::<IpNet>().unwrap()]
        );
        assert_eq!(
            a.unprogrammed_encapsulation, None,
            "Felix always programs VXLAN"
        );
        let cross = plan_with_pool("vxlanMode: CrossSubnet", "", &three_nodes());
        let plain: Vec<bool> = tunnel(&cross[0], TunnelKind::Vxlan)
            .routes
            .iter()
            .map(|r| r.encapsulated)
            .collect();
        assert_eq!(
            plain,
            vec![false, true],
            "same subnet: plain; across: VXLAN"
        );
    }

    #[test]
    fn vtep_macs_are_unicast_locally_administered_and_differ_per_node() {
        let mac = vtep_mac("a").to_string();
        let first = u8::from_str_radix(&mac[..2], 16).unwrap();
        assert_eq!(first & 0b11, 0b10, "{mac}");
        assert_eq!(mac.len(), 17);
        assert!(vtep_mac("a").is_locally_administered() && vtep_mac("a").is_unicast());
        assert_ne!(vtep_mac("a"), vtep_mac("b"));
    }

    #[test]
    fn without_encapsulation_there_is_no_tunnel() {
        let out = plan_with_pool("ipipMode: Never", "", &three_nodes());
        assert!(out.iter().all(|n| n.tunnels.is_empty()));
        assert_eq!(out[0].pods[0].ip.to_string(), "10.42.0.0");
    }

    #[test]
    fn a_peer_that_selects_nothing_is_reported() {
        let peer = "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: to-r1}\nspec: {nodeSelector: \"rr-id == 'as64512'\", peerIP: 10.0.0.254, asNumber: 64512}\n";
        let res = super::super::resources::parse_str("t", &format!("{POOL}{peer}")).unwrap();
        let mut a = input("a", "10.0.0.1/24", &[]);
        a.labels.insert("as-id".into(), "as64512".into());
        let (_, warnings) =
            plan_cluster(res.clone(), std::slice::from_ref(&a), &BTreeMap::new()).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .contains("BGPPeer to-r1: nodeSelector `rr-id == 'as64512'` selects no node")
        );
        assert!(warnings[0].contains("a [as-id=as64512]"), "{}", warnings[0]);
        a.labels.insert("rr-id".into(), "as64512".into());
        let (_, warnings) = plan_cluster(res, &[a], &BTreeMap::new()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn interface_names_fit_linux_and_differ_per_pod() {
        let a = host_interface_name("n1", "p0");
        assert_eq!(a.len(), 15);
        assert!(a.starts_with("cali"));
        assert_ne!(a, host_interface_name("n1", "p1"));
        assert_ne!(a, host_interface_name("n2", "p0"));
    }
}
