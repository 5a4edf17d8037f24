//! The project sheet's links: Git repositories, Ansible inventories, Terraform plans and
//! Kubernetes clusters — add, edit, remove. URLs with credentials in them are refused.

use domain::policy::{Action, Object};
use domain::{GitProvider, LinkKind, ProjectLink};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::t;
use crate::labels;
use crate::session::Me;
use crate::ui::FieldError;
use crate::AppError;

/// A link as the form fills it in (empty texts are "none").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkDraft {
    pub kind: LinkKind,
    pub name: String,
    pub location: String,
    pub environment: String,
    pub provider: Option<GitProvider>,
    pub default_branch: String,
    pub namespace: String,
    /// Git repositories: the project secret that signs their webhooks.
    #[serde(default)]
    pub webhook_secret_name: String,
    /// Git repositories: the project secret holding their API / HTTPS token.
    #[serde(default)]
    pub token_secret: String,
    /// GitHub and GitLab repositories: report runs as commit statuses.
    #[serde(default)]
    pub report_status: bool,
}

#[cfg(feature = "ssr")]
fn some(text: String) -> Option<String> {
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[server(prefix = "/sfn", endpoint = "links/save", input = leptos::server_fn::codec::Json)]
pub async fn save_link(
    project_id: i64,
    id: Option<i64>,
    version: Option<i64>,
    draft: LinkDraft,
) -> Result<ProjectLink, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(match id {
        None => {
            let link = services::storage::NewLink {
                project_id,
                kind: draft.kind,
                name: draft.name,
                environment: some(draft.environment),
                location: draft.location,
                provider: draft.provider,
                default_branch: some(draft.default_branch),
                namespace: some(draft.namespace),
                webhook_secret_name: some(draft.webhook_secret_name),
                token_secret: some(draft.token_secret),
                report_status: draft.report_status,
            };
            services::links::create(&hub, &caller, link).await?
        }
        Some(id) => {
            let changes = services::storage::LinkChanges {
                name: Some(draft.name),
                environment: Some(some(draft.environment)),
                location: Some(draft.location),
                provider: Some(draft.provider),
                default_branch: Some(some(draft.default_branch)),
                namespace: Some(some(draft.namespace)),
                webhook_secret_name: Some(some(draft.webhook_secret_name)),
                token_secret: Some(some(draft.token_secret)),
                report_status: Some(draft.report_status),
            };
            services::links::update(&hub, &caller, id, version.unwrap_or_default(), changes).await?
        }
    })
}

#[server(prefix = "/sfn", endpoint = "links/delete")]
pub async fn delete_link(id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::links::delete(&hub, &caller, id).await?)
}

#[component]
pub fn LinksTab(
    project_id: i64,
    owner_id: Option<i64>,
    links: Vec<ProjectLink>,
    environments: Vec<String>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_manage = move || me.allows(Action::UpdateProject, &object);
    let editing = RwSignal::new(None::<Option<ProjectLink>>);
    let delete = ServerAction::<DeleteLink>::new();
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => changed.update(|v| *v += 1),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let environments = StoredValue::new(environments);
    let groups: Vec<(LinkKind, Vec<ProjectLink>)> = LinkKind::ALL
        .iter()
        .map(|kind| {
            (
                *kind,
                links.iter().filter(|l| l.kind == *kind).cloned().collect(),
            )
        })
        .collect();
    view! {
        <div class="stack">
            <Show when=may_manage>
                <div class="toolbar">
                    <button type="button" class="button button--primary" data-testid="new-link"
                        on:click=move |_| editing.set(Some(None))>{t("Add a link")}</button>
                </div>
            </Show>
            {move || editing.get().map(|link| view! {
                <LinkForm project_id link environments=environments.get_value() on_done=Callback::new(move |saved: bool| {
                    editing.set(None);
                    if saved { changed.update(|v| *v += 1); }
                })/>
            })}
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <div class="link-groups">
                {groups.into_iter().map(|(kind, links)| view! {
                    <section class="card" aria-label=labels::link_kind(kind)>
                        <h2>{labels::link_kind(kind)}</h2>
                        {if links.is_empty() {
                            view! { <p class="muted small">{t("None linked yet.")}</p> }.into_any()
                        } else {
                            view! {
                                <ul class="lines">
                                    {links.into_iter().map(|link| {
                                        let id = link.id;
                                        let edited = link.clone();
                                        view! {
                                            <li class="line">
                                                <span class="line__title">{link.name.clone()}</span>
                                                <span class="muted small mono wrap">{link.location.clone()}</span>
                                                {link.environment.clone().map(|env| view! { <span class="chip">{env}</span> })}
                                                {(link.kind == LinkKind::GitRepo).then(|| view! {
                                                    <super::deliveries::Deliveries link_id=id signed=link.webhook_secret_name.is_some() owner_id/>
                                                })}
                                                <Show when=may_manage>
                                                    <span class="line__actions">
                                                        <button type="button" class="button button--small" on:click={
                                                            let edited = edited.clone();
                                                            move |_| editing.set(Some(Some(edited.clone())))
                                                        }>{t("Edit")}</button>
                                                        <button type="button" class="button button--small button--danger"
                                                            on:click=move |_| { delete.dispatch(DeleteLink { id }); }>{t("Remove")}</button>
                                                    </span>
                                                </Show>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn LinkForm(
    project_id: i64,
    link: Option<ProjectLink>,
    environments: Vec<String>,
    on_done: Callback<bool>,
) -> impl IntoView {
    let target = link.as_ref().map(|l| (l.id, l.version));
    let kind = RwSignal::new(link.as_ref().map(|l| l.kind).unwrap_or(LinkKind::GitRepo));
    let name = RwSignal::new(link.as_ref().map(|l| l.name.clone()).unwrap_or_default());
    let location = RwSignal::new(
        link.as_ref()
            .map(|l| l.location.clone())
            .unwrap_or_default(),
    );
    let environment = RwSignal::new(
        link.as_ref()
            .and_then(|l| l.environment.clone())
            .unwrap_or_default(),
    );
    let provider = RwSignal::new(link.as_ref().and_then(|l| l.provider));
    let branch = RwSignal::new(
        link.as_ref()
            .and_then(|l| l.default_branch.clone())
            .unwrap_or_default(),
    );
    let namespace = RwSignal::new(
        link.as_ref()
            .and_then(|l| l.namespace.clone())
            .unwrap_or_default(),
    );
    let webhook_secret = RwSignal::new(
        link.as_ref()
            .and_then(|l| l.webhook_secret_name.clone())
            .unwrap_or_default(),
    );
    let token_secret = RwSignal::new(
        link.as_ref()
            .and_then(|l| l.token_secret.clone())
            .unwrap_or_default(),
    );
    let report_status = RwSignal::new(link.as_ref().is_some_and(|l| l.report_status));
    let error = RwSignal::new(None::<AppError>);
    let save = ServerAction::<SaveLink>::new();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => on_done.run(true),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveLink {
            project_id,
            id: target.map(|t| t.0),
            version: target.map(|t| t.1),
            draft: LinkDraft {
                kind: kind.get_untracked(),
                name: name.get_untracked(),
                location: location.get_untracked(),
                environment: environment.get_untracked(),
                provider: provider.get_untracked(),
                default_branch: branch.get_untracked(),
                namespace: namespace.get_untracked(),
                webhook_secret_name: webhook_secret.get_untracked(),
                token_secret: token_secret.get_untracked(),
                report_status: report_status.get_untracked(),
            },
        });
    };
    let is_new = target.is_none();
    view! {
        <form class="card form form--panel" data-testid="link-form" on:submit=submit>
            <h2>{if is_new { t("Add a link") } else { t("Edit the link") }}</h2>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Kind")}</span>
                    <select class="input" name="link-kind" prop:disabled=!is_new
                        on:change=move |ev| if let Ok(k) = event_target_value(&ev).parse() { kind.set(k) }>
                        {LinkKind::ALL.iter().copied().map(|k| view! { <option value=k.as_str() selected=move || kind.get() == k>{labels::link_kind(k)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field field--grow">
                    <span class="small muted">{t("Name")}</span>
                    <input class="input" name="link-name" required maxlength="120" autocomplete="off"
                        value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <FieldError error field="name"/>
                </label>
            </div>
            <label class="field">
                <span class="small muted">{t("Location (URL or path; no credentials)")}</span>
                <input class="input mono" name="location" required autocomplete="off"
                    value=move || location.get() prop:value=move || location.get() on:input=move |ev| location.set(event_target_value(&ev))/>
                <FieldError error field="location"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Environment")}</span>
                    <select class="input" name="link-environment" on:change=move |ev| environment.set(event_target_value(&ev))>
                        <option value="" selected=move || environment.get().is_empty()>{t("All")}</option>
                        {environments.into_iter().map(|env| {
                            let value = env.clone();
                            let label = env.clone();
                            view! { <option value=env selected=move || environment.get() == value>{label}</option> }
                        }).collect_view()}
                    </select>
                    <FieldError error field="environment"/>
                </label>
                <Show when=move || kind.get() == LinkKind::GitRepo>
                    <label class="field">
                        <span class="small muted">{t("Provider")}</span>
                        <select class="input" name="provider" on:change=move |ev| provider.set(event_target_value(&ev).parse().ok())>
                            <option value="" selected=move || provider.get().is_none()>{t("Other")}</option>
                            {GitProvider::ALL.iter().copied().map(|p| view! { <option value=p.as_str() selected=move || provider.get() == Some(p)>{p.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Default branch")}</span>
                        <input class="input mono" name="default_branch" autocomplete="off" placeholder="main"
                            value=move || branch.get() prop:value=move || branch.get() on:input=move |ev| branch.set(event_target_value(&ev))/>
                        <FieldError error field="default_branch"/>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Secret signing its webhooks (a project secret's name)")}</span>
                        <input class="input mono" name="webhook_secret_name" autocomplete="off" placeholder="REPO_WEBHOOK_SECRET"
                            value=move || webhook_secret.get() prop:value=move || webhook_secret.get() on:input=move |ev| webhook_secret.set(event_target_value(&ev))/>
                        <FieldError error field="webhook_secret_name"/>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Secret holding its API / HTTPS token (a project secret's name)")}</span>
                        <input class="input mono" name="token_secret" autocomplete="off" placeholder="REPO_TOKEN"
                            value=move || token_secret.get() prop:value=move || token_secret.get() on:input=move |ev| token_secret.set(event_target_value(&ev))/>
                        <FieldError error field="token_secret"/>
                    </label>
                    <label class="field field--check">
                        <input type="checkbox" name="report_status" checked=move || report_status.get() prop:checked=move || report_status.get()
                            on:change=move |ev| report_status.set(event_target_checked(&ev))/>
                        <span class="small">{t("Report runs as commit statuses (GitHub, GitLab)")}</span>
                        <FieldError error field="report_status"/>
                    </label>
                </Show>
                <Show when=move || kind.get() == LinkKind::K8sCluster>
                    <label class="field">
                        <span class="small muted">{t("Namespace")}</span>
                        <input class="input mono" name="namespace" autocomplete="off"
                            value=move || namespace.get() prop:value=move || namespace.get() on:input=move |ev| namespace.set(event_target_value(&ev))/>
                        <FieldError error field="namespace"/>
                    </label>
                </Show>
            </div>
            {move || error.get().filter(|e| !matches!(e.field.as_deref(), Some("name" | "location" | "environment" | "default_branch" | "namespace" | "webhook_secret_name" | "token_secret" | "report_status"))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_done.run(false)>{t("Cancel")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || save.pending().get()>{t("Save")}</button>
            </div>
        </form>
    }
}
