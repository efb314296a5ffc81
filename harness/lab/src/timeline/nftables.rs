//! `nftables` on a running lab: the ruleset loaded with `nft -f` in the node's namespace.

use routelab_model::timeline::nftables::Nftables;

use super::{Act, ActionError};
use crate::lab::{Lab, LabError};

impl Act for Nftables {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        let space = lab
            .namespace(&self.node)
            .ok_or_else(|| LabError::NoSuchNode(self.node.clone()))?;
        crate::net::apply::load_nftables(space, &self.ruleset).map_err(LabError::from)?;
        Ok(None)
    }
}
