//! Benchmark (not a test): what uHub adds to a run. A local run of `true` through the whole path
//! (HTTP launch, policy, queue, dispatcher, process, log, final status) against spawning the same
//! `true` directly: medians of 100. Then runs per second with 4 workers. Prints; never fails on a
//! number. Run with `scripts/bench.sh`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::json;
use services::testing::TestEngine;

#[path = "../tests/common/mod.rs"]
mod common;
use common::TestApp;

const SAMPLES: usize = 100;
const THROUGHPUT_RUNS: usize = 200;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn launch(app: &TestApp, bearer: &str, job_id: i64) -> i64 {
    let request = Request::post(format!("/api/v1/jobs/{job_id}/runs"))
        .header(header::AUTHORIZATION, bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .expect("request");
    let (status, _, body) = app.send(request).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let run: serde_json::Value = serde_json::from_slice(&body).expect("json");
    run["id"].as_i64().expect("id")
}

async fn finished(app: &TestApp, run_id: i64) {
    loop {
        let run = app.storage.storage.run(run_id).await.expect("run");
        if run.status.is_final() {
            assert_eq!(run.status, domain::RunStatus::Success, "{run:?}");
            return;
        }
        // Not a timer: tokio's sleeps last a millisecond at least, which would be measured
        // as overhead. Each check is a query, so this polls about every 50 µs.
        tokio::task::yield_now().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    // The very binary `true`, copied into the scripts directory.
    let script = app.scripts.path().join("true");
    let system_true = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("a `true` binary");
    std::fs::copy(system_true, &script).expect("copy true");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let pm = app.token("demo-projets").await;
    let (_, project) = app
        .call(
            axum::http::Method::POST,
            "/api/v1/projects",
            Some(&pm),
            Some(json!({"name": "Bench", "environments": ["dev"], "execution_backend": "local"})),
        )
        .await;
    let dev = app.token("demo-dev").await;
    let (_, job) = app
        .call(axum::http::Method::POST, &format!("/api/v1/projects/{}/jobs", project["id"]), Some(&dev), Some(json!({
            "title": "true", "job_type": "dev", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
            "action": {"kind": "script", "path": "true"},
        })))
        .await;
    let job_id = job["id"].as_i64().expect("job");
    let bearer = format!("Bearer {dev}");

    let mut direct = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let status = tokio::process::Command::new(&script)
            .status()
            .await
            .expect("spawn");
        assert!(status.success());
        direct.push(started.elapsed());
    }
    // Warm-up: connections, caches.
    for _ in 0..5 {
        let run = launch(&app, &bearer, job_id).await;
        finished(&app, run).await;
    }
    let mut through = Vec::with_capacity(SAMPLES);
    // Where the time goes, from the run's own timestamps (the same clock as the benchmark's).
    let (mut answered, mut claimed, mut executed, mut seen) = (vec![], vec![], vec![], vec![]);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let at = chrono::Utc::now();
        let run = launch(&app, &bearer, job_id).await;
        answered.push(started.elapsed());
        finished(&app, run).await;
        through.push(started.elapsed());
        let done = chrono::Utc::now();
        let run = app.storage.storage.run(run).await.expect("run");
        let since = |from: chrono::DateTime<chrono::Utc>,
                     to: Option<chrono::DateTime<chrono::Utc>>| {
            to.and_then(|to| (to - from).to_std().ok())
                .unwrap_or_default()
        };
        if let (Some(start), Some(end)) = (run.started_at, run.finished_at) {
            claimed.push(since(at, Some(start)));
            executed.push(since(start, Some(end)));
            seen.push(since(end, Some(done)));
        }
    }
    let (direct, through) = (median(direct), median(through));
    println!("target on this 2-core machine: < 3 ms of overhead per run");
    println!("local run of `true` (SQLite), median of {SAMPLES}:");
    println!("  spawned directly:             {}", ms(direct));
    println!("  through uHub (launch → success): {}", ms(through));
    println!(
        "  overhead:                     {}",
        ms(through.saturating_sub(direct))
    );
    println!(
        "  where it goes (medians): launch answered {}, claimed (started_at) {} after the launch, \
         started → finished_at {}, finished_at → seen by the benchmark {}",
        ms(median(answered)),
        ms(median(claimed)),
        ms(median(executed)),
        ms(median(seen))
    );

    let started = Instant::now();
    let mut runs = Vec::with_capacity(THROUGHPUT_RUNS);
    for _ in 0..THROUGHPUT_RUNS {
        runs.push(launch(&app, &bearer, job_id).await);
    }
    for run in runs {
        finished(&app, run).await;
    }
    let elapsed = started.elapsed();
    println!(
        "throughput with 4 workers: {THROUGHPUT_RUNS} runs in {:.2} s = {:.0} runs/s",
        elapsed.as_secs_f64(),
        THROUGHPUT_RUNS as f64 / elapsed.as_secs_f64()
    );
}
