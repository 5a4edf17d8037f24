//! The deploy ledger: what was deployed where — the successful runs of actions from a
//! repository, each with its commit and the commits since the previous deployment of the same
//! repository in the same environment.

use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::JobAction;
use serde::Serialize;

use crate::git_mirror::{commits_between, Commit};
use crate::{Caller, Hub, ServiceResult};

/// Deployments listed at most.
const MAX_DEPLOYMENTS: u32 = 100;

/// One deployment: a successful run of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub run_id: i64,
    pub job_id: i64,
    pub job_title: String,
    /// The repository link the commit is from.
    pub link_id: i64,
    pub commit_sha: String,
    pub environment: Option<String>,
    /// Who launched the run (`null`: uHub itself, an automatic start).
    pub launched_by: Option<i64>,
    pub launched_by_username: Option<String>,
    /// When the run ended.
    pub at: Option<DateTime<Utc>>,
    /// The commit of the previous deployment of this repository in this environment.
    pub previous_sha: Option<String>,
    /// The commits between the previous deployment's and this one, newest first (empty for
    /// the first deployment, or when the same commit was deployed again).
    pub changes_since_previous: Vec<Commit>,
}

/// A project's deployments, newest first, in `environment` when given (whoever may read it).
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    environment: Option<&str>,
) -> ServiceResult<Vec<Deployment>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let environment = environment.map(str::trim).filter(|e| !e.is_empty());
    let (runs, titles) = {
        let mut db = hub.storage.read().await?;
        db.project_access(project_id).await?;
        let runs = db
            .deployed_runs(project_id, environment, MAX_DEPLOYMENTS)
            .await?;
        let mut titles = std::collections::HashMap::new();
        for run in &runs {
            if let std::collections::hash_map::Entry::Vacant(slot) = titles.entry(run.job_id) {
                slot.insert(
                    db.job(run.job_id)
                        .await
                        .map(|j| j.title)
                        .unwrap_or_default(),
                );
            }
        }
        (runs, titles)
    };
    let found: Vec<(domain::Run, i64, String)> = runs
        .into_iter()
        .filter_map(|run| {
            let link_id = run.action.as_ref().and_then(JobAction::repository)?.0;
            let sha = run.commit_sha.clone()?;
            Some((run, link_id, sha))
        })
        .collect();
    let mut deployments = Vec::with_capacity(found.len());
    for (index, (run, link_id, sha)) in found.iter().enumerate() {
        // The next older deployment of the same repository in the same environment.
        let previous = found[index + 1..]
            .iter()
            .find(|(older, older_link, _)| {
                older_link == link_id && older.environment == run.environment
            })
            .map(|(_, _, older_sha)| older_sha.clone());
        let changes = match &previous {
            Some(previous) if previous != sha => {
                commits_between(hub, *link_id, previous, sha).await?
            }
            _ => Vec::new(),
        };
        deployments.push(Deployment {
            run_id: run.id,
            job_id: run.job_id,
            job_title: titles.get(&run.job_id).cloned().unwrap_or_default(),
            link_id: *link_id,
            commit_sha: sha.clone(),
            environment: run.environment.clone(),
            launched_by: run.launched_by,
            launched_by_username: run.launched_by_username.clone(),
            at: run.finished_at,
            previous_sha: previous,
            changes_since_previous: changes,
        });
    }
    Ok(deployments)
}
