//! `wire`: a point-to-point link, one veth pair between two nodes (a leased line such as
//! an IEPL circuit, or a patch cable).
//!
//! ```yaml
//! links:
//!   - wire:
//!       name: iepl
//!       preset: iepl            # or mtu: 1500
//!       ends:
//!         - { node: cn, interface: iepl0, addresses: [10.255.0.1/30] }
//!         - { node: global, interface: iepl0, addresses: [10.255.0.2/30] }
//! ```
//!
//! A `preset` names the kind of line and sets its MTU (an end's own `mtu` still
//! overrides it); see [`Preset`] for the values.
//!
//! A wire that a timeline cuts (`link_down`) is built with a patch panel in the middle: each
//! end's veth goes to a bridge in a hidden namespace named after the wire, so a cut can
//! take the panel's side down and leave both ends up without carrier, as on a failed line.
//! It is invisible to IP (no hop, same MTUs).

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::plan::{
    AddressPlan, BridgePlan, NamespacePlan, NamespaceRole, Plan, VethEnd, VethPlan,
};
use super::{Attachment, Link, LinkKind};
use crate::link::Interface;
use crate::link::endpoint::RawEndpoint;
use crate::impairment::{Impairment, RawImpairment};
use crate::context::{Context, check_mtu};
use crate::link::endpoint::endpoint;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: Spanned<String>,
    /// MTU of both ends unless an end overrides it; 1500 by default.
    pub mtu: Option<Spanned<u32>>,
    /// The kind of line, which sets the MTU instead of `mtu`.
    pub preset: Option<Spanned<Preset>>,
    pub ends: Spanned<Vec<RawEndpoint>>,
    /// What every end does to the packets it sends, unless the end gives its own.
    pub impair: Option<RawImpairment>,
}

/// Kinds of point-to-point line and the MTU each gives an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// 1500: Ethernet's payload (IEEE 802.3), what a patch cable or a switch port carries.
    Ethernet,
    /// 1500: an International Ethernet Private Line is an Ethernet service end to end; the
    /// carrier absorbs its own transport overhead (MPLS, SDH), so the customer gets a full
    /// Ethernet payload, as the seed network's CN-NIC to Global-NIC line runs.
    Iepl,
    /// 1492: Ethernet minus PPPoE's 6-byte header and PPP's 2-byte protocol field (RFC
    /// 2516), the usual broadband uplink.
    Pppoe,
    /// 1420: wg-quick's default for a WireGuard interface, 1500 minus WireGuard's 80 bytes
    /// over an IPv6 outer header (60 over IPv4), so it fits either way.
    Wireguard,
    /// 9000: the common jumbo-frame size of data-centre Ethernet.
    Jumbo,
}

impl Preset {
    pub fn mtu(self) -> u32 {
        match self {
            Preset::Ethernet | Preset::Iepl => 1500,
            Preset::Pppoe => 1492,
            Preset::Wireguard => 1420,
            Preset::Jumbo => 9000,
        }
    }
}

/// A validated wire.
#[derive(Debug, Clone, Serialize)]
pub struct Wire {
    pub name: String,
    pub ends: [Interface; 2],
    /// Built through a patch panel, because a timeline cuts it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub patched: bool,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _earlier: &[Link]) -> Option<Wire> {
        let mtu = match (&self.mtu, &self.preset) {
            (Some(m), Some(p)) => {
                cx.error(
                    p.referenced,
                    format!(
                        "wire `{}` has both `mtu: {}` and `preset`, which sets {}; give one",
                        self.name.value,
                        m.value,
                        p.value.mtu()
                    ),
                );
                return None;
            }
            (None, Some(p)) => p.value.mtu(),
            (Some(m), None) => {
                check_mtu(cx, m.value, m.referenced);
                m.value
            }
            (None, None) => super::DEFAULT_MTU,
        };
        if self.ends.value.len() != 2 {
            cx.error(
                self.ends.referenced,
                format!(
                    "wire `{}` needs exactly two ends, not {}; use a `bridge` for more members",
                    self.name.value,
                    self.ends.value.len()
                ),
            );
            return None;
        }
        // A bad impairment is reported; the ends are still checked.
        let impair = self.impair.as_ref().and_then(|raw| Impairment::validate(cx, raw));
        let a = endpoint(cx, &self.ends.value[0], mtu, impair);
        let b = endpoint(cx, &self.ends.value[1], mtu, impair);
        let (a, b) = (a?, b?);
        if a.node == b.node {
            cx.error(
                self.ends.referenced,
                format!(
                    "wire `{}` connects node `{}` to itself",
                    self.name.value, a.node
                ),
            );
            return None;
        }
        Some(Wire {
            name: self.name.value.clone(),
            ends: [a, b],
            patched: false,
        })
    }
}

impl LinkKind for Wire {
    fn name(&self) -> &str {
        &self.name
    }

    fn interfaces(&self) -> &[Interface] {
        &self.ends
    }

    fn attachments(&self) -> Vec<Attachment> {
        if !self.patched {
            return Vec::new();
        }
        super::bridge_ports(&self.name, &self.ends)
    }

    fn prepare_cuts(&mut self) {
        self.patched = true;
    }

    fn plan(&self, plan: &mut Plan) {
        let end = |i: &Interface| VethEnd {
            ns: i.node.clone(),
            name: i.name.clone(),
            mtu: i.mtu,
            bridge: None,
            mac: None,
        };
        if self.patched {
            plan.namespaces.push(NamespacePlan {
                name: self.name.clone(),
                role: NamespaceRole::Segment,
            });
            plan.bridges.push(BridgePlan {
                ns: self.name.clone(),
                name: "br0".into(),
                mtu: self.ends[0].mtu.max(self.ends[1].mtu),
            });
            for (index, i) in self.ends.iter().enumerate() {
                plan.veths.push(VethPlan {
                    link: self.name.clone(),
                    a: end(i),
                    b: VethEnd {
                        ns: self.name.clone(),
                        name: format!("p{index}"),
                        mtu: i.mtu,
                        bridge: Some("br0".into()),
                        mac: None,
                    },
                });
            }
        } else {
            plan.veths.push(VethPlan {
                link: self.name.clone(),
                a: end(&self.ends[0]),
                b: end(&self.ends[1]),
            });
        }
        for i in &self.ends {
            for a in &i.addresses {
                plan.addresses.push(AddressPlan {
                    ns: i.node.clone(),
                    interface: i.name.clone(),
                    address: *a,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Preset;

    #[test]
    fn presets_give_the_documented_mtus() {
        assert_eq!(Preset::Ethernet.mtu(), 1500);
        assert_eq!(Preset::Iepl.mtu(), 1500);
        assert_eq!(Preset::Pppoe.mtu(), 1500 - 8);
        assert_eq!(Preset::Wireguard.mtu(), 1500 - 80);
        assert_eq!(Preset::Jumbo.mtu(), 9000);
    }
}
