//! ICMP and ICMPv6 echo messages: building requests and reading what comes back.
//!
//! Pure byte handling, no sockets; the header formats are etherparse's. A probe is
//! recognised by its echo identifier and sequence number, which come back either in an
//! echo reply or, for an error, inside the copy of the offending packet that the error
//! quotes.
//!
//! What is left here is what the raw sockets ask of it, which a packet library cannot know:
//!
//! - a request is only the ICMP message: the kernel writes the IP header in front of it
//!   (no `IP_HDRINCL`), so [`echo_request`] builds no IP packet (etherparse's
//!   `PacketBuilder` would) and sizes the message so that the whole packet has the size
//!   asked for;
//! - an IPv4 raw socket hands over the IP header with the message, an ICMPv6 one only the
//!   message (the hop limit comes as ancillary data): [`parse_v4`] and [`parse_v6`];
//! - an ICMPv6 request goes out with a zero checksum, which the kernel always fills in:
//!   it covers a pseudo-header with the source address, chosen only at send time;
//! - codes etherparse has no name for arrive as its `Unknown` type and are still errors of
//!   their kind, and the texts of unreachable codes are ping's, for messages that read
//!   like ping's.

use std::net::IpAddr;

use etherparse::{
    IcmpEchoHeader, Icmpv4Header, Icmpv4Slice, Icmpv4Type, Icmpv6Header, Icmpv6Slice, Icmpv6Type,
    IpNumber, Ipv4Header, Ipv6ExtensionSlice, Ipv6Header, LaxIpSlice, LaxIpv4Slice, icmpv4, icmpv6,
};

/// ICMP and ICMPv6 echo headers: type, code, checksum, identifier, sequence.
const ECHO_HEADER: usize = Icmpv4Header::MIN_LEN;

/// Smallest IP packet that holds an echo request for this address family.
pub(crate) fn min_echo_packet(v6: bool) -> usize {
    ip_header_len(v6) + ECHO_HEADER
}

/// Size of the IP header the kernel puts in front of our echo message: IPv4 without
/// options, or the fixed IPv6 header (echo requests carry no extension headers).
fn ip_header_len(v6: bool) -> usize {
    if v6 {
        Ipv6Header::LEN
    } else {
        Ipv4Header::MIN_LEN
    }
}

/// An echo request whose whole IP packet will be `packet_size` bytes.
///
/// The payload is a recognisable byte pattern (as ping's is). For ICMPv6 the checksum is
/// left zero for the kernel to compute.
pub(crate) fn echo_request(v6: bool, ident: u16, seq: u16, packet_size: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..packet_size.saturating_sub(min_echo_packet(v6)))
        .map(|i| i as u8)
        .collect();
    let echo = IcmpEchoHeader { id: ident, seq };
    let mut msg = if v6 {
        Icmpv6Header::new(Icmpv6Type::EchoRequest(echo))
            .to_bytes()
            .to_vec()
    } else {
        Icmpv4Header::with_checksum(Icmpv4Type::EchoRequest(echo), &payload)
            .to_bytes()
            .to_vec()
    };
    msg.extend_from_slice(&payload);
    msg
}

/// What an ICMP error says went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// IPv4 "fragmentation needed and DF set" or ICMPv6 "packet too big", with the MTU of the
    /// next hop that refused the packet (0 if the sender did not say).
    TooBig { mtu: u32 },
    /// Destination unreachable (any code but fragmentation needed) or a parameter problem.
    Unreachable { code: u8, description: String },
    /// TTL or hop limit reached zero in transit (or reassembly timed out).
    TimeExceeded,
}

impl ErrorKind {
    fn parameter_problem(code: u8) -> ErrorKind {
        ErrorKind::Unreachable {
            code,
            description: "Parameter problem".to_string(),
        }
    }
}

/// An ICMP message that concerns one of our echo requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    EchoReply {
        ident: u16,
        seq: u16,
    },
    /// An error quoting our request, which was addressed to `quoted_dst`.
    Error {
        kind: ErrorKind,
        ident: u16,
        seq: u16,
        quoted_dst: IpAddr,
    },
}

/// Reads a packet from a raw IPv4 ICMP socket (which includes the IP header).
/// Returns the packet's TTL and the message, or `None` for anything that is not an echo
/// reply or an error quoting an echo request.
pub(crate) fn parse_v4(packet: &[u8]) -> Option<(u8, Message)> {
    let (ip, _) = LaxIpv4Slice::from_slice(packet).ok()?;
    let ttl = ip.header().ttl();
    let icmp = Icmpv4Slice::from_slice(ip.payload().payload).ok()?;
    let code = icmp.code_u8();
    let kind = match icmp.icmp_type() {
        Icmpv4Type::EchoReply(echo) => {
            return Some((
                ttl,
                Message::EchoReply {
                    ident: echo.id,
                    seq: echo.seq,
                },
            ));
        }
        Icmpv4Type::DestinationUnreachable(
            icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
        ) => ErrorKind::TooBig {
            mtu: u32::from(next_hop_mtu),
        },
        Icmpv4Type::DestinationUnreachable(_)
        | Icmpv4Type::Unknown {
            type_u8: icmpv4::TYPE_DEST_UNREACH,
            ..
        } => ErrorKind::Unreachable {
            code,
            description: describe_v4_unreachable(code),
        },
        Icmpv4Type::TimeExceeded(_)
        | Icmpv4Type::Unknown {
            type_u8: icmpv4::TYPE_TIME_EXCEEDED,
            ..
        } => ErrorKind::TimeExceeded,
        Icmpv4Type::ParameterProblem(_)
        | Icmpv4Type::Unknown {
            type_u8: icmpv4::TYPE_PARAMETER_PROBLEM,
            ..
        } => ErrorKind::parameter_problem(code),
        _ => return None,
    };
    Some((ttl, quoting(kind, icmp.payload())?))
}

/// Reads a message from a raw ICMPv6 socket (which delivers no IP header; the hop limit
/// comes separately as ancillary data).
pub(crate) fn parse_v6(message: &[u8]) -> Option<Message> {
    let icmp = Icmpv6Slice::from_slice(message).ok()?;
    let code = icmp.code_u8();
    let kind = match icmp.icmp_type() {
        Icmpv6Type::EchoReply(echo) => {
            return Some(Message::EchoReply {
                ident: echo.id,
                seq: echo.seq,
            });
        }
        Icmpv6Type::PacketTooBig { mtu } => ErrorKind::TooBig { mtu },
        Icmpv6Type::Unknown {
            type_u8: icmpv6::TYPE_PACKET_TOO_BIG,
            bytes5to8,
            ..
        } => ErrorKind::TooBig {
            mtu: u32::from_be_bytes(bytes5to8),
        },
        Icmpv6Type::DestinationUnreachable(_)
        | Icmpv6Type::Unknown {
            type_u8: icmpv6::TYPE_DST_UNREACH,
            ..
        } => ErrorKind::Unreachable {
            code,
            description: describe_v6_unreachable(code),
        },
        Icmpv6Type::TimeExceeded(_)
        | Icmpv6Type::Unknown {
            type_u8: icmpv6::TYPE_TIME_EXCEEDED,
            ..
        } => ErrorKind::TimeExceeded,
        Icmpv6Type::ParameterProblem(_)
        | Icmpv6Type::Unknown {
            type_u8: icmpv6::TYPE_PARAMETER_PROBLEM,
            ..
        } => ErrorKind::parameter_problem(code),
        _ => return None,
    };
    quoting(kind, icmp.payload())
}

/// The error `kind`, if what it quotes is one of our echo requests.
fn quoting(kind: ErrorKind, quoted: &[u8]) -> Option<Message> {
    let (quoted_dst, echo) = quoted_request(quoted)?;
    Some(Message::Error {
        kind,
        ident: echo.id,
        seq: echo.seq,
        quoted_dst,
    })
}

/// The destination and echo header of the request an error quotes: the start of an IPv4 or
/// IPv6 packet (extension headers included), cut short wherever the error's sender chose.
/// Only an unfragmented packet or a first fragment carries the echo header.
fn quoted_request(quoted: &[u8]) -> Option<(IpAddr, IcmpEchoHeader)> {
    let (ip, _) = LaxIpSlice::from_slice(quoted).ok()?;
    let first_fragment = match &ip {
        LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value() == 0,
        LaxIpSlice::Ipv6(v6) => v6.extensions().clone().into_iter().all(|ext| match ext {
            Ipv6ExtensionSlice::Fragment(f) => f.fragment_offset().value() == 0,
            _ => true,
        }),
    };
    if !first_fragment {
        return None;
    }
    let payload = ip.payload();
    let echo = match payload.ip_number {
        IpNumber::ICMP => match Icmpv4Slice::from_slice(payload.payload).ok()?.icmp_type() {
            Icmpv4Type::EchoRequest(echo) => echo,
            _ => return None,
        },
        IpNumber::IPV6_ICMP => match Icmpv6Slice::from_slice(payload.payload).ok()?.icmp_type() {
            Icmpv6Type::EchoRequest(echo) => echo,
            _ => return None,
        },
        _ => return None,
    };
    Some((ip.destination_addr(), echo))
}

/// The words ping uses for each IPv4 destination-unreachable code.
fn describe_v4_unreachable(code: u8) -> String {
    match code {
        0 => "Destination Net Unreachable",
        1 => "Destination Host Unreachable",
        2 => "Destination Protocol Unreachable",
        3 => "Destination Port Unreachable",
        5 => "Source Route Failed",
        6 => "Destination Net Unknown",
        7 => "Destination Host Unknown",
        8 => "Source Host Isolated",
        9 => "Destination Net Prohibited",
        10 => "Destination Host Prohibited",
        11 => "Destination Net Unreachable for Type of Service",
        12 => "Destination Host Unreachable for Type of Service",
        13 => "Packet filtered",
        14 => "Precedence Violation",
        15 => "Precedence Cutoff",
        _ => return format!("Dest Unreachable, Bad Code: {code}"),
    }
    .to_string()
}

/// The words ping uses for each ICMPv6 destination-unreachable code.
fn describe_v6_unreachable(code: u8) -> String {
    match code {
        0 => "Destination unreachable: No route",
        1 => "Destination unreachable: Administratively prohibited",
        2 => "Destination unreachable: Beyond scope of source address",
        3 => "Destination unreachable: Address unreachable",
        4 => "Destination unreachable: Port unreachable",
        5 => "Destination unreachable: Source address failed ingress/egress policy",
        6 => "Destination unreachable: Reject route to destination",
        _ => return format!("Destination unreachable: Unknown code {code}"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    // Packets are written out byte by byte here, as the kernel hands them over, rather
    // than built with the library that parses them.
    const IPV4_HEADER: usize = 20;
    const IPV6_HEADER: usize = 40;
    const PROTO_ICMP: u8 = 1;
    const PROTO_ICMPV6: u8 = 58;
    const V4_ECHO_REPLY: u8 = 0;
    const V4_DEST_UNREACH: u8 = 3;
    const V4_FRAG_NEEDED: u8 = 4;
    const V6_DEST_UNREACH: u8 = 1;
    const V6_PACKET_TOO_BIG: u8 = 2;

    /// The Internet checksum (RFC 1071) of `data`: zero over a message whose checksum is
    /// right.
    fn checksum(data: &[u8]) -> u16 {
        let mut sum: u32 = data
            .chunks(2)
            .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
            .sum();
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// A minimal IPv4 header for `proto` from 10.0.0.1 to `dst`, with the checksum left zero
    /// (nothing here checks it).
    fn ipv4_header(ttl: u8, proto: u8, dst: [u8; 4], total: usize) -> Vec<u8> {
        let mut h = vec![0u8; IPV4_HEADER];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        h[8] = ttl;
        h[9] = proto;
        h[12..16].copy_from_slice(&[10, 0, 0, 1]);
        h[16..20].copy_from_slice(&dst);
        h
    }

    #[test]
    fn checksum_of_a_request_verifies_to_zero() {
        let msg = echo_request(false, 0x1234, 7, 84);
        assert_eq!(msg.len(), 64);
        assert_eq!(checksum(&msg), 0);
        // Odd lengths are padded with a zero byte.
        let odd = echo_request(false, 1, 2, 20 + 8 + 3);
        assert_eq!(odd.len(), 11);
        assert_eq!(checksum(&odd), 0);
    }

    #[test]
    fn request_size_counts_the_ip_header() {
        assert_eq!(echo_request(false, 1, 1, 1421).len() + IPV4_HEADER, 1421);
        assert_eq!(echo_request(true, 1, 1, 1421).len() + IPV6_HEADER, 1421);
        assert_eq!(min_echo_packet(false), 28);
        assert_eq!(min_echo_packet(true), 48);
    }

    #[test]
    fn echo_reply_v4_gives_ttl_ident_and_seq() {
        let mut reply = echo_request(false, 0xbeef, 42, 84);
        reply[0] = V4_ECHO_REPLY;
        let mut packet = ipv4_header(63, PROTO_ICMP, [10, 0, 0, 1], 84);
        packet.extend_from_slice(&reply);
        assert_eq!(
            parse_v4(&packet),
            Some((
                63,
                Message::EchoReply {
                    ident: 0xbeef,
                    seq: 42
                }
            ))
        );
    }

    #[test]
    fn frag_needed_v4_quotes_the_request() {
        let request = echo_request(false, 9, 3, 1421);
        let mut quoted = ipv4_header(63, PROTO_ICMP, [10, 0, 2, 2], 1421);
        quoted.extend_from_slice(&request[..8]);
        let mut error = vec![V4_DEST_UNREACH, V4_FRAG_NEEDED, 0, 0, 0, 0];
        error.extend_from_slice(&1420u16.to_be_bytes());
        error.extend_from_slice(&quoted);
        let mut packet = ipv4_header(64, PROTO_ICMP, [10, 0, 0, 1], 20 + error.len());
        packet.extend_from_slice(&error);
        assert_eq!(
            parse_v4(&packet),
            Some((
                64,
                Message::Error {
                    kind: ErrorKind::TooBig { mtu: 1420 },
                    ident: 9,
                    seq: 3,
                    quoted_dst: "10.0.2.2".parse().unwrap(),
                }
            ))
        );
        // An error quoting some other protocol is not ours.
        let mut other = packet.clone();
        other[20 + 8 + 9] = 17;
        assert_eq!(parse_v4(&other), None);
        // Neither is one cut short before the quoted echo header.
        assert_eq!(parse_v4(&packet[..packet.len() - 1]), None);
    }

    #[test]
    fn requests_and_unknown_types_are_ignored() {
        let request = echo_request(false, 1, 1, 84);
        let mut packet = ipv4_header(64, PROTO_ICMP, [10, 0, 0, 1], 84);
        packet.extend_from_slice(&request);
        assert_eq!(parse_v4(&packet), None);
        assert_eq!(parse_v6(&echo_request(true, 1, 1, 104)), None);
        assert_eq!(parse_v4(&[]), None);
        assert_eq!(parse_v6(&[129, 0, 0]), None);
    }

    #[test]
    fn packet_too_big_v6_through_a_fragment_header() {
        let dst: Ipv6Addr = "fd00:2::2".parse().unwrap();
        let mut quoted = vec![0u8; IPV6_HEADER];
        quoted[0] = 0x60;
        quoted[6] = 44; // fragment header follows
        quoted[24..40].copy_from_slice(&dst.octets());
        quoted.extend_from_slice(&[PROTO_ICMPV6, 0, 0, 1, 0, 0, 0, 1]); // first fragment
        quoted.extend_from_slice(&echo_request(true, 77, 5, 1500)[..8]);
        let mut error = vec![V6_PACKET_TOO_BIG, 0, 0, 0];
        error.extend_from_slice(&1420u32.to_be_bytes());
        error.extend_from_slice(&quoted);
        assert_eq!(
            parse_v6(&error),
            Some(Message::Error {
                kind: ErrorKind::TooBig { mtu: 1420 },
                ident: 77,
                seq: 5,
                quoted_dst: IpAddr::V6(dst),
            })
        );
        // A later fragment carries no echo header, so it cannot be matched.
        let mut later = error.clone();
        later[8 + IPV6_HEADER + 3] = 8 << 3 | 1;
        assert_eq!(parse_v6(&later), None);
    }

    #[test]
    fn unreachable_codes_read_like_ping() {
        let dst: Ipv6Addr = "fd00::9".parse().unwrap();
        let mut quoted = vec![0u8; IPV6_HEADER];
        quoted[0] = 0x60;
        quoted[6] = PROTO_ICMPV6;
        quoted[24..40].copy_from_slice(&dst.octets());
        quoted.extend_from_slice(&echo_request(true, 1, 2, 56));
        let mut error = vec![V6_DEST_UNREACH, 0, 0, 0, 0, 0, 0, 0];
        error.extend_from_slice(&quoted);
        match parse_v6(&error) {
            Some(Message::Error {
                kind: ErrorKind::Unreachable { code, description },
                ..
            }) => {
                assert_eq!(code, 0);
                assert_eq!(description, "Destination unreachable: No route");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(describe_v4_unreachable(1), "Destination Host Unreachable");
        assert_eq!(
            describe_v4_unreachable(99),
            "Dest Unreachable, Bad Code: 99"
        );
    }

    /// An IPv4 error of `kind` and `code` from 10.0.0.1, quoting a request to 10.0.2.2.
    fn v4_error(kind: u8, code: u8) -> Vec<u8> {
        let mut quoted = ipv4_header(63, PROTO_ICMP, [10, 0, 2, 2], 84);
        quoted.extend_from_slice(&echo_request(false, 4, 6, 84)[..8]);
        let mut error = vec![kind, code, 0, 0, 0, 0, 0, 0];
        error.extend_from_slice(&quoted);
        let mut packet = ipv4_header(64, PROTO_ICMP, [10, 0, 0, 1], 20 + error.len());
        packet.extend_from_slice(&error);
        packet
    }

    fn kind_of(parsed: Option<Message>) -> ErrorKind {
        match parsed {
            Some(Message::Error {
                kind,
                ident: 4,
                seq: 6,
                ..
            }) => kind,
            other => panic!("not an error quoting request 4/6: {other:?}"),
        }
    }

    #[test]
    fn codes_without_a_name_are_still_errors_of_their_kind() {
        assert_eq!(
            kind_of(parse_v4(&v4_error(V4_DEST_UNREACH, 99)).map(|(_, m)| m)),
            ErrorKind::Unreachable {
                code: 99,
                description: "Dest Unreachable, Bad Code: 99".into()
            }
        );
        assert_eq!(
            kind_of(parse_v4(&v4_error(11, 7)).map(|(_, m)| m)),
            ErrorKind::TimeExceeded
        );
        assert_eq!(
            kind_of(parse_v4(&v4_error(12, 9)).map(|(_, m)| m)),
            ErrorKind::parameter_problem(9)
        );
        // Redirects and the like quote packets too, but say nothing about the probe.
        assert_eq!(parse_v4(&v4_error(5, 1)), None);
    }

    #[test]
    fn extension_headers_before_a_quoted_v6_request_are_skipped() {
        let dst: Ipv6Addr = "fd00:2::2".parse().unwrap();
        let mut quoted = vec![0u8; IPV6_HEADER];
        quoted[0] = 0x60;
        quoted[6] = 0; // hop-by-hop options follow
        quoted[24..40].copy_from_slice(&dst.octets());
        // Hop-by-hop (8 bytes, PadN), then destination options of 16 bytes.
        quoted.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        quoted.extend_from_slice(&[PROTO_ICMPV6, 1, 1, 12, 0, 0, 0, 0]);
        quoted.extend_from_slice(&[0; 8]);
        quoted.extend_from_slice(&echo_request(true, 4, 6, 1500)[..8]);
        let mut error = vec![3, 0, 0, 0, 0, 0, 0, 0]; // time exceeded in transit
        error.extend_from_slice(&quoted);
        assert_eq!(kind_of(parse_v6(&error)), ErrorKind::TimeExceeded);
    }
}
