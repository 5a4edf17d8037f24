//! A project's context for tools and AI agents: everything linked to it, in time order, and
//! nothing secret (no hash, token or secret value exists in any of these types).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{BacklogItem, EnvironmentRecord, Incident, Job, ProjectLink, ProjectSummary, Run};

crate::string_enum! {
    /// What a timeline entry is about.
    pub enum TimelineKind ("timeline entry kind") {
        Job => "job",
        Run => "run",
        Incident => "incident",
        BacklogItem => "backlog_item",
    }
}

/// One dated event of the project: when it happens (or happened), what, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    pub id: i64,
    pub title: String,
    pub status: String,
}

/// A deployment as the context shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextDeployment {
    pub run_id: i64,
    pub job_id: i64,
    pub environment: Option<String>,
    pub commit_sha: String,
    pub at: Option<DateTime<Utc>>,
}

/// A Terraform plan as the context shows it: its counts, not its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextPlan {
    pub id: i64,
    pub workspace: String,
    pub environment: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: crate::terraform::Summary,
    pub risky: usize,
    pub run_id: Option<i64>,
    pub superseded: bool,
    pub created_at: DateTime<Utc>,
}

/// `GET /projects/{id}/context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectContext {
    pub generated_at: DateTime<Utc>,
    pub project: ProjectSummary,
    pub environments: Vec<EnvironmentRecord>,
    /// By planned start.
    pub jobs: Vec<Job>,
    /// The most recent runs, oldest first.
    pub runs: Vec<Run>,
    /// By detection time.
    pub incidents: Vec<Incident>,
    /// By creation time.
    pub backlog: Vec<BacklogItem>,
    pub links: Vec<ProjectLink>,
    /// The most recent deployments (successful runs of a commit), newest first.
    #[serde(default)]
    pub deployments: Vec<ContextDeployment>,
    /// The Terraform plans kept for the project's workspaces, newest first (counts only).
    #[serde(default)]
    pub terraform_plans: Vec<ContextPlan>,
    /// The project's Ansible inventories (counts only, never a host variable).
    #[serde(default)]
    pub inventories: Vec<crate::ansible::AnsibleInventory>,
    /// Jobs, runs, incidents and dated backlog items merged, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

impl ProjectContext {
    /// Merges the dated objects into one timeline, oldest first (ties keep kind order, then id).
    pub fn timeline_of(
        jobs: &[Job],
        runs: &[Run],
        incidents: &[Incident],
        backlog: &[BacklogItem],
    ) -> Vec<TimelineEntry> {
        let mut entries: Vec<TimelineEntry> = Vec::new();
        entries.extend(jobs.iter().map(|job| TimelineEntry {
            at: job.planned_start,
            kind: TimelineKind::Job,
            id: job.id,
            title: job.title.clone(),
            status: job.status.to_string(),
        }));
        entries.extend(runs.iter().map(|run| TimelineEntry {
            at: run.started_at.unwrap_or(run.created_at),
            kind: TimelineKind::Run,
            id: run.id,
            title: format!("run #{} of job #{}", run.id, run.job_id),
            status: run.status.to_string(),
        }));
        entries.extend(incidents.iter().map(|incident| TimelineEntry {
            at: incident.detected_at,
            kind: TimelineKind::Incident,
            id: incident.id,
            title: incident.title.clone(),
            status: incident.status.to_string(),
        }));
        entries.extend(backlog.iter().filter_map(|item| {
            let due = item.due_date?.and_hms_opt(0, 0, 0)?.and_utc();
            Some(TimelineEntry {
                at: due,
                kind: TimelineKind::BacklogItem,
                id: item.id,
                title: item.title.clone(),
                status: item.status.to_string(),
            })
        }));
        entries.sort_by_key(|e| (e.at, e.kind, e.id));
        entries
    }
}
