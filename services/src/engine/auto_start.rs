//! Automatic starts: the jobs whose planned start has come are launched as whoever turned their
//! automatic start on, each exactly once; a launch that fails for a reason that passes is tried
//! again a few times before it is refused.

use std::time::Duration;

use chrono::Utc;
use domain::{Run, RunStatus};

use super::{launch, Executor};
use crate::storage::{Actor, Outcome as AuditOutcome};
use crate::{ServiceError, ServiceResult};

/// The tries of one automatic start that fails for a reason that passes, the last one
/// included: after them it is refused (and audited so) like a start the rules refuse.
pub const AUTO_START_TRIES: u32 = 8;

/// The longest wait between two tries of an automatic start.
pub const AUTO_START_RETRY_MAX: Duration = Duration::from_secs(300);

/// The automatic starts one process decides at once; more wait for the next check.
const AUTO_STARTS_AT_ONCE: usize = 8;

/// An automatic start being decided: its job is left out of the next checks until this is
/// dropped (also when the task deciding it ends in a panic).
struct InFlight {
    executor: Executor,
    job_id: i64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.executor.inner.auto_starts_in_flight.lock() {
            in_flight.remove(&self.job_id);
        }
    }
}

/// An automatic start that failed for a reason that passes: how many times, and when it is
/// tried again.
pub(super) struct AutoStartRetry {
    failures: u32,
    next_try: tokio::time::Instant,
}

/// Why an automatic start did not start.
enum NotStarted {
    /// Nobody may start it as things are (no starter, a deactivated one): not tried again.
    Refused(String),
    /// The launch failed: tried again when the failure passes, else refused.
    Failed(ServiceError),
}

impl Executor {
    /// Starts automatic job `job` as `actor` (guardrails of [`launch::plan`]): takes its
    /// automatic start and creates its run in one transaction, so that a failure leaves it to be
    /// tried again and two processes never both start it (`None`: another one took it, or the
    /// job changed since it was read). A queued run wakes the dispatcher. People launch through
    /// [`crate::runs::launch`], which applies the same plan.
    async fn launch_automatic(
        &self,
        subject: &domain::policy::Subject,
        job: &domain::Job,
        actor: &Actor,
    ) -> ServiceResult<Option<Run>> {
        let commit_sha = launch::resolve_commit(
            &self.inner.storage,
            &self.inner.secrets,
            &self.inner.config.git_mirrors,
            job,
            None,
        )
        .await?;
        let mut tx = self.inner.storage.write().await?;
        // What was read (and its repository fetched for) is what runs: a job changed or deleted
        // meanwhile is left to the next check, which reads it again.
        let unchanged = match tx.job(job.id).await {
            Ok(current) => current.version == job.version,
            Err(ServiceError::NotFound { .. }) => false,
            Err(error) => return Err(error),
        };
        if !unchanged || !tx.take_auto_start(job.id, Utc::now()).await? {
            return Ok(None);
        }
        let new_run = launch::plan(
            &mut tx,
            subject,
            job,
            None,
            None,
            &self.inner.config.scripts_dir,
            launch::Pins {
                commit_sha,
                ..Default::default()
            },
        )
        .await?;
        let run = tx.create_run(&new_run, actor).await?;
        tx.commit().await?;
        if run.status == RunStatus::Queued {
            self.wake();
        }
        Ok(Some(run))
    }

    /// Launches the automatic jobs whose planned start has come, as the account that turned
    /// their automatic start on: the same guardrails as a launch by hand (a production job
    /// waits for approval; a refusal is audited). A launch that fails for a reason that passes
    /// (the database busy, the repository out of reach) is tried again a few times, each
    /// failure audited, before it is refused.
    pub(super) async fn start_due_jobs(&self) {
        let due = match self.inner.storage.due_auto_jobs(Utc::now()).await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read the jobs due to start");
                return;
            }
        };
        let now = tokio::time::Instant::now();
        let ready: Vec<(domain::Job, u32)> = {
            let Ok(mut retries) = self.inner.auto_start_retries.lock() else {
                return;
            };
            // A job no longer due (started or refused, moved, edited, deleted) is forgotten.
            retries.retain(|job_id, _| due.iter().any(|job| job.id == *job_id));
            due.into_iter()
                .filter_map(|job| match retries.get(&job.id) {
                    Some(retry) if retry.next_try > now => None,
                    Some(retry) => Some((job, retry.failures)),
                    None => Some((job, 0)),
                })
                .collect()
        };
        // Each in a task of its own: one whose repository is slow to answer holds up no other.
        for (job, failures) in ready {
            let Some(in_flight) = self.auto_start_in_flight(job.id) else {
                continue;
            };
            let executor = self.clone();
            tokio::spawn(async move {
                executor.decide_auto_start(&job, failures).await;
                drop(in_flight);
            });
        }
    }

    /// Starts `job` (its automatic start failed `failures` times so far), or records why not:
    /// a failure that passes is tried again later, anything else is refused.
    async fn decide_auto_start(&self, job: &domain::Job, failures: u32) {
        let reason = match self.start_automatically(job).await {
            Ok(started) => {
                if let Some(run) = started {
                    tracing::info!(job_id = job.id, run_id = run.id, status = %run.status, "automatic start");
                }
                self.forget_auto_start_retry(job.id);
                return;
            }
            Err(NotStarted::Failed(error)) if error.passes() && failures + 1 < AUTO_START_TRIES => {
                self.retry_auto_start(job, failures + 1, &error).await;
                return;
            }
            Err(NotStarted::Failed(error)) if error.passes() => format!(
                "gave up after {AUTO_START_TRIES} tries: {error} ({})",
                error.code()
            ),
            Err(NotStarted::Failed(error)) => format!("{error} ({})", error.code()),
            Err(NotStarted::Refused(reason)) => reason,
        };
        self.refuse_auto_start(job, failures, reason).await;
    }

    /// Marks `job_id`'s automatic start as being decided, unless it already is or
    /// [`AUTO_STARTS_AT_ONCE`] are (the others wait for the next check).
    fn auto_start_in_flight(&self, job_id: i64) -> Option<InFlight> {
        let mut in_flight = self.inner.auto_starts_in_flight.lock().ok()?;
        if in_flight.len() >= AUTO_STARTS_AT_ONCE || !in_flight.insert(job_id) {
            return None;
        }
        Some(InFlight {
            executor: self.clone(),
            job_id,
        })
    }

    /// Starts automatic job `job` as whoever turned its automatic start on (never the owner as
    /// such: owning a job is not asking for it to run). `None`: another process took it.
    async fn start_automatically(&self, job: &domain::Job) -> Result<Option<Run>, NotStarted> {
        let Some(starter) = job.auto_start_by else {
            return Err(NotStarted::Refused(
                "nobody is recorded as having turned the automatic start on: turn it on again"
                    .to_owned(),
            ));
        };
        let starter = self.inner.storage.user_by_id(starter).await;
        let (starter, role) = match starter.and_then(|user| user.role().map(|role| (user, role))) {
            Ok(found) => found,
            Err(error) if error.passes() => return Err(NotStarted::Failed(error)),
            Err(error) => {
                return Err(NotStarted::Refused(format!(
                    "cannot read who turned the automatic start on: {error}"
                )))
            }
        };
        if !starter.is_active {
            return Err(NotStarted::Refused(
                "the account that turned the automatic start on is deactivated".to_owned(),
            ));
        }
        let subject = domain::policy::Subject {
            user_id: starter.id,
            role,
        };
        let actor = Actor::user(starter.id, &starter.username, None);
        self.launch_automatic(&subject, job, &actor)
            .await
            .map_err(NotStarted::Failed)
    }

    /// Records failure number `failures` of `job`'s automatic start, which passes: it is tried
    /// again after a wait that doubles at each failure; the audit shows each failed try.
    async fn retry_auto_start(&self, job: &domain::Job, failures: u32, error: &ServiceError) {
        let first = self.inner.config.auto_start_retry;
        let wait = first
            .saturating_mul(1 << (failures - 1).min(16))
            .min(AUTO_START_RETRY_MAX);
        tracing::warn!(job_id = job.id, %error, try_again_in = ?wait, "automatic start failed");
        if let Ok(mut retries) = self.inner.auto_start_retries.lock() {
            retries.insert(
                job.id,
                AutoStartRetry {
                    failures,
                    next_try: tokio::time::Instant::now() + wait,
                },
            );
        }
        let detail = serde_json::json!({
            "reason": format!("{error} ({})", error.code()),
            "try": failures,
            "tries": AUTO_START_TRIES,
            "try_again_in_secs": wait.as_secs_f64(),
        });
        // Only a record: the try again is decided above, whether it is written or not.
        if let Err(error) = self
            .inner
            .storage
            .record_audit(
                &Actor::system(),
                "run.auto_start",
                Some(("job", job.id)),
                AuditOutcome::Failure,
                detail,
            )
            .await
        {
            tracing::error!(%error, "cannot audit a failed automatic start");
        }
    }

    /// Refuses `job`'s automatic start for `reason`: takes it and audits the refusal in one
    /// transaction. When that cannot be written, the start is still due and is decided again
    /// after a wait (it may then start).
    async fn refuse_auto_start(&self, job: &domain::Job, failures: u32, reason: String) {
        tracing::warn!(job_id = job.id, %reason, "automatic start refused");
        let detail = serde_json::json!({ "reason": reason });
        let refused = async {
            let mut tx = self.inner.storage.write().await?;
            if tx.take_auto_start(job.id, Utc::now()).await? {
                tx.record_audit(
                    &Actor::system(),
                    "run.auto_start",
                    Some(("job", job.id)),
                    AuditOutcome::Denied,
                    detail,
                )
                .await?;
                tx.commit().await?;
            }
            ServiceResult::Ok(())
        };
        match refused.await {
            Ok(()) => self.forget_auto_start_retry(job.id),
            Err(error) => {
                tracing::error!(job_id = job.id, %error, "cannot record a refused automatic start");
                self.retry_auto_start(job, failures.saturating_add(1), &error)
                    .await;
            }
        }
    }

    fn forget_auto_start_retry(&self, job_id: i64) {
        if let Ok(mut retries) = self.inner.auto_start_retries.lock() {
            retries.remove(&job_id);
        }
    }
}
