//! rtnetlink connections bound to a namespace, and the interface lookups every stage uses.

use std::io;

use futures::TryStreamExt;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::Handle;

use super::Netns;

/// Opens an rtnetlink connection inside `ns`.
///
/// The socket is created on a thread that has entered the namespace, so it stays bound to
/// it; the connection task runs on the caller's tokio runtime.
pub fn connect(ns: &Netns) -> io::Result<Handle> {
    let runtime = tokio::runtime::Handle::current();
    let (connection, handle, _) = ns.run(|| {
        // Registering the socket with the reactor needs the runtime's context.
        let _guard = runtime.enter();
        rtnetlink::new_connection()
    })??;
    tokio::spawn(connection);
    Ok(handle)
}

/// The interface named `name` in the handle's namespace, or `None` if there is none (the
/// kernel answers a lookup of a missing name with ENODEV).
pub async fn find_link(
    handle: &Handle,
    name: &str,
) -> Result<Option<LinkMessage>, rtnetlink::Error> {
    match handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
    {
        Ok(link) => Ok(link),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == libc::ENODEV => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every interface of the handle's namespace: its index and name.
pub async fn interfaces(handle: &Handle) -> Result<Vec<(u32, String)>, rtnetlink::Error> {
    let mut out = Vec::new();
    let mut links = handle.link().get().execute();
    while let Some(link) = links.try_next().await? {
        if let Some(name) = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        }) {
            out.push((link.header.index, name));
        }
    }
    Ok(out)
}
