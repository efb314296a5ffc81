//! Names that become parts of paths, namespace names and interface names, and the rules
//! they must follow. Everything a scenario or the command line names is checked here
//! before it is used for anything.
//!
//! A **plain name** (lab, scenario, node, link, pod) is 1 to 32 characters of ASCII letters,
//! digits, `-`, `_` and `.`, starting with a letter or a digit. It is then always a single
//! path component (never `.`, `..`, absolute, or holding a `/`), and `<lab>-<node>-<pod>`,
//! the longest name routelab makes from them, stays a valid file name.
//!
//! An **interface name** follows Linux: 1 to 15 bytes (IFNAMSIZ), no `/`, `:` or white
//! space; and not one of the names the kernel reserves (`lo` belongs to every namespace,
//! `all` and `default` are directories of `/proc/sys/net/*/conf/`).

/// The longest plain name.
pub const MAX_NAME: usize = 32;
/// The longest interface name (Linux's IFNAMSIZ less the terminating NUL).
pub const MAX_INTERFACE_NAME: usize = 15;

/// Interface names a link may not use.
pub const RESERVED_INTERFACES: [&str; 3] = ["lo", "all", "default"];

/// A name that breaks the rules above; its message says which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "{what} name `{name}` must be 1 to {MAX_NAME} characters of letters, digits, `-`, `_` \
         or `.`, starting with a letter or a digit"
    )]
    NotPlain { what: String, name: String },
    #[error("interface name `{0}` must be 1 to {MAX_INTERFACE_NAME} characters (Linux's IFNAMSIZ)")]
    InterfaceLength(String),
    #[error("interface name `{0}` may not be `.` or `..` or contain `/`, `:` or white space")]
    InterfaceCharacters(String),
    #[error(
        "interface name `{0}` is reserved (`lo` is every namespace's loopback; `all` and \
         `default` name the kernel's per-family settings)"
    )]
    ReservedInterface(String),
}

/// Checks a plain name; `what` says what it names, for the message (`lab`, `node`, ...).
pub fn plain(what: &str, name: &str) -> Result<(), NameError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(NameError::NotPlain {
            what: what.to_string(),
            name: name.escape_debug().to_string(),
        })
    }
}

/// Checks the name of an interface a link adds to a node.
pub fn interface(name: &str) -> Result<(), NameError> {
    if name.is_empty() || name.len() > MAX_INTERFACE_NAME {
        return Err(NameError::InterfaceLength(name.escape_debug().to_string()));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return Err(NameError::InterfaceCharacters(
            name.escape_debug().to_string(),
        ));
    }
    if RESERVED_INTERFACES.contains(&name) {
        return Err(NameError::ReservedInterface(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_single_harmless_path_components() {
        for good in [
            "r1",
            "kubenode-hkg04",
            "Global_NIC",
            "a.b",
            "0",
            &"x".repeat(32),
        ] {
            assert_eq!(plain("node", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "/tmp/x",
            "../../x",
            "a/b",
            "-x",
            ".hidden",
            "_x",
            "a b",
            "a\nb",
            "é",
            &"x".repeat(33),
        ] {
            assert!(plain("lab", bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            plain("pod", "../../x")
                .unwrap_err()
                .to_string()
                .starts_with("pod name `../../x`")
        );
    }

    #[test]
    fn interface_names_follow_linux_and_avoid_reserved_ones() {
        assert_eq!(interface("eth0"), Ok(()));
        assert_eq!(interface("vxlan.calico"), Ok(()));
        for bad in [
            "",
            "lo",
            "all",
            "default",
            "a/b",
            "a:b",
            "a b",
            ".",
            "..",
            "sixteen-chars-xx",
        ] {
            assert!(interface(bad).is_err(), "{bad:?} accepted");
        }
    }
}
