//! `link_down`, `link_up`: a link's cable is cut or mended — for all its members, or for
//! one member's attachment. A cut leaves both ends administratively up and takes their
//! carrier away (`NO-CARRIER`), as routers on a failed leased line see it: the far side of
//! each attachment goes down (a bridge's port; a wire gets a patch panel for this, see
//! [`crate::link::wire`]). Routing daemons see the interface lose its link; traffic onto it
//! is lost.
//!
//! ```yaml
//! - link_down: iepl                                   # the whole link
//! - link_down: { link: vmbr0, node: kubenode-wds-1 }  # one member's attachment
//! - link_up: iepl
//! ```
//! An overlay's members keep their (virtual) interfaces up: cutting one cuts its underlay,
//! as a ZeroTier node that loses its uplink sees it. A `flannel` link rides on others and
//! is cut through them.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::link::Attachment;
use crate::network::Network;

/// `NAME` or `{ link: NAME, node: NODE }`.
#[derive(Debug)]
pub struct LinkRef {
    pub link: Spanned<String>,
    pub node: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for LinkRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LinkRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a link name, or `{ link: NAME, node: NODE }`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LinkRef, E> {
                Ok(LinkRef {
                    link: Spanned {
                        value: s.to_string(),
                        referenced: serde_saphyr::Location::UNKNOWN,
                        defined: serde_saphyr::Location::UNKNOWN,
                    },
                    node: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LinkRef, A::Error> {
                let (mut link, mut node) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "link" if link.is_none() => link = Some(map.next_value()?),
                        "node" if node.is_none() => node = Some(map.next_value()?),
                        "link" | "node" => return Err(de::Error::duplicate_field("link")),
                        other => return Err(de::Error::unknown_field(other, &["link", "node"])),
                    }
                }
                Ok(LinkRef {
                    link: link.ok_or_else(|| de::Error::missing_field("link"))?,
                    node,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// The link, written either way, with where it was written.
pub type Spec = Spanned<LinkRef>;

#[derive(Debug, Clone, Serialize)]
pub struct LinkState {
    pub link: String,
    /// The one member whose attachment changes, or every member.
    pub node: Option<String>,
    /// The far sides to take down or up.
    pub attachments: Vec<Attachment>,
    pub up: bool,
}

impl LinkState {
    pub fn validate(spec: &Spec, cx: &mut Context, scenario: &Network, up: bool) -> Option<Self> {
        let (link, attachments) = attachments(cx, spec, scenario)?;
        Some(LinkState {
            link,
            node: spec.value.node.as_ref().map(|n| n.value.clone()),
            attachments,
            up,
        })
    }
}

/// The link a reference names, and the attachments it selects.
pub(crate) fn attachments(
    cx: &mut Context,
    spec: &Spec,
    scenario: &Network,
) -> Option<(String, Vec<Attachment>)> {
    let at = |s: &Spanned<String>| {
        if s.referenced == serde_saphyr::Location::UNKNOWN {
            spec.referenced
        } else {
            s.referenced
        }
    };
    let name = &spec.value.link;
    let Some(link) = scenario.links.iter().find(|l| l.name() == name.value) else {
        let known: Vec<&str> = scenario.links.iter().map(|l| l.name()).collect();
        let hint = strsim_hint(&name.value, &known);
        cx.error(
            at(name),
            format!(
                "no link named `{}` (links: {}){hint}",
                name.value,
                known.join(", ")
            ),
        );
        return None;
    };
    let all = link.attachments();
    if all.is_empty() {
        cx.error(
            at(name),
            format!(
                "a `{}` link has no cable of its own to cut; cut the links it rides on",
                link.tag()
            ),
        );
        return None;
    }
    let chosen = match &spec.value.node {
        None => all,
        Some(node) => {
            let mine: Vec<Attachment> = all.into_iter().filter(|a| a.node == node.value).collect();
            if mine.is_empty() {
                let members: Vec<&str> =
                    link.interfaces().iter().map(|i| i.node.as_str()).collect();
                cx.error(
                    node.referenced,
                    format!(
                        "node `{}` is not a member of link `{}` (members: {})",
                        node.value,
                        name.value,
                        members.join(", ")
                    ),
                );
                return None;
            }
            mine
        }
    };
    Some((name.value.clone(), chosen))
}

fn strsim_hint(wanted: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::levenshtein(wanted, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.up { "link_up" } else { "link_down" };
        write!(f, "{verb} {}", self.link)?;
        if let Some(node) = &self.node {
            write!(f, " at {node}")?;
        }
        Ok(())
    }
}
