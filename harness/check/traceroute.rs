//! `traceroute`: the exact list of hops from a node to an address.
//!
//! ```yaml
//! - traceroute:
//!     from: k8s-master
//!     to: 192.168.219.20
//!     hops: [10.30.81.118, [20.20.20.20, 30.30.30.20], 192.168.219.20]
//! ```
//! A hop written as a list accepts any of its addresses: equal-cost paths are chosen by
//! the kernel's multipath hash, so which one a flow takes is not fixed by the topology.
//! The last hop is the destination itself. Probes are ICMP echoes (`traceroute -I`), so
//! every probe of a trace hashes onto the same path.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Observation, node_ref};
use crate::lab::Lab;
use crate::probe::TraceSpec;
use crate::scenario::Scenario;
use crate::scenario::raw::OneOrMany;
use crate::scenario::validate::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub from: Spanned<String>,
    pub to: IpAddr,
    pub hops: Spanned<Vec<OneOrMany<IpAddr>>>,
    pub deadline: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Traceroute {
    pub from: String,
    pub to: IpAddr,
    /// Per hop, the addresses accepted there.
    pub hops: Vec<Vec<IpAddr>>,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<Traceroute> {
        let from = node_ref(cx, &self.from);
        let hops: Vec<Vec<IpAddr>> = self.hops.value.iter().map(|h| h.0.clone()).collect();
        if hops.is_empty() || hops.iter().any(Vec::is_empty) {
            cx.error(
                self.hops.referenced,
                "`hops` needs at least one hop, each with an address",
            );
            return None;
        }
        if hops.last().is_some_and(|last| !last.contains(&self.to)) {
            cx.error(
                self.hops.referenced,
                format!("the last hop must be the destination {}", self.to),
            );
            return None;
        }
        if hops.len() > 30 {
            cx.error(self.hops.referenced, "at most 30 hops");
            return None;
        }
        Some(Traceroute {
            from: from?,
            to: self.to,
            hops,
        })
    }
}

impl fmt::Display for Traceroute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hops: Vec<String> = self
            .hops
            .iter()
            .map(|h| {
                let alts: Vec<String> = h.iter().map(ToString::to_string).collect();
                alts.join("|")
            })
            .collect();
        write!(
            f,
            "traceroute {} -> {}: {}",
            self.from,
            self.to,
            hops.join(" ")
        )
    }
}

impl Traceroute {
    pub async fn observe(&self, lab: &Lab) -> Observation {
        let spec = TraceSpec {
            dst: self.to,
            max_hops: (self.hops.len() + 2).min(30) as u8,
            timeout_per_hop: Duration::from_millis(500),
            probes_per_hop: 1,
        };
        let trace = match lab
            .probe(&self.from, move |ns| crate::probe::traceroute(ns, &spec))
            .await
        {
            Ok(t) => t,
            Err(e) => return Observation::new(false, e),
        };
        let holds = trace.reached
            && trace.hops.len() == self.hops.len()
            && trace.hops.iter().zip(&self.hops).all(|(seen, accepted)| {
                !seen.responders.is_empty() && seen.responders.iter().all(|r| accepted.contains(r))
            });
        Observation::new(holds, trace.to_string())
    }
}
