//! Warnings about a valid scenario that would still stall or fail at run time for a reason
//! the file alone shows: the ends of a link with different MTUs, an expectation naming a
//! BIRD protocol the node's configuration does not define, an OSPF interface pattern
//! that matches none of the node's interfaces, a calico node whose own BIRD would fight
//! calico-node's (both on BGP's port, both on the main kernel table), a probe aimed at an address no node or
//! pod has, a `pmtu` expectation that the path MTU prediction disagrees with.
//!
//! Each is a warning, not an error: a scenario may reproduce exactly that mistake.
//! Limits: protocol names are read from the configuration as the lab starts it, so a
//! phase after a `bird_reload` or a Calico change is not checked for them (nor are OSPF
//! interface patterns, read from the configuration the lab starts with); addresses are
//! the ones routelab plans (interfaces, loopbacks, pods, tunnels), not ones a BIRD
//! config or an `exec` step might add; `pmtu` expectations are compared with the
//! prediction only before the timeline's first step (a step may cut the predicted path),
//! and only outside `fails`, which expects a disagreement.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_saphyr::Spanned;

use super::extends::Source;
use super::raw::RawScenario;
use super::validate::enter;
use super::{BirdConfig, Link, Node, Scenario};
use crate::bird_conf::{self, Protocol};
use crate::context::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::expect::ExpectationSpec;
use crate::plan::Plan;
use crate::text::closest;

/// Adds every warning about `scenario` to `cx`. Call only for a scenario without errors
/// (the raw links then line up one to one with the validated ones).
pub(super) fn lint<'a>(
    cx: &mut Context<'a>,
    scenario: &Scenario,
    raw: &RawScenario,
    sources: &'a [Source],
) {
    for (i, (link, raw_link)) in scenario.links.iter().zip(&raw.links).enumerate() {
        enter(cx, sources, raw.origin.link(i));
        mtu_mismatch(cx, link, raw_link.referenced);
    }
    let plan = crate::planner::plan(scenario);
    for node in &scenario.nodes {
        ospf_interfaces(cx, &plan, node);
        two_birds(cx, node);
    }
    for e in &raw.expect {
        if let ExpectationSpec::Pmtu(spec) = &e.value {
            pmtu_predicted(cx, scenario, spec);
        }
    }
    let owned: BTreeSet<IpAddr> = plan.addresses.iter().map(|a| a.address.addr()).collect();
    let mut protocols = Protocols::default();
    let mut reconfigured = false;
    let phases = std::iter::once(&raw.expect).chain(raw.steps.iter().map(|s| &s.value.expect));
    let steps = std::iter::once(None).chain(scenario.steps.iter().map(Some));
    for (phase, (expectations, step)) in phases.zip(steps).enumerate() {
        reconfigured |= step.is_some_and(|s| {
            s.actions
                .iter()
                .any(|a| matches!(a.tag(), "bird_reload" | "calico_apply" | "calico_delete"))
        });
        for (i, e) in expectations.iter().enumerate() {
            let from = if phase == 0 {
                raw.origin.expectation(i)
            } else {
                raw.origin.steps
            };
            enter(cx, sources, from);
            if !reconfigured {
                protocol_named(cx, scenario, &mut protocols, &e.value);
            }
            probe_target(cx, scenario, &owned, &e.value);
        }
    }
}

/// Members of one segment with different MTUs: OSPF neighbours across it stall in
/// ExStart (each drops the other's larger database descriptions), and packets between the
/// two sizes are lost one way.
fn mtu_mismatch(cx: &mut Context, link: &Link, at: serde_saphyr::Location) {
    if link.tag() == "flannel" {
        // Its devices take their MTU from the interfaces beneath, which their own links
        // already check.
        return;
    }
    let ifaces = link.interfaces();
    let Some(first) = ifaces.first() else { return };
    if let Some(other) = ifaces.iter().find(|i| i.mtu != first.mtu) {
        cx.warning(
            at,
            format!(
                "{} `{}`: {}:{} has MTU {} but {}:{} has MTU {}; OSPF neighbours across it \
                 stall in ExStart/Exchange, and packets between the two sizes are lost one \
                 way; give every end the same `mtu`",
                link.tag(),
                link.name(),
                first.node,
                first.name,
                first.mtu,
                other.node,
                other.name,
                other.mtu
            ),
        );
    }
}

/// OSPF `interface` statements in a node's BIRD configuration that put OSPF on none of
/// its interfaces: OSPF never runs where the statement meant it to, and no neighbour
/// comes up across that link. Judged per statement, not per pattern: one list written for
/// several nodes (`"eth*", "iepl*", "zt*"`) need not match on each of them. Reported at
/// the statement's first pattern, in the BIRD file (or in the scenario, for inline
/// configuration).
fn ospf_interfaces(cx: &mut Context, plan: &Plan, node: &Node) {
    let statements = match &node.bird {
        Some(BirdConfig::File(path)) => bird_conf::ospf_interfaces_of_file(path),
        Some(BirdConfig::Inline(text)) => bird_conf::ospf_interfaces_of_text(text, &cx.dir),
        _ => None,
    };
    let Some(statements) = statements else { return };
    let interfaces = interfaces_in(plan, &node.name);
    for statement in &statements {
        if interfaces
            .iter()
            .any(|i| statement.first_match(i).is_some_and(|p| !p.negated))
        {
            continue;
        }
        let listed = statement
            .patterns
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let positive: Vec<_> = statement.patterns.iter().filter(|p| !p.negated).collect();
        let excluded: Vec<&str> = interfaces
            .iter()
            .map(String::as_str)
            .filter(|i| positive.iter().any(|p| bird_conf::glob(&p.glob, i)))
            .collect();
        let why = if positive.is_empty() {
            "only excludes interfaces, so it puts OSPF on none".to_string()
        } else if excluded.is_empty() {
            let hint = positive
                .iter()
                .find_map(|p| closest(&p.glob, interfaces.iter()))
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            let known = interfaces.iter().cloned().collect::<Vec<_>>().join(", ");
            format!("matches no interface of the node (its interfaces: {known}){hint}")
        } else {
            let by = statement
                .first_match(excluded[0])
                .map(ToString::to_string)
                .unwrap_or_default();
            format!(
                "matches {} only after {by} has excluded {}: BIRD takes the first pattern \
                 that matches, so put exclusions after what they refine",
                excluded.join(", "),
                if excluded.len() == 1 { "it" } else { "them" }
            )
        };
        let message = format!(
            "OSPF protocol `{}` of node `{}`: interface {listed} {why}",
            statement.protocol, node.name
        );
        warn_in_bird_config(cx, node, &statement.patterns[0].at, message);
    }
}

/// A warning at a place in a node's BIRD configuration: its file's, or for inline text
/// the scenario's (its lines are the scenario's from where it begins, all at the block's
/// indentation).
fn warn_in_bird_config(cx: &mut Context, node: &Node, at: &bird_conf::Position, message: String) {
    let (file, line, column) = match &at.file {
        Some(file) => (file.as_path(), at.line, at.column),
        None => {
            let Some((l, c)) = node.source.bird_inline else {
                return;
            };
            (cx.file, l + at.line - 1, c + at.column - 1)
        }
    };
    cx.findings.push(Diagnostic::at(
        Severity::Warning,
        file,
        line,
        column,
        message,
    ));
}

/// A calico node that runs its own BIRD beside calico-node's: what makes the two fight,
/// as on a real host. Both listening for BGP on one port: the second to start cannot open
/// it (calico-node's sessions then say `No listening socket`). Both on the main kernel
/// table: calico-node's BIRD takes the `proto bird` routes it did not install for stale
/// ones of its own and removes them on its scan, every 2 s. (BIRD 2's scan would remove
/// calico-node's the same way, but it deletes at its own metric, 32 by default, and so
/// misses them.) Limits: `kernel table` and `local port` are read only where the protocol
/// itself writes them (not from a template), and a kernel protocol is warned about even
/// when it exports nothing.
fn two_birds(cx: &mut Context, node: &Node) {
    let (Some(calico), Some(own)) = (&node.calico, &node.bird) else {
        return;
    };
    if !calico.bgp {
        return;
    }
    let Some(protocols) = own_protocols(own, &cx.dir) else {
        return;
    };
    let BirdConfig::Rendered(files) = calico.bird_config() else {
        return;
    };
    let calico_port = bird_conf::listen_bgp_port(&files).unwrap_or(179);
    let mut warnings = Vec::new();
    if let Some(p) = protocols
        .iter()
        .find(|p| p.kind == "bgp" && p.local_port.unwrap_or(179) == calico_port)
    {
        warnings.push((
            p.at.clone(),
            format!(
                "node `{}` runs calico-node's BIRD and its own, and both listen for BGP on TCP \
                 port {calico_port} (its own through protocol `{}`): the one that starts second \
                 cannot open the port and its sessions stay down; give the node's own BGP \
                 protocols `local port N` (and their peers `neighbor ... port N`), or move \
                 calico-node's with the node's BGPConfiguration `listenPort`",
                node.name, p.name
            ),
        ));
    }
    for p in protocols.iter().filter(|p| {
        p.kind == "kernel"
            && p.kernel_table
                .as_deref()
                .is_none_or(|t| matches!(t, "254" | "main"))
    }) {
        warnings.push((
            p.at.clone(),
            format!(
                "node `{}` runs calico-node's BIRD and its own, and kernel protocol `{}` of its \
                 own exports to the main table, which calico-node's BIRD scans every 2 s, \
                 removing each `proto bird` route it did not install: the routes `{}` exports \
                 are gone within 2 s and back only at its next scan; give `{}` a `kernel \
                 table` of its own (and a rule that looks it up), or leave the kernel to \
                 calico-node's BIRD",
                node.name, p.name, p.name, p.name
            ),
        ));
    }
    for (at, message) in warnings {
        warn_in_bird_config(cx, node, &at, message);
    }
}

/// The names of every interface the plan gives namespace `ns`, `lo` included.
fn interfaces_in(plan: &Plan, ns: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::from(["lo".to_string()]);
    out.extend(plan.interfaces_in(ns));
    out
}

/// A `pmtu` expectation the prediction of `routelab mtu` disagrees with: about the path
/// (its `via`), or about the figure on the same path.
fn pmtu_predicted(
    cx: &mut Context,
    scenario: &Scenario,
    spec: &crate::expect::With<crate::expect::Probing, crate::expect::pmtu::Spec>,
) {
    let probe = &spec.group.probe;
    let from = &probe.from().value;
    let to = probe.to();
    let Ok(predicted) = crate::mtu::predict(scenario, from, to, probe.src()) else {
        return;
    };
    let path = predicted.forward.nodes().join(" > ");
    let basis = if predicted.forward.assumed() {
        "fewest hops where the file has no route"
    } else {
        "the file's routes"
    };
    if let Some(via) = &spec.via {
        let wanted: Vec<&str> = via.value.iter().map(|n| n.value.as_str()).collect();
        if wanted != predicted.forward.between() {
            let message = format!(
                "pmtu {from} -> {to}: `routelab mtu` predicts the path {path} ({basis}), not \
                 via {}; its MTU ({}) is for that path and is not compared with `mtu`",
                wanted.join(", "),
                predicted.path_mtu
            );
            cx.warning(via.referenced, message);
            return;
        }
    }
    if u32::from(spec.mtu.value) != predicted.path_mtu {
        let hint = if spec.via.is_none() && predicted.forward.assumed() {
            "; if the packets take another path, name it with `via: [NODE, ...]`"
        } else {
            ""
        };
        let message = format!(
            "pmtu {from} -> {to}: the expectation says {} but `routelab mtu` predicts {} on \
             the path {path} ({basis}; OSPF costs and firewalls are not considered){hint}",
            spec.mtu.value, predicted.path_mtu
        );
        cx.warning(spec.mtu.referenced, message);
    }
}

/// Each node's protocols, read once; `None` when they cannot be told.
#[derive(Default)]
struct Protocols(BTreeMap<String, Option<Vec<Protocol>>>);

impl Protocols {
    fn of(&mut self, cx: &Context, scenario: &Scenario, node: &str) -> Option<&[Protocol]> {
        self.0
            .entry(node.to_string())
            .or_insert_with(|| {
                let n = scenario.node(node)?;
                // A calico node may run its own BIRD beside calico-node's, and `bird6`
                // when dual-stack: an expectation may name a protocol of any.
                let mut all = Vec::new();
                if let Some(c) = &n.calico {
                    let BirdConfig::Rendered(files) = c.bird_config() else {
                        return None;
                    };
                    // bird6's files are among them; they count only where bird6 runs.
                    let dual_stack = c.address6.is_some();
                    let files: Vec<(String, String)> = files
                        .into_iter()
                        .filter(|(name, _)| dual_stack || !name.starts_with("bird6"))
                        .collect();
                    all.extend(bird_conf::protocols_of_rendered(&files));
                }
                if let Some(own) = &n.bird {
                    all.extend(own_protocols(own, &cx.dir)?);
                }
                (n.calico.is_some() || n.bird.is_some()).then_some(all)
            })
            .as_deref()
    }
}

/// The protocols of a node's own BIRD configuration; `None` when they cannot be told.
fn own_protocols(config: &BirdConfig, dir: &std::path::Path) -> Option<Vec<Protocol>> {
    match config {
        BirdConfig::File(path) => bird_conf::protocols_of_file(path),
        BirdConfig::Inline(text) => bird_conf::protocols_of_text(text, dir),
        BirdConfig::Rendered(files) => Some(bird_conf::protocols_of_rendered(files)),
    }
}

fn protocol_named(
    cx: &mut Context,
    scenario: &Scenario,
    protocols: &mut Protocols,
    spec: &ExpectationSpec,
) {
    let (node, protocol, kind) = match spec {
        ExpectationSpec::Bgp(s) if !s.absent => (&s.node.value, &s.protocol, "bgp"),
        ExpectationSpec::Ospf(s) => (&s.node.value, &s.protocol, "ospf"),
        _ => return,
    };
    let Some(known) = protocols.of(cx, scenario, node) else {
        return;
    };
    if let Some(p) = known.iter().find(|p| p.name == protocol.value) {
        if p.kind != kind {
            let msg = format!(
                "protocol `{}` of node `{node}` is of type `{}`, not `{kind}`",
                p.name, p.kind
            );
            cx.warning(protocol.referenced, msg);
        }
        return;
    }
    let of_kind: Vec<&str> = known
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.name.as_str())
        .collect();
    let hint = closest(&protocol.value, of_kind.iter().copied())
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    let listing = if of_kind.is_empty() {
        format!("it defines no `{kind}` protocol")
    } else {
        format!("its `{kind}` protocols: {}", of_kind.join(", "))
    };
    let msg = format!(
        "node `{node}`'s BIRD configuration defines no protocol `{}` ({listing}){hint}",
        protocol.value
    );
    cx.warning(protocol.referenced, msg);
}

/// A probe that must get an answer from an address nobody has, or a traceroute hop
/// nobody could answer from.
fn probe_target(
    cx: &mut Context,
    scenario: &Scenario,
    owned: &BTreeSet<IpAddr>,
    spec: &ExpectationSpec,
) {
    let is_owned = |a: &IpAddr| owned.contains(a) || scenario.owner_of(*a).is_some();
    let target = |cx: &mut Context, to: &Option<Spanned<IpAddr>>| {
        if let Some(to) = to
            && !is_owned(&to.value)
        {
            let msg = format!(
                "no node or pod has {}, so nothing can answer; is it a typo?",
                to.value
            );
            cx.warning(to.referenced, msg);
        }
    };
    match spec {
        ExpectationSpec::Ping(s) if s.succeeds => target(cx, &s.group.probe.to),
        ExpectationSpec::Traceroute(s) => {
            target(cx, &s.group.probe.to);
            let to = s.group.probe.to.as_ref().map(|t| t.value);
            for hop in &s.hops.value {
                // The destination is the last hop, already reported above.
                if hop.0.iter().any(is_owned) || hop.0.iter().any(|a| Some(*a) == to) {
                    continue;
                }
                let list = hop
                    .0
                    .iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                cx.warning(
                    s.hops.referenced,
                    format!("traceroute hop {list}: no node or pod has that address"),
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn warnings_of(file: &Path, text: &str) -> Vec<String> {
        let (_, findings) = crate::scenario::load_str(file, text).unwrap();
        findings.warnings().map(|d| d.message.clone()).collect()
    }

    #[test]
    fn calico_protocol_names_come_from_the_rendered_config() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/calico-mesh.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let base = warnings_of(&file, &text);
        assert!(base.is_empty(), "{base:?}");
        let text = text.replacen(
            "\nexpect:\n",
            "\nexpect:\n  - bgp: { node: node1, protocol: Mesh_10_0_0_99 }\n  \
             - bgp: { node: node1, protocol: Mesh_10_0_0_98, absent: true }\n",
            1,
        );
        let got = warnings_of(&file, &text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("no protocol `Mesh_10_0_0_99`"), "{got:?}");
        assert!(got[0].contains("Mesh_10_0_0_12"), "{got:?}");
    }

    #[test]
    fn a_reloaded_config_is_not_judged_by_the_first() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/timeline-actions.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let got = warnings_of(&file, &text);
        assert!(got.is_empty(), "{got:?}");
    }
}
