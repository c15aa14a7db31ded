//! Tessera's composition root: reads configuration, wires the adapters to the domain, and runs the
//! `tessera` command line. The only crate that knows every other one.

mod audit;
mod backchannel;
mod cli;
mod client_cmd;
mod client_update_cmd;
mod document_fetch;
mod keys_cmd;
mod limits;
mod registration_cmd;
mod remote;
mod serve;
mod settings;
mod user_cmd;
mod wiring;

use std::process::ExitCode;

use clap::Parser as _;

pub use settings::Settings;

/// Runs the command line and returns the process exit code: 0 on success, 1 on a failure, 2 on bad
/// arguments or configuration.
#[must_use]
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Some(server) = cli.global.server.clone() {
        return remote_main(&server, cli);
    }
    let settings = match Settings::load(&cli.global, cli.command.serve_overrides()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    wiring::init_tracing(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(_) => serve::run(settings).await,
            cli::Command::Client { command } => client_cmd::run(settings, command).await,
            cli::Command::Keys { command } => keys_cmd::run(settings, command).await,
            cli::Command::User { command } => user_cmd::run(settings, command).await,
            cli::Command::Registration { command } => {
                registration_cmd::run(settings, command).await
            }
            cli::Command::Audit {
                command: cli::AuditCommand::Tail { lines },
            } => audit::tail(&settings, lines).await,
            cli::Command::Migrate => wiring::open_store(&settings).map(|_| {
                println!("migrations applied");
            }),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `--server`: the command runs against a running server's admin API.
fn remote_main(server: &str, cli: cli::Cli) -> ExitCode {
    let remote = match remote::Remote::new(server, cli.global.token_file.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(remote::run(&remote, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
