//! The guardrail matrix of launching runs, walked through `POST /jobs/{id}/runs`: every role ×
//! environment × backend × kind of job. Printed as a table in the test output, and
//! checked against SPEC.md's rules: production needs an isolated backend and an approval; dev runs
//! dev jobs outside production only; ops runs ops jobs, through docker in staging and production;
//! projets approve rather than launch. A second table walks who asked for what: naming another
//! environment at launch, giving a job to someone else, whom an automatic start runs as, and who
//! may approve (never the requester or the last changer; projets only on their own projects).

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

/// The columns of the second table: the project's owner is one projets user, not the other.
const ASKERS: [&str; 5] = ["admin", "projets (owner)", "projets (other)", "dev", "ops"];

/// What SPEC.md and docs/rbac-and-workflows.md say, row by row, for [`ASKERS`].
const WHO_ASKED: [(&str, [&str; 5]); 5] = [
    (
        "launch environment override",
        ["invalid", "invalid", "invalid", "invalid", "invalid"],
    ),
    (
        "owner_id of someone else",
        [
            "planned",
            "planned",
            "projets_own_projects",
            "owner_assigned_by_project_owner",
            "owner_assigned_by_project_owner",
        ],
    ),
    (
        "auto_start launches as",
        [
            "as demo-admin",
            "runs_launched_by_dev_ops",
            "projets_own_projects",
            "as demo-dev",
            "as demo-ops",
        ],
    ),
    (
        "approval by requester",
        [
            "approver_is_not_requester",
            "approver_is_not_requester",
            "-",
            "-",
            "approval_by_projets_or_admin",
        ],
    ),
    (
        "approval by a non-owner projets",
        [
            "queued",
            "queued",
            "approval_by_project_owner",
            "approval_by_projets_or_admin",
            "approval_by_projets_or_admin",
        ],
    ),
];

/// What a call gave: the created or changed object's status, or the refusal's code.
fn outcome(status: StatusCode, answer: &Value) -> String {
    match status {
        StatusCode::CREATED | StatusCode::OK => {
            answer["status"].as_str().unwrap_or("ok").to_owned()
        }
        _ => answer["code"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| status.to_string()),
    }
}

async fn who_asked(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let admin = app.token("demo-admin").await;
    let owner_id = |name: &'static str| {
        let storage = app.storage.storage.clone();
        async move {
            storage
                .user_by_username(name)
                .await
                .ok()
                .flatten()
                .map(|u| u.id)
                .unwrap_or_default()
        }
    };
    let (projets_id, dev_id, admin_id) = (
        owner_id("demo-projets").await,
        owner_id("demo-dev").await,
        owner_id("demo-admin").await,
    );
    // A second projets user, owning nothing here.
    let (status, created) = app.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({
        "username": "projets-two", "display_name": "Other PM", "role": "projets", "password": "temporary-pass-1",
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, _, login) = app.login("projets-two", "temporary-pass-1").await;
    let pending = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, changed) = app.call(Method::POST, "/api/v1/auth/password", Some(&pending),
        Some(json!({"current_password": "temporary-pass-1", "new_password": "another pm's passphrase"}))).await;
    let other = changed["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let tokens = [
        admin.clone(),
        app.token("demo-projets").await,
        other,
        app.token("demo-dev").await,
        app.token("demo-ops").await,
    ];
    let (_, project) = app.call(Method::POST, "/api/v1/projects", Some(&admin), Some(json!({
        "name": "Who asked", "environments": ["dev", "staging", "prod"], "execution_backend": "docker", "owner_id": projets_id,
    }))).await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    let jobs = format!("/api/v1/projects/{project_id}/jobs");
    let container =
        json!({"kind": "container", "image": "uhub-test/busybox:1", "command": ["true"]});
    let job_of = |job_type: &str, environment: &str| {
        json!({
            "title": "Asked", "job_type": job_type, "environment": environment,
            "planned_start": "2031-01-01T09:00:00Z", "action": container,
        })
    };
    let create = |token: &str, body: Value| {
        let (app, uri, token) = (&app, jobs.clone(), token.to_owned());
        async move { app.call(Method::POST, &uri, Some(&token), Some(body)).await }
    };
    let launch = |token: &str, job_id: i64, body: Value| {
        let (app, token) = (&app, token.to_owned());
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/jobs/{job_id}/runs"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let own_type = |column: usize| if column == 3 { "dev" } else { "ops" };
    let mut rows: Vec<[String; 5]> = Vec::new();

    // Launch environment override: a production job launched "in dev".
    let (_, prod_job) = create(&admin, job_of("ops", "prod")).await;
    let prod_job = prod_job["id"].as_i64().unwrap_or_default();
    let mut row = Vec::new();
    for token in &tokens {
        let (status, answer) = launch(token, prod_job, json!({"environment": "dev"})).await;
        row.push(outcome(status, &answer));
    }
    rows.push(row.try_into().unwrap_or_default());

    // owner_id of someone else.
    let mut row = Vec::new();
    for (column, token) in tokens.iter().enumerate() {
        let mut body = job_of(own_type(column), "dev");
        body["owner_id"] = json!(if column == 0 { dev_id } else { admin_id });
        let (status, answer) = create(token, body).await;
        row.push(outcome(status, &answer));
    }
    rows.push(row.try_into().unwrap_or_default());

    // Whom an automatic start runs as: the one who turned it on.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let mut row = Vec::new();
    for (column, token) in tokens.iter().enumerate() {
        let mut body = job_of(own_type(column), "dev");
        body["auto_start"] = json!(true);
        body["planned_start"] = json!(past);
        let (status, job) = create(token, body).await;
        if status != StatusCode::CREATED {
            row.push(outcome(status, &job));
            continue;
        }
        let job_id = job["id"].as_i64().unwrap_or_default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let started = loop {
            let (_, runs) = app
                .call(
                    Method::GET,
                    &format!("/api/v1/jobs/{job_id}/runs"),
                    Some(&admin),
                    None,
                )
                .await;
            if let Some(run) = runs["items"].as_array().and_then(|r| r.first()) {
                break format!("as {}", run["launched_by_username"].as_str().unwrap_or("?"));
            }
            let (_, audit) = app
                .call(
                    Method::GET,
                    &format!("/api/v1/audit?action=run.auto_start&target_id={job_id}"),
                    Some(&admin),
                    None,
                )
                .await;
            let refusal = crate::common::refusal_row(&audit);
            if let Some(reason) = refusal.and_then(|row| row["detail"]["reason"].as_str()) {
                break reason
                    .rsplit('(')
                    .next()
                    .unwrap_or(reason)
                    .trim_end_matches(')')
                    .to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {job_id} neither started nor was refused"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        row.push(started);
    }
    rows.push(row.try_into().unwrap_or_default());

    // Approval by whoever asked: admin approving their own launch, the owner approving a run of
    // the job whose action they set (ops launched it), ops approving their own launch.
    let (_, admins_job) = create(&admin, job_of("ops", "prod")).await;
    let (_, admins_run) = launch(
        &admin,
        admins_job["id"].as_i64().unwrap_or_default(),
        json!({}),
    )
    .await;
    let (_, owners_job) = create(&tokens[1], job_of("ops", "prod")).await;
    let (_, ops_run) = launch(
        &tokens[4],
        owners_job["id"].as_i64().unwrap_or_default(),
        json!({}),
    )
    .await;
    let approve = |token: &str, run: &Value| {
        let (app, token, run_id) = (
            &app,
            token.to_owned(),
            run["id"].as_i64().unwrap_or_default(),
        );
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/runs/{run_id}/approve"),
                Some(&token),
                Some(json!({})),
            )
            .await
        }
    };
    let mut row = vec![String::new(); 5];
    let (status, answer) = approve(&tokens[0], &admins_run).await;
    row[0] = outcome(status, &answer);
    let (status, answer) = approve(&tokens[1], &ops_run).await;
    row[1] = outcome(status, &answer);
    row[2] = "-".to_owned();
    row[3] = "-".to_owned();
    let (status, answer) = approve(&tokens[4], &ops_run).await;
    row[4] = outcome(status, &answer);
    rows.push(row.try_into().unwrap_or_default());

    // Approval of a run ops launched on their own job, one run per approver.
    let (_, ops_job) = create(&tokens[4], job_of("ops", "prod")).await;
    let ops_job = ops_job["id"].as_i64().unwrap_or_default();
    let mut row = Vec::new();
    for token in &tokens {
        let (_, run) = launch(&tokens[4], ops_job, json!({})).await;
        assert_eq!(run["status"], "awaiting_approval", "{run}");
        let (status, answer) = approve(token, &run).await;
        row.push(outcome(status, &answer));
    }
    rows.push(row.try_into().unwrap_or_default());

    let mut table = format!(
        "\nWho asked for what, through the API ({engine:?})\n{:<34}",
        ""
    );
    for asker in ASKERS {
        table.push_str(&format!("{asker:>34}"));
    }
    table.push('\n');
    let mut wrong = Vec::new();
    for ((label, want), got) in WHO_ASKED.iter().zip(&rows) {
        table.push_str(&format!("{label:<34}"));
        for (column, cell) in got.iter().enumerate() {
            table.push_str(&format!("{cell:>34}"));
            if cell != want[column] {
                wrong.push(format!(
                    "{label} / {}: got {cell}, the rules say {}",
                    ASKERS[column], want[column]
                ));
            }
        }
        table.push('\n');
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout(), format!("{table}\n").as_bytes());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_asked_follows_the_rules_on_sqlite() {
    who_asked(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_asked_follows_the_rules_on_postgres() {
    who_asked(TestEngine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launch_guardrails_follow_the_spec_on_sqlite() {
    matrix(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launch_guardrails_follow_the_spec_on_postgres() {
    matrix(TestEngine::Postgres).await;
}
