//! The policy's rules, one test per rule and role, and the printed matrix.
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
    // The project is owned by user 8.
    let run = Object::job(Some(8), JobType::Ops).with_launcher(Some(7));
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
    let request = Object::job(Some(8), JobType::Ops).with_launcher(Some(7));
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
fn approvals_and_cancels_of_others_belong_to_the_project_owner_or_admin() {
    // A projets user who does not own the run's project may not approve it, nor cancel it,
    // nor decide a move request; an unowned project's are admin's.
    let run = Object::job(Some(8), JobType::Ops).with_launcher(Some(7));
    let stranger = Subject {
        user_id: 9,
        role: Role::Projets,
    };
    for action in [Action::ApproveRun, Action::ApproveMove] {
        assert_eq!(
            rule(may(&stranger, action, &run, Some(&PROD))),
            "approval_by_project_owner"
        );
    }
    assert_eq!(
        rule(may(&stranger, Action::CancelRun, &run, Some(&PROD))),
        "cancel_own_runs"
    );
    let unowned = Object::job(None, JobType::Ops).with_launcher(Some(7));
    assert_eq!(
        rule(may(&stranger, Action::ApproveRun, &unowned, Some(&PROD))),
        "approval_by_project_owner"
    );
    let admin = Subject {
        user_id: 9,
        role: Role::Admin,
    };
    assert!(may(&admin, Action::ApproveRun, &unowned, Some(&PROD)).is_allowed());
}

#[test]
fn nobody_approves_a_run_whose_action_they_last_changed() {
    let owner = Subject {
        user_id: 8,
        role: Role::Projets,
    };
    let run = Object::job(Some(8), JobType::Ops)
        .with_launcher(Some(7))
        .with_changer(Some(8));
    assert_eq!(
        rule(may(&owner, Action::ApproveRun, &run, Some(&PROD))),
        "approver_is_not_requester"
    );
    let admin = Subject {
        user_id: 8,
        role: Role::Admin,
    };
    assert_eq!(
        rule(may(&admin, Action::ApproveRun, &run, Some(&PROD))),
        "approver_is_not_requester"
    );
}

#[test]
fn production_is_recognised_however_it_is_written() {
    for name in ["prod", "Prod", "PROD", "production", "Production"] {
        let environment = Environment {
            name,
            is_production: false,
        };
        assert!(environment.is_production(), "{name}");
    }
    let flagged = Environment {
        name: "live",
        is_production: true,
    };
    assert!(flagged.is_production());
    let other = Environment {
        name: "products",
        is_production: false,
    };
    assert!(!other.is_production());
}

#[test]
fn owners_and_production_jobs_are_governed_by_the_project_owner() {
    let job = Object::job(Some(8), JobType::Ops);
    let owner = Subject {
        user_id: 8,
        role: Role::Projets,
    };
    for action in [Action::AssignOwner, Action::GovernProductionJob] {
        assert!(may(&owner, action, &job, Some(&PROD)).is_allowed());
        assert!(may(&subject(Role::Admin), action, &job, Some(&PROD)).is_allowed());
        for role in [Role::Ops, Role::Dev, Role::Projets] {
            assert!(
                !may(&subject(role), action, &job, Some(&PROD)).is_allowed(),
                "{role} {action:?}"
            );
        }
    }
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
                        let object = Object::job(Some(1), *job_type).with_backend(Some(*backend));
                        let decision = may(&subject(*role), *action, &object, environment.as_ref());
                        let production =
                            environment.as_ref().is_some_and(Environment::is_production);
                        if production && *action == Action::LaunchRun {
                            assert!(
                                !decision.is_allowed(),
                                "{role} {backend} ran in prod without approval"
                            );
                        }
                        if production && *action == Action::LaunchRun && !backend.is_isolated() {
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
    Action::AssignOwner,
    Action::GovernProductionJob,
    Action::ApproveRun,
    Action::ApproveMove,
    Action::WithdrawMove,
    Action::CancelRun,
    Action::ManageIncidents,
    Action::ManageBacklog,
    Action::LinkCommit,
];
