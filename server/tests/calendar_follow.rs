//! The calendar beyond its events, on both engines: production move requests (202, pending on
//! the calendar, four-eyes approval, rejection, withdrawal, superseded by a direct move, audit),
//! iCal feeds (secret URL, scope, revocation), remembered filters, and the live stream of job
//! changes (Server-Sent Events, resumable with `Last-Event-ID`).

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{expect, text, TestApp};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use services::testing::TestEngine;
use tower::ServiceExt;

/// A project owned by demo-projets with a production environment, and an ops job in it planned
/// by demo-ops: the job demo-ops may not move alone.
async fn production_job(app: &TestApp, name: &str) -> (i64, i64) {
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({
            "name": name, "color": "#33ff99",
            "environments": [{"name": "staging"}, {"name": "prod", "is_production": true}],
        })),
        StatusCode::CREATED,
    )
    .await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        &ops,
        Some(json!({
            "title": "Certificate rotation", "job_type": "ops", "environment": "prod",
            "planned_start": "2031-05-06T20:00:00Z", "planned_end": "2031-05-06T21:00:00Z",
        })),
        StatusCode::CREATED,
    )
    .await;
    (project_id, job["id"].as_i64().unwrap_or_default())
}

async fn job(app: &TestApp, token: &str, id: i64) -> Value {
    expect(
        app,
        Method::GET,
        &format!("/api/v1/jobs/{id}"),
        token,
        None,
        StatusCode::OK,
    )
    .await
}

async fn calendar_event(app: &TestApp, token: &str, project_id: i64, job_id: i64) -> Value {
    let events = expect(
        app,
        Method::GET,
        &format!("/api/v1/calendar/events?start=2031-05-01&end=2031-06-01&project={project_id}"),
        token,
        None,
        StatusCode::OK,
    )
    .await;
    events
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|e| e["extendedProps"]["job_id"].as_i64() == Some(job_id))
        })
        .cloned()
        .unwrap_or(Value::Null)
}

async fn move_requests(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let (project_id, job_id) = production_job(&app, "Edge").await;
    let ops = app.token("demo-ops").await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let admin = app.token("demo-admin").await;
    let patch = format!("/api/v1/jobs/{job_id}");

    // demo-ops moves the production job: a request, not a move.
    let request = expect(
        &app,
        Method::PATCH,
        &patch,
        &ops,
        Some(json!({"version": 1, "planned_start": "2031-05-07T20:00:00Z", "planned_end": "2031-05-07T21:00:00Z"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let request_id = request["id"].as_i64().unwrap_or_default();
    assert_eq!(request["status"], "pending", "{request}");
    assert_eq!(request["requested_by_username"], "demo-ops");
    assert_eq!(request["from_start"], "2031-05-06T20:00:00Z");
    assert_eq!(request["planned_start"], "2031-05-07T20:00:00Z");
    let unchanged = job(&app, &ops, job_id).await;
    assert_eq!(
        (
            unchanged["planned_start"].as_str(),
            unchanged["version"].as_i64()
        ),
        (Some("2031-05-06T20:00:00Z"), Some(1)),
        "the job stays until approved"
    );
    let shown = calendar_event(&app, &pm, project_id, job_id).await;
    let pending = &shown["extendedProps"]["pending_move"];
    assert_eq!(pending["id"].as_i64(), Some(request_id), "{shown}");
    assert_eq!(pending["planned_start"], "2031-05-07T20:00:00Z");
    assert_eq!(pending["requested_by"], "demo-ops");
    let queue = expect(
        &app,
        Method::GET,
        "/api/v1/move-requests?status=pending",
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        queue["items"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["id"].as_i64() == Some(request_id))),
        "{queue}"
    );

    // A move mixed with other changes cannot hide in an update.
    let (status, mixed) = app
        .call(
            Method::PATCH,
            &patch,
            Some(&ops),
            Some(json!({"version": 1, "title": "Sneaky", "planned_start": "2031-05-08T20:00:00Z"})),
        )
        .await;
    assert_eq!(
        (status, mixed["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("production_move_approval")),
        "{mixed}"
    );
    // A request on a stale version is refused like a stale move.
    let (status, _) = app
        .call(
            Method::PATCH,
            &patch,
            Some(&ops),
            Some(json!({"version": 0, "planned_start": "2031-05-08T20:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Four eyes: the requester and dev may not approve; projets may.
    let approve = format!("/api/v1/move-requests/{request_id}/approve");
    for (token, who) in [(&ops, "requester"), (&dev, "dev")] {
        let (status, body) = app.call(Method::POST, &approve, Some(token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
    }
    let approved = expect(&app, Method::POST, &approve, &pm, None, StatusCode::OK).await;
    assert_eq!(approved["request"]["status"], "approved", "{approved}");
    assert_eq!(approved["request"]["decided_by_username"], "demo-projets");
    assert_eq!(approved["job"]["planned_start"], "2031-05-07T20:00:00Z");
    assert_eq!(approved["job"]["planned_end"], "2031-05-07T21:00:00Z");
    assert_eq!(approved["job"]["version"], 2);
    let (status, again) = app.call(Method::POST, &approve, Some(&pm), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once: {again}");
    let shown = calendar_event(&app, &pm, project_id, job_id).await;
    assert_eq!(shown["extendedProps"]["pending_move"], Value::Null);

    // A request overtaken by a direct move is superseded, and cannot be approved.
    let second = expect(
        &app,
        Method::PATCH,
        &patch,
        &ops,
        Some(json!({"version": 2, "planned_start": "2031-05-09T20:00:00Z", "planned_end": null})),
        StatusCode::ACCEPTED,
    )
    .await;
    let second_id = second["id"].as_i64().unwrap_or_default();
    expect(
        &app,
        Method::PATCH,
        &patch,
        &pm,
        Some(json!({"version": 2, "planned_start": "2031-05-10T20:00:00Z", "planned_end": null})),
        StatusCode::OK,
    )
    .await;
    let overtaken = expect(
        &app,
        Method::GET,
        &format!("/api/v1/move-requests/{second_id}"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(overtaken["status"], "superseded", "{overtaken}");
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/move-requests/{second_id}/approve"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Rejected with a reason; withdrawn by its requester only.
    let third = expect(
        &app,
        Method::PATCH,
        &patch,
        &ops,
        Some(json!({"version": 3, "planned_start": "2031-05-11T20:00:00Z"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let third_id = third["id"].as_i64().unwrap_or_default();
    let rejected = expect(
        &app,
        Method::POST,
        &format!("/api/v1/move-requests/{third_id}/reject"),
        &admin,
        Some(json!({"reason": "Change freeze that week"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (rejected["status"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("Change freeze that week"))
    );
    let fourth = expect(
        &app,
        Method::PATCH,
        &patch,
        &ops,
        Some(json!({"version": 3, "planned_start": "2031-05-12T20:00:00Z"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let withdraw = format!(
        "/api/v1/move-requests/{}/withdraw",
        fourth["id"].as_i64().unwrap_or_default()
    );
    let (status, _) = app.call(Method::POST, &withdraw, Some(&dev), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not dev's request");
    let withdrawn = expect(&app, Method::POST, &withdraw, &ops, None, StatusCode::OK).await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(
        job(&app, &pm, job_id).await["planned_start"],
        "2031-05-10T20:00:00Z"
    );

    // Every step is in the audit log, on the job.
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=200",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|r| r["target_id"].as_str() == Some(job_id.to_string().as_str()))
                .filter_map(|r| r["action"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for expected in [
        "job.move_request",
        "job.move_approve",
        "job.reschedule",
        "job.move_reject",
        "job.move_withdraw",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
}

#[tokio::test]
async fn move_requests_on_sqlite() {
    move_requests(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn move_requests_on_postgres() {
    move_requests(TestEngine::Postgres).await;
}

/// The path of a feed URL (the test router has no host).
fn path_of(url: &str) -> String {
    url.split_once("/api/")
        .map(|(_, rest)| format!("/api/{rest}"))
        .unwrap_or_default()
}

async fn fetch_feed(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let (status, headers, body) = app.send(common::get(path)).await;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, text(&body))
}

async fn feeds(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let (project_id, job_id) = production_job(&app, "Feeds").await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let pm = app.token("demo-projets").await;
    // A job of the same project that demo-ops does not own.
    let other = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        &pm,
        Some(
            json!({"title": "Release notes", "job_type": "dev", "environment": "staging",
            "planned_start": "2031-05-06T09:00:00Z"}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let other_id = other["id"].as_i64().unwrap_or_default();
    // The feed covers the months around now: bring both jobs there.
    let soon = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT10:00:00Z")
        .to_string();
    for (id, token) in [(job_id, &pm), (other_id, &pm)] {
        let current = job(&app, token, id).await;
        expect(
            &app,
            Method::PATCH,
            &format!("/api/v1/jobs/{id}"),
            token,
            Some(
                json!({"version": current["version"], "planned_start": soon, "planned_end": null}),
            ),
            StatusCode::OK,
        )
        .await;
    }

    let mine = expect(
        &app,
        Method::POST,
        "/api/v1/calendar/feeds",
        &ops,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let token = mine["token"].as_str().unwrap_or_default().to_owned();
    assert!(token.starts_with("uhcal_") && token.len() > 40, "{mine}");
    let url = mine["url"].as_str().unwrap_or_default();
    assert!(
        url.ends_with(&format!("/api/v1/calendar/ical/{token}.ics")),
        "{url}"
    );
    assert_eq!(mine["feed"]["scope"], "user");
    let path = path_of(url);
    let (status, kind, body) = fetch_feed(&app, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(kind.starts_with("text/calendar"), "{kind}");
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
    assert!(
        body.contains(&format!("UID:uhub-job-{job_id}\r\n")),
        "{body}"
    );
    assert!(body.contains("SUMMARY:Certificate rotation"), "{body}");
    assert!(
        !body.contains(&format!("UID:uhub-job-{other_id}\r\n")),
        "only demo-ops' own jobs: {body}"
    );

    let project_feed = expect(
        &app,
        Method::POST,
        "/api/v1/calendar/feeds",
        &dev,
        Some(json!({"project_id": project_id})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(project_feed["feed"]["scope"], "project");
    let (status, _, body) = fetch_feed(
        &app,
        &path_of(project_feed["url"].as_str().unwrap_or_default()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!("UID:uhub-job-{job_id}\r\n")),
        "{body}"
    );
    assert!(
        body.contains(&format!("UID:uhub-job-{other_id}\r\n")),
        "{body}"
    );
    assert!(body.contains("X-WR-CALNAME:uHub · Feeds"), "{body}");
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/calendar/feeds",
            Some(&dev),
            Some(json!({"project_id": 999_999})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Listing shows a hint, never the token; only the owner (or an admin) may revoke.
    let listed = expect(
        &app,
        Method::GET,
        "/api/v1/calendar/feeds",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert!(!listed.to_string().contains(&token));
    assert_eq!(
        listed["items"][0]["token_hint"].as_str(),
        Some(&token[token.len() - 4..])
    );
    let feed_id = mine["feed"]["id"].as_i64().unwrap_or_default();
    let revoke = format!("/api/v1/calendar/feeds/{feed_id}");
    let (status, _) = app.call(Method::DELETE, &revoke, Some(&dev), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's feed");
    let (status, _) = app.call(Method::DELETE, &revoke, Some(&ops), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = fetch_feed(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked");
    for wrong in [
        "/api/v1/calendar/ical/uhcal_nope.ics".to_owned(),
        path.trim_end_matches(".ics").to_owned(),
    ] {
        let (status, _, _) = fetch_feed(&app, &wrong).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}");
    }
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=200",
        &app.token("demo-admin").await,
        None,
        StatusCode::OK,
    )
    .await;
    let text = audit.to_string();
    assert!(text.contains("calendar_feed.create") && text.contains("calendar_feed.revoke"));
    assert!(!text.contains(&token), "the token is never audited");
}

/// Anyone may knock at a feed's URL: a token that opens no feed is answered from a read, never
/// with a write turn (with SQLite uHub's writes take turns, so a stream of made-up tokens
/// held every change in uHub). Shown by holding the write turn: the knock is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_feed_token_takes_no_write_turn() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let held = app.storage.storage.write().await.expect("the write turn");
    let knock = format!("/api/v1/calendar/ical/uhcal_{}.ics", "a1".repeat(32));
    let answer = tokio::time::timeout(Duration::from_secs(20), fetch_feed(&app, &knock)).await;
    drop(held);
    let (status, _, _) = answer.expect("an unknown token waited for the write turn");
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ical_feeds_on_sqlite() {
    feeds(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn ical_feeds_on_postgres() {
    feeds(TestEngine::Postgres).await;
}

async fn filters(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let url = "/api/v1/calendar/filters";
    let initial = expect(&app, Method::GET, url, &ops, None, StatusCode::OK).await;
    assert_eq!(initial["color_by"], "project", "{initial}");
    assert_eq!(initial["view"], Value::Null);
    let chosen = json!({"view": "week", "color_by": "type", "type": "ops", "status": "planned",
        "environment": "prod", "project": null});
    expect(
        &app,
        Method::PUT,
        url,
        &ops,
        Some(chosen.clone()),
        StatusCode::OK,
    )
    .await;
    let kept = expect(&app, Method::GET, url, &ops, None, StatusCode::OK).await;
    for field in ["view", "color_by", "type", "status", "environment"] {
        assert_eq!(kept[field], chosen[field], "{field}: {kept}");
    }
    let others = expect(&app, Method::GET, url, &dev, None, StatusCode::OK).await;
    assert_eq!(others["view"], Value::Null, "per user");
    for wrong in [json!({"view": "year"}), json!({"colour": "type"})] {
        let (status, _) = app.call(Method::PUT, url, Some(&ops), Some(wrong)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn filters_are_remembered_per_user_on_sqlite() {
    filters(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn filters_are_remembered_per_user_on_postgres() {
    filters(TestEngine::Postgres).await;
}

/// Reads SSE frames until `count` `job` events arrived; their data parsed.
async fn job_events(body: &mut Body, count: usize) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while events.len() < count {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("{} of {count} events within 30 s: {buffer}", events.len()))
            .expect("stream open")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            buffer.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some((block, rest)) = buffer.split_once("\n\n") {
            let (block, rest) = (block.to_owned(), rest.to_owned());
            buffer = rest;
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_owned())
            };
            if field("event").as_deref() == Some("job") {
                let data = field("data").unwrap_or_default();
                events.push((
                    field("id").unwrap_or_default(),
                    serde_json::from_str(&data).unwrap_or(Value::Null),
                ));
            }
        }
    }
    events
}

fn stream_request(token: &str, last_event_id: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/api/v1/calendar/changes")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::ACCEPT, "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.body(Body::empty()).expect("request")
}

async fn stream(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let (_, job_id) = production_job(&app, "Live").await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let response = app
        .router
        .clone()
        .oneshot(stream_request(&dev, None))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream")));
    let mut body = response.into_body();
    // Someone else moves the job, then renames it.
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/jobs/{job_id}"),
        &pm,
        Some(json!({"version": 1, "planned_start": "2031-05-08T20:00:00Z", "planned_end": "2031-05-08T21:00:00Z"})),
        StatusCode::OK,
    )
    .await;
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/jobs/{job_id}"),
        &pm,
        Some(json!({"version": 2, "title": "Certificate rotation (EU)"})),
        StatusCode::OK,
    )
    .await;
    let events = job_events(&mut body, 2).await;
    let (first_id, first) = &events[0];
    assert_eq!(first["job_id"].as_i64(), Some(job_id), "{first}");
    assert_eq!(first["action"], "job.reschedule");
    assert_eq!(first["actor"], "demo-projets");
    assert_eq!(events[1].1["action"], "job.update");
    assert_eq!(first_id, &first["id"].to_string());
    drop(body);

    // A reconnecting reader resumes after the last event it saw.
    let resumed = app
        .router
        .clone()
        .oneshot(stream_request(&dev, Some(first_id)))
        .await
        .expect("infallible");
    let mut body = resumed.into_body();
    let replay = job_events(&mut body, 1).await;
    assert_eq!(replay[0].1["action"], "job.update", "{replay:?}");

    // Without the live header: the same changes as one JSON page.
    let page = expect(
        &app,
        Method::GET,
        &format!(
            "/api/v1/calendar/changes?after={}",
            first["id"].as_i64().unwrap_or(0) - 1
        ),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> = page
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["job.reschedule", "job.update"], "{page}");
    let (status, _) = app
        .call(Method::GET, "/api/v1/calendar/changes", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn live_stream_on_sqlite() {
    stream(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn live_stream_on_postgres() {
    stream(TestEngine::Postgres).await;
}
