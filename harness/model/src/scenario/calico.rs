//! Validation of `kind: calico` nodes: load the cluster's Calico resources, work out each
//! node's address, blocks and pods, and render its BIRD configuration — all before anything
//! is built, so a bad manifest is an error with a location, not a half-built lab.

use std::collections::BTreeMap;

use super::extends::Source;
use super::raw::{Pods, RawNode, RawPodEntry, RawScenario};
use super::validate::enter;
use super::{Link, Node};
use crate::calico::node::{NodeInput, PodInput, plan_cluster};
use crate::context::{Context, normalize};
use crate::network::{CalicoCluster, NodeKind};

/// The most pods one node can have: the addresses of Calico's largest IPAM block
/// (`blockSize: 20`, or 116 for IPv6).
pub const MAX_PODS_PER_NODE: u32 = 4096;

/// `cx` points into the file of the `calico:` section; errors about one node point into
/// the node's (`sources`, see [`RawScenario::origin`]).
pub fn validate<'a>(
    cx: &mut Context<'a>,
    raw: &RawScenario,
    sources: &'a [Source],
    nodes: &mut [Node],
    links: &[Link],
) -> Option<CalicoCluster> {
    let section_from = raw.origin.calico;
    let calico_nodes: Vec<(usize, &serde_saphyr::Spanned<String>, &RawNode)> = raw
        .node_list()
        .iter()
        .enumerate()
        .filter(|(_, (_, n))| n.kind.as_ref().is_some_and(|k| k.value == NodeKind::Calico))
        .map(|(i, (name, n))| (raw.origin.node(i), name, n))
        .collect();
    let Some(section) = &raw.calico else {
        if let Some((from, name, _)) = calico_nodes.first() {
            enter(cx, sources, *from);
            cx.error(
                name.referenced,
                format!(
                    "node `{}` is `kind: calico`, so the scenario needs a top-level `calico:` \
                     section naming the cluster's Calico resources",
                    name.value
                ),
            );
        }
        return None;
    };
    if calico_nodes.is_empty() {
        cx.warning(
            section.referenced,
            "`calico:` is set but no node is `kind: calico`",
        );
        return None;
    }

    let mut resources = Vec::new();
    for file in &section.value.resources {
        let path = normalize(&cx.dir.join(&file.value));
        let same = |a: &std::path::Path, b: &std::path::Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
        if same(&path, cx.file) {
            cx.error(
                file.referenced,
                format!(
                    "`{}` is this scenario file itself; list the files that hold the cluster's \
                     Calico resources (BGPConfiguration, BGPPeer, IPPool, ...)",
                    file.value
                ),
            );
            continue;
        }
        match crate::calico::resources::load_file(&path) {
            Ok(r) => resources.extend(r),
            Err(e) => cx.error(file.referenced, format!("Calico resources: {e}")),
        }
    }

    // The operator's Installation says how calico-node picks each node's address.
    let autodetection = resources
        .iter()
        .filter_map(|r| match r {
            crate::calico::Resource::Installation(_, spec) => spec
                .calico_network
                .as_ref()
                .and_then(|n| n.node_address_autodetection_v4.clone()),
            _ => None,
        })
        .next_back()
        .unwrap_or_default();

    let mut inputs = Vec::new();
    let mut pod_namespaces = std::collections::BTreeSet::new();
    for (from, name, raw_node) in &calico_nodes {
        enter(cx, sources, *from);
        let settings = raw_node.calico.as_ref().map(|c| &c.value);
        let interfaces: Vec<_> = links
            .iter()
            .flat_map(Link::interfaces)
            .filter(|i| i.node == name.value)
            .collect();
        let (address, host_mtu) = match settings.and_then(|s| s.address.as_ref()) {
            Some(a) => {
                let mtu = interfaces
                    .iter()
                    .find(|i| i.addresses.contains(&a.value))
                    .map(|i| i.mtu);
                if mtu.is_none() {
                    cx.error(
                        a.referenced,
                        format!(
                            "node `{}` has no interface with address {}",
                            name.value, a.value
                        ),
                    );
                }
                (Some(a.value), mtu.unwrap_or(1500))
            }
            None => match autodetect(&autodetection, &interfaces) {
                Ok(found) => found.map_or((None, 1500), |(a, mtu)| (Some(a), mtu)),
                Err(e) => {
                    enter(cx, sources, section_from);
                    cx.error(section.referenced, e);
                    continue;
                }
            },
        };
        let Some(address) = address else {
            cx.error(
                name.referenced,
                format!(
                    "calico node `{}` has no IPv4 address that calico-node's address autodetection \
                     would pick; give one with `calico: {{ address: ... }}`",
                    name.value
                ),
            );
            continue;
        };
        let address6 = settings.and_then(|s| s.address6.as_ref()).and_then(|a| {
            if !a.value.addr().is_ipv6() {
                cx.error(
                    a.referenced,
                    format!(
                        "`address6` is the node's IPv6 address; {} is IPv4 (that is `address`)",
                        a.value
                    ),
                );
                return None;
            }
            if !interfaces.iter().any(|i| i.addresses.contains(&a.value)) {
                cx.error(
                    a.referenced,
                    format!(
                        "node `{}` has no interface with address {}",
                        name.value, a.value
                    ),
                );
                return None;
            }
            Some(a.value)
        });
        let pods: Vec<PodInput> = match settings.and_then(|s| s.pods.as_ref()) {
            None => Vec::new(),
            Some(p) => match &p.value {
                Pods::Count(n) if *n > MAX_PODS_PER_NODE => {
                    cx.error(
                        p.referenced,
                        format!(
                            "{n} pods cannot run on one node: its IPAM block holds at most \
                             {MAX_PODS_PER_NODE} addresses (Calico's largest block, /20 or \
                             /116); spread the pods over more nodes"
                        ),
                    );
                    continue;
                }
                Pods::Count(n) => (0..*n)
                    .map(|i| PodInput::named(&format!("pod{i}")))
                    .collect(),
                Pods::List(entries) => entries.iter().map(|e| pod_input(cx, e)).collect(),
            },
        };
        if let Some(p) = settings.and_then(|s| s.pods.as_ref()) {
            let mut seen = std::collections::BTreeSet::new();
            for pod in pods.iter().map(|p| &p.name) {
                let ns = format!("{}-{pod}", name.value);
                if let Err(e) = crate::names::plain("pod", pod) {
                    cx.error(p.referenced, e);
                } else if pod.contains('.') {
                    // `.` separates a node from its daemon (`n1.bird6`).
                    cx.error(
                        p.referenced,
                        format!("pod name `{pod}` has a `.`; use letters, digits, `-` and `_`"),
                    );
                } else if !seen.insert(pod.clone()) {
                    cx.error(p.referenced, format!("pod `{pod}` is listed twice"));
                } else if !pod_namespaces.insert(ns.clone()) {
                    cx.error(
                        p.referenced,
                        format!("pod namespace `{ns}` is another node's pod too; rename one"),
                    );
                } else if cx.node_names.contains(&ns) {
                    cx.error(
                        p.referenced,
                        format!("pod namespace `{ns}` clashes with a node of the same name"),
                    );
                }
            }
        }
        inputs.push(NodeInput {
            name: name.value.clone(),
            labels: settings.map(|s| as_text(&s.labels)).unwrap_or_default(),
            as_number: settings.and_then(|s| s.as_number),
            route_reflector_cluster_id: settings.and_then(|s| s.route_reflector_cluster_id.clone()),
            address,
            address6,
            pinned_blocks: settings
                .map(|s| s.blocks.iter().map(|b| b.value).collect())
                .unwrap_or_default(),
            pods,
            host_mtu,
        });
    }
    enter(cx, sources, section_from);
    if cx.findings.has_errors() {
        return None;
    }
    let env: BTreeMap<String, String> = section.value.env.clone();
    let cluster = CalicoCluster {
        resources: resources.clone(),
        inputs: inputs.clone(),
        env: env.clone(),
    };
    match plan_cluster(resources, &inputs, &env) {
        Ok((planned, warnings)) => {
            for w in warnings {
                cx.warning(section.referenced, w);
            }
            if let Some(w) = planned
                .iter()
                .find_map(|c| c.unprogrammed_encapsulation.clone())
            {
                cx.warning(section.referenced, w);
            }
            for c in planned {
                for pod in &c.pods {
                    cx.node_names.insert(pod.namespace.clone());
                }
                if let Some(node) = nodes.iter_mut().find(|n| n.name == c.name) {
                    node.calico = Some(c);
                }
            }
            Some(cluster)
        }
        Err(e) => {
            cx.error(section.referenced, e.to_string());
            None
        }
    }
}

/// Labels as Calico reads them: every value text (`true` stays `true`).
fn as_text(labels: &BTreeMap<String, super::raw::Scalar>) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

/// One entry of a `pods:` list. A pod's BIRD config is read like a node's.
fn pod_input(cx: &mut Context, entry: &RawPodEntry) -> PodInput {
    match entry {
        RawPodEntry::Name(name) => PodInput::named(name),
        RawPodEntry::Spec(pod) => PodInput {
            name: pod.name.clone(),
            labels: as_text(&pod.labels),
            loopback: pod.loopback.iter().map(|a| a.value).collect(),
            bird: pod
                .bird
                .as_ref()
                .and_then(|b| super::validate::validate_bird(cx, b)),
        },
    }
}

/// calico-node's IPv4 address autodetection over a node's interfaces (in link order):
/// `firstFound` (the default), `interface` and `skipInterface` (regular expressions on the
/// interface name), `cidrs` (the first address inside one of them) and `canReach` (the
/// interface whose subnet holds the target; routing beyond the first hop is not modelled).
/// A `nodeAddressAutodetectionV4` that cannot be followed (a bad pattern or address).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadAutodetection(String);

/// `kubernetes: NodeInternalIP` is read as first-found: routelab's nodes have no other
/// internal IP. Returns the address and its interface's MTU.
fn autodetect(
    how: &crate::calico::resources::NodeAddressAutodetection,
    interfaces: &[&super::Interface],
) -> Result<Option<(ipnet::IpNet, u32)>, BadAutodetection> {
    let regex = |pattern: &str, what: &str| {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| BadAutodetection(format!("nodeAddressAutodetectionV4.{what}: {e}")))
    };
    let only = how
        .interface
        .as_deref()
        .map(|p| regex(p, "interface"))
        .transpose()?;
    let skip = how
        .skip_interface
        .as_deref()
        .map(|p| regex(p, "skipInterface"))
        .transpose()?;
    let cidrs: Vec<ipnet::IpNet> = how
        .cidrs
        .iter()
        .map(|c| {
            c.parse().map_err(|e| {
                BadAutodetection(format!("nodeAddressAutodetectionV4.cidrs: {c}: {e}"))
            })
        })
        .collect::<Result<_, BadAutodetection>>()?;
    let reach: Option<std::net::IpAddr> = how
        .can_reach
        .as_deref()
        .map(|t| {
            t.parse().map_err(|e| {
                BadAutodetection(format!("nodeAddressAutodetectionV4.canReach: {t}: {e}"))
            })
        })
        .transpose()?;
    for i in interfaces {
        if only.as_ref().is_some_and(|r| !r.is_match(&i.name))
            || skip.as_ref().is_some_and(|r| r.is_match(&i.name))
        {
            continue;
        }
        for a in i.addresses.iter().filter(|a| a.addr().is_ipv4()) {
            let in_cidrs = cidrs.is_empty() || cidrs.iter().any(|c| c.contains(&a.addr()));
            let reaches = reach.is_none_or(|t| a.contains(&t));
            if in_cidrs && reaches {
                return Ok(Some((*a, i.mtu)));
            }
        }
    }
    Ok(None)
}
