//! The outside review's four attacks on the production guardrails, each replayed as it was
//! made and shown refused — on SQLite and PostgreSQL: a dev reading production credentials
//! through a dev run, a production job launched or moved elsewhere, impersonation through
//! `owner_id` and `auto_start` (and approving one's own change), and an approved run executing
//! an action edited after the approval was asked. Secret scopes and names are checked here too.

use crate::common;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::{
    approved_and_done, expect, id, launch, log_text, on_both_engines, script, settled, within_20_s,
    TestApp,
};
use serde_json::{json, Value};
use services::testing::TestEngine;

const PROD_PASSWORD: &str = "prod-db-p4ssw0rd-7731";
const SHARED_TOKEN: &str = "shared-api-t0ken-5520";
const IMAGE: &str = "uhub-test/busybox:1";

async fn user_id(app: &TestApp, username: &str) -> i64 {
    app.storage
        .storage
        .user_by_username(username)
        .await
        .ok()
        .flatten()
        .map(|u| u.id)
        .unwrap_or_default()
}

/// The demo project owned by `demo-projets`, with dev, staging and prod.
async fn pilot(app: &TestApp, token: &str) -> i64 {
    let projects = expect(
        app,
        Method::GET,
        "/api/v1/projects",
        token,
        None,
        StatusCode::OK,
    )
    .await;
    projects["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "Projet Pilote App X")
        .map(id)
        .expect("the pilot project")
}

async fn create_job(
    app: &TestApp,
    token: &str,
    project_id: i64,
    job: Value,
    status: StatusCode,
) -> Value {
    expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        token,
        Some(job),
        status,
    )
    .await
}

/// Why #1: secrets were per project and reached every run; a dev planned a dev job in a project
/// with a script of their own and printed the production password base64-encoded.
async fn a_dev_cannot_read_production_secrets_through_a_dev_run(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let project = pilot(&app, &pm).await;
    let secrets = format!("/api/v1/projects/{project}/secrets");
    let stored = expect(
        &app,
        Method::PUT,
        &format!("{secrets}/DB_PASSWORD"),
        &pm,
        Some(json!({"value": PROD_PASSWORD, "environment": "prod"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["environment"], "prod", "{stored}");
    let stored = expect(
        &app,
        Method::PUT,
        &format!("{secrets}/SHARED_TOKEN"),
        &pm,
        Some(json!({"value": SHARED_TOKEN})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["environment"], Value::Null, "project-wide: {stored}");
    let listed = expect(&app, Method::GET, &secrets, &dev, None, StatusCode::OK).await;
    let scopes: Vec<(String, Value)> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["environment"].clone(),
            )
        })
        .collect();
    assert!(
        scopes.contains(&("DB_PASSWORD".into(), json!("prod"))),
        "{listed}"
    );
    assert!(
        scopes.contains(&("SHARED_TOKEN".into(), Value::Null)),
        "{listed}"
    );
    assert!(!listed.to_string().contains(PROD_PASSWORD), "{listed}");
    // An environment the project does not have is no scope.
    expect(
        &app,
        Method::PUT,
        &format!("{secrets}/OTHER"),
        &pm,
        Some(json!({"value": "x", "environment": "moon"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // The attack: a dev job in dev, a script of the dev's choosing, the value encoded.
    script(
        &app,
        "leak.sh",
        r#"printf 'prod=%s\n' "${DB_PASSWORD:-absent}"
printf '%s' "$DB_PASSWORD" | base64
printf '%s' "$SHARED_TOKEN" | base64
printf 'shared=%s\n' "$SHARED_TOKEN""#,
    );
    let job = create_job(&app, &dev, project, json!({
        "title": "Innocent build", "job_type": "dev", "environment": "dev",
        "planned_start": "2031-01-01T09:00:00Z", "action": {"kind": "script", "path": "leak.sh"},
    }), StatusCode::CREATED).await;
    let run = launch(
        &app,
        &dev,
        id(&job),
        json!({"backend": "local"}),
        StatusCode::CREATED,
    )
    .await;
    let done = settled(&app, &dev, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}");
    let log = log_text(&app, &dev, id(&run)).await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PROD_PASSWORD);
    assert!(
        log.contains("prod=absent"),
        "a dev run never receives a prod secret: {log}"
    );
    assert!(
        !log.contains(PROD_PASSWORD) && !log.contains(&encoded),
        "{log}"
    );
    // The project-wide one reaches it, masked as is and base64-encoded (a courtesy, not the control).
    let shared = base64::engine::general_purpose::STANDARD.encode(SHARED_TOKEN);
    assert!(log.contains("shared=*****"), "{log}");
    assert!(
        !log.contains(SHARED_TOKEN) && !log.contains(&shared),
        "{log}"
    );

    // Naming production at launch is refused before anything runs.
    let refused = launch(
        &app,
        &dev,
        id(&job),
        json!({"environment": "prod", "backend": "local"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["environment"].is_string(), "{refused}");

    // The production secret reaches production runs, which pass an approval first.
    let ops = app.token("demo-ops").await;
    let admin = app.token("demo-admin").await;
    let prod_job = create_job(&app, &ops, project, json!({
        "title": "Prod check", "job_type": "ops", "environment": "prod", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "container", "image": IMAGE, "command": ["sh", "-c", "echo prod=$DB_PASSWORD; echo shared=$SHARED_TOKEN"]},
    }), StatusCode::CREATED).await;
    let waiting = launch(
        &app,
        &ops,
        id(&prod_job),
        json!({"backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
    let log = approved_and_done(&app, &admin, id(&waiting)).await;
    assert!(
        log.contains("prod=*****") && log.contains("shared=*****"),
        "{log}"
    );
    assert!(!log.contains(PROD_PASSWORD), "{log}");

    // Deleting names its scope; the project-wide secret of the same name is another one.
    expect(
        &app,
        Method::DELETE,
        &format!("{secrets}/DB_PASSWORD"),
        &pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        &app,
        Method::DELETE,
        &format!("{secrets}/DB_PASSWORD?environment=prod"),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
}

/// Why #2: the policy weighed the environment the client sent, not the job's; and a production
/// job could be moved to dev by anyone who may edit it.
async fn a_production_job_runs_only_in_production_and_stays_there(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = pilot(&app, &pm).await;
    let job = create_job(&app, &ops, project, json!({
        "title": "Prod deploy", "job_type": "ops", "environment": "prod", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "container", "image": IMAGE, "command": ["echo", "deploy"]},
    }), StatusCode::CREATED).await;
    // The launch that claimed `dev` for a production job.
    for environment in ["dev", "staging", "PROD ", "moon"] {
        let refused = launch(
            &app,
            &ops,
            id(&job),
            json!({"environment": environment, "backend": "docker"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            refused["fields"]["environment"].is_string(),
            "{environment}: {refused}"
        );
    }
    let run = launch(
        &app,
        &ops,
        id(&job),
        json!({"environment": "prod", "backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(run["status"], "awaiting_approval");
    assert_eq!(run["environment"], "prod");

    // Moving it out of production, or changing what it runs: governed.
    let uri = format!("/api/v1/jobs/{}", id(&job));
    let version = job["version"].as_i64().unwrap_or_default();
    for change in [
        json!({"environment": "dev"}),
        json!({"environment": null}),
        json!({"action": {"kind": "container", "image": IMAGE, "command": ["echo", "other"]}}),
    ] {
        let mut body = change.clone();
        body["version"] = json!(version);
        let refused = expect(
            &app,
            Method::PATCH,
            &uri,
            &ops,
            Some(body),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(
            refused["code"], "production_job_changed_by_owner",
            "{change}: {refused}"
        );
    }
    // Moving a job into production is the same change.
    let staging = create_job(&app, &ops, project, json!({
        "title": "Staging deploy", "job_type": "ops", "environment": "staging", "planned_start": "2031-01-01T09:00:00Z",
    }), StatusCode::CREATED).await;
    let refused = expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/jobs/{}", id(&staging)),
        &ops,
        Some(json!({"version": staging["version"], "environment": "prod"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["code"], "production_job_changed_by_owner");
    // Its title and description stay ops' to edit.
    let renamed = expect(
        &app,
        Method::PATCH,
        &uri,
        &ops,
        Some(json!({"version": version, "title": "Prod deploy (v2)"})),
        StatusCode::OK,
    )
    .await;
    // The project's owner may, and the audit keeps the old and new values.
    let moved = expect(
        &app,
        Method::PATCH,
        &uri,
        &pm,
        Some(json!({"version": renamed["version"], "environment": "staging"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["environment"], "staging");
    let admin = app.token("demo-admin").await;
    let audit = expect(
        &app,
        Method::GET,
        &format!("/api/v1/audit?action=job.update&target_id={}", id(&job)),
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    let row = rows
        .iter()
        .find(|r| r["detail"].to_string().contains("staging"))
        .expect("audited");
    let detail = row["detail"].to_string();
    assert!(
        detail.contains("prod") && detail.contains("staging"),
        "old and new values: {detail}"
    );
}

/// Why #3: `owner_id` was taken from any caller and automatic starts ran "as the owner": a dev
/// could make the audit say an admin launched a run, and a projets user could start a job as
/// ops and approve it themselves.
async fn owner_id_and_auto_start_do_not_impersonate(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let admin = app.token("demo-admin").await;
    let project = pilot(&app, &pm).await;
    let admin_id = user_id(&app, "demo-admin").await;
    let ops_id = user_id(&app, "demo-ops").await;
    let dev_id = user_id(&app, "demo-dev").await;
    script(&app, "hello.sh", "echo hello");

    // A dev gives a job to the admin: refused, at creation and by edit.
    let refused = create_job(&app, &dev, project, json!({
        "title": "As the admin", "job_type": "dev", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
        "owner_id": admin_id, "auto_start": true, "action": {"kind": "script", "path": "hello.sh"},
    }), StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "owner_assigned_by_project_owner");
    let own = create_job(&app, &dev, project, json!({
        "title": "Mine", "job_type": "dev", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
        "owner_id": dev_id, "action": {"kind": "script", "path": "hello.sh"},
    }), StatusCode::CREATED).await;
    let refused = expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/jobs/{}", id(&own)),
        &dev,
        Some(json!({"version": own["version"], "owner_id": admin_id})),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["code"], "owner_assigned_by_project_owner");

    // The project's owner may give a job to ops; its automatic start still launches as the one
    // who turned it on (projets launch nothing): it does not start, and the audit says why.
    let current = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project}"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{project}"),
        &pm,
        Some(json!({"version": current["version"], "execution_backend": "docker"})),
        StatusCode::OK,
    )
    .await;
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let given = create_job(&app, &pm, project, json!({
        "title": "Night deploy", "job_type": "ops", "environment": "prod", "planned_start": past,
        "owner_id": ops_id, "auto_start": true,
        "action": {"kind": "container", "image": IMAGE, "command": ["echo", "night"]},
    }), StatusCode::CREATED).await;
    assert_eq!(given["owner_id"], ops_id);
    let audit_uri = format!(
        "/api/v1/audit?action=run.auto_start&target_id={}",
        id(&given)
    );
    let row = within_20_s("the automatic start was not refused", || async {
        let audit = expect(&app, Method::GET, &audit_uri, &admin, None, StatusCode::OK).await;
        crate::common::refusal_row(&audit).cloned()
    })
    .await;
    let reason = row["detail"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("runs_launched_by_dev_ops"), "{row}");
    let runs = expect(
        &app,
        Method::GET,
        &format!("/api/v1/jobs/{}/runs", id(&given)),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        runs["items"].as_array().map(Vec::len),
        Some(0),
        "nothing ran as ops: {runs}"
    );

    // Ops launch it by hand; the projets user who set what it runs cannot approve it.
    let waiting = launch(
        &app,
        &ops,
        id(&given),
        json!({"backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(waiting["status"], "awaiting_approval");
    let approve = format!("/api/v1/runs/{}/approve", id(&waiting));
    let refused = expect(
        &app,
        Method::POST,
        &approve,
        &pm,
        Some(json!({})),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["code"], "approver_is_not_requester", "{refused}");
    let refused = expect(
        &app,
        Method::POST,
        &approve,
        &ops,
        Some(json!({})),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["code"], "approval_by_projets_or_admin");
    expect(
        &app,
        Method::POST,
        &approve,
        &admin,
        Some(json!({})),
        StatusCode::OK,
    )
    .await;

    // A dev's own automatic job starts as that dev, and the audit says so.
    let auto = create_job(&app, &dev, project, json!({
        "title": "Nightly", "job_type": "dev", "environment": "dev", "planned_start": past, "auto_start": true,
        "action": {"kind": "container", "image": IMAGE, "command": ["echo", "nightly"]},
    }), StatusCode::CREATED).await;
    let runs_uri = format!("/api/v1/jobs/{}/runs", id(&auto));
    let run = within_20_s("the automatic job did not start", || async {
        let runs = expect(&app, Method::GET, &runs_uri, &dev, None, StatusCode::OK).await;
        runs["items"].as_array().and_then(|r| r.first()).cloned()
    })
    .await;
    assert_eq!(run["launched_by"], dev_id, "{run}");
    let audit = expect(
        &app,
        Method::GET,
        &format!("/api/v1/audit?action=run.create&target_id={}", id(&run)),
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit["items"][0]["actor_username"], "demo-dev", "{audit}");
}

/// Why #4: an approval approved a run id; the job's action was edited while the run waited,
/// and the edited action is what ran in production.
async fn an_approval_runs_the_action_that_was_approved(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let admin = app.token("demo-admin").await;
    let project = pilot(&app, &pm).await;
    let job = create_job(&app, &ops, project, json!({
        "title": "Migrate", "job_type": "ops", "environment": "prod", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "container", "image": IMAGE, "command": ["echo", "approved-action"]},
    }), StatusCode::CREATED).await;
    let waiting = launch(
        &app,
        &ops,
        id(&job),
        json!({"backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(waiting["status"], "awaiting_approval");
    let pinned = expect(
        &app,
        Method::GET,
        &format!("/api/v1/runs/{}", id(&waiting)),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        pinned["action"]["command"],
        json!(["echo", "approved-action"]),
        "{pinned}"
    );
    let digest = pinned["action_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
        "{pinned}"
    );

    // The edit while the run waits (by the project's owner, who may change it).
    let edited = expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/jobs/{}", id(&job)),
        &pm,
        Some(json!({
            "version": job["version"],
            "action": {"kind": "container", "image": IMAGE, "command": ["echo", "edited-action"]},
        })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        edited["action"]["command"],
        json!(["echo", "edited-action"])
    );
    let still = expect(
        &app,
        Method::GET,
        &format!("/api/v1/runs/{}", id(&waiting)),
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&still["action"], &still["action_sha256"]),
        (&pinned["action"], &pinned["action_sha256"]),
        "editing the job does not touch the run"
    );

    let log = approved_and_done(&app, &admin, id(&waiting)).await;
    assert!(
        log.contains("approved-action"),
        "what was approved ran: {log}"
    );
    assert!(
        !log.contains("edited-action"),
        "the edit did not run: {log}"
    );
    assert!(log.contains(&digest), "the log names what ran: {log}");
    // A new launch runs the new action, under a new digest.
    let next = launch(
        &app,
        &ops,
        id(&job),
        json!({"backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(next["action"]["command"], json!(["echo", "edited-action"]));
    assert_ne!(next["action_sha256"].as_str(), Some(digest.as_str()));
}

/// Names that change how a program starts are no secret names.
async fn secret_names_that_change_how_programs_start_are_refused(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let project = pilot(&app, &pm).await;
    for name in [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "IFS",
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "NODE_OPTIONS",
        "PERL5OPT",
        "PERL5LIB",
        "RUBYOPT",
        "JAVA_TOOL_OPTIONS",
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_GLOBAL",
        "UHUB_RUN_ID",
        "PATH",
        "HOME",
        "LANG",
    ] {
        let refused = expect(
            &app,
            Method::PUT,
            &format!("/api/v1/projects/{project}/secrets/{name}"),
            &pm,
            Some(json!({"value": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(refused["fields"]["name"].is_string(), "{name}: {refused}");
    }
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project}/secrets/PYTHON_VERSION_TOKEN"),
        &pm,
        Some(json!({"value": "x"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project}/secrets/DEPLOY_KEY"),
        &pm,
        Some(json!({"value": "x"})),
        StatusCode::OK,
    )
    .await;
}

on_both_engines!(
    a_dev_cannot_read_production_secrets_through_a_dev_run,
    a_production_job_runs_only_in_production_and_stays_there,
    owner_id_and_auto_start_do_not_impersonate,
    an_approval_runs_the_action_that_was_approved,
    secret_names_that_change_how_programs_start_are_refused,
);
