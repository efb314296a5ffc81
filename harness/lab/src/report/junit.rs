//! The JUnit XML report (`routelab run --junit FILE`), in the format Ant's JUnit task
//! wrote and Jenkins, GitLab, GitHub test reporters and Surefire read:
//! `testsuites > testsuite > testcase`, one suite per scenario, one case per expectation
//! (classname the scenario's name), a failing case's `failure` message naming what was
//! expected and what was observed. `tests/schemas/junit.xsd` describes what is written.
//!
//! Limits: a scenario that was skipped or could not be built has one case, `build and
//! start`, rather than one per expectation it never judged; XML 1.0 has no way to write
//! most control characters, so they are dropped from messages.

use std::fmt::Write as _;
use std::time::Duration;

use super::{RunInfo, ScenarioReport, Status, rfc3339};

/// How a case ended.
enum Verdict {
    Passed,
    /// Checked, and it did not hold: `failure`.
    Failed {
        message: String,
        kind: String,
        detail: String,
    },
    /// Could not be checked (not built, aborted, an action that failed): `error`.
    Error {
        message: String,
        kind: String,
    },
    Skipped {
        message: String,
    },
}

struct Case {
    name: String,
    time: Duration,
    verdict: Verdict,
}

struct Suite<'a> {
    report: &'a ScenarioReport,
    cases: Vec<Case>,
}

impl Suite<'_> {
    fn count(&self, which: fn(&Verdict) -> bool) -> usize {
        self.cases.iter().filter(|c| which(&c.verdict)).count()
    }
    fn failures(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Failed { .. }))
    }
    fn errors(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Error { .. }))
    }
    fn skipped(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Skipped { .. }))
    }
    fn time(&self) -> Duration {
        let r = self.report;
        r.build + r.daemons + r.converge
    }
}

/// The cases of one scenario: its expectations phase after phase, then asserted outages,
/// then actions that failed.
fn cases(r: &ScenarioReport) -> Vec<Case> {
    let mut cases = Vec::new();
    match &r.status {
        Status::NotBuilt { error, .. } | Status::Aborted { error } => cases.push(Case {
            name: "build and start".to_string(),
            time: r.build + r.daemons,
            verdict: Verdict::Error {
                message: error.clone(),
                kind: match r.status {
                    Status::Aborted { .. } => "aborted",
                    _ => "not_built",
                }
                .to_string(),
            },
        }),
        Status::Skipped { reason } => cases.push(Case {
            name: "build and start".to_string(),
            time: Duration::ZERO,
            verdict: Verdict::Skipped {
                message: reason.clone(),
            },
        }),
        Status::Checked => {}
    }
    let timeline = r.phases.len() > 1;
    let named = |phase: &str, what: &str| {
        if timeline {
            format!("{phase}: {what}")
        } else {
            what.to_string()
        }
    };
    for p in &r.phases {
        for o in &p.outcomes {
            let verdict = if o.holds {
                Verdict::Passed
            } else {
                let first = o.observed.lines().next().unwrap_or_default();
                let mut detail = format!(
                    "expected: {} (line {}, gave up after {} attempts)\nobserved:\n{}",
                    o.label, o.line, o.attempts, o.observed
                );
                if let Some(tail) = &o.log_tail {
                    let _ = write!(detail, "\n{tail}");
                }
                Verdict::Failed {
                    message: format!("expected: {}; observed: {first}", o.label),
                    kind: o.kind.to_string(),
                    detail,
                }
            };
            cases.push(Case {
                name: named(&p.name, &o.label),
                time: o.elapsed,
                verdict,
            });
        }
    }
    for p in &r.phases {
        for o in &p.outages {
            if o.max.is_none() && o.holds {
                continue; // measured only, asserting nothing
            }
            let seen = match (&o.figures, &o.error) {
                (Some(f), _) => f.to_string(),
                (_, Some(e)) => format!("could not measure: {e}"),
                _ => String::new(),
            };
            let verdict = if o.holds {
                Verdict::Passed
            } else {
                Verdict::Failed {
                    message: format!("expected: {}; observed: {seen}", o.label),
                    kind: "outage".to_string(),
                    detail: seen,
                }
            };
            cases.push(Case {
                name: format!("{}: {}", p.name, o.label),
                time: Duration::ZERO,
                verdict,
            });
        }
        for a in &p.actions {
            if let Some(e) = &a.error {
                cases.push(Case {
                    name: format!("{}: {}", p.name, a.action),
                    time: a.took,
                    verdict: Verdict::Error {
                        message: e.clone(),
                        kind: "action".to_string(),
                    },
                });
            }
        }
    }
    cases
}

/// JUnit XML: a test suite per scenario, a test case per expectation.
pub fn to_junit(reports: &[ScenarioReport], run: &RunInfo) -> String {
    let suites: Vec<Suite> = reports
        .iter()
        .map(|r| Suite {
            report: r,
            cases: cases(r),
        })
        .collect();
    let total = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"routelab\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">",
        total(|s| s.cases.len()),
        total(|s| s.failures()),
        total(|s| s.errors()),
        total(|s| s.skipped()),
        secs(run.wall_time),
        timestamp(run.started_at),
    );
    for (id, s) in suites.iter().enumerate() {
        let r = s.report;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\" hostname=\"{}\" id=\"{id}\" package=\"routelab\">",
            attr(&r.scenario),
            s.cases.len(),
            s.failures(),
            s.errors(),
            s.skipped(),
            secs(s.time()),
            timestamp(r.started_at),
            attr(&run.hostname),
        );
        let _ = writeln!(out, "    <properties>");
        let _ = writeln!(
            out,
            "      <property name=\"file\" value=\"{}\"/>",
            attr(&r.file.to_string_lossy())
        );
        let _ = writeln!(out, "    </properties>");
        for c in &s.cases {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                attr(&c.name),
                attr(&r.scenario),
                secs(c.time)
            );
            match &c.verdict {
                Verdict::Passed => {
                    let _ = writeln!(out, "{open}/>");
                }
                Verdict::Failed {
                    message,
                    kind,
                    detail,
                } => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        attr(message),
                        attr(kind),
                        text(detail)
                    );
                }
                Verdict::Error { message, kind } => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
                        attr(message),
                        attr(kind),
                        text(message)
                    );
                }
                Verdict::Skipped { message } => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        attr(message)
                    );
                }
            }
        }
        let _ = writeln!(out, "    <system-out>{}</system-out>", text(&r.to_text()));
        let _ = writeln!(out, "    <system-err></system-err>");
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Seconds to the millisecond, as the format's `time` attributes take them.
fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// The format's timestamps: ISO 8601 without a zone (Ant's own); UTC here.
fn timestamp(t: std::time::SystemTime) -> String {
    rfc3339(t).trim_end_matches('Z').to_string()
}

/// Text content: markup escaped, characters XML 1.0 cannot carry dropped.
fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value: as [`text`], quotes and line breaks escaped too (a parser would
/// otherwise fold the breaks into spaces).
fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_do_not_break_the_xml() {
        assert_eq!(
            attr("a<b & \"c\"\nd\u{1b}[31m"),
            "a&lt;b &amp; &quot;c&quot;&#10;d[31m"
        );
        assert_eq!(text("x\ty\nz\u{0}"), "x\ty\nz");
    }
}
