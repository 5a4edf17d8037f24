//! The project sheet's backlog: tasks and milestones in the order the team gives them — create,
//! edit, move up or down, mark done, delete.

use chrono::NaiveDate;
use domain::policy::{Action, Object};
use domain::{BacklogItem, BacklogKind, BacklogStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::t;
use crate::labels;
use crate::session::Me;
use crate::ui::FieldError;
use crate::AppError;

/// A backlog item as the form fills it in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacklogDraft {
    pub kind: BacklogKind,
    pub title: String,
    pub description: String,
    pub status: BacklogStatus,
    pub due_date: Option<NaiveDate>,
    pub assignee_id: Option<i64>,
}

/// Creates an item (`id` none) or saves one (with the `version` it was read at).
#[server(prefix = "/sfn", endpoint = "backlog/save", input = leptos::server_fn::codec::Json)]
pub async fn save_backlog_item(
    project_id: i64,
    id: Option<i64>,
    version: Option<i64>,
    draft: BacklogDraft,
) -> Result<BacklogItem, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(match id {
        None => {
            let item = services::storage::NewBacklogItem {
                project_id,
                kind: draft.kind,
                title: draft.title,
                description: draft.description,
                status: draft.status,
                assignee_id: draft.assignee_id,
                due_date: draft.due_date,
            };
            services::backlog::create(&hub, &caller, item).await?
        }
        Some(id) => {
            let changes = services::storage::BacklogChanges {
                kind: Some(draft.kind),
                title: Some(draft.title),
                description: Some(draft.description),
                status: Some(draft.status),
                assignee_id: Some(draft.assignee_id),
                due_date: Some(draft.due_date),
            };
            services::backlog::update(&hub, &caller, id, version.unwrap_or_default(), changes)
                .await?
        }
    })
}

/// Marks an item with a status (the row's quick "done").
#[server(prefix = "/sfn", endpoint = "backlog/status")]
pub async fn set_backlog_status(
    id: i64,
    version: i64,
    status: BacklogStatus,
) -> Result<BacklogItem, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::BacklogChanges {
        status: Some(status),
        ..Default::default()
    };
    Ok(services::backlog::update(&hub, &caller, id, version, changes).await?)
}

#[server(prefix = "/sfn", endpoint = "backlog/move")]
pub async fn move_backlog_item(id: i64, up: bool) -> Result<BacklogItem, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::backlog::shift(&hub, &caller, id, up).await?)
}

#[server(prefix = "/sfn", endpoint = "backlog/delete")]
pub async fn delete_backlog_item(id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::backlog::delete(&hub, &caller, id).await?)
}

#[component]
pub fn BacklogTab(
    project_id: i64,
    owner_id: Option<i64>,
    items: Vec<BacklogItem>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_manage = move || me.allows(Action::ManageBacklog, &object);
    let mut items = items;
    items.sort_by_key(|item| (item.rank, item.id));
    let editing = RwSignal::new(None::<Option<BacklogItem>>);
    let error = RwSignal::new(None::<AppError>);
    let moved = ServerAction::<MoveBacklogItem>::new();
    let status = ServerAction::<SetBacklogStatus>::new();
    let delete = ServerAction::<DeleteBacklogItem>::new();
    Effect::new(move |_| {
        let outcome = moved
            .value()
            .get()
            .map(|r| r.map(|_| ()))
            .or_else(|| status.value().get().map(|r| r.map(|_| ())))
            .or_else(|| delete.value().get());
        match outcome {
            Some(Ok(())) => changed.update(|v| *v += 1),
            Some(Err(refused)) => error.set(Some(refused)),
            None => {}
        }
    });
    let count = items.len();
    view! {
        <div class="stack">
            <Show when=may_manage>
                <div class="toolbar">
                    <button type="button" class="button button--primary" data-testid="new-backlog-item"
                        on:click=move |_| editing.set(Some(None))>{t("New task or milestone")}</button>
                </div>
            </Show>
            {move || editing.get().map(|item| view! {
                <BacklogForm project_id item on_done=Callback::new(move |saved: bool| {
                    editing.set(None);
                    if saved { changed.update(|v| *v += 1); }
                })/>
            })}
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            {if items.is_empty() {
                view! { <p class="empty-inline muted">{t("The backlog is empty: no task, no milestone.")}</p> }.into_any()
            } else {
                view! {
                    <ol class="backlog" data-testid="backlog">
                        {items.into_iter().enumerate().map(|(index, item)| {
                            let id = item.id;
                            let version = item.version;
                            let done = item.status == BacklogStatus::Done;
                            let edited = item.clone();
                            view! {
                                <li class="backlog__item" class:backlog__item--done=done data-backlog-id=id>
                                    <span class=format!("badge badge--{}", item.kind)>{labels::backlog_kind(item.kind)}</span>
                                    <span class="backlog__title wrap">{item.title.clone()}</span>
                                    <span class="muted small">{labels::backlog_status(item.status)}</span>
                                    <span class="small mono muted">{item.due_date.map(|d| d.to_string()).unwrap_or_default()}</span>
                                    <Show when=may_manage>
                                        <span class="backlog__actions">
                                            <button type="button" class="button button--small button--icon" aria-label=t("Move up")
                                                prop:disabled=index == 0 on:click=move |_| { moved.dispatch(MoveBacklogItem { id, up: true }); }>"↑"</button>
                                            <button type="button" class="button button--small button--icon" aria-label=t("Move down")
                                                prop:disabled=index + 1 == count on:click=move |_| { moved.dispatch(MoveBacklogItem { id, up: false }); }>"↓"</button>
                                            {(!done).then(|| view! {
                                                <button type="button" class="button button--small" on:click=move |_| { status.dispatch(SetBacklogStatus { id, version, status: BacklogStatus::Done }); }>{t("Done")}</button>
                                            })}
                                            <button type="button" class="button button--small" on:click={
                                                let edited = edited.clone();
                                                move |_| editing.set(Some(Some(edited.clone())))
                                            }>{t("Edit")}</button>
                                            <button type="button" class="button button--small button--danger" on:click=move |_| { delete.dispatch(DeleteBacklogItem { id }); }>{t("Delete")}</button>
                                        </span>
                                    </Show>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn BacklogForm(
    project_id: i64,
    item: Option<BacklogItem>,
    on_done: Callback<bool>,
) -> impl IntoView {
    let target = item.as_ref().map(|i| (i.id, i.version));
    let kind = RwSignal::new(item.as_ref().map(|i| i.kind).unwrap_or(BacklogKind::Task));
    let title = RwSignal::new(item.as_ref().map(|i| i.title.clone()).unwrap_or_default());
    let description = RwSignal::new(
        item.as_ref()
            .map(|i| i.description.clone())
            .unwrap_or_default(),
    );
    let status = RwSignal::new(
        item.as_ref()
            .map(|i| i.status)
            .unwrap_or(BacklogStatus::Todo),
    );
    let due = RwSignal::new(
        item.as_ref()
            .and_then(|i| i.due_date)
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    let assignee = RwSignal::new(item.as_ref().and_then(|i| i.assignee_id));
    let people = LocalResource::new(crate::people::people);
    let error = RwSignal::new(None::<AppError>);
    let save = ServerAction::<SaveBacklogItem>::new();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => on_done.run(true),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let due_date = due.get_untracked();
        let due_date = if due_date.is_empty() {
            None
        } else {
            match NaiveDate::parse_from_str(&due_date, "%Y-%m-%d") {
                Ok(date) => Some(date),
                Err(_) => {
                    error.set(Some(AppError {
                        field: Some("due_date".into()),
                        ..AppError::new("invalid", t("Not a date."))
                    }));
                    return;
                }
            }
        };
        save.dispatch(SaveBacklogItem {
            project_id,
            id: target.map(|t| t.0),
            version: target.map(|t| t.1),
            draft: BacklogDraft {
                kind: kind.get_untracked(),
                title: title.get_untracked(),
                description: description.get_untracked(),
                status: status.get_untracked(),
                due_date,
                assignee_id: assignee.get_untracked(),
            },
        });
    };
    view! {
        <form class="card form form--panel" data-testid="backlog-form" on:submit=submit>
            <h2>{if target.is_some() { t("Edit the item") } else { t("New task or milestone") }}</h2>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Kind")}</span>
                    <select class="input" name="kind" on:change=move |ev| if let Ok(k) = event_target_value(&ev).parse() { kind.set(k) }>
                        {BacklogKind::ALL.iter().copied().map(|k| view! { <option value=k.as_str() selected=move || kind.get() == k>{labels::backlog_kind(k)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field field--grow">
                    <span class="small muted">{t("Title")}</span>
                    <input class="input" name="backlog-title" required maxlength="200" autocomplete="off"
                        value=move || title.get() prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                    <FieldError error field="title"/>
                </label>
            </div>
            <label class="field">
                <span class="small muted">{t("Description")}</span>
                <textarea class="input textarea" name="backlog-description" rows="2"
                    prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                <FieldError error field="description"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Status")}</span>
                    <select class="input" name="backlog-status" on:change=move |ev| if let Ok(s) = event_target_value(&ev).parse() { status.set(s) }>
                        {BacklogStatus::ALL.iter().copied().map(|s| view! { <option value=s.as_str() selected=move || status.get() == s>{labels::backlog_status(s)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="small muted">{t("Due")}</span>
                    <input class="input" type="date" name="due_date" value=move || due.get() prop:value=move || due.get() on:input=move |ev| due.set(event_target_value(&ev))/>
                    <FieldError error field="due_date"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Assignee")}</span>
                    <select class="input" name="assignee" on:change=move |ev| assignee.set(event_target_value(&ev).parse().ok())>
                        <option value="" selected=move || assignee.get().is_none()>{t("Nobody")}</option>
                        {move || people.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|p| {
                            let id = p.id;
                            view! { <option value=id.to_string() selected=move || assignee.get() == Some(id)>{p.display_name}</option> }
                        }).collect_view()}
                    </select>
                    <FieldError error field="assignee_id"/>
                </label>
            </div>
            {move || error.get().filter(|e| !matches!(e.field.as_deref(), Some("title" | "description" | "due_date" | "assignee_id"))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_done.run(false)>{t("Cancel")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || save.pending().get()>{t("Save")}</button>
            </div>
        </form>
    }
}
