//! The words for the domain's values in the page's language: roles, job types and statuses,
//! run statuses, backends, backlog and incident values. The API keeps the stable spellings
//! (`awaiting_approval`); people read these.

use domain::{
    BacklogKind, BacklogStatus, ColorMode, ExecutionBackend, IncidentSeverity, IncidentStatus,
    JobAction, JobStatus, JobType, LinkKind, ProjectState, Role, RunStatus, WebhookPreset,
};

use crate::i18n::{t, tf};

pub fn role(role: Role) -> &'static str {
    match role {
        Role::Admin => t("admin"),
        Role::Projets => t("projets"),
        Role::Dev => t("dev"),
        Role::Ops => t("ops"),
    }
}

pub fn job_type(kind: JobType) -> &'static str {
    match kind {
        JobType::Dev => t("development"),
        JobType::Ops => t("operations"),
        JobType::Maintenance => t("maintenance"),
        JobType::Meeting => t("meeting"),
        JobType::Infra => t("infrastructure"),
    }
}

pub fn job_status(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Planned => t("planned"),
        JobStatus::Running => t("running"),
        JobStatus::Success => t("succeeded"),
        JobStatus::Failed => t("failed"),
        JobStatus::Canceled => t("canceled"),
    }
}

pub fn run_status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => t("queued"),
        RunStatus::AwaitingApproval => t("awaiting approval"),
        RunStatus::Running => t("running"),
        RunStatus::Success => t("succeeded"),
        RunStatus::Failed => t("failed"),
        RunStatus::Canceled => t("canceled"),
        RunStatus::TimedOut => t("timed out"),
    }
}

pub fn backend(backend: ExecutionBackend) -> &'static str {
    match backend {
        ExecutionBackend::Local => t("local script"),
        ExecutionBackend::Docker => t("Docker container"),
        ExecutionBackend::Webhook => t("webhook"),
        ExecutionBackend::Ssh => t("SSH (not available yet)"),
        ExecutionBackend::K8s => t("Kubernetes (not available yet)"),
        ExecutionBackend::Serverless => t("serverless (not available yet)"),
    }
}

pub fn webhook_preset(preset: WebhookPreset) -> &'static str {
    match preset {
        WebhookPreset::Generic => t("generic (signed JSON)"),
        WebhookPreset::GithubActions => t("GitHub Actions (workflow_dispatch)"),
        WebhookPreset::GitlabPipeline => t("GitLab pipeline trigger"),
    }
}

pub fn backlog_kind(kind: BacklogKind) -> &'static str {
    match kind {
        BacklogKind::Task => t("task"),
        BacklogKind::Milestone => t("milestone"),
    }
}

pub fn backlog_status(status: BacklogStatus) -> &'static str {
    match status {
        BacklogStatus::Todo => t("to do"),
        BacklogStatus::InProgress => t("in progress"),
        BacklogStatus::Done => t("done"),
        BacklogStatus::Canceled => t("canceled"),
    }
}

pub fn severity(severity: IncidentSeverity) -> &'static str {
    match severity {
        IncidentSeverity::Sev1 => t("SEV1 critical"),
        IncidentSeverity::Sev2 => t("SEV2 major"),
        IncidentSeverity::Sev3 => t("SEV3 minor"),
        IncidentSeverity::Sev4 => t("SEV4 low"),
    }
}

pub fn incident_status(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Open => t("open"),
        IncidentStatus::Investigating => t("investigating"),
        IncidentStatus::Mitigated => t("mitigated"),
        IncidentStatus::Resolved => t("resolved"),
        IncidentStatus::Closed => t("closed"),
    }
}

pub fn project_state(state: ProjectState) -> &'static str {
    match state {
        ProjectState::Active => t("active"),
        ProjectState::Archived => t("archived"),
    }
}

pub fn link_kind(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::GitRepo => t("Git repository"),
        LinkKind::AnsibleInventory => t("Ansible inventory"),
        LinkKind::TerraformPlan => t("Terraform plan"),
        LinkKind::K8sCluster => t("Kubernetes cluster"),
    }
}

pub fn colour_mode(mode: ColorMode) -> &'static str {
    match mode {
        ColorMode::Project => t("by project"),
        ColorMode::Type => t("by type"),
        ColorMode::Status => t("by status"),
    }
}

/// What an action executes, as a person reads it: the script or image and its arguments (each
/// quoted when it holds a space), or the webhook's ref and inputs.
pub fn action_summary(action: &JobAction) -> String {
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
    let source = match action.repository() {
        Some((repo, git_ref)) => tf(
            "from repository #{repo} at {ref} ",
            &[
                ("repo", &repo.to_string()),
                ("ref", git_ref.unwrap_or(t("its default branch"))),
            ],
        ),
        None => String::new(),
    };
    let line = match action {
        JobAction::Script { path, args, .. } => tf(
            "{source}script {path} {args}",
            &[("source", &source), ("path", path), ("args", &quoted(args))],
        ),
        JobAction::Container { image, command, .. } => tf(
            "{source}container {image} {command}",
            &[
                ("source", &source),
                ("image", image),
                ("command", &quoted(command)),
            ],
        ),
        JobAction::Ansible {
            playbook,
            inventory,
            limit,
            check,
            ..
        } => tf(
            "{source}playbook {playbook} on inventory #{inventory}{limit}{check}",
            &[
                ("source", &source),
                ("playbook", playbook),
                ("inventory", &inventory.to_string()),
                (
                    "limit",
                    &limit
                        .as_deref()
                        .map(|l| format!(" --limit {l}"))
                        .unwrap_or_default(),
                ),
                ("check", if *check { t(" (check mode)") } else { "" }),
            ],
        ),
        JobAction::Terraform {
            dir,
            workspace,
            operation,
            plan_run,
            ..
        } => tf(
            "{source}terraform {operation} in {dir} (workspace {workspace}){plan_run}",
            &[
                ("source", &source),
                (
                    "operation",
                    match operation {
                        domain::terraform::TerraformOperation::Plan => "plan",
                        domain::terraform::TerraformOperation::Apply => "apply",
                    },
                ),
                ("dir", dir),
                ("workspace", workspace),
                (
                    "plan_run",
                    &plan_run
                        .map(|id| tf(" of plan run #{id}", &[("id", &id.to_string())]))
                        .unwrap_or_default(),
                ),
            ],
        ),
        JobAction::Kubectl { cluster, args } => tf(
            "kubectl {args} on cluster #{cluster}",
            &[("args", &quoted(args)), ("cluster", &cluster.to_string())],
        ),
        JobAction::Webhook { git_ref, inputs } => {
            let inputs: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            tf(
                "webhook ref {ref} {inputs}",
                &[
                    ("ref", git_ref.as_deref().unwrap_or("main")),
                    ("inputs", &inputs.join(" ")),
                ],
            )
        }
    };
    line.trim_end().to_owned()
}
