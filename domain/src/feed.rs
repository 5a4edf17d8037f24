//! What a calendar reader subscribes to or remembers: iCal feed subscriptions, the filters a
//! user last used, and the changes pushed live to open calendars.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::ColorMode;
use crate::{JobStatus, JobType};

crate::string_enum! {
    /// Whose jobs an iCal feed holds.
    pub enum FeedScope ("feed scope") {
        /// The jobs the user owns.
        User => "user",
        /// Every job of one project.
        Project => "project",
    }
}

/// An iCal feed subscription. Its token is shown once, when it is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarFeed {
    pub id: i64,
    pub user_id: i64,
    pub scope: FeedScope,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    /// The token's last four characters, to tell feeds apart.
    pub token_hint: String,
    pub created_at: DateTime<Utc>,
    /// When a calendar application last fetched it.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set once revoked: the URL answers 404 from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

crate::string_enum! {
    /// The calendar's views.
    pub enum CalendarView ("calendar view") {
        Month => "month",
        Week => "week",
        Day => "day",
        Agenda => "agenda",
    }
}

/// The calendar filters and view a user last chose: the calendar opens with them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CalendarFilters {
    #[serde(default)]
    pub view: Option<CalendarView>,
    #[serde(default)]
    pub color_by: ColorMode,
    #[serde(default)]
    pub project: Option<i64>,
    #[serde(default, rename = "type")]
    pub job_type: Option<JobType>,
    #[serde(default)]
    pub status: Option<JobStatus>,
    #[serde(default)]
    pub environment: Option<String>,
}

/// A change to a job, as the live calendar stream announces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobChange {
    /// The change's position in the stream (its audit record's id): resume after it with
    /// `Last-Event-ID`.
    pub id: i64,
    pub job_id: i64,
    /// `job.create`, `job.update`, `job.reschedule`, `job.delete`, `job.move_request`,
    /// `job.move_approve`, `job.move_reject`, ...
    pub action: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}
