//! Move requests: a production job moved by someone who may not move it alone (an `ops` user)
//! waits, as a request, for a `projets` or `admin` user other than the requester to approve it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// Where a move request stands.
    pub enum MoveStatus ("move request status") {
        /// Waiting for a decision; the job shows it as pending.
        Pending => "pending",
        /// Approved: the job was moved.
        Approved => "approved",
        Rejected => "rejected",
        /// Taken back by the requester.
        Withdrawn => "withdrawn",
        /// The job changed meanwhile (moved or edited), so the request no longer applies.
        Superseded => "superseded",
    }
}

crate::string_enum! {
    /// What the people concerned can do with a pending request.
    pub enum MoveDecision ("move decision") {
        /// Move the job as asked (projets or admin, never the requester).
        Approve => "approve",
        /// Leave the job where it is (projets or admin).
        Reject => "reject",
        /// Take one's own request back.
        Withdraw => "withdraw",
    }
}

/// A requested move, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoveRequest {
    pub id: i64,
    pub job_id: i64,
    pub job_title: String,
    pub project_id: i64,
    pub environment: Option<String>,
    pub requested_by: Option<i64>,
    /// The requester's username.
    pub requested_by_username: Option<String>,
    /// The job's version the request is based on.
    pub based_on_version: i64,
    /// The window when the move was asked.
    pub from_start: DateTime<Utc>,
    pub from_end: Option<DateTime<Utc>>,
    /// The window asked for.
    pub planned_start: DateTime<Utc>,
    pub planned_end: Option<DateTime<Utc>>,
    pub status: MoveStatus,
    pub decided_by: Option<i64>,
    pub decided_by_username: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected (or anything the decider wrote).
    pub reason: String,
    pub created_at: DateTime<Utc>,
}
