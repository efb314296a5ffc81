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

use super::{Observation, node_ref};
use crate::daemon::DaemonError;
use crate::lab::Lab;
use crate::scenario::Scenario;
use crate::scenario::validate::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub protocol: String,
    /// BGP state as BIRD names it: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: Option<Spanned<String>>,
    /// `false`: the session must not be Established (checked after the rest converged).
    pub established: Option<bool>,
    /// BIRD has no protocol of that name at all.
    #[serde(default)]
    pub absent: bool,
    pub deadline: Option<Spanned<String>>,
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

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<Bgp> {
        let node = node_ref(cx, &self.node);
        let given = [
            self.state.is_some(),
            self.established.is_some(),
            self.absent,
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            cx.error(
                self.node.referenced,
                "give one of `state`, `established` or `absent`",
            );
            return None;
        }
        let state = match &self.state {
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
            protocol: self.protocol.clone(),
            state,
            negated: self.established == Some(false),
            absent: self.absent,
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

impl Bgp {
    pub fn is_negative(&self) -> bool {
        self.negated || self.absent
    }

    pub async fn observe(&self, lab: &Lab) -> Observation {
        let mut client = match lab.bird(&self.node).await {
            Ok(c) => c,
            Err(e) => return Observation::new(false, e),
        };
        match client.protocol(&self.protocol).await {
            Ok(p) => {
                let state = p.bgp_state.clone().unwrap_or_else(|| p.row.state.clone());
                let matches = state.eq_ignore_ascii_case(&self.state) && !self.absent;
                let mut seen = format!("{}: {} ({})", self.protocol, state, p.row.info);
                if let Some(err) = &p.last_error {
                    seen.push_str(&format!(", last error: {err}"));
                }
                Observation::new(matches != self.negated, seen)
            }
            Err(DaemonError::NoSuchProtocol { .. }) => {
                let names: Vec<String> = client
                    .protocols()
                    .await
                    .map(|rows| rows.into_iter().map(|r| r.name).collect())
                    .unwrap_or_default();
                Observation::new(
                    self.absent,
                    format!(
                        "no protocol `{}` in BIRD on {} (it has: {})",
                        self.protocol,
                        self.node,
                        names.join(", ")
                    ),
                )
            }
            Err(e) => Observation::new(false, format!("BIRD on {}: {e}", self.node)),
        }
    }
}
