//! The post-mortem of an incident: drafted in Markdown from its timeline, suspects and action
//! items, then the team's text in versions (all kept, audited), exported as a file; action items
//! are planned jobs of the incident's project, linked back to it.

use chrono::{DateTime, Utc};
pub use domain::incident::Postmortem;
use domain::incident::Suspect;
use domain::policy::{Action, Object};
use serde::Deserialize;
use tracing::instrument;

use super::{gather, readable, writable};
use crate::{Caller, Hub, ServiceError, ServiceResult};

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let minutes = (to - from).num_minutes().max(0);
    if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Drafts the post-mortem from the timeline and the suspects and saves it as a new version.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn draft_postmortem(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Postmortem> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    let (mut db, incident) = readable(hub, caller, id).await?;
    let entries = gather(&mut db, &incident).await?;
    let suspects = super::suspects::rank(&mut db, &incident, 24).await?;
    let action_items: Vec<(i64, String, DateTime<Utc>)> = {
        let mut items = Vec::new();
        for (kind, job_id) in db.incident_links(incident.id).await? {
            if kind == "action_item" {
                if let Ok(job) = db.job(job_id).await {
                    items.push((job.id, job.title, job.planned_start));
                }
            }
        }
        items
    };
    drop(db);
    let mut md = String::new();
    md.push_str(&format!("# Post-mortem: {}\n\n", incident.title));
    md.push_str("## Summary\n\n");
    md.push_str(&format!(
        "{} incident, {}. {}\n\n",
        incident.severity,
        incident.status,
        if incident.description.is_empty() {
            "_Describe what happened._"
        } else {
            incident.description.as_str()
        }
    ));
    md.push_str("## Impact\n\n");
    md.push_str(&format!("- Detected: {}\n", stamp(incident.detected_at)));
    let measured = super::reliability::measures(&incident, &entries);
    if let (Some(started), Some(minutes)) = (measured.started_at, measured.time_to_detect_minutes) {
        md.push_str(&format!(
            "- Time to detect: {minutes} min (from the earliest pinned or remembered entry, {})\n",
            stamp(started)
        ));
    }
    match measured.mitigated_at {
        Some(at) => md.push_str(&format!(
            "- Mitigated: {} (time to mitigate: {})\n",
            stamp(at),
            span(incident.detected_at, at)
        )),
        None => md.push_str("- Mitigated: not yet\n"),
    }
    match measured.resolved_at {
        Some(at) => md.push_str(&format!(
            "- Resolved: {} (time to resolve: {})\n",
            stamp(at),
            span(incident.detected_at, at)
        )),
        None => md.push_str("- Resolved: not yet\n"),
    }
    md.push_str("\n## Timeline\n\n| Time (UTC) | What | By |\n| --- | --- | --- |\n");
    for e in &entries {
        md.push_str(&format!(
            "| {} | {}{} | {} |\n",
            e.at.format("%Y-%m-%d %H:%M"),
            if e.pinned { "📌 " } else { "" },
            e.title.replace('|', "\\|"),
            e.by.as_deref().unwrap_or("uHub")
        ));
    }
    md.push_str("\n## Suspects and cause\n\n");
    let considered: Vec<&Suspect> = suspects.iter().filter(|s| !s.ruled_out).take(5).collect();
    if considered.is_empty() {
        md.push_str("No change of the project in the 24 hours before detection.\n");
    }
    for s in considered {
        let verdict = match s.verdict.as_deref() {
            Some("cause") => " — **the cause**",
            Some("not_cause") => " — not the cause",
            _ => "",
        };
        md.push_str(&format!(
            "- {} (score {}){verdict}: {}\n",
            s.title,
            s.score,
            s.reasons.join("; ")
        ));
    }
    let ruled_out = suspects.iter().filter(|s| s.ruled_out).count();
    if ruled_out > 0 {
        md.push_str(&format!(
            "\n{ruled_out} other change(s) ruled out (another project, or changing nothing).\n"
        ));
    }
    // Freezes and break-glass overrides will be flagged here once governance records them.
    md.push_str("\n## Contributing factors\n\n_To be written by the team._\n");
    md.push_str("\n## What went well\n\n_To be written by the team._\n");
    md.push_str("\n## Action items\n\n");
    if action_items.is_empty() {
        md.push_str(
            "_None yet: add them from the incident page; each becomes a job on the calendar._\n",
        );
    }
    for (job_id, title, planned) in &action_items {
        md.push_str(&format!(
            "- [ ] {title} — job #{job_id}, planned {}\n",
            stamp(*planned)
        ));
    }
    save(hub, caller, id, &md).await
}

async fn save(hub: &Hub, caller: &Caller, id: i64, body: &str) -> ServiceResult<Postmortem> {
    let (mut tx, incident) = writable(hub, caller, id).await?;
    tx.save_postmortem(incident.id, body, &caller.actor())
        .await?;
    tx.commit().await?;
    postmortem(hub, caller, id).await
}

/// Replaces the post-mortem with the team's text (a new version; the old ones are kept).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn edit_postmortem(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    body: &str,
) -> ServiceResult<Postmortem> {
    if body.trim().is_empty() || body.len() > 256 * 1024 {
        return Err(ServiceError::invalid(
            "body",
            "must be 1 byte to 256 KiB of Markdown",
        ));
    }
    save(hub, caller, id, body).await
}

/// The current post-mortem; 404 before one is drafted.
pub async fn postmortem(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Postmortem> {
    let (mut db, incident) = readable(hub, caller, id).await?;
    let stored = db
        .postmortem(incident.id)
        .await?
        .ok_or(ServiceError::NotFound {
            what: "post-mortem",
        })?;
    Ok(Postmortem {
        incident_id: incident.id,
        version: stored.version,
        body: stored.body,
        updated_by: stored.created_by,
        updated_at: stored.created_at,
    })
}

/// An action item of the post-mortem: a job of the incident's project (planned only, on the
/// calendar), linked back to the incident.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionItemRequest {
    pub title: String,
    pub planned_start: DateTime<Utc>,
    #[serde(default)]
    pub environment: Option<String>,
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn add_action_item(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    request: &ActionItemRequest,
) -> ServiceResult<domain::Job> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    let incident = hub.storage.read().await?.incident(id).await?;
    let Some(project_id) = incident.project_id else {
        return Err(ServiceError::invalid(
            "project_id",
            "an incident of the platform itself has no project to plan its action items in",
        ));
    };
    let mut job = crate::storage::NewJob::planned(
        project_id,
        &request.title,
        domain::JobType::Maintenance,
        request.environment.as_deref(),
        request.planned_start,
    );
    job.description = format!(
        "Action item of incident #{}: {}",
        incident.id, incident.title
    );
    let job = crate::jobs::create(hub, caller, job).await?;
    let mut tx = hub.storage.write().await?;
    tx.link_incident(incident.id, "action_item", job.id, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(job)
}
