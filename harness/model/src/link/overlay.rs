//! `overlay`: a ZeroTier-like virtual L2 network with any number of members, carried as UDP
//! across an underlay that has its own MTU and costs a per-packet overhead.
//!
//! ```yaml
//! links:
//!   - overlay:
//!       name: zt-global
//!       mtu: 1420               # the member interfaces' MTU (ZeroTier's own default: 2800)
//!       underlay_mtu: 1446      # the carrier path's MTU; 1500 by default, PPPoE is 1492
//!       overhead: 66            # bytes per packet; ZeroTier's by default, see below
//!       underlay: ipv4          # or ipv6: what the members' UDP packets travel over
//!       members:
//!         - { node: hkg02, interface: zt0, addresses: [100.64.1.102/24] }
//!         - { node: hkg04, interface: zt0, addresses: [100.64.1.104/24] }
//! ```
//!
//! An inner packet of `S` bytes crosses unfragmented while `S <= underlay_mtu - overhead`
//! (the *threshold*). Above it, up to the member MTU, the packet still crosses if it may be
//! fragmented: its outer UDP packet is fragmented in the sender's underlay and reassembled
//! in the receiver's, which their IP fragmentation counters show (`FragOKs`, `ReasmOKs`).
//! A packet that may not be fragmented (IPv4 with DF, or any IPv6 packet) is dropped
//! silently instead: a path-MTU black hole, with no ICMP "fragmentation needed" to tell the
//! sender. That is what a DF ping finds on the seed network: the interface says 1420, yet
//! nothing above the threshold gets through.
//!
//! ## How it is built
//!
//! - A hidden namespace named after the link holds a bridge, `br0`: the underlay network.
//! - Each member gets a hidden namespace `<link>.<node>`, its underlay host, joined to `br0`
//!   by a veth (`ul0`, address `198.18.0.N/24`, the benchmarking range: nothing else in the
//!   lab can clash with it).
//! - The member interface is a kernel VXLAN device (UDP port 9993, ZeroTier's) created from
//!   the underlay host and placed into the node: the node sees an ordinary interface with
//!   the scenario's MTU and addresses, while the UDP socket, the outer routes and the outer
//!   fragmentation stay in the underlay host. Broadcast and unknown unicast are sent to
//!   every other member (static all-zero FDB entries), known MACs are learned, as a switch.
//! - Outer packets inherit the inner DF bit (`df inherit`), which makes the black hole.
//!
//! ## The carrier MTU
//!
//! The kernel's VXLAN overhead is fixed: [`overhead::VXLAN`], 50 bytes for an IPv4 underlay
//! (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14). To make the threshold what the
//! scenario says, routelab sets the underlay veths' MTU, the *carrier MTU*, to
//! `underlay_mtu - overhead + 50` (see [`carrier_mtu`]).
//!
//! ZeroTier's overhead, the default, is 66 bytes over IPv4: outer IPv4 20, UDP 8, the
//! ZeroTier packet header 28 (packet id 8, destination 5, source 5, flags 1, MAC 8, verb 1)
//! and the `FRAME` verb's network id 8 and ethertype 2. Bridged members send `EXT_FRAME`,
//! which carries both MACs too: give `overhead: 79` for those.
//!
//! ## Over an IPv6 underlay
//!
//! With `underlay: ipv6` the underlay hosts have addresses in `2001:2::/64` (IPv6's
//! benchmarking range), the member devices are VXLAN over IPv6, and the defaults follow:
//! ZeroTier's overhead is 86 bytes (the outer header is 40 bytes, not 20), the kernel's
//! is [`overhead::VXLAN_OVER_IPV6`] (70), and the carrier MTU is set from it the same way.
//! The carrier must carry IPv6's minimum of 1280 bytes.
//!
//! What differs is above the threshold: an IPv6 packet is never fragmented on the way,
//! and the kernel's VXLAN does not fragment its outer packets at the source either, so an
//! inner packet above the threshold is lost whether or not it carries DF (measured:
//! `Ip6FragFails` counts it in the sending underlay host). The sending member learns the
//! threshold as the path MTU of the destination it was for, so its own later packets to
//! it are fragmented (or refused, if DF) at the source; packets it forwards keep being
//! lost. ZeroTier itself splits big packets into ZeroTier fragments instead, so over IPv6
//! this models a carrier that does not: keep the member MTU at the threshold (what
//! ZeroTier's own MTU setting does) to model one that never needs to.
//!
//! ## Fidelity limits
//!
//! - Only the sizes are ZeroTier's: the packets on the underlay are VXLAN, not ZeroTier's
//!   protocol, so they cannot be captured and decoded as ZeroTier.
//! - ZeroTier also splits packets whose UDP payload exceeds its own physical MTU setting
//!   (1432 by default) into ZeroTier fragments, whatever the inner DF bit says; routelab
//!   models IP fragmentation of the outer packet instead, and drops DF packets. Set
//!   `underlay_mtu` to the limit that binds first on the path being modelled.
//! - The underlay is one broadcast domain, IPv4 or IPv6: no NAT, relays (ZeroTier's
//!   roots), loss or latency, and every member reaches every other directly; a member
//!   cannot reach some peers over IPv4 and others over IPv6.
//! - When a packet is too big for the carrier, the kernel also records the threshold as a
//!   learned path MTU for its destination in the sending member (`ip route show cache`).
//!   Forwarded packets ignore it (`net.ipv4.ip_forward_use_pmtu` is 0), as do routelab's
//!   probes, but other sockets of that member may then fragment at the source instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Attachment, Link, LinkKind};
use crate::mac::MacAddr;
use crate::hop::HopSizes;
use crate::overhead;
use crate::plan::{
    AddressPlan, BridgePlan, FdbPlan, NamespacePlan, NamespaceRole, Plan, SysctlPlan, VethEnd,
    VethPlan, VxlanDf, VxlanPlan,
};
use crate::link::endpoint::RawEndpoint;
use crate::impairment::{Impairment, RawImpairment};
use crate::context::{Context, check_mtu};
use crate::link::endpoint::endpoint;
use crate::link::Interface;

/// ZeroTier's per-packet overhead over an IPv4 underlay (see the module documentation):
/// outer IPv4 and UDP, its packet header (28) and the `FRAME` verb's network id and
/// ethertype (8 + 2).
pub const ZEROTIER_OVERHEAD: u32 = overhead::IPV4_HEADER + overhead::UDP_HEADER + 28 + 8 + 2;
/// The same over an IPv6 underlay: 20 bytes more for the outer header.
pub const ZEROTIER_OVERHEAD_IPV6: u32 =
    overhead::IPV6_HEADER + overhead::UDP_HEADER + 28 + 8 + 2;
/// IPv6's minimum link MTU (RFC 8200): an IPv6 underlay's carrier must take it.
pub const IPV6_MIN_MTU: u32 = 1280;

/// What an overlay's UDP packets travel over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnderlayFamily {
    #[default]
    Ipv4,
    Ipv6,
}

impl UnderlayFamily {
    fn is_ipv4(&self) -> bool {
        *self == UnderlayFamily::Ipv4
    }

    /// The kernel's VXLAN overhead over this family.
    pub fn vxlan_overhead(self) -> u32 {
        match self {
            UnderlayFamily::Ipv4 => overhead::VXLAN,
            UnderlayFamily::Ipv6 => overhead::VXLAN_OVER_IPV6,
        }
    }

    /// ZeroTier's overhead over this family.
    pub fn zerotier_overhead(self) -> u32 {
        match self {
            UnderlayFamily::Ipv4 => ZEROTIER_OVERHEAD,
            UnderlayFamily::Ipv6 => ZEROTIER_OVERHEAD_IPV6,
        }
    }
}
/// The member interfaces' MTU when the scenario gives none: ZeroTier's default.
pub const DEFAULT_MEMBER_MTU: u32 = 2800;
/// ZeroTier's UDP port, used by the VXLAN devices.
pub const UDP_PORT: u16 = 9993;
/// VXLAN network identifier of every overlay: each has underlay namespaces of its own, so
/// they never meet.
pub const VNI: u32 = 1;
/// The largest number of members: one underlay /24.
pub const MAX_MEMBERS: usize = 253;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: Spanned<String>,
    /// MTU of every member interface unless a member overrides it; 2800 by default.
    pub mtu: Option<Spanned<u32>>,
    /// MTU of the path the overlay's UDP packets take; 1500 by default.
    pub underlay_mtu: Option<Spanned<u32>>,
    /// Bytes each packet costs on the underlay, outer IP and UDP headers included;
    /// ZeroTier's 66 by default.
    pub overhead: Option<Spanned<u32>>,
    /// `ipv4` (the default) or `ipv6`: what the members' UDP packets travel over.
    pub underlay: Option<Spanned<UnderlayFamily>>,
    pub members: Spanned<Vec<RawEndpoint>>,
    /// What every end does to the packets it sends, unless the end gives its own.
    pub impair: Option<RawImpairment>,
}

/// An overlay's sizes, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OverlaySizes {
    pub underlay_mtu: u32,
    pub overhead: u32,
    #[serde(skip_serializing_if = "UnderlayFamily::is_ipv4")]
    pub underlay: UnderlayFamily,
}

impl OverlaySizes {
    /// The largest inner packet that crosses unfragmented: `underlay_mtu - overhead`.
    pub fn threshold(&self) -> u32 {
        self.underlay_mtu.saturating_sub(self.overhead)
    }
}

/// The MTU routelab gives the underlay veths so that the kernel's VXLAN, with its fixed
/// [`overhead::VXLAN`] bytes ([`overhead::VXLAN_OVER_IPV6`] over IPv6), fragments exactly
/// above [`OverlaySizes::threshold`]: an inner packet of `S` bytes becomes an outer one of
/// `S + VXLAN`, which fits iff `S + VXLAN <= carrier`.
pub fn carrier_mtu(sizes: OverlaySizes) -> u32 {
    sizes.threshold() + sizes.underlay.vxlan_overhead()
}

/// A validated overlay.
#[derive(Debug, Clone, Serialize)]
pub struct Overlay {
    pub name: String,
    #[serde(flatten)]
    pub sizes: OverlaySizes,
    pub members: Vec<Interface>,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _earlier: &[Link]) -> Option<Overlay> {
        let name = &self.name.value;
        let mtu = self.mtu.as_ref().map_or(DEFAULT_MEMBER_MTU, |m| {
            check_mtu(cx, m.value, m.referenced);
            m.value
        });
        let underlay_mtu = self.underlay_mtu.as_ref().map_or(super::DEFAULT_MTU, |m| {
            check_mtu(cx, m.value, m.referenced);
            m.value
        });
        let underlay = self.underlay.as_ref().map_or_else(UnderlayFamily::default, |u| u.value);
        let overhead = self
            .overhead
            .as_ref()
            .map_or(underlay.zerotier_overhead(), |o| o.value);
        let sizes = OverlaySizes {
            underlay_mtu,
            overhead,
            underlay,
        };
        // The carrier must itself be a usable IPv4 MTU and carry at least a minimal packet.
        if sizes.threshold() < 68 {
            let at = self
                .overhead
                .as_ref()
                .map_or(self.name.referenced, |o| o.referenced);
            cx.error(
                at,
                format!(
                    "overlay `{name}`: an overhead of {overhead} bytes leaves {} of the \
                     underlay's {underlay_mtu}; at least 68 must remain",
                    sizes.threshold()
                ),
            );
            return None;
        }
        if underlay == UnderlayFamily::Ipv6 && carrier_mtu(sizes) < IPV6_MIN_MTU {
            let at = self
                .underlay_mtu
                .as_ref()
                .map_or(self.name.referenced, |m| m.referenced);
            cx.error(
                at,
                format!(
                    "overlay `{name}`: over an IPv6 underlay, {underlay_mtu} bytes less an \
                     overhead of {overhead} leave {} for inner packets, and the kernel's \
                     VXLAN then needs a carrier of {} bytes, below IPv6's minimum of \
                     {IPV6_MIN_MTU}: routelab cannot build it; raise `underlay_mtu` to at \
                     least {}",
                    sizes.threshold(),
                    carrier_mtu(sizes),
                    IPV6_MIN_MTU - underlay.vxlan_overhead() + overhead
                ),
            );
            return None;
        }
        if carrier_mtu(sizes) > 65535 {
            cx.error(
                self.name.referenced,
                format!("overlay `{name}`: underlay MTU {underlay_mtu} is too large"),
            );
            return None;
        }
        let count = self.members.value.len();
        if !(2..=MAX_MEMBERS).contains(&count) {
            cx.error(
                self.members.referenced,
                format!("overlay `{name}` needs 2 to {MAX_MEMBERS} members, not {count}"),
            );
            return None;
        }
        // A bad impairment is reported; the ends are still checked.
        let impair = self.impair.as_ref().and_then(|raw| Impairment::validate(cx, raw));
        let members: Vec<Option<Interface>> = self
            .members
            .value
            .iter()
            .map(|m| endpoint(cx, m, mtu, impair))
            .collect();
        let members: Vec<Interface> = members.into_iter().collect::<Option<_>>()?;
        let mut seen = std::collections::BTreeSet::new();
        for (m, raw) in members.iter().zip(&self.members.value) {
            if !seen.insert(m.node.clone()) {
                cx.error(
                    raw.node.referenced,
                    format!("node `{}` is a member of overlay `{name}` twice", m.node),
                );
                return None;
            }
            let hidden = underlay_namespace(name, &m.node);
            if cx.node_names.contains(&hidden) {
                cx.error(
                    raw.node.referenced,
                    format!(
                        "overlay `{name}` needs a hidden namespace `{hidden}`, but a node has \
                         that name"
                    ),
                );
                return None;
            }
            if let Some(v6) = m.addresses.iter().find(|a| a.addr().is_ipv6())
                && m.mtu > sizes.threshold()
            {
                cx.warning(
                    raw.node.referenced,
                    format!(
                        "{v6} on overlay `{name}`: IPv6 packets are never fragmented on the \
                         way, so those above {} bytes (of the interface's {}) are lost",
                        sizes.threshold(),
                        m.mtu
                    ),
                );
            }
        }
        Some(Overlay {
            name: name.clone(),
            sizes,
            members,
        })
    }
}

/// The hidden namespace that is `node`'s underlay host on overlay `link`.
pub fn underlay_namespace(link: &str, node: &str) -> String {
    format!("{link}.{node}")
}

/// The underlay address of the member at `index`, with its prefix length: in
/// `198.18.0.0/24` or `2001:2::/64`, the benchmarking ranges, which nothing else in a lab
/// uses.
pub fn underlay_address(index: usize, family: UnderlayFamily) -> (IpAddr, u8) {
    let host = u8::try_from(index + 1).expect("at most MAX_MEMBERS members");
    match family {
        UnderlayFamily::Ipv4 => (Ipv4Addr::new(198, 18, 0, host).into(), 24),
        UnderlayFamily::Ipv6 => (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, host.into()).into(), 64),
    }
}

/// A locally administered MAC for the member at `index`, stable across runs and distinct
/// between overlays (a hash of the link's name), as ZeroTier derives its MACs from the
/// network id and the member's address.
pub fn member_mac(link: &str, index: usize) -> MacAddr {
    // FNV-1a, 32 bits: small, stable, no dependency.
    let mut h: u32 = 0x811c_9dc5;
    for b in link.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let [a, b, c, _] = h.to_be_bytes();
    let i = u8::try_from(index + 1).expect("at most MAX_MEMBERS members");
    MacAddr::new([0x02, a, b, c, 0, i])
}

impl LinkKind for Overlay {
    fn name(&self) -> &str {
        &self.name
    }

    fn interfaces(&self) -> &[Interface] {
        &self.members
    }

    fn attachments(&self) -> Vec<Attachment> {
        super::bridge_ports(&self.name, &self.members)
    }

    fn plan(&self, plan: &mut Plan) {
        plan_overlay(&self.name, self.sizes, &self.members, plan);
    }

    /// Unfragmented up to the threshold; bigger packets are fragmented, or lost if DF, so
    /// the threshold caps both sizes.
    fn hop(&self, from: &Interface, _peer_mtu: u32) -> HopSizes {
        let t = self.sizes.threshold();
        let mut sizes = HopSizes::plain(from.mtu.min(t));
        sizes.stack.push(match self.sizes.underlay {
            UnderlayFamily::Ipv4 => format!(
                "ZeroTier-like UDP, {} bytes over a {}-byte underlay: unfragmented ≤ {t}; \
                 above, fragmented, or lost if DF",
                self.sizes.overhead, self.sizes.underlay_mtu
            ),
            UnderlayFamily::Ipv6 => format!(
                "ZeroTier-like UDP, {} bytes over a {}-byte IPv6 underlay: ≤ {t} crosses; \
                 above, lost, DF or not (outer IPv6 packets are not fragmented)",
                self.sizes.overhead, self.sizes.underlay_mtu
            ),
        });
        sizes
    }
}

fn plan_overlay(name: &str, sizes: OverlaySizes, members: &[Interface], plan: &mut Plan) {
    let carrier = carrier_mtu(sizes);
    plan.namespaces.push(NamespacePlan {
        name: name.to_string(),
        role: NamespaceRole::Segment,
    });
    plan.bridges.push(BridgePlan {
        ns: name.to_string(),
        name: "br0".into(),
        mtu: carrier,
    });
    let family = sizes.underlay;
    for (index, m) in members.iter().enumerate() {
        let host = underlay_namespace(name, &m.node);
        plan.namespaces.push(NamespacePlan {
            name: host.clone(),
            role: NamespaceRole::Segment,
        });
        if family == UnderlayFamily::Ipv6 {
            // No duplicate address detection: the underlay address is usable at once, as
            // on the nodes (and nothing else can have it).
            for key in ["net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"] {
                plan.sysctls.push(SysctlPlan {
                    ns: host.clone(),
                    key: key.into(),
                    value: "0".into(),
                });
            }
        }
        plan.veths.push(VethPlan {
            link: name.to_string(),
            a: VethEnd {
                ns: host.clone(),
                name: "ul0".into(),
                mtu: carrier,
                bridge: None,
                mac: None,
            },
            b: VethEnd {
                ns: name.to_string(),
                name: format!("p{index}"),
                mtu: carrier,
                bridge: Some("br0".into()),
                mac: None,
            },
        });
        let (local, prefix) = underlay_address(index, family);
        plan.addresses.push(AddressPlan {
            ns: host.clone(),
            interface: "ul0".into(),
            address: ipnet::IpNet::new(local, prefix).expect("a valid prefix length"),
        });
        plan.vxlans.push(VxlanPlan {
            link: name.to_string(),
            ns: host,
            into: Some(m.node.clone()),
            name: m.name.clone(),
            vni: VNI,
            port: UDP_PORT,
            local,
            dev: None,
            mtu: m.mtu,
            mac: member_mac(name, index),
            learning: true,
            // Outer IPv4 packets copy the inner DF bit, which makes the black hole; the
            // kernel keeps no DF setting for IPv6, which is not fragmented on the way.
            df: match family {
                UnderlayFamily::Ipv4 => VxlanDf::Inherit,
                UnderlayFamily::Ipv6 => VxlanDf::Unset,
            },
        });
        for (other, _) in members.iter().enumerate().filter(|(o, _)| *o != index) {
            plan.fdb.push(FdbPlan {
                ns: m.node.clone(),
                dev: m.name.clone(),
                mac: MacAddr::ZERO,
                dst: underlay_address(other, family).0,
            });
        }
        for a in &m.addresses {
            plan.addresses.push(AddressPlan {
                ns: m.node.clone(),
                interface: m.name.clone(),
                address: *a,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_makes_the_threshold_what_the_scenario_says() {
        let zt = OverlaySizes {
            underlay_mtu: 1446,
            overhead: ZEROTIER_OVERHEAD,
            underlay: UnderlayFamily::Ipv4,
        };
        assert_eq!(zt.threshold(), 1380);
        // 1380 inner + 50 VXLAN = 1430 fits; 1381 + 50 does not.
        assert_eq!(carrier_mtu(zt), 1430);
        let pppoe = OverlaySizes {
            underlay_mtu: 1492,
            overhead: ZEROTIER_OVERHEAD,
            underlay: UnderlayFamily::Ipv4,
        };
        assert_eq!(pppoe.threshold(), 1426);
        // An overhead below the kernel's own makes the carrier wider than the underlay.
        let thin = OverlaySizes {
            underlay_mtu: 1500,
            overhead: 28,
            underlay: UnderlayFamily::Ipv4,
        };
        assert_eq!(carrier_mtu(thin), 1522);
    }

    #[test]
    fn an_ipv6_underlay_costs_twenty_bytes_more_and_uses_the_kernels_ipv6_vxlan() {
        assert_eq!(ZEROTIER_OVERHEAD, 66);
        assert_eq!(ZEROTIER_OVERHEAD_IPV6, 86);
        let zt6 = OverlaySizes {
            underlay_mtu: 1446,
            overhead: UnderlayFamily::Ipv6.zerotier_overhead(),
            underlay: UnderlayFamily::Ipv6,
        };
        assert_eq!(zt6.threshold(), 1360);
        // 1360 inner + 70 (outer IPv6 40, UDP 8, VXLAN 8, Ethernet 14) = 1430.
        assert_eq!(carrier_mtu(zt6), 1430);
        assert_eq!(
            underlay_address(2, UnderlayFamily::Ipv6),
            ("2001:2::3".parse().unwrap(), 64)
        );
        assert_eq!(
            underlay_address(2, UnderlayFamily::Ipv4),
            ("198.18.0.3".parse().unwrap(), 24)
        );
    }

    #[test]
    fn macs_are_stable_and_distinct() {
        assert_eq!(member_mac("zt", 0), member_mac("zt", 0));
        assert_ne!(member_mac("zt", 0), member_mac("zt", 1));
        assert_ne!(member_mac("zt", 0), member_mac("zt2", 0));
        assert!(member_mac("zt", 0).to_string().starts_with("02:"));
        assert!(member_mac("zt", 0).is_locally_administered() && member_mac("zt", 0).is_unicast());
    }
}
