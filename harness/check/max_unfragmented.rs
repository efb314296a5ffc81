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

use super::fragments::{describe, largest_clean, min_size};
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
pub struct MaxUnfragmented {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub bytes: u16,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<MaxUnfragmented> {
        let from = probe_origin(cx, &self.from, self.to, self.src);
        let min = min_size(self.to);
        if self.bytes.value < min || self.bytes.value == u16::MAX {
            cx.error(
                self.bytes.referenced,
                format!(
                    "{} bytes is not a packet size to search for (from {min} up)",
                    self.bytes.value
                ),
            );
            return None;
        }
        Some(MaxUnfragmented {
            from: from?,
            to: self.to,
            src: self.src,
            bytes: self.bytes.value,
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

impl MaxUnfragmented {
    /// The search range: from the smallest echo up to well above the expected value, so a
    /// wider path is caught too.
    fn range(&self) -> (u16, u16) {
        let hi = self.bytes.saturating_add(100).max(1500);
        (min_size(self.to), hi)
    }

    pub async fn observe(&self, lab: &Lab) -> Observation {
        let _alone = lab.exclusive_probing().await;
        let (lo, hi) = self.range();
        match largest_clean(lab, &self.from, self.to, self.src, (lo, hi), self.bytes).await {
            Ok((Some(found), trials)) => {
                let head = if found == hi {
                    format!("every size up to {hi} bytes crossed unfragmented")
                } else {
                    format!("largest unfragmented packet: {found} bytes")
                };
                Observation::new(
                    found == self.bytes,
                    format!("{head}\n{}", describe(&trials)),
                )
            }
            Ok((None, trials)) => Observation::new(
                false,
                format!(
                    "even {lo} bytes did not cross unfragmented\n{}",
                    describe(&trials)
                ),
            ),
            Err(e) => Observation::new(false, e),
        }
    }
}
