//! Repositories read through their provider's API: GitHub (REST v3 through `octocrab`, GitHub
//! Enterprise at `https://<host>/api/v3`, or `UHUB_GITHUB_API_URL`) and GitLab (REST v4 at
//! `https://<host>/api/v4`). Branches, commits and merge requests (GitHub pull requests alike),
//! with their CI status; and the commit statuses uHub posts for runs.
//!
//! The link's token is read from the project's secrets (`token_secret` names it) for each use,
//! sent only in the `Authorization` / `PRIVATE-TOKEN` header, never logged nor answered. GitHub
//! answers are cached by the client (conditional requests: a `304` costs no rate limit); GitLab
//! answers are kept 30 seconds. A rate limit answers `503 remote_unavailable` with when to
//! retry; another error status `502 remote_refused` with the status only (a provider's body
//! may echo what it was sent).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::{GitProvider, ProjectLink};
use octocrab::Octocrab;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secrets::SecretStore;
use crate::storage::Storage;
use crate::{ServiceError, ServiceResult};

/// An answer slower than this is given up.
const API_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a GitLab answer is served from memory.
const GITLAB_FRESH: Duration = Duration::from_secs(30);
/// Entries kept in the GitLab cache at most (older ones are dropped first).
const GITLAB_CACHE_ENTRIES: usize = 512;

/// Where a repository's API is, and the repository there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    Github {
        base: String,
        owner: String,
        repo: String,
    },
    Gitlab {
        base: String,
        /// `group/subgroup/project`, URL-encoded as GitLab wants it in paths.
        project: String,
    },
}

/// The API of a link's repository; `None` for the `git` provider (the Git protocol only).
fn api_of(link: &ProjectLink, github_api_url: Option<&str>) -> ServiceResult<Option<Api>> {
    let unknown =
        || ServiceError::invalid("location", "names no repository path (host/owner/name)");
    match link.provider {
        None | Some(GitProvider::Git) => Ok(None),
        Some(GitProvider::Github) => {
            let (host, path, _) =
                domain::link::host_and_path(&link.location).ok_or_else(unknown)?;
            let (owner, repo) = path.split_once('/').ok_or_else(unknown)?;
            let base = match github_api_url {
                Some(url) => url.trim_end_matches('/').to_owned(),
                None if host.eq_ignore_ascii_case("github.com") => {
                    "https://api.github.com".to_owned()
                }
                None => format!("https://{host}/api/v3"),
            };
            Ok(Some(Api::Github {
                base,
                owner: owner.to_owned(),
                repo: repo.to_owned(),
            }))
        }
        Some(GitProvider::Gitlab) => {
            let (host, path, insecure) =
                domain::link::host_and_path(&link.location).ok_or_else(unknown)?;
            let scheme = if insecure { "http" } else { "https" };
            Ok(Some(Api::Gitlab {
                base: format!("{scheme}://{host}/api/v4"),
                project: path.replace('/', "%2F"),
            }))
        }
    }
}

/// The token a link names (`token_secret`), from the project's secrets (project-wide scope).
/// A token that could not be an HTTP header value is refused before anything is sent.
pub async fn link_token(
    secrets: &SecretStore,
    storage: &Storage,
    link: &ProjectLink,
) -> ServiceResult<Option<Zeroizing<String>>> {
    let Some(name) = link.token_secret.as_deref() else {
        return Ok(None);
    };
    let token = secrets
        .project_value(storage, link.project_id, name)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid(
                "token_secret",
                "names no project-wide secret of the project: set it on the secrets tab",
            )
        })?;
    if !usable_token(&token) {
        return Err(ServiceError::invalid(
            "token_secret",
            "the secret is not a token (printable characters, no spaces)",
        ));
    }
    Ok(Some(token))
}

/// GitHub clients by link and digest of (API address, token).
type GithubClients = HashMap<(i64, [u8; 32]), Octocrab>;

/// Whether `token` can be sent as an HTTP header value: 1 to 1024 printable characters, no spaces.
pub(crate) fn usable_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 1024 && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The clients and caches of the providers' APIs. Cheap to clone.
#[derive(Clone, Default)]
pub struct Forges {
    /// `UHUB_GITHUB_API_URL`: GitHub's API for every `github` link (GitHub Enterprise behind a
    /// proxy, or a recorded API in tests); otherwise told from the link's host.
    github_api_url: Option<String>,
    /// `UHUB_GITLAB_URL`: the team's GitLab (default `https://gitlab.com`), the one GitLab
    /// people's personal tokens are sent to.
    gitlab_url: Option<String>,
    /// One GitHub client per link and token (each keeps its own conditional-request cache:
    /// answers read with one token are never served to another).
    github: Arc<Mutex<GithubClients>>,
    gitlab: Arc<Mutex<HashMap<String, (Instant, Value)>>>,
}

impl std::fmt::Debug for Forges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forges")
            .field("github_api_url", &self.github_api_url)
            .field("gitlab_url", &self.gitlab_url)
            .finish()
    }
}

/// An HTTP method of the providers' APIs uHub uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Forges {
    pub fn new(github_api_url: Option<String>) -> Forges {
        Forges {
            github_api_url: github_api_url.filter(|u| !u.trim().is_empty()),
            ..Forges::default()
        }
    }

    /// The same, with the team's GitLab at `url` (`None`: gitlab.com).
    pub fn with_gitlab_url(mut self, url: Option<String>) -> Forges {
        self.gitlab_url = url.filter(|u| !u.trim().is_empty());
        self
    }

    /// Whether people's personal tokens may be sent to `api`: only to GitHub's API (the
    /// configured one, else api.github.com) and to the team's GitLab. A repository link is any
    /// project owner's to write: its host must not receive everybody's tokens.
    pub fn takes_personal_tokens(&self, api: &Api) -> ServiceResult<()> {
        let (allowed, expected, setting) = match api {
            Api::Github { base, .. } => {
                let expected = self
                    .github_api_url
                    .as_deref()
                    .unwrap_or("https://api.github.com")
                    .trim_end_matches('/')
                    .to_owned();
                (*base == expected, expected, "UHUB_GITHUB_API_URL")
            }
            Api::Gitlab { base, .. } => {
                let team = self
                    .gitlab_url
                    .as_deref()
                    .unwrap_or("https://gitlab.com")
                    .trim_end_matches('/');
                let expected = format!("{team}/api/v4");
                (*base == expected, expected, "UHUB_GITLAB_URL")
            }
        };
        if allowed {
            return Ok(());
        }
        Err(ServiceError::invalid(
            "location",
            format!("personal tokens are sent only to {expected} ({setting}): this repository is elsewhere"),
        ))
    }

    /// The API of a link's repository (see [`api_of`]).
    pub fn api_of(&self, link: &ProjectLink) -> ServiceResult<Option<Api>> {
        api_of(link, self.github_api_url.as_deref())
    }

    /// A JSON answer of the repository's API: `GET` (cached) or `POST` with `body`.
    pub async fn call(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> ServiceResult<Value> {
        match api {
            Api::Github { base, .. } => {
                let client = self.github_client(link_id, base, token)?;
                github_call(&client, method, path_and_query, body).await
            }
            Api::Gitlab { base, .. } => {
                let url = format!("{base}{path_and_query}");
                let key = format!("{link_id} {}", hex_digest(token, &url));
                if method == Method::Get {
                    if let Some(fresh) = self.gitlab_cached(&key) {
                        return Ok(fresh);
                    }
                }
                let answer = gitlab_call(&url, token, method, body).await?;
                if method == Method::Get {
                    self.gitlab_keep(key, answer.clone());
                }
                Ok(answer)
            }
        }
    }

    fn github_client(
        &self,
        link_id: i64,
        base: &str,
        token: Option<&Zeroizing<String>>,
    ) -> ServiceResult<Octocrab> {
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&Sha256::digest(
            [
                base.as_bytes(),
                b"\0",
                token.map(|t| t.as_bytes()).unwrap_or_default(),
            ]
            .concat(),
        ));
        let mut clients = self.github.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&(link_id, digest)) {
            return Ok(client.clone());
        }
        let broken = |_| ServiceError::invalid("location", "GitHub's API address is not a URL");
        let mut builder = Octocrab::builder()
            .base_uri(base)
            .map_err(broken)?
            .cache(octocrab::service::middleware::cache::mem::InMemoryCache::new());
        if let Some(token) = token {
            // The `token` scheme: what GitHub documents for personal access tokens, and what
            // recorded exchanges carry.
            builder = builder.add_header(
                http::header::AUTHORIZATION,
                format!("token {}", token.as_str()),
            );
        }
        let client = builder
            .build()
            .map_err(|_| ServiceError::Internal("the GitHub client cannot be built".to_owned()))?;
        // Clients of tokens since rotated are dropped now and then rather than kept forever.
        if clients.len() > 256 {
            clients.clear();
        }
        clients.insert((link_id, digest), client.clone());
        Ok(client)
    }

    fn gitlab_cached(&self, key: &str) -> Option<Value> {
        let cache = self.gitlab.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < GITLAB_FRESH)
            .map(|(_, value)| value.clone())
    }

    fn gitlab_keep(&self, key: String, value: Value) {
        let mut cache = self.gitlab.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= GITLAB_CACHE_ENTRIES {
            cache.retain(|_, (at, _)| at.elapsed() < GITLAB_FRESH);
            if cache.len() >= GITLAB_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), value));
    }
}

/// A cache key that depends on the token without holding it.
fn hex_digest(token: Option<&Zeroizing<String>>, url: &str) -> String {
    Sha256::digest(
        [
            token.map(|t| t.as_bytes()).unwrap_or_default(),
            b"\0",
            url.as_bytes(),
        ]
        .concat(),
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect()
}

fn unreachable(provider: &str) -> ServiceError {
    ServiceError::RemoteUnavailable {
        reason: format!("{provider} could not be reached (network, DNS or TLS)"),
        retry_after_secs: None,
    }
}

/// Seconds to wait, from a rate-limited answer's headers: `Retry-After`, else GitHub's
/// `x-ratelimit-reset` / GitLab's `RateLimit-Reset` (epoch seconds).
fn retry_after(headers: &http::HeaderMap) -> u64 {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(seconds) = number("retry-after") {
        return seconds.max(1);
    }
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    number("x-ratelimit-reset")
        .or_else(|| number("ratelimit-reset"))
        .map(|reset| reset.saturating_sub(now).max(1))
        .unwrap_or(60)
}

/// Whether an error answer is a rate limit rather than a refusal.
fn rate_limited(status: u16, headers: &http::HeaderMap) -> bool {
    let exhausted = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
    };
    status == 429
        || (status == 403
            && (exhausted("x-ratelimit-remaining") || headers.contains_key("retry-after")))
}

fn refused(provider: &'static str, status: u16, headers: &http::HeaderMap) -> ServiceError {
    if rate_limited(status, headers) {
        let seconds = retry_after(headers);
        return ServiceError::RemoteUnavailable {
            reason: format!("{provider}'s rate limit is reached: retry in {seconds} s"),
            retry_after_secs: Some(seconds),
        };
    }
    let hint = match status {
        401 => ": the token is missing, wrong or expired",
        403 => ": the token may not do this",
        404 => ": no such repository, or the token cannot see it",
        _ => "",
    };
    ServiceError::RemoteRefused { status, hint }
}

async fn github_call(
    client: &Octocrab,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
) -> ServiceResult<Value> {
    use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
    let uri: http::Uri = path_and_query
        .parse()
        .map_err(|_| ServiceError::Internal("a GitHub path is not a URI".to_owned()))?;
    let post = match method {
        Method::Get => None,
        Method::Post => {
            let json = serde_json::to_string(body.unwrap_or(&Value::Null))
                .map_err(|_| ServiceError::Internal("a GitHub body is not JSON".to_owned()))?;
            // The charset is said: GitHub accepts either, recorded exchanges carry it.
            let request = http::Request::builder()
                .method(http::Method::POST)
                .uri(uri.clone())
                .header(ACCEPT, "application/vnd.github.v3+json")
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .header(http::header::CONTENT_LENGTH, json.len().to_string())
                .body(json)
                .map_err(|_| {
                    ServiceError::Internal("a GitHub request cannot be built".to_owned())
                })?;
            Some(request)
        }
    };
    let sent = async {
        match post {
            Some(request) => client.execute(request).await,
            None => {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    ACCEPT,
                    HeaderValue::from_static("application/vnd.github.v3+json"),
                );
                client._get_with_headers(uri, Some(headers)).await
            }
        }
    };
    // One deadline for the whole exchange: an answer whose body stalls after its headers is
    // given up like one that never comes (a run reports its commit status on its way).
    let deadline = tokio::time::Instant::now() + API_TIMEOUT;
    let response = tokio::time::timeout_at(deadline, sent)
        .await
        .map_err(|_| unreachable("GitHub"))?
        .map_err(|_| unreachable("GitHub"))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        tracing::warn!(status, "GitHub refused a request");
        return Err(refused("GitHub", status, response.headers()));
    }
    let text = tokio::time::timeout_at(deadline, client.body_to_string(response))
        .await
        .map_err(|_| unreachable("GitHub"))?
        .map_err(|_| unreachable("GitHub"))?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|_| ServiceError::RemoteRefused {
        status,
        hint: ": the answer is not JSON",
    })
}

async fn gitlab_call(
    url: &str,
    token: Option<&Zeroizing<String>>,
    method: Method,
    body: Option<&Value>,
) -> ServiceResult<Value> {
    // One client (its connection pool and TLS roots) for every GitLab call of the process.
    static CLIENT: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    let client = CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(API_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| ServiceError::Internal("the GitLab client cannot be built".to_owned()))?;
    let mut request = match method {
        Method::Get => client.get(url),
        Method::Post => client.post(url).json(body.unwrap_or(&Value::Null)),
    };
    if let Some(token) = token {
        request = request.header("PRIVATE-TOKEN", token.as_str());
    }
    let response = request.send().await.map_err(|_| unreachable("GitLab"))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        tracing::warn!(status, "GitLab refused a request");
        return Err(refused("GitLab", status, response.headers()));
    }
    response
        .json()
        .await
        .map_err(|_| ServiceError::RemoteRefused {
            status,
            hint: ": the answer is not JSON",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_says_when_to_retry() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-ratelimit-remaining", http::HeaderValue::from_static("0"));
        let reset = (chrono::Utc::now().timestamp() + 120).to_string();
        headers.insert(
            "x-ratelimit-reset",
            http::HeaderValue::from_str(&reset).expect("digits"),
        );
        match refused("GitHub", 403, &headers) {
            ServiceError::RemoteUnavailable {
                retry_after_secs: Some(seconds),
                ..
            } => assert!((100..=121).contains(&seconds), "{seconds}"),
            other => panic!("not a rate limit: {other:?}"),
        }
        assert!(matches!(
            refused("GitHub", 403, &http::HeaderMap::new()),
            ServiceError::RemoteRefused { status: 403, .. }
        ));
    }
}
