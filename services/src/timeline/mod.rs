//! An incident's story from what uHub recorded: the timeline (its own changes, the runs of its
//! project around it — launches, approvals, ends, deployments, applies, playbooks —, calendar
//! moves, notes and entries remembered after the fact), the changes suspected of causing it with
//! the reasons of their scores (documented in docs/incidents.md, deterministic), and the
//! post-mortem drafted from both. Everyone who reads incidents reads these; ops, projets and
//! admin write notes, pins, links, verdicts and the post-mortem.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use domain::incident::{EntryKind, EntrySource, IncidentEntry};
use domain::policy::{Action, Object};
use domain::terraform::TerraformOperation;
use domain::{Incident, JobAction, Run, RunStatus};
use serde::Deserialize;
use tracing::instrument;

use crate::storage::{AuditFilter, Db};
use crate::{rules, Caller, Hub, ServiceError, ServiceResult};

mod postmortem;
pub mod reliability;
mod suspects;

pub use postmortem::{
    add_action_item, draft_postmortem, edit_postmortem, postmortem, ActionItemRequest, Postmortem,
};
pub use suspects::{set_verdict, suspects};

/// Opens an incident from a failed run (ops, projets, admin): its project and job, detected when
/// the run ended, the run linked (so its whole story is on the timeline).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = run_id))]
pub async fn open_from_run(hub: &Hub, caller: &Caller, run_id: i64) -> ServiceResult<Incident> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    let (run, job_title) = {
        let mut db = hub.storage.read().await?;
        let run = db.run(run_id).await?;
        let title = db
            .job(run.job_id)
            .await
            .map(|j| j.title)
            .unwrap_or_default();
        (run, title)
    };
    if !matches!(run.status, RunStatus::Failed | RunStatus::TimedOut) {
        return Err(ServiceError::Conflict(
            "only a failed or timed-out run opens an incident this way".to_owned(),
        ));
    }
    let mut new = crate::incidents::opened(
        Some(run.project_id),
        format!("Run #{} of «{job_title}» {}", run.id, run.status)
            .chars()
            .take(200)
            .collect(),
        run.reason
            .clone()
            .unwrap_or_default()
            .chars()
            .take(2000)
            .collect(),
        domain::IncidentSeverity::Sev3,
    );
    new.job_id = Some(run.job_id);
    new.detected_at = run.finished_at;
    let incident = crate::incidents::create(hub, caller, new).await?;
    let mut tx = hub.storage.write().await?;
    tx.link_incident(incident.id, "run", run.id, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(incident)
}

/// The incident with its timeline, suspects, linked jobs and runs and post-mortem, for tools and
/// assistants (whoever reads incidents).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn context(
    hub: &Hub,
    caller: &Caller,
    id: i64,
) -> ServiceResult<domain::incident::IncidentContext> {
    let (mut db, incident) = readable(hub, caller, id).await?;
    let timeline = gather(&mut db, &incident).await?;
    let suspects = suspects::rank(&mut db, &incident, 24).await?;
    let mut jobs = Vec::new();
    let mut runs = Vec::new();
    let links = db.incident_links(incident.id).await?;
    let job_ids: std::collections::BTreeSet<i64> = links
        .iter()
        .filter(|(kind, _)| kind != "run")
        .map(|(_, id)| *id)
        .chain(incident.job_id)
        .collect();
    for job_id in job_ids {
        if let Ok(job) = db.job(job_id).await {
            jobs.push(job);
        }
    }
    for (_, run_id) in links.iter().filter(|(kind, _)| kind == "run") {
        if let Ok(run) = db.run(*run_id).await {
            runs.push(run);
        }
    }
    let postmortem = db
        .postmortem(incident.id)
        .await?
        .map(|stored| domain::incident::Postmortem {
            incident_id: incident.id,
            version: stored.version,
            body: stored.body,
            updated_by: stored.created_by,
            updated_at: stored.created_at,
        });
    Ok(domain::incident::IncidentContext {
        generated_at: Utc::now(),
        incident,
        timeline,
        suspects,
        jobs,
        runs,
        postmortem,
    })
}

/// How far before detection the timeline reaches.
const TIMELINE_BEFORE_HOURS: i64 = 24;
/// Runs read for a timeline or the suspects at most.
const MAX_RUNS: u32 = 2000;

/// A note, or an event remembered after the fact with its own time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryRequest {
    /// `note` (now, by default) or `manual` (an event with its own `at`).
    #[serde(default = "note_kind")]
    pub kind: String,
    /// When it happened; now when absent.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    pub title: String,
    #[serde(default)]
    pub body: String,
}

fn note_kind() -> String {
    "note".to_owned()
}

/// Changes to a note or manual entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryChanges {
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// Pin or unpin it.
    #[serde(default)]
    pub pinned: Option<bool>,
}

/// A link from the incident to a job or a run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkRequest {
    /// `job` or `run`.
    pub kind: String,
    pub id: i64,
}

pub(super) async fn readable(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<(Db, Incident)> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let incident = db.incident(id).await?;
    Ok((db, incident))
}

/// The incident's timeline, oldest first.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn timeline(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Vec<IncidentEntry>> {
    let (mut db, incident) = readable(hub, caller, id).await?;
    gather(&mut db, &incident).await
}

fn entry(
    at: DateTime<Utc>,
    kind: EntryKind,
    title: String,
    reference: String,
    by: Option<String>,
) -> IncidentEntry {
    IncidentEntry {
        at,
        kind,
        title,
        reference,
        by,
        source: EntrySource::System,
        pinned: false,
        body: String::new(),
    }
}

/// Job titles, read once each.
pub(super) struct Titles(HashMap<i64, (String, i64)>);

impl Titles {
    /// `(title, project id)` of a job.
    pub(super) async fn of(&mut self, db: &mut Db, job_id: i64) -> Option<(String, i64)> {
        if let Some(found) = self.0.get(&job_id) {
            return Some(found.clone());
        }
        let job = db.job(job_id).await.ok()?;
        let found = (job.title, job.project_id);
        self.0.insert(job_id, found.clone());
        Some(found)
    }
}

pub(super) fn minutes(duration: Duration) -> i64 {
    duration.num_minutes().max(0)
}

pub(super) fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// What a run's end means for the timeline: its kind and a sentence.
fn ending(
    run: &Run,
    job: &str,
    plan: Option<&domain::terraform::TerraformPlan>,
) -> (EntryKind, String) {
    let place = run
        .environment
        .as_deref()
        .map(|e| format!(" in {e}"))
        .unwrap_or_default();
    if run.status != RunStatus::Success {
        let reason = run
            .reason
            .as_deref()
            .map(|r| format!(": {}", r.chars().take(200).collect::<String>()))
            .unwrap_or_default();
        return (
            EntryKind::RunFailed,
            format!("Run #{} of «{job}» {}{place}{reason}", run.id, run.status),
        );
    }
    match &run.action {
        Some(JobAction::Terraform {
            operation: TerraformOperation::Apply,
            workspace,
            ..
        }) => {
            let counts = plan
                .map(|p| {
                    let (add, change, destroy) = p.summary.terraform_line();
                    format!(": +{add} ~{change} −{destroy}")
                })
                .unwrap_or_default();
            (
                EntryKind::TerraformApply,
                format!(
                    "Terraform applied workspace {workspace}{place} (run #{}){counts}",
                    run.id
                ),
            )
        }
        Some(JobAction::Ansible {
            playbook, check, ..
        }) => (
            EntryKind::AnsibleRun,
            format!(
                "Playbook {playbook}{} ran{place} (run #{})",
                if *check { " (check mode)" } else { "" },
                run.id
            ),
        ),
        _ => match &run.commit_sha {
            Some(sha) => (
                EntryKind::Deployment,
                format!(
                    "Deployed {} of «{job}»{place} (run #{})",
                    short(sha),
                    run.id
                ),
            ),
            None => (
                EntryKind::RunSucceeded,
                format!("Run #{} of «{job}» succeeded{place}", run.id),
            ),
        },
    }
}

pub(super) async fn gather(db: &mut Db, incident: &Incident) -> ServiceResult<Vec<IncidentEntry>> {
    let now = Utc::now();
    let from = incident.detected_at - Duration::hours(TIMELINE_BEFORE_HOURS);
    let to = incident
        .resolved_at
        .unwrap_or(now)
        .max(now)
        .max(incident.detected_at)
        + Duration::seconds(1);
    let reference = format!("incident:{}", incident.id);
    let mut entries = vec![entry(
        incident.detected_at,
        EntryKind::Incident,
        format!("Detected: {} ({})", incident.title, incident.severity),
        format!("{reference}:detected"),
        None,
    )];

    // The incident's own changes, from the audit log.
    let changes = db
        .list_audit(
            &AuditFilter {
                target_type: Some("incident".to_owned()),
                target_id: Some(incident.id.to_string()),
                ..AuditFilter::default()
            },
            500,
        )
        .await?;
    for change in changes {
        let title = match change.action.as_str() {
            "incident.create" => Some("Incident opened".to_owned()),
            "incident.update" => {
                let (from, to) = (&change.detail["from"], &change.detail["to"]);
                let mut parts = Vec::new();
                for field in ["status", "severity"] {
                    if from[field] != to[field] {
                        parts.push(format!(
                            "{field} {} → {}",
                            from[field].as_str().unwrap_or("?"),
                            to[field].as_str().unwrap_or("?")
                        ));
                    }
                }
                (!parts.is_empty()).then(|| parts.join(", "))
            }
            _ => None,
        };
        if let Some(title) = title {
            entries.push(entry(
                change.at,
                EntryKind::Incident,
                title,
                format!("{reference}:audit:{}", change.id),
                change.actor_id.and(change.actor_username),
            ));
        }
    }

    // Runs of the incident's project (and those linked to it) around it.
    let links = db.incident_links(incident.id).await?;
    let linked_runs: HashSet<i64> = links
        .iter()
        .filter(|(k, _)| k == "run")
        .map(|(_, id)| *id)
        .collect();
    let linked_jobs: HashSet<i64> = links
        .iter()
        .filter(|(k, _)| k == "job" || k == "action_item")
        .map(|(_, id)| *id)
        .chain(incident.job_id)
        .collect();
    let mut titles = Titles(HashMap::new());
    let runs = db.runs_between(from, to, MAX_RUNS).await?;
    let approvals = db
        .list_audit(
            &AuditFilter {
                action: Some("run.approve".to_owned()),
                since: Some(from),
                until: Some(to),
                ..AuditFilter::default()
            },
            1000,
        )
        .await?;
    for run in runs.iter().filter(|run| {
        Some(run.project_id) == incident.project_id
            || linked_runs.contains(&run.id)
            || linked_jobs.contains(&run.job_id)
    }) {
        let job = titles
            .of(db, run.job_id)
            .await
            .map(|(title, _)| title)
            .unwrap_or_else(|| format!("job #{}", run.job_id));
        let run_ref = format!("run:{}", run.id);
        entries.push(entry(
            run.created_at,
            EntryKind::RunLaunched,
            format!(
                "Run #{} of «{job}» launched{}",
                run.id,
                run.environment
                    .as_deref()
                    .map(|e| format!(" in {e}"))
                    .unwrap_or_default()
            ),
            format!("{run_ref}:launched"),
            run.launched_by_username.clone(),
        ));
        for approval in approvals
            .iter()
            .filter(|a| a.target_id.as_deref() == Some(run.id.to_string().as_str()))
        {
            entries.push(entry(
                approval.at,
                EntryKind::RunApproved,
                format!("Run #{} of «{job}» approved", run.id),
                format!("{run_ref}:approved:{}", approval.id),
                approval.actor_username.clone(),
            ));
        }
        if let Some(finished) = run.finished_at {
            let plan = match run.plan_run {
                Some(plan_run) => db.plan_of_run(plan_run).await?,
                None => None,
            };
            let (kind, title) = ending(run, &job, plan.as_ref());
            entries.push(entry(finished, kind, title, run_ref, None));
        }
    }

    // Calendar moves of the project's jobs.
    if let Some(project_id) = incident.project_id {
        let moves = db
            .list_audit(
                &AuditFilter {
                    action: Some("job.".to_owned()),
                    since: Some(from),
                    until: Some(to),
                    ..AuditFilter::default()
                },
                1000,
            )
            .await?;
        for moved in moves
            .iter()
            .filter(|m| matches!(m.action.as_str(), "job.reschedule" | "job.move_approve"))
        {
            let Some(job_id) = moved
                .target_id
                .as_deref()
                .and_then(|t| t.parse::<i64>().ok())
            else {
                continue;
            };
            if let Some((title, project)) = titles.of(db, job_id).await {
                if project == project_id {
                    entries.push(entry(
                        moved.at,
                        EntryKind::JobMoved,
                        format!("«{title}» moved on the calendar"),
                        format!("job:{job_id}:audit:{}", moved.id),
                        moved.actor_username.clone(),
                    ));
                }
            }
        }
    }

    entries.extend(host_thresholds(db, from, to).await?);

    // Notes and entries remembered after the fact.
    for stored in db.incident_entries(incident.id).await? {
        entries.push(IncidentEntry {
            at: stored.at,
            kind: if stored.kind == "manual" {
                EntryKind::Manual
            } else {
                EntryKind::Note
            },
            title: stored.title,
            reference: format!("entry:{}", stored.id),
            by: stored.created_by,
            source: EntrySource::Manual,
            pinned: false,
            body: stored.body,
        });
    }
    let pins: HashSet<String> = db.incident_pins(incident.id).await?.into_iter().collect();
    for found in &mut entries {
        found.pinned = pins.contains(&found.reference);
    }
    entries.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.reference.cmp(&b.reference)));
    Ok(entries)
}

/// The share of CPU, memory or a disk above which the host is said to be saturated.
const HOST_THRESHOLD_PERCENT: f64 = 90.0;

/// The host's readings crossing [`HOST_THRESHOLD_PERCENT`] (up, then back under) in `[from, to)`:
/// raw readings where they are kept (24 h), the 5-minute averages before.
async fn host_thresholds(
    db: &mut Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ServiceResult<Vec<IncidentEntry>> {
    let mut samples = db.host_history(from, to, false).await?;
    if samples.is_empty() {
        samples = db.host_history(from, to, true).await?;
    }
    let mut above: HashMap<String, bool> = HashMap::new();
    let mut found = Vec::new();
    for sample in &samples {
        let mut readings = vec![
            ("CPU".to_owned(), f64::from(sample.cpu.usage_percent)),
            ("memory".to_owned(), sample.memory.used_percent()),
        ];
        readings.extend(
            sample
                .disks
                .iter()
                .map(|d| (format!("disk {}", d.mount), d.used_percent())),
        );
        for (what, percent) in readings {
            let now_above = percent >= HOST_THRESHOLD_PERCENT;
            let was_above = above.insert(what.clone(), now_above).unwrap_or(false);
            if now_above != was_above {
                let title = if now_above {
                    format!(
                        "Host {what} at {percent:.0} % (threshold {HOST_THRESHOLD_PERCENT:.0} %)"
                    )
                } else {
                    format!("Host {what} back under {HOST_THRESHOLD_PERCENT:.0} % ({percent:.0} %)")
                };
                found.push(entry(
                    sample.sampled_at,
                    EntryKind::HostThreshold,
                    title,
                    format!(
                        "host:{}:{}",
                        what.replace(' ', "-"),
                        sample.sampled_at.timestamp()
                    ),
                    None,
                ));
            }
        }
    }
    Ok(found)
}

pub(super) async fn writable(
    hub: &Hub,
    caller: &Caller,
    id: i64,
) -> ServiceResult<(crate::storage::Tx, Incident)> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    let incident = tx.incident(id).await?;
    Ok((tx, incident))
}

/// Adds a note (now) or a manual entry (its own time); answers the timeline.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn add_entry(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    request: &EntryRequest,
) -> ServiceResult<Vec<IncidentEntry>> {
    if !matches!(request.kind.as_str(), "note" | "manual") {
        return Err(ServiceError::invalid("kind", "must be note or manual"));
    }
    let title = rules::one_line_name(&request.title)
        .map_err(|_| ServiceError::invalid("title", "one line of 1 to 200 characters"))?
        .to_owned();
    rules::free_text("body", &request.body, rules::MAX_DESCRIPTION_CHARS)?;
    let (mut tx, incident) = writable(hub, caller, id).await?;
    // Nothing is remembered from the future: not after now, nor after the detection when the
    // incident was entered with a later one.
    let latest = Utc::now().max(incident.detected_at) + Duration::minutes(5);
    let at = match (request.kind.as_str(), request.at) {
        ("manual", None) => {
            return Err(ServiceError::invalid(
                "at",
                "a manual entry says when it happened",
            ))
        }
        (_, Some(at)) if at > latest => {
            return Err(ServiceError::invalid("at", "must not be in the future"))
        }
        (_, at) => at.unwrap_or_else(Utc::now),
    };
    tx.add_incident_entry(
        incident.id,
        &request.kind,
        at,
        &title,
        &request.body,
        &caller.actor(),
    )
    .await?;
    tx.commit().await?;
    timeline(hub, caller, id).await
}

/// Changes (or pins) a note or manual entry.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn update_entry(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    entry_id: i64,
    changes: &EntryChanges,
) -> ServiceResult<Vec<IncidentEntry>> {
    let title = match &changes.title {
        Some(title) => Some(
            rules::one_line_name(title)
                .map_err(|_| ServiceError::invalid("title", "one line of 1 to 200 characters"))?
                .to_owned(),
        ),
        None => None,
    };
    if let Some(body) = &changes.body {
        rules::free_text("body", body, rules::MAX_DESCRIPTION_CHARS)?;
    }
    let (mut tx, incident) = writable(hub, caller, id).await?;
    if changes.at.is_some() || title.is_some() || changes.body.is_some() {
        tx.update_incident_entry(
            incident.id,
            entry_id,
            changes.at,
            title.as_deref(),
            changes.body.as_deref(),
            &caller.actor(),
        )
        .await?;
    }
    if let Some(pinned) = changes.pinned {
        tx.set_incident_pin(
            incident.id,
            &format!("entry:{entry_id}"),
            pinned,
            &caller.actor(),
        )
        .await?;
    }
    tx.commit().await?;
    timeline(hub, caller, id).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn delete_entry(hub: &Hub, caller: &Caller, id: i64, entry_id: i64) -> ServiceResult<()> {
    let (mut tx, incident) = writable(hub, caller, id).await?;
    tx.delete_incident_entry(incident.id, entry_id, &caller.actor())
        .await?;
    tx.set_incident_pin(
        incident.id,
        &format!("entry:{entry_id}"),
        false,
        &caller.actor(),
    )
    .await?;
    tx.commit().await
}

/// Pins or unpins any entry of the timeline by its `ref` (one the timeline shows).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn pin(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    reference: &str,
    pinned: bool,
) -> ServiceResult<Vec<IncidentEntry>> {
    let mut known = timeline(hub, caller, id).await?;
    if !known.iter().any(|e| e.reference == reference) {
        return Err(ServiceError::invalid(
            "ref",
            "names no entry of this timeline",
        ));
    }
    let (mut tx, incident) = writable(hub, caller, id).await?;
    tx.set_incident_pin(incident.id, reference, pinned, &caller.actor())
        .await?;
    tx.commit().await?;
    // The timeline just read, with the one change made: not built twice.
    for entry in known.iter_mut().filter(|e| e.reference == reference) {
        entry.pinned = pinned;
    }
    Ok(known)
}

/// Links a job or a run to the incident: its runs join the timeline, and count as linked
/// among the suspects. A job or run of another project than the incident's is refused.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, incident.id = id))]
pub async fn link(hub: &Hub, caller: &Caller, id: i64, request: &LinkRequest) -> ServiceResult<()> {
    let (mut tx, incident) = writable(hub, caller, id).await?;
    let project = match request.kind.as_str() {
        "job" => tx.job(request.id).await.map(|job| job.project_id),
        "run" => tx.run(request.id).await.map(|run| run.project_id),
        _ => return Err(ServiceError::invalid("kind", "must be job or run")),
    };
    let project = match project {
        Err(ServiceError::NotFound { .. }) => {
            return Err(ServiceError::invalid(
                "id",
                format!("no such {}", request.kind),
            ))
        }
        other => other?,
    };
    if incident.project_id.is_some_and(|p| p != project) {
        return Err(ServiceError::invalid(
            "id",
            format!(
                "the {} belongs to another project than the incident",
                request.kind
            ),
        ));
    }
    tx.link_incident(incident.id, &request.kind, request.id, &caller.actor())
        .await?;
    tx.commit().await
}
