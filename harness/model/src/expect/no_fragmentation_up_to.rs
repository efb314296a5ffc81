//! `no_fragmentation_up_to`: packets up to a size cross from a node to an address and back
//! without being fragmented anywhere in the lab; a pod MTU proven safe.
//!
//! ```yaml
//! - no_fragmentation_up_to: { from: pod-hkg04, to: 100.64.1.103, bytes: 1370 }
//! ```
//!
//! Sends echo requests without DF of the smallest size, half the size and the size itself,
//! and fails if any is unanswered or moves any namespace's fragmentation counters (see
//! `fragments`).

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
pub struct NoFragmentationUpTo {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub bytes: u16,
}

impl NoFragmentationUpTo {
    pub fn validate(spec: &With<Probing, Spec>, cx: &mut Context, _: &Network) -> Option<NoFragmentationUpTo> {
        let from = probe_origin(cx, &spec.group.probe);
        let min = min_size(spec.group.probe.to());
        if spec.bytes.value < min {
            cx.error(
                spec.bytes.referenced,
                format!(
                    "{} bytes is smaller than the IP and ICMP headers ({min} bytes)",
                    spec.bytes.value
                ),
            );
            return None;
        }
        Some(NoFragmentationUpTo {
            from: from?,
            to: spec.group.probe.to(),
            src: spec.group.probe.src(),
            bytes: spec.bytes.value,
        })
    }
}

impl fmt::Display for NoFragmentationUpTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no fragmentation {} -> {} up to {} bytes",
            self.from, self.to, self.bytes
        )
    }
}

impl super::Assertion for NoFragmentationUpTo {}

impl NoFragmentationUpTo {
    /// The sizes tried, smallest first.
    pub fn sizes(&self) -> Vec<u16> {
        let min = min_size(self.to);
        let mut sizes = vec![min, min.max(self.bytes / 2), self.bytes];
        sizes.dedup();
        sizes
    }

}
