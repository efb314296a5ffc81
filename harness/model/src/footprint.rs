//! How much of the machine a plan takes: namespaces, processes and memory, estimated from
//! figures measured on a Debian 6.x kernel, x86_64 (see the README's "How big a lab can
//! be"):
//!
//! - a namespace with `lo` up and one veth pair: the kernel's Slab, Percpu, PageTables and
//!   KernelStack grew by 55 to 61 MiB for 200 of them, about 0.3 MiB each;
//! - the daemons of the shipped scenarios under `routelab run scenarios/ -j 2`, sampled
//!   from `/proc/PID/smaps_rollup` and `status` every 5 s (49 BIRD 2 and 14 BIRD 1.6.8
//!   samples): BIRD 2 4.9 MiB resident, of which 0.95 MiB proportional (Pss) and 0.8 MiB
//!   private, page tables 56 KiB; BIRD 1.6.8 2.1-2.4 MiB resident, 0.27 MiB Pss, 0.22 MiB
//!   private. The rest of each resident set is the binary and its libraries, in memory
//!   once however many daemons share them.
//!
//! So a daemon costs its private memory and page tables, rounded up for tables larger
//! than the scenarios' (1.5 MiB for BIRD 2, 0.5 MiB for BIRD 1.6), and each kind that runs
//! costs its shared pages once (4 and 2 MiB). Summing resident sets, as the scale bench's
//! "BIRDs MiB" does, counts the shared pages once per daemon: an upper bound.
//! The comparison with what the machine has is made by the lab (it reads the machine).

use serde::Serialize;

use crate::plan::{DaemonKind, Plan};

/// Kernel memory per namespace, with its share of veths (KiB).
pub const KIB_PER_NAMESPACE: u64 = 300;
/// Kernel memory per veth pair beyond one per namespace (KiB; a veth pair is most of
/// what a namespace costs).
pub const KIB_PER_VETH: u64 = 100;
/// Private memory and page tables of one BIRD 2 (KiB).
pub const KIB_PER_BIRD2: u64 = 1536;
/// Private memory and page tables of one BIRD 1.6 (KiB).
pub const KIB_PER_BIRD1: u64 = 512;
/// BIRD 2's binary and libraries, shared by all of them (KiB).
pub const KIB_SHARED_BIRD2: u64 = 4 * 1024;
/// BIRD 1.6's binary and libraries, shared by all of them (KiB).
pub const KIB_SHARED_BIRD1: u64 = 2 * 1024;

/// What a plan needs of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Footprint {
    pub namespaces: u64,
    pub veths: u64,
    /// BIRD processes.
    pub processes: u64,
    /// Kernel and process memory, KiB.
    pub memory_kib: u64,
}

impl Footprint {
    pub fn of(plan: &Plan) -> Footprint {
        let namespaces = plan.namespaces.len() as u64;
        let veths = plan.veths.len() as u64;
        let count =
            |kind: DaemonKind| plan.daemons.iter().filter(|d| d.kind == kind).count() as u64;
        let (bird2, bird1) = (
            count(DaemonKind::Bird2),
            count(DaemonKind::CalicoBird) + count(DaemonKind::CalicoBird6),
        );
        let shared = |n: u64, kib: u64| if n > 0 { kib } else { 0 };
        let processes = bird2 + bird1;
        let daemons_kib = bird2 * KIB_PER_BIRD2
            + bird1 * KIB_PER_BIRD1
            + shared(bird2, KIB_SHARED_BIRD2)
            + shared(bird1, KIB_SHARED_BIRD1);
        Footprint {
            namespaces,
            veths,
            processes,
            memory_kib: namespaces * KIB_PER_NAMESPACE
                + veths.saturating_sub(namespaces) * KIB_PER_VETH
                + daemons_kib,
        }
    }
}

impl std::fmt::Display for Footprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} namespaces, {} veth pairs, {} BIRD processes, about {} MiB of memory",
            self.namespaces,
            self.veths,
            self.processes,
            self.memory_kib.div_ceil(1024)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{ClusterShape, calico_cluster};

    /// A generated cluster of 300 calico nodes, planned from its files as `check` plans it.
    #[test]
    fn a_generated_cluster_is_estimated_from_its_plan() {
        let generated = calico_cluster(&ClusterShape::new("big", 300)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in &generated.files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let (scenario, _) = crate::scenario::load(&dir.path().join(&generated.scenario))
            .unwrap_or_else(|d| panic!("{d}"));
        let need = Footprint::of(&crate::planner::plan(&scenario));
        assert_eq!(need.namespaces, generated.namespaces as u64);
        assert_eq!(need.processes, generated.daemons as u64);
        // 300 nodes, 300 pods, the core and 3 rack bridges; a veth per node on its rack
        // bridge, per pod, and the core's on each bridge.
        assert_eq!(
            (need.namespaces, need.veths, need.processes),
            (604, 603, 301)
        );
        let kib = 604 * KIB_PER_NAMESPACE
            + KIB_PER_BIRD2
            + KIB_SHARED_BIRD2
            + 300 * KIB_PER_BIRD1
            + KIB_SHARED_BIRD1;
        assert_eq!(need.memory_kib, kib);
        assert_eq!(
            need.to_string(),
            "604 namespaces, 603 veth pairs, 301 BIRD processes, about 335 MiB of memory"
        );
    }
}
