//! `link_down`, `link_up`, `flap` on a running lab: the far side of each attachment goes
//! down or up, and the member's own interface loses or regains its carrier.

use std::time::Duration;

use routelab_model::link::Attachment;
use routelab_model::timeline::flap::Flap;
use routelab_model::timeline::link_state::LinkState;

use super::{Act, ActionError};
use crate::lab::{Lab, LabError};

/// Sets the far side of each attachment up or down, all at once.
pub(crate) async fn set_attachments(
    lab: &Lab,
    attachments: &[Attachment],
    up: bool,
) -> Result<(), ActionError> {
    let changes = attachments.iter().map(|a| async move {
        let space = lab
            .namespace(&a.far_ns)
            .ok_or_else(|| LabError::NoSuchNode(a.far_ns.clone()))?;
        crate::net::change::set_admin_state(&space.netlink, &a.far_interface, up)
            .await
            .map_err(LabError::from)
    });
    futures::future::try_join_all(changes).await?;
    Ok(())
}

impl Act for LinkState {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        set_attachments(lab, &self.attachments, self.up).await?;
        Ok(None)
    }
}

impl Act for Flap {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        let half: Duration = self.every / 2;
        for _ in 0..self.times {
            set_attachments(lab, &self.attachments, false).await?;
            tokio::time::sleep(half).await;
            set_attachments(lab, &self.attachments, true).await?;
            tokio::time::sleep(self.every - half).await;
        }
        Ok(None)
    }
}
