//! `routelab calico status LAB NODE`: a calico node's BGP peers, printed the way
//! `calicoctl node status` prints them, from the protocols its BIRD reports.

use std::fmt::Write as _;

use crate::observed::ProtocolRow;

/// What kind of peer a protocol is, from the prefix confd gives its name.
fn peer_type(name: &str) -> Option<(&'static str, &str)> {
    [
        ("Mesh_", "node-to-node mesh"),
        ("Node_", "node specific"),
        ("Global_", "global"),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| name.strip_prefix(prefix).map(|rest| (kind, rest)))
}

/// `10_0_0_2` → `10.0.0.2`, `fd00__2` → `fd00::2`; a `_port_N` suffix becomes `:N`
/// (`[addr]:N` for IPv6), as calicoctl shows it.
fn peer_address(encoded: &str) -> String {
    let (addr, port) = match encoded.split_once("_port_") {
        Some((a, p)) => (a, Some(p)),
        None => (encoded, None),
    };
    let ipv4 = addr.split('_').count() == 4 && addr.split('_').all(|p| p.parse::<u8>().is_ok());
    let addr = if ipv4 {
        addr.replace('_', ".")
    } else {
        addr.replace('_', ":")
    };
    match port {
        Some(p) if ipv4 => format!("{addr}:{p}"),
        Some(p) => format!("[{addr}]:{p}"),
        None => addr,
    }
}

/// One row of `calicoctl node status`'s table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// `10.0.0.2`, `10.0.0.1:8179`, `fd00::2`.
    pub address: String,
    /// `node-to-node mesh`, `node specific` or `global`.
    pub kind: String,
    /// BIRD's protocol state: `up`, `start`, `down`.
    pub state: String,
    pub since: String,
    /// BIRD's info column: `Established`, `Active        Socket: Connection refused`.
    pub info: String,
}

/// The BGP peers of one address family, in BIRD's protocol order (calicoctl's).
pub fn peers(family: u8, rows: &[ProtocolRow]) -> Vec<Peer> {
    rows.iter()
        .filter(|r| r.proto == "BGP")
        .filter_map(|r| {
            let (kind, encoded) = peer_type(&r.name)?;
            let address = peer_address(encoded);
            let is_v4 = !address.contains(':')
                || address.matches(':').count() == 1 && !address.starts_with('[');
            ((family == 4) == is_v4).then(|| Peer {
                address,
                kind: kind.to_string(),
                state: r.state.clone(),
                since: r.since.clone(),
                info: r.info.clone(),
            })
        })
        .collect()
}

/// The table for one address family, or calicoctl's "No IPvN peers found."
pub fn table(family: u8, rows: &[ProtocolRow]) -> String {
    let peers: Vec<[String; 5]> = peers(family, rows)
        .into_iter()
        .map(|p| [p.address, p.kind, p.state, p.since, p.info])
        .collect();
    let mut out = format!("IPv{family} BGP status\n");
    if peers.is_empty() {
        let _ = writeln!(out, "No IPv{family} peers found.");
        return out;
    }
    let headers = ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            peers
                .iter()
                .map(|p| p[i].len())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    out.push_str(&rule);
    for (i, h) in headers.iter().enumerate() {
        // calicoctl centres the headings.
        let _ = write!(out, "| {:^w$} ", h, w = widths[i]);
    }
    out.push_str("|\n");
    out.push_str(&rule);
    for p in &peers {
        for (i, cell) in p.iter().enumerate() {
            let _ = write!(out, "| {:<w$} ", cell, w = widths[i]);
        }
        out.push_str("|\n");
    }
    out.push_str(&rule);
    out
}

/// The whole report: process line, IPv4 table, IPv6 table.
pub fn report(rows: &[ProtocolRow]) -> String {
    format!(
        "Calico process is running.\n\n{}\n{}",
        table(4, rows),
        table(6, rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, proto: &str, state: &str, info: &str) -> ProtocolRow {
        ProtocolRow {
            name: name.into(),
            proto: proto.into(),
            table: Some("master".into()),
            state: state.into(),
            since: "10:55:11".into(),
            info: info.into(),
        }
    }

    #[test]
    fn renders_like_calicoctl() {
        let rows = [
            row("static1", "Static", "up", ""),
            row("Mesh_192_168_100_251", "BGP", "up", "Established"),
            row(
                "Node_100_64_1_106",
                "BGP",
                "start",
                "Connect       Socket: Connection refused",
            ),
            row("Global_10_0_0_1_port_8179", "BGP", "up", "Established"),
        ];
        let text = report(&rows);
        let expected = "\
Calico process is running.

IPv4 BGP status
+-----------------+-------------------+-------+----------+------------------------------------------+
|  PEER ADDRESS   |     PEER TYPE     | STATE |  SINCE   |                   INFO                   |
+-----------------+-------------------+-------+----------+------------------------------------------+
| 192.168.100.251 | node-to-node mesh | up    | 10:55:11 | Established                              |
| 100.64.1.106    | node specific     | start | 10:55:11 | Connect       Socket: Connection refused |
| 10.0.0.1:8179   | global            | up    | 10:55:11 | Established                              |
+-----------------+-------------------+-------+----------+------------------------------------------+

IPv6 BGP status
No IPv6 peers found.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn ipv6_peers_go_to_their_own_table() {
        let rows = [row("Mesh_fd00__2", "BGP", "up", "Established")];
        assert!(table(4, &rows).contains("No IPv4 peers found."));
        assert!(table(6, &rows).contains("| fd00::2 "));
    }
}
