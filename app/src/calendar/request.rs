//! What a calendar shows, as read from its URL (the view, the date, the filters), and what one
//! render of it needs from the server.

use chrono::{Datelike, Duration, Months, NaiveDate};
use domain::calendar::ColorMode;
use domain::feed::{CalendarFilters, CalendarView};
use domain::move_request::MoveRequest;
use domain::zone::Zone;
use domain::{CalendarEvent, JobStatus, JobType};
use serde::{Deserialize, Serialize};

use crate::i18n::t;

/// The four views, as written in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    Month,
    Week,
    Day,
    Agenda,
}

impl View {
    pub(super) fn parse(text: &str) -> View {
        match text {
            "week" => View::Week,
            "day" => View::Day,
            "agenda" => View::Agenda,
            _ => View::Month,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
            View::Day => "day",
            View::Agenda => "agenda",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            View::Month => t("Month"),
            View::Week => t("Week"),
            View::Day => t("Day"),
            View::Agenda => t("Agenda"),
        }
    }

    /// The days shown: the month's full weeks (Monday first), the week, the day, or the month.
    pub(super) fn days(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        let first_of_month = date.with_day(1).unwrap_or(date);
        let monday =
            |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
        match self {
            View::Month => {
                let start = monday(first_of_month);
                (start, start + Duration::days(42))
            }
            View::Week => {
                let start = monday(date);
                (start, start + Duration::days(7))
            }
            View::Day => (date, date + Duration::days(1)),
            View::Agenda => (
                first_of_month,
                first_of_month
                    .checked_add_months(Months::new(1))
                    .unwrap_or(first_of_month),
            ),
        }
    }

    pub(super) fn step(self, date: NaiveDate, forward: bool) -> NaiveDate {
        let months = |d: NaiveDate| {
            if forward {
                d.checked_add_months(Months::new(1))
            } else {
                d.checked_sub_months(Months::new(1))
            }
            .unwrap_or(d)
        };
        let sign = if forward { 1 } else { -1 };
        match self {
            View::Month | View::Agenda => months(date),
            View::Week => date + Duration::days(7 * sign),
            View::Day => date + Duration::days(sign),
        }
    }
}

impl From<CalendarView> for View {
    fn from(view: CalendarView) -> View {
        match view {
            CalendarView::Month => View::Month,
            CalendarView::Week => View::Week,
            CalendarView::Day => View::Day,
            CalendarView::Agenda => View::Agenda,
        }
    }
}

impl From<View> for CalendarView {
    fn from(view: View) -> CalendarView {
        match view {
            View::Month => CalendarView::Month,
            View::Week => CalendarView::Week,
            View::Day => CalendarView::Day,
            View::Agenda => CalendarView::Agenda,
        }
    }
}

/// What the calendar shows, as read from the URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarRequest {
    pub view: View,
    pub date: NaiveDate,
    pub color_by: ColorMode,
    pub project: Option<i64>,
    pub job_type: Option<JobType>,
    pub status: Option<JobStatus>,
    pub environment: Option<String>,
}

impl CalendarRequest {
    /// The filters and view of this request, as remembered per user.
    pub fn filters(&self) -> CalendarFilters {
        CalendarFilters {
            view: Some(self.view.into()),
            color_by: self.color_by,
            project: self.project,
            job_type: self.job_type,
            status: self.status,
            environment: self.environment.clone(),
        }
    }

    /// This request with remembered filters (the date stays).
    pub fn apply(&mut self, saved: &CalendarFilters) {
        if let Some(view) = saved.view {
            self.view = view.into();
        }
        self.color_by = saved.color_by;
        self.project = saved.project;
        self.job_type = saved.job_type;
        self.status = saved.status;
        self.environment = saved.environment.clone();
    }

    /// The URL of this request with `change` applied.
    pub(super) fn href(&self, change: impl FnOnce(&mut CalendarRequest)) -> String {
        let mut next = self.clone();
        change(&mut next);
        let mut url = format!(
            "/calendar?view={}&date={}",
            next.view.as_str(),
            next.date.format("%Y-%m-%d")
        );
        if next.color_by != ColorMode::Project {
            url.push_str(&format!("&color={}", next.color_by));
        }
        if let Some(project) = next.project {
            url.push_str(&format!("&project={project}"));
        }
        if let Some(job_type) = next.job_type {
            url.push_str(&format!("&type={job_type}"));
        }
        if let Some(status) = next.status {
            url.push_str(&format!("&status={status}"));
        }
        if let Some(environment) = &next.environment {
            url.push_str(&format!("&environment={}", encode(environment)));
        }
        url
    }
}

pub(super) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A project as the filter and the legend show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectLabel {
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// Everything one calendar render needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarData {
    /// What is shown: the URL's request, or the user's remembered filters when the URL names none.
    pub request: CalendarRequest,
    /// The team's time zone; it travels as its table of offset changes, since the browser has
    /// no zone database (see `domain::zone`).
    pub zone: Zone,
    /// In the page's compact form (`domain::calendar_wire`): a busy month is thousands of them.
    #[serde(with = "domain::calendar_wire")]
    pub events: Vec<CalendarEvent>,
    pub projects: Vec<ProjectLabel>,
    pub environments: Vec<String>,
    /// Every pending move request (shown to those who may decide them).
    pub pending: Vec<MoveRequest>,
    /// The pending requests the caller may approve or reject, as the policy says.
    pub decidable: Vec<i64>,
    /// The jobs shown that the caller may not move: they are not offered to drag.
    pub fixed: Vec<i64>,
    pub user_id: i64,
}

/// What a calendar load does with the user's remembered filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Remember {
    /// The URL names no filter: show the remembered ones.
    Recall,
    /// The user chose these filters: remember them.
    Store,
    /// A refresh of what is shown: leave them be.
    Keep,
    /// A phone opening the calendar: the remembered filters, in the agenda (a month is
    /// unreadable at that width); nothing is remembered.
    RecallAsAgenda,
}
