//! `admin_down`, `admin_up`: one end of a link is set administratively down or up (`ip
//! link set IFACE down`), as an operator does on a router. Unlike a cable cut, the other end
//! keeps its carrier only if it is a bridge member; a wire's other end loses it.
//!
//! ```yaml
//! - admin_down: { node: r1, interface: eth1 }
//! - admin_up: { node: r1, interface: eth1 }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub interface: Spanned<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceState {
    pub node: String,
    pub interface: String,
    pub up: bool,
}

impl InterfaceState {
    pub fn validate(spec: &Spec, cx: &mut Context, scenario: &Network, up: bool) -> Option<Self> {
        if !cx.known_node(&spec.node) {
            return None;
        }
        let node = &spec.node.value;
        let known: Vec<&str> = scenario
            .interfaces_of(node)
            .map(|i| i.name.as_str())
            .collect();
        if !known.contains(&spec.interface.value.as_str()) {
            cx.error(
                spec.interface.referenced,
                format!(
                    "node `{node}` has no interface `{}` (links give it: {})",
                    spec.interface.value,
                    known.join(", ")
                ),
            );
            return None;
        }
        Some(InterfaceState {
            node: node.clone(),
            interface: spec.interface.value.clone(),
            up,
        })
    }
}

impl fmt::Display for InterfaceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.up { "admin_up" } else { "admin_down" };
        write!(f, "{verb} {} {}", self.node, self.interface)
    }
}
