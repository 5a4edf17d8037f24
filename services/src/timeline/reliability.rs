//! Measures of incidents: per incident the time to detect (from the earliest pinned or
//! remembered entry before detection: what the team says started it), to mitigate (the first
//! change to mitigated or resolved) and to resolve; per project over a period the incidents by
//! severity, the mean times, and the change failure rate (failed or incident-causing deployments
//! over deployments).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::incident::{EntryKind, EntrySource, IncidentEntry};
use domain::policy::{Action, Object};
use domain::{Incident, RunStatus};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::gather;
use crate::storage::IncidentFilter;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// One incident's durations, in minutes (`null`: not reached, or unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentMeasures {
    pub incident_id: i64,
    pub title: String,
    pub severity: domain::IncidentSeverity,
    pub detected_at: DateTime<Utc>,
    /// The earliest pinned or remembered entry before detection.
    pub started_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub time_to_detect_minutes: Option<i64>,
    pub time_to_mitigate_minutes: Option<i64>,
    pub time_to_resolve_minutes: Option<i64>,
}

/// `GET /projects/{id}/reliability?from=&to=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reliability {
    pub project_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Incidents detected in the period, by severity (`sev1`…).
    pub incidents_by_severity: BTreeMap<String, u32>,
    pub mean_time_to_mitigate_minutes: Option<i64>,
    pub mean_time_to_resolve_minutes: Option<i64>,
    /// Runs of a commit in the period (successful or not).
    pub deployments: u32,
    pub failed_deployments: u32,
    /// Successful deployments the team marked as the cause of an incident.
    pub incident_causing_deployments: u32,
    /// (failed + incident-causing) / deployments; `null` without deployments.
    pub change_failure_rate: Option<f64>,
    pub incidents: Vec<IncidentMeasures>,
}

/// The durations of `incident` from its timeline.
pub fn measures(incident: &Incident, timeline: &[IncidentEntry]) -> IncidentMeasures {
    let started_at = timeline
        .iter()
        .filter(|e| e.at < incident.detected_at && (e.pinned || e.source == EntrySource::Manual))
        .map(|e| e.at)
        .min();
    let mitigated_at = timeline
        .iter()
        .filter(|e| e.kind == EntryKind::Incident)
        .find(|e| e.title.contains("→ mitigated") || e.title.contains("→ resolved"))
        .map(|e| e.at);
    let minutes = |from: DateTime<Utc>, to: Option<DateTime<Utc>>| {
        to.map(|to| (to - from).num_minutes().max(0))
    };
    IncidentMeasures {
        incident_id: incident.id,
        title: incident.title.clone(),
        severity: incident.severity,
        detected_at: incident.detected_at,
        started_at,
        mitigated_at,
        resolved_at: incident.resolved_at,
        time_to_detect_minutes: started_at.map(|s| (incident.detected_at - s).num_minutes().max(0)),
        time_to_mitigate_minutes: minutes(incident.detected_at, mitigated_at),
        time_to_resolve_minutes: minutes(incident.detected_at, incident.resolved_at),
    }
}

fn mean(values: impl Iterator<Item = i64>) -> Option<i64> {
    let (sum, count) = values.fold((0i64, 0i64), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / count)
}

/// A project's reliability over `[from, to)` (at most 366 days; incidents read at most 500).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn reliability(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ServiceResult<Reliability> {
    caller.may(Action::Read, &Object::none(), None)?;
    if to <= from {
        return Err(ServiceError::invalid("to", "must be after from"));
    }
    if to - from > chrono::Duration::days(366) {
        return Err(ServiceError::invalid(
            "to",
            "the period is at most 366 days",
        ));
    }
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    let incidents = db
        .list_incidents(
            &IncidentFilter {
                project_id: Some(project_id),
                from: Some(from),
                to: Some(to),
                ..IncidentFilter::default()
            },
            500,
        )
        .await?;
    let mut by_severity = BTreeMap::new();
    let mut measured = Vec::new();
    let mut causes = std::collections::HashSet::new();
    for incident in &incidents {
        *by_severity
            .entry(incident.severity.to_string())
            .or_insert(0) += 1;
        let timeline = gather(&mut db, incident).await?;
        measured.push(measures(incident, &timeline));
        for (reference, verdict) in db.incident_verdicts(incident.id).await? {
            if verdict == "cause" {
                causes.insert(reference);
            }
        }
    }
    let runs = db.runs_between(from, to, 10_000).await?;
    let deployments: Vec<_> = runs
        .iter()
        .filter(|r| r.project_id == project_id && r.commit_sha.is_some())
        .filter(|r| {
            !matches!(
                r.status,
                RunStatus::Queued | RunStatus::AwaitingApproval | RunStatus::Running
            )
        })
        .collect();
    let failed = deployments
        .iter()
        .filter(|r| r.status != RunStatus::Success)
        .count();
    let causing = deployments
        .iter()
        .filter(|r| r.status == RunStatus::Success && causes.contains(&format!("run:{}", r.id)))
        .count();
    let total = deployments.len();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Reliability {
        project_id,
        from,
        to,
        incidents_by_severity: by_severity,
        mean_time_to_mitigate_minutes: mean(
            measured.iter().filter_map(|m| m.time_to_mitigate_minutes),
        ),
        mean_time_to_resolve_minutes: mean(
            measured.iter().filter_map(|m| m.time_to_resolve_minutes),
        ),
        deployments: count(total),
        failed_deployments: count(failed),
        incident_causing_deployments: count(causing),
        change_failure_rate: (total > 0).then(|| (failed + causing) as f64 / total as f64),
        incidents: measured,
    })
}
