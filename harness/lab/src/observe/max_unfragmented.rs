//! `max_unfragmented`: the largest packet that crosses from a node to an address and back
//! Observed on the running lab: see `routelab_model::expect::max_unfragmented` for the spec.

use routelab_model::expect::max_unfragmented::MaxUnfragmented;

use super::fragments::{describe, largest_clean};
use super::{Gate, Observation, Observe};
use crate::lab::Lab;

impl Observe for MaxUnfragmented {
    /// Its probes are echo requests the destination must answer.
    fn answered_first(&self) -> Option<Gate<'_>> {
        Some(Gate {
            from: &self.from,
            to: self.to,
            src: self.src,
        })
    }

    async fn observe(&self, lab: &Lab) -> Observation {
        let _alone = lab.exclusive_probing().await;
        let (lo, hi) = self.range();
        match largest_clean(lab, &self.from, self.to, self.src, (lo, hi), self.bytes).await {
            Ok((Some(found), trials)) => {
                let head = if found == hi {
                    format!("every size up to {hi} bytes crossed unfragmented")
                } else {
                    format!("largest unfragmented packet: {found} bytes")
                };
                Observation::new(
                    found == self.bytes,
                    format!("{head}\n{}", describe(&trials)),
                )
            }
            Ok((None, trials)) => Observation::new(
                false,
                format!(
                    "even {lo} bytes did not cross unfragmented\n{}",
                    describe(&trials)
                ),
            ),
            Err(e) => Observation::new(false, e),
        }
    }
}
