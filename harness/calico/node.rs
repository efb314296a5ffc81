//! The mock calico-node of a scenario, computed from the file alone: the Node resources
//! the cluster holds, the IPAM blocks each node owns, the pods it runs with their addresses,
//! interfaces and MTU (Felix's part), and the BIRD configuration confd would write for it.
//!
//! Pure. The plan turns a [`CalicoNode`] into namespaces, veths, routes, sysctls and a
//! BIRD 1.6 daemon; see `plan.rs`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{Context, bail};
use ipnet::IpNet;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::cluster::{Cluster, Encap, Pool};
use super::config::ClusterRoutePolicy;
use super::ipam::{self, AffinityState, BlockAffinity};
use super::resources::{AsNumber, NodeBgpSpec, NodeSpec, ObjectMeta, Resource};
use super::{RenderedConfig, render};

/// The gateway address every Calico pod routes through: link-local, answered by the host
/// with proxy ARP, never configured anywhere.
pub const POD_GATEWAY: &str = "169.254.1.1";

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
    /// IPAM blocks pinned to this node (otherwise allocated deterministically).
    pub pinned_blocks: Vec<IpNet>,
    pub pods: Vec<String>,
    /// MTU of the interface holding `address`, for Calico's automatic pod MTU.
    pub host_mtu: u32,
}

/// A pod: a namespace of its own with `eth0`, wired to its node by a `cali…` veth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pod {
    pub name: String,
    /// The lab namespace: `<node>-<pod>`.
    pub namespace: String,
    pub ip: IpAddr,
    /// The host side of the pod's veth, named as Felix names it: `cali` + 11 hex digits.
    pub host_interface: String,
    pub mtu: u32,
}

/// Everything routelab does as calico-node on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalicoNode {
    pub name: String,
    pub address: IpNet,
    pub blocks: Vec<String>,
    pub pods: Vec<Pod>,
    /// Whether the cluster runs BGP at all (the Installation may disable it).
    pub bgp: bool,
    /// What of the pools' encapsulation routelab does not reproduce, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unprogrammed_encapsulation: Option<String>,
    /// Felix's IPIP dataplane, when an enabled IPv4 pool uses IPIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipip: Option<IpipDataplane>,
    #[serde(skip)]
    pub rendered: RenderedConfig,
}

/// The name of the IPIP device Felix uses: the kernel's fallback tunnel, which receives
/// every IPIP packet no other tunnel claims.
pub const IPIP_DEVICE: &str = "tunl0";

/// What Felix programs on a node when an IPv4 pool uses IPIP: `tunl0`, and the routes to
/// the blocks of the pools' other nodes.
///
/// Calico's confd has BIRD leave these pools' routes to Felix ("Cluster routes are
/// handled by Felix") unless `programClusterRoutes` says otherwise, and Felix derives them
/// from the IPAM block affinities and the Node resources, not from BGP. (Older Calico had
/// its BIRD fork install the same routes from BGP through `krt_tunnel`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpipDataplane {
    /// `tunl0`'s address: Calico's IPAM gives the tunnel the first free address of the
    /// node's block before any pod gets one. None when no IPIP pool gives the node a block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// `tunl0`'s MTU, the same as the pods' (Felix's IPIP MTU follows the pod MTU).
    pub mtu: u32,
    /// Routes to other nodes' blocks in IPIP pools. Empty when BIRD programs them instead.
    pub routes: Vec<IpipRoute>,
    /// This node's own blocks in IPIP pools, blackholed (Felix installs these too, since
    /// BIRD's kernel filter rejects the pools).
    pub blackholes: Vec<IpNet>,
}

/// One route Felix installs for a remote block of an IPIP pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpipRoute {
    pub block: IpNet,
    /// The owning node's address.
    pub via: IpAddr,
    /// `via … dev tunl0 onlink` when true; a plain route through the host interface when
    /// false (CrossSubnet, the node being on the same subnet).
    pub encapsulated: bool,
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
    let overhead = cluster
        .pools
        .iter()
        .filter(|p| !p.disabled && p.cidr.addr().is_ipv4())
        .map(|p| {
            if p.vxlan != Encap::Never {
                50
            } else if p.ipip != Encap::Never {
                20
            } else {
                0
            }
        })
        .max()
        .unwrap_or(0);
    host_mtu - overhead
}

/// The encapsulation an enabled pool asks for that routelab does not program, phrased as
/// a warning: VXLAN (Felix's `vxlan.calico`), and IPIP routes that `programClusterRoutes`
/// gives to BIRD (Calico's fork sets `krt_tunnel` on them; vanilla BIRD cannot).
fn unprogrammed_encapsulation(cluster: &Cluster) -> Option<String> {
    let enabled = || cluster.pools.iter().filter(|p| !p.disabled);
    if let Some(p) = enabled().find(|p| p.vxlan.in_use()) {
        return Some(format!(
            "IP pool {} uses VXLAN encapsulation, which routelab does not program: pod traffic \
             between nodes goes unencapsulated (set the pool's vxlanMode to Never)",
            p.name
        ));
    }
    let policy = ClusterRoutePolicy::from(cluster.bgp_default.as_ref());
    if let Some(p) = ipip_pools(cluster).find(|p| policy.programs(p)) {
        return Some(format!(
            "programClusterRoutes has BIRD install the routes of IPIP pool {}, through the \
             `krt_tunnel` attribute only Calico's BIRD has: in routelab's vanilla BIRD they go \
             through the host interface, unencapsulated (leave programClusterRoutes unset so \
             that Felix programs them, as routelab does)",
            p.name
        ));
    }
    None
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
) -> anyhow::Result<(Vec<CalicoNode>, Vec<String>)> {
    let resources = with_scenario_nodes(resources, nodes);
    let cluster = Cluster::from_resources(&resources)?;
    cluster.validate()?;
    let warnings = suspicious_peers(&cluster);
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
        let ipip = ipip_dataplane(&cluster, &affinities, n, mtu);
        let reserved = ipip.as_ref().and_then(|d| d.address);
        let pods = pods_of(n, &blocks, mtu, reserved)?;
        let rendered = render(&resources, &n.name, &blocks, env)
            .with_context(|| format!("rendering calico-node's BIRD config for {}", n.name))?;
        out.push(CalicoNode {
            name: n.name.clone(),
            address: n.address,
            blocks: blocks.iter().map(ToString::to_string).collect(),
            pods,
            bgp: cluster.bgp_enabled(),
            unprogrammed_encapsulation: unprogrammed_encapsulation(&cluster),
            ipip,
            rendered,
        });
    }
    Ok((out, warnings))
}

/// The IPv4 pools that use IPIP (Always or CrossSubnet) and are enabled.
fn ipip_pools(cluster: &Cluster) -> impl Iterator<Item = &Pool> {
    cluster
        .pools
        .iter()
        .filter(|p| !p.disabled && p.cidr.addr().is_ipv4() && p.ipip.in_use() && !p.vxlan.in_use())
}

/// Felix's IPIP part for node `n`, or None when no pool uses IPIP. Blocks pending
/// confirmation are not routed (they are not the node's yet).
fn ipip_dataplane(
    cluster: &Cluster,
    affinities: &BTreeMap<String, Vec<BlockAffinity>>,
    n: &NodeInput,
    mtu: u32,
) -> Option<IpipDataplane> {
    ipip_pools(cluster).next()?;
    let live = |b: &&BlockAffinity| b.state != AffinityState::Pending;
    let pool_of = |block: &IpNet| ipip_pools(cluster).find(|p| p.cidr.contains(block));
    let own: Vec<IpNet> = affinities
        .get(&n.name)
        .into_iter()
        .flatten()
        .filter(live)
        .filter(|b| pool_of(&b.cidr).is_some())
        .map(|b| b.cidr)
        .collect();
    let felix_routes = !ClusterRoutePolicy::from(cluster.bgp_default.as_ref())
        .programs(ipip_pools(cluster).next()?);
    let mut routes = Vec::new();
    for (node, blocks) in affinities.iter().filter(|(name, _)| **name != n.name) {
        let Some(via) = cluster
            .nodes
            .get(node)
            .and_then(|info| info.ipv4.parse::<IpAddr>().ok())
        else {
            continue;
        };
        for block in blocks.iter().filter(live) {
            let Some(pool) = pool_of(&block.cidr) else {
                continue;
            };
            let encapsulated = match pool.ipip {
                Encap::CrossSubnet => !n.address.contains(&via),
                _ => true,
            };
            routes.push(IpipRoute {
                block: block.cidr,
                via,
                encapsulated,
            });
        }
    }
    Some(IpipDataplane {
        address: own.first().map(IpNet::network),
        mtu,
        routes: if felix_routes { routes } else { Vec::new() },
        blackholes: if felix_routes { own } else { Vec::new() },
    })
}

/// Pod addresses come from the node's first IPv4 block, in order from its first address,
/// as Calico's IPAM hands them out, skipping `reserved` (the IPIP tunnel's).
fn pods_of(
    n: &NodeInput,
    blocks: &[BlockAffinity],
    mtu: u32,
    reserved: Option<IpAddr>,
) -> anyhow::Result<Vec<Pod>> {
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
        .filter(move |ip| Some(*ip) != reserved);
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
            Ok(Pod {
                name: pod.clone(),
                namespace: format!("{}-{pod}", n.name),
                ip,
                host_interface: host_interface_name(&n.name, pod),
                mtu,
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
            pods: pods.iter().map(|p| p.to_string()).collect(),
            host_mtu: 1500,
        }
    }

    const POOL: &str = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.42.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never}\n";

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

    fn routes(node: &CalicoNode) -> Vec<(String, String, bool)> {
        let ipip = node
            .ipip
            .as_ref()
            .expect("an IPIP pool gives the node a tunl0");
        ipip.routes
            .iter()
            .map(|r| (r.block.to_string(), r.via.to_string(), r.encapsulated))
            .collect()
    }

    #[test]
    fn ipip_takes_the_first_address_and_lowers_the_automatic_mtu() {
        let out = plan_with_pool("ipipMode: Always", "", &three_nodes());
        let a = &out[0];
        assert_eq!(a.pods[0].mtu, 1480, "IPIP costs 20 bytes");
        let ipip = a.ipip.as_ref().unwrap();
        assert_eq!(ipip.mtu, 1480, "tunl0 has the pods' MTU");
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
        let ipip = out[0].ipip.as_ref().unwrap();
        assert!(ipip.routes.is_empty() && ipip.blackholes.is_empty());
        assert_eq!(ipip.address, Some("10.42.0.0".parse().unwrap()));
        let warning = out[0].unprogrammed_encapsulation.as_deref().unwrap();
        assert!(warning.contains("krt_tunnel"), "{warning}");
    }

    #[test]
    fn vxlan_is_warned_about_and_gets_no_tunl0() {
        let out = plan_with_pool("vxlanMode: Always", "", &three_nodes());
        assert!(out[0].ipip.is_none());
        assert_eq!(out[0].pods[0].mtu, 1450);
        let warning = out[0].unprogrammed_encapsulation.as_deref().unwrap();
        assert!(warning.contains("VXLAN"), "{warning}");
    }

    #[test]
    fn without_encapsulation_there_is_no_tunnel() {
        let out = plan_with_pool("ipipMode: Never", "", &three_nodes());
        assert!(out.iter().all(|n| n.ipip.is_none()));
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
