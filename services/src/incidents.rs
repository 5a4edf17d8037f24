//! Incidents: opened and followed by ops, projets and admin; removed only by an admin.

use domain::policy::{Action, Object};
use domain::{Incident, IncidentStatus};
use tracing::instrument;

use crate::projects::ensure_active;
use crate::storage::{Db, IncidentChanges, IncidentFilter, NewIncident};
use crate::{rules, Caller, Hub, ServiceError, ServiceResult};

/// Incidents matching `filter`, most recently detected first, `limit` at most.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    filter: &IncidentFilter,
    limit: u32,
) -> ServiceResult<Vec<Incident>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(ServiceError::invalid("to", "must be after from"));
        }
    }
    hub.storage
        .read()
        .await?
        .list_incidents(filter, limit)
        .await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Incident> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.incident(id).await
}

/// A linked job must exist and belong to the incident's project, if it has one.
async fn check_job(db: &mut Db, job_id: i64, project_id: Option<i64>) -> ServiceResult<()> {
    let job = match db.job(job_id).await {
        Err(ServiceError::NotFound { .. }) => {
            return Err(ServiceError::invalid("job_id", "no such job"))
        }
        other => other?,
    };
    if project_id.is_some_and(|p| p != job.project_id) {
        return Err(ServiceError::invalid(
            "job_id",
            "the job belongs to another project",
        ));
    }
    Ok(())
}

/// Opens an incident (ops, projets, admin); its project must exist and be active. The owner
/// defaults to the caller, the status to `open`.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn create(hub: &Hub, caller: &Caller, incident: NewIncident) -> ServiceResult<Incident> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    rules::free_text(
        "description",
        &incident.description,
        rules::MAX_DESCRIPTION_CHARS,
    )?;
    let mut tx = hub.storage.write().await?;
    if let Some(project_id) = incident.project_id {
        let project = match tx.project_access(project_id).await {
            Err(ServiceError::NotFound { .. }) => {
                return Err(ServiceError::invalid("project_id", "no such project"))
            }
            other => other?,
        };
        ensure_active(&project)?;
    }
    if let Some(job_id) = incident.job_id {
        check_job(&mut tx, job_id, incident.project_id).await?;
    }
    let incident = NewIncident {
        owner_id: incident.owner_id.or(Some(caller.id())),
        ..incident
    };
    let created = tx.create_incident(&incident, &caller.actor()).await?;
    tx.commit().await?;
    Ok(created)
}

/// The usual start of an incident: open, owned by the caller, detected now.
pub fn opened(
    project_id: Option<i64>,
    title: String,
    description: String,
    severity: domain::IncidentSeverity,
) -> NewIncident {
    NewIncident {
        project_id,
        title,
        description,
        severity,
        status: IncidentStatus::Open,
        owner_id: None,
        job_id: None,
        detected_at: None,
    }
}

/// Changes an incident (ops, projets, admin), based on `version`.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    version: i64,
    changes: IncidentChanges,
) -> ServiceResult<Incident> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    if let Some(description) = &changes.description {
        rules::free_text("description", description, rules::MAX_DESCRIPTION_CHARS)?;
    }
    let mut tx = hub.storage.write().await?;
    let incident = tx.incident(id).await?;
    if let Some(Some(job_id)) = changes.job_id {
        check_job(&mut tx, job_id, incident.project_id).await?;
    }
    let updated = tx
        .update_incident(id, version, &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Removes an incident opened by mistake (admin only: incidents are history).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn delete(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<()> {
    caller.may(Action::DeleteIncident, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    tx.delete_incident(id, &caller.actor()).await?;
    tx.commit().await
}
