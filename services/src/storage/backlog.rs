//! Backlog items: a project's tasks and milestones.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{BacklogItem, BacklogKind, BacklogStatus};

use super::incidents::check_title;
use super::{audit, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A backlog item to create.
#[derive(Debug, Clone)]
pub struct NewBacklogItem {
    pub project_id: i64,
    pub kind: BacklogKind,
    pub title: String,
    pub description: String,
    pub status: BacklogStatus,
    pub assignee_id: Option<i64>,
    pub due_date: Option<NaiveDate>,
}

/// Changes to a backlog item; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct BacklogChanges {
    pub kind: Option<BacklogKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<BacklogStatus>,
    pub assignee_id: Option<Option<i64>>,
    pub due_date: Option<Option<NaiveDate>>,
}

/// Filters of a backlog listing (creation order); `after` is the last id of the previous page.
#[derive(Debug, Clone, Default)]
pub struct BacklogFilter {
    pub kind: Option<BacklogKind>,
    pub status: Option<BacklogStatus>,
    pub assignee_id: Option<i64>,
    pub after: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct BacklogRow {
    id: i64,
    project_id: i64,
    kind: String,
    title: String,
    description: String,
    status: String,
    assignee_id: Option<i64>,
    due_date: Option<NaiveDate>,
    rank: i64,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const BACKLOG_SELECT: &str =
    "SELECT id, project_id, kind, title, description, status, assignee_id, \
     due_date, COALESCE(rank, id) AS rank, version, created_at, updated_at FROM backlog_items";

impl TryFrom<BacklogRow> for BacklogItem {
    type Error = ServiceError;

    fn try_from(row: BacklogRow) -> ServiceResult<BacklogItem> {
        let corrupt = |e: domain::UnknownVariant| {
            ServiceError::Internal(format!("stored backlog item is invalid: {e}"))
        };
        Ok(BacklogItem {
            id: row.id,
            project_id: row.project_id,
            kind: row.kind.parse().map_err(corrupt)?,
            title: row.title,
            description: row.description,
            status: row.status.parse().map_err(corrupt)?,
            assignee_id: row.assignee_id,
            due_date: row.due_date,
            rank: row.rank,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Dates outside four-digit years would not sort as text in SQLite; nobody plans that far.
fn check_due_date(date: Option<NaiveDate>) -> ServiceResult<()> {
    use chrono::Datelike;
    match date {
        Some(date) if !(1970..=9999).contains(&date.year()) => Err(ServiceError::invalid(
            "due_date",
            "must be between 1970-01-01 and 9999-12-31",
        )),
        _ => Ok(()),
    }
}

reads! {
    fn backlog_item(id: i64) -> BacklogItem;
    fn list_backlog(project_id: i64, filter: &BacklogFilter, limit: u32) -> Vec<BacklogItem>;
}

writes! {
    fn create_backlog_item(item: &NewBacklogItem, actor: &Actor) -> BacklogItem;
    fn update_backlog_item(
        id: i64,
        based_on_version: i64,
        changes: &BacklogChanges,
        actor: &Actor,
    ) -> BacklogItem;
    fn delete_backlog_item(id: i64, actor: &Actor) -> ();
    fn shift_backlog_item(id: i64, up: bool, actor: &Actor) -> BacklogItem;
}

impl Tx {
    pub async fn create_backlog_item(
        &mut self,
        item: &NewBacklogItem,
        actor: &Actor,
    ) -> ServiceResult<BacklogItem> {
        let title = check_title(&item.title)?;
        check_due_date(item.due_date)?;
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO backlog_items (project_id, kind, title, description, status, assignee_id, due_date, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(item.project_id)
            .bind(item.kind.as_str())
            .bind(title)
            .bind(item.description.trim())
            .bind(item.status.as_str())
            .bind(item.assignee_id)
            .bind(item.due_date)
            .bind(at)
            .fetch_one(&mut *c)
            .await
            .map_err(ServiceError::on_foreign_key_field("assignee_id", "no such user"))
        })?;
        let detail =
            serde_json::json!({ "project_id": item.project_id, "kind": item.kind, "title": title });
        audit::write(
            self,
            actor,
            "backlog.create",
            Some(("backlog_item", id)),
            &detail,
        )
        .await?;
        self.backlog_item(id).await
    }
}

impl Db {
    pub async fn backlog_item(&mut self, id: i64) -> ServiceResult<BacklogItem> {
        let sql = format!("{BACKLOG_SELECT} WHERE id = $1");
        on_db!(self, c => sqlx::query_as::<_, BacklogRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "backlog item" })?
            .try_into()
    }

    /// A project's backlog in creation order, filtered, `limit` at most.
    pub async fn list_backlog(
        &mut self,
        project_id: i64,
        filter: &BacklogFilter,
        limit: u32,
    ) -> ServiceResult<Vec<BacklogItem>> {
        let sql = format!(
            "{BACKLOG_SELECT} WHERE project_id = $1 AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR status = $3) \
             AND ($4 IS NULL OR assignee_id = $4) AND ($5 IS NULL OR id > $5) ORDER BY id LIMIT $6"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, BacklogRow>(&sql)
                .bind(project_id)
                .bind(filter.kind.map(BacklogKind::as_str))
                .bind(filter.status.map(BacklogStatus::as_str))
                .bind(filter.assignee_id)
                .bind(filter.after)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
        })?;
        rows.into_iter().map(BacklogItem::try_from).collect()
    }
}

impl Tx {
    pub async fn update_backlog_item(
        &mut self,
        id: i64,
        based_on_version: i64,
        changes: &BacklogChanges,
        actor: &Actor,
    ) -> ServiceResult<BacklogItem> {
        let title = changes.title.as_deref().map(check_title).transpose()?;
        check_due_date(changes.due_date.flatten())?;
        let detail = serde_json::json!({
            "version": based_on_version,
            "status": changes.status,
            "assignee_id": changes.assignee_id,
            "due_date": changes.due_date,
        });
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE backlog_items SET kind = COALESCE($1, kind), title = COALESCE($2, title), \
                 description = COALESCE($3, description), status = COALESCE($4, status), \
                 assignee_id = CASE WHEN $5 THEN $6 ELSE assignee_id END, \
                 due_date = CASE WHEN $7 THEN $8 ELSE due_date END, \
                 version = version + 1, updated_at = $9 WHERE id = $10 AND version = $11",
            )
            .bind(changes.kind.map(BacklogKind::as_str))
            .bind(title)
            .bind(changes.description.as_deref().map(str::trim))
            .bind(changes.status.map(BacklogStatus::as_str))
            .bind(changes.assignee_id.is_some())
            .bind(changes.assignee_id.flatten())
            .bind(changes.due_date.is_some())
            .bind(changes.due_date.flatten())
            .bind(now())
            .bind(id)
            .bind(based_on_version)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(ServiceError::on_foreign_key_field("assignee_id", "no such user"))
        })?;
        if changed == 0 {
            return Err(
                match self
                    .stale_or_missing("backlog_items", "backlog item", id)
                    .await
                {
                    stale @ ServiceError::StaleVersion { .. } => {
                        let current = self.backlog_item(id).await?;
                        stale.with_current(&current)
                    }
                    other => other,
                },
            );
        }
        audit::write(
            self,
            actor,
            "backlog.update",
            Some(("backlog_item", id)),
            &detail,
        )
        .await?;
        self.backlog_item(id).await
    }

    /// Moves an item one place up (or down) in its project's order: it trades ranks with its
    /// neighbour. At the top (or bottom) nothing changes. Audited as `backlog.move`.
    pub async fn shift_backlog_item(
        &mut self,
        id: i64,
        up: bool,
        actor: &Actor,
    ) -> ServiceResult<BacklogItem> {
        let item = self.backlog_item(id).await?;
        let sql = if up {
            format!("{BACKLOG_SELECT} WHERE project_id = $1 AND (COALESCE(rank, id) < $2 OR (COALESCE(rank, id) = $2 AND id < $3)) ORDER BY COALESCE(rank, id) DESC, id DESC LIMIT 1")
        } else {
            format!("{BACKLOG_SELECT} WHERE project_id = $1 AND (COALESCE(rank, id) > $2 OR (COALESCE(rank, id) = $2 AND id > $3)) ORDER BY COALESCE(rank, id), id LIMIT 1")
        };
        let neighbour: Option<BacklogRow> = on_db!(self, c => {
            sqlx::query_as::<_, BacklogRow>(&sql)
                .bind(item.project_id)
                .bind(item.rank)
                .bind(item.id)
                .fetch_optional(&mut *c)
                .await
        })?;
        let Some(neighbour) = neighbour else {
            return Ok(item);
        };
        // Equal ranks (never moved, or a tie) get distinct ones, in the order shown.
        let (mine, theirs) = if neighbour.rank == item.rank {
            if up {
                (item.rank - 1, item.rank)
            } else {
                (item.rank + 1, item.rank)
            }
        } else {
            (neighbour.rank, item.rank)
        };
        let at = now();
        for (target, rank) in [(item.id, mine), (neighbour.id, theirs)] {
            on_db!(self, c => {
                sqlx::query("UPDATE backlog_items SET rank = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                    .bind(rank)
                    .bind(at)
                    .bind(target)
                    .execute(&mut *c)
                    .await
                    .map(|done| done.rows_affected())
            })?;
        }
        let detail = serde_json::json!({ "direction": if up { "up" } else { "down" }, "swapped_with": neighbour.id });
        audit::write(
            self,
            actor,
            "backlog.move",
            Some(("backlog_item", id)),
            &detail,
        )
        .await?;
        self.backlog_item(id).await
    }

    pub async fn delete_backlog_item(&mut self, id: i64, actor: &Actor) -> ServiceResult<()> {
        let item = self.backlog_item(id).await?;
        on_db!(self, c => sqlx::query("DELETE FROM backlog_items WHERE id = $1").bind(id).execute(&mut *c).await.map(|done| done.rows_affected()))?;
        let detail = serde_json::json!({ "project_id": item.project_id, "title": item.title });
        audit::write(
            self,
            actor,
            "backlog.delete",
            Some(("backlog_item", id)),
            &detail,
        )
        .await
    }
}
