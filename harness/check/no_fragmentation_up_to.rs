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

use super::fragments::{Trial, describe, min_size, trial};
use super::{Observation, probe_origin};
use crate::lab::Lab;
use crate::scenario::Scenario;
use crate::scenario::validate::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub from: Spanned<String>,
    pub to: IpAddr,
    /// Source address; the kernel picks one when omitted.
    pub src: Option<IpAddr>,
    /// Whole IP packet, in bytes.
    pub bytes: Spanned<u16>,
    pub deadline: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoFragmentationUpTo {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub bytes: u16,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<NoFragmentationUpTo> {
        let from = probe_origin(cx, &self.from, self.to, self.src);
        let min = min_size(self.to);
        if self.bytes.value < min {
            cx.error(
                self.bytes.referenced,
                format!(
                    "{} bytes is smaller than the IP and ICMP headers ({min} bytes)",
                    self.bytes.value
                ),
            );
            return None;
        }
        Some(NoFragmentationUpTo {
            from: from?,
            to: self.to,
            src: self.src,
            bytes: self.bytes.value,
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

impl NoFragmentationUpTo {
    /// The sizes tried, smallest first.
    fn sizes(&self) -> Vec<u16> {
        let min = min_size(self.to);
        let mut sizes = vec![min, min.max(self.bytes / 2), self.bytes];
        sizes.dedup();
        sizes
    }

    pub async fn observe(&self, lab: &Lab) -> Observation {
        let _alone = lab.exclusive_probing().await;
        let mut trials: Vec<Trial> = Vec::new();
        for size in self.sizes() {
            match trial(lab, &self.from, self.to, self.src, size).await {
                Ok(t) => {
                    let clean = t.clean();
                    trials.push(t);
                    if !clean {
                        return Observation::new(false, describe(&trials));
                    }
                }
                Err(e) => return Observation::new(false, e),
            }
        }
        Observation::new(true, describe(&trials))
    }
}
