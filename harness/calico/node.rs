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

use super::cluster::{Cluster, Encap};
use super::ipam::{self, BlockAffinity};
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
    /// The encapsulation an enabled pool asks for (`IPIP` or `VXLAN`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encapsulation: Option<&'static str>,
    #[serde(skip)]
    pub rendered: RenderedConfig,
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

fn encapsulation(cluster: &Cluster) -> Option<&'static str> {
    let pools = cluster.pools.iter().filter(|p| !p.disabled);
    let mut kinds = pools.flat_map(|p| {
        [
            (p.ipip != Encap::Never).then_some("IPIP"),
            (p.vxlan != Encap::Never).then_some("VXLAN"),
        ]
    });
    kinds.find_map(|k| k)
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
        let pods = pods_of(n, &blocks, mtu)?;
        let rendered = render(&resources, &n.name, &blocks, env)
            .with_context(|| format!("rendering calico-node's BIRD config for {}", n.name))?;
        out.push(CalicoNode {
            name: n.name.clone(),
            address: n.address,
            blocks: blocks.iter().map(ToString::to_string).collect(),
            pods,
            bgp: cluster.bgp_enabled(),
            encapsulation: encapsulation(&cluster),
            rendered,
        });
    }
    Ok((out, warnings))
}

/// Pod addresses come from the node's first IPv4 block, in order from its first address,
/// as Calico's IPAM hands them out.
fn pods_of(n: &NodeInput, blocks: &[BlockAffinity], mtu: u32) -> anyhow::Result<Vec<Pod>> {
    if n.pods.is_empty() {
        return Ok(Vec::new());
    }
    let Some(block) = blocks.iter().find(|b| b.cidr.addr().is_ipv4()) else {
        bail!(
            "node {} runs pods but no IPv4 IP pool gives it a block (check the pools' nodeSelector)",
            n.name
        );
    };
    let mut hosts = block.cidr.hosts_including_ends();
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

    #[test]
    fn encapsulation_lowers_the_automatic_mtu() {
        let ipip = POOL.replace("ipipMode: Never", "ipipMode: Always");
        let res = super::super::resources::parse_str("t", &ipip).unwrap();
        let (out, _) =
            plan_cluster(res, &[input("a", "10.0.0.1/24", &["p0"])], &BTreeMap::new()).unwrap();
        assert_eq!(out[0].pods[0].mtu, 1480);
        assert_eq!(out[0].encapsulation, Some("IPIP"));
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
