//! Jobs and their runs: the job page (Launch, run history) and the run page (status, cancel,
//! approval, and the log followed live with ANSI colours, auto-scroll and search).

use crate::ui::{route_id, PageTitle};
use domain::{EnvironmentRecord, ExecutionBackend, Job, LogLine, Run, RunAct, RunStatus};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// A job with what its page shows around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub job: Job,
    pub project_name: String,
    pub project_backend: Option<ExecutionBackend>,
    pub environments: Vec<EnvironmentRecord>,
    pub runs: Vec<Run>,
}

/// A run with the names its page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run: Run,
    pub job_title: String,
    pub project_name: String,
}

#[server(prefix = "/sfn", endpoint = "jobs/detail")]
pub async fn job_detail(job_id: i64) -> Result<JobView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let job = services::jobs::get(&hub, &caller, job_id).await?;
    let project = services::projects::get(&hub, &caller, job.project_id).await?;
    Ok(JobView {
        environments: services::environments::list(&hub, &caller, job.project_id).await?,
        runs: services::runs::list_for_job(&hub, &caller, job_id, None, 50).await?,
        project_name: project.name,
        project_backend: project.execution_backend,
        job,
    })
}

#[server(prefix = "/sfn", endpoint = "jobs/launch")]
pub async fn launch_job(
    job_id: i64,
    environment: Option<String>,
    backend: Option<ExecutionBackend>,
) -> Result<Run, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::runs::launch(&hub, &caller, job_id, environment, backend).await?)
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
        project_name: project.name,
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
            services::runs::decide(&hub, &caller, run_id, Verdict::Approve, comment).await?
        }
        RunAct::Reject => {
            services::runs::decide(&hub, &caller, run_id, Verdict::Reject, comment).await?
        }
    })
}

fn status_badge(status: RunStatus) -> impl IntoView {
    view! { <span class=format!("run-status run-status--{status}") data-status=status.to_string()>{status.to_string().replace('_', " ")}</span> }
}

/// What an action executes, as a person reads it: the script or image and its arguments (each
/// quoted when it holds a space), or the webhook's ref and inputs.
fn action_summary(action: &domain::JobAction) -> String {
    let quoted = |words: &[String]| {
        words
            .iter()
            .map(|w| {
                if w.contains(char::is_whitespace) || w.is_empty() {
                    format!("'{w}'")
                } else {
                    w.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    match action {
        domain::JobAction::Script { path, args } => format!("script {path} {}", quoted(args))
            .trim_end()
            .to_owned(),
        domain::JobAction::Container { image, command } => {
            format!("container {image} {}", quoted(command))
                .trim_end()
                .to_owned()
        }
        domain::JobAction::Webhook { git_ref, inputs } => {
            let inputs: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "webhook ref {} {}",
                git_ref.as_deref().unwrap_or("main"),
                inputs.join(" ")
            )
            .trim_end()
            .to_owned()
        }
    }
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

fn duration(run: &Run) -> String {
    match (run.started_at, run.finished_at) {
        (Some(start), Some(end)) => {
            format!("{:.1} s", (end - start).num_milliseconds() as f64 / 1000.0)
        }
        (Some(_), None) => t("running").to_owned(),
        _ => "—".to_owned(),
    }
}

fn load_error(what: &'static str, error: AppError) -> impl IntoView {
    view! {
        <section class="empty-state empty-state--error" role="alert">
            <h2>{what}</h2>
            <p class="muted">{error.message}</p>
            <p class="muted small mono">{error.code}</p>
        </section>
    }
}

/// `/jobs/:id`: the job, a Launch form, and its runs.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn JobPage() -> impl IntoView {
    let id = route_id("id");
    let detail = Resource::new(move || id.get(), job_detail);
    view! {
        <PageTitle text=t("Job")/>
        <Suspense fallback=|| view! { <div class="card skeleton" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(view) => view! { <JobDetail view/> }.into_any(),
                    Err(error) => load_error(t("The job could not be loaded"), error).into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobDetail(view: JobView) -> impl IntoView {
    let JobView {
        job,
        project_name,
        project_backend,
        environments,
        runs,
    } = view;
    let job_id = job.id;
    let (backend, set_backend) = signal(project_backend.map(|b| b.to_string()).unwrap_or_default());
    let navigate = use_navigate();
    let launch_action = ServerAction::<LaunchJob>::new();
    let pending = launch_action.pending();
    let error = move || launch_action.value().get().and_then(Result::err);
    // A launched run opens at once: its page follows the log.
    Effect::new(move |_| {
        if let Some(Ok(run)) = launch_action.value().get() {
            navigate(&format!("/runs/{}", run.id), Default::default());
        }
    });
    let launch = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A run runs in its job's environment: nothing to choose.
        launch_action.dispatch(LaunchJob {
            job_id,
            environment: None,
            backend: backend.get_untracked().parse::<ExecutionBackend>().ok(),
        });
    };
    let environment_label = match &job.environment {
        Some(name) => match environments.iter().find(|e| e.name == *name) {
            Some(e) if e.is_production => tf("{name} (production)", &[("name", &e.name)]),
            _ => name.clone(),
        },
        None => t("no environment").to_owned(),
    };
    let action = job
        .action
        .as_ref()
        .map(action_summary)
        .unwrap_or_else(|| t("no action: this job cannot be run").to_owned());
    view! {
        <div class="page-header">
            <div>
                <p class="muted small">{project_name}</p>
                <h1 data-testid="job-title">{job.title.clone()}</h1>
                <p class="muted">
                    {job.job_type.to_string()} " · " {job.environment.clone().unwrap_or_else(|| t("no environment").into())}
                    " · " {tf("planned {at}", &[("at", &when(Some(job.planned_start)))])}
                </p>
            </div>
        </div>
        <section class="card launch-card" aria-labelledby="launch-title">
            <h2 id="launch-title">{t("Launch")}</h2>
            <p class="muted small mono">{action}</p>
            <form class="launch-form" on:submit=launch>
                <div class="field">
                    <span class="small muted">{t("Environment")}</span>
                    <span class="launch-form__environment" data-testid="launch-environment">{environment_label}</span>
                </div>
                <label class="field">
                    <span class="small muted">{t("Backend")}</span>
                    <select class="input" name="backend" prop:value=backend on:change=move |ev| set_backend.set(event_target_value(&ev))>
                        {project_backend.is_none().then(|| view! { <option value="" disabled=true>{t("Choose a backend")}</option> })}
                        {["local", "docker", "webhook"].map(|b| view! { <option value=b>{b}</option> }).collect_view()}
                    </select>
                </label>
                <button class="button button--primary" type="submit" prop:disabled=pending data-testid="launch">
                    {move || if pending.get() { t("Launching…") } else { t("Launch") }}
                </button>
            </form>
            {move || error().map(|e| view! {
                <p class="form-error" role="alert" data-testid="launch-error">{e.message} <span class="mono small">" (" {e.code} ")"</span></p>
            })}
            <p class="muted small">{t("Production runs wait for the approval of an admin or the project's owner (never the person who asked).")}</p>
        </section>
        <section class="card" aria-labelledby="history-title">
            <h2 id="history-title">{t("Runs")}</h2>
            {if runs.is_empty() {
                view! { <p class="muted">{t("Never run yet.")}</p> }.into_any()
            } else {
                view! {
                    <table class="api-table run-history">
                        <thead><tr><th>{t("Run")}</th><th>{t("Status")}</th><th>{t("Environment")}</th><th>{t("Backend")}</th><th>{t("By")}</th><th>{t("Started")}</th><th>{t("Duration")}</th></tr></thead>
                        <tbody>
                            {runs.into_iter().map(|run| view! {
                                <tr>
                                    <td><a class="link mono" href=format!("/runs/{}", run.id)>{format!("#{}", run.id)}</a></td>
                                    <td>{status_badge(run.status)}</td>
                                    <td>{run.environment.clone().unwrap_or_default()}</td>
                                    <td>{run.backend.to_string()}</td>
                                    <td>{run.launched_by_username.clone().unwrap_or_else(|| "uHub".into())}</td>
                                    <td class="small">{when(run.started_at)}</td>
                                    <td class="small">{duration(&run)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
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

/// `/runs/:id`: status, actions and the log, followed live until the run ends.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn RunPage() -> impl IntoView {
    let id = route_id("id");
    let detail = Resource::new(move || id.get(), run_detail);
    let first_lines = Resource::new(move || id.get(), |id| run_log(id, 0));
    view! {
        <PageTitle text=t("Run")/>
        <Suspense fallback=|| view! { <div class="card skeleton" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match (detail.await, first_lines.await) {
                    (Ok(view), Ok(lines)) => view! { <RunDetail view lines/> }.into_any(),
                    (Err(error), _) | (_, Err(error)) => load_error(t("The run could not be loaded"), error).into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RunDetail(view: RunView, lines: Vec<LogLine>) -> impl IntoView {
    let run_id = view.run.id;
    let run = RwSignal::new(view.run);
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
        }
    });
    let act = move |act: RunAct| {
        move |_| {
            act_action.dispatch(ActOnRun {
                run_id,
                act,
                comment: Some(comment.get_untracked()),
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
                    <input class="input" placeholder=t("Comment (optional)") prop:value=comment on:input=move |ev| set_comment.set(event_target_value(&ev))/>
                    <button class="button button--primary" on:click=act(RunAct::Approve) data-testid="approve">{t("Approve")}</button>
                    <button class="button" on:click=act(RunAct::Reject)>{t("Reject")}</button>
                </Show>
                <Show when=move || run.with(|r| !r.status.is_final())>
                    <button class="button button--danger" on:click=act(RunAct::Cancel) data-testid="cancel">{t("Cancel")}</button>
                </Show>
            </div>
        </div>
        {move || error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        <dl class="card run-facts small">
            <div><dt class="muted">{t("Environment")}</dt><dd>{move || run.with(|r| r.environment.clone().unwrap_or_else(|| "—".into()))}</dd></div>
            <div><dt class="muted">{t("Backend")}</dt><dd>{move || run.with(|r| r.backend.to_string())}</dd></div>
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
            <div class="run-facts__wide" data-testid="run-action">
                <dt class="muted">{move || if run.with(|r| r.status == RunStatus::AwaitingApproval) { t("What will run if approved") } else { t("What runs") }}</dt>
                <dd class="run-facts__action">
                    <code class="mono small">{move || run.with(|r| r.action.as_ref().map(action_summary).unwrap_or_else(|| "—".into()))}</code>
                    <span class="muted small mono run-facts__digest" title=t("SHA-256 of the action, backend and environment, fixed at launch")>{move || run.with(|r| r.action_sha256.as_deref().map(|d| format!("sha256 {d}")).unwrap_or_default())}</span>
                </dd>
            </div>
        </dl>
        <RunHost run=run.get_untracked()/>
        <section class="log-panel" aria-label=t("Log")>
            <div class="log-toolbar">
                <label class="search">
                    <span class="visually-hidden">{t("Search the log")}</span>
                    <input type="search" name="log-search" class="input" placeholder=t("Search the log") prop:value=search on:input=move |ev| set_search.set(event_target_value(&ev))/>
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
    let readings = Resource::new(
        move || (from, to),
        |(from, to)| crate::server_view::host_window(from, to),
    );
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
