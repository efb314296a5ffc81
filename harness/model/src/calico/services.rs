//! Service advertisement: the per-service host routes (`/32`, `/128`) a node advertises
//! when it runs a local endpoint of a Kubernetes Service, as calico-node's route
//! generator decides from Services and EndpointSlices.

use ipnet::IpNet;
use std::net::IpAddr;

use super::resources::{EndpointSliceBody, ObjectMeta, ServiceBody};

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What the cluster's BGPConfiguration allows to be advertised.
#[derive(Debug, Clone, Default)]
pub struct AdvertisePolicy {
    /// Whether cluster IPs are advertised at all (serviceClusterIPs is set).
    pub cluster_ips: bool,
    pub external_ranges: Vec<IpNet>,
    pub load_balancer_ranges: Vec<IpNet>,
    /// serviceLoadBalancerAggregation is Enabled (the default).
    pub aggregate_load_balancers: bool,
}

fn in_ranges(ip: &str, ranges: &[IpNet]) -> bool {
    ip.parse::<IpAddr>()
        .is_ok_and(|ip| ranges.iter().any(|r| r.contains(&ip)))
}

fn in_single_ranges(ip: &str, ranges: &[IpNet]) -> bool {
    ip.parse::<IpAddr>().is_ok_and(|ip| {
        ranges
            .iter()
            .any(|r| r.prefix_len() == r.max_prefix_len() && r.contains(&ip))
    })
}

fn family(ip: &str) -> &'static str {
    if ip.contains(':') { "IPv6" } else { "IPv4" }
}

/// Whether `node` should advertise the service.
fn advertise(
    meta: &ObjectMeta,
    svc: &ServiceBody,
    slices: &[(&ObjectMeta, &EndpointSliceBody)],
    node: &str,
    policy: &AdvertisePolicy,
) -> bool {
    let spec = &svc.spec;
    let kind = if spec.type_.is_empty() {
        "ClusterIP"
    } else {
        spec.type_.as_str()
    };
    if !matches!(kind, "ClusterIP" | "NodePort" | "LoadBalancer") {
        return false;
    }
    if spec.cluster_ip.is_empty() || spec.cluster_ip == "None" {
        return false;
    }
    let local_policy = spec.external_traffic_policy == "Local";
    if spec.external_traffic_policy == "Cluster" {
        let lb_ips = std::iter::once(&spec.load_balancer_ip)
            .chain(svc.status.load_balancer.ingress.iter().map(|i| &i.ip));
        if kind == "LoadBalancer"
            && lb_ips
                .into_iter()
                .any(|ip| in_single_ranges(ip, &policy.load_balancer_ranges))
        {
            return true;
        }
        if spec
            .external_ips
            .iter()
            .any(|ip| in_single_ranges(ip, &policy.external_ranges))
        {
            return true;
        }
    }
    if !local_policy && policy.aggregate_load_balancers {
        return false;
    }
    let families: Vec<String> = if spec.ip_families.is_empty() {
        cluster_ips(svc)
            .iter()
            .map(|ip| family(ip).to_string())
            .collect()
    } else {
        spec.ip_families.clone()
    };
    let ns = meta.namespace.as_deref().unwrap_or("default");
    slices
        .iter()
        .filter(|(m, _)| {
            m.labels.get(SERVICE_NAME_LABEL) == Some(&meta.name)
                && m.namespace.as_deref().unwrap_or("default") == ns
        })
        .filter(|(_, s)| families.contains(&s.address_type))
        .flat_map(|(_, s)| &s.endpoints)
        .filter(|e| e.conditions.ready != Some(false))
        .any(|e| !local_policy || e.node_name.as_deref() == Some(node))
}

fn cluster_ips(svc: &ServiceBody) -> Vec<String> {
    if svc.spec.cluster_ips.is_empty() {
        vec![svc.spec.cluster_ip.clone()]
    } else {
        svc.spec.cluster_ips.clone()
    }
}

/// The host routes `node` advertises for the services, as CIDR strings.
pub fn service_routes(
    services: &[(&ObjectMeta, &ServiceBody)],
    slices: &[(&ObjectMeta, &EndpointSliceBody)],
    node: &str,
    policy: &AdvertisePolicy,
) -> Vec<String> {
    let mut out = Vec::new();
    for (meta, svc) in services {
        if !advertise(meta, svc, slices, node, policy) {
            continue;
        }
        let mut ips = Vec::new();
        if policy.cluster_ips {
            ips.extend(cluster_ips(svc));
        }
        ips.extend(
            svc.spec
                .external_ips
                .iter()
                .filter(|ip| in_ranges(ip, &policy.external_ranges))
                .cloned(),
        );
        ips.extend(
            svc.status
                .load_balancer
                .ingress
                .iter()
                .filter(|i| in_ranges(&i.ip, &policy.load_balancer_ranges))
                .map(|i| i.ip.clone()),
        );
        for ip in ips {
            let len = if ip.contains(':') { 128 } else { 32 };
            let route = format!("{ip}/{len}");
            if !out.contains(&route) {
                out.push(route);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calico::resources::{Endpoint, ServiceSpec};

    fn meta(name: &str, svc_label: Option<&str>) -> ObjectMeta {
        let mut m = ObjectMeta {
            name: name.into(),
            ..Default::default()
        };
        if let Some(s) = svc_label {
            m.labels.insert(SERVICE_NAME_LABEL.into(), s.into());
        }
        m
    }

    #[test]
    fn local_services_are_advertised_only_where_an_endpoint_runs() {
        let svc = ServiceBody {
            spec: ServiceSpec {
                type_: "LoadBalancer".into(),
                cluster_ip: "10.101.0.101".into(),
                external_traffic_policy: "Local".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let slice = EndpointSliceBody {
            address_type: "IPv4".into(),
            endpoints: vec![Endpoint {
                addresses: vec!["192.168.2.1".into()],
                node_name: Some("a".into()),
                ..Default::default()
            }],
        };
        let m = meta("s", None);
        let sm = meta("s-1", Some("s"));
        let policy = AdvertisePolicy {
            cluster_ips: true,
            aggregate_load_balancers: true,
            ..Default::default()
        };
        let services = [(&m, &svc)];
        let slices = [(&sm, &slice)];
        assert_eq!(
            service_routes(&services, &slices, "a", &policy),
            ["10.101.0.101/32"]
        );
        assert!(service_routes(&services, &slices, "b", &policy).is_empty());
        let off = AdvertisePolicy {
            cluster_ips: false,
            ..policy
        };
        assert!(service_routes(&services, &slices, "a", &off).is_empty());
    }
}
