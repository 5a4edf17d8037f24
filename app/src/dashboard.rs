//! `/`: the day at a glance — today's and upcoming jobs, runs under way, what waits for an
//! approval, calendar conflicts, open incidents and the host's health.

use crate::ui::{EmptyState, LoadError, PageTitle, SkeletonCards};
use chrono::{DateTime, Utc};
use domain::{Incident, Job, MoveRequest, Run};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// A job with its project's name and colour, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLine {
    pub job: Job,
    pub project_name: String,
    pub project_color: String,
}

/// Two critical jobs planned at the same time in the same environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictLine {
    pub job_id: i64,
    pub title: String,
    pub other_titles: Vec<String>,
    pub start: DateTime<Utc>,
}

/// The host in three figures, for those who may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthLine {
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub fullest_disk_percent: f64,
}

/// The upcoming jobs the dashboard lists; "and N more" links to the agenda for the rest.
#[cfg(feature = "ssr")]
const UPCOMING_SHOWN: usize = 12;
/// How many upcoming jobs are counted at most (a week of a small team is far fewer).
#[cfg(feature = "ssr")]
const UPCOMING_COUNTED: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub today: Vec<JobLine>,
    /// The first [`UPCOMING_SHOWN`] jobs of the next 7 days.
    pub upcoming: Vec<JobLine>,
    /// How many more the week holds (the calendar's agenda shows them).
    pub upcoming_more: usize,
    /// The first day of the week shown (tomorrow), for the link to the agenda.
    pub upcoming_from: chrono::NaiveDate,
    pub running: Vec<(Run, String)>,
    pub run_approvals: Vec<(Run, String)>,
    pub move_approvals: Vec<MoveRequest>,
    pub conflicts: Vec<ConflictLine>,
    /// Open incidents, each with the title of its top suspected change (if any).
    pub incidents: Vec<(Incident, Option<String>)>,
    pub health: Option<HealthLine>,
}

#[server(prefix = "/sfn", endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, AppError> {
    use chrono::Duration;
    use domain::policy::{Action, Object};
    use domain::RunStatus;
    use services::storage::{CalendarQuery, IncidentFilter, JobFilter};
    let (hub, caller) = crate::server::use_case()?;
    let zone = hub.zone;
    let now = Utc::now();
    let today = domain::calendar::day_of(now, &zone);
    let start_of_today = domain::calendar::start_of_day(today, &zone);
    let start_of_tomorrow = domain::calendar::start_of_day(today + Duration::days(1), &zone);
    let week_end = start_of_tomorrow + Duration::days(7);

    let projects = services::projects::list(&hub, &caller).await?;
    let label = |project_id: i64| {
        projects
            .iter()
            .find(|p| p.id == project_id)
            .map(|p| (p.name.clone(), p.color.to_string()))
            .unwrap_or_default()
    };
    let lines = |jobs: Vec<Job>| -> Vec<JobLine> {
        jobs.into_iter()
            .map(|job| {
                let (project_name, project_color) = label(job.project_id);
                JobLine {
                    job,
                    project_name,
                    project_color,
                }
            })
            .collect()
    };
    let window = |from, to| JobFilter {
        from: Some(from),
        to: Some(to),
        ..JobFilter::default()
    };
    let today_jobs = services::jobs::list(
        &hub,
        &caller,
        &window(start_of_today, start_of_tomorrow),
        50,
    )
    .await?;
    let mut upcoming = services::jobs::list(
        &hub,
        &caller,
        &window(start_of_tomorrow, week_end),
        UPCOMING_COUNTED,
    )
    .await?;
    let upcoming_more = upcoming.len().saturating_sub(UPCOMING_SHOWN);
    upcoming.truncate(UPCOMING_SHOWN);
    let job_title = |run: &Run, jobs: &[Job]| {
        jobs.iter()
            .find(|j| j.id == run.job_id)
            .map(|j| j.title.clone())
    };
    let mut named = Vec::new();
    for status in [
        &[RunStatus::Running, RunStatus::Queued][..],
        &[RunStatus::AwaitingApproval][..],
    ] {
        let runs = services::runs::in_states(&hub, &caller, status, 20).await?;
        let mut list = Vec::new();
        for run in runs {
            let title = match job_title(&run, &today_jobs) {
                Some(title) => title,
                None => services::jobs::get(&hub, &caller, run.job_id).await?.title,
            };
            list.push((run, title));
        }
        named.push(list);
    }
    let run_approvals = named.pop().unwrap_or_default();
    let running = named.pop().unwrap_or_default();

    let events = services::calendar::events(
        &hub,
        &caller,
        &CalendarQuery {
            start: start_of_today,
            end: start_of_today + Duration::days(31),
            project_id: None,
            job_type: None,
            status: None,
            environment: None,
            color_mode: domain::ColorMode::Project,
        },
    )
    .await?;
    let title_of = |id: i64| {
        events
            .iter()
            .find(|e| e.extended_props.job_id == id)
            .map(|e| e.title.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let conflicts = events
        .iter()
        .filter(|e| e.extended_props.conflict)
        .take(10)
        .map(|e| ConflictLine {
            job_id: e.extended_props.job_id,
            title: e.title.clone(),
            other_titles: e
                .extended_props
                .conflicts_with
                .iter()
                .map(|id| title_of(*id))
                .collect(),
            start: e.start,
        })
        .collect();

    let open: Vec<Incident> =
        services::incidents::list(&hub, &caller, &IncidentFilter::default(), 200)
            .await?
            .into_iter()
            .filter(|i| !i.status.is_over())
            .take(8)
            .collect();
    let mut incidents = Vec::with_capacity(open.len());
    for incident in open {
        let top = services::timeline::suspects(&hub, &caller, incident.id, None)
            .await?
            .into_iter()
            .find(|s| !s.ruled_out)
            .map(|s| s.title);
        incidents.push((incident, top));
    }

    let health = if caller
        .decide(Action::ViewServer, &Object::none(), None)
        .is_allowed()
    {
        let sample = services::host::latest(&hub, &caller).await?;
        Some(HealthLine {
            cpu_percent: f64::from(sample.cpu.usage_percent),
            memory_percent: sample.memory.used_percent(),
            fullest_disk_percent: sample
                .disks
                .iter()
                .map(|d| d.used_percent())
                .fold(0.0, f64::max),
        })
    } else {
        None
    };

    Ok(Dashboard {
        today: lines(today_jobs),
        upcoming: lines(upcoming),
        upcoming_more,
        upcoming_from: today + Duration::days(1),
        running,
        run_approvals,
        move_approvals: services::moves::list(
            &hub,
            &caller,
            Some(domain::MoveStatus::Pending),
            None,
            500,
        )
        .await?,
        conflicts,
        incidents,
        health,
    })
}

fn time_of(at: DateTime<Utc>, all_day: bool) -> String {
    if all_day {
        t("All day").to_owned()
    } else {
        at.format("%H:%M").to_string()
    }
}

#[component]
#[inline(never)] // a route's page: see `App`
pub fn DashboardPage() -> impl IntoView {
    let data = crate::ui::page_data(load_dashboard);
    view! {
        <PageTitle text=t("Dashboard")/>
        <header class="hero">
            <div>
                <p class="hero__eyebrow small">{move || crate::i18n::dates(&Utc::now().format("%A %-d %B %Y").to_string())}</p>
                <h1>{t("Today in operations")}</h1>
                <p class="muted">{t("What runs, what waits for you, and what is on fire.")}</p>
            </div>
            <div class="hero__actions">
                <a href="/calendar" class="button">{t("Open the calendar")}</a>
            </div>
        </header>
        <Suspense fallback=|| view! { <SkeletonCards count=6/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(dashboard) => view! { <DashboardGrid dashboard/> }.into_any(),
                    Err(error) => view! { <LoadError title=t("The dashboard could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
        // Outside the dashboard's Suspense: read in the browser (providers may take seconds),
        // never re-created when the dashboard's data arrives.
        <div class="dashboard dashboard--after">
            <crate::git_identity::MyChangesCard/>
        </div>
    }
}

#[component]
fn DashboardGrid(dashboard: Dashboard) -> impl IntoView {
    let Dashboard {
        today,
        upcoming,
        upcoming_more,
        upcoming_from,
        running,
        run_approvals,
        move_approvals,
        conflicts,
        incidents,
        health,
    } = dashboard;
    let approvals = run_approvals.len() + move_approvals.len();
    view! {
        <div class="stats" data-testid="dashboard-stats">
            <Stat label=t("Jobs today") value=today.len() tone="accent"/>
            <Stat label=t("Runs under way") value=running.len() tone="running"/>
            <Stat label=t("Waiting for approval") value=approvals tone="approval"/>
            <Stat label=t("Open incidents") value=incidents.len() tone=if incidents.is_empty() { "calm" } else { "failed" }/>
        </div>
        <div class="dashboard" data-testid="dashboard">
            <section class="card panel panel--wide" aria-labelledby="today-title">
                <h2 id="today-title">{t("Today")}</h2>
                {if today.is_empty() {
                    view! { <EmptyState text=t("Nothing planned today.") href="/calendar" action=t("Plan a job")/> }.into_any()
                } else {
                    view! { <JobList jobs=today/> }.into_any()
                }}
            </section>
            <section class="card panel" aria-labelledby="running-title">
                <h2 id="running-title">{t("Runs under way")}</h2>
                {if running.is_empty() {
                    view! { <p class="muted">{t("No run is under way.")}</p> }.into_any()
                } else {
                    view! { <RunList runs=running/> }.into_any()
                }}
            </section>
            <section class="card panel" aria-labelledby="approvals-title">
                <h2 id="approvals-title">{t("Waiting for approval")}</h2>
                {if approvals == 0 {
                    view! { <p class="muted">{t("Nothing waits for an approval.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="lines">
                            {run_approvals.into_iter().map(|(run, title)| view! {
                                <li class="line">
                                    <span class="dot dot--approval" aria-hidden="true"></span>
                                    <a href=format!("/runs/{}", run.id) class="line__title">{title}</a>
                                    <span class="muted small">{tf("run #{id} in {env}", &[("id", &run.id.to_string()), ("env", run.environment.as_deref().unwrap_or("—"))])}</span>
                                </li>
                            }).collect_view()}
                            {move_approvals.into_iter().map(|request| view! {
                                <li class="line">
                                    <span class="dot dot--approval" aria-hidden="true"></span>
                                    <a href="/calendar" class="line__title">{tf("Move of job #{id}", &[("id", &request.job_id.to_string())])}</a>
                                    <span class="muted small">{crate::i18n::dates(&request.planned_start.format("%a %-d %b %H:%M UTC").to_string())}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card panel" aria-labelledby="conflicts-title">
                <h2 id="conflicts-title">{t("Conflicts")}</h2>
                {if conflicts.is_empty() {
                    view! { <p class="muted">{t("No conflict in the next 31 days.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="lines">
                            {conflicts.into_iter().map(|conflict| view! {
                                <li class="line line--conflict">
                                    <span class="line__warn" aria-hidden="true">"⚠"</span>
                                    <a href=format!("/jobs/{}", conflict.job_id) class="line__title">{conflict.title}</a>
                                    <span class="muted small">{tf("with {others}", &[("others", &conflict.other_titles.join(", "))])}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card panel" aria-labelledby="incidents-title">
                <h2 id="incidents-title">{t("Open incidents")}</h2>
                {if incidents.is_empty() {
                    view! { <p class="muted">{t("No open incident. Calm seas.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="lines">
                            {incidents.into_iter().map(|(incident, top)| view! {
                                <li class="line" data-incident=incident.id.to_string()>
                                    <span class=format!("severity severity--{}", incident.severity)>{incident.severity.to_string()}</span>
                                    <a href=format!("/incidents/{}", incident.id) class="line__title">{incident.title}</a>
                                    <span class="muted small">{crate::labels::incident_status(incident.status)}</span>
                                    {top.map(|top| view! {
                                        <span class="small line__suspect" data-testid="top-suspect">{tf("top suspect: {title}", &[("title", &top)])}</span>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            {health.map(|health| view! {
                <section class="card panel" aria-labelledby="health-title">
                    <h2 id="health-title">{t("Server health")}</h2>
                    <div class="meters">
                        <Meter label=t("CPU") percent=health.cpu_percent/>
                        <Meter label=t("Memory") percent=health.memory_percent/>
                        <Meter label=t("Fullest disk") percent=health.fullest_disk_percent/>
                    </div>
                    <a href="/server" class="link small">{t("Open the server view")}</a>
                </section>
            })}
            <section class="card panel panel--wide" aria-labelledby="upcoming-title">
                <h2 id="upcoming-title">{t("Next 7 days")}</h2>
                {if upcoming.is_empty() {
                    view! { <p class="muted">{t("Nothing planned this week.")}</p> }.into_any()
                } else {
                    view! { <JobList jobs=upcoming with_day=true/> }.into_any()
                }}
                {(upcoming_more > 0).then(|| view! {
                    <a href=format!("/calendar?view=agenda&date={}", upcoming_from.format("%Y-%m-%d"))
                        class="link small" data-testid="upcoming-more">
                        {tf("and {n} more in the agenda", &[("n", &upcoming_more.to_string())])}
                    </a>
                })}
            </section>
        </div>
    }
}

#[component]
fn Stat(label: &'static str, value: usize, tone: &'static str) -> impl IntoView {
    view! {
        <div class=format!("stat stat--{tone}")>
            <span class="stat__value">{value}</span>
            <span class="stat__label small">{label}</span>
        </div>
    }
}

/// A labelled bar, amber from 80 %, red from 90 % (as the Server view's gauges).
#[component]
pub fn Meter(label: &'static str, percent: f64) -> impl IntoView {
    let level = domain::host::level(percent);
    view! {
        <div class="meter" data-level=level>
            <span class="meter__label small">{label}</span>
            <span class="meter__bar" role="meter" aria-label=label aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=format!("{percent:.0}")>
                <span style:width=format!("{:.1}%", percent.clamp(0.0, 100.0))></span>
            </span>
            <span class="meter__value small mono">{format!("{percent:.0} %")}</span>
        </div>
    }
}

#[component]
fn JobList(jobs: Vec<JobLine>, #[prop(optional)] with_day: bool) -> impl IntoView {
    view! {
        <ul class="lines">
            {jobs.into_iter().map(|line| {
                let job = line.job;
                let when = if with_day {
                    crate::i18n::dates(&format!("{} {}", job.planned_start.format("%a %-d"), time_of(job.planned_start, job.all_day)))
                } else {
                    time_of(job.planned_start, job.all_day)
                };
                view! {
                    <li class="line" style:--project-color=line.project_color>
                        <span class="line__bar" aria-hidden="true"></span>
                        <span class="line__time mono small">{when}</span>
                        <a href=format!("/jobs/{}", job.id) class="line__title">{job.title.clone()}</a>
                        <span class="muted small">{line.project_name}</span>
                        {job.environment.clone().map(|env| {
                            let class = if job.environment_is_production { "chip chip--prod" } else { "chip" };
                            view! { <span class=class>{env}</span> }
                        })}
                        <span class=format!("job-status job-status--{}", job.status)>{job.status.to_string()}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn RunList(runs: Vec<(Run, String)>) -> impl IntoView {
    view! {
        <ul class="lines">
            {runs.into_iter().map(|(run, title)| view! {
                <li class="line">
                    <span class=format!("run-status run-status--{}", run.status)>{run.status.to_string().replace('_', " ")}</span>
                    <a href=format!("/runs/{}", run.id) class="line__title">{title}</a>
                    <span class="muted small mono">{format!("#{}", run.id)}</span>
                </li>
            }).collect_view()}
        </ul>
    }
}
