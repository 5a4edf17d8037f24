//! The container image built by `scripts/image.sh` (named by `UHUB_TEST_IMAGE`), run as the
//! deployment guide says: read-only root, no capability, no new privileges, user 65532, a data
//! volume. It must start, serve a login and a page, keep its data across a restart, report
//! healthy through its own HEALTHCHECK, take a backup while it runs, and hold no shell.

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::common::git::free_port;
use crate::common::within_20_s;

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Removes the container and its volume when the test ends, passed or not.
struct Deployed {
    name: String,
    volume: String,
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = docker(&["rm", "--force", &self.name]);
        let _ = docker(&["volume", "rm", "--force", &self.volume]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_read_only_unprivileged_and_keeps_its_data() {
    let image = std::env::var("UHUB_TEST_IMAGE")
        .expect("UHUB_TEST_IMAGE: scripts/test.sh builds the image with scripts/image.sh");

    // What the image says about itself.
    let inspected: Value =
        serde_json::from_str(&docker_ok(&["image", "inspect", &image])).expect("inspect json");
    let config = &inspected[0]["Config"];
    assert_eq!(config["User"], "65532:65532");
    assert_eq!(config["StopSignal"], "SIGTERM");
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/uhub", "healthcheck"])
    );
    assert!(config["ExposedPorts"]["3000/tcp"].is_object());
    assert!(config["Volumes"]["/data"].is_object());
    for label in [
        "org.opencontainers.image.source",
        "org.opencontainers.image.version",
        "org.opencontainers.image.revision",
    ] {
        let value = config["Labels"][label].as_str().unwrap_or_default();
        assert!(!value.is_empty(), "label {label} missing");
    }
    let size = inspected[0]["Size"].as_u64().unwrap_or(u64::MAX);
    println!(
        "image {image}: {:.1} MB ({size} bytes)",
        size as f64 / 1_048_576.0
    );
    assert!(size < 40 * 1024 * 1024, "the image is over 40 MB: {size}");

    // Every file of the image: the binary, the site, the accounts, the CA bundle; no shell.
    let probe = format!("uhub-files-{}", std::process::id());
    docker_ok(&["create", "--name", &probe, &image]);
    let listing = Command::new("sh")
        .args(["-c", &format!("docker export {probe} | tar -t")])
        .output()
        .expect("export");
    let _ = docker(&["rm", "--force", &probe]);
    let files = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(files.lines().any(|f| f == "uhub"), "{files}");
    for absent in ["bin/", "sbin/", "usr/", "bin/sh", "bin/busybox"] {
        assert!(
            !files.lines().any(|f| f == absent || f.starts_with(absent)),
            "{absent} is in the image"
        );
    }
    let shell = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        &image,
        "-c",
        "true",
    ]);
    assert!(!shell.status.success(), "a shell ran in the image");

    // Deployed as docs/deploy.md says (host networking: this engine runs without a bridge).
    let port = free_port();
    let deployed = Deployed {
        name: format!("uhub-image-test-{}", std::process::id()),
        volume: format!("uhub-image-test-data-{}", std::process::id()),
    };
    let bind = format!("UHUB_BIND=127.0.0.1:{port}");
    let volume = format!("{}:/data", deployed.volume);
    docker_ok(&[
        "run",
        "--detach",
        "--name",
        &deployed.name,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "65532",
        "--network",
        "host",
        "--health-interval",
        "1s",
        "--health-start-period",
        "2s",
        "-e",
        &bind,
        "-e",
        "UHUB_SEED_DEMO=true",
        "-v",
        &volume,
        &image,
    ]);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    wait_ready(&client, &base, &deployed.name).await;

    let token = sign_in(&client, &base).await;
    let login_page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(login_page.status(), 200);
    assert!(login_page.text().await.unwrap_or_default().contains("uHub"));
    let projects_page = client
        .get(format!("{base}/projects"))
        .header("cookie", format!("uhub_session={token}"))
        .send()
        .await
        .expect("projects page");
    assert_eq!(projects_page.status(), 200);
    let html = projects_page.text().await.unwrap_or_default();
    // The bundle's content-hashed names (scripts/build.sh), served for a year.
    let stem = html
        .find("/pkg/uhub.")
        .and_then(|at| html.get(at + "/pkg/".len()..at + "/pkg/".len() + "uhub.".len() + 16))
        .unwrap_or_default()
        .to_owned();
    for ext in ["js", "wasm", "css"] {
        assert!(
            html.contains(&format!("/pkg/{stem}.{ext}\"")),
            "the page loads the hashed bundle ({stem}.{ext}): {html}"
        );
    }
    // The image keeps the WASM gzipped only (scripts/image.sh): asked for as a browser asks.
    let wasm = client
        .get(format!("{base}/pkg/{stem}.wasm"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("wasm");
    assert_eq!(wasm.status(), 200, "the site is in the image");
    assert_eq!(
        wasm.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip"),
        "the WASM is served gzipped"
    );
    assert_eq!(
        wasm.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/wasm"),
        "WebAssembly.instantiateStreaming needs its type"
    );
    assert_eq!(
        wasm.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable"),
        "a hashed name never changes"
    );
    let created = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Survives restarts", "environments": ["dev"]}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);

    // A backup while it serves, verified, from inside the container (no shell needed).
    let backup = docker_ok(&[
        "exec",
        &deployed.name,
        "/uhub",
        "backup",
        "--to",
        "/data/backup.uhub",
    ]);
    assert!(
        backup.contains("backup written to /data/backup.uhub"),
        "{backup}"
    );
    let verified = docker_ok(&[
        "exec",
        &deployed.name,
        "/uhub",
        "backup",
        "--verify",
        "/data/backup.uhub",
    ]);
    assert!(verified.starts_with("verified"), "{verified}");

    // The container's own HEALTHCHECK (`uhub healthcheck`) says healthy.
    within_20_s("the container reports healthy", || async {
        let status = docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            &deployed.name,
        ]);
        (status == "healthy").then_some(())
    })
    .await;
    let read_only = docker_ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.Config.User}}",
        &deployed.name,
    ]);
    assert_eq!(read_only, "true [ALL] 65532");

    // Data survives a restart.
    docker_ok(&["restart", "--time", "10", &deployed.name]);
    wait_ready(&client, &base, &deployed.name).await;
    let token = sign_in(&client, &base).await;
    let listed: Value = client
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert!(
        listed.to_string().contains("Survives restarts"),
        "the project is gone after a restart: {listed}"
    );
    let logs = docker(&["logs", &deployed.name]);
    let said = String::from_utf8_lossy(&logs.stderr);
    assert!(
        said.contains("SIGTERM received"),
        "docker stop reached uHub as SIGTERM"
    );
}

async fn wait_ready(client: &reqwest::Client, base: &str, name: &str) {
    for _ in 0..300 {
        if let Ok(answer) = client.get(format!("{base}/readyz")).send().await {
            if answer.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = docker(&["logs", name]);
    panic!(
        "the container never became ready:\n{}",
        String::from_utf8_lossy(&logs.stderr)
    );
}

async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "demo-admin"),
            ("password", "demo-admin"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
