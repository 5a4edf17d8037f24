//! Searching everything at once (the command palette): projects, jobs, incidents, the commits
//! and merge requests linked to jobs (by title, SHA prefix or number), and users for those who
//! manage them, best matches first.

use domain::policy::{Action, Object};
use domain::{fuzzy_score, ChangeKind, HitKind, SearchHit};
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

    let changes = db.recent_code_changes(2000).await?;
    let job_title = |id: i64| {
        jobs.iter()
            .find(|job| job.id == id)
            .map(|job| job.title.clone())
            .unwrap_or_default()
    };
    for kind in [ChangeKind::Commit, ChangeKind::MergeRequest] {
        let mut seen = std::collections::HashSet::new();
        by_kind.push(ranked(
            changes
                .iter()
                .filter(|change| change.kind == kind)
                // One hit per change, for the job it was linked to most recently.
                .filter(|change| seen.insert((change.link_id, change.sha.clone(), change.number)))
                .filter_map(|change| {
                    let (reference, hit_kind) = match kind {
                        ChangeKind::Commit => (
                            change
                                .sha
                                .as_deref()
                                .unwrap_or_default()
                                .chars()
                                .take(10)
                                .collect::<String>(),
                            HitKind::Commit,
                        ),
                        ChangeKind::MergeRequest => (
                            format!("!{}", change.number.unwrap_or_default()),
                            HitKind::MergeRequest,
                        ),
                    };
                    let score = change_score(query, change)?;
                    Some(SearchHit {
                        kind: hit_kind,
                        id: change.id,
                        title: change.title.clone(),
                        detail: format!("{reference} · {}", job_title(change.job_id)),
                        href: format!("/jobs/{}", change.job_id),
                        score,
                    })
                }),
        ));
    }

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

/// How well `query` finds a linked change: its SHA's prefix (4 hex digits at least) or its
/// number (`!12`, `#12` or `12`) exactly, above any fuzzy match of its title.
fn change_score(query: &str, change: &domain::CodeChange) -> Option<i32> {
    const EXACT: i32 = 1000;
    let lower = query.to_ascii_lowercase();
    let sha_prefix = lower.len() >= 4 && lower.chars().all(|c| c.is_ascii_hexdigit());
    if sha_prefix
        && change
            .sha
            .as_deref()
            .is_some_and(|sha| sha.starts_with(&lower))
    {
        return Some(EXACT);
    }
    let number = lower.trim_start_matches(['!', '#']).parse::<i64>().ok();
    if number.is_some() && number == change.number {
        return Some(EXACT);
    }
    fuzzy_score(query, &change.title)
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
