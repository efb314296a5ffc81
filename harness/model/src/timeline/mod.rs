//! The timeline: what happens to the network after it is built, as steps, each a phase of
//! its own with its expectations and measurements.
//!
//! ```yaml
//! expect: [...]                  # phase 0: the network as built
//! steps:
//!   - name: gateway restarts     # required, unique; shown in reports
//!     do: [ { bird_restart: gateway } ]   # applied in order; then the phase clock starts
//!     within: 15s                # every positive expectation below holds within this time
//!     tolerance: 5s              # optional: timings two snapshots may differ by (routelab diff)
//!     measure: [ { outage: { from: km-pod0, to: 10.42.253.137, max: 10s } } ]
//!     expect: [ ... ]
//! ```
//!
//! Each action kind is one file here with its spec, validation and what it does in words;
//! its effect on a running lab is its other half, one file in `routelab-lab`'s `timeline`.
//! Adding a kind means a file here, a line in the [`actions!`] list below, and the same on
//! the lab's side.

pub mod bird_reload;
pub mod calico_change;
pub mod daemon_state;
pub mod exec;
pub mod flap;
pub mod impair;
pub mod interface_state;
pub mod link_state;
pub mod nftables;
pub mod outage;
pub mod set_mtu;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::expect::{Expectation, ExpectationSpec};
use crate::network::Network;

/// Declares the action kinds: for each, its YAML tag, the variant, and the module with its
/// `Spec` (what is read) and validated type, whose `validate` may take one more argument.
/// One line per kind.
macro_rules! actions {
    ($($tag:literal => $variant:ident($module:ident::$kind:ident $(, $arg:expr)?),)*) => {
        /// An action as written in the file, tagged by kind: `- bird_stop: r1`.
        #[derive(Debug, Deserialize)]
        pub enum ActionSpec {
            $(#[serde(rename = $tag)] $variant($module::Spec),)*
        }

        /// A validated action.
        #[derive(Debug, Clone, Serialize)]
        pub enum Action {
            $(#[serde(rename = $tag)] $variant($module::$kind),)*
        }

        impl ActionSpec {
            fn validate(&self, cx: &mut Context, scenario: &Network) -> Option<Action> {
                match self {
                    $(ActionSpec::$variant(s) => Some(Action::$variant(
                        $module::$kind::validate(s, cx, scenario $(, $arg)?)?,
                    )),)*
                }
            }
        }

        impl Action {
            /// The action's name as the file writes it.
            pub fn tag(&self) -> &'static str {
                match self {
                    $(Action::$variant(_) => $tag,)*
                }
            }

            fn describe(&self) -> &dyn fmt::Display {
                match self {
                    $(Action::$variant(a) => a,)*
                }
            }
        }
    };
}

actions! {
    "link_down" => LinkDown(link_state::LinkState, false),
    "link_up" => LinkUp(link_state::LinkState, true),
    "flap" => Flap(flap::Flap),
    "set_mtu" => SetMtu(set_mtu::SetMtu),
    "impair" => Impair(impair::Impair),
    "bird_stop" => BirdStop(daemon_state::DaemonState, daemon_state::Change::Stop),
    "bird_kill" => BirdKill(daemon_state::DaemonState, daemon_state::Change::Kill),
    "bird_start" => BirdStart(daemon_state::DaemonState, daemon_state::Change::Start),
    "bird_restart" => BirdRestart(daemon_state::DaemonState, daemon_state::Change::Restart),
    "bird_reload" => BirdReload(bird_reload::BirdReload),
    "admin_down" => AdminDown(interface_state::InterfaceState, false),
    "admin_up" => AdminUp(interface_state::InterfaceState, true),
    "nftables" => Nftables(nftables::Nftables),
    "exec" => Exec(exec::Exec),
    "calico_apply" => CalicoApply(calico_change::CalicoChange, true),
    "calico_delete" => CalicoDelete(calico_change::CalicoChange, false),
}

impl Action {
    /// Whether the action may cut peers off without a word — a line cut, a daemon killed, a
    /// firewall or a command that may drop traffic — so that sessions look alive until
    /// their hold timers say otherwise. An orderly stop or a reconfiguration closes
    /// sessions with a message instead.
    pub fn may_silence_peers(&self) -> bool {
        match self {
            Action::LinkDown(_)
            | Action::Flap(_)
            | Action::SetMtu(_)
            | Action::Impair(_)
            | Action::AdminDown(_)
            | Action::BirdKill(_)
            | Action::Nftables(_)
            | Action::Exec(_) => true,
            Action::LinkUp(_)
            | Action::AdminUp(_)
            | Action::BirdStop(_)
            | Action::BirdStart(_)
            | Action::BirdRestart(_)
            | Action::BirdReload(_)
            | Action::CalicoApply(_)
            | Action::CalicoDelete(_) => false,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe().fmt(f)
    }
}

/// Declares the measurement kinds, as [`actions!`] does for actions.
macro_rules! measures {
    ($($tag:literal => $variant:ident($module:ident::$kind:ident),)*) => {
        /// A measurement as written in the file: `- outage: {...}`.
        #[derive(Debug, Deserialize)]
        pub enum MeasureSpec {
            $(#[serde(rename = $tag)] $variant($module::Spec),)*
        }

        /// A validated measurement.
        #[derive(Debug, Clone, Serialize)]
        pub enum Measure {
            $(#[serde(rename = $tag)] $variant($module::$kind),)*
        }

        impl MeasureSpec {
            fn validate(&self, cx: &mut Context, scenario: &Network) -> Option<Measure> {
                match self {
                    $(MeasureSpec::$variant(s) => {
                        Some(Measure::$variant($module::$kind::validate(s, cx, scenario)?))
                    })*
                }
            }
        }

        impl fmt::Display for Measure {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Measure::$variant(m) => m.fmt(f),)*
                }
            }
        }
    };
}

measures! {
    "outage" => Outage(outage::Outage),
}

/// A step as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Required and unique: reports name the phase by it.
    pub name: Spanned<String>,
    /// Applied in order; the phase clock starts when the last is done.
    #[serde(rename = "do", default)]
    pub actions: Vec<Spanned<ActionSpec>>,
    /// Every positive expectation of the step holds within this time.
    pub within: Option<Spanned<String>>,
    /// How far this phase's timings may differ between two snapshots and still count as
    /// the same, for figures the daemons' randomised timers decide.
    pub tolerance: Option<Spanned<String>>,
    #[serde(default)]
    pub measure: Vec<Spanned<MeasureSpec>>,
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectationSpec>>,
}

/// A validated step: the actions that start a phase, and what must be true in it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    /// Line of the step in the scenario file.
    pub line: u64,
    pub actions: Vec<Action>,
    /// The budget for the phase's positive expectations.
    #[serde(skip)]
    pub within: Option<Duration>,
    /// How far two snapshots' timings of this phase may be apart and still count as the
    /// same (see [`crate::snapshot::diff::Tolerance`]); `None`: the diff's own bound.
    #[serde(skip)]
    pub tolerance: Option<Duration>,
    pub measures: Vec<Measure>,
    pub expectations: Vec<Expectation>,
}

/// The links the steps cut (`link_down`, `link_up`, `flap`), which must be built so that
/// they can be: see [`crate::link::LinkKind::prepare_cuts`].
pub fn cut_links(raw: &[Spanned<RawStep>]) -> Vec<String> {
    raw.iter()
        .flat_map(|s| &s.value.actions)
        .filter_map(|a| match &a.value {
            ActionSpec::LinkDown(r) | ActionSpec::LinkUp(r) => Some(r.value.link.value.clone()),
            ActionSpec::Flap(f) => Some(f.link.value.clone()),
            _ => None,
        })
        .collect()
}

/// Validates the steps of a scenario whose nodes, links and phase-0 expectations are
/// validated already.
pub fn validate(cx: &mut Context, raw: &[Spanned<RawStep>], scenario: &Network) -> Vec<Step> {
    let mut names = std::collections::BTreeSet::new();
    let mut steps = Vec::new();
    for s in raw {
        let step = &s.value;
        let name = step.name.value.trim();
        if name.is_empty() {
            cx.error(step.name.referenced, "a step needs a name");
        } else if !names.insert(name.to_string()) {
            cx.error(
                step.name.referenced,
                format!("two steps are named `{name}`; reports tell phases apart by name"),
            );
        }
        if step.actions.is_empty() {
            cx.error(
                s.referenced,
                format!("step `{name}` does nothing: give its actions under `do`"),
            );
        }
        let within = step.within.as_ref().map(|w| cx.duration(w));
        let tolerance = step.tolerance.as_ref().map(|t| cx.duration(t));
        if let (Some(t), Some(w), Some(raw)) = (tolerance, within, &step.tolerance)
            && t > w
        {
            cx.error(
                raw.referenced,
                format!(
                    "step `{name}`: a tolerance of {} is more than the whole phase (`within: {}`); \
                     a figure that varies that much is better not measured",
                    raw.value,
                    step.within.as_ref().map_or("", |w| w.value.as_str())
                ),
            );
        }
        let actions = step
            .actions
            .iter()
            .filter_map(|a| a.value.validate(cx, scenario))
            .collect();
        let measures = step
            .measure
            .iter()
            .filter_map(|m| m.value.validate(cx, scenario))
            .collect();
        let expectations = step
            .expect
            .iter()
            .filter_map(|e| {
                let mut e = Expectation::validate(e, cx, scenario)?;
                if let Some(budget) = within
                    && !e.deadline_given
                {
                    e.deadline = budget;
                }
                Some(e)
            })
            .collect();
        steps.push(Step {
            name: name.to_string(),
            line: s.referenced.line(),
            actions,
            within,
            tolerance,
            measures,
            expectations,
        });
    }
    steps
}

/// The member interfaces of link `link` an action changes: all of them, or those of
/// `node`. Reports an unknown link, or a node that is not a member.
pub(crate) fn selected_members<'a>(
    cx: &mut Context,
    scenario: &'a Network,
    link: &Spanned<String>,
    node: Option<&Spanned<String>>,
) -> Option<Vec<&'a crate::link::Interface>> {
    let Some(found) = scenario.links.iter().find(|l| l.name() == link.value) else {
        let known: Vec<&str> = scenario.links.iter().map(|l| l.name()).collect();
        cx.error(
            link.referenced,
            format!(
                "no link named `{}` (links: {})",
                link.value,
                known.join(", ")
            ),
        );
        return None;
    };
    let members: Vec<&crate::link::Interface> = found
        .interfaces()
        .iter()
        .filter(|i| node.is_none_or(|n| n.value == i.node))
        .collect();
    if let Some(node) = node
        && members.is_empty()
    {
        cx.error(
            node.referenced,
            format!(
                "node `{}` is not a member of link `{}`",
                node.value, link.value
            ),
        );
        return None;
    }
    Some(members)
}

/// Reads a file an action names, relative to the scenario, as the scenario's own files are
/// read: a regular file of bounded size. Reports a problem at `at`.
pub(crate) fn read_named_file(
    cx: &mut Context,
    path: &Spanned<String>,
    what: &str,
) -> Option<(std::path::PathBuf, String)> {
    let full = crate::context::normalize(&cx.dir.join(&path.value));
    match crate::input::read_text(&full) {
        Ok(text) => Some((full, text)),
        Err(e) => {
            cx.error(
                path.referenced,
                format!(
                    "{what} `{}`: {} (looked at {}; paths are relative to the scenario file)",
                    path.value,
                    e.reason(),
                    full.display()
                ),
            );
            None
        }
    }
}
