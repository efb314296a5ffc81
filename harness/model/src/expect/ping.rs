//! `ping`: an ICMP echo from a node to an address is answered, or is not.
//!
//! ```yaml
//! - ping: { from: kubemaster, to: 10.42.253.130 }                  # answered
//! - ping: { from: kubemaster, to: 10.42.253.130, ttl: 60 }         # ...with this reply TTL
//! - ping: { from: h1, to: 10.0.2.2, size: 1420, df: true }         # a full-size DF packet crosses
//! - ping: { from: h1, to: 10.0.2.2, size: 1421, df: true, succeeds: false }
//! ```
//! `size` is the whole IP packet in bytes (`ping -s` takes 28 less for IPv4, 48 for IPv6).
//!
//! A ping that must fail may say why, and then fails the expectation when it fails for
//! another reason: `because: unreachable` (no route, or ICMP destination unreachable),
//! `timeout` (no answer at all), `frag_needed` (too big, and not to be fragmented),
//! `ttl_exceeded`, `filtered` (administratively prohibited, or a local firewall). Without
//! it any failure counts, and the report still says which it was.
//!
//! ```yaml
//! - ping: { from: h1, to: 10.0.2.2, size: 1421, df: true, succeeds: false, because: frag_needed }
//! ```

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::min_packet_size as min_size;
use super::{Probing, With, probe_origin};
use crate::observed::ProbeFailure;
use crate::network::Network;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub size: Option<Spanned<u16>>,
    #[serde(default)]
    pub df: bool,
    /// The TTL (hop limit) the reply must arrive with, as `ping` prints it.
    pub ttl: Option<u8>,
    #[serde(default = "yes")]
    pub succeeds: bool,
    /// Why it must fail.
    pub because: Option<Spanned<ProbeFailure>>,
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
    pub because: Option<ProbeFailure>,
}

impl Ping {
    pub fn validate(spec: &With<Probing, Spec>, cx: &mut Context, _: &Network) -> Option<Ping> {
        let from = probe_origin(cx, &spec.group.probe);
        let header = min_size(spec.group.probe.to());
        if let Some(size) = &spec.size
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
        if let Some(because) = &spec.because
            && spec.succeeds
        {
            cx.error(
                because.referenced,
                "`because` says why a ping fails, so it needs `succeeds: false`",
            );
            return None;
        }
        if !spec.succeeds && spec.ttl.is_some() {
            cx.error(
                spec.group.probe.from().referenced,
                "`ttl` needs a reply, so not with `succeeds: false`",
            );
            return None;
        }
        Some(Ping {
            from: from?,
            to: spec.group.probe.to(),
            src: spec.group.probe.src(),
            size: spec.size.as_ref().map(|s| s.value),
            df: spec.df,
            ttl: spec.ttl,
            succeeds: spec.succeeds,
            because: spec.because.as_ref().map(|b| b.value),
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
        if let Some(why) = self.because {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}

impl super::Assertion for Ping {
    fn is_negative(&self) -> bool {
        !self.succeeds
    }
}
