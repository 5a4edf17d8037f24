//! The incident page's story: the timeline uHub built (kinds as icons, filters, pins, a note or
//! an event remembered after the fact), the suspected changes with their reasons and the team's
//! verdicts, and the post-mortem (drafted from both, edited, previewed, exported).

use chrono::{DateTime, Utc};
use domain::incident::{EntryKind, EntrySource, IncidentEntry, Postmortem, Suspect};
use leptos::prelude::*;

use crate::i18n::{t, tf};
use crate::AppError;

#[server(prefix = "/sfn", endpoint = "incidents/timeline")]
pub async fn incident_timeline(id: i64) -> Result<Vec<IncidentEntry>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::timeline(&hub, &caller, id).await?)
}

/// A note (now) or, with `at` (the browser's `datetime-local`, UTC), an event remembered later.
#[server(prefix = "/sfn", endpoint = "incidents/note")]
pub async fn add_note(
    id: i64,
    title: String,
    body: String,
    at: Option<String>,
) -> Result<Vec<IncidentEntry>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let at = match at.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => Some(
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .map(|naive| naive.and_utc())
                .map_err(|_| services::ServiceError::invalid("at", "is not a date and time"))?,
        ),
        None => None,
    };
    let request = services::timeline::EntryRequest {
        kind: if at.is_some() { "manual" } else { "note" }.to_owned(),
        at,
        title,
        body,
    };
    Ok(services::timeline::add_entry(&hub, &caller, id, &request).await?)
}

#[server(prefix = "/sfn", endpoint = "incidents/pin")]
pub async fn pin_entry(
    id: i64,
    reference: String,
    pinned: bool,
) -> Result<Vec<IncidentEntry>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::pin(&hub, &caller, id, &reference, pinned).await?)
}

#[server(prefix = "/sfn", endpoint = "incidents/suspects")]
pub async fn incident_suspects(id: i64) -> Result<Vec<Suspect>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::suspects(&hub, &caller, id, None).await?)
}

#[server(prefix = "/sfn", endpoint = "incidents/verdict")]
pub async fn judge_suspect(
    id: i64,
    reference: String,
    verdict: String,
) -> Result<Vec<Suspect>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::set_verdict(&hub, &caller, id, &reference, &verdict).await?)
}

/// The current post-mortem; `None` before one is drafted.
#[server(prefix = "/sfn", endpoint = "incidents/postmortem")]
pub async fn load_postmortem(id: i64) -> Result<Option<Postmortem>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    match services::timeline::postmortem(&hub, &caller, id).await {
        Ok(found) => Ok(Some(found)),
        Err(services::ServiceError::NotFound {
            what: "post-mortem",
        }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

#[server(prefix = "/sfn", endpoint = "incidents/postmortem/draft")]
pub async fn draft_postmortem(id: i64) -> Result<Postmortem, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::draft_postmortem(&hub, &caller, id).await?)
}

#[server(prefix = "/sfn", endpoint = "incidents/postmortem/save")]
pub async fn save_postmortem(id: i64, body: String) -> Result<Postmortem, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::edit_postmortem(&hub, &caller, id, &body).await?)
}

/// Opens an incident from a failed run; the new incident.
#[server(prefix = "/sfn", endpoint = "incidents/from-run")]
pub async fn open_incident_from_run(run_id: i64) -> Result<domain::Incident, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::timeline::open_from_run(&hub, &caller, run_id).await?)
}

/// An icon and a name for each kind (the name is what screen readers say).
fn kind_mark(kind: EntryKind) -> (&'static str, &'static str) {
    match kind {
        EntryKind::Incident => ("⚑", t("Incident")),
        EntryKind::RunLaunched => ("▶", t("Run launched")),
        EntryKind::RunApproved => ("✓", t("Run approved")),
        EntryKind::RunSucceeded => ("●", t("Run succeeded")),
        EntryKind::RunFailed => ("✕", t("Run failed")),
        EntryKind::Deployment => ("⇪", t("Deployment")),
        EntryKind::TerraformApply => ("◆", t("Terraform apply")),
        EntryKind::AnsibleRun => ("▲", t("Ansible run")),
        EntryKind::JobMoved => ("↔", t("Job moved")),
        EntryKind::HostThreshold => ("▣", t("Host threshold")),
        EntryKind::Note => ("✎", t("Note")),
        EntryKind::Manual => ("✎", t("Remembered event")),
    }
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// Which entries the timeline shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Changes,
    People,
    Pinned,
}

/// The timeline, the suspects and the post-mortem of incident `id`, read here, on the server,
/// each given to its island (which reads it again after a change made there).
#[component]
pub fn IncidentStory(id: i64, may_manage: bool) -> impl IntoView {
    let entries = crate::ui::page_data(move || incident_timeline(id));
    let suspects = crate::ui::page_data(move || incident_suspects(id));
    let postmortem = crate::ui::page_data(move || load_postmortem(id));
    view! {
        <Suspense fallback=|| view! { <crate::ui::SkeletonRows count=5/> }>
            {move || Suspend::new(async move {
                let (entries, suspects, postmortem) = (entries.await, suspects.await, postmortem.await);
                view! {
                    <Timeline id may_manage entries/>
                    <Suspects id may_manage suspects/>
                    <PostmortemEditor id may_manage postmortem/>
                }
            })}
        </Suspense>
    }
}

#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn Timeline(
    id: i64,
    may_manage: bool,
    entries: Result<Vec<IncidentEntry>, AppError>,
) -> impl IntoView {
    crate::i18n::provide_locale();
    let may_manage = Signal::stored(may_manage);
    let changed = RwSignal::new(0u32);
    let entries = crate::ui::refreshed(entries, changed, move || incident_timeline(id));
    let filter = RwSignal::new(Filter::All);
    let pin = ServerAction::<PinEntry>::new();
    let note = ServerAction::<AddNote>::new();
    let (title, body, at) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = pin.value().get() {
            changed.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = note.value().get() {
            title.set(String::new());
            body.set(String::new());
            at.set(String::new());
            changed.update(|v| *v += 1);
        }
    });
    let filters = [
        (Filter::All, t("Everything")),
        (Filter::Changes, t("Changes")),
        (Filter::People, t("Notes")),
        (Filter::Pinned, t("Pinned")),
    ];
    view! {
        <section class="card incident-story" aria-labelledby="timeline-title" data-testid="incident-timeline">
            <div class="section-head">
                <h2 id="timeline-title">{t("Timeline")}</h2>
                <div class="segmented" role="radiogroup" aria-label=t("Show")>
                    {filters.map(|(value, label)| view! {
                        <label class="segmented__option">
                            <input type="radio" name="timeline-filter" checked=move || filter.get() == value prop:checked=move || filter.get() == value
                                on:change=move |_| filter.set(value)/>
                            <span>{label}</span>
                        </label>
                    }).collect_view()}
                </div>
            </div>
            {move || {
                    match entries.get() {
                        Ok(list) => {
                            let shown: Vec<IncidentEntry> = list.into_iter().filter(|e| match filter.get() {
                                Filter::All => true,
                                Filter::Changes => e.source == EntrySource::System && e.kind != EntryKind::Incident,
                                Filter::People => e.source == EntrySource::Manual,
                                Filter::Pinned => e.pinned,
                            }).collect();
                            if shown.is_empty() {
                                return view! { <p class="empty-inline muted">{t("Nothing to show here.")}</p> }.into_any();
                            }
                            view! {
                                <ol class="timeline" role="list">
                                    {shown.into_iter().map(|entry| {
                                        let (icon, name) = kind_mark(entry.kind);
                                        let reference = entry.reference.clone();
                                        let pinned = entry.pinned;
                                        view! {
                                            <li class=format!("timeline__entry timeline__entry--{}", entry.kind.as_str())
                                                data-kind=entry.kind.as_str() data-ref=entry.reference.clone() data-pinned=pinned.to_string()>
                                                <span class="timeline__icon" role="img" aria-label=name title=name>{icon}</span>
                                                <time class="timeline__time mono small" datetime=entry.at.to_rfc3339()>{clock(entry.at)}</time>
                                                <div class="timeline__body">
                                                    <span class="timeline__title">{pinned.then_some("📌 ")}{entry.title.clone()}</span>
                                                    {(!entry.body.is_empty()).then(|| view! { <p class="small muted">{entry.body.clone()}</p> })}
                                                    <span class="small muted">{entry.by.clone().unwrap_or_else(|| "uHub".to_owned())}</span>
                                                </div>
                                                <Show when=move || may_manage.get()>
                                                    <button type="button" class="button button--small button--ghost"
                                                        aria-pressed=pinned.to_string()
                                                        on:click={
                                                            let reference = reference.clone();
                                                            move |_| { pin.dispatch(PinEntry { id, reference: reference.clone(), pinned: !pinned }); }
                                                        }>{if pinned { t("Unpin") } else { t("Pin") }}</button>
                                                </Show>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ol>
                            }.into_any()
                        }
                        Err(error) => view! { <crate::ui::LoadError title=t("The timeline could not be loaded") error/> }.into_any(),
                    }
            }}
            <Show when=move || may_manage.get()>
                <form class="form incident-note" data-testid="add-note" on:submit=move |ev| {
                    ev.prevent_default();
                    note.dispatch(AddNote { id, title: title.get_untracked(), body: body.get_untracked(), at: Some(at.get_untracked()) });
                }>
                    <div class="form__row">
                        <label class="field">
                            <span class="small muted">{t("Note")}</span>
                            <input class="input" name="note-title" required maxlength="200"
                                value=move || title.get() prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("When it happened (UTC; empty: now)")}</span>
                            <input class="input" type="datetime-local" name="note-at"
                                value=move || at.get() prop:value=move || at.get() on:input=move |ev| at.set(event_target_value(&ev))/>
                        </label>
                        <button class="button" type="submit" prop:disabled=move || note.pending().get()>{t("Add to the timeline")}</button>
                    </div>
                    <label class="field">
                        <span class="small muted">{t("Details (optional)")}</span>
                        <textarea class="input textarea" name="note-body" rows="2"
                            prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    </label>
                    {move || note.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                </form>
            </Show>
        </section>
    }
}

#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn Suspects(id: i64, may_manage: bool, suspects: Result<Vec<Suspect>, AppError>) -> impl IntoView {
    crate::i18n::provide_locale();
    let may_manage = Signal::stored(may_manage);
    let changed = RwSignal::new(0u32);
    let suspects = crate::ui::refreshed(suspects, changed, move || incident_suspects(id));
    let judge = ServerAction::<JudgeSuspect>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = judge.value().get() {
            changed.update(|v| *v += 1);
        }
    });
    view! {
        <section class="card" aria-labelledby="suspects-title" data-testid="incident-suspects">
            <h2 id="suspects-title">{t("Suspected changes")}</h2>
            <p class="muted small">{t("Changes of the 24 hours before detection, best suspect first; each score has its reasons. Changes that cannot have caused it are listed last.")}</p>
            {move || {
                    match suspects.get() {
                        Ok(list) if list.is_empty() => view! { <p class="empty-inline muted">{t("No change before detection.")}</p> }.into_any(),
                        Ok(list) => view! {
                            <ol class="suspects" role="list">
                                {list.into_iter().map(|suspect| {
                                    let reference = suspect.reference.clone();
                                    let verdict = suspect.verdict.clone();
                                    view! {
                                        <li class=if suspect.ruled_out { "suspect suspect--out" } else { "suspect" }
                                            data-ref=suspect.reference.clone() data-score=suspect.score.to_string()
                                            data-ruled-out=suspect.ruled_out.to_string()>
                                            <div class="suspect__head">
                                                <span class="suspect__score mono" aria-label=t("score")>{suspect.score}</span>
                                                <strong>{suspect.title.clone()}</strong>
                                                {match verdict.as_deref() {
                                                    Some("cause") => view! { <span class="badge badge--cause">{t("the cause")}</span> }.into_any(),
                                                    Some(_) => view! { <span class="badge">{t("not the cause")}</span> }.into_any(),
                                                    None => ().into_any(),
                                                }}
                                            </div>
                                            <ul class="plain small suspect__reasons">
                                                {suspect.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                                            </ul>
                                            <Show when=move || may_manage.get() && !suspect.ruled_out>
                                                <div class="button-row">
                                                    {["cause", "not_cause"].map(|value| {
                                                        let reference = reference.clone();
                                                        view! {
                                                            <button type="button" class="button button--small"
                                                                on:click=move |_| { judge.dispatch(JudgeSuspect { id, reference: reference.clone(), verdict: value.to_owned() }); }>
                                                                {if value == "cause" { t("Mark as the cause") } else { t("Not the cause") }}</button>
                                                        }
                                                    }).collect_view()}
                                                </div>
                                            </Show>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }.into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The suspects could not be loaded") error/> }.into_any(),
                    }
            }}
        </section>
    }
}

#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn PostmortemEditor(
    id: i64,
    may_manage: bool,
    postmortem: Result<Option<Postmortem>, AppError>,
) -> impl IntoView {
    crate::i18n::provide_locale();
    let may_manage = Signal::stored(may_manage);
    let changed = RwSignal::new(0u32);
    let current = crate::ui::refreshed(postmortem, changed, move || load_postmortem(id));
    let draft = ServerAction::<DraftPostmortem>::new();
    let save = ServerAction::<SavePostmortem>::new();
    let text = RwSignal::new(None::<String>);
    let previewing = RwSignal::new(true);
    Effect::new(move |_| {
        if let Some(Ok(_)) = draft.value().get() {
            text.set(None);
            changed.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            text.set(None);
            previewing.set(true);
            changed.update(|v| *v += 1);
        }
    });
    let failure = move || {
        draft
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| save.value().get().and_then(Result::err))
    };
    view! {
        <section class="card" aria-labelledby="postmortem-title" data-testid="postmortem">
            <div class="section-head">
                <h2 id="postmortem-title">{t("Post-mortem")}</h2>
                <Show when=move || may_manage.get()>
                    <button type="button" class="button" data-testid="draft-postmortem" prop:disabled=move || draft.pending().get()
                        on:click=move |_| { draft.dispatch(DraftPostmortem { id }); }>
                        {move || if draft.pending().get() { t("Drafting…") } else { t("Draft from the timeline") }}</button>
                </Show>
            </div>
            {move || failure().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            {move || {
                    match current.get() {
                        Ok(None) => view! { <p class="empty-inline muted">{t("No post-mortem yet: draft one from the timeline, then edit it.")}</p> }.into_any(),
                        Ok(Some(found)) => {
                            let original = found.body.clone();
                            view! {
                                <p class="muted small">
                                    {tf("version {version}, by {who}, {at}", &[
                                        ("version", &found.version.to_string()),
                                        ("who", found.updated_by.as_deref().unwrap_or("uHub")),
                                        ("at", &clock(found.updated_at)),
                                    ])} " · "
                                    <a class="link" href=format!("/api/v1/incidents/{id}/postmortem.md") download="">{t("Download the Markdown")}</a>
                                </p>
                                <div class="segmented" role="radiogroup" aria-label=t("Post-mortem view")>
                                    <label class="segmented__option">
                                        <input type="radio" name="postmortem-view" checked=move || previewing.get() prop:checked=move || previewing.get() on:change=move |_| previewing.set(true)/>
                                        <span>{t("Preview")}</span>
                                    </label>
                                    <Show when=move || may_manage.get()>
                                        <label class="segmented__option">
                                            <input type="radio" name="postmortem-view" checked=move || !previewing.get() prop:checked=move || !previewing.get() on:change=move |_| previewing.set(false)/>
                                            <span>{t("Edit")}</span>
                                        </label>
                                    </Show>
                                </div>
                                {move || if previewing.get() {
                                    let shown = text.get().unwrap_or_else(|| original.clone());
                                    view! { <crate::markdown::MarkdownPreview text=shown/> }.into_any()
                                } else {
                                    let start = original.clone();
                                    view! {
                                        <form class="form" on:submit=move |ev| {
                                            ev.prevent_default();
                                            save.dispatch(SavePostmortem { id, body: text.get_untracked().unwrap_or_else(|| start.clone()) });
                                        }>
                                            <label class="field">
                                                <span class="visually-hidden">{t("Post-mortem (Markdown)")}</span>
                                                <textarea class="input textarea mono" name="postmortem" rows="20" spellcheck="true"
                                                    prop:value={
                                                        let original = original.clone();
                                                        move || text.get().unwrap_or_else(|| original.clone())
                                                    }
                                                    on:input=move |ev| text.set(Some(event_target_value(&ev)))></textarea>
                                            </label>
                                            <button class="button button--primary" type="submit" prop:disabled=move || save.pending().get()>{t("Save a new version")}</button>
                                        </form>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => view! { <crate::ui::LoadError title=t("The post-mortem could not be loaded") error/> }.into_any(),
                    }
            }}
        </section>
    }
}
