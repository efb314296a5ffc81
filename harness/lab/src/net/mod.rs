//! The kernel side: namespaces, links, addresses, routes and sysctls, all through netlink
//! and `/proc` from inside namespaces routelab created. Nothing here touches the host's own
//! namespace.

pub mod apply;
pub mod change;
pub mod impair;
pub mod ipip;
pub mod netlink;
pub mod netns;
pub mod routes;
pub mod vxlan;

pub use netns::Netns;
