//! Text for messages: "did you mean" hints and the YAML reader's messages.

/// The candidate within edit distance 2 of `wanted`, for "did you mean" hints.
pub fn closest<'a, S: AsRef<str> + ?Sized + 'a>(
    wanted: &str,
    candidates: impl Iterator<Item = &'a S>,
) -> Option<&'a S> {
    candidates
        .map(|c| (strsim::levenshtein(wanted, c.as_ref()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.as_ref().cmp(b.1.as_ref())))
        .map(|(_, c)| c)
}

/// The YAML reader's message without its own location prefix and snippet, since
/// [`Diagnostic`] prints the location itself.
pub fn yaml_message(e: &serde_saphyr::Error) -> String {
    if let serde_saphyr::Error::Budget { breach, .. } = e.without_snippet() {
        return budget_message(breach);
    }
    let rendered = e.without_snippet().to_string();
    let first = rendered.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr puts the location in the text too ("error: line L column C: ..." or
    // "... at line L column C"); the diagnostic prints it once, in front.
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message,
        None => first,
    };
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// What exceeding one of the YAML reader's limits means to the user (its defaults, which
/// routelab keeps: 250,000 nodes, 1,000,000 events, nesting 64 deep, ...).
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let limits = serde_saphyr::Budget::default();
    match breach {
        B::Nodes { .. } => format!(
            "file too large (over {} YAML nodes); a scenario or manifest is far smaller: is \
             this the file you meant?",
            limits.max_nodes
        ),
        B::Depth { .. } => format!(
            "YAML nested too deeply (over {} levels); is this the file you meant?",
            limits.max_depth
        ),
        B::Aliases { .. } | B::Anchors { .. } => format!(
            "too many YAML aliases or anchors (over {}); write the values out",
            limits.max_aliases
        ),
        other => format!(
            "file too large for the YAML reader ({other:?} is over its limit); is this the \
             file you meant?"
        ),
    }
}
