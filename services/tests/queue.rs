//! The durable queue: several workers claiming at once never take the same run twice — on
//! PostgreSQL thanks to `FOR UPDATE SKIP LOCKED`, on SQLite because it has one writer at a time.

use std::collections::HashSet;

use domain::{ExecutionBackend, JobType, RunStatus};
use services::storage::{Actor, NewJob, NewProject, NewRun};
use services::testing::{TestEngine, TestStorage};

const RUNS: usize = 60;
const WORKERS: usize = 4;

async fn no_run_is_claimed_twice(engine: TestEngine) {
    let test = TestStorage::new(engine).await;
    let storage = test.storage.clone();
    let project = storage
        .create_project(
            &NewProject {
                execution_backend: Some(ExecutionBackend::Local),
                ..NewProject::named("Queue", &["dev"])
            },
            &Actor::system(),
        )
        .await
        .expect("project");
    let job = storage
        .create_job(
            &NewJob::planned(
                project.id,
                "Queued",
                JobType::Dev,
                Some("dev"),
                chrono::Utc::now(),
            ),
            &Actor::system(),
        )
        .await
        .expect("job");
    for _ in 0..RUNS {
        storage
            .create_run(
                &NewRun {
                    job_id: job.id,
                    environment: None,
                    backend: ExecutionBackend::Local,
                    status: RunStatus::Queued,
                    launched_by: None,
                },
                &Actor::system(),
            )
            .await
            .expect("run");
    }
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let storage = storage.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = storage
                    .claim_runs(
                        &format!("worker-{worker}"),
                        &[ExecutionBackend::Local],
                        3,
                        u32::MAX,
                    )
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|run| (run.id, run.status)));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    let mut per_worker = Vec::new();
    for worker in workers {
        let mine = worker.await.expect("worker");
        per_worker.push(mine.len());
        all.extend(mine);
    }
    let distinct: HashSet<i64> = all.iter().map(|(id, _)| *id).collect();
    println!("{engine:?}: {RUNS} runs claimed by {WORKERS} workers: {per_worker:?}");
    assert_eq!(all.len(), RUNS, "every run claimed once: {per_worker:?}");
    assert_eq!(distinct.len(), RUNS, "no run claimed twice");
    assert!(all.iter().all(|(_, status)| *status == RunStatus::Running));
}

/// At most `per_environment` runs of one environment run at once; runs without one are not held.
async fn environments_have_their_own_limit(engine: TestEngine) {
    let test = TestStorage::new(engine).await;
    let storage = test.storage.clone();
    let project = storage
        .create_project(
            &NewProject {
                execution_backend: Some(ExecutionBackend::Local),
                ..NewProject::named("Limits", &["staging"])
            },
            &Actor::system(),
        )
        .await
        .expect("project");
    let job = storage
        .create_job(
            &NewJob::planned(
                project.id,
                "Limited",
                JobType::Dev,
                Some("staging"),
                chrono::Utc::now(),
            ),
            &Actor::system(),
        )
        .await
        .expect("job");
    for environment in [Some("staging"), Some("staging"), Some("staging"), None] {
        storage
            .create_run(
                &NewRun {
                    job_id: job.id,
                    environment: environment.map(str::to_owned),
                    backend: ExecutionBackend::Local,
                    status: RunStatus::Queued,
                    launched_by: None,
                },
                &Actor::system(),
            )
            .await
            .expect("run");
    }
    let first = storage
        .claim_runs("w", &[ExecutionBackend::Local], 10, 2)
        .await
        .expect("claim");
    let environments: Vec<Option<String>> = first.iter().map(|r| r.environment.clone()).collect();
    assert_eq!(
        environments,
        [Some("staging".into()), Some("staging".into()), None],
        "two in staging, and the one without environment"
    );
    assert!(storage
        .claim_runs("w", &[ExecutionBackend::Local], 10, 2)
        .await
        .expect("claim")
        .is_empty());
    storage
        .finish_run(first[0].id, RunStatus::Success, Some(0), None)
        .await
        .expect("finish");
    let next = storage
        .claim_runs("w", &[ExecutionBackend::Local], 10, 2)
        .await
        .expect("claim");
    assert_eq!(next.len(), 1, "a slot in staging freed up");
}

#[tokio::test]
async fn environments_have_their_own_limit_on_sqlite() {
    environments_have_their_own_limit(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn environments_have_their_own_limit_on_postgres() {
    environments_have_their_own_limit(TestEngine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_run_is_claimed_twice_on_postgres() {
    no_run_is_claimed_twice(TestEngine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_run_is_claimed_twice_on_sqlite() {
    no_run_is_claimed_twice(TestEngine::Sqlite).await;
}
