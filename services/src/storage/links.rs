//! Link records: Git repositories, Ansible inventories, Terraform plans, Kubernetes clusters.

use chrono::{DateTime, Utc};
use domain::link::{provider_from_url, LinkFields};
use domain::{GitProvider, LinkKind, ProjectLink};

use super::{audit, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A link to create. `environment` is a name within the link's project.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub project_id: i64,
    pub kind: LinkKind,
    pub name: String,
    pub environment: Option<String>,
    pub location: String,
    pub provider: Option<GitProvider>,
    pub default_branch: Option<String>,
    pub namespace: Option<String>,
    /// Git repositories: the project secret that signs their webhooks.
    pub webhook_secret_name: Option<String>,
    /// Git repositories: the project secret holding their API / HTTPS token.
    pub token_secret: Option<String>,
    /// Git repositories on GitHub or GitLab: report runs as commit statuses.
    pub report_status: bool,
}

/// Changes to a link; `None` leaves a field as it is, `Some(None)` clears it. The kind is fixed.
#[derive(Debug, Clone, Default)]
pub struct LinkChanges {
    pub name: Option<String>,
    pub environment: Option<Option<String>>,
    pub location: Option<String>,
    pub provider: Option<Option<GitProvider>>,
    pub default_branch: Option<Option<String>>,
    pub namespace: Option<Option<String>>,
    pub webhook_secret_name: Option<Option<String>>,
    pub token_secret: Option<Option<String>>,
    pub report_status: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    project_id: i64,
    kind: String,
    name: String,
    environment: Option<String>,
    location: String,
    provider: Option<String>,
    default_branch: Option<String>,
    namespace: Option<String>,
    webhook_secret_name: Option<String>,
    token_secret_name: Option<String>,
    report_status: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const LINK_SELECT: &str =
    "SELECT l.id, l.project_id, l.kind, l.name, e.name AS environment, l.location, \
     l.git_provider AS provider, l.default_branch, l.namespace, l.webhook_secret_name, l.token_secret_name, l.report_status, l.version, l.created_at, l.updated_at \
     FROM project_links l LEFT JOIN environments e ON e.id = l.environment_id";

impl TryFrom<LinkRow> for ProjectLink {
    type Error = ServiceError;

    fn try_from(row: LinkRow) -> ServiceResult<ProjectLink> {
        let corrupt = |e: domain::UnknownVariant| {
            ServiceError::Internal(format!("stored link is invalid: {e}"))
        };
        Ok(ProjectLink {
            id: row.id,
            project_id: row.project_id,
            kind: row.kind.parse().map_err(corrupt)?,
            name: row.name,
            environment: row.environment,
            location: row.location,
            provider: row
                .provider
                .map(|p| p.parse())
                .transpose()
                .map_err(corrupt)?,
            default_branch: row.default_branch,
            namespace: row.namespace,
            webhook_secret_name: row.webhook_secret_name,
            token_secret: row.token_secret_name,
            report_status: row.report_status,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Checks a link as it would be stored; fills in the Git provider a well-known host implies.
fn checked(
    kind: LinkKind,
    name: &str,
    location: &str,
    provider: Option<GitProvider>,
    default_branch: Option<&str>,
    namespace: Option<&str>,
) -> ServiceResult<Option<GitProvider>> {
    crate::rules::one_line_name(name)?;
    let fields = LinkFields {
        location: location.trim(),
        provider,
        default_branch,
        namespace,
    };
    kind.check(&fields)
        .map_err(|(field, why)| ServiceError::invalid(field, why))?;
    Ok(match kind {
        LinkKind::GitRepo => provider.or_else(|| provider_from_url(location)),
        _ => None,
    })
}

/// A webhook secret's name: only Git repositories have one, and it names a project secret
/// (the same spelling as secrets: letters, digits and `_`, not starting with a digit).
fn checked_webhook_secret(kind: LinkKind, name: Option<&str>) -> ServiceResult<()> {
    checked_secret_name(kind, "webhook_secret_name", name)
}

/// The Git-only fields naming project secrets, and status reporting: only GitHub and GitLab
/// take statuses, through the link's token.
fn checked_git_access(
    kind: LinkKind,
    provider: Option<GitProvider>,
    token_secret: Option<&str>,
    report_status: bool,
) -> ServiceResult<()> {
    checked_secret_name(kind, "token_secret", token_secret)?;
    if report_status {
        if !matches!(provider, Some(GitProvider::Github | GitProvider::Gitlab)) {
            return Err(ServiceError::invalid(
                "report_status",
                "only GitHub and GitLab repositories take commit statuses",
            ));
        }
        if token_secret.is_none() {
            return Err(ServiceError::invalid(
                "report_status",
                "needs a token_secret: statuses are posted with the repository's token",
            ));
        }
    }
    Ok(())
}

/// A field naming a project secret: only Git repositories have one, spelled as secrets are.
fn checked_secret_name(
    kind: LinkKind,
    field: &'static str,
    name: Option<&str>,
) -> ServiceResult<()> {
    let Some(name) = name else { return Ok(()) };
    if kind != LinkKind::GitRepo {
        return Err(ServiceError::invalid(
            field,
            "only Git repositories name secrets",
        ));
    }
    let well_formed = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !well_formed {
        return Err(ServiceError::invalid(
            field,
            "must be the name of a project secret (letters, digits, _)",
        ));
    }
    Ok(())
}

reads! {
    fn link(id: i64) -> ProjectLink;
    fn list_links(project_id: i64, kind: Option<LinkKind>) -> Vec<ProjectLink>;
}

writes! {
    fn create_link(link: &NewLink, actor: &Actor) -> ProjectLink;
    fn update_link(
        id: i64,
        based_on_version: i64,
        changes: &LinkChanges,
        actor: &Actor,
    ) -> ProjectLink;
    fn delete_link(id: i64, actor: &Actor) -> ();
}

impl Tx {
    pub async fn create_link(
        &mut self,
        link: &NewLink,
        actor: &Actor,
    ) -> ServiceResult<ProjectLink> {
        let provider = checked(
            link.kind,
            &link.name,
            &link.location,
            link.provider,
            link.default_branch.as_deref(),
            link.namespace.as_deref(),
        )?;
        checked_webhook_secret(link.kind, link.webhook_secret_name.as_deref())?;
        checked_git_access(
            link.kind,
            provider,
            link.token_secret.as_deref(),
            link.report_status,
        )?;
        let environment_id = match &link.environment {
            Some(name) => Some(self.environment(link.project_id, name).await?.id),
            None => None,
        };
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO project_links (project_id, kind, name, environment_id, location, git_provider, \
                 default_branch, namespace, webhook_secret_name, created_at, updated_at, token_secret_name, report_status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9, $11, $12) RETURNING id",
            )
            .bind(link.project_id)
            .bind(link.kind.as_str())
            .bind(link.name.trim())
            .bind(environment_id)
            .bind(link.location.trim())
            .bind(provider.map(GitProvider::as_str))
            .bind(link.default_branch.as_deref())
            .bind(link.namespace.as_deref())
            .bind(at)
            .bind(link.webhook_secret_name.as_deref())
            .bind(link.token_secret.as_deref())
            .bind(link.report_status)
            .fetch_one(&mut *c)
            .await
            .map_err(ServiceError::on_unique("name"))
        })?;
        let detail = serde_json::json!({ "project_id": link.project_id, "kind": link.kind, "name": link.name.trim() });
        audit::write(self, actor, "link.create", Some(("link", id)), &detail).await?;
        self.link(id).await
    }
}

impl Db {
    pub async fn link(&mut self, id: i64) -> ServiceResult<ProjectLink> {
        let sql = format!("{LINK_SELECT} WHERE l.id = $1");
        on_db!(self, c => sqlx::query_as::<_, LinkRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "link" })?
            .try_into()
    }

    /// A project's links, by kind then name; one kind or all.
    pub async fn list_links(
        &mut self,
        project_id: i64,
        kind: Option<LinkKind>,
    ) -> ServiceResult<Vec<ProjectLink>> {
        let sql = format!(
            "{LINK_SELECT} WHERE l.project_id = $1 AND ($2 IS NULL OR l.kind = $2) ORDER BY l.kind, l.name, l.id"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, LinkRow>(&sql)
                .bind(project_id)
                .bind(kind.map(LinkKind::as_str))
                .fetch_all(&mut *c)
                .await
        })?;
        rows.into_iter().map(ProjectLink::try_from).collect()
    }
}

impl Tx {
    /// Applies `changes` if nobody changed the link since `based_on_version`; the result is
    /// checked as a whole (a new URL must still suit the link's kind).
    pub async fn update_link(
        &mut self,
        id: i64,
        based_on_version: i64,
        changes: &LinkChanges,
        actor: &Actor,
    ) -> ServiceResult<ProjectLink> {
        let current = self.link(id).await?;
        let name = changes.name.clone().unwrap_or(current.name.clone());
        let location = changes.location.clone().unwrap_or(current.location.clone());
        let default_branch = changes
            .default_branch
            .clone()
            .unwrap_or(current.default_branch.clone());
        let namespace = changes
            .namespace
            .clone()
            .unwrap_or(current.namespace.clone());
        let webhook_secret_name = changes
            .webhook_secret_name
            .clone()
            .unwrap_or(current.webhook_secret_name.clone());
        checked_webhook_secret(current.kind, webhook_secret_name.as_deref())?;
        // A new URL may imply another provider: only an explicit one is kept over it.
        let provider = match changes.provider {
            Some(provider) => provider,
            None if changes.location.is_some() => None,
            None => current.provider,
        };
        let provider = checked(
            current.kind,
            &name,
            &location,
            provider,
            default_branch.as_deref(),
            namespace.as_deref(),
        )?;
        let token_secret = changes
            .token_secret
            .clone()
            .unwrap_or(current.token_secret.clone());
        let report_status = changes.report_status.unwrap_or(current.report_status);
        checked_git_access(
            current.kind,
            provider,
            token_secret.as_deref(),
            report_status,
        )?;
        let environment = changes
            .environment
            .clone()
            .unwrap_or(current.environment.clone());
        let environment_id = match &environment {
            Some(env) => Some(self.environment(current.project_id, env).await?.id),
            None => None,
        };
        let detail = serde_json::json!({ "version": based_on_version, "name": name.trim(), "location_changed": changes.location.is_some() });
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE project_links SET name = $1, environment_id = $2, location = $3, git_provider = $4, \
                 default_branch = $5, namespace = $6, version = version + 1, updated_at = $7, \
                 webhook_secret_name = $10, token_secret_name = $11, report_status = $12 WHERE id = $8 AND version = $9",
            )
            .bind(name.trim())
            .bind(environment_id)
            .bind(location.trim())
            .bind(provider.map(GitProvider::as_str))
            .bind(default_branch.as_deref())
            .bind(namespace.as_deref())
            .bind(now())
            .bind(id)
            .bind(based_on_version)
            .bind(webhook_secret_name.as_deref())
            .bind(token_secret.as_deref())
            .bind(report_status)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(ServiceError::on_unique("name"))
        })?;
        if changed == 0 {
            return Err(
                match self.stale_or_missing("project_links", "link", id).await {
                    stale @ ServiceError::StaleVersion { .. } => {
                        let current = self.link(id).await?;
                        stale.with_current(&current)
                    }
                    other => other,
                },
            );
        }
        audit::write(self, actor, "link.update", Some(("link", id)), &detail).await?;
        self.link(id).await
    }

    pub async fn delete_link(&mut self, id: i64, actor: &Actor) -> ServiceResult<()> {
        let link = self.link(id).await?;
        on_db!(self, c => sqlx::query("DELETE FROM project_links WHERE id = $1").bind(id).execute(&mut *c).await.map(|done| done.rows_affected()))?;
        let detail = serde_json::json!({ "project_id": link.project_id, "kind": link.kind, "name": link.name });
        audit::write(self, actor, "link.delete", Some(("link", id)), &detail).await
    }
}
