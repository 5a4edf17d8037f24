//! Git webhooks in, and the commits and merge requests they link to jobs.
//!
//! A repository link names a project secret (`webhook_secret_name`); a delivery is taken only
//! when it proves it knows that secret: GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the body),
//! the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`, within
//! five minutes) or GitLab's `X-Gitlab-Token`, all compared in constant time. Each delivery id,
//! and each body, is acted on once per link. Commits, pull requests and merge requests naming
//! `UHUB-<id>` (or a job's address) are linked to that job when it belongs to the link's project.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::{ChangeKind, ChangeSource, CodeChange, Delivery, LinkKind, ProjectLink};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::instrument;
use zeroize::Zeroizing;

use crate::storage::{Actor, Db, NewCodeChange, NewDelivery};
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// How far a Standard Webhooks timestamp may be from now.
const SIGNATURE_WINDOW_SECS: i64 = 300;
/// The deliveries a listing shows at most.
pub const DELIVERIES_SHOWN: u32 = 200;
/// Delivery ids and event names are kept this long at most (they come from outside).
const MAX_HEADER_CHARS: usize = 200;

/// The headers of a delivery that uHub reads (absent ones are `None`).
#[derive(Debug, Clone, Default)]
pub struct HookHeaders {
    pub github_event: Option<String>,
    pub github_delivery: Option<String>,
    pub github_signature: Option<String>,
    pub gitlab_event: Option<String>,
    pub gitlab_token: Option<String>,
    pub gitlab_delivery: Option<String>,
    pub webhook_id: Option<String>,
    pub webhook_timestamp: Option<String>,
    pub webhook_signature: Option<String>,
}

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Verified and acted on (kept in the link's deliveries).
    Accepted(Delivery),
    /// This delivery id was acted on before: nothing done again.
    Duplicate,
}

/// Receives a delivery for repository link `link_id`: checks its signature against the link's
/// webhook secret, then links the changes it names to jobs. No caller: the signature is the
/// authentication.
#[instrument(skip_all, fields(link.id = link_id))]
pub async fn receive(
    hub: &Hub,
    link_id: i64,
    headers: &HookHeaders,
    body: &[u8],
) -> ServiceResult<Received> {
    let received = receive_verified(hub, link_id, headers, body).await;
    crate::telemetry::webhook_delivery(match &received {
        Ok(Received::Accepted(_)) => "accepted",
        Ok(Received::Duplicate) => "duplicate",
        Err(error) => error.code(),
    });
    received
}

async fn receive_verified(
    hub: &Hub,
    link_id: i64,
    headers: &HookHeaders,
    body: &[u8],
) -> ServiceResult<Received> {
    let link = repository(&mut hub.storage.read().await?, link_id).await?;
    // Anyone may post here: before the signature is checked, only the one secret it is checked
    // with is read, and no connection is held while a remote store answers.
    let secret = webhook_secret(hub, &link).await?;
    let (delivery_id, event) = verify(headers, body, secret.as_bytes(), Utc::now())?;
    let payload: Value = serde_json::from_slice(body)
        .map_err(|_| ServiceError::invalid("body", "must be a JSON object"))?;
    if !payload.is_object() {
        return Err(ServiceError::invalid("body", "must be a JSON object"));
    }
    // GitHub signs the body alone, with no time in it: a captured delivery posted again under a
    // new delivery id still verifies. The same body is acted on once per link.
    let body_sha256 = crate::digest::sha256_hex(body);
    if hub
        .storage
        .read()
        .await?
        .delivery_seen(link_id, &delivery_id, &body_sha256)
        .await?
    {
        return Ok(Received::Duplicate);
    }
    let body = std::str::from_utf8(body).ok();
    let kept = Kept {
        delivery_id: &delivery_id,
        body_sha256: Some(&body_sha256),
        outcome: "accepted",
        body,
        actor: &Actor::system(),
        audit: "git.delivery",
    };
    match apply(hub, &link, &event, &payload, kept).await? {
        Some(delivery) => Ok(Received::Accepted(delivery)),
        // The same delivery arrived twice at once: the other one acts on it.
        None => Ok(Received::Duplicate),
    }
}

/// How a delivery acted on is kept: its id, its body's digest (none for a replay, which reuses a
/// kept body on purpose), outcome and body (for a replay), and who is audited for it.
struct Kept<'a> {
    delivery_id: &'a str,
    body_sha256: Option<&'a str>,
    outcome: &'a str,
    body: Option<&'a str>,
    actor: &'a Actor,
    audit: &'a str,
}

/// Links the changes a verified delivery names to the jobs of the link's project, and keeps the
/// delivery; `None` when a delivery of that id was kept meanwhile.
async fn apply(
    hub: &Hub,
    link: &ProjectLink,
    event: &str,
    payload: &Value,
    kept: Kept<'_>,
) -> ServiceResult<Option<Delivery>> {
    let delivery_id = kept.delivery_id;
    let link_id = link.id;
    let mut db = hub.storage.read().await?;
    let found = changes_named(event, payload);
    let mut wanted: Vec<i64> = found.iter().flat_map(|(jobs, _)| jobs.clone()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let own_jobs = db.jobs_of_project(link.project_id, &wanted).await?;
    drop(db);

    let mut tx = hub.storage.write().await?;
    let mut linked = 0;
    for (jobs, change) in &found {
        for job_id in jobs.iter().filter(|id| own_jobs.contains(id)) {
            let change = NewCodeChange {
                job_id: *job_id,
                link_id,
                ..change.clone()
            };
            if tx.link_code_change(&change).await? {
                linked += 1;
            }
        }
    }
    let delivery = match tx
        .record_delivery(&NewDelivery {
            link_id,
            delivery_id,
            body_sha256: kept.body_sha256,
            event,
            outcome: kept.outcome,
            linked,
            payload: kept.body,
        })
        .await
    {
        Ok(delivery) => delivery,
        Err(ServiceError::AlreadyExists { .. }) => return Ok(None),
        Err(other) => return Err(other),
    };
    let detail = serde_json::json!({
        "link_id": link_id, "delivery_id": delivery_id, "event": event, "linked": linked,
    });
    crate::storage::audit::write(
        &mut tx,
        kept.actor,
        kept.audit,
        Some(("link", link_id)),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(delivery))
}

/// Acts again on a delivery a repository link received (the admin or the project's owner):
/// its kept body is read as it was, changes naming jobs created since are linked now. Kept as a
/// delivery of its own (`<delivery id>#replay-<n>`, outcome `replayed`); audited.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, link.id = link_id))]
pub async fn replay(
    hub: &Hub,
    caller: &Caller,
    link_id: i64,
    delivery: i64,
) -> ServiceResult<Delivery> {
    let mut db = hub.storage.read().await?;
    let link = repository(&mut db, link_id).await?;
    let owner = db.project_access(link.project_id).await?.owner_id;
    caller.may(Action::UpdateProject, &Object::project(owner), None)?;
    let (original, body) = db.delivery_with_payload(link_id, delivery).await?;
    let body = body.ok_or_else(|| {
        ServiceError::Conflict(
            "this delivery was kept without its body (before uHub kept bodies): it cannot be replayed"
                .to_owned(),
        )
    })?;
    let payload: Value = serde_json::from_str(&body)
        .map_err(|_| ServiceError::Internal("a kept delivery body is not JSON".to_owned()))?;
    let replays = db
        .deliveries(link_id, DELIVERIES_SHOWN)
        .await?
        .iter()
        .filter(|d| {
            d.delivery_id
                .starts_with(&format!("{}#replay-", original.delivery_id))
        })
        .count();
    drop(db);
    let replay_id = format!("{}#replay-{}", original.delivery_id, replays + 1);
    let kept = Kept {
        delivery_id: &replay_id,
        body_sha256: None,
        outcome: "replayed",
        body: Some(&body),
        actor: &caller.actor(),
        audit: "git.delivery.replay",
    };
    apply(hub, &link, &original.event, &payload, kept)
        .await?
        .ok_or_else(|| ServiceError::Conflict("this delivery is being replayed already".to_owned()))
}

/// A link's deliveries, newest first (whoever may read the project).
pub async fn deliveries(hub: &Hub, caller: &Caller, link_id: i64) -> ServiceResult<Vec<Delivery>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    repository(&mut db, link_id).await?;
    db.deliveries(link_id, DELIVERIES_SHOWN).await
}

/// The commits and merge requests linked to a job, newest first.
pub async fn changes(hub: &Hub, caller: &Caller, job_id: i64) -> ServiceResult<Vec<CodeChange>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.job(job_id).await?;
    db.code_changes(job_id).await
}

/// The link, if it is a Git repository (anything else has no webhooks: not found).
pub(crate) async fn repository(db: &mut Db, link_id: i64) -> ServiceResult<ProjectLink> {
    let link = db.link(link_id).await?;
    if link.kind != LinkKind::GitRepo {
        return Err(ServiceError::NotFound {
            what: "repository link",
        });
    }
    Ok(link)
}

/// The value of the project secret the link names (project-wide scope).
async fn webhook_secret(hub: &Hub, link: &ProjectLink) -> ServiceResult<Zeroizing<String>> {
    let Some(name) = link.webhook_secret_name.as_deref() else {
        return Err(ServiceError::Unauthenticated(
            "this repository has no webhook secret: set webhook_secret_name on the link",
        ));
    };
    hub.secrets()
        .project_value(&hub.storage, link.project_id, name)
        .await?
        .ok_or(ServiceError::Unauthenticated(
            "the repository's webhook secret is not set in the project's secrets",
        ))
}

/// Checks the delivery's proof of the secret; answers its delivery id and event name.
fn verify(
    headers: &HookHeaders,
    body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> ServiceResult<(String, String)> {
    let short = |text: &str| text.chars().take(MAX_HEADER_CHARS).collect::<String>();
    if let Some(event) = &headers.github_event {
        let signature = headers
            .github_signature
            .as_deref()
            .ok_or(ServiceError::BadSignature("X-Hub-Signature-256 is missing"))?;
        let expected = signature
            .strip_prefix("sha256=")
            .and_then(|hex| decode_hex(hex.trim()))
            .ok_or(ServiceError::BadSignature(
                "X-Hub-Signature-256 is not sha256=<hex>",
            ))?;
        let mut mac = hmac_of(secret);
        mac.update(body);
        mac.verify_slice(&expected)
            .map_err(|_| ServiceError::BadSignature("the signature does not match"))?;
        let delivery = headers
            .github_delivery
            .as_deref()
            .ok_or(ServiceError::invalid("X-GitHub-Delivery", "is missing"))?;
        return Ok((short(delivery), short(event)));
    }
    if let Some(signatures) = &headers.webhook_signature {
        let (Some(id), Some(timestamp)) = (&headers.webhook_id, &headers.webhook_timestamp) else {
            return Err(ServiceError::BadSignature(
                "webhook-id and webhook-timestamp come with webhook-signature",
            ));
        };
        let sent: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| ServiceError::BadSignature("webhook-timestamp is not Unix seconds"))?;
        if (now.timestamp() - sent).abs() > SIGNATURE_WINDOW_SECS {
            return Err(ServiceError::BadSignature(
                "webhook-timestamp is more than five minutes away",
            ));
        }
        // `whsec_<base64>` secrets are the key's bytes in base64; any other is used as it is.
        let key: Vec<u8> = match std::str::from_utf8(secret)
            .ok()
            .and_then(|s| s.strip_prefix("whsec_"))
        {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| ServiceError::BadSignature("the whsec_ secret is not base64"))?,
            None => secret.to_vec(),
        };
        let matches = signatures.split_whitespace().any(|candidate| {
            let Some(encoded) = candidate.strip_prefix("v1,") else {
                return false;
            };
            let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                return false;
            };
            let mut mac = hmac_of(&key);
            mac.update(format!("{id}.{sent}.").as_bytes());
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        });
        if !matches {
            return Err(ServiceError::BadSignature("the signature does not match"));
        }
        let event = headers.gitlab_event.as_deref().unwrap_or("webhook");
        return Ok((short(id), short(event)));
    }
    if let Some(event) = &headers.gitlab_event {
        let token = headers
            .gitlab_token
            .as_deref()
            .ok_or(ServiceError::BadSignature("X-Gitlab-Token is missing"))?;
        // Equal digests, compared without an early exit: the time says nothing of the token.
        let (given, kept) = (Sha256::digest(token.as_bytes()), Sha256::digest(secret));
        let difference = given
            .iter()
            .zip(kept.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference != 0 {
            return Err(ServiceError::BadSignature("X-Gitlab-Token does not match"));
        }
        // Without GitLab's delivery id, the body itself tells a repeated delivery.
        let delivery = match &headers.gitlab_delivery {
            Some(id) => short(id),
            None => format!("sha256:{}", crate::digest::sha256_hex(body)),
        };
        return Ok((delivery, short(event)));
    }
    Err(ServiceError::BadSignature(
        "an unsigned delivery: GitHub, GitLab or Standard Webhooks headers are expected",
    ))
}

fn hmac_of(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The changes a delivery names, each with the jobs it names (to be kept to the link's
/// project's jobs by the caller). `job_id` and `link_id` of the changes are filled in later.
fn changes_named(event: &str, payload: &Value) -> Vec<(Vec<i64>, NewCodeChange)> {
    let text = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let when = |value: &Value, pointer: &str| {
        text(value, pointer)
            .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(Utc::now)
    };
    let blank = |kind, title: String| NewCodeChange {
        job_id: 0,
        link_id: 0,
        kind,
        sha: None,
        number: None,
        title,
        author: None,
        url: None,
        at: Utc::now(),
        source: ChangeSource::Webhook,
    };
    let mut found = Vec::new();
    match event {
        // GitHub and GitLab pushes alike: `commits[]` with id, message, timestamp, url, author.
        "push" | "Push Hook" | "Tag Push Hook" => {
            let commits = payload
                .get("commits")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for commit in &commits {
                let message = text(commit, "/message").unwrap_or_default();
                let jobs = domain::git::job_references(&message);
                if jobs.is_empty() {
                    continue;
                }
                let change = NewCodeChange {
                    sha: text(commit, "/id"),
                    author: text(commit, "/author/name"),
                    url: text(commit, "/url"),
                    at: when(commit, "/timestamp"),
                    ..blank(ChangeKind::Commit, domain::git::first_line(&message))
                };
                if change.sha.is_some() {
                    found.push((jobs, change));
                }
            }
        }
        "pull_request" | "Merge Request Hook" => {
            // GitHub's pull request and GitLab's merge request keep the same facts in other places:
            // (object, number, description, branch, author from the payload's root, address).
            let (object, number, description, branch, author, url) = if event == "pull_request" {
                (
                    "/pull_request",
                    "/number",
                    "/body",
                    "/head/ref",
                    "/pull_request/user/login",
                    "/html_url",
                )
            } else {
                (
                    "/object_attributes",
                    "/iid",
                    "/description",
                    "/source_branch",
                    "/user/username",
                    "/url",
                )
            };
            let request = payload.pointer(object).unwrap_or(&Value::Null);
            let title = text(request, "/title").unwrap_or_default();
            let named = format!(
                "{title}\n{}\n{}",
                text(request, description).unwrap_or_default(),
                text(request, branch).unwrap_or_default()
            );
            let jobs = domain::git::job_references(&named);
            if let (false, Some(number)) = (
                jobs.is_empty(),
                request.pointer(number).and_then(Value::as_i64),
            ) {
                let change = NewCodeChange {
                    number: Some(number),
                    author: text(payload, author),
                    url: text(request, url),
                    // GitLab writes "2025-01-01 10:00:00 UTC": the time of receipt stands in.
                    at: when(request, "/updated_at"),
                    ..blank(ChangeKind::MergeRequest, title.chars().take(200).collect())
                };
                found.push((jobs, change));
            }
        }
        // CI status (workflow_run, Pipeline Hook), ping…: kept as deliveries, nothing to link.
        _ => {}
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(body: &[u8], secret: &[u8]) -> HookHeaders {
        let mut mac = hmac_of(secret);
        mac.update(body);
        HookHeaders {
            github_event: Some("push".into()),
            github_delivery: Some("d-1".into()),
            github_signature: Some(format!(
                "sha256={}",
                crate::digest::hex(&mac.finalize().into_bytes())
            )),
            ..HookHeaders::default()
        }
    }

    #[test]
    fn a_github_signature_is_checked_on_the_exact_body() {
        let body = br#"{"commits":[]}"#;
        let headers = github(body, b"s3cret");
        assert_eq!(
            verify(&headers, body, b"s3cret", Utc::now()).ok(),
            Some(("d-1".to_owned(), "push".to_owned()))
        );
        assert!(matches!(
            verify(&headers, br#"{"commits":[ ]}"#, b"s3cret", Utc::now()),
            Err(ServiceError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&headers, body, b"other", Utc::now()),
            Err(ServiceError::BadSignature(_))
        ));
        let unsigned = HookHeaders {
            github_signature: None,
            ..headers
        };
        assert!(matches!(
            verify(&unsigned, body, b"s3cret", Utc::now()),
            Err(ServiceError::BadSignature(_))
        ));
    }

    #[test]
    fn standard_webhooks_are_checked_within_five_minutes() {
        let body = br#"{"object_kind":"push"}"#;
        let key = b"0123456789abcdef0123456789abcdef";
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let now = Utc::now();
        let signed = |at: i64| {
            let mut mac = hmac_of(key);
            mac.update(format!("msg-1.{at}.").as_bytes());
            mac.update(body);
            HookHeaders {
                gitlab_event: Some("Push Hook".into()),
                webhook_id: Some("msg-1".into()),
                webhook_timestamp: Some(at.to_string()),
                webhook_signature: Some(format!(
                    "v1,bm90IGl0 v1,{}",
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
                )),
                ..HookHeaders::default()
            }
        };
        let fresh = signed(now.timestamp());
        assert_eq!(
            verify(&fresh, body, secret.as_bytes(), now).ok(),
            Some(("msg-1".to_owned(), "Push Hook".to_owned()))
        );
        let old = signed(now.timestamp() - 301);
        assert!(verify(&old, body, secret.as_bytes(), now).is_err());
    }

    #[test]
    fn a_gitlab_token_must_match() {
        let headers = HookHeaders {
            gitlab_event: Some("Push Hook".into()),
            gitlab_token: Some("tok".into()),
            ..HookHeaders::default()
        };
        assert!(verify(&headers, b"{}", b"tok", Utc::now()).is_ok());
        assert!(verify(&headers, b"{}", b"toK", Utc::now()).is_err());
    }

    #[test]
    fn pushes_and_merge_requests_name_their_jobs() {
        let push = serde_json::json!({"commits": [
            {"id": "abc", "message": "Rotate (UHUB-4)\n\nmore", "timestamp": "2026-12-01T10:00:00Z",
             "url": "https://x/abc", "author": {"name": "Ada"}},
            {"id": "def", "message": "Unrelated"}
        ]});
        let found = changes_named("push", &push);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, [4]);
        assert_eq!(found[0].1.title, "Rotate (UHUB-4)");
        assert_eq!(found[0].1.sha.as_deref(), Some("abc"));
        let merge = serde_json::json!({"user": {"username": "bob"}, "object_attributes": {
            "iid": 12, "title": "TLS", "description": "", "source_branch": "feature/uhub-9-tls",
            "url": "https://gitlab/x/-/merge_requests/12"}});
        let found = changes_named("Merge Request Hook", &merge);
        assert_eq!((found[0].0.clone(), found[0].1.number), (vec![9], Some(12)));
    }
}
