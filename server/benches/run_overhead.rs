//! Benchmark (not a test): what uHub adds to a run. A local run of `true` through the whole path
//! (HTTP launch, policy, queue, dispatcher, process, log, final status) against spawning the same
//! `true` directly: medians of 100, the end learnt as a live log reader learns it (announced) and,
//! for comparison with earlier figures, by polling. Then runs per second with 4 workers, and a
//! chatty run (`seq 1 100000`: its log written as it comes) against the same script spawned
//! directly. Prints; never fails on a number. Run with `scripts/bench.sh`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::json;
use services::storage::RunChanges;
use services::testing::TestEngine;

#[path = "../tests/common/mod.rs"]
mod common;
use common::TestApp;

const SAMPLES: usize = 100;
const THROUGHPUT_RUNS: usize = 200;
/// Lines the chatty run prints, and how many times it runs.
const CHATTY_LINES: usize = 100_000;
const CHATTY_SAMPLES: usize = 5;

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

/// How the benchmark learns that a run ended.
#[derive(Clone, Copy, PartialEq)]
enum Wait {
    /// As a live log reader of this process does: uHub announces each change of a run once
    /// committed (its log, its end), and the reader then reads the run; a poll every 200 ms
    /// catches what is not announced.
    Announced,
    /// As this benchmark did until 2026-12-04: a query, `yield_now`, a query… about every 50 µs,
    /// on one of the two cores the run needs. Kept so that the figures stay comparable.
    Polled,
}

/// Waits for run `run_id` to succeed. `changes` was subscribed before the launch.
async fn finished(app: &TestApp, run_id: i64, wait: Wait, changes: &mut RunChanges) {
    loop {
        let run = app.storage.storage.run(run_id).await.expect("run");
        if run.status.is_final() {
            assert_eq!(run.status, domain::RunStatus::Success, "{run:?}");
            return;
        }
        if wait == Wait::Polled {
            // Not a timer: tokio's sleeps last a millisecond at least.
            tokio::task::yield_now().await;
            continue;
        }
        changes.changed(run_id, Duration::from_millis(200)).await;
    }
}

/// Medians of `SAMPLES` runs launched one after the other: launch → success, and where the time
/// goes from the run's own timestamps (the same clock as the benchmark's).
struct Through {
    total: Duration,
    answered: Duration,
    claimed: Duration,
    executed: Duration,
    seen: Duration,
}

async fn through_uhub(app: &TestApp, bearer: &str, job_id: i64, wait: Wait) -> Through {
    let (mut total, mut answered, mut claimed, mut executed, mut seen) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..SAMPLES {
        let mut changes = app.storage.storage.run_changes();
        let started = Instant::now();
        let at = chrono::Utc::now();
        let run = launch(app, bearer, job_id).await;
        answered.push(started.elapsed());
        finished(app, run, wait, &mut changes).await;
        total.push(started.elapsed());
        let done = chrono::Utc::now();
        let run = app.storage.storage.run(run).await.expect("run");
        let since = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
            (to - from).to_std().unwrap_or_default()
        };
        if let (Some(start), Some(end)) = (run.started_at, run.finished_at) {
            claimed.push(since(at, start));
            executed.push(since(start, end));
            seen.push(since(end, done));
        }
    }
    Through {
        total: median(total),
        answered: median(answered),
        claimed: median(claimed),
        executed: median(executed),
        seen: median(seen),
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
        let mut changes = app.storage.storage.run_changes();
        let run = launch(&app, &bearer, job_id).await;
        finished(&app, run, Wait::Announced, &mut changes).await;
    }
    let direct = median(direct);
    println!("target on this 2-core machine: < 3 ms of overhead per run");
    println!("local run of `true` (SQLite), median of {SAMPLES}:");
    println!("  spawned directly:             {}", ms(direct));
    for (wait, how) in [
        (
            Wait::Announced,
            "end announced (as a live log reader hears it)",
        ),
        (
            Wait::Polled,
            "end polled every ~50 µs (the measure until 2026-12-04)",
        ),
    ] {
        let run = through_uhub(&app, &bearer, job_id, wait).await;
        println!("  through uHub, {how}:");
        println!(
            "    launch → success {}, overhead {}",
            ms(run.total),
            ms(run.total.saturating_sub(direct))
        );
        println!(
            "    where it goes (medians): launch answered {}, claimed (started_at) {} after the \
             launch, started → finished_at {}, finished_at → seen by the benchmark {}",
            ms(run.answered),
            ms(run.claimed),
            ms(run.executed),
            ms(run.seen)
        );
    }

    let mut changes = app.storage.storage.run_changes();
    let started = Instant::now();
    let mut runs = Vec::with_capacity(THROUGHPUT_RUNS);
    for _ in 0..THROUGHPUT_RUNS {
        runs.push(launch(&app, &bearer, job_id).await);
    }
    for run in runs {
        finished(&app, run, Wait::Announced, &mut changes).await;
    }
    let elapsed = started.elapsed();
    println!(
        "throughput with 4 workers: {THROUGHPUT_RUNS} runs in {:.2} s = {:.0} runs/s",
        elapsed.as_secs_f64(),
        THROUGHPUT_RUNS as f64 / elapsed.as_secs_f64()
    );

    chatty(
        &app,
        &bearer,
        project["id"].as_i64().expect("project"),
        &dev,
    )
    .await;
}

/// A run whose log is the work: `seq 1 CHATTY_LINES`, through uHub (every line masked, numbered
/// and stored before the run ends) and spawned directly (its output read and dropped).
async fn chatty(app: &TestApp, bearer: &str, project_id: i64, dev: &str) {
    let script = app.scripts.path().join("chatty");
    std::fs::write(&script, format!("#!/bin/sh\nexec seq 1 {CHATTY_LINES}\n")).expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (_, job) = app
        .call(axum::http::Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), Some(dev), Some(json!({
            "title": "chatty", "job_type": "dev", "environment": "dev", "planned_start": "2031-01-01T10:00:00Z",
            "action": {"kind": "script", "path": "chatty"},
        })))
        .await;
    let job_id = job["id"].as_i64().expect("job");
    let mut direct = Vec::with_capacity(CHATTY_SAMPLES);
    for _ in 0..CHATTY_SAMPLES {
        let started = Instant::now();
        let output = tokio::process::Command::new(&script)
            .output()
            .await
            .expect("spawn");
        assert!(output.status.success());
        direct.push(started.elapsed());
    }
    let mut through = Vec::with_capacity(CHATTY_SAMPLES);
    let mut last = 0;
    for _ in 0..CHATTY_SAMPLES {
        let mut changes = app.storage.storage.run_changes();
        let started = Instant::now();
        last = launch(app, bearer, job_id).await;
        finished(app, last, Wait::Announced, &mut changes).await;
        through.push(started.elapsed());
    }
    let stored = app
        .storage
        .storage
        .run_logs(last, 0, 2 * CHATTY_LINES as u32)
        .await
        .expect("log")
        .len();
    // uHub's own lines (the run's start and end) come with the script's.
    assert!(stored >= CHATTY_LINES, "{stored} lines stored");
    let (direct, through) = (median(direct), median(through));
    println!(
        "chatty run ({CHATTY_LINES} lines, SQLite), median of {CHATTY_SAMPLES}: spawned directly {}, \
         through uHub {} ({:.0} lines/s stored)",
        ms(direct),
        ms(through),
        CHATTY_LINES as f64 / through.as_secs_f64()
    );
}
