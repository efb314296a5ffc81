//! The `routelab` command: a thin layer over `routelab-model` and `routelab-lab`.

mod cli;
mod progress;
mod suite;
mod workbench;

fn main() -> std::process::ExitCode {
    cli::main()
}
