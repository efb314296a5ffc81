//! `pmtu`: the path MTU from a node to an address, exact to the byte, measured by probing
//! Observed on the running lab: see `routelab_model::expect::pmtu` for the spec.

use routelab_model::expect::pmtu::Pmtu;

use std::time::Duration;

use crate::probe::PmtuSpec;
use super::{Gate, Observation, Observe};
use crate::lab::Lab;

impl Observe for Pmtu {
    /// Its probes are echo requests the destination must answer.
    fn answered_first(&self) -> Option<Gate<'_>> {
        Some(Gate {
            from: &self.from,
            to: self.to,
            src: self.src,
        })
    }

    async fn observe(&self, lab: &Lab) -> Observation {
        let spec = PmtuSpec {
            dst: self.to,
            src: self.src,
            min: if self.to.is_ipv4() { 68 } else { 1280 },
            // Search above the expected value too, so a wider path is caught.
            max: self.mtu.saturating_add(100).max(1500),
            timeout: Duration::from_millis(500),
            expected: Some(self.mtu),
        };
        match lab
            .probe(&self.from, move |ns| crate::probe::path_mtu(ns, &spec))
            .await
        {
            Ok(found) => Observation::new(found.mtu == self.mtu, found.to_string())
                .with("mtu", found.mtu),
            Err(e) => Observation::new(false, e),
        }
    }
}
