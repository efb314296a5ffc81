//! The scenario file exactly as written: what serde reads, with source locations kept on
//! every value a later check may need to point at. [`super::validate`] turns it into a
//! [`super::Scenario`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use serde_saphyr::Spanned;

use crate::expect::ExpectationSpec;
pub use crate::link::RawEndpoint;
pub use crate::link::RawLink;
pub use crate::network::NodeKind;
pub use crate::yaml::{NamedMap, OneOrMany};

/// The top level of a scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// The scenario this one is a variant of, relative to this file (see
    /// [`super::extends`]).
    pub extends: Option<Spanned<String>>,
    /// What a variant drops from its base, by name.
    pub remove: Option<Spanned<RawRemove>>,
    /// Defaults to the file name without its extension.
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    #[serde(default)]
    pub defaults: RawDefaults,
    /// Required, unless the scenario `extends` another.
    pub nodes: Option<Spanned<NamedMap<RawNode>>>,
    #[serde(default)]
    pub links: Vec<Spanned<RawLink>>,
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectationSpec>>,
    /// The timeline: what happens after the network is built.
    #[serde(default)]
    pub steps: Vec<Spanned<crate::timeline::RawStep>>,
    /// The Calico cluster that `kind: calico` nodes belong to.
    pub calico: Option<Spanned<RawCalico>>,
    /// Which file each part was written in, once a variant is merged with its base.
    #[serde(skip)]
    pub origin: Origin,
}

/// `remove:` in a variant: nodes and links by name, expectations by label.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRemove {
    #[serde(default)]
    pub nodes: Vec<Spanned<String>>,
    #[serde(default)]
    pub links: Vec<Spanned<String>>,
    /// Labels as `routelab check --plan` lists them, e.g. `ping h1 -> 10.0.2.10`.
    #[serde(default)]
    pub expect: Vec<Spanned<String>>,
}

/// The source (an index into the files read, see [`super::extends::Source`]) of each
/// node, link and expectation, in order, and of the timeline, the Calico section and the
/// defaults. Empty lists and zeros mean everything is from the first file.
#[derive(Debug, Default, Clone)]
pub struct Origin {
    pub nodes: Vec<usize>,
    pub links: Vec<usize>,
    pub expect: Vec<usize>,
    pub steps: usize,
    pub calico: usize,
    pub defaults: [usize; 3],
    /// Nodes a variant removed from its base, with where (file, line, column): what still
    /// names one is told so.
    pub removed_nodes: BTreeMap<String, (std::path::PathBuf, u64, u64)>,
}

impl Origin {
    /// Everything from one source.
    pub fn all(source: usize, raw: &RawScenario) -> Origin {
        Origin {
            nodes: vec![source; raw.node_list().len()],
            links: vec![source; raw.links.len()],
            expect: vec![source; raw.expect.len()],
            steps: source,
            calico: source,
            defaults: [source; 3],
            removed_nodes: BTreeMap::new(),
        }
    }

    pub fn node(&self, i: usize) -> usize {
        self.nodes.get(i).copied().unwrap_or_default()
    }

    pub fn link(&self, i: usize) -> usize {
        self.links.get(i).copied().unwrap_or_default()
    }

    pub fn expectation(&self, i: usize) -> usize {
        self.expect.get(i).copied().unwrap_or_default()
    }
}

impl RawScenario {
    /// The nodes as written (none when a variant gives none of its own).
    pub fn node_list(&self) -> &[(Spanned<String>, RawNode)] {
        self.nodes.as_ref().map_or(&[], |n| &n.value.0)
    }
}

/// The cluster's Calico resources, shared by every `kind: calico` node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalico {
    /// Manifests as users have them (BGPConfiguration, BGPPeer, BGPFilter, IPPool, Node,
    /// the operator's Installation), relative to the scenario file.
    pub resources: Vec<Spanned<String>>,
    /// calico-node's environment, e.g. `CALICO_ROUTER_ID: hash`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// What a `kind: calico` node adds to (or sets in) its Calico Node resource, and its pods.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalicoNode {
    /// Labels, as `kubectl label node` sets them.
    #[serde(default)]
    pub labels: BTreeMap<String, Scalar>,
    /// `spec.bgp.asNumber`.
    pub as_number: Option<u32>,
    /// `spec.bgp.routeReflectorClusterID`: makes the node a route reflector.
    pub route_reflector_cluster_id: Option<String>,
    /// The node's address with its subnet; by default the first IPv4 address of its first
    /// interface (calico-node's `first-found` autodetection).
    pub address: Option<Spanned<IpNet>>,
    /// The node's IPv6 address with its subnet (`spec.bgp.ipv6Address`), for a dual-stack
    /// node: calico-node then runs `bird6` too. No default.
    pub address6: Option<Spanned<IpNet>>,
    /// IPAM blocks pinned to the node; by default nodes sorted by name take consecutive
    /// blocks of each pool.
    #[serde(default)]
    pub blocks: Vec<Spanned<IpNet>>,
    /// Pods to run: a number (named `pod0`, `pod1`, ...) or a list of names.
    pub pods: Option<Spanned<Pods>>,
}

/// `pods: 2` or `pods: [web, db, { name: speaker, labels: ..., bird: ... }]`.
#[derive(Debug)]
pub enum Pods {
    Count(u32),
    List(Vec<RawPodEntry>),
}

/// One pod of a list: its name, or what it runs.
#[derive(Debug)]
pub enum RawPodEntry {
    Name(String),
    Spec(Box<RawPod>),
}

// By hand rather than `untagged`, so that a mistake inside a pod's entry (a misspelt
// field) is reported as itself, not as "did not match any variant".
impl<'de> Deserialize<'de> for Pods {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Pods;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of pods or a list of pods")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Pods, E> {
                u32::try_from(n)
                    .map(Pods::Count)
                    .map_err(|_| E::custom(format!("{n} pods are far too many")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Pods, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{n} is not a number of pods"))),
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Pods, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element()? {
                    out.push(entry);
                }
                Ok(Pods::List(out))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'de> Deserialize<'de> for RawPodEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawPodEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a pod's name, or `{ name: ..., labels: ..., loopback: ..., bird: ... }`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawPodEntry, E> {
                Ok(RawPodEntry::Name(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawPodEntry, A::Error> {
                RawPod::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|pod| RawPodEntry::Spec(Box::new(pod)))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A pod with labels, service addresses or a BGP speaker of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPod {
    pub name: String,
    /// The pod's labels (`localWorkloadSelector` matches them).
    #[serde(default)]
    pub labels: BTreeMap<String, Scalar>,
    /// Addresses on the pod's `lo`.
    #[serde(default)]
    pub loopback: Vec<Spanned<IpNet>>,
    /// A BIRD 2 the pod runs.
    pub bird: Option<Spanned<RawBird>>,
}

/// A YAML scalar read as text: `true` stays `true`, `5` stays `5`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Scalar {
    /// The text a sysctl file takes: booleans as 1 and 0.
    pub fn as_sysctl(&self) -> String {
        match self {
            Scalar::Bool(b) => u8::from(*b).to_string(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

/// Scenario-wide defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// How long each expectation may take to hold, e.g. `30s`.
    pub deadline: Option<Spanned<String>>,
    /// How long routes and protocol states must be unchanged before negatives are judged.
    pub settle: Option<Spanned<String>>,
    /// How long a negative must then stay true.
    pub hold: Option<Spanned<String>>,
}

/// One node, i.e. one network namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    pub kind: Option<Spanned<NodeKind>>,
    /// Addresses on `lo`, e.g. a router id `/32`.
    #[serde(default)]
    pub loopback: Vec<Spanned<IpNet>>,
    #[serde(default)]
    pub routes: Vec<Spanned<RawRoute>>,
    /// Extra sysctls under `/proc/sys`, in dotted form (`net.ipv4.ip_forward: 1`);
    /// they override the kind's defaults.
    #[serde(default)]
    pub sysctls: NamedMap<Spanned<Scalar>>,
    pub bird: Option<Spanned<RawBird>>,
    /// An nftables ruleset loaded in the node's namespace (`nft -f`), e.g. to filter ICMP
    /// the way a misconfigured firewall does.
    pub nftables: Option<Spanned<String>>,
    /// For `kind: calico` nodes.
    pub calico: Option<Spanned<RawCalicoNode>>,
}

/// A static route in the node's kernel table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// A prefix, or `default` (IPv4) / `default6` (IPv6).
    pub to: Spanned<String>,
    /// One gateway, or several for an equal-cost multipath route.
    pub via: Option<Spanned<OneOrMany<IpAddr>>>,
    /// Output interface; needed for a route without a gateway.
    pub dev: Option<Spanned<String>>,
    #[serde(default)]
    pub blackhole: bool,
    pub metric: Option<u32>,
}

/// A BIRD daemon on the node: a config file (relative to the scenario file) or inline text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBird {
    pub config: Option<Spanned<String>>,
    pub inline: Option<Spanned<String>>,
}
