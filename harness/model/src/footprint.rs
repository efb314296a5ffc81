//! How much of the machine a plan takes: namespaces, processes and memory, estimated from
//! figures measured on a Debian 6.x kernel, x86_64 (see the README's "How big a lab can
//! be"):
//!
//! - a namespace with `lo` up and one veth pair: the kernel's Slab, Percpu, PageTables and
//!   KernelStack grew by 55 to 61 MiB for 200 of them, about 0.3 MiB each;
//! - BIRD 2 with a small config (device, kernel, one BGP protocol): 2.3 MiB resident;
//! - BIRD 1.6.8 with the same: 1.6 MiB resident.
//!
//! The figures are rounded up (0.3, 3 and 2 MiB) since real configs and tables are larger.
//! The comparison with what the machine has is made by the lab (it reads the machine).

use serde::Serialize;

use crate::plan::{DaemonKind, Plan};

/// Kernel memory per namespace, with its share of veths (KiB).
pub const KIB_PER_NAMESPACE: u64 = 300;
/// Kernel memory per veth pair beyond one per namespace (KiB; a veth pair is most of
/// what a namespace costs).
pub const KIB_PER_VETH: u64 = 100;
/// Resident memory of one BIRD 2 (KiB).
pub const KIB_PER_BIRD2: u64 = 3 * 1024;
/// Resident memory of one BIRD 1.6 (KiB).
pub const KIB_PER_BIRD1: u64 = 2 * 1024;

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
        let (mut processes, mut daemons_kib) = (0, 0);
        for d in &plan.daemons {
            processes += 1;
            daemons_kib += match d.kind {
                DaemonKind::Bird2 => KIB_PER_BIRD2,
                DaemonKind::CalicoBird => KIB_PER_BIRD1,
            };
        }
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
