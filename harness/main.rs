fn main() -> std::process::ExitCode {
    routelab::cli::main()
}
