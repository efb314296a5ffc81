//! rtnetlink connections bound to a namespace.

use std::io;

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
