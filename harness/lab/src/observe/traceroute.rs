//! `traceroute`: the exact list of hops from a node to an address.
//! Observed on the running lab: see `routelab_model::expect::traceroute` for the spec.

use routelab_model::expect::traceroute::Traceroute;

use std::time::Duration;

use crate::probe::TraceSpec;
use super::{Gate, Observation, Observe};
use crate::lab::Lab;

impl Observe for Traceroute {
    /// Its probes are echo requests the destination must answer.
    fn answered_first(&self) -> Option<Gate<'_>> {
        Some(Gate {
            from: &self.from,
            to: self.to,
            src: self.src,
        })
    }

    async fn observe(&self, lab: &Lab) -> Observation {
        let spec = TraceSpec {
            dst: self.to,
            max_hops: (self.hops.len() + 2).min(30) as u8,
            timeout_per_hop: Duration::from_millis(500),
            probes_per_hop: 1,
        };
        let trace = match lab
            .probe(&self.from, move |ns| crate::probe::traceroute(ns, &spec))
            .await
        {
            Ok(t) => t,
            Err(e) => return Observation::error(e),
        };
        let holds = trace.reached
            && trace.hops.len() == self.hops.len()
            && trace.hops.iter().zip(&self.hops).all(|(seen, accepted)| {
                !seen.responders.is_empty() && seen.responders.iter().all(|r| accepted.contains(r))
            });
        Observation::new(holds, trace.to_string())
    }
}
