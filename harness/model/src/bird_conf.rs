//! The protocols a BIRD configuration defines, and the interface patterns of its OSPF
//! protocols, read from its text: enough to tell at `check` that an expectation names a
//! protocol the node's BIRD does not have, or that OSPF is told to run on interfaces the
//! node does not have.
//!
//! This is no BIRD parser (BIRD's own `bird -p` checks the grammar): it skips comments and
//! strings, tracks braces, and reads each top-level `protocol TYPE [NAME] [from T] {`.
//! Limits, each answered by "unknown" ([`None`]) rather than a guess:
//! - an `include` that cannot be read, or whose wildcard is anywhere but in the last path
//!   component;
//! - macros and conditionals BIRD 2 does not have; the configuration is read as written.
//!
//! Interface patterns are read from `interface` statements anywhere inside an `ospf`
//! protocol's block (templates and `from` inheritance are not followed); a pattern may be
//! negated (`"-eth*"` or `-"eth*"`) and carry a prefix, which is not read.
//!
//! Unnamed protocols get BIRD's names: the type and a counter per type, from 1
//! (`device1`, `kernel2`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `protocol` a configuration defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// `bgp`, `ospf`, `kernel`, ...
    pub kind: String,
    /// As `birdc show protocols` lists it.
    pub name: String,
    /// A BGP protocol's `neighbor` address, when written in the protocol itself (not
    /// inherited from a template).
    pub neighbor: Option<std::net::IpAddr>,
    /// A `kernel` protocol's `kernel table` (a number or a name, as written), when written
    /// in the protocol itself; without one it works on the main table.
    pub kernel_table: Option<String>,
    /// A BGP protocol's `local ... port N`, the port it listens on, when written in the
    /// protocol itself; without one it is BGP's 179 (or the daemon's `listen bgp port`).
    pub local_port: Option<u16>,
    /// Where its `protocol` keyword is.
    pub at: Position,
}

/// The protocols of a configuration file, following its includes (relative to the file
/// that includes them, as BIRD resolves them). `None` when some of it cannot be read.
pub fn protocols_of_file(path: &Path) -> Option<Vec<Protocol>> {
    let mut out = Reader::default();
    out.file(path, 0)?;
    Some(out.finish())
}

/// The protocols of configuration text; includes resolve against `dir`. `None` when an
/// include cannot be read.
pub fn protocols_of_text(text: &str, dir: &Path) -> Option<Vec<Protocol>> {
    let mut out = Reader::default();
    out.text(text, dir, None, 0)?;
    Some(out.finish())
}

/// The protocols of files rendered together (calico-node's `bird.cfg` and the files it
/// includes by name): every file's, since they are one configuration.
pub fn protocols_of_rendered(files: &[(String, String)]) -> Vec<Protocol> {
    let mut out = Reader::default();
    for (_, text) in files {
        // Rendered files include each other only by name; those includes are the files
        // read here.
        out.scan(text, None, |_| Some(()));
    }
    out.finish()
}

/// The port of a top-level `listen bgp [address A] [port N];` (BIRD 1.6's, which
/// calico-node's confd writes for a `listenPort`) in any of `files`; `None` without one,
/// which is BGP's 179.
pub fn listen_bgp_port(files: &[(String, String)]) -> Option<u16> {
    for (_, text) in files {
        let tokens: Vec<Token> = positioned_tokens(text)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let mut depth = 0usize;
        for (k, t) in tokens.iter().enumerate() {
            match t {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => depth = depth.saturating_sub(1),
                Token::Word(w)
                    if depth == 0
                        && w == "listen"
                        && matches!(tokens.get(k + 1), Some(Token::Word(b)) if b == "bgp") =>
                {
                    let statement = tokens[k..].iter().take_while(|t| **t != Token::Punct(';'));
                    let mut words = statement.filter_map(|t| match t {
                        Token::Word(w) => Some(w.as_str()),
                        _ => None,
                    });
                    while let Some(w) = words.next() {
                        if w == "port" {
                            return words.next().and_then(|n| n.parse().ok());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Where in a configuration something was written: `file` is `None` for inline text
/// (the scenario places it), otherwise the file it was read from. Line and column are
/// 1-based, in that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: Option<PathBuf>,
    pub line: u64,
    pub column: u64,
}

/// One pattern of an OSPF `interface` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfacePattern {
    /// The shell glob (`*`, `?`), without a leading `-`.
    pub glob: String,
    /// `-"eth*"` or `"-eth*"`: interfaces it matches are left out.
    pub negated: bool,
    pub at: Position,
}

/// As written in the configuration: `"eth*"`, `"-eth*"`.
impl std::fmt::Display for InterfacePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.negated { "-" } else { "" };
        write!(f, "\"{sign}{}\"", self.glob)
    }
}

/// One `interface` statement of an OSPF protocol: its patterns in order, the first that
/// matches an interface deciding for it, as BIRD does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceStatement {
    /// The OSPF protocol's name, as `birdc show protocols` lists it.
    pub protocol: String,
    pub patterns: Vec<InterfacePattern>,
}

impl InterfaceStatement {
    /// The pattern that decides for interface `name`, if any matches it.
    pub fn first_match(&self, name: &str) -> Option<&InterfacePattern> {
        self.patterns.iter().find(|p| glob(&p.glob, name))
    }
}

/// Every OSPF `interface` statement of a configuration file, following its includes.
/// `None` when some of it cannot be read.
pub fn ospf_interfaces_of_file(path: &Path) -> Option<Vec<InterfaceStatement>> {
    let mut out = Reader::default();
    out.file(path, 0)?;
    Some(out.finish_interfaces())
}

/// Every OSPF `interface` statement of configuration text; includes resolve against
/// `dir`. `None` when an include cannot be read.
pub fn ospf_interfaces_of_text(text: &str, dir: &Path) -> Option<Vec<InterfaceStatement>> {
    let mut out = Reader::default();
    out.text(text, dir, None, 0)?;
    Some(out.finish_interfaces())
}

/// How deep includes may nest: BIRD's own limit is 8.
const MAX_DEPTH: usize = 8;

#[derive(Default)]
struct Reader {
    /// The protocols, in order, their names still optional.
    found: Vec<(Option<String>, Protocol)>,
    /// OSPF interface statements, with the index in `found` of their protocol.
    interfaces: Vec<(usize, Vec<InterfacePattern>)>,
}

impl Reader {
    fn finish_interfaces(self) -> Vec<InterfaceStatement> {
        let interfaces = self.interfaces.clone();
        let protocols = self.finish();
        interfaces
            .into_iter()
            .map(|(i, patterns)| InterfaceStatement {
                protocol: protocols[i].name.clone(),
                patterns,
            })
            .collect()
    }

    fn finish(self) -> Vec<Protocol> {
        let mut counters: BTreeMap<String, u32> = BTreeMap::new();
        self.found
            .into_iter()
            .map(|(name, mut protocol)| {
                protocol.name = name.unwrap_or_else(|| {
                    let n = counters.entry(protocol.kind.clone()).or_insert(0);
                    *n += 1;
                    format!("{}{n}", protocol.kind)
                });
                protocol
            })
            .collect()
    }

    fn file(&mut self, path: &Path, depth: usize) -> Option<()> {
        let text = crate::input::read_text(path).ok()?;
        let dir = path.parent().unwrap_or(Path::new("."));
        self.text(&text, dir, Some(path), depth)
    }

    /// `file` is where `text` was read from, `None` for inline text.
    fn text(&mut self, text: &str, dir: &Path, file: Option<&Path>, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut includes = Vec::new();
        self.scan(text, file, |inc| {
            includes.push(inc.to_string());
            Some(())
        })?;
        for inc in includes {
            for path in expand(&dir.join(inc))? {
                self.file(&path, depth + 1)?;
            }
        }
        Some(())
    }

    /// Reads the top-level statements of `text`, handing each `include` path to
    /// `include` (which may give up).
    fn scan(
        &mut self,
        text: &str,
        file: Option<&Path>,
        mut include: impl FnMut(&str) -> Option<()>,
    ) -> Option<()> {
        let positioned = positioned_tokens(text);
        let tokens: Vec<Token> = positioned.iter().map(|(t, _)| t.clone()).collect();
        let at = |k: usize| Position {
            file: file.map(Path::to_path_buf),
            line: positioned[k].1.0,
            column: positioned[k].1.1,
        };
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => depth = depth.saturating_sub(1),
                Token::Word(w) if depth == 0 && w == "include" => {
                    if let Some(Token::Str(path)) = tokens.get(i + 1) {
                        include(path)?;
                        i += 1;
                    }
                }
                Token::Word(w) if depth == 0 && w == "protocol" => {
                    if let Some(Token::Word(kind)) = tokens.get(i + 1) {
                        let mut j = i + 2;
                        // `ospf v2`, `ospf v3`, `rip ng`: a variant, not a name.
                        if let Some(Token::Word(v)) = tokens.get(j)
                            && matches!(v.as_str(), "v2" | "v3" | "ng")
                        {
                            j += 1;
                        }
                        let name = match tokens.get(j) {
                            Some(Token::Word(n)) if n != "from" => Some(n.clone()),
                            Some(Token::Str(n)) => Some(n.clone()),
                            _ => None,
                        };
                        let neighbor =
                            word_after(&tokens[j..], &["neighbor"]).and_then(|a| a.parse().ok());
                        let kernel_table = (kind == "kernel")
                            .then(|| word_after(&tokens[j..], &["kernel", "table"]))
                            .flatten();
                        let local_port = (kind == "bgp")
                            .then(|| local_port_in_block(&tokens[j..]))
                            .flatten();
                        if kind == "ospf" {
                            for statement in interfaces_in_block(&tokens, j) {
                                let patterns = statement
                                    .into_iter()
                                    .map(|(k, glob, negated)| InterfacePattern {
                                        glob,
                                        negated,
                                        at: at(k),
                                    })
                                    .collect();
                                self.interfaces.push((self.found.len(), patterns));
                            }
                        }
                        self.found.push((
                            name,
                            Protocol {
                                kind: kind.clone(),
                                name: String::new(),
                                neighbor,
                                kernel_table,
                                local_port,
                                at: at(i),
                            },
                        ));
                        i = j;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Some(())
    }
}

/// The `interface` statements anywhere in the block that opens at the first `{` from
/// `tokens[from]`: per statement, each pattern's token index, glob and negation.
fn interfaces_in_block(tokens: &[Token], from: usize) -> Vec<Vec<(usize, String, bool)>> {
    let Some(start) = tokens[from..]
        .iter()
        .position(|t| *t == Token::Punct('{'))
        .map(|k| from + k)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut k = start;
    while k < tokens.len() {
        match &tokens[k] {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Word(w) if w == "interface" => {
                let mut patterns = Vec::new();
                let mut m = k + 1;
                while let Some(t) = tokens.get(m) {
                    match t {
                        Token::Punct('{' | ';' | '}') => break,
                        Token::Str(p) => {
                            let dash = m > k + 1 && tokens[m - 1] == Token::Punct('-');
                            let (glob, negated) = match p.strip_prefix('-') {
                                Some(rest) => (rest.to_string(), true),
                                None => (p.clone(), dash),
                            };
                            patterns.push((m, glob, negated));
                        }
                        _ => {}
                    }
                    m += 1;
                }
                if !patterns.is_empty() {
                    out.push(patterns);
                }
                k = m;
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    out
}

/// The tokens of the block that opens at the first `{` of `tokens`, at the block's own
/// level (not inside nested blocks), each with the tokens from it on.
fn top_of_block(tokens: &[Token]) -> impl Iterator<Item = (&Token, &[Token])> {
    let start = tokens.iter().position(|t| *t == Token::Punct('{'));
    let block = start.map_or(&[][..], |s| &tokens[s..]);
    let mut depth = 0usize;
    block
        .iter()
        .enumerate()
        .map_while(move |(k, t)| {
            match t {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth -= 1;
                    if depth == 0 {
                        return None;
                    }
                }
                _ => {}
            }
            Some((depth, t, &block[k..]))
        })
        .filter(|(depth, t, _)| *depth == 1 && **t != Token::Punct('{'))
        .map(|(_, t, rest)| (t, rest))
}

/// The word after the first run of `keywords` (`neighbor`, `kernel table`) in the block
/// that opens at the first `{` of `tokens`, at the block's own level.
fn word_after(tokens: &[Token], keywords: &[&str]) -> Option<String> {
    top_of_block(tokens).find_map(|(_, here)| {
        let matches = keywords
            .iter()
            .enumerate()
            .all(|(m, w)| matches!(here.get(m), Some(Token::Word(x)) if x == w));
        match here.get(keywords.len()) {
            Some(Token::Word(value)) if matches => Some(value.clone()),
            _ => None,
        }
    })
}

/// The port of a BGP protocol's `local [ADDR] [port N] [as N];` statement, at the block's
/// own level.
fn local_port_in_block(tokens: &[Token]) -> Option<u16> {
    let mut in_local = false;
    for (t, here) in top_of_block(tokens) {
        match t {
            Token::Punct(';') => in_local = false,
            Token::Word(w) if w == "local" => in_local = true,
            Token::Word(w) if in_local && w == "port" => {
                if let Some(Token::Word(n)) = here.get(1) {
                    return n.parse().ok();
                }
            }
            _ => {}
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A quoted string or symbol (`"file"`, `'name'`).
    Str(String),
    Punct(char),
}

/// Words, quoted text and punctuation, without comments (`#` to the end of the line and
/// `/* ... */`), each with the line and column (1-based) where it starts.
fn positioned_tokens(text: &str) -> Vec<(Token, (u64, u64))> {
    let mut out = Vec::new();
    let mut chars = Chars {
        inner: text.chars().peekable(),
        line: 1,
        column: 1,
    };
    while let Some((c, at)) = chars.next_at() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' | '\'' => {
                let mut s = String::new();
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    s.push(d);
                }
                out.push((Token::Str(s), at));
            }
            // Addresses (`10.0.0.1`, `fe80::1`) stay one word.
            c if c.is_alphanumeric() || c == '_' => {
                let mut w = String::from(c);
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || matches!(d, '_' | '.' | ':') {
                        w.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push((Token::Word(w), at));
            }
            c if c.is_whitespace() => {}
            c => out.push((Token::Punct(c), at)),
        }
    }
    out
}

/// Characters with the line and column each is at.
struct Chars<'a> {
    inner: std::iter::Peekable<std::str::Chars<'a>>,
    line: u64,
    column: u64,
}

impl Chars<'_> {
    fn next_at(&mut self) -> Option<(char, (u64, u64))> {
        let c = self.inner.next()?;
        let at = (self.line, self.column);
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some((c, at))
    }

    fn peek(&mut self) -> Option<&char> {
        self.inner.peek()
    }
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        self.next_at().map(|(c, _)| c)
    }
}

/// The files an include names: the path itself, or the sorted matches of a wildcard in
/// its last component. `None` for a wildcard elsewhere or a directory that cannot be read.
fn expand(path: &Path) -> Option<Vec<PathBuf>> {
    let last = path.file_name()?.to_str()?;
    let dir = path.parent()?;
    if dir.to_string_lossy().contains(['*', '?']) {
        return None;
    }
    if !last.contains(['*', '?']) {
        return Some(vec![path.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(last, n)))
        .map(|e| e.path())
        .collect();
    out.sort();
    Some(out)
}

/// Shell-style `*` and `?` matching of a whole name, as BIRD matches interface patterns.
pub fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// [`glob`] as BIRD's include globbing does it within a file name: hidden files are not
/// matched by a leading wildcard, as in glob(3).
fn wildcard(pattern: &str, name: &str) -> bool {
    (pattern.starts_with('.') || !name.starts_with('.')) && glob(pattern, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ps: &[Protocol]) -> Vec<String> {
        ps.iter()
            .map(|p| format!("{} {}", p.kind, p.name))
            .collect()
    }

    #[test]
    fn kernel_tables_and_bgp_ports_are_read_where_written() {
        let text = "protocol kernel { ipv4 { export all; }; }\n\
                    protocol kernel k100 { ipv4 { export all; }; kernel table 100; }\n\
                    protocol bgp plain { local as 65001; neighbor 10.0.0.2 as 65002; }\n\
                    protocol bgp moved { local 10.0.0.1 port 1179 as 65001; neighbor 10.0.0.2 port 1179 as 65002; }\n\
                    protocol bgp far { local as 65001; neighbor 10.0.0.3 port 1179 as 65002; }\n";
        let ps = protocols_of_text(text, Path::new(".")).unwrap();
        let facts: Vec<(String, Option<String>, Option<u16>, u64)> = ps
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.kernel_table.clone(),
                    p.local_port,
                    p.at.line,
                )
            })
            .collect();
        assert_eq!(
            facts,
            vec![
                ("kernel1".into(), None, None, 1),
                ("k100".into(), Some("100".into()), None, 2),
                ("plain".into(), None, None, 3),
                ("moved".into(), None, Some(1179), 4),
                // The neighbour's port is not the one this end listens on.
                ("far".into(), None, None, 5),
            ]
        );
    }

    #[test]
    fn listen_bgp_port_is_read_from_calico_nodes_bird_cfg() {
        let files = |text: &str| vec![("bird.cfg".to_string(), text.to_string())];
        assert_eq!(
            listen_bgp_port(&files("router id 1.2.3.4;\nlisten bgp port 1790;\n")),
            Some(1790)
        );
        assert_eq!(
            listen_bgp_port(&files("listen bgp address 10.0.0.1 port 178;\n")),
            Some(178)
        );
        assert_eq!(
            listen_bgp_port(&files("listen bgp address 10.0.0.1;\n")),
            None
        );
        assert_eq!(listen_bgp_port(&files("protocol device {}\n")), None);
    }

    #[test]
    fn named_unnamed_quoted_and_variants() {
        let text = r#"
            # protocol bgp commented_out {}
            /* protocol bgp also_not { } */
            router id 10.0.0.1;
            protocol device {}
            protocol kernel { ipv4 { export all; }; }
            protocol kernel kernel6 { ipv6; }
            protocol kernel { ipv4; }
            template bgp tpl { local as 65000; }
            protocol bgp peer_r2 from tpl { neighbor 10.0.0.2 as 65001; }
            protocol bgp 'quoted_name' from tpl{ }
            protocol ospf v2 underlay { area 0 { interface "eth*"; }; }
            protocol ospf v3 { }
            protocol static { route 10.0.0.0/8 blackhole; }
        "#;
        let ps = protocols_of_text(text, Path::new("/nonexistent")).unwrap();
        assert_eq!(ps[4].neighbor, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(ps[6].neighbor, None);
        assert_eq!(
            names(&ps),
            [
                "device device1",
                "kernel kernel1",
                "kernel kernel6",
                "kernel kernel2",
                "bgp peer_r2",
                "bgp quoted_name",
                "ospf underlay",
                "ospf ospf1",
                "static static1",
            ]
        );
    }

    #[test]
    fn ospf_interface_patterns_with_positions() {
        let text = "protocol ospf v2 underlay {\n  area 0 {\n    interface \"-eth9\", -\"lan?\", \"eth*\" { cost 5; };\n    interface \"wan0\" 10.0.0.0/8;\n  };\n}\nprotocol bgp b { interface \"x\"; }\nprotocol ospf { area 0 { interface \"zt0\"; }; }\n";
        let got = ospf_interfaces_of_text(text, Path::new("/nonexistent")).unwrap();
        let shown: Vec<String> = got
            .iter()
            .map(|s| {
                let ps: Vec<String> = s
                    .patterns
                    .iter()
                    .map(|p| {
                        let sign = if p.negated { "-" } else { "" };
                        format!("{sign}{}@{}:{}", p.glob, p.at.line, p.at.column)
                    })
                    .collect();
                format!("{}: {}", s.protocol, ps.join(" "))
            })
            .collect();
        assert_eq!(
            shown,
            [
                "underlay: -eth9@3:15 -lan?@3:25 eth*@3:33",
                "underlay: wan0@4:15",
                "ospf1: zt0@8:36",
            ]
        );
        assert_eq!(got[0].first_match("eth9").map(|p| p.negated), Some(true));
        assert_eq!(
            got[0].first_match("eth0").map(|p| p.glob.as_str()),
            Some("eth*")
        );
        assert_eq!(got[0].first_match("lo"), None);
    }

    #[test]
    fn an_unreadable_include_is_unknown_not_empty() {
        let text = "include \"missing.conf\";\nprotocol device {}\n";
        assert_eq!(protocols_of_text(text, Path::new("/nonexistent")), None);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "a.conf"));
        assert!(wildcard("*.conf", "a.conf"));
        assert!(!wildcard("*.conf", "a.conf~"));
        assert!(!wildcard("*", ".hidden"));
        assert!(wildcard("p?", "p1"));
    }

    fn fixture(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(path)
    }

    #[test]
    fn shipped_fixtures_with_includes_and_wildcards() {
        let ps = protocols_of_file(&fixture("k3s-cross-region/gateway/bird.conf")).unwrap();
        let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
        // From `include "k3s/ibgp.conf"` and the wildcard include of its peers.
        assert!(
            names.contains(&"k3s_backbone_cn_v4"),
            "{names:?} misses a protocol from an include"
        );
        let ospf = protocols_of_file(&fixture("ospf-underlay/gateway.conf")).unwrap();
        assert!(
            ospf.iter()
                .any(|p| p.kind == "ospf" && p.name == "underlay"),
            "{ospf:?}"
        );
    }

    #[test]
    fn calico_rendered_configs() {
        let scenario =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/calico-mesh.yaml");
        let (scenario, _) = crate::scenario::load(&scenario).unwrap();
        let node = scenario
            .nodes
            .iter()
            .find_map(|n| n.calico.as_ref())
            .unwrap();
        let crate::daemon::BirdConfig::Rendered(files) = node.bird_config() else {
            panic!("a calico node's config is rendered");
        };
        let ps = protocols_of_rendered(&files);
        let mesh: Vec<&str> = ps
            .iter()
            .filter(|p| p.kind == "bgp")
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(mesh.len(), 2, "{ps:?}");
        assert!(mesh.iter().all(|m| m.starts_with("Mesh_")), "{mesh:?}");
    }
}
