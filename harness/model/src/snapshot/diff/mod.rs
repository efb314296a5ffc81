//! The keyed difference of two snapshots. Each phase (matched by name) is flattened into
//! entries keyed by category, node and key; entries present on one side only are added
//! or removed, entries on both with different values changed. Timings are compared with a
//! [`Tolerance`] since no two runs converge in exactly the same time.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{PhaseState, Snapshot};

/// What an entry is about; the diff is grouped by it and `--fail-on` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Sessions,
    Routes,
    BirdRoutes,
    Reachability,
    Paths,
    Pmtu,
    Convergence,
    /// A phase one side has and the other lacks (a step that did not run).
    Phases,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Sessions,
        Category::Routes,
        Category::BirdRoutes,
        Category::Reachability,
        Category::Paths,
        Category::Pmtu,
        Category::Convergence,
        Category::Phases,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Sessions => "sessions",
            Category::Routes => "routes",
            Category::BirdRoutes => "bird_routes",
            Category::Reachability => "reachability",
            Category::Paths => "paths",
            Category::Pmtu => "pmtu",
            Category::Convergence => "convergence",
            Category::Phases => "phases",
        }
    }

    /// The category of this name, or an error listing the names.
    pub fn parse(name: &str) -> Result<Category, UnknownCategory> {
        Category::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| UnknownCategory(name.to_string()))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown category `{0}` (categories: sessions, routes, bird_routes, reachability, paths, pmtu, convergence, phases)"
)]
pub struct UnknownCategory(pub String);

/// How far apart two timings may be and still count as the same: a change is reported
/// only when it exceeds both the absolute and the relative bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub absolute_ms: u64,
    /// A fraction of the larger of the two figures.
    pub relative: f64,
}

impl Default for Tolerance {
    fn default() -> Tolerance {
        Tolerance {
            absolute_ms: 2000,
            relative: 0.5,
        }
    }
}

impl Tolerance {
    /// This bound, its absolute part widened to what a phase declares (`None`: as is).
    fn widened(self, declared_ms: Option<u64>) -> Tolerance {
        Tolerance {
            absolute_ms: self.absolute_ms.max(declared_ms.unwrap_or(0)),
            ..self
        }
    }

    fn same(&self, a: u64, b: u64) -> bool {
        let d = a.abs_diff(b);
        d <= self.absolute_ms || (d as f64) <= self.relative * a.max(b) as f64
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub category: Category,
    pub phase: String,
    /// The node it was seen on; empty for pairs of endpoints and phase-wide figures.
    pub node: String,
    pub key: String,
    /// `None`: not there before (added).
    pub before: Option<String>,
    /// `None`: not there after (removed).
    pub after: Option<String>,
}

/// The difference of two snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub changes: Vec<Change>,
    /// What makes the comparison partial, such as reachability bounded differently.
    pub notes: Vec<String>,
}

impl Diff {
    /// How many changes each category has, in category order.
    pub fn counts(&self) -> BTreeMap<Category, usize> {
        let mut counts = BTreeMap::new();
        for c in &self.changes {
            *counts.entry(c.category).or_insert(0) += 1;
        }
        counts
    }

    /// Whether any change is in one of `categories` (all of them when empty).
    pub fn fails_on(&self, categories: &[Category]) -> bool {
        self.changes
            .iter()
            .any(|c| categories.is_empty() || categories.contains(&c.category))
    }
}

/// The key of a phase's convergence figure.
///
/// The build phase's figure is a cold start: every daemon starts in the same instant, so
/// BGP speakers that both connect actively race each other. BIRD's log shows what decides
/// the figure then: "Connection collision", and with graceful restart "Neighbor graceful
/// restart detected" closing a session that had just come up, each round costing a
/// connect delay or retry. Ten cold starts of one Calico cluster converged anywhere
/// between 2 and 24 s. So the build phase's figure differing is a note, not a change;
/// that it converged at all, and every timeline step's figures, are compared.
const CONVERGENCE: &str = "convergence";

/// The value of an entry: text compared exactly, or a timing compared with tolerance.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Millis(u64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(t) => f.write_str(t),
            Value::Millis(ms) => write!(f, "{}", super::render::millis(*ms)),
        }
    }
}

type Entries = BTreeMap<(Category, String, String), Value>;

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// Every entry of a phase.
fn entries(p: &PhaseState) -> Entries {
    let mut e = Entries::new();
    for (node, n) in &p.nodes {
        for (name, proto) in &n.protocols {
            let mut v = format!("{} {}", proto.proto, proto.state);
            for nb in &proto.neighbors {
                v.push_str(&format!(", {nb}"));
            }
            e.insert((Category::Sessions, node.clone(), name.clone()), text(v));
        }
        for (key, r) in &n.routes {
            let mut v = r.kind.clone();
            for h in &r.nexthops {
                v.push_str(&format!(" {h};"));
            }
            if v.ends_with(';') {
                v.pop();
            }
            v.push_str(&format!(" proto {}", r.protocol));
            if let Some(m) = r.metric {
                v.push_str(&format!(" metric {m}"));
            }
            e.insert((Category::Routes, node.clone(), key.clone()), text(v));
        }
        for (prefix, r) in &n.bird_routes {
            let mut v = format!("[{}]", r.protocol);
            for h in &r.nexthops {
                v.push_str(&format!(" {h};"));
            }
            if v.ends_with(';') {
                v.pop();
            }
            for (k, val) in &r.bgp {
                v.push_str(&format!(" {k}: {val};"));
            }
            if v.ends_with(';') {
                v.pop();
            }
            e.insert(
                (Category::BirdRoutes, node.clone(), prefix.clone()),
                text(v),
            );
        }
    }
    for (pair, result) in &p.reachability.pairs {
        e.insert(
            (Category::Reachability, String::new(), pair.clone()),
            text(result.clone()),
        );
    }
    for (pair, path) in &p.paths {
        let hops: Vec<String> = path
            .hops
            .iter()
            .map(|h| {
                if h.len() == 1 {
                    h.iter().next().cloned().unwrap_or_default()
                } else {
                    format!("{{{}}}", h.iter().cloned().collect::<Vec<_>>().join(" | "))
                }
            })
            .collect();
        let mut v = hops.join(" > ");
        if !path.reached {
            v.push_str(if v.is_empty() {
                "not reached"
            } else {
                " (not reached)"
            });
        }
        e.insert((Category::Paths, String::new(), pair.clone()), text(v));
        e.insert(
            (Category::Pmtu, String::new(), pair.clone()),
            text(
                path.pmtu
                    .map_or("none (no answer)".into(), |m| m.to_string()),
            ),
        );
    }
    if let Some(ms) = p.timing.convergence_ms {
        e.insert(
            (Category::Convergence, String::new(), CONVERGENCE.into()),
            Value::Millis(ms),
        );
    }
    for (pair, o) in &p.timing.outages {
        let state = if o.still_down {
            "traffic not back by the end of the phase"
        } else {
            "traffic back"
        };
        e.insert(
            (
                Category::Convergence,
                String::new(),
                format!("outage {pair}"),
            ),
            text(state),
        );
        if o.still_down {
            continue;
        }
        e.insert(
            (
                Category::Convergence,
                String::new(),
                format!("outage {pair}: longest gap"),
            ),
            Value::Millis(o.longest_gap_ms),
        );
        // Probes go every 10 ms: a lost probe is 10 ms of outage, with the same tolerance.
        e.insert(
            (
                Category::Convergence,
                String::new(),
                format!("outage {pair}: lost (x10 ms)"),
            ),
            Value::Millis(o.lost * 10),
        );
    }
    e
}

/// The difference from `before` to `after`; each side is named by `names` in the result.
pub fn diff(before: &Snapshot, after: &Snapshot, names: (&str, &str), tol: Tolerance) -> Diff {
    let mut d = Diff {
        before: names.0.to_string(),
        after: names.1.to_string(),
        ..Diff::default()
    };
    if before.scenario != after.scenario {
        d.notes.push(format!(
            "the scenarios differ in name: `{}` and `{}`",
            before.scenario, after.scenario
        ));
    }
    let phase = |s: &Snapshot, name: &str| s.phases.iter().find(|p| p.name == name).cloned();
    let mut names_in_order: Vec<&str> = before.phases.iter().map(|p| p.name.as_str()).collect();
    for p in &after.phases {
        if !names_in_order.contains(&p.name.as_str()) {
            names_in_order.push(&p.name);
        }
    }
    for name in names_in_order {
        let (a, b) = (phase(before, name), phase(after, name));
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (a, b) => {
                d.changes.push(Change {
                    category: Category::Phases,
                    phase: name.to_string(),
                    node: String::new(),
                    key: "phase".into(),
                    before: a.map(|_| "captured".into()),
                    after: b.map(|_| "captured".into()),
                });
                continue;
            }
        };
        if a.reachability.scope == b.reachability.scope
            && !a.reachability.scope.starts_with("all pairs")
        {
            d.notes.push(format!(
                "{name}: reachability probed for {}",
                a.reachability.scope
            ));
        }
        if a.reachability.scope != b.reachability.scope {
            d.notes.push(format!(
                "{name}: reachability was probed for {} before and {} after",
                a.reachability.scope, b.reachability.scope
            ));
        }
        let is_build = before.phases.first().is_some_and(|p| p.name == name);
        // A step's own tolerance (from either side: a snapshot from before it was
        // declared is compared as leniently) widens the diff's for its figures.
        let declared = a.timing.tolerance_ms.max(b.timing.tolerance_ms);
        let phase_tol = tol.widened(declared);
        let (ea, eb) = (entries(&a), entries(&b));
        let mut keys: Vec<_> = ea.keys().chain(eb.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (va, vb) = (ea.get(&key), eb.get(&key));
            let same = match (va, vb) {
                (Some(Value::Millis(x)), Some(Value::Millis(y)))
                    if is_build && key.2 == CONVERGENCE =>
                {
                    if !tol.same(*x, *y) {
                        d.notes.push(format!(
                            "{name}: converged in {} before and {} after; not compared, since a cold \
                             start's figure is decided by daemons racing each other",
                            super::render::millis(*x),
                            super::render::millis(*y)
                        ));
                    }
                    true
                }
                (Some(Value::Millis(x)), Some(Value::Millis(y))) => {
                    let same = phase_tol.same(*x, *y);
                    if same && !tol.same(*x, *y) {
                        d.notes.push(format!(
                            "{name}: {} {} before and {} after; within the {} the scenario allows \
                             for this step",
                            key.2,
                            super::render::millis(*x),
                            super::render::millis(*y),
                            super::render::millis(phase_tol.absolute_ms)
                        ));
                    }
                    same
                }
                (x, y) => x == y,
            };
            if !same {
                let (category, node, key) = key;
                d.changes.push(Change {
                    category,
                    phase: name.to_string(),
                    node,
                    key,
                    before: va.map(ToString::to_string),
                    after: vb.map(ToString::to_string),
                });
            }
        }
    }
    // Stable: within a category, phases stay in timeline order and keys sorted.
    d.changes.sort_by_key(|c| c.category);
    d
}

#[cfg(test)]
mod tests;
