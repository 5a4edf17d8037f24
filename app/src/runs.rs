//! The run page: status, what runs, cancel, approval and "run again" for those the policy
//! allows (the others see why not), and the log followed live with ANSI colours, auto-scroll,
//! search and download.

use crate::ui::{route_id, PageTitle};
use domain::{LogLine, Run, RunAct, RunStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::session::Me;
use crate::AppError;
use domain::policy::{may, Action, Decision, Object, Subject};

/// A run with the names its page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run: Run,
    pub job_title: String,
    pub project_name: String,
    /// For deciding in the browser which actions to offer (the server decides again).
    pub project_owner_id: Option<i64>,
    pub job_type: domain::JobType,
}

#[server(prefix = "/sfn", endpoint = "runs/detail")]
pub async fn run_detail(run_id: i64) -> Result<RunView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let run = services::runs::get(&hub, &caller, run_id).await?;
    let job = services::jobs::get(&hub, &caller, run.job_id).await?;
    let project = services::projects::get(&hub, &caller, run.project_id).await?;
    Ok(RunView {
        run,
        job_title: job.title,
        job_type: job.job_type,
        project_name: project.name,
        project_owner_id: project.owner_id,
    })
}

/// Log lines after `after` (at most 2,000 per call).
#[server(prefix = "/sfn", endpoint = "runs/log")]
pub async fn run_log(run_id: i64, after: i64) -> Result<Vec<LogLine>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::runs::log(&hub, &caller, run_id, after, 2000).await?)
}

/// Cancel, approve or reject, with the same rules as the REST API.
#[server(prefix = "/sfn", endpoint = "runs/act")]
pub async fn act_on_run(
    run_id: i64,
    act: RunAct,
    comment: Option<String>,
    plan_sha256: Option<String>,
) -> Result<Run, AppError> {
    use services::runs::Verdict;
    use services::storage::CancelOutcome;
    let (hub, caller) = crate::server::use_case()?;
    let comment = comment.as_deref();
    Ok(match act {
        RunAct::Cancel => match services::runs::cancel(&hub, &caller, run_id).await? {
            CancelOutcome::Canceled(run) | CancelOutcome::Requested(run) => run,
        },
        RunAct::Approve => {
            services::runs::decide(
                &hub,
                &caller,
                run_id,
                Verdict::Approve,
                comment,
                plan_sha256.as_deref(),
            )
            .await?
        }
        RunAct::Reject => {
            services::runs::decide(&hub, &caller, run_id, Verdict::Reject, comment, None).await?
        }
    })
}

pub(crate) fn status_badge(status: RunStatus) -> impl IntoView {
    view! { <span class=format!("run-status run-status--{status}") data-status=status.to_string()>{status.to_string().replace('_', " ")}</span> }
}

pub(crate) fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

pub(crate) fn duration(run: &Run) -> String {
    match (run.started_at, run.finished_at) {
        (Some(start), Some(end)) => {
            format!("{:.1} s", (end - start).num_milliseconds() as f64 / 1000.0)
        }
        (Some(_), None) => t("running").to_owned(),
        _ => "—".to_owned(),
    }
}

/// One ANSI-coloured piece of a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    text: String,
    class: String,
}

/// Splits a line on ANSI SGR sequences (colours 30–37 / 90–97, bold, reset) into classed pieces;
/// other escape sequences are dropped.
fn ansi_pieces(line: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut colour: Option<u8> = None;
    let mut bold = false;
    let mut text = String::new();
    let mut chars = line.chars().peekable();
    let class = |colour: Option<u8>, bold: bool| {
        let mut class = String::new();
        if let Some(c) = colour {
            class.push_str(&format!("ansi-{c}"));
        }
        if bold {
            class.push_str(" ansi-bold");
        }
        class
    };
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            let mut code = String::new();
            let mut end = None;
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    end = Some(c);
                    break;
                }
                code.push(c);
            }
            if !text.is_empty() {
                pieces.push(Piece {
                    text: std::mem::take(&mut text),
                    class: class(colour, bold),
                });
            }
            if end == Some('m') {
                for part in code.split(';') {
                    match part.parse::<u8>().unwrap_or(0) {
                        0 => {
                            colour = None;
                            bold = false;
                        }
                        1 => bold = true,
                        22 => bold = false,
                        39 => colour = None,
                        n @ (30..=37 | 90..=97) => colour = Some(n),
                        _ => {}
                    }
                }
            }
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        pieces.push(Piece {
            text,
            class: class(colour, bold),
        });
    }
    pieces
}

/// `/runs/:id`: status, actions and the log, followed live until the run ends. Read here, on
/// the server; the run's actions and its log are an island given what was read, the host's
/// chart around the run is drawn here.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn RunPage() -> impl IntoView {
    let id = route_id("id");
    let detail = crate::ui::page_object(move || run_detail(id.get()));
    let first_lines = crate::ui::page_data(move || run_log(id.get(), 0));
    let ansible = crate::ui::page_data(move || crate::ansible_results::run_ansible(id.get()));
    let terraform = crate::ui::page_data(move || crate::terraform::terraform_of_run(id.get()));
    let me = expect_context::<Me>();
    view! {
        <PageTitle text=t("Run")/>
        <Suspense fallback=|| view! { <div class="card skeleton" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match (detail.await, first_lines.await, ansible.await, terraform.await) {
                    (Ok(view), Ok(lines), Ok(ansible), Ok(terraform)) => {
                        let user = me.user().ok();
                        let run = view.run.clone();
                        view! {
                            <RunDetail view lines ansible terraform user/>
                            <RunHost run/>
                        }.into_any()
                    }
                    (Err(error), _, _, _) | (_, Err(error), _, _) | (_, _, Err(error), _) | (_, _, _, Err(error)) => view! { <crate::ui::LoadError title=t("The run could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The run's header and actions, facts, Terraform and Ansible panels and log, followed from the
/// browser until the run ends. `user` is the signed-in user as the page's server component read
/// them: what is offered is decided alike on the server and in the browser (the server decides
/// again on every request).
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn RunDetail(
    view: RunView,
    lines: Vec<LogLine>,
    ansible: Option<crate::ansible_results::AnsibleView>,
    terraform: Option<domain::terraform::RunTerraform>,
    user: Option<domain::UserProfile>,
) -> impl IntoView {
    crate::i18n::provide_locale();
    let user = StoredValue::new(user);
    let run_id = view.run.id;
    let project_id = view.run.project_id;
    let run = RwSignal::new(view.run);
    let ansible = RwSignal::new(ansible);
    let terraform = RwSignal::new(terraform);
    let lines = RwSignal::new(lines);
    let (search, set_search) = signal(String::new());
    let (follow, set_follow) = signal(true);
    let (comment, set_comment) = signal(String::new());
    let log_ref = NodeRef::<leptos::html::Pre>::new();

    // Follows the run from the browser: new lines and the status, until it ends.
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || {
                if run.with_untracked(|r| r.status.is_final()) {
                    return;
                }
                let after = lines.with_untracked(|l| l.last().map(|l| l.seq).unwrap_or(0));
                leptos::task::spawn_local(async move {
                    if let Ok(new) = run_log(run_id, after).await {
                        if !new.is_empty() {
                            lines.update(|l| l.extend(new));
                        }
                    }
                    if let Ok(view) = run_detail(run_id).await {
                        // One more read once it ended: the last lines come before the status.
                        let ended = view.run.status.is_final();
                        run.set(view.run);
                        if ended {
                            let after =
                                lines.with_untracked(|l| l.last().map(|l| l.seq).unwrap_or(0));
                            if let Ok(tail) = run_log(run_id, after).await {
                                lines.update(|l| l.extend(tail));
                            }
                            if terraform.with_untracked(Option::is_some) {
                                if let Ok(found) = crate::terraform::terraform_of_run(run_id).await
                                {
                                    terraform.set(found);
                                }
                            }
                            if ansible.with_untracked(Option::is_some) {
                                if let Ok(found) = crate::ansible_results::run_ansible(run_id).await
                                {
                                    ansible.set(found);
                                }
                            }
                        }
                    }
                });
            },
            std::time::Duration::from_millis(700),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });
    // Keeps the newest line in view while following.
    Effect::new(move |_| {
        lines.track();
        if follow.get_untracked() {
            if let Some(pre) = log_ref.get() {
                pre.set_scroll_top(pre.scroll_height());
            }
        }
    });
    let on_scroll = move |_| {
        if let Some(pre) = log_ref.get() {
            let at_bottom = pre.scroll_height() - pre.scroll_top() - pre.client_height() < 24;
            set_follow.set(at_bottom);
        }
    };
    let act_action = ServerAction::<ActOnRun>::new();
    let error = move || act_action.value().get().and_then(Result::err);
    Effect::new(move |_| {
        if let Some(Ok(updated)) = act_action.value().get() {
            run.set(updated);
            // The approvals an apply has now.
            if terraform.with_untracked(Option::is_some) {
                leptos::task::spawn_local(async move {
                    if let Ok(found) = crate::terraform::terraform_of_run(run_id).await {
                        terraform.set(found);
                    }
                });
            }
        }
    });
    // What the policy says of this user and this run: `None` when allowed, else why not.
    let owner = view.project_owner_id;
    let job_type = view.job_type;
    let refusal = move |action: Action| -> Option<&'static str> {
        let user = user.get_value()?;
        let subject = Subject {
            user_id: user.id,
            role: user.role,
        };
        let (launcher, changer) = run.with(|r| (r.launched_by, r.action_changed_by));
        let object = Object::job(owner, job_type)
            .with_launcher(launcher)
            .with_changer(changer);
        match may(&subject, action, &object, None) {
            Decision::Deny(refusal) => Some(crate::i18n::t(refusal.message)),
            _ => None,
        }
    };
    // An apply awaiting a second approver: whoever approved its plan already is not asked again.
    let approved_by_me = move || {
        let Some(user) = user.get_value() else {
            return false;
        };
        terraform.with(|view| {
            view.as_ref().is_some_and(|v| {
                v.approvals.iter().any(|a| {
                    a.user_id == user.id
                        && a.plan_sha256.as_ref() == v.plan.as_ref().map(|p| &p.plan_sha256)
                })
            })
        })
    };
    let navigate = crate::ui::Navigator::from_router();
    let open_incident = ServerAction::<crate::incident_story::OpenIncidentFromRun>::new();
    Effect::new(move |_| {
        if let Some(Ok(incident)) = open_incident.value().get() {
            navigate.go(&format!("/incidents/{}", incident.id));
        }
    });
    let may_open_incident = move || {
        user.with_value(|user| {
            user.as_ref()
                .is_some_and(|user| crate::session::role_may(user.role, Action::ManageIncidents))
        })
    };
    let again = ServerAction::<LaunchJob>::new();
    Effect::new(move |_| {
        if let Some(Ok(new_run)) = again.value().get() {
            navigate.go(&format!("/runs/{}", new_run.id));
        }
    });
    // Again as the job stands now, or again at the commit this run executed.
    let run_again = move |at_this_commit: bool| {
        move |_| {
            let (job_id, backend, commit_sha, plan_run) =
                run.with_untracked(|r| (r.job_id, r.backend, r.commit_sha.clone(), r.plan_run));
            again.dispatch(LaunchJob {
                job_id,
                environment: None,
                backend: Some(backend),
                commit_sha: commit_sha.filter(|_| at_this_commit),
                // An apply again applies the same plan (refused once a newer one exists).
                plan_run,
            });
        }
    };
    let act = move |act: RunAct| {
        move |_| {
            // An apply is approved for the plan shown on this page.
            let plan_sha256 = terraform.with_untracked(|view| {
                view.as_ref()
                    .and_then(|v| v.plan.as_ref())
                    .map(|p| p.plan_sha256.clone())
            });
            act_action.dispatch(ActOnRun {
                run_id,
                act,
                comment: Some(comment.get_untracked()),
                plan_sha256,
            });
        }
    };
    let shown = Memo::new(move |_| {
        let needle = search.get().to_lowercase();
        lines.with(|l| {
            l.iter()
                .filter(|line| needle.is_empty() || line.line.to_lowercase().contains(&needle))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="page-header">
            <div>
                <p class="muted small">{view.project_name.clone()} " · " <a class="link" href=move || format!("/jobs/{}", run.with(|r| r.job_id))>{view.job_title.clone()}</a></p>
                <h1>{tf("Run #{id}", &[("id", &run_id.to_string())])} " " {move || status_badge(run.with(|r| r.status))}</h1>
            </div>
            <div class="run-actions">
                <Show when=move || run.with(|r| r.status == RunStatus::AwaitingApproval)>
                    {move || match refusal(Action::ApproveRun) {
                        None if approved_by_me() => view! {
                            <p class="muted small run-actions__why" data-testid="approved-by-you">{t("You approved this plan: it waits for a second approver.")}</p>
                            <button class="button" on:click=act(RunAct::Reject) data-testid="reject">{t("Reject")}</button>
                        }.into_any(),
                        None => view! {
                            <input class="input" aria-label=t("Comment (optional)") placeholder=t("Comment (optional)") value=comment prop:value=comment on:input=move |ev| set_comment.set(event_target_value(&ev))/>
                            <button class="button button--primary" on:click=act(RunAct::Approve) data-testid="approve">{t("Approve")}</button>
                            <button class="button" on:click=act(RunAct::Reject) data-testid="reject">{t("Reject")}</button>
                        }.into_any(),
                        Some(why) => view! { <p class="muted small run-actions__why" data-testid="approve-refused">{why}</p> }.into_any(),
                    }}
                </Show>
                <Show when=move || run.with(|r| !r.status.is_final()) && refusal(Action::CancelRun).is_none()>
                    <button class="button button--danger" on:click=act(RunAct::Cancel) data-testid="cancel">{t("Cancel")}</button>
                </Show>
                <Show when=move || run.with(|r| r.status.is_final() && r.action.is_some())>
                    <button class="button" on:click=run_again(false) prop:disabled=move || again.pending().get() data-testid="run-again">{t("Run again")}</button>
                </Show>
                <Show when=move || run.with(|r| r.status.is_final() && r.commit_sha.is_some())>
                    <button class="button" on:click=run_again(true) prop:disabled=move || again.pending().get() data-testid="run-again-at-commit">{t("Run again at this commit")}</button>
                </Show>
                <Show when=move || run.with(|r| matches!(r.status, RunStatus::Failed | RunStatus::TimedOut)) && may_open_incident()>
                    <button class="button" data-testid="open-incident" prop:disabled=move || open_incident.pending().get()
                        on:click=move |_| { open_incident.dispatch(crate::incident_story::OpenIncidentFromRun { run_id }); }>
                        {t("Open an incident from this run")}</button>
                </Show>
                <a class="button button--ghost" href=format!("/api/v1/runs/{run_id}/logs?download=true") download="" data-testid="download-log">{t("Download the log")}</a>
            </div>
        </div>
        {move || error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        {move || open_incident.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        {move || again.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert" data-testid="run-again-error">{e.message} <span class="mono small">" (" {e.code} ")"</span></p> })}
        <dl class="card run-facts small">
            <div><dt class="muted">{t("Environment")}</dt><dd>{move || run.with(|r| r.environment.clone().unwrap_or_else(|| "—".into()))}</dd></div>
            <div><dt class="muted">{t("Backend")}</dt><dd>{move || run.with(|r| crate::labels::backend(r.backend))}</dd></div>
            <div><dt class="muted">{t("Launched by")}</dt><dd>{move || run.with(|r| r.launched_by_username.clone().unwrap_or_else(|| "uHub".into()))}</dd></div>
            <div><dt class="muted">{t("Started")}</dt><dd>{move || run.with(|r| when(r.started_at))}</dd></div>
            <div><dt class="muted">{t("Finished")}</dt><dd>{move || run.with(|r| when(r.finished_at))}</dd></div>
            <div><dt class="muted">{t("Exit code")}</dt><dd data-testid="exit-code">{move || run.with(|r| r.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into()))}</dd></div>
            <div class="run-facts__wide"><dt class="muted">{t("Reason")}</dt><dd>{move || run.with(|r| r.reason.clone().unwrap_or_else(|| "—".into()))}</dd></div>
            <Show when=move || run.with(|r| r.queue.is_some())>
                <div class="run-facts__wide" data-testid="queue-place">
                    <dt class="muted">{t("In the queue")}</dt>
                    <dd>{move || run.with(|r| r.queue.as_ref().map(|q| tf("#{position}: {reason}", &[("position", &q.position.to_string()), ("reason", &q.reason)])).unwrap_or_default())}</dd>
                </div>
            </Show>
            <Show when=move || run.with(|r| r.callback_deadline.is_some() && !r.status.is_final())>
                <div class="run-facts__wide">
                    <dt class="muted">{t("Waiting for the webhook's callback until")}</dt>
                    <dd>{move || run.with(|r| when(r.callback_deadline))}</dd>
                </div>
            </Show>
            <Show when=move || run.with(|r| r.commit_sha.is_some())>
                <div class="run-facts__wide" data-testid="run-commit">
                    <dt class="muted">{t("Commit")}</dt>
                    <dd class="mono">{move || run.with(|r| r.commit_sha.clone().unwrap_or_default())}</dd>
                </div>
            </Show>
            <div class="run-facts__wide" data-testid="run-action">
                <dt class="muted">{move || if run.with(|r| r.status == RunStatus::AwaitingApproval) { t("What will run if approved") } else { t("What runs") }}</dt>
                <dd class="run-facts__action">
                    <code class="mono small">{move || run.with(|r| r.action.as_ref().map(crate::labels::action_summary).unwrap_or_else(|| "—".into()))}</code>
                    <span class="muted small mono run-facts__digest" title=t("SHA-256 of the action, backend, environment and commit, fixed at launch")>{move || run.with(|r| r.action_sha256.as_deref().map(|d| format!("sha256 {d}")).unwrap_or_default())}</span>
                </dd>
            </div>
        </dl>
        {move || terraform.get().map(|view| view! { <crate::terraform::TerraformPanel view project_id/> })}
        {move || ansible.get().map(|view| {
            let (ended, awaiting_approval) =
                run.with(|r| (r.status.is_final(), r.status == RunStatus::AwaitingApproval));
            view! { <crate::ansible_results::AnsiblePanel view ended awaiting_approval/> }
        })}
        <section class="log-panel" aria-label=t("Log")>
            <div class="log-toolbar">
                <label class="search">
                    <span class="visually-hidden">{t("Search the log")}</span>
                    <input type="search" name="log-search" class="input" placeholder=t("Search the log") value=search prop:value=search on:input=move |ev| set_search.set(event_target_value(&ev))/>
                </label>
                <span class="muted small" aria-live="polite">{move || tf("{n} lines", &[("n", &lines.with(Vec::len).to_string())])}</span>
                <Show when=move || !follow.get()>
                    <button class="button" on:click=move |_| {
                        set_follow.set(true);
                        if let Some(pre) = log_ref.get() { pre.set_scroll_top(pre.scroll_height()); }
                    }>{t("Jump to the end")}</button>
                </Show>
            </div>
            <pre class="log" role="log" aria-live="polite" node_ref=log_ref on:scroll=on_scroll data-testid="run-log">
                <For each=move || shown.get() key=|line| line.seq let(line)>
                    <span class=format!("log-line log-line--{}", line.stream) data-seq=line.seq>
                        <span class="log-line__no" aria-hidden="true">{line.seq}</span>
                        {ansi_pieces(&line.line).into_iter().map(|p| view! { <span class=p.class>{p.text}</span> }).collect_view()}
                        "\n"
                    </span>
                </For>
            </pre>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_colours_become_classes() {
        let pieces = ansi_pieces("\u{1b}[1;31mERROR\u{1b}[0m plain \u{1b}[32mok\u{1b}[39m");
        let texts: Vec<(&str, &str)> = pieces
            .iter()
            .map(|p| (p.text.as_str(), p.class.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("ERROR", "ansi-31 ansi-bold"),
                (" plain ", ""),
                ("ok", "ansi-32")
            ]
        );
        assert_eq!(ansi_pieces("\u{1b}[2Kcleared")[0].text, "cleared");
    }
}

/// The host around a run (admin and ops): CPU and memory from ten minutes before it started to
/// ten minutes after it ended, so a failure can be read against what the machine was doing.
#[component]
fn RunHost(run: Run) -> impl IntoView {
    let margin = chrono::Duration::minutes(10);
    let from = run.started_at.unwrap_or(run.created_at) - margin;
    let to = run
        .finished_at
        .map(|end| end + margin)
        .unwrap_or_else(chrono::Utc::now)
        .min(chrono::Utc::now());
    let to = if to <= from { from + margin } else { to };
    view! { <HostAround from to title=t("Host around this run") testid="run-host"/> }
}

/// The host's CPU and memory between `from` and `to`, for those who may see the host (admin,
/// ops); others simply do not get the panel. The run and incident pages use it.
#[component]
pub fn HostAround(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    title: &'static str,
    testid: &'static str,
) -> impl IntoView {
    let readings = crate::ui::page_data(move || crate::server_view::host_window(from, to));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                readings.await.ok().map(|samples| view! {
                    <section class="run-host" aria-label=title data-testid=testid>
                        {crate::server_view::chart(title, from, to, crate::server_view::usage_series(&samples))}
                    </section>
                })
            })}
        </Suspense>
    }
}

/// Launches a run of a job in its own environment, on `backend` (else the project's); for an
/// action from a repository, at `commit_sha` when given (else the commit its ref names now).
#[server(prefix = "/sfn", endpoint = "jobs/launch")]
pub async fn launch_job(
    job_id: i64,
    environment: Option<String>,
    backend: Option<domain::ExecutionBackend>,
    commit_sha: Option<String>,
    plan_run: Option<i64>,
) -> Result<Run, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::runs::launch(
        &hub,
        &caller,
        job_id,
        services::runs::LaunchOptions {
            environment,
            backend,
            commit_sha,
            plan_run,
            ..Default::default()
        },
    )
    .await?)
}
