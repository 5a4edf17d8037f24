//! Users: accounts managed by admins (create, edit, deactivate, reset a password), and each
//! user's own profile (name, email, theme, language) and password.

use domain::policy::{Action, Object};
use domain::Role;
use tracing::instrument;

use crate::auth;
use crate::password::hash_password;
use crate::storage::{check_email, NewUser, ProfileChanges, UserChanges, UserRecord};
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// Every user, by username (admin only).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<UserRecord>> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    hub.storage.read().await?.list_users().await
}

/// One user: admins see anyone, everyone sees themselves.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<UserRecord> {
    if id != caller.id() {
        caller.may(Action::ManageUsers, &Object::none(), None)?;
    }
    hub.storage.read().await?.user_by_id(id).await
}

/// Someone a job may be given to, as every signed-in user may see them (names and roles, as
/// on runs and incidents; never an email).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

/// The active accounts, by name, for choosing a job's owner or a backlog item's assignee.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn directory(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<Person>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let users = hub.storage.read().await?.list_users().await?;
    let mut people: Vec<Person> = users
        .into_iter()
        .filter(|user| user.is_active)
        .filter_map(|user| {
            Some(Person {
                role: user.role().ok()?,
                id: user.id,
                username: user.username,
                display_name: user.display_name,
            })
        })
        .collect();
    people.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
    });
    Ok(people)
}

/// The name to show for a user (anyone may see who leads an incident or launched a run).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn display_name(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<String> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(hub.storage.read().await?.user_by_id(id).await?.display_name)
}

/// An account to create, with its temporary password.
#[derive(Debug, Clone)]
pub struct UserDraft {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub password: String,
    /// The user must choose their own password at first login (the default).
    pub must_change_password: bool,
    pub locale: Option<String>,
}

/// A password for one sign-in, generated for an account an admin creates or resets: 20
/// characters without look-alikes (no 0/O, 1/l/I), shown once to the admin, changed by the user
/// at their first login.
pub fn one_time_password() -> zeroize::Zeroizing<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let text: String = (0..20)
        .map(|i| {
            if i > 0 && i % 5 == 0 {
                '-'
            } else {
                ALPHABET[rng.gen_range(0..ALPHABET.len())] as char
            }
        })
        .collect();
    zeroize::Zeroizing::new(text)
}

/// A username: 2 to 64 letters, digits, `-`, `_` or `.`.
fn check_username(username: &str) -> ServiceResult<()> {
    let valid = (2..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "username",
            "2 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

/// Creates an account (admin only).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn create(hub: &Hub, caller: &Caller, draft: UserDraft) -> ServiceResult<UserRecord> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    check_username(&draft.username)?;
    if let Some(email) = &draft.email {
        check_email(email)?;
    }
    auth::check_password_policy(&draft.username, &draft.password).map_err(|_| {
        ServiceError::invalid(
            "password",
            format!(
                "must be at least {} characters and not the username",
                domain::password::MIN_CHARS
            ),
        )
    })?;
    // Hashed before the transaction: argon2 takes a while, and nobody should wait on it.
    let new_user = NewUser {
        username: draft.username,
        email: draft.email,
        display_name: draft.display_name,
        role: draft.role,
        password_hash: hash_password(draft.password).await?,
        theme: "dark".to_owned(),
        locale: draft.locale.unwrap_or_else(|| "en".to_owned()),
        is_active: true,
        must_change_password: draft.must_change_password,
    };
    let mut tx = hub.storage.write().await?;
    let user = tx.create_user(&new_user, &caller.actor()).await?;
    tx.commit().await?;
    Ok(user)
}

/// Changes a user's name, email, role or active flag (admin only); deactivating ends their
/// sessions, and uHub always keeps one active admin.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    changes: UserChanges,
) -> ServiceResult<UserRecord> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    if let Some(Some(email)) = &changes.email {
        check_email(email)?;
    }
    let mut tx = hub.storage.write().await?;
    let user = tx.update_user(id, &changes, &caller.actor()).await?;
    tx.commit().await?;
    Ok(user)
}

/// Sets a temporary password that the user must change at next login (admin only).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn reset_password(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    password: &str,
) -> ServiceResult<()> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    auth::reset_password(&hub.storage, id, password, &caller.actor())
        .await
        .map_err(|error| match error {
            ServiceError::Invalid { reason, .. } => ServiceError::invalid("password", reason),
            other => other,
        })?;
    Ok(())
}

/// The caller's change to their own profile: display name, email, theme, language.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn update_profile(
    hub: &Hub,
    caller: &Caller,
    changes: ProfileChanges,
) -> ServiceResult<UserRecord> {
    let mut tx = hub.storage.write().await?;
    let user = tx
        .update_profile(caller.id(), &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(user)
}

/// The caller changes their own password (allowed before the forced change, which it is).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn change_password(
    hub: &Hub,
    caller: &Caller,
    current_password: &str,
    new_password: &str,
) -> ServiceResult<UserRecord> {
    auth::change_password(
        &hub.storage,
        &hub.throttle,
        &caller.user,
        current_password,
        new_password,
        &caller.actor(),
    )
    .await
}
