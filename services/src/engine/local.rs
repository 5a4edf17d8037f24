//! The `local` backend: a script from the scripts directory, run as a child process in its own
//! process group, with a scrubbed environment, a timeout, and cancel = SIGTERM then SIGKILL of the
//! whole group (so that what the script started stops too).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::output::LogSender;
use super::{CancelSignal, Outcome, WorkDir};
use domain::{LogStream, RunStatus};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

/// How long a script gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// What a local run needs.
pub struct LocalRun<'a> {
    pub scripts_dir: &'a Path,
    pub path: &'a str,
    pub args: &'a [String],
    /// Variables of the run (`UHUB_*`) and the project's secrets.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// Resolves a script inside the scripts directory, refusing anything that leaves it (`..`,
/// absolute paths, symbolic links pointing outside).
pub fn resolve_script(scripts_dir: &Path, path: &str) -> Result<PathBuf, String> {
    domain::action::check_relative_path(path).map_err(|why| format!("script path {why}"))?;
    let root = scripts_dir.canonicalize().map_err(|e| {
        format!(
            "the scripts directory {} is not usable: {e}",
            scripts_dir.display()
        )
    })?;
    let script = root
        .join(path)
        .canonicalize()
        .map_err(|e| format!("script `{path}` not found in the scripts directory: {e}"))?;
    if !script.starts_with(&root) {
        return Err(format!(
            "script `{path}` leads outside the scripts directory"
        ));
    }
    if !script.is_file() {
        return Err(format!("script `{path}` is not a file"));
    }
    Ok(script)
}

/// The only variables a script inherits: a plain PATH and locale, never uHub's own environment
/// (which holds its database URL and keys).
fn base_environment(home: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOME".into(), home.display().to_string()),
    ]
}

pub async fn run(
    spec: LocalRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: impl FnOnce(u32),
) -> Outcome {
    let script = match resolve_script(spec.scripts_dir, spec.path) {
        Ok(script) => script,
        Err(reason) => return Outcome::failed(reason),
    };
    let workdir = match WorkDir::create() {
        Ok(dir) => dir,
        Err(error) => {
            return Outcome::failed(format!(
                "cannot create the run's working directory: {error}"
            ))
        }
    };
    let mut command = Command::new(&script);
    command
        .args(spec.args)
        .env_clear()
        .envs(base_environment(workdir.path()))
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: signals reach everything the script started.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return Outcome::failed(format!("cannot start `{}`: {error}", spec.path)),
    };
    let Some(pid) = child.id() else {
        return Outcome::failed("the script exited before it could be watched".to_owned());
    };
    on_start(pid);
    let group = Pid::from_raw(pid as i32);
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(forward(out, LogStream::Stdout, log.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(forward(err, LogStream::Stderr, log.clone())));
    }

    let stop = |signal: Signal| {
        // ESRCH (the group is gone) is the normal end of a stop.
        let _ = killpg(group, signal);
    };
    let (status, reason) = tokio::select! {
        waited = child.wait() => match waited {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(format!("cannot wait for the script: {error}"))),
        },
        () = cancel.cancelled() => {
            stop(Signal::SIGTERM);
            let status = match tokio::time::timeout(GRACE, child.wait()).await {
                Ok(Ok(status)) => Some(status),
                _ => { stop(Signal::SIGKILL); child.wait().await.ok() }
            };
            log.line(LogStream::System, format!("canceled: {}", cancel.reason()));
            return finish(readers, Outcome { status: RunStatus::Canceled, exit_code: status.and_then(|s| s.code()), reason: Some(cancel.reason()) }, group).await;
        }
        () = tokio::time::sleep(spec.timeout) => {
            stop(Signal::SIGTERM);
            let status = match tokio::time::timeout(GRACE, child.wait()).await {
                Ok(Ok(status)) => Some(status),
                _ => { stop(Signal::SIGKILL); child.wait().await.ok() }
            };
            let why = format!("timed out after {} s", spec.timeout.as_secs());
            log.line(LogStream::System, why.clone());
            return finish(readers, Outcome { status: RunStatus::TimedOut, exit_code: status.and_then(|s| s.code()), reason: Some(why) }, group).await;
        }
    };
    let outcome = match (status, reason) {
        (Some(status), _) => match status.code() {
            Some(0) => Outcome {
                status: RunStatus::Success,
                exit_code: Some(0),
                reason: None,
            },
            Some(code) => Outcome {
                status: RunStatus::Failed,
                exit_code: Some(code),
                reason: Some(format!("exited with code {code}")),
            },
            None => Outcome::failed("killed by a signal".to_owned()),
        },
        (None, reason) => Outcome::failed(reason.unwrap_or_default()),
    };
    finish(readers, outcome, group).await
}

/// After the script: stray processes it left behind are stopped, its output is read to the end.
async fn finish(
    readers: Vec<tokio::task::JoinHandle<()>>,
    outcome: Outcome,
    group: Pid,
) -> Outcome {
    let _ = killpg(group, Signal::SIGKILL);
    for reader in readers {
        let _ = reader.await;
    }
    outcome
}

async fn forward(output: impl AsyncRead + Unpin, stream: LogStream, log: LogSender) {
    let mut reader = BufReader::new(output);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buffer);
                log.line(stream, text.trim_end_matches(['\n', '\r']));
            }
            Err(error) => {
                log.line(
                    LogStream::System,
                    format!("cannot read the {stream} of the script: {error}"),
                );
                break;
            }
        }
    }
}
