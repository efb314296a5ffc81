//! What every kind's validation reports into, and the checks they share: the file and
//! its text for positions, the nodes known so far, interface names and addresses taken,
//! the scenario's timing defaults, and where findings go. Below every kind: it knows no
//! link, expectation or action.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Serialize;
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::text::closest;

/// How long an expectation may take to hold when neither it nor the scenario says.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// How long a phase's kernel routes and protocol states must stay unchanged before its
/// negative expectations are judged, when neither they nor the scenario say.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);
/// How long a negative expectation must then stay true, by default.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(2);

/// The scenario's timing defaults (`defaults:` in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timing {
    #[serde(with = "humantime_serde_compat")]
    pub deadline: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub settle: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub hold: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            deadline: DEFAULT_DEADLINE,
            settle: DEFAULT_SETTLE,
            hold: DEFAULT_HOLD,
        }
    }
}

/// What link kinds and expectation kinds need while validating: the file for messages,
/// the nodes known so far, and where findings go.
pub struct Context<'a> {
    pub file: &'a Path,
    /// The scenario's text, to find where a value such as an inline BIRD config begins.
    pub text: &'a str,
    pub dir: PathBuf,
    pub node_names: BTreeSet<String>,
    pub findings: Diagnostics,
    /// Interface names taken per node, so links can pick the next free `ethN`.
    pub(crate) taken_interfaces: BTreeMap<String, BTreeSet<String>>,
    /// The Calico resources as the timeline's steps so far leave them.
    pub(crate) calico_now: Option<Vec<crate::calico::Resource>>,
    /// Interface addresses given so far, with where and on which interface.
    pub(crate) addresses: BTreeMap<IpNet, (String, Location)>,
    pub(crate) timing: Timing,
    /// Nodes a variant removed from its base, with where it did (`file:line:col`).
    pub(crate) removed_nodes: BTreeMap<String, String>,
}

impl<'a> Context<'a> {
    /// Findings from here on point into `file`, and relative paths resolve from its
    /// directory: a variant's parts are written in several files.
    pub fn enter(&mut self, file: &'a Path, text: &'a str) {
        self.file = file;
        self.text = text;
        self.dir = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
    }

    pub fn error(&mut self, at: Location, message: impl std::fmt::Display) {
        let d = Diagnostic::error(self.file, at, message.to_string());
        self.findings.push(d);
    }

    pub fn warning(&mut self, at: Location, message: impl std::fmt::Display) {
        let d = Diagnostic::warning(self.file, at, message.to_string());
        self.findings.push(d);
    }

    /// Checks that `node` names a node of the scenario; reports it otherwise.
    pub fn known_node(&mut self, node: &Spanned<String>) -> bool {
        if self.node_names.contains(&node.value) {
            return true;
        }
        if let Some(at) = self.removed_nodes.get(&node.value) {
            let msg = format!(
                "node `{}` is removed by the variant ({at}); remove what names it too",
                node.value
            );
            self.error(node.referenced, msg);
            return false;
        }
        let hint = closest(&node.value, self.node_names.iter())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        let known = self
            .node_names
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        self.error(
            node.referenced,
            format!("no node named `{}` (nodes: {known}){hint}", node.value),
        );
        false
    }

    /// Claims an interface name on a node: the given one, or the next free `ethN`.
    pub fn claim_interface(&mut self, node: &str, name: Option<&Spanned<String>>) -> String {
        let taken = self.taken_interfaces.entry(node.to_string()).or_default();
        match name {
            Some(n) => {
                if let Err(why) = crate::names::interface(&n.value) {
                    let at = n.referenced;
                    self.error(at, why);
                } else if !taken.insert(n.value.clone()) {
                    let at = n.referenced;
                    let msg = format!("node `{node}` already has an interface `{}`", n.value);
                    self.error(at, msg);
                }
                n.value.clone()
            }
            None => {
                let name = (0..)
                    .map(|i| format!("eth{i}"))
                    .find(|c| !taken.contains(c))
                    .expect("an unbounded range always has a free name");
                taken.insert(name.clone());
                name
            }
        }
    }

    /// The scenario's timing defaults.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// Parses a duration as written (`30s`, `500ms`); reports a bad one and gives zero.
    pub fn duration(&mut self, text: &Spanned<String>) -> std::time::Duration {
        match parse_duration(&text.value) {
            Ok(d) => d,
            Err(e) => {
                self.error(text.referenced, e);
                std::time::Duration::ZERO
            }
        }
    }
}

/// Why the kernel would not put `addr` on an interface (`on_lo`: on `lo`), if it would
/// not. Found by trying each class in a fresh namespace: IPv6 refuses multicast, `::`
/// and `::1` off `lo`; IPv4 takes `0.0.0.0` without error but adds nothing. IPv4
/// multicast is taken, but is no unicast address either.
pub fn refused_address(addr: IpAddr, on_lo: bool) -> Option<String> {
    match addr {
        IpAddr::V4(v4) if v4.is_unspecified() => Some(format!(
            "{addr} cannot be an interface address (the kernel would silently add nothing)"
        )),
        IpAddr::V4(v4) if v4.is_multicast() => Some(format!(
            "{addr} cannot be an interface address: it is a multicast group (224.0.0.0/4)"
        )),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(format!(
            "{addr} cannot be an interface address: the kernel refuses the unspecified address"
        )),
        IpAddr::V6(v6) if v6.is_multicast() => Some(format!(
            "{addr} cannot be an interface address: the kernel refuses multicast (ff00::/8)"
        )),
        IpAddr::V6(v6) if v6.is_loopback() && !on_lo => Some(format!(
            "{addr} is the loopback address, which the kernel allows only on `lo`; put it under \
             the node's `loopback` (where every namespace already has it) or use another address"
        )),
        _ => None,
    }
}

/// Ethernet-ish MTUs the kernel accepts on a veth (68 is IPv4's minimum).
pub fn check_mtu(cx: &mut Context, mtu: u32, at: Location) {
    if !(68..=65535).contains(&mtu) {
        cx.error(at, format!("MTU {mtu} is out of range (68 to 65535)"));
    }
}

/// `a/b/../c` to `a/c`, without touching the file system (the path may not exist yet).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Durations as `humantime` text (`30s`, `1m 30s`) in serialized output.
mod humantime_serde_compat {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// Text that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration ({reason}); write e.g. `30s` or `500ms`")]
pub struct NotADuration {
    pub text: String,
    pub reason: String,
}

/// Parses a duration as written in a scenario (`30s`, `500ms`, `2m`).
pub fn parse_duration(text: &str) -> Result<Duration, NotADuration> {
    humantime::parse_duration(text.trim()).map_err(|e| NotADuration {
        text: text.to_string(),
        reason: e.to_string(),
    })
}
