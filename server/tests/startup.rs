//! The `uhub` binary as a person starts it: the settings it honours, the one-line errors it
//! gives for bad configuration, serving from PostgreSQL, and a clean stop on SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const UHUB: &str = env!("CARGO_BIN_EXE_uhub");

/// A command for the binary with a clean `UHUB_*` environment.
fn uhub(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(UHUB);
    for (name, _) in std::env::vars() {
        if name.starts_with("UHUB_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().copied()).env("UHUB_LOG", "warn");
    command
}

fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("address")
}

/// Runs the binary to completion (it must fail quickly) and returns its output.
fn run_failing(vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let address = free_address().to_string();
    let mut all = vec![
        ("UHUB_DATA_DIR", data.to_str().expect("utf-8 path")),
        ("UHUB_BIND", address.as_str()),
    ];
    all.extend_from_slice(vars);
    uhub(&all).output().expect("run uhub")
}

/// Asserts a start-up failure: exit code 2 and one stderr line naming `setting`, no panic.
fn assert_clear_failure(output: &Output, setting: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line expected, got: {stderr}");
    assert!(
        lines[0].starts_with(&format!("uhub: error: {setting}:")),
        "the line names {setting}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

/// A plain HTTP/1.1 GET; returns the status code and body.
fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Waits until `/readyz` answers 200, or the process exits, or two minutes pass.
fn wait_ready(child: &mut Child, address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("uhub exited early with {status}");
        }
        if let Some((200, _)) = http_get(address, "/readyz") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("uhub did not become ready on {address}");
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("uhub did not stop within 30 s of SIGTERM");
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let output = run_failing(&[("UHUB_BIND", &address)]);
    assert_clear_failure(&output, "UHUB_BIND");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&address));
}

#[test]
fn a_malformed_bind_address_is_one_clear_line() {
    assert_clear_failure(
        &run_failing(&[("UHUB_BIND", "localhost:http")]),
        "UHUB_BIND",
    );
}

#[test]
fn a_malformed_database_url_is_one_clear_line() {
    let output = run_failing(&[("UHUB_DATABASE_URL", "mysql://root:hunter2@db/uhub")]);
    assert_clear_failure(&output, "UHUB_DATABASE_URL");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("hunter2"),
        "the password is never echoed"
    );
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let output = run_failing(&[(
        "UHUB_DATABASE_URL",
        "postgres://uhub:s3cret@127.0.0.1:1/uhub",
    )]);
    assert_clear_failure(&output, "UHUB_DATABASE_URL");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("s3cret"));
}

#[test]
fn an_unwritable_data_dir_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write");
    let below_a_file = file.join("data");
    assert_clear_failure(
        &run_failing(&[("UHUB_DATA_DIR", below_a_file.to_str().expect("utf-8"))]),
        "UHUB_DATA_DIR",
    );
}

#[test]
fn a_bad_boolean_is_one_clear_line() {
    assert_clear_failure(
        &run_failing(&[("UHUB_SEED_DEMO", "sometimes")]),
        "UHUB_SEED_DEMO",
    );
}

/// Starts uhub with `database_url` (None = the SQLite default), checks it serves the demo data,
/// stops it with SIGTERM and expects a clean exit.
fn serve_and_stop(database_url: Option<&str>) -> std::path::PathBuf {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let data = dir.join("custom-data");
    let address = free_address();
    let address_text = address.to_string();
    let mut vars = vec![
        ("UHUB_BIND", address_text.as_str()),
        ("UHUB_DATA_DIR", data.to_str().expect("utf-8")),
        ("UHUB_SEED_DEMO", "true"),
    ];
    if let Some(url) = database_url {
        vars.push(("UHUB_DATABASE_URL", url));
    }
    let mut child = uhub(&vars)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn uhub");
    wait_ready(&mut child, address);
    let (status, _) = http_get(address, "/").expect("GET /");
    assert_eq!(
        status, 303,
        "an anonymous visitor is sent to the login page"
    );
    let (status, body) = http_get(address, "/login").expect("GET /login");
    assert_eq!(status, 200);
    assert!(
        body.contains("name=\"password\""),
        "the login form is served"
    );
    let status = terminate(&mut child);
    assert!(
        status.success(),
        "a SIGTERM stop is a clean exit, got {status}"
    );
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    assert!(
        stderr.contains("created the bootstrap admin"),
        "a first start on an empty database bootstraps the admin and says so: {stderr}"
    );
    data
}

#[test]
fn bind_and_data_dir_are_honoured_and_sigterm_stops_cleanly() {
    let data = serve_and_stop(None);
    assert!(
        data.join("uhub.db").is_file(),
        "SQLite lives in UHUB_DATA_DIR"
    );
    assert!(
        data.join("jwt-secret").is_file(),
        "the generated secret lives in UHUB_DATA_DIR"
    );
    // Private to uHub's account: the directory 0700, the database and its journals 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    assert_eq!(mode(&data), 0o700, "the data directory");
    for file in [
        "uhub.db",
        "uhub.db-wal",
        "uhub.db-shm",
        "jwt-secret",
        "master-key",
    ] {
        let path = data.join(file);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        }
    }
    assert_eq!(mode(&data.join("uhub.db")), 0o600);
    let _ = std::fs::remove_dir_all(data.parent().expect("parent"));
}

#[tokio::test]
async fn a_postgres_url_serves_from_postgresql() {
    let url = services::testing::fresh_postgres_database().await;
    let data = tokio::task::spawn_blocking({
        let url = url.clone();
        move || serve_and_stop(Some(&url))
    })
    .await
    .expect("serve");
    assert!(
        !data.join("uhub.db").exists(),
        "no SQLite file when PostgreSQL is configured"
    );
    let storage = services::Storage::connect(&url).await.expect("connect");
    assert_eq!(
        storage
            .list_project_summaries()
            .await
            .expect("projects")
            .len(),
        4,
        "the seed went to PostgreSQL"
    );
    let _ = std::fs::remove_dir_all(data.parent().expect("parent"));
}
