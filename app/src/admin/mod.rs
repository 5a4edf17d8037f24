//! `/admin` (admins only): users, teams, the audit log viewer and the running settings; and
//! `/profile`, where everyone edits their own name, email, theme and language.

mod teams;
mod users;

use crate::ui::{LoadError, PageTitle, SkeletonRows, TabLinks};
use chrono::{DateTime, Utc};
use domain::UserProfile;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf, Locale};
use crate::layout::Avatar;
use crate::preferences::reload_page;
use crate::session::Me;
use crate::AppError;

/// One line of the audit log as the viewer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    /// Why, when the row says (a refusal's or a failed try's `reason`).
    pub reason: Option<String>,
}

/// What uHub runs with, for the settings tab (nothing secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub time_zone: String,
    pub metrics_interval_seconds: u64,
    pub public_url: String,
}

/// A page of the audit log, newest first, before the row `before`; `action` is an exact action
/// or a prefix ending with `.`.
#[server(prefix = "/sfn", endpoint = "admin/audit")]
pub async fn audit_page(
    before: Option<i64>,
    action: Option<String>,
) -> Result<Vec<AuditRow>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let filter = services::storage::AuditFilter {
        action: action.filter(|a| !a.trim().is_empty()),
        before_id: before,
        ..Default::default()
    };
    Ok(services::audit::list(&hub, &caller, &filter, 50)
        .await?
        .into_iter()
        .map(|record| AuditRow {
            id: record.id,
            at: record.at,
            actor: record.actor_username,
            action: record.action,
            target: match (record.target_type, record.target_id) {
                (Some(kind), Some(id)) => format!("{kind} {id}"),
                (Some(kind), None) => kind,
                _ => String::new(),
            },
            outcome: record.outcome,
            reason: record
                .detail
                .get("reason")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        })
        .collect())
}

#[server(prefix = "/sfn", endpoint = "admin/settings")]
pub async fn admin_settings() -> Result<Settings, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let settings = services::settings::read(&hub, &caller)?;
    Ok(Settings {
        time_zone: settings.time_zone,
        metrics_interval_seconds: settings.metrics_interval_seconds,
        public_url: settings.public_url,
    })
}

/// `/admin?tab=users|teams|audit|settings`.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn AdminPage() -> impl IntoView {
    if crate::session::refused_to_role(domain::policy::Action::ManageUsers) {
        return view! {
            <crate::ui::OnlyFor title=t("For admins only") testid="admins-only"
                text=t("People, teams, the audit log and uHub's settings are managed by its admins: ask one of them for a change here.")/>
        }
        .into_any();
    }
    let query = use_query_map();
    let tab = query.with_untracked(|q| q.get("tab").unwrap_or_else(|| "users".into()));
    let tabs = vec![
        ("users", t("Users")),
        ("teams", t("Teams")),
        ("audit", t("Audit log")),
        ("settings", t("Settings")),
    ]
    .into_iter()
    .map(|(key, label)| (key.to_owned(), label.to_owned()))
    .collect::<Vec<_>>();
    let current = tab.clone();
    let me = expect_context::<Me>();
    view! {
        <PageTitle text=t("Admin")/>
        <div class="page-header">
            <div>
                <h1>{t("Admin")}</h1>
                <p class="muted">{t("People, teams, the audit trail and how uHub runs.")}</p>
            </div>
        </div>
        <TabLinks base="/admin".to_owned() tabs current/>
        // Each tab's listing is read here, on the server, and given to its island.
        {match tab.as_str() {
            "teams" => crate::ui::with_listing(teams::admin_teams, 3, |teams| view! { <teams::TeamsTab teams/> }).into_any(),
            "audit" => view! { <AuditTab/> }.into_any(),
            "settings" => view! { <SettingsTab/> }.into_any(),
            _ => crate::ui::with_listing(users::admin_users, 4, move |users| {
                view! {
                    <Suspense fallback=|| ()>
                        {move || {
                            let users = users.clone();
                            Suspend::new(async move {
                                let me = me.user().ok().map(|user| user.id);
                                view! { <users::UsersTab users me/> }
                            })
                        }}
                    </Suspense>
                }
            }).into_any(),
        }}
    }
    .into_any()
}

/// The audit log, read page by page from the browser.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn AuditTab() -> impl IntoView {
    crate::i18n::provide_locale();
    let rows = RwSignal::new(Vec::<AuditRow>::new());
    let filter = RwSignal::new(String::new());
    let loading = RwSignal::new(false);
    let done = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let load = move |reset: bool| {
        loading.set(true);
        let before = if reset {
            None
        } else {
            rows.with_untracked(|r| r.last().map(|row| row.id))
        };
        let action = Some(filter.get_untracked());
        leptos::task::spawn_local(async move {
            match audit_page(before, action).await {
                Ok(page) => {
                    done.set(page.len() < 50);
                    if reset {
                        rows.set(page);
                    } else {
                        rows.update(|r| r.extend(page));
                    }
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| load(true));
    view! {
        <form class="toolbar" on:submit=move |ev| { ev.prevent_default(); load(true); }>
            <label class="field field--inline">
                <span class="small muted">{t("Action")}</span>
                <input class="input" name="action" placeholder="job.  run.approve  auth." autocomplete="off"
                    value=move || filter.get() prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
            </label>
            <button type="submit" class="button">{t("Filter")}</button>
        </form>
        {move || error.get().map(|error| view! { <LoadError title=t("The audit log could not be loaded") error/> })}
        // Scrolls by itself at phone width: the page itself never does.
        <div class="table-scroll">
        <table class="table" data-testid="audit-log">
            <thead><tr><th scope="col">"#"</th><th scope="col">{t("When")}</th><th scope="col">{t("Who")}</th><th scope="col">{t("Action")}</th><th scope="col">{t("Target")}</th><th scope="col">{t("Outcome")}</th></tr></thead>
            <tbody>
                <For each=move || rows.get() key=|row| row.id let(row)>
                    <tr>
                        <td class="mono small muted">{row.id}</td>
                        <td class="small">{row.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                        <td>{row.actor.unwrap_or_else(|| "uHub".into())}</td>
                        <td class="small">
                            <span class="mono">{row.action}</span>
                            {row.reason.map(|reason| view! { <div class="muted">{reason}</div> })}
                        </td>
                        <td class="small">{row.target}</td>
                        <td><span class=format!("outcome outcome--{}", row.outcome)>{row.outcome.clone()}</span></td>
                    </tr>
                </For>
            </tbody>
        </table>
        </div>
        <Show when=move || loading.get()>
            <SkeletonRows count=2/>
        </Show>
        <Show when=move || !done.get() && !loading.get()>
            <button type="button" class="button" on:click=move |_| load(false)>{t("Load older entries")}</button>
        </Show>
    }
}

#[component]
fn SettingsTab() -> impl IntoView {
    let settings = crate::ui::page_data(admin_settings);
    view! {
        <Suspense fallback=|| view! { <SkeletonRows count=3/> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(settings) => view! {
                        <section class="card">
                            <dl class="facts">
                                <div><dt>{t("Time zone (UHUB_TIMEZONE)")}</dt><dd class="mono">{settings.time_zone}</dd></div>
                                <div><dt>{t("Host sampling (UHUB_METRICS_INTERVAL)")}</dt><dd class="mono">{tf("{n} s", &[("n", &settings.metrics_interval_seconds.to_string())])}</dd></div>
                                <div><dt>{t("Public address (UHUB_PUBLIC_URL)")}</dt><dd class="mono">{settings.public_url}</dd></div>
                            </dl>
                            <p class="muted small">{t("Settings come from the environment at start; change them there and restart uHub.")}</p>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <LoadError title=t("The settings could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Saves one's own name, email, theme and language.
#[server(prefix = "/sfn", endpoint = "auth/profile")]
pub async fn save_profile(
    display_name: String,
    email: String,
    theme: String,
    locale: String,
) -> Result<UserProfile, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::ProfileChanges {
        display_name: Some(display_name.trim().to_owned()),
        email: Some(Some(email.trim().to_owned()).filter(|e| !e.is_empty())),
        theme: Some(theme),
        locale: Some(locale),
    };
    Ok(services::users::update_profile(&hub, &caller, changes)
        .await?
        .profile()?)
}

/// `/profile`.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn ProfilePage() -> impl IntoView {
    let me = expect_context::<Me>();
    let tokens = crate::ui::with_listing(crate::git_identity::git_tokens, 2, |states| {
        view! { <crate::git_identity::GitTokens states/> }
    });
    view! {
        <PageTitle text=t("Profile")/>
        <div class="page-header">
            <div>
                <h1>{t("Profile")}</h1>
                <p class="muted">{t("How you appear in uHub, and how uHub looks to you.")}</p>
            </div>
        </div>
        <Suspense fallback=|| view! { <SkeletonRows count=4/> }>
            {move || Suspend::new(async move {
                match me.user() {
                    Ok(user) => view! { <ProfileForm user/> }.into_any(),
                    Err(error) => view! { <LoadError title=t("Your profile could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
        {tokens}
    }
}

/// One's own name, email, theme and language; the page is loaded again after a save.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn ProfileForm(user: UserProfile) -> impl IntoView {
    crate::i18n::provide_locale();
    let name = RwSignal::new(user.display_name.clone());
    let email = RwSignal::new(user.email.clone().unwrap_or_default());
    let theme = RwSignal::new(user.theme.clone());
    let locale = RwSignal::new(user.locale.clone());
    let error = RwSignal::new(None::<AppError>);
    let save = ServerAction::<SaveProfile>::new();
    let pending = save.pending();
    Effect::new(move |_| match save.value().get() {
        // Theme and language apply to the whole page, so it is loaded again.
        Some(Ok(_)) => reload_page(),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveProfile {
            display_name: name.get_untracked(),
            email: email.get_untracked(),
            theme: theme.get_untracked(),
            locale: locale.get_untracked(),
        });
    };
    view! {
        <div class="split">
            <form class="card form" on:submit=submit data-testid="profile-form" aria-label=t("Profile")>
                <div class="profile-head">
                    <Avatar name=user.display_name.clone()/>
                    <div>
                        <p class="mono small muted">{format!("@{}", user.username)}</p>
                        <span class="role-badge" data-role=user.role.as_str()>{user.role.as_str()}</span>
                    </div>
                </div>
                <label class="field">
                    <span class="small muted">{t("Display name")}</span>
                    <input class="input" name="display_name" required maxlength="100"
                        value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <crate::ui::FieldError error field="display_name"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Email")}</span>
                    <input class="input" type="email" name="email"
                        value=move || email.get() prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                    <crate::ui::FieldError error field="email"/>
                </label>
                <div class="form__row">
                    <label class="field">
                        <span class="small muted">{t("Theme")}</span>
                        <select class="input" name="theme" on:change=move |ev| theme.set(event_target_value(&ev))>
                            {[("dark", t("Dark")), ("light", t("Light")), ("system", t("Same as the system"))].map(|(value, label)| view! {
                                <option value=value selected=user.theme == value>{label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Language")}</span>
                        <select class="input" name="locale" on:change=move |ev| locale.set(event_target_value(&ev))>
                            {Locale::ALL.map(|choice| view! {
                                <option value=choice.code() selected=user.locale == choice.code()>{choice.name()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                {move || error.get().filter(|e| e.field.is_none()).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                <div class="modal__actions">
                    <button type="submit" class="button button--primary" prop:disabled=move || pending.get()>{t("Save")}</button>
                </div>
            </form>
            <section class="card" aria-labelledby="security-title">
                <h2 id="security-title">{t("Security")}</h2>
                <p class="muted">{t("Change your password regularly; sessions end when you do.")}</p>
                <a class="button" href="/account/password">{t("Change my password")}</a>
            </section>
        </div>
    }
}
