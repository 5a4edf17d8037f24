//! The command palette (Ctrl+K / ⌘K everywhere): fuzzy search across projects, jobs, incidents
//! and users (served by the server, which applies the permissions), the app's pages and its
//! actions; recent items first; arrow keys and Enter. It can also plan a job on the spot.

use chrono::{Duration, Timelike, Utc};
use domain::policy::Action;
use domain::{fuzzy_score, HitKind, JobType, ProjectSummary, Role, SearchHit};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, use_locale, Locale};
use crate::layout::{role_may_somewhere, save_preferences, Me};
use crate::ui::Navigator;
use crate::AppError;

/// Whether the palette is open; the top bar's button and the shortcut both set it.
#[derive(Clone, Copy)]
pub struct PaletteOpen(pub RwSignal<bool>);

/// How many recently opened items the palette remembers (in this browser).
const RECENT_LIMIT: usize = 6;
#[cfg(feature = "hydrate")]
const RECENT_KEY: &str = "uhub.palette.recent";

/// Projects, jobs, incidents (and users, for those who manage them) matching `query`, best
/// first.
#[server(prefix = "/sfn", endpoint = "search")]
pub async fn search(query: String) -> Result<Vec<SearchHit>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::search::search(&hub, &caller, &query).await?)
}

/// Plans a job from the palette: the same guardrails as `POST /projects/{id}/jobs`. `start` is a
/// local date and time (`YYYY-MM-DDTHH:MM`) in uHub's time zone.
#[server(prefix = "/sfn", endpoint = "jobs/quick-create")]
pub async fn quick_create_job(
    project_id: i64,
    title: String,
    job_type: JobType,
    environment: Option<String>,
    start: String,
) -> Result<domain::Job, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let planned_start = services::calendar::local_instant("start", &start, &hub.zone)?;
    let mut job = services::storage::NewJob::planned(
        project_id,
        &title,
        job_type,
        environment.as_deref().filter(|e| !e.is_empty()),
        planned_start,
    );
    job.planned_end = Some(planned_start + Duration::hours(1));
    Ok(services::jobs::create(&hub, &caller, job).await?)
}

/// Something the palette can do besides opening an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    NewJob,
    LaunchJob,
    Theme(&'static str),
    Language(Locale),
    LogOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Go(String),
    Run(Command),
}

/// One line of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    group: &'static str,
    title: String,
    detail: String,
    kind: &'static str,
    target: Target,
}

/// An opened item remembered in this browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Recent {
    title: String,
    detail: String,
    href: String,
}

/// The palette's two faces: searching, or the new-job form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Search,
    Launch,
    NewJob,
}

/// The app's pages and actions the role may use; titles in the page's language.
fn static_entries(role: Option<Role>, locale: Locale) -> Vec<Entry> {
    let allowed = |action: Action| role.is_some_and(|role| role_may_somewhere(role, action));
    let mut entries = Vec::new();
    let mut action = |title: &'static str, target: Target| {
        entries.push(Entry {
            group: "Actions",
            title: locale.t(title).to_owned(),
            detail: String::new(),
            kind: "action",
            target,
        });
    };
    if allowed(Action::CreateJob) {
        action("New job", Target::Run(Command::NewJob));
    }
    if allowed(Action::CreateProject) {
        action("New project", Target::Go("/projects?new=1".into()));
    }
    if allowed(Action::ManageIncidents) {
        action("New incident", Target::Go("/incidents?new=1".into()));
    }
    if allowed(Action::LaunchRun) {
        action("Launch a job…", Target::Run(Command::LaunchJob));
    }
    action("Go to the calendar", Target::Go("/calendar".into()));
    action(
        "Colour the calendar by project",
        Target::Go("/calendar?view=month&color=project".into()),
    );
    action(
        "Colour the calendar by type",
        Target::Go("/calendar?view=month&color=type".into()),
    );
    action(
        "Colour the calendar by status",
        Target::Go("/calendar?view=month&color=status".into()),
    );
    action(
        "Switch to the dark theme",
        Target::Run(Command::Theme("dark")),
    );
    action(
        "Switch to the light theme",
        Target::Run(Command::Theme("light")),
    );
    for other in Locale::ALL.into_iter().filter(|l| *l != locale) {
        entries.push(Entry {
            group: "Actions",
            title: format!("{} — {}", locale.t("Change the language"), other.name()),
            detail: String::new(),
            kind: "action",
            target: Target::Run(Command::Language(other)),
        });
    }
    entries.push(Entry {
        group: "Actions",
        title: locale.t("Log out").to_owned(),
        detail: String::new(),
        kind: "action",
        target: Target::Run(Command::LogOut),
    });
    let mut page = |title: &'static str, href: &str| {
        entries.push(Entry {
            group: "Pages",
            title: locale.t(title).to_owned(),
            detail: href.to_owned(),
            kind: "page",
            target: Target::Go(href.to_owned()),
        });
    };
    page("Dashboard", "/");
    page("Calendar", "/calendar");
    page("Projects", "/projects");
    page("Incidents", "/incidents");
    if allowed(Action::ViewServer) {
        page("Server", "/server");
    }
    if allowed(Action::ManageUsers) {
        page("Admin", "/admin");
    }
    page("Profile", "/profile");
    page("API reference", "/docs/api");
    entries
}

fn hit_group(kind: HitKind) -> &'static str {
    match kind {
        HitKind::Project => "Projects",
        HitKind::Job => "Jobs",
        HitKind::Incident => "Incidents",
        HitKind::User => "Users",
    }
}

/// What the list shows for `query`: recent items (empty query), then the best of pages and
/// actions and the server's hits, grouped.
fn entries_for(
    query: &str,
    mode: Mode,
    statics: &[Entry],
    hits: &[SearchHit],
    recent: &[Recent],
) -> Vec<Entry> {
    let hit_entries = hits
        .iter()
        .filter(|hit| mode != Mode::Launch || hit.kind == HitKind::Job)
        .map(|hit| Entry {
            group: hit_group(hit.kind),
            title: hit.title.clone(),
            detail: hit.detail.clone(),
            kind: hit.kind.as_str(),
            target: Target::Go(if mode == Mode::Launch {
                format!("{}#launch", hit.href)
            } else {
                hit.href.clone()
            }),
        });
    if mode == Mode::Launch {
        return hit_entries.collect();
    }
    if query.trim().is_empty() {
        let recent = recent.iter().map(|item| Entry {
            group: "Recent",
            title: item.title.clone(),
            detail: item.detail.clone(),
            kind: "recent",
            target: Target::Go(item.href.clone()),
        });
        return recent.chain(statics.iter().cloned()).collect();
    }
    let mut scored: Vec<(i32, Entry)> = statics
        .iter()
        .filter_map(|entry| Some((fuzzy_score(query, &entry.title)?, entry.clone())))
        .collect();
    scored.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    // Data first when it matches better than any page or action (typing a job's name).
    let best_static = scored.first().map(|(score, _)| *score).unwrap_or(i32::MIN);
    let best_hit = hits.first().map(|hit| hit.score).unwrap_or(i32::MIN);
    let statics = scored.into_iter().map(|(_, entry)| entry).take(6);
    let mut grouped: Vec<Entry> = if best_hit >= best_static {
        hit_entries.chain(statics).collect()
    } else {
        statics.chain(hit_entries).collect()
    };
    // Keep each group together, in the order groups first appear.
    let mut order: Vec<&'static str> = Vec::new();
    for entry in &grouped {
        if !order.contains(&entry.group) {
            order.push(entry.group);
        }
    }
    grouped.sort_by_key(|entry| order.iter().position(|g| *g == entry.group));
    grouped
}

fn load_recent() -> Vec<Recent> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|storage| storage.get_item(RECENT_KEY).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

fn remember(entry: &Entry) {
    let Target::Go(href) = &entry.target else {
        return;
    };
    if entry.kind == "action" {
        return;
    }
    let mut recent = load_recent();
    recent.retain(|item| &item.href != href);
    recent.insert(
        0,
        Recent {
            title: entry.title.clone(),
            detail: entry.detail.clone(),
            href: href.clone(),
        },
    );
    recent.truncate(RECENT_LIMIT);
    #[cfg(feature = "hydrate")]
    if let (Some(storage), Ok(json)) = (
        web_sys::window().and_then(|w| w.local_storage().ok().flatten()),
        serde_json::to_string(&recent),
    ) {
        // A full or disabled storage only costs the recent list.
        let _ = storage.set_item(RECENT_KEY, &json);
    }
}

/// Submits the user menu's logout form (a POST, like clicking Log out).
fn log_out() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(form) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("form[action='/logout']").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlFormElement>().ok())
        {
            let _ = form.submit();
        }
    }
}

/// The palette: mounted with the shell, rendered while open.
#[component]
pub fn CommandPalette() -> impl IntoView {
    let PaletteOpen(open) = expect_context::<PaletteOpen>();
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                open.update(|o| *o = !*o);
            }
        });
        on_cleanup(move || handle.remove());
    }
    view! {
        <Show when=move || open.get()>
            <Palette/>
        </Show>
    }
}

#[component]
fn Palette() -> impl IntoView {
    let PaletteOpen(open) = expect_context::<PaletteOpen>();
    let Me(me) = expect_context::<Me>();
    let locale = use_locale();
    let navigate = Navigator::from_router();
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let mode = RwSignal::new(Mode::Search);
    let recent = StoredValue::new(load_recent());
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let role = move || me.get().and_then(|r| r.ok()).map(|u| u.role);
    let statics = Memo::new(move |_| static_entries(role(), locale));
    let hits = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                Ok(Vec::new())
            } else {
                search(q).await
            }
        }
    });
    // The last answer stays on screen while the next one is on its way.
    let last_hits = RwSignal::new(Vec::<SearchHit>::new());
    let search_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match hits.get() {
        Some(Ok(list)) => {
            last_hits.set(list);
            search_error.set(None);
        }
        Some(Err(error)) => search_error.set(Some(error)),
        None => {}
    });
    let entries = Memo::new(move |_| {
        last_hits.with(|hits| {
            statics.with(|statics| {
                recent.with_value(|recent| {
                    entries_for(&query.get(), mode.get(), statics, hits, recent)
                })
            })
        })
    });
    Effect::new(move |_| {
        query.track();
        active.set(0);
    });
    Effect::new(move |_| {
        if mode.get() != Mode::NewJob {
            if let Some(input) = input_ref.get() {
                let _ = input.focus();
            }
        }
    });
    let close = move || open.set(false);
    let choose = move |entry: Entry| match entry.target.clone() {
        Target::Go(href) => {
            remember(&entry);
            close();
            navigate.go(&href);
        }
        Target::Run(Command::NewJob) => mode.set(Mode::NewJob),
        Target::Run(Command::LaunchJob) => {
            mode.set(Mode::Launch);
            query.set(String::new());
        }
        Target::Run(Command::Theme(theme)) => {
            close();
            save_preferences(Some(theme), None);
        }
        Target::Run(Command::Language(locale)) => {
            close();
            save_preferences(None, Some(locale.code()));
        }
        Target::Run(Command::LogOut) => log_out(),
    };
    let choose_active = move || {
        let entry = entries.with(|list| list.get(active.get_untracked()).cloned());
        if let Some(entry) = entry {
            choose(entry);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = entries.with(Vec::len);
        match ev.key().as_str() {
            "Escape" => {
                ev.prevent_default();
                if mode.get_untracked() == Mode::Search {
                    close();
                } else {
                    mode.set(Mode::Search);
                }
            }
            "ArrowDown" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1) % count);
                scroll_active_into_view();
            }
            "ArrowUp" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + count - 1) % count);
                scroll_active_into_view();
            }
            "Enter" => {
                ev.prevent_default();
                choose_active();
            }
            // The dialog is modal: focus stays in it.
            "Tab" if mode.get_untracked() != Mode::NewJob => ev.prevent_default(),
            _ => {}
        }
    };
    let placeholder = move || match mode.get() {
        Mode::Launch => t("Which job? Type its name…"),
        _ => t("Search projects, jobs, incidents, pages, actions…"),
    };
    let active_id = move || format!("palette-option-{}", active.get());

    view! {
        <div class="palette-backdrop" on:click=move |_| close()></div>
        <div class="palette" role="dialog" aria-modal="true" aria-label=t("Command palette")
            data-testid="palette" on:keydown=on_key>
            <Show when=move || mode.get() == Mode::NewJob fallback=move || {
                view! {
                    <div class="palette__search">
                        <span class="palette__icon" aria-hidden="true">
                            {move || if mode.get() == Mode::Launch { "▶" } else { "⌕" }}
                        </span>
                        <input class="palette__input" type="text" role="combobox" node_ref=input_ref
                            aria-expanded="true" aria-controls="palette-results" aria-autocomplete="list"
                            aria-activedescendant=active_id aria-label=t("Search")
                            placeholder=placeholder autocomplete="off" spellcheck="false"
                            data-testid="palette-input"
                            prop:value=move || query.get()
                            on:input=move |ev| query.set(event_target_value(&ev))/>
                        <kbd class="kbd">"Esc"</kbd>
                    </div>
                    <div class="palette__results" id="palette-results" role="listbox" aria-label=t("Results")>
                        {move || {
                            let list = entries.get();
                            if list.is_empty() {
                                let text = if mode.get() == Mode::Launch && query.with(String::is_empty) {
                                    t("Type the name of the job to launch.")
                                } else {
                                    t("Nothing matches. Try fewer letters.")
                                };
                                return view! { <p class="palette__empty muted" role="presentation">{text}</p> }.into_any();
                            }
                            let mut previous_group = "";
                            list.into_iter().enumerate().map(|(index, entry)| {
                                let heading = (entry.group != previous_group).then(|| {
                                    view! { <p class="palette__group small" role="presentation">{t(entry.group)}</p> }
                                });
                                previous_group = entry.group;
                                let picked = entry.clone();
                                let href = match &entry.target {
                                    Target::Go(href) => href.clone(),
                                    Target::Run(_) => String::new(),
                                };
                                view! {
                                    {heading}
                                    <div class="palette__option" role="option" id=format!("palette-option-{index}")
                                        aria-selected=move || (active.get() == index).to_string()
                                        data-kind=entry.kind data-href=href
                                        on:mousemove=move |_| if active.get_untracked() != index { active.set(index) }
                                        on:click=move |_| choose(picked.clone())>
                                        <span class="palette__kind" aria-hidden="true">{kind_icon(entry.kind)}</span>
                                        <span class="palette__title">{entry.title.clone()}</span>
                                        <span class="palette__detail small muted">{entry.detail.clone()}</span>
                                        <kbd class="kbd palette__enter" aria-hidden="true">"↵"</kbd>
                                    </div>
                                }
                            }).collect_view().into_any()
                        }}
                    </div>
                    {move || search_error.get().map(|error| view! {
                        <p class="palette__error small" role="alert">{error.message}</p>
                    })}
                    <footer class="palette__hints small muted">
                        <span><kbd class="kbd">"↑"</kbd><kbd class="kbd">"↓"</kbd>" " {t("to move")}</span>
                        <span><kbd class="kbd">"↵"</kbd>" " {t("to open")}</span>
                        <span><kbd class="kbd">"Esc"</kbd>" " {t("to close")}</span>
                    </footer>
                }
            }>
                <NewJobForm on_cancel=Callback::new(move |_| mode.set(Mode::Search))/>
            </Show>
        </div>
    }
}

fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "project" => "▦",
        "job" => "◆",
        "incident" => "◬",
        "user" => "◉",
        "page" => "→",
        "recent" => "↺",
        _ => "⚡",
    }
}

fn scroll_active_into_view() {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async {
        // After the render that moved `aria-selected`.
        if let Some(option) = web_sys::window().and_then(|w| w.document()).and_then(|d| {
            d.query_selector(".palette__option[aria-selected=true]")
                .ok()
                .flatten()
        }) {
            option.scroll_into_view_with_bool(false);
        }
    });
}

/// The next full hour, as a `datetime-local` value in the browser's clock (uHub reads it in its
/// own time zone; for a team in one place they are the same).
fn next_hour_local() -> String {
    let now = Utc::now() + Duration::hours(1);
    #[cfg(feature = "hydrate")]
    let now = {
        let offset_minutes = -js_sys_offset_minutes();
        now + Duration::minutes(offset_minutes)
    };
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .unwrap_or(now)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[cfg(feature = "hydrate")]
fn js_sys_offset_minutes() -> i64 {
    // `Date.prototype.getTimezoneOffset`: minutes to add to local time to get UTC.
    js_sys::Date::new_0().get_timezone_offset() as i64
}

/// The job form inside the palette: project, title, type, environment, start.
#[component]
fn NewJobForm(on_cancel: Callback<()>) -> impl IntoView {
    let PaletteOpen(open) = expect_context::<PaletteOpen>();
    let navigate = Navigator::from_router();
    let projects = LocalResource::new(crate::projects::list_projects);
    let project = RwSignal::new(None::<i64>);
    let title = RwSignal::new(String::new());
    let Me(me) = expect_context::<Me>();
    // A type the role may plan: dev plans dev jobs, the others start from ops.
    let default_type = if me.get_untracked().and_then(Result::ok).map(|u| u.role) == Some(Role::Dev)
    {
        JobType::Dev
    } else {
        JobType::Ops
    };
    let job_type = RwSignal::new(default_type);
    let environment = RwSignal::new(String::new());
    let start = RwSignal::new(next_hour_local());
    let error = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let title_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = title_ref.get() {
            let _ = input.focus();
        }
    });
    // Only the active projects where the user may plan something (projets: their own).
    let user = StoredValue::new(me.get_untracked().and_then(Result::ok));
    let plannable = move |project: &ProjectSummary| {
        user.with_value(|user| {
            let Some(user) = user else {
                return false;
            };
            let subject = domain::policy::Subject {
                user_id: user.id,
                role: user.role,
            };
            JobType::ALL.iter().any(|job_type| {
                !matches!(
                    domain::policy::may(
                        &subject,
                        Action::CreateJob,
                        &domain::policy::Object::job(project.owner_id, *job_type),
                        None,
                    ),
                    domain::policy::Decision::Deny(_)
                )
            })
        })
    };
    let active_projects = move || -> Vec<ProjectSummary> {
        projects
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.state == domain::ProjectState::Active && plannable(p))
            .collect()
    };
    // The first active project is chosen until the user picks one.
    let chosen = move || {
        project
            .get()
            .or_else(|| active_projects().first().map(|p| p.id))
    };
    let environments = move || {
        let id = chosen();
        active_projects()
            .into_iter()
            .find(|p| Some(p.id) == id)
            .map(|p| p.environments)
            .unwrap_or_default()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(project_id) = chosen() else {
            error.set(Some(AppError {
                field: Some("project".into()),
                ..AppError::new("invalid", t("Choose a project."))
            }));
            return;
        };
        pending.set(true);
        error.set(None);
        let environment = Some(environment.get_untracked()).filter(|e| !e.is_empty());
        let request = (
            title.get_untracked(),
            job_type.get_untracked(),
            start.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            match quick_create_job(project_id, request.0, request.1, environment, request.2).await {
                Ok(job) => {
                    open.set(false);
                    let href = format!("/jobs/{}", job.id);
                    navigate.go(&href);
                }
                Err(e) => {
                    error.set(Some(e));
                    pending.set(false);
                }
            }
        });
    };
    view! {
        <form class="palette__form form" on:submit=submit data-testid="palette-new-job">
            <h2 class="palette__form-title">{t("New job")}</h2>
            <label class="field">
                <span class="small muted">{t("Project")}</span>
                <select class="input" name="project" data-testid="new-job-project"
                    on:change=move |ev| project.set(event_target_value(&ev).parse().ok())>
                    {move || active_projects().into_iter().map(|p| {
                        let selected = Some(p.id) == chosen();
                        view! { <option value=p.id.to_string() selected=selected>{p.name}</option> }
                    }).collect_view()}
                </select>
                <crate::ui::FieldError error field="project"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Title")}</span>
                <input class="input" name="title" required maxlength="200" node_ref=title_ref
                    data-testid="new-job-title" autocomplete="off"
                    prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="title"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Type")}</span>
                    <select class="input" name="job_type"
                        on:change=move |ev| if let Ok(value) = event_target_value(&ev).parse() { job_type.set(value) }>
                        {JobType::ALL.iter().copied().map(|kind| view! {
                            <option value=kind.as_str() selected=kind == default_type>{kind.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="small muted">{t("Environment")}</span>
                    <select class="input" name="environment"
                        on:change=move |ev| environment.set(event_target_value(&ev))>
                        <option value="">{t("None")}</option>
                        {move || environments().into_iter().map(|name| view! {
                            <option value=name.clone()>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                    <crate::ui::FieldError error field="environment"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Start")}</span>
                    <input class="input" type="datetime-local" name="start" required
                        prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev))/>
                    <crate::ui::FieldError error field="start"/>
                </label>
            </div>
            {move || error.get().filter(|e| e.field.is_none()).map(|e| view! {
                <p class="form-error" role="alert">{e.message}</p>
            })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_cancel.run(())>{t("Back")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || pending.get()
                    data-testid="new-job-submit">
                    {move || if pending.get() { t("Creating…") } else { t("Create the job") }}
                </button>
            </div>
        </form>
    }
}
