//! `route`: a node's kernel routing table (main table) has, or lacks, a prefix.
//! Observed on the running lab: see `routelab_model::expect::route` for the spec.

use routelab_model::expect::route::Route;
use routelab_model::observed::{KernelRoute, RouteKind};

use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Route {
    async fn observe(&self, lab: &Lab) -> Observation {
        let routes = match lab.routes(&self.node, self.prefix.addr().is_ipv6()).await {
            Ok(r) => r,
            Err(e) => return Observation::error(e),
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
        // Every daemon of the node: on a calico node with its own BIRD, the route may be
        // either's.
        let names = if holds { Vec::new() } else { lab.daemon_names_of(&self.node) };
        for name in names {
            if let Some(view) = lab.daemon_route_view(&name, self.prefix).await {
                let daemon = lab.daemon(&name).map(|d| d.describe()).unwrap_or_default();
                let daemon = daemon.split(' ').next().unwrap_or("BIRD");
                observed.push_str(&format!("\n{daemon} on {name} says:\n{view}"));
            }
        }
        let routes: Vec<serde_json::Value> = matching.iter().map(|r| route_values(r)).collect();
        Observation::new(holds, observed).with("routes", routes)
    }
}

/// One kernel route as the report gives it: the fields `ip route` shows.
fn route_values(r: &KernelRoute) -> serde_json::Value {
    let kind = match r.kind {
        RouteKind::Unicast => "unicast".to_string(),
        RouteKind::Blackhole => "blackhole".to_string(),
        RouteKind::Unreachable => "unreachable".to_string(),
        RouteKind::Prohibit => "prohibit".to_string(),
        RouteKind::Other(t) => format!("type{t}"),
    };
    let nexthops: Vec<serde_json::Value> = r
        .nexthops
        .iter()
        .map(|h| serde_json::json!({ "via": h.via, "dev": h.dev, "onlink": h.onlink }))
        .collect();
    serde_json::json!({
        "prefix": r.to,
        "type": kind,
        "protocol": r.protocol,
        "metric": r.metric,
        "nexthops": nexthops,
    })
}
