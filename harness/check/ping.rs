//! `ping`: an ICMP echo from a node to an address is answered, or is not.
//!
//! ```yaml
//! - ping: { from: kubemaster, to: 10.42.253.130 }                  # answered
//! - ping: { from: kubemaster, to: 10.42.253.130, ttl: 60 }         # ...with this reply TTL
//! - ping: { from: h1, to: 10.0.2.2, size: 1420, df: true }         # a full-size DF packet crosses
//! - ping: { from: h1, to: 10.0.2.2, size: 1421, df: true, succeeds: false }
//! ```
//! `size` is the whole IP packet in bytes (`ping -s` takes 28 less for IPv4, 48 for IPv6).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::fragments::min_size;
use super::{Observation, probe_origin};
use crate::lab::Lab;
use crate::probe::{PingOutcome, PingSpec};
use crate::scenario::Scenario;
use crate::scenario::validate::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub from: Spanned<String>,
    pub to: Spanned<IpAddr>,
    /// Source address; the kernel picks one when omitted.
    pub src: Option<IpAddr>,
    pub size: Option<Spanned<u16>>,
    #[serde(default)]
    pub df: bool,
    /// The TTL (hop limit) the reply must arrive with, as `ping` prints it.
    pub ttl: Option<u8>,
    #[serde(default = "yes")]
    pub succeeds: bool,
    pub deadline: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize)]
pub struct Ping {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub size: Option<u16>,
    pub df: bool,
    pub ttl: Option<u8>,
    pub succeeds: bool,
}

impl Spec {
    pub fn validate(&self, cx: &mut Context, _: &Scenario) -> Option<Ping> {
        let from = probe_origin(cx, &self.from, self.to.value, self.src);
        let header = min_size(self.to.value);
        if let Some(size) = &self.size
            && size.value < header
        {
            cx.error(
                size.referenced,
                format!(
                    "size {} is smaller than the IP and ICMP headers ({header} bytes)",
                    size.value
                ),
            );
            return None;
        }
        if !self.succeeds && self.ttl.is_some() {
            cx.error(
                self.to.referenced,
                "`ttl` needs a reply, so not with `succeeds: false`",
            );
            return None;
        }
        Some(Ping {
            from: from?,
            to: self.to.value,
            src: self.src,
            size: self.size.as_ref().map(|s| s.value),
            df: self.df,
            ttl: self.ttl,
            succeeds: self.succeeds,
        })
    }
}

impl fmt::Display for Ping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ping {} -> {}", self.from, self.to)?;
        if let Some(size) = self.size {
            write!(f, " size {size}")?;
        }
        if self.df {
            write!(f, " DF")?;
        }
        if let Some(ttl) = self.ttl {
            write!(f, " reply ttl {ttl}")?;
        }
        if !self.succeeds {
            write!(f, " fails")?;
        }
        Ok(())
    }
}

impl Ping {
    pub fn is_negative(&self) -> bool {
        !self.succeeds
    }

    pub async fn observe(&self, lab: &Lab) -> Observation {
        let spec = PingSpec {
            dst: self.to,
            src: self.src,
            size: self.size,
            dont_fragment: self.df,
            ttl: None,
            timeout: Duration::from_millis(1000),
            attempts: if self.succeeds { 1 } else { 3 },
        };
        let outcome = match lab
            .probe(&self.from, move |ns| crate::probe::ping(ns, &spec))
            .await
        {
            Ok(o) => o,
            Err(e) => return Observation::new(false, e),
        };
        let holds = match &outcome {
            PingOutcome::Reply { ttl, .. } => {
                self.succeeds && self.ttl.is_none_or(|want| want == *ttl)
            }
            _ => !self.succeeds,
        };
        Observation::new(holds, outcome.to_string())
    }
}
