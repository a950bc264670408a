//! The `diwan` binary, built beside the tests so they can start real server processes.

fn main() -> std::process::ExitCode {
    diwan_server::cli::main()
}
