//! Searching everything at once (the command palette): projects, jobs, incidents, and users for
//! those who manage them, best matches first.

use domain::policy::{Action, Object};
use domain::{fuzzy_score, HitKind, SearchHit};
use tracing::instrument;

use crate::storage::{IncidentFilter, JobFilter};
use crate::{Caller, Hub, ServiceResult};

/// How many results of each kind come back.
const HITS_PER_KIND: usize = 6;
/// The longest query searched.
const MAX_QUERY_CHARS: usize = 100;

/// Projects, jobs, incidents (and users, for those who manage them) matching `query`, best
/// first; nothing for an empty or overlong query.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn search(hub: &Hub, caller: &Caller, query: &str) -> ServiceResult<Vec<SearchHit>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let query = query.trim();
    if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
        return Ok(Vec::new());
    }
    let mut db = hub.storage.read().await?;
    let projects = db.list_project_summaries().await?;
    let project_name = |id: i64| {
        projects
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let mut by_kind: Vec<Vec<SearchHit>> = Vec::new();

    by_kind.push(ranked(projects.iter().filter_map(|project| {
        Some(SearchHit {
            kind: HitKind::Project,
            id: project.id,
            title: project.name.clone(),
            detail: project.environments.join(" · "),
            href: format!("/projects/{}", project.id),
            score: fuzzy_score(query, &project.name)?,
        })
    })));

    let jobs = db.list_jobs(&JobFilter::default(), 5000).await?;
    by_kind.push(ranked(jobs.iter().filter_map(|job| {
        Some(SearchHit {
            kind: HitKind::Job,
            id: job.id,
            title: job.title.clone(),
            detail: format!(
                "{} · {} · {}",
                project_name(job.project_id),
                job.job_type,
                job.planned_start.format("%Y-%m-%d")
            ),
            href: format!("/jobs/{}", job.id),
            score: fuzzy_score(query, &job.title)?,
        })
    })));

    let incidents = db.list_incidents(&IncidentFilter::default(), 1000).await?;
    by_kind.push(ranked(incidents.iter().filter_map(|incident| {
        Some(SearchHit {
            kind: HitKind::Incident,
            id: incident.id,
            title: incident.title.clone(),
            detail: format!("{} · {}", incident.severity, incident.status),
            href: format!("/incidents/{}", incident.id),
            score: fuzzy_score(query, &incident.title)?,
        })
    })));

    if caller
        .may(Action::ManageUsers, &Object::none(), None)
        .is_ok()
    {
        let users = db.list_users().await?;
        by_kind.push(ranked(users.iter().filter_map(|user| {
            let score =
                fuzzy_score(query, &user.display_name).max(fuzzy_score(query, &user.username))?;
            Some(SearchHit {
                kind: HitKind::User,
                id: user.id,
                title: user.display_name.clone(),
                detail: format!("@{} · {}", user.username, user.role),
                href: format!("/admin?tab=users#user-{}", user.id),
                score,
            })
        })));
    }
    let mut hits: Vec<SearchHit> = by_kind.into_iter().flatten().collect();
    hits.sort_by_key(|hit| std::cmp::Reverse(hit.score));
    Ok(hits)
}

/// The best `HITS_PER_KIND` of one kind.
fn ranked(hits: impl Iterator<Item = SearchHit>) -> Vec<SearchHit> {
    let mut hits: Vec<SearchHit> = hits.collect();
    hits.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.title.len().cmp(&b.title.len()))
    });
    hits.truncate(HITS_PER_KIND);
    hits
}
