//! `ci/github-actions.yml` works when copied into another repository: it parses, every
//! job has a timeout, routelab is checked out from a configurable repository and revision
//! (never assumed at ./routelab), BIRD 1.6 is passed explicitly, and every flag its
//! `routelab` command lines use is one `routelab SUBCOMMAND --help` lists.

use serde_json::Value;

use crate::common::{root, routelab, text};

fn workflow() -> Value {
    let body = std::fs::read_to_string(root().join("ci/github-actions.yml")).unwrap();
    serde_saphyr::from_str(&body).expect("ci/github-actions.yml parses")
}

fn jobs(w: &Value) -> Vec<(&String, &Value)> {
    w["jobs"].as_object().expect("jobs").iter().collect()
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_array().expect("steps")
}

/// Each `run:` script of a job, with continued lines joined.
fn scripts(job: &Value) -> Vec<String> {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .map(|r| r.replace("\\\n", " "))
        .collect()
}

#[test]
fn every_job_has_a_timeout_and_its_own_routelab() {
    let w = workflow();
    let env = &w["env"];
    assert!(env["ROUTELAB_REPO"].is_string() && env["ROUTELAB_REF"].is_string());
    let all = jobs(&w);
    assert_eq!(
        all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["diff", "scenarios"]
    );
    for (name, job) in all {
        let minutes = job["timeout-minutes"].as_u64();
        assert!(
            minutes.is_some_and(|m| m > 0),
            "job {name} has no timeout-minutes"
        );
        let checkout = steps(job)
            .iter()
            .find(|s| s["with"]["repository"].is_string())
            .unwrap_or_else(|| panic!("job {name} does not check out routelab"));
        assert_eq!(checkout["with"]["repository"], "${{ env.ROUTELAB_REPO }}");
        assert_eq!(checkout["with"]["ref"], "${{ env.ROUTELAB_REF }}");
        let path = checkout["with"]["path"].as_str().expect("a checkout path");
        let scripts = scripts(job).join("\n");
        assert!(
            scripts.contains(&format!("{path}/ci/setup.sh")),
            "job {name}: setup not from the checkout"
        );
        assert!(
            !scripts.contains(" routelab/"),
            "job {name} assumes ./routelab"
        );
        assert!(
            scripts.contains("--bird1 \"$ROUTELAB_BIRD1\""),
            "job {name}: BIRD 1.6 not passed"
        );
        assert!(
            scripts.contains("$GITHUB_STEP_SUMMARY"),
            "job {name}: no summary"
        );
        assert!(
            steps(job).iter().any(|s| s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
                && s["if"] == "always()"),
            "job {name} uploads nothing"
        );
    }
    let scenarios = &w["jobs"]["scenarios"];
    assert_eq!(
        scenarios["strategy"]["matrix"]["shard"],
        serde_json::json!([1, 2, 3, 4])
    );
    let run = scripts(scenarios).join("\n");
    assert!(
        run.contains(" run scenarios/ "),
        "scenarios not found recursively"
    );
    let upload = steps(scenarios)
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .find_map(|s| s["with"]["path"].as_str())
        .unwrap();
    assert!(
        run.contains("--artifacts routelab-artifacts") && upload.contains("routelab-artifacts/")
    );
    assert!(
        w["jobs"]["diff"]["if"]
            .as_str()
            .unwrap()
            .contains("pull_request")
    );
}

#[test]
fn every_flag_it_passes_to_routelab_exists() {
    let w = workflow();
    let mut checked = 0;
    for (_, job) in jobs(&w) {
        for script in scripts(job) {
            for line in script.lines() {
                let Some((_, rest)) = line.split_once("\"$ROUTELAB\" ") else {
                    continue;
                };
                let mut words = rest.split_whitespace();
                let sub = words.next().unwrap();
                let help = text(&routelab(&[sub, "--help"]).stdout);
                for flag in words.filter(|w| w.starts_with('-')) {
                    let listed = [" ", ",", "\n"]
                        .iter()
                        .any(|end| help.contains(&format!(" {flag}{end}")));
                    assert!(listed, "`routelab {sub}` has no flag {flag}:\n{help}");
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} flags found: is the command line still matched?"
    );
}
