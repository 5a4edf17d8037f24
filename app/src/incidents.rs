//! Incidents in the UI: the list (`/incidents`, with a form to open one) and the incident page
//! (`/incidents/:id`: status, the job concerned, the timeline, suspects and post-mortem of
//! [`crate::incident_story`], and the host's metrics around the incident).

use crate::ui::{EmptyState, LoadError, Navigator, PageTitle, SkeletonRows};
use chrono::{DateTime, Duration, Utc};
use domain::policy::Action;
use domain::{Incident, IncidentSeverity, IncidentStatus, ProjectSummary};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::session::{role_may, Me};
use crate::AppError;

/// An incident with the names its page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    pub incident: Incident,
    pub project_name: Option<String>,
    pub job_title: Option<String>,
    pub owner: Option<String>,
}

#[server(prefix = "/sfn", endpoint = "incidents/list")]
pub async fn list_incidents(status: Option<IncidentStatus>) -> Result<Vec<Incident>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let filter = services::storage::IncidentFilter {
        status,
        ..Default::default()
    };
    Ok(services::incidents::list(&hub, &caller, &filter, 200).await?)
}

#[server(prefix = "/sfn", endpoint = "incidents/detail")]
pub async fn incident_detail(id: i64) -> Result<IncidentView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let incident = services::incidents::get(&hub, &caller, id).await?;
    let project_name = match incident.project_id {
        Some(project) => Some(services::projects::get(&hub, &caller, project).await?.name),
        None => None,
    };
    let job_title = match incident.job_id {
        Some(job) => Some(services::jobs::get(&hub, &caller, job).await?.title),
        None => None,
    };
    let owner = match incident.owner_id {
        Some(owner) => Some(services::users::display_name(&hub, &caller, owner).await?),
        None => None,
    };
    Ok(IncidentView {
        incident,
        project_name,
        job_title,
        owner,
    })
}

/// Opens an incident; the same checks as `POST /incidents` (an archived project refuses it).
#[server(prefix = "/sfn", endpoint = "incidents/open")]
pub async fn open_incident(
    title: String,
    severity: IncidentSeverity,
    project_id: Option<i64>,
    description: String,
) -> Result<Incident, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let incident = services::incidents::opened(project_id, title, description, severity);
    Ok(services::incidents::create(&hub, &caller, incident).await?)
}

/// Moves an incident to `status` (based on `version`: a stale page gets 409's message).
#[server(prefix = "/sfn", endpoint = "incidents/status")]
pub async fn set_incident_status(
    id: i64,
    version: i64,
    status: IncidentStatus,
) -> Result<Incident, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::IncidentChanges {
        status: Some(status),
        ..Default::default()
    };
    Ok(services::incidents::update(&hub, &caller, id, version, changes).await?)
}

fn severity_badge(severity: IncidentSeverity) -> impl IntoView {
    view! { <span class=format!("severity severity--{severity}") data-severity=severity.as_str()>{severity.as_str()}</span> }
}

fn status_label(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Open => t("open"),
        IncidentStatus::Investigating => t("investigating"),
        IncidentStatus::Mitigated => t("mitigated"),
        IncidentStatus::Resolved => t("resolved"),
        IncidentStatus::Closed => t("closed"),
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `/incidents`: newest first, filtered by status; `?new=1` opens the form. The list is the
/// server's; the header (with "Open an incident" and its form) is an island.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn IncidentsPage() -> impl IntoView {
    let query = use_query_map();
    let (status, creating) = query.with_untracked(|q| {
        (
            q.get("status")
                .and_then(|s| s.parse::<IncidentStatus>().ok()),
            q.get("new").is_some(),
        )
    });
    let incidents = crate::ui::page_data(move || list_incidents(status));
    let me = expect_context::<Me>();
    view! {
        <PageTitle text=t("Incidents")/>
        <Suspense fallback=|| view! { <SkeletonRows count=5/> }>
            {move || Suspend::new(async move {
                let may_manage = me.user().is_ok_and(|user| role_may(user.role, Action::ManageIncidents));
                let list = match incidents.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState text=t("No incident here. When something breaks, open one so the team can follow it.")/>
                    }.into_any(),
                    Ok(list) => view! { <IncidentTable incidents=list/> }.into_any(),
                    Err(error) => view! { <LoadError title=t("The incidents could not be loaded") error/> }.into_any(),
                };
                view! {
                    <IncidentsHeader status may_manage creating/>
                    {list}
                }
            })}
        </Suspense>
    }
}

/// The incidents page's title, "Open an incident" and its form, and the status filter.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn IncidentsHeader(
    status: Option<IncidentStatus>,
    may_manage: bool,
    creating: bool,
) -> impl IntoView {
    crate::i18n::provide_locale();
    let creating = RwSignal::new(creating);
    let filter_link = |value: Option<IncidentStatus>, label: &'static str| {
        let href = value
            .map(|s| format!("/incidents?status={s}"))
            .unwrap_or_else(|| "/incidents".to_owned());
        view! {
            <a href=href class="segmented__item"
                aria-current=(status == value).then_some("true")>{label}</a>
        }
    };
    view! {
        <div class="page-header">
            <div>
                <h1>{t("Incidents")}</h1>
                <p class="muted">{t("What went wrong, how bad, where it stands.")}</p>
            </div>
            {may_manage.then(|| view! {
                <button type="button" class="button button--primary" data-testid="new-incident"
                    on:click=move |_| creating.set(true)>{t("Open an incident")}</button>
            })}
        </div>
        <nav class="segmented" aria-label=t("Filter by status")>
            {filter_link(None, t("All"))}
            {IncidentStatus::ALL.iter().copied().map(|s| filter_link(Some(s), status_label(s))).collect_view()}
        </nav>
        <Show when=move || creating.get()>
            <NewIncident on_close=Callback::new(move |_| creating.set(false))/>
        </Show>
    }
}

/// How long it lasted (resolved) or has been going on (open), e.g. `2 h 05 min`.
fn duration_of(incident: &Incident) -> String {
    let end = incident.resolved_at.unwrap_or_else(Utc::now);
    let minutes = (end - incident.detected_at).num_minutes().max(0);
    let text = if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    };
    if incident.resolved_at.is_some() {
        text
    } else {
        tf("{duration}, ongoing", &[("duration", &text)])
    }
}

#[component]
fn IncidentTable(incidents: Vec<Incident>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table" data-testid="incident-list">
                <thead>
                    <tr><th scope="col">{t("Severity")}</th><th scope="col">{t("Title")}</th><th scope="col">{t("Status")}</th><th scope="col">{t("Detected")}</th><th scope="col">{t("Duration")}</th></tr>
                </thead>
                <tbody>
                    {incidents.into_iter().map(|incident| { let duration = duration_of(&incident); view! {
                        <tr>
                            <td>{severity_badge(incident.severity)}</td>
                            <td><a href=format!("/incidents/{}", incident.id) class="link">{incident.title}</a></td>
                            <td><span class=format!("incident-status incident-status--{}", incident.status)>{status_label(incident.status)}</span></td>
                            <td class="small muted">{stamp(incident.detected_at)}</td>
                            <td class="small mono" data-testid="incident-duration">{duration}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn NewIncident(on_close: Callback<()>) -> impl IntoView {
    let navigate = Navigator::from_router();
    let projects = LocalResource::new(crate::projects::list_projects);
    let title = RwSignal::new(String::new());
    let severity = RwSignal::new(IncidentSeverity::Sev3);
    let project = RwSignal::new(None::<i64>);
    let description = RwSignal::new(String::new());
    let open = ServerAction::<OpenIncident>::new();
    let pending = open.pending();
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match open.value().get() {
        Some(Ok(incident)) => {
            navigate.go(&format!("/incidents/{}", incident.id));
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => error.set(None),
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        open.dispatch(OpenIncident {
            title: title.get_untracked(),
            severity: severity.get_untracked(),
            project_id: project.get_untracked(),
            description: description.get_untracked(),
        });
    };
    let projects_list =
        move || -> Vec<ProjectSummary> { projects.get().and_then(Result::ok).unwrap_or_default() };
    view! {
        <form class="card form form--panel" on:submit=submit data-testid="incident-form" aria-labelledby="new-incident-title">
            <h2 id="new-incident-title">{t("Open an incident")}</h2>
            <label class="field">
                <span class="small muted">{t("Title")}</span>
                <input class="input" name="title" required maxlength="200" autocomplete="off"
                    value=move || title.get() prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="title"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Severity")}</span>
                    <select class="input" name="severity"
                        on:change=move |ev| if let Ok(value) = event_target_value(&ev).parse() { severity.set(value) }>
                        {IncidentSeverity::ALL.iter().copied().map(|s| view! {
                            <option value=s.as_str() selected=s == IncidentSeverity::Sev3>{s.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="small muted">{t("Project")}</span>
                    <select class="input" name="project"
                        on:change=move |ev| project.set(event_target_value(&ev).parse().ok())>
                        <option value="">{t("The platform itself")}</option>
                        {move || projects_list().into_iter().map(|p| view! {
                            <option value=p.id.to_string()>{p.name}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <label class="field">
                <span class="small muted">{t("What is happening")}</span>
                <textarea class="input textarea" name="description" rows="3"
                    prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
            </label>
            {move || error.get().filter(|e| e.field.is_none()).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_close.run(())>{t("Cancel")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || pending.get()>{t("Open it")}</button>
            </div>
        </form>
    }
}

/// `/incidents/:id`: read here, on the server; moving it on, its timeline, suspects and
/// post-mortem are islands.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn IncidentPage() -> impl IntoView {
    let id = crate::ui::route_id("id");
    let detail = crate::ui::page_object(move || incident_detail(id.get()));
    let me = expect_context::<Me>();
    view! {
        <PageTitle text=t("Incident")/>
        <Suspense fallback=|| view! { <SkeletonRows count=4/> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(view) => {
                        let may_manage = me.user().is_ok_and(|user| role_may(user.role, Action::ManageIncidents));
                        view! { <IncidentDetail view may_manage/> }.into_any()
                    }
                    Err(error) => view! { <LoadError title=t("The incident could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn IncidentDetail(view: IncidentView, may_manage: bool) -> impl IntoView {
    let IncidentView {
        incident,
        project_name,
        job_title,
        owner,
    } = view;
    let (id, version) = (incident.id, incident.version);
    let next_steps: Vec<IncidentStatus> = IncidentStatus::ALL
        .iter()
        .copied()
        .filter(|s| *s != incident.status)
        .collect();
    // The host from half an hour before detection to half an hour after resolution (or now).
    let margin = Duration::minutes(30);
    let from = incident.detected_at - margin;
    let to = incident
        .resolved_at
        .map(|end| end + margin)
        .unwrap_or_else(Utc::now)
        .min(Utc::now());
    let to = if to <= from { from + margin } else { to };
    view! {
        <div class="page-header">
            <div>
                <p class="muted small">
                    <a href="/incidents" class="link">{t("Incidents")}</a>
                    " / " <span class="mono">{format!("#{}", incident.id)}</span>
                </p>
                <h1 data-testid="incident-title">{incident.title.clone()}</h1>
                <p class="muted">
                    {severity_badge(incident.severity)} " "
                    <span class=format!("incident-status incident-status--{}", incident.status) data-testid="incident-status">
                        {status_label(incident.status)}
                    </span>
                    " · " {tf("detected {at}", &[("at", &stamp(incident.detected_at))])}
                </p>
            </div>
        </div>
        <div class="split">
            <section class="card" aria-labelledby="incident-facts">
                <h2 id="incident-facts">{t("Facts")}</h2>
                <dl class="facts">
                    <div><dt>{t("Project")}</dt><dd>{match (incident.project_id, project_name) {
                        (Some(pid), Some(name)) => view! { <a href=format!("/projects/{pid}") class="link">{name}</a> }.into_any(),
                        _ => view! { <span>{t("The platform itself")}</span> }.into_any(),
                    }}</dd></div>
                    <div><dt>{t("Job")}</dt><dd>{match (incident.job_id, job_title) {
                        (Some(jid), Some(title)) => view! { <a href=format!("/jobs/{jid}") class="link">{title}</a> }.into_any(),
                        _ => view! { <span>"—"</span> }.into_any(),
                    }}</dd></div>
                    <div><dt>{t("Owner")}</dt><dd>{owner.unwrap_or_else(|| "—".into())}</dd></div>
                    <div><dt>{t("Resolved")}</dt><dd>{incident.resolved_at.map(stamp).unwrap_or_else(|| "—".into())}</dd></div>
                </dl>
                {(!incident.description.is_empty()).then(|| view! { <p class="prose">{incident.description.clone()}</p> })}
            </section>
            {may_manage.then(|| view! { <IncidentMoves id version next_steps/> })}
        </div>
        <crate::incident_story::IncidentStory id may_manage/>
        <crate::runs::HostAround from to title=t("The host around this incident") testid="incident-host"/>
    }
}

/// "Move it on": the statuses incident `id` may go to; the page is loaded again after a move.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn IncidentMoves(id: i64, version: i64, next_steps: Vec<IncidentStatus>) -> impl IntoView {
    crate::i18n::provide_locale();
    let set_status = ServerAction::<SetIncidentStatus>::new();
    let error = move || set_status.value().get().and_then(Result::err);
    let changed = crate::ui::reload_after_change();
    Effect::new(move |_| {
        if let Some(Ok(_)) = set_status.value().get() {
            changed.update(|v| *v += 1);
        }
    });
    view! {
        <section class="card" aria-labelledby="incident-move">
            <h2 id="incident-move">{t("Move it on")}</h2>
            <div class="button-row">
                {next_steps.into_iter().map(|status| view! {
                    <button type="button" class="button" data-status=status.as_str()
                        on:click=move |_| { set_status.dispatch(SetIncidentStatus { id, version, status }); }>{status_label(status)}</button>
                }).collect_view()}
            </div>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        </section>
    }
}
