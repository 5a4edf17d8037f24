//! Runs: one execution of a job.

crate::string_enum! {
    /// The life of a run, from the queue to its end.
    pub enum RunStatus ("run status") {
        Queued => "queued",
        AwaitingApproval => "awaiting_approval",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Canceled => "canceled",
        TimedOut => "timed_out",
    }
}

impl RunStatus {
    /// A finished run never changes status again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Success | RunStatus::Failed | RunStatus::Canceled | RunStatus::TimedOut
        )
    }
}

crate::string_enum! {
    /// What a person can do to a run from its page.
    pub enum RunAct ("run action") {
        /// Stop it (or drop it from the queue).
        Cancel => "cancel",
        /// Let a run awaiting approval join the queue.
        Approve => "approve",
        /// Refuse a run awaiting approval: it is canceled.
        Reject => "reject",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_are_the_four_outcomes() {
        assert_eq!(RunStatus::ALL.iter().filter(|s| s.is_final()).count(), 4);
        assert!(!RunStatus::Running.is_final());
        assert_eq!(RunStatus::AwaitingApproval.as_str(), "awaiting_approval");
    }
}

/// A run as the API and the UI see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: i64,
    pub job_id: i64,
    pub project_id: i64,
    /// The environment's name, if the run targets one.
    pub environment: Option<String>,
    pub backend: crate::ExecutionBackend,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub launched_by: Option<i64>,
    pub launched_by_username: Option<String>,
    pub approved_by: Option<i64>,
    /// The approver's (or rejecter's) comment.
    pub approval_comment: Option<String>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the run ended as it did, in words (timeout, cancelled by…, uHub stopped, rejected…).
    pub reason: Option<String>,
    /// The log reached its size cap; later lines were dropped (the log says so).
    pub log_truncated: bool,
    /// What the run executes, fixed when it was launched: the job's action then. Editing the
    /// job afterwards changes nothing here; an approval approves exactly this.
    pub action: Option<crate::JobAction>,
    /// SHA-256 (hex) of the action with the backend and environment: what was approved.
    pub action_sha256: Option<String>,
    /// SHA-256 (hex) of the script file at launch (local scripts): a script changed since is
    /// refused at execution.
    pub script_sha256: Option<String>,
    /// The commit a repository action runs (full SHA), resolved from its ref at launch: a push
    /// afterwards changes nothing in what this run executes.
    #[serde(default)]
    pub commit_sha: Option<String>,
    /// Who last changed the job's action or environment before the launch: they may not
    /// approve the run.
    pub action_changed_by: Option<i64>,
    /// For an Ansible apply: the check run it follows (its predicted changes are shown with
    /// its approval and against its results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_check: Option<i64>,
    /// For a Terraform apply: the plan run whose saved plan it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_run: Option<i64>,
    /// For a webhook run waiting for its target's callback: when the wait ends.
    pub callback_deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// For a queued run: its place in the queue and why it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueuePlace>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Where a queued run stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuePlace {
    /// 1 for the next run to start.
    pub position: i64,
    /// Why it has not started yet, in words.
    pub reason: String,
}

crate::string_enum! {
    /// Which output a log line came from; `system` lines are uHub's own notes.
    pub enum LogStream ("log stream") {
        Stdout => "stdout",
        Stderr => "stderr",
        System => "system",
    }
}

/// One stored line of a run's log; `seq` orders them and lets a live reader resume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    pub seq: i64,
    pub stream: LogStream,
    pub line: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A project secret as listed: its name, scope and when it changed, never its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretInfo {
    pub name: String,
    /// The environment whose runs receive it; `null` for every run of the project.
    pub environment: Option<String>,
    pub updated_by: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
