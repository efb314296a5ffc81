//! `run --keep-on-failure`: a failed scenario's lab is left up, as `up` leaves one, with
//! how to get into it; a scenario that passed has its lab removed at once. And `graph`.

use routelab_lab::lab::{self, LabState};
use routelab_lab::report::ScenarioReport;

/// Keeps the lab `name` of a scenario that failed (and says how to enter it), or removes
/// the lab of one that passed.
pub fn kept_or_removed(name: &str, report: &ScenarioReport, state: &LabState) {
    if report.ok() {
        if let Err(e) = lab::down(name) {
            eprintln!("routelab: removing lab `{name}`: {e}");
        }
        return;
    }
    println!("kept lab `{name}` up for a look (it failed):");
    print_entry(name, state);
}

/// How to get into a lab left up: its namespaces, `routelab exec`, each BIRD's socket.
pub fn print_entry(name: &str, state: &LabState) {
    for ns in &state.namespaces {
        let netns = ns
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        println!(
            "  {:<16} routelab exec {name} {} -- ip route   (or: ip netns exec {netns} ...)",
            ns.name, ns.name
        );
    }
    for d in &state.daemons {
        println!("  BIRD on {:<9} birdc -s {}", d.node, d.socket.display());
    }
    println!("remove it with: routelab down --lab {name}");
}

/// The languages `routelab graph` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// `routelab graph FILE`: the topology on standard output; 2 for a file that is not valid.
pub fn graph(file: &std::path::Path, format: GraphFormat, bgp: bool) -> u8 {
    use routelab_model::graph::{Format, render};
    match routelab_model::scenario::load(file) {
        Ok((scenario, warnings)) => {
            eprint!("{warnings}");
            let format = match format {
                GraphFormat::Mermaid => Format::Mermaid,
                GraphFormat::Dot => Format::Dot,
            };
            print!("{}", render(&scenario, format, bgp));
            crate::cli::EXIT_OK
        }
        Err(d) => {
            eprint!("{d}");
            crate::cli::EXIT_INVALID
        }
    }
}
