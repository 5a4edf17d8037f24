//! Incidents: created by ops, projets and admin; changed with optimistic concurrency.

use chrono::{DateTime, Utc};
use domain::{Incident, IncidentSeverity, IncidentStatus};

use super::{audit, now, on_db, reads, stored_precision, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// An incident to open.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub project_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub owner_id: Option<i64>,
    pub job_id: Option<i64>,
    /// Defaults to now.
    pub detected_at: Option<DateTime<Utc>>,
}

/// Changes to an incident; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct IncidentChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<IncidentSeverity>,
    pub status: Option<IncidentStatus>,
    pub owner_id: Option<Option<i64>>,
    pub job_id: Option<Option<i64>>,
    pub detected_at: Option<DateTime<Utc>>,
}

/// Filters of an incident listing (newest detection first); `before` is the keyset cursor.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub project_id: Option<i64>,
    pub status: Option<IncidentStatus>,
    pub severity: Option<IncidentSeverity>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, i64)>,
}

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: i64,
    project_id: Option<i64>,
    title: String,
    description: String,
    severity: String,
    status: String,
    owner_id: Option<i64>,
    job_id: Option<i64>,
    detected_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const INCIDENT_SELECT: &str =
    "SELECT id, project_id, title, description, severity, status, owner_id, \
     job_id, detected_at, resolved_at, version, created_at, updated_at FROM incidents";

impl TryFrom<IncidentRow> for Incident {
    type Error = ServiceError;

    fn try_from(row: IncidentRow) -> ServiceResult<Incident> {
        let corrupt = |e: domain::UnknownVariant| {
            ServiceError::Internal(format!("stored incident is invalid: {e}"))
        };
        Ok(Incident {
            id: row.id,
            project_id: row.project_id,
            title: row.title,
            description: row.description,
            severity: row.severity.parse().map_err(corrupt)?,
            status: row.status.parse().map_err(corrupt)?,
            owner_id: row.owner_id,
            job_id: row.job_id,
            detected_at: row.detected_at,
            resolved_at: row.resolved_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A title: one line, not empty, at most 200 characters.
pub(crate) fn check_title(title: &str) -> ServiceResult<&str> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ServiceError::invalid("title", "must not be empty"));
    }
    if title.chars().count() > 200 || title.contains(char::is_control) {
        return Err(ServiceError::invalid(
            "title",
            "must be one line of at most 200 characters",
        ));
    }
    Ok(title)
}

fn reference_error(error: sqlx::Error) -> ServiceError {
    ServiceError::on_foreign_key_field("project_id", "the project, owner or job does not exist")(
        error,
    )
}

reads! {
    fn incident(id: i64) -> Incident;
    fn list_incidents(filter: &IncidentFilter, limit: u32) -> Vec<Incident>;
}

writes! {
    fn create_incident(incident: &NewIncident, actor: &Actor) -> Incident;
    fn update_incident(
        id: i64,
        based_on_version: i64,
        changes: &IncidentChanges,
        actor: &Actor,
    ) -> Incident;
    fn delete_incident(id: i64, actor: &Actor) -> ();
}

impl Tx {
    pub async fn create_incident(
        &mut self,
        incident: &NewIncident,
        actor: &Actor,
    ) -> ServiceResult<Incident> {
        let title = check_title(&incident.title)?;
        let at = now();
        let detected_at = incident.detected_at.map(stored_precision).unwrap_or(at);
        let resolved_at = incident.status.is_over().then_some(at);
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO incidents (project_id, title, description, severity, status, owner_id, job_id, \
                 detected_at, resolved_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            )
            .bind(incident.project_id)
            .bind(title)
            .bind(incident.description.trim())
            .bind(incident.severity.as_str())
            .bind(incident.status.as_str())
            .bind(incident.owner_id)
            .bind(incident.job_id)
            .bind(detected_at)
            .bind(resolved_at)
            .bind(at)
            .fetch_one(&mut *c)
            .await
            .map_err(reference_error)
        })?;
        let detail = serde_json::json!({
            "project_id": incident.project_id,
            "title": title,
            "severity": incident.severity,
        });
        audit::write(
            self,
            actor,
            "incident.create",
            Some(("incident", id)),
            &detail,
        )
        .await?;
        self.incident(id).await
    }
}

impl Db {
    pub async fn incident(&mut self, id: i64) -> ServiceResult<Incident> {
        let sql = format!("{INCIDENT_SELECT} WHERE id = $1");
        on_db!(self, c => sqlx::query_as::<_, IncidentRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "incident" })?
            .try_into()
    }

    /// Incidents matching `filter`, most recently detected first, `limit` at most.
    pub async fn list_incidents(
        &mut self,
        filter: &IncidentFilter,
        limit: u32,
    ) -> ServiceResult<Vec<Incident>> {
        let sql = format!(
            "{INCIDENT_SELECT} WHERE ($1 IS NULL OR project_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR severity = $3) AND ($4 IS NULL OR detected_at >= $4) \
             AND ($5 IS NULL OR detected_at < $5) \
             AND ($6 IS NULL OR detected_at < $6 OR (detected_at = $6 AND id < $7)) \
             ORDER BY detected_at DESC, id DESC LIMIT $8"
        );
        let (before_at, before_id) = filter.before.unzip();
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, IncidentRow>(&sql)
                .bind(filter.project_id)
                .bind(filter.status.map(IncidentStatus::as_str))
                .bind(filter.severity.map(IncidentSeverity::as_str))
                .bind(filter.from.map(stored_precision))
                .bind(filter.to.map(stored_precision))
                .bind(before_at.map(stored_precision))
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
        })?;
        rows.into_iter().map(Incident::try_from).collect()
    }
}

impl Tx {
    /// Applies `changes` if nobody changed the incident since `based_on_version`. Becoming
    /// resolved or closed stamps `resolved_at`; reopening clears it.
    pub async fn update_incident(
        &mut self,
        id: i64,
        based_on_version: i64,
        changes: &IncidentChanges,
        actor: &Actor,
    ) -> ServiceResult<Incident> {
        let title = changes.title.as_deref().map(check_title).transpose()?;
        let current = self.incident(id).await?;
        if current.version != based_on_version {
            return Err(ServiceError::stale("incident", current.version).with_current(&current));
        }
        let status = changes.status.unwrap_or(current.status);
        let resolved_at = match (current.status.is_over(), status.is_over()) {
            (false, true) => Some(now()),
            (true, true) => current.resolved_at,
            (_, false) => None,
        };
        let detail = serde_json::json!({
            "version": based_on_version,
            "from": { "status": current.status, "severity": current.severity },
            "to": { "status": status, "severity": changes.severity.unwrap_or(current.severity) },
        });
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE incidents SET title = COALESCE($1, title), description = COALESCE($2, description), \
                 severity = COALESCE($3, severity), status = $4, resolved_at = $5, \
                 owner_id = CASE WHEN $6 THEN $7 ELSE owner_id END, \
                 job_id = CASE WHEN $8 THEN $9 ELSE job_id END, \
                 detected_at = COALESCE($10, detected_at), \
                 version = version + 1, updated_at = $11 WHERE id = $12 AND version = $13",
            )
            .bind(title)
            .bind(changes.description.as_deref().map(str::trim))
            .bind(changes.severity.map(IncidentSeverity::as_str))
            .bind(status.as_str())
            .bind(resolved_at)
            .bind(changes.owner_id.is_some())
            .bind(changes.owner_id.flatten())
            .bind(changes.job_id.is_some())
            .bind(changes.job_id.flatten())
            .bind(changes.detected_at.map(stored_precision))
            .bind(now())
            .bind(id)
            .bind(based_on_version)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(reference_error)
        })?;
        if changed == 0 {
            return Err(
                match self.stale_or_missing("incidents", "incident", id).await {
                    stale @ ServiceError::StaleVersion { .. } => {
                        let current = self.incident(id).await?;
                        stale.with_current(&current)
                    }
                    other => other,
                },
            );
        }
        audit::write(
            self,
            actor,
            "incident.update",
            Some(("incident", id)),
            &detail,
        )
        .await?;
        self.incident(id).await
    }

    pub async fn delete_incident(&mut self, id: i64, actor: &Actor) -> ServiceResult<()> {
        let incident = self.incident(id).await?;
        on_db!(self, c => sqlx::query("DELETE FROM incidents WHERE id = $1").bind(id).execute(&mut *c).await.map(|done| done.rows_affected()))?;
        let detail =
            serde_json::json!({ "title": incident.title, "project_id": incident.project_id });
        audit::write(
            self,
            actor,
            "incident.delete",
            Some(("incident", id)),
            &detail,
        )
        .await
    }
}
