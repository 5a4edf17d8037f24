//! A project's context for tools and AI agents, assembled from the typed reads of each entity:
//! the types carry no secret, hash or token, so neither can the context.

use domain::ProjectContext;

use super::{now, reads, Db, IncidentFilter};
use crate::ServiceResult;

/// How many of the latest runs and incidents a context carries.
const CONTEXT_RECENT: u32 = 50;
/// Backlog items and links are per project and few; this only bounds a pathological project.
const CONTEXT_MAX_ITEMS: u32 = 1000;

reads! {
    fn project_context(project_id: i64) -> ProjectContext;
}

impl Db {
    pub async fn project_context(&mut self, project_id: i64) -> ServiceResult<ProjectContext> {
        let project = self.project_summary(project_id).await?;
        let environments = self.list_environments(project_id).await?;
        let jobs = self.list_project_jobs(project_id).await?;
        let runs = self.recent_project_runs(project_id, CONTEXT_RECENT).await?;
        let incident_filter = IncidentFilter {
            project_id: Some(project_id),
            ..IncidentFilter::default()
        };
        let mut incidents = self
            .list_incidents(&incident_filter, CONTEXT_RECENT)
            .await?;
        incidents.reverse();
        let backlog = self
            .list_backlog(project_id, &Default::default(), CONTEXT_MAX_ITEMS)
            .await?;
        let links = self.list_links(project_id, None).await?;
        let timeline = ProjectContext::timeline_of(&jobs, &runs, &incidents, &backlog);
        let deployments = self
            .deployed_runs(project_id, None, CONTEXT_RECENT)
            .await?
            .into_iter()
            .filter_map(|run| {
                Some(domain::context::ContextDeployment {
                    run_id: run.id,
                    job_id: run.job_id,
                    environment: run.environment,
                    commit_sha: run.commit_sha?,
                    at: run.finished_at,
                })
            })
            .collect();
        let terraform_plans = self
            .terraform_plans(project_id)
            .await?
            .into_iter()
            .take(CONTEXT_MAX_ITEMS as usize)
            .map(|plan| domain::context::ContextPlan {
                id: plan.id,
                workspace: plan.name,
                environment: plan.environment,
                summary: plan.summary,
                risky: plan.risky,
                run_id: plan.run_id,
                superseded: plan.superseded,
                created_at: plan.created_at,
            })
            .collect();
        let inventories = self.list_inventories(project_id).await?;
        Ok(ProjectContext {
            generated_at: now(),
            project,
            environments,
            jobs,
            runs,
            incidents,
            backlog,
            links,
            deployments,
            terraform_plans,
            inventories,
            timeline,
        })
    }
}
