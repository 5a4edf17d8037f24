//! The RBAC policy: one pure function, [`may`], decides who may do what, on which object, in which
//! environment — SPEC.md's role table and production guardrails, written once. Every REST handler and
//! server function asks it; the UI asks the same function only to hide what would be refused.

use serde::{Deserialize, Serialize};

use crate::{ExecutionBackend, JobType, Role};

/// The caller, as the policy sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub user_id: i64,
    pub role: Role,
}

/// Everything the policy is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create, edit, deactivate users, reset their passwords, change roles.
    ManageUsers,
    /// Create, rename, delete teams and change their members.
    ManageTeams,
    /// Read the audit log.
    ReadAudit,
    /// Global settings and integrations.
    ManageSettings,
    /// Load the demo accounts and projects.
    LoadDemoData,
    /// The host metrics page.
    ViewServer,
    /// Read projects, jobs, runs, incidents.
    Read,
    CreateProject,
    /// Edit a project, its environments and links; archive it.
    UpdateProject,
    /// Take an environment out of production (unflag, rename or delete it): it lifts guardrails.
    LowerProductionGuard,
    DeleteProject,
    CreateJob,
    /// Edit a job's fields other than its window.
    UpdateJob,
    /// Move a job in time (drag and drop).
    RescheduleJob,
    DeleteJob,
    LaunchRun,
    /// Give a job to someone else than oneself (its owner is who an automatic start runs as
    /// before it is turned on by someone, and whom the calendar shows).
    AssignOwner,
    /// Change what a production job executes or where: its environment or its action.
    GovernProductionJob,
    ApproveRun,
    /// Approve or reject a move request (a production job moved by someone who may not alone).
    ApproveMove,
    /// Take back one's own move request.
    WithdrawMove,
    CancelRun,
    ManageIncidents,
    /// Remove an incident (opened by mistake): incidents are history.
    DeleteIncident,
    ManageBacklog,
    /// Link commits and merge requests to jobs.
    LinkCommit,
}

/// What the action is about; fields that do not apply stay `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Object {
    /// The project concerned, when there is one: `Some(owner)` where `owner` may be `None`.
    pub project_owner_id: Option<Option<i64>>,
    pub job_type: Option<JobType>,
    pub backend: Option<ExecutionBackend>,
    /// Who launched the run concerned (for a move request: who asked for it).
    pub run_launched_by: Option<i64>,
    /// Who last changed what the run executes (its job's action or environment).
    pub run_changed_by: Option<i64>,
}

impl Object {
    pub fn none() -> Self {
        Object::default()
    }

    pub fn project(owner_id: Option<i64>) -> Self {
        Object {
            project_owner_id: Some(owner_id),
            ..Object::default()
        }
    }

    pub fn job(owner_id: Option<i64>, job_type: JobType) -> Self {
        Object {
            project_owner_id: Some(owner_id),
            job_type: Some(job_type),
            ..Object::default()
        }
    }

    pub fn with_backend(self, backend: Option<ExecutionBackend>) -> Self {
        Object { backend, ..self }
    }

    pub fn with_launcher(self, launched_by: Option<i64>) -> Self {
        Object {
            run_launched_by: launched_by,
            ..self
        }
    }

    /// Who last changed what the run concerned executes: they may not approve it either.
    pub fn with_changer(self, changed_by: Option<i64>) -> Self {
        Object {
            run_changed_by: changed_by,
            ..self
        }
    }
}

/// The environment an action targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment<'a> {
    pub name: &'a str,
    pub is_production: bool,
}

impl Environment<'_> {
    /// Production is a flag, and `prod` / `production` always count as production, however
    /// they are written (`Prod`, `PRODUCTION`).
    pub fn is_production(&self) -> bool {
        self.is_production
            || self.name.eq_ignore_ascii_case("prod")
            || self.name.eq_ignore_ascii_case("production")
    }

    /// Staging-like environments: where `ops` must also use an isolated backend.
    pub fn is_staging(&self) -> bool {
        let name = self.name.to_ascii_lowercase();
        ["staging", "stage", "preprod", "pre-prod", "uat"]
            .iter()
            .any(|word| name.contains(word))
    }
}

/// Why an action is refused: `rule` is the stable code clients match on; `message` says the rule
/// in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub rule: &'static str,
    pub message: &'static str,
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed once a `projets` or `admin` user (not the requester) approves it.
    NeedsApproval(Refusal),
    Deny(Refusal),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

macro_rules! rule {
    ($code:literal, $message:literal) => {
        Refusal {
            rule: $code,
            message: $message,
        }
    };
}

const ADMIN_ONLY: Refusal = rule!("admin_only", "only an admin may do this");
const SERVER_VIEW: Refusal = rule!(
    "server_view_admin_ops",
    "the server view is for admin and ops"
);
const PROJECTS_BY_PROJETS: Refusal = rule!(
    "projects_managed_by_projets",
    "projects are created and managed by projets (PM / PO) and admin"
);
const OWN_PROJECTS: Refusal = rule!(
    "projets_own_projects",
    "projets manage the projects they own (or that have no owner)"
);
const DEV_JOBS: Refusal = rule!(
    "dev_jobs_non_production",
    "dev may plan and move dev jobs in non-production environments only"
);
const OPS_JOBS: Refusal = rule!(
    "ops_jobs",
    "ops may plan and move ops, maintenance and infra jobs only"
);
const PRODUCTION_MOVE: Refusal = rule!(
    "production_move_approval",
    "moving a production job needs the approval of projets or admin"
);
const JOB_DELETION: Refusal = rule!(
    "jobs_deleted_by_projets",
    "only projets (on their projects) and admin delete jobs"
);
const DEV_RUNS: Refusal = rule!(
    "dev_runs_non_production",
    "dev may launch build and test runs of dev jobs in non-production environments only"
);
const OPS_RUNS: Refusal = rule!(
    "ops_runs_ops_jobs",
    "ops launch runs of ops, maintenance and infra jobs"
);
const OPS_ISOLATED: Refusal = rule!(
    "ops_isolated_backends",
    "ops run in staging and production through docker, k8s or webhook backends only"
);
const RUNS_BY_DEV_OPS: Refusal = rule!(
    "runs_launched_by_dev_ops",
    "runs are launched by dev, ops and admin; projets approve them"
);
const PRODUCTION_BACKEND: Refusal = rule!(
    "production_backend",
    "a production run needs a docker, k8s or webhook backend; local is refused in production"
);
const PRODUCTION_APPROVAL: Refusal = rule!(
    "production_run_approval",
    "a production run waits for the approval of projets or admin"
);
const APPROVERS: Refusal = rule!(
    "approval_by_projets_or_admin",
    "only projets and admin approve production changes"
);
const APPROVER_OWNS: Refusal = rule!(
    "approval_by_project_owner",
    "projets approve the changes of the projects they own; admin approve any"
);
const FOUR_EYES: Refusal = rule!(
    "approver_is_not_requester",
    "a change cannot be approved by the person who asked for it or who last changed what it runs"
);
const OWNER_ASSIGNMENT: Refusal = rule!(
    "owner_assigned_by_project_owner",
    "only admin and the project's owner give a job to someone else"
);
const PRODUCTION_JOB_GOVERNANCE: Refusal = rule!(
    "production_job_changed_by_owner",
    "what a production job runs, and where, is changed by admin or the project's owner only"
);
const WITHDRAW_OWN: Refusal = rule!(
    "withdraw_own_requests",
    "a move request is withdrawn by whoever asked for it; projets and admin reject it"
);
const CANCEL_OWN: Refusal = rule!(
    "cancel_own_runs",
    "a run is cancelled by whoever launched it, the project's owner among projets, or admin"
);
const INCIDENTS: Refusal = rule!(
    "incidents_by_ops",
    "incidents are managed by ops, projets and admin"
);
const PRODUCTION_GUARD: Refusal = rule!(
    "production_guard_admin",
    "only an admin takes an environment out of production (unflags, renames or deletes it)"
);
const INCIDENT_DELETION: Refusal = rule!(
    "incidents_deleted_by_admin",
    "incidents are history: only an admin removes one opened by mistake"
);
const COMMITS: Refusal = rule!(
    "commits_linked_by_dev",
    "commits and merge requests are linked by dev, projets and admin"
);

/// Decides whether `user` may do `action` on `object` in `environment` (when one applies).
pub fn may(
    user: &Subject,
    action: Action,
    object: &Object,
    environment: Option<&Environment<'_>>,
) -> Decision {
    use Decision::{Allow, Deny, NeedsApproval};
    let role = user.role;
    let is_admin = role == Role::Admin;
    let in_production = environment.is_some_and(Environment::is_production);
    let owns_project = match object.project_owner_id {
        Some(owner) => owner.is_none() || owner == Some(user.user_id),
        None => false,
    };
    let projets_on_own = role == Role::Projets && owns_project;
    // Approvals and other people's runs need a named owner: an unowned project's are admin's.
    let projets_owner = role == Role::Projets
        && object
            .project_owner_id
            .is_some_and(|owner| owner == Some(user.user_id));
    let job_type = object.job_type;
    let ops_type = matches!(
        job_type,
        Some(JobType::Ops | JobType::Maintenance | JobType::Infra)
    );

    match action {
        Action::ManageUsers
        | Action::ManageTeams
        | Action::ReadAudit
        | Action::ManageSettings
        | Action::LoadDemoData => allow_if(is_admin, ADMIN_ONLY),
        Action::ViewServer => allow_if(is_admin || role == Role::Ops, SERVER_VIEW),
        Action::LowerProductionGuard => allow_if(is_admin, PRODUCTION_GUARD),
        Action::Read => Allow,
        Action::CreateProject => allow_if(is_admin || role == Role::Projets, PROJECTS_BY_PROJETS),
        Action::UpdateProject | Action::DeleteProject | Action::ManageBacklog => {
            if is_admin || projets_on_own {
                Allow
            } else if role == Role::Projets {
                Deny(OWN_PROJECTS)
            } else {
                Deny(PROJECTS_BY_PROJETS)
            }
        }
        Action::CreateJob | Action::UpdateJob | Action::RescheduleJob => match role {
            Role::Admin => Allow,
            Role::Projets => allow_if(owns_project, OWN_PROJECTS),
            Role::Dev => allow_if(job_type == Some(JobType::Dev) && !in_production, DEV_JOBS),
            Role::Ops if !ops_type => Deny(OPS_JOBS),
            // Planning new production work is ops' job; moving what is already planned there is
            // a change others rely on, so it goes through projets or admin.
            Role::Ops if in_production && action == Action::RescheduleJob => {
                NeedsApproval(PRODUCTION_MOVE)
            }
            Role::Ops => Allow,
        },
        Action::DeleteJob => allow_if(is_admin || projets_on_own, JOB_DELETION),
        Action::LaunchRun => {
            let role_allows = match role {
                Role::Admin => Ok(()),
                Role::Projets => Err(RUNS_BY_DEV_OPS),
                Role::Dev if job_type == Some(JobType::Dev) && !in_production => Ok(()),
                Role::Dev => Err(DEV_RUNS),
                Role::Ops if !ops_type => Err(OPS_RUNS),
                Role::Ops => {
                    let staging = environment.is_some_and(Environment::is_staging);
                    let isolated = object.backend.is_some_and(ExecutionBackend::is_isolated);
                    if (staging || in_production) && !isolated {
                        Err(OPS_ISOLATED)
                    } else {
                        Ok(())
                    }
                }
            };
            match role_allows {
                Err(refusal) => Deny(refusal),
                Ok(()) if in_production => {
                    if object.backend.is_some_and(ExecutionBackend::is_isolated) {
                        NeedsApproval(PRODUCTION_APPROVAL)
                    } else {
                        Deny(PRODUCTION_BACKEND)
                    }
                }
                Ok(()) => Allow,
            }
        }
        Action::AssignOwner | Action::GovernProductionJob => {
            let refusal = if action == Action::AssignOwner {
                OWNER_ASSIGNMENT
            } else {
                PRODUCTION_JOB_GOVERNANCE
            };
            allow_if(is_admin || projets_owner, refusal)
        }
        // `run_launched_by` is the requester for a move request.
        Action::ApproveRun | Action::ApproveMove => {
            let involved = [object.run_launched_by, object.run_changed_by];
            if !(is_admin || role == Role::Projets) {
                Deny(APPROVERS)
            } else if !is_admin && !projets_owner {
                Deny(APPROVER_OWNS)
            } else if involved.contains(&Some(user.user_id)) {
                Deny(FOUR_EYES)
            } else {
                Allow
            }
        }
        Action::WithdrawMove => {
            allow_if(object.run_launched_by == Some(user.user_id), WITHDRAW_OWN)
        }
        Action::CancelRun => allow_if(
            is_admin || projets_owner || object.run_launched_by == Some(user.user_id),
            CANCEL_OWN,
        ),
        Action::ManageIncidents => allow_if(role != Role::Dev, INCIDENTS),
        Action::DeleteIncident => allow_if(is_admin, INCIDENT_DELETION),
        Action::LinkCommit => allow_if(role != Role::Ops, COMMITS),
    }
}

fn allow_if(condition: bool, refusal: Refusal) -> Decision {
    if condition {
        Decision::Allow
    } else {
        Decision::Deny(refusal)
    }
}

#[cfg(test)]
mod tests;
