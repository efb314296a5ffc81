//! Expectations: what a scenario says must be true of the running network.
//!
//! Each kind is one file here with its YAML spec, its validation and what it asserts (its
//! label, whether it is negative); how it is observed on a real network is its other half,
//! one file in `routelab-lab`'s `observe`. Adding a kind means a file here, a line in the
//! [`kinds!`] list below, and the same on the lab's side. Fields every kind has
//! ([`Common`]: `deadline`) and the endpoints of kinds that send packets ([`Probe`]) are
//! declared once, in [`fields`].

pub mod fields;
mod subject;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

pub use fields::{Common, ExpectationFields, FieldGroup, Probe, Probing, With};

use crate::context::Context;
use crate::network::Network;

/// What every kind's validated form offers beyond its fields.
pub trait Assertion: fmt::Display {
    /// A negative expectation holds when something is *not* there or does *not* work (a
    /// route absent, a ping failing, a session not established). Such a thing is also true
    /// of a network that has not converged yet, so negatives are judged only after the
    /// positive ones have held.
    fn is_negative(&self) -> bool {
        false
    }
}

/// Declares the expectation kinds: for each, its YAML tag, the variant, and the module
/// with its `Spec` (what is read) and validated type. One line per kind.
macro_rules! kinds {
    ($($tag:literal => $variant:ident($module:ident::$kind:ident, $group:ident),)*) => {
        $(pub mod $module;)*

        /// An expectation as written in the file, tagged by kind: `- bgp: {...}`.
        #[derive(Debug, Deserialize)]
        pub enum ExpectationSpec {
            $(#[serde(rename = $tag)] $variant(With<$group, $module::Spec>),)*
        }

        /// A validated expectation of one kind.
        #[derive(Debug, Clone, Serialize)]
        pub enum Kind {
            $(#[serde(rename = $tag)] $variant($module::$kind),)*
        }

        impl ExpectationSpec {
            /// The fields every kind shares.
            pub fn common(&self) -> &Common {
                match self {
                    $(ExpectationSpec::$variant(s) => s.group.common(),)*
                }
            }

            fn validate_kind(&self, cx: &mut Context, scenario: &Network) -> Option<Kind> {
                match self {
                    $(ExpectationSpec::$variant(s) => {
                        Some(Kind::$variant($module::$kind::validate(s, cx, scenario)?))
                    })*
                }
            }
        }

        impl Kind {
            /// The kind's name as the file writes it (`ping`, `max_unfragmented`).
            pub fn tag(&self) -> &'static str {
                match self {
                    $(Kind::$variant(_) => $tag,)*
                }
            }

            fn assertion(&self) -> &dyn Assertion {
                match self {
                    $(Kind::$variant(k) => k,)*
                }
            }
        }
    };
}

kinds! {
    "bgp" => Bgp(bgp::Bgp, Common),
    "ospf" => Ospf(ospf::Ospf, Common),
    "route" => Route(route::Route, Common),
    "ping" => Ping(ping::Ping, Probing),
    "pmtu" => Pmtu(pmtu::Pmtu, Probing),
    "traceroute" => Traceroute(traceroute::Traceroute, Probing),
    "fails" => Fails(fails::Fails, Common),
    "max_unfragmented" => MaxUnfragmented(max_unfragmented::MaxUnfragmented, Probing),
    "no_fragmentation_up_to" => NoFragmentationUpTo(no_fragmentation_up_to::NoFragmentationUpTo, Probing),
    "calico_peers" => CalicoPeers(calico_peers::CalicoPeers, Common),
    "neighbor" => Neighbor(neighbor::Neighbor, Common),
}

/// A validated expectation with its deadline and where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// One line saying what is expected, e.g. `bgp r1/peer_r2 is Established`.
    pub label: String,
    /// Line of the expectation in the scenario file.
    pub line: u64,
    /// The file that writes it, when not the scenario's own (a variant's base).
    #[serde(skip)]
    pub file: Option<std::path::PathBuf>,
    /// How long a positive one may take to hold.
    #[serde(skip)]
    pub deadline: Duration,
    /// Whether the file gave the deadline itself (a step's `within` does not override it).
    #[serde(skip)]
    pub deadline_given: bool,
    /// For a negative: the quiet time its phase needs before it is judged.
    #[serde(skip)]
    pub settle: Duration,
    /// For a negative: how long it must then stay true.
    #[serde(skip)]
    pub hold: Duration,
    pub kind: Kind,
}

impl Expectation {
    pub fn validate(
        spec: &Spanned<ExpectationSpec>,
        cx: &mut Context,
        scenario: &Network,
    ) -> Option<Expectation> {
        let kind = spec.value.validate_kind(cx, scenario)?;
        let common = spec.value.common();
        let timing = cx.timing();
        let mut time = |given: &Option<Spanned<String>>, default| {
            given.as_ref().map_or(default, |g| cx.duration(g))
        };
        let deadline = time(&common.deadline, timing.deadline);
        let settle = time(&common.settle, timing.settle);
        let hold = time(&common.hold, timing.hold);
        Some(Expectation {
            label: kind.assertion().to_string(),
            line: spec.referenced.line(),
            file: None,
            deadline,
            deadline_given: common.deadline.is_some(),
            settle,
            hold,
            kind,
        })
    }

    /// Negative expectations are checked once the positive ones hold.
    pub fn is_negative(&self) -> bool {
        self.kind.assertion().is_negative()
    }
}

/// The sending node of a probe, checking that a given source address is of the
/// destination's family.
pub fn probe_origin(cx: &mut Context, probe: &Probe) -> Option<String> {
    let from = probe.from();
    let node = node_ref(cx, from);
    if let Some(src) = &probe.src
        && src.value.is_ipv4() != probe.to().is_ipv4()
    {
        cx.error(
            src.referenced,
            format!(
                "source {} and destination {} differ in family",
                src.value,
                probe.to()
            ),
        );
        return None;
    }
    node
}

/// Checks that a name refers to a node; reports it otherwise.
pub(crate) fn node_ref(cx: &mut Context, node: &Spanned<String>) -> Option<String> {
    cx.known_node(node).then(|| node.value.clone())
}

/// Like [`node_ref`], for expectations BIRD answers (`bgp`, `ospf`): the node must run
/// one (a `bird:` config, or `kind: calico`), or the pod have one of its own.
pub(crate) fn bird_node_ref(
    cx: &mut Context,
    scenario: &Network,
    node: &Spanned<String>,
    what: &str,
) -> Option<String> {
    let name = node_ref(cx, node)?;
    if scenario.pod(&name).is_some_and(|(_, p)| p.bird.is_some()) {
        return Some(name);
    }
    let Some(n) = scenario.node(&name) else {
        cx.error(
            node.referenced,
            format!(
                "pod `{name}` runs no BIRD, so it has no {what} to check; give it \
                 `bird: {{ config: ... }}` in its node's `pods:` list"
            ),
        );
        return None;
    };
    if n.bird.is_none() && n.kind != crate::network::NodeKind::Calico {
        cx.error(
            node.referenced,
            format!(
                "node `{name}` runs no BIRD, so it has no {what} to check; give it \
                 `bird: {{ config: ... }}` or expect this of a node that runs BIRD"
            ),
        );
        return None;
    }
    Some(name)
}

/// The smallest packet a probe may send to an address of `dst`'s family: the IP and ICMP
/// headers.
pub fn min_packet_size(dst: std::net::IpAddr) -> u16 {
    if dst.is_ipv4() { 28 } else { 48 }
}
