//! The scenario file: model, loading and validation. Pure: reads files, touches nothing.
//!
//! [`load`] reads a file into a [`Scenario`] or returns every problem found, each with
//! file, line and column. Structural problems (unknown keys, wrong types, unparsable
//! addresses) come from the YAML reader and stop at the first one; semantic problems
//! (dangling node names, duplicate interfaces, gateways off-link) are all collected.

mod calico;
pub mod extends;
mod lint;
pub mod raw;
pub mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use crate::context::{DEFAULT_DEADLINE, DEFAULT_HOLD, DEFAULT_SETTLE, Timing, parse_duration};
pub use crate::daemon::BirdConfig;
pub use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
pub use crate::network::{
    CalicoCluster, Interface, Network, Node, NodeKind, NodeSource, StaticRoute,
};
pub(crate) use crate::text::yaml_message;

/// A link between nodes; each kind is a file of [`crate::link`].
pub use crate::link::Link;

use crate::expect::Expectation;

/// A validated scenario: every name resolves, every value parsed.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    #[serde(skip)]
    pub file: PathBuf,
    pub description: Option<String>,
    pub timing: Timing,
    /// Nodes, links and the Calico cluster.
    #[serde(flatten)]
    pub network: Network,
    /// Phase 0: the network as built.
    pub expectations: Vec<Expectation>,
    /// The timeline: each step a phase of its own.
    pub steps: Vec<crate::timeline::Step>,
    /// Where each node and link is defined (file, line, column: a variant's base defines
    /// some), to point at when only the kernel can tell that something it asks for is
    /// wrong.
    #[serde(skip)]
    pub positions: std::collections::BTreeMap<String, (PathBuf, u64, u64)>,
}

/// A scenario is its network and more: `scenario.nodes` reads the network's nodes.
impl std::ops::Deref for Scenario {
    type Target = Network;
    fn deref(&self) -> &Network {
        &self.network
    }
}

impl std::ops::DerefMut for Scenario {
    fn deref_mut(&mut self) -> &mut Network {
        &mut self.network
    }
}

impl Scenario {
    /// The optional kernel features building `plan` and running the timeline need: the
    /// plan's own, and the queueing disciplines of the steps' `impair` actions.
    pub fn kernel_features(&self, plan: &crate::plan::Plan) -> Vec<crate::plan::KernelFeature> {
        let mut out = plan.kernel_features();
        let later = self
            .steps
            .iter()
            .flat_map(|s| &s.actions)
            .filter_map(|a| match a {
                crate::timeline::Action::Impair(i) => Some(&i.impairment),
                _ => None,
            });
        out.extend(crate::plan::KernelFeature::for_impairments(later));
        out.sort();
        out.dedup();
        out
    }

    /// Where the node or link `name` is defined, as `file:line:col`.
    pub fn position_of(&self, name: &str) -> Option<String> {
        self.positions
            .get(name)
            .map(|(file, l, c)| format!("{}:{l}:{c}", file.display()))
    }
}

/// The scenario files (`*.yaml`) of a directory, sorted by name.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.extension().is_some_and(|x| x == "yaml"));
    files.sort();
    Ok(files)
}

/// Reads and validates a scenario file. Warnings come back with the scenario; any error
/// means no scenario.
pub fn load(file: &Path) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let text = crate::input::read_text(file).map_err(|e| {
        let (line, column) = e.position().unwrap_or((0, 0));
        Diagnostics(vec![Diagnostic::error_at(
            file,
            line,
            column,
            format!("cannot read the scenario: {}", e.reason()),
        )])
    })?;
    load_str(file, &text)
}

/// Like [`load`], for text already read; `file` names it in messages and anchors relative
/// paths.
/// A variant (`extends:`) reads its bases from disk.
pub fn load_str(file: &Path, text: &str) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let mut sources = Vec::new();
    let raw = extends::resolve(file, text.to_string(), &mut sources, &mut Vec::new())?;
    validate::validate(&sources, 0, &raw)
}

#[cfg(test)]
mod extends_tests;
#[cfg(test)]
mod tests;
