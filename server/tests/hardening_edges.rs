//! The review's smaller holes, each replayed as it was found and shown closed: webhook targets
//! on internal addresses and their redirects and answers, starvation by webhook runs waiting
//! for callbacks and by one busy project, a single endless line of output, logins tried all at
//! once, `next` redirects as browsers read them, cross-site state changes riding the session
//! cookie, the webhook URL shown to readers, production named in another case, the client's
//! address in the audit of server functions, the crash sweep's lease and host, and server
//! functions' unreadable arguments answered as the caller's mistake (each function of the
//! registry tried).

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::routing::post;
use common::{expect, id, on_both_engines, script, settled, within_20_s, TestApp};
use serde_json::{json, Value};
use services::testing::TestEngine;

/// A project of `pm`'s with one environment `dev` on `backend`, and a dev job running `action`.
async fn project_and_job(
    app: &TestApp,
    pm: &str,
    dev: &str,
    name: &str,
    backend: &str,
    config: Value,
    action: Value,
) -> (i64, i64) {
    let project = expect(app, Method::POST, "/api/v1/projects", pm, Some(json!({
        "name": name, "environments": ["dev"], "execution_backend": backend, "execution_backend_config": config,
    })), StatusCode::CREATED).await;
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{}/jobs", id(&project)),
        dev,
        Some(json!({
            "title": format!("{name} job"), "job_type": "dev", "environment": "dev",
            "planned_start": "2031-01-01T09:00:00Z", "action": action,
        })),
        StatusCode::CREATED,
    )
    .await;
    (id(&project), id(&job))
}

async fn launch(app: &TestApp, token: &str, job_id: i64) -> i64 {
    let run = expect(
        app,
        Method::POST,
        &format!("/api/v1/jobs/{job_id}/runs"),
        token,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    id(&run)
}

type Hits = Arc<Mutex<Vec<String>>>;

/// A webhook target on the loopback: `/accept` takes triggers and never calls back, `/hook`
/// records, `/redirect` sends to `/hook`, `/loud` fails with a body that must not be copied.
async fn target() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let record = |path: &'static str| {
        let hits = hits.clone();
        move || async move {
            hits.lock().expect("lock").push(path.to_owned());
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let hook = format!("http://{address}/hook");
    let app = axum::Router::new()
        .route(
            "/accept",
            post({
                let record = record("/accept");
                move || async move {
                    record().await;
                    StatusCode::ACCEPTED
                }
            }),
        )
        .route(
            "/hook",
            post({
                let record = record("/hook");
                move || async move {
                    record().await;
                    StatusCode::ACCEPTED
                }
            }),
        )
        .route(
            "/redirect",
            post(
                move || async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, hook)]) },
            ),
        )
        .route(
            "/loud",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL-ONLY-BODY token=abc123",
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), hits)
}

fn webhook_config(url: &str) -> Value {
    json!({"webhook_url": url, "webhook_secret_name": "HOOK_KEY"})
}

async fn with_hook_key(app: &TestApp, pm: &str, project: i64) {
    expect(
        app,
        Method::PUT,
        &format!("/api/v1/projects/{project}/secrets/HOOK_KEY"),
        pm,
        Some(json!({"value": "hook-key-value-1234"})),
        StatusCode::OK,
    )
    .await;
}

/// Item 7: a webhook could reach loopback, private and metadata addresses, follow redirects,
/// and copied the target's answer into the run's reason.
async fn webhook_targets_stay_outside(engine: TestEngine) {
    let (base, hits) = target().await;
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let action = json!({"kind": "webhook"});
    let port = base.rsplit(':').next().unwrap_or("9").to_owned();
    for (n, url) in [
        format!("http://localhost:{port}/hook"),
        format!("http://127.0.0.2:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
        "http://0.0.0.0:9/hook".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let (project, job) = project_and_job(
            &app,
            &pm,
            &dev,
            &format!("Internal {n}"),
            "webhook",
            webhook_config(url),
            action.clone(),
        )
        .await;
        with_hook_key(&app, &pm, project).await;
        let done = settled(&app, &dev, launch(&app, &dev, job).await).await;
        assert_eq!(done["status"], "failed", "{url}: {done}");
        assert!(
            done["reason"]
                .as_str()
                .is_some_and(|r| r.contains("internal address") || r.contains("does not resolve")),
            "{url}: {done}"
        );
    }
    // Allowed by address, the receiver is reached; a redirect is not followed.
    let (project, job) = project_and_job(
        &app,
        &pm,
        &dev,
        "Redirect",
        "webhook",
        webhook_config(&format!("{base}/redirect")),
        action.clone(),
    )
    .await;
    with_hook_key(&app, &pm, project).await;
    let done = settled(&app, &dev, launch(&app, &dev, job).await).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["reason"].as_str().is_some_and(|r| r.contains("307")),
        "{done}"
    );
    assert!(
        !hits.lock().expect("lock").contains(&"/hook".to_owned()),
        "the redirect was followed"
    );
    // The target's answer: its status only.
    let (project, job) = project_and_job(
        &app,
        &pm,
        &dev,
        "Loud",
        "webhook",
        webhook_config(&format!("{base}/loud")),
        action,
    )
    .await;
    with_hook_key(&app, &pm, project).await;
    let run_id = launch(&app, &dev, job).await;
    let done = settled(&app, &dev, run_id).await;
    assert!(
        done["reason"].as_str().is_some_and(|r| r.contains("500")),
        "{done}"
    );
    let logs = app
        .storage
        .storage
        .run_logs(run_id, 0, 100)
        .await
        .expect("logs");
    let everything = format!("{done} {logs:?}");
    assert!(
        !everything.contains("INTERNAL-ONLY-BODY") && !everything.contains("abc123"),
        "{everything}"
    );
}

/// Item 12: four webhook runs whose targets never called back held every slot; every other run
/// of every project stayed queued. Also: one busy project cannot take every slot, and a queued
/// run says where it stands and why.
async fn runs_are_not_starved(engine: TestEngine) {
    let (base, _) = target().await;
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let (hooks, hook_job) = project_and_job(
        &app,
        &pm,
        &dev,
        "Silent targets",
        "webhook",
        webhook_config(&format!("{base}/accept")),
        json!({"kind": "webhook"}),
    )
    .await;
    with_hook_key(&app, &pm, hooks).await;
    let mut waiting = Vec::new();
    for _ in 0..4 {
        waiting.push(launch(&app, &dev, hook_job).await);
    }
    script(&app, "quick.sh", "echo quick");
    let (_, quick_job) = project_and_job(
        &app,
        &pm,
        &dev,
        "Elsewhere",
        "local",
        json!({}),
        json!({"kind": "script", "path": "quick.sh"}),
    )
    .await;
    let quick = launch(&app, &dev, quick_job).await;
    assert_eq!(
        settled(&app, &dev, quick).await["status"],
        "success",
        "another project's run was not starved"
    );
    for run_id in &waiting {
        // Triggered (the trigger may still be on its way on a busy machine), then waiting.
        let uri = format!("/api/v1/runs/{run_id}");
        within_20_s("a triggered run never waited for its callback", || async {
            let run = expect(&app, Method::GET, &uri, &dev, None, StatusCode::OK).await;
            assert_eq!(run["status"], "running", "{run}");
            run["callback_deadline"].is_string().then_some(())
        })
        .await;
    }

    // One project with more runs than its share: the rest wait, and say why.
    script(&app, "slow.sh", "sleep 30");
    let (_, slow_job) = project_and_job(
        &app,
        &pm,
        &dev,
        "Busy",
        "local",
        json!({}),
        json!({"kind": "script", "path": "slow.sh"}),
    )
    .await;
    let mut busy = Vec::new();
    for _ in 0..5 {
        busy.push(launch(&app, &dev, slow_job).await);
    }
    let last = *busy.last().expect("runs");
    let last_uri = format!("/api/v1/runs/{last}");
    let queued = within_20_s("three of the busy project's runs never ran", || async {
        let running = app
            .storage
            .storage
            .runs_in_states(&[domain::RunStatus::Running], 100)
            .await
            .expect("runs");
        let mine = running.iter().filter(|r| busy.contains(&r.id)).count();
        let run = expect(&app, Method::GET, &last_uri, &dev, None, StatusCode::OK).await;
        (mine == 3).then_some(run)
    })
    .await;
    assert_eq!(queued["status"], "queued", "{queued}");
    assert!(
        queued["queue"]["position"].as_i64().is_some_and(|p| p >= 1),
        "{queued}"
    );
    assert!(
        queued["queue"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("at most 3")),
        "{queued}"
    );
    for run_id in busy.iter().chain(&waiting) {
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/runs/{run_id}/cancel"),
                Some(&dev),
                None,
            )
            .await;
        assert!(status.is_success(), "cancel {run_id}: {status}");
    }
}

/// Item 8: a single line of 50 MB was held whole before it was cut.
async fn an_endless_line_costs_a_bounded_amount(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    script(
        &app,
        "flood.sh",
        "head -c 52428800 /dev/zero | tr '\\0' a; echo; echo after",
    );
    let (_, job) = project_and_job(
        &app,
        &pm,
        &dev,
        "Flood",
        "local",
        json!({}),
        json!({"kind": "script", "path": "flood.sh"}),
    )
    .await;
    let run_id = launch(&app, &dev, job).await;
    let done = settled(&app, &dev, run_id).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["log_truncated"], true, "{done}");
    let lines = app
        .storage
        .storage
        .run_logs(run_id, 0, 10_000)
        .await
        .expect("logs");
    let longest = lines.iter().map(|l| l.line.len()).max().unwrap_or_default();
    let stored: usize = lines.iter().map(|l| l.line.len()).sum();
    println!(
        "{engine:?}: a 50 MB line stored as {} lines, {stored} bytes, longest {longest}",
        lines.len()
    );
    assert!(
        longest <= services::engine::output::MAX_LINE_BYTES,
        "{longest}"
    );
    assert!(stored <= 6 * 1024 * 1024, "the log's cap holds: {stored}");
    assert!(lines.iter().any(|l| l.line.contains("log truncated")));
}

/// Item 9: attempts sent at once were all checked before the first failure was counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_sent_at_once_are_counted_before_they_are_checked() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let attempts = (0..20).map(|_| app.login("demo-dev", "wrong password"));
    let answers = futures_util::future::join_all(attempts).await;
    let refused = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (refused, throttled),
        (5, 15),
        "five attempts are checked, the others wait"
    );
    let (status, _, _) = app.login("demo-dev", "demo-dev").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    // Fifteen refusals, one audit row (the others are counted, summed up when the lockout ends).
    let admin = app.token("demo-admin").await;
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?action=auth.login&limit=200",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    let rows = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["outcome"] == "denied")
        .count();
    assert_eq!(rows, 1, "{audit}");

    // The current password of a password change is guessed through the same throttle.
    let ops = app.token("demo-ops").await;
    for attempt in 0..5 {
        let (status, body) = app.call(Method::POST, "/api/v1/auth/password", Some(&ops),
            Some(json!({"current_password": format!("guess-{attempt}"), "new_password": "a brand new passphrase"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&ops),
            Some(json!({"current_password": "demo-ops", "new_password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Item 10: `next` was checked for `//` and `\` only; browsers also drop tabs and line breaks
/// and resolve dot segments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_leads_only_to_a_page_of_this_site() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    for (next, expected) in [
        ("/projects?view=list#top", "/projects?view=list#top"),
        ("/calendar", "/calendar"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/%09/evil.example", "/%09/evil.example"),
        (" /evil", "/"),
        ("/..//evil.example", "/"),
        ("/./\\/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/a/../b", "/b"),
    ] {
        let form = format!(
            "username=demo-ops&password=demo-ops&next={}",
            common::encode(next)
        );
        let request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .expect("request");
        let (status, headers, _) = app.send(request).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(headers[header::LOCATION], expected, "{next:?}");
    }
}

/// Item 11: a page elsewhere could make the browser post to uHub with its session cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_changes_must_come_from_a_uhub_page() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let pm = app.token("demo-projets").await;
    let post = |origin: Option<(&str, &str)>, host: Option<&str>, name: &str| {
        let mut request = Request::post("/api/v1/projects")
            .header(header::COOKIE, format!("uhub_session={pm}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some((header_name, value)) = origin {
            request = request.header(header_name, value);
        }
        if let Some(host) = host {
            request = request.header(header::HOST, host);
        }
        request
            .body(Body::from(
                json!({"name": name, "environments": ["dev"]}).to_string(),
            ))
            .expect("request")
    };
    for (origin, name) in [
        (None, "No origin"),
        (Some(("origin", "https://evil.example")), "Evil origin"),
        (Some(("origin", "null")), "Null origin"),
        (
            Some(("referer", "https://evil.example/uhub")),
            "Evil referer",
        ),
        (
            Some(("origin", "http://127.0.0.1:3000.evil.example")),
            "Lookalike",
        ),
    ] {
        let (status, _, body) = app.send(post(origin, None, name)).await;
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("cross_site_request")),
            "{name}"
        );
    }
    for (origin, host, name) in [
        (("origin", "http://127.0.0.1:3000"), None, "Public URL"),
        (
            ("referer", "http://127.0.0.1:3000/projects"),
            None,
            "Referer",
        ),
        (
            ("origin", "https://uhub.example.org"),
            Some("uhub.example.org"),
            "Behind a proxy",
        ),
    ] {
        let (status, _, body) = app.send(post(Some(origin), host, name)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{name}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Bearer calls are not concerned; reads neither.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&pm),
            Some(json!({"name": "Scripted", "environments": ["dev"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = app.send(TestApp::page("/projects", &pm)).await;
    assert_eq!(status, StatusCode::OK);
    // Server functions and the account forms alike.
    for uri in ["/sfn/calendar/feeds/create", "/logout", "/account/password"] {
        let request = Request::post(uri)
            .header(header::COOKIE, format!("uhub_session={pm}"))
            .header(header::ORIGIN, "https://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .expect("request");
        let (status, _, _) = app.send(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }
}

/// Item 13: the webhook URL (which may carry a token) was shown to every reader; `Prod` was not
/// production; server functions did not record the client's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smaller_holes_stay_closed() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let url = "https://ci.example.org/hooks/uhub?token=ci-t0ken-991";
    let project = expect(&app, Method::POST, "/api/v1/projects", &pm, Some(json!({
        "name": "Hidden target", "environments": ["dev", "Prod"], "execution_backend": "webhook",
        "execution_backend_config": {"webhook_url": url},
    })), StatusCode::CREATED).await;
    let project_id = id(&project);
    for uri in [
        format!("/api/v1/projects/{project_id}"),
        "/api/v1/projects".to_owned(),
        format!("/api/v1/projects/{project_id}/context"),
    ] {
        let seen = expect(&app, Method::GET, &uri, &dev, None, StatusCode::OK).await;
        assert!(!seen.to_string().contains("ci-t0ken-991"), "{uri}: {seen}");
        let owner = expect(&app, Method::GET, &uri, &pm, None, StatusCode::OK).await;
        assert!(
            owner.to_string().contains("ci-t0ken-991"),
            "the owner sees it: {uri}"
        );
    }
    // `Prod` is production, whatever its case.
    let environments = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}/environments"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    let prod = environments["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "Prod")
        .cloned()
        .unwrap_or_default();
    assert_eq!(prod["is_production"], true, "{environments}");
    let refused = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &dev, Some(json!({
        "title": "Sneaky", "job_type": "dev", "environment": "Prod", "planned_start": "2031-01-01T09:00:00Z",
    })), StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "dev_jobs_non_production");

    // A server function's change is audited with the client's address, as REST's are.
    let mut request = Request::post("/sfn/calendar/feeds/create")
        .header(header::COOKIE, format!("uhub_session={dev}"))
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .expect("request");
    let address: SocketAddr = "192.0.2.44:50123".parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(address));
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let admin = app.token("demo-admin").await;
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?action=calendar_feed.create",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit["items"][0]["client_ip"], "192.0.2.44", "{audit}");
}

/// A server function's arguments that cannot be read (a number that is not one, a missing
/// field, a body that is not UTF-8) are the caller's mistake: 400 with a stable code, as REST
/// answers a malformed body — not a 500, which said the server had failed and reached its error
/// log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_functions_unreadable_arguments_are_the_callers_mistake() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let ops = app.token("demo-ops").await;
    let to = |uri: &'static str, content_type: &'static str, body: &'static [u8]| {
        Request::post(uri)
            .header(header::COOKIE, format!("uhub_session={ops}"))
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request")
    };
    let call = |body| {
        to(
            "/sfn/incidents/pin",
            "application/x-www-form-urlencoded",
            body,
        )
    };
    // The functions that take JSON (the job editor's save) read their body another way.
    let save = |body| to("/sfn/jobs/save", "application/json", body);
    for (what, request) in [
        (
            "a number that is not one",
            call(b"id=abc&reference=x&pinned=true"),
        ),
        ("a missing field", call(b"id=1")),
        (
            "a boolean that is not one",
            call(b"id=1&reference=x&pinned=maybe"),
        ),
        (
            "a body that is not UTF-8",
            call(b"id=1&reference=\xff\xfe&pinned=true"),
        ),
        ("JSON that is not JSON", save(b"{bad")),
        ("JSON without its fields", save(b"{}")),
    ] {
        let (status, _, answer) = app.send(request).await;
        let answer: Value = serde_json::from_slice(&answer).expect("a JSON error");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["code"], "malformed_request", "{what}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("arguments")),
            "{what}: {answer}"
        );
    }
    // Readable arguments still reach the use case, and its refusals keep their status.
    let (status, _, answer) = app.send(call(b"id=999999&reference=x&pinned=true")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

/// Every registered server function, called by an admin with what it cannot read (a form with
/// a broken escape and a word for a number, broken JSON), answers the caller's mistake or a
/// refusal: never a 5xx, which would say the server failed and reach its error log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_function_fails_on_what_it_cannot_read() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let admin = app.token("demo-admin").await;
    let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    // A registry that lost functions (not linked in) would make this test pass on nothing.
    assert!(
        functions.len() >= 80,
        "only {} server functions registered",
        functions.len()
    );
    for (path, method) in functions {
        for (content_type, body) in [
            ("application/x-www-form-urlencoded", "zz=%ZZ&id=abc"),
            ("application/json", "{bad"),
        ] {
            let uri = if method == Method::GET {
                format!("{path}?{body}")
            } else {
                path.to_owned()
            };
            let request = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header(header::COOKIE, format!("uhub_session={admin}"))
                .header(header::ORIGIN, "http://127.0.0.1:3000")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .expect("request");
            let (status, _, answer) = app.send(request).await;
            assert!(
                status.is_success() || status.is_client_error(),
                "{method} {path} with {content_type} {body:?}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
        }
    }
}

/// Item 13: the sweep settled runs by their heartbeat's age, and signalled any process group
/// recorded, on whatever host it was recorded: a paused process, or another host's, lost its
/// runs, and an unrelated process here could be killed. And a process whose own lease renewal
/// was late (the database busy for longer than `orphan_after`) settled and killed its own runs.
async fn the_sweep_settles_only_dead_workers_runs_and_signals_only_its_own_host(
    engine: TestEngine,
) {
    use domain::{ExecutionBackend, RunStatus};
    use services::storage::{Actor, ClaimLimits, NewJob, NewProject};
    let test = services::testing::TestStorage::new(engine).await;
    let storage = &test.storage;
    let scripts = tempfile::tempdir().expect("scripts");
    // Not started: this test runs the sweep itself; the other workers are played by hand.
    let executor = common::test_executor(storage, scripts.path());
    let project = storage
        .create_project(&NewProject::named("Sweep", &["dev"]), &Actor::system())
        .await
        .expect("project");
    let job = storage
        .create_job(
            &NewJob::planned(
                project.id,
                "Sweep",
                domain::JobType::Dev,
                Some("dev"),
                chrono::Utc::now(),
            ),
            &Actor::system(),
        )
        .await
        .expect("job");
    let here = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let limits = ClaimLimits {
        per_environment: 10,
        per_project: 10,
        slots: 10,
    };
    let mut started = Vec::new();
    // The sweeping process itself, whose lease renewal is held up (a database busy for longer
    // than `orphan_after`): it knows its runs are alive, and must never settle nor kill them.
    let own = executor.worker().to_owned();
    for (worker, host) in [
        ("live", "other-host"),
        ("dead-elsewhere", "other-host"),
        ("dead-here", here.as_str()),
        (own.as_str(), here.as_str()),
    ] {
        // What a script of that worker left running: a process group of this machine.
        let mut command = std::process::Command::new("sleep");
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let process = command.arg("60").spawn().expect("sleep");
        storage.renew_lease(worker, host).await.expect("lease");
        let run = storage
            .create_run(
                &common::recorded_run(
                    job.id,
                    Some("dev"),
                    ExecutionBackend::Local,
                    RunStatus::Queued,
                    None,
                ),
                &Actor::system(),
            )
            .await
            .expect("run");
        let claimed = storage
            .claim_runs(worker, &[ExecutionBackend::Local], 1, &limits)
            .await
            .expect("claim");
        assert_eq!(claimed.first().map(|r| r.id), Some(run.id), "{worker}");
        storage
            .set_external_id(run.id, &format!("pgid:{}", process.id()))
            .await
            .expect("pgid");
        started.push((run.id, process));
    }
    // The live worker renews its lease past the sweep's 2 s; the others stopped at once.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        storage
            .renew_lease("live", "other-host")
            .await
            .expect("lease");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settled_now = executor.sweep().await.expect("sweep");
    assert_eq!(settled_now, 2, "the two dead workers' runs");
    let mut statuses = Vec::new();
    for (run_id, process) in &mut started {
        let status = storage.run(*run_id).await.expect("run").status;
        tokio::time::sleep(Duration::from_millis(100)).await;
        statuses.push((status, process.try_wait().expect("wait").is_none()));
    }
    for (_, process) in &mut started {
        let _ = process.kill();
        let _ = process.wait();
    }
    assert_eq!(
        statuses,
        [
            (RunStatus::Running, true),
            (RunStatus::Failed, true),
            (RunStatus::Failed, false),
            (RunStatus::Running, true),
        ],
        "live: left alone; dead elsewhere: settled, its process group untouched (it is another machine's); dead here: settled and stopped; the sweeper's own, its lease late: left alone"
    );
}

on_both_engines!(
    the_sweep_settles_only_dead_workers_runs_and_signals_only_its_own_host,
    webhook_targets_stay_outside,
    runs_are_not_starved,
    an_endless_line_costs_a_bounded_amount,
);
