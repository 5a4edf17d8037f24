//! Terraform records: the plans kept for a project's workspaces (redacted analyses, never the
//! documents), the lock a plan or apply run holds on its workspace, and the approvals of runs.

use chrono::{DateTime, Utc};
use domain::terraform::{Approval, PlanAnalysis, Summary, TerraformPlan, WorkspaceLock};
use sqlx::types::Json;

use super::{audit, now, on_db, reads, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A plan to keep: its analysis is already redacted (`services::terraform::analyze`).
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub project_id: i64,
    /// The workspace.
    pub name: String,
    pub environment: Option<String>,
    pub job_id: Option<i64>,
    pub run_id: Option<i64>,
    pub analysis: PlanAnalysis,
    pub commit_sha: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    project_id: i64,
    name: String,
    environment: Option<String>,
    job_id: Option<i64>,
    run_id: Option<i64>,
    plan_sha256: String,
    summary: Json<Summary>,
    risky: i64,
    commit_sha: Option<String>,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    superseded: bool,
}

/// Runs in these states hold their workspace's lock.
const ACTIVE: &str = "('queued', 'awaiting_approval', 'running')";

const PLAN_SELECT: &str = "SELECT p.id, p.project_id, p.name, e.name AS environment, p.job_id, p.run_id, \
     p.plan_sha256, p.summary, p.risky, p.commit_sha, u.username AS created_by, p.created_at, \
     EXISTS (SELECT 1 FROM terraform_plans n WHERE n.project_id = p.project_id AND n.name = p.name AND n.id > p.id) AS superseded \
     FROM terraform_plans p LEFT JOIN environments e ON e.id = p.environment_id LEFT JOIN users u ON u.id = p.created_by";

impl From<PlanRow> for TerraformPlan {
    fn from(row: PlanRow) -> TerraformPlan {
        TerraformPlan {
            id: row.id,
            project_id: row.project_id,
            name: row.name,
            environment: row.environment,
            job_id: row.job_id,
            run_id: row.run_id,
            plan_sha256: row.plan_sha256,
            summary: row.summary.0,
            risky: usize::try_from(row.risky).unwrap_or(0),
            commit_sha: row.commit_sha,
            created_by: row.created_by,
            created_at: row.created_at,
            superseded: row.superseded,
            analysis: None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ApprovalRow {
    user_id: i64,
    username: Option<String>,
    plan_sha256: Option<String>,
    comment: Option<String>,
    created_at: DateTime<Utc>,
}

reads! {
    fn terraform_plans(project_id: i64) -> Vec<TerraformPlan>;
    fn terraform_plan(id: i64) -> TerraformPlan;
    fn plan_of_run(run_id: i64) -> Option<TerraformPlan>;
    fn workspace_locks(project_id: i64) -> Vec<WorkspaceLock>;
    fn approvals(run_id: i64) -> Vec<Approval>;
}

impl Tx {
    /// Keeps a plan (its redacted analysis and digest), audited without any value.
    pub async fn save_terraform_plan(
        &mut self,
        new: &NewPlan,
        actor: &Actor,
    ) -> ServiceResult<TerraformPlan> {
        let name = crate::rules::one_line_name(&new.name)?;
        let environment_id = match &new.environment {
            Some(env) => Some(self.environment(new.project_id, env).await?.id),
            None => None,
        };
        if let Some(job_id) = new.job_id {
            let job = self.job(job_id).await.ok();
            if job.is_none_or(|j| j.project_id != new.project_id) {
                return Err(ServiceError::invalid(
                    "job_id",
                    "names no job of the project",
                ));
            }
        }
        let risky = new
            .analysis
            .resources
            .iter()
            .filter(|r| !r.risk.is_empty())
            .count();
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO terraform_plans (project_id, name, environment_id, job_id, run_id, plan_sha256, summary, risky, \
                 analysis, commit_sha, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(new.project_id)
            .bind(name)
            .bind(environment_id)
            .bind(new.job_id)
            .bind(new.run_id)
            .bind(&new.analysis.plan_sha256)
            .bind(Json(&new.analysis.summary))
            .bind(i64::try_from(risky).unwrap_or(i64::MAX))
            .bind(Json(&new.analysis))
            .bind(&new.commit_sha)
            .bind(actor.user_id)
            .bind(at)
            .fetch_one(&mut *c)
            .await
        })?;
        let detail = serde_json::json!({
            "project_id": new.project_id,
            "name": name,
            "run_id": new.run_id,
            "plan_sha256": new.analysis.plan_sha256,
            "summary": new.analysis.summary,
            "commit_sha": new.commit_sha,
        });
        audit::write(
            self,
            actor,
            "terraform_plan.create",
            Some(("terraform_plan", id)),
            &detail,
        )
        .await?;
        self.terraform_plan(id).await
    }

    /// Takes the lock of `(project, workspace)` for `run_id`: refused (409, naming the run) while
    /// another run holding it is queued, awaiting approval or running. A lock whose run ended is
    /// taken over; two launches at once cannot both take it: the key is unique, and only a lock
    /// whose run ended is cleared before the insert. (Clearing the key whatever held it let a
    /// second launch on PostgreSQL, which had found no holder just before the first committed,
    /// remove the first's lock and take the workspace too.)
    pub async fn lock_workspace(
        &mut self,
        project_id: i64,
        workspace: &str,
        run_id: i64,
    ) -> ServiceResult<()> {
        let sql = format!(
            "SELECT l.run_id FROM terraform_locks l JOIN runs r ON r.id = l.run_id \
             WHERE l.project_id = $1 AND l.workspace = $2 AND r.status IN {ACTIVE}"
        );
        let holder: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar(&sql).bind(project_id).bind(workspace).fetch_optional(&mut *c).await
        })?;
        if let Some(holder) = holder.filter(|h| *h != run_id) {
            return Err(ServiceError::Conflict(format!(
                "the workspace `{workspace}` is locked by run #{holder} until it ends"
            )));
        }
        let at = now();
        let clear_ended = format!(
            "DELETE FROM terraform_locks WHERE project_id = $1 AND workspace = $2 \
             AND (run_id = $3 OR run_id NOT IN (SELECT id FROM runs WHERE status IN {ACTIVE}))"
        );
        on_db!(self, c => {
            sqlx::query(&clear_ended)
                .bind(project_id)
                .bind(workspace)
                .bind(run_id)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO terraform_locks (project_id, workspace, run_id, locked_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(project_id)
            .bind(workspace)
            .bind(run_id)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
            .map_err(ServiceError::on_unique_conflict(format!(
                "the workspace `{workspace}` was locked by another run at the same moment"
            )))
        })
    }

    /// Records one approver's approval of a run (with the plan they saw, for an apply). An
    /// approver approves once: a second approval by the same person replaces the first.
    pub async fn add_approval(
        &mut self,
        run_id: i64,
        plan_sha256: Option<&str>,
        comment: Option<&str>,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let user_id = actor
            .user_id
            .ok_or_else(|| ServiceError::Internal("an approval without an approver".to_owned()))?;
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO run_approvals (run_id, user_id, plan_sha256, comment, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (run_id, user_id) DO UPDATE SET plan_sha256 = excluded.plan_sha256, \
                 comment = excluded.comment, created_at = excluded.created_at",
            )
            .bind(run_id)
            .bind(user_id)
            .bind(plan_sha256)
            .bind(comment)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        let detail = serde_json::json!({ "plan_sha256": plan_sha256, "comment": comment });
        audit::write(self, actor, "run.approval", Some(("run", run_id)), &detail).await
    }
}

impl Db {
    /// A project's plans, newest first (without their analyses).
    pub async fn terraform_plans(&mut self, project_id: i64) -> ServiceResult<Vec<TerraformPlan>> {
        let sql = format!("{PLAN_SELECT} WHERE p.project_id = $1 ORDER BY p.id DESC LIMIT 500");
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, PlanRow>(&sql).bind(project_id).fetch_all(&mut *c).await
        })?;
        Ok(rows.into_iter().map(TerraformPlan::from).collect())
    }

    /// One plan with its analysis.
    pub async fn terraform_plan(&mut self, id: i64) -> ServiceResult<TerraformPlan> {
        let sql = format!("{PLAN_SELECT} WHERE p.id = $1");
        let row = on_db!(self, c => {
            sqlx::query_as::<_, PlanRow>(&sql).bind(id).fetch_optional(&mut *c).await
        })?
        .ok_or(ServiceError::NotFound {
            what: "terraform plan",
        })?;
        let analysis: Json<PlanAnalysis> = on_db!(self, c => {
            sqlx::query_scalar("SELECT analysis FROM terraform_plans WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await
        })?;
        let mut plan = TerraformPlan::from(row);
        plan.analysis = Some(analysis.0);
        Ok(plan)
    }

    /// The plan of the same workspace made just before plan `id`.
    pub async fn previous_plan(
        &mut self,
        project_id: i64,
        name: &str,
        id: i64,
    ) -> ServiceResult<Option<i64>> {
        let previous = on_db!(self, c => {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(id) FROM terraform_plans WHERE project_id = $1 AND name = $2 AND id < $3",
            )
            .bind(project_id)
            .bind(name)
            .bind(id)
            .fetch_one(&mut *c)
            .await
        })?;
        Ok(previous)
    }

    /// The plan a plan run made, with its analysis.
    pub async fn plan_of_run(&mut self, run_id: i64) -> ServiceResult<Option<TerraformPlan>> {
        let id: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar("SELECT id FROM terraform_plans WHERE run_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(run_id)
                .fetch_optional(&mut *c)
                .await
        })?;
        match id {
            Some(id) => Ok(Some(self.terraform_plan(id).await?)),
            None => Ok(None),
        }
    }

    /// The workspaces of a project held by a run now.
    pub async fn workspace_locks(&mut self, project_id: i64) -> ServiceResult<Vec<WorkspaceLock>> {
        let sql = format!(
            "SELECT l.workspace, l.run_id, l.locked_at FROM terraform_locks l JOIN runs r ON r.id = l.run_id \
             WHERE l.project_id = $1 AND r.status IN {ACTIVE} ORDER BY l.workspace"
        );
        let rows: Vec<(String, i64, DateTime<Utc>)> = on_db!(self, c => {
            sqlx::query_as(&sql).bind(project_id).fetch_all(&mut *c).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(workspace, run_id, locked_at)| WorkspaceLock {
                workspace,
                run_id,
                locked_at,
            })
            .collect())
    }

    /// A run's approvals, oldest first.
    pub async fn approvals(&mut self, run_id: i64) -> ServiceResult<Vec<Approval>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, ApprovalRow>(
                "SELECT a.user_id, u.username, a.plan_sha256, a.comment, a.created_at FROM run_approvals a \
                 LEFT JOIN users u ON u.id = a.user_id WHERE a.run_id = $1 ORDER BY a.created_at, a.user_id",
            )
            .bind(run_id)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|row| Approval {
                user_id: row.user_id,
                username: row.username,
                plan_sha256: row.plan_sha256,
                comment: row.comment,
                at: row.created_at,
            })
            .collect())
    }
}

#[cfg(feature = "testing")]
impl Db {
    /// Every stored plan row of a project as text (tests look in it for values that must
    /// never be kept).
    pub async fn stored_plan_rows(&mut self, project_id: i64) -> ServiceResult<String> {
        let rows: Vec<(
            String,
            String,
            Json<serde_json::Value>,
            Json<serde_json::Value>,
        )> = on_db!(self, c => {
            sqlx::query_as("SELECT name, plan_sha256, summary, analysis FROM terraform_plans WHERE project_id = $1")
                .bind(project_id)
                .fetch_all(&mut *c)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(name, sha, summary, analysis)| {
                format!("{name} {sha} {} {}\n", summary.0, analysis.0)
            })
            .collect())
    }
}
