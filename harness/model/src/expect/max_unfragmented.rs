//! `max_unfragmented`: the largest packet that crosses from a node to an address and back
//! without being fragmented anywhere in the lab, exact to the byte.
//!
//! ```yaml
//! - max_unfragmented: { from: hkg02, to: 100.64.1.104, bytes: 1380 }
//! ```
//!
//! Measured with echo requests *without* DF, bisecting on whether the IP fragmentation
//! counters of any namespace move (see `fragments`). This is what a DF search (`pmtu`)
//! cannot see: a path whose interfaces all say 1420 may still fragment above 1380 inside an
//! overlay's underlay, and a DF packet there is lost rather than refused.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::min_packet_size as min_size;
use super::{Probing, With, probe_origin};
use crate::network::Network;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Whole IP packet, in bytes.
    pub bytes: Spanned<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaxUnfragmented {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub bytes: u16,
}

impl MaxUnfragmented {
    pub fn validate(spec: &With<Probing, Spec>, cx: &mut Context, _: &Network) -> Option<MaxUnfragmented> {
        let from = probe_origin(cx, &spec.group.probe);
        let min = min_size(spec.group.probe.to());
        if spec.bytes.value < min || spec.bytes.value == u16::MAX {
            cx.error(
                spec.bytes.referenced,
                format!(
                    "{} bytes is not a packet size to search for (from {min} up)",
                    spec.bytes.value
                ),
            );
            return None;
        }
        Some(MaxUnfragmented {
            from: from?,
            to: spec.group.probe.to(),
            src: spec.group.probe.src(),
            bytes: spec.bytes.value,
        })
    }
}

impl fmt::Display for MaxUnfragmented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max_unfragmented {} -> {} is {}",
            self.from, self.to, self.bytes
        )
    }
}

impl super::Assertion for MaxUnfragmented {}

impl MaxUnfragmented {
    /// The search range: from the smallest echo up to well above the expected value, so a
    /// wider path is caught too.
    pub fn range(&self) -> (u16, u16) {
        let hi = self.bytes.saturating_add(100).max(1500);
        (min_size(self.to), hi)
    }

}
