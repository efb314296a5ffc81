//! `flannel`: K3s's default CNI between nodes, with its `vxlan` or `host-gw` backend, laid
//! over interfaces the nodes already have (from links earlier in the file).
//!
//! ```yaml
//! links:
//!   - flannel:
//!       name: k3s
//!       backend: vxlan          # or host-gw; vxlan by default, as in K3s
//!       # mtu: 1450             # flannel.1 and the pods; the interface's MTU - 50 by default
//!       members:
//!         - { node: k3s1, interface: ens33, pod_cidr: 10.42.0.0/24 }
//!         - { node: k3s2, interface: ens33, pod_cidr: 10.42.1.0/24 }
//! ```
//!
//! Each member's node IP is the first IPv4 address of `interface`. What flanneld would
//! program, routelab programs:
//!
//! - `vxlan`: a `flannel.1` VXLAN device (VNI 1, UDP 8472, no learning, over `interface`,
//!   outer DF never set), MTU = the interface's MTU - 50, with the member's pod network
//!   address (`10.42.0.0/32`) on it; for every other member a route
//!   `10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink`, a permanent neighbour entry
//!   `10.42.1.0 lladdr <its flannel.1 MAC>` and an FDB entry `<MAC> dst <its node IP>`.
//! - `host-gw`: for every other member a route `10.42.1.0/24 via <its node IP>`. This only
//!   works when the node IPs share a subnet; otherwise flanneld's route is refused by the
//!   kernel ("network is unreachable"), so routelab leaves it out and warns: pods on one
//!   node then cannot reach pods on the other, which a scenario can assert.
//!
//! The pods themselves are stood in for by a `cni0` bridge on each node with the pod
//! network's first address (`10.42.0.1/24`) and the pod MTU: no pod namespaces, no veths.
//! A ping from a node with `src: 10.42.0.1` to another node's `10.42.1.1` takes the path a
//! pod's packet would take between the nodes, and is limited by the pod MTU as a pod's
//! would be.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Link, LinkKind};
use crate::mac::MacAddr;
use crate::hop::{Encapsulation, LinkRoute, OuterDf, Way};
use crate::overhead;
use crate::plan::{
    AddressPlan, BridgePlan, FdbPlan, NeighbourPlan, OnlinkRoutePlan, Plan, RoutePlan,
    RouteProtocol, VxlanDf, VxlanPlan,
};
use crate::context::{Context, check_mtu};
use crate::link::Interface;

/// flanneld's default VXLAN port on Linux (not IANA's 4789).
pub const VXLAN_PORT: u16 = 8472;
/// flannel's VXLAN device name and VNI.
pub const VXLAN_DEVICE: &str = "flannel.1";
pub const VNI: u32 = 1;
/// The stand-in for the pods' bridge.
pub const POD_BRIDGE: &str = "cni0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Vxlan,
    HostGw,
}

impl Backend {
    /// Bytes the backend adds to each pod packet on the wire between nodes.
    pub fn overhead(self) -> u32 {
        match self {
            Backend::Vxlan => overhead::VXLAN,
            Backend::HostGw => 0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: Spanned<String>,
    pub backend: Option<Spanned<Backend>>,
    pub mtu: Option<Spanned<u32>>,
    pub members: Spanned<Vec<RawMember>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMember {
    pub node: Spanned<String>,
    /// The node's interface flannel rides on (its `--flannel-iface`).
    pub interface: Spanned<String>,
    pub pod_cidr: Spanned<Ipv4Net>,
}

/// One node of a flannel network, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub node: String,
    pub interface: String,
    /// The node IP and its subnet, from the interface's first IPv4 address.
    pub node_net: Ipv4Net,
    /// MTU of the interface.
    pub interface_mtu: u32,
    pub pod_cidr: Ipv4Net,
    /// Where a pod's packet may be up to (flannel.1's MTU for vxlan, the interface's for
    /// host-gw).
    pub pod_mtu: u32,
}

impl Member {
    pub fn node_ip(&self) -> Ipv4Addr {
        self.node_net.addr()
    }

    /// The pod network's first address, held by `cni0`.
    pub fn pod_gateway(&self) -> Ipv4Addr {
        let n = u32::from(self.pod_cidr.network());
        Ipv4Addr::from(n + 1)
    }
}

/// Whether `a` reaches `b`'s node IP directly, as host-gw needs.
pub fn same_subnet(a: &Member, b: &Member) -> bool {
    a.node_net.contains(&b.node_ip())
}

/// A validated flannel network: `interfaces` are what it adds to each node (`flannel.1`,
/// the `cni0` stand-in for the pods).
#[derive(Debug, Clone, Serialize)]
pub struct Flannel {
    pub name: String,
    pub backend: Backend,
    pub members: Vec<Member>,
    pub interfaces: Vec<Interface>,
}

impl Spec {
    /// `links` are the links before this one in the file; the members' interfaces must be
    /// among them.
    pub fn validate(&self, cx: &mut Context, links: &[Link]) -> Option<Flannel> {
        let name = &self.name.value;
        let backend = self.backend.as_ref().map_or(Backend::Vxlan, |b| b.value);
        if let Some(m) = &self.mtu {
            check_mtu(cx, m.value, m.referenced);
        }
        if self.members.value.len() < 2 {
            cx.error(
                self.members.referenced,
                format!("flannel `{name}` needs at least two members"),
            );
            return None;
        }
        let mut members: Vec<Member> = Vec::new();
        let mut ok = true;
        for raw in &self.members.value {
            if !cx.known_node(&raw.node) {
                ok = false;
                continue;
            }
            let node = &raw.node.value;
            let found = links
                .iter()
                .flat_map(Link::interfaces)
                .find(|i| i.node == *node && i.name == raw.interface.value);
            let Some(iface) = found else {
                cx.error(
                    raw.interface.referenced,
                    format!(
                        "node `{node}` has no interface `{}` from a link above flannel \
                         `{name}`; flannel rides on an interface the node already has",
                        raw.interface.value
                    ),
                );
                ok = false;
                continue;
            };
            let v4 = iface.addresses.iter().find_map(|a| match a {
                IpNet::V4(n) => Some(*n),
                IpNet::V6(_) => None,
            });
            let Some(node_net) = v4 else {
                cx.error(
                    raw.interface.referenced,
                    format!(
                        "interface `{}` of node `{node}` has no IPv4 address to be the node IP",
                        raw.interface.value
                    ),
                );
                ok = false;
                continue;
            };
            let pod = raw.pod_cidr.value;
            if pod.trunc() != pod || pod.prefix_len() > 30 {
                cx.error(
                    raw.pod_cidr.referenced,
                    format!("pod CIDR {pod} must be a network (host bits zero) of at most /30"),
                );
                ok = false;
                continue;
            }
            if let Some(other) = members
                .iter()
                .find(|m| m.pod_cidr.contains(&pod) || pod.contains(&m.pod_cidr))
            {
                cx.error(
                    raw.pod_cidr.referenced,
                    format!(
                        "pod CIDR {pod} overlaps {} of node `{}`",
                        other.pod_cidr, other.node
                    ),
                );
                ok = false;
                continue;
            }
            if members.iter().any(|m| m.node == *node) {
                cx.error(
                    raw.node.referenced,
                    format!("node `{node}` is a member of flannel `{name}` twice"),
                );
                ok = false;
                continue;
            }
            let pod_mtu = match (&self.mtu, backend) {
                (Some(m), _) => m.value,
                (None, Backend::Vxlan) => iface.mtu.saturating_sub(Backend::Vxlan.overhead()),
                (None, Backend::HostGw) => iface.mtu,
            };
            if backend == Backend::Vxlan && pod_mtu + Backend::Vxlan.overhead() > iface.mtu {
                let at = self
                    .mtu
                    .as_ref()
                    .map_or(self.name.referenced, |m| m.referenced);
                cx.error(
                    at,
                    format!(
                        "flannel.1 on `{node}` can be at most {} bytes: the kernel keeps a \
                         VXLAN device {} bytes below the interface it rides on ({}, MTU {})",
                        iface.mtu.saturating_sub(Backend::Vxlan.overhead()),
                        Backend::Vxlan.overhead(),
                        iface.name,
                        iface.mtu
                    ),
                );
                ok = false;
                continue;
            }
            members.push(Member {
                node: node.clone(),
                interface: iface.name.clone(),
                node_net,
                interface_mtu: iface.mtu,
                pod_cidr: pod,
                pod_mtu,
            });
        }
        if !ok {
            return None;
        }
        if backend == Backend::HostGw {
            for (a, raw) in members.iter().zip(&self.members.value) {
                for b in members.iter().filter(|b| b.node != a.node) {
                    if !same_subnet(a, b) {
                        cx.warning(
                            raw.node.referenced,
                            format!(
                                "flannel host-gw needs the nodes on one subnet: `{}` ({}) has \
                                 no direct route to {} of `{}`, so flanneld's route {} via {} \
                                 is refused (network is unreachable) and is left out; pods on \
                                 `{}` cannot reach pods on `{}` (vxlan would work)",
                                a.node,
                                a.node_net,
                                b.node_ip(),
                                b.node,
                                b.pod_cidr,
                                b.node_ip(),
                                a.node,
                                b.node
                            ),
                        );
                    }
                }
            }
        }
        let mut interfaces = Vec::new();
        for (m, raw) in members.iter().zip(&self.members.value) {
            let at = raw.node.referenced;
            if backend == Backend::Vxlan {
                let name = cx.claim_interface(&m.node, Some(&spanned(VXLAN_DEVICE, at)));
                interfaces.push(Interface {
                    node: m.node.clone(),
                    name,
                    addresses: vec![IpNet::V4(
                        Ipv4Net::new(m.pod_cidr.network(), 32).expect("32 is a valid length"),
                    )],
                    mtu: m.pod_mtu,
                    impair: None,
                });
            }
            let name = cx.claim_interface(&m.node, Some(&spanned(POD_BRIDGE, at)));
            interfaces.push(Interface {
                node: m.node.clone(),
                name,
                addresses: vec![IpNet::V4(
                    Ipv4Net::new(m.pod_gateway(), m.pod_cidr.prefix_len())
                        .expect("the pod CIDR's own length"),
                )],
                mtu: m.pod_mtu,
                impair: None,
            });
        }
        Some(Flannel {
            name: name.clone(),
            backend,
            members,
            interfaces,
        })
    }
}

/// An interface name flannel claims, located at the member that causes it.
fn spanned(text: &str, at: serde_saphyr::Location) -> Spanned<String> {
    Spanned::new(text.to_string(), at, at)
}

/// A locally administered MAC for flannel.1 of the member at `index`: flanneld picks one at
/// random and publishes it in the node's annotations; a fixed one keeps plans stable.
pub fn vtep_mac(index: usize) -> MacAddr {
    let i = u16::try_from(index + 1).expect("a sane number of members");
    let [hi, lo] = i.to_be_bytes();
    MacAddr::new([0x0e, 0xf1, 0xa0, 0, hi, lo])
}

impl LinkKind for Flannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    fn plan(&self, plan: &mut Plan) {
        plan_members(&self.name, self.backend, &self.members, plan);
    }

    /// Its interfaces end its own routes: `cni0`'s subnet is the node's pods, and
    /// `flannel.1` reaches other nodes only through [`LinkKind::routes_at`].
    fn joins_nodes(&self) -> bool {
        false
    }

    /// As flanneld installs them (see the module documentation): vxlan, every other
    /// member's pod network through `flannel.1`, whose outer packets never carry DF;
    /// host-gw, those of members on the node's subnet, via their node IPs.
    fn routes_at(&self, node: &str) -> Vec<LinkRoute> {
        let Some(me) = self.members.iter().find(|m| m.node == node) else {
            return Vec::new();
        };
        let others = self.members.iter().filter(|m| m.node != node);
        others
            .filter_map(|other| {
                let way = match self.backend {
                    Backend::Vxlan => Way::Encapsulated(Encapsulation {
                        device: VXLAN_DEVICE.into(),
                        link: format!("flannel {} (vxlan)", self.name),
                        from: me.node.clone(),
                        to: other.node.clone(),
                        inner: "pod packet",
                        inner_mtu: me.pod_mtu,
                        protocol: "VXLAN",
                        overhead: Backend::Vxlan.overhead(),
                        outer_src: IpAddr::V4(me.node_ip()),
                        outer_dst: IpAddr::V4(other.node_ip()),
                        outer_df: OuterDf::Never,
                    }),
                    Backend::HostGw if same_subnet(me, other) => Way::Gateway {
                        gateway: IpAddr::V4(other.node_ip()),
                        dev: me.interface.clone(),
                    },
                    Backend::HostGw => return None,
                };
                Some(LinkRoute {
                    to: IpNet::V4(other.pod_cidr),
                    way,
                })
            })
            .collect()
    }
}

fn plan_members(name: &str, backend: Backend, members: &[Member], plan: &mut Plan) {
    for (index, m) in members.iter().enumerate() {
        plan.bridges.push(BridgePlan {
            ns: m.node.clone(),
            name: POD_BRIDGE.into(),
            mtu: m.pod_mtu,
        });
        plan.addresses.push(AddressPlan {
            ns: m.node.clone(),
            interface: POD_BRIDGE.into(),
            address: IpNet::V4(
                Ipv4Net::new(m.pod_gateway(), m.pod_cidr.prefix_len())
                    .expect("the pod CIDR's own length"),
            ),
        });
        match backend {
            Backend::Vxlan => {
                plan.vxlans.push(VxlanPlan {
                    link: name.to_string(),
                    ns: m.node.clone(),
                    into: None,
                    name: VXLAN_DEVICE.into(),
                    vni: VNI,
                    port: VXLAN_PORT,
                    local: m.node_ip().into(),
                    dev: Some(m.interface.clone()),
                    mtu: m.pod_mtu,
                    mac: vtep_mac(index),
                    learning: false,
                    df: VxlanDf::Unset,
                });
                plan.addresses.push(AddressPlan {
                    ns: m.node.clone(),
                    interface: VXLAN_DEVICE.into(),
                    address: IpNet::V4(
                        Ipv4Net::new(m.pod_cidr.network(), 32).expect("32 is a valid length"),
                    ),
                });
                for (j, other) in members.iter().enumerate().filter(|(j, _)| *j != index) {
                    let gw = IpAddr::V4(other.pod_cidr.network());
                    plan.onlink_routes.push(OnlinkRoutePlan {
                        ns: m.node.clone(),
                        to: IpNet::V4(other.pod_cidr),
                        via: gw,
                        dev: VXLAN_DEVICE.into(),
                        protocol: RouteProtocol::Boot,
                    });
                    plan.neighbours.push(NeighbourPlan {
                        ns: m.node.clone(),
                        dev: VXLAN_DEVICE.into(),
                        ip: gw,
                        mac: vtep_mac(j),
                    });
                    plan.fdb.push(FdbPlan {
                        ns: m.node.clone(),
                        dev: VXLAN_DEVICE.into(),
                        mac: vtep_mac(j),
                        dst: IpAddr::V4(other.node_ip()),
                    });
                }
            }
            Backend::HostGw => {
                for other in members.iter().filter(|o| o.node != m.node) {
                    if !same_subnet(m, other) {
                        continue;
                    }
                    plan.routes.push(RoutePlan {
                        ns: m.node.clone(),
                        to: IpNet::V4(other.pod_cidr),
                        via: vec![IpAddr::V4(other.node_ip())],
                        dev: Some(m.interface.clone()),
                        blackhole: false,
                        metric: None,
                        protocol: RouteProtocol::Boot,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(node: &str, net: &str, pod: &str) -> Member {
        Member {
            node: node.into(),
            interface: "eth0".into(),
            node_net: net.parse().unwrap(),
            interface_mtu: 1500,
            pod_cidr: pod.parse().unwrap(),
            pod_mtu: 1450,
        }
    }

    #[test]
    fn host_gw_needs_one_subnet() {
        let a = member("k3s1", "10.0.0.30/24", "10.42.0.0/24");
        let b = member("k3s2", "10.0.0.31/24", "10.42.1.0/24");
        let c = member("k3s3", "10.0.1.31/24", "10.42.2.0/24");
        assert!(same_subnet(&a, &b));
        assert!(!same_subnet(&a, &c));
        assert_eq!(a.pod_gateway(), Ipv4Addr::new(10, 42, 0, 1));
    }

    #[test]
    fn overheads_and_macs() {
        assert_eq!(Backend::Vxlan.overhead(), 50);
        assert_eq!(Backend::HostGw.overhead(), 0);
        assert_ne!(vtep_mac(0), vtep_mac(1));
        assert_eq!(vtep_mac(0).to_string(), "0e:f1:a0:00:00:01");
        assert!(vtep_mac(0).is_locally_administered() && vtep_mac(0).is_unicast());
    }
}
