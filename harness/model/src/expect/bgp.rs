//! `bgp`: a BIRD BGP protocol on a node is in a given session state.
//!
//! ```yaml
//! - bgp: { node: r1, protocol: peer_r2 }                 # Established by default
//! - bgp: { node: r1, protocol: peer_r2, state: Active }
//! - bgp: { node: r1, protocol: peer_r2, established: false }   # must never come up
//! - bgp: { node: n1, protocol: Mesh_10_0_0_2, absent: true }   # no such session at all
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Common, With, bird_node_ref};
use crate::network::Network;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub protocol: Spanned<String>,
    /// BGP state as BIRD names it: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: Option<Spanned<String>>,
    /// `false`: the session must not be Established (checked after the rest converged).
    pub established: Option<bool>,
    /// BIRD has no protocol of that name at all.
    #[serde(default)]
    pub absent: bool,
}

const STATES: [&str; 6] = [
    "Idle",
    "Connect",
    "Active",
    "OpenSent",
    "OpenConfirm",
    "Established",
];

#[derive(Debug, Clone, Serialize)]
pub struct Bgp {
    pub node: String,
    pub protocol: String,
    /// The wanted state; with `negated`, the state it must not be in.
    pub state: String,
    pub negated: bool,
    pub absent: bool,
}

impl Bgp {
    pub fn validate(spec: &With<Common, Spec>, cx: &mut Context, scenario: &Network) -> Option<Bgp> {
        let node = bird_node_ref(cx, scenario, &spec.node, "BGP sessions");
        let given = [
            spec.state.is_some(),
            spec.established.is_some(),
            spec.absent,
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            cx.error(
                spec.node.referenced,
                "give one of `state`, `established` or `absent`",
            );
            return None;
        }
        let state = match &spec.state {
            None => "Established".to_string(),
            Some(s) => match STATES.iter().find(|k| k.eq_ignore_ascii_case(&s.value)) {
                Some(k) => k.to_string(),
                None => {
                    cx.error(
                        s.referenced,
                        format!(
                            "`{}` is not a BGP state (one of: {})",
                            s.value,
                            STATES.join(", ")
                        ),
                    );
                    return None;
                }
            },
        };
        Some(Bgp {
            node: node?,
            protocol: spec.protocol.value.clone(),
            state,
            negated: spec.established == Some(false),
            absent: spec.absent,
        })
    }
}

impl fmt::Display for Bgp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.absent {
            return write!(f, "bgp {} has no protocol {}", self.node, self.protocol);
        }
        let is = if self.negated { "is not" } else { "is" };
        write!(f, "bgp {} {} {is} {}", self.node, self.protocol, self.state)
    }
}

impl super::Assertion for Bgp {
    fn is_negative(&self) -> bool {
        self.negated || self.absent
    }

}
