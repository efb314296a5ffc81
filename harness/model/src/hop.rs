//! What a link does to a packet that crosses it, as link kinds tell the MTU prediction
//! ([`crate::mtu`]): the sizes a hop carries, the routes a link installs, and how an
//! encapsulation wraps the packet. Vocabulary only; the prediction itself is `mtu`.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// What a link says of a hop across it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopSizes {
    /// Largest DF packet that crosses.
    pub mtu: u32,
    /// Largest packet that crosses unfragmented.
    pub unfragmented: u32,
    /// How the link carries the packet, for `Hop::stack` in the prediction (after the ends' MTUs).
    pub stack: Vec<String>,
}

impl HopSizes {
    /// A hop that carries up to `mtu` bytes as they are, DF or not.
    pub fn plain(mtu: u32) -> HopSizes {
        HopSizes {
            mtu,
            unfragmented: mtu,
            stack: Vec::new(),
        }
    }
}

/// A route a link installs on a node (`Link::routes_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRoute {
    pub to: IpNet,
    pub way: Way,
}

/// Where a [`LinkRoute`] sends a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Way {
    /// Plainly to `gateway`, out of the node's interface `dev` (on another link).
    Gateway { gateway: IpAddr, dev: String },
    /// Into a tunnel to another node.
    Encapsulated(Encapsulation),
}

/// Whether an encapsulation's outer packets carry DF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OuterDf {
    /// Never: the path underneath fragments them as needed (VXLAN).
    Never,
    /// As the inner packet does: the path underneath also caps DF packets (IPIP).
    Copied,
}

impl fmt::Display for OuterDf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OuterDf::Never => "never DF",
            OuterDf::Copied => "DF copied",
        })
    }
}

/// A hop into a tunnel from one node to another, whose outer packets take the path between
/// `outer_src` and `outer_dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encapsulation {
    /// The sender's tunnel device, e.g. `flannel.1`.
    pub device: String,
    /// The link as the hop names it, e.g. `flannel k3s (vxlan)`.
    pub link: String,
    pub from: String,
    pub to: String,
    /// What the tunnel carries, e.g. `pod packet`.
    pub inner: &'static str,
    /// The device's MTU.
    pub inner_mtu: u32,
    /// The encapsulation, e.g. `VXLAN`.
    pub protocol: &'static str,
    pub overhead: u32,
    pub outer_src: IpAddr,
    pub outer_dst: IpAddr,
    pub outer_df: OuterDf,
}
