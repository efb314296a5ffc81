//! `set_mtu` on a running lab: each selected member interface gets the new MTU.

use routelab_model::timeline::set_mtu::SetMtu;

use super::{Act, ActionError};
use crate::lab::{Lab, LabError};

impl Act for SetMtu {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        let lab = &*lab;
        let changes = self.interfaces.iter().map(|(node, interface)| async move {
            let space = lab
                .namespace(node)
                .ok_or_else(|| LabError::NoSuchNode(node.clone()))?;
            crate::net::change::set_mtu(&space.netlink, interface, self.mtu)
                .await
                .map_err(LabError::from)
        });
        futures::future::try_join_all(changes).await?;
        Ok(None)
    }
}
