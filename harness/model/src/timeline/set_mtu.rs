//! `set_mtu`: the MTU of a link's member interfaces changes — all of them, or one
//! member's — as when an operator lowers a line's MTU, or a provider changes it.
//!
//! ```yaml
//! - set_mtu: { link: iepl, mtu: 1400 }
//! - set_mtu: { link: vmbr0, node: kubenode-wds-1, mtu: 1450 }
//! ```
//! The far side (a bridge's port, an overlay's underlay) keeps its MTU: a member can be
//! lowered freely, and raised up to what the link was built with.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::{Context, check_mtu};
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub link: Spanned<String>,
    pub node: Option<Spanned<String>>,
    pub mtu: Spanned<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetMtu {
    pub link: String,
    pub node: Option<String>,
    /// The member interfaces that change: (node, interface).
    pub interfaces: Vec<(String, String)>,
    pub mtu: u32,
}

impl SetMtu {
    pub fn validate(spec: &Spec, cx: &mut Context, scenario: &Network) -> Option<Self> {
        check_mtu(cx, spec.mtu.value, spec.mtu.referenced);
        let interfaces = super::selected_members(cx, scenario, &spec.link, spec.node.as_ref())?
            .iter()
            .map(|i| (i.node.clone(), i.name.clone()))
            .collect();
        Some(SetMtu {
            link: spec.link.value.clone(),
            node: spec.node.as_ref().map(|n| n.value.clone()),
            interfaces,
            mtu: spec.mtu.value,
        })
    }
}

impl fmt::Display for SetMtu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "set_mtu {}", self.link)?;
        if let Some(node) = &self.node {
            write!(f, " at {node}")?;
        }
        write!(f, " to {}", self.mtu)
    }
}
