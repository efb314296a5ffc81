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
        let name = d.name.as_deref().unwrap_or(&d.node);
        println!("  BIRD on {name:<9} birdc -s {}", d.socket.display());
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

/// The scenario files given: each file as it is, each directory as every `*.yaml` under it
/// (recursively, sorted by path). A directory with none is an error, as a missing file is.
pub fn scenario_files(given: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, u8> {
    let mut out = Vec::new();
    for path in given {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        if let Err(e) = yaml_under(path, &mut found) {
            eprintln!("routelab: reading {}: {e}", path.display());
            return Err(crate::cli::EXIT_INVALID);
        }
        if found.is_empty() {
            eprintln!(
                "routelab: {}: no scenario files (*.yaml) under it",
                path.display()
            );
            return Err(crate::cli::EXIT_INVALID);
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn yaml_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        // Symbolic links are not followed: a link to `..` would never end.
        if kind.is_dir() {
            yaml_under(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}
