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

use super::{Observation, node_ref};
use crate::lab::Lab;
use crate::scenario::Scenario;
use crate::scenario::validate::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub protocol: String,
    pub neighbor: Ipv4Addr,
    pub state: Option<Spanned<String>>,
    pub deadline: Option<Spanned<String>>,
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

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<Ospf> {
        let node = node_ref(cx, &self.node);
        let state = match &self.state {
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
            protocol: self.protocol.clone(),
            neighbor: self.neighbor,
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

impl Ospf {
    pub async fn observe(&self, lab: &Lab) -> Observation {
        let mut client = match lab.bird(&self.node).await {
            Ok(c) => c,
            Err(e) => return Observation::new(false, e),
        };
        match client.ospf_neighbors(&self.protocol).await {
            Ok(neighbours) => {
                let found = neighbours.iter().find(|n| n.router_id == self.neighbor);
                let holds = found.is_some_and(|n| {
                    let state = &n.state;
                    // BIRD prints "Full/PtP", "Full/DR", "2-Way/Other": the part before '/'.
                    let base = state.split('/').next().unwrap_or(state);
                    base.eq_ignore_ascii_case(&self.state)
                });
                let listing = if neighbours.is_empty() {
                    "no neighbours".to_string()
                } else {
                    neighbours
                        .iter()
                        .map(|n| format!("{} {} on {}", n.router_id, n.state, n.interface))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                Observation::new(holds, format!("{} neighbours: {listing}", self.protocol))
            }
            Err(e) => Observation::new(false, format!("BIRD on {}: {e}", self.node)),
        }
    }
}
