//! `bridge`: an L2 segment with any number of members (a Proxmox `vmbr0`, a switch).
//!
//! The bridge itself lives in a hidden namespace of its own, named after the link; each
//! member gets a veth whose far end is a bridge port. Members see one broadcast domain,
//! as VMs on a Proxmox host do.
//!
//! ```yaml
//! links:
//!   - bridge:
//!       name: vmbr0
//!       members:
//!         - { node: gateway, addresses: [192.168.100.1/24] }
//!         - { node: kubemaster, addresses: [192.168.100.251/24] }
//! ```

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::plan::{AddressPlan, BridgePlan, NamespacePlan, NamespaceRole, Plan, VethEnd, VethPlan};
use super::{Attachment, Link, LinkKind};
use crate::hop::HopSizes;
use crate::link::Interface;
use crate::link::endpoint::RawEndpoint;
use crate::impairment::{Impairment, RawImpairment};
use crate::context::{Context, check_mtu};
use crate::link::endpoint::endpoint;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: Spanned<String>,
    /// MTU of the segment and of every member unless a member overrides it; 1500 by default.
    pub mtu: Option<Spanned<u32>>,
    pub members: Spanned<Vec<RawEndpoint>>,
    /// What every end does to the packets it sends, unless the end gives its own.
    pub impair: Option<RawImpairment>,
}

/// A validated bridge.
#[derive(Debug, Clone, Serialize)]
pub struct Bridge {
    pub name: String,
    pub mtu: u32,
    pub members: Vec<Interface>,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _earlier: &[Link]) -> Option<Bridge> {
        let mtu = self.mtu.as_ref().map_or(super::DEFAULT_MTU, |m| {
            check_mtu(cx, m.value, m.referenced);
            m.value
        });
        if self.members.value.is_empty() {
            cx.error(
                self.members.referenced,
                format!("bridge `{}` has no members", self.name.value),
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
        let members: Option<Vec<Interface>> = members.into_iter().collect();
        Some(Bridge {
            name: self.name.value.clone(),
            mtu,
            members: members?,
        })
    }
}

impl LinkKind for Bridge {
    fn name(&self) -> &str {
        &self.name
    }

    fn interfaces(&self) -> &[Interface] {
        &self.members
    }

    fn attachments(&self) -> Vec<Attachment> {
        super::bridge_ports(&self.name, &self.members)
    }

    /// Bridge ports are named `p<index>` inside the segment namespace: unique, short, and
    /// stable across runs.
    fn plan(&self, plan: &mut Plan) {
        plan.namespaces.push(NamespacePlan {
            name: self.name.clone(),
            role: NamespaceRole::Segment,
        });
        plan.bridges.push(BridgePlan {
            ns: self.name.clone(),
            name: "br0".into(),
            mtu: self.mtu,
        });
        for (index, m) in self.members.iter().enumerate() {
            plan.veths.push(VethPlan {
                link: self.name.clone(),
                a: VethEnd {
                    ns: m.node.clone(),
                    name: m.name.clone(),
                    mtu: m.mtu,
                    bridge: None,
                    mac: None,
                },
                b: VethEnd {
                    ns: self.name.clone(),
                    name: format!("p{index}"),
                    // A port at least as wide as the segment, so a member's own MTU is
                    // what limits.
                    mtu: self.mtu.max(m.mtu),
                    bridge: Some("br0".into()),
                    mac: None,
                },
            });
            for a in &m.addresses {
                plan.addresses.push(AddressPlan {
                    ns: m.node.clone(),
                    interface: m.name.clone(),
                    address: *a,
                });
            }
        }
    }

    fn hop(&self, from: &Interface, peer_mtu: u32) -> HopSizes {
        let mut sizes = HopSizes::plain(from.mtu.min(peer_mtu));
        sizes.stack.push(format!("L2 segment, MTU {}", self.mtu));
        sizes
    }
}
