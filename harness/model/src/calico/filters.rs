//! BGPFilter resources as BIRD functions: one function per filter, direction and IP
//! family, each rule an `if (...) then { ...; accept|reject; }` statement.
//!
//! Rules that name a `peerType` are guarded by the function's `is_same_as` argument,
//! which callers pass as "the peer is in our AS".

use std::collections::BTreeMap;

use super::error::{Context, bail};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::resources::{BgpFilterSpec, FilterOperation, FilterRule};

/// BIRD's longest symbol.
pub const MAX_SYMBOL_LEN: usize = 64;

/// 2^31-1: priorities (Linux route metrics) and `bgp_local_pref` convert with `x = MAX - y`.
pub const BIRD_INT_MAX: i64 = 2_147_483_647;

/// Shortens `name` to `max_len` characters, replacing the tail with `_` and 16 hex digits
/// of its SHA-256 so that distinct long names stay distinct.
pub fn truncate_and_hash(name: &str, max_len: usize) -> super::Result<String> {
    if name.len() <= max_len {
        return Ok(name.to_string());
    }
    const HASH_CHARS: usize = 16;
    if max_len <= HASH_CHARS + 1 {
        bail!("cannot shorten {name:?} to {max_len} characters");
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    let keep = max_len - HASH_CHARS - 1;
    let head = name.get(..keep).context("filter names are ASCII")?;
    Ok(format!("{head}_{}", &hex[..HASH_CHARS]))
}

/// The quoted BIRD function name of a filter, e.g. `'bgp_my-filter_importFilterV4'`.
pub fn function_name(filter: &str, import: bool, version: u8) -> super::Result<String> {
    let dir = if import { "import" } else { "export" };
    let fixed = format!("bgp__{dir}FilterV{version}").len();
    let short = truncate_and_hash(filter, MAX_SYMBOL_LEN - fixed)?;
    Ok(format!("'bgp_{short}_{dir}FilterV{version}'"))
}

/// The rules of one direction and family.
pub fn rules(spec: &BgpFilterSpec, import: bool, version: u8) -> &[FilterRule] {
    match (import, version) {
        (true, 4) => &spec.import_v4,
        (true, _) => &spec.import_v6,
        (false, 4) => &spec.export_v4,
        (false, _) => &spec.export_v6,
    }
}

/// Whether a direction's function takes the `is_same_as` argument.
pub fn has_peer_type(rules: &[FilterRule]) -> bool {
    rules.iter().any(|r| !r.peer_type.is_empty())
}

fn prefix_set(rule: &FilterRule) -> super::Result<String> {
    let Some(len) = &rule.prefix_length else {
        return Ok(rule.cidr.clone());
    };
    let net: IpNet = rule
        .cidr
        .parse()
        .with_context(|| format!("bad cidr {:?} in BGPFilter", rule.cidr))?;
    let mut lo = i32::from(net.prefix_len());
    let mut hi = i32::from(net.max_prefix_len());
    if let Some(min) = len.min {
        lo = lo.max(min);
    }
    if let Some(max) = len.max {
        hi = hi.min(max);
    }
    Ok(format!("[ {}{{{lo},{hi}}} ]", rule.cidr))
}

fn community_tuple(value: &str) -> super::Result<(usize, String)> {
    let parts: Vec<&str> = value.split(':').collect();
    match parts.len() {
        2 | 3 => Ok((parts.len(), format!("({})", parts.join(", ")))),
        _ => bail!("invalid community {value:?} in BGPFilter"),
    }
}

fn operations(ops: &[FilterOperation]) -> super::Result<Vec<String>> {
    let mut out = Vec::new();
    for op in ops {
        if let Some(add) = &op.add_community {
            let value = add
                .value
                .as_deref()
                .context("addCommunity without a value")?;
            let (n, tuple) = community_tuple(value)?;
            let attr = if n == 2 {
                "bgp_community"
            } else {
                "bgp_large_community"
            };
            out.push(format!("{attr}.add({tuple});"));
        } else if let Some(prepend) = &op.prepend_as_path {
            // Each prepend goes to the front, so the last one prepended comes first.
            for asn in prepend.prefix.iter().rev() {
                out.push(format!("bgp_path.prepend({asn});"));
            }
        } else if let Some(set) = &op.set_priority {
            let value = set.value.context("setPriority without a value")?;
            out.push(format!("bgp_local_pref = {};", BIRD_INT_MAX - value));
        } else {
            bail!("BGPFilter operation with no field set");
        }
    }
    Ok(out)
}

/// One rule as a BIRD statement.
pub fn rule_statement(rule: &FilterRule) -> super::Result<String> {
    let action = match rule.action.as_str() {
        "Accept" => "accept;",
        "Reject" => "reject;",
        other => bail!("unexpected action {other:?} in BGPFilter"),
    };
    let mut conds = Vec::new();
    if !rule.cidr.is_empty() {
        let op = match rule.match_operator.as_str() {
            "Equal" => "=",
            "NotEqual" => "!=",
            "In" => "~",
            "NotIn" => "!~",
            "" => bail!("BGPFilter rule with a cidr but no matchOperator"),
            other => bail!("unexpected matchOperator {other:?} in BGPFilter"),
        };
        conds.push(format!("(net {op} {})", prefix_set(rule)?));
    }
    match rule.source.as_str() {
        "" => {}
        "RemotePeers" => conds.push("((defined(source))&&(source ~ [ RTS_BGP ]))".to_string()),
        other => bail!("unexpected source {other:?} in BGPFilter"),
    }
    if !rule.interface.is_empty() {
        conds.push(format!(
            "((defined(ifname))&&(ifname ~ \"{}\"))",
            rule.interface
        ));
    }
    if let Some(c) = &rule.communities {
        let value = c
            .values
            .first()
            .context("empty communities match in BGPFilter")?;
        let (n, tuple) = community_tuple(value)?;
        let attr = if n == 2 {
            "bgp_community"
        } else {
            "bgp_large_community"
        };
        conds.push(format!("({tuple} ~ {attr})"));
    }
    if !rule.as_path_prefix.is_empty() {
        let asns: Vec<String> = rule.as_path_prefix.iter().map(|a| a.to_string()).collect();
        conds.push(format!("(bgp_path ~ [= {} * =])", asns.join(" ")));
    }
    if let Some(p) = rule.priority {
        conds.push(format!(
            "(defined(bgp_local_pref)&&(bgp_local_pref = {}))",
            BIRD_INT_MAX - p
        ));
    }
    let mut body = operations(&rule.operations)?;
    body.push(action.to_string());
    let body = body.join(" ");
    let stmt = if conds.is_empty() {
        body
    } else {
        format!("if ({}) then {{ {body} }}", conds.join("&&"))
    };
    Ok(match rule.peer_type.as_str() {
        "" => stmt,
        "iBGP" => format!("if (is_same_as) then {{ {stmt} }}"),
        "eBGP" => format!("if (!is_same_as) then {{ {stmt} }}"),
        other => bail!("unexpected peerType {other:?} in BGPFilter"),
    })
}

/// The BIRD function definitions for every filter with rules for this family, as lines.
pub fn bird_functions(
    filters: &BTreeMap<String, BgpFilterSpec>,
    version: u8,
) -> super::Result<Vec<String>> {
    let mut lines = Vec::new();
    for (name, spec) in filters {
        let dirs: Vec<(bool, &[FilterRule])> = [true, false]
            .into_iter()
            .map(|import| (import, rules(spec, import, version)))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        if dirs.is_empty() {
            continue;
        }
        lines.push(format!("# v{version} BGPFilter {name}"));
        for (import, rules) in dirs {
            let fname = function_name(name, import, version)?;
            let args = if has_peer_type(rules) {
                "bool is_same_as"
            } else {
                ""
            };
            lines.push(format!("function {fname}({args}) {{"));
            for rule in rules {
                let stmt = rule_statement(rule).with_context(|| format!("BGPFilter {name}"))?;
                lines.push(format!("  {stmt}"));
            }
            lines.push("}".to_string());
        }
    }
    if lines.is_empty() {
        lines.push(format!("# No v{version} BGPFilters configured"));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calico::resources::{AddCommunity, AsNumber, PrefixLength, PrependAsPath};

    fn rule(action: &str) -> FilterRule {
        FilterRule {
            action: action.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn short_names_stay_and_long_ones_hash() {
        assert_eq!(
            function_name("f", true, 4).unwrap(),
            "'bgp_f_importFilterV4'"
        );
        let long = "x".repeat(80);
        let name = function_name(&long, false, 6).unwrap();
        assert_eq!(name.len() - 2, MAX_SYMBOL_LEN);
        assert_ne!(name, function_name(&"x".repeat(81), false, 6).unwrap());
    }

    #[test]
    fn rule_with_every_match() {
        let r = FilterRule {
            cidr: "10.0.0.0/8".into(),
            prefix_length: Some(PrefixLength {
                min: Some(16),
                max: None,
            }),
            match_operator: "In".into(),
            source: "RemotePeers".into(),
            interface: "eth*".into(),
            peer_type: "eBGP".into(),
            priority: Some(512),
            operations: vec![
                FilterOperation {
                    add_community: Some(AddCommunity {
                        value: Some("65000:1".into()),
                    }),
                    ..Default::default()
                },
                FilterOperation {
                    prepend_as_path: Some(PrependAsPath {
                        prefix: vec![AsNumber(1), AsNumber(2)],
                    }),
                    ..Default::default()
                },
            ],
            ..rule("Accept")
        };
        assert_eq!(
            rule_statement(&r).unwrap(),
            "if (!is_same_as) then { if ((net ~ [ 10.0.0.0/8{16,32} ])&&((defined(source))&&(source ~ [ RTS_BGP ]))&&((defined(ifname))&&(ifname ~ \"eth*\"))&&(defined(bgp_local_pref)&&(bgp_local_pref = 2147483135))) then { bgp_community.add((65000, 1)); bgp_path.prepend(2); bgp_path.prepend(1); accept; } }"
        );
    }

    #[test]
    fn bare_action_and_bad_input() {
        assert_eq!(rule_statement(&rule("Reject")).unwrap(), "reject;");
        assert!(rule_statement(&rule("Drop")).is_err());
        let no_op = FilterRule {
            cidr: "10.0.0.0/8".into(),
            ..rule("Accept")
        };
        assert!(rule_statement(&no_op).is_err());
    }

    #[test]
    fn no_filters_is_a_comment() {
        assert_eq!(
            bird_functions(&BTreeMap::new(), 6).unwrap(),
            ["# No v6 BGPFilters configured"]
        );
    }
}
