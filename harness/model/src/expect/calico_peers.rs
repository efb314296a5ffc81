//! `calico_peers`: a calico node's BGP peers, as `calicoctl node status` lists them.
//!
//! ```yaml
//! - calico_peers:
//!     node: n1
//!     peers:
//!       - { address: 10.0.0.12, type: node-to-node mesh, state: up, info: Established }
//!       - { address: 10.0.0.1, type: node specific, info: Active }
//! - calico_peers: { node: n2, peers: [] }      # "No IPv4 peers found."
//! ```
//! The table (IPv4 and IPv6 together) must list exactly these peers, in any order. `type`,
//! `state` and `info` are checked when given; `info` matches when BIRD's info column starts
//! with it (runs of spaces count as one), so `Active` matches
//! `Active        Socket: Connection refused`. An empty list is a negative expectation,
//! checked once the rest has converged. A failure prints the table as calicoctl would.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Common, With, node_ref};
use crate::calico::status;
use crate::context::Context;
use crate::network::{Network, NodeKind};

/// The peer types calicoctl prints.
const TYPES: [&str; 3] = ["node-to-node mesh", "node specific", "global"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub peers: Vec<Spanned<PeerSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSpec {
    /// As calicoctl prints it: `10.0.0.12`, `10.0.0.1:8179`, `fd00::2`.
    pub address: String,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub state: Option<String>,
    pub info: Option<String>,
}

/// One wanted row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct WantedPeer {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub state: Option<String>,
    pub info: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalicoPeers {
    pub node: String,
    pub peers: Vec<WantedPeer>,
}

impl CalicoPeers {
    pub fn validate(spec: &With<Common, Spec>, cx: &mut Context, scenario: &Network) -> Option<CalicoPeers> {
        let node = node_ref(cx, &spec.node)?;
        if let Some(n) = scenario.nodes.iter().find(|n| n.name == node)
            && n.kind != NodeKind::Calico
        {
            cx.error(
                spec.node.referenced,
                format!("`{node}` is not a calico node (`kind: calico`)"),
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        let mut peers = Vec::new();
        for p in &spec.peers {
            if !seen.insert(p.value.address.clone()) {
                cx.error(
                    p.referenced,
                    format!("peer {} is listed twice", p.value.address),
                );
                return None;
            }
            let kind = match &p.value.kind {
                None => None,
                Some(k) if TYPES.contains(&k.value.as_str()) => Some(k.value.clone()),
                Some(k) => {
                    cx.error(
                        k.referenced,
                        format!(
                            "`{}` is not a calicoctl peer type (one of: {})",
                            k.value,
                            TYPES.join(", ")
                        ),
                    );
                    return None;
                }
            };
            peers.push(WantedPeer {
                address: p.value.address.clone(),
                kind,
                state: p.value.state.clone(),
                info: p.value.info.clone(),
            });
        }
        Some(CalicoPeers { node, peers })
    }
}

impl fmt::Display for CalicoPeers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.peers.is_empty() {
            return write!(f, "calico_peers {} has no BGP peers", self.node);
        }
        let rows: Vec<String> = self
            .peers
            .iter()
            .map(|p| {
                let mut row = p.address.clone();
                for v in [&p.kind, &p.state, &p.info].into_iter().flatten() {
                    row.push_str(&format!(" {v}"));
                }
                row
            })
            .collect();
        write!(f, "calico_peers {}: {}", self.node, rows.join(", "))
    }
}

/// Collapses runs of whitespace, as the table's reader sees them.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl WantedPeer {
    fn matches(&self, p: &status::Peer) -> bool {
        self.address == p.address
            && self.kind.as_ref().is_none_or(|k| *k == p.kind)
            && self.state.as_ref().is_none_or(|s| *s == p.state)
            && self
                .info
                .as_ref()
                .is_none_or(|i| words(&p.info).starts_with(&words(i)))
    }
}

impl super::Assertion for CalicoPeers {
    fn is_negative(&self) -> bool {
        self.peers.is_empty()
    }
}

impl CalicoPeers {
    /// Whether the table lists exactly the wanted peers.
    pub fn holds(&self, table: &[status::Peer]) -> bool {
        table.len() == self.peers.len()
            && self
                .peers
                .iter()
                .all(|w| table.iter().any(|p| w.matches(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(address: &str, kind: &str, state: &str, info: &str) -> status::Peer {
        status::Peer {
            address: address.into(),
            kind: kind.into(),
            state: state.into(),
            since: "10:55:11".into(),
            info: info.into(),
        }
    }

    fn wanted(address: &str, info: Option<&str>) -> WantedPeer {
        WantedPeer {
            address: address.into(),
            kind: Some("node specific".into()),
            state: None,
            info: info.map(Into::into),
        }
    }

    #[test]
    fn info_matches_its_beginning_with_spaces_collapsed() {
        let p = peer(
            "10.0.0.1",
            "node specific",
            "start",
            "Active        Socket: Connection refused",
        );
        assert!(wanted("10.0.0.1", Some("Active")).matches(&p));
        assert!(wanted("10.0.0.1", Some("Active Socket: Connection refused")).matches(&p));
        assert!(!wanted("10.0.0.1", Some("Established")).matches(&p));
        assert!(!wanted("10.0.0.2", None).matches(&p));
    }

    #[test]
    fn the_table_must_list_exactly_the_wanted_peers() {
        let table = [
            peer("10.0.0.1", "node specific", "up", "Established"),
            peer("10.0.0.2", "node specific", "up", "Established"),
        ];
        let one = CalicoPeers {
            node: "n".into(),
            peers: vec![wanted("10.0.0.1", Some("Established"))],
        };
        assert!(!one.holds(&table), "an extra peer in the table");
        assert!(one.holds(&table[..1]));
        let none = CalicoPeers {
            node: "n".into(),
            peers: vec![],
        };
        assert!(none.holds(&[]));
        assert!(!none.holds(&table));
    }
}
