//! Variants: a scenario that says `extends: base.yaml` is its base with some parts
//! replaced, added or removed, without copying the base.
//!
//! The rules, applied before validation, so the merged scenario is validated as one:
//!
//! - **nodes** are keyed by name and **links** by their `name`: a node or link the variant
//!   gives replaces the base's of that name *whole*, at the base's place (link order
//!   decides interface names and what a flannel link rides on, so it is kept); a new one
//!   is added after the base's. Replacing whole rather than merging field by field keeps
//!   every part in exactly one file: what it means, which file an error points into and
//!   which directory its paths are relative to all follow from where it is written.
//! - **expectations** are keyed by their label, the line `routelab check --plan` lists
//!   them by and `routelab run --only` filters on (`ping h1 -> 10.0.2.10 size 1421 DF
//!   fails`). The variant's own are added after the base's; to change one of the base's,
//!   remove it by label and write the new one.
//! - `remove: { nodes: [...], links: [...], expect: [...] }` drops parts of the base; each
//!   must be there (a typo gets a "did you mean").
//! - `name:` is never inherited (it defaults to the variant's file name, so a variant's
//!   lab never takes its base's name); `description:` and each of `defaults:`'s durations
//!   are the variant's if it gives them, else the base's; `calico:` and the timeline
//!   (`steps:`) are replaced whole if the variant gives them.
//! - Paths stay relative to the file that writes them: the base's BIRD configs,
//!   Calico resources and the timeline's files to the base, the variant's to the variant.
//! - A base is a scenario in its own right: it is validated on its own first (so an error
//!   in it points into it), then merged. Chains (a variant of a variant) work; a cycle is
//!   an error naming the files round it.
//!
//! Every part keeps the file that writes it for what is reported later: node and link
//! positions, a node's [`crate::network::NodeSource`], an expectation's `file`.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::raw::{NamedMap, Origin, RawRemove, RawScenario};
use super::{Diagnostic, Diagnostics, yaml_message};
use crate::context::normalize;
use crate::text::closest;

/// A file read for a scenario: the scenario itself or one of its bases.
#[derive(Debug)]
pub struct Source {
    pub file: PathBuf,
    pub text: String,
}

/// Reads the scenario in `text` (from `file`) and the chain of bases it extends, merged
/// into one raw scenario. `sources` gets every file read, the scenario first; `chain`
/// holds the files extending this one (as found, and as named), to find a cycle.
pub(super) fn resolve(
    file: &Path,
    text: String,
    sources: &mut Vec<Source>,
    chain: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<RawScenario, Diagnostics> {
    let me = sources.len();
    sources.push(Source {
        file: file.to_path_buf(),
        text,
    });
    let source = &sources[me];
    let mut raw: RawScenario = serde_saphyr::from_str(&source.text).map_err(|e| {
        let at = e.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
        Diagnostics(vec![Diagnostic::error(file, at, yaml_message(&e))])
    })?;
    raw.origin = Origin::all(me, &raw);
    let Some(extends) = raw.extends.take() else {
        if let Some(remove) = &raw.remove {
            return Err(one(
                file,
                remove.referenced,
                "`remove` takes parts out of a base; add `extends: BASE.yaml` naming it",
            ));
        }
        if raw.nodes.is_none() {
            return Err(one(
                file,
                serde_saphyr::Location::UNKNOWN,
                "a scenario needs `nodes`, or `extends: BASE.yaml` naming a scenario that \
                 has them",
            ));
        }
        return Ok(raw);
    };

    let dir = file.parent().unwrap_or(Path::new("."));
    let base_file = normalize(&dir.join(&extends.value));
    let base_text = crate::input::read_text(&base_file).map_err(|e| {
        let why = match &e {
            crate::input::InputError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                format!(
                    "base scenario `{}` not found (looked at {}; paths are relative to the \
                     scenario file)",
                    extends.value,
                    base_file.display()
                )
            }
            other => format!("base scenario `{}`: {}", extends.value, other.reason()),
        };
        one(file, extends.referenced, why)
    })?;
    let identity = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    if chain.is_empty() {
        chain.push((identity(file), file.to_path_buf()));
    }
    let base_identity = identity(&base_file);
    if let Some(at) = chain.iter().position(|(p, _)| *p == base_identity) {
        let round: Vec<String> = chain[at..]
            .iter()
            .map(|(_, shown)| shown)
            .chain(std::iter::once(&base_file))
            .map(|p| p.display().to_string())
            .collect();
        return Err(one(
            file,
            extends.referenced,
            format!(
                "`extends: {}` makes a cycle: {}",
                extends.value,
                round.join(" -> ")
            ),
        ));
    }
    chain.push((base_identity, base_file.clone()));
    let base_index = sources.len();
    // Each error found in a base is followed by where it is extended, down to this file.
    let traced = |mut d: Diagnostics| {
        d.push(Diagnostic::new_note(
            file,
            extends.referenced,
            format!("in `{}`, which this scenario extends", extends.value),
        ));
        d
    };
    let base = resolve(&base_file, base_text, sources, chain).map_err(traced)?;
    chain.pop();
    // The base on its own: its errors point into it, and its expectations get the labels
    // `remove` names them by.
    let (base_scenario, _warnings) =
        super::validate::validate(sources, base_index, &base).map_err(traced)?;
    let labels: Vec<String> = base_scenario
        .expectations
        .iter()
        .map(|e| e.label.clone())
        .collect();
    merge(&sources[me].file, me, raw, base, &labels)
}

fn one(file: &Path, at: serde_saphyr::Location, message: impl Into<String>) -> Diagnostics {
    Diagnostics(vec![Diagnostic::error(file, at, message.into())])
}

/// The variant `child` (from `file`) applied to its valid `base`, whose expectations
/// have `labels`.
fn merge(
    file: &Path,
    me: usize,
    mut child: RawScenario,
    base: RawScenario,
    labels: &[String],
) -> Result<RawScenario, Diagnostics> {
    let mut errors = Diagnostics::default();
    let remove_at = child.remove.as_ref().map(|r| r.referenced);
    let remove = child.remove.take().map(|r| r.value).unwrap_or_default();
    let RawRemove {
        nodes: remove_nodes,
        links: remove_links,
        expect: remove_expect,
    } = remove;

    // Nodes.
    let base_nodes: Vec<String> = base
        .node_list()
        .iter()
        .map(|(n, _)| n.value.clone())
        .collect();
    check_removals(file, &mut errors, "node", &remove_nodes, &base_nodes);
    for (name, _) in child.node_list() {
        if remove_nodes.iter().any(|r| r.value == name.value) {
            errors.push(Diagnostic::error(
                file,
                name.referenced,
                format!(
                    "node `{}` is both removed and given; giving it alone replaces the base's",
                    name.value
                ),
            ));
        }
    }
    let nodes_at = child
        .nodes
        .as_ref()
        .or(base.nodes.as_ref())
        .map(|n| n.referenced)
        .unwrap_or(serde_saphyr::Location::UNKNOWN);
    let base_origin = base.origin.clone();
    let mut nodes = Vec::new();
    let mut node_origin = Vec::new();
    let base_node_list = base.nodes.map(|n| n.value.0).unwrap_or_default();
    for (i, (name, node)) in base_node_list.into_iter().enumerate() {
        if !remove_nodes.iter().any(|r| r.value == name.value) {
            nodes.push((name, node));
            node_origin.push(base_origin.node(i));
        }
    }
    for (name, node) in child.nodes.take().map(|n| n.value.0).unwrap_or_default() {
        // A name given twice in the variant itself stays twice, for validation to report.
        match (0..nodes.len()).find(|&i| node_origin[i] != me && nodes[i].0.value == name.value) {
            Some(i) => {
                nodes[i] = (name, node);
                node_origin[i] = me;
            }
            None => {
                nodes.push((name, node));
                node_origin.push(me);
            }
        }
    }
    if nodes.is_empty() {
        errors.push(Diagnostic::error(
            file,
            remove_at.unwrap_or(nodes_at),
            "this leaves the scenario without nodes",
        ));
    }

    // Links.
    let base_links: Vec<String> = base
        .links
        .iter()
        .map(|l| l.value.name().value.clone())
        .collect();
    check_removals(file, &mut errors, "link", &remove_links, &base_links);
    for l in &child.links {
        let name = l.value.name();
        if remove_links.iter().any(|r| r.value == name.value) {
            errors.push(Diagnostic::error(
                file,
                name.referenced,
                format!(
                    "link `{}` is both removed and given; giving it alone replaces the base's",
                    name.value
                ),
            ));
        }
    }
    let mut links = Vec::new();
    let mut link_origin = Vec::new();
    for (i, link) in base.links.into_iter().enumerate() {
        if !remove_links
            .iter()
            .any(|r| r.value == link.value.name().value)
        {
            links.push(link);
            link_origin.push(base_origin.link(i));
        }
    }
    for link in std::mem::take(&mut child.links) {
        let name = link.value.name().value.clone();
        match (0..links.len())
            .find(|&i| link_origin[i] != me && links[i].value.name().value == name)
        {
            Some(i) => {
                links[i] = link;
                link_origin[i] = me;
            }
            None => {
                links.push(link);
                link_origin.push(me);
            }
        }
    }

    // Expectations.
    check_removals(file, &mut errors, "expectation", &remove_expect, labels);
    let mut expect = Vec::new();
    let mut expect_origin = Vec::new();
    for (i, (e, label)) in base.expect.into_iter().zip(labels).enumerate() {
        if !remove_expect.iter().any(|r| r.value == *label) {
            expect.push(e);
            expect_origin.push(base_origin.expectation(i));
        }
    }
    for e in std::mem::take(&mut child.expect) {
        expect.push(e);
        expect_origin.push(me);
    }

    if errors.has_errors() {
        return Err(errors);
    }

    let mut defaults_origin = [me; 3];
    let mut defaults = child.defaults;
    for (slot, (mine, theirs)) in [
        (&mut defaults.deadline, base.defaults.deadline),
        (&mut defaults.settle, base.defaults.settle),
        (&mut defaults.hold, base.defaults.hold),
    ]
    .into_iter()
    .enumerate()
    {
        if mine.is_none() {
            *mine = theirs;
            defaults_origin[slot] = base_origin.defaults[slot];
        }
    }
    let (steps, steps_origin) = if child.steps.is_empty() {
        (base.steps, base_origin.steps)
    } else {
        (child.steps, me)
    };
    let (calico, calico_origin) = match child.calico {
        Some(c) => (Some(c), me),
        None => (base.calico, base_origin.calico),
    };
    Ok(RawScenario {
        extends: None,
        remove: None,
        name: child.name,
        description: child.description.or(base.description),
        defaults,
        nodes: Some(Spanned::new(NamedMap(nodes), nodes_at, nodes_at)),
        links,
        expect,
        steps,
        calico,
        origin: Origin {
            removed_nodes: remove_nodes
                .iter()
                .map(|r| {
                    let at = (
                        file.to_path_buf(),
                        r.referenced.line(),
                        r.referenced.column(),
                    );
                    (r.value.clone(), at)
                })
                .chain(base_origin.removed_nodes.clone())
                .collect(),
            nodes: node_origin,
            links: link_origin,
            expect: expect_origin,
            steps: steps_origin,
            calico: calico_origin,
            defaults: defaults_origin,
        },
    })
}

/// Reports each name of `wanted` that `known` (the base's) does not have.
fn check_removals(
    file: &Path,
    errors: &mut Diagnostics,
    what: &str,
    wanted: &[Spanned<String>],
    known: &[String],
) {
    for w in wanted {
        if known.contains(&w.value) {
            continue;
        }
        let hint = closest(&w.value, known.iter())
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        // Labels are long: `routelab check --plan` lists them, one a line.
        let list = if what == "expectation" {
            "`routelab check --plan BASE` lists them by label".to_string()
        } else if known.is_empty() {
            format!("it has no {what}s")
        } else {
            let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("its {what}s: {}", names.join(", "))
        };
        errors.push(Diagnostic::error(
            file,
            w.referenced,
            format!(
                "the base has no {what} `{}` to remove ({list}){hint}",
                w.value
            ),
        ));
    }
}
