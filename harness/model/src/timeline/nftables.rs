//! `nftables`: a node's firewall is replaced by a ruleset from a file (`nft -f`), as a
//! firewall change rolled out to a host.
//!
//! ```yaml
//! - nftables: { node: gateway, ruleset: ../fixtures/gateway-drop-bgp.nft }
//! ```
//! The ruleset should start with `flush ruleset` to replace what is there; otherwise it is
//! added to it.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    /// The ruleset, relative to the scenario file.
    pub ruleset: Spanned<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Nftables {
    pub node: String,
    pub file: std::path::PathBuf,
    #[serde(skip)]
    pub ruleset: String,
}

impl Nftables {
    pub fn validate(spec: &Spec, cx: &mut Context, _: &Network) -> Option<Self> {
        let known = cx.known_node(&spec.node);
        let (file, ruleset) = super::read_named_file(cx, &spec.ruleset, "nftables ruleset")?;
        known.then(|| Nftables {
            node: spec.node.value.clone(),
            file,
            ruleset,
        })
    }
}

impl fmt::Display for Nftables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nftables {} {}", self.node, self.file.display())
    }
}
