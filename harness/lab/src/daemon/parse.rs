//! Typed views of `show protocols`, `show protocols all NAME` and `show ospf neighbors`
//! replies, for both BIRD 2 and BIRD 1.6.
//!
//! Differences between the flavours that matter here:
//!
//! - `Table` column: BIRD 1.6 names the protocol's one table (`master`); BIRD 2 names the
//!   table of a single-channel protocol (`master4`) and prints `---` for protocols with no
//!   or several channels, BGP included. `---` becomes `None`.
//! - `Since` column: BIRD 1.6 prints `10:27:18`, BIRD 2 `10:27:18.909`; older events show a
//!   date, and `timeformat protocol iso long` prints date and time separated by a space.
//! - `show protocols all`: BIRD 1.6 prints the route counters first and the BGP block
//!   (`BGP state:`, `Neighbor address:`, ...) after; BIRD 2 prints the BGP block first and
//!   then one `Channel NAME` block per channel, each with its own `Routes:` line.
//! - `show ospf neighbors`: BIRD 1.6 prints the dead timer as `00:02`, BIRD 2 as `3.536`.

use routelab_model::observed::{OspfNeighbor, ProtocolDetail, ProtocolRow, RouteCounts};

use super::DaemonError;
use super::reply::Reply;

/// Reply code of a `show protocols` row.
const CODE_PROTOCOL_ROW: u16 = 1002;
/// Reply code of the detail lines `show protocols all` prints under a row.
const CODE_PROTOCOL_DETAIL: u16 = 1006;
/// Reply code of `show ospf neighbors` lines.
const CODE_OSPF_NEIGHBORS: u16 = 1013;

/// Rows of a `show protocols` (or `show protocols all`) reply.
pub fn protocol_rows(command: &str, reply: &Reply) -> Result<Vec<ProtocolRow>, DaemonError> {
    reply
        .with_code(CODE_PROTOCOL_ROW)
        .map(|line| parse_row(command, &line.text))
        .collect()
}

/// Each row of a `show protocols all` reply with its detail lines.
pub fn protocol_details(command: &str, reply: &Reply) -> Result<Vec<ProtocolDetail>, DaemonError> {
    let mut out: Vec<(ProtocolRow, Vec<String>)> = Vec::new();
    for line in &reply.lines {
        match line.code {
            CODE_PROTOCOL_ROW => out.push((parse_row(command, &line.text)?, Vec::new())),
            CODE_PROTOCOL_DETAIL => match out.last_mut() {
                Some((_, lines)) => lines.push(line.text.clone()),
                None => {
                    return Err(DaemonError::Parse {
                        command: command.into(),
                        detail: "detail line before any protocol row".into(),
                        line: line.text.clone(),
                    });
                }
            },
            _ => {}
        }
    }
    out.into_iter()
        .map(|(row, lines)| parse_detail(command, row, lines))
        .collect()
}

fn parse_row(command: &str, text: &str) -> Result<ProtocolRow, DaemonError> {
    let words = words_with_offsets(text);
    if words.len() < 5 {
        return Err(DaemonError::Parse {
            command: command.into(),
            detail: "a protocol row has at least name, proto, table, state and since".into(),
            line: text.into(),
        });
    }
    let word = |i: usize| words[i].1.to_string();
    // `since` is one word (`10:27:18.909`, `2026-11-21`) or a date and a time.
    let mut since_end = 5;
    if is_date(words[4].1) && words.get(5).is_some_and(|(_, w)| is_time(w)) {
        since_end = 6;
    }
    let (since_start, _) = words[4];
    let (last_start, last) = words[since_end - 1];
    let since = text[since_start..last_start + last.len()].to_string();
    let info = text[last_start + last.len()..].trim().to_string();
    let table = word(2);
    Ok(ProtocolRow {
        name: word(0),
        proto: word(1),
        table: (table != "---").then_some(table),
        state: word(3),
        since,
        info,
    })
}

/// A BIRD timer, `LEFT/LENGTH` in seconds (BIRD 2 prints fractions).
fn timer(value: &str) -> Option<(std::time::Duration, std::time::Duration)> {
    let (left, length) = value.split_once('/')?;
    let secs = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
    };
    let d = std::time::Duration::from_secs_f64;
    Some((d(secs(left)?), d(secs(length)?)))
}

fn parse_detail(
    command: &str,
    row: ProtocolRow,
    lines: Vec<String>,
) -> Result<ProtocolDetail, DaemonError> {
    let mut detail = ProtocolDetail {
        row,
        bgp_state: None,
        neighbor_address: None,
        neighbor_as: None,
        last_error: None,
        hold_timer: None,
        keepalive_timer: None,
        routes: Vec::new(),
        lines: Vec::new(),
    };
    let mut channel: Option<String> = None;
    for line in &lines {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("Channel ") {
            channel = Some(name.trim().to_string());
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let bad = |what: &str| DaemonError::Parse {
            command: command.into(),
            detail: what.into(),
            line: line.clone(),
        };
        match key {
            "BGP state" => detail.bgp_state = Some(value.to_string()),
            "Neighbor address" => {
                let addr = value.split('%').next().unwrap_or(value);
                detail.neighbor_address = Some(
                    addr.parse()
                        .map_err(|_| bad("neighbor address is not an IP"))?,
                );
            }
            "Neighbor AS" => {
                detail.neighbor_as = Some(
                    value
                        .parse()
                        .map_err(|_| bad("neighbor AS is not a number"))?,
                );
            }
            "Last error" => detail.last_error = Some(value.to_string()),
            // BIRD 2 `232.669/240`, BIRD 1.6 `174/240`.
            "Hold timer" => detail.hold_timer = timer(value),
            "Keepalive timer" => detail.keepalive_timer = timer(value),
            "Routes" => {
                let mut counts = RouteCounts {
                    channel: channel.clone(),
                    ..RouteCounts::default()
                };
                for part in value.split(',') {
                    let mut it = part.split_whitespace();
                    let (Some(n), Some(what)) = (it.next(), it.next()) else {
                        return Err(bad("route counters are `N what, ...`"));
                    };
                    let n: u64 = n
                        .parse()
                        .map_err(|_| bad("route counter is not a number"))?;
                    match what {
                        "imported" => counts.imported = n,
                        "filtered" => counts.filtered = n,
                        "exported" => counts.exported = n,
                        "preferred" => counts.preferred = n,
                        // Counters added by later versions are not needed here.
                        _ => {}
                    }
                }
                detail.routes.push(counts);
            }
            _ => {}
        }
    }
    detail.lines = lines;
    Ok(detail)
}

/// Neighbors in a `show ospf neighbors` reply.
pub fn ospf_neighbors(command: &str, reply: &Reply) -> Result<Vec<OspfNeighbor>, DaemonError> {
    let mut out = Vec::new();
    for line in reply.with_code(CODE_OSPF_NEIGHBORS) {
        let text = line.text.trim();
        // The protocol's name (`o1:`) and the column heading are not neighbors.
        if text.is_empty() || text.ends_with(':') || text.starts_with("Router ID") {
            continue;
        }
        let bad = |what: &str| DaemonError::Parse {
            command: command.into(),
            detail: what.into(),
            line: line.text.clone(),
        };
        let f: Vec<&str> = text.split_whitespace().collect();
        if f.len() != 6 {
            return Err(bad(
                "a neighbor line has router ID, priority, state, dead time, interface, address",
            ));
        }
        out.push(OspfNeighbor {
            router_id: f[0]
                .parse()
                .map_err(|_| bad("router ID is not an IPv4 address"))?,
            priority: f[1].parse().map_err(|_| bad("priority is not a number"))?,
            state: f[2].to_string(),
            dead_time: f[3].to_string(),
            interface: f[4].to_string(),
            address: f[5]
                .split('%')
                .next()
                .unwrap_or(f[5])
                .parse()
                .map_err(|_| bad("router IP is not an IP address"))?,
        });
    }
    Ok(out)
}

/// Whitespace-separated words with their byte offsets.
fn words_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

fn is_date(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_time(word: &str) -> bool {
    word.contains(':')
        && word
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b':' || c == b'.')
}

#[cfg(test)]
mod tests {
    //! Parsing of replies recorded from BIRD 2.0.12 and BIRD 1.6.8 (two namespaces, eBGP and
    //! OSPF between the two flavours). The live tests in `daemon::tests` exercise BIRD 2 for
    //! real; these keep the 1.6 formats covered where BIRD 1.6 is not installed.

    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::*;
    use crate::daemon::reply::parse_reply;

    const BIRD2_PROTOCOLS: &str = "\
2002-Name       Proto      Table      State  Since         Info
1002-device1    Device     ---        up     10:27:18.909  
 kernel1    Kernel     master4    up     10:27:18.909  
 peer_b     BGP        ---        up     10:27:22.417  Established   
 wrong      BGP        ---        start  2026-11-20 10:27:18  Idle          Received: Bad peer AS
 o1         OSPF       master4    up     10:27:18.909  Running
0000 
";

    const BIRD16_PROTOCOLS: &str = "\
2002-name     proto    table    state  since       info
1002-device1  Device   master   up     10:27:18    
 peer_a   BGP      master   start  10:27:38    Idle          BGP Error: Bad peer AS
 o1       OSPF     master   up     10:27:18    Running
0000 
";

    #[test]
    fn protocol_rows_of_both_flavours() {
        let rows = protocol_rows("show protocols", &parse_reply(BIRD2_PROTOCOLS).unwrap()).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[1].table.as_deref(), Some("master4"));
        assert_eq!(rows[2].name, "peer_b");
        assert_eq!(rows[2].table, None);
        assert_eq!(rows[2].since, "10:27:22.417");
        assert_eq!(rows[2].info, "Established");
        assert_eq!(rows[3].since, "2026-11-20 10:27:18");
        assert_eq!(rows[3].info, "Idle          Received: Bad peer AS");
        assert_eq!(rows[0].info, "");

        let rows =
            protocol_rows("show protocols", &parse_reply(BIRD16_PROTOCOLS).unwrap()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].table.as_deref(), Some("master"));
        assert_eq!(rows[1].state, "start");
        assert_eq!(rows[1].since, "10:27:38");
        assert_eq!(rows[1].info, "Idle          BGP Error: Bad peer AS");
    }

    #[test]
    fn bird16_bgp_detail() {
        let reply = parse_reply(
            "\
2002-name     proto    table    state  since       info
1002-peer_a   BGP      master   start  10:27:38    Idle          BGP Error: Bad peer AS
1006-  Preference:     100
   Input filter:   ACCEPT
   Output filter:  ACCEPT
   Routes:         2 imported, 1 exported, 2 preferred
   Route change stats:     received   rejected   filtered    ignored   accepted
     Import updates:              0          0          0          0          0
   BGP state:          Idle
     Neighbor address: 10.0.0.1
     Neighbor AS:      65099
     Error wait:       53/60
     Last error:       BGP Error: Bad peer AS
 
0000 
",
        )
        .unwrap();
        let d = protocol_details("show protocols all peer_a", &reply).unwrap();
        assert_eq!(d.len(), 1);
        let d = &d[0];
        assert_eq!(d.row.name, "peer_a");
        assert_eq!(d.bgp_state.as_deref(), Some("Idle"));
        assert_eq!(d.neighbor_address, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(d.neighbor_as, Some(65099));
        assert_eq!(d.last_error.as_deref(), Some("BGP Error: Bad peer AS"));
        assert_eq!(d.hold_timer, None);
        assert_eq!(
            d.routes,
            [RouteCounts {
                channel: None,
                imported: 2,
                filtered: 0,
                exported: 1,
                preferred: 2
            }]
        );
        assert!(!d.is_established());
    }

    #[test]
    fn bird2_bgp_detail() {
        let reply = parse_reply(
            "\
2002-Name       Proto      Table      State  Since         Info
1002-peer_b     BGP        ---        up     10:27:22.417  Established   
1006-  BGP state:          Established
     Neighbor address: fe80::1%v0
     Neighbor AS:      4200000001
     Local AS:         65001
     Local capabilities
       Multiprotocol
         AF announced: ipv4
   Channel ipv4
     State:          UP
     Table:          master4
     Routes:         1 imported, 3 filtered, 2 exported, 1 preferred
   Channel ipv6
     State:          UP
     Routes:         4 imported, 0 exported, 4 preferred
 
0000 
",
        )
        .unwrap();
        let d = protocol_details("show protocols all peer_b", &reply).unwrap();
        let d = &d[0];
        assert!(d.is_established());
        assert_eq!(d.neighbor_address, Some("fe80::1".parse().unwrap()));
        assert_eq!(d.neighbor_as, Some(4_200_000_001));
        assert_eq!(d.last_error, None);
        assert_eq!(d.routes.len(), 2);
        assert_eq!(d.routes[0].channel.as_deref(), Some("ipv4"));
        assert_eq!(d.routes[0].filtered, 3);
        assert_eq!(d.routes[1].channel.as_deref(), Some("ipv6"));
        assert_eq!(d.imported(), 5);
    }

    #[test]
    fn ospf_neighbors_of_both_flavours() {
        let bird2 = parse_reply(
            "1013-o1:\n Router ID   \tPri\t     State     \tDTime\tInterface  Router IP\n \
             10.0.0.2    \t  1\tFull/PtP  \t 3.536\tv0         10.0.0.2\n0000 \n",
        )
        .unwrap();
        let n = ospf_neighbors("show ospf neighbors o1", &bird2).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].router_id, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(n[0].priority, 1);
        assert!(n[0].is_full());
        assert_eq!(n[0].dead_time, "3.536");
        assert_eq!(n[0].interface, "v0");

        let bird16 = parse_reply(
            "1013-o1:\n Router ID   \tPri\t     State     \tDTime\tInterface  Router IP   \n \
             10.0.0.1\t  1\tFull/PtP  \t00:02\tv1         10.0.0.1       \n0000 \n",
        )
        .unwrap();
        let n = ospf_neighbors("show ospf neighbors o1", &bird16).unwrap();
        assert_eq!(n[0].address, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(n[0].dead_time, "00:02");
    }

    #[test]
    fn malformed_rows_are_errors_naming_the_line() {
        let reply = parse_reply("1002-justaname\n0000 \n").unwrap();
        let err = protocol_rows("show protocols", &reply).unwrap_err();
        assert!(err.to_string().contains("justaname"), "{err}");
    }

    #[test]
    fn hold_timers_of_both_flavours() {
        let secs = Duration::from_secs_f64;
        for (line, want) in [
            (
                "    Hold timer:       232.669/240",
                (secs(232.669), secs(240.0)),
            ),
            ("    Hold timer:       174/240", (secs(174.0), secs(240.0))),
        ] {
            let reply = parse_reply(&format!(
                "1002-r2         BGP        ---        up     22:06:16.724  Established\n\
                 1006-  BGP state:          Established\n{line}\n0000 \n"
            ))
            .unwrap();
            let d = protocol_details("show protocols all", &reply).unwrap();
            assert_eq!(d[0].hold_timer, Some(want), "{line}");
        }
    }
}
