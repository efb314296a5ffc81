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
