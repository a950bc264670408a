//! The `diwan` binary.

fn main() -> std::process::ExitCode {
    diwan_server::cli::main()
}
