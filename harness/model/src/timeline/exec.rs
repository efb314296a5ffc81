//! `exec`: a command run inside a node's namespace, for what no action kind covers. It must
//! exit 0, or the step fails with its output.
//!
//! ```yaml
//! - exec: { node: r1, command: [ip, route, add, blackhole, 10.9.0.0/24] }
//! ```
//! The command runs as routelab does (root, inside the node's network namespace only), with
//! a 30 s limit.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub command: Spanned<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exec {
    pub node: String,
    pub command: Vec<String>,
}

impl Exec {
    pub fn validate(spec: &Spec, cx: &mut Context, _: &Network) -> Option<Self> {
        let known = cx.known_node(&spec.node);
        if spec.command.value.is_empty() || spec.command.value[0].is_empty() {
            cx.error(spec.command.referenced, "`command` needs a program to run");
            return None;
        }
        known.then(|| Exec {
            node: spec.node.value.clone(),
            command: spec.command.value.clone(),
        })
    }
}

impl fmt::Display for Exec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exec {}: {}", self.node, self.command.join(" "))
    }
}
