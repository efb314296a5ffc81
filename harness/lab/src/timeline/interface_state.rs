//! `admin_down`, `admin_up` on a running lab.

use routelab_model::timeline::interface_state::InterfaceState;

use super::{Act, ActionError};
use crate::lab::{Lab, LabError};

impl Act for InterfaceState {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        let space = lab
            .namespace(&self.node)
            .ok_or_else(|| LabError::NoSuchNode(self.node.clone()))?;
        crate::net::change::set_admin_state(&space.netlink, &self.interface, self.up)
            .await
            .map_err(LabError::from)?;
        Ok(None)
    }
}
