//! An incident from detection to post-mortem (issue 27), on both databases: a deployment to
//! production, a failed run and a change in another project, then an incident detected 10
//! minutes after the deployment. The timeline holds them in order with the incident's own
//! changes, notes and an event remembered after the fact; the deployment is the top suspect with
//! its reasons; the other project's change is ruled out with its reason; the post-mortem drafted
//! from all of it holds the timeline, the durations, the cause and the action items, which are
//! jobs on the calendar.

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use services::storage::{Actor, NewRun};
use services::testing::TestEngine;

use crate::common::{dev_ops_job, expect, id, launch, settled, TestApp};

const SECRET_CANARY: &str = "incident-context-canary-secret-5521";
const TOKEN_CANARY: &str = "ghp_incidentContextCanary0123456789abcd";
const SHA: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_story_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_story_on_postgres() {
    story(TestEngine::Postgres).await;
}

fn refs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["ref"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn story(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let admin = app.token("demo-admin").await;
    let mut projects = Vec::new();
    for name in ["Payments", "Elsewhere"] {
        let project = expect(
            &app,
            Method::POST,
            "/api/v1/projects",
            &pm,
            Some(json!({"name": name, "environments": ["dev", "prod"], "execution_backend": "local"})),
            StatusCode::CREATED,
        )
        .await;
        projects.push(id(&project));
    }
    let (payments, elsewhere) = (projects[0], projects[1]);

    // A deployment to production: a container job's run of a commit, recorded as the engine does.
    let deploy_job = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{payments}/jobs"),
        &admin,
        Some(json!({
            "title": "Deploy payments", "job_type": "ops", "environment": "prod",
            "planned_start": "2031-01-01T09:00:00Z",
            "action": {"kind": "container", "image": "registry.example.org/payments:2.4"},
        })),
        StatusCode::CREATED,
    )
    .await;
    let deployment = {
        let storage = &app.storage.storage;
        let mut tx = storage.write().await.expect("tx");
        let run = tx
            .create_run(
                &NewRun {
                    job_id: id(&deploy_job),
                    environment: Some("prod".to_owned()),
                    backend: domain::ExecutionBackend::Docker,
                    status: domain::RunStatus::Running,
                    launched_by: None,
                    action: serde_json::from_value(
                        json!({"kind": "container", "image": "registry.example.org/payments:2.4"}),
                    )
                    .expect("action"),
                    action_sha256: "0".repeat(64),
                    script_sha256: None,
                    action_changed_by: None,
                    commit_sha: Some(SHA.to_owned()),
                    after_check: None,
                },
                &Actor::system(),
            )
            .await
            .expect("run");
        tx.finish_run(run.id, domain::RunStatus::Success, Some(0), None)
            .await
            .expect("finished");
        tx.commit().await.expect("commit");
        run.id
    };

    // A failed run of the same project, and a change in another project.
    std::fs::write(
        app.scripts.path().join("fail.sh"),
        "#!/bin/sh\necho broken >&2\nexit 3\n",
    )
    .expect("script");
    std::fs::write(app.scripts.path().join("ok.sh"), "#!/bin/sh\necho fine\n").expect("script");
    for script in ["fail.sh", "ok.sh"] {
        std::fs::set_permissions(
            app.scripts.path().join(script),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
    }
    let failing = dev_ops_job(
        &app,
        &ops,
        payments,
        "Rotate cache",
        json!({"kind": "script", "path": "fail.sh"}),
    )
    .await;
    let failed = launch(&app, &ops, failing, json!({}), StatusCode::CREATED).await;
    assert_eq!(settled(&app, &ops, id(&failed)).await["status"], "failed");
    let other_job = dev_ops_job(
        &app,
        &ops,
        elsewhere,
        "Elsewhere change",
        json!({"kind": "script", "path": "ok.sh"}),
    )
    .await;
    let other = launch(&app, &ops, other_job, json!({}), StatusCode::CREATED).await;
    assert_eq!(settled(&app, &ops, id(&other)).await["status"], "success");

    // A failed run opens an incident of its own (a successful one is refused); dev may not.
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/incident", id(&other)),
        &ops,
        None,
        StatusCode::CONFLICT,
    )
    .await;
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/incident", id(&failed)),
        &dev,
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    let from_run = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/incident", id(&failed)),
        &ops,
        None,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(from_run["job_id"], failing, "{from_run}");
    assert_eq!(from_run["project_id"], payments);
    let its_timeline = expect(
        &app,
        Method::GET,
        &format!("/api/v1/incidents/{}/timeline", id(&from_run)),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        refs(&its_timeline).contains(&format!("run:{}", id(&failed))),
        "{its_timeline}"
    );

    // The incident, detected 10 minutes after the deployment.
    let detected = Utc::now() + Duration::minutes(10);
    let incident = expect(
        &app,
        Method::POST,
        "/api/v1/incidents",
        &ops,
        Some(
            json!({"project_id": payments, "title": "Checkout errors", "severity": "sev2",
                    "description": "Card payments fail with 502.", "detected_at": detected}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let incident_id = id(&incident);
    let base = format!("/api/v1/incidents/{incident_id}");

    // The host's CPU crossed 90 % five minutes before detection.
    for (minutes_before, cpu) in [(7, 40.0), (5, 97.0)] {
        let sample = domain::host::HostSample {
            sampled_at: detected - Duration::minutes(minutes_before),
            cpu: domain::host::CpuFigures {
                usage_percent: cpu,
                cores: 2,
                per_core: vec![cpu, cpu],
                load_avg: [1.0, 1.0, 1.0],
            },
            memory: domain::host::MemoryFigures {
                total_bytes: 100,
                used_bytes: 50,
            },
            swap: domain::host::MemoryFigures {
                total_bytes: 0,
                used_bytes: 0,
            },
            disks: Vec::new(),
            network: Vec::new(),
        };
        app.storage
            .storage
            .store_host_sample(&sample, 10)
            .await
            .expect("sample");
    }

    // Notes and an event remembered after the fact; dev may read, not write.
    expect(
        &app,
        Method::POST,
        &format!("{base}/timeline"),
        &dev,
        Some(json!({"title": "x"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let remembered = detected - Duration::minutes(4);
    expect(
        &app,
        Method::POST,
        &format!("{base}/timeline"),
        &ops,
        Some(
            json!({"kind": "manual", "at": remembered, "title": "Support saw the first complaint"}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let refused = expect(
        &app,
        Method::POST,
        &format!("{base}/timeline"),
        &ops,
        Some(json!({"kind": "manual", "title": "When?"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["at"].is_string(), "{refused}");

    // Mitigated, then resolved.
    let mut version = incident["version"].as_i64().unwrap_or(1);
    for status in ["mitigated", "resolved"] {
        let updated = expect(
            &app,
            Method::PATCH,
            &base,
            &ops,
            Some(json!({"version": version, "status": status})),
            StatusCode::OK,
        )
        .await;
        version = updated["version"].as_i64().unwrap_or_default();
    }

    // The timeline, in order: the deployment, the failed run, the complaint, the detection.
    let timeline = expect(
        &app,
        Method::GET,
        &format!("{base}/timeline"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    let order = refs(&timeline);
    let position = |wanted: &str| {
        order
            .iter()
            .position(|r| r == wanted)
            .unwrap_or_else(|| panic!("{wanted} in the timeline: {timeline}"))
    };
    let deployed = position(&format!("run:{deployment}"));
    let failure = position(&format!("run:{}", id(&failed)));
    let detection = position(&format!("incident:{incident_id}:detected"));
    let complaint = order
        .iter()
        .position(|r| r.starts_with("entry:"))
        .expect("the manual entry");
    assert!(
        deployed < failure && failure < complaint && complaint < detection,
        "{order:?}"
    );
    let text = timeline.to_string();
    assert!(
        text.contains("Deployed a1b2c3d of «Deploy payments» in prod"),
        "{text}"
    );
    assert!(text.contains("\"kind\":\"run_failed\""), "{text}");
    assert!(text.contains("Host CPU at 97 % (threshold 90 %)"), "{text}");
    assert!(
        text.contains("status open → mitigated") && text.contains("status mitigated → resolved"),
        "{text}"
    );
    assert!(
        !order.iter().any(|r| *r == format!("run:{}", id(&other))),
        "another project's run is not in the timeline"
    );

    // Pinning the deployment.
    let pinned = expect(
        &app,
        Method::POST,
        &format!("{base}/pins"),
        &ops,
        Some(json!({"ref": format!("run:{deployment}"), "pinned": true})),
        StatusCode::OK,
    )
    .await;
    assert!(
        pinned["items"].as_array().is_some_and(|items| items
            .iter()
            .any(|i| i["ref"] == format!("run:{deployment}") && i["pinned"] == true)),
        "{pinned}"
    );

    // The suspects: the deployment first, with its reasons; the other project ruled out.
    let suspects = expect(
        &app,
        Method::GET,
        &format!("{base}/suspects"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    let top = &suspects["items"][0];
    assert_eq!(top["ref"], format!("run:{deployment}"), "{suspects}");
    assert_eq!(top["kind"], "deployment");
    let reasons = top["reasons"].to_string();
    assert!(reasons.contains("same project"), "{reasons}");
    assert!(reasons.contains("in production (prod)"), "{reasons}");
    assert!(
        reasons.contains("deployed a1b2c3d to prod") && reasons.contains("min before detection"),
        "{reasons}"
    );
    let ruled = suspects["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|s| s["ref"] == format!("run:{}", id(&other)))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(ruled["ruled_out"], true, "{suspects}");
    assert_eq!(ruled["score"], 0);
    assert!(
        ruled["reasons"][0]
            .as_str()
            .unwrap_or_default()
            .contains("another project (Elsewhere)"),
        "{ruled}"
    );
    expect(
        &app,
        Method::GET,
        &format!("{base}/suspects?hours=0"),
        &dev,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let decided = expect(
        &app,
        Method::PUT,
        &format!("{base}/verdicts"),
        &ops,
        Some(json!({"ref": format!("run:{deployment}"), "verdict": "cause"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(decided["items"][0]["verdict"], "cause", "{decided}");

    // An action item: a job of the project on the calendar.
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let item = expect(
        &app,
        Method::POST,
        &format!("{base}/action-items"),
        &ops,
        Some(json!({"title": "Add a canary stage to payments deploys", "planned_start": format!("{tomorrow}T09:00:00Z")})),
        StatusCode::CREATED,
    )
    .await;
    let calendar = expect(
        &app,
        Method::GET,
        &format!(
            "/api/v1/calendar/events?start={tomorrow}&end={}&project={payments}",
            tomorrow + Duration::days(1)
        ),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        calendar.to_string().contains("Add a canary stage"),
        "{calendar}"
    );
    assert!(item["description"]
        .as_str()
        .unwrap_or_default()
        .contains(&format!("incident #{incident_id}")));

    // The post-mortem: drafted from all of it, then edited as a new version, exported.
    let drafted = expect(
        &app,
        Method::POST,
        &format!("{base}/postmortem"),
        &ops,
        None,
        StatusCode::CREATED,
    )
    .await;
    let body = drafted["body"].as_str().unwrap_or_default().to_owned();
    for expected in [
        "# Post-mortem: Checkout errors",
        "## Timeline",
        "Deployed a1b2c3d of «Deploy payments» in prod",
        "Support saw the first complaint",
        "time to mitigate",
        "time to resolve",
        "**the cause**",
        "Add a canary stage to payments deploys",
        "other change(s) ruled out",
    ] {
        assert!(body.contains(expected), "{expected} in:\n{body}");
    }
    assert_eq!(drafted["version"], 1);
    let edited = expect(
        &app,
        Method::PUT,
        &format!("{base}/postmortem"),
        &ops,
        Some(json!({"body": format!("{body}\n## Contributing factors\n\nNo canary stage.\n")})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["version"], 2);
    let (status, headers, markdown) = app
        .send(
            axum::http::Request::get(format!("{base}/postmortem.md"))
                .header(axum::http::header::AUTHORIZATION, format!("Bearer {dev}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/markdown")));
    assert!(String::from_utf8_lossy(&markdown).contains("No canary stage."));

    // The context for tools and assistants: the whole story, and nothing secret (canaries planted
    // as a project secret and a personal Git token).
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{payments}/secrets/DB_PASSWORD"),
        &pm,
        Some(json!({"value": SECRET_CANARY})),
        StatusCode::OK,
    )
    .await;
    expect(
        &app,
        Method::PUT,
        "/api/v1/me/git-tokens/github",
        &ops,
        Some(json!({"token": TOKEN_CANARY})),
        StatusCode::NO_CONTENT,
    )
    .await;
    let context = expect(
        &app,
        Method::GET,
        &format!("{base}/context"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(context["incident"]["id"], incident_id);
    assert_eq!(context["suspects"][0]["ref"], format!("run:{deployment}"));
    assert!(
        context["timeline"].as_array().is_some_and(|t| t.len() >= 6),
        "{context}"
    );
    assert_eq!(context["postmortem"]["version"], 2);
    assert!(
        context["jobs"].to_string().contains("Add a canary stage"),
        "{context}"
    );
    let project_context = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{payments}/context"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        project_context["deployments"][0]["commit_sha"], SHA,
        "{project_context}"
    );
    assert!(project_context["incidents"]
        .to_string()
        .contains("Checkout errors"));
    assert!(
        project_context["terraform_plans"].is_array() && project_context["inventories"].is_array()
    );
    for (name, answer) in [("incident", &context), ("project", &project_context)] {
        let text = answer.to_string();
        for canary in [
            SECRET_CANARY,
            TOKEN_CANARY,
            "$argon2",
            "password_hash",
            "secret_hash",
        ] {
            assert!(!text.contains(canary), "{canary} in the {name} context");
        }
    }

    // The project's measures: one sev2, its durations, and the deployment that caused it.
    let period = format!(
        "from={}&to={}",
        (Utc::now() - Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (Utc::now() + Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let reliability = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{payments}/reliability?{period}"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        reliability["incidents_by_severity"]["sev2"], 1,
        "{reliability}"
    );
    assert_eq!(reliability["deployments"], 1, "{reliability}");
    assert_eq!(
        reliability["incident_causing_deployments"], 1,
        "{reliability}"
    );
    assert_eq!(reliability["change_failure_rate"], 1.0, "{reliability}");
    let measured = &reliability["incidents"][0];
    assert!(
        measured["time_to_detect_minutes"]
            .as_i64()
            .is_some_and(|m| (9..=11).contains(&m)),
        "from the pinned deployment: {measured}"
    );
    assert!(measured["time_to_resolve_minutes"].is_i64(), "{measured}");
    expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{payments}/reliability?from=2031-01-02T00:00:00Z&to=2031-01-01T00:00:00Z"),
        &dev,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=300",
        &admin,
        None,
        StatusCode::OK,
    )
    .await
    .to_string();
    for action in [
        "incident.entry_add",
        "incident.pin",
        "incident.verdict",
        "incident.postmortem",
        "incident.link",
    ] {
        assert!(audit.contains(action), "{action} audited");
    }
}
