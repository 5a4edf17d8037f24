//! The guardrail matrix of launching runs, walked through `POST /jobs/{id}/runs`: every role ×
//! environment × backend × kind of job. Printed as a table in the test output, and
//! checked against SPEC.md's rules: production needs an isolated backend and an approval; dev runs
//! dev jobs outside production only; ops runs ops jobs, through docker in staging and production;
//! projets approve rather than launch.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::{json, Value};
use services::testing::TestEngine;

const ROLES: [&str; 4] = ["admin", "projets", "dev", "ops"];
const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];
const BACKENDS: [&str; 2] = ["local", "docker"];
const JOB_TYPES: [&str; 2] = ["dev", "ops"];

/// What SPEC.md says, written independently of the policy code.
fn expected(role: &str, environment: &str, backend: &str, job_type: &str) -> &'static str {
    let production = environment == "prod";
    let isolated = backend == "docker";
    match role {
        "projets" => return "runs_launched_by_dev_ops",
        "dev" if job_type != "dev" || production => return "dev_runs_non_production",
        "ops" if job_type == "dev" => return "ops_runs_ops_jobs",
        "ops" if environment != "dev" && !isolated => return "ops_isolated_backends",
        _ => {}
    }
    match (production, isolated) {
        (true, false) => "production_backend",
        (true, true) => "awaiting_approval",
        (false, _) => "queued",
    }
}

async fn matrix(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let script = app.scripts.path().join("true.sh");
    std::fs::write(&script, "#!/bin/sh\ntrue\n").expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let admin = app.token("demo-admin").await;
    let (_, project) = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&admin),
            Some(json!({"name": "Guardrails", "environments": ["dev", "staging", "prod"]})),
        )
        .await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push(app.token(&format!("demo-{role}")).await);
    }
    let mut table = format!(
        "\nLaunch guardrails through the API ({engine:?})\n{:<28}",
        "job / environment / backend"
    );
    for role in ROLES {
        table.push_str(&format!("{role:>26}"));
    }
    table.push('\n');
    let mut wrong = Vec::new();
    for job_type in JOB_TYPES {
        for environment in ENVIRONMENTS {
            for backend in BACKENDS {
                let action = if backend == "local" {
                    json!({"kind": "script", "path": "true.sh"})
                } else {
                    json!({"kind": "container", "image": "uhub-test/busybox:1", "command": ["true"]})
                };
                let (status, job) = app
                    .call(
                        Method::POST,
                        &format!("/api/v1/projects/{project_id}/jobs"),
                        Some(&admin),
                        Some(json!({
                            "title": "Guarded", "job_type": job_type, "environment": environment,
                            "planned_start": "2031-01-01T09:00:00Z", "action": action,
                        })),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{job}");
                let job_id = job["id"].as_i64().unwrap_or_default();
                table.push_str(&format!(
                    "{:<28}",
                    format!("{job_type} / {environment} / {backend}")
                ));
                for (role, token) in ROLES.iter().zip(&tokens) {
                    let (status, answer): (StatusCode, Value) = app
                        .call(
                            Method::POST,
                            &format!("/api/v1/jobs/{job_id}/runs"),
                            Some(token),
                            Some(json!({"backend": backend})),
                        )
                        .await;
                    let got = match status {
                        StatusCode::CREATED => answer["status"].as_str().unwrap_or("?").to_owned(),
                        StatusCode::FORBIDDEN => answer["code"].as_str().unwrap_or("?").to_owned(),
                        other => format!("{other}"),
                    };
                    let want = expected(role, environment, backend, job_type);
                    if got != want {
                        wrong.push(format!("{role} {job_type}/{environment}/{backend}: got {got}, SPEC says {want}"));
                    }
                    table.push_str(&format!("{got:>26}"));
                }
                table.push('\n');
            }
        }
    }
    // Straight to the process output, past the test harness capture: the matrix is always shown.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), format!("{table}\n").as_bytes());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launch_guardrails_follow_the_spec_on_sqlite() {
    matrix(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launch_guardrails_follow_the_spec_on_postgres() {
    matrix(TestEngine::Postgres).await;
}
