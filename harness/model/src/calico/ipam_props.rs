//! Property test of block allocation: every node gets one block, inside the pool, of the
//! pool's block size, distinct from every other node's, pins respected.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

use super::ipam::allocate_blocks;

/// A pool with room for at least 16 blocks, and its block size.
fn pool() -> impl Strategy<Value = (IpNet, u8)> {
    let v4 = (any::<u32>(), 8u8..=24, 4u8..=8).prop_map(|(addr, len, extra)| {
        let net = Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc();
        (IpNet::V4(net), len + extra)
    });
    let v6 = (any::<u128>(), 48u8..=112, 4u8..=16).prop_map(|(addr, len, extra)| {
        let net = Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap().trunc();
        (IpNet::V6(net), len + extra)
    });
    prop_oneof![v4, v6]
}

proptest! {
    #[test]
    fn blocks_are_inside_sized_and_distinct(
        (pool, size) in pool(),
        names in prop::collection::btree_set("[a-z]{1,6}", 1..16),
        pin_index in prop::option::of(0usize..16),
        pin_first in any::<bool>(),
    ) {
        let nodes: Vec<String> = names.iter().cloned().collect();
        // Optionally pin one node to some block of the pool (the last one or the
        // first one, so that the automatic allocation has to skip it).
        let mut pins = BTreeMap::new();
        if let Some(i) = pin_index {
            let node = &nodes[i % nodes.len()];
            let blocks = pool.subnets(size).unwrap();
            let block = if pin_first { blocks.clone().next() } else { blocks.last() };
            pins.insert(node.clone(), block.unwrap());
        }
        let got = allocate_blocks(pool, size, &nodes, &pins).unwrap();
        prop_assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), names.clone());
        let mut seen = BTreeSet::new();
        for (node, block) in &got {
            prop_assert!(pool.contains(block), "{block} outside {pool}");
            prop_assert_eq!(block.prefix_len(), size);
            prop_assert_eq!(block.trunc(), *block);
            prop_assert!(seen.insert(*block), "{block} given twice");
            if let Some(pin) = pins.get(node) {
                prop_assert_eq!(pin, block);
            }
        }
        // Deterministic: the same input gives the same answer.
        prop_assert_eq!(allocate_blocks(pool, size, &nodes, &pins).unwrap(), got);
    }
}
