//! A [`Diff`] as text for a terminal, Markdown for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY` (a summary line, then one table per category), or JSON.

use super::diff::{Category, Change, Diff};

/// A duration in milliseconds as reports print it: `850 ms`, `12.4 s`.
pub fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// `no differences`, or `3 differences: routes 2, paths 1`.
pub fn summary(d: &Diff) -> String {
    if d.changes.is_empty() {
        return "no differences".into();
    }
    let counts: Vec<String> = d.counts().iter().map(|(c, n)| format!("{c} {n}")).collect();
    let n = d.changes.len();
    format!(
        "{n} difference{}: {}",
        if n == 1 { "" } else { "s" },
        counts.join(", ")
    )
}

fn sign(c: &Change) -> char {
    match (&c.before, &c.after) {
        (None, _) => '+',
        (_, None) => '-',
        _ => '~',
    }
}

fn subject(c: &Change) -> String {
    if c.node.is_empty() {
        c.key.clone()
    } else {
        format!("{} {}", c.node, c.key)
    }
}

/// For a terminal: the summary, notes, then one line per change (two for a change).
pub fn text(d: &Diff) -> String {
    let mut out = format!("{} → {}: {}\n", d.before, d.after, summary(d));
    for n in &d.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let mut last = None;
    for c in &d.changes {
        if last != Some(c.category) {
            out.push_str(&format!("\n[{}]\n", c.category));
            last = Some(c.category);
        }
        let head = format!("{} {} · {}", sign(c), c.phase, subject(c));
        match (&c.before, &c.after) {
            (Some(b), Some(a)) => {
                out.push_str(&format!("{head}\n    before: {b}\n    after:  {a}\n"))
            }
            (Some(b), None) => out.push_str(&format!("{head}: {b}\n")),
            (None, Some(a)) => out.push_str(&format!("{head}: {a}\n")),
            (None, None) => out.push_str(&format!("{head}\n")),
        }
    }
    out
}

fn cell(s: Option<&String>) -> String {
    match s {
        None => "—".into(),
        Some(s) if s.is_empty() => "(empty)".into(),
        Some(s) => format!("`{}`", s.replace('|', "\\|").replace('`', "'")),
    }
}

/// For a pull request: a summary line, then one table per category.
pub fn markdown(d: &Diff) -> String {
    let mut out = format!(
        "**routelab diff** `{}` → `{}`: {}\n",
        d.before,
        d.after,
        summary(d)
    );
    for n in &d.notes {
        out.push_str(&format!("\n> {n}\n"));
    }
    for category in Category::ALL {
        let rows: Vec<&Change> = d
            .changes
            .iter()
            .filter(|c| c.category == category)
            .collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n### {category} ({})\n\n| | phase | node | key | before | after |\n|---|---|---|---|---|---|\n",
            rows.len()
        ));
        for c in rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                sign(c),
                c.phase.replace('|', "\\|"),
                c.node,
                c.key.replace('|', "\\|"),
                cell(c.before.as_ref()),
                cell(c.after.as_ref())
            ));
        }
    }
    out
}

/// As JSON: the changes, the counts per category and the notes.
pub fn json(d: &Diff) -> String {
    let counts: std::collections::BTreeMap<&str, usize> =
        d.counts().into_iter().map(|(c, n)| (c.name(), n)).collect();
    let value = serde_json::json!({
        "before": d.before,
        "after": d.after,
        "summary": summary(d),
        "counts": counts,
        "notes": d.notes,
        "changes": d.changes,
    });
    serde_json::to_string_pretty(&value).expect("a diff is always serializable") + "\n"
}
