//! The pure half of a daemon kind: which daemons a node runs (a calico node may run its own
//! BIRD beside calico-node's), and where their configuration
//! comes from. Running it is the lab's (`routelab-lab`'s `daemon`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a calico node's own BIRD (one beside calico-node's) is called: `<node>.bird`.
pub const OWN_BIRD_SUFFIX: &str = ".bird";

/// What calico-node's IPv6 BIRD (`bird6`, on a dual-stack node) is called: `<node>.bird6`.
pub const CALICO_BIRD6_SUFFIX: &str = ".bird6";

/// Which BIRD a daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonKind {
    /// BIRD 2, for routers, with the user's configuration.
    Bird2,
    /// BIRD 1.6 as calico-node runs it, with the configuration confd would render.
    CalicoBird,
    /// BIRD 1.6's `bird6`, calico-node's IPv6 daemon on a dual-stack node, with confd's
    /// `bird6.cfg`.
    CalicoBird6,
}

/// Where a node's BIRD configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BirdConfig {
    /// A file used verbatim; includes resolve relative to it.
    File(PathBuf),
    /// Text from the scenario file itself.
    Inline(String),
    /// Files rendered by routelab (calico-node's confd output): name and text, the main
    /// configuration first; the others are included by it.
    #[serde(serialize_with = "files_as_lines")]
    Rendered(Vec<(String, String)>),
}

/// Rendered files as a map of name to lines, so a printed or snapshotted plan reads like
/// the files themselves.
fn files_as_lines<S: serde::Serializer>(
    files: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(files.len()))?;
    for (name, text) in files {
        map.serialize_entry(name, &text.lines().collect::<Vec<_>>())?;
    }
    map.end()
}
