//! Calico confd conformance: renders every case of the corpus in
//! `../shared/conformance/calico-confd/` for node kube-master, compares the result with
//! what Calico's confd rendered (`expected/*.cfg`) item by item, as the corpus README
//! defines equivalence, and checks that BIRD 1.6.8 accepts every rendered `bird.cfg` and
//! `bird6.cfg` (`bird -p`).
//!
//! One test (libtest-mimic, so filters and `--list` work as usual). Prints
//! `calico conformance: N/62 cases equivalent` and fails when a case listed in
//! `fixtures/calico-conformance/passing.txt` no longer passes, or when BIRD rejects a
//! rendered file. BIRD 1.6.8 comes from `ci/install-bird1.sh` (or `$ROUTELAB_BIRD1`).
//!
//! The corpus carries the Calico resources of each case but not the Kubernetes Services
//! that Calico's test rig also created for the three `mesh/static-routes*` cases; this test
//! adds them from `fixtures/calico-conformance/services-ipv{4,6}.yaml` (the rig of
//! `static-routes-no-ipv4-address` had only the IPv4 ones).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use routelab_model::calico::{self, BlockAffinity, RenderedConfig};

const NODE: &str = "kube-master";

/// The block affinities every case runs with (corpus README).
const BLOCKS: [&str; 6] = [
    "10.0.0.0/30:none",
    "10.1.0.0/24:none",
    "10.2.0.1/32:none",
    "192.168.221.192/26:none",
    "192.168.221.64/26:confirmed",
    "192.168.221.0/26:pending",
];

/// A BIRD configuration reduced to the facts equivalence is judged on.
mod bird {
    use std::collections::BTreeSet;

    /// A token of BIRD's configuration language.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Tok {
        /// Keywords, names, numbers, addresses and prefixes (with `{a,b}` length ranges).
        Word(String),
        /// A double-quoted string, quotes kept.
        Str(String),
        /// Punctuation and operators.
        Op(String),
    }

    impl Tok {
        fn text(&self) -> &str {
            match self {
                Tok::Word(s) | Tok::Str(s) | Tok::Op(s) => s,
            }
        }
        fn is(&self, s: &str) -> bool {
            self.text() == s
        }
    }

    fn word_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/')
    }

    /// Splits configuration text into tokens; comments vanish.
    pub fn lex(text: &str) -> Vec<Tok> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '#' {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            } else if c == '/' && chars.get(i + 1) == Some(&'*') {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            } else if c == '"' || c == '\'' {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                let s: String = chars[start..i.min(chars.len())].iter().collect();
                // 'quoted' names are symbols; "quoted" text is a string.
                out.push(if c == '"' { Tok::Str(s) } else { Tok::Word(s) });
            } else if word_char(c) {
                let start = i;
                while i < chars.len() && word_char(chars[i]) {
                    i += 1;
                }
                // A prefix pattern's length range: 10.0.0.0/8{16,32}.
                if chars.get(i) == Some(&'{') && chars[start..i].contains(&'/') {
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            } else {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                if ["!=", "!~", "&&", "||", "<=", ">=", "=="].contains(&two.as_str()) {
                    out.push(Tok::Op(two));
                    i += 2;
                } else {
                    out.push(Tok::Op(c.to_string()));
                    i += 1;
                }
            }
        }
        out
    }

    /// A statement of a block.
    #[derive(Debug, Clone)]
    pub enum Stmt {
        If {
            cond: Vec<Tok>,
            then: Vec<Stmt>,
            els: Vec<Stmt>,
        },
        /// Tokens up to (not including) the `;`; nested `{...}` kept inline.
        Simple(Vec<Tok>),
    }

    /// The index just past the `}` matching the `{` at `open`.
    fn matching(toks: &[Tok], open: usize) -> usize {
        let mut depth = 0;
        for (i, t) in toks.iter().enumerate().skip(open) {
            if t.is("{") {
                depth += 1;
            } else if t.is("}") {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
        }
        toks.len()
    }

    fn branch(toks: &[Tok], i: &mut usize) -> Vec<Stmt> {
        if toks.get(*i).is_some_and(|t| t.is("{")) {
            let end = matching(toks, *i);
            let inner = statements(&toks[*i + 1..end - 1]);
            *i = end;
            // A `;` after a block is an empty statement.
            if toks.get(*i).is_some_and(|t| t.is(";")) {
                *i += 1;
            }
            inner
        } else {
            let mut one = Vec::new();
            one.extend(statement(toks, i));
            one
        }
    }

    fn statement(toks: &[Tok], i: &mut usize) -> Option<Stmt> {
        if *i >= toks.len() {
            return None;
        }
        if toks[*i].is("if") {
            let start = *i + 1;
            let mut j = start;
            while j < toks.len() && !toks[j].is("then") {
                j += 1;
            }
            let cond = toks[start..j].to_vec();
            *i = j + 1;
            let then = branch(toks, i);
            let els = if toks.get(*i).is_some_and(|t| t.is("else")) {
                *i += 1;
                branch(toks, i)
            } else {
                Vec::new()
            };
            return Some(Stmt::If { cond, then, els });
        }
        let mut out = Vec::new();
        while *i < toks.len() && !toks[*i].is(";") {
            if toks[*i].is("{") {
                let end = matching(toks, *i);
                out.extend_from_slice(&toks[*i..end]);
                *i = end;
            } else {
                out.push(toks[*i].clone());
                *i += 1;
            }
        }
        *i += 1;
        Some(Stmt::Simple(out))
    }

    /// The statements of a block body.
    pub fn statements(toks: &[Tok]) -> Vec<Stmt> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if toks[i].is(";") {
                i += 1;
                continue;
            }
            if let Some(s) = statement(toks, &mut i) {
                if !matches!(&s, Stmt::Simple(t) if t.is_empty()) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// Tokens joined by spaces, parentheses dropped (they only group).
    pub fn norm(toks: &[Tok]) -> String {
        toks.iter()
            .filter(|t| !t.is("(") && !t.is(")"))
            .map(Tok::text)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A statement flattened to normalised text.
    pub fn flat(s: &Stmt) -> String {
        match s {
            Stmt::Simple(t) => norm(t),
            Stmt::If { cond, then, els } => {
                let mut out = format!("if {} then {{ ", norm(cond));
                for t in then {
                    out.push_str(&flat(t));
                    out.push_str("; ");
                }
                out.push('}');
                if !els.is_empty() {
                    out.push_str(" else { ");
                    for t in els {
                        out.push_str(&flat(t));
                        out.push_str("; ");
                    }
                    out.push('}');
                }
                out
            }
        }
    }

    /// A top-level item: its head tokens and, if any, its `{...}` body.
    struct Item {
        head: Vec<Tok>,
        body: Option<Vec<Tok>>,
    }

    fn items(toks: &[Tok]) -> Vec<Item> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut head = Vec::new();
        while i < toks.len() {
            if toks[i].is(";") {
                if !head.is_empty() {
                    out.push(Item {
                        head: std::mem::take(&mut head),
                        body: None,
                    });
                }
                i += 1;
            } else if toks[i].is("{") {
                let end = matching(toks, i);
                out.push(Item {
                    head: std::mem::take(&mut head),
                    body: Some(toks[i + 1..end - 1].to_vec()),
                });
                i = end;
            } else {
                head.push(toks[i].clone());
                i += 1;
            }
        }
        out
    }

    fn ignored(t: &[Tok]) -> bool {
        t.first()
            .is_some_and(|w| w.is("debug") || w.is("description"))
    }

    /// A call statement (`name(args)`), normalised, if `t` is one.
    fn call(t: &[Tok]) -> Option<String> {
        let Tok::Word(name) = t.first()? else {
            return None;
        };
        if ["if", "defined", "accept", "reject"].contains(&name.as_str()) {
            return None;
        }
        (t.get(1)?.is("(") && t.last()?.is(")")).then(|| {
            let args: Vec<&str> = t[2..t.len() - 1].iter().map(Tok::text).collect();
            format!("{name}({})", args.join(""))
        })
    }

    /// An attribute assignment (`attr = expr`), normalised, if `t` is one.
    fn assignment(t: &[Tok]) -> Option<String> {
        (t.len() > 2 && t[1].is("=")).then(|| format!("{} = {}", t[0].text(), norm(&t[2..])))
    }

    /// Calls and assignments anywhere in the statements, in order; each assignment is
    /// prefixed with the conditions guarding it.
    fn walk(stmts: &[Stmt], guard: &str, calls: &mut Vec<String>, assigns: &mut Vec<String>) {
        for s in stmts {
            match s {
                Stmt::Simple(t) => {
                    calls.extend(call(t));
                    assigns.extend(assignment(t).map(|a| format!("{guard}{a}")));
                }
                Stmt::If { cond, then, els } => {
                    let c = norm(cond);
                    walk(then, &format!("{guard}when {c}: "), calls, assigns);
                    walk(els, &format!("{guard}unless {c}: "), calls, assigns);
                }
            }
        }
    }

    /// Facts about a BGP session's import or export filter.
    fn filter_facts(owner: &str, dir: &str, stmt: &[Tok], facts: &mut BTreeSet<String>) {
        // `import all`, `import none` or `import filter NAME`: the statement is the fact.
        let Some(open) = stmt.iter().position(|t| t.is("{")) else {
            facts.insert(format!("{owner}: {}", norm(stmt)));
            return;
        };
        let body = statements(&stmt[open + 1..stmt.len() - 1]);
        let (mut calls, mut assigns) = (Vec::new(), Vec::new());
        walk(&body, "", &mut calls, &mut assigns);
        let last = body.iter().rev().find_map(|s| match s {
            Stmt::Simple(t) if t.len() == 1 && (t[0].is("accept") || t[0].is("reject")) => {
                Some(t[0].text().to_string())
            }
            _ => None,
        });
        facts.insert(format!(
            "{owner}: {dir} filter calls [{}]",
            calls.join(", ")
        ));
        facts.insert(format!(
            "{owner}: {dir} filter assigns [{}]",
            assigns.join("; ")
        ));
        facts.insert(format!(
            "{owner}: {dir} filter ends with {}",
            last.unwrap_or_else(|| "nothing".into())
        ));
    }

    fn has_action(stmts: &[Stmt], action: &str) -> bool {
        stmts
            .iter()
            .any(|s| matches!(s, Stmt::Simple(t) if t.len() == 1 && t[0].is(action)))
    }

    /// `net ~ X` conditions: X.
    fn net_in(cond: &[Tok]) -> Option<String> {
        let t: Vec<&Tok> = cond.iter().filter(|t| !t.is("(") && !t.is(")")).collect();
        (t.len() == 3 && t[0].is("net") && t[1].is("~")).then(|| t[2].text().to_string())
    }

    fn function_facts(name: &str, head: &str, body: &[Tok], facts: &mut BTreeSet<String>) {
        let stmts = statements(body);
        match name {
            "calico_aggr" => {
                for s in &stmts {
                    facts.insert(format!("calico_aggr: {}", flat(s)));
                }
            }
            "calico_export_to_bgp_peers" | "calico_kernel_programming" => {
                let mut calls = Vec::new();
                for s in &stmts {
                    match s {
                        Stmt::If { cond, then, .. } => {
                            if net_in(cond).is_none() {
                                // Other guards (tunnel interfaces, metrics, WireGuard
                                // next hops) are compared whole.
                                facts.insert(format!("{name}: {}", flat(s)));
                            }
                            let what = net_in(cond).unwrap_or_else(|| norm(cond));
                            if has_action(then, "accept") {
                                facts.insert(format!("{name}: accepts {what}"));
                            }
                            if has_action(then, "reject") {
                                facts.insert(format!("{name}: rejects {what}"));
                            }
                        }
                        Stmt::Simple(t) => calls.extend(call(t)),
                    }
                }
                facts.insert(format!("{name}: calls [{}]", calls.join(", ")));
                if name == "calico_kernel_programming" {
                    facts.insert(format!(
                        "{name}: ends with {}",
                        stmts.last().map(flat).unwrap_or_default()
                    ));
                }
            }
            "apply_communities" => {
                for s in &stmts {
                    if let Stmt::If { cond, then, .. } = s {
                        let prefix = net_in(cond).unwrap_or_else(|| norm(cond));
                        for t in then {
                            facts.insert(format!("apply_communities: {prefix} {}", flat(t)));
                        }
                    } else {
                        facts.insert(format!("apply_communities: {}", flat(s)));
                    }
                }
            }
            n if n.starts_with("'bgp_") => {
                for (i, s) in stmts.iter().enumerate() {
                    facts.insert(format!("BGPFilter {head}: rule {}: {}", i + 1, flat(s)));
                }
                facts.insert(format!("BGPFilter {head}: {} rules", stmts.len()));
            }
            _ => {}
        }
    }

    /// The facts of one file.
    pub fn facts(text: &str) -> BTreeSet<String> {
        let mut facts = BTreeSet::new();
        for item in items(&lex(text)) {
            let head = norm(&item.head);
            let first = item.head.first().map(Tok::text).unwrap_or_default();
            let Some(body) = &item.body else {
                if !ignored(&item.head) {
                    facts.insert(head);
                }
                continue;
            };
            match first {
                "function" | "filter" => {
                    let name = item.head.get(1).map(Tok::text).unwrap_or_default();
                    let head: String = item.head[1..]
                        .iter()
                        .map(Tok::text)
                        .collect::<Vec<_>>()
                        .join(" ");
                    function_facts(name, &head, body, &mut facts);
                }
                "protocol" if item.head.get(1).is_some_and(|t| t.is("bgp")) => {
                    let name = item.head.get(2).map(Tok::text).unwrap_or_default();
                    let owner = format!("protocol bgp {name}");
                    facts.insert(head.clone());
                    for s in statements(body) {
                        let Stmt::Simple(t) = s else { continue };
                        if ignored(&t) {
                            continue;
                        }
                        if t.first().is_some_and(|w| w.is("import") || w.is("export")) {
                            filter_facts(&owner, t[0].text(), &t, &mut facts);
                        } else {
                            facts.insert(format!("{owner}: {}", norm(&t)));
                        }
                    }
                }
                _ => {
                    // Templates and the kernel, device, direct and static protocols:
                    // their options.
                    for s in statements(body) {
                        match &s {
                            Stmt::Simple(t) if ignored(t) => {}
                            _ => {
                                facts.insert(format!("{head}: {}", flat(&s)));
                            }
                        }
                    }
                    facts.insert(head);
                }
            }
        }
        facts
    }
}

/// Where the test finds BIRD 1.6.8.
fn bird1_dir() -> PathBuf {
    match std::env::var_os("ROUTELAB_BIRD1") {
        Some(p) => {
            let p = PathBuf::from(p);
            // Either the bird binary itself or the directory holding bird and bird6.
            if p.is_file() {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                p
            }
        }
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bird1/usr/sbin"),
    }
}

/// Runs `bird -p` (or `bird6 -p`) on a rendered file; Err holds BIRD's complaint.
fn bird_parses(bin: &Path, dir: &Path, file: &str) -> Result<(), String> {
    let out = Command::new(bin)
        .arg("-p")
        .arg("-c")
        .arg(file)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} -p -c {file}: {}{}",
            bin.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The case directories (those holding input.yaml), relative names sorted.
fn cases(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.file_name().is_some_and(|n| n == "input.yaml") {
                let rel = dir.strip_prefix(root).unwrap_or(dir);
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn case_env(case: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    match case {
        "mesh/hash" => {
            env.insert("CALICO_ROUTER_ID".into(), "hash".into());
        }
        "mesh/static-routes-no-ipv4-address" => {
            env.insert("CALICO_ROUTER_ID".into(), "10.10.10.10".into());
        }
        _ => {}
    }
    env
}

/// Renders a case; the error says why rendering failed.
/// Writes the six rendered files into `dir`, for BIRD to parse.
fn write_files(rendered: &RenderedConfig, dir: &Path) {
    std::fs::create_dir_all(dir).expect("creating a scratch directory");
    for (name, text) in rendered.files() {
        std::fs::write(dir.join(name), text).expect("writing rendered files");
    }
}

fn render_case(dir: &Path, case: &str, fixtures: &Path) -> anyhow::Result<RenderedConfig> {
    let mut files = vec![dir.join("input.yaml")];
    if case.starts_with("mesh/static-routes") {
        files.push(fixtures.join("services-ipv4.yaml"));
        if case != "mesh/static-routes-no-ipv4-address" {
            files.push(fixtures.join("services-ipv6.yaml"));
        }
    }
    let resources = calico::resources::load_files(&files)?;
    let blocks: Vec<BlockAffinity> = BLOCKS.iter().map(|b| b.parse().unwrap()).collect();
    Ok(calico::render(&resources, NODE, &blocks, &case_env(case))?)
}

/// Differences between the expected and rendered facts of every file, as readable lines.
fn compare(dir: &Path, rendered: &RenderedConfig) -> Vec<String> {
    let mut diffs = Vec::new();
    for (name, text) in rendered.files() {
        let path = dir.join("expected").join(name);
        let expected = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diffs.push(format!("{name}: cannot read {}: {e}", path.display()));
                continue;
            }
        };
        let want = bird::facts(&expected);
        let got = bird::facts(text);
        for missing in want.difference(&got) {
            diffs.push(format!("{name}: - {missing}"));
        }
        for extra in got.difference(&want) {
            diffs.push(format!("{name}: + {extra}"));
        }
    }
    diffs
}

/// Proves the comparison can fail: small edits to a real expected configuration must
/// each show up as a difference.
fn comparator_self_check(corpus: &Path) {
    let case = corpus.join("explicit_peering/route_reflector/expected/bird.cfg");
    let text = std::fs::read_to_string(&case).expect("reading the self-check case");
    let base = bird::facts(&text);
    assert!(base.len() > 30, "too few facts extracted: {base:#?}");
    let edits: [(&str, &str); 9] = [
        ("  rr client;\n", ""),
        (
            "neighbor 172.19.4.87 as 64533",
            "neighbor 172.19.4.87 as 64534",
        ),
        (
            "calico_export_to_bgp_peers(false);",
            "calico_export_to_bgp_peers(true);",
        ),
        ("  preference = 200;", "  preference = 100;"),
        ("bgp_local_pref > 2147482623", "bgp_local_pref > 2147482624"),
        ("    reject;\n  };  # Only", "    accept;\n  };  # Only"),
        ("router id 10.192.0.2;", "router id 10.192.0.9;"),
        (
            "  ttl security off;\n  multihop;\n  import",
            "  ttl security on;\n  multihop 2;\n  import",
        ),
        (
            "protocol bgp Node_10_192_0_4 ",
            "protocol bgp Node_10_192_0_5 ",
        ),
    ];
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "self-check edit {from:?} does not apply"
        );
        let edited = text.replacen(from, to, 1);
        assert_ne!(
            bird::facts(&edited),
            base,
            "the comparison does not notice replacing {from:?} by {to:?}"
        );
    }
    // Comments, debug and description statements and layout do not matter.
    let cosmetic = text
        .replace("  description \"Connection to BGP peer\";\n", "")
        .replace("  debug { states };\n", "")
        .replace(";  # The local address", "; # another comment")
        .replace("    accept;", "accept ;");
    assert_eq!(
        bird::facts(&cosmetic),
        base,
        "cosmetic edits changed the facts"
    );
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trial = libtest_mimic::Trial::test("calico_conformance", conformance);
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// The whole run: every case, the BIRD checks, the ratchet.
fn conformance() -> Result<(), libtest_mimic::Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/conformance/calico-confd/cases");
    let fixtures = root.join("fixtures/calico-conformance");
    let all = cases(&corpus);
    assert!(
        !all.is_empty(),
        "no cases found under {}: the conformance corpus must sit beside the crate",
        corpus.display()
    );

    comparator_self_check(&corpus);

    // ROUTELAB_CONFORMANCE_FACTS=<case> prints the facts extracted from that case's
    // expected and rendered files, for debugging the comparison.
    let dump = std::env::var("ROUTELAB_CONFORMANCE_FACTS").ok();

    let bird_dir = bird1_dir();
    let (bird, bird6) = (bird_dir.join("bird"), bird_dir.join("bird6"));
    if !bird.is_file() || !bird6.is_file() {
        panic!(
            "BIRD 1.6.8 not found at {} (bird and bird6): run ci/install-bird1.sh, or set \
             ROUTELAB_BIRD1 to the directory holding them",
            bird_dir.display()
        );
    }

    let passing_path = fixtures.join("passing.txt");
    let ratchet: BTreeSet<String> = std::fs::read_to_string(&passing_path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();

    let scratch = tempfile::tempdir().expect("temporary directory");
    let mut equivalent = Vec::new();
    let mut bird_failures = Vec::new();
    for case in &all {
        let dir = corpus.join(case);
        let rendered = match render_case(&dir, case, &fixtures) {
            Ok(r) => r,
            Err(e) => {
                println!("FAIL {case}: rendering failed: {e:#}");
                continue;
            }
        };
        let out = scratch.path().join(case.replace('/', "__"));
        write_files(&rendered, &out);
        for (bin, file) in [(&bird, "bird.cfg"), (&bird6, "bird6.cfg")] {
            if let Err(e) = bird_parses(bin, &out, file) {
                bird_failures.push(format!("{case}: {e}"));
            }
        }
        if dump.as_deref() == Some(case.as_str()) {
            for (name, text) in rendered.files() {
                let expected =
                    std::fs::read_to_string(dir.join("expected").join(name)).unwrap_or_default();
                println!("== {case} {name} expected facts:");
                for f in bird::facts(&expected) {
                    println!("   {f}");
                }
                println!("== {case} {name} rendered facts:");
                for f in bird::facts(text) {
                    println!("   {f}");
                }
            }
        }
        let diffs = compare(&dir, &rendered);
        if diffs.is_empty() {
            equivalent.push(case.clone());
        } else {
            println!("DIFF {case} (- expected only, + rendered only):");
            for d in &diffs {
                println!("    {d}");
            }
        }
    }

    // Features the corpus does not combine (passwords, TTL security, listen ports,
    // BGPFilters on IPv6, ...): BIRD 1.6.8 must accept those renders too.
    let features = calico::resources::load_file(&fixtures.join("features.yaml"))
        .expect("loading features.yaml");
    let feature_blocks: Vec<BlockAffinity> = ["10.42.0.0/26:confirmed", "fd00:42::/122"]
        .iter()
        .map(|b| b.parse().unwrap())
        .collect();
    for node in ["rr-1", "worker-1", "worker-2"] {
        let rendered = calico::render(&features, node, &feature_blocks, &BTreeMap::new())
            .unwrap_or_else(|e| panic!("rendering features.yaml for {node}: {e:#}"));
        let out = scratch.path().join(format!("features__{node}"));
        write_files(&rendered, &out);
        for (bin, file) in [(&bird, "bird.cfg"), (&bird6, "bird6.cfg")] {
            if let Err(e) = bird_parses(bin, &out, file) {
                bird_failures.push(format!("features.yaml for {node}: {e}"));
            }
        }
    }

    println!(
        "calico conformance: {}/{} cases equivalent",
        equivalent.len(),
        all.len()
    );
    let equivalent: BTreeSet<String> = equivalent.into_iter().collect();
    let regressed: Vec<&String> = ratchet.difference(&equivalent).collect();
    let newly: Vec<&String> = equivalent.difference(&ratchet).collect();
    if !newly.is_empty() {
        println!(
            "passing now but not listed in {}: {newly:?}",
            passing_path.display()
        );
    }
    let mut failures = Vec::new();
    if !regressed.is_empty() {
        failures.push(format!(
            "cases listed in passing.txt no longer pass: {regressed:?}"
        ));
    }
    if !bird_failures.is_empty() {
        failures.push(format!(
            "BIRD 1.6.8 rejected rendered configuration:\n    {}",
            bird_failures.join("\n    ")
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}
