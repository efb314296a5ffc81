//! `ping`: an ICMP echo from a node to an address is answered, or is not.
//!
//! ```yaml
//! - ping: { from: kubemaster, to: 10.42.253.130 }                  # answered
//! - ping: { from: kubemaster, to: 10.42.253.130, ttl: 60 }         # ...with this reply TTL
//! - ping: { from: h1, to: 10.0.2.2, size: 1420, df: true }         # a full-size DF packet crosses
//! - ping: { from: h1, to: 10.0.2.2, size: 1421, df: true, succeeds: false }
//! - ping: { from: cn, to: 10.255.0.2, rtt: { min: 32ms, max: 40ms } }  # a reply this slow
//! ```
//! `rtt` bounds the round trip of the reply (both ends optional, `max` exclusive), for
//! links with a `delay` ([`crate::impairment`]): as every expectation, it holds once
//! a reply within the bounds comes back before the deadline.
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
use crate::impairment::Micros;

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
    /// Bounds on the reply's round trip.
    pub rtt: Option<Spanned<RttSpec>>,
}

/// `rtt: { min: 32ms, max: 40ms }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RttSpec {
    pub min: Option<Spanned<String>>,
    pub max: Option<Spanned<String>>,
}

/// Bounds on a round trip: at least `min`, less than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rtt {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Micros>,
}

impl Rtt {
    /// Whether a round trip of `rtt` is within the bounds.
    pub fn holds(&self, rtt: std::time::Duration) -> bool {
        let us = rtt.as_micros() as u64;
        self.min.is_none_or(|m| us >= m.0) && self.max.is_none_or(|m| us < m.0)
    }
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<Rtt>,
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
        let rtt = match &spec.rtt {
            Some(r) => Some(rtt_bounds(cx, r, spec.succeeds)?),
            None => None,
        };
        Some(Ping {
            rtt,
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

/// Validates `rtt:`: a reply's bounds, so only for a ping that succeeds, with `min`
/// below `max`.
fn rtt_bounds(cx: &mut Context, raw: &Spanned<RttSpec>, succeeds: bool) -> Option<Rtt> {
    if !succeeds {
        cx.error(
            raw.referenced,
            "`rtt` bounds a reply's round trip, so not with `succeeds: false`",
        );
        return None;
    }
    let mut time = |t: &Option<Spanned<String>>| {
        t.as_ref()
            .map(|t| Micros(cx.duration(t).as_micros() as u64))
    };
    let (min, max) = (time(&raw.value.min), time(&raw.value.max));
    match (min, max) {
        (None, None) => {
            cx.error(raw.referenced, "`rtt` needs a `min`, a `max` or both");
            return None;
        }
        (Some(lo), Some(hi)) if lo >= hi => {
            cx.error(
                raw.referenced,
                format!("`rtt`: min {lo} is not below max {hi}, so no reply could hold"),
            );
            return None;
        }
        _ => {}
    }
    Some(Rtt { min, max })
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
        if let Some(rtt) = self.rtt {
            match (rtt.min, rtt.max) {
                (Some(lo), Some(hi)) => write!(f, " rtt {lo}..{hi}")?,
                (Some(lo), None) => write!(f, " rtt >= {lo}")?,
                (None, Some(hi)) => write!(f, " rtt < {hi}")?,
                (None, None) => {}
            }
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
