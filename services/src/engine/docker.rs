//! The `docker` backend: an ephemeral container from the action's image (built or loaded on the
//! engine: uHub pulls nothing), hardened by default — read-only root, no new privileges, every
//! capability dropped, user 65534, no network unless the project allows it, CPU / memory / pids
//! limits — its output streamed into the log, its exit code kept, removed afterwards.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use domain::{BackendConfig, LogStream, RunStatus};
use futures_util::StreamExt;

use super::output::{LineSplitter, LogSender};
use super::{CancelSignal, Outcome};

/// Limits when the project sets none.
const DEFAULT_MEMORY_MB: u32 = 512;
const DEFAULT_CPUS: f64 = 1.0;
const DEFAULT_PIDS: u32 = 256;
/// Seconds between the stop signal and the kill.
const GRACE_SECONDS: i32 = 5;
/// The labels that mark uHub's containers: the run id, and the uHub process that started it.
pub const RUN_LABEL: &str = "uhub.run";
pub const WORKER_LABEL: &str = "uhub.worker";

/// What a container run needs.
pub struct DockerRun<'a> {
    pub run_id: i64,
    pub worker: &'a str,
    pub image: &'a str,
    pub command: &'a [String],
    pub env: Vec<(String, String)>,
    pub limits: &'a BackendConfig,
    pub timeout: Duration,
    /// The commit checked out for an action from a repository: mounted read-only at
    /// `/workspace`, the container's working directory. The engine must see this host's files.
    pub workspace: Option<&'a std::path::Path>,
}

/// Where a repository's checkout appears in the container.
pub const WORKSPACE: &str = "/workspace";

/// What `UHUB_DOCKER_HOST` names, read once the same way for the configuration's checks and
/// for the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAddress {
    /// `unix:///path`.
    Unix(String),
    /// `tcp://host:port` (or `http://`, `https://`): only a host and a port; `https` when asked.
    Tcp {
        authority: String,
        loopback: bool,
        https: bool,
    },
}

/// Reads `UHUB_DOCKER_HOST`. Anything but a host and a port after the scheme is refused: a user
/// part (`tcp://127.0.0.1@elsewhere:2375`) would send the connection elsewhere than it reads.
pub fn engine_address(host: &str) -> Result<EngineAddress, String> {
    let refuse = || {
        format!("`{host}` is neither unix:///path nor tcp://host:port (a scheme, a host and a port only)")
    };
    let (scheme, rest) = host.split_once("://").ok_or_else(refuse)?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "unix" if rest.starts_with('/') => {
            return Ok(EngineAddress::Unix(format!("unix://{rest}")))
        }
        "tcp" | "http" => false,
        "https" => true,
        _ => return Err(refuse()),
    };
    let url = url::Url::parse(&format!("http://{rest}")).map_err(|_| refuse())?;
    let only_host_and_port = url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.path() == "/"
        && !rest.contains(['@', '?', '#'])
        && !rest.trim_end_matches('/').contains('/');
    let (Some(name), Some(port)) = (url.host(), url.port()) else {
        return Err(refuse());
    };
    if !only_host_and_port {
        return Err(refuse());
    }
    let loopback = match &name {
        url::Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    Ok(EngineAddress::Tcp {
        authority: format!("{name}:{port}"),
        loopback,
        https,
    })
}

/// Connects to `host` (see [`engine_address`]) and agrees on an API version with the engine
/// (bollard's default is newer than older engines accept). With `cert_path` (a directory holding
/// `ca.pem`, `cert.pem` and `key.pem`, as Docker's `DOCKER_CERT_PATH`), a `tcp://` engine is
/// reached over TLS, uHub presenting its client certificate; bollard checks the engine's
/// certificate against `ca.pem` and the host's public CAs.
pub async fn connect(host: &str, cert_path: Option<&std::path::Path>) -> Result<Docker, String> {
    let address = engine_address(host).map_err(|why| format!("UHUB_DOCKER_HOST {why}"))?;
    let docker = match (address, cert_path) {
        (EngineAddress::Unix(socket), None) => {
            Docker::connect_with_unix(&socket, 120, bollard::API_DEFAULT_VERSION)
        }
        (EngineAddress::Unix(_), Some(_)) => {
            return Err(format!(
                "UHUB_DOCKER_CERT_PATH is set: UHUB_DOCKER_HOST `{host}` must be tcp://host:port"
            ))
        }
        (EngineAddress::Tcp { authority, .. }, Some(dir)) => {
            let file = |name: &str| {
                let path = dir.join(name);
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(format!(
                        "UHUB_DOCKER_CERT_PATH `{}` has no {name} (it holds ca.pem, cert.pem and key.pem)",
                        dir.display()
                    ))
                }
            };
            let (ca, cert, key) = (file("ca.pem")?, file("cert.pem")?, file("key.pem")?);
            Docker::connect_with_ssl(
                &format!("tcp://{authority}"),
                &key,
                &cert,
                &ca,
                120,
                bollard::API_DEFAULT_VERSION,
            )
        }
        (EngineAddress::Tcp { https: true, .. }, None) => {
            return Err(format!(
                "UHUB_DOCKER_HOST `{host}` asks for https: set UHUB_DOCKER_CERT_PATH"
            ))
        }
        (EngineAddress::Tcp { authority, .. }, None) => Docker::connect_with_http(
            &format!("tcp://{authority}"),
            120,
            bollard::API_DEFAULT_VERSION,
        ),
    };
    let docker = docker.map_err(|e| format!("cannot reach the Docker engine at {host}: {e}"))?;
    docker
        .negotiate_version()
        .await
        .map_err(|e| format!("the Docker engine at {host} does not answer: {e}"))
}

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn an_engine_address_is_a_host_and_a_port_only() {
        assert_eq!(
            engine_address("unix:///var/run/docker.sock"),
            Ok(EngineAddress::Unix(
                "unix:///var/run/docker.sock".to_owned()
            ))
        );
        assert_eq!(
            engine_address("tcp://[::1]:2375"),
            Ok(EngineAddress::Tcp {
                authority: "[::1]:2375".to_owned(),
                loopback: true,
                https: false
            })
        );
        assert_eq!(
            engine_address("HTTPS://Runner.internal:2376/"),
            Ok(EngineAddress::Tcp {
                authority: "runner.internal:2376".to_owned(),
                loopback: false,
                https: true
            })
        );
        for refused in [
            "tcp://127.0.0.1:2375@evil.example:2375",
            "tcp://user:pw@runner:2376",
            "tcp://runner",
            "tcp://runner:2376/path",
            "ssh://runner",
            "unix://relative",
            "runner:2375",
        ] {
            assert!(engine_address(refused).is_err(), "{refused}");
        }
    }
}

fn host_config(limits: &BackendConfig, workspace: Option<&std::path::Path>) -> HostConfig {
    let memory = i64::from(limits.memory_mb.unwrap_or(DEFAULT_MEMORY_MB)) * 1024 * 1024;
    let cpus = limits.cpus.unwrap_or(DEFAULT_CPUS);
    HostConfig {
        memory: Some(memory),
        // No swap beyond the memory limit.
        memory_swap: Some(memory),
        nano_cpus: Some((cpus * 1e9) as i64),
        pids_limit: Some(i64::from(limits.pids_limit.unwrap_or(DEFAULT_PIDS))),
        readonly_rootfs: Some(true),
        security_opt: Some(vec!["no-new-privileges".to_owned()]),
        cap_drop: Some(vec!["ALL".to_owned()]),
        network_mode: Some(if limits.network == Some(true) {
            "bridge".to_owned()
        } else {
            "none".to_owned()
        }),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_owned(),
            "rw,nosuid,nodev,size=64m".to_owned(),
        )])),
        binds: workspace.map(|dir| vec![format!("{}:{WORKSPACE}:ro", dir.display())]),
        ..HostConfig::default()
    }
}

pub async fn run(
    docker: &Docker,
    spec: DockerRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: impl FnOnce(&str),
) -> Outcome {
    let mut suffix = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
    let name = format!("uhub-run-{}-{}", spec.run_id, crate::digest::hex(&suffix));
    let body = ContainerCreateBody {
        image: Some(spec.image.to_owned()),
        cmd: (!spec.command.is_empty()).then(|| spec.command.to_vec()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: Some("65534:65534".to_owned()),
        working_dir: Some(
            if spec.workspace.is_some() {
                WORKSPACE
            } else {
                "/tmp"
            }
            .to_owned(),
        ),
        labels: Some(HashMap::from([(
            RUN_LABEL.to_owned(),
            spec.run_id.to_string(),
        )])),
        host_config: Some(host_config(spec.limits, spec.workspace)),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    let created = match docker.create_container(Some(options), body).await {
        Ok(created) => created,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            return Outcome::failed(format!(
            "image `{}` is not on the Docker engine: uHub pulls nothing, build or load it there",
            spec.image
        ))
        }
        Err(error) => return Outcome::failed(format!("cannot create the container: {error}")),
    };
    let id = created.id;
    on_start(&id);
    let outcome = supervise(docker, &id, &spec, log, cancel).await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    if let Err(error) = docker.remove_container(&id, Some(remove)).await {
        log.line(
            LogStream::System,
            format!("cannot remove the container: {error}"),
        );
    }
    outcome
}

async fn supervise(
    docker: &Docker,
    id: &str,
    spec: &DockerRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
) -> Outcome {
    if let Err(error) = docker.start_container(id, None).await {
        return Outcome::failed(format!("cannot start the container: {error}"));
    }
    // Logs are followed before waiting, or the first lines could be missed.
    let logs = {
        let options = LogsOptionsBuilder::default()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = docker.logs(id, Some(options));
        let log = log.clone();
        tokio::spawn(async move {
            let mut lines = Lines::default();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bollard::container::LogOutput::StdOut { message }) => {
                        lines.push(LogStream::Stdout, &message, &log)
                    }
                    Ok(bollard::container::LogOutput::StdErr { message }) => {
                        lines.push(LogStream::Stderr, &message, &log)
                    }
                    Ok(_) => {}
                    Err(error) => {
                        log.line(
                            LogStream::System,
                            format!("log stream interrupted: {error}"),
                        );
                        break;
                    }
                }
            }
            lines.flush(&log);
        })
    };
    let mut wait = docker.wait_container(id, None);
    let stop = |reason: String, status: RunStatus| async move {
        let options = StopContainerOptionsBuilder::default()
            .t(GRACE_SECONDS)
            .build();
        let _ = docker.stop_container(id, Some(options)).await;
        log.line(LogStream::System, reason.clone());
        Outcome {
            status,
            exit_code: None,
            reason: Some(reason),
        }
    };
    let outcome = tokio::select! {
        waited = wait.next() => match waited {
            Some(Ok(response)) => exit(response.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => exit(code),
            Some(Err(error)) => Outcome::failed(format!("cannot wait for the container: {error}")),
            None => Outcome::failed("the Docker engine stopped answering".to_owned()),
        },
        () = cancel.cancelled() => stop(format!("canceled: {}", cancel.reason()), RunStatus::Canceled).await,
        () = tokio::time::sleep(spec.timeout) => {
            stop(format!("timed out after {} s", spec.timeout.as_secs()), RunStatus::TimedOut).await
        }
    };
    let _ = logs.await;
    outcome
}

fn exit(code: i64) -> Outcome {
    let code = i32::try_from(code).unwrap_or(i32::MAX);
    match code {
        0 => Outcome {
            status: RunStatus::Success,
            exit_code: Some(0),
            reason: None,
        },
        137 => Outcome {
            status: RunStatus::Failed,
            exit_code: Some(code),
            reason: Some("killed (exit code 137: out of memory, or SIGKILL)".to_owned()),
        },
        code => Outcome {
            status: RunStatus::Failed,
            exit_code: Some(code),
            reason: Some(format!("exited with code {code}")),
        },
    }
}

/// Reassembles lines from the chunks Docker sends (a chunk may hold part of a line), in bounded
/// memory per stream (see [`LineSplitter`]).
#[derive(Default)]
struct Lines {
    stdout: LineSplitter,
    stderr: LineSplitter,
}

impl Lines {
    fn push(&mut self, stream: LogStream, bytes: &[u8], log: &LogSender) {
        let splitter = if stream == LogStream::Stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        splitter.push(bytes, &mut |line: &str| log.line(stream, line));
    }

    fn flush(&mut self, log: &LogSender) {
        for (stream, splitter) in [
            (LogStream::Stdout, &mut self.stdout),
            (LogStream::Stderr, &mut self.stderr),
        ] {
            splitter.finish(&mut |line: &str| log.line(stream, line));
        }
    }
}

/// Stops and removes the container of a run left behind by a stopped uHub process.
pub async fn remove_orphan(docker: &Docker, id: &str) {
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    if let Err(error) = docker.remove_container(id, Some(remove)).await {
        tracing::warn!(container = id, %error, "cannot remove an orphaned run's container");
    }
}
