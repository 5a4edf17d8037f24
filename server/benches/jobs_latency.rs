//! Benchmark (not a test): 10,000 jobs, then the latency of a one-month job listing and of a
//! single-job update through the whole HTTP stack (router, auth, policy, storage), one client,
//! on SQLite and on PostgreSQL. Prints p50 / p99 / max; never fails on a number.
//! Run with `scripts/bench.sh` (it starts PostgreSQL).

use std::time::{Duration as StdDuration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use domain::JobType;
use services::storage::{Actor, NewJob, NewProject};
use services::testing::TestEngine;

#[path = "../tests/common/mod.rs"]
mod common;
use common::TestApp;

const JOBS: i64 = 10_000;
const SAMPLES: usize = 300;
const WARM_UP: usize = 20;

struct Figures {
    p50: StdDuration,
    p99: StdDuration,
    max: StdDuration,
}

fn figures(mut samples: Vec<StdDuration>) -> Figures {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
        max: samples.last().copied().unwrap_or_default(),
    }
}

fn ms(d: StdDuration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(engine: TestEngine) {
    // The application the HTTP tests use, with the demo accounts.
    let app = TestApp::with_demo(engine).await;
    let storage = &app.storage;
    let owner = storage
        .storage
        .user_by_username("demo-projets")
        .await
        .expect("owner")
        .map(|u| u.id);
    let project = storage
        .storage
        .create_project(
            &NewProject {
                owner_id: owner,
                ..NewProject::named("Benchmark", &["dev", "prod"])
            },
            &Actor::system(),
        )
        .await
        .expect("project");

    // 10,000 jobs over a year, through the same service call (transaction + audit row) as the API.
    let year_start = Utc
        .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let loading = Instant::now();
    let minutes_per_job = 365 * 24 * 60 / JOBS;
    let mut a_job_in_march = None;
    for n in 0..JOBS {
        let start = year_start + Duration::minutes(n * minutes_per_job);
        let job = storage
            .storage
            .create_job(
                &NewJob {
                    project_id: project.id,
                    title: format!("Job {n}"),
                    description: "Benchmark job".to_owned(),
                    job_type: if n % 3 == 0 {
                        JobType::Ops
                    } else {
                        JobType::Dev
                    },
                    environment: Some(if n % 3 == 0 { "prod" } else { "dev" }.to_owned()),
                    planned_start: start,
                    planned_end: Some(start + Duration::minutes(30)),
                    all_day: false,
                    owner_id: owner,
                    responsible_role: None,
                    action: None,
                    auto_start: false,
                },
                &Actor::system(),
            )
            .await
            .expect("job");
        if a_job_in_march.is_none() && start >= year_start + Duration::days(70) {
            a_job_in_march = Some(job);
        }
    }
    let load_time = loading.elapsed();

    let token = app.token("demo-projets").await;
    let bearer = format!("Bearer {token}");

    // One month (March): about 850 jobs in one page.
    let month = format!(
        "/api/v1/jobs?project_id={}&from=2030-03-01T00:00:00Z&to=2030-04-01T00:00:00Z&limit=1000",
        project.id
    );
    let mut listed = 0;
    let mut list_samples = Vec::with_capacity(SAMPLES);
    for round in 0..WARM_UP + SAMPLES {
        let request = Request::get(&month)
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request");
        let started = Instant::now();
        let (status, _, body) = app.send(request).await;
        let elapsed = started.elapsed();
        assert_eq!(status, StatusCode::OK);
        if round == 0 {
            let page: serde_json::Value = serde_json::from_slice(&body).expect("json");
            listed = page["items"].as_array().map(Vec::len).unwrap_or_default();
        }
        if round >= WARM_UP {
            list_samples.push(elapsed);
        }
    }

    // The same month straight from storage: what the database layer alone costs.
    let filter = services::storage::JobFilter {
        project_id: Some(project.id),
        from: Some(
            Utc.with_ymd_and_hms(2030, 3, 1, 0, 0, 0)
                .single()
                .expect("date"),
        ),
        to: Some(
            Utc.with_ymd_and_hms(2030, 4, 1, 0, 0, 0)
                .single()
                .expect("date"),
        ),
        ..services::storage::JobFilter::default()
    };
    let mut storage_samples = Vec::with_capacity(SAMPLES);
    for round in 0..WARM_UP + SAMPLES {
        let started = Instant::now();
        let jobs = storage
            .storage
            .list_jobs(&filter, 1001)
            .await
            .expect("list");
        let elapsed = started.elapsed();
        assert_eq!(jobs.len(), listed);
        if round >= WARM_UP {
            storage_samples.push(elapsed);
        }
    }

    // One job moved back and forth, each PATCH based on the version the previous one returned.
    let job = a_job_in_march.expect("a job in March");
    let mut version = job.version;
    let mut update_samples = Vec::with_capacity(SAMPLES);
    for round in 0..WARM_UP + SAMPLES {
        let shift = Duration::minutes(if round % 2 == 0 { 15 } else { 0 });
        let body = serde_json::json!({
            "version": version,
            "planned_start": (job.planned_start + shift).to_rfc3339(),
            "planned_end": (job.planned_start + shift + Duration::minutes(30)).to_rfc3339(),
        });
        let request = Request::patch(format!("/api/v1/jobs/{}", job.id))
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let started = Instant::now();
        let (status, _, answer) = app.send(request).await;
        let elapsed = started.elapsed();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let updated: serde_json::Value = serde_json::from_slice(&answer).expect("json");
        version = updated["version"].as_i64().expect("version");
        if round >= WARM_UP {
            update_samples.push(elapsed);
        }
    }

    let list = figures(list_samples);
    let storage_only = figures(storage_samples);
    let update = figures(update_samples);
    println!(
        "{engine:?}: {JOBS} jobs loaded in {:.1} s ({:.2} ms per job with its audit row)",
        load_time.as_secs_f64(),
        load_time.as_secs_f64() * 1000.0 / JOBS as f64
    );
    println!(
        "  one-month listing ({listed} jobs, {SAMPLES} samples): p50 {}  p99 {}  max {}",
        ms(list.p50),
        ms(list.p99),
        ms(list.max)
    );
    println!(
        "    of which storage alone (query + decoding):    p50 {}  p99 {}  max {}",
        ms(storage_only.p50),
        ms(storage_only.p99),
        ms(storage_only.max)
    );
    println!(
        "  single-job update ({SAMPLES} samples):              p50 {}  p99 {}  max {}",
        ms(update.p50),
        ms(update.p99),
        ms(update.max)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("target on this 2-core machine: p99 < 20 ms for one client");
    bench(TestEngine::Sqlite).await;
    bench(TestEngine::Postgres).await;
}
