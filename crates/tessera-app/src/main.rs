//! The `tessera` binary: everything lives in the library, so tests run the very same entry point.

fn main() -> std::process::ExitCode {
    tessera_app::main()
}
