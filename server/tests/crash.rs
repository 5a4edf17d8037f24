//! Crash recovery: uhub is killed with SIGKILL while a script runs; the next start settles the
//! run (failed, with the reason), keeps its log up to the crash, and stops what the script left.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use domain::{ExecutionBackend, JobAction, JobType, RunStatus};
use services::storage::{Actor, NewJob, NewProject};
use services::Storage;

const UHUB: &str = env!("CARGO_BIN_EXE_uhub");

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

fn start(data: &std::path::Path, address: SocketAddr) -> Child {
    let mut command = Command::new(UHUB);
    for (name, _) in std::env::vars() {
        if name.starts_with("UHUB_") {
            command.env_remove(name);
        }
    }
    let child = command
        .env("UHUB_DATA_DIR", data)
        .env("UHUB_BIND", address.to_string())
        .env("UHUB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn uhub");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(address).is_err() {
        assert!(
            Instant::now() < deadline,
            "uhub did not listen on {address}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

async fn wait_for<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_interrupted_by_sigkill_is_settled_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let scripts = data.join("scripts");
    std::fs::create_dir_all(&scripts).expect("scripts dir");
    let script = scripts.join("long.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho started\necho \"pid $$\"\nsleep 120\necho never\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    // The database as a previous start left it: a project, a job, a queued run.
    let url = format!("sqlite://{}", data.join("uhub.db").display());
    let storage = Storage::connect(&url).await.expect("database");
    storage.migrate().await.expect("migrate");
    let project = storage
        .create_project(
            &NewProject {
                execution_backend: Some(ExecutionBackend::Local),
                ..NewProject::named("Crash", &["dev"])
            },
            &Actor::system(),
        )
        .await
        .expect("project");
    let job = storage
        .create_job(
            &NewJob {
                action: Some(JobAction::Script {
                    path: "long.sh".into(),
                    args: vec![],
                    repo: None,
                    git_ref: None,
                }),
                ..NewJob::planned(
                    project.id,
                    "Long",
                    JobType::Dev,
                    Some("dev"),
                    chrono::Utc::now(),
                )
            },
            &Actor::system(),
        )
        .await
        .expect("job");
    let run = storage
        .create_run(
            &services::engine::launch::snapshot(
                &job,
                ExecutionBackend::Local,
                RunStatus::Queued,
                None,
                &scripts,
                None,
            )
            .expect("snapshot"),
            &Actor::system(),
        )
        .await
        .expect("run");

    // uhub takes the run; once the script has printed, uhub is killed outright.
    let address = free_address();
    let mut uhub = start(&data, address);
    let script_pid: i32 = wait_for("the script to start", Duration::from_secs(60), async || {
        let lines = storage.run_logs(run.id, 0, 100).await.ok()?;
        lines
            .iter()
            .find_map(|l| l.line.strip_prefix("pid ").and_then(|p| p.parse().ok()))
    })
    .await;
    uhub.kill().expect("SIGKILL");
    let _ = uhub.wait();
    assert_eq!(
        storage.run(run.id).await.expect("run").status,
        RunStatus::Running,
        "nobody settled it yet"
    );
    assert!(
        std::path::Path::new(&format!("/proc/{script_pid}")).exists(),
        "the script outlived uhub"
    );

    // The next start settles it: failed, with the reason; the log up to the crash is kept.
    let address = free_address();
    let mut uhub = start(&data, address);
    let settled = wait_for(
        "the run to be settled",
        Duration::from_secs(60),
        async || {
            let run = storage.run(run.id).await.ok()?;
            run.status.is_final().then_some(run)
        },
    )
    .await;
    let _ = uhub.kill();
    let _ = uhub.wait();
    assert_eq!(settled.status, RunStatus::Failed);
    assert!(
        settled
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("uHub stopped")),
        "{settled:?}"
    );
    let log: Vec<String> = storage
        .run_logs(run.id, 0, 100)
        .await
        .expect("log")
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(
        log.iter().any(|l| l == "started"),
        "the log before the crash is kept: {log:?}"
    );
    assert!(
        log.last().is_some_and(|l| l.contains("uHub stopped")),
        "{log:?}"
    );
    let gone = wait_for(
        "the orphaned script to be stopped",
        Duration::from_secs(10),
        async || {
            let stat = std::fs::read_to_string(format!("/proc/{script_pid}/stat")).ok();
            let alive = stat.is_some_and(|s| s.split_whitespace().nth(2) != Some("Z"));
            (!alive).then_some(())
        },
    )
    .await;
    let () = gone;
}
