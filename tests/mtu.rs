//! Prediction against measurement: for every shipped scenario with MTU expectations, what
//! `routelab mtu` predicts from the file must be what its `pmtu` and `max_unfragmented`
//! expectations say (and at least what `no_fragmentation_up_to` asks). The scenario tests
//! measure those expectations on the real network, so the two agree or one of them fails.
//! Pure: no privileges needed.

use std::path::Path;

use routelab_model::expect::Kind;

#[test]
fn predictions_match_the_mtu_expectations_of_every_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = routelab_model::scenario::files_in(&root.join("scenarios")).unwrap();
    let mut compared = 0;
    let mut wrong = Vec::new();
    for file in &files {
        let (scenario, _) = routelab_model::scenario::load(file).unwrap_or_else(|d| panic!("{d}"));
        for e in &scenario.expectations {
            let (from, to, src, want, what) = match &e.kind {
                Kind::Pmtu(p) => (&p.from, p.to, p.src, u32::from(p.mtu), "path MTU"),
                Kind::MaxUnfragmented(m) => {
                    (&m.from, m.to, m.src, u32::from(m.bytes), "unfragmented")
                }
                Kind::NoFragmentationUpTo(n) => {
                    (&n.from, n.to, n.src, u32::from(n.bytes), "at least")
                }
                _ => continue,
            };
            compared += 1;
            let p = match routelab_model::mtu::predict(&scenario, from, to, src) {
                Ok(p) => p,
                Err(err) => {
                    wrong.push(format!(
                        "{}:{}: {}: no prediction: {err}",
                        file.display(),
                        e.line,
                        e.label
                    ));
                    continue;
                }
            };
            let ok = match what {
                "path MTU" => p.path_mtu == want,
                "unfragmented" => p.unfragmented == want,
                _ => p.unfragmented >= want,
            };
            if !ok {
                wrong.push(format!(
                    "{}:{}: {}: predicted path MTU {}, unfragmented {}\n{p}",
                    file.display(),
                    e.line,
                    e.label,
                    p.path_mtu,
                    p.unfragmented
                ));
            }
        }
    }
    assert!(compared > 0, "no scenario has MTU expectations");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
