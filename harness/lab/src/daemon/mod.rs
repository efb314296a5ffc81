//! BIRD daemons: supervision inside a namespace and the control-socket client.
//!
//! Two flavours of BIRD run in a lab: BIRD 2 for routers and BIRD 1.6 (the base of
//! Calico's fork) for mock calico-node speakers. This module
//!
//! - finds their binaries ([`BirdBinary`]) and checks configs with BIRD's own parser
//!   ([`check_config`]),
//! - starts BIRD inside a network namespace and waits until its control socket answers
//!   ([`BirdProcess`]), killing it again when the handle is dropped, or leaving it running
//!   for `routelab up` and stopping it later by pid ([`stop_pid`]),
//! - talks to BIRD over its control socket ([`BirdClient`]) and parses what both flavours
//!   print for `show protocols`, `show protocols all NAME` and `show ospf neighbors`.
//!
//! Nothing here spawns `birdc`: the control protocol is a simple line protocol, implemented
//! in [`reply`].

mod binary;
mod client;
mod config;
mod error;
mod parse;
mod process;
pub mod reply;

pub use binary::{BirdBinary, BirdSearch, Flavour, check_config};
pub use client::BirdClient;
pub use config::write_config;
pub use error::DaemonError;
pub use process::{BirdProcess, BirdSpec, stop_pid};
pub use reply::{Reply, ReplyLine};
pub use routelab_model::observed::{OspfNeighbor, ProtocolDetail, ProtocolRow, RouteCounts};

#[cfg(test)]
mod tests;
