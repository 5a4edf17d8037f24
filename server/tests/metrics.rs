//! `GET /metrics`: who may scrape (attacks first: other hosts, forged forwarding headers, a
//! session instead of the token, the token in the URL), what the answer says and never says,
//! `promtool check metrics` on it, and a real Prometheus (Debian's) scraping a served uHub and
//! answering a PromQL query with the runs counter.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use services::testing::TestEngine;

use crate::common::git::free_port;
use crate::common::{
    dev_ops_job, id, launch, local_dev_project, script, settled, within_20_s, TestApp,
};

const TOKEN: &str = "metrics-token-0123456789abcdef";

fn scrape(peer: Option<&str>) -> axum::http::request::Builder {
    let mut builder = Request::get("/metrics");
    if let Some(peer) = peer {
        let ip: std::net::IpAddr = peer.parse().expect("peer");
        let address = SocketAddr::new(ip, 41000);
        builder = builder.extension(ConnectInfo(address));
    }
    builder
}

async fn status_of(app: &TestApp, request: axum::http::request::Builder) -> (StatusCode, String) {
    let (status, _, body) = app
        .send(request.body(Body::empty()).expect("request"))
        .await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_the_loopback_may_scrape() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let admin = app.token("demo-admin").await;

    // No peer address at all (a test client, a misconfigured proxy): refused.
    assert_eq!(status_of(&app, scrape(None)).await.0, StatusCode::FORBIDDEN);
    // Another host, even claiming to forward for the loopback, even with an admin's session.
    let (status, body) = status_of(
        &app,
        scrape(Some("10.0.0.9"))
            .header("x-forwarded-for", "127.0.0.1")
            .header("x-real-ip", "127.0.0.1")
            .header(header::AUTHORIZATION, format!("Bearer {admin}")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("UHUB_METRICS_TOKEN"), "{body}");
    assert!(!body.contains("uhub_"), "no metric leaks in a refusal");

    let (status, body) = status_of(&app, scrape(Some("127.0.0.1"))).await;
    assert_eq!(status, StatusCode::OK);
    for family in [
        "# HELP uhub_http_requests_total",
        "# TYPE uhub_http_request_duration_seconds histogram",
        "uhub_run_queue_depth",
        "uhub_runs_awaiting_approval",
        "uhub_db_pool_connections{state=\"idle\"}",
        "uhub_db_pool_max_connections ",
        "uhub_build_info{",
    ] {
        assert!(body.contains(family), "{family} missing from:\n{body}");
    }
    let (status, _) = status_of(&app, scrape(Some("::1"))).await;
    assert_eq!(status, StatusCode::OK, "IPv6 loopback");
    // A page in a browser of this host, reaching loopback through a rebound DNS name.
    let (status, _) = status_of(
        &app,
        scrape(Some("127.0.0.1")).header(header::HOST, "rebound.evil.example:3000"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "DNS rebinding");
    let (status, _) = status_of(
        &app,
        scrape(Some("127.0.0.1")).header(header::HOST, "127.0.0.1:3000"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "Prometheus' own Host header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_scraper_needs_it_in_the_header() {
    let app = TestApp::with_demo(TestEngine::Sqlite)
        .await
        .with_metrics_token(TOKEN);
    let admin = app.token("demo-admin").await;
    for (what, request) in [
        ("loopback without the token", scrape(Some("127.0.0.1"))),
        (
            "the token in the query string",
            Request::get(format!("/metrics?token={TOKEN}&access_token={TOKEN}")).extension(
                ConnectInfo("127.0.0.1:4000".parse::<SocketAddr>().expect("a")),
            ),
        ),
        (
            "a wrong token",
            scrape(Some("127.0.0.1")).header(
                header::AUTHORIZATION,
                "Bearer metrics-token-0123456789abcdeX",
            ),
        ),
        (
            "a prefix of the token",
            scrape(Some("127.0.0.1")).header(header::AUTHORIZATION, "Bearer metrics-token"),
        ),
        (
            "the token as Basic credentials",
            scrape(Some("127.0.0.1")).header(header::AUTHORIZATION, format!("Basic {TOKEN}")),
        ),
        (
            "an admin's session token",
            scrape(Some("127.0.0.1")).header(header::AUTHORIZATION, format!("Bearer {admin}")),
        ),
        (
            "an admin's session cookie",
            scrape(Some("127.0.0.1")).header(header::COOKIE, format!("uhub_session={admin}")),
        ),
    ] {
        let (status, headers, _) = app
            .send(request.body(Body::empty()).expect("request"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            headers
                .get(header::WWW_AUTHENTICATE)
                .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Bearer")),
            "{what}"
        );
    }
    let (status, body) = status_of(
        &app,
        scrape(Some("192.0.2.10")).header(header::AUTHORIZATION, format!("Bearer {TOKEN}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the token works from anywhere");
    assert!(body.contains("uhub_build_info"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_count_what_happens_and_name_no_one() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let ops = app.token("demo-ops").await;
    let pm = app.token("demo-projets").await;

    // A run to count, a failed login, an unusual method, a path holding an id.
    a_successful_run(&app, &pm, &ops, "Counted", "Count me", "ok.sh").await;
    let (status, _, _) = app.login("demo-dev", "not-the-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let odd = Request::builder()
        .method(Method::from_bytes(b"PURGE").expect("method"))
        .uri("/api/v1/projects")
        .body(Body::empty())
        .expect("request");
    app.send(odd).await;
    let (status, _, _) = app
        .send(
            Request::get("/api/v1/jobs/987654321")
                .header(header::AUTHORIZATION, format!("Bearer {ops}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = status_of(&app, scrape(Some("127.0.0.1"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("uhub_runs_finished_total{status=\"success\",backend=\"local\"}")
            || body.contains("uhub_runs_finished_total{backend=\"local\",status=\"success\"}"),
        "{body}"
    );
    assert!(body.contains("uhub_runs_started_total{backend=\"local\"}"));
    assert!(body.contains("uhub_login_failures_total"));
    assert!(
        body.contains("route=\"/api/v1/jobs/{id}\""),
        "route templates, not paths"
    );
    assert!(
        !body.contains("987654321"),
        "an id from a path became a label"
    );
    assert!(body.contains("method=\"other\"") && !body.contains("PURGE"));
    for private in [
        "demo-ops",
        "demo-dev",
        "Counted",
        "Count me",
        "not-the-password",
        "ok.sh",
    ] {
        assert!(!body.contains(private), "`{private}` in the metrics");
    }

    // Prometheus' own linter on the whole exposition.
    let promtool = std::env::var("UHUB_TEST_PROMTOOL")
        .expect("UHUB_TEST_PROMTOOL: scripts/test.sh installs Debian's prometheus (promtool)");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(body.as_bytes())
            .expect("write");
    }
    let output = child.wait_with_output().expect("promtool output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool check metrics: {said}");
    assert_eq!(said.trim(), "", "promtool has remarks:\n{said}");
}

/// A project `project` with a job `title` whose local script `script_name` succeeds, run once
/// to its end: something for the runs counters.
async fn a_successful_run(
    app: &TestApp,
    pm: &str,
    ops: &str,
    project: &str,
    title: &str,
    script_name: &str,
) {
    let project = local_dev_project(app, pm, project).await;
    script(app, script_name, "echo counted");
    let action = json!({"kind": "script", "path": script_name});
    let job = dev_ops_job(app, ops, id(&project), title, action).await;
    let run = launch(app, ops, job, json!({}), StatusCode::CREATED).await;
    let done = settled(app, ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}");
}

/// Kills Prometheus when the test ends, passed or not.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_real_prometheus_scrapes_uhub_and_answers_promql() {
    let prometheus_bin = std::env::var("UHUB_TEST_PROMETHEUS")
        .expect("UHUB_TEST_PROMETHEUS: scripts/test.sh installs Debian's prometheus");
    let app = TestApp::with_demo(TestEngine::Sqlite)
        .await
        .with_metrics_token(TOKEN);
    let ops = app.token("demo-ops").await;
    let pm = app.token("demo-projets").await;

    // uHub on a real socket, as Prometheus reaches it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let uhub_address = listener.local_addr().expect("address");
    let served = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, served).await });

    let work = tempfile::tempdir().expect("work dir");
    std::fs::write(work.path().join("token"), TOKEN).expect("token file");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: uhub\n    authorization:\n      credentials_file: {}\n    static_configs:\n      - targets: ['{uhub_address}']\n",
        work.path().join("token").display()
    );
    std::fs::write(work.path().join("prometheus.yml"), config).expect("config");
    let port = free_port();
    let _prometheus = Prometheus(
        Command::new(prometheus_bin)
            .arg(format!(
                "--config.file={}",
                work.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.path().join("prometheus.log")).expect("log"))
            .spawn()
            .expect("prometheus starts"),
    );

    // Something for the runs counter.
    a_successful_run(&app, &pm, &ops, "Scraped", "Scraped", "scraped.sh").await;

    let client = reqwest::Client::new();
    let query = |promql: &'static str| {
        let client = client.clone();
        async move {
            let answer: Value = client
                .get(format!("http://127.0.0.1:{port}/api/v1/query"))
                .query(&[("query", promql)])
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let results = answer["data"]["result"].as_array()?.clone();
            (!results.is_empty()).then_some(results)
        }
    };
    // Prometheus scrapes about a second after it starts: poll (up to 20 s).
    let runs = within_20_s("Prometheus has the runs counter", || {
        query("sum by (status) (uhub_runs_finished_total{job=\"uhub\", backend=\"local\"})")
    })
    .await;
    assert!(
        runs.iter().any(|r| r["metric"]["status"] == "success"
            && r["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()) >= Some(1.0)),
        "{runs:?}"
    );
    let up = within_20_s("the target is up", || query("up{job=\"uhub\"} == 1")).await;
    assert_eq!(up.len(), 1, "{up:?}");
    let requests = within_20_s("request rates by route", || {
        query("sum by (route) (uhub_http_requests_total{route=\"/api/v1/jobs/{id}/runs\"})")
    })
    .await;
    assert!(!requests.is_empty());
}
