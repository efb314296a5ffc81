//! The IPIP stage of [`super::apply`]: Calico's `tunl0`, right after the VXLAN devices so
//! the address stage finds it.
//!
//! Where the kernel has IPIP support loaded, every new namespace already holds a `tunl0`:
//! the fallback device, with no fixed endpoints, that receives any IPIP packet no other
//! tunnel claims. Felix uses that device, and so does routelab; only when it is missing
//! (the host set `net.core.fb_tunnels_only_for_init_net`) is an equivalent one created.
//! Whether the kernel has IPIP support at all is settled before building, by
//! [`crate::env::missing_kernel_features`], so that a kernel module is never loaded as a
//! side effect: loading `ipip` would give the host's namespace a `tunl0` too.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use rtnetlink::{LinkIpIp, LinkUnspec};

use super::apply::{ApplyError, LabNamespace, namespace, netlink_err};
use super::netlink::find_link;
use routelab_model::plan::Plan;

/// Sets up every IPIP device of the plan: up, with its MTU.
pub async fn create(plan: &Plan, lab: &BTreeMap<String, LabNamespace>) -> Result<(), ApplyError> {
    try_join_all(plan.ipip_tunnels.iter().map(|t| async move {
        let space = namespace(lab, &t.ns)?;
        let failed = netlink_err(format!("setting up IPIP device {} in `{}`", t.name, t.ns));
        let existing = match find_link(&space.netlink, &t.name).await {
            Ok(link) => link,
            Err(e) => return Err(failed(e)),
        };
        let handle = space.netlink.link();
        match existing {
            Some(link) => {
                let msg = LinkUnspec::new_with_index(link.header.index)
                    .mtu(t.mtu)
                    .up()
                    .build();
                handle.set(msg).execute().await.map_err(failed)
            }
            None => {
                let msg = LinkIpIp::new(&t.name).mtu(t.mtu).up().build();
                handle.add(msg).execute().await.map_err(failed)
            }
        }
    }))
    .await?;
    Ok(())
}
