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
use tokio::io::{AsyncRead, AsyncReadExt};

use super::output::LineSplitter;
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
    /// The script's SHA-256 when the run was launched (and approved): a script changed since is
    /// not run.
    pub expected_sha256: Option<&'a str>,
    /// `UHUB_LOCAL_RUN_USER`: the account scripts run as, instead of uHub's (which can read the
    /// master key and the database).
    pub run_as: Option<&'a RunAs>,
    /// The commit checked out for a script from a repository: the script is read there (its
    /// commit pins its content) and runs from there, instead of the scripts directory.
    pub checkout: Option<&'a Path>,
}

/// An account of the host that local scripts run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    /// The account named `name` on this host.
    pub fn lookup(name: &str) -> Result<RunAs, String> {
        match nix::unistd::User::from_name(name) {
            Ok(Some(user)) => Ok(RunAs {
                name: name.to_owned(),
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
            }),
            Ok(None) => Err(format!("no account `{name}` on this host")),
            Err(error) => Err(format!("cannot look up the account `{name}`: {error}")),
        }
    }
}

/// The SHA-256 (hex) of a script's content, as it is now.
pub fn script_digest(scripts_dir: &Path, path: &str) -> Result<String, String> {
    let script = resolve_script(scripts_dir, path)?;
    let content =
        std::fs::read(&script).map_err(|e| format!("cannot read the script `{path}`: {e}"))?;
    Ok(crate::digest::sha256_hex(&content))
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

/// A tool's program: `configured` (its `UHUB_*` setting, named `setting`) when set, else the
/// first `name` on uHub's PATH; the reason says which setting to give when neither is found.
pub fn find_program(
    configured: Option<&Path>,
    name: &str,
    setting: &str,
    what: &str,
) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(format!(
                "{setting} names {}, which is not a file",
                path.display()
            ))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!("{name} was not found on uHub's PATH: install {what} on this host or set {setting} to its path")
        })
}

/// Writes a new file only its owner reads (0600): variables, kubeconfigs, CLI configurations.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The only variables a script inherits: a plain PATH and locale, never uHub's own environment
/// (which holds its database URL and keys).
pub(super) fn base_environment(home: &Path) -> Vec<(String, String)> {
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
    let script = match resolve_script(spec.checkout.unwrap_or(spec.scripts_dir), spec.path) {
        Ok(script) => script,
        Err(reason) => return Outcome::failed(reason),
    };
    // What was launched (and approved) is what runs: a script changed since is refused. A
    // script from a repository is the one of the commit recorded at launch.
    let pinned = match spec.checkout {
        Some(_) => None,
        None => Some((
            spec.expected_sha256,
            script_digest(spec.scripts_dir, spec.path),
        )),
    };
    match pinned {
        None => {}
        Some((Some(expected), Ok(now))) if expected == now => {}
        Some((None, _)) => {
            let why = format!(
                "the script `{}` did not exist when the run was launched",
                spec.path
            );
            return Outcome::failed(why);
        }
        Some((Some(_), Ok(_))) => {
            let why = format!(
                "the script `{}` changed since the run was launched: launch it again",
                spec.path
            );
            return Outcome::failed(why);
        }
        Some((Some(_), Err(reason))) => return Outcome::failed(reason),
    }
    let workdir = match WorkDir::create() {
        Ok(dir) => dir,
        Err(error) => {
            return Outcome::failed(format!(
                "cannot create the run's working directory: {error}"
            ))
        }
    };
    if let Some(user) = spec.run_as {
        if let Err(reason) = give_to(user, &[workdir.path()]) {
            return Outcome::failed(reason);
        }
    }
    let program = ProgramRun {
        program: &script,
        name: spec.path,
        args: spec.args.iter().map(std::ffi::OsString::from).collect(),
        env: spec.env,
        timeout: spec.timeout,
        run_as: spec.run_as,
        home: workdir.path(),
        cwd: spec.checkout.unwrap_or(workdir.path()),
    };
    run_program(program, log, cancel, on_start).await
}

/// Gives files of a run (its directory, what uHub wrote in it) to the account it runs as.
pub fn give_to(user: &RunAs, paths: &[&Path]) -> Result<(), String> {
    let owner = (
        Some(nix::unistd::Uid::from_raw(user.uid)),
        Some(nix::unistd::Gid::from_raw(user.gid)),
    );
    for path in paths {
        nix::unistd::chown(*path, owner.0, owner.1).map_err(|error| {
            format!("cannot give {} to `{}`: {error}", path.display(), user.name)
        })?;
    }
    Ok(())
}

/// A program a local run executes: a script, or `ansible-playbook`.
pub struct ProgramRun<'a> {
    pub program: &'a Path,
    /// How the log and failure reasons name it.
    pub name: &'a str,
    pub args: Vec<std::ffi::OsString>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub run_as: Option<&'a RunAs>,
    /// `HOME`: the run's own directory.
    pub home: &'a Path,
    pub cwd: &'a Path,
}

/// Runs a program in its own process group with a scrubbed environment, its output into the
/// log, until it ends, is canceled (SIGTERM, then SIGKILL of the group) or times out.
pub async fn run_program(
    spec: ProgramRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: impl FnOnce(u32),
) -> Outcome {
    let mut command = Command::new(spec.program);
    if let Some(user) = spec.run_as {
        command.uid(user.uid).gid(user.gid);
    }
    command
        .args(&spec.args)
        .env_clear()
        .envs(base_environment(spec.home))
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: signals reach everything the program started.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return Outcome::failed(format!("cannot start `{}`: {error}", spec.name)),
    };
    let Some(pid) = child.id() else {
        return Outcome::failed(format!("`{}` exited before it could be watched", spec.name));
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
            Err(error) => (None, Some(format!("cannot wait for `{}`: {error}", spec.name))),
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

/// Reads one output of the script into the log, a line (or a piece of a long one) at a time, in
/// bounded memory whatever the script prints.
async fn forward(mut output: impl AsyncRead + Unpin, stream: LogStream, log: LogSender) {
    let mut splitter = LineSplitter::default();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut emit = |line: &str| log.line(stream, line);
    loop {
        match output.read(&mut buffer).await {
            Ok(0) => {
                splitter.finish(&mut emit);
                break;
            }
            Ok(read) => splitter.push(&buffer[..read], &mut emit),
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
