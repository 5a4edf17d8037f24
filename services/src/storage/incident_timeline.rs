//! What an incident's timeline adds to uHub's records: notes and manual entries, pins, links to
//! jobs and runs, verdicts on suspected changes and the post-mortem's versions; and the runs of a
//! period that the timeline and the suspects read.

use chrono::{DateTime, Utc};

use super::{audit, now, on_db, stored_precision, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A note or manual entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_by: Option<String>,
}

/// A saved version of the post-mortem.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredPostmortem {
    pub version: i64,
    pub body: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Db {
    pub async fn incident_entries(&mut self, incident_id: i64) -> ServiceResult<Vec<StoredEntry>> {
        Ok(on_db!(self, c => {
            sqlx::query_as::<_, StoredEntry>(
                "SELECT n.id, n.at, n.kind, n.title, n.body, u.username AS created_by FROM incident_entries n \
                 LEFT JOIN users u ON u.id = n.created_by WHERE n.incident_id = $1 ORDER BY n.at, n.id",
            )
            .bind(incident_id)
            .fetch_all(&mut *c)
            .await
        })?)
    }

    pub async fn incident_pins(&mut self, incident_id: i64) -> ServiceResult<Vec<String>> {
        Ok(on_db!(self, c => {
            sqlx::query_scalar("SELECT ref FROM incident_pins WHERE incident_id = $1 ORDER BY ref")
                .bind(incident_id)
                .fetch_all(&mut *c)
                .await
        })?)
    }

    /// `(kind, target id)` of the incident's links.
    pub async fn incident_links(&mut self, incident_id: i64) -> ServiceResult<Vec<(String, i64)>> {
        Ok(on_db!(self, c => {
            sqlx::query_as(
                "SELECT kind, target_id FROM incident_links WHERE incident_id = $1 ORDER BY kind, target_id",
            )
            .bind(incident_id)
            .fetch_all(&mut *c)
            .await
        })?)
    }

    /// `(ref, verdict)` of the suspects the team decided on.
    pub async fn incident_verdicts(
        &mut self,
        incident_id: i64,
    ) -> ServiceResult<Vec<(String, String)>> {
        Ok(on_db!(self, c => {
            sqlx::query_as("SELECT ref, verdict FROM incident_verdicts WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_all(&mut *c)
                .await
        })?)
    }

    /// The newest version of the post-mortem, if one was drafted.
    pub async fn postmortem(
        &mut self,
        incident_id: i64,
    ) -> ServiceResult<Option<StoredPostmortem>> {
        Ok(on_db!(self, c => {
            sqlx::query_as::<_, StoredPostmortem>(
                "SELECT p.version, p.body, u.username AS created_by, p.created_at FROM incident_postmortems p \
                 LEFT JOIN users u ON u.id = p.created_by WHERE p.incident_id = $1 ORDER BY p.version DESC LIMIT 1",
            )
            .bind(incident_id)
            .fetch_optional(&mut *c)
            .await
        })?)
    }
}

impl Tx {
    /// Adds a note or a manual entry at `at`; audited with its title.
    pub async fn add_incident_entry(
        &mut self,
        incident_id: i64,
        kind: &str,
        at: DateTime<Utc>,
        title: &str,
        body: &str,
        actor: &Actor,
    ) -> ServiceResult<i64> {
        let created = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO incident_entries (incident_id, at, kind, title, body, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(incident_id)
            .bind(stored_precision(at))
            .bind(kind)
            .bind(title)
            .bind(body)
            .bind(actor.user_id)
            .bind(created)
            .fetch_one(&mut *c)
            .await
        })?;
        let detail = serde_json::json!({"entry": id, "kind": kind, "title": title, "at": at});
        audit::write(
            self,
            actor,
            "incident.entry_add",
            Some(("incident", incident_id)),
            &detail,
        )
        .await?;
        Ok(id)
    }

    /// Changes a note or manual entry of the incident (404 when it is another incident's).
    pub async fn update_incident_entry(
        &mut self,
        incident_id: i64,
        entry_id: i64,
        at: Option<DateTime<Utc>>,
        title: Option<&str>,
        body: Option<&str>,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE incident_entries SET at = COALESCE($3, at), title = COALESCE($4, title), \
                 body = COALESCE($5, body), updated_at = $6 WHERE id = $1 AND incident_id = $2",
            )
            .bind(entry_id)
            .bind(incident_id)
            .bind(at.map(stored_precision))
            .bind(title)
            .bind(body)
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        if changed == 0 {
            return Err(ServiceError::NotFound {
                what: "timeline entry",
            });
        }
        let detail = serde_json::json!({"entry": entry_id, "at": at, "title": title});
        audit::write(
            self,
            actor,
            "incident.entry_update",
            Some(("incident", incident_id)),
            &detail,
        )
        .await
    }

    pub async fn delete_incident_entry(
        &mut self,
        incident_id: i64,
        entry_id: i64,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let removed = on_db!(self, c => {
            sqlx::query("DELETE FROM incident_entries WHERE id = $1 AND incident_id = $2")
                .bind(entry_id)
                .bind(incident_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        if removed == 0 {
            return Err(ServiceError::NotFound {
                what: "timeline entry",
            });
        }
        let detail = serde_json::json!({"entry": entry_id});
        audit::write(
            self,
            actor,
            "incident.entry_delete",
            Some(("incident", incident_id)),
            &detail,
        )
        .await
    }

    pub async fn set_incident_pin(
        &mut self,
        incident_id: i64,
        reference: &str,
        pinned: bool,
        actor: &Actor,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            if pinned {
                sqlx::query(
                    "INSERT INTO incident_pins (incident_id, ref, pinned_by, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (incident_id, ref) DO NOTHING",
                )
                .bind(incident_id)
                .bind(reference)
                .bind(actor.user_id)
                .bind(now())
                .execute(&mut *c)
                .await
                .map(|_| ())
            } else {
                sqlx::query("DELETE FROM incident_pins WHERE incident_id = $1 AND ref = $2")
                    .bind(incident_id)
                    .bind(reference)
                    .execute(&mut *c)
                    .await
                    .map(|_| ())
            }
        })?;
        let action = if pinned {
            "incident.pin"
        } else {
            "incident.unpin"
        };
        let detail = serde_json::json!({"ref": reference});
        audit::write(
            self,
            actor,
            action,
            Some(("incident", incident_id)),
            &detail,
        )
        .await
    }

    pub async fn link_incident(
        &mut self,
        incident_id: i64,
        kind: &str,
        target_id: i64,
        actor: &Actor,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO incident_links (incident_id, kind, target_id, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, kind, target_id) DO NOTHING",
            )
            .bind(incident_id)
            .bind(kind)
            .bind(target_id)
            .bind(actor.user_id)
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        let detail = serde_json::json!({"kind": kind, "target_id": target_id});
        audit::write(
            self,
            actor,
            "incident.link",
            Some(("incident", incident_id)),
            &detail,
        )
        .await
    }

    pub async fn set_incident_verdict(
        &mut self,
        incident_id: i64,
        reference: &str,
        verdict: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO incident_verdicts (incident_id, ref, verdict, decided_by, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (incident_id, ref) DO UPDATE SET verdict = excluded.verdict, \
                 decided_by = excluded.decided_by, created_at = excluded.created_at",
            )
            .bind(incident_id)
            .bind(reference)
            .bind(verdict)
            .bind(actor.user_id)
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        let detail = serde_json::json!({"ref": reference, "verdict": verdict});
        audit::write(
            self,
            actor,
            "incident.verdict",
            Some(("incident", incident_id)),
            &detail,
        )
        .await
    }

    /// Saves a new version of the post-mortem; its number.
    pub async fn save_postmortem(
        &mut self,
        incident_id: i64,
        body: &str,
        actor: &Actor,
    ) -> ServiceResult<i64> {
        let current: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar("SELECT MAX(version) FROM incident_postmortems WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_one(&mut *c)
                .await
        })?;
        let version = current.unwrap_or(0) + 1;
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO incident_postmortems (incident_id, version, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(incident_id)
            .bind(version)
            .bind(body)
            .bind(actor.user_id)
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|_| ())
            // Saved by someone else at the same moment (PostgreSQL; the version is a key).
            .map_err(ServiceError::on_unique_conflict(
                "the post-mortem was saved by someone else at the same moment: reload it and save again",
            ))
        })?;
        let detail = serde_json::json!({"version": version, "chars": body.chars().count()});
        audit::write(
            self,
            actor,
            "incident.postmortem",
            Some(("incident", incident_id)),
            &detail,
        )
        .await?;
        Ok(version)
    }
}
