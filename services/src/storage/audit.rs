//! The audit log: who did what, when, to what, with which outcome. Append-only (triggers refuse
//! anything else); every change that matters writes its row in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{now, on_db, reads, stored_precision, writes, Db, Tx};
use crate::ServiceResult;

/// Who is acting, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub client_ip: Option<String>,
}

impl Actor {
    /// uHub itself (start-up bootstrap, demo seed from the configuration).
    pub fn system() -> Self {
        Actor {
            user_id: None,
            username: "uhub".to_owned(),
            client_ip: None,
        }
    }

    pub fn user(user_id: i64, username: &str, client_ip: Option<String>) -> Self {
        Actor {
            user_id: Some(user_id),
            username: username.to_owned(),
            client_ip,
        }
    }
}

/// The outcome column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

const AUDIT_INSERT: &str = "INSERT INTO audit_log \
     (at, actor_id, actor_username, action, target_type, target_id, outcome, detail, client_ip) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// What an audit row is about: its type (`job`, `run`, `project`…) and id.
pub type Target<'a> = Option<(&'a str, i64)>;

/// Writes one successful action's audit row, in the transaction of the change it records (so
/// both commit, or neither). `detail` must never hold a secret.
pub async fn write(
    db: &mut Db,
    actor: &Actor,
    action: &str,
    target: Target<'_>,
    detail: &impl Serialize,
) -> ServiceResult<()> {
    write_outcome(db, actor, action, target, Outcome::Success, detail).await
}

/// Writes one audit row with its outcome (a refusal, a failure).
pub async fn write_outcome(
    db: &mut Db,
    actor: &Actor,
    action: &str,
    target: Target<'_>,
    outcome: Outcome,
    detail: &impl Serialize,
) -> ServiceResult<()> {
    let (target_type, target_id) = target.unzip();
    on_db!(db, c => {
        sqlx::query(AUDIT_INSERT)
            .bind(now())
            .bind(actor.user_id)
            .bind(&actor.username)
            .bind(action)
            .bind(target_type)
            .bind(target_id.map(|id| id.to_string()))
            .bind(outcome.as_str())
            .bind(sqlx::types::Json(detail))
            .bind(&actor.client_ip)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// One row of the audit log as returned by `GET /api/v1/audit`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_username: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    #[sqlx(json)]
    pub detail: serde_json::Value,
    pub client_ip: Option<String>,
}

/// Filters of the audit listing; `None` means any. `before_id` is the pagination cursor.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Exact action, or a prefix ending with `.` (`job.` = every job action).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
}

impl Tx {
    /// Writes an audit row, with its outcome, in this transaction.
    pub async fn record_audit(
        &mut self,
        actor: &Actor,
        action: &str,
        target: Target<'_>,
        outcome: Outcome,
        detail: serde_json::Value,
    ) -> ServiceResult<()> {
        write_outcome(self, actor, action, target, outcome, &detail).await
    }
}

writes! {
    /// Writes an audit row on its own (for events that change nothing else, like a failed
    /// login). A write like any other: on SQLite it waits for the writers' turn, where it was
    /// written on a read connection, outside the turn, and then waited in SQLite's busy handler
    /// (sleeps of up to 100 ms, holding a pooled connection) and made the turn's holders wait
    /// there too.
    fn record_audit(actor: &Actor, action: &str, target: Target<'_>, outcome: Outcome, detail: serde_json::Value) -> ();
}

reads! {
    fn list_audit(filter: &AuditFilter, limit: u32) -> Vec<AuditRecord>;
}

impl Db {
    /// The newest entries first, `limit` at most, matching `filter`.
    pub async fn list_audit(
        &mut self,
        filter: &AuditFilter,
        limit: u32,
    ) -> ServiceResult<Vec<AuditRecord>> {
        let (action_exact, action_prefix) = match filter.action.as_deref() {
            Some(prefix) if prefix.ends_with('.') => (None, Some(format!("{prefix}%"))),
            Some(exact) => (Some(exact), None),
            None => (None, None),
        };
        let sql = "SELECT id, at, actor_id, actor_username, action, target_type, target_id, outcome, detail, client_ip \
             FROM audit_log WHERE ($1 IS NULL OR actor_username = $1) \
             AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR action LIKE $3) \
             AND ($4 IS NULL OR target_type = $4) AND ($5 IS NULL OR target_id = $5) \
             AND ($6 IS NULL OR at >= $6) AND ($7 IS NULL OR at < $7) AND ($8 IS NULL OR id < $8) \
             ORDER BY id DESC LIMIT $9";
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, AuditRecord>(sql)
                .bind(filter.actor.as_deref())
                .bind(action_exact)
                .bind(action_prefix.as_deref())
                .bind(filter.target_type.as_deref())
                .bind(filter.target_id.as_deref())
                .bind(filter.since.map(stored_precision))
                .bind(filter.until.map(stored_precision))
                .bind(filter.before_id)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
        })?;
        Ok(rows)
    }
}

#[cfg(feature = "testing")]
impl super::Storage {
    /// Tries to edit, delete and truncate audit rows, as an attacker with SQL access through
    /// uHub would; `Err` when all are refused (what the triggers must do), `Ok` naming what got through.
    pub async fn tamper_with_audit_log(&self) -> Result<&'static str, ()> {
        let Ok(mut db) = self.read().await else {
            return Err(());
        };
        let update: Result<_, sqlx::Error> = on_db!(db, c => {
            sqlx::query("UPDATE audit_log SET action = 'nothing'").execute(&mut *c).await.map(|done| done.rows_affected())
        });
        let delete: Result<_, sqlx::Error> = on_db!(db, c => {
            sqlx::query("DELETE FROM audit_log").execute(&mut *c).await.map(|done| done.rows_affected())
        });
        // PostgreSQL empties a table without deleting rows one by one: `TRUNCATE` (SQLite has
        // no such statement; its `DELETE` without a condition is tried above).
        let truncate: Result<u64, sqlx::Error> = match db.linked() {
            super::db::Linked::Postgres(c) => sqlx::query("TRUNCATE audit_log")
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected()),
            super::db::Linked::Sqlite(_) => Err(sqlx::Error::RowNotFound),
        };
        match (update, delete, truncate) {
            (Err(_), Err(_), Err(_)) => Err(()),
            (Ok(_), _, _) => Ok("an update"),
            (_, Ok(_), _) => Ok("a delete"),
            (_, _, Ok(_)) => Ok("a truncate"),
        }
    }
}
