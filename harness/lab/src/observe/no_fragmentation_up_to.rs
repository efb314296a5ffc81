//! `no_fragmentation_up_to`: packets up to a size cross from a node to an address and back
//! Observed on the running lab: see `routelab_model::expect::no_fragmentation_up_to` for the spec.

use routelab_model::expect::no_fragmentation_up_to::NoFragmentationUpTo;

use super::fragments::{Trial, describe, trial};
use super::{Gate, Observation, Observe};
use crate::lab::Lab;

impl Observe for NoFragmentationUpTo {
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
        let mut trials: Vec<Trial> = Vec::new();
        for size in self.sizes() {
            match trial(lab, &self.from, self.to, self.src, size).await {
                Ok(t) => {
                    let clean = t.clean();
                    trials.push(t);
                    if !clean {
                        return Observation::new(false, describe(&trials));
                    }
                }
                Err(e) => return Observation::new(false, e),
            }
        }
        Observation::new(true, describe(&trials))
    }
}
