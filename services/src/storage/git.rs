//! Git: the webhook deliveries each repository link received, and the commits and merge
//! requests linked to jobs.

use chrono::{DateTime, Utc};
use domain::{ChangeKind, ChangeSource, CodeChange, Delivery};

use super::{now, on_db, reads, stored_precision, writes, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A change to link to a job.
#[derive(Debug, Clone)]
pub struct NewCodeChange {
    pub job_id: i64,
    pub link_id: i64,
    pub kind: ChangeKind,
    pub sha: Option<String>,
    pub number: Option<i64>,
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    pub at: DateTime<Utc>,
    pub source: ChangeSource,
}

/// A delivery to keep: who sent it where, what it was, and what became of it.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    pub link_id: i64,
    pub delivery_id: &'a str,
    /// The body's SHA-256 (hex): a received body is acted on once per link. `None` for a
    /// replay, which reuses a kept body on purpose.
    pub body_sha256: Option<&'a str>,
    pub event: &'a str,
    pub outcome: &'a str,
    pub linked: i64,
    /// The body as received, for a later replay (`None`: not UTF-8).
    pub payload: Option<&'a str>,
}

impl NewCodeChange {
    /// What makes the change one per job: a commit's SHA, a merge request's `!number`.
    fn key(&self) -> String {
        match (&self.sha, self.number) {
            (Some(sha), _) if self.kind == ChangeKind::Commit => sha.to_ascii_lowercase(),
            (_, Some(number)) => format!("!{number}"),
            (Some(sha), None) => sha.to_ascii_lowercase(),
            (None, None) => String::new(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    link_id: i64,
    delivery_id: String,
    event: String,
    outcome: String,
    linked: i64,
    received_at: DateTime<Utc>,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Delivery {
        Delivery {
            id: row.id,
            link_id: row.link_id,
            delivery_id: row.delivery_id,
            event: row.event,
            outcome: row.outcome,
            linked: row.linked,
            received_at: row.received_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    job_id: i64,
    link_id: i64,
    kind: String,
    sha: Option<String>,
    number: Option<i64>,
    title: String,
    author: Option<String>,
    url: Option<String>,
    at: DateTime<Utc>,
    source: String,
}

impl TryFrom<ChangeRow> for CodeChange {
    type Error = ServiceError;

    fn try_from(row: ChangeRow) -> ServiceResult<CodeChange> {
        let corrupt = |e: domain::UnknownVariant| {
            ServiceError::Internal(format!("stored code change is invalid: {e}"))
        };
        Ok(CodeChange {
            id: row.id,
            job_id: row.job_id,
            kind: row.kind.parse().map_err(corrupt)?,
            link_id: row.link_id,
            sha: row.sha,
            number: row.number,
            title: row.title,
            author: row.author,
            url: row.url,
            at: row.at,
            source: row.source.parse().map_err(corrupt)?,
        })
    }
}

reads! {
    fn deliveries(link_id: i64, limit: u32) -> Vec<Delivery>;
    fn code_changes(job_id: i64) -> Vec<CodeChange>;
}

writes! {
    fn link_code_change(change: &NewCodeChange) -> bool;
}

impl Db {
    /// Whether a delivery of this id, or with this body (its SHA-256, hex), already reached
    /// this link.
    pub async fn delivery_seen(
        &mut self,
        link_id: i64,
        delivery_id: &str,
        body_sha256: &str,
    ) -> ServiceResult<bool> {
        let found: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar(
                "SELECT id FROM git_deliveries \
                 WHERE link_id = $1 AND (delivery_id = $2 OR body_sha256 = $3) LIMIT 1",
            )
            .bind(link_id)
            .bind(delivery_id)
            .bind(body_sha256)
            .fetch_optional(&mut *c)
            .await
        })?;
        Ok(found.is_some())
    }

    /// One delivery of a link and the body it came with (`None`: kept before bodies were).
    pub async fn delivery_with_payload(
        &mut self,
        link_id: i64,
        id: i64,
    ) -> ServiceResult<(Delivery, Option<String>)> {
        let payload: Option<Option<String>> = on_db!(self, c => {
            sqlx::query_scalar("SELECT payload FROM git_deliveries WHERE link_id = $1 AND id = $2")
                .bind(link_id)
                .bind(id)
                .fetch_optional(&mut *c)
                .await
        })?;
        let payload = payload.ok_or(ServiceError::NotFound { what: "delivery" })?;
        let row = on_db!(self, c => {
            sqlx::query_as::<_, DeliveryRow>(
                "SELECT id, link_id, delivery_id, event, outcome, linked, received_at \
                 FROM git_deliveries WHERE link_id = $1 AND id = $2",
            )
            .bind(link_id)
            .bind(id)
            .fetch_one(&mut *c)
            .await
        })?;
        Ok((Delivery::from(row), payload))
    }

    /// A link's deliveries, newest first.
    pub async fn deliveries(&mut self, link_id: i64, limit: u32) -> ServiceResult<Vec<Delivery>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, DeliveryRow>(
                "SELECT id, link_id, delivery_id, event, outcome, linked, received_at \
                 FROM git_deliveries WHERE link_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(link_id)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows.into_iter().map(Delivery::from).collect())
    }

    /// The changes linked to jobs, newest first, `limit` at most (one row per job and change).
    pub async fn recent_code_changes(&mut self, limit: u32) -> ServiceResult<Vec<CodeChange>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, ChangeRow>(
                "SELECT id, job_id, link_id, kind, sha, number, title, author, url, at, source \
                 FROM code_changes ORDER BY at DESC, id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
        })?;
        rows.into_iter().map(CodeChange::try_from).collect()
    }

    /// A job's linked changes, newest first.
    pub async fn code_changes(&mut self, job_id: i64) -> ServiceResult<Vec<CodeChange>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, ChangeRow>(
                "SELECT id, job_id, link_id, kind, sha, number, title, author, url, at, source \
                 FROM code_changes WHERE job_id = $1 ORDER BY at DESC, id DESC",
            )
            .bind(job_id)
            .fetch_all(&mut *c)
            .await
        })?;
        rows.into_iter().map(CodeChange::try_from).collect()
    }

    /// Which of `ids` are jobs of `project_id` (a repository links only its own project's jobs).
    pub async fn jobs_of_project(
        &mut self,
        project_id: i64,
        ids: &[i64],
    ) -> ServiceResult<Vec<i64>> {
        let mut found = Vec::new();
        for id in ids {
            let job: Option<i64> = on_db!(self, c => {
                sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1 AND project_id = $2")
                    .bind(*id)
                    .bind(project_id)
                    .fetch_optional(&mut *c)
                    .await
            })?;
            found.extend(job);
        }
        Ok(found)
    }
}

impl Tx {
    /// Keeps a delivery (what and when, never a secret). A delivery id, or a body, seen before
    /// on this link is a conflict: it was kept once.
    pub async fn record_delivery(&mut self, new: &NewDelivery<'_>) -> ServiceResult<Delivery> {
        let received_at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO git_deliveries \
                 (link_id, delivery_id, body_sha256, event, outcome, linked, received_at, payload) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(new.link_id)
            .bind(new.delivery_id)
            .bind(new.body_sha256)
            .bind(new.event)
            .bind(new.outcome)
            .bind(new.linked)
            .bind(received_at)
            .bind(new.payload)
            .fetch_one(&mut *c)
            .await
            .map_err(ServiceError::on_unique("delivery_id"))
        })?;
        Ok(Delivery {
            id,
            link_id: new.link_id,
            delivery_id: new.delivery_id.to_owned(),
            event: new.event.to_owned(),
            outcome: new.outcome.to_owned(),
            linked: new.linked,
            received_at,
        })
    }

    /// Unlinks a change from its job; `false` when the job has no such change.
    pub async fn unlink_code_change(&mut self, job_id: i64, change_id: i64) -> ServiceResult<bool> {
        let removed = on_db!(self, c => {
            sqlx::query("DELETE FROM code_changes WHERE id = $1 AND job_id = $2")
                .bind(change_id)
                .bind(job_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(removed > 0)
    }

    /// Links a change to a job; `false` when it was linked already.
    pub async fn link_code_change(&mut self, change: &NewCodeChange) -> ServiceResult<bool> {
        let key = change.key();
        let inserted = on_db!(self, c => {
            sqlx::query(
                "INSERT INTO code_changes (job_id, link_id, kind, change_key, sha, number, title, author, url, at, source, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (job_id, link_id, kind, change_key) DO NOTHING",
            )
            .bind(change.job_id)
            .bind(change.link_id)
            .bind(change.kind.as_str())
            .bind(&key)
            .bind(change.sha.as_deref())
            .bind(change.number)
            .bind(&change.title)
            .bind(change.author.as_deref())
            .bind(change.url.as_deref())
            .bind(stored_precision(change.at))
            .bind(change.source.as_str())
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(inserted > 0)
    }
}
