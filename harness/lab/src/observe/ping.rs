//! `ping`: an ICMP echo from a node to an address is answered, or is not.
//! Observed on the running lab: see `routelab_model::expect::ping` for the spec.

use routelab_model::expect::ping::Ping;

use std::time::Duration;

use crate::probe::{PingOutcome, PingSpec};
use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Ping {
    async fn observe(&self, lab: &Lab) -> Observation {
        let spec = PingSpec {
            dst: self.to,
            src: self.src,
            size: self.size,
            dont_fragment: self.df,
            ttl: None,
            timeout: Duration::from_millis(1000),
            attempts: if self.succeeds { 1 } else { 3 },
        };
        let outcome = match lab
            .probe(&self.from, move |ns| crate::probe::ping(ns, &spec))
            .await
        {
            Ok(o) => o,
            Err(e) => return Observation::new(false, e),
        };
        let holds = match &outcome {
            PingOutcome::Reply { ttl, .. } => {
                self.succeeds && self.ttl.is_none_or(|want| want == *ttl)
            }
            _ => !self.succeeds,
        };
        Observation::new(holds, outcome.to_string())
    }
}
