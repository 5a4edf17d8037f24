//! The docker backend on a remote engine over TLS with a client certificate
//! (`UHUB_DOCKER_HOST=tcp://…` + `UHUB_DOCKER_CERT_PATH`), as docs/deploy.md tells production to
//! do instead of mounting the host's socket. The engine is a second real `dockerd`, started here
//! with `--tlsverify` exactly as Docker's guide "Protect the Docker daemon socket" says, with
//! its own data root; a job runs through it, and the wrong certificates are refused.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use axum::http::{Method, StatusCode};
use serde_json::json;
use services::testing::TestEngine;

use crate::common::git::free_port;
use crate::common::kube::{issue, make_ca};
use crate::common::{dev_ops_job, expect, id, launch, log_text, settled_within, TestApp};

/// Stops the engine (SIGTERM: it stops its containerd too) when the test ends.
struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self.0.wait();
    }
}

/// The last lines of the second engine's log, for a failure's message.
fn engine_log(root: &Path) -> String {
    let log = std::fs::read_to_string(root.join("dockerd.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A TLS-only engine on `port` with the team's server certificate, its data under `root/name`,
/// its output appended to `root/dockerd.log`.
fn start_engine(root: &Path, name: &str, port: u16) -> Engine {
    let path = |file: &str| root.join(file).display().to_string();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("dockerd.log"))
        .expect("log");
    Engine(
        Command::new("dockerd")
            .args([
                &format!("--data-root={}", path(&format!("{name}/root"))),
                &format!("--exec-root={}", path(&format!("{name}/exec"))),
                &format!("--pidfile={}", path(&format!("{name}/dockerd.pid"))),
                &format!("--host=tcp://127.0.0.1:{port}"),
                "--tlsverify",
                &format!("--tlscacert={}", path("team-ca.pem")),
                &format!("--tlscert={}", path("team-server.pem")),
                &format!("--tlskey={}", path("team-server.key")),
                "--iptables=false",
                "--ip-masq=false",
                "--bridge=none",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd"),
    )
}

/// The engine's client once it answers over TLS with the `good` certificates (30 s at most);
/// `None` at once if it exited (its port was taken). No attempt waits more than 5 s on what
/// answers at `host`.
async fn answering(engine: &mut Engine, host: &str, good: &Path) -> Option<bollard::Docker> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = engine.0.try_wait() {
            eprintln!("dockerd exited ({status})");
            return None;
        }
        let reached = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            services::engine::docker::connect(host, Some(good)),
        )
        .await;
        if let Ok(Ok(docker)) = reached {
            return Some(docker);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

/// A CA `<name>-ca` with a server certificate for 127.0.0.1 (`<name>-server`) and a client one
/// (`<name>-client`), in `dir`.
fn authority(dir: &Path, name: &str) {
    let ca = format!("{name}-ca");
    make_ca(dir, &ca);
    let server = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    issue(dir, &ca, &format!("{name}-server"), server);
    issue(
        dir,
        &ca,
        &format!("{name}-client"),
        "extendedKeyUsage=clientAuth\n",
    );
}

/// A `DOCKER_CERT_PATH`-shaped directory: `ca.pem`, `cert.pem`, `key.pem`.
fn cert_dir(root: &Path, folder: &str, ca_of: &str, client_of: &str) -> std::path::PathBuf {
    let dir = root.join(folder);
    std::fs::create_dir(&dir).expect("cert dir");
    for (from, to) in [
        (format!("{ca_of}-ca.pem"), "ca.pem"),
        (format!("{client_of}-client.pem"), "cert.pem"),
        (format!("{client_of}-client.key"), "key.pem"),
    ] {
        std::fs::copy(root.join(from), dir.join(to)).expect("copy");
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_engine_is_reached_over_tls_with_a_client_certificate() {
    // Each phase's time is printed (shown when the test fails): a slow CI machine once took
    // this test past a minute where it takes 4 s here, and the failure alone did not say where.
    let began = std::time::Instant::now();
    let phase = |name: &str| eprintln!("{:>6.1} s  {name}", began.elapsed().as_secs_f64());
    let socket = std::env::var("UHUB_TEST_DOCKER_HOST")
        .expect("UHUB_TEST_DOCKER_HOST: scripts/test.sh starts a Docker engine");
    let work = tempfile::tempdir().expect("work dir");
    let root = work.path();
    authority(root, "team");
    authority(root, "stranger");

    let good = cert_dir(root, "good", "team", "team");
    // A port found free may be taken again before dockerd binds it (other tests open ports
    // all the while): an engine that exits is started again on another port, and no attempt
    // to reach it waits on whatever else answers there for more than a few seconds.
    let mut started = None;
    for attempt in 1..=3 {
        let port = free_port();
        let mut engine = start_engine(root, &format!("engine{attempt}"), port);
        let host = format!("tcp://127.0.0.1:{port}");
        match answering(&mut engine, &host, &good).await {
            Some(docker) => {
                started = Some((engine, host, docker));
                break;
            }
            None => eprintln!("attempt {attempt}: no engine answered on port {port}"),
        }
    }
    let (_engine, host, docker) =
        started.unwrap_or_else(|| panic!("the TLS engine never answered:\n{}", engine_log(root)));
    phase("the TLS engine answers");
    let version = docker.version().await.expect("version over TLS");
    assert!(version.api_version.is_some(), "{version:?}");

    // The test image, moved from the test command's engine (no registry here).
    let copied = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "timeout 300 docker -H {socket} save uhub-test/busybox:1 | timeout 300 docker -H {host} --tlsverify --tlscacert {0}/ca.pem --tlscert {0}/cert.pem --tlskey {0}/key.pem load",
            good.display()
        ))
        .output()
        .expect("docker save | load");
    assert!(
        copied.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&copied.stderr),
        engine_log(root)
    );
    phase("the test image is loaded");

    // A job of the docker backend runs on that engine, through uHub's TLS connection.
    let app = TestApp::with_demo_on_docker(TestEngine::Sqlite, &host, Some(&good)).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({
            "name": "Remote engine", "environments": ["dev"], "execution_backend": "docker",
        })),
        StatusCode::CREATED,
    )
    .await;
    let action = json!({"kind": "container", "image": "uhub-test/busybox:1",
                        "command": ["sh", "-c", "echo hello from the runner"]});
    let job = dev_ops_job(&app, &ops, id(&project), "On the runner", action).await;
    let run = launch(&app, &ops, job, json!({}), StatusCode::CREATED).await;
    phase("the run is launched");
    let settled = settled_within(&app, &ops, id(&run), std::time::Duration::from_secs(180)).await;
    let log = log_text(&app, &ops, id(&run)).await;
    let done = settled.unwrap_or_else(|run| {
        panic!(
            "the run did not finish: {run}\n{log}\nthe engine's log:\n{}",
            engine_log(root)
        )
    });
    phase("the run has finished");
    assert_eq!(done["status"], "success", "{done}\n{log}");
    assert!(log.contains("hello from the runner"), "{log}");

    // A client certificate of another CA: the engine refuses the handshake.
    let stranger = cert_dir(root, "stranger", "team", "stranger");
    assert!(
        services::engine::docker::connect(&host, Some(&stranger))
            .await
            .is_err(),
        "a stranger's certificate was accepted"
    );
    // An engine whose certificate another CA signed: uHub does not trust it.
    let distrust = cert_dir(root, "distrust", "stranger", "team");
    assert!(
        services::engine::docker::connect(&host, Some(&distrust))
            .await
            .is_err(),
        "an engine of an unknown CA was trusted"
    );
    // No certificate against the TLS port; a directory without the files.
    assert!(services::engine::docker::connect(&host, None)
        .await
        .is_err());
    let empty = root.join("empty");
    std::fs::create_dir(&empty).expect("empty");
    let missing = services::engine::docker::connect(&host, Some(&empty))
        .await
        .err()
        .unwrap_or_default();
    assert!(missing.contains("ca.pem"), "{missing}");
    phase("the wrong certificates are refused");
}
