//! The changes suspected of causing an incident: every run of the hours before detection,
//! scored by documented, deterministic rules (docs/incidents.md), the impossible ones ruled out
//! with why; and the team's verdict on each.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use domain::incident::Suspect;
use domain::terraform::TerraformOperation;
use domain::{Incident, JobAction, RunStatus};
use tracing::instrument;

use super::{minutes, readable, short, writable, Titles, MAX_RUNS};
use crate::storage::Db;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// The changes in the `hours` (1 to 168, 24 by default) before detection, best suspect first;
/// changes that cannot have caused it are listed last with `score: 0` and why.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn suspects(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    hours: Option<u32>,
) -> ServiceResult<Vec<Suspect>> {
    let hours = hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ServiceError::invalid("hours", "must be 1 to 168"));
    }
    let (mut db, incident) = readable(hub, caller, id).await?;
    rank(&mut db, &incident, hours).await
}

pub(super) async fn rank(
    db: &mut Db,
    incident: &Incident,
    hours: u32,
) -> ServiceResult<Vec<Suspect>> {
    let detected = incident.detected_at;
    let window = Duration::hours(i64::from(hours));
    let from = detected - window;
    let links = db.incident_links(incident.id).await?;
    let linked_runs: HashSet<i64> = links
        .iter()
        .filter(|(k, _)| k == "run")
        .map(|(_, id)| *id)
        .collect();
    let linked_jobs: HashSet<i64> = links
        .iter()
        .filter(|(k, _)| k == "job")
        .map(|(_, id)| *id)
        .chain(incident.job_id)
        .collect();
    let verdicts: HashMap<String, String> = db
        .incident_verdicts(incident.id)
        .await?
        .into_iter()
        .collect();
    let incident_project = match incident.project_id {
        Some(p) => Some(db.project_summary(p).await?.name),
        None => None,
    };
    let mut projects: HashMap<i64, String> = HashMap::new();
    let mut production: HashMap<(i64, String), bool> = HashMap::new();
    let mut titles = Titles(HashMap::new());
    let mut found = Vec::new();
    for run in db
        .runs_between(from, detected + Duration::seconds(1), MAX_RUNS)
        .await?
    {
        // What happened after detection did not cause it; queued and awaiting runs changed nothing.
        let at = run.finished_at.or(run.started_at).unwrap_or(run.created_at);
        if at > detected || matches!(run.status, RunStatus::Queued | RunStatus::AwaitingApproval) {
            continue;
        }
        let job = titles
            .of(db, run.job_id)
            .await
            .map(|(title, _)| title)
            .unwrap_or_else(|| format!("job #{}", run.job_id));
        let before = minutes(detected - at);
        let place = run
            .environment
            .clone()
            .unwrap_or_else(|| "no environment".to_owned());
        let (kind, what) = match &run.action {
            Some(JobAction::Terraform {
                operation: TerraformOperation::Apply,
                workspace,
                ..
            }) => (
                "terraform_apply",
                format!("Terraform apply of workspace {workspace} (run #{})", run.id),
            ),
            Some(JobAction::Terraform { workspace, .. }) => (
                "run",
                format!("Terraform plan of workspace {workspace} (run #{})", run.id),
            ),
            Some(JobAction::Ansible { playbook, .. }) => (
                "ansible_run",
                format!("Playbook {playbook} (run #{})", run.id),
            ),
            _ if run.commit_sha.is_some() && run.status == RunStatus::Success => (
                "deployment",
                format!(
                    "Deployment of {} by «{job}» (run #{})",
                    short(run.commit_sha.as_deref().unwrap_or("")),
                    run.id
                ),
            ),
            _ => ("run", format!("Run #{} of «{job}»", run.id)),
        };
        let reference = format!("run:{}", run.id);
        let mut reasons = Vec::new();
        let mut ruled_out = None;
        if let (Some(incident_project_id), Some(name)) = (incident.project_id, &incident_project) {
            if run.project_id != incident_project_id {
                let other = match projects.get(&run.project_id) {
                    Some(other) => other.clone(),
                    None => {
                        let other = db
                            .project_summary(run.project_id)
                            .await
                            .map(|p| p.name)
                            .unwrap_or_default();
                        projects.insert(run.project_id, other.clone());
                        other
                    }
                };
                ruled_out = Some(format!(
                    "another project ({other}) than the incident's ({name})"
                ));
            }
        }
        if ruled_out.is_none() {
            ruled_out = match &run.action {
                Some(JobAction::Terraform {
                    operation: TerraformOperation::Plan,
                    ..
                }) => Some("a Terraform plan changes nothing".to_owned()),
                Some(JobAction::Ansible { check: true, .. }) => {
                    Some("an Ansible check-mode run changes nothing".to_owned())
                }
                // Canceled before it started: nothing ran. (Runs recorded without a start time,
                // by older versions or another engine, still count.)
                _ if run.status == RunStatus::Canceled && run.started_at.is_none() => {
                    Some("canceled before it started: it changed nothing".to_owned())
                }
                _ => None,
            };
        }
        let mut score = 0u32;
        if ruled_out.is_none() {
            score += 40;
            reasons.push("same project as the incident".to_owned());
            let is_production = match (
                &run.environment,
                production.get(&(run.project_id, place.clone())),
            ) {
                (None, _) => false,
                (Some(_), Some(known)) => *known,
                (Some(name), None) => {
                    let known = db
                        .environment(run.project_id, name)
                        .await
                        .map(|e| e.is_production)
                        .unwrap_or(false);
                    production.insert((run.project_id, place.clone()), known);
                    known
                }
            };
            if is_production {
                score += 15;
                reasons.push(format!("in production ({place})"));
            }
            match kind {
                "deployment" => {
                    score += 20;
                    reasons.push(format!(
                        "deployed {} to {place} {before} min before detection",
                        short(run.commit_sha.as_deref().unwrap_or(""))
                    ));
                }
                "terraform_apply" => {
                    score += 20;
                    let plan = match run.plan_run {
                        Some(plan_run) => db.plan_of_run(plan_run).await?,
                        None => None,
                    };
                    let detail = plan.map(|p| {
                        let (add, change, destroy) = p.summary.terraform_line();
                        format!(" (+{add} ~{change} −{destroy})")
                    });
                    reasons.push(format!(
                        "applied Terraform in {place} {before} min before detection{}",
                        detail.unwrap_or_default()
                    ));
                }
                "ansible_run" => {
                    score += 10;
                    reasons.push(format!(
                        "ran a playbook in {place} {before} min before detection"
                    ));
                }
                _ => reasons.push(format!("ended {before} min before detection")),
            }
            if run.status != RunStatus::Success {
                score += 10;
                reasons.push(format!("it {}: a partial change is possible", run.status));
            }
            let window_minutes = i64::from(hours) * 60;
            let recency =
                25 * (window_minutes - before.min(window_minutes)) / window_minutes.max(1);
            score += u32::try_from(recency).unwrap_or(0);
            if linked_runs.contains(&run.id) || linked_jobs.contains(&run.job_id) {
                score += 30;
                reasons.push("linked to the incident".to_owned());
            }
        }
        let is_out = ruled_out.is_some();
        if let Some(why) = ruled_out {
            reasons = vec![why];
        }
        found.push(Suspect {
            kind: kind.to_owned(),
            verdict: verdicts.get(&reference).cloned(),
            reference,
            title: what,
            at,
            score,
            reasons,
            ruled_out: is_out,
        });
    }
    found.sort_by(|a, b| {
        a.ruled_out
            .cmp(&b.ruled_out)
            .then_with(|| b.score.cmp(&a.score))
            .then_with(|| b.at.cmp(&a.at))
            .then_with(|| a.reference.cmp(&b.reference))
    });
    Ok(found)
}

/// Marks a suspect as the cause (`cause`) or not (`not_cause`).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn set_verdict(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    reference: &str,
    verdict: &str,
) -> ServiceResult<Vec<Suspect>> {
    if !matches!(verdict, "cause" | "not_cause") {
        return Err(ServiceError::invalid(
            "verdict",
            "must be cause or not_cause",
        ));
    }
    let known = suspects(hub, caller, id, Some(168)).await?;
    if !known.iter().any(|s| s.reference == reference) {
        return Err(ServiceError::invalid(
            "ref",
            "names no suspect of this incident",
        ));
    }
    let (mut tx, incident) = writable(hub, caller, id).await?;
    tx.set_incident_verdict(incident.id, reference, verdict, &caller.actor())
        .await?;
    tx.commit().await?;
    suspects(hub, caller, id, None).await
}
