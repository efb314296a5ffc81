//! `calico_peers`: a calico node's BGP peers, as `calicoctl node status` lists them.
//! Observed on the running lab: see `routelab_model::expect::calico_peers` for the spec.

use routelab_model::expect::calico_peers::CalicoPeers;

use routelab_model::calico::status;
use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for CalicoPeers {
    async fn observe(&self, lab: &Lab) -> Observation {
        let daemon = match lab.daemon(&self.node) {
            Ok(d) => d,
            Err(e) => return Observation::error(e),
        };
        match daemon.protocols().await {
            Ok(rows) => {
                let mut table = status::peers(4, &rows);
                table.extend(status::peers(6, &rows));
                Observation::new(self.holds(&table), status::report(&rows))
            }
            Err(e) => Observation::error(format!("{} on {}: {e}", daemon.describe(), self.node)),
        }
    }
}
