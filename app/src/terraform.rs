//! Terraform in the pages: the plan page (summary bar with counts, resources grouped by module
//! with action badges and ⚠ on risky ones, each attribute before/after with sensitive and
//! unknown values shown as such, drift, outputs), the project sheet's Terraform tab (plans by
//! environment, locked workspaces) and the run page's panel (the run's plan, the approvals an
//! apply has and needs).

use std::collections::BTreeMap;

use domain::terraform::{
    PlanAnalysis, ResourceChange, RunTerraform, Summary, TerraformPlan, WorkspaceLock,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::i18n::{t, tf};
use crate::ui::PageTitle;
use crate::AppError;

/// A project's plans and locked workspaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanListing {
    pub plans: Vec<TerraformPlan>,
    pub locks: Vec<WorkspaceLock>,
}

#[server(prefix = "/sfn", endpoint = "terraform/plans")]
pub async fn project_plans(project_id: i64) -> Result<PlanListing, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let (plans, locks) = services::terraform::stored::list(&hub, &caller, project_id).await?;
    Ok(PlanListing { plans, locks })
}

#[server(prefix = "/sfn", endpoint = "terraform/plan")]
pub async fn load_plan(project_id: i64, plan_id: i64) -> Result<TerraformPlan, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::terraform::stored::get(&hub, &caller, project_id, plan_id).await?)
}

/// `None` for a run that is not a Terraform run.
#[server(prefix = "/sfn", endpoint = "runs/terraform")]
pub async fn terraform_of_run(run_id: i64) -> Result<Option<RunTerraform>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    match services::runs::terraform(&hub, &caller, run_id).await {
        Ok(found) => Ok(Some(found)),
        // Not a Terraform run, or no run: the run page says which from its own read.
        Err(services::ServiceError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The counts of a plan, each action in its colour; `data-count` carries the number.
#[component]
pub fn PlanSummaryBar(summary: Summary) -> impl IntoView {
    let (add, change, destroy) = summary.terraform_line();
    let parts = [
        ("create", summary.create, t("to create")),
        ("update", summary.update, t("to update")),
        ("replace", summary.replace, t("to replace")),
        ("delete", summary.delete, t("to delete")),
        ("read", summary.read, t("to read")),
        ("no_op", summary.no_op, t("unchanged")),
    ];
    view! {
        <div class="plan-summary" data-testid="plan-summary" role="group" aria-label=t("Plan summary")>
            {parts.into_iter().map(|(action, count, label)| view! {
                <span class=format!("plan-count plan-count--{action}") class:plan-count--zero=count == 0
                    data-action=action data-count=count.to_string()>
                    <strong class="mono">{count}</strong> " " {label}
                </span>
            }).collect_view()}
            <span class="muted small plan-summary__line">
                {tf("Terraform: {add} to add, {change} to change, {destroy} to destroy", &[
                    ("add", &add.to_string()), ("change", &change.to_string()), ("destroy", &destroy.to_string()),
                ])}
            </span>
        </div>
    }
}

/// The badge of a resource's actions, as the summary counts it (`no-op` for a list Terraform
/// never writes: the server refuses such plans).
fn action_of(actions: &[String]) -> &'static str {
    domain::terraform::ChangeKind::of(actions)
        .map_or("no-op", domain::terraform::ChangeKind::as_str)
}

fn action_label(action: &str) -> &'static str {
    match action {
        "replace" => t("replace"),
        "create" => t("create"),
        "delete" => t("delete"),
        "update" => t("update"),
        "read" => t("read"),
        "forget" => t("forget"),
        _ => t("no change"),
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `/projects/:id/terraform-plans/:plan`.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn PlanPage() -> impl IntoView {
    let project_id = crate::ui::route_id("id");
    let plan_id = crate::ui::route_id("plan");
    let plan = crate::ui::page_object(move || load_plan(project_id.get(), plan_id.get()));
    view! {
        <PageTitle text=t("Terraform plan")/>
        <Suspense fallback=|| view! { <crate::ui::SkeletonCards count=2/> }>
            {move || Suspend::new(async move {
                match plan.await {
                    Ok(plan) => view! { <Plan plan/> }.into_any(),
                    Err(error) => view! { <crate::ui::LoadError title=t("The plan could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A plan's resources by module (unchanged ones shown on demand, each one's changes on demand),
/// its drift and outputs.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn Plan(plan: TerraformPlan) -> impl IntoView {
    crate::i18n::provide_locale();
    let analysis = plan.analysis.clone().unwrap_or_else(|| PlanAnalysis {
        format_version: String::new(),
        terraform_version: None,
        plan_sha256: plan.plan_sha256.clone(),
        summary: plan.summary.clone(),
        resources: Vec::new(),
        drift: Vec::new(),
        outputs: Vec::new(),
        errored: false,
    });
    // Resources by module, the root module first; unchanged ones last within each.
    let mut modules: BTreeMap<String, Vec<ResourceChange>> = BTreeMap::new();
    for resource in analysis.resources.iter().cloned() {
        modules
            .entry(resource.module.clone().unwrap_or_default())
            .or_default()
            .push(resource);
    }
    for list in modules.values_mut() {
        list.sort_by_key(|r| action_of(&r.actions) == "no-op");
    }
    let changing = analysis
        .resources
        .iter()
        .filter(|r| action_of(&r.actions) != "no-op")
        .count();
    let show_unchanged = RwSignal::new(false);
    let project_href = format!("/projects/{}/terraform", plan.project_id);
    view! {
        <div class="page-header">
            <div>
                <p class="muted small"><a href=project_href class="link">{t("Terraform plans")}</a> " / "</p>
                <h1 data-testid="plan-name">{plan.name.clone()}
                    {plan.environment.clone().map(|e| view! { " " <span class="chip">{e}</span> })}
                    {plan.superseded.then(|| view! { " " <span class="badge badge--archived" data-testid="plan-superseded">{t("superseded")}</span> })}
                </h1>
                <p class="muted small mono">
                    {tf("plan sha256 {sha}", &[("sha", &plan.plan_sha256)])}
                    {analysis.terraform_version.clone().map(|v| format!(" · Terraform {v}"))}
                    {plan.commit_sha.clone().map(|c| format!(" · {}", c.chars().take(12).collect::<String>()))}
                </p>
                {plan.run_id.map(|run| view! {
                    <p class="small"><a href=format!("/runs/{run}") class="link">{tf("Made by run #{id}", &[("id", &run.to_string())])}</a></p>
                })}
            </div>
        </div>
        <PlanSummaryBar summary=analysis.summary.clone()/>
        {analysis.errored.then(|| view! {
            <p class="notice notice--error" role="alert">{t("Terraform stopped with errors while planning: this plan is incomplete.")}</p>
        })}
        <section class="card stack plan-section" data-testid="plan-resources">
            <div class="plan-resources__head">
                <h2>{tf("{n} resources change", &[("n", &changing.to_string())])}</h2>
                <label class="field field--check">
                    <input type="checkbox" checked=move || show_unchanged.get() prop:checked=move || show_unchanged.get()
                        on:change=move |ev| show_unchanged.set(event_target_checked(&ev))/>
                    <span>{t("Show unchanged resources")}</span>
                </label>
            </div>
            {(analysis.resources.is_empty()).then(|| view! { <p class="empty-inline muted">{t("No resource in this plan.")}</p> })}
            {modules.into_iter().map(|(module, resources)| view! {
                <div class="plan-module" data-module=module.clone()>
                    <h3 class="small muted mono">{if module.is_empty() { t("root module").to_owned() } else { module.clone() }}</h3>
                    <ul class="plain stack">
                        {resources.into_iter().map(|resource| view! { <ResourceRow resource show_unchanged/> }).collect_view()}
                    </ul>
                </div>
            }).collect_view()}
        </section>
        {(!analysis.drift.is_empty()).then(|| view! {
            <section class="card plan-section" data-testid="plan-drift">
                <h2>{t("Drift: changed outside Terraform")}</h2>
                <ul class="plain stack">
                    {analysis.drift.iter().map(|d| {
                        let action = action_of(&d.actions);
                        view! { <li><span class=format!("plan-badge plan-badge--{action}")>{action_label(action)}</span> " " <code class="mono">{d.address.clone()}</code></li> }
                    }).collect_view()}
                </ul>
            </section>
        })}
        {(!analysis.outputs.is_empty()).then(|| view! {
            <section class="card plan-section" data-testid="plan-outputs">
                <h2>{t("Outputs")}</h2>
                <ul class="plain stack">
                    {analysis.outputs.iter().map(|o| {
                        let action = action_of(&o.actions);
                        view! { <li data-output=o.name.clone()>
                            <span class=format!("plan-badge plan-badge--{action}")>{action_label(action)}</span> " "
                            <code class="mono">{o.name.clone()}</code>
                            {o.sensitive.then(|| view! { " " <span class="chip">{t("sensitive")}</span> })}
                        </li> }
                    }).collect_view()}
                </ul>
            </section>
        })}
    }
}

#[component]
fn ResourceRow(resource: ResourceChange, show_unchanged: RwSignal<bool>) -> impl IntoView {
    let action = action_of(&resource.actions);
    let unchanged = action == "no-op" || action == "read";
    let risky = !resource.risk.is_empty();
    let risks = resource.risk.join(", ");
    let open = RwSignal::new(false);
    let changes = resource.changes.clone();
    let has_changes = !changes.is_empty();
    view! {
        <li class="plan-resource" data-address=resource.address.clone() data-action=action
            style:display=move || if unchanged && !show_unchanged.get() { "none" } else { "" }>
            <div class="plan-resource__head">
                <span class=format!("plan-badge plan-badge--{action}")>{action_label(action)}</span>
                {risky.then(|| view! {
                    <span class="plan-risk" data-risky=risks.clone() title=tf("Risk: {risks}", &[("risks", &risks)])
                        aria-label=tf("Risk: {risks}", &[("risks", &risks)])>"⚠"</span>
                })}
                <code class="mono">{resource.address.clone()}</code>
                {resource.action_reason.clone().map(|r| view! { <span class="muted small">{r.replace('_', " ")}</span> })}
                {has_changes.then(|| view! {
                    <button type="button" class="button button--ghost button--small"
                        aria-expanded=move || open.get().to_string()
                        on:click=move |_| open.update(|o| *o = !*o)>
                        {move || if open.get() { t("Hide changes") } else { t("Show changes") }}
                    </button>
                })}
            </div>
            <Show when=move || open.get()>
                <div class="table-scroll">
                    <table class="table">
                        <thead><tr>
                            <th scope="col">{t("Attribute")}</th>
                            <th scope="col">{t("Before")}</th>
                            <th scope="col">{t("After")}</th>
                        </tr></thead>
                        <tbody>
                            {changes.clone().into_iter().map(|change| view! {
                                <tr data-path=change.path.clone()>
                                    <td class="mono">{change.path.clone()}
                                        {change.sensitive.then(|| view! { " " <span class="chip">{t("sensitive")}</span> })}</td>
                                    <td class="mono plan-value" class:plan-value--hidden=change.sensitive>{value_text(&change.before)}</td>
                                    <td class="mono plan-value" class:plan-value--hidden=change.sensitive class:plan-value--unknown=change.unknown>{value_text(&change.after)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                {resource.changes_truncated.then(|| view! { <p class="muted small">{t("More attributes change than are listed here.")}</p> })}
            </Show>
        </li>
    }
}

/// The project sheet's Terraform tab: plans by environment (newest first) and locked workspaces.
#[component]
pub fn TerraformTab(project_id: i64, listing: Result<PlanListing, AppError>) -> impl IntoView {
    view! {
        <div class="stack" data-testid="terraform-tab">
            <p class="muted small">{t("Plans come from plan runs of Terraform jobs, or are uploaded through the API. An apply applies a plan run's saved plan once approved; a newer plan of the workspace supersedes it.")}</p>
            {match listing {
                        Ok(listing) => plans_view(project_id, listing).into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The plans could not be loaded") error/> }.into_any(),
                    }}
        </div>
    }
}

fn plans_view(project_id: i64, listing: PlanListing) -> impl IntoView {
    let mut by_environment: BTreeMap<String, Vec<TerraformPlan>> = BTreeMap::new();
    for plan in listing.plans {
        by_environment
            .entry(plan.environment.clone().unwrap_or_default())
            .or_default()
            .push(plan);
    }
    view! {
        {(!listing.locks.is_empty()).then(|| view! {
            <section class="card" data-testid="terraform-locks">
                <h2>{t("Locked workspaces")}</h2>
                <ul class="plain stack">
                    {listing.locks.into_iter().map(|lock| view! {
                        <li data-workspace=lock.workspace.clone()><span class="chip chip--prod">{t("locked")}</span> " " <code class="mono">{lock.workspace.clone()}</code> " "
                            <a href=format!("/runs/{}", lock.run_id) class="link">{tf("held by run #{id}", &[("id", &lock.run_id.to_string())])}</a></li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        {by_environment.is_empty().then(|| view! { <p class="empty-inline muted">{t("No plan yet.")}</p> })}
        {by_environment.into_iter().map(|(environment, plans)| view! {
            <section class="card">
                <h2>{if environment.is_empty() { t("No environment").to_owned() } else { environment.clone() }}</h2>
                <div class="table-scroll">
                    <table class="table" data-testid="terraform-plans">
                        <thead><tr>
                            <th scope="col">{t("Workspace")}</th>
                            <th scope="col">{t("Changes")}</th>
                            <th scope="col">{t("Risky")}</th>
                            <th scope="col">{t("Run")}</th>
                            <th scope="col">{t("When")}</th>
                        </tr></thead>
                        <tbody>
                            {plans.into_iter().map(|plan| {
                                let (add, change, destroy) = plan.summary.terraform_line();
                                view! {
                                    <tr data-plan=plan.id.to_string()>
                                        <td><a href=format!("/projects/{project_id}/terraform-plans/{}", plan.id) class="link">{plan.name.clone()}</a>
                                            {plan.superseded.then(|| view! { " " <span class="muted small">{t("superseded")}</span> })}</td>
                                        <td class="mono small">{format!("+{add} ~{change} −{destroy}")}</td>
                                        <td>{if plan.risky == 0 { view! { <span class="muted">"—"</span> }.into_any() } else {
                                            view! { <span class="plan-risk">"⚠ " {plan.risky}</span> }.into_any() }}</td>
                                        <td>{plan.run_id.map(|run| view! { <a href=format!("/runs/{run}") class="link">{format!("#{run}")}</a> })}</td>
                                        <td class="small muted">{plan.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
        }).collect_view()}
    }
}

/// The run page's Terraform part: the run's plan (a link, its summary, its risky resources)
/// and, for an apply, its approvals.
#[component]
pub fn TerraformPanel(view: RunTerraform, project_id: i64) -> impl IntoView {
    let needed = view.approvals_needed;
    let approvals = view.approvals.clone();
    let is_apply = view.operation == domain::terraform::TerraformOperation::Apply;
    match view.plan {
        None => view! {
            <section class="card" data-testid="terraform-panel">
                <p class="muted">{t("The plan shows here once the plan run has stored it.")}</p>
            </section>
        }
        .into_any(),
        Some(plan) => {
            let risky: Vec<String> = plan
                .analysis
                .as_ref()
                .map(|a| {
                    a.resources
                        .iter()
                        .filter(|r| !r.risk.is_empty())
                        .map(|r| format!("{} ({})", r.address, r.risk.join(", ")))
                        .collect()
                })
                .unwrap_or_default();
            view! {
                <section class="card plan-panel" data-testid="terraform-panel">
                    <h2>
                        {if is_apply { t("The plan this apply applies") } else { t("The plan of this run") }} " "
                        <a href=format!("/projects/{project_id}/terraform-plans/{}", plan.id) class="link" data-testid="run-plan-link">
                            {tf("plan #{id}", &[("id", &plan.id.to_string())])}
                        </a>
                    </h2>
                    <PlanSummaryBar summary=plan.summary.clone()/>
                    {plan.superseded.then(|| view! {
                        <p class="notice notice--error" role="alert">{t("A newer plan exists for this workspace: this plan may no longer be applied.")}</p>
                    })}
                    {(!risky.is_empty()).then(|| view! {
                        <ul class="plain small">
                            {risky.into_iter().map(|r| view! { <li><span class="plan-risk">"⚠"</span> " " <code class="mono">{r}</code></li> }).collect_view()}
                        </ul>
                    })}
                    {is_apply.then(|| view! {
                        <p class="small" data-testid="approvals">
                            {tf("{n} of {needed} approvals", &[("n", &approvals.len().to_string()), ("needed", &needed.to_string())])}
                            {approvals.iter().map(|a| format!(" · {}", a.username.clone().unwrap_or_default())).collect::<String>()}
                            {(needed > 1).then(|| view! { " " <span class="muted">{t("(it destroys or replaces: two approvers)")}</span> })}
                        </p>
                        <p class="muted small mono">{tf("Approving approves plan sha256 {sha}", &[("sha", &plan.plan_sha256)])}</p>
                    })}
                </section>
            }
            .into_any()
        }
    }
}

/// On an apply job's page: the plan run whose plan the launch applies — the workspace's plans
/// made by runs in the job's environment, the newest first (superseded ones cannot be applied).
#[component]
pub fn PlanToApply(
    project_id: i64,
    workspace: String,
    environment: Option<String>,
    chosen: RwSignal<Option<i64>>,
) -> impl IntoView {
    let listing = crate::ui::load_in_browser(move || project_plans(project_id));
    let workspace = StoredValue::new(workspace);
    let candidates = Memo::new(move |_| {
        listing.get().and_then(Result::ok).map(|listing| {
            listing
                .plans
                .into_iter()
                .filter(|p| {
                    workspace.with_value(|w| &p.name == w)
                        && p.environment == environment
                        && p.run_id.is_some()
                        && !p.superseded
                })
                .collect::<Vec<_>>()
        })
    });
    Effect::new(move |_| {
        if let Some(list) = candidates.get() {
            if chosen.get_untracked().is_none() {
                chosen.set(list.first().and_then(|p| p.run_id));
            }
        }
    });
    view! {
        {move || match candidates.get() {
            None => view! { <p class="muted small">{t("Loading the plans…")}</p> }.into_any(),
            Some(list) if list.is_empty() => view! {
                <p class="muted small" data-testid="no-plan-to-apply">{tf("No plan of workspace {workspace} to apply: launch a plan job of this workspace first.", &[("workspace", &workspace.get_value())])}</p>
            }.into_any(),
            Some(list) => view! {
                <label class="field">
                    <span class="small muted">{t("Plan to apply")}</span>
                    <select class="input" name="plan-run" data-testid="plan-to-apply"
                        on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                        {list.into_iter().map(|plan| {
                            let run = plan.run_id.unwrap_or_default();
                            let (add, change, destroy) = plan.summary.terraform_line();
                            let label = tf("plan #{id} of run #{run}: +{add} ~{change} −{destroy}{risky}", &[
                                ("id", &plan.id.to_string()), ("run", &run.to_string()),
                                ("add", &add.to_string()), ("change", &change.to_string()), ("destroy", &destroy.to_string()),
                                ("risky", &if plan.risky > 0 { format!(" ⚠ {}", plan.risky) } else { String::new() }),
                            ]);
                            view! { <option value=run.to_string() selected=move || chosen.get() == Some(run)>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }.into_any(),
        }}
    }
}
