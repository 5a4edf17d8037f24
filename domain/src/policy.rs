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
    /// Who launched the run concerned.
    pub run_launched_by: Option<i64>,
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
}

/// The environment an action targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment<'a> {
    pub name: &'a str,
    pub is_production: bool,
}

impl Environment<'_> {
    /// Production is a flag, and `prod` / `production` always count as production.
    pub fn is_production(&self) -> bool {
        self.is_production || matches!(self.name, "prod" | "production")
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
const FOUR_EYES: Refusal = rule!(
    "approver_is_not_requester",
    "a change cannot be approved by the person who asked for it"
);
const WITHDRAW_OWN: Refusal = rule!(
    "withdraw_own_requests",
    "a move request is withdrawn by whoever asked for it; projets and admin reject it"
);
const CANCEL_OWN: Refusal = rule!(
    "cancel_own_runs",
    "a run is cancelled by whoever launched it, projets or admin"
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
        // `run_launched_by` is the requester for a move request.
        Action::ApproveRun | Action::ApproveMove => {
            if !(is_admin || role == Role::Projets) {
                Deny(APPROVERS)
            } else if object.run_launched_by == Some(user.user_id) {
                Deny(FOUR_EYES)
            } else {
                Allow
            }
        }
        Action::WithdrawMove => {
            allow_if(object.run_launched_by == Some(user.user_id), WITHDRAW_OWN)
        }
        Action::CancelRun => allow_if(
            is_admin || role == Role::Projets || object.run_launched_by == Some(user.user_id),
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
mod tests {
    use super::*;

    const PROD: Environment<'static> = Environment {
        name: "prod",
        is_production: true,
    };
    const STAGING: Environment<'static> = Environment {
        name: "staging",
        is_production: false,
    };
    const DEV: Environment<'static> = Environment {
        name: "dev",
        is_production: false,
    };

    fn subject(role: Role) -> Subject {
        Subject { user_id: 7, role }
    }

    fn rule(decision: Decision) -> &'static str {
        match decision {
            Decision::Allow => "allow",
            Decision::NeedsApproval(refusal) => refusal.rule,
            Decision::Deny(refusal) => refusal.rule,
        }
    }

    #[test]
    fn governance_is_for_admin_only() {
        for action in [
            Action::ManageUsers,
            Action::ManageTeams,
            Action::ReadAudit,
            Action::ManageSettings,
            Action::LoadDemoData,
        ] {
            for role in Role::ALL {
                let decision = may(&subject(*role), action, &Object::none(), None);
                assert_eq!(
                    decision.is_allowed(),
                    *role == Role::Admin,
                    "{role} {action:?}"
                );
            }
        }
        assert_eq!(
            rule(may(
                &subject(Role::Dev),
                Action::ViewServer,
                &Object::none(),
                None
            )),
            "server_view_admin_ops"
        );
        assert!(may(
            &subject(Role::Ops),
            Action::ViewServer,
            &Object::none(),
            None
        )
        .is_allowed());
    }

    #[test]
    fn projets_manage_their_own_projects_and_unowned_ones() {
        let pm = subject(Role::Projets);
        assert!(may(&pm, Action::UpdateProject, &Object::project(Some(7)), None).is_allowed());
        assert!(may(&pm, Action::UpdateProject, &Object::project(None), None).is_allowed());
        assert_eq!(
            rule(may(
                &pm,
                Action::UpdateProject,
                &Object::project(Some(8)),
                None
            )),
            "projets_own_projects"
        );
        assert_eq!(
            rule(may(
                &subject(Role::Ops),
                Action::CreateProject,
                &Object::none(),
                None
            )),
            "projects_managed_by_projets"
        );
    }

    #[test]
    fn job_planning_follows_role_and_type() {
        let others = Object::job(Some(99), JobType::Dev);
        let dev = subject(Role::Dev);
        assert!(may(&dev, Action::RescheduleJob, &others, Some(&STAGING)).is_allowed());
        assert_eq!(
            rule(may(&dev, Action::RescheduleJob, &others, Some(&PROD))),
            "dev_jobs_non_production"
        );
        let ops = subject(Role::Ops);
        let maintenance = Object::job(Some(99), JobType::Maintenance);
        assert!(may(&ops, Action::CreateJob, &maintenance, Some(&PROD)).is_allowed());
        assert_eq!(
            may(&ops, Action::RescheduleJob, &maintenance, Some(&PROD)),
            Decision::NeedsApproval(PRODUCTION_MOVE)
        );
        assert_eq!(
            rule(may(&ops, Action::CreateJob, &others, Some(&DEV))),
            "ops_jobs"
        );
        let meeting = Object::job(Some(99), JobType::Meeting);
        assert!(!may(&ops, Action::RescheduleJob, &meeting, None).is_allowed());
        assert!(!may(&dev, Action::RescheduleJob, &meeting, None).is_allowed());
        assert!(may(
            &subject(Role::Admin),
            Action::RescheduleJob,
            &meeting,
            Some(&PROD)
        )
        .is_allowed());
        assert_eq!(
            rule(may(
                &subject(Role::Projets),
                Action::DeleteJob,
                &others,
                None
            )),
            "jobs_deleted_by_projets"
        );
    }

    #[test]
    fn production_runs_need_an_isolated_backend_and_an_approval() {
        let deploy = Object::job(None, JobType::Ops);
        for role in [Role::Admin, Role::Ops] {
            let user = subject(role);
            let local = deploy.with_backend(Some(ExecutionBackend::Local));
            let docker = deploy.with_backend(Some(ExecutionBackend::Docker));
            assert!(!may(&user, Action::LaunchRun, &local, Some(&PROD)).is_allowed());
            assert_eq!(
                may(&user, Action::LaunchRun, &docker, Some(&PROD)),
                Decision::NeedsApproval(PRODUCTION_APPROVAL)
            );
        }
        // A flagged environment is production whatever its name.
        let live = Environment {
            name: "live",
            is_production: true,
        };
        let docker = deploy.with_backend(Some(ExecutionBackend::Docker));
        assert!(!may(
            &subject(Role::Admin),
            Action::LaunchRun,
            &docker,
            Some(&live)
        )
        .is_allowed());
        assert_eq!(
            rule(may(
                &subject(Role::Admin),
                Action::LaunchRun,
                &deploy.with_backend(Some(ExecutionBackend::Local)),
                Some(&live)
            )),
            "production_backend"
        );
    }

    #[test]
    fn ops_use_isolated_backends_in_staging_and_dev_stays_out_of_production() {
        let ops = subject(Role::Ops);
        let local = Object::job(None, JobType::Ops).with_backend(Some(ExecutionBackend::Local));
        assert_eq!(
            rule(may(&ops, Action::LaunchRun, &local, Some(&STAGING))),
            "ops_isolated_backends"
        );
        assert!(may(&ops, Action::LaunchRun, &local, Some(&DEV)).is_allowed());
        let dev = subject(Role::Dev);
        let build = Object::job(None, JobType::Dev).with_backend(Some(ExecutionBackend::Docker));
        assert!(may(&dev, Action::LaunchRun, &build, Some(&STAGING)).is_allowed());
        assert_eq!(
            rule(may(&dev, Action::LaunchRun, &build, Some(&PROD))),
            "dev_runs_non_production"
        );
        assert_eq!(
            rule(may(
                &subject(Role::Projets),
                Action::LaunchRun,
                &build,
                Some(&DEV)
            )),
            "runs_launched_by_dev_ops"
        );
    }

    #[test]
    fn approvals_need_projets_or_admin_and_four_eyes() {
        let run = Object::job(None, JobType::Ops).with_launcher(Some(7));
        assert_eq!(
            rule(may(
                &subject(Role::Admin),
                Action::ApproveRun,
                &run,
                Some(&PROD)
            )),
            "approver_is_not_requester"
        );
        let other = Subject {
            user_id: 8,
            role: Role::Projets,
        };
        assert!(may(&other, Action::ApproveRun, &run, Some(&PROD)).is_allowed());
        let ops = Subject {
            user_id: 8,
            role: Role::Ops,
        };
        assert_eq!(
            rule(may(&ops, Action::ApproveRun, &run, Some(&PROD))),
            "approval_by_projets_or_admin"
        );
        assert_eq!(
            rule(may(&ops, Action::CancelRun, &run, Some(&PROD))),
            "cancel_own_runs"
        );
        assert!(may(&subject(Role::Ops), Action::CancelRun, &run, Some(&PROD)).is_allowed());
        // Move requests follow the same four-eyes rule; only the requester withdraws one.
        let request = Object::job(None, JobType::Ops).with_launcher(Some(7));
        assert!(may(&other, Action::ApproveMove, &request, None).is_allowed());
        assert_eq!(
            rule(may(&ops, Action::ApproveMove, &request, None)),
            "approval_by_projets_or_admin"
        );
        let requester = Subject {
            user_id: 7,
            role: Role::Ops,
        };
        assert!(may(&requester, Action::WithdrawMove, &request, None).is_allowed());
        assert_eq!(
            rule(may(&other, Action::WithdrawMove, &request, None)),
            "withdraw_own_requests"
        );
    }

    #[test]
    fn guardrails_hold_over_the_whole_matrix() {
        // Every role × action × job type × environment × backend: nothing ever runs in production
        // without an approval, local never runs there, and dev never acts on production.
        let environments = [None, Some(DEV), Some(STAGING), Some(PROD)];
        for role in Role::ALL {
            for action in ALL_ACTIONS {
                for job_type in JobType::ALL {
                    for backend in ExecutionBackend::ALL {
                        for environment in &environments {
                            let object =
                                Object::job(Some(1), *job_type).with_backend(Some(*backend));
                            let decision =
                                may(&subject(*role), *action, &object, environment.as_ref());
                            let production =
                                environment.as_ref().is_some_and(Environment::is_production);
                            if production && *action == Action::LaunchRun {
                                assert!(
                                    !decision.is_allowed(),
                                    "{role} {backend} ran in prod without approval"
                                );
                            }
                            if production && *action == Action::LaunchRun && !backend.is_isolated()
                            {
                                assert!(
                                    matches!(decision, Decision::Deny(_)),
                                    "{role} {backend} in prod"
                                );
                            }
                            let writes = !matches!(action, Action::Read | Action::LinkCommit);
                            if production
                                && *role == Role::Dev
                                && writes
                                && *action != Action::CancelRun
                            {
                                assert!(!decision.is_allowed(), "dev may {action:?} in prod");
                            }
                        }
                    }
                }
            }
        }
    }

    const ALL_ACTIONS: &[Action] = &[
        Action::ManageUsers,
        Action::ManageTeams,
        Action::ReadAudit,
        Action::ManageSettings,
        Action::LoadDemoData,
        Action::ViewServer,
        Action::Read,
        Action::CreateProject,
        Action::UpdateProject,
        Action::DeleteProject,
        Action::CreateJob,
        Action::UpdateJob,
        Action::RescheduleJob,
        Action::DeleteJob,
        Action::LaunchRun,
        Action::ApproveRun,
        Action::ApproveMove,
        Action::WithdrawMove,
        Action::CancelRun,
        Action::ManageIncidents,
        Action::ManageBacklog,
        Action::LinkCommit,
    ];
}
