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

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Probing, With, probe_origin};
use crate::network::Network;
use crate::yaml::OneOrMany;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub hops: Spanned<Vec<OneOrMany<IpAddr>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Traceroute {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    /// Per hop, the addresses accepted there.
    pub hops: Vec<Vec<IpAddr>>,
}

impl Traceroute {
    pub fn validate(spec: &With<Probing, Spec>, cx: &mut Context, _: &Network) -> Option<Traceroute> {
        let from = probe_origin(cx, &spec.group.probe);
        let hops: Vec<Vec<IpAddr>> = spec.hops.value.iter().map(|h| h.0.clone()).collect();
        if hops.is_empty() || hops.iter().any(Vec::is_empty) {
            cx.error(
                spec.hops.referenced,
                "`hops` needs at least one hop, each with an address",
            );
            return None;
        }
        if hops.last().is_some_and(|last| !last.contains(&spec.group.probe.to())) {
            cx.error(
                spec.hops.referenced,
                format!("the last hop must be the destination {}", spec.group.probe.to()),
            );
            return None;
        }
        if hops.len() > 30 {
            cx.error(spec.hops.referenced, "at most 30 hops");
            return None;
        }
        Some(Traceroute {
            from: from?,
            to: spec.group.probe.to(),
            src: spec.group.probe.src(),
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

impl super::Assertion for Traceroute {}
