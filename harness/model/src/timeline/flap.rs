//! `flap`: a link (or one member's attachment) goes down and up again, `times` times,
//! one flap every `every`: down at the start of each, up halfway through it.
//!
//! ```yaml
//! - flap: { link: iepl, times: 3, every: 2s }
//! - flap: { link: vmbr0, node: kubenode-wds-1, times: 5, every: 500ms }
//! ```
//! The phase clock starts when the last flap is done (the link up again).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::link_state::{LinkRef, attachments};
use crate::context::Context;
use crate::link::Attachment;
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub link: Spanned<String>,
    pub node: Option<Spanned<String>>,
    pub times: Spanned<u32>,
    pub every: Spanned<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Flap {
    pub link: String,
    pub node: Option<String>,
    pub attachments: Vec<Attachment>,
    pub times: u32,
    #[serde(skip)]
    pub every: Duration,
}

/// At most this many flaps in one action.
const MAX_TIMES: u32 = 1000;

impl Flap {
    pub fn validate(spec: &Spec, cx: &mut Context, scenario: &Network) -> Option<Self> {
        let every = cx.duration(&spec.every);
        if every < Duration::from_millis(20) {
            cx.error(spec.every.referenced, "`every` must be at least 20ms");
            return None;
        }
        if spec.times.value == 0 || spec.times.value > MAX_TIMES {
            cx.error(
                spec.times.referenced,
                format!("`times` must be 1 to {MAX_TIMES}"),
            );
            return None;
        }
        let reference = Spanned {
            value: LinkRef {
                link: spec.link.clone(),
                node: spec.node.clone(),
            },
            referenced: spec.link.referenced,
            defined: spec.link.defined,
        };
        let (link, attachments) = attachments(cx, &reference, scenario)?;
        Some(Flap {
            link,
            node: spec.node.as_ref().map(|n| n.value.clone()),
            attachments,
            times: spec.times.value,
            every,
        })
    }
}

impl fmt::Display for Flap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flap {}", self.link)?;
        if let Some(node) = &self.node {
            write!(f, " at {node}")?;
        }
        write!(
            f,
            " {} times every {}",
            self.times,
            humantime::format_duration(self.every)
        )
    }
}
