//! The webhook backend against a local HTTP receiver: the signed trigger, the signed callbacks
//! that report lines and the end (secrets masked), refused forgeries, replays and stale
//! callbacks, and the GitHub Actions and GitLab presets' request shapes — on both databases.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::routing::post;
use common::{expect, settled, TestApp};
use serde_json::{json, Value};
use services::engine::webhook::{sign_callback, verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use services::testing::TestEngine;

const HOOK_KEY: &str = "hook-signing-key-7f3a";

type Received = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

/// A receiver standing in for CI systems and generic targets: it records every request.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let record = |path: &'static str, status: StatusCode| {
        let received = received.clone();
        post(move |headers: HeaderMap, body: Bytes| async move {
            received
                .lock()
                .expect("lock")
                .push((path.to_owned(), headers, body));
            status
        })
    };
    let app = axum::Router::new()
        .route("/hook", record("/hook", StatusCode::ACCEPTED))
        .route("/github", record("/github", StatusCode::NO_CONTENT))
        .route("/gitlab", record("/gitlab", StatusCode::CREATED))
        .route("/refuse", record("/refuse", StatusCode::FORBIDDEN));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

async fn wait_request(received: &Received, path: &str) -> (HeaderMap, Bytes) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((_, headers, body)) = received
            .lock()
            .expect("lock")
            .iter()
            .find(|(p, _, _)| p == path)
        {
            return (headers.clone(), body.clone());
        }
        assert!(Instant::now() < deadline, "no request reached {path}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A callback as a target sends it: signed with the run's callback key over the run id, the
/// time and the body. The status and the answer.
async fn callback_at(
    app: &TestApp,
    run_id: i64,
    body: &str,
    key: &str,
    timestamp: i64,
) -> (StatusCode, Value) {
    let signature = sign_callback(key, run_id, timestamp, body.as_bytes());
    callback_signed(app, run_id, body, &signature, timestamp).await
}

/// A callback sent with `signature` as it is.
async fn callback_signed(
    app: &TestApp,
    run_id: i64,
    body: &str,
    signature: &str,
    timestamp: i64,
) -> (StatusCode, Value) {
    let request = Request::post(format!("/api/v1/runs/{run_id}/callback"))
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(axum::body::Body::from(body.to_owned()))
        .expect("request");
    let (status, _, answer) = app.send(request).await;
    (
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    )
}

async fn callback(app: &TestApp, run_id: i64, body: Value, key: &str) -> StatusCode {
    let now = chrono::Utc::now().timestamp();
    callback_at(app, run_id, &body.to_string(), key, now)
        .await
        .0
}

/// Waits until a triggered run waits for its callback.
async fn wait_for_callback(app: &TestApp, token: &str, run_id: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = expect(
            app,
            Method::GET,
            &format!("/api/v1/runs/{run_id}"),
            token,
            None,
            StatusCode::OK,
        )
        .await;
        if run["callback_deadline"].is_string() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} never waited for its callback: {run}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn running(app: &TestApp, token: &str, job_id: i64) -> i64 {
    let run = expect(
        app,
        Method::POST,
        &format!("/api/v1/jobs/{job_id}/runs"),
        token,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    run["id"].as_i64().unwrap_or_default()
}

async fn project(app: &TestApp, pm: &str, name: &str, config: Value) -> i64 {
    let project = expect(app, Method::POST, "/api/v1/projects", pm, Some(json!({
        "name": name, "environments": ["dev"], "execution_backend": "webhook", "execution_backend_config": config,
    })), StatusCode::CREATED).await;
    let id = project["id"].as_i64().unwrap_or_default();
    expect(
        app,
        Method::PUT,
        &format!("/api/v1/projects/{id}/secrets/HOOK_KEY"),
        pm,
        Some(json!({"value": HOOK_KEY})),
        StatusCode::OK,
    )
    .await;
    id
}

async fn job(app: &TestApp, token: &str, project_id: i64) -> i64 {
    let job = expect(app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), token, Some(json!({
        "title": "Pipeline", "job_type": "dev", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "webhook", "ref": "release/1.2", "inputs": {"version": "1.2.0"}},
    })), StatusCode::CREATED).await;
    job["id"].as_i64().unwrap_or_default()
}

async fn story(engine: TestEngine) {
    let (base, received) = receiver().await;
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;

    // Generic: a signed POST, then signed callbacks with lines and the end.
    let generic = project(
        &app,
        &pm,
        "Hooks",
        json!({"webhook_url": format!("{base}/hook"), "webhook_secret_name": "HOOK_KEY"}),
    )
    .await;
    let run_id = running(&app, &dev, job(&app, &dev, generic).await).await;
    let (headers, body) = wait_request(&received, "/hook").await;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        verify(HOOK_KEY, &body, signature),
        "the trigger is signed with the project's secret"
    );
    let payload: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(payload["run_id"].as_i64(), Some(run_id));
    assert_eq!(payload["ref"], "release/1.2");
    assert_eq!(payload["inputs"]["version"], "1.2.0");
    assert!(
        payload["callback_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/api/v1/runs/{run_id}/callback"))),
        "{payload}"
    );

    // The key the target signs its callbacks with: this run's own, sent with the trigger.
    let key = payload["callback_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(key.len(), 64, "{payload}");
    assert_ne!(key, HOOK_KEY);

    let progress =
        json!({"status": "running", "lines": ["step 1", format!("key={HOOK_KEY}")]}).to_string();
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        callback_at(&app, run_id, &progress, &key, now).await.0,
        StatusCode::NO_CONTENT
    );
    // The same callback again (recorded on the way and replayed): refused, and nothing added.
    let (replayed, replay_answer) = callback_at(&app, run_id, &progress, &key, now).await;
    assert_eq!(replayed, StatusCode::UNAUTHORIZED, "{replay_answer}");
    // The same signature written otherwise (its hex upper-cased, or in part, padded with
    // spaces) is the same signature: refused too.
    let signature = sign_callback(&key, run_id, now, progress.as_bytes());
    let (prefix, hex) = signature.split_at("sha256=".len());
    for respelled in [
        format!("{prefix}{}", hex.to_uppercase()),
        format!("{prefix}{}{}", hex[..32].to_uppercase(), &hex[32..]),
        format!("  {signature} "),
    ] {
        let (status, answer) = callback_signed(&app, run_id, &progress, &respelled, now).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a replay signed {respelled:?}: {answer}"
        );
    }
    // Older than five minutes: refused, even correctly signed.
    let stale = now - 301;
    assert_eq!(
        callback_at(
            &app,
            run_id,
            &json!({"status": "success"}).to_string(),
            &key,
            stale
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // Another run's key, the project's own secret, a made-up key: refused alike; an unknown
    // run answers exactly as a bad signature does.
    let (forged, forged_answer) = callback_at(
        &app,
        run_id,
        &json!({"status": "success"}).to_string(),
        HOOK_KEY,
        now,
    )
    .await;
    assert_eq!(forged, StatusCode::UNAUTHORIZED);
    let (unknown, unknown_answer) = callback_at(&app, 987_654, "{}", &key, now).await;
    assert_eq!(
        (unknown, &unknown_answer),
        (StatusCode::UNAUTHORIZED, &forged_answer),
        "an unknown run and a bad signature look the same"
    );
    assert_eq!(replay_answer, forged_answer);
    let unsigned = app
        .send(
            Request::post(format!("/api/v1/runs/{run_id}/callback"))
                .body(axum::body::Body::from("{\"status\":\"success\"}"))
                .expect("request"),
        )
        .await
        .0;
    assert_eq!(unsigned, StatusCode::UNAUTHORIZED);
    // More lines than one statement stores (500): every one kept, in order.
    let many: Vec<String> = (1..=1201)
        .map(|n| format!("line {n}"))
        .chain(["done".to_owned()])
        .collect();
    assert_eq!(
        callback(
            &app,
            run_id,
            json!({"status": "success", "exit_code": 0, "lines": many}),
            &key
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let done = settled(&app, &dev, run_id).await;
    assert_eq!(
        (done["status"].as_str(), done["exit_code"].as_i64()),
        (Some("success"), Some(0)),
        "{done}"
    );
    let (_, _, log) = app
        .send(
            Request::get(format!("/api/v1/runs/{run_id}/logs"))
                .header("authorization", format!("Bearer {dev}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    let log = String::from_utf8_lossy(&log).into_owned();
    assert!(
        log.contains("step 1") && log.contains("key=*****") && log.contains("done"),
        "{log}"
    );
    assert_eq!(
        log.matches("step 1").count(),
        1,
        "the replay added nothing: {log}"
    );
    assert!(log.contains("finished: success"), "{log}");
    assert!(
        log.contains(&(many.join("\n") + "\n")),
        "the 1,202 lines of one callback, in order: {log}"
    );
    assert!(!log.contains(HOOK_KEY) && !log.contains(&key), "{log}");
    assert_eq!(
        callback(&app, run_id, json!({"status": "failed"}), &key).await,
        StatusCode::CONFLICT,
        "a settled run takes no callback"
    );

    // GitHub Actions: workflow_dispatch with a bearer token and the run id among the inputs.
    let github = project(&app, &pm, "GitHub", json!({"webhook_url": format!("{base}/github"), "webhook_preset": "github_actions", "webhook_secret_name": "HOOK_KEY"})).await;
    let run_id = running(&app, &dev, job(&app, &dev, github).await).await;
    let (headers, body) = wait_request(&received, "/github").await;
    assert_eq!(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {HOOK_KEY}").as_str())
    );
    assert_eq!(
        headers.get("accept").and_then(|v| v.to_str().ok()),
        Some("application/vnd.github+json")
    );
    let payload: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(payload["ref"], "release/1.2");
    assert_eq!(payload["inputs"]["uhub_run_id"], run_id.to_string());
    assert_eq!(payload["inputs"]["version"], "1.2.0");
    // Waiting for its callback, the run is held by no process: cancelled at once.
    wait_for_callback(&app, &dev, run_id).await;
    let canceled = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/cancel"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(canceled["status"], "canceled", "{canceled}");

    // GitLab: the pipeline trigger form; with no callback, the project's callback timeout ends
    // the run, with the reason.
    let gitlab = project(&app, &pm, "GitLab", json!({"webhook_url": format!("{base}/gitlab"), "webhook_preset": "gitlab_pipeline", "webhook_secret_name": "HOOK_KEY", "callback_timeout_seconds": 1})).await;
    let run_id = running(&app, &dev, job(&app, &dev, gitlab).await).await;
    let (_, body) = wait_request(&received, "/gitlab").await;
    let form = String::from_utf8_lossy(&body).into_owned();
    for part in [
        format!("token={HOOK_KEY}"),
        "ref=release%2F1.2".to_owned(),
        format!("variables%5BUHUB_RUN_ID%5D={run_id}"),
        "variables%5Bversion%5D=1.2.0".to_owned(),
        "variables%5BUHUB_CALLBACK_SECRET%5D=".to_owned(),
    ] {
        assert!(form.contains(&part), "`{part}` in {form}");
    }
    let timed_out = settled(&app, &dev, run_id).await;
    assert_eq!(timed_out["status"], "timed_out", "{timed_out}");
    assert!(
        timed_out["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no final callback")),
        "{timed_out}"
    );

    // A target that refuses the trigger fails the run with its answer.
    let refusing = project(
        &app,
        &pm,
        "Refusing",
        json!({"webhook_url": format!("{base}/refuse"), "webhook_secret_name": "HOOK_KEY"}),
    )
    .await;
    let run_id = running(&app, &dev, job(&app, &dev, refusing).await).await;
    let done = settled(&app, &dev, run_id).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["reason"].as_str().is_some_and(|r| r.contains("403")),
        "{done}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_runs_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_runs_on_postgres() {
    story(TestEngine::Postgres).await;
}

/// A production run is approved with the execution settings it was launched with. When an editor
/// of the project changes where webhook runs go (another target, another secret sent with it)
/// while a run waits for approval, that run's approval is refused (409), nothing reaches the new
/// target, and the run is launched again to be approved with the new settings. The settings used
/// to be read only when the run executed, so an editor could redirect a run someone else had
/// launched, approve it themselves, and receive the production secret it sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_after_launch_are_not_approved() {
    let (base, received) = receiver().await;
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let admin = app.token("demo-admin").await;
    let project = expect(&app, Method::POST, "/api/v1/projects", &pm, Some(json!({
        "name": "Redirected", "environments": ["prod"], "execution_backend": "webhook",
        "execution_backend_config": {"webhook_url": format!("{base}/hook"), "webhook_secret_name": "HOOK_KEY"},
    })), StatusCode::CREATED).await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/HOOK_KEY"),
        &pm,
        Some(json!({"value": HOOK_KEY})),
        StatusCode::OK,
    )
    .await;
    let job = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &pm, Some(json!({
        "title": "Deploy", "job_type": "ops", "environment": "prod", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "webhook", "ref": "main"},
    })), StatusCode::CREATED).await;
    let job_id = job["id"].as_i64().unwrap_or_default();
    let runs = format!("/api/v1/jobs/{job_id}/runs");
    let run = expect(
        &app,
        Method::POST,
        &runs,
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(run["status"], "awaiting_approval", "{run}");
    let run_id = run["id"].as_i64().unwrap_or_default();
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{project_id}"),
        &pm,
        Some(
            json!({"version": project["version"], "execution_backend_config": {
                "webhook_url": format!("{base}/github"), "webhook_preset": "github_actions",
                "webhook_secret_name": "HOOK_KEY",
            }}),
        ),
        StatusCode::OK,
    )
    .await;
    let refused = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{run_id}/approve"),
        &admin,
        Some(json!({})),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("execution settings")),
        "{refused}"
    );
    let waiting = expect(
        &app,
        Method::GET,
        &format!("/api/v1/runs/{run_id}"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");

    // Launched again, it is approved with the new settings and goes to the new target.
    let again = expect(
        &app,
        Method::POST,
        &runs,
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let again_id = again["id"].as_i64().unwrap_or_default();
    let approved = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{again_id}/approve"),
        &admin,
        Some(json!({})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "queued", "{approved}");
    wait_request(&received, "/github").await;
    assert!(
        received
            .lock()
            .expect("lock")
            .iter()
            .all(|(path, _, _)| path == "/github"),
        "only the run launched with the new settings was sent, to the new target"
    );

    // Changed after the approval, before the run is taken (the run and the change committed
    // together here): the run fails, saying why, and nothing reaches the newest target.
    let version = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await["version"]
        .as_i64()
        .unwrap_or_default();
    let taken_late = {
        let mut tx = app.storage.storage.write().await.expect("write");
        let action = domain::JobAction::Webhook {
            git_ref: Some("main".into()),
            inputs: Default::default(),
        };
        let queued = tx
            .create_run(
                &services::storage::NewRun {
                    job_id,
                    environment: Some("prod".into()),
                    backend: domain::ExecutionBackend::Webhook,
                    status: domain::RunStatus::Queued,
                    launched_by: None,
                    action_sha256: services::engine::launch::action_digest(
                        &action,
                        domain::ExecutionBackend::Webhook,
                        Some("prod"),
                        None,
                    ),
                    action,
                    script_sha256: None,
                    action_changed_by: None,
                    commit_sha: None,
                    after_check: None,
                },
                &services::storage::Actor::system(),
            )
            .await
            .expect("a queued run");
        let changes = services::storage::ProjectChanges {
            execution_backend_config: Some(domain::BackendConfig {
                webhook_url: Some(format!("{base}/gitlab")),
                webhook_preset: Some(domain::WebhookPreset::GitlabPipeline),
                webhook_secret_name: Some("HOOK_KEY".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        tx.update_project(
            project_id,
            version,
            &changes,
            &services::storage::Actor::system(),
        )
        .await
        .expect("the settings changed");
        tx.commit().await.expect("commit");
        queued.id
    };
    let failed = settled(&app, &pm, taken_late).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("execution settings")),
        "{failed}"
    );
    assert!(
        received
            .lock()
            .expect("lock")
            .iter()
            .all(|(path, _, _)| path != "/gitlab"),
        "nothing was sent to the target set after the approval"
    );
}
