//! Incidents: what went wrong, how bad, where it stands; the timeline uHub builds from what it
//! recorded (the incident's changes, runs, deployments, applies, moves, notes), the changes
//! suspected of causing it with the reasons, and the post-mortem drafted from both.

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

crate::string_enum! {
    /// What a timeline entry is.
    pub enum EntryKind ("timeline entry kind") {
        /// The incident opened, or its status, severity or owner changed.
        Incident => "incident",
        RunLaunched => "run_launched",
        RunApproved => "run_approved",
        RunSucceeded => "run_succeeded",
        RunFailed => "run_failed",
        /// A successful run of a commit: what was deployed where.
        Deployment => "deployment",
        TerraformApply => "terraform_apply",
        AnsibleRun => "ansible_run",
        /// A job moved on the calendar, or a move approved.
        JobMoved => "job_moved",
        /// The host crossed a threshold (CPU, memory or a disk at 90 %), or came back under it.
        HostThreshold => "host_threshold",
        Note => "note",
        /// An event remembered after the fact, with its own time.
        Manual => "manual",
    }
}

crate::string_enum! {
    /// Who wrote a timeline entry: uHub from its records, or a person.
    pub enum EntrySource ("timeline entry source") {
        System => "system",
        Manual => "manual",
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentEntry {
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub title: String,
    /// What it is about: `run:12`, `job:7`, `entry:3`, `incident:5`; pins and verdicts use it.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Who did it (a username), `null` for uHub itself.
    pub by: Option<String>,
    pub source: EntrySource,
    pub pinned: bool,
    /// The text of a note or manual entry.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

/// A change suspected of causing an incident, with why; ruled-out changes score 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suspect {
    /// `deployment`, `terraform_apply`, `ansible_run`, `run`, `job_move`.
    pub kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: String,
    pub at: DateTime<Utc>,
    pub score: u32,
    /// Sentences, each one reason for the score (or for ruling it out).
    pub reasons: Vec<String>,
    pub ruled_out: bool,
    /// The team's word: `cause`, `not_cause`, or `null` when not decided.
    pub verdict: Option<String>,
}

/// The post-mortem's current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Postmortem {
    pub incident_id: i64,
    pub version: i64,
    /// Markdown.
    pub body: String,
    pub updated_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /incidents/{id}/context`: what a tool or an assistant needs to draft a post-mortem or
/// propose a job for a human to approve. Nothing secret: no secret value, token or hash is in
/// any of these types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentContext {
    pub generated_at: DateTime<Utc>,
    pub incident: Incident,
    /// Oldest first.
    pub timeline: Vec<IncidentEntry>,
    /// Best first; ruled-out changes last.
    pub suspects: Vec<Suspect>,
    /// Jobs linked to the incident (its job, linked jobs and action items).
    pub jobs: Vec<crate::Job>,
    /// Runs linked to the incident.
    pub runs: Vec<crate::Run>,
    pub postmortem: Option<Postmortem>,
}
