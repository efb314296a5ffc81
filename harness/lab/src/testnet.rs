//! The small real topologies of the live tests (probes, BIRD daemons), built the way
//! `routelab run` builds a scenario: YAML, [`scenario::load_str`], [`planner::plan`],
//! [`Lab::build`].
//!
//! Each call builds a lab of its own, so tests run in parallel without sharing kernel state
//! such as cached path MTUs or ICMP rate-limit buckets. Dropping what is returned drops the
//! [`Lab`], which tears it all down.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlink_packet_route::link::{LinkAttribute, State};
use rtnetlink::Handle;

use crate::lab::{Lab, Mode};
use crate::net::Netns;
use routelab_model::plan::Plan;
use routelab_model::planner;
use routelab_model::scenario::{self, Scenario};

pub(crate) const H1_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
pub(crate) const R_H1_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
pub(crate) const R_H2_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
pub(crate) const H2_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
pub(crate) const H1_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
pub(crate) const R_H1_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 1);
pub(crate) const R_H2_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 1);
pub(crate) const H2_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 2);

/// Addresses that r, the only router of the chain, has no route to.
pub(crate) const UNROUTED_V4: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 9);
pub(crate) const UNROUTED_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 9);

/// The chain `h1 - r - h2`: r forwards between two wires (`kind: router`) and has only
/// their connected routes, so anything else is unrouted there; the hosts have default
/// routes through r; IPv4 and IPv6 on every link. h1 - r has MTU 1500, r - h2 `r_h2_mtu`.
fn chain_yaml(r_h2_mtu: u32) -> String {
    format!(
        r#"name: chain
nodes:
  h1:
    routes:
      - to: default
        via: {R_H1_V4}
      - to: default6
        via: "{R_H1_V6}"
  r:
    kind: router
  h2:
    routes:
      - to: default
        via: {R_H2_V4}
      - to: default6
        via: "{R_H2_V6}"
links:
  - wire:
      name: h1-r
      mtu: 1500
      ends:
        - node: h1
          interface: eth0
          addresses: [{H1_V4}/24, "{H1_V6}/64"]
        - node: r
          interface: to-h1
          addresses: [{R_H1_V4}/24, "{R_H1_V6}/64"]
  - wire:
      name: r-h2
      mtu: {r_h2_mtu}
      ends:
        - node: r
          interface: to-h2
          addresses: [{R_H2_V4}/24, "{R_H2_V6}/64"]
        - node: h2
          interface: eth0
          addresses: [{H2_V4}/24, "{H2_V6}/64"]
"#
    )
}

/// A built chain (see [`chain_yaml`]). The namespaces stay usable as long as it lives.
pub(crate) struct Chain {
    pub h1: Arc<Netns>,
    pub r: Arc<Netns>,
    pub h2: Arc<Netns>,
    _lab: Lab,
}

/// Builds the chain, ready for traffic; the r - h2 link has MTU `r_h2_mtu`.
pub(crate) async fn chain(r_h2_mtu: u32) -> Result<Chain, String> {
    build_chain(scenario(&chain_yaml(r_h2_mtu))?).await
}

/// Builds the chain with `ruleset` loaded into r's nftables.
pub(crate) async fn chain_with_firewall_on_r(
    r_h2_mtu: u32,
    ruleset: &str,
) -> Result<Chain, String> {
    let mut scenario = scenario(&chain_yaml(r_h2_mtu))?;
    // The test's own ruleset, put where a node's `nftables:` puts it: Lab::build loads it
    // once the links exist, as it does for a scenario file.
    scenario
        .nodes
        .iter_mut()
        .find(|n| n.name == "r")
        .expect("the chain has r")
        .nftables = Some(ruleset.to_string());
    build_chain(scenario).await
}

async fn build_chain(scenario: Scenario) -> Result<Chain, String> {
    let (lab, plan) = build(&scenario).await?;
    wait_ready(&lab, &plan).await?;
    Ok(Chain {
        h1: node(&lab, "h1")?,
        r: node(&lab, "r")?,
        h2: node(&lab, "h2")?,
        _lab: lab,
    })
}

pub(crate) const A_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(crate) const B_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Two hosts joined by a wire: `va` ([`A_ADDR`]/30) in `a`, `vb` ([`B_ADDR`]/30) in `b`.
fn pair_yaml() -> String {
    format!(
        r#"name: pair
nodes:
  a: {{}}
  b: {{}}
links:
  - wire:
      name: a-b
      ends:
        - node: a
          interface: va
          addresses: [{A_ADDR}/30]
        - node: b
          interface: vb
          addresses: [{B_ADDR}/30]
"#
    )
}

/// A built pair (see [`pair_yaml`]).
pub(crate) struct Pair {
    pub a: Arc<Netns>,
    pub b: Arc<Netns>,
    pub lab: Lab,
}

/// Builds the pair. It does not wait for the link to carry traffic: BGP and OSPF retry
/// until they get through, and the tests wait for those.
pub(crate) async fn pair() -> Result<Pair, String> {
    let (lab, _) = build(&scenario(&pair_yaml())?).await?;
    Ok(Pair {
        a: node(&lab, "a")?,
        b: node(&lab, "b")?,
        lab,
    })
}

/// Loads a test topology. A warning is an error here: it would mean a mistake in the text.
fn scenario(yaml: &str) -> Result<Scenario, String> {
    let file = Path::new("testnet.yaml");
    let (scenario, warnings) = scenario::load_str(file, yaml).map_err(|d| d.to_string())?;
    if !warnings.0.is_empty() {
        return Err(warnings.to_string());
    }
    Ok(scenario)
}

async fn build(scenario: &Scenario) -> Result<(Lab, Plan), String> {
    let plan = planner::plan(scenario);
    let lab = Lab::build(&plan, Mode::Ephemeral)
        .await
        .map_err(|e| e.to_string())?;
    Ok((lab, plan))
}

fn node(lab: &Lab, name: &str) -> Result<Arc<Netns>, String> {
    lab.netns(name)
        .ok_or_else(|| format!("no node `{name}` in the lab"))
}

/// How long links get to become usable.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until every interface of the plan can carry traffic.
///
/// [`Lab::build`] returns once the kernel has taken the configuration, which is enough for
/// `routelab run`: its checks retry until their deadline. These tests send single probes
/// and expect exact answers, so they first wait for what the kernel finishes afterwards,
/// on its own schedule:
/// - every veth end operationally up: the kernel marks links so in batches across all
///   namespaces, up to a second after the carrier comes up, and drops what is sent
///   through them until then;
/// - every IPv6 address's solicited-node multicast group joined: until then its interface
///   ignores neighbour solicitations for the address.
async fn wait_ready(lab: &Lab, plan: &Plan) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut handles: BTreeMap<&str, Handle> = BTreeMap::new();
    for ns in &plan.namespaces {
        let netns = node(lab, &ns.name)?;
        let handle = crate::net::netlink::connect(&netns).map_err(|e| e.to_string())?;
        handles.insert(&ns.name, handle);
    }
    for end in plan.veths.iter().flat_map(|v| [&v.a, &v.b]) {
        loop {
            let state = operstate(&handles[end.ns.as_str()], &end.name).await?;
            if state == State::Up {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} in {} not operationally up after {READY_TIMEOUT:?} ({state:?})",
                    end.name, end.ns
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for a in &plan.addresses {
        let IpAddr::V6(v6) = a.address.addr() else {
            continue;
        };
        let netns = node(lab, &a.ns)?;
        let group = solicited_node_hex(v6);
        loop {
            let igmp6 = netns
                .run(|| std::fs::read_to_string("/proc/thread-self/net/igmp6"))
                .and_then(|read| read)
                .map_err(|e| format!("reading igmp6 of {}: {e}", a.ns))?;
            let joined = igmp6.lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1) == Some(&a.interface.as_str()) && fields.get(2) == Some(&&*group)
            });
            if joined {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} in {} not in the solicited-node group of {v6} after {READY_TIMEOUT:?}",
                    a.interface, a.ns
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

/// The solicited-node multicast group of `addr` (ff02::1:ffXX:XXXX), as 32 hex digits the
/// way `/proc/net/igmp6` lists groups.
fn solicited_node_hex(addr: Ipv6Addr) -> String {
    let o = addr.octets();
    format!(
        "ff0200000000000000000001ff{:02x}{:02x}{:02x}",
        o[13], o[14], o[15]
    )
}

async fn operstate(handle: &Handle, name: &str) -> Result<State, String> {
    let link = crate::net::netlink::find_link(handle, name)
        .await
        .map_err(|e| format!("looking up {name}: {e}"))?
        .ok_or_else(|| format!("no link {name}"))?;
    Ok(link
        .attributes
        .iter()
        .find_map(|attr| match attr {
            LinkAttribute::OperState(state) => Some(*state),
            _ => None,
        })
        .unwrap_or(State::Unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_groups_are_spelled_as_igmp6_lists_them() {
        assert_eq!(
            solicited_node_hex(R_H1_V6),
            "ff0200000000000000000001ff000001"
        );
        assert_eq!(
            solicited_node_hex("fe80::4a0:d1ff:fe1d:13f8".parse().unwrap()),
            "ff0200000000000000000001ff1d13f8"
        );
    }

    #[test]
    fn the_test_topologies_are_valid_scenarios() {
        for yaml in [chain_yaml(1420), pair_yaml()] {
            scenario(&yaml).unwrap();
        }
    }
}
