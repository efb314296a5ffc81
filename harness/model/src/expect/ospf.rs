//! `ospf`: an OSPF neighbour of a BIRD OSPF protocol is in a given state.
//!
//! ```yaml
//! - ospf: { node: r1, protocol: underlay, neighbor: 10.0.0.2 }          # Full by default
//! - ospf: { node: r1, protocol: underlay, neighbor: 10.0.0.2, state: 2-Way }
//! ```
//! `neighbor` is the neighbour's router ID, as `birdc show ospf neighbors` lists it.

use std::fmt;
use std::net::Ipv4Addr;

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
    pub neighbor: Ipv4Addr,
    pub state: Option<Spanned<String>>,
}

const STATES: [&str; 8] = [
    "Down", "Attempt", "Init", "2-Way", "ExStart", "Exchange", "Loading", "Full",
];

#[derive(Debug, Clone, Serialize)]
pub struct Ospf {
    pub node: String,
    pub protocol: String,
    pub neighbor: Ipv4Addr,
    pub state: String,
}

impl Ospf {
    pub fn validate(spec: &With<Common, Spec>, cx: &mut Context, scenario: &Network) -> Option<Ospf> {
        let node = bird_node_ref(cx, scenario, &spec.node, "OSPF neighbours");
        let state = match &spec.state {
            None => "Full".to_string(),
            Some(s) => match STATES.iter().find(|k| k.eq_ignore_ascii_case(&s.value)) {
                Some(k) => k.to_string(),
                None => {
                    cx.error(
                        s.referenced,
                        format!(
                            "`{}` is not an OSPF neighbour state (one of: {})",
                            s.value,
                            STATES.join(", ")
                        ),
                    );
                    return None;
                }
            },
        };
        Some(Ospf {
            node: node?,
            protocol: spec.protocol.value.clone(),
            neighbor: spec.neighbor,
            state,
        })
    }
}

impl fmt::Display for Ospf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ospf {} {} neighbour {} is {}",
            self.node, self.protocol, self.neighbor, self.state
        )
    }
}

impl super::Assertion for Ospf {}
