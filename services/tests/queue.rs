//! The durable queue: several workers claiming at once never take the same run twice — on
//! PostgreSQL thanks to `FOR UPDATE SKIP LOCKED`, on SQLite because it has one writer at a time;
//! limits per environment and per project; fairness between projects; webhook runs waiting for
//! their callback hold no slot; a queued run says where it stands and why; claims and Terraform
//! workspace locks taken at the same moment by two processes.

use std::collections::HashSet;

use domain::{ExecutionBackend, JobAction, JobType, RunStatus};
use services::storage::{Actor, ClaimLimits, NewJob, NewProject, NewRun};
use services::testing::{TestEngine, TestStorage};

const RUNS: usize = 60;
const WORKERS: usize = 4;

/// No limit but the number asked for.
const UNLIMITED: ClaimLimits = ClaimLimits {
    per_environment: u32::MAX,
    per_project: u32::MAX,
    slots: u32::MAX,
};

/// Two per environment, no project limit.
const TWO_PER_ENVIRONMENT: ClaimLimits = ClaimLimits {
    per_environment: 2,
    per_project: u32::MAX,
    slots: 10,
};

/// A queued run of `job_id` in `environment` (the queue does not look at what it runs).
fn queued(job_id: i64, environment: Option<&str>, backend: ExecutionBackend) -> NewRun {
    NewRun {
        job_id,
        environment: environment.map(str::to_owned),
        backend,
        status: RunStatus::Queued,
        launched_by: None,
        action: JobAction::Script {
            path: "noop.sh".into(),
            args: Vec::new(),
            repo: None,
            git_ref: None,
        },
        action_sha256: "0".repeat(64),
        script_sha256: None,
        action_changed_by: None,
        after_check: None,
        commit_sha: None,
    }
}

/// A project with one job in `environment`.
async fn project_with_job(
    storage: &services::Storage,
    name: &str,
    environment: &str,
) -> (i64, i64) {
    let project = storage
        .create_project(
            &NewProject {
                execution_backend: Some(ExecutionBackend::Local),
                ..NewProject::named(name, &[environment])
            },
            &Actor::system(),
        )
        .await
        .expect("project");
    let job = storage
        .create_job(
            &NewJob::planned(
                project.id,
                name,
                JobType::Dev,
                Some(environment),
                chrono::Utc::now(),
            ),
            &Actor::system(),
        )
        .await
        .expect("job");
    (project.id, job.id)
}

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
                &queued(job.id, None, ExecutionBackend::Local),
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
                        &UNLIMITED,
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
                &queued(job.id, environment, ExecutionBackend::Local),
                &Actor::system(),
            )
            .await
            .expect("run");
    }
    let first = storage
        .claim_runs("w", &[ExecutionBackend::Local], 10, &TWO_PER_ENVIRONMENT)
        .await
        .expect("claim");
    let environments: Vec<Option<String>> = first.iter().map(|r| r.environment.clone()).collect();
    assert_eq!(
        environments,
        [Some("staging".into()), Some("staging".into()), None],
        "two in staging, and the one without environment"
    );
    assert!(storage
        .claim_runs("w", &[ExecutionBackend::Local], 10, &TWO_PER_ENVIRONMENT)
        .await
        .expect("claim")
        .is_empty());
    storage
        .finish_run(first[0].id, RunStatus::Success, Some(0), None)
        .await
        .expect("finish");
    let next = storage
        .claim_runs("w", &[ExecutionBackend::Local], 10, &TWO_PER_ENVIRONMENT)
        .await
        .expect("claim");
    assert_eq!(next.len(), 1, "a slot in staging freed up");
}

/// One per environment, no project limit.
const ONE_PER_ENVIRONMENT: ClaimLimits = ClaimLimits {
    per_environment: 1,
    ..TWO_PER_ENVIRONMENT
};

/// Two processes claiming at the same moment keep an environment's limit: the first claim's
/// transaction takes the environment's only slot and is held open; a second process's claim
/// (another worker) must not take the other queued run of that environment, neither while the
/// first is open nor once it commits. On PostgreSQL (read committed) each claim used to count the
/// running runs without the other's uncommitted claim, and both took the slot.
async fn claims_at_once_keep_the_environment_limit(engine: TestEngine) {
    let test = TestStorage::new(engine).await;
    let storage = test.storage.clone();
    let (_, job) = project_with_job(&storage, "One at a time", "production").await;
    for _ in 0..2 {
        storage
            .create_run(
                &queued(job, Some("production"), ExecutionBackend::Local),
                &Actor::system(),
            )
            .await
            .expect("run");
    }
    let mut first = storage.write().await.expect("write");
    let claimed = first
        .claim_runs(
            "first",
            &[ExecutionBackend::Local],
            10,
            &ONE_PER_ENVIRONMENT,
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "the environment's one slot");
    let second = tokio::spawn({
        let storage = storage.clone();
        async move {
            storage
                .claim_runs(
                    "second",
                    &[ExecutionBackend::Local],
                    10,
                    &ONE_PER_ENVIRONMENT,
                )
                .await
        }
    });
    // Time for the second claim to run (or wait) while the first is open.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let finished_early = second.is_finished();
    first.commit().await.expect("commit");
    let second = second
        .await
        .expect("the second claim's task")
        .expect("claim");
    assert!(
        second.is_empty(),
        "the second process took a run of a full environment: {second:?} (finished before the \
         first claim committed: {finished_early})"
    );
}

/// A Terraform plan of `workspace` by job `job_id`, queued.
fn terraform_plan(job_id: i64, workspace: &str) -> NewRun {
    NewRun {
        action: JobAction::Terraform {
            dir: "infra".into(),
            repo: None,
            git_ref: None,
            workspace: workspace.into(),
            vars: Default::default(),
            operation: domain::terraform::TerraformOperation::Plan,
            plan_run: None,
            cluster: None,
        },
        ..queued(job_id, Some("production"), ExecutionBackend::Local)
    }
}

/// Two launches of one Terraform workspace at once: one takes its lock, the other is refused.
/// On PostgreSQL (read committed) the second launch used to find no holder (the first not yet
/// committed), then clear the workspace's lock row by key in a statement of its own, which by
/// then saw the first launch's committed lock and removed it: both runs held the workspace.
/// The second launch is held between its two statements here, deterministically: a third
/// connection asks for `SHARE` on the locks table while the first launch (which wrote it) is
/// open, so it waits for the first launch, and the second launch's write waits behind it.
async fn launches_at_once_take_a_workspace_once(engine: TestEngine) {
    let test = TestStorage::new(engine).await;
    let storage = test.storage.clone();
    let (_, job) = project_with_job(&storage, "Infra at once", "production").await;
    let mut first = storage.write().await.expect("write");
    first
        .create_run(&terraform_plan(job, "prod"), &Actor::system())
        .await
        .expect("the first launch takes the workspace");
    let queued_behind_the_first = match engine {
        TestEngine::Sqlite => None,
        TestEngine::Postgres => {
            use sqlx::Connection;
            let mut other = sqlx::PgConnection::connect(&test.url)
                .await
                .expect("a third connection");
            Some(tokio::spawn(async move {
                let mut tx = other.begin().await.expect("begin");
                sqlx::query("LOCK TABLE terraform_locks IN SHARE MODE")
                    .execute(&mut *tx)
                    .await
                    .expect("lock");
                tx.commit().await.expect("commit");
            }))
        }
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = tokio::spawn({
        let storage = storage.clone();
        async move {
            storage
                .create_run(&terraform_plan(job, "prod"), &Actor::system())
                .await
        }
    });
    // Time for the second launch to look for a holder and wait to write.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    first.commit().await.expect("commit");
    if let Some(third) = queued_behind_the_first {
        third.await.expect("the third connection");
    }
    let second = second.await.expect("the second launch's task");
    assert!(
        matches!(second, Err(services::ServiceError::Conflict(_))),
        "the second launch took a workspace the first holds: {second:?}"
    );
}

/// One busy project cannot take every slot: with a per-project limit, the runs of a project
/// queued later start before the busy project's surplus, and a queued run over the limit says
/// why it waits and where it stands.
async fn projects_share_the_slots(engine: TestEngine) {
    let test = TestStorage::new(engine).await;
    let storage = test.storage.clone();
    let (_, busy) = project_with_job(&storage, "Busy", "dev").await;
    let (_, quiet) = project_with_job(&storage, "Quiet", "qa").await;
    let mut busy_runs = Vec::new();
    for _ in 0..6 {
        busy_runs.push(
            storage
                .create_run(
                    &queued(busy, Some("dev"), ExecutionBackend::Local),
                    &Actor::system(),
                )
                .await
                .expect("run"),
        );
    }
    let quiet_run = storage
        .create_run(
            &queued(quiet, Some("qa"), ExecutionBackend::Local),
            &Actor::system(),
        )
        .await
        .expect("run");
    let limits = ClaimLimits {
        per_environment: 10,
        per_project: 3,
        slots: 4,
    };
    let claimed = storage
        .claim_runs("w", &[ExecutionBackend::Local], 4, &limits)
        .await
        .expect("claim");
    let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
    println!("{engine:?}: claimed {ids:?}");
    assert_eq!(claimed.len(), 4);
    assert!(
        ids.contains(&quiet_run.id),
        "the quiet project's run got a slot: {ids:?}"
    );
    assert_eq!(
        claimed.iter().filter(|r| r.job_id == busy).count(),
        3,
        "the busy project holds at most its share"
    );
    let waiting = busy_runs[3].id;
    let place = storage
        .read()
        .await
        .expect("db")
        .queue_place(waiting, &limits)
        .await
        .expect("place")
        .expect("queued");
    assert_eq!(place.position, 1);
    assert!(place.reason.contains("at most 3"), "{}", place.reason);
}

/// A webhook run waiting for its callback holds no slot: four of them leave room for others.
async fn callback_waits_hold_no_slot(engine: TestEngine) {
    let test = TestStorage::new(engine).await;
    let storage = test.storage.clone();
    let (_, hook) = project_with_job(&storage, "Hooks", "dev").await;
    let (_, other) = project_with_job(&storage, "Other", "dev").await;
    for _ in 0..4 {
        storage
            .create_run(
                &queued(hook, Some("dev"), ExecutionBackend::Webhook),
                &Actor::system(),
            )
            .await
            .expect("run");
    }
    let limits = ClaimLimits {
        per_environment: 4,
        per_project: 4,
        slots: 4,
    };
    let triggered = storage
        .claim_runs("w", &[ExecutionBackend::Webhook], 4, &limits)
        .await
        .expect("claim");
    assert_eq!(triggered.len(), 4);
    // Before: the four triggered runs hold every slot of their environment and project.
    let deadline = chrono::Utc::now() + chrono::Duration::minutes(15);
    for run in &triggered {
        storage
            .wait_for_callback(run.id, deadline)
            .await
            .expect("wait");
    }
    let next = storage
        .create_run(
            &queued(hook, Some("dev"), ExecutionBackend::Local),
            &Actor::system(),
        )
        .await
        .expect("run");
    let elsewhere = storage
        .create_run(
            &queued(other, Some("dev"), ExecutionBackend::Local),
            &Actor::system(),
        )
        .await
        .expect("run");
    let claimed: Vec<i64> = storage
        .claim_runs("w", &[ExecutionBackend::Local], 4, &limits)
        .await
        .expect("claim")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        claimed,
        [next.id, elsewhere.id],
        "waiting for a callback holds no slot"
    );
    // A callback that never comes ends the run as timed out, with the reason.
    let expired = storage
        .expire_callbacks(deadline + chrono::Duration::seconds(1))
        .await
        .expect("expire");
    assert_eq!(expired.len(), 4);
    assert!(expired.iter().all(|r| r.status == RunStatus::TimedOut
        && r.reason
            .as_deref()
            .is_some_and(|why| why.contains("no final callback"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launches_at_once_take_a_workspace_once_on_sqlite() {
    launches_at_once_take_a_workspace_once(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launches_at_once_take_a_workspace_once_on_postgres() {
    launches_at_once_take_a_workspace_once(TestEngine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_at_once_keep_the_environment_limit_on_sqlite() {
    claims_at_once_keep_the_environment_limit(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_at_once_keep_the_environment_limit_on_postgres() {
    claims_at_once_keep_the_environment_limit(TestEngine::Postgres).await;
}

#[tokio::test]
async fn projects_share_the_slots_on_sqlite() {
    projects_share_the_slots(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn projects_share_the_slots_on_postgres() {
    projects_share_the_slots(TestEngine::Postgres).await;
}

#[tokio::test]
async fn callback_waits_hold_no_slot_on_sqlite() {
    callback_waits_hold_no_slot(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn callback_waits_hold_no_slot_on_postgres() {
    callback_waits_hold_no_slot(TestEngine::Postgres).await;
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
