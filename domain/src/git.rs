//! Code tied to operations: the commits and merge requests linked to jobs, the webhook deliveries
//! a repository sent, and how a text names a job (`UHUB-<id>` or the job's address).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// What a linked change is.
    pub enum ChangeKind ("change kind") {
        Commit => "commit",
        MergeRequest => "merge_request",
    }
}

crate::string_enum! {
    /// How a change came to be linked to its job.
    pub enum ChangeSource ("change source") {
        /// A signed webhook delivery named the job.
        Webhook => "webhook",
        /// uHub read the repository and found the job named.
        Sync => "sync",
        /// Someone linked it by hand.
        Manual => "manual",
    }
}

/// A commit or a merge request (GitHub pull request, GitLab merge request) linked to a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeChange {
    pub id: i64,
    pub job_id: i64,
    pub kind: ChangeKind,
    /// The repository link it came from.
    pub link_id: i64,
    /// Commits: the full SHA.
    pub sha: Option<String>,
    /// Merge requests: their number in the repository.
    pub number: Option<i64>,
    /// A commit's first line, a merge request's title.
    pub title: String,
    pub author: Option<String>,
    pub url: Option<String>,
    /// When it was authored (commits) or last updated (merge requests).
    pub at: DateTime<Utc>,
    pub source: ChangeSource,
}

/// One webhook delivery a repository sent, as uHub keeps it: what and when, and what became of
/// it. Never its body's secrets nor the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub link_id: i64,
    /// The provider's id of the delivery (`X-GitHub-Delivery`, `webhook-id`…).
    pub delivery_id: String,
    /// `push`, `pull_request`, `Merge Request Hook`…
    pub event: String,
    /// `accepted`, `ignored: …`, `refused: …`.
    pub outcome: String,
    /// How many changes it linked to jobs.
    pub linked: i64,
    pub received_at: DateTime<Utc>,
}

/// A branch of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Branch {
    pub name: String,
    pub sha: String,
    /// Whether the provider protects it (unknown through the Git protocol: `false`).
    pub protected: bool,
}

/// A commit of a repository, with the jobs it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commit {
    pub sha: String,
    pub title: String,
    pub author: String,
    pub authored_at: DateTime<Utc>,
    /// The commit's page at the provider (`null` through the Git protocol).
    pub url: Option<String>,
    /// Jobs of the link's project named by the commit's message (`UHUB-<id>`).
    pub job_ids: Vec<i64>,
}

/// A merge request (a GitHub pull request, a GitLab merge request), with its CI status and the
/// jobs it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeRequest {
    pub number: i64,
    pub title: String,
    pub source_branch: String,
    pub target_branch: String,
    pub author: Option<String>,
    /// `open`, `merged` or `closed`.
    pub state: String,
    pub url: Option<String>,
    /// The head commit's combined status: `success`, `failure`, `pending`, `error`,
    /// `canceled`…; `null` when it has none (or it was not read: the first 20 only).
    pub ci_status: Option<String>,
    /// The head commit.
    pub sha: Option<String>,
    /// Jobs of the link's project named by its title, description or source branch.
    pub job_ids: Vec<i64>,
}

/// The jobs a text names: `UHUB-<id>` in any case (not inside a longer word), or a job's address
/// (`…/jobs/<id>`). Each id once.
pub fn job_references(text: &str) -> Vec<i64> {
    let mut found = Vec::new();
    let mut push = |id: i64| {
        if !found.contains(&id) {
            found.push(id);
        }
    };
    let lower = text.to_ascii_lowercase();
    for marker in ["uhub-", "/jobs/"] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(marker) {
            let start = from + at;
            from = start + marker.len();
            // `UHUB-` must begin a word: `XUHUB-3` names nothing.
            let starts_word = marker != "uhub-"
                || lower[..start]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
            let digits: String = lower[from..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let ends_word = lower[from + digits.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if starts_word && ends_word {
                if let Ok(id) = digits.parse::<i64>() {
                    if id > 0 {
                        push(id);
                    }
                }
            }
        }
    }
    found
}

/// The first line of a commit message, at most 200 characters: what lists show.
pub fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_named_by_key_or_address() {
        assert_eq!(job_references("Fix the TLS renewal (UHUB-42)"), [42]);
        assert_eq!(
            job_references("uhub-7: rotate; see also Uhub-7 and UHUB-9"),
            [7, 9]
        );
        assert_eq!(
            job_references("Deploy https://uhub.example/jobs/15 then UHUB-3"),
            [3, 15]
        );
        assert_eq!(job_references("feature/uhub-12-tls"), [12]);
    }

    #[test]
    fn look_alikes_name_nothing() {
        assert!(job_references("XUHUB-3 UHUB-3a UHUB- UHUB-0 /jobs/new /jobs/").is_empty());
        assert!(job_references("UHUB-99999999999999999999").is_empty());
    }

    #[test]
    fn a_commit_shows_its_first_line() {
        assert_eq!(first_line("Rotate keys\n\nLong story"), "Rotate keys");
        assert_eq!(first_line(&"x".repeat(300)).len(), 200);
    }
}
