//! Link records: the Git repositories, Ansible inventories, Terraform plans and Kubernetes clusters
//! a project works with. They point at things; they never hold the credentials to reach them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// What a link points at.
    pub enum LinkKind ("link kind") {
        GitRepo => "git_repo",
        AnsibleInventory => "ansible_inventory",
        TerraformPlan => "terraform_plan",
        K8sCluster => "k8s_cluster",
    }
}

crate::string_enum! {
    /// Where a Git repository is hosted: GitHub or GitLab (read through their APIs too), or
    /// any Git remote (read through the Git protocol alone).
    pub enum GitProvider ("git provider") {
        Github => "github",
        Gitlab => "gitlab",
        Git => "git",
    }
}

/// A link of a project, possibly specific to one of its environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectLink {
    pub id: i64,
    pub project_id: i64,
    pub kind: LinkKind,
    pub name: String,
    /// The environment this link serves, if only one.
    pub environment: Option<String>,
    /// A URL (Git repository, Kubernetes API server) or a path (inventory, plan file).
    pub location: String,
    /// Git repositories only.
    pub provider: Option<GitProvider>,
    /// Git repositories only.
    pub default_branch: Option<String>,
    /// Kubernetes clusters only: the namespace uHub works in.
    pub namespace: Option<String>,
    /// Git repositories only: the name of the project secret that signs the repository's
    /// webhooks (`POST /api/v1/hooks/git/{id}`); never the secret itself.
    #[serde(default)]
    pub webhook_secret_name: Option<String>,
    /// Git repositories only: the name of the project secret holding the token uHub reads the
    /// repository with (API and HTTPS); never the token itself.
    #[serde(default)]
    pub token_secret: Option<String>,
    /// Git repositories on GitHub or GitLab: uHub posts each run's state as a commit status
    /// of the commit it ran.
    #[serde(default)]
    pub report_status: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a link that depend on its kind, as given by a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFields<'a> {
    pub location: &'a str,
    pub provider: Option<GitProvider>,
    pub default_branch: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl LinkKind {
    /// Checks the kind-specific fields; the answer is the field at fault and why.
    pub fn check(self, fields: &LinkFields<'_>) -> Result<(), (&'static str, String)> {
        let location = fields.location.trim();
        let wrong = |field: &'static str, why: &str| Err((field, why.to_owned()));
        match self {
            LinkKind::GitRepo => {
                let scp_like =
                    location.contains('@') && !location.contains("://") && location.contains(':');
                if !scp_like {
                    if let Err(why) = check_url(location, &["https", "http", "ssh", "git"]) {
                        return wrong("location", why);
                    }
                } else if location.contains(char::is_whitespace) {
                    return wrong("location", "must be a Git URL");
                }
                let provider = fields.provider.or_else(|| provider_from_url(location));
                match provider {
                    None => return wrong(
                        "provider",
                        "github, gitlab or git (any Git remote): it could not be told from the URL",
                    ),
                    // Their APIs are read by owner (or group) and name.
                    Some(GitProvider::Github | GitProvider::Gitlab) => {
                        let named =
                            host_and_path(location).is_some_and(|(_, path, _)| path.contains('/'));
                        if !named {
                            return wrong(
                                "location",
                                "must name the repository as host/owner/name for GitHub and GitLab",
                            );
                        }
                    }
                    Some(GitProvider::Git) => {}
                }
            }
            LinkKind::K8sCluster => {
                if let Err(why) = check_url(location, &["https"]) {
                    return wrong("location", why);
                }
            }
            LinkKind::AnsibleInventory | LinkKind::TerraformPlan => {
                if location.is_empty() || location.contains('\0') || location.len() > 4096 {
                    return wrong("location", "must be a path or URL");
                }
                if location.contains("://") {
                    if let Err(why) = check_url(location, &["https", "http", "s3", "gs"]) {
                        return wrong("location", why);
                    }
                }
            }
        }
        if self != LinkKind::GitRepo
            && (fields.provider.is_some() || fields.default_branch.is_some())
        {
            return wrong(
                "provider",
                "only Git repositories have a provider and default branch",
            );
        }
        if self != LinkKind::K8sCluster && fields.namespace.is_some() {
            return wrong("namespace", "only Kubernetes clusters have a namespace");
        }
        if fields
            .default_branch
            .is_some_and(|b| b.trim().is_empty() || b.contains(char::is_whitespace))
        {
            return wrong("default_branch", "must be a branch name");
        }
        if fields.namespace.is_some_and(|n| !is_dns_label(n)) {
            return wrong(
                "namespace",
                "must be a Kubernetes namespace name (a DNS label)",
            );
        }
        Ok(())
    }
}

/// The host and the repository path of a Git location (and whether it is plain `http`): `https://host/a/b(.git)`,
/// `ssh://git@host/a/b.git` or `git@host:a/b.git`.
pub fn host_and_path(location: &str) -> Option<(String, String, bool)> {
    let location = location.trim();
    let (rest, insecure) = if let Some(rest) = location.strip_prefix("https://") {
        (rest.to_owned(), false)
    } else if let Some(rest) = location.strip_prefix("http://") {
        (rest.to_owned(), true)
    } else if let Some(rest) = location
        .strip_prefix("ssh://")
        .or_else(|| location.strip_prefix("git://"))
    {
        (rest.to_owned(), false)
    } else if let Some((user_host, path)) = location.split_once(':') {
        // scp-like: git@host:group/project.git
        (format!("{user_host}/{path}"), false)
    } else {
        return None;
    };
    let (host, path) = rest.split_once('/')?;
    let host = host.rsplit('@').next()?.to_owned();
    let path = path
        .trim_matches('/')
        .trim_end_matches(".git")
        .trim_matches('/')
        .to_owned();
    (!host.is_empty() && !path.is_empty()).then_some((host, path, insecure))
}

/// The provider a well-known host implies.
pub fn provider_from_url(location: &str) -> Option<GitProvider> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("git://") {
        // The bare Git protocol: no forge API behind it.
        Some(GitProvider::Git)
    } else if lower.contains("github.com") {
        Some(GitProvider::Github)
    } else if lower.contains("gitlab") {
        Some(GitProvider::Gitlab)
    } else {
        None
    }
}

/// A URL with one of `schemes`, a host, and no credentials: a password or token in a URL would be
/// shown to everyone who can read the project, so it belongs in the project's secrets.
pub fn check_url(url: &str, schemes: &[&str]) -> Result<(), &'static str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("must be a URL (scheme://host/…)");
    };
    if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err("uses a scheme that is not accepted here");
    }
    if url.len() > 4096 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        // `ssh://git@host` names a user, not a secret; anything else before `@` is a credential.
        let plain_user = matches!(scheme, "ssh" | "git") && !userinfo.contains(':');
        if !plain_user {
            return Err(
                "must not carry credentials: keep tokens and passwords in the project's secrets",
            );
        }
    }
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') {
        return Err("must name a host");
    }
    Ok(())
}

/// A secret's name: what it is injected as into runs (an environment variable name).
pub fn is_secret_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(location: &str) -> LinkFields<'_> {
        LinkFields {
            location,
            ..LinkFields::default()
        }
    }

    #[test]
    fn urls_with_credentials_are_refused() {
        assert!(check_url("https://github.com/acme/app.git", &["https"]).is_ok());
        assert!(check_url("ssh://git@gitlab.example.com/acme/app.git", &["ssh"]).is_ok());
        for bad in [
            "https://ghp_abc123@github.com/acme/app.git",
            "https://user:hunter2@gitlab.example.com/x",
            "ssh://git:pw@host/x",
        ] {
            let why = check_url(bad, &["https", "ssh"]).err().unwrap_or_default();
            assert!(why.contains("credentials"), "{bad}: {why}");
        }
        assert!(check_url("ftp://host/x", &["https"]).is_err());
        assert!(check_url("https:///path", &["https"]).is_err());
    }

    #[test]
    fn locations_name_their_repository() {
        assert_eq!(
            host_and_path("https://github.com/acme/app.git"),
            Some(("github.com".into(), "acme/app".into(), false))
        );
        assert_eq!(
            host_and_path("git@gitlab.example.org:ops/infra/cluster.git"),
            Some((
                "gitlab.example.org".into(),
                "ops/infra/cluster".into(),
                false
            ))
        );
        assert_eq!(
            host_and_path("ssh://git@ghe.acme.internal/acme/app"),
            Some(("ghe.acme.internal".into(), "acme/app".into(), false))
        );
        assert_eq!(host_and_path("https://github.com/"), None);
    }

    #[test]
    fn git_links_need_a_provider_that_is_given_or_obvious() {
        assert!(LinkKind::GitRepo
            .check(&fields("https://github.com/acme/app"))
            .is_ok());
        assert!(LinkKind::GitRepo
            .check(&fields("git@gitlab.com:acme/app.git"))
            .is_ok());
        assert_eq!(
            LinkKind::GitRepo
                .check(&fields("https://git.acme.internal/app"))
                .map_err(|e| e.0),
            Err("provider")
        );
        let with_provider = LinkFields {
            provider: Some(GitProvider::Gitlab),
            ..fields("https://git.acme.internal/ops/app")
        };
        assert!(LinkKind::GitRepo.check(&with_provider).is_ok());
        // GitHub and GitLab read a repository by owner (or group) and name.
        let nameless = LinkFields {
            provider: Some(GitProvider::Github),
            ..fields("git://127.0.0.1:9418/app.git")
        };
        assert_eq!(
            LinkKind::GitRepo.check(&nameless).map_err(|e| e.0),
            Err("location")
        );
        assert_eq!(
            provider_from_url("git://git.acme.internal/app.git"),
            Some(GitProvider::Git)
        );
    }

    #[test]
    fn kind_specific_fields_belong_to_their_kind() {
        let cluster = LinkFields {
            namespace: Some("payments"),
            ..fields("https://k3s.acme.internal:6443")
        };
        assert!(LinkKind::K8sCluster.check(&cluster).is_ok());
        assert_eq!(
            LinkKind::AnsibleInventory
                .check(&LinkFields {
                    namespace: Some("x"),
                    ..fields("inventories/prod.ini")
                })
                .map_err(|e| e.0),
            Err("namespace")
        );
        assert_eq!(
            LinkKind::K8sCluster
                .check(&LinkFields {
                    namespace: Some("Bad_NS"),
                    ..fields("https://k8s:6443")
                })
                .map_err(|e| e.0),
            Err("namespace")
        );
        assert!(LinkKind::K8sCluster
            .check(&fields("http://k8s:6443"))
            .is_err());
    }

    #[test]
    fn secret_names_are_environment_variable_names() {
        assert!(is_secret_name("GITHUB_TOKEN"));
        assert!(is_secret_name("_x1"));
        assert!(!is_secret_name("1X"));
        assert!(!is_secret_name("A-B"));
        assert!(!is_secret_name(""));
    }
}
