//! The domain routes through the REST API, on SQLite and PostgreSQL: projects (versions, archive
//! and delete rules), environments, backlog, links, incidents, runs and the project context. Each
//! route is walked through its happy path, validation (422 naming the field), 404 and 409; the
//! RBAC side of every route is in rbac.rs.

use crate::common;

use axum::http::{Method, StatusCode};
use common::{expect, TestApp};
use domain::{ExecutionBackend, RunStatus};
use serde_json::{json, Value};
use services::storage::Actor;
use services::testing::TestEngine;

fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap_or_default()
}

fn field_error(answer: &Value, field: &str) {
    assert_eq!(answer["code"], "invalid", "{answer}");
    assert!(
        answer["fields"][field].is_string(),
        "422 names `{field}`: {answer}"
    );
}

async fn projects_and_environments(app: &TestApp, pm: &str) -> i64 {
    let created = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        pm,
        Some(json!({
            "name": "Payments",
            "color": "#AA33CC",
            "environments": ["dev", {"name": "staging"}, "prod"],
            "execution_backend": "docker",
            "execution_backend_config": {"image": "busybox:1.36", "timeout_seconds": 600, "memory_mb": 256},
        })),
        StatusCode::CREATED,
    )
    .await;
    let project = id(&created);
    assert_eq!(created["version"], 1);
    assert_eq!(created["execution_backend"], "docker");
    assert_eq!(created["execution_backend_config"]["timeout_seconds"], 600);
    assert_eq!(created["environments"], json!(["dev", "staging", "prod"]));

    // Validation: the colour, an unknown field, a config with credentials, a bad timeout.
    for (body, field) in [
        (json!({"name": "X", "color": "green"}), "color"),
        (json!({"name": "X", "colour": "#00ff00"}), "body"),
        (
            json!({"name": "X", "execution_backend_config": {"webhook_url": "https://user:pw@ci.example.com/hook"}}),
            "execution_backend_config.webhook_url",
        ),
        (
            json!({"name": "X", "execution_backend_config": {"timeout_seconds": 0}}),
            "execution_backend_config.timeout_seconds",
        ),
        (json!({"name": "  "}), "name"),
        (
            json!({"name": "X", "environments": ["prod", "prod"]}),
            "environments",
        ),
        (
            json!({"name": "X", "environments": ["has space"]}),
            "environments",
        ),
    ] {
        let (status, answer) = app
            .call(
                Method::POST,
                "/api/v1/projects",
                Some(pm),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        if field != "body" {
            field_error(&answer, field);
        } else {
            assert!(
                answer["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("colour")),
                "{answer}"
            );
        }
    }
    // An environment object takes `name` and `is_production`, nothing else.
    let unknown = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        pm,
        Some(json!({"name": "X", "environments": [{"name": "live", "prod": true}]})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        unknown["fields"]
            .as_object()
            .is_some_and(|f| f.keys().any(|k| k.starts_with("environments"))),
        "{unknown}"
    );
    // NUL characters are refused the same way on both engines (PostgreSQL cannot store them).
    let nul = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        pm,
        Some(json!({"name": "a\u{0}b"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    field_error(&nul, "text");
    let nul = expect(
        app,
        Method::GET,
        "/api/v1/audit?target_id=%00",
        &app.token("demo-admin").await,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    field_error(&nul, "text");
    let nul = expect(
        app,
        Method::GET,
        &format!("/api/v1/projects/{project}/environments/a%00b"),
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(nul["code"], "not_found");
    // A taken name is a conflict naming the field.
    let taken = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        pm,
        Some(json!({"name": "Payments"})),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(taken["code"], "already_exists");

    // Updates carry their version; a stale one gets 409 with the current project.
    let uri = format!("/api/v1/projects/{project}");
    let updated = expect(
        app,
        Method::PATCH,
        &uri,
        pm,
        Some(json!({"version": 1, "description": "Card payments", "execution_backend": null})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["execution_backend"], Value::Null);
    let stale = expect(
        app,
        Method::PATCH,
        &uri,
        pm,
        Some(json!({"version": 1, "description": "lost"})),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(stale["code"], "stale_version");
    assert_eq!(stale["current"]["description"], "Card payments");
    let missing_version = expect(
        app,
        Method::PATCH,
        &uri,
        pm,
        Some(json!({"description": "x"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        missing_version["message"]
            .as_str()
            .is_some_and(|m| m.contains("version")),
        "{missing_version}"
    );
    expect(
        app,
        Method::PATCH,
        "/api/v1/projects/999999",
        pm,
        Some(json!({"version": 1})),
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::GET,
        "/api/v1/projects/999999",
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::GET,
        "/api/v1/projects/not-a-number",
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Only an admin hands a project over.
    let handover = expect(
        app,
        Method::PATCH,
        &uri,
        pm,
        Some(json!({"version": 2, "owner_id": null})),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(handover["code"], "admin_only");

    // Environments: list, add, read, rename and flag, delete; 404, 409, 422.
    let environments = format!("/api/v1/projects/{project}/environments");
    let listed = expect(app, Method::GET, &environments, pm, None, StatusCode::OK).await;
    let flags: Vec<(String, bool)> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["is_production"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("dev".into(), false),
            ("staging".into(), false),
            ("prod".into(), true)
        ]
    );
    let qa = expect(
        app,
        Method::POST,
        &environments,
        pm,
        Some(json!({"name": "qa"})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(qa["is_production"], false);
    expect(
        app,
        Method::POST,
        &environments,
        pm,
        Some(json!({"name": "qa"})),
        StatusCode::CONFLICT,
    )
    .await;
    let bad = expect(
        app,
        Method::POST,
        &environments,
        pm,
        Some(json!({"name": "q/a"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    field_error(&bad, "name");
    let renamed = expect(
        app,
        Method::PATCH,
        &format!("{environments}/qa"),
        pm,
        Some(json!({"version": 1, "name": "uat", "is_production": true})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            renamed["name"].as_str(),
            renamed["is_production"].as_bool(),
            renamed["version"].as_i64()
        ),
        (Some("uat"), Some(true), Some(2))
    );
    let stale = expect(
        app,
        Method::PATCH,
        &format!("{environments}/uat"),
        pm,
        Some(json!({"version": 1, "is_production": true})),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(stale["current"]["version"], 2);
    expect(
        app,
        Method::GET,
        &format!("{environments}/qa"),
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::GET,
        &format!("{environments}/uat"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    // Out of production is an admin act: it lifts guardrails.
    for change in [
        json!({"version": 2, "is_production": false}),
        json!({"version": 2, "name": "sandbox"}),
    ] {
        let refused = expect(
            app,
            Method::PATCH,
            &format!("{environments}/uat"),
            pm,
            Some(change),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(refused["code"], "production_guard_admin");
    }
    expect(
        app,
        Method::DELETE,
        &format!("{environments}/uat"),
        pm,
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    let admin = app.token("demo-admin").await;
    expect(
        app,
        Method::DELETE,
        &format!("{environments}/uat"),
        &admin,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect(
        app,
        Method::DELETE,
        &format!("{environments}/uat"),
        &admin,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    project
}

async fn jobs_runs_and_actions(app: &TestApp, pm: &str, project: i64) -> i64 {
    let jobs = format!("/api/v1/projects/{project}/jobs");
    let job = expect(app, Method::POST, &jobs, pm, Some(json!({
        "title": "Deploy payments",
        "job_type": "ops",
        "environment": "staging",
        "planned_start": "2031-05-04T09:00:00+02:00",
        "planned_end": "2031-05-04T10:00:00+02:00",
        "action": {"kind": "container", "image": "busybox:1.36", "command": ["echo", "deployed"]},
    })), StatusCode::CREATED).await;
    assert_eq!(job["action"]["kind"], "container");
    assert_eq!(
        job["planned_start"], "2031-05-04T07:00:00Z",
        "RFC 3339, normalised to UTC"
    );
    for (action, field) in [
        (
            json!({"kind": "script", "path": "../../etc/passwd"}),
            "action.path",
        ),
        (json!({"kind": "container", "image": ""}), "action.image"),
    ] {
        let answer = expect(app, Method::POST, &jobs, pm, Some(json!({"title": "Bad", "job_type": "ops", "planned_start": "2031-05-04T09:00:00Z", "action": action})), StatusCode::UNPROCESSABLE_ENTITY).await;
        field_error(&answer, field);
    }
    let unknown_kind = expect(app, Method::POST, &jobs, pm, Some(json!({"title": "Bad", "job_type": "ops", "planned_start": "2031-05-04T09:00:00Z", "action": {"kind": "shell", "command": "rm -rf /"}})), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(unknown_kind["code"], "invalid");
    let job_id = id(&job);
    let cleared = expect(
        app,
        Method::PATCH,
        &format!("/api/v1/jobs/{job_id}"),
        pm,
        Some(json!({"version": 1, "action": null})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["action"], Value::Null);

    // Runs: recorded by the execution engine; read here. Newest first, paginated.
    let storage = &app.storage.storage;
    let mut run_ids = Vec::new();
    for status in [RunStatus::Success, RunStatus::Failed, RunStatus::Queued] {
        let run = storage
            .create_run(
                &common::recorded_run(
                    job_id,
                    Some("staging"),
                    ExecutionBackend::Docker,
                    status,
                    None,
                ),
                &Actor::system(),
            )
            .await
            .expect("run");
        run_ids.push(run.id);
    }
    let page = expect(
        app,
        Method::GET,
        &format!("/api/v1/jobs/{job_id}/runs?limit=2"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    let first: Vec<i64> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id)
        .collect();
    assert_eq!(first, [run_ids[2], run_ids[1]]);
    let cursor = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    let rest = expect(
        app,
        Method::GET,
        &format!("/api/v1/jobs/{job_id}/runs?limit=2&cursor={cursor}"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"][0]["id"].as_i64(), Some(run_ids[0]));
    assert_eq!(rest["next_cursor"], Value::Null);
    let run = expect(
        app,
        Method::GET,
        &format!("/api/v1/runs/{}", run_ids[1]),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            run["status"].as_str(),
            run["backend"].as_str(),
            run["environment"].as_str()
        ),
        (Some("failed"), Some("docker"), Some("staging"))
    );
    expect(
        app,
        Method::GET,
        "/api/v1/runs/999999",
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::GET,
        "/api/v1/jobs/999999/runs",
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::GET,
        &format!("/api/v1/jobs/{job_id}/runs?limit=0"),
        pm,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // A job with runs keeps its history; an environment in use stays.
    let kept = expect(
        app,
        Method::DELETE,
        &format!("/api/v1/jobs/{job_id}"),
        pm,
        None,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(kept["code"], "conflict");
    let in_use = expect(
        app,
        Method::DELETE,
        &format!("/api/v1/projects/{project}/environments/staging"),
        pm,
        None,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(in_use["code"], "conflict");
    job_id
}

async fn backlog_and_links(app: &TestApp, pm: &str, project: i64) {
    let backlog = format!("/api/v1/projects/{project}/backlog");
    let dev = app
        .storage
        .storage
        .user_by_username("demo-dev")
        .await
        .ok()
        .flatten()
        .map(|u| u.id);
    let task = expect(
        app,
        Method::POST,
        &backlog,
        pm,
        Some(json!({"title": "Rotate card keys", "assignee_id": dev, "due_date": "2031-06-01"})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            task["kind"].as_str(),
            task["status"].as_str(),
            task["due_date"].as_str()
        ),
        (Some("task"), Some("todo"), Some("2031-06-01"))
    );
    expect(
        app,
        Method::POST,
        &backlog,
        pm,
        Some(json!({"kind": "milestone", "title": "PCI audit", "due_date": "2031-07-01"})),
        StatusCode::CREATED,
    )
    .await;
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "x", "assignee_id": 999999}), "assignee_id"),
        (json!({"title": "x", "due_date": "0999-01-01"}), "due_date"),
    ] {
        let answer = expect(
            app,
            Method::POST,
            &backlog,
            pm,
            Some(body),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        field_error(&answer, field);
    }
    expect(
        app,
        Method::POST,
        &backlog,
        pm,
        Some(json!({"title": "x", "due_date": "next week"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let milestones = expect(
        app,
        Method::GET,
        &format!("{backlog}?kind=milestone"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(milestones["items"].as_array().map(Vec::len), Some(1));
    let item = format!("/api/v1/backlog/{}", id(&task));
    let done = expect(
        app,
        Method::PATCH,
        &item,
        pm,
        Some(json!({"version": 1, "status": "done", "due_date": null})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (done["status"].as_str(), done["due_date"].is_null()),
        (Some("done"), true)
    );
    let stale = expect(
        app,
        Method::PATCH,
        &item,
        pm,
        Some(json!({"version": 1, "status": "todo"})),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(stale["current"]["status"], "done");
    expect(app, Method::GET, &item, pm, None, StatusCode::OK).await;
    expect(app, Method::DELETE, &item, pm, None, StatusCode::NO_CONTENT).await;
    expect(app, Method::GET, &item, pm, None, StatusCode::NOT_FOUND).await;
    expect(
        app,
        Method::GET,
        "/api/v1/projects/999999/backlog",
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    let links = format!("/api/v1/projects/{project}/links");
    let repo = expect(app, Method::POST, &links, pm, Some(json!({"kind": "git_repo", "name": "payments", "location": "https://github.com/acme/payments.git", "default_branch": "main"})), StatusCode::CREATED).await;
    assert_eq!(repo["provider"], "github", "told from the host");
    let cluster = expect(app, Method::POST, &links, pm, Some(json!({"kind": "k8s_cluster", "name": "k3s-prod", "environment": "prod", "location": "https://k3s.acme.internal:6443", "namespace": "payments"})), StatusCode::CREATED).await;
    assert_eq!(cluster["environment"], "prod");
    expect(app, Method::POST, &links, pm, Some(json!({"kind": "terraform_plan", "name": "network", "location": "plans/network.tfplan"})), StatusCode::CREATED).await;
    expect(app, Method::POST, &links, pm, Some(json!({"kind": "ansible_inventory", "name": "hosts", "location": "inventories/prod.ini"})), StatusCode::CREATED).await;
    for (body, field) in [
        (
            json!({"kind": "git_repo", "name": "leaky", "location": "https://ghp_token@github.com/acme/x.git"}),
            "location",
        ),
        (
            json!({"kind": "git_repo", "name": "where", "location": "https://git.acme.internal/x.git"}),
            "provider",
        ),
        (
            json!({"kind": "k8s_cluster", "name": "c", "location": "http://insecure:6443"}),
            "location",
        ),
        (
            json!({"kind": "ansible_inventory", "name": "i", "location": "hosts.ini", "namespace": "x"}),
            "namespace",
        ),
        (
            json!({"kind": "terraform_plan", "name": "p", "location": "p.tfplan", "environment": "moon"}),
            "environment",
        ),
    ] {
        let answer = expect(
            app,
            Method::POST,
            &links,
            pm,
            Some(body),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        field_error(&answer, field);
    }
    expect(app, Method::POST, &links, pm, Some(json!({"kind": "git_repo", "name": "payments", "location": "https://gitlab.com/acme/p.git"})), StatusCode::CONFLICT).await;
    let only_git = expect(
        app,
        Method::GET,
        &format!("{links}?kind=git_repo"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(only_git["items"].as_array().map(Vec::len), Some(1));
    let link = format!("/api/v1/links/{}", id(&repo));
    let moved = expect(
        app,
        Method::PATCH,
        &link,
        pm,
        Some(json!({"version": 1, "location": "https://gitlab.com/acme/payments.git"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        moved["provider"], "gitlab",
        "a new URL implies its provider"
    );
    expect(
        app,
        Method::PATCH,
        &link,
        pm,
        Some(json!({"version": 1, "name": "old"})),
        StatusCode::CONFLICT,
    )
    .await;
    let invalid = expect(
        app,
        Method::PATCH,
        &link,
        pm,
        Some(json!({"version": 2, "namespace": "payments"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    field_error(&invalid, "namespace");
    expect(app, Method::DELETE, &link, pm, None, StatusCode::NO_CONTENT).await;
    expect(app, Method::GET, &link, pm, None, StatusCode::NOT_FOUND).await;
}

async fn incidents(app: &TestApp, ops: &str, project: i64, job_id: i64) {
    let opened = expect(app, Method::POST, "/api/v1/incidents", ops, Some(json!({
        "project_id": project, "title": "Card payments failing", "severity": "sev1", "job_id": job_id,
        "detected_at": "2031-05-04T07:30:00Z",
    })), StatusCode::CREATED).await;
    assert_eq!(
        (opened["status"].as_str(), opened["resolved_at"].is_null()),
        (Some("open"), true)
    );
    expect(app, Method::POST, "/api/v1/incidents", ops, Some(json!({"title": "Registry slow", "severity": "sev3", "detected_at": "2031-05-01T07:30:00Z"})), StatusCode::CREATED).await;
    for (body, field) in [
        (
            json!({"title": "x", "severity": "sev1", "project_id": 999999}),
            "project_id",
        ),
        (
            json!({"title": "x", "severity": "sev1", "job_id": 999999}),
            "job_id",
        ),
        (json!({"title": "", "severity": "sev1"}), "title"),
    ] {
        let answer = expect(
            app,
            Method::POST,
            "/api/v1/incidents",
            ops,
            Some(body),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        field_error(&answer, field);
    }
    expect(
        app,
        Method::POST,
        "/api/v1/incidents",
        ops,
        Some(json!({"title": "x", "severity": "critical"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let listed = expect(
        app,
        Method::GET,
        "/api/v1/incidents?limit=1",
        ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed["items"][0]["title"], "Card payments failing",
        "newest detection first"
    );
    let cursor = listed["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let next = expect(
        app,
        Method::GET,
        &format!("/api/v1/incidents?limit=1&cursor={cursor}"),
        ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(next["items"][0]["title"], "Registry slow");
    let sev1 = expect(
        app,
        Method::GET,
        &format!("/api/v1/incidents?severity=sev1&project_id={project}"),
        ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(sev1["items"].as_array().map(Vec::len), Some(1));
    expect(
        app,
        Method::GET,
        "/api/v1/incidents?cursor=garbage",
        ops,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let uri = format!("/api/v1/incidents/{}", id(&opened));
    let resolved = expect(
        app,
        Method::PATCH,
        &uri,
        ops,
        Some(json!({"version": 1, "status": "resolved"})),
        StatusCode::OK,
    )
    .await;
    assert!(
        resolved["resolved_at"].is_string(),
        "resolving stamps resolved_at: {resolved}"
    );
    let reopened = expect(
        app,
        Method::PATCH,
        &uri,
        ops,
        Some(json!({"version": 2, "status": "investigating"})),
        StatusCode::OK,
    )
    .await;
    assert!(reopened["resolved_at"].is_null(), "reopening clears it");
    let stale = expect(
        app,
        Method::PATCH,
        &uri,
        ops,
        Some(json!({"version": 2, "severity": "sev4"})),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(stale["current"]["version"], 3);
    expect(
        app,
        Method::PATCH,
        "/api/v1/incidents/999999",
        ops,
        Some(json!({"version": 1})),
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(app, Method::GET, &uri, ops, None, StatusCode::OK).await;
}

async fn context_without_secrets(app: &TestApp, token: &str, project: i64) {
    let context = expect(
        app,
        Method::GET,
        &format!("/api/v1/projects/{project}/context"),
        token,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(context["project"]["id"].as_i64(), Some(project));
    for list in [
        "environments",
        "jobs",
        "runs",
        "incidents",
        "backlog",
        "links",
        "timeline",
    ] {
        assert!(
            context[list].as_array().is_some_and(|l| !l.is_empty()),
            "{list} in the context: {context}"
        );
    }
    let times: Vec<&str> = context["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["at"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "the timeline is in time order");
    // Never a secret, hash or token: not in any key, not in any value. (A repository link's
    // `webhook_secret_name` and `token_secret` are names of project secrets, listed to readers
    // like every secret's name; the values never are.)
    let text = context
        .to_string()
        .replace("\"webhook_secret_name\"", "")
        .replace("\"token_secret\"", "");
    for needle in ["$argon2", "password", "hash", "secret", "token"] {
        assert!(
            !text.to_lowercase().contains(needle),
            "`{needle}` in the context: {text}"
        );
    }
    assert!(
        !text.contains(token),
        "the caller's own token is not echoed"
    );
    expect(
        app,
        Method::GET,
        "/api/v1/projects/999999/context",
        token,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn archive_and_delete(app: &TestApp, pm: &str, project: i64, job_id: i64) {
    // A project with runs or incidents is archived, not deleted; it then takes no new work.
    let archived = expect(
        app,
        Method::DELETE,
        &format!("/api/v1/projects/{project}"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(archived["state"], "archived");
    let refused = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project}/jobs"),
        pm,
        Some(json!({"title": "More", "job_type": "dev", "planned_start": "2031-05-04T09:00:00Z"})),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "project_archived");
    expect(
        app,
        Method::PATCH,
        &format!("/api/v1/jobs/{job_id}"),
        pm,
        Some(json!({"version": 2, "title": "x"})),
        StatusCode::CONFLICT,
    )
    .await;
    expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project}/backlog"),
        pm,
        Some(json!({"title": "x"})),
        StatusCode::CONFLICT,
    )
    .await;
    expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project}/links"),
        pm,
        Some(json!({"kind": "terraform_plan", "name": "y", "location": "y.tfplan"})),
        StatusCode::CONFLICT,
    )
    .await;
    expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project}/environments"),
        pm,
        Some(json!({"name": "x"})),
        StatusCode::CONFLICT,
    )
    .await;
    // Its history is all still there.
    let context = expect(
        app,
        Method::GET,
        &format!("/api/v1/projects/{project}/context"),
        pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(context["runs"].as_array().map(Vec::len), Some(3));
    // Reopened, it takes work again.
    let version = archived["version"].as_i64().unwrap_or_default();
    let reopened = expect(
        app,
        Method::PATCH,
        &format!("/api/v1/projects/{project}"),
        pm,
        Some(json!({"version": version, "state": "active"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(reopened["state"], "active");

    // A project without history is deleted with its environments, jobs, backlog and links.
    let scratch = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        pm,
        Some(json!({"name": "Scratch", "environments": ["dev"]})),
        StatusCode::CREATED,
    )
    .await;
    let scratch_id = id(&scratch);
    let job = expect(app, Method::POST, &format!("/api/v1/projects/{scratch_id}/jobs"), pm, Some(json!({"title": "Try", "job_type": "dev", "environment": "dev", "planned_start": "2031-05-04T09:00:00Z"})), StatusCode::CREATED).await;
    expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{scratch_id}/backlog"),
        pm,
        Some(json!({"title": "x"})),
        StatusCode::CREATED,
    )
    .await;
    expect(app, Method::POST, &format!("/api/v1/projects/{scratch_id}/links"), pm, Some(json!({"kind": "terraform_plan", "name": "y", "environment": "dev", "location": "y.tfplan"})), StatusCode::CREATED).await;
    expect(
        app,
        Method::DELETE,
        &format!("/api/v1/projects/{scratch_id}"),
        pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect(
        app,
        Method::GET,
        &format!("/api/v1/projects/{scratch_id}"),
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::GET,
        &format!("/api/v1/jobs/{}", id(&job)),
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app,
        Method::DELETE,
        &format!("/api/v1/projects/{scratch_id}"),
        pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Only an admin removes an incident; the removal, like every change here, is audited.
    let admin = app.token("demo-admin").await;
    let incident = expect(
        app,
        Method::POST,
        "/api/v1/incidents",
        &admin,
        Some(json!({"title": "Duplicate", "severity": "sev4"})),
        StatusCode::CREATED,
    )
    .await;
    expect(
        app,
        Method::DELETE,
        &format!("/api/v1/incidents/{}", id(&incident)),
        &admin,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect(
        app,
        Method::DELETE,
        &format!("/api/v1/incidents/{}", id(&incident)),
        &admin,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let audit = expect(
        app,
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
        "project.archive",
        "project.unarchive",
        "project.delete",
        "environment.create",
        "environment.update",
        "environment.delete",
        "backlog.create",
        "backlog.update",
        "backlog.delete",
        "link.create",
        "link.update",
        "link.delete",
        "incident.create",
        "incident.update",
        "incident.delete",
        "run.create",
    ] {
        assert!(
            actions.contains(&action),
            "{action} is audited: {actions:?}"
        );
    }
}

async fn story(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = projects_and_environments(&app, &pm).await;
    let job_id = jobs_runs_and_actions(&app, &pm, project).await;
    backlog_and_links(&app, &pm, project).await;
    incidents(&app, &ops, project, job_id).await;
    context_without_secrets(&app, &ops, project).await;
    archive_and_delete(&app, &pm, project, job_id).await;
}

#[tokio::test]
async fn domain_api_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn domain_api_on_postgres() {
    story(TestEngine::Postgres).await;
}
