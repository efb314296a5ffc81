//! Link kinds. Each kind is one file: its YAML spec, its validation, and how it is planned
//! as namespaces, veths and bridges. Adding a kind means adding a file here, a variant to
//! `scenario::raw::RawLink` and `scenario::Link`, and a line in [`plan`].

pub mod bridge;
pub mod flannel;
pub mod overlay;
pub mod wire;

use crate::plan::Plan;
use crate::scenario::Link;

/// Adds what `link` needs to `plan`.
pub fn plan(link: &Link, plan: &mut Plan) {
    match link {
        Link::Wire { name, ends } => wire::plan(name, ends, plan),
        Link::Bridge { name, mtu, members } => bridge::plan(name, *mtu, members, plan),
        Link::Overlay {
            name,
            sizes,
            members,
        } => overlay::plan(name, *sizes, members, plan),
        Link::Flannel {
            name,
            backend,
            members,
            ..
        } => flannel::plan(name, *backend, members, plan),
    }
}

/// Ethernet's MTU, the default for every link kind.
pub const DEFAULT_MTU: u32 = 1500;
