//! The docker backend against the real Docker engine the test command starts (no registry: the
//! image `uhub-test/busybox:1` is built locally). Hardening, limits, exit codes, masked secrets,
//! cancel, timeout, removal, and the production path through approval — on both databases.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::{expect, settled, TestApp};
use serde_json::json;
use services::testing::TestEngine;

const IMAGE: &str = "uhub-test/busybox:1";
const TOKEN: &str = "container-s3cr3t-value";

fn docker_host() -> String {
    std::env::var("UHUB_TEST_DOCKER_HOST").unwrap_or_else(|_| {
        panic!("UHUB_TEST_DOCKER_HOST is not set: these tests need a Docker engine; scripts/test.sh starts one and builds {IMAGE}")
    })
}

async fn log_of(app: &TestApp, token: &str, run_id: i64) -> String {
    let (status, _, body) = app
        .send(
            axum::http::Request::get(format!("/api/v1/runs/{run_id}/logs"))
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    String::from_utf8_lossy(&body).into_owned()
}

/// The containers of one run of this test's engine (other tests run their own, with the same ids).
fn containers_of(app: &TestApp, run_id: i64) -> String {
    let output = Command::new("docker")
        .env("DOCKER_HOST", docker_host())
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=uhub.run={run_id}"),
            "--filter",
            &format!("label=uhub.worker={}", app.executor.worker()),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

async fn story(engine: TestEngine) {
    docker_host();
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = expect(&app, Method::POST, "/api/v1/projects", &pm, Some(json!({
        "name": "Containers", "environments": ["dev", "staging", "prod"], "execution_backend": "docker",
        "execution_backend_config": {"memory_mb": 64, "pids_limit": 32, "cpus": 0.5, "timeout_seconds": 3},
    })), StatusCode::CREATED).await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/TOKEN"),
        &pm,
        Some(json!({"value": TOKEN})),
        StatusCode::OK,
    )
    .await;
    let job = |command: &'static str, environment: &'static str| {
        let app = &app;
        let ops = &ops;
        async move {
            let job = expect(app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), ops, Some(json!({
                "title": "Container job", "job_type": "ops", "environment": environment, "planned_start": "2031-01-01T09:00:00Z",
                "action": {"kind": "container", "image": IMAGE, "command": ["sh", "-c", command]},
            })), StatusCode::CREATED).await;
            job["id"].as_i64().unwrap_or_default()
        }
    };

    // Hardened by default: user 65534, read-only root, no capabilities, no network; the exit
    // code is kept and the secret masked.
    let probe = job(
        "id -u; echo token=$TOKEN; touch /etc/x 2>/dev/null || echo read-only-root; \
         grep CapEff /proc/self/status; ip -o link | grep -v ' lo:' | grep -c . || true; \
         cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; exit 7",
        "staging",
    )
    .await;
    let run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/jobs/{probe}/runs"),
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (run["status"].as_str(), run["backend"].as_str()),
        (Some("queued"), Some("docker"))
    );
    let run_id = run["id"].as_i64().unwrap_or_default();
    let done = settled(&app, &ops, run_id).await;
    assert_eq!(
        (done["status"].as_str(), done["exit_code"].as_i64()),
        (Some("failed"), Some(7)),
        "{done}"
    );
    let log = log_of(&app, &ops, run_id).await;
    for expected in [
        "65534",
        "token=*****",
        "read-only-root",
        "CapEff:\t0000000000000000",
        "\n0\n",
        "32",
    ] {
        assert!(log.contains(expected), "`{expected}` in the log:\n{log}");
    }
    assert!(!log.contains(TOKEN), "{log}");
    assert_eq!(containers_of(&app, run_id), "", "the container is removed");

    // Success.
    let hello = job("echo hello from a container", "staging").await;
    let run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/jobs/{hello}/runs"),
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let done = settled(&app, &ops, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(done["status"], "success", "{done}");

    // Cancel stops the container and removes it.
    let long = job("echo waiting; sleep 60", "staging").await;
    let run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/jobs/{long}/runs"),
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let run_id = run["id"].as_i64().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log_of(&app, &ops, run_id).await.contains("waiting") {
        assert!(Instant::now() < deadline, "the container did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/cancel"),
        &ops,
        None,
        StatusCode::ACCEPTED,
    )
    .await;
    let done = settled(&app, &ops, run_id).await;
    assert_eq!(done["status"], "canceled", "{done}");
    assert_eq!(containers_of(&app, run_id), "");

    // The project's timeout (3 s).
    let slow = job("sleep 60", "staging").await;
    let run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/jobs/{slow}/runs"),
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let done = settled(&app, &ops, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(done["status"], "timed_out", "{done}");

    // An image the engine does not have: uHub pulls nothing.
    let missing = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &ops, Some(json!({
        "title": "Missing image", "job_type": "ops", "environment": "staging", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "container", "image": "uhub-test/not-built:0"},
    })), StatusCode::CREATED).await;
    let run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/jobs/{}/runs", missing["id"]),
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let done = settled(&app, &ops, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["reason"]
            .as_str()
            .is_some_and(|r| r.contains("pulls nothing")),
        "{done}"
    );

    // Production: the run waits for approval by projets, then runs.
    let deploy = job("echo deployed to production", "prod").await;
    let run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/jobs/{deploy}/runs"),
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(run["status"], "awaiting_approval", "{run}");
    let run_id = run["id"].as_i64().unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let still = expect(
        &app,
        Method::GET,
        &format!("/api/v1/runs/{run_id}"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        still["status"], "awaiting_approval",
        "nothing runs before the approval"
    );
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/approve"),
        &ops,
        Some(json!({})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/approve"),
        &pm,
        Some(json!({"comment": "after the freeze"})),
        StatusCode::OK,
    )
    .await;
    let done = settled(&app, &ops, run_id).await;
    assert_eq!(done["status"], "success", "{done}");
    assert!(log_of(&app, &ops, run_id)
        .await
        .contains("deployed to production"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_runs_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_runs_on_postgres() {
    story(TestEngine::Postgres).await;
}
