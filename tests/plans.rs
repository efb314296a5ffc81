//! The Plan of every shipped scenario, snapshot-tested: a change in what routelab builds
//! for a scenario shows up as a reviewed diff. Pure: no privileges needed.

use std::path::Path;

#[test]
fn plans_of_shipped_scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = routelab_model::scenario::files_in(&root.join("scenarios")).unwrap();
    assert!(!files.is_empty(), "no scenarios found");
    for file in files {
        let (scenario, _) = routelab_model::scenario::load(&file).unwrap_or_else(|d| panic!("{d}"));
        let plan = routelab_model::planner::plan(&scenario).relative_to(root);
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_yaml_snapshot!(name, plan);
    }
}

/// A variant's plan is snapshot above with the rest; what the plan does not show is which
/// expectations it kept, replaced and added, in order.
#[test]
fn expectations_of_a_variant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("scenarios/mtu-chain-1400.yaml");
    let (scenario, _) = routelab_model::scenario::load(&file).unwrap_or_else(|d| panic!("{d}"));
    let labels: Vec<&str> = scenario
        .expectations
        .iter()
        .map(|e| e.label.as_str())
        .collect();
    insta::assert_yaml_snapshot!("mtu-chain-1400-expectations", labels);
}
