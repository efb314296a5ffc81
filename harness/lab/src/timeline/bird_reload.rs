//! `bird_reload` on a running lab: the new file, then `configure`.

use routelab_model::timeline::bird_reload::BirdReload;

use super::{Act, ActionError};
use crate::lab::Lab;

impl Act for BirdReload {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        let daemon = lab.daemon_mut(&self.node)?;
        daemon
            .reconfigure(&self.config)
            .await
            .map_err(|source| ActionError::Daemon {
                node: self.node.clone(),
                source,
            })?;
        lab.reconfigured(&self.node, &self.config);
        Ok(None)
    }
}
