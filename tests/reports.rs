//! What `routelab run` leaves for machines and for people watching: the JSON report
//! checked against `schemas/report.schema.json`, the JUnit report against
//! `tests/schemas/junit.xsd` (with xmllint), and the log `ROUTELAB_LOG` asks for.
//!
//! Each runs copies of `scenarios/ebgp-pair.yaml` under names of their own, so they do
//! not meet another run of that scenario on the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;

use common::*;

/// `scenarios/ebgp-pair.yaml` as scenario `name` in `dir`, its fixtures found from there,
/// with `extra` appended to its expectations.
fn ebgp_pair(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/ebgp-pair.yaml")).unwrap();
    let text = text
        .replace("name: ebgp-pair", &format!("name: {name}"))
        .replace("../fixtures", &root().join("fixtures").to_string_lossy());
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, format!("{text}{extra}")).unwrap();
    file
}

fn run(args: &[&str], log: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_routelab"));
    cmd.args(args).current_dir(root()).stdin(Stdio::null());
    match log {
        Some(filter) => cmd.env("ROUTELAB_LOG", filter),
        None => cmd.env_remove("ROUTELAB_LOG"),
    };
    cmd.output().expect("routelab runs")
}

fn report_schema() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/report.schema.json")).unwrap(),
    )
    .expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid draft 2020-12 schema")
}

fn schema_errors(validator: &jsonschema::Validator, report: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The outcome of the first expectation whose label starts with `label`.
fn outcome<'a>(report: &'a serde_json::Value, label: &str) -> &'a serde_json::Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["phases"].as_array().unwrap())
        .flat_map(|p| p["outcomes"].as_array().unwrap())
        .find(|o| o["label"].as_str().unwrap().starts_with(label))
        .unwrap_or_else(|| panic!("no outcome {label:?} in {report:#}"))
}

/// xmllint's verdict on `xml` against the JUnit schema; `None` when xmllint is not
/// installed and this is not CI (under CI=true, where `ci/setup.sh` installs it, a
/// missing xmllint fails the test).
fn xmllint_junit(xml: &Path) -> Option<Output> {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(root().join("tests/schemas/junit.xsd"))
        .arg(xml)
        .output();
    match out {
        Ok(out) => Some(out),
        Err(e) => {
            let msg =
                format!("xmllint (Debian: libxml2-utils; ci/setup.sh installs it) cannot run: {e}");
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{msg}; CI=true, so this is a failure");
            }
            eprintln!("skipped the JUnit schema check: {msg}");
            None
        }
    }
}

/// A change that makes a valid report invalid.
type Breakage = fn(&mut serde_json::Value);

/// A passing and a failing scenario in one run: both reports are valid against their
/// schemas and carry the figures and values CI reads.
#[test]
fn reports_match_their_schemas() {
    if !privileged("reports_match_their_schemas") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passing = ebgp_pair(dir.path(), "reports-pass", "");
    // r1's route to h2's LAN goes via r2 (192.0.2.2), not 192.0.2.9.
    let failing = ebgp_pair(
        dir.path(),
        "reports-fail",
        "  - route: { node: r1, prefix: 10.2.0.0/24, via: 192.0.2.9, deadline: 8s }\n",
    );
    let json = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    let out = run(
        &[
            "run",
            "-q",
            "-j",
            "1",
            passing.to_str().unwrap(),
            failing.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        None,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stderr, "", "without ROUTELAB_LOG a run logs nothing");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let validator = report_schema();
    let errors = schema_errors(&validator, &report);
    assert!(errors.is_empty(), "{}\n{report:#}", errors.join("\n"));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["routelab_version"], env!("CARGO_PKG_VERSION"));
    let totals = &report["totals"];
    assert_eq!(
        totals["scenarios"],
        serde_json::json!({ "total": 2, "passed": 1, "failed": 1, "skipped": 0 })
    );
    assert_eq!(
        totals["expectations"],
        serde_json::json!({ "total": 17, "passed": 16, "failed": 1, "skipped": 0 })
    );
    assert!(totals["wall_time"].as_f64().unwrap() > 0.0);
    assert_eq!(report["scenarios"][0]["result"], "passed");
    assert_eq!(report["scenarios"][1]["result"], "failed");
    let wrong = outcome(&report, "route r1 10.2.0.0/24 via 192.0.2.9");
    assert_eq!(wrong["kind"], "route");
    assert_eq!(wrong["node"], "r1");
    assert_eq!(wrong["phase"], "as built");
    assert_eq!(wrong["holds"], false);
    assert_eq!(wrong["expected"]["via"], serde_json::json!(["192.0.2.9"]));
    assert_eq!(wrong["expected"]["prefix"], "10.2.0.0/24");
    let routes = wrong["actual"]["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "{wrong:#}");
    assert_eq!(routes[0]["nexthops"][0]["via"], "192.0.2.2");
    assert!(wrong["duration"].as_f64().unwrap() >= 8.0, "{wrong:#}");
    let session = outcome(&report, "bgp r1 r2");
    assert_eq!(session["actual"]["state"], "Established");

    // The schema bites: a field missing, a field of the wrong type, one it does not know.
    let broken: [(&str, Breakage); 3] = [
        ("missing totals", |r| {
            r.as_object_mut().unwrap().remove("totals");
        }),
        ("a route's next hop as a number", |r| {
            r["scenarios"][1]["phases"][0]["outcomes"][8]["actual"]["routes"][0]["nexthops"][0]["via"] =
                serde_json::json!(3);
        }),
        ("an unknown field on an outcome", |r| {
            r["scenarios"][0]["phases"][0]["outcomes"][0]["verdict"] = serde_json::json!("ok");
        }),
    ];
    for (what, breaks) in broken {
        let mut bad = report.clone();
        breaks(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "the schema accepts a report with {what}"
        );
    }

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 17, "{xml}");
    assert!(xml.contains("classname=\"reports-fail\""), "{xml}");
    assert!(
        xml.contains(
            "<failure message=\"expected: route r1 10.2.0.0/24 via 192.0.2.9; observed: 10.2.0.0/24 via 192.0.2.2 dev to-r2 proto bird"
        ),
        "the failure message names what was observed:\n{xml}"
    );
    if let Some(lint) = xmllint_junit(&junit) {
        assert!(
            lint.status.success(),
            "{}{}\n{xml}",
            text(&lint.stdout),
            text(&lint.stderr)
        );
    }
    // The XSD bites too: a test case without its classname is refused.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, xml.replacen(" classname=\"reports-pass\"", "", 1)).unwrap();
    if let Some(lint) = xmllint_junit(&bad) {
        assert!(
            !lint.status.success(),
            "the XSD accepts a case without classname"
        );
    }
    assert_nothing_left_of("reports-pass", "a run that passed");
    assert_nothing_left_of("reports-fail", "a run that failed");
}

/// `ROUTELAB_LOG=info` tells each stage of a run on standard error, with timestamps and,
/// as standard error is not a terminal here, no colour codes.
#[test]
fn routelab_log_info_tells_the_stages() {
    if !privileged("routelab_log_info_tells_the_stages") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = ebgp_pair(dir.path(), "reports-log", "");
    let out = run(&["run", "-q", scenario.to_str().unwrap()], Some("info"));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a log to a pipe:\n{stderr}"
    );
    for stage in [
        "loaded and validated",
        "planned",
        "building the network",
        "network built; starting daemons",
        "daemons started and ready",
        "phase started phase=\"as built\"",
        "PASS bgp r1 r2 is Established phase=\"as built\"",
        "PASS ping h2 -> 10.255.0.1 fails",
        "phase done phase=\"as built\"",
        "run done",
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(stage))
            .unwrap_or_else(|| panic!("no {stage:?} in the log:\n{stderr}"));
        // Each line begins with its time, e.g. 2024-05-01T12:00:00.123456Z.
        let stamp = line.split_whitespace().next().unwrap_or_default();
        assert!(
            stamp.len() > 20 && stamp.as_bytes()[4] == b'-' && stamp.ends_with('Z'),
            "no timestamp on {line:?}"
        );
    }
    assert!(
        !stderr.contains("looked"),
        "attempts are logged only at debug:\n{stderr}"
    );
    assert_nothing_left_of("reports-log", "a run that passed");
}
