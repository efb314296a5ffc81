//! `impair` on a running lab: each selected interface's queueing disciplines replaced.

use routelab_model::timeline::impair::Impair;

use super::{Act, ActionError};
use crate::lab::{Lab, LabError};

impl Act for Impair {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        for t in &self.targets {
            let space = lab
                .namespace(&t.node)
                .ok_or_else(|| LabError::NoSuchNode(t.node.clone()))?;
            crate::net::impair::impair(space, &t.interface, t.mtu, &self.impairment, true)
                .map_err(LabError::from)?;
        }
        Ok(None)
    }
}
