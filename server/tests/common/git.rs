//! Real Git for the tests: bare repositories served by `git daemon` on loopback, and `git` run
//! in a working clone with a fixed author.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::within_20_s;

/// `git daemon` over `base`, stopped when dropped.
pub struct GitDaemon {
    child: Child,
    pub port: u16,
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Ops")
        .env("GIT_AUTHOR_EMAIL", "ada@example.test")
        .env("GIT_COMMITTER_NAME", "Ada Ops")
        .env("GIT_COMMITTER_EMAIL", "ada@example.test")
        .output()
        .expect("git runs (Debian's git is installed by scripts/test.sh's machine)");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `git daemon` over `base`, listening when this returns. The port is picked free, but another
/// test may take it before the daemon binds: the daemon then exits and a new port is tried.
pub fn start_daemon(base: &Path) -> GitDaemon {
    for _attempt in 0..5 {
        let port = free_port();
        let mut child = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
                "--export-all",
                "--enable=receive-pack",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if child.try_wait().expect("daemon status").is_some() {
                break; // lost the port: try another
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return GitDaemon { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("git daemon did not listen on any of 5 free ports");
}

/// A bare repository at `path` under `base` (e.g. `acme/app.git`, its HEAD on `main`), served by
/// `git daemon`, and a working clone of it in `base/work`: the daemon (stopped when dropped),
/// the repository's `git://` URL and the clone's directory.
pub async fn served_repository(base: &Path, path: &str) -> (GitDaemon, String, std::path::PathBuf) {
    let bare = base.join(path);
    std::fs::create_dir_all(&bare).expect("bare dir");
    git(&bare, &["init", "--bare", "--quiet"]);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    let daemon = start_daemon(base);
    let remote = format!("git://127.0.0.1:{}/{path}", daemon.port);
    let work = base.join("work");
    clone_when_served(&remote, &work).await;
    (daemon, remote, work)
}

/// Clones `remote` into `work`, trying again until the daemon that serves it listens.
pub async fn clone_when_served(remote: &str, work: &Path) {
    let work_dir = work.to_string_lossy().into_owned();
    within_20_s("git daemon to serve the repository", || {
        let cloned = Command::new("git")
            .args(["clone", "--quiet", remote, &work_dir])
            .output()
            .is_ok_and(|o| o.status.success());
        async move { cloned.then_some(()) }
    })
    .await;
}

/// Commits everything in the working clone `work` and pushes it to `main`; the new commit.
pub fn commit_and_push(work: &Path, message: &str) -> String {
    git(work, &["add", "-A"]);
    git(work, &["commit", "--quiet", "-m", message]);
    git(work, &["push", "--quiet", "origin", "HEAD:main"]);
    git(work, &["rev-parse", "HEAD"])
}
