//! Both doors, one rule: every write use case that the REST API and a server function both
//! reach gets the same bad input (an empty or NUL title, a comment too long, an end before the
//! start…) or the same forbidden caller through each door, and must answer the same status and
//! the same error code from both. A rule copied into one door only, or drifting between two
//! copies, fails here.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{Duration, Utc};
use domain::{IncidentSeverity, IncidentStatus, JobType};
use serde_json::{json, Value};
use services::storage::{Actor, NewIncident, NewJob, NewProject, ProjectChanges};
use services::testing::TestEngine;

use crate::common::{encode, TestApp};

/// Calls a server function as the browser does (form-encoded arguments, session cookie):
/// the status and the JSON answer.
async fn server_fn(
    app: &TestApp,
    token: &str,
    endpoint: &str,
    arguments: &[(&str, String)],
) -> (StatusCode, Value) {
    let body = arguments
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let request = Request::post(format!("/sfn/{endpoint}"))
        .header(header::COOKIE, format!("uhub_session={token}"))
        // As a page of uHub sends it (cookie-authenticated changes must say where they come from).
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(body))
        .expect("request");
    let (status, _, body) = app.send(request).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The objects the cases act on, made once.
struct Scene {
    /// Owned by demo-projets; ops, dev and prod environments; docker backend.
    project: i64,
    archived: i64,
    /// An ops job in prod, an ops job in the archived project.
    prod_job: i64,
    prod_job_version: i64,
    archived_job: i64,
    /// A run awaiting approval, launched by demo-ops.
    awaiting_run: i64,
    /// A move request by demo-ops of `prod_job`.
    move_request: i64,
    incident: i64,
}

async fn scene(app: &TestApp) -> Scene {
    let storage = &app.storage.storage;
    let projets = storage
        .user_by_username("demo-projets")
        .await
        .expect("user")
        .map(|u| u.id);
    let mut project = NewProject::named("Doors", &["dev", "staging", "prod"]);
    project.owner_id = projets;
    project.execution_backend = Some(domain::ExecutionBackend::Docker);
    let project = storage
        .create_project(&project, &Actor::system())
        .await
        .expect("project")
        .id;
    let mut archived = NewProject::named("Doors archived", &["dev"]);
    archived.execution_backend = Some(domain::ExecutionBackend::Docker);
    let archived = storage
        .create_project(&archived, &Actor::system())
        .await
        .expect("project")
        .id;
    let later = Utc::now() + Duration::days(3);
    let mut prod_job = NewJob::planned(project, "Prod deploy", JobType::Ops, Some("prod"), later);
    prod_job.action = Some(domain::JobAction::Container {
        image: "uhub-test/busybox:1".into(),
        command: vec!["true".into()],
        repo: None,
        git_ref: None,
    });
    let prod_job = storage
        .create_job(&prod_job, &Actor::system())
        .await
        .expect("job");
    let archived_job = storage
        .create_job(
            &NewJob::planned(archived, "Old", JobType::Ops, Some("dev"), later),
            &Actor::system(),
        )
        .await
        .expect("job")
        .id;
    storage
        .update_project(
            archived,
            1,
            &ProjectChanges {
                state: Some(domain::ProjectState::Archived),
                ..ProjectChanges::default()
            },
            &Actor::system(),
        )
        .await
        .expect("archive");
    let ops = app.token("demo-ops").await;
    let (status, run) = app
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{}/runs", prod_job.id),
            Some(&ops),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(run["status"], "awaiting_approval", "{run}");
    let (status, request) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/jobs/{}", prod_job.id),
            Some(&ops),
            Some(json!({"version": prod_job.version, "planned_start": (later + Duration::hours(2)).to_rfc3339()})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{request}");
    let incident = storage
        .create_incident(
            &NewIncident {
                project_id: None,
                title: "Doors incident".into(),
                description: String::new(),
                severity: IncidentSeverity::Sev3,
                status: IncidentStatus::Open,
                owner_id: None,
                job_id: None,
                detected_at: None,
            },
            &Actor::system(),
        )
        .await
        .expect("incident")
        .id;
    Scene {
        project,
        archived,
        prod_job: prod_job.id,
        prod_job_version: prod_job.version,
        archived_job,
        awaiting_run: run["id"].as_i64().unwrap_or_default(),
        move_request: request["id"].as_i64().unwrap_or_default(),
        incident,
    }
}

/// One case: who calls, the REST request, the server function's call, the expected code.
struct Case {
    what: &'static str,
    user: &'static str,
    rest: (Method, String, Value),
    server_fn: (&'static str, Vec<(&'static str, String)>),
    code: &'static str,
}

/// The same request through each door: REST (method, path, JSON body; `null` for none) and the
/// server function (endpoint, arguments).
type Doors = (
    (Method, String, Value),
    (&'static str, Vec<(&'static str, String)>),
);

fn cases(scene: &Scene) -> Vec<Case> {
    let start = (Utc::now() + Duration::days(10)).format("%Y-%m-%dT%H:%M");
    let start_rfc = (Utc::now() + Duration::days(10)).to_rfc3339();
    let before_start = (Utc::now() + Duration::days(9)).to_rfc3339();
    let long_comment = "x".repeat(2001);
    let (project, archived) = (scene.project, scene.archived);
    let new_job = |title: &str, job_type: &str, project: i64| -> Doors {
        (
            (
                Method::POST,
                format!("/api/v1/projects/{project}/jobs"),
                json!({"title": title, "job_type": job_type, "environment": "dev", "planned_start": start_rfc}),
            ),
            (
                "jobs/quick-create",
                vec![
                    ("project_id", project.to_string()),
                    ("title", title.to_owned()),
                    ("job_type", job_type.to_owned()),
                    ("environment", "dev".to_owned()),
                    ("start", start.to_string()),
                ],
            ),
        )
    };
    let mut cases = Vec::new();
    let mut add = |what: &'static str, user: &'static str, doors: Doors, code: &'static str| {
        let (rest, server_fn) = doors;
        cases.push(Case {
            what,
            user,
            rest,
            server_fn,
            code,
        })
    };
    add(
        "plan a job with an empty title",
        "demo-admin",
        new_job("   ", "ops", project),
        "invalid",
    );
    add(
        "plan a job with a NUL in its title",
        "demo-admin",
        new_job("a\u{0}b", "ops", project),
        "invalid",
    );
    add(
        "plan an ops job as dev",
        "demo-dev",
        new_job("Deploy", "ops", project),
        "dev_jobs_non_production",
    );
    add(
        "plan a job in an archived project",
        "demo-admin",
        new_job("Late", "ops", archived),
        "project_archived",
    );
    let move_job = |version: i64, start: &str, end: Option<&str>| -> Doors {
        let mut rest = json!({"version": version, "planned_start": start});
        let mut arguments = vec![
            ("job_id", scene.prod_job.to_string()),
            ("version", version.to_string()),
            ("planned_start", start.to_owned()),
        ];
        if let Some(end) = end {
            rest["planned_end"] = json!(end);
            arguments.push(("planned_end", end.to_owned()));
        } else {
            rest["planned_end"] = Value::Null;
        }
        (
            (
                Method::PATCH,
                format!("/api/v1/jobs/{}", scene.prod_job),
                rest,
            ),
            ("calendar/move", arguments),
        )
    };
    add(
        "move an ops job as dev",
        "demo-dev",
        move_job(scene.prod_job_version, &start_rfc, None),
        "dev_jobs_non_production",
    );
    add(
        "move a job based on a stale version",
        "demo-admin",
        move_job(scene.prod_job_version + 7, &start_rfc, None),
        "stale_version",
    );
    add(
        "move a job to an end before its start",
        "demo-admin",
        move_job(scene.prod_job_version, &start_rfc, Some(&before_start)),
        "invalid",
    );
    let decide = |verb: &'static str| -> Doors {
        (
            (
                Method::POST,
                format!("/api/v1/move-requests/{}/{verb}", scene.move_request),
                if verb == "reject" {
                    json!({})
                } else {
                    Value::Null
                },
            ),
            (
                "calendar/decide",
                vec![
                    ("id", scene.move_request.to_string()),
                    ("decision", verb.to_owned()),
                ],
            ),
        )
    };
    add(
        "approve a move request as dev",
        "demo-dev",
        decide("approve"),
        "approval_by_projets_or_admin",
    );
    add(
        "reject a move request as ops",
        "demo-ops",
        decide("reject"),
        "approval_by_projets_or_admin",
    );
    add(
        "withdraw someone else's move request",
        "demo-dev",
        decide("withdraw"),
        "withdraw_own_requests",
    );
    let open_incident = |title: &str, project_id: Option<i64>| -> Doors {
        let mut arguments = vec![
            ("title", title.to_owned()),
            ("severity", "sev2".to_owned()),
            ("description", String::new()),
        ];
        if let Some(project) = project_id {
            arguments.push(("project_id", project.to_string()));
        }
        (
            (
                Method::POST,
                "/api/v1/incidents".to_owned(),
                json!({"title": title, "severity": "sev2", "project_id": project_id}),
            ),
            ("incidents/open", arguments),
        )
    };
    add(
        "open an incident as dev",
        "demo-dev",
        open_incident("Down", None),
        "incidents_by_ops",
    );
    add(
        "open an incident with an empty title",
        "demo-ops",
        open_incident("", None),
        "invalid",
    );
    add(
        "open an incident in an archived project",
        "demo-ops",
        open_incident("Down", Some(archived)),
        "project_archived",
    );
    let incident_status = |version: i64| -> Doors {
        (
            (
                Method::PATCH,
                format!("/api/v1/incidents/{}", scene.incident),
                json!({"version": version, "status": "mitigated"}),
            ),
            (
                "incidents/status",
                vec![
                    ("id", scene.incident.to_string()),
                    ("version", version.to_string()),
                    ("status", "mitigated".to_owned()),
                ],
            ),
        )
    };
    add(
        "change an incident's status as dev",
        "demo-dev",
        incident_status(1),
        "incidents_by_ops",
    );
    add(
        "change an incident based on a stale version",
        "demo-ops",
        incident_status(9),
        "stale_version",
    );
    let create_project = |name: &str, description: &str| -> Doors {
        (
            (
                Method::POST,
                "/api/v1/projects".to_owned(),
                json!({"name": name, "description": description, "color": "#22aa66", "environments": ["dev"]}),
            ),
            (
                "projects/create",
                vec![
                    ("name", name.to_owned()),
                    ("description", description.to_owned()),
                    ("color", "#22aa66".to_owned()),
                    ("environments", "dev".to_owned()),
                ],
            ),
        )
    };
    add(
        "create a project as dev",
        "demo-dev",
        create_project("Mine", ""),
        "projects_managed_by_projets",
    );
    add(
        "create a project with an empty name",
        "demo-projets",
        create_project(" ", ""),
        "invalid",
    );
    add(
        "create a project with a NUL in its description",
        "demo-projets",
        create_project("Nul", "a\u{0}b"),
        "invalid",
    );
    let edit_project = |description: &str| -> Doors {
        (
            (
                Method::PATCH,
                format!("/api/v1/projects/{project}"),
                json!({"version": 1, "name": "Doors", "description": description, "color": "#22aa66"}),
            ),
            (
                "projects/edit",
                vec![
                    ("project_id", project.to_string()),
                    ("version", "1".to_owned()),
                    ("name", "Doors".to_owned()),
                    ("description", description.to_owned()),
                    ("color", "#22aa66".to_owned()),
                ],
            ),
        )
    };
    add(
        "edit someone's project as ops",
        "demo-ops",
        edit_project("x"),
        "projects_managed_by_projets",
    );
    add(
        "edit a project with a NUL in its description",
        "demo-projets",
        edit_project("a\u{0}b"),
        "invalid",
    );
    let launch = |job: i64| -> Doors {
        (
            (Method::POST, format!("/api/v1/jobs/{job}/runs"), json!({})),
            ("jobs/launch", vec![("job_id", job.to_string())]),
        )
    };
    add(
        "launch a run as projets",
        "demo-projets",
        launch(scene.prod_job),
        "runs_launched_by_dev_ops",
    );
    add(
        "launch a run in an archived project",
        "demo-admin",
        launch(scene.archived_job),
        "project_archived",
    );
    let act = |verb: &'static str, comment: &str| -> Doors {
        (
            (
                Method::POST,
                format!("/api/v1/runs/{}/{verb}", scene.awaiting_run),
                if verb == "cancel" {
                    Value::Null
                } else {
                    json!({"comment": comment})
                },
            ),
            (
                "runs/act",
                vec![
                    ("run_id", scene.awaiting_run.to_string()),
                    ("act", verb.to_owned()),
                    ("comment", comment.to_owned()),
                ],
            ),
        )
    };
    add(
        "approve a run as dev",
        "demo-dev",
        act("approve", ""),
        "approval_by_projets_or_admin",
    );
    add(
        "approve a run as the ops who launched it",
        "demo-ops",
        act("approve", ""),
        "approval_by_projets_or_admin",
    );
    add(
        "approve with a comment of 2,001 characters",
        "demo-projets",
        act("approve", &long_comment),
        "invalid",
    );
    add(
        "cancel someone else's run as dev",
        "demo-dev",
        act("cancel", ""),
        "cancel_own_runs",
    );
    let profile = |email: &str, theme: &str| -> Doors {
        (
            (
                Method::PATCH,
                "/api/v1/auth/me".to_owned(),
                json!({"display_name": "Ops", "email": email, "theme": theme, "locale": "en"}),
            ),
            (
                "auth/profile",
                vec![
                    ("display_name", "Ops".to_owned()),
                    ("email", email.to_owned()),
                    ("theme", theme.to_owned()),
                    ("locale", "en".to_owned()),
                ],
            ),
        )
    };
    add(
        "set an email that is not one",
        "demo-ops",
        profile("not an email", "dark"),
        "invalid",
    );
    add(
        "set a theme that does not exist",
        "demo-ops",
        profile("ops@example.com", "neon"),
        "invalid",
    );
    add(
        "create a feed of a project that does not exist",
        "demo-ops",
        (
            (
                Method::POST,
                "/api/v1/calendar/feeds".to_owned(),
                json!({"project_id": 999_999}),
            ),
            (
                "calendar/feeds/create",
                vec![("project_id", "999999".to_owned())],
            ),
        ),
        "not_found",
    );
    cases
}

async fn both_doors_answer_alike(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let scene = scene(&app).await;
    let mut drift = Vec::new();
    for case in cases(&scene) {
        let token = app.token(case.user).await;
        let (method, uri, body) = case.rest.clone();
        let body = (!body.is_null()).then_some(body);
        let (rest_status, rest) = app.call(method, &uri, Some(&token), body).await;
        let (endpoint, arguments) = &case.server_fn;
        let (fn_status, answer) = server_fn(&app, &token, endpoint, arguments).await;
        let seen = (
            (rest_status, rest["code"].as_str().unwrap_or("-").to_owned()),
            (fn_status, answer["code"].as_str().unwrap_or("-").to_owned()),
        );
        let expected_status = rest_status;
        if seen.0 .1 != case.code || seen.1 .1 != case.code || fn_status != expected_status {
            drift.push(format!(
                "{}: REST {} {rest}; server function {} {answer} (expected `{}` from both)",
                case.what, seen.0 .0, seen.1 .0, case.code
            ));
        }
        assert!(
            rest_status.is_client_error(),
            "{}: a refusal is a 4xx, not {rest_status}",
            case.what
        );
    }
    assert!(
        drift.is_empty(),
        "the two doors answer differently:\n{}",
        drift.join("\n")
    );
}

#[tokio::test]
async fn both_doors_answer_alike_on_sqlite() {
    both_doors_answer_alike(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn both_doors_answer_alike_on_postgres() {
    both_doors_answer_alike(TestEngine::Postgres).await;
}
