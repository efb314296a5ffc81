//! `ospf`: an OSPF neighbour of a BIRD OSPF protocol is in a given state.
//! Observed on the running lab: see `routelab_model::expect::ospf` for the spec.
//!
//! A neighbour stuck in ExStart or Exchange is the classic sign of an MTU mismatch (each
//! side drops database descriptions larger than its own interface takes), so the
//! diagnosis then reads both interfaces' MTUs from the kernel. The peer's interface is
//! found by the neighbour's address among the lab's namespaces; one no namespace has is
//! reported as unknown.

use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use routelab_model::expect::ospf::Ospf;
use routelab_model::observed::OspfNeighbor;

use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Ospf {
    async fn observe(&self, lab: &Lab) -> Observation {
        let daemon = match lab.daemon_for(&self.node, &self.protocol) {
            Ok(d) => d,
            Err(e) => return Observation::error(e),
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
                let mut observed = format!("{} neighbours: {listing}", self.protocol);
                if !holds {
                    for n in neighbours.iter().filter(|n| stuck_in_exchange(n)) {
                        observed.push_str(&mtu_hint(lab, &self.node, n).await);
                    }
                }
                let listed: Vec<serde_json::Value> = neighbours
                    .iter()
                    .map(|n| {
                        serde_json::json!({
                            "router_id": n.router_id,
                            "state": n.state,
                            "interface": n.interface,
                        })
                    })
                    .collect();
                Observation::new(holds, observed).with("neighbors", listed)
            }
            Err(e) => Observation::error(format!("{} on {}: {e}", daemon.describe(), self.node)),
        }
    }
}

/// ExStart or Exchange: the database exchange has not got through.
fn stuck_in_exchange(n: &OspfNeighbor) -> bool {
    let base = n.state.split('/').next().unwrap_or(&n.state);
    base.eq_ignore_ascii_case("ExStart") || base.eq_ignore_ascii_case("Exchange")
}

/// "MTU mismatch?" with both ends' MTUs, as the kernel has them now.
async fn mtu_hint(lab: &Lab, node: &str, n: &OspfNeighbor) -> String {
    let ours = match lab.namespace(node) {
        Some(space) => crate::net::netlink::find_link(&space.netlink, &n.interface)
            .await
            .ok()
            .flatten()
            .as_ref()
            .and_then(mtu),
        None => None,
    };
    let theirs = peer_interface(lab, n.address).await;
    let ours = ours.map_or("unknown".to_string(), |m| m.to_string());
    let (peer, theirs) = match theirs {
        Some((ns, name, m)) => (format!("{ns}:{name}"), m.to_string()),
        None => (n.address.to_string(), "unknown".to_string()),
    };
    let verdict = if ours == theirs {
        "the MTUs agree, so look at the neighbour's log"
    } else {
        "MTU mismatch?"
    };
    format!(
        "\n  {} stuck in {}: {verdict} {node}:{} has MTU {ours}, {peer} has MTU {theirs}",
        n.router_id, n.state, n.interface
    )
}

fn mtu(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

/// The namespace, interface and MTU that have `addr`.
async fn peer_interface(lab: &Lab, addr: IpAddr) -> Option<(String, String, u32)> {
    for ns in lab.namespace_names() {
        let space = lab.namespace(ns)?;
        let mut addresses = space.netlink.address().get().execute();
        while let Ok(Some(msg)) = addresses.try_next().await {
            let here = msg.attributes.iter().any(|a| {
                matches!(a, AddressAttribute::Address(a) | AddressAttribute::Local(a) if *a == addr)
            });
            if !here {
                continue;
            }
            let mut links = space
                .netlink
                .link()
                .get()
                .match_index(msg.header.index)
                .execute();
            let link = links.try_next().await.ok()??;
            let name = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            })?;
            return Some((ns.to_string(), name, mtu(&link)?));
        }
    }
    None
}
