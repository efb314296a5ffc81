//! `calico_apply`, `calico_delete` on a running lab: each calico node whose rendered
//! configuration changed gets it, and its BIRD reconfigures.

use routelab_model::timeline::calico_change::CalicoChange;

use super::{Act, ActionError};
use crate::lab::Lab;

impl Act for CalicoChange {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        for (node, config) in &self.configs {
            lab.daemon_mut(node)?
                .reconfigure(config)
                .await
                .map_err(|source| ActionError::Daemon {
                    node: node.clone(),
                    source,
                })?;
            // Expectations about the sessions it has now must reach it (`bird6`'s).
            lab.reconfigured(node, config);
        }
        Ok(None)
    }
}
