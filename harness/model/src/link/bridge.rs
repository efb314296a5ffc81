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

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::plan::{AddressPlan, BridgePlan, NamespacePlan, NamespaceRole, Plan, VethEnd, VethPlan};
use crate::scenario::raw::RawEndpoint;
use crate::scenario::validate::{Context, check_mtu, endpoint};
use crate::scenario::{Interface, Link};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeSpec {
    pub name: Spanned<String>,
    /// MTU of the segment and of every member unless a member overrides it; 1500 by default.
    pub mtu: Option<Spanned<u32>>,
    pub members: Spanned<Vec<RawEndpoint>>,
}

impl BridgeSpec {
    pub fn validate(&self, cx: &mut Context) -> Option<Link> {
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
        let members: Vec<Option<Interface>> = self
            .members
            .value
            .iter()
            .map(|m| endpoint(cx, m, mtu))
            .collect();
        let members: Option<Vec<Interface>> = members.into_iter().collect();
        Some(Link::Bridge {
            name: self.name.value.clone(),
            mtu,
            members: members?,
        })
    }
}

/// Bridge ports are named `p<index>` inside the segment namespace: unique, short, and
/// stable across runs.
pub fn plan(name: &str, mtu: u32, members: &[Interface], plan: &mut Plan) {
    plan.namespaces.push(NamespacePlan {
        name: name.to_string(),
        role: NamespaceRole::Segment,
    });
    plan.bridges.push(BridgePlan {
        ns: name.to_string(),
        name: "br0".into(),
        mtu,
    });
    for (index, m) in members.iter().enumerate() {
        plan.veths.push(VethPlan {
            link: name.to_string(),
            a: VethEnd {
                ns: m.node.clone(),
                name: m.name.clone(),
                mtu: m.mtu,
                bridge: None,
            },
            b: VethEnd {
                ns: name.to_string(),
                name: format!("p{index}"),
                // A port at least as wide as the segment, so a member's own MTU is what limits.
                mtu: mtu.max(m.mtu),
                bridge: Some("br0".into()),
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
