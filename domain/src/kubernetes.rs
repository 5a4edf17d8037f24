//! Kubernetes clusters as uHub shows them: what a project's kubeconfig says (never the
//! kubeconfig itself, which stays in the secret store) and the result of the last check of the
//! cluster — reachable, TLS verified against the kubeconfig's CA, the server's version and what
//! uHub may do in its namespace.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How the kubeconfig's user proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuthKind {
    /// A bearer token.
    Token,
    /// A client certificate and its key.
    ClientCertificate,
    /// A user name and password.
    Basic,
    /// A command run on the uHub host (`exec`), allowed by the admin only.
    Exec,
    /// A legacy `auth-provider` plug-in, allowed by the admin only.
    AuthProvider,
    /// Nothing: anonymous requests.
    None,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Token => "token",
            AuthKind::ClientCertificate => "client_certificate",
            AuthKind::Basic => "basic",
            AuthKind::Exec => "exec",
            AuthKind::AuthProvider => "auth_provider",
            AuthKind::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<AuthKind> {
        [
            AuthKind::Token,
            AuthKind::ClientCertificate,
            AuthKind::Basic,
            AuthKind::Exec,
            AuthKind::AuthProvider,
            AuthKind::None,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// One cluster of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cluster {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    /// The project environment whose guardrails apply to runs on this cluster.
    pub environment: String,
    /// The API server, e.g. `https://k8s.internal:6443`.
    pub server_url: String,
    /// The kubeconfig context uHub uses.
    pub context: String,
    /// The namespace every run on this cluster is confined to.
    pub namespace: String,
    /// SHA-256 of the CA certificate the kubeconfig trusts (`AB:CD:…`), `None` when it trusts
    /// the usual public authorities.
    pub ca_fingerprint: Option<String>,
    pub auth_kind: AuthKind,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The last check, if the cluster was checked since its kubeconfig was last set.
    pub last_check: Option<ClusterCheck>,
}

/// A project's clusters, and its older `k8s_cluster` links that can be upgraded to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterList {
    pub items: Vec<Cluster>,
    /// `k8s_cluster` links (a URL only): `POST …/clusters` with `link` set upgrades one.
    pub links: Vec<crate::ProjectLink>,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Health {
    /// Reachable, TLS verified, signed in, and the namespace readable or the rules known.
    Healthy,
    /// Reachable but something is wrong (refused credentials, missing namespace).
    Degraded,
    /// Not reachable, or the TLS check failed.
    Unreachable,
}

/// Why a check failed, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckProblem {
    /// `unreachable`, `tls_mismatch`, `unauthorized` (401), `forbidden` (403),
    /// `namespace_missing`, `unexpected_answer`, `exec_not_run`.
    pub code: String,
    pub message: String,
}

/// One rule of what uHub may do in the namespace (`SelfSubjectRulesReview`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceRule {
    pub verbs: Vec<String>,
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
}

/// The result of `POST /clusters/{c}/check`, kept with the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterCheck {
    pub at: DateTime<Utc>,
    pub health: Health,
    /// The API server answered `/version`.
    pub reachable: bool,
    /// The server's certificate chains to the kubeconfig's CA (or a public one when none).
    pub tls_verified: bool,
    /// `gitVersion` from `/version`, e.g. `v1.31.2`.
    pub server_version: Option<String>,
    /// The namespace exists (`None`: uHub may not read it).
    pub namespace_found: Option<bool>,
    /// What uHub may do in the namespace; empty when the review was refused.
    pub rules: Vec<ResourceRule>,
    /// The server said the rules may be incomplete (webhook authorizers, for instance).
    pub rules_incomplete: bool,
    pub problems: Vec<CheckProblem>,
    /// How long the check took, in milliseconds.
    pub took_ms: u64,
}

/// Whether a namespace name is a DNS label (RFC 1123): what Kubernetes accepts.
pub fn is_namespace(name: &str) -> bool {
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

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(is_namespace("payments-prod"));
        assert!(!is_namespace("Payments"));
        assert!(!is_namespace("-x"));
        assert!(!is_namespace(""));
        assert!(!is_namespace(&"a".repeat(64)));
        assert!(!is_namespace("a/b"));
    }

    #[test]
    fn auth_kinds_read_back() {
        for kind in [
            "token",
            "client_certificate",
            "basic",
            "exec",
            "auth_provider",
            "none",
        ] {
            assert_eq!(AuthKind::parse(kind).map(AuthKind::as_str), Some(kind));
        }
        assert_eq!(AuthKind::parse("oidc"), None);
    }
}
