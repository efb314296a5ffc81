//! Property test of the selector parser and evaluator against a reference written here,
//! independently of [`super::selector`]: random selector trees are printed (random quotes,
//! blanks and redundant parentheses), parsed by the real parser, and must then match
//! exactly the label sets the naive reference evaluator says the tree matches.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::selector::Selector;

/// The test's own selector tree.
#[derive(Debug, Clone)]
enum Expr {
    All,
    Has(&'static str),
    Eq(&'static str, &'static str),
    Ne(&'static str, &'static str),
    In(&'static str, Vec<&'static str>),
    NotIn(&'static str, Vec<&'static str>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

const KEYS: [&str; 4] = ["a", "b", "rack-1", "topology.kubernetes.io/zone"];
const VALUES: [&str; 4] = ["", "x", "true", "z-9.b_c"];

/// Naive reference semantics over a list of pairs, searched linearly.
fn reference(e: &Expr, labels: &[(&str, &str)]) -> bool {
    let lookup = |k: &str| {
        let mut found = None;
        for (lk, lv) in labels {
            if *lk == k {
                found = Some(*lv);
            }
        }
        found
    };
    match e {
        Expr::All => true,
        Expr::Has(k) => lookup(k).is_some(),
        Expr::Eq(k, v) => lookup(k) == Some(*v),
        // An absent label differs from every value.
        Expr::Ne(k, v) => lookup(k) != Some(*v),
        Expr::In(k, vs) => match lookup(k) {
            Some(x) => vs.contains(&x),
            None => false,
        },
        Expr::NotIn(k, vs) => match lookup(k) {
            Some(x) => !vs.contains(&x),
            None => true,
        },
        Expr::Not(inner) => !reference(inner, labels),
        Expr::And(l, r) => {
            if reference(l, labels) {
                reference(r, labels)
            } else {
                false
            }
        }
        Expr::Or(l, r) => {
            if reference(l, labels) {
                true
            } else {
                reference(r, labels)
            }
        }
    }
}

/// Printing choices drawn per tree: quote style, blanks and extra parentheses.
#[derive(Debug, Clone)]
struct Style {
    double_quotes: bool,
    blank: &'static str,
    extra_parens: bool,
}

fn quoted(v: &str, s: &Style) -> String {
    if s.double_quotes {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

fn print(e: &Expr, s: &Style) -> String {
    let b = s.blank;
    let set = |vs: &[&str]| {
        let items: Vec<String> = vs.iter().map(|v| quoted(v, s)).collect();
        format!("{{{b}{}{b}}}", items.join(&format!("{b},{b}")))
    };
    let text = match e {
        Expr::All => "all()".to_string(),
        Expr::Has(k) => format!("has({b}{k}{b})"),
        Expr::Eq(k, v) => format!("{k}{b}=={b}{}", quoted(v, s)),
        Expr::Ne(k, v) => format!("{k}{b}!={b}{}", quoted(v, s)),
        Expr::In(k, vs) => format!("{k} in{b}{}", set(vs)),
        Expr::NotIn(k, vs) => format!("{k} not in{b}{}", set(vs)),
        Expr::Not(inner) => format!("!{b}({b}{}{b})", print(inner, s)),
        Expr::And(l, r) => format!("({}{b}&&{b}{})", print(l, s), print(r, s)),
        Expr::Or(l, r) => format!("({}{b}||{b}{})", print(l, s), print(r, s)),
    };
    if s.extra_parens {
        format!("({b}{text}{b})")
    } else {
        text
    }
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&KEYS[..])
}

fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&VALUES[..])
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(Expr::All),
        key().prop_map(Expr::Has),
        (key(), value()).prop_map(|(k, v)| Expr::Eq(k, v)),
        (key(), value()).prop_map(|(k, v)| Expr::Ne(k, v)),
        (key(), prop::collection::vec(value(), 0..3)).prop_map(|(k, v)| Expr::In(k, v)),
        (key(), prop::collection::vec(value(), 0..3)).prop_map(|(k, v)| Expr::NotIn(k, v)),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Expr::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner).prop_map(|(l, r)| Expr::Or(Box::new(l), Box::new(r))),
        ]
    })
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        prop::sample::select(&["", " ", "  \t"][..]),
        any::<bool>(),
    )
        .prop_map(|(double_quotes, blank, extra_parens)| Style {
            double_quotes,
            blank,
            extra_parens,
        })
}

fn label_set() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    prop::collection::btree_map(key(), value(), 0..=KEYS.len())
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn parsed_selectors_evaluate_like_the_reference(
        e in expr(),
        s in style(),
        label_sets in prop::collection::vec(label_set(), 1..8),
    ) {
        let text = print(&e, &s);
        let parsed = Selector::parse(&text)
            .map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        // The library's own printing parses back to the same tree.
        prop_assert_eq!(Selector::parse(&parsed.to_string()).ok(), Some(parsed.clone()));
        for labels in &label_sets {
            let map: BTreeMap<String, String> =
                labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            prop_assert_eq!(
                parsed.matches(&map),
                reference(&e, labels),
                "selector {} on labels {:?}", text, labels
            );
        }
    }

    #[test]
    fn garbage_never_panics_and_errors_point_inside(text in "[a-z!=&|(){}'\" ,]{0,30}") {
        if let Err(e) = Selector::parse(&text) {
            prop_assert!(e.column <= text.len(), "column {} beyond {:?}", e.column, text);
        }
    }
}
