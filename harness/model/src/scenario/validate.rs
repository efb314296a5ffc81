//! From [`RawScenario`] to [`Scenario`]: resolve names, apply defaults, collect every error.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_saphyr::{Location, Spanned};

use super::extends::Source;
use super::raw::{RawBird, RawNode, RawRoute, RawScenario};
use super::{BirdConfig, Diagnostics, Link, Node, Scenario, StaticRoute, Timing};
use crate::context::{Context, normalize, refused_address};
use crate::expect::Expectation;
use crate::network::{Network, NodeKind};

pub use crate::text::closest;

/// Validates `raw`, whose parts were written in `sources` (see [`RawScenario::origin`]);
/// `top` is the scenario's own file.
pub fn validate(
    sources: &[Source],
    top: usize,
    raw: &RawScenario,
) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let file = sources[top].file.as_path();
    let text = sources[top].text.as_str();
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut cx = Context {
        file,
        text,
        dir,
        node_names: BTreeSet::new(),
        findings: Diagnostics::default(),
        taken_interfaces: BTreeMap::new(),
        calico_now: None,
        addresses: BTreeMap::new(),
        timing: Timing::default(),
        removed_nodes: raw
            .origin
            .removed_nodes
            .iter()
            .map(|(n, (f, l, c))| (n.clone(), format!("{}:{l}:{c}", f.display())))
            .collect(),
    };
    let origin = &raw.origin;
    let name = match &raw.name {
        Some(n) => {
            if let Err(e) = crate::names::plain("scenario", &n.value) {
                cx.error(n.referenced, e);
            }
            n.value.clone()
        }
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into()),
    };
    for (given, slot) in [
        (&raw.defaults.deadline, 0),
        (&raw.defaults.settle, 1),
        (&raw.defaults.hold, 2),
    ] {
        if let Some(text) = given {
            enter(&mut cx, sources, origin.defaults[slot]);
            let d = cx.duration(text);
            let t = &mut cx.timing;
            *[&mut t.deadline, &mut t.settle, &mut t.hold][slot] = d;
        }
    }

    enter(&mut cx, sources, top);
    if let Some(nodes) = &raw.nodes
        && nodes.value.0.is_empty()
    {
        cx.error(nodes.referenced, "a scenario needs at least one node");
    }
    for (i, (node_name, _)) in raw.node_list().iter().enumerate() {
        enter(&mut cx, sources, origin.node(i));
        if let Err(e) = crate::names::plain("node", &node_name.value) {
            cx.error(node_name.referenced, e);
        } else if !cx.node_names.insert(node_name.value.clone()) {
            cx.error(
                node_name.referenced,
                format!("node `{}` is defined twice", node_name.value),
            );
        }
    }

    let mut links: Vec<Link> = Vec::new();
    for (i, l) in raw.links.iter().enumerate() {
        enter(&mut cx, sources, origin.link(i));
        // A kind may ride on interfaces of the links before it (flannel does).
        let link = l.value.validate(&mut cx, &links);
        links.extend(link);
    }
    let mut link_names = BTreeSet::new();
    for (i, (raw_link, link)) in raw.links.iter().zip(&links).enumerate() {
        enter(&mut cx, sources, origin.link(i));
        if let Err(e) = crate::names::plain("link", link.name()) {
            cx.error(raw_link.referenced, e);
        } else if cx.node_names.contains(link.name()) || !link_names.insert(link.name().to_string())
        {
            cx.error(
                raw_link.referenced,
                format!(
                    "link name `{}` is already used by another link or a node",
                    link.name()
                ),
            );
        }
    }

    let mut nodes = Vec::new();
    for (i, (node_name, raw_node)) in raw.node_list().iter().enumerate() {
        enter(&mut cx, sources, origin.node(i));
        let node = validate_node(&mut cx, &node_name.value, raw_node, &links);
        // A calico node's own BIRD is called `<node>.bird`; a node of that name would
        // share its runtime files.
        if node.kind == NodeKind::Calico && node.bird.is_some() {
            let own = format!("{}{}", node.name, crate::daemon::OWN_BIRD_SUFFIX);
            if cx.node_names.contains(own.as_str()) {
                cx.error(
                    node_name.referenced,
                    format!(
                        "node `{}` runs its own BIRD beside calico-node's, which is called \
                         `{own}`, and another node has that name; rename one of them",
                        node.name
                    ),
                );
            }
        }
        nodes.push(node);
    }

    enter(&mut cx, sources, origin.calico);
    let calico = super::calico::validate(&mut cx, raw, sources, &mut nodes, &links);
    enter(&mut cx, sources, top);
    let links_for_positions: Vec<String> = links.iter().map(|l| l.name().to_string()).collect();

    let mut scenario = Scenario {
        file: file.to_path_buf(),
        description: raw.description.clone(),
        timing: cx.timing,
        network: Network {
            name,
            nodes,
            links,
            calico,
        },
        expectations: Vec::new(),
        steps: Vec::new(),
        positions: raw
            .node_list()
            .iter()
            .enumerate()
            .map(|(i, (n, _))| {
                let file = sources[origin.node(i)].file.clone();
                let at = (file, n.referenced.line(), n.referenced.column());
                (n.value.clone(), at)
            })
            .chain(raw.links.iter().zip(&links_for_positions).enumerate().map(
                |(i, (raw, name))| {
                    let file = sources[origin.link(i)].file.clone();
                    let at = (file, raw.referenced.line(), raw.referenced.column());
                    (name.clone(), at)
                },
            ))
            .collect(),
    };
    let mut expectations: Vec<Expectation> = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        let from = origin.expectation(i);
        enter(&mut cx, sources, from);
        expectations.extend(Expectation::validate(e, &mut cx, &scenario).map(|mut e| {
            e.file = (from != top).then(|| sources[from].file.clone());
            e
        }));
    }
    scenario.expectations = expectations;
    enter(&mut cx, sources, origin.steps);
    let cut = crate::timeline::cut_links(&raw.steps);
    for link in scenario
        .links
        .iter_mut()
        .filter(|l| cut.iter().any(|c| c == l.name()))
    {
        link.prepare_cuts();
    }
    cx.calico_now = scenario.calico.as_ref().map(|c| c.resources.clone());
    scenario.steps = crate::timeline::validate(&mut cx, &raw.steps, &scenario);
    if origin.steps != top {
        let base = &sources[origin.steps].file;
        for e in scenario.steps.iter_mut().flat_map(|s| &mut s.expectations) {
            e.file = Some(base.clone());
        }
    }
    check_addresses(&mut cx, &scenario, raw, sources);
    if !cx.findings.has_errors() {
        super::lint::lint(&mut cx, &scenario, raw, sources);
    }

    if cx.findings.has_errors() {
        Err(cx.findings)
    } else {
        Ok((scenario, cx.findings))
    }
}

/// Points findings into the file source `i` of `sources`.
pub(super) fn enter<'a>(cx: &mut Context<'a>, sources: &'a [Source], i: usize) {
    let s = &sources[i];
    cx.enter(&s.file, &s.text);
}

fn validate_node(cx: &mut Context, name: &str, raw: &RawNode, links: &[Link]) -> Node {
    let kind = raw.kind.as_ref().map_or(NodeKind::Host, |k| k.value);
    let mut sysctls: Vec<(String, String)> = default_sysctls(kind)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut sysctl_keys = Vec::new();
    for (key_at, value) in &raw.sysctls.0 {
        let key = &key_at.value;
        if key.is_empty() || key.contains("..") || key.starts_with(['.', '/']) || key.contains('/')
        {
            cx.error(value.referenced, format!("`{key}` is not a sysctl name"));
            continue;
        }
        if !key.starts_with("net.") {
            cx.error(
                value.referenced,
                format!(
                    "sysctl `{key}` is not per network namespace; routelab only sets `net.*` \
                     sysctls so the host is never changed"
                ),
            );
            continue;
        }
        if sysctl_keys
            .iter()
            .any(|(k, _): &(String, Location)| k == key)
        {
            cx.error(key_at.referenced, format!("sysctl `{key}` is set twice"));
            continue;
        }
        sysctl_keys.push((key.clone(), key_at.referenced));
        sysctls.retain(|(k, _)| k != key);
        sysctls.push((key.clone(), value.value.as_sysctl()));
    }

    for a in &raw.loopback {
        if let Some(why) = refused_address(a.value.addr(), true) {
            cx.error(a.referenced, why);
        }
    }
    let loopback = raw.loopback.iter().map(|a| a.value).collect();
    let connected: Vec<(String, IpNet)> = links
        .iter()
        .flat_map(Link::interfaces)
        .filter(|i| i.node == name)
        .flat_map(|i| i.addresses.iter().map(move |a| (i.name.clone(), *a)))
        .collect();
    let mut routes: Vec<StaticRoute> = Vec::new();
    let mut route_at: Vec<Location> = Vec::new();
    for r in &raw.routes {
        let Some(route) = validate_route(cx, name, r, &connected) else {
            continue;
        };
        // The kernel keeps one route per prefix and metric: a second is refused.
        if let Some(i) = routes
            .iter()
            .position(|o| o.to == route.to && o.metric == route.metric)
        {
            let first = route_at[i];
            cx.error(
                r.value.to.referenced,
                format!(
                    "node `{name}` already has a route to {} (line {}); give all gateways in one \
                     `via: [...]` for equal-cost paths, or a different `metric` for a backup route",
                    route.to,
                    first.line()
                ),
            );
            continue;
        }
        route_at.push(r.value.to.referenced);
        routes.push(route);
    }
    let bird = raw.bird.as_ref().and_then(|b| validate_bird(cx, b));
    let bird_inline_at = raw
        .bird
        .as_ref()
        .and_then(|b| b.value.inline.as_ref())
        .map(|t| text_start(cx.text, t.referenced));
    if let Some(c) = &raw.calico
        && kind != NodeKind::Calico
    {
        cx.error(c.referenced, "`calico` settings need `kind: calico`");
    }
    Node {
        name: name.to_string(),
        kind,
        loopback,
        routes,
        sysctls,
        bird,
        nftables: raw.nftables.as_ref().map(|n| n.value.clone()),
        calico: None,
        source: super::NodeSource {
            file: cx.file.to_path_buf(),
            sysctls: sysctl_keys
                .into_iter()
                .map(|(k, at)| (k, at.line(), at.column()))
                .collect(),
            nftables: raw
                .nftables
                .as_ref()
                .map(|n| text_start(cx.text, n.referenced)),
            bird_inline: bird_inline_at,
            pods: raw
                .calico
                .as_ref()
                .and_then(|c| c.value.pods.as_ref())
                .map(|p| (p.referenced.line(), p.referenced.column())),
        },
    }
}

/// Where the text of a scalar that starts at `at` begins: for a block scalar (`|` or
/// `>`), the first line after the indicator, at its indentation; for a quoted one, after
/// the quote; otherwise `at` itself. Line and column are 1-based.
pub fn text_start(text: &str, at: Location) -> (u64, u64) {
    let (line, column) = (at.line(), at.column());
    let lines: Vec<&str> = text.lines().collect();
    let Some(here) = line
        .checked_sub(1)
        .and_then(|i| lines.get(i as usize))
        .map(|l| {
            l.chars()
                .skip(column.saturating_sub(1) as usize)
                .collect::<String>()
        })
    else {
        return (line, column);
    };
    if here.starts_with(['|', '>']) {
        for (i, l) in lines.iter().enumerate().skip(line as usize) {
            if !l.trim().is_empty() {
                let indent = l.chars().take_while(|c| *c == ' ').count() as u64;
                return (i as u64 + 1, indent + 1);
            }
        }
        (line + 1, 1)
    } else if here.starts_with(['"', '\'']) {
        (line, column + 1)
    } else {
        (line, column)
    }
}

/// The sysctls each node kind starts from. Routers forward and do not drop asymmetric
/// traffic, as the seed networks configure them; IPv6 duplicate address detection is off
/// everywhere so addresses are usable at once (a lab has no duplicates to detect).
pub fn default_sysctls(kind: NodeKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        NodeKind::Router | NodeKind::Calico => &[
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv6.conf.all.forwarding", "1"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
        ],
        NodeKind::Host => &[
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
        ],
    }
}

fn validate_route(
    cx: &mut Context,
    node: &str,
    raw: &Spanned<RawRoute>,
    connected: &[(String, IpNet)],
) -> Option<StaticRoute> {
    let r = &raw.value;
    let to = match r.to.value.as_str() {
        "default" => "0.0.0.0/0".parse().expect("constant parses"),
        "default6" => "::/0".parse().expect("constant parses"),
        text => match text.parse::<IpNet>() {
            Ok(net) if net.trunc() != net => {
                cx.error(
                    r.to.referenced,
                    format!(
                        "`{text}` has host bits set; did you mean `{}`?",
                        net.trunc()
                    ),
                );
                return None;
            }
            Ok(net) => net,
            Err(_) => {
                cx.error(
                    r.to.referenced,
                    format!("`{text}` is not a prefix (like 10.0.0.0/24) or `default`/`default6`"),
                );
                return None;
            }
        },
    };
    let via: Vec<IpAddr> = r
        .via
        .as_ref()
        .map(|v| v.value.0.clone())
        .unwrap_or_default();
    let via_at = r.via.as_ref().map_or(raw.referenced, |v| v.referenced);
    if r.blackhole && (!via.is_empty() || r.dev.is_some()) {
        cx.error(raw.referenced, "a blackhole route has no `via` or `dev`");
        return None;
    }
    if !r.blackhole && via.is_empty() && r.dev.is_none() {
        cx.error(
            raw.referenced,
            "a route needs `via` (a gateway), `dev` (an interface) or `blackhole: true`",
        );
        return None;
    }
    for gw in &via {
        if gw.is_ipv4() != to.addr().is_ipv4() {
            cx.error(
                via_at,
                format!("gateway {gw} is not of the same address family as {to}"),
            );
            return None;
        }
        let on_link = connected
            .iter()
            .any(|(_, net)| net.contains(gw) && net.addr() != *gw);
        let link_local = matches!(gw, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
        if !on_link && !link_local && r.dev.is_none() {
            cx.error(
                via_at,
                format!(
                    "gateway {gw} is not on any subnet of node `{node}`'s interfaces, so the \
                     kernel could not reach it; add an address in its subnet or give `dev`"
                ),
            );
            return None;
        }
    }
    if let Some(dev) = &r.dev
        && dev.value != "lo"
        && !connected.iter().any(|(i, _)| *i == dev.value)
    {
        let known: BTreeSet<&str> = connected.iter().map(|(i, _)| i.as_str()).collect();
        cx.error(
            dev.referenced,
            format!(
                "node `{node}` has no interface `{}` with an address (it has: {})",
                dev.value,
                known.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
        return None;
    }
    Some(StaticRoute {
        to,
        via,
        dev: r.dev.as_ref().map(|d| d.value.clone()),
        blackhole: r.blackhole,
        metric: r.metric,
    })
}

pub(super) fn validate_bird(cx: &mut Context, raw: &Spanned<RawBird>) -> Option<BirdConfig> {
    match (&raw.value.config, &raw.value.inline) {
        (Some(path), None) => {
            let full = normalize(&cx.dir.join(&path.value));
            match crate::input::check_file(&full) {
                Ok(_) => Some(BirdConfig::File(full)),
                Err(crate::input::InputError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    let msg = format!(
                        "BIRD config `{}` not found (looked at {}; paths are relative to the \
                         scenario file)",
                        path.value,
                        full.display()
                    );
                    cx.error(path.referenced, msg);
                    None
                }
                Err(e) => {
                    let msg = format!("BIRD config `{}`: {}", path.value, e.reason());
                    cx.error(path.referenced, msg);
                    None
                }
            }
        }
        (None, Some(text)) => Some(BirdConfig::Inline(text.value.clone())),
        _ => {
            cx.error(
                raw.referenced,
                "`bird` needs exactly one of `config` (a file) or `inline` (the text)",
            );
            None
        }
    }
}

/// Addresses: the same address with another prefix on a second interface is almost
/// always a typo (the same address and prefix twice is an error, reported per endpoint).
fn check_addresses<'a>(
    cx: &mut Context<'a>,
    scenario: &Scenario,
    raw: &RawScenario,
    sources: &'a [Source],
) {
    let mut seen: BTreeMap<IpAddr, (String, IpNet)> = BTreeMap::new();
    for (i, (link, raw_link)) in scenario.links.iter().zip(&raw.links).enumerate() {
        enter(cx, sources, raw.origin.link(i));
        for i in link.interfaces() {
            for a in &i.addresses {
                let here = format!("{}:{}", i.node, i.name);
                if let Some((first, net)) = seen.insert(a.addr(), (here.clone(), *a))
                    && net != *a
                    && first != here
                {
                    cx.warning(
                        raw_link.referenced,
                        format!("address {} is on both {first} and {here}", a.addr()),
                    );
                }
            }
        }
    }
}
