//! Link kinds. Each kind is one file: its YAML spec, its validation, how it is planned as
//! namespaces, veths, bridges and VXLAN devices, and what path MTU prediction
//! ([`crate::mtu`]) needs to know of it. Adding a kind means adding a file here and a line
//! in the `kinds!` list below; nothing else matches on kinds.
//!
//! A kind's file has a `Spec` (what the file says, read by serde) with
//! `validate(&self, cx, earlier) -> Option<K>`, where `earlier` are the links written
//! before it (flannel rides on their interfaces), and a validated type `K` implementing
//! [`LinkKind`].

use serde::{Deserialize, Serialize};

use crate::hop::{HopSizes, LinkRoute};
use crate::plan::Plan;

pub mod endpoint;
pub use crate::impairment::{Impairment, RawImpairment};
pub use endpoint::{Interface, RawEndpoint};

/// What every validated link kind offers.
pub trait LinkKind {
    fn name(&self) -> &str;

    /// The interfaces the link gives nodes.
    fn interfaces(&self) -> &[Interface];

    /// Adds what the link needs to `plan`.
    fn plan(&self, plan: &mut Plan);

    /// Whether the link puts its interfaces' nodes on one network, so that a packet can
    /// cross it from one to another. A link whose interfaces only end its own routes (as
    /// flannel's `flannel.1` and `cni0` do) says no, and is then no way between nodes
    /// for path prediction.
    fn joins_nodes(&self) -> bool {
        true
    }

    /// A hop across the link out of `from`, to an end whose MTU is `peer_mtu`: by default
    /// as large as the narrower end, with nothing more to say.
    fn hop(&self, from: &Interface, peer_mtu: u32) -> HopSizes {
        HopSizes::plain(from.mtu.min(peer_mtu))
    }

    /// The routes the link installs on `node` (flannel's to the other members' pods).
    fn routes_at(&self, _node: &str) -> Vec<LinkRoute> {
        Vec::new()
    }

    /// Where each member's cable can be cut: the far side of its attachment, whose
    /// administrative state is the cable's (down, and the member's own interface stays up
    /// but loses carrier, as a router on a failed line sees it). Empty for a link that
    /// rides on others (flannel) or has no far side yet (see [`LinkKind::prepare_cuts`]).
    fn attachments(&self) -> Vec<Attachment> {
        Vec::new()
    }

    /// Called when a timeline cuts the link: a kind whose ends meet directly (a wire's
    /// veth pair) puts a patch panel between them so each end has a far side to cut.
    fn prepare_cuts(&mut self) {}
}

/// The attachments of a link whose members each have a port `p<index>` on a bridge in the
/// link's own namespace (bridges, overlays, patched wires).
pub(crate) fn bridge_ports(link: &str, members: &[Interface]) -> Vec<Attachment> {
    members
        .iter()
        .enumerate()
        .map(|(index, m)| Attachment {
            node: m.node.clone(),
            interface: m.name.clone(),
            far_ns: link.to_string(),
            far_interface: format!("p{index}"),
        })
        .collect()
}

/// One member's attachment to a link, and where to cut it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The member node and its interface on the link.
    pub node: String,
    pub interface: String,
    /// The namespace and interface of the far side, which a cut takes down.
    pub far_ns: String,
    pub far_interface: String,
}

/// Declares the link kinds: for each, its YAML tag, the variant, and the module with its
/// `Spec` and validated type. One line per kind.
macro_rules! kinds {
    ($($tag:literal => $variant:ident($module:ident::$kind:ident),)*) => {
        $(pub mod $module;)*

        /// A link as written in the file, tagged by kind: `- wire: {...}`.
        #[derive(Debug, Deserialize)]
        pub enum RawLink {
            $(#[serde(rename = $tag)] $variant($module::Spec),)*
        }

        /// A validated link of one kind.
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "kind")]
        pub enum Link {
            $(#[serde(rename = $tag)] $variant($module::$kind),)*
        }

        impl RawLink {
            /// The link's `name` as written.
            pub fn name(&self) -> &serde_saphyr::Spanned<String> {
                match self {
                    $(RawLink::$variant(spec) => &spec.name,)*
                }
            }

            /// Validates the link; `earlier` are the valid links written before it.
            pub fn validate(
                &self,
                cx: &mut crate::context::Context,
                earlier: &[Link],
            ) -> Option<Link> {
                match self {
                    $(RawLink::$variant(spec) => spec.validate(cx, earlier).map(Link::$variant),)*
                }
            }
        }

        impl Link {
            /// The kind's name as the file writes it (`wire`, `overlay`).
            pub fn tag(&self) -> &'static str {
                match self {
                    $(Link::$variant(_) => $tag,)*
                }
            }

            fn kind(&self) -> &dyn LinkKind {
                match self {
                    $(Link::$variant(k) => k,)*
                }
            }

            fn kind_mut(&mut self) -> &mut dyn LinkKind {
                match self {
                    $(Link::$variant(k) => k,)*
                }
            }
        }
    };
}

kinds! {
    "wire" => Wire(wire::Wire),
    "bridge" => Bridge(bridge::Bridge),
    "overlay" => Overlay(overlay::Overlay),
    "flannel" => Flannel(flannel::Flannel),
}

impl Link {
    pub fn name(&self) -> &str {
        self.kind().name()
    }

    pub fn interfaces(&self) -> &[Interface] {
        self.kind().interfaces()
    }

    pub fn plan(&self, plan: &mut Plan) {
        self.kind().plan(plan)
    }

    /// See [`LinkKind::joins_nodes`].
    pub fn joins_nodes(&self) -> bool {
        self.kind().joins_nodes()
    }

    /// See [`LinkKind::hop`].
    pub fn hop(&self, from: &Interface, peer_mtu: u32) -> HopSizes {
        self.kind().hop(from, peer_mtu)
    }

    /// See [`LinkKind::routes_at`].
    pub fn routes_at(&self, node: &str) -> Vec<LinkRoute> {
        self.kind().routes_at(node)
    }

    /// See [`LinkKind::attachments`].
    pub fn attachments(&self) -> Vec<Attachment> {
        self.kind().attachments()
    }

    /// See [`LinkKind::prepare_cuts`].
    pub fn prepare_cuts(&mut self) {
        self.kind_mut().prepare_cuts()
    }
}

/// Ethernet's MTU, the default for every link kind.
pub const DEFAULT_MTU: u32 = 1500;

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::Path;

    use crate::hop::{OuterDf, Way};
    use crate::scenario::Scenario;

    /// One link of every kind: a wire, a bridge, an overlay and flannel (vxlan over the
    /// overlay, host-gw over the bridge).
    fn every_kind() -> Scenario {
        let yaml = r#"
nodes:
  a: {}
  b: {}
  c: {}
  d: {}
links:
  - wire:
      name: w
      ends:
        - { node: a, addresses: [10.0.0.1/30] }
        - { node: b, addresses: [10.0.0.2/30] }
  - bridge:
      name: br
      mtu: 9000
      members:
        - { node: a, interface: lan, addresses: [10.1.0.1/24] }
        - { node: d, interface: lan, addresses: [10.1.0.4/24] }
  - overlay:
      name: zt
      mtu: 1420
      underlay_mtu: 1446
      members:
        - { node: b, interface: zt0, addresses: [100.64.0.2/24] }
        - { node: c, interface: zt0, addresses: [100.64.0.3/24] }
  - flannel:
      name: vx
      members:
        - { node: b, interface: zt0, pod_cidr: 10.42.0.0/24 }
        - { node: c, interface: zt0, pod_cidr: 10.42.1.0/24 }
  - flannel:
      name: hg
      backend: host-gw
      members:
        - { node: a, interface: lan, pod_cidr: 10.43.0.0/24 }
        - { node: d, interface: lan, pod_cidr: 10.43.1.0/24 }
"#;
        crate::scenario::load_str(Path::new("kinds.yaml"), yaml)
            .unwrap_or_else(|d| panic!("{d}"))
            .0
    }

    #[test]
    fn each_kind_answers_for_itself() {
        let s = every_kind();
        let tags: Vec<(&str, &str, bool)> = s
            .links
            .iter()
            .map(|l| (l.tag(), l.name(), l.joins_nodes()))
            .collect();
        assert_eq!(
            tags,
            vec![
                ("wire", "w", true),
                ("bridge", "br", true),
                ("overlay", "zt", true),
                ("flannel", "vx", false),
                ("flannel", "hg", false),
            ]
        );
        let [wire, bridge, overlay, ..] = &s.links[..] else {
            panic!("five links");
        };
        let (a_wire, a_lan) = (&wire.interfaces()[0], &bridge.interfaces()[0]);
        assert_eq!(wire.hop(a_wire, 1400).mtu, 1400, "the narrower end");
        let segment = bridge.hop(a_lan, 9000);
        assert_eq!(segment.stack, vec!["L2 segment, MTU 9000".to_string()]);
        // 1446 - 66: the threshold caps both sizes, below the interface's 1420.
        let zt = overlay.hop(&overlay.interfaces()[0], 1420);
        assert_eq!((zt.mtu, zt.unfragmented), (1380, 1380));
    }

    #[test]
    fn flannel_routes_by_backend() {
        let s = every_kind();
        let vx = s.links[3].routes_at("b");
        assert_eq!(vx.len(), 1);
        assert_eq!(vx[0].to.to_string(), "10.42.1.0/24");
        let Way::Encapsulated(tunnel) = &vx[0].way else {
            panic!("vxlan encapsulates: {vx:?}");
        };
        assert_eq!(
            (tunnel.device.as_str(), tunnel.to.as_str(), tunnel.overhead),
            ("flannel.1", "c", crate::overhead::VXLAN)
        );
        assert_eq!(tunnel.outer_df, OuterDf::Never);
        let hg = s.links[4].routes_at("a");
        assert_eq!(
            hg.iter().map(|r| &r.way).collect::<Vec<_>>(),
            vec![&Way::Gateway {
                gateway: "10.1.0.4".parse::<IpAddr>().unwrap(),
                dev: "lan".into()
            }]
        );
        assert!(s.links[4].routes_at("b").is_empty(), "b is no member");
        assert!(
            s.links[0].routes_at("a").is_empty(),
            "a wire installs no routes"
        );
    }
}
