//! `route`: a node's kernel routing table (main table) has, or lacks, a prefix.
//! Observed on the running lab: see `routelab_model::expect::route` for the spec.

use routelab_model::expect::route::Route;

use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Route {
    async fn observe(&self, lab: &Lab) -> Observation {
        let routes = match lab.routes(&self.node, self.prefix.addr().is_ipv6()).await {
            Ok(r) => r,
            Err(e) => return Observation::new(false, e.to_string()),
        };
        let matching: Vec<_> = routes.iter().filter(|r| r.to == self.prefix).collect();
        let holds = if self.absent {
            matching.is_empty()
        } else {
            matching.iter().any(|r| self.matches(r))
        };
        let mut observed = if matching.is_empty() {
            format!("no route for {} in {}'s main table", self.prefix, self.node)
        } else {
            matching
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        if !holds && let Some(view) = lab.daemon_route_view(&self.node, self.prefix).await {
            let daemon = lab.daemon(&self.node).map(|d| d.describe()).unwrap_or_default();
            let daemon = daemon.split(' ').next().unwrap_or("BIRD");
            observed.push_str(&format!("\n{daemon} on {} says:\n{view}", self.node));
        }
        Observation::new(holds, observed)
    }
}
