//! The Plan: everything a scenario asks the kernel for, as plain data.
//!
//! Planning is pure and deterministic, so a Plan can be snapshot-tested and printed
//! (`routelab check --plan`). `net::apply` executes it stage by stage; each stage only
//! depends on earlier ones, so the order of the fields is the order of the work.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;

use crate::daemon::BirdConfig;
use crate::mac::MacAddr;

/// A namespace's role: a scenario node, or a hidden one that carries a link (a bridge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceRole {
    Node,
    Segment,
    /// A Kubernetes pod on a `kind: calico` node.
    Pod,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespacePlan {
    /// Unique within the lab; `routelab up` names it `<lab>-<name>` in /run/netns.
    pub name: String,
    pub role: NamespaceRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlPlan {
    pub ns: String,
    /// Dotted form, e.g. `net.ipv4.ip_forward`.
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BridgePlan {
    pub ns: String,
    pub name: String,
    pub mtu: u32,
}

/// One end of a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VethEnd {
    pub ns: String,
    pub name: String,
    pub mtu: u32,
    /// A bridge in the same namespace this end is enslaved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// Its MAC address, when it matters (a calico pod's host side: `ee:ee:ee:ee:ee:ee`,
    /// whose link-local address is the pod's IPv6 gateway); the kernel's choice otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<crate::mac::MacAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VethPlan {
    /// The link it implements, for messages.
    pub link: String,
    pub a: VethEnd,
    pub b: VethEnd,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressPlan {
    pub ns: String,
    pub interface: String,
    pub address: IpNet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutePlan {
    pub ns: String,
    pub to: IpNet,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub blackhole: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(skip_serializing_if = "RouteProtocol::is_static")]
    pub protocol: RouteProtocol,
}

/// Who the kernel records as having installed a route (`proto` in `ip route`), so that a
/// route reads as it does on the real host. BIRD's kernel protocol learns all three alike,
/// as alien routes, so the choice changes what `ip route`, a snapshot and a `route`
/// expectation's `protocol` see, not what BIRD does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteProtocol {
    /// `static` (4): the routes a scenario's `routes:` declare.
    #[default]
    Static,
    /// `boot` (3), which `ip route` does not print: Felix's `deviceRouteProtocol` default,
    /// on its routes to workload interfaces and through `vxlan.calico`; also what
    /// flannel's netlink calls leave.
    Boot,
    /// 80 (`proto 80`): the protocol Felix gives the routes it must tell apart from
    /// anyone else's, when `deviceRouteProtocol` is left at `boot`: its blackholes for
    /// the node's own blocks, same-subnet (CrossSubnet) routes and IPIP routes. Named
    /// by its number, as `ip route` and a `route` expectation name it.
    #[serde(rename = "80")]
    Felix,
}

impl RouteProtocol {
    /// The kernel's number for it (`RTPROT_*`).
    pub fn number(self) -> u8 {
        match self {
            RouteProtocol::Static => 4,
            RouteProtocol::Boot => 3,
            RouteProtocol::Felix => 80,
        }
    }

    fn is_static(&self) -> bool {
        *self == RouteProtocol::Static
    }
}

/// An nftables ruleset to load into a namespace once its links exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewallPlan {
    pub ns: String,
    pub ruleset: String,
}

pub use crate::daemon::DaemonKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonPlan {
    pub ns: String,
    pub kind: DaemonKind,
    pub config: BirdConfig,
}

/// What a VXLAN device does with the outer DF bit (`ip link ... type vxlan df ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VxlanDf {
    /// Outer packets never carry DF: the underlay may fragment them (the kernel default).
    Unset,
    /// Outer packets carry the inner packet's DF (IPv6 inner packets: always DF).
    Inherit,
}

/// A kernel VXLAN device. It is created from `ns`, whose network namespace keeps its UDP
/// socket and routes its outer packets, and placed into `into` (another namespace) at
/// creation when given, so an encapsulation can live outside the node that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VxlanPlan {
    /// The link it implements, for messages.
    pub link: String,
    pub ns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub into: Option<String>,
    pub name: String,
    pub vni: u32,
    /// UDP port, for sending and receiving.
    pub port: u16,
    /// Outer source address, in `ns`: IPv4, or IPv6 for an overlay over an IPv6 underlay.
    pub local: IpAddr,
    /// Lower device in `ns` that outer packets leave by (caps the MTU at its MTU - 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    pub mtu: u32,
    /// MAC address, fixed so static FDB and neighbour entries can name it.
    pub mac: MacAddr,
    /// Learn remote MACs from received packets (a ZeroTier-like switch) or not (flannel).
    pub learning: bool,
    pub df: VxlanDf,
}

/// A forwarding entry on a VXLAN device (`bridge fdb append MAC dev DEV dst DST`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FdbPlan {
    pub ns: String,
    pub dev: String,
    /// [`MacAddr::ZERO`] floods broadcast and unknown unicast to `dst`.
    pub mac: MacAddr,
    pub dst: IpAddr,
}

/// A permanent neighbour (ARP / NDP) entry (`ip neigh replace IP lladdr MAC dev DEV`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeighbourPlan {
    pub ns: String,
    pub dev: String,
    pub ip: IpAddr,
    pub mac: MacAddr,
}

/// A route whose gateway is declared on-link (`ip route add TO via GW dev DEV onlink`),
/// as flannel's VXLAN backend installs them: the gateway needs no subnet of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnlinkRoutePlan {
    pub ns: String,
    pub to: IpNet,
    pub via: IpAddr,
    pub dev: String,
    #[serde(skip_serializing_if = "RouteProtocol::is_static")]
    pub protocol: RouteProtocol,
}

/// An IPIP device as Felix sets up `tunl0`: no fixed endpoints, so it takes every IPIP
/// packet for the namespace and sends to whatever gateway a route through it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpipTunnelPlan {
    pub ns: String,
    pub name: String,
    pub mtu: u32,
}

/// Everything to create for one scenario, in the order it is created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub scenario: String,
    pub namespaces: Vec<NamespacePlan>,
    pub sysctls: Vec<SysctlPlan>,
    pub bridges: Vec<BridgePlan>,
    pub veths: Vec<VethPlan>,
    pub addresses: Vec<AddressPlan>,
    pub routes: Vec<RoutePlan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub firewalls: Vec<FirewallPlan>,
    pub daemons: Vec<DaemonPlan>,
    /// VXLAN devices (overlays, flannel), created right after the veths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vxlans: Vec<VxlanPlan>,
    /// Static forwarding entries on VXLAN devices, after the routes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fdb: Vec<FdbPlan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<NeighbourPlan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub onlink_routes: Vec<OnlinkRoutePlan>,
    /// IPIP devices, created right after the VXLAN devices. They need the kernel's `ipip`
    /// support, which [`Plan::kernel_features`] reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipip_tunnels: Vec<IpipTunnelPlan>,
    /// Queueing disciplines on link interfaces, added once the links exist. They need the
    /// kernel's netem or tbf, which [`Plan::kernel_features`] reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub impairments: Vec<ImpairmentPlan>,
}

/// An impaired interface: its outgoing packets pass netem, tbf or both (see
/// [`crate::impairment`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpairmentPlan {
    pub ns: String,
    pub interface: String,
    /// The interface's MTU, which sizes the shaper's burst.
    pub mtu: u32,
    #[serde(flatten)]
    pub impairment: crate::impairment::Impairment,
}

/// A kernel feature a plan needs that not every kernel has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KernelFeature {
    /// IP-in-IP tunnels (`CONFIG_NET_IPIP`), for Calico's `tunl0`.
    Ipip,
    /// A fixed seed for the multipath hash (`net.ipv4.fib_multipath_hash_seed`, Linux
    /// 6.11), so which equal-cost path a flow takes is the same on every machine.
    MultipathHashSeed,
    /// The netem queueing discipline (`CONFIG_NET_SCH_NETEM`), for a link's delay, jitter
    /// and loss.
    Netem,
    /// The token bucket filter (`CONFIG_NET_SCH_TBF`), for a link's rate.
    Tbf,
}

impl KernelFeature {
    /// The sysctl that is the feature, if it is one: a scenario that sets it needs it.
    pub fn sysctl(self) -> Option<&'static str> {
        match self {
            KernelFeature::Ipip | KernelFeature::Netem | KernelFeature::Tbf => None,
            KernelFeature::MultipathHashSeed => Some("net.ipv4.fib_multipath_hash_seed"),
        }
    }
}

impl KernelFeature {
    /// The queueing disciplines `impairments` need, netem before tbf.
    pub fn for_impairments<'a>(
        impairments: impl IntoIterator<Item = &'a crate::impairment::Impairment>,
    ) -> Vec<KernelFeature> {
        let (mut netem, mut tbf) = (false, false);
        for i in impairments {
            netem |= i.needs_netem();
            tbf |= i.rate.is_some();
        }
        let mut out = Vec::new();
        if netem {
            out.push(KernelFeature::Netem);
        }
        if tbf {
            out.push(KernelFeature::Tbf);
        }
        out
    }
}

impl Plan {
    pub fn namespace(&self, name: &str) -> Option<&NamespacePlan> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// The names of the interfaces the plan creates in namespace `ns` (veth ends, bridges,
    /// VXLAN and IPIP devices), in plan order; `lo` is not among them.
    pub fn interfaces_in(&self, ns: &str) -> Vec<String> {
        let veth_ends = self.veths.iter().flat_map(|v| [&v.a, &v.b]);
        let mut out: Vec<String> = veth_ends
            .filter(|e| e.ns == ns)
            .map(|e| e.name.clone())
            .collect();
        out.extend(
            self.bridges
                .iter()
                .filter(|b| b.ns == ns)
                .map(|b| b.name.clone()),
        );
        out.extend(
            self.vxlans
                .iter()
                .filter(|v| v.into.as_deref().unwrap_or(&v.ns) == ns)
                .map(|v| v.name.clone()),
        );
        out.extend(
            self.ipip_tunnels
                .iter()
                .filter(|t| t.ns == ns)
                .map(|t| t.name.clone()),
        );
        out
    }

    /// The optional kernel features the plan uses (veth, bridge and VXLAN are taken as
    /// given; every kernel routelab runs on has them).
    pub fn kernel_features(&self) -> Vec<KernelFeature> {
        let mut out = Vec::new();
        if !self.ipip_tunnels.is_empty() {
            out.push(KernelFeature::Ipip);
        }
        let seed = KernelFeature::MultipathHashSeed;
        if self
            .sysctls
            .iter()
            .any(|s| Some(s.key.as_str()) == seed.sysctl())
        {
            out.push(seed);
        }
        out.extend(KernelFeature::for_impairments(
            self.impairments.iter().map(|i| &i.impairment),
        ));
        out
    }

    /// The name a daemon goes by in the lab (its runtime files, its log, diagnoses): its
    /// node's, except for the BIRD a calico node runs beside calico-node's, which is
    /// `<node>.bird` ([`crate::daemon::OWN_BIRD_SUFFIX`]). Expectations and timeline
    /// actions that name the node address calico-node's.
    pub fn daemon_name(&self, d: &DaemonPlan) -> String {
        let beside_calico = d.kind == DaemonKind::Bird2
            && self
                .daemons
                .iter()
                .any(|o| o.ns == d.ns && o.kind == DaemonKind::CalicoBird);
        if d.kind == DaemonKind::CalicoBird6 {
            format!("{}{}", d.ns, crate::daemon::CALICO_BIRD6_SUFFIX)
        } else if beside_calico {
            format!("{}{}", d.ns, crate::daemon::OWN_BIRD_SUFFIX)
        } else {
            d.ns.clone()
        }
    }

    /// Paths the plan reads from the scenario's directory, relative to `base` where
    /// possible, so snapshots do not depend on where the checkout lives.
    pub fn relative_to(mut self, base: &std::path::Path) -> Plan {
        for d in &mut self.daemons {
            if let BirdConfig::File(p) = &mut d.config
                && let Ok(rel) = p.strip_prefix(base)
            {
                *p = PathBuf::from(rel);
            }
        }
        self
    }
}
