//! The `uhub` binary: serves (the default), or runs one of the operator's commands (health
//! check, backup, restore, configuration reference; see `cli`). A start-up problem ends the
//! process with one line naming the setting to fix and a non-zero exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use uhub_server::cli::{self, Command};
use uhub_server::config::{Config, LogFormat};

/// jemalloc rather than the C library's allocator, by measurement (docs/benchmarks.md,
/// "Memory"): glibc kept a 19 MiB argon2 block in each thread's arena after password checks
/// (540 MiB after 50 logins), the image's musl allocator returns memory but serves pages at a
/// fifth of the speed, and mimalloc held 200 MiB under the soak. jemalloc, built with a
/// background thread giving pages back after a second (`JEMALLOC_SYS_WITH_MALLOC_CONF` in
/// .cargo/config.toml), idles under 40 MiB and is the fastest of the four.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("uhub: {error}\n{}", cli::USAGE);
            return ExitCode::from(64);
        }
    };
    match command {
        Command::Help => {
            println!("uHub {}\n{}", env!("CARGO_PKG_VERSION"), cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("uhub {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::ConfigReference => {
            print!("{}", uhub_server::settings_reference::markdown());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return fail(&error),
    };
    if command == Command::Healthcheck {
        // Quiet when healthy: Docker keeps the output of every probe.
        return match uhub_server::healthcheck::check(config.bind) {
            Ok(_) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("uhub: not healthy: {why}");
                ExitCode::from(1)
            }
        };
    }
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
    let outcome = match &command {
        Command::Backup { to } => runtime.block_on(uhub_server::backup::backup(&config, to)),
        Command::Verify { file } => runtime.block_on(uhub_server::backup::verify(&config, file)),
        Command::Restore { file, data_dir } => {
            runtime.block_on(uhub_server::backup::restore(&config, file, data_dir))
        }
        _ => {
            return match runtime.block_on(uhub_server::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error),
            }
        }
    };
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// Prints the one line a person needs and reports failure.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("uhub: error: {error}");
    ExitCode::from(2)
}
