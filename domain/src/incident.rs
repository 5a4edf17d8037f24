//! Incidents: what went wrong, how bad, where it stands. The timeline and post-mortem come later.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// How bad: `sev1` is an outage of something critical, `sev4` a minor annoyance.
    pub enum IncidentSeverity ("incident severity") {
        Sev1 => "sev1",
        Sev2 => "sev2",
        Sev3 => "sev3",
        Sev4 => "sev4",
    }
}

crate::string_enum! {
    /// Where an incident stands, from detection to closure.
    pub enum IncidentStatus ("incident status") {
        Open => "open",
        Investigating => "investigating",
        Mitigated => "mitigated",
        Resolved => "resolved",
        Closed => "closed",
    }
}

impl IncidentStatus {
    /// Resolved and closed incidents are over: they carry a `resolved_at`.
    pub fn is_over(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Closed)
    }
}

/// An incident as the API and the UI see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: i64,
    /// The project concerned; `null` for an incident of the platform itself.
    pub project_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    /// Who leads the response.
    pub owner_id: Option<i64>,
    /// The job that caused or is fixing it, if one.
    pub job_id: Option<i64>,
    pub detected_at: DateTime<Utc>,
    /// Set when the incident becomes resolved or closed; cleared if it is reopened.
    pub resolved_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
