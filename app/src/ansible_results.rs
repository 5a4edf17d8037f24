//! The run page's Ansible part: the recap (hosts × ok / changed / failed / unreachable …), each
//! task's result and diff, filterable by host; for an apply that follows a check, what the
//! check predicted next to what happened (and, while it awaits approval, the prediction alone).

use domain::ansible::{AnsibleResults, HostRecap};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// A playbook run's results, and those of the check run it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnsibleView {
    pub results: AnsibleResults,
    pub predicted: Option<AnsibleResults>,
}

/// `None` for a run that is not an Ansible run.
#[server(prefix = "/sfn", endpoint = "runs/ansible")]
pub async fn run_ansible(run_id: i64) -> Result<Option<AnsibleView>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let results = match services::runs::ansible_results(&hub, &caller, run_id).await {
        Ok(results) => results,
        Err(services::ServiceError::NotFound { .. }) => {
            // Not an Ansible run, or no run: the run page says which from its own read.
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    let predicted = match results.after_check {
        Some(check) => Some(services::runs::ansible_results(&hub, &caller, check).await?),
        None => None,
    };
    Ok(Some(AnsibleView { results, predicted }))
}

const COLUMNS: [&str; 7] = [
    "ok",
    "changed",
    "failed",
    "unreachable",
    "skipped",
    "rescued",
    "ignored",
];

fn count(recap: &HostRecap, column: &str) -> u32 {
    match column {
        "ok" => recap.ok,
        "changed" => recap.changed,
        "failed" => recap.failed,
        "unreachable" => recap.unreachable,
        "skipped" => recap.skipped,
        "rescued" => recap.rescued,
        _ => recap.ignored,
    }
}

fn column_label(column: &str) -> &'static str {
    match column {
        "ok" => t("ok"),
        "changed" => t("changed"),
        "failed" => t("failed"),
        "unreachable" => t("unreachable"),
        "skipped" => t("skipped"),
        "rescued" => t("rescued"),
        _ => t("ignored"),
    }
}

/// The Ansible section of a run page. `ended` tells a run without results yet (running) from
/// one whose playbook never reported (failed before Ansible started).
#[component]
pub fn AnsiblePanel(view: AnsibleView, ended: bool, awaiting_approval: bool) -> impl IntoView {
    let AnsibleView { results, predicted } = view;
    let has_results = !results.hosts.is_empty() || !results.plays.is_empty();
    let check = results.check;
    let after_check = results.after_check;
    let comparison = predicted.clone().filter(|_| has_results);
    view! {
        <section class="card ansible" aria-labelledby="ansible-title" data-testid="ansible-results">
            <div class="ansible__head">
                <h2 id="ansible-title">{t("Ansible")}</h2>
                {check.then(|| view! { <span class="chip" data-testid="check-mode">{t("check mode: nothing was changed")}</span> })}
                {after_check.map(|id| view! {
                    <a class="link small" href=format!("/runs/{id}")>{tf("follows check run #{id}", &[("id", &id.to_string())])}</a>
                })}
            </div>
            {match (has_results, ended) {
                (true, _) => results_view(results, comparison).into_any(),
                (false, false) => view! { <p class="muted">{t("The recap appears when the playbook ends.")}</p> }.into_any(),
                (false, true) => view! { <p class="muted">{t("The playbook reported no result (it did not start, or stopped before its first task): see the log.")}</p> }.into_any(),
            }}
            {(awaiting_approval || !has_results).then(|| predicted.filter(|p| !p.hosts.is_empty()).map(|predicted| view! {
                <div class="stack" data-testid="ansible-predicted">
                    <h3>{tf("What check run #{id} predicted", &[("id", &after_check.unwrap_or_default().to_string())])}</h3>
                    {results_view(predicted, None)}
                </div>
            })).flatten()}
        </section>
    }
}

fn results_view(results: AnsibleResults, predicted: Option<AnsibleResults>) -> impl IntoView {
    let hosts: Vec<String> = results.hosts.keys().cloned().collect();
    let host_filter = RwSignal::new(String::new());
    let predicted_changes = predicted.map(|p| p.hosts);
    let with_prediction = predicted_changes.is_some();
    let plays = StoredValue::new(results.plays);
    view! {
        <div class="table-scroll">
            <table class="table ansible__recap" data-testid="ansible-recap">
                <thead><tr>
                    <th scope="col">{t("Host")}</th>
                    {COLUMNS.map(|c| view! { <th scope="col" class="num">{column_label(c)}</th> }).collect_view()}
                    {with_prediction.then(|| view! { <th scope="col" class="num">{t("predicted changes")}</th> })}
                </tr></thead>
                <tbody>
                    {results.hosts.iter().map(|(host, recap)| {
                        let predicted = predicted_changes.as_ref().map(|p| p.get(host).map(|r| r.changed).unwrap_or(0));
                        let failing = recap.failed > 0 || recap.unreachable > 0;
                        view! {
                            <tr data-host=host.clone() class=failing.then_some("ansible__host--failed")>
                                <th scope="row" class="mono">{host.clone()}</th>
                                {COLUMNS.map(|c| {
                                    let n = count(recap, c);
                                    view! { <td class=format!("num mono ansible__n ansible__n--{c}") data-count=c data-zero=(n == 0).then_some("true")>{n}</td> }
                                }).collect_view()}
                                {predicted.map(|p| {
                                    let differs = p != recap.changed;
                                    view! { <td class="num mono" data-testid="predicted" data-differs=differs.then_some("true")>{p}</td> }
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <div class="ansible__tasks-head">
            <h3>{t("Tasks")}</h3>
            {(hosts.len() > 1).then(|| view! {
                <label class="field field--inline">
                    <span class="small muted">{t("Host")}</span>
                    <select class="input input--small" name="ansible-host" on:change=move |ev| host_filter.set(event_target_value(&ev))>
                        <option value="">{t("every host")}</option>
                        {hosts.iter().map(|h| view! { <option value=h.clone()>{h.clone()}</option> }).collect_view()}
                    </select>
                </label>
            })}
        </div>
        <ol class="ansible__tasks plain" data-testid="ansible-tasks">
            {move || {
                let only = host_filter.get();
                plays.with_value(|plays| plays.iter().flat_map(|play| {
                    play.tasks.iter().map(|task| {
                        let results: Vec<(String, domain::ansible::TaskResult)> = task.results.iter()
                            .filter(|(h, _)| only.is_empty() || **h == only)
                            .map(|(h, r)| (h.clone(), r.clone()))
                            .collect();
                        let play_name = play.name.clone();
                        (!results.is_empty()).then(|| view! {
                            <li class="ansible__task" data-task=task.name.clone()>
                                <div class="ansible__task-head">
                                    <span class="ansible__task-name">{task.name.clone()}</span>
                                    <span class="muted small">{play_name}</span>
                                </div>
                                {results.into_iter().map(|(host, result)| view! {
                                    <div class="ansible__result">
                                        <span class=format!("ansible__status ansible__status--{}", result.status)>{column_label(&result.status)}</span>
                                        <span class="mono small">{host}</span>
                                        {result.msg.clone().map(|m| view! { <span class="muted small ansible__msg">{m}</span> })}
                                        {result.diff.clone().map(diff_lines)}
                                    </div>
                                }).collect_view()}
                            </li>
                        })
                    }).collect::<Vec<_>>()
                }).collect_view())
            }}
        </ol>
    }
}

/// A unified diff with its added and removed lines marked.
fn diff_lines(diff: String) -> impl IntoView {
    view! {
        <pre class="ansible__diff mono small">
            {diff.lines().map(|line| {
                let class = if line.starts_with("+++") || line.starts_with("---") {
                    "diff-line diff-line--file"
                } else if line.starts_with('+') {
                    "diff-line diff-line--added"
                } else if line.starts_with('-') {
                    "diff-line diff-line--removed"
                } else if line.starts_with("@@") {
                    "diff-line diff-line--hunk"
                } else {
                    "diff-line"
                };
                view! { <span class=class>{line.to_owned()}"\n"</span> }
            }).collect_view()}
        </pre>
    }
}
