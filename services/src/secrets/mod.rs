//! Project secrets: written and deleted by whoever manages the project, project-wide or for one
//! environment's runs only, listed by name and scope only, read back only by the engine for a
//! run of their scope (and to mask a webhook's reported lines). Values never leave the process
//! otherwise. [`store`] says where they live.

pub mod store;

pub use store::{Sealed, SecretBox, SecretStore, MASTER_KEY_BYTES, MAX_SECRET_BYTES};

use domain::policy::{Action, Object};
use domain::{Run, SecretInfo};
use tracing::instrument;

use crate::projects::for_change;
use crate::storage::{Db, SecretScope};
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// Names a secret may not take: uHub's own variables, and those that change how a program
/// starts (the loader, the shells, interpreters' start-up hooks), which would turn a secret
/// into code run by every script of the scope. A name ending in `*` covers its prefix.
const RESERVED: [&str; 20] = [
    "UHUB_*",
    "PATH",
    "HOME",
    "LANG",
    "LD_*",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "IFS",
    "PYTHON*",
    "NODE_OPTIONS",
    "PERL5*",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "GIT_*",
    "LC_*",
    "DYLD_*",
];

/// Whether a variable of this name may be a secret (see [`RESERVED`]); case-insensitive, as
/// some programs read these names in either case.
pub fn is_reserved_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    RESERVED
        .iter()
        .any(|reserved| match reserved.strip_suffix('*') {
            Some(prefix) => upper.starts_with(prefix),
            None => upper == *reserved,
        })
}

/// A secret's name becomes an environment variable: letters, digits and `_`, not starting with a
/// digit, and none that uHub sets or that changes how a program starts.
fn check_name(name: &str) -> ServiceResult<()> {
    if !domain::link::is_secret_name(name) {
        return Err(ServiceError::invalid(
            "name",
            "a secret name is letters, digits and _, not starting with a digit (it becomes an environment variable)",
        ));
    }
    if is_reserved_name(name) {
        return Err(ServiceError::invalid(
            "name",
            "this name is reserved: uHub sets it, or it changes how programs start (LD_*, BASH_ENV, PYTHON*, GIT_*, …)",
        ));
    }
    Ok(())
}

/// The scope an optional environment name designates in a project: absent or empty =
/// project-wide.
async fn scope_named(
    db: &mut Db,
    project_id: i64,
    environment: Option<&str>,
) -> ServiceResult<SecretScope> {
    match environment.filter(|e| !e.is_empty()) {
        None => Ok(SecretScope::Project),
        Some(name) => match db.environment(project_id, name).await {
            Ok(environment) => Ok(SecretScope::Environment {
                id: environment.id,
                name: environment.name,
            }),
            Err(ServiceError::NotFound { .. }) => Err(ServiceError::invalid(
                "environment",
                format!("the project has no environment `{name}`"),
            )),
            Err(error) => Err(error),
        },
    }
}

/// The secrets a run receives: the project-wide ones and its own environment's.
pub async fn run_scope(db: &mut Db, run: &Run) -> ServiceResult<SecretScope> {
    scope_named(db, run.project_id, run.environment.as_deref()).await
}

/// A project's secrets, by name and scope only: values are never returned.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(hub: &Hub, caller: &Caller, project_id: i64) -> ServiceResult<Vec<SecretInfo>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    hub.secrets().list(&mut db, project_id).await
}

/// Creates or replaces a secret, project-wide or for one `environment`'s runs only (the
/// project's owner among projets, or an admin).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn put(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    name: &str,
    value: &str,
    environment: Option<&str>,
) -> ServiceResult<SecretInfo> {
    hub.secrets()
        .put(&hub.storage, caller, project_id, environment, name, value)
        .await
}

/// Deletes a secret of a scope (the project's owner among projets, or an admin).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn delete(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    name: &str,
    environment: Option<&str>,
) -> ServiceResult<()> {
    hub.secrets()
        .delete(&hub.storage, caller, project_id, environment, name)
        .await
}

/// The scope a change of the project's secrets applies to, checked in the order both doors
/// answer: the caller may manage the project (its owner among projets, or an admin) and it is
/// active; then what is `written` (name and value), if anything; then the environment exists.
/// The store asks it where its change is made ([`SecretStore::put`]).
async fn checked_scope(
    db: &mut Db,
    caller: &Caller,
    project_id: i64,
    environment: Option<&str>,
    written: Option<(&str, &str)>,
) -> ServiceResult<SecretScope> {
    for_change(db, caller, project_id, Action::UpdateProject).await?;
    if let Some((name, value)) = written {
        check_name(name)?;
        if value.is_empty() || value.len() > MAX_SECRET_BYTES {
            return Err(ServiceError::invalid("value", "must be 1 byte to 64 KiB"));
        }
    }
    scope_named(db, project_id, environment).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_match_whatever_their_case_and_prefixes_only_where_starred() {
        // Every family, through the API: `hardening::secret_names_that_change_how_programs_start_are_refused`.
        for name in [
            "ld_preload",
            "Git_Dir",
            "BASH_FUNC_x%%",
            "PYTHON",
            "perl5lib",
            "lc_all",
        ] {
            assert!(is_reserved_name(name), "{name}");
        }
        for name in [
            "ENVIRONMENT",
            "PYTH",
            "PATHS",
            "HOMEPAGE_TOKEN",
            "IFS_KEY",
            "GITHUB_TOKEN",
        ] {
            assert!(!is_reserved_name(name), "{name}");
        }
    }
}
