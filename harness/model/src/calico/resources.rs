//! Calico resources as they appear in manifests: `projectcalico.org/v3` (and the same kinds
//! under the CRD group `crd.projectcalico.org/v1`), the operator's `operator.tigera.io/v1`
//! Installation, and Kubernetes Secrets (for BGP passwords).
//!
//! A file is a multi-document YAML stream. Documents of other Kubernetes kinds
//! (Deployments, Pods, ...) and Calico kinds BGP does not use (FelixConfiguration,
//! NetworkPolicy, ...) are skipped; a kind Calico does not have, a Calico kind under
//! another apiVersion, or a document without `apiVersion` and `kind` is an error at its
//! line. `...List` documents contribute their `items`. Only the fields
//! the renderer needs are modelled; every other field is ignored, as the API server's
//! clients do.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

/// A BGP AS number. Manifests write it as an integer, a decimal string or in AS-dot
/// notation (`1.10` is 65546).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AsNumber(pub u32);

impl fmt::Display for AsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Text that is not an AS number (`65001`, or `1.10` in asdot notation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AS number {0:?}")]
pub struct NotAnAsNumber(pub String);

impl std::str::FromStr for AsNumber {
    type Err = NotAnAsNumber;
    fn from_str(s: &str) -> Result<Self, NotAnAsNumber> {
        let bad = || NotAnAsNumber(s.to_string());
        match s.split_once('.') {
            Some((hi, lo)) => {
                let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
                let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
                Ok(AsNumber((u32::from(hi) << 16) | u32::from(lo)))
            }
            None => s.trim().parse().map(AsNumber).map_err(|_| bad()),
        }
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AsNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number (64512, \"64512\" or \"1.10\")")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AsNumber, E> {
                u32::try_from(v)
                    .map(AsNumber)
                    .map_err(|_| E::custom(format!("AS number {v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AsNumber, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("AS number {v} is negative")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AsNumber, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AsNumber, E> {
                // An unquoted 1.10 reads as the number 1.1: the digits are lost.
                Err(E::custom(format!(
                    "AS number {v} looks like AS-dot notation: quote it (\"1.10\")"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// The parts of Kubernetes object metadata the renderer reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "label_map")]
    pub labels: BTreeMap<String, String>,
}

/// Reads a label map whose values may be unquoted YAML scalars: `route-reflector: yes`
/// is the label value `"true"`, as calicoctl's YAML 1.1 reading makes it.
fn label_map<'de, D: de::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Scalar(String);
    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Scalar;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a label value (string, number or boolean)")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                    Ok(Scalar(String::new()))
                }
            }
            d.deserialize_any(V)
        }
    }
    let raw: Option<BTreeMap<String, Scalar>> = Deserialize::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// A label selector, checked as it is read so that a bad one is reported at its place in
/// the manifest (calico-node would log it and select nothing).
fn node_selector<'de, D: de::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    selector(d, "nodeSelector")
}

fn peer_selector<'de, D: de::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    selector(d, "peerSelector")
}

fn selector<'de, D: de::Deserializer<'de>>(d: D, field: &str) -> Result<String, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if !text.trim().is_empty()
        && let Err(e) = super::Selector::parse(&text)
    {
        let owner = OWNER.with(|o| o.borrow().clone());
        let owner = if owner.is_empty() {
            String::new()
        } else {
            format!("{owner}: ")
        };
        return Err(de::Error::custom(format!("{owner}{field}: {e}")));
    }
    Ok(text)
}

std::thread_local! {
    /// The resource whose spec is being read (`BGPPeer rr`), for messages.
    static OWNER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// IPv4 pools take blocks of /20 to /32, IPv6 pools /116 to /128 (Calico's IPPool
/// reference); which family a size is for is checked against the pool's cidr later.
pub const BLOCK_SIZES_V4: std::ops::RangeInclusive<u8> = 20..=32;
pub const BLOCK_SIZES_V6: std::ops::RangeInclusive<u8> = 116..=128;

fn block_size<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let Some(size) = Option::<i64>::deserialize(d)? else {
        return Ok(None);
    };
    match u8::try_from(size) {
        Ok(s) if BLOCK_SIZES_V4.contains(&s) || BLOCK_SIZES_V6.contains(&s) => Ok(Some(s)),
        _ => Err(de::Error::custom(format!(
            "blockSize {size} is out of Calico's range: 20 to 32 for an IPv4 pool, 116 to 128 \
             for an IPv6 pool"
        ))),
    }
}

/// A reference to a key of a Kubernetes Secret.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

/// A password held in a Secret (`password: {secretKeyRef: {name, key}}`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretSource {
    #[serde(default)]
    pub secret_key_ref: Option<SecretKeyRef>,
}

/// A `{cidr: ...}` entry of BGPConfiguration's service IP lists.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceIpBlock {
    #[serde(default)]
    pub cidr: String,
}

/// A named community (`communities: [{name, value}]`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Community {
    pub name: String,
    pub value: String,
}

/// Communities to attach to routes within a CIDR.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrefixAdvertisement {
    #[serde(default)]
    pub cidr: String,
    #[serde(default)]
    pub communities: Vec<String>,
}

/// `BGPConfiguration` spec: `default` holds the cluster-wide values, `node.<name>` a
/// node's overrides (listen port, log level, prefix advertisements).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpConfigurationSpec {
    #[serde(default)]
    pub log_severity_screen: String,
    pub node_to_node_mesh_enabled: Option<bool>,
    #[serde(rename = "asNumber")]
    pub as_number: Option<AsNumber>,
    #[serde(default)]
    pub listen_port: u16,
    #[serde(rename = "serviceClusterIPs", default)]
    pub service_cluster_ips: Vec<ServiceIpBlock>,
    #[serde(rename = "serviceExternalIPs", default)]
    pub service_external_ips: Vec<ServiceIpBlock>,
    #[serde(rename = "serviceLoadBalancerIPs", default)]
    pub service_load_balancer_ips: Vec<ServiceIpBlock>,
    pub service_load_balancer_aggregation: Option<String>,
    #[serde(default)]
    pub communities: Vec<Community>,
    #[serde(default)]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    pub bind_mode: Option<String>,
    #[serde(default)]
    pub ignored_interfaces: Vec<String>,
    pub node_mesh_password: Option<SecretSource>,
    pub node_mesh_max_restart_time: Option<String>,
    #[serde(rename = "ipv4NormalRoutePriority")]
    pub ipv4_normal_route_priority: Option<i64>,
    #[serde(rename = "ipv6NormalRoutePriority")]
    pub ipv6_normal_route_priority: Option<i64>,
    pub program_cluster_routes: Option<String>,
    #[serde(rename = "localWorkloadPeeringIPV4", default)]
    pub local_workload_peering_ipv4: String,
    #[serde(rename = "localWorkloadPeeringIPV6", default)]
    pub local_workload_peering_ipv6: String,
}

/// `BGPPeer` spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerSpec {
    #[serde(default)]
    pub node: String,
    #[serde(default, deserialize_with = "node_selector")]
    pub node_selector: String,
    #[serde(rename = "peerIP", default)]
    pub peer_ip: String,
    #[serde(default, deserialize_with = "peer_selector")]
    pub peer_selector: String,
    #[serde(default)]
    pub local_workload_selector: String,
    #[serde(default)]
    pub as_number: AsNumber,
    #[serde(rename = "localASNumber")]
    pub local_as_number: Option<AsNumber>,
    #[serde(default)]
    pub source_address: String,
    pub password: Option<SecretSource>,
    pub max_restart_time: Option<String>,
    pub keepalive_time: Option<String>,
    #[serde(default)]
    pub keep_original_next_hop: bool,
    pub next_hop_mode: Option<String>,
    #[serde(rename = "numAllowedLocalASNumbers")]
    pub num_allowed_local_as_numbers: Option<i32>,
    #[serde(rename = "ttlSecurity")]
    pub ttl_security: Option<u8>,
    #[serde(default)]
    pub filters: Vec<String>,
    #[serde(default)]
    pub reachable_by: String,
    pub reverse_peering: Option<String>,
}

/// Prefix length bounds of a BGPFilter rule.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrefixLength {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// `communities: {values: [...]}` match of a BGPFilter rule.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommunityMatch {
    #[serde(default)]
    pub values: Vec<String>,
}

/// `{value: ...}` operand of the addCommunity operation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AddCommunity {
    pub value: Option<String>,
}

/// `{prefix: [...]}` operand of the prependASPath operation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrependAsPath {
    #[serde(default)]
    pub prefix: Vec<AsNumber>,
}

/// `{value: ...}` operand of the setPriority operation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SetPriority {
    pub value: Option<i64>,
}

/// One operation of a BGPFilter rule; exactly one field is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOperation {
    pub add_community: Option<AddCommunity>,
    #[serde(rename = "prependASPath")]
    pub prepend_as_path: Option<PrependAsPath>,
    pub set_priority: Option<SetPriority>,
}

/// One rule of a BGPFilter (the v4 and v6 rule shapes are the same).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterRule {
    #[serde(default)]
    pub cidr: String,
    pub prefix_length: Option<PrefixLength>,
    #[serde(default)]
    pub match_operator: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub interface: String,
    #[serde(default)]
    pub peer_type: String,
    pub communities: Option<CommunityMatch>,
    #[serde(rename = "asPathPrefix", default)]
    pub as_path_prefix: Vec<AsNumber>,
    pub priority: Option<i64>,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub operations: Vec<FilterOperation>,
}

/// `BGPFilter` spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterSpec {
    #[serde(rename = "exportV4", default)]
    pub export_v4: Vec<FilterRule>,
    #[serde(rename = "importV4", default)]
    pub import_v4: Vec<FilterRule>,
    #[serde(rename = "exportV6", default)]
    pub export_v6: Vec<FilterRule>,
    #[serde(rename = "importV6", default)]
    pub import_v6: Vec<FilterRule>,
}

/// `IPPool` spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolSpec {
    pub cidr: String,
    #[serde(default)]
    pub ipip_mode: String,
    #[serde(default)]
    pub vxlan_mode: String,
    #[serde(default)]
    pub nat_outgoing: bool,
    #[serde(default)]
    pub disabled: bool,
    #[serde(rename = "disableBGPExport", default)]
    pub disable_bgp_export: bool,
    #[serde(default, deserialize_with = "block_size")]
    pub block_size: Option<u8>,
    #[serde(default, deserialize_with = "node_selector")]
    pub node_selector: String,
}

/// `Node.spec.bgp`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeBgpSpec {
    #[serde(rename = "ipv4Address", default)]
    pub ipv4_address: String,
    #[serde(rename = "ipv6Address", default)]
    pub ipv6_address: String,
    #[serde(rename = "asNumber")]
    pub as_number: Option<AsNumber>,
    #[serde(rename = "routeReflectorClusterID", default)]
    pub route_reflector_cluster_id: String,
}

/// `Node.spec.wireguard`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeWireguardSpec {
    #[serde(rename = "interfaceIPv4Address", default)]
    pub interface_ipv4_address: String,
    #[serde(rename = "interfaceIPv6Address", default)]
    pub interface_ipv6_address: String,
}

/// Calico `Node` spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    pub bgp: Option<NodeBgpSpec>,
    pub wireguard: Option<NodeWireguardSpec>,
}

/// One `spec.calicoNetwork.ipPools` entry of the operator's Installation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationIpPool {
    #[serde(default)]
    pub name: String,
    pub cidr: String,
    #[serde(default, deserialize_with = "block_size")]
    pub block_size: Option<u8>,
    /// `IPIP`, `IPIPCrossSubnet`, `VXLAN`, `VXLANCrossSubnet` or `None`; IPIP when unset.
    pub encapsulation: Option<String>,
    /// `Enabled` or `Disabled`; enabled when unset.
    pub nat_outgoing: Option<String>,
    #[serde(default, deserialize_with = "node_selector")]
    pub node_selector: String,
    #[serde(rename = "disableBGPExport", default)]
    pub disable_bgp_export: bool,
}

/// `spec.calicoNetwork.nodeAddressAutodetectionV4` (and V6): how calico-node picks its
/// address. Recorded for the dataplane; the renderer takes addresses from Node resources.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeAddressAutodetection {
    pub first_found: Option<bool>,
    pub interface: Option<String>,
    pub skip_interface: Option<String>,
    pub can_reach: Option<String>,
    #[serde(default)]
    pub cidrs: Vec<String>,
    pub kubernetes: Option<String>,
}

/// `spec.calicoNetwork` of the operator's Installation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalicoNetwork {
    /// `Enabled` or `Disabled`.
    pub bgp: Option<String>,
    pub ip_pools: Option<Vec<InstallationIpPool>>,
    pub mtu: Option<u32>,
    #[serde(rename = "nodeAddressAutodetectionV4")]
    pub node_address_autodetection_v4: Option<NodeAddressAutodetection>,
    #[serde(rename = "nodeAddressAutodetectionV6")]
    pub node_address_autodetection_v6: Option<NodeAddressAutodetection>,
}

/// `operator.tigera.io/v1` Installation spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationSpec {
    pub calico_network: Option<CalicoNetwork>,
}

/// A Kubernetes Secret; only `data` (base64) and `stringData` are read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretBody {
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    #[serde(default)]
    pub string_data: BTreeMap<String, String>,
}

/// `Service.spec`: the fields service advertisement reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(rename = "clusterIP", default)]
    pub cluster_ip: String,
    #[serde(rename = "clusterIPs", default)]
    pub cluster_ips: Vec<String>,
    #[serde(rename = "externalIPs", default)]
    pub external_ips: Vec<String>,
    #[serde(default)]
    pub external_traffic_policy: String,
    #[serde(default)]
    pub ip_families: Vec<String>,
    #[serde(rename = "loadBalancerIP", default)]
    pub load_balancer_ip: String,
}

/// One `status.loadBalancer.ingress` entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoadBalancerIngress {
    #[serde(default)]
    pub ip: String,
}

/// `status.loadBalancer`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoadBalancerStatus {
    #[serde(default)]
    pub ingress: Vec<LoadBalancerIngress>,
}

/// `Service.status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    #[serde(default)]
    pub load_balancer: LoadBalancerStatus,
}

/// A Kubernetes Service.
#[derive(Debug, Clone, Default)]
pub struct ServiceBody {
    pub spec: ServiceSpec,
    pub status: ServiceStatus,
}

/// `endpoints[].conditions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndpointConditions {
    pub ready: Option<bool>,
}

/// One endpoint of an EndpointSlice.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    #[serde(default)]
    pub addresses: Vec<String>,
    pub node_name: Option<String>,
    #[serde(default)]
    pub conditions: EndpointConditions,
}

/// A `discovery.k8s.io/v1` EndpointSlice (its service is the
/// `kubernetes.io/service-name` label).
#[derive(Debug, Clone, Default)]
pub struct EndpointSliceBody {
    pub address_type: String,
    pub endpoints: Vec<Endpoint>,
}

/// A resource routelab understands.
#[derive(Debug, Clone)]
pub enum Resource {
    BgpConfiguration(ObjectMeta, BgpConfigurationSpec),
    BgpPeer(ObjectMeta, BgpPeerSpec),
    BgpFilter(ObjectMeta, BgpFilterSpec),
    IpPool(ObjectMeta, IpPoolSpec),
    Node(ObjectMeta, NodeSpec),
    Installation(ObjectMeta, InstallationSpec),
    Secret(ObjectMeta, SecretBody),
    Service(ObjectMeta, ServiceBody),
    EndpointSlice(ObjectMeta, EndpointSliceBody),
}

impl Resource {
    /// Who the resource is, as `kubectl apply` and `delete` match it: its kind, namespace
    /// and name.
    pub fn identity(&self) -> (std::mem::Discriminant<Resource>, Option<&str>, &str) {
        let m = self.meta();
        (
            std::mem::discriminant(self),
            m.namespace.as_deref(),
            &m.name,
        )
    }

    /// The kind's name as manifests write it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Resource::BgpConfiguration(..) => "BGPConfiguration",
            Resource::BgpPeer(..) => "BGPPeer",
            Resource::BgpFilter(..) => "BGPFilter",
            Resource::IpPool(..) => "IPPool",
            Resource::Node(..) => "Node",
            Resource::Installation(..) => "Installation",
            Resource::Secret(..) => "Secret",
            Resource::Service(..) => "Service",
            Resource::EndpointSlice(..) => "EndpointSlice",
        }
    }

    /// The resource's metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Resource::BgpConfiguration(m, _)
            | Resource::BgpPeer(m, _)
            | Resource::BgpFilter(m, _)
            | Resource::IpPool(m, _)
            | Resource::Node(m, _)
            | Resource::Installation(m, _)
            | Resource::Secret(m, _)
            | Resource::Service(m, _)
            | Resource::EndpointSlice(m, _) => m,
        }
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Resource::BgpConfiguration(m, _)
            | Resource::BgpPeer(m, _)
            | Resource::BgpFilter(m, _)
            | Resource::IpPool(m, _)
            | Resource::Node(m, _)
            | Resource::Installation(m, _)
            | Resource::Secret(m, _)
            | Resource::Service(m, _)
            | Resource::EndpointSlice(m, _) => m,
        }
    }
}

/// The kinds the loader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BgpConfiguration,
    BgpPeer,
    BgpFilter,
    IpPool,
    Node,
    Installation,
    Secret,
    Service,
    EndpointSlice,
}

fn known_kind(api_version: &str, kind: &str) -> Option<Kind> {
    let group = api_version.split('/').next().unwrap_or_default();
    let calico = matches!(
        api_version,
        "projectcalico.org/v3" | "crd.projectcalico.org/v1"
    );
    match kind {
        "BGPConfiguration" if calico => Some(Kind::BgpConfiguration),
        "BGPPeer" if calico => Some(Kind::BgpPeer),
        "BGPFilter" if calico => Some(Kind::BgpFilter),
        "IPPool" if calico => Some(Kind::IpPool),
        "Node" if calico => Some(Kind::Node),
        "Installation" if group == "operator.tigera.io" => Some(Kind::Installation),
        "Secret" if api_version == "v1" => Some(Kind::Secret),
        "Service" if api_version == "v1" => Some(Kind::Service),
        "EndpointSlice" if api_version == "discovery.k8s.io/v1" => Some(Kind::EndpointSlice),
        _ => None,
    }
}

/// The kinds routelab reads, by API group, for "did you mean" and misplaced-kind hints.
const CALICO_KINDS: [&str; 5] = ["BGPConfiguration", "BGPPeer", "BGPFilter", "IPPool", "Node"];

/// Calico's (and its operator's) other kinds: real, but nothing confd renders for BGP
/// reads them, so they are skipped.
const OTHER_CALICO_KINDS: [&str; 24] = [
    "FelixConfiguration",
    "GlobalNetworkPolicy",
    "NetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedKubernetesNetworkPolicy",
    "GlobalNetworkSet",
    "NetworkSet",
    "HostEndpoint",
    "WorkloadEndpoint",
    "Profile",
    "ClusterInformation",
    "KubeControllersConfiguration",
    "IPReservation",
    "IPAMConfig",
    "IPAMConfiguration",
    "IPAMBlock",
    "IPAMHandle",
    "BlockAffinity",
    "CalicoNodeStatus",
    "Tier",
    "LiveMigration",
    "BGPPassword",
    "ExternalNetwork",
];
const OPERATOR_KINDS: [&str; 6] = [
    "Installation",
    "APIServer",
    "ImageSet",
    "TigeraStatus",
    "Goldmane",
    "Whisker",
];

/// Whether a document of `api_version` and `kind` is one routelab reads (`Some`), one it
/// skips (`None`: another Kubernetes kind, a Calico kind BGP does not use, a List), or a
/// mistake: a kind Calico does not have, or a Calico kind under another API.
fn classify(api_version: &str, kind: &str) -> Result<Option<Kind>, String> {
    if let Some(k) = known_kind(api_version, kind) {
        return Ok(Some(k));
    }
    let base = kind.strip_suffix("List").unwrap_or(kind);
    let group = api_version.split('/').next().unwrap_or_default();
    let hint = |candidates: &[&str]| {
        crate::text::closest(base, candidates.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default()
    };
    match group {
        "projectcalico.org" | "crd.projectcalico.org" => {
            if !matches!(
                api_version,
                "projectcalico.org/v3" | "crd.projectcalico.org/v1"
            ) {
                return Err(format!(
                    "apiVersion `{api_version}` is not one Calico serves; write \
                     `projectcalico.org/v3` (or `crd.projectcalico.org/v1` for its CRDs)"
                ));
            }
            if CALICO_KINDS.contains(&base) || OTHER_CALICO_KINDS.contains(&base) {
                return Ok(None);
            }
            let all: Vec<&str> = CALICO_KINDS.into_iter().chain(OTHER_CALICO_KINDS).collect();
            Err(format!(
                "Calico has no kind `{kind}` (under `{api_version}`){}",
                hint(&all)
            ))
        }
        "operator.tigera.io" => {
            if OPERATOR_KINDS.contains(&base) {
                return Ok(None);
            }
            Err(format!(
                "the Tigera operator has no kind `{kind}` (under `{api_version}`){}",
                hint(&OPERATOR_KINDS)
            ))
        }
        _ if base == "Installation" => Err(format!(
            "`Installation` is the Tigera operator's kind, but `apiVersion: {api_version}` is \
             not the operator's; write `apiVersion: operator.tigera.io/v1`"
        )),
        // Node is also Kubernetes' own kind (`apiVersion: v1`), which is skipped.
        _ if CALICO_KINDS.contains(&base) && base != "Node" => Err(format!(
            "`{base}` is a Calico kind, but `apiVersion: {api_version}` is not Calico's; write \
             `apiVersion: projectcalico.org/v3`"
        )),
        _ => Ok(None),
    }
}

fn empty_resource(kind: Kind) -> Resource {
    let meta = ObjectMeta::default();
    match kind {
        Kind::BgpConfiguration => Resource::BgpConfiguration(meta, Default::default()),
        Kind::BgpPeer => Resource::BgpPeer(meta, Default::default()),
        Kind::BgpFilter => Resource::BgpFilter(meta, Default::default()),
        Kind::IpPool => Resource::IpPool(meta, Default::default()),
        Kind::Node => Resource::Node(meta, Default::default()),
        Kind::Installation => Resource::Installation(meta, Default::default()),
        Kind::Secret => Resource::Secret(meta, Default::default()),
        Kind::Service => Resource::Service(meta, Default::default()),
        Kind::EndpointSlice => Resource::EndpointSlice(meta, Default::default()),
    }
}

/// Reads one top-level field of a document of a known kind into the resource, or skips
/// it when the kind does not use it.
struct FieldSeed<'a> {
    key: &'a str,
    slot: &'a mut Resource,
}

impl<'de> de::DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let owner = match &*self.slot {
            Resource::BgpPeer(m, _) => format!("BGPPeer {}", m.name),
            Resource::IpPool(m, _) => format!("IPPool {}", m.name),
            Resource::Installation(m, _) => format!("Installation {}", m.name),
            _ => String::new(),
        };
        OWNER.with(|o| *o.borrow_mut() = owner);
        match (self.slot, self.key) {
            (r, "metadata") => *r.meta_mut() = Deserialize::deserialize(d)?,
            (Resource::BgpConfiguration(_, s), "spec") => *s = Deserialize::deserialize(d)?,
            (Resource::BgpPeer(_, s), "spec") => *s = Deserialize::deserialize(d)?,
            (Resource::BgpFilter(_, s), "spec") => *s = Deserialize::deserialize(d)?,
            (Resource::IpPool(_, s), "spec") => *s = Deserialize::deserialize(d)?,
            (Resource::Node(_, s), "spec") => *s = Deserialize::deserialize(d)?,
            (Resource::Installation(_, s), "spec") => *s = Deserialize::deserialize(d)?,
            (Resource::Secret(_, b), "data") => b.data = Deserialize::deserialize(d)?,
            (Resource::Secret(_, b), "stringData") => b.string_data = Deserialize::deserialize(d)?,
            (Resource::Service(_, b), "spec") => b.spec = Deserialize::deserialize(d)?,
            (Resource::Service(_, b), "status") => b.status = Deserialize::deserialize(d)?,
            (Resource::EndpointSlice(_, b), "addressType") => {
                b.address_type = Deserialize::deserialize(d)?
            }
            (Resource::EndpointSlice(_, b), "endpoints") => {
                b.endpoints = Option::<Vec<Endpoint>>::deserialize(d)?.unwrap_or_default()
            }
            _ => {
                IgnoredAny::deserialize(d)?;
            }
        }
        Ok(())
    }
}

/// One YAML document: zero (unknown kind), one, or many (a List) resources.
struct Document(Vec<Resource>);

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes resource (a mapping with apiVersion and kind)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut api_version: Option<String> = None;
        let mut kind_name: Option<String> = None;
        let mut slot: Option<Resource> = None;
        // Fields that came before apiVersion and kind: kept as generic data and read
        // once the kind is known (without source positions in that rare case).
        let mut early: Vec<(String, serde_json::Value)> = Vec::new();
        let mut items: Vec<Resource> = Vec::new();

        let mut first_key: Option<serde_saphyr::Location> = None;
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<String>>()? {
            first_key.get_or_insert(key.referenced);
            let key = key.value;
            match key.as_str() {
                "apiVersion" | "kind" => {
                    let value: serde_saphyr::Spanned<String> = map.next_value()?;
                    let at = value.referenced;
                    if key == "kind" {
                        kind_name = Some(value.value);
                    } else {
                        api_version = Some(value.value);
                    }
                    // Judged as soon as both are known, so the error points here.
                    if let (Some(v), Some(k)) = (&api_version, &kind_name) {
                        classify(v, k).map_err(|e| de::Error::custom(positioned(at, &e)))?;
                    }
                }
                "items" => {
                    let docs: Option<Vec<Document>> = map.next_value()?;
                    items.extend(docs.into_iter().flatten().flat_map(|d| d.0));
                }
                _ => {
                    if slot.is_none() {
                        if let (Some(v), Some(k)) = (&api_version, &kind_name) {
                            match known_kind(v, k) {
                                Some(kind) => slot = Some(empty_resource(kind)),
                                None => {
                                    map.next_value::<IgnoredAny>()?;
                                    continue;
                                }
                            }
                        }
                    }
                    match slot.as_mut() {
                        Some(r) => map.next_value_seed(FieldSeed { key: &key, slot: r })?,
                        None => early.push((key, map.next_value()?)),
                    }
                }
            }
        }

        let kind = match (&api_version, &kind_name) {
            (Some(v), Some(k)) => known_kind(v, k),
            (None, None) if !items.is_empty() => None,
            (v, k) => {
                let missing = match (v, k) {
                    (None, None) => "`apiVersion` and `kind`",
                    (None, _) => "`apiVersion`",
                    _ => "`kind`",
                };
                let message = format!(
                    "this document has no {missing}, so it is no Kubernetes resource; is this \
                     file a Calico manifest?"
                );
                return Err(de::Error::custom(match first_key {
                    Some(at) => positioned(at, &message),
                    None => message,
                }));
            }
        };
        let Some(kind) = kind else {
            return Ok(Document(items));
        };
        let mut r = slot.unwrap_or_else(|| empty_resource(kind));
        for (key, value) in early {
            de::DeserializeSeed::deserialize(
                FieldSeed {
                    key: &key,
                    slot: &mut r,
                },
                value,
            )
            .map_err(de::Error::custom)?;
        }
        items.insert(0, r);
        Ok(Document(items))
    }
}

/// A message for an error found once a value was read, when the YAML reader no longer
/// knows where it was: the position travels in front of the text, and [`parse_str`]
/// takes it back out.
fn positioned(at: serde_saphyr::Location, message: &str) -> String {
    format!(
        "{POSITION_MARK}{}:{}{POSITION_MARK}{message}",
        at.line(),
        at.column()
    )
}

const POSITION_MARK: char = '\u{2063}';

/// The position [`positioned`] put in front of a message, and the message.
fn take_position(message: &str) -> Option<(u64, u64, String)> {
    let rest = message.split_once(POSITION_MARK)?.1;
    let (at, text) = rest.split_once(POSITION_MARK)?;
    let (line, column) = at.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?, text.to_string()))
}

/// Parses a multi-document YAML stream. `origin` names the source in errors, which read
/// `origin:line:column: message`.
pub fn parse_str(origin: &str, text: &str) -> super::Result<Vec<Resource>> {
    let docs: Vec<Document> = serde_saphyr::from_multiple(text).map_err(|e| {
        let file = PathBuf::from(origin);
        let message = crate::text::yaml_message(&e);
        if let Some((line, column, message)) = take_position(&message) {
            return super::CalicoError::At {
                file,
                line,
                column,
                message,
            };
        }
        match e.location() {
            Some(loc) if loc.line() > 0 => super::CalicoError::At {
                file,
                line: loc.line(),
                column: loc.column(),
                message,
            },
            _ => super::CalicoError::InFile { file, message },
        }
    })?;
    Ok(docs.into_iter().flat_map(|d| d.0).collect())
}

/// Reads and parses one manifest file (a regular file of at most
/// [`crate::input::MAX_FILE_BYTES`]).
pub fn load_file(path: &Path) -> super::Result<Vec<Resource>> {
    let text = crate::input::read_text(path)?;
    parse_str(&path.display().to_string(), &text)
}

/// Reads and parses several manifest files, in order.
pub fn load_files(paths: &[PathBuf]) -> super::Result<Vec<Resource>> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(load_file(p)?);
    }
    Ok(out)
}

/// Looks up `key` of Secret `name` among the resources (`stringData` wins over `data`).
pub fn secret_value(resources: &[Resource], r: &SecretKeyRef) -> Option<String> {
    resources.iter().rev().find_map(|res| match res {
        Resource::Secret(meta, body) if meta.name == r.name => {
            body.string_data.get(&r.key).cloned().or_else(|| {
                let raw = body.data.get(&r.key)?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(raw.trim())
                    .ok()?;
                String::from_utf8(bytes).ok()
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_unknown_kinds_and_reads_calico_ones() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 3\n---\napiVersion: crd.projectcalico.org/v1\nkind: BGPPeer\nmetadata:\n  name: rr\nspec:\n  nodeSelector: region == 'WDS'\n  peerIP: 192.168.100.1\n  asNumber: 64512\n";
        let res = parse_str("t.yaml", text).unwrap();
        assert_eq!(res.len(), 1);
        let Resource::BgpPeer(meta, spec) = &res[0] else {
            panic!("not a peer: {res:?}")
        };
        assert_eq!(meta.name, "rr");
        assert_eq!(spec.peer_ip, "192.168.100.1");
        assert_eq!(spec.as_number, AsNumber(64512));
        assert_eq!(spec.node_selector, "region == 'WDS'");
    }

    #[test]
    fn label_values_read_as_calicoctl_reads_them() {
        let text = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata:\n  name: n\n  labels:\n    rr: yes\n    quoted: 'yes'\n    rack: 12\n";
        let res = parse_str("n.yaml", text).unwrap();
        let labels = &res[0].meta().labels;
        assert_eq!(labels["rr"], "true");
        assert_eq!(labels["quoted"], "yes");
        assert_eq!(labels["rack"], "12");
    }

    #[test]
    fn services_and_endpoint_slices_load() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: web}\nspec:\n  type: LoadBalancer\n  clusterIP: 10.96.0.10\n  externalTrafficPolicy: Local\nstatus:\n  loadBalancer:\n    ingress: [{ip: 172.31.0.5}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: s-1\n  labels: {kubernetes.io/service-name: s}\naddressType: IPv4\nendpoints:\n- addresses: [10.42.0.5]\n  nodeName: n1\n  conditions: {ready: false}\n";
        let res = parse_str("s.yaml", text).unwrap();
        let Resource::Service(meta, svc) = &res[0] else {
            panic!("{res:?}")
        };
        assert_eq!(meta.namespace.as_deref(), Some("web"));
        assert_eq!(svc.spec.cluster_ip, "10.96.0.10");
        assert_eq!(svc.status.load_balancer.ingress[0].ip, "172.31.0.5");
        let Resource::EndpointSlice(_, slice) = &res[1] else {
            panic!("{res:?}")
        };
        assert_eq!(slice.endpoints[0].node_name.as_deref(), Some("n1"));
        assert_eq!(slice.endpoints[0].conditions.ready, Some(false));
    }

    #[test]
    fn kind_after_spec_still_loads() {
        let text = "spec:\n  cidr: 10.0.0.0/16\n  ipipMode: Always\nkind: IPPool\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\n";
        let res = parse_str("t.yaml", text).unwrap();
        let Resource::IpPool(meta, spec) = &res[0] else {
            panic!("{res:?}")
        };
        assert_eq!(
            (meta.name.as_str(), spec.ipip_mode.as_str()),
            ("p", "Always")
        );
    }

    #[test]
    fn lists_contribute_items() {
        let text = "apiVersion: projectcalico.org/v3\nkind: BGPConfigurationList\nitems:\n- apiVersion: projectcalico.org/v3\n  kind: BGPConfiguration\n  metadata:\n    name: default\n    creationTimestamp: \"2021-09-05T06:23:50Z\"\n  spec:\n    logSeverityScreen: Info\n    nodeToNodeMeshEnabled: false\n";
        let res = parse_str("t.yaml", text).unwrap();
        let Resource::BgpConfiguration(meta, spec) = &res[0] else {
            panic!("{res:?}")
        };
        assert_eq!(meta.name, "default");
        assert_eq!(spec.node_to_node_mesh_enabled, Some(false));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: x\nspec:\n  asNumber: [1, 2]\n";
        let err = parse_str("peers.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("peers.yaml:6:"), "{err}");
        let dotted = "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: x\nspec:\n  asNumber: 1.10\n";
        let err = parse_str("peers.yaml", dotted).unwrap_err().to_string();
        assert!(
            err.starts_with("peers.yaml:6:") && err.contains("quote it"),
            "{err}"
        );
    }

    #[test]
    fn as_numbers_in_every_notation() {
        assert_eq!("64512".parse::<AsNumber>(), Ok(AsNumber(64512)));
        assert_eq!("1.10".parse::<AsNumber>(), Ok(AsNumber(65546)));
        assert!("x".parse::<AsNumber>().is_err());
    }

    #[test]
    fn secrets_resolve_from_data_and_string_data() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: bgp}\ndata:\n  a: c2VjcmV0\nstringData:\n  b: plain\n";
        let res = parse_str("s.yaml", text).unwrap();
        let get = |k: &str| {
            secret_value(
                &res,
                &SecretKeyRef {
                    name: "bgp".into(),
                    key: k.into(),
                },
            )
        };
        assert_eq!(get("a").as_deref(), Some("secret"));
        assert_eq!(get("b").as_deref(), Some("plain"));
        assert_eq!(get("c"), None);
    }
}
