//! `pmtu`: the path MTU from a node to an address, exact to the byte, measured by probing
//! with DF set (binary search; both ICMP "fragmentation needed" and silent loss count).
//!
//! ```yaml
//! - pmtu: { from: h1, to: 10.0.2.2, mtu: 1420 }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Observation, probe_origin};
use crate::lab::Lab;
use crate::probe::PmtuSpec;
use crate::scenario::Scenario;
use crate::scenario::validate::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub from: Spanned<String>,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub mtu: Spanned<u16>,
    pub deadline: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pmtu {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub mtu: u16,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<Pmtu> {
        let from = probe_origin(cx, &self.from, self.to, self.src);
        let min = if self.to.is_ipv4() { 68 } else { 1280 };
        if self.mtu.value < min {
            cx.error(
                self.mtu.referenced,
                format!("a path MTU below {min} is not possible for this address family"),
            );
            return None;
        }
        Some(Pmtu {
            from: from?,
            to: self.to,
            src: self.src,
            mtu: self.mtu.value,
        })
    }
}

impl fmt::Display for Pmtu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pmtu {} -> {} is {}", self.from, self.to, self.mtu)
    }
}

impl Pmtu {
    pub async fn observe(&self, lab: &Lab) -> Observation {
        let spec = PmtuSpec {
            dst: self.to,
            src: self.src,
            min: if self.to.is_ipv4() { 68 } else { 1280 },
            // Search above the expected value too, so a wider path is caught.
            max: self.mtu.saturating_add(100).max(1500),
            timeout: Duration::from_millis(500),
        };
        match lab
            .probe(&self.from, move |ns| crate::probe::path_mtu(ns, &spec))
            .await
        {
            Ok(found) => Observation::new(found.mtu == self.mtu, found.to_string()),
            Err(e) => Observation::new(false, e),
        }
    }
}
