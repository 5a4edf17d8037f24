//! The demo data of `seeds/*.json`, loaded exactly as written and idempotently: accounts and
//! projects that already exist (by username / name) are left untouched.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use domain::{Color, JobType, Role};
use serde::Deserialize;

use crate::password::hash_password;
use crate::storage::{Actor, NewEnvironment, NewJob, NewProject, NewUser};
use crate::{ServiceError, ServiceResult, Storage};

/// The seed files, compiled in so that the binary seeds the same data wherever it runs.
pub const USERS_JSON: &str = include_str!("../../seeds/users.json");
pub const PROJECTS_JSON: &str = include_str!("../../seeds/projects-with-jobs.json");

/// The hour (UTC) at which a timed demo job starts on its day.
const DEMO_START_HOUR: u32 = 9;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    username: String,
    password: String,
    role: Role,
    display_name: String,
    email: Option<String>,
    #[serde(default = "default_theme")]
    theme: String,
    #[serde(default = "default_true")]
    is_active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedProject {
    name: String,
    #[serde(default)]
    description: String,
    color: Color,
    owner_username: String,
    environments: Vec<String>,
    jobs: Vec<SeedJob>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedJob {
    title: String,
    job_type: JobType,
    environment: Option<String>,
    planned_start: String,
    #[serde(default)]
    all_day: bool,
}

fn default_theme() -> String {
    "dark".to_owned()
}

fn default_true() -> bool {
    true
}

/// What a seeding created (zero everywhere when it had already run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users_created: usize,
    pub projects_created: usize,
    pub jobs_created: usize,
}

/// Reads a seed date: `+Nd` is N days after `today`; an RFC 3339 timestamp is taken as is.
/// An all-day job starts at midnight UTC, a timed one at 09:00 UTC.
pub fn parse_seed_start(
    text: &str,
    today: NaiveDate,
    all_day: bool,
) -> ServiceResult<DateTime<Utc>> {
    let bad = || {
        ServiceError::invalid(
            "planned_start",
            format!("`{text}` is neither +Nd nor an RFC 3339 date"),
        )
    };
    if let Some(days) = text
        .strip_prefix('+')
        .and_then(|rest| rest.strip_suffix('d'))
    {
        let days: i64 = days.parse().map_err(|_| bad())?;
        let day = today
            .checked_add_signed(Duration::days(days))
            .ok_or_else(bad)?;
        let hour = if all_day { 0 } else { DEMO_START_HOUR };
        let time = NaiveTime::from_hms_opt(hour, 0, 0).ok_or_else(bad)?;
        return Ok(day.and_time(time).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| bad())
}

/// Whether the demo accounts sign in with the passwords published in `seeds/users.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoPasswords {
    /// A demonstration instance (`UHUB_SEED_DEMO=true` at start-up): they do.
    Usable,
    /// Anywhere else: the published password signs in once, to choose another.
    MustChange,
}

/// Loads the demo accounts and projects with usable passwords (a demonstration instance, and
/// tests). Running it again changes nothing.
pub async fn load_demo(
    storage: &Storage,
    today: NaiveDate,
    actor: &Actor,
) -> ServiceResult<SeedReport> {
    load(storage, today, actor, DemoPasswords::Usable).await
}

/// An admin loads the demo data into a running instance. Its accounts' passwords are public:
/// unless the instance was started as a demonstration (`UHUB_SEED_DEMO=true`), each account
/// must change its password at first sign-in. Audited as `seed.demo`.
#[tracing::instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn seed_demo(hub: &crate::Hub, caller: &crate::Caller) -> ServiceResult<SeedReport> {
    use domain::policy::{Action, Object};
    caller.may(Action::LoadDemoData, &Object::none(), None)?;
    let passwords = if hub.demo_instance {
        DemoPasswords::Usable
    } else {
        DemoPasswords::MustChange
    };
    let today = Utc::now().date_naive();
    let report = load(&hub.storage, today, &caller.actor(), passwords).await?;
    hub.storage
        .record_audit(
            &caller.actor(),
            "seed.demo",
            None,
            crate::storage::Outcome::Success,
            serde_json::json!({
                "users_created": report.users_created,
                "projects_created": report.projects_created,
                "jobs_created": report.jobs_created,
                "must_change_password": passwords == DemoPasswords::MustChange,
            }),
        )
        .await?;
    Ok(report)
}

/// Loads the demo accounts and projects. Running it again changes nothing.
pub async fn load(
    storage: &Storage,
    today: NaiveDate,
    actor: &Actor,
    passwords: DemoPasswords,
) -> ServiceResult<SeedReport> {
    let users: Vec<SeedUser> = serde_json::from_str(USERS_JSON)
        .map_err(|e| ServiceError::Internal(format!("seeds/users.json is invalid: {e}")))?;
    let projects: Vec<SeedProject> = serde_json::from_str(PROJECTS_JSON).map_err(|e| {
        ServiceError::Internal(format!("seeds/projects-with-jobs.json is invalid: {e}"))
    })?;
    let mut report = SeedReport::default();

    for user in users {
        if storage.user_by_username(&user.username).await?.is_some() {
            continue;
        }
        let new_user = NewUser {
            password_hash: hash_password(user.password).await?,
            username: user.username,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            theme: user.theme,
            locale: "en".to_owned(),
            is_active: user.is_active,
            must_change_password: passwords == DemoPasswords::MustChange,
        };
        match storage.create_user(&new_user, actor).await {
            Ok(_) => report.users_created += 1,
            // Another process seeded the same account meanwhile: that is the idempotent outcome.
            Err(ServiceError::AlreadyExists { .. }) => {}
            Err(other) => return Err(other),
        }
    }

    for project in projects {
        if storage.project_id_by_name(&project.name).await?.is_some() {
            continue;
        }
        let owner = storage.user_by_username(&project.owner_username).await?;
        let new_project = NewProject {
            name: project.name.clone(),
            description: project.description.clone(),
            color: project.color.clone(),
            owner_id: owner.as_ref().map(|o| o.id),
            environments: project
                .environments
                .iter()
                .map(|name| NewEnvironment::named(name))
                .collect(),
            execution_backend: None,
            execution_backend_config: Default::default(),
        };
        let created = match storage.create_project(&new_project, actor).await {
            Ok(created) => created,
            Err(ServiceError::AlreadyExists { .. }) => continue,
            Err(other) => return Err(other),
        };
        report.projects_created += 1;
        for job in &project.jobs {
            storage
                .create_job(
                    &NewJob {
                        project_id: created.id,
                        title: job.title.clone(),
                        description: String::new(),
                        job_type: job.job_type,
                        environment: job.environment.clone(),
                        planned_start: parse_seed_start(&job.planned_start, today, job.all_day)?,
                        planned_end: None,
                        all_day: job.all_day,
                        owner_id: owner.as_ref().map(|o| o.id),
                        responsible_role: None,
                        action: None,
                        auto_start: false,
                    },
                    actor,
                )
                .await?;
            report.jobs_created += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn plus_n_days_counts_from_today() -> ServiceResult<()> {
        let today = day(2026, 12, 30);
        assert_eq!(
            parse_seed_start("+1d", today, false)?.to_rfc3339(),
            "2026-12-31T09:00:00+00:00"
        );
        assert_eq!(
            parse_seed_start("+3d", today, true)?.to_rfc3339(),
            "2027-01-02T00:00:00+00:00"
        );
        assert_eq!(
            parse_seed_start("+0d", today, false)?.to_rfc3339(),
            "2026-12-30T09:00:00+00:00"
        );
        Ok(())
    }

    #[test]
    fn other_dates_must_be_rfc3339() {
        let today = day(2026, 1, 1);
        assert!(parse_seed_start("2026-02-03T10:00:00+01:00", today, false).is_ok());
        for bad in ["+d", "+xd", "tomorrow", "+1w", ""] {
            assert!(parse_seed_start(bad, today, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_seed_files_parse_with_four_users_and_four_projects_of_four_jobs() {
        let users: Result<Vec<SeedUser>, _> = serde_json::from_str(USERS_JSON);
        let projects: Result<Vec<SeedProject>, _> = serde_json::from_str(PROJECTS_JSON);
        let (users, projects) = (users.unwrap_or_default(), projects.unwrap_or_default());
        assert_eq!(users.len(), 4);
        assert_eq!(projects.len(), 4);
        assert!(projects.iter().all(|p| p.jobs.len() == 4));
    }
}
