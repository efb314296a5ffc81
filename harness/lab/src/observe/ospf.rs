//! `ospf`: an OSPF neighbour of a BIRD OSPF protocol is in a given state.
//! Observed on the running lab: see `routelab_model::expect::ospf` for the spec.

use routelab_model::expect::ospf::Ospf;

use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Ospf {
    async fn observe(&self, lab: &Lab) -> Observation {
        let daemon = match lab.daemon(&self.node) {
            Ok(d) => d,
            Err(e) => return Observation::new(false, e.to_string()),
        };
        match daemon.ospf_neighbors(&self.protocol).await {
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
            Err(e) => Observation::new(false, format!("{} on {}: {e}", daemon.describe(), self.node)),
        }
    }
}
