//! `wire`: a point-to-point link, one veth pair between two nodes (a leased line such as
//! an IEPL circuit, or a patch cable).
//!
//! ```yaml
//! links:
//!   - wire:
//!       name: iepl
//!       mtu: 1500
//!       ends:
//!         - { node: cn, interface: iepl0, addresses: [10.255.0.1/30] }
//!         - { node: global, interface: iepl0, addresses: [10.255.0.2/30] }
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::plan::{AddressPlan, Plan, VethEnd, VethPlan};
use crate::scenario::raw::RawEndpoint;
use crate::scenario::validate::{Context, check_mtu, endpoint};
use crate::scenario::{Interface, Link};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSpec {
    pub name: Spanned<String>,
    /// MTU of both ends unless an end overrides it; 1500 by default.
    pub mtu: Option<Spanned<u32>>,
    pub ends: Spanned<Vec<RawEndpoint>>,
}

impl WireSpec {
    pub fn validate(&self, cx: &mut Context) -> Option<Link> {
        let mtu = self.mtu.as_ref().map_or(super::DEFAULT_MTU, |m| {
            check_mtu(cx, m.value, m.referenced);
            m.value
        });
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
        let a = endpoint(cx, &self.ends.value[0], mtu);
        let b = endpoint(cx, &self.ends.value[1], mtu);
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
        Some(Link::Wire {
            name: self.name.value.clone(),
            ends: [a, b],
        })
    }
}

pub fn plan(name: &str, ends: &[Interface; 2], plan: &mut Plan) {
    let end = |i: &Interface| VethEnd {
        ns: i.node.clone(),
        name: i.name.clone(),
        mtu: i.mtu,
        bridge: None,
    };
    plan.veths.push(VethPlan {
        link: name.to_string(),
        a: end(&ends[0]),
        b: end(&ends[1]),
    });
    for i in ends {
        for a in &i.addresses {
            plan.addresses.push(AddressPlan {
                ns: i.node.clone(),
                interface: i.name.clone(),
                address: *a,
            });
        }
    }
}
