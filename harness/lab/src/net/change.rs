//! Changes to a built lab's links, for timeline steps: administrative state and MTU of an
//! interface, by name, inside its namespace.

use futures::TryStreamExt;
use rtnetlink::{Handle, LinkUnspec};

use super::apply::ApplyError;

async fn index_of(handle: &Handle, name: &str) -> Result<u32, ApplyError> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(link)) => Ok(link.header.index),
        Ok(None) => Err(ApplyError::Other(format!("no interface named {name}"))),
        Err(source) => Err(ApplyError::Netlink {
            what: format!("looking up {name}"),
            source,
        }),
    }
}

/// `ip link set NAME up` or `down`.
pub async fn set_admin_state(handle: &Handle, name: &str, up: bool) -> Result<(), ApplyError> {
    let index = index_of(handle, name).await?;
    let message = LinkUnspec::new_with_index(index);
    let message = if up { message.up() } else { message.down() };
    handle
        .link()
        .set(message.build())
        .execute()
        .await
        .map_err(|source| ApplyError::Netlink {
            what: format!("setting {name} {}", if up { "up" } else { "down" }),
            source,
        })
}

/// `ip link set NAME mtu MTU`.
pub async fn set_mtu(handle: &Handle, name: &str, mtu: u32) -> Result<(), ApplyError> {
    let index = index_of(handle, name).await?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).mtu(mtu).build())
        .execute()
        .await
        .map_err(|source| ApplyError::Netlink {
            what: format!("setting the MTU of {name} to {mtu}"),
            source,
        })
}
