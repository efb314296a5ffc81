//! Calico's label selector language: `all()`, `has(k)`, `k == "v"`, `k != "v"`,
//! `k in {"a", "b"}`, `k not in {...}`, `k contains "s"`, `k starts with "s"`,
//! `k ends with "s"`, combined with `!`, `&&`, `||` and parentheses. Strings take single or
//! double quotes and have no escapes. `&&` binds tighter than `||`; `!` tighter than both.
//!
//! Semantics follow Calico: `k != v` and `k not in {...}` hold when `k` is absent.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    All,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Selector>),
    And(Box<Selector>, Box<Selector>),
    Or(Box<Selector>, Box<Selector>),
}

/// A selector that does not parse: what was wrong, and at which byte of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad selector {input:?} at column {column}: {message}")]
pub struct SelectorError {
    pub input: String,
    /// Byte offset into the input, counting from 0.
    pub column: usize,
    pub message: String,
}

impl Selector {
    /// Parses a selector; the empty (or all-blank) selector is `all()`, as in Calico.
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        let mut p = Parser { src: input, pos: 0 };
        p.skip_ws();
        if p.pos == input.len() {
            return Ok(Selector::All);
        }
        let sel = p.or()?;
        p.skip_ws();
        if p.pos != input.len() {
            return Err(p.error("unexpected trailing input"));
        }
        Ok(sel)
    }

    /// Whether a set of labels matches.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let get = |k: &String| labels.get(k).map(String::as_str);
        match self {
            Selector::All => true,
            Selector::Has(k) => labels.contains_key(k),
            Selector::Eq(k, v) => get(k) == Some(v),
            Selector::Ne(k, v) => get(k) != Some(v),
            Selector::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Selector::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Selector::Contains(k, s) => get(k).is_some_and(|x| x.contains(s.as_str())),
            Selector::StartsWith(k, s) => get(k).is_some_and(|x| x.starts_with(s.as_str())),
            Selector::EndsWith(k, s) => get(k).is_some_and(|x| x.ends_with(s.as_str())),
            Selector::Not(s) => !s.matches(labels),
            Selector::And(a, b) => a.matches(labels) && b.matches(labels),
            Selector::Or(a, b) => a.matches(labels) || b.matches(labels),
        }
    }
}

/// Quotes a string with whichever quote it does not contain.
fn quote(s: &str) -> String {
    if s.contains('"') {
        format!("'{s}'")
    } else {
        format!("\"{s}\"")
    }
}

fn set(vs: &[String]) -> String {
    let items: Vec<String> = vs.iter().map(|v| quote(v)).collect();
    format!("{{{}}}", items.join(", "))
}

/// Prints a selector that parses back to the same tree: every binary operator is
/// parenthesised.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::All => write!(f, "all()"),
            Selector::Has(k) => write!(f, "has({k})"),
            Selector::Eq(k, v) => write!(f, "{k} == {}", quote(v)),
            Selector::Ne(k, v) => write!(f, "{k} != {}", quote(v)),
            Selector::In(k, vs) => write!(f, "{k} in {}", set(vs)),
            Selector::NotIn(k, vs) => write!(f, "{k} not in {}", set(vs)),
            Selector::Contains(k, v) => write!(f, "{k} contains {}", quote(v)),
            Selector::StartsWith(k, v) => write!(f, "{k} starts with {}", quote(v)),
            Selector::EndsWith(k, v) => write!(f, "{k} ends with {}", quote(v)),
            Selector::Not(s) => write!(f, "!({s})"),
            Selector::And(a, b) => write!(f, "({a} && {b})"),
            Selector::Or(a, b) => write!(f, "({a} || {b})"),
        }
    }
}

/// Whether `c` may appear in a label key (Kubernetes keys plus a DNS-style prefix).
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SelectorError {
        SelectorError {
            input: self.src.to_string(),
            column: self.pos,
            message: message.to_string(),
        }
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.src.len() - trimmed.len();
    }

    /// Consumes `tok` (after blanks) if it is next.
    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `word` if it is next and not the start of a longer word.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with(word) && !rest[word.len()..].starts_with(is_key_char) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), SelectorError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {tok:?}")))
        }
    }

    fn or(&mut self) -> Result<Selector, SelectorError> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = Selector::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Selector, SelectorError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            let right = self.unary()?;
            left = Selector::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Selector, SelectorError> {
        self.skip_ws();
        if self.rest().starts_with("!") && !self.rest().starts_with("!=") {
            self.pos += 1;
            return Ok(Selector::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        self.primary()
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        self.skip_ws();
        let len = self
            .rest()
            .find(|c: char| !is_key_char(c))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(self.error("expected a label name"));
        }
        let k = self.rest()[..len].to_string();
        self.pos += len;
        Ok(k)
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        self.skip_ws();
        let Some(q) = self
            .rest()
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            return Err(self.error("expected a quoted string"));
        };
        let body = &self.rest()[1..];
        let Some(end) = body.find(q) else {
            return Err(self.error("unterminated string"));
        };
        let s = body[..end].to_string();
        self.pos += end + 2;
        Ok(s)
    }

    fn string_set(&mut self) -> Result<Vec<String>, SelectorError> {
        self.expect("{")?;
        let mut out = Vec::new();
        if self.eat("}") {
            return Ok(out);
        }
        loop {
            out.push(self.string()?);
            if self.eat("}") {
                return Ok(out);
            }
            self.expect(",")?;
        }
    }

    fn primary(&mut self) -> Result<Selector, SelectorError> {
        self.skip_ws();
        let start = self.pos;
        if self.eat_word("all") {
            self.expect("(")?;
            self.expect(")")?;
            return Ok(Selector::All);
        }
        if self.eat_word("has") {
            self.expect("(")?;
            let k = self.key()?;
            self.expect(")")?;
            return Ok(Selector::Has(k));
        }
        self.pos = start;
        let k = self.key()?;
        if self.eat("==") {
            return Ok(Selector::Eq(k, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Selector::Ne(k, self.string()?));
        }
        if self.eat_word("in") {
            return Ok(Selector::In(k, self.string_set()?));
        }
        if self.eat_word("not") {
            if !self.eat_word("in") {
                return Err(self.error("expected \"in\" after \"not\""));
            }
            return Ok(Selector::NotIn(k, self.string_set()?));
        }
        if self.eat_word("contains") {
            return Ok(Selector::Contains(k, self.string()?));
        }
        if self.eat_word("starts") {
            if !self.eat_word("with") {
                return Err(self.error("expected \"with\" after \"starts\""));
            }
            return Ok(Selector::StartsWith(k, self.string()?));
        }
        if self.eat_word("ends") {
            if !self.eat_word("with") {
                return Err(self.error("expected \"with\" after \"ends\""));
            }
            return Ok(Selector::EndsWith(k, self.string()?));
        }
        self.skip_ws();
        Err(self
            .error("expected an operator (==, !=, in, not in, contains, starts with, ends with)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_every_form() {
        let l = labels(&[
            ("region", "WDS"),
            ("rack", "r1"),
            ("kubernetes.io/os", "linux"),
        ]);
        let yes = [
            "all()",
            "",
            "has(region)",
            "!has(zone)",
            "region == 'WDS'",
            "region == \"WDS\"",
            "region != 'Global'",
            "zone != 'x'",
            "rack in {'r1', \"r2\"}",
            "rack not in {'r3'}",
            "zone not in {'r3'}",
            "kubernetes.io/os == 'linux' && (rack == 'r9' || has(region))",
            "!(rack == 'r9')",
            "region contains 'D' && region starts with 'W' && region ends with 'S'",
        ];
        for s in yes {
            let sel = Selector::parse(s).unwrap_or_else(|e| panic!("{e}"));
            assert!(sel.matches(&l), "{s} should match");
        }
        let no = [
            "has(zone)",
            "region == 'Global'",
            "rack in {}",
            "zone in {'x'}",
        ];
        for s in no {
            assert!(
                !Selector::parse(s).unwrap().matches(&l),
                "{s} should not match"
            );
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let sel = Selector::parse("has(a) || has(b) && has(c)").unwrap();
        assert!(sel.matches(&labels(&[("a", "")])));
        assert!(!sel.matches(&labels(&[("b", "")])));
    }

    #[test]
    fn errors_carry_byte_columns() {
        let cases = [
            ("region = 'x'", 7),
            ("region == x", 10),
            ("has(region", 10),
            ("a == 'x' &&", 11),
            ("a == 'x' b", 9),
            ("a in {'x' 'y'}", 10),
            ("a == 'open", 5),
            ("all(", 4),
        ];
        for (s, col) in cases {
            let err = Selector::parse(s).unwrap_err();
            assert_eq!(err.column, col, "{s}: {err}");
        }
    }

    #[test]
    fn display_round_trips() {
        let s = "!has(a) && (b in {'x', \"y\"} || c not in {})";
        let sel = Selector::parse(s).unwrap();
        assert_eq!(Selector::parse(&sel.to_string()).unwrap(), sel);
    }
}
