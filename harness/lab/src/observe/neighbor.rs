//! `neighbor`: the node's neighbour cache, read over netlink as `ip neigh show` lists it.
//! Observed on the running lab: see `routelab_model::expect::neighbor` for the spec.

use futures::TryStreamExt;
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourState};
use routelab_model::expect::neighbor::Neighbor;

use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Neighbor {
    async fn observe(&self, lab: &Lab) -> Observation {
        let Some(space) = lab.namespace(&self.node) else {
            return Observation::new(false, format!("no node `{}` in the lab", self.node));
        };
        let names = match crate::net::netlink::interfaces(&space.netlink).await {
            Ok(names) => names,
            Err(e) => return Observation::new(false, format!("listing interfaces: {e}")),
        };
        let mut dump = space.netlink.neighbours().get().execute();
        let mut entries = Vec::new();
        loop {
            let message = match dump.try_next().await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return Observation::new(false, format!("reading neighbours: {e}")),
            };
            let mut address = None;
            let mut lladdr = None;
            for a in &message.attributes {
                match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                        address = Some(std::net::IpAddr::V4(*v4));
                    }
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                        address = Some(std::net::IpAddr::V6(*v6));
                    }
                    NeighbourAttribute::LinkLayerAddress(bytes) if bytes.len() == 6 => {
                        let b: [u8; 6] = bytes[..].try_into().expect("six bytes");
                        lladdr = Some(routelab_model::mac::MacAddr::new(b).to_string());
                    }
                    _ => {}
                }
            }
            if address != Some(self.address) {
                continue;
            }
            let dev = names
                .iter()
                .find(|(i, _)| *i == message.header.ifindex)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| message.header.ifindex.to_string());
            entries.push((dev, state_name(message.header.state), lladdr));
        }
        let shown: Vec<String> = entries
            .iter()
            .map(|(dev, state, lladdr)| match lladdr {
                Some(l) => format!("{} dev {dev} lladdr {l} {}", self.address, state.to_uppercase()),
                None => format!("{} dev {dev} {}", self.address, state.to_uppercase()),
            })
            .collect();
        let mine: Vec<&(String, String, Option<String>)> = entries
            .iter()
            .filter(|(dev, ..)| self.dev.as_deref().is_none_or(|d| d == dev))
            .collect();
        let holds = if self.absent {
            mine.is_empty()
        } else {
            mine.iter()
                .any(|(dev, state, lladdr)| self.matches(dev, state, lladdr.as_deref()))
        };
        let observed = if shown.is_empty() {
            format!("no neighbour entry for {} on {}", self.address, self.node)
        } else {
            shown.join("\n")
        };
        Observation::new(holds, observed)
    }
}

/// `ip neigh`'s word for a state.
fn state_name(state: NeighbourState) -> String {
    match state {
        NeighbourState::Incomplete => "incomplete",
        NeighbourState::Reachable => "reachable",
        NeighbourState::Stale => "stale",
        NeighbourState::Delay => "delay",
        NeighbourState::Probe => "probe",
        NeighbourState::Failed => "failed",
        NeighbourState::Noarp => "noarp",
        NeighbourState::Permanent => "permanent",
        _ => "none",
    }
    .to_string()
}
