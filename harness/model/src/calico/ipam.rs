//! IPAM block affinities: which address blocks of a pool belong to which node.
//!
//! Calico hands each node blocks of `blockSize` carved from an IP pool and records an
//! affinity (confirmed, pending, ...) per block. routelab decides them up front and
//! deterministically: nodes sorted by name take consecutive blocks from the start of the
//! pool, unless a node is pinned to a block of its own choosing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use super::error::bail;
use ipnet::IpNet;

/// The state of a block affinity as confd sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AffinityState {
    /// No state recorded: treated as confirmed.
    None,
    Confirmed,
    /// Not yet claimed: confd ignores the block entirely.
    Pending,
    /// Being released: still blackholed, no longer aggregated.
    PendingDeletion,
}

impl AffinityState {
    /// The word used in the `CIDR:STATE` notation and in Calico's datastore.
    pub fn as_str(self) -> &'static str {
        match self {
            AffinityState::None => "none",
            AffinityState::Confirmed => "confirmed",
            AffinityState::Pending => "pending",
            AffinityState::PendingDeletion => "pendingDeletion",
        }
    }
}

impl FromStr for AffinityState {
    type Err = super::CalicoError;
    fn from_str(s: &str) -> super::Result<Self> {
        Ok(match s {
            "none" | "" => AffinityState::None,
            "confirmed" => AffinityState::Confirmed,
            "pending" => AffinityState::Pending,
            "pendingDeletion" => AffinityState::PendingDeletion,
            _ => bail!("unknown block state {s:?} (none, confirmed, pending, pendingDeletion)"),
        })
    }
}

/// A block affine to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockAffinity {
    pub cidr: IpNet,
    pub state: AffinityState,
}

impl fmt::Display for BlockAffinity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.cidr, self.state.as_str())
    }
}

/// Parses `CIDR` or `CIDR:STATE` (IPv6 CIDRs contain colons too, so the state is only
/// split off when the text after the last colon is a state word).
impl FromStr for BlockAffinity {
    type Err = super::CalicoError;
    fn from_str(s: &str) -> super::Result<Self> {
        let (cidr, state) = match s.rsplit_once(':') {
            Some((c, st)) if st.parse::<AffinityState>().is_ok() && !st.is_empty() => {
                (c, st.parse()?)
            }
            _ => (s, AffinityState::None),
        };
        let cidr: IpNet = cidr.parse().map_err(|e| {
            super::CalicoError::Invalid(format!("bad block {s:?}: {e} (expected CIDR[:STATE])"))
        })?;
        Ok(BlockAffinity {
            cidr: cidr.trunc(),
            state,
        })
    }
}

/// Gives every node one block of `block_size` from `pool`.
///
/// Pinned nodes get their pin (which must be a block of the pool of the right size);
/// the others, sorted by name, take the lowest free blocks in order. Fails when the pool
/// runs out of blocks or when pins are invalid or collide.
pub fn allocate_blocks(
    pool: IpNet,
    block_size: u8,
    nodes: &[String],
    pins: &BTreeMap<String, IpNet>,
) -> super::Result<BTreeMap<String, IpNet>> {
    let pool = pool.trunc();
    if block_size < pool.prefix_len() || block_size > pool.max_prefix_len() {
        bail!("block size /{block_size} does not fit pool {pool}");
    }
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for (node, pin) in pins {
        if !nodes.contains(node) {
            continue;
        }
        if pin.prefix_len() != block_size || pin.trunc() != *pin || !pool.contains(pin) {
            bail!("block {pin} pinned to {node} is not a /{block_size} block of pool {pool}");
        }
        if !taken.insert(*pin) {
            bail!("block {pin} is pinned to more than one node");
        }
        out.insert(node.clone(), *pin);
    }
    let mut sorted: Vec<&String> = nodes.iter().filter(|n| !pins.contains_key(*n)).collect();
    sorted.sort();
    sorted.dedup();
    let mut free = pool
        .subnets(block_size)
        .map_err(|e| super::CalicoError::Invalid(format!("pool {pool}: {e}")))?
        .filter(|b| !taken.contains(b));
    for node in sorted {
        let Some(block) = free.next() else {
            bail!("pool {pool} has no /{block_size} block left for node {node}");
        };
        out.insert(node.clone(), block);
    }
    Ok(out)
}

/// Block affinities for every node of a cluster: for each enabled pool, the nodes its
/// `nodeSelector` matches get one confirmed block each, by [`allocate_blocks`]. A node's
/// pins are used for the pool that contains them.
pub fn cluster_affinities(
    cluster: &super::cluster::Cluster,
    pins: &BTreeMap<String, Vec<IpNet>>,
) -> super::Result<BTreeMap<String, Vec<BlockAffinity>>> {
    let mut out: BTreeMap<String, Vec<BlockAffinity>> = BTreeMap::new();
    for pool in cluster.pools.iter().filter(|p| !p.disabled) {
        let selector = if pool.node_selector.trim().is_empty() {
            "all()"
        } else {
            pool.node_selector.as_str()
        };
        let nodes = cluster.nodes_matching(selector);
        let pool_pins: BTreeMap<String, IpNet> = pins
            .iter()
            .filter_map(|(node, nets)| {
                let pin = nets.iter().find(|n| pool.cidr.contains(*n))?;
                Some((node.clone(), *pin))
            })
            .collect();
        let blocks = allocate_blocks(pool.cidr, pool.block_size, &nodes, &pool_pins)
            .map_err(|e| super::CalicoError::Invalid(format!("IPPool {}: {e}", pool.name)))?;
        for (node, cidr) in blocks {
            out.entry(node).or_default().push(BlockAffinity {
                cidr,
                state: AffinityState::Confirmed,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_pools_give_selected_nodes_a_block_each() {
        let text = "
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: b, labels: {zone: x}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: a}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: all}
spec: {cidr: 10.42.0.0/16, blockSize: 24}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: zoned}
spec: {cidr: 'fd00:42::/64', nodeSelector: zone == 'x'}
";
        let res = crate::calico::resources::parse_str("t", text).unwrap();
        let cluster = crate::calico::cluster::Cluster::from_resources(&res).unwrap();
        let pins = BTreeMap::from([("b".to_string(), vec!["10.42.7.0/24".parse().unwrap()])]);
        let got = cluster_affinities(&cluster, &pins).unwrap();
        let show = |n: &str| got[n].iter().map(|b| b.to_string()).collect::<Vec<_>>();
        assert_eq!(show("a"), ["10.42.0.0/24:confirmed"]);
        assert_eq!(
            show("b"),
            ["10.42.7.0/24:confirmed", "fd00:42::/122:confirmed"]
        );
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nodes_sorted_by_name_take_consecutive_blocks() {
        let pool: IpNet = "10.42.0.0/16".parse().unwrap();
        let got = allocate_blocks(pool, 26, &names(&["b", "a", "c"]), &BTreeMap::new()).unwrap();
        assert_eq!(got["a"].to_string(), "10.42.0.0/26");
        assert_eq!(got["b"].to_string(), "10.42.0.64/26");
        assert_eq!(got["c"].to_string(), "10.42.0.128/26");
    }

    #[test]
    fn pins_are_kept_and_skipped() {
        let pool: IpNet = "10.42.0.0/16".parse().unwrap();
        let pins = BTreeMap::from([("b".to_string(), "10.42.0.0/26".parse().unwrap())]);
        let got = allocate_blocks(pool, 26, &names(&["a", "b"]), &pins).unwrap();
        assert_eq!(got["b"].to_string(), "10.42.0.0/26");
        assert_eq!(got["a"].to_string(), "10.42.0.64/26");
        let bad = BTreeMap::from([("b".to_string(), "10.43.0.0/26".parse().unwrap())]);
        assert!(allocate_blocks(pool, 26, &names(&["b"]), &bad).is_err());
    }

    #[test]
    fn exhaustion_is_an_error() {
        let pool: IpNet = "10.0.0.0/30".parse().unwrap();
        assert!(allocate_blocks(pool, 31, &names(&["a", "b", "c"]), &BTreeMap::new()).is_err());
    }

    #[test]
    fn affinity_notation() {
        let b: BlockAffinity = "192.168.221.0/26:pending".parse().unwrap();
        assert_eq!(b.state, AffinityState::Pending);
        let b: BlockAffinity = "fd00::/122".parse().unwrap();
        assert_eq!(
            (b.cidr.to_string().as_str(), b.state),
            ("fd00::/122", AffinityState::None)
        );
        let b: BlockAffinity = "fd00::/122:confirmed".parse().unwrap();
        assert_eq!(b.state, AffinityState::Confirmed);
        assert!("10.0.0.0/33".parse::<BlockAffinity>().is_err());
    }
}
