//! BGPPeer resources expanded into the peerings confd stores per node.
//!
//! As in Calico: BGPPeers without a node scope become global peerings, scoped ones
//! per-node peerings (skipped where a global peering to the same address and port
//! exists), `peerSelector` peers every matching Calico node, and, unless
//! `reversePeering: Manual`, each peering between Calico nodes gets its reverse on the
//! other side. The first peering emitted for a key wins; BGPPeers are taken in name order.
//! A BGPPeer with a `localWorkloadSelector` peers with the node's workloads that Felix
//! matched to it ([`LocalWorkload`]), which only the node's own confd knows: so peerings
//! are computed per node, and such a BGPPeer is never reversed.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::cluster::{Cluster, duration_secs};
use super::resources::{AsNumber, BgpPeerSpec};

/// A peering as confd stores it under `/bgp/v1/global/peer_vN/...` or
/// `/bgp/v1/host/<node>/peer_vN/...`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerData {
    pub ip: Option<IpAddr>,
    pub as_num: AsNumber,
    pub local_as_num: Option<AsNumber>,
    pub rr_cluster_id: String,
    pub password: Option<String>,
    /// `UseNodeIP` or `None`.
    pub source_addr: String,
    /// Graceful restart time in seconds, or empty.
    pub restart_time: String,
    pub keepalive_time: String,
    pub port: u16,
    pub keep_next_hop: bool,
    /// Whether the peer address is a Calico node's.
    pub calico_node: bool,
    pub num_allow_local_as: i32,
    pub ttl_security: u8,
    pub filters: Vec<String>,
    pub reachable_by: String,
    /// `Auto`, `Self` or `Keep`, or empty.
    pub next_hop_mode: String,
    /// A peering with a workload on the node (`localWorkloadSelector`): rendered as
    /// `Local_Workload_<ip>`, always passive, the workload being the one to connect.
    pub local_workload: bool,
}

/// A workload on this node that Felix found a BGPPeer's `localWorkloadSelector` to match:
/// what confd reads from Felix's endpoint-status files (`ipv4Nets`, `ipv6Nets`,
/// `bgpPeerName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalWorkload {
    /// The BGPPeer that selected it (Felix picks the first by name when several do).
    pub bgp_peer: String,
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
}

/// Where a peering is stored: for every node, or for one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerKey {
    Global { ip: IpAddr, port: u16 },
    Node { node: String, ip: IpAddr, port: u16 },
}

/// Splits `ip`, `ip:port` or `[ip6]:port`.
fn split_ip_port(s: &str) -> (String, u16) {
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return (sa.ip().to_string(), sa.port());
    }
    (s.to_string(), 0)
}

impl Cluster {
    /// Nodes whose address is `ip` and AS `as_num` (0: the cluster's), and whose listen
    /// port agrees with `port` when one is given.
    fn nodes_with_ip_port_as(&self, ip: &str, as_num: AsNumber, port: u16) -> Vec<String> {
        let want = if as_num.0 == 0 {
            self.global_as()
        } else {
            as_num
        };
        let global_port = self.global_listen_port();
        self.nodes
            .values()
            .filter(|n| n.ipv4 == ip || n.ipv6 == ip)
            .filter(|n| self.node_as(&n.name) == want)
            .filter(|n| {
                if port == 0 {
                    return true;
                }
                let own = self.bgp_per_node.get(&n.name).map_or(0, |b| b.listen_port);
                if own != 0 {
                    own == port
                } else {
                    !(global_port != 0 && global_port != port)
                }
            })
            .map(|n| n.name.clone())
            .collect()
    }

    /// The fields every peering of a BGPPeer shares.
    fn apply_common(&self, peer: &mut PeerData, spec: &BgpPeerSpec) {
        peer.password = self.password(spec.password.as_ref());
        peer.source_addr = if spec.source_address.is_empty() {
            "UseNodeIP".to_string()
        } else {
            spec.source_address.clone()
        };
        if let Some(t) = &spec.max_restart_time {
            peer.restart_time = duration_secs(t).map(|s| s.to_string()).unwrap_or_default();
        }
        if let Some(t) = &spec.keepalive_time {
            peer.keepalive_time = duration_secs(t).map(|s| s.to_string()).unwrap_or_default();
        }
    }

    fn next_hop(spec: &BgpPeerSpec) -> (bool, String) {
        match &spec.next_hop_mode {
            Some(mode) => (false, mode.clone()),
            None => (spec.keep_original_next_hop, String::new()),
        }
    }

    /// A Calico node as the far end of a peering, one per requested IP family.
    fn node_as_peers(&self, node: &str, v4: bool, v6: bool, spec: &BgpPeerSpec) -> Vec<PeerData> {
        let Some(info) = self.nodes.get(node) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (wanted, ip) in [(v4, &info.ipv4), (v6, &info.ipv6)] {
            let Some(ip) = ip.parse::<IpAddr>().ok().filter(|_| wanted) else {
                continue;
            };
            let (keep, mode) = Self::next_hop(spec);
            out.push(PeerData {
                ip: Some(ip),
                ttl_security: spec.ttl_security.unwrap_or(0),
                filters: spec.filters.clone(),
                reachable_by: spec.reachable_by.clone(),
                port: self.listen_port(node),
                as_num: self.node_as(node),
                rr_cluster_id: info.rr_cluster_id.clone(),
                keep_next_hop: keep,
                next_hop_mode: mode,
                ..Default::default()
            });
        }
        out
    }

    /// The peering an explicit `peerIP` describes, or None when the address is unusable.
    fn explicit_peer(&self, spec: &BgpPeerSpec) -> Option<PeerData> {
        let (host, mut port) = split_ip_port(&spec.peer_ip);
        let ip: IpAddr = host.parse().ok()?;
        if port == 0 {
            if let Some(node) = self.nodes_with_ip_port_as(&host, spec.as_number, 0).first() {
                port = self.listen_port(node);
            }
        }
        let calico_node = self
            .nodes
            .values()
            .any(|n| n.ipv4 == host || n.ipv6 == host);
        if !spec.reachable_by.is_empty() {
            let via: IpAddr = spec.reachable_by.parse().ok()?;
            if via.is_ipv4() != ip.is_ipv4() {
                return None;
            }
        }
        let (keep, mode) = Self::next_hop(spec);
        Some(PeerData {
            ip: Some(ip),
            as_num: spec.as_number,
            local_as_num: spec.local_as_number,
            port,
            keep_next_hop: keep,
            next_hop_mode: mode,
            calico_node,
            ttl_security: spec.ttl_security.unwrap_or(0),
            filters: spec.filters.clone(),
            num_allow_local_as: spec.num_allowed_local_as_numbers.unwrap_or(0),
            reachable_by: spec.reachable_by.clone(),
            ..Default::default()
        })
    }

    /// A BGPPeer's peerings with this node's workloads, one per family of each workload
    /// it selected. As in confd, nothing of the BGPPeer but its AS numbers and filters
    /// applies: no password, no timers, no source address.
    fn workload_peers(
        spec_name: &str,
        spec: &BgpPeerSpec,
        workloads: &[LocalWorkload],
    ) -> Vec<PeerData> {
        workloads
            .iter()
            .filter(|w| w.bgp_peer == spec_name)
            .flat_map(|w| [w.ipv4, w.ipv6])
            .flatten()
            .map(|ip| PeerData {
                ip: Some(ip),
                as_num: spec.as_number,
                local_as_num: spec.local_as_number,
                filters: spec.filters.clone(),
                source_addr: "None".into(),
                local_workload: true,
                ..Default::default()
            })
            .collect()
    }

    /// Expands every BGPPeer into stored peerings, as the confd of the node whose
    /// workloads are `workloads` stores them.
    pub fn peerings(&self, workloads: &[LocalWorkload]) -> BTreeMap<PeerKey, PeerData> {
        let mut out: BTreeMap<PeerKey, PeerData> = BTreeMap::new();
        let emit = |out: &mut BTreeMap<PeerKey, PeerData>, key: PeerKey, peer: &PeerData| {
            if out.contains_key(&key) {
                return;
            }
            if let PeerKey::Node { ip, port, .. } = &key {
                let global = PeerKey::Global {
                    ip: *ip,
                    port: *port,
                };
                if out.contains_key(&global) {
                    return;
                }
            }
            out.insert(key, peer.clone());
        };

        for global_pass in [true, false] {
            for (spec_name, spec) in &self.bgp_peers {
                let is_global = spec.node_selector.is_empty() && spec.node.is_empty();
                if is_global != global_pass {
                    continue;
                }
                let local_nodes = if !spec.node_selector.is_empty() {
                    self.nodes_matching(&spec.node_selector)
                } else if !spec.node.is_empty() {
                    vec![spec.node.clone()]
                } else {
                    Vec::new()
                };
                let mut peers = Vec::new();
                if !spec.local_workload_selector.is_empty() {
                    peers = Self::workload_peers(spec_name, spec, workloads);
                } else if !spec.peer_selector.is_empty() {
                    for n in self.nodes_matching(&spec.peer_selector) {
                        peers.extend(self.node_as_peers(&n, true, true, spec));
                    }
                } else if let Some(p) = self.explicit_peer(spec) {
                    peers.push(p);
                }
                for p in peers.iter_mut().filter(|p| !p.local_workload) {
                    self.apply_common(p, spec);
                }
                for p in &peers {
                    let ip = p.ip.expect("peers carry an address");
                    if global_pass {
                        emit(&mut out, PeerKey::Global { ip, port: p.port }, p);
                    } else {
                        for node in &local_nodes {
                            let key = PeerKey::Node {
                                node: node.clone(),
                                ip,
                                port: p.port,
                            };
                            emit(&mut out, key, p);
                        }
                    }
                }
            }
        }

        // Reverse peerings: the nodes a BGPPeer points at peer back with the nodes it
        // is scoped to.
        for spec in self.bgp_peers.values() {
            if spec.reverse_peering.as_deref() == Some("Manual")
                || !spec.local_workload_selector.is_empty()
            {
                continue;
            }
            let (local_nodes, v4, v6) = if !spec.peer_selector.is_empty() {
                (self.nodes_matching(&spec.peer_selector), true, true)
            } else {
                let (ip, port) = split_ip_port(&spec.peer_ip);
                let v6 = ip.contains(':');
                (
                    self.nodes_with_ip_port_as(&ip, spec.as_number, port),
                    !v6,
                    v6,
                )
            };
            if local_nodes.is_empty() {
                continue;
            }
            let peer_nodes = if !spec.node_selector.is_empty() {
                self.nodes_matching(&spec.node_selector)
            } else if !spec.node.is_empty() {
                vec![spec.node.clone()]
            } else {
                self.nodes_matching("all()")
            };
            let mut peers: Vec<PeerData> = peer_nodes
                .iter()
                .flat_map(|n| self.node_as_peers(n, v4, v6, spec))
                .collect();
            for p in &mut peers {
                self.apply_common(p, spec);
            }
            for p in &peers {
                let ip = p.ip.expect("peers carry an address");
                for node in &local_nodes {
                    let key = PeerKey::Node {
                        node: node.clone(),
                        ip,
                        port: p.port,
                    };
                    emit(&mut out, key, p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calico::cluster::tests::NODES;
    use crate::calico::resources::parse_str;

    #[test]
    fn peer_selector_peerings_get_reversed() {
        let text = format!(
            "{NODES}---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: p}}\nspec: {{nodeSelector: '!has(rr)', peerSelector: has(rr)}}\n"
        );
        let c = Cluster::from_resources(&parse_str("n", &text).unwrap()).unwrap();
        let peerings = c.peerings(&[]);
        let keys: Vec<String> = peerings
            .keys()
            .map(|k| match k {
                PeerKey::Node { node, ip, .. } => format!("{node}->{ip}"),
                PeerKey::Global { ip, .. } => format!("*->{ip}"),
            })
            .collect();
        assert_eq!(keys, ["a->10.0.0.2", "b->10.0.0.1"]);
    }

    #[test]
    fn manual_reverse_peering_is_one_sided() {
        let text = format!(
            "{NODES}---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: p}}\nspec: {{node: b, peerIP: 10.0.0.1, asNumber: 64512, reversePeering: Manual}}\n"
        );
        let c = Cluster::from_resources(&parse_str("n", &text).unwrap()).unwrap();
        assert_eq!(c.peerings(&[]).len(), 1);
    }
}
