//! Jobs: what is planned on the calendar and may be run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;

crate::string_enum! {
    /// What kind of work a job is; `ops`, `maintenance` and `infra` are the critical kinds.
    pub enum JobType ("job type") {
        Dev => "dev",
        Ops => "ops",
        Maintenance => "maintenance",
        Meeting => "meeting",
        Infra => "infra",
    }
}

impl JobType {
    /// Critical jobs touch live systems; they are the ones checked for calendar conflicts.
    pub fn is_critical(self) -> bool {
        matches!(self, JobType::Ops | JobType::Maintenance | JobType::Infra)
    }
}

crate::string_enum! {
    /// Where a job stands.
    pub enum JobStatus ("job status") {
        Planned => "planned",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Canceled => "canceled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ops_maintenance_and_infra_are_critical() {
        let critical: Vec<_> = JobType::ALL.iter().filter(|t| t.is_critical()).collect();
        assert_eq!(
            critical,
            [&JobType::Ops, &JobType::Maintenance, &JobType::Infra]
        );
    }

    #[test]
    fn unknown_status_is_refused_with_its_kind() {
        let err = "done".parse::<JobStatus>().err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("`done` is not a valid job status")
        );
    }
}

/// A job as the API and the UI see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub job_type: JobType,
    pub status: JobStatus,
    /// The environment's name within the project, if the job targets one.
    pub environment: Option<String>,
    /// Whether that environment is production (guardrails apply).
    pub environment_is_production: bool,
    pub planned_start: DateTime<Utc>,
    pub planned_end: Option<DateTime<Utc>>,
    pub all_day: bool,
    pub owner_id: Option<i64>,
    pub responsible_role: Option<Role>,
    /// What a run of this job executes, if it can be run.
    pub action: Option<crate::JobAction>,
    /// Started by uHub at `planned_start`, as whoever turned it on (approval rules still apply).
    pub auto_start: bool,
    /// Who turned the automatic start on: the runs it starts are launched as them.
    pub auto_start_by: Option<i64>,
    /// Who last changed the job's action or environment (they may not approve its runs).
    pub action_changed_by: Option<i64>,
    /// Bumped by every change; updates must name the version they were based on.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
