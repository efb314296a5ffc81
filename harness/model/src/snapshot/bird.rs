//! BIRD's `show route primary all`, as BIRD 2 and BIRD 1.6 print it, reduced to what a
//! snapshot keeps: per prefix, the protocol, the next hops and the BGP attributes that
//! decide where traffic goes. The bracket after the route type holds when the route was
//! learnt (and in BIRD 2 from which router); it is dropped.
//!
//! ```text
//! BIRD 2:   10.1.0.0/24   unicast [r2 00:55:56.505] * (100) [AS65002i]
//!               via 192.0.2.2 on eth0 weight 1
//! BIRD 1.6: 10.1.0.0/24   via 192.0.2.2 on eth0 [r2 12:00:00] * (100/0) [i]
//! ```

use std::collections::BTreeMap;

use super::BirdRoute;

/// The attributes kept, by their name after `BGP.`.
const KEPT: &[&str] = &[
    "origin",
    "as_path",
    "next_hop",
    "local_pref",
    "community",
    "large_community",
    "ext_community",
];

/// Parses `show route primary all` text (without the greeting). Lines it does not know are
/// skipped: the output is read, not validated.
pub fn parse_best_routes(text: &str) -> BTreeMap<String, BirdRoute> {
    let mut routes = BTreeMap::new();
    let mut current: Option<(String, BirdRoute)> = None;
    for line in text.lines() {
        if line.starts_with("Table ") || line.trim().is_empty() {
            continue;
        }
        // A route's first line starts with its prefix; the lines after it are indented
        // as birdc prints them, but the control socket may not keep the indentation.
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.parse::<ipnet::IpNet>().is_ok() {
            if let Some((prefix, route)) = current.take() {
                routes.insert(prefix, route);
            }
            let Some((prefix, rest)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let mut route = BirdRoute::default();
            let (head, bracket) = match rest.split_once('[') {
                Some((head, bracket)) => (head.trim(), bracket),
                None => (rest.trim(), ""),
            };
            route.protocol = bracket
                .split([' ', ']'])
                .next()
                .unwrap_or_default()
                .to_string();
            // BIRD 1.6 puts the first next hop on the route's own line.
            if let Some(hop) = next_hop(head) {
                route.nexthops.insert(hop);
            }
            current = Some((prefix.to_string(), route));
            continue;
        }
        let Some((_, route)) = current.as_mut() else {
            continue;
        };
        let body = line.trim();
        if let Some(hop) = next_hop(body) {
            route.nexthops.insert(hop);
        } else if let Some(attr) = body.strip_prefix("BGP.")
            && let Some((name, value)) = attr.split_once(':')
            && KEPT.contains(&name)
        {
            route.bgp.insert(
                name.to_string(),
                crate::snapshot::mask_link_local(value.trim()),
            );
        }
    }
    if let Some((prefix, route)) = current {
        routes.insert(prefix, route);
    }
    routes
}

/// `via A on DEV`, `dev DEV`, `blackhole`, `unreachable`, as a next hop; `None` for other
/// text. The ECMP `weight` stays: a changed weight moves traffic.
fn next_hop(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["via", addr, "on", dev, rest @ ..] => Some(format!(
            "via {} dev {dev}{}",
            crate::snapshot::mask_link_local(addr),
            rest.iter().map(|w| format!(" {w}")).collect::<String>()
        )),
        ["dev", dev, ..] => Some(format!("dev {dev}")),
        [kind @ ("blackhole" | "unreachable" | "prohibit"), ..] => Some((*kind).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bird2_route_reflector() {
        let routes = parse_best_routes(include_str!("fixtures/bird2-rr.txt"));
        assert_eq!(routes.len(), 3);
        let r = &routes["203.0.113.0/24"];
        assert_eq!(r.protocol, "to_ext");
        assert_eq!(
            r.nexthops.iter().collect::<Vec<_>>(),
            ["via 10.0.1.2 dev eth0"]
        );
        assert_eq!(r.bgp["as_path"], "65002");
        assert_eq!(r.bgp["next_hop"], "10.0.1.2");
        assert_eq!(r.bgp["local_pref"], "100");
        assert_eq!(r.bgp["origin"], "IGP");
        let direct = &routes["10.0.2.0/30"];
        assert_eq!(direct.protocol, "direct1");
        assert_eq!(direct.nexthops.iter().collect::<Vec<_>>(), ["dev eth1"]);
        assert!(direct.bgp.is_empty());
    }

    #[test]
    fn bird2_ecmp_next_hops_are_a_set() {
        let routes = parse_best_routes(include_str!("fixtures/bird2-ecmp-r1.txt"));
        let r = &routes["10.244.122.64/26"];
        // The bracket's `from 192.168.219.10` is not part of the protocol's name.
        assert_eq!(r.protocol, "r2");
        assert_eq!(
            r.nexthops.iter().collect::<Vec<_>>(),
            [
                "via 20.20.20.20 dev g0-0-0 weight 1",
                "via 30.30.30.20 dev g0-0-2 weight 1"
            ]
        );
        assert_eq!(r.bgp["next_hop"], "192.168.219.10");
    }

    #[test]
    fn bird16_calico_node() {
        let routes = parse_best_routes(include_str!("fixtures/bird16-calico-node1.txt"));
        let r = &routes["10.42.0.64/26"];
        assert_eq!(r.protocol, "Mesh_10_0_0_12");
        assert_eq!(
            r.nexthops.iter().collect::<Vec<_>>(),
            ["via 10.0.0.12 dev eth0"]
        );
        assert_eq!(r.bgp["as_path"], "");
        assert_eq!(r.bgp["local_pref"], "2147482623");
        assert_eq!(
            routes["10.42.0.0/26"].nexthops.iter().collect::<Vec<_>>(),
            ["blackhole"]
        );
        assert_eq!(routes["0.0.0.0/0"].protocol, "kernel1");
        assert_eq!(
            routes["10.42.0.1/32"].nexthops.iter().collect::<Vec<_>>(),
            ["dev cali099b1771ab9"]
        );
        // Kernel.* attributes are not BGP's.
        assert!(routes["0.0.0.0/0"].bgp.is_empty());
    }
}
