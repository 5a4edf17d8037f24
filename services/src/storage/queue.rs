//! The run queue across uHub processes: claiming queued runs within the limits (per
//! environment, per project, fairly between projects), the heartbeat of a running run, each
//! process's lease and the sweep of runs whose process is known dead, webhook runs waiting for
//! their callback (holding no slot) and their one-time callbacks, and a queued run's place.

use chrono::{DateTime, Utc};
use domain::{ExecutionBackend, LogStream, Run, RunStatus};

use super::{dialect, now, on_db, reads, writes, Db, Tx};
use crate::ServiceResult;

/// How many runs may execute at once: in one environment and in one project (across every uHub
/// process sharing the database), so that one environment or one project never takes every slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    pub per_environment: u32,
    pub per_project: u32,
    /// This process's slots (for a queued run's reason).
    pub slots: u32,
}

/// The condition of a run (table alias `alias`) that holds an execution slot: running, and not
/// a webhook run waiting for its callback.
fn holds_slot(alias: &str) -> String {
    format!("{alias}.status = 'running' AND {alias}.callback_deadline IS NULL")
}

/// A run that was running when its uHub process stopped, as the sweep found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub run: Run,
    /// What it had started: a process group id (local) or a container id (docker).
    pub external_id: Option<String>,
    /// The host of the process that ran it: a process group is signalled only on that host.
    pub host: Option<String>,
}

reads! {
    fn queue_place(run_id: i64, limits: &ClaimLimits) -> Option<domain::QueuePlace>;
}

writes! {
    fn claim_runs(worker: &str, backends: &[ExecutionBackend], limit: u32, limits: &ClaimLimits) -> Vec<Run>;
    fn heartbeat(run_id: i64, worker: &str) -> bool;
    fn sweep_orphans(stale_before: DateTime<Utc>, sweeper: &str) -> Vec<Orphan>;
    fn renew_lease(worker: &str, host: &str) -> ();
    fn wait_for_callback(run_id: i64, deadline: DateTime<Utc>) -> ();
    fn expire_callbacks(now: DateTime<Utc>) -> Vec<Run>;
    fn take_callback(run_id: i64, digest: &str) -> bool;
}

/// The advisory lock key of claims (`uHubQueu` in ASCII): any constant other code does not use.
const CLAIM_LOCK_KEY: i64 = 0x7548_7562_5175_6575;

impl Tx {
    /// Takes up to `limit` queued runs of the given backends for worker `worker`, oldest first
    /// from the projects that hold the fewest slots, and marks them running, never more than
    /// `limits.per_environment` in one environment nor `limits.per_project` in one project. On
    /// PostgreSQL `FOR UPDATE SKIP LOCKED` lets several uHub processes share one queue without
    /// ever taking the same run twice (see [`dialect::skip_locked`]). One run per statement: the
    /// counts must see the runs claimed just before.
    pub async fn claim_runs(
        &mut self,
        worker: &str,
        backends: &[ExecutionBackend],
        limit: u32,
        limits: &ClaimLimits,
    ) -> ServiceResult<Vec<Run>> {
        if backends.is_empty() {
            return Ok(Vec::new());
        }
        // The limits are counts of runs running: two processes claiming at once (PostgreSQL
        // read committed) would each count without the other's claim and both take the last
        // slot of an environment. Claims wait for each other instead; they are short.
        if let Some(lock) = dialect::advisory_lock(self.engine()) {
            on_db!(self, c => {
                sqlx::query(lock).bind(CLAIM_LOCK_KEY).execute(&mut *c).await.map(|_| ())
            })?;
        }
        let names: Vec<&str> = backends.iter().map(|b| b.as_str()).collect();
        let placeholders: Vec<String> = (0..names.len()).map(|i| format!("${}", i + 5)).collect();
        let holding = |alias: &str, column: &str| {
            format!(
                "(SELECT COUNT(*) FROM runs {alias} WHERE {alias}.{column} = q.{column} AND {})",
                holds_slot(alias)
            )
        };
        let pick = format!(
            "SELECT q.id FROM runs q WHERE q.status = 'queued' AND q.backend IN ({}) \
             AND (q.environment_id IS NULL OR {} < $3) AND {} < $4 \
             ORDER BY {}, q.id LIMIT 1{}",
            placeholders.join(", "),
            holding("r", "environment_id"),
            holding("p", "project_id"),
            holding("f", "project_id"),
            dialect::skip_locked(self.engine(), "q"),
        );
        let sql = format!(
            "UPDATE runs SET status = 'running', claimed_by = $1, heartbeat_at = $2, started_at = $2, \
             updated_at = $2 WHERE id IN ({pick}) RETURNING id"
        );
        let mut runs = Vec::new();
        for _ in 0..limit {
            let at = now();
            let id: Option<i64> = on_db!(self, c => {
                let mut query = sqlx::query_scalar(&sql)
                    .bind(worker)
                    .bind(at)
                    .bind(i64::from(limits.per_environment))
                    .bind(i64::from(limits.per_project));
                for name in &names {
                    query = query.bind(*name);
                }
                query.fetch_optional(&mut *c).await
            })?;
            match id {
                Some(id) => {
                    let run = self.run(id).await?;
                    crate::telemetry::run_started(run.backend);
                    runs.push(run);
                }
                None => break,
            }
        }
        Ok(runs)
    }

    /// The worker still runs it; the answer says whether someone asked to cancel it.
    pub async fn heartbeat(&mut self, run_id: i64, worker: &str) -> ServiceResult<bool> {
        let cancel: Option<bool> = on_db!(self, c => {
            sqlx::query_scalar(
                "UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND claimed_by = $3 AND status = 'running' \
                 RETURNING cancel_requested",
            )
            .bind(now())
            .bind(run_id)
            .bind(worker)
            .fetch_optional(&mut *c)
            .await
        })?;
        // No row: the run was settled elsewhere (a sweep after a long pause): stop it too.
        Ok(cancel.unwrap_or(true))
    }

    /// Settles runs whose process stopped (killed, crashed, lost): those claimed by a uHub process
    /// whose lease ran out before `stale_before` (or by none known). They are marked failed with
    /// the reason, their log says so, and they are returned so that what they started can be
    /// stopped. A webhook run waiting for its callback is held by no process: it is not one.
    /// Nor is a run of `sweeper`, the process sweeping: it is alive, whatever its lease says (a
    /// renewal held up by a busy database made it settle and kill its own runs).
    pub async fn sweep_orphans(
        &mut self,
        stale_before: DateTime<Utc>,
        sweeper: &str,
    ) -> ServiceResult<Vec<Orphan>> {
        #[derive(sqlx::FromRow)]
        struct Stale {
            id: i64,
            external_id: Option<String>,
            host: Option<String>,
        }
        let stale = on_db!(self, c => {
            sqlx::query_as::<_, Stale>(
                "SELECT r.id, r.external_id, w.host FROM runs r LEFT JOIN workers w ON w.id = r.claimed_by \
                 WHERE r.status = 'running' AND r.callback_deadline IS NULL \
                 AND (w.id IS NULL OR w.seen_at < $1) \
                 AND (r.claimed_by IS NULL OR r.claimed_by <> $2) ORDER BY r.id",
            )
            .bind(stale_before)
            .bind(sweeper)
            .fetch_all(&mut *c)
            .await
        })?;
        let mut orphans = Vec::new();
        for row in stale {
            let reason = "uHub stopped during the run (killed or crashed); the run was settled when uHub came back";
            self.append_run_lines(row.id, LogStream::System, &[reason.to_owned()])
                .await?;
            let run = self
                .finish_run(row.id, RunStatus::Failed, None, Some(reason))
                .await?;
            if run.status == RunStatus::Failed {
                orphans.push(Orphan {
                    run,
                    external_id: row.external_id,
                    host: row.host,
                });
            }
        }
        Ok(orphans)
    }

    /// This uHub process is alive: its lease is renewed (and created at its first call).
    pub async fn renew_lease(&mut self, worker: &str, host: &str) -> ServiceResult<()> {
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO workers (id, host, started_at, seen_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            )
            .bind(worker)
            .bind(host)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// A webhook run was triggered: it now waits for its target's callback until `deadline`,
    /// holding no execution slot.
    pub async fn wait_for_callback(
        &mut self,
        run_id: i64,
        deadline: DateTime<Utc>,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query("UPDATE runs SET callback_deadline = $1, updated_at = $2 WHERE id = $3 AND status = 'running'")
                .bind(super::stored_precision(deadline))
                .bind(now())
                .bind(run_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Ends the webhook runs whose callback did not come in time, as `timed_out`.
    pub async fn expire_callbacks(&mut self, now_at: DateTime<Utc>) -> ServiceResult<Vec<Run>> {
        let ids: Vec<i64> = on_db!(self, c => {
            sqlx::query_scalar(
                "SELECT id FROM runs WHERE status = 'running' AND callback_deadline IS NOT NULL \
                 AND callback_deadline < $1 ORDER BY id",
            )
            .bind(super::stored_precision(now_at))
            .fetch_all(&mut *c)
            .await
        })?;
        let mut expired = Vec::new();
        for id in ids {
            let run = self.run(id).await?;
            let waited = run
                .callback_deadline
                .zip(run.started_at)
                .map(|(end, start)| (end - start).num_seconds())
                .unwrap_or_default();
            let reason = format!("no final callback from the webhook target within {waited} s");
            self.append_run_lines(
                id,
                LogStream::System,
                &[format!("finished: timed_out: {reason}")],
            )
            .await?;
            expired.push(
                self.finish_run(id, RunStatus::TimedOut, None, Some(&reason))
                    .await?,
            );
        }
        Ok(expired)
    }

    /// Takes a callback once: `false` when the same one (its digest) was taken before.
    pub async fn take_callback(&mut self, run_id: i64, digest: &str) -> ServiceResult<bool> {
        let taken = on_db!(self, c => {
            sqlx::query(
                "INSERT INTO run_callbacks (run_id, digest, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(run_id)
            .bind(digest)
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(taken > 0)
    }
}

impl Db {
    /// Where a queued run stands: its place among the queued runs (oldest first) and why it
    /// waits; `None` for a run not queued.
    pub async fn queue_place(
        &mut self,
        run_id: i64,
        limits: &ClaimLimits,
    ) -> ServiceResult<Option<domain::QueuePlace>> {
        #[derive(sqlx::FromRow)]
        struct Standing {
            ahead: i64,
            running: i64,
            in_environment: i64,
            in_project: i64,
            environment: Option<String>,
        }
        let run = self.run(run_id).await?;
        if run.status != RunStatus::Queued {
            return Ok(None);
        }
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM runs o WHERE o.status = 'queued' AND o.id < q.id) AS ahead, \
             (SELECT COUNT(*) FROM runs r WHERE {slot}) AS running, \
             (SELECT COUNT(*) FROM runs r WHERE r.environment_id = q.environment_id AND {slot}) AS in_environment, \
             (SELECT COUNT(*) FROM runs r WHERE r.project_id = q.project_id AND {slot}) AS in_project, \
             e.name AS environment FROM runs q LEFT JOIN environments e ON e.id = q.environment_id WHERE q.id = $1",
            slot = holds_slot("r")
        );
        let standing = on_db!(self, c => {
            sqlx::query_as::<_, Standing>(&sql).bind(run_id).fetch_one(&mut *c).await
        })?;
        let reason = match standing.environment {
            Some(environment) if standing.in_environment >= i64::from(limits.per_environment) => {
                format!(
                    "{} runs are running in `{environment}`: at most {} at once there",
                    standing.in_environment, limits.per_environment
                )
            }
            _ if standing.in_project >= i64::from(limits.per_project) => format!(
                "this project already has {} runs running: at most {} at once, so other projects get their turn",
                standing.in_project, limits.per_project
            ),
            _ if standing.ahead > 0 => format!(
                "{} queued runs are ahead of it",
                standing.ahead
            ),
            _ if standing.running >= i64::from(limits.slots) => format!(
                "every execution slot is busy ({} runs running)",
                standing.running
            ),
            _ => "about to start: the dispatcher takes it at its next round".to_owned(),
        };
        Ok(Some(domain::QueuePlace {
            position: standing.ahead + 1,
            reason,
        }))
    }
}
