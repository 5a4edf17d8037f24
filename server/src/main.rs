//! The `uhub` binary: reads the configuration, sets up logging, runs the server. A start-up
//! problem ends the process with one line naming the setting to fix and a non-zero exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use uhub_server::config::{Config, LogFormat};

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return fail(&error),
    };
    let filter = match EnvFilter::try_new(&config.log_filter) {
        Ok(filter) => filter,
        Err(error) => {
            return fail(&format!(
                "UHUB_LOG: `{}` is not a log filter: {error}",
                config.log_filter
            ))
        }
    };
    // Colours only for a person at a terminal; files and log collectors get plain text.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(uhub_server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Prints the one line a person needs and reports failure.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("uhub: error: {error}");
    ExitCode::from(2)
}
