//! ICMP and ICMPv6 echo messages: building requests and reading what comes back.
//!
//! Pure byte handling, no sockets. A probe is recognised by its echo identifier and sequence
//! number, which come back either in an echo reply or, for an error, inside the copy of the
//! offending packet that the error quotes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 header without options, as the kernel builds it for a raw ICMP socket.
pub(crate) const IPV4_HEADER: usize = 20;
/// The fixed IPv6 header; echo requests carry no extension headers.
pub(crate) const IPV6_HEADER: usize = 40;
/// ICMP and ICMPv6 echo headers: type, code, checksum, identifier, sequence.
pub(crate) const ECHO_HEADER: usize = 8;

const V4_ECHO_REPLY: u8 = 0;
const V4_DEST_UNREACH: u8 = 3;
const V4_ECHO_REQUEST: u8 = 8;
const V4_TIME_EXCEEDED: u8 = 11;
const V4_PARAM_PROBLEM: u8 = 12;
const V4_FRAG_NEEDED: u8 = 4;

const V6_DEST_UNREACH: u8 = 1;
const V6_PACKET_TOO_BIG: u8 = 2;
const V6_TIME_EXCEEDED: u8 = 3;
const V6_PARAM_PROBLEM: u8 = 4;
const V6_ECHO_REQUEST: u8 = 128;
const V6_ECHO_REPLY: u8 = 129;

const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;

/// Smallest IP packet that holds an echo request for this address family.
pub(crate) fn min_echo_packet(v6: bool) -> usize {
    ip_header_len(v6) + ECHO_HEADER
}

/// Size of the IP header the kernel puts in front of our echo message.
pub(crate) fn ip_header_len(v6: bool) -> usize {
    if v6 { IPV6_HEADER } else { IPV4_HEADER }
}

/// An echo request whose whole IP packet will be `packet_size` bytes.
///
/// The payload is a recognisable byte pattern (as ping's is). For ICMPv6 the checksum is left
/// zero: the kernel always computes it for raw ICMPv6 sockets, since it covers a
/// pseudo-header with the source address chosen at send time.
pub(crate) fn echo_request(v6: bool, ident: u16, seq: u16, packet_size: usize) -> Vec<u8> {
    let len = packet_size
        .saturating_sub(ip_header_len(v6))
        .max(ECHO_HEADER);
    let mut msg = vec![0u8; len];
    msg[0] = if v6 { V6_ECHO_REQUEST } else { V4_ECHO_REQUEST };
    msg[4..6].copy_from_slice(&ident.to_be_bytes());
    msg[6..8].copy_from_slice(&seq.to_be_bytes());
    for (i, byte) in msg[ECHO_HEADER..].iter_mut().enumerate() {
        *byte = i as u8;
    }
    if !v6 {
        let sum = checksum(&msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    msg
}

/// The Internet checksum (RFC 1071) of `data`.
pub(crate) fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
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
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    if ihl < IPV4_HEADER || packet.len() < ihl + ECHO_HEADER {
        return None;
    }
    let ttl = packet[8];
    let icmp = &packet[ihl..];
    let (kind, code) = (icmp[0], icmp[1]);
    let message = match kind {
        V4_ECHO_REPLY => Message::EchoReply {
            ident: be16(icmp, 4)?,
            seq: be16(icmp, 6)?,
        },
        V4_DEST_UNREACH | V4_TIME_EXCEEDED | V4_PARAM_PROBLEM => {
            let error = match kind {
                V4_DEST_UNREACH if code == V4_FRAG_NEEDED => ErrorKind::TooBig {
                    mtu: u32::from(be16(icmp, 6)?),
                },
                V4_DEST_UNREACH => ErrorKind::Unreachable {
                    code,
                    description: describe_v4_unreachable(code),
                },
                V4_TIME_EXCEEDED => ErrorKind::TimeExceeded,
                _ => ErrorKind::Unreachable {
                    code,
                    description: "Parameter problem".to_string(),
                },
            };
            let (quoted_dst, ident, seq) = quoted_v4(&icmp[ECHO_HEADER..])?;
            Message::Error {
                kind: error,
                ident,
                seq,
                quoted_dst,
            }
        }
        _ => return None,
    };
    Some((ttl, message))
}

/// The destination, identifier and sequence of the echo request an IPv4 error quotes.
fn quoted_v4(quoted: &[u8]) -> Option<(IpAddr, u16, u16)> {
    let ihl = usize::from(quoted.first()? & 0x0f) * 4;
    if ihl < IPV4_HEADER || quoted.len() < ihl + ECHO_HEADER || quoted[9] != PROTO_ICMP {
        return None;
    }
    let dst = Ipv4Addr::new(quoted[16], quoted[17], quoted[18], quoted[19]);
    let echo = &quoted[ihl..];
    if echo[0] != V4_ECHO_REQUEST {
        return None;
    }
    Some((IpAddr::V4(dst), be16(echo, 4)?, be16(echo, 6)?))
}

/// Reads a message from a raw ICMPv6 socket (which delivers no IP header; the hop limit
/// comes separately as ancillary data).
pub(crate) fn parse_v6(icmp: &[u8]) -> Option<Message> {
    if icmp.len() < ECHO_HEADER {
        return None;
    }
    let (kind, code) = (icmp[0], icmp[1]);
    let error = match kind {
        V6_ECHO_REPLY => {
            return Some(Message::EchoReply {
                ident: be16(icmp, 4)?,
                seq: be16(icmp, 6)?,
            });
        }
        V6_DEST_UNREACH => ErrorKind::Unreachable {
            code,
            description: describe_v6_unreachable(code),
        },
        V6_PACKET_TOO_BIG => ErrorKind::TooBig {
            mtu: u32::from_be_bytes(icmp[4..8].try_into().ok()?),
        },
        V6_TIME_EXCEEDED => ErrorKind::TimeExceeded,
        V6_PARAM_PROBLEM => ErrorKind::Unreachable {
            code,
            description: "Parameter problem".to_string(),
        },
        _ => return None,
    };
    let (quoted_dst, ident, seq) = quoted_v6(&icmp[ECHO_HEADER..])?;
    Some(Message::Error {
        kind: error,
        ident,
        seq,
        quoted_dst,
    })
}

/// The destination, identifier and sequence of the echo request an ICMPv6 error quotes,
/// skipping any extension headers (a quoted fragment must be the first one).
fn quoted_v6(quoted: &[u8]) -> Option<(IpAddr, u16, u16)> {
    if quoted.len() < IPV6_HEADER {
        return None;
    }
    let dst: [u8; 16] = quoted[24..40].try_into().ok()?;
    let mut next = quoted[6];
    let mut at = IPV6_HEADER;
    loop {
        match next {
            PROTO_ICMPV6 => break,
            // Hop-by-hop, routing and destination options: length in 8-byte units after
            // the first 8 bytes.
            0 | 43 | 60 => {
                next = *quoted.get(at)?;
                at += 8 + usize::from(*quoted.get(at + 1)?) * 8;
            }
            // Fragment header: fixed 8 bytes; only the first fragment carries the echo header.
            44 => {
                next = *quoted.get(at)?;
                let offset = be16(quoted, at + 2)? >> 3;
                if offset != 0 {
                    return None;
                }
                at += 8;
            }
            _ => return None,
        }
    }
    let echo = quoted.get(at..at + ECHO_HEADER)?;
    if echo[0] != V6_ECHO_REQUEST {
        return None;
    }
    Some((
        IpAddr::V6(Ipv6Addr::from(dst)),
        be16(echo, 4)?,
        be16(echo, 6)?,
    ))
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
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
}
