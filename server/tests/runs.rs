//! Runs through the REST API on SQLite and PostgreSQL, executed for real by the `local` backend:
//! scripts with arguments, exit codes, secrets masked in stored and streamed logs, timeouts,
//! cancel (the whole process group stops), guardrails, approvals, and the settling of runs left
//! behind by a stopped uHub process.

use crate::common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{expect, launch, log_text, script, settled, TestApp};
use domain::{ExecutionBackend, RunStatus};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use services::storage::Actor;
use services::testing::TestEngine;

const SECRET_VALUE: &str = "s3cr3t-deploy-token-42";

/// The live log as Server-Sent Events, read to its `end` event.
async fn live_log(app: &TestApp, token: &str, run_id: i64, last_event_id: Option<i64>) -> String {
    let mut request = Request::get(format!("/api/v1/runs/{run_id}/logs"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::ACCEPT, "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let response = tower::ServiceExt::oneshot(
        app.router.clone(),
        request.body(Body::empty()).expect("request"),
    )
    .await
    .expect("response");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let body = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
        .await
        .expect("the stream ends with the run")
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

async fn setup(app: &TestApp) -> (i64, String, String, String) {
    let pm = app.token("demo-projets").await;
    let project = expect(app, Method::POST, "/api/v1/projects", &pm, Some(json!({
        "name": "Runs", "environments": ["dev", "staging", "prod"], "execution_backend": "local",
    })), StatusCode::CREATED).await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    let stored = expect(
        app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/DEPLOY_TOKEN"),
        &pm,
        Some(json!({"value": SECRET_VALUE})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["name"], "DEPLOY_TOKEN");
    assert!(
        !stored.to_string().contains(SECRET_VALUE),
        "never echoed: {stored}"
    );
    (
        project_id,
        pm,
        app.token("demo-dev").await,
        app.token("demo-ops").await,
    )
}

async fn job(
    app: &TestApp,
    token: &str,
    project_id: i64,
    job_type: &str,
    environment: &str,
    action: Value,
) -> i64 {
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        token,
        Some(json!({
            "title": format!("{job_type} job"), "job_type": job_type, "environment": environment,
            "planned_start": "2031-01-01T09:00:00Z", "action": action,
        })),
        StatusCode::CREATED,
    )
    .await;
    job["id"].as_i64().unwrap_or_default()
}

async fn story(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let (project_id, pm, dev, ops) = setup(&app).await;
    script(
        &app,
        "hello.sh",
        r#"echo "hello $1 from $UHUB_ENVIRONMENT"; echo "token=$DEPLOY_TOKEN"; echo "to stderr" >&2; [ -z "$UHUB_DATABASE_URL" ] && echo "scrubbed"; exit "${2:-0}""#,
    );

    // A dev job in dev, launched by dev: queued, run, success; the secret is injected and masked.
    let hello = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "hello.sh", "args": ["world", "0"]}),
    )
    .await;
    let run = launch(&app, &dev, hello, json!({}), StatusCode::CREATED).await;
    assert_eq!(run["status"], "queued");
    assert_eq!(run["backend"], "local", "the project's backend");
    let run_id = run["id"].as_i64().unwrap_or_default();
    let done = settled(&app, &dev, run_id).await;
    assert_eq!(
        (done["status"].as_str(), done["exit_code"].as_i64()),
        (Some("success"), Some(0)),
        "{done}"
    );
    assert!(done["started_at"].is_string() && done["finished_at"].is_string());
    let text = log_text(&app, &dev, run_id).await;
    assert!(text.contains("hello world from dev"), "{text}");
    assert!(
        text.contains("to stderr") && text.contains("scrubbed"),
        "{text}"
    );
    assert!(
        text.contains("token=*****"),
        "masked in the stored log: {text}"
    );
    assert!(!text.contains(SECRET_VALUE), "{text}");
    let live = live_log(&app, &dev, run_id, None).await;
    assert!(
        live.contains("token=*****") && !live.contains(SECRET_VALUE),
        "masked in the stream: {live}"
    );
    assert!(live.contains("event: end\ndata: success"), "{live}");
    // Resuming after line 2 sends only what follows.
    let resumed = live_log(&app, &dev, run_id, Some(2)).await;
    assert!(
        !resumed.contains("id: 2\n") && resumed.contains("id: 3\n"),
        "{resumed}"
    );

    // A failing script: failed, with its exit code.
    let failing = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "hello.sh", "args": ["x", "3"]}),
    )
    .await;
    let run = launch(&app, &dev, failing, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &dev, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(
        (done["status"].as_str(), done["exit_code"].as_i64()),
        (Some("failed"), Some(3)),
        "{done}"
    );

    // Cancel stops the whole process group, including what the script started in the background.
    let pid_file = app.scripts.path().join("child.pid");
    script(
        &app,
        "long.sh",
        &format!(
            "sleep 60 & echo $! > {}; echo started; wait",
            pid_file.display()
        ),
    );
    let long = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "long.sh"}),
    )
    .await;
    let run = launch(&app, &dev, long, json!({}), StatusCode::CREATED).await;
    let run_id = run["id"].as_i64().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log_text(&app, &dev, run_id).await.contains("started") {
        assert!(Instant::now() < deadline, "the long script did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let child: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .expect("child pid");
    let stopping = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/cancel"),
        &dev,
        None,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(stopping["status"], "running");
    let done = settled(&app, &dev, run_id).await;
    assert_eq!(done["status"], "canceled", "{done}");
    assert!(
        done["reason"]
            .as_str()
            .is_some_and(|r| r.contains("demo-dev")),
        "{done}"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{child}")).exists() || process_is_zombie(child),
        "the background child was stopped too"
    );
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/cancel"),
        &dev,
        None,
        StatusCode::CONFLICT,
    )
    .await;

    // A timeout from the project's configuration.
    let version = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await["version"]
        .clone();
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{project_id}"),
        &pm,
        Some(json!({"version": version, "execution_backend_config": {"timeout_seconds": 1}})),
        StatusCode::OK,
    )
    .await;
    script(&app, "slow.sh", "echo slow; sleep 30");
    let slow = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "slow.sh"}),
    )
    .await;
    let run = launch(&app, &dev, slow, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &dev, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(done["status"], "timed_out", "{done}");

    // A script path that does not exist fails with the reason in the log.
    let missing = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "nowhere.sh"}),
    )
    .await;
    let run = launch(&app, &dev, missing, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &dev, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not found")),
        "{done}"
    );

    // Guardrails at launch. A run runs in its job's environment: naming another is refused
    // before any rule is weighed (the rules weigh the job's environment).
    let refused = launch(
        &app,
        &dev,
        hello,
        json!({"environment": "prod"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["environment"].is_string(), "{refused}");
    launch(
        &app,
        &dev,
        hello,
        json!({"environment": "dev"}),
        StatusCode::CREATED,
    )
    .await;
    let ops_job = job(
        &app,
        &ops,
        project_id,
        "ops",
        "staging",
        json!({"kind": "script", "path": "hello.sh"}),
    )
    .await;
    let refused = launch(&app, &ops, ops_job, json!({}), StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "ops_isolated_backends");
    let refused = launch(&app, &pm, hello, json!({}), StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "runs_launched_by_dev_ops");
    for backend in ["ssh", "k8s", "serverless"] {
        let refused = launch(
            &app,
            &dev,
            hello,
            json!({"backend": backend}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            refused["code"], "backend_unavailable",
            "{backend}: {refused}"
        );
    }
    let no_action = job(&app, &dev, project_id, "dev", "dev", Value::Null).await;
    let refused = launch(
        &app,
        &dev,
        no_action,
        json!({}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["action"].is_string(), "{refused}");
    launch(&app, &dev, 999_999, json!({}), StatusCode::NOT_FOUND).await;
    launch(
        &app,
        &dev,
        hello,
        json!({"environment": "moon"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Automatic start: at its planned start the job is launched as whoever turned its automatic
    // start on (never merely as its owner), same guardrails.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let auto = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &dev, Some(json!({
        "title": "Nightly", "job_type": "dev", "environment": "dev", "planned_start": past, "auto_start": true,
        "action": {"kind": "script", "path": "hello.sh", "args": ["auto", "0"]},
    })), StatusCode::CREATED).await;
    assert_eq!(auto["auto_start"], true);
    let auto_id = auto["id"].as_i64().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let auto_run = loop {
        let runs = expect(
            &app,
            Method::GET,
            &format!("/api/v1/jobs/{auto_id}/runs"),
            &dev,
            None,
            StatusCode::OK,
        )
        .await;
        if let Some(run) = runs["items"].as_array().and_then(|r| r.first()).cloned() {
            break run;
        }
        assert!(Instant::now() < deadline, "the automatic job did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(auto_run["launched_by_username"], "demo-dev", "{auto_run}");
    let done = settled(&app, &dev, auto_run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(done["status"], "success", "{done}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let runs = expect(
        &app,
        Method::GET,
        &format!("/api/v1/jobs/{auto_id}/runs"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        runs["items"].as_array().map(Vec::len),
        Some(1),
        "it starts once"
    );
    // A job given to dev by the projects' owner, automatic: it would start as the projets user
    // who turned that on, who launches nothing; it does not start, and the audit says why.
    let refused_auto = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &pm, Some(json!({
        "title": "Not allowed", "job_type": "dev", "environment": "prod", "planned_start": past, "auto_start": true,
        "owner_id": app.storage.storage.user_by_username("demo-dev").await.ok().flatten().map(|u| u.id),
        "action": {"kind": "script", "path": "hello.sh"},
    })), StatusCode::CREATED).await;
    let refused_id = refused_auto["id"].as_i64().unwrap_or_default();
    let admin = app.token("demo-admin").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let audit = expect(
            &app,
            Method::GET,
            &format!("/api/v1/audit?action=run.auto_start&target_id={refused_id}"),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
        if let Some(row) = crate::common::refusal_row(&audit) {
            assert!(
                row["detail"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("runs_launched_by_dev_ops")),
                "{row}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refused automatic start was not audited"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs = expect(
        &app,
        Method::GET,
        &format!("/api/v1/jobs/{refused_id}/runs"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(0));

    // Approvals: a production run waits; the launcher cannot approve it; projets can.
    let storage = &app.storage.storage;
    let ops_user = storage
        .user_by_username("demo-ops")
        .await
        .ok()
        .flatten()
        .map(|u| u.id);
    let waiting = storage
        .create_run(
            &common::recorded_run(
                ops_job,
                Some("prod"),
                ExecutionBackend::Docker,
                RunStatus::AwaitingApproval,
                ops_user,
            ),
            &Actor::system(),
        )
        .await
        .expect("run");
    let refused = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/approve", waiting.id),
        &ops,
        Some(json!({})),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["code"], "approval_by_projets_or_admin");
    let approved = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/approve", waiting.id),
        &pm,
        Some(json!({"comment": "go"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            approved["status"].as_str(),
            approved["approval_comment"].as_str()
        ),
        (Some("queued"), Some("go"))
    );
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/approve", waiting.id),
        &pm,
        Some(json!({})),
        StatusCode::CONFLICT,
    )
    .await;
    let rejected_run = storage
        .create_run(
            &common::recorded_run(
                ops_job,
                Some("prod"),
                ExecutionBackend::Docker,
                RunStatus::AwaitingApproval,
                ops_user,
            ),
            &Actor::system(),
        )
        .await
        .expect("run");
    let rejected = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/reject", rejected_run.id),
        &pm,
        Some(json!({"comment": "not during the sale"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "canceled");

    // Secrets: names only; write-only; validated.
    let listed = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}/secrets"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"][0]["name"], "DEPLOY_TOKEN");
    assert!(!listed.to_string().contains(SECRET_VALUE));
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/NEW"),
        &dev,
        Some(json!({"value": "xyz"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    for name in ["1BAD", "has-dash", "UHUB_X", "PATH"] {
        expect(
            &app,
            Method::PUT,
            &format!("/api/v1/projects/{project_id}/secrets/{name}"),
            &pm,
            Some(json!({"value": "xyz"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/EMPTY"),
        &pm,
        Some(json!({"value": ""})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect(
        &app,
        Method::DELETE,
        &format!("/api/v1/projects/{project_id}/secrets/DEPLOY_TOKEN"),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect(
        &app,
        Method::DELETE,
        &format!("/api/v1/projects/{project_id}/secrets/DEPLOY_TOKEN"),
        &pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Every launch, approval, rejection and cancel is audited; no secret value reaches the log.
    let admin = app.token("demo-admin").await;
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=500",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str())
        .collect();
    for action in [
        "run.create",
        "run.finish",
        "run.cancel",
        "run.approve",
        "run.reject",
        "secret.put",
        "secret.delete",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert!(!audit.to_string().contains(SECRET_VALUE));
}

fn process_is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.split_whitespace().nth(2) == Some("Z"))
        .unwrap_or(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_postgres() {
    story(TestEngine::Postgres).await;
}

/// Each change of a run made by this process (its log, its end) is announced once committed, so
/// a live reader looks at once instead of at its next poll: a reader that hears the run's last
/// announcement finds its end stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_changes_are_announced_once_stored() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (project_id, _, dev, _) = setup(&app).await;
    // The pause keeps the log's announcement apart from the end's: read at once, the log's finds
    // the run still running.
    script(&app, "announce.sh", "echo one; echo two; sleep 1");
    let job_id = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "announce.sh"}),
    )
    .await;
    let mut changes = app.storage.storage.run_changes();
    let run = launch(&app, &dev, job_id, json!({}), StatusCode::CREATED).await;
    let run_id = run["id"].as_i64().unwrap_or_default();
    let (mut heard, mut seen) = (0, Vec::new());
    let status = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match changes.next().await {
                Some(id) if id == run_id => {
                    heard += 1;
                    let run = app.storage.storage.run(run_id).await.expect("run");
                    seen.push(run.status);
                    if run.status.is_final() {
                        return run.status;
                    }
                }
                Some(_) => {}
                None => panic!("announcements were missed"),
            }
        }
    })
    .await
    .expect("the run's end is announced (no announcement within a minute)");
    assert_eq!(status, RunStatus::Success, "{seen:?}");
    // A reader slowed down (a busy machine) may read the end at the log's announcement; the end's
    // own announcement is then still to come, or waiting: count those too.
    while let Ok(Some(id)) = tokio::time::timeout(Duration::from_secs(2), changes.next()).await {
        if id == run_id {
            heard += 1;
        }
    }
    assert!(heard >= 2, "its log, then its end: {seen:?}, {heard} heard");
    let text = log_text(&app, &dev, run_id).await;
    assert!(text.contains("one") && text.contains("two"), "{text}");
}

/// A live log stops for a reader whose session ends while it reads: an account deactivated (or
/// whose password or role changes), as the calendar's stream does, or the session's token
/// logged out. The stream used to be authorised once, when it opened, and followed the run to
/// its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_log_stops_once_its_session_ends() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (project_id, _, dev, ops) = setup(&app).await;
    let admin = app.token("demo-admin").await;
    script(&app, "long.sh", "echo started; sleep 60; echo never");
    let job_id = job(
        &app,
        &dev,
        project_id,
        "dev",
        "dev",
        json!({"kind": "script", "path": "long.sh"}),
    )
    .await;
    let run = launch(&app, &dev, job_id, json!({}), StatusCode::CREATED).await;
    let run_id = run["id"].as_i64().unwrap_or_default();
    let follow = |token: String| {
        let router = app.router.clone();
        async move {
            let request = Request::get(format!("/api/v1/runs/{run_id}/logs"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::ACCEPT, "text/event-stream")
                .body(Body::empty())
                .expect("request");
            let response = tower::ServiceExt::oneshot(router, request)
                .await
                .expect("response");
            assert_eq!(response.status(), StatusCode::OK);
            response.into_body()
        }
    };
    let logged_out = app.token("demo-dev").await;
    let (by_logout, by_deactivation) = (follow(logged_out.clone()).await, follow(ops).await);
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&logged_out), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ops_id = app
        .storage
        .storage
        .user_by_username("demo-ops")
        .await
        .expect("read")
        .expect("demo-ops")
        .id;
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{ops_id}"),
        &admin,
        Some(json!({"is_active": false})),
        StatusCode::OK,
    )
    .await;
    // The run sleeps a minute: a stream that follows it to its end is still open after 15 s.
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        (
            by_logout.collect().await.is_ok(),
            by_deactivation.collect().await.is_ok(),
        )
    })
    .await;
    let still = app.storage.storage.run(run_id).await.expect("run").status;
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/cancel"),
        &dev,
        None,
        StatusCode::ACCEPTED,
    )
    .await;
    assert!(
        ended.is_ok(),
        "the live log went on for a logged-out session or a deactivated account (the run is \
         {still})"
    );
    assert_eq!(still, RunStatus::Running, "the run was still running");
}

/// An automatic start that cannot run in this version (its project's backend is one uHub does
/// not have) is refused at once, saying why: asking again would not change the answer. It used
/// to be tried eight times over ten minutes, like a repository out of reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_start_on_a_backend_this_version_lacks_is_refused_at_once() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let admin = app.token("demo-admin").await;
    let project = common::dev_project_on(&app, &pm, "Over SSH", "ssh").await;
    script(&app, "nightly.sh", "echo nightly");
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let job = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{}/jobs", project["id"]),
        &dev,
        Some(json!({
            "title": "Nightly", "job_type": "dev", "environment": "dev", "planned_start": past,
            "auto_start": true, "action": {"kind": "script", "path": "nightly.sh"},
        })),
        StatusCode::CREATED,
    )
    .await;
    let audit_uri = format!(
        "/api/v1/audit?action=run.auto_start&target_id={}",
        job["id"]
    );
    let audit = common::within_20_s(
        "the automatic start was not refused within 20 s",
        || async {
            let audit = expect(&app, Method::GET, &audit_uri, &admin, None, StatusCode::OK).await;
            common::refusal_row(&audit).is_some().then_some(audit)
        },
    )
    .await;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "refused at its first try: {audit}");
    assert!(
        rows[0]["detail"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("backend_unavailable")),
        "{audit}"
    );
}
