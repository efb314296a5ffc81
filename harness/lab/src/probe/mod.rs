//! Probes that send real packets inside a lab: ping, traceroute, path MTU, fragmentation
//! counters, and the size search that path MTU and `max_unfragmented` share.
//!
//! Each probe runs on a short-lived thread inside the namespace it probes from
//! ([`Netns::run`](crate::net::Netns::run)) with raw ICMP / ICMPv6 sockets, and blocks that
//! thread until it has its answer or its timeouts run out; call them from async code through
//! `tokio::task::spawn_blocking`. Probes may run in parallel, in different namespaces or the
//! same one: each recognises its own answers by echo identifier and sequence number.
//!
//! Packet sizes are always whole IP packets in bytes, as an interface MTU counts them: a
//! 1421-byte IPv4 ping carries 1393 bytes of ICMP payload (`ping -s 1393`).

mod counters;
mod icmp;
mod ping;
mod pmtu;
mod search;
mod socket;
mod stream;
mod traceroute;

#[cfg(test)]
mod live_tests;

pub use counters::{IpCounters, IpStats, Md5Drops, ip_counters, md5_drops};
pub use ping::{DEFAULT_SIZE_V4, DEFAULT_SIZE_V6, PingOutcome, PingSpec, ping};
pub use pmtu::{PathMtu, PmtuSpec, path_mtu};
pub(crate) use search::{LargestPassing, Outcome};
pub use stream::{StreamLog, stream};
pub use traceroute::{Hop, Trace, TraceSpec, traceroute};
