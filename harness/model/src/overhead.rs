//! Per-packet overheads of the encapsulations routelab builds, predicts or recommends pod
//! MTUs for: the one place each number is written, built from header sizes.
//!
//! Every figure is for an IPv4 underlay, the kind routelab builds except for an overlay
//! given `underlay: ipv6` ([`VXLAN_OVER_IPV6`]). Over IPv6 each grows by 20 bytes (a
//! 40-byte outer header instead of 20); the WireGuard figures, which routelab never
//! builds, are the ones the CNIs use for their own MTU defaults.

/// An IPv4 header without options.
pub const IPV4_HEADER: u32 = 20;
/// An IPv6 header without extension headers.
pub const IPV6_HEADER: u32 = 40;
/// A UDP header.
pub const UDP_HEADER: u32 = 8;
/// An Ethernet header without VLAN tag, as VXLAN carries the inner frame.
pub const ETHERNET_HEADER: u32 = 14;
/// The VXLAN header: flags, reserved bits and the 24-bit network identifier.
pub const VXLAN_HEADER: u32 = 8;

/// Kernel VXLAN (flannel's `flannel.1`, Calico's `vxlan.calico`, overlays' member
/// devices): outer IPv4, UDP, VXLAN and the inner Ethernet header.
pub const VXLAN: u32 = IPV4_HEADER + UDP_HEADER + VXLAN_HEADER + ETHERNET_HEADER;
/// Kernel VXLAN over an IPv6 underlay (an overlay's member devices with `underlay: ipv6`).
pub const VXLAN_OVER_IPV6: u32 = IPV6_HEADER + UDP_HEADER + VXLAN_HEADER + ETHERNET_HEADER;
/// IP in IP (Calico's `tunl0`): one outer IPv4 header.
pub const IPIP: u32 = IPV4_HEADER;
/// Calico's WireGuard over IPv4, as Calico's automatic MTU counts it.
pub const CALICO_WIREGUARD: u32 = 60;
/// flannel's `wireguard` backend: flannel reserves IPv6's 80 bytes whatever the underlay.
pub const FLANNEL_WIREGUARD: u32 = 80;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sums_are_the_well_known_figures() {
        assert_eq!(VXLAN, 50);
        assert_eq!(VXLAN_OVER_IPV6, 70);
        assert_eq!(IPIP, 20);
    }
}
