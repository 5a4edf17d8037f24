//! Backlog items: a project's tasks and milestones.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// A task is work to do; a milestone is a date the work leads to.
    pub enum BacklogKind ("backlog item kind") {
        Task => "task",
        Milestone => "milestone",
    }
}

crate::string_enum! {
    pub enum BacklogStatus ("backlog status") {
        Todo => "todo",
        InProgress => "in_progress",
        Done => "done",
        Canceled => "canceled",
    }
}

/// A backlog item as the API and the UI see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacklogItem {
    pub id: i64,
    pub project_id: i64,
    pub kind: BacklogKind,
    pub title: String,
    pub description: String,
    pub status: BacklogStatus,
    pub assignee_id: Option<i64>,
    /// A calendar date (`YYYY-MM-DD`), no time of day.
    pub due_date: Option<NaiveDate>,
    /// Where it stands in its project's order (lower first); moved with `POST /backlog/{id}/move`.
    pub rank: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
