//! What the machine must offer before a lab can be built, with the fix for each lack.

use crate::plan::{DaemonKind, Plan};

/// A missing prerequisite, phrased as what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Missing(pub String);

/// Checks privileges and binaries for `plans`. Pure look-ups; changes nothing.
pub fn check(plans: &[Plan]) -> Result<(), Missing> {
    if !crate::net::netns::can_create_namespaces() {
        return Err(Missing(
            "routelab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create network \
             namespaces; run it with sudo, or use `routelab check` to validate without privileges"
                .into(),
        ));
    }
    for kind in [DaemonKind::Bird2, DaemonKind::CalicoBird] {
        if plans
            .iter()
            .flat_map(|p| &p.daemons)
            .any(|d| d.kind == kind)
        {
            kind.binary().map_err(|e| Missing(e.to_string()))?;
        }
    }
    Ok(())
}
