//! The planner: from a validated scenario to its [`Plan`]. Each link kind plans its own
//! part ([`crate::link::Link::plan`]); nodes, their routes and daemons, and calico nodes
//! (Felix's and confd's part) are planned here.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::network::Network;
use crate::plan::*;

/// Plans a validated scenario.
pub fn plan(scenario: &Network) -> Plan {
    let mut plan = Plan {
        scenario: scenario.name.clone(),
        ..Plan::default()
    };
    for node in &scenario.nodes {
        plan.namespaces.push(NamespacePlan {
            name: node.name.clone(),
            role: NamespaceRole::Node,
        });
        for (key, value) in &node.sysctls {
            plan.sysctls.push(SysctlPlan {
                ns: node.name.clone(),
                key: key.clone(),
                value: value.clone(),
            });
        }
        for addr in &node.loopback {
            plan.addresses.push(AddressPlan {
                ns: node.name.clone(),
                interface: "lo".into(),
                address: *addr,
            });
        }
    }
    for link in &scenario.links {
        link.plan(&mut plan);
        for i in link.interfaces() {
            if let Some(impairment) = i.impair.as_deref().copied() {
                plan.impairments.push(ImpairmentPlan {
                    ns: i.node.clone(),
                    interface: i.name.clone(),
                    mtu: i.mtu,
                    impairment,
                });
            }
        }
    }
    for node in &scenario.nodes {
        for r in &node.routes {
            plan.routes.push(RoutePlan {
                ns: node.name.clone(),
                to: r.to,
                via: r.via.clone(),
                dev: r.dev.clone(),
                blackhole: r.blackhole,
                metric: r.metric,
                protocol: RouteProtocol::Static,
            });
        }
        if let Some(config) = &node.bird {
            plan.daemons.push(DaemonPlan {
                ns: node.name.clone(),
                kind: DaemonKind::Bird2,
                config: config.clone(),
            });
        }
        if let Some(ruleset) = &node.nftables {
            plan.firewalls.push(FirewallPlan {
                ns: node.name.clone(),
                ruleset: ruleset.clone(),
            });
        }
        if let Some(calico) = &node.calico {
            plan_calico_node(calico, &mut plan);
        }
    }
    plan
}

/// Felix's and confd's part for one calico node: each pod a namespace with `eth0`, wired
/// to the node by a `cali…` veth answering ARP for the pod's gateway by proxy ARP; a /32
/// route per pod on the node; the pod's default route via 169.254.1.1; a pod's own BIRD
/// and service addresses, and the peering address Felix gives a peering pod's interface;
/// and BIRD 1.6 with confd's configuration.
pub(crate) fn plan_calico_node(calico: &crate::calico::node::CalicoNode, plan: &mut Plan) {
    let node = &calico.name;
    let gateway: IpAddr = crate::calico::node::POD_GATEWAY
        .parse()
        .expect("constant parses");
    for pod in &calico.pods {
        plan.namespaces.push(NamespacePlan {
            name: pod.namespace.clone(),
            role: NamespaceRole::Pod,
        });
        for (key, value) in [
            (
                format!("net.ipv4.conf.{}.proxy_arp", pod.host_interface),
                "1",
            ),
            // Answer at once rather than after the default random delay.
            (
                format!("net.ipv4.neigh.{}.proxy_delay", pod.host_interface),
                "0",
            ),
        ] {
            plan.sysctls.push(SysctlPlan {
                ns: node.clone(),
                key,
                value: value.into(),
            });
        }
        plan.veths.push(VethPlan {
            link: pod.namespace.clone(),
            a: VethEnd {
                ns: node.clone(),
                name: pod.host_interface.clone(),
                mtu: pod.mtu,
                bridge: None,
                // The CNI plugin's: the pod's IPv6 gateway is this end's link-local address.
                mac: pod.ip6.map(|_| crate::calico::node::HOST_SIDE_MAC),
            },
            b: VethEnd {
                ns: pod.namespace.clone(),
                name: "eth0".into(),
                mtu: pod.mtu,
                bridge: None,
                mac: None,
            },
        });
        plan.addresses.push(AddressPlan {
            ns: pod.namespace.clone(),
            interface: "eth0".into(),
            address: IpNet::from(pod.ip),
        });
        if let Some(ip6) = pod.ip6 {
            plan_pod_ipv6(node, pod, ip6, plan);
        }
        for addr in &pod.loopback {
            plan.addresses.push(AddressPlan {
                ns: pod.namespace.clone(),
                interface: "lo".into(),
                address: *addr,
            });
        }
        // Felix's, for a pod a BGPPeer's localWorkloadSelector picked: the address the
        // pod's BGP speaker peers with, reached through its default route by proxy ARP.
        for peering in &pod.peering_addresses {
            plan.addresses.push(AddressPlan {
                ns: node.clone(),
                interface: pod.host_interface.clone(),
                address: IpNet::from(*peering),
            });
        }
        if let Some(config) = &pod.bird {
            plan.daemons.push(DaemonPlan {
                ns: pod.namespace.clone(),
                kind: DaemonKind::Bird2,
                config: config.clone(),
            });
        }
        // Felix's normal route priority (FelixConfiguration `ipv4NormalRoutePriority`):
        // confd's aggregation filter exports routes inside a block only when their metric
        // is below it (live-migration routes), so a pod's /32 stays on its node.
        plan.routes.push(RoutePlan {
            ns: node.clone(),
            to: IpNet::from(pod.ip),
            via: Vec::new(),
            dev: Some(pod.host_interface.clone()),
            blackhole: false,
            metric: Some(1024),
            protocol: RouteProtocol::Boot,
        });
        for (to, via) in [
            (IpNet::from(gateway), None),
            ("0.0.0.0/0".parse().expect("constant"), Some(gateway)),
        ] {
            // The CNI plugin's, in the pod.
            plan.routes.push(RoutePlan {
                ns: pod.namespace.clone(),
                to,
                via: via.into_iter().collect(),
                dev: Some("eth0".into()),
                blackhole: false,
                metric: None,
                protocol: RouteProtocol::Boot,
            });
        }
    }
    for tunnel in &calico.tunnels {
        plan_tunnel(node, calico, tunnel, plan);
    }
    if calico.bgp {
        plan.daemons.push(DaemonPlan {
            ns: node.clone(),
            kind: DaemonKind::CalicoBird,
            config: calico.bird_config(),
        });
        if calico.address6.is_some() {
            plan.daemons.push(DaemonPlan {
                ns: node.clone(),
                kind: DaemonKind::CalicoBird6,
                config: calico.bird6_config(),
            });
        }
    }
}

/// A dual-stack pod's IPv6 side, as the CNI plugin and Felix make it: the /128 on `eth0`
/// (no duplicate address detection, which would hold it back for a second), the default
/// route via the host side's link-local address, and the node's /128 route to the pod.
fn plan_pod_ipv6(node: &str, pod: &crate::calico::node::Pod, ip6: IpAddr, plan: &mut Plan) {
    for key in [
        "net.ipv6.conf.all.accept_dad",
        "net.ipv6.conf.default.accept_dad",
    ] {
        plan.sysctls.push(SysctlPlan {
            ns: pod.namespace.clone(),
            key: key.into(),
            value: "0".into(),
        });
    }
    plan.addresses.push(AddressPlan {
        ns: pod.namespace.clone(),
        interface: "eth0".into(),
        address: IpNet::from(ip6),
    });
    plan.routes.push(RoutePlan {
        ns: node.to_string(),
        to: IpNet::from(ip6),
        via: Vec::new(),
        dev: Some(pod.host_interface.clone()),
        blackhole: false,
        metric: Some(1024),
        protocol: RouteProtocol::Boot,
    });
    plan.routes.push(RoutePlan {
        ns: pod.namespace.clone(),
        to: "::/0".parse().expect("constant"),
        via: vec![crate::calico::node::POD_GATEWAY6.parse().expect("constant")],
        dev: Some("eth0".into()),
        blackhole: false,
        metric: None,
        protocol: RouteProtocol::Boot,
    });
}

/// Felix's part for one encapsulation: the device with the tunnel address; each remote
/// block routed `onlink` through the device (IPIP: to the node's IP; VXLAN: to its VTEP,
/// with static ARP and FDB entries for it), or plainly via the node's IP for a CrossSubnet
/// neighbour on the same subnet; the node's own blocks blackholed.
fn plan_tunnel(
    node: &str,
    calico: &crate::calico::node::CalicoNode,
    tunnel: &crate::calico::node::TunnelDataplane,
    plan: &mut Plan,
) {
    use crate::calico::node::{self, TunnelKind};
    let device = tunnel.kind.device();
    match tunnel.kind {
        TunnelKind::Ipip => plan.ipip_tunnels.push(IpipTunnelPlan {
            ns: node.to_string(),
            name: device.into(),
            mtu: tunnel.mtu,
        }),
        TunnelKind::Vxlan => {
            let IpAddr::V4(local) = calico.address.addr() else {
                unreachable!("calico nodes have IPv4 addresses (validated)");
            };
            plan.vxlans.push(VxlanPlan {
                link: format!("calico {node}"),
                ns: node.to_string(),
                into: None,
                name: device.into(),
                vni: node::VXLAN_VNI,
                port: node::VXLAN_PORT,
                local: local.into(),
                dev: None,
                mtu: tunnel.mtu,
                mac: tunnel.mac.expect("a VXLAN tunnel has a VTEP MAC"),
                learning: false,
                df: VxlanDf::Unset,
            });
        }
    }
    if let Some(address) = tunnel.address {
        plan.addresses.push(AddressPlan {
            ns: node.to_string(),
            interface: device.into(),
            address: IpNet::from(address),
        });
    }
    let mut vteps_done = Vec::new();
    for r in &tunnel.routes {
        if !r.encapsulated {
            plan.routes.push(RoutePlan {
                ns: node.to_string(),
                to: r.block,
                via: vec![r.node_ip],
                dev: None,
                blackhole: false,
                metric: None,
                protocol: RouteProtocol::Felix,
            });
            continue;
        }
        let via = match &r.vtep {
            Some(vtep) => {
                if !vteps_done.contains(&vtep.address) {
                    vteps_done.push(vtep.address);
                    plan.neighbours.push(NeighbourPlan {
                        ns: node.to_string(),
                        dev: device.into(),
                        ip: vtep.address,
                        mac: vtep.mac,
                    });
                    plan.fdb.push(FdbPlan {
                        ns: node.to_string(),
                        dev: device.into(),
                        mac: vtep.mac,
                        dst: r.node_ip,
                    });
                }
                vtep.address
            }
            None => r.node_ip,
        };
        plan.onlink_routes.push(OnlinkRoutePlan {
            ns: node.to_string(),
            to: r.block,
            via,
            dev: device.into(),
            // Felix leaves its VXLAN routes the default protocol and marks its IPIP ones.
            protocol: match tunnel.kind {
                TunnelKind::Vxlan => RouteProtocol::Boot,
                TunnelKind::Ipip => RouteProtocol::Felix,
            },
        });
    }
    for block in &tunnel.blackholes {
        plan.routes.push(RoutePlan {
            ns: node.to_string(),
            to: *block,
            via: Vec::new(),
            dev: None,
            blackhole: true,
            metric: None,
            protocol: RouteProtocol::Felix,
        });
    }
}
