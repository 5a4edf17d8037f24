//! What a job runs, in the job editor: one small form per kind of action (a script of the
//! scripts directory, a container, a webhook call), and the one-line summary pages show.
//! Scripts and containers may come from a repository link of the project, at a ref resolved to
//! a commit at launch; so may an Ansible playbook, run against one of the project's inventories,
//! and a Terraform configuration (plan, or apply of a plan run's saved plan).
//! A kubectl action runs against one of the project's clusters (its environment the job's).

use std::collections::BTreeMap;

use domain::JobAction;
use leptos::prelude::*;

use super::data::scripts;
use crate::i18n::t;

/// The kind of action the editor shows; `none` makes a job that is only planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    None,
    Script,
    Container,
    Ansible,
    Terraform,
    Kubectl,
    Webhook,
}

impl ActionKind {
    const ALL: [ActionKind; 7] = [
        ActionKind::None,
        ActionKind::Script,
        ActionKind::Container,
        ActionKind::Ansible,
        ActionKind::Terraform,
        ActionKind::Kubectl,
        ActionKind::Webhook,
    ];

    fn key(self) -> &'static str {
        match self {
            ActionKind::None => "none",
            ActionKind::Script => "script",
            ActionKind::Container => "container",
            ActionKind::Ansible => "ansible",
            ActionKind::Terraform => "terraform",
            ActionKind::Kubectl => "kubectl",
            ActionKind::Webhook => "webhook",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ActionKind::None => t("Nothing (planned only)"),
            ActionKind::Script => t("Script"),
            ActionKind::Container => t("Container"),
            ActionKind::Ansible => t("Ansible playbook"),
            ActionKind::Terraform => t("Terraform"),
            ActionKind::Kubectl => t("kubectl"),
            ActionKind::Webhook => t("Webhook / CI pipeline"),
        }
    }

    pub fn from_action(action: &JobAction) -> Self {
        match action {
            JobAction::Script { .. } => ActionKind::Script,
            JobAction::Container { .. } => ActionKind::Container,
            JobAction::Ansible { .. } => ActionKind::Ansible,
            JobAction::Terraform { .. } => ActionKind::Terraform,
            JobAction::Kubectl { .. } => ActionKind::Kubectl,
            JobAction::Webhook { .. } => ActionKind::Webhook,
        }
    }

    /// The backend that runs this kind.
    pub fn backend(self) -> Option<domain::ExecutionBackend> {
        match self {
            ActionKind::None => None,
            ActionKind::Script
            | ActionKind::Ansible
            | ActionKind::Terraform
            | ActionKind::Kubectl => Some(domain::ExecutionBackend::Local),
            ActionKind::Container => Some(domain::ExecutionBackend::Docker),
            ActionKind::Webhook => Some(domain::ExecutionBackend::Webhook),
        }
    }
}

/// The editor's fields for every kind at once: switching kinds keeps what was typed.
#[derive(Clone, Copy)]
pub struct ActionFields {
    pub kind: RwSignal<ActionKind>,
    script: RwSignal<String>,
    args: RwSignal<String>,
    image: RwSignal<String>,
    command: RwSignal<String>,
    git_ref: RwSignal<String>,
    inputs: RwSignal<String>,
    /// The repository link scripts and containers come from (`None`: the scripts directory, or
    /// the image alone).
    repo: RwSignal<Option<i64>>,
    /// The branch, tag or SHA of `repo` (empty: its default branch).
    source_ref: RwSignal<String>,
    playbook: RwSignal<String>,
    inventory: RwSignal<Option<i64>>,
    limit: RwSignal<String>,
    /// Comma-separated.
    tags: RwSignal<String>,
    skip_tags: RwSignal<String>,
    /// A JSON object (empty: none).
    extra_vars: RwSignal<String>,
    check: RwSignal<bool>,
    diff: RwSignal<bool>,
    /// A version the action pins (kept as it was: the editor does not choose versions).
    inventory_version: RwSignal<Option<i64>>,
    tf_dir: RwSignal<String>,
    tf_workspace: RwSignal<String>,
    /// A JSON object (empty: none).
    tf_vars: RwSignal<String>,
    tf_apply: RwSignal<bool>,
    kube_cluster: RwSignal<Option<i64>>,
    /// The cluster an Ansible or Terraform action may reach (`None`: none).
    tool_cluster: RwSignal<Option<i64>>,
    /// One argument per line.
    kube_args: RwSignal<String>,
}

/// A JSON object of variables; anything else is sent as a variable the server refuses, naming
/// the field.
fn variables(text: &str) -> BTreeMap<String, serde_json::Value> {
    if text.trim().is_empty() {
        BTreeMap::new()
    } else {
        serde_json::from_str(text)
            .unwrap_or_else(|_| BTreeMap::from([("-".to_owned(), serde_json::Value::Null)]))
    }
}

/// Comma-separated words, trimmed, blanks dropped.
fn words(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One argument per line (blank lines dropped): no shell splitting, so nothing gets quoted wrong.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ActionFields {
    pub fn from(action: Option<&JobAction>) -> Self {
        let fields = ActionFields {
            kind: RwSignal::new(ActionKind::None),
            script: RwSignal::new(String::new()),
            args: RwSignal::new(String::new()),
            image: RwSignal::new(String::new()),
            command: RwSignal::new(String::new()),
            git_ref: RwSignal::new(String::new()),
            inputs: RwSignal::new(String::new()),
            repo: RwSignal::new(None),
            source_ref: RwSignal::new(String::new()),
            playbook: RwSignal::new(String::new()),
            inventory: RwSignal::new(None),
            limit: RwSignal::new(String::new()),
            tags: RwSignal::new(String::new()),
            skip_tags: RwSignal::new(String::new()),
            extra_vars: RwSignal::new(String::new()),
            check: RwSignal::new(false),
            diff: RwSignal::new(true),
            inventory_version: RwSignal::new(None),
            tf_dir: RwSignal::new(".".to_owned()),
            tf_workspace: RwSignal::new("default".to_owned()),
            tf_vars: RwSignal::new(String::new()),
            tf_apply: RwSignal::new(false),
            kube_cluster: RwSignal::new(None),
            tool_cluster: RwSignal::new(None),
            kube_args: RwSignal::new(String::new()),
        };
        if let Some((repo, git_ref)) = action.and_then(JobAction::repository) {
            fields.repo.set(Some(repo));
            fields
                .source_ref
                .set(git_ref.unwrap_or_default().to_owned());
        }
        match action {
            None => {}
            Some(JobAction::Script { path, args, .. }) => {
                fields.kind.set(ActionKind::Script);
                fields.script.set(path.clone());
                fields.args.set(args.join("\n"));
            }
            Some(JobAction::Container { image, command, .. }) => {
                fields.kind.set(ActionKind::Container);
                fields.image.set(image.clone());
                fields.command.set(command.join("\n"));
            }
            Some(JobAction::Ansible {
                playbook,
                inventory,
                inventory_version,
                limit,
                tags,
                skip_tags,
                extra_vars,
                check,
                diff,
                cluster,
                ..
            }) => {
                fields.kind.set(ActionKind::Ansible);
                fields.tool_cluster.set(*cluster);
                fields.playbook.set(playbook.clone());
                fields.inventory.set(Some(*inventory));
                fields.inventory_version.set(*inventory_version);
                fields.limit.set(limit.clone().unwrap_or_default());
                fields.tags.set(tags.join(", "));
                fields.skip_tags.set(skip_tags.join(", "));
                if !extra_vars.is_empty() {
                    fields
                        .extra_vars
                        .set(serde_json::to_string_pretty(extra_vars).unwrap_or_default());
                }
                fields.check.set(*check);
                fields.diff.set(*diff);
            }
            Some(JobAction::Terraform {
                dir,
                workspace,
                vars,
                operation,
                cluster,
                ..
            }) => {
                fields.kind.set(ActionKind::Terraform);
                fields.tool_cluster.set(*cluster);
                fields.tf_dir.set(dir.clone());
                fields.tf_workspace.set(workspace.clone());
                if !vars.is_empty() {
                    fields
                        .tf_vars
                        .set(serde_json::to_string_pretty(vars).unwrap_or_default());
                }
                fields
                    .tf_apply
                    .set(*operation == domain::terraform::TerraformOperation::Apply);
            }
            Some(JobAction::Kubectl { cluster, args }) => {
                fields.kind.set(ActionKind::Kubectl);
                fields.kube_cluster.set(Some(*cluster));
                fields.kube_args.set(args.join("\n"));
            }
            Some(JobAction::Webhook { git_ref, inputs }) => {
                fields.kind.set(ActionKind::Webhook);
                fields.git_ref.set(git_ref.clone().unwrap_or_default());
                fields.inputs.set(
                    inputs
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
        }
        fields
    }

    /// The action as it stands (the server checks it again: paths, image names, inputs).
    pub fn action(&self) -> Option<JobAction> {
        let repo = self.repo.get_untracked();
        let source_ref = self.source_ref.get_untracked().trim().to_owned();
        let git_ref = (repo.is_some() && !source_ref.is_empty()).then_some(source_ref);
        match self.kind.get_untracked() {
            ActionKind::None => None,
            ActionKind::Script => Some(JobAction::Script {
                path: self.script.get_untracked().trim().to_owned(),
                args: lines(&self.args.get_untracked()),
                repo,
                git_ref,
            }),
            ActionKind::Container => Some(JobAction::Container {
                image: self.image.get_untracked().trim().to_owned(),
                command: lines(&self.command.get_untracked()),
                repo,
                git_ref,
            }),
            ActionKind::Ansible => {
                let limit = self.limit.get_untracked().trim().to_owned();
                let extra_vars = variables(&self.extra_vars.get_untracked());
                Some(JobAction::Ansible {
                    playbook: self.playbook.get_untracked().trim().to_owned(),
                    repo,
                    git_ref,
                    inventory: self.inventory.get_untracked().unwrap_or(0),
                    inventory_version: self.inventory_version.get_untracked(),
                    limit: (!limit.is_empty()).then_some(limit),
                    tags: words(&self.tags.get_untracked()),
                    skip_tags: words(&self.skip_tags.get_untracked()),
                    extra_vars,
                    check: self.check.get_untracked(),
                    diff: self.diff.get_untracked(),
                    cluster: self.tool_cluster.get_untracked(),
                })
            }
            ActionKind::Terraform => {
                use domain::terraform::TerraformOperation;
                let workspace = self.tf_workspace.get_untracked().trim().to_owned();
                Some(JobAction::Terraform {
                    dir: self.tf_dir.get_untracked().trim().to_owned(),
                    repo,
                    git_ref,
                    workspace: if workspace.is_empty() {
                        "default".to_owned()
                    } else {
                        workspace
                    },
                    vars: variables(&self.tf_vars.get_untracked()),
                    operation: if self.tf_apply.get_untracked() {
                        TerraformOperation::Apply
                    } else {
                        TerraformOperation::Plan
                    },
                    plan_run: None,
                    cluster: self.tool_cluster.get_untracked(),
                })
            }
            ActionKind::Kubectl => Some(JobAction::Kubectl {
                cluster: self.kube_cluster.get_untracked().unwrap_or(0),
                args: lines(&self.kube_args.get_untracked()),
            }),
            ActionKind::Webhook => {
                let inputs: BTreeMap<String, String> = lines(&self.inputs.get_untracked())
                    .into_iter()
                    .map(|line| match line.split_once('=') {
                        Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
                        None => (line, String::new()),
                    })
                    .collect();
                let git_ref = self.git_ref.get_untracked().trim().to_owned();
                Some(JobAction::Webhook {
                    git_ref: (!git_ref.is_empty()).then_some(git_ref),
                    inputs,
                })
            }
        }
    }
}

/// The action part of the job editor.
#[component]
pub fn ActionEditor(
    fields: ActionFields,
    /// The job's project: its repositories are the sources offered.
    project: Signal<i64>,
    error: RwSignal<Option<crate::AppError>>,
) -> impl IntoView {
    let kind = fields.kind;
    view! {
        <fieldset class="fieldset" data-testid="action-editor">
            <legend>{t("What it runs")}</legend>
            <div class="segmented" role="radiogroup" aria-label=t("Kind of action")>
                {ActionKind::ALL.map(|option| view! {
                    <label class="segmented__option">
                        <input type="radio" name="action-kind" value=option.key()
                            checked=move || kind.get() == option prop:checked=move || kind.get() == option
                            on:change=move |_| kind.set(option)/>
                        <span>{option.label()}</span>
                    </label>
                }).collect_view()}
            </div>
            {move || match kind.get() {
                ActionKind::None => view! {
                    <p class="muted small">{t("A job without an action is planned on the calendar but cannot be launched.")}</p>
                }.into_any(),
                ActionKind::Script => view! { <SourceFields fields project error/> <ScriptFields fields error/> }.into_any(),
                ActionKind::Container => view! {
                    <SourceFields fields project error/>
                    <label class="field">
                        <span class="small muted">{t("Image (present on the Docker engine: uHub pulls nothing)")}</span>
                        <input class="input mono" name="image" autocomplete="off" placeholder="registry.example.org/tools:1.4"
                            value=move || fields.image.get() prop:value=move || fields.image.get() on:input=move |ev| fields.image.set(event_target_value(&ev))/>
                        <crate::ui::FieldError error field="action.image"/>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Command, one argument per line (empty: the image's own)")}</span>
                        <textarea class="input textarea mono" name="command" rows="3"
                            prop:value=move || fields.command.get() on:input=move |ev| fields.command.set(event_target_value(&ev))></textarea>
                        <crate::ui::FieldError error field="action.command"/>
                    </label>
                    <p class="muted small">{t("CPU, memory, process and network limits come from the project's execution settings.")}</p>
                }.into_any(),
                ActionKind::Ansible => view! {
                    <SourceFields fields project error/> <AnsibleFields fields project error/>
                    <ClusterChoice project selected=fields.tool_cluster optional=true error/>
                }.into_any(),
                ActionKind::Terraform => view! {
                    <SourceFields fields project error/> <TerraformFields fields error/>
                    <ClusterChoice project selected=fields.tool_cluster optional=true error/>
                }.into_any(),
                ActionKind::Kubectl => view! { <KubectlFields fields project error/> }.into_any(),
                ActionKind::Webhook => view! {
                    <label class="field">
                        <span class="small muted">{t("Git ref (branch or tag) the pipeline runs on")}</span>
                        <input class="input mono" name="ref" autocomplete="off" placeholder="main"
                            value=move || fields.git_ref.get() prop:value=move || fields.git_ref.get() on:input=move |ev| fields.git_ref.set(event_target_value(&ev))/>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Inputs, one name=value per line")}</span>
                        <textarea class="input textarea mono" name="inputs" rows="3"
                            prop:value=move || fields.inputs.get() on:input=move |ev| fields.inputs.set(event_target_value(&ev))></textarea>
                        <crate::ui::FieldError error field="action.inputs"/>
                    </label>
                    <p class="muted small">{t("The target, its preset (generic, GitHub Actions, GitLab) and its key are the project's execution settings.")}</p>
                }.into_any(),
            }}
        </fieldset>
    }
}

/// A kubectl action: one of the project's clusters and kubectl's arguments, one per line.
#[component]
fn KubectlFields(
    fields: ActionFields,
    project: Signal<i64>,
    error: RwSignal<Option<crate::AppError>>,
) -> impl IntoView {
    view! {
        <ClusterChoice project selected=fields.kube_cluster optional=false error/>
        <label class="field">
            <span class="small muted">{t("kubectl arguments, one per line (the namespace and credentials are the cluster's)")}</span>
            <textarea class="input textarea mono" name="kubectl-args" rows="3" placeholder="rollout\nrestart\ndeployment/web"
                prop:value=move || fields.kube_args.get() on:input=move |ev| fields.kube_args.set(event_target_value(&ev))></textarea>
            <crate::ui::FieldError error field="action.args"/>
        </label>
    }
}

/// One of the project's clusters: required for kubectl, optional for Ansible and Terraform
/// (whose runs then get its kubeconfig).
#[component]
fn ClusterChoice(
    project: Signal<i64>,
    selected: RwSignal<Option<i64>>,
    optional: bool,
    error: RwSignal<Option<crate::AppError>>,
) -> impl IntoView {
    let clusters =
        LocalResource::new(move || crate::projects::clusters::list_clusters(project.get()));
    let label = if optional {
        t("Kubernetes cluster it reaches (optional; its environment must be the job's)")
    } else {
        t("Cluster (its environment must be the job's)")
    };
    view! {
        <label class="field">
            <span class="small muted">{label}</span>
            {move || match clusters.try_get().flatten() {
                Some(Ok(list)) if !list.items.is_empty() => view! {
                    <select class="input" name="action-cluster" data-testid="action-cluster"
                        on:change=move |ev| selected.set(event_target_value(&ev).parse().ok())>
                        <option value="" selected=move || selected.get().is_none()>
                            {if optional { t("None") } else { t("Choose a cluster") }}</option>
                        {list.items.into_iter().map(|cluster| {
                            let id = cluster.id;
                            view! {
                                <option value=id.to_string() selected=move || selected.get() == Some(id)>
                                    {format!("{} ({}, {})", cluster.name, cluster.environment, cluster.namespace)}
                                </option>
                            }
                        }).collect_view()}
                    </select>
                }.into_any(),
                Some(Ok(_)) if optional => ().into_any(),
                Some(Ok(_)) => view! { <p class="muted small">{t("The project has no cluster yet: add one on its Kubernetes tab.")}</p> }.into_any(),
                Some(Err(failed)) => view! { <p class="form-error" role="alert">{failed.message}</p> }.into_any(),
                None => view! { <p class="muted small">{t("Loading…")}</p> }.into_any(),
            }}
            <crate::ui::FieldError error field="action.cluster"/>
        </label>
    }
}

/// Where a script or a container's files come from: the scripts directory (or nothing, for a
/// container), or a repository of the project at a branch, tag or SHA.
#[component]
fn SourceFields(
    fields: ActionFields,
    project: Signal<i64>,
    error: RwSignal<Option<crate::AppError>>,
) -> impl IntoView {
    let repositories = LocalResource::new(move || super::code::job_repositories(project.get()));
    // Another project was chosen: a repository of the previous one is no source any more.
    Effect::new(move |_| {
        if let (Some(Ok(list)), Some(repo)) = (
            repositories.try_get().flatten(),
            fields.repo.get_untracked(),
        ) {
            if !list.iter().any(|(id, _)| *id == repo) {
                fields.repo.set(None);
            }
        }
    });
    view! {
        {move || match repositories.try_get().flatten() {
            Some(Ok(list)) if !list.is_empty() => view! {
                <div class="form__row">
                    <label class="field">
                        <span class="small muted">{t("Files from")}</span>
                        <select class="input" name="source-repo" data-testid="source-repo"
                            on:change=move |ev| fields.repo.set(event_target_value(&ev).parse().ok())>
                            <option value="" selected=move || fields.repo.get().is_none()>
                                {move || if fields.kind.get() == ActionKind::Script { t("The scripts directory") } else { t("The image alone") }}
                            </option>
                            {list.into_iter().map(|(id, name)| view! {
                                <option value=id.to_string() selected=move || fields.repo.get() == Some(id)>{tf_repo(&name)}</option>
                            }).collect_view()}
                        </select>
                        <crate::ui::FieldError error field="action.repo"/>
                    </label>
                    <Show when=move || fields.repo.get().is_some()>
                        <label class="field">
                            <span class="small muted">{t("Branch, tag or SHA (empty: the default branch), fixed to a commit at launch")}</span>
                            <input class="input mono" name="source-ref" autocomplete="off" placeholder="main" data-testid="source-ref"
                                value=move || fields.source_ref.get() prop:value=move || fields.source_ref.get() on:input=move |ev| fields.source_ref.set(event_target_value(&ev))/>
                            <crate::ui::FieldError error field="action.ref"/>
                        </label>
                    </Show>
                </div>
            }.into_any(),
            _ => ().into_any(),
        }}
    }
}

/// An Ansible playbook's fields: the playbook, the inventory (one of the project's), limit,
/// tags, extra variables, check and diff.
#[component]
fn AnsibleFields(
    fields: ActionFields,
    project: Signal<i64>,
    error: RwSignal<Option<crate::AppError>>,
) -> impl IntoView {
    let inventories = crate::ui::load_in_browser(move || {
        crate::projects::inventories::project_inventories(project.get())
    });
    let text = |signal: RwSignal<String>| {
        (
            move || signal.get(),
            move |ev: leptos::ev::Event| signal.set(event_target_value(&ev)),
        )
    };
    let (playbook, set_playbook) = text(fields.playbook);
    let (limit, set_limit) = text(fields.limit);
    let (tags, set_tags) = text(fields.tags);
    let (skip_tags, set_skip_tags) = text(fields.skip_tags);
    let (extra, set_extra) = text(fields.extra_vars);
    view! {
        <div class="form__row">
            <label class="field">
                <span class="small muted">{move || if fields.repo.get().is_some() { t("Playbook (path in the repository)") } else { t("Playbook (in the scripts directory)") }}</span>
                <input class="input mono" name="playbook" autocomplete="off" placeholder="site.yml" data-testid="ansible-playbook"
                    value=playbook prop:value=playbook on:input=set_playbook/>
                <crate::ui::FieldError error field="action.playbook"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Inventory (of the job's environment)")}</span>
                <select class="input" name="inventory" data-testid="ansible-inventory"
                    on:change=move |ev| {
                        fields.inventory.set(event_target_value(&ev).parse().ok());
                        // Another inventory: its latest version at launch.
                        fields.inventory_version.set(None);
                    }>
                    <option value="" selected=move || fields.inventory.get().is_none()>{t("Choose an inventory")}</option>
                    {move || inventories.try_get().flatten().and_then(Result::ok).unwrap_or_default().into_iter().map(|inventory| {
                        let id = inventory.id;
                        let label = match &inventory.environment {
                            Some(env) => format!("{} · {env}", inventory.name),
                            None => inventory.name.clone(),
                        };
                        view! { <option value=id.to_string() selected=move || fields.inventory.get() == Some(id)>{label}</option> }
                    }).collect_view()}
                </select>
                <crate::ui::FieldError error field="action.inventory"/>
            </label>
        </div>
        <div class="form__row">
            <label class="field">
                <span class="small muted">{t("Limit (host pattern, empty: every host)")}</span>
                <input class="input mono" name="limit" autocomplete="off" placeholder="web:&!web3"
                    value=limit prop:value=limit on:input=set_limit/>
                <crate::ui::FieldError error field="action.limit"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Tags (comma-separated)")}</span>
                <input class="input mono" name="tags" autocomplete="off" value=tags prop:value=tags on:input=set_tags/>
                <crate::ui::FieldError error field="action.tags"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Skip tags")}</span>
                <input class="input mono" name="skip-tags" autocomplete="off" value=skip_tags prop:value=skip_tags on:input=set_skip_tags/>
                <crate::ui::FieldError error field="action.skip_tags"/>
            </label>
        </div>
        <label class="field">
            <span class="small muted">{t("Extra variables (a JSON object; secrets belong in the project's secrets)")}</span>
            <textarea class="input textarea mono" name="extra-vars" rows="2" placeholder=r#"{"release": "1.4.2"}"#
                prop:value=extra on:input=set_extra></textarea>
            <crate::ui::FieldError error field="action.extra_vars"/>
        </label>
        <div class="form__row">
            <label class="field field--check">
                <input type="checkbox" name="check" data-testid="ansible-check"
                    checked=move || fields.check.get() prop:checked=move || fields.check.get() on:change=move |ev| fields.check.set(event_target_checked(&ev))/>
                <span>{t("Check mode (report what would change, change nothing)")}</span>
            </label>
            <label class="field field--check">
                <input type="checkbox" name="diff"
                    checked=move || fields.diff.get() prop:checked=move || fields.diff.get() on:change=move |ev| fields.diff.set(event_target_checked(&ev))/>
                <span>{t("Show diffs")}</span>
            </label>
        </div>
    }
}

/// A Terraform configuration's fields: its directory, workspace, variables and operation.
#[component]
fn TerraformFields(
    fields: ActionFields,
    error: RwSignal<Option<crate::AppError>>,
) -> impl IntoView {
    view! {
        <div class="form__row">
            <label class="field">
                <span class="small muted">{move || if fields.repo.get().is_some() { t("Directory (in the repository, . for its root)") } else { t("Directory (in the scripts directory, . for its root)") }}</span>
                <input class="input mono" name="terraform-dir" autocomplete="off" placeholder="infra/network" data-testid="terraform-dir"
                    value=move || fields.tf_dir.get() prop:value=move || fields.tf_dir.get() on:input=move |ev| fields.tf_dir.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="action.dir"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Workspace")}</span>
                <input class="input mono" name="terraform-workspace" autocomplete="off" placeholder="default" data-testid="terraform-workspace"
                    value=move || fields.tf_workspace.get() prop:value=move || fields.tf_workspace.get() on:input=move |ev| fields.tf_workspace.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="action.workspace"/>
            </label>
        </div>
        <label class="field">
            <span class="small muted">{t("Variables (a JSON object; secrets belong in the project's secrets, as TF_VAR_ names)")}</span>
            <textarea class="input textarea mono" name="terraform-vars" rows="2" placeholder=r#"{"replicas": 3}"#
                prop:value=move || fields.tf_vars.get() on:input=move |ev| fields.tf_vars.set(event_target_value(&ev))></textarea>
            <crate::ui::FieldError error field="action.vars"/>
        </label>
        <div class="segmented" role="radiogroup" aria-label=t("Terraform operation")>
            <label class="segmented__option">
                <input type="radio" name="terraform-operation" value="plan" data-testid="terraform-plan"
                    checked=move || !fields.tf_apply.get() prop:checked=move || !fields.tf_apply.get() on:change=move |_| fields.tf_apply.set(false)/>
                <span>{t("Plan (stores the plan, keeps its file)")}</span>
            </label>
            <label class="segmented__option">
                <input type="radio" name="terraform-operation" value="apply" data-testid="terraform-apply"
                    checked=move || fields.tf_apply.get() prop:checked=move || fields.tf_apply.get() on:change=move |_| fields.tf_apply.set(true)/>
                <span>{t("Apply (a plan run's saved plan, after approval)")}</span>
            </label>
        </div>
    }
}

fn tf_repo(name: &str) -> String {
    crate::i18n::tf("Repository {name}", &[("name", name)])
}

/// A script of the scripts directory (picked from its listing) or of the chosen repository,
/// and its arguments.
#[component]
fn ScriptFields(fields: ActionFields, error: RwSignal<Option<crate::AppError>>) -> impl IntoView {
    let listing = LocalResource::new(scripts);
    view! {
        <label class="field">
            <span class="small muted">{move || if fields.repo.get().is_some() { t("Script (path in the repository)") } else { t("Script (in the scripts directory)") }}</span>
            <input class="input mono" name="script" list="script-choices" autocomplete="off" placeholder="deploy.sh"
                data-testid="script-path"
                value=move || fields.script.get() prop:value=move || fields.script.get() on:input=move |ev| fields.script.set(event_target_value(&ev))/>
            <datalist id="script-choices">
                {move || listing.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|script| view! {
                    <option value=script.path.clone()>{if script.executable { String::new() } else { t("not executable").to_owned() }}</option>
                }).collect_view()}
            </datalist>
            <crate::ui::FieldError error field="action.path"/>
            {move || match listing.get() {
                _ if fields.repo.get().is_some() => None,
                Some(Ok(list)) if list.is_empty() => Some(view! {
                    <span class="small muted">{t("The scripts directory is empty: put scripts in UHUB_SCRIPTS_DIR on the server.")}</span>
                }.into_any()),
                Some(Ok(list)) => {
                    let chosen = fields.script.get();
                    list.iter().find(|s| s.path == chosen && !s.executable).map(|_| view! {
                        <span class="small field__warning">{t("This file is not executable: the run will fail until it is (chmod +x).")}</span>
                    }.into_any())
                }
                _ => None,
            }}
        </label>
        <label class="field">
            <span class="small muted">{t("Arguments, one per line")}</span>
            <textarea class="input textarea mono" name="args" rows="2"
                prop:value=move || fields.args.get() on:input=move |ev| fields.args.set(event_target_value(&ev))></textarea>
        </label>
    }
}
