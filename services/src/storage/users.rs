//! Users: accounts, their role and preferences. Password hashes stay inside this crate's types.

use chrono::{DateTime, Utc};
use domain::{Role, UserProfile};

use super::{audit, dialect, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A user as stored. Holds the password hash, so it is deliberately not `Serialize`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub theme: String,
    pub locale: String,
    pub is_active: bool,
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserRecord {
    pub fn role(&self) -> ServiceResult<Role> {
        self.role
            .parse()
            .map_err(|e: domain::UnknownVariant| ServiceError::Internal(e.to_string()))
    }

    /// What may be shown of this user.
    pub fn profile(&self) -> ServiceResult<UserProfile> {
        Ok(UserProfile {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            role: self.role()?,
            theme: self.theme.clone(),
            locale: self.locale.clone(),
            is_active: self.is_active,
        })
    }
}

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub theme: String,
    pub locale: String,
    pub is_active: bool,
    pub must_change_password: bool,
}

/// What a user may change about themselves; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub theme: Option<String>,
    pub locale: Option<String>,
}

/// The colour themes a user may choose.
pub const THEMES: &[&str] = &["dark", "light", "system"];
/// The languages of the UI.
pub const LOCALES: &[&str] = &["en", "fr"];

/// `Ok` for something shaped like an email address (one `@`, a dotted domain, no spaces).
pub fn check_email(email: &str) -> ServiceResult<()> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid("email", "is not an email address"))
    }
}

impl ProfileChanges {
    /// The same rules for the REST API and the profile page.
    pub fn check(&self) -> ServiceResult<()> {
        if let Some(name) = &self.display_name {
            if name.trim().is_empty() || name.chars().count() > 100 {
                return Err(ServiceError::invalid(
                    "display_name",
                    "must be 1 to 100 characters",
                ));
            }
        }
        if let Some(theme) = self.theme.as_deref() {
            if !THEMES.contains(&theme) {
                return Err(ServiceError::invalid(
                    "theme",
                    format!("must be one of {}", THEMES.join(", ")),
                ));
            }
        }
        if let Some(locale) = self.locale.as_deref() {
            if !LOCALES.contains(&locale) {
                return Err(ServiceError::invalid(
                    "locale",
                    format!("must be one of {}", LOCALES.join(", ")),
                ));
            }
        }
        if let Some(Some(email)) = &self.email {
            check_email(email)?;
        }
        Ok(())
    }
}

/// What an admin may change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// Every column a profile or admin change may set; also the audit detail (changed fields only).
#[derive(Debug, Clone, Default, serde::Serialize)]
struct UserColumns {
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    theme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_active: Option<bool>,
}

impl UserColumns {
    /// A change of role or active flag: what the last-admin rule guards.
    fn touches_access(&self) -> bool {
        self.role.is_some() || self.is_active.is_some()
    }
}

const USER_COLUMNS: &str =
    "id, username, email, display_name, role, password_hash, theme, locale, \
     is_active, must_change_password, password_changed_at, created_at, updated_at";

reads! {
    fn user_by_id(id: i64) -> UserRecord;
    fn user_by_username(username: &str) -> Option<UserRecord>;
    fn list_users() -> Vec<UserRecord>;
    fn count_admins() -> i64;
    fn count_active_admins() -> i64;
}

writes! {
    fn create_user(user: &NewUser, actor: &Actor) -> UserRecord;
    fn update_profile(id: i64, changes: &ProfileChanges, actor: &Actor) -> UserRecord;
    fn update_user(id: i64, changes: &UserChanges, actor: &Actor) -> UserRecord;
    fn set_password(
        id: i64,
        password_hash: &str,
        must_change_password: bool,
        action: &'static str,
        actor: &Actor,
    ) -> UserRecord;
}

impl Tx {
    pub async fn create_user(
        &mut self,
        user: &NewUser,
        actor: &Actor,
    ) -> ServiceResult<UserRecord> {
        let username = user.username.trim();
        if username.is_empty() {
            return Err(ServiceError::invalid("username", "must not be empty"));
        }
        if user.display_name.trim().is_empty() {
            return Err(ServiceError::invalid("display_name", "must not be empty"));
        }
        let at = now();
        let sql = format!(
            "INSERT INTO users (username, email, display_name, role, password_hash, theme, locale, \
             is_active, must_change_password, password_changed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10) RETURNING {USER_COLUMNS}"
        );
        let created = on_db!(self, c => {
            sqlx::query_as::<_, UserRecord>(&sql)
                .bind(username)
                .bind(&user.email)
                .bind(user.display_name.trim())
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(&user.theme)
                .bind(&user.locale)
                .bind(user.is_active)
                .bind(user.must_change_password)
                .bind(at)
                .fetch_one(&mut *c)
                .await
                .map_err(ServiceError::on_unique("username"))
        })?;
        let detail = serde_json::json!({ "username": created.username, "role": created.role });
        audit::write(
            self,
            actor,
            "user.create",
            Some(("user", created.id)),
            &detail,
        )
        .await?;
        Ok(created)
    }
}

impl Db {
    pub async fn user_by_id(&mut self, id: i64) -> ServiceResult<UserRecord> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        on_db!(self, c => sqlx::query_as::<_, UserRecord>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "user" })
    }

    pub async fn user_by_username(&mut self, username: &str) -> ServiceResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(
            on_db!(self, c => sqlx::query_as::<_, UserRecord>(&sql).bind(username).fetch_optional(&mut *c).await)?,
        )
    }

    /// Every user, by username.
    pub async fn list_users(&mut self) -> ServiceResult<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        Ok(on_db!(self, c => sqlx::query_as::<_, UserRecord>(&sql).fetch_all(&mut *c).await)?)
    }

    /// How many admins exist, active or not (bootstrap is allowed only when there is none).
    pub async fn count_admins(&mut self) -> ServiceResult<i64> {
        Ok(on_db!(self, c => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE role = 'admin'")
                .fetch_one(&mut *c)
                .await
        })?)
    }

    /// How many active admins exist (the bootstrap rule needs it).
    pub async fn count_active_admins(&mut self) -> ServiceResult<i64> {
        Ok(on_db!(self, c => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active = TRUE")
                .fetch_one(&mut *c)
                .await
        })?)
    }
}

impl Tx {
    /// A user's change to their own profile.
    pub async fn update_profile(
        &mut self,
        id: i64,
        changes: &ProfileChanges,
        actor: &Actor,
    ) -> ServiceResult<UserRecord> {
        changes.check()?;
        let columns = UserColumns {
            display_name: changes.display_name.clone(),
            email: changes.email.clone(),
            theme: changes.theme.clone(),
            locale: changes.locale.clone(),
            ..UserColumns::default()
        };
        self.apply_user_columns(id, &columns, "user.profile", actor)
            .await
    }

    /// An admin's change to a user. Refuses to leave uHub without an active admin.
    pub async fn update_user(
        &mut self,
        id: i64,
        changes: &UserChanges,
        actor: &Actor,
    ) -> ServiceResult<UserRecord> {
        let columns = UserColumns {
            display_name: changes.display_name.clone(),
            email: changes.email.clone(),
            role: changes.role,
            is_active: changes.is_active,
            ..UserColumns::default()
        };
        let action = if columns.touches_access() {
            "user.access"
        } else {
            "user.update"
        };
        self.apply_user_columns(id, &columns, action, actor).await
    }

    /// Applies `columns` in one statement (fields left `None` keep their stored value, so two
    /// people changing different fields at once never undo each other) with its audit row, and
    /// refuses a change of access that would leave no active admin.
    async fn apply_user_columns(
        &mut self,
        id: i64,
        columns: &UserColumns,
        action: &'static str,
        actor: &Actor,
    ) -> ServiceResult<UserRecord> {
        let display_name = columns.display_name.as_deref().map(str::trim);
        if display_name == Some("") {
            return Err(ServiceError::invalid("display_name", "must not be empty"));
        }
        if columns.touches_access() {
            // The active admins' rows first, locked in one order: PostgreSQL counts only what is
            // committed, so two admins demoting each other at once each saw the other still an
            // admin and both changes were kept. The second change now waits for the first and
            // counts after it. SQLite already lets one writer at a time in.
            let lock = format!(
                "SELECT id FROM users WHERE role = 'admin' AND is_active = TRUE ORDER BY id{}",
                dialect::for_update(self.engine())
            );
            on_db!(self, c => {
                sqlx::query_scalar::<_, i64>(&lock).fetch_all(&mut *c).await
            })?;
        }
        let sql = format!(
            "UPDATE users SET display_name = COALESCE($1, display_name), \
             email = CASE WHEN $2 THEN $3 ELSE email END, \
             theme = COALESCE($4, theme), locale = COALESCE($5, locale), \
             role = COALESCE($6, role), is_active = COALESCE($7, is_active), updated_at = $8 \
             WHERE id = $9 RETURNING {USER_COLUMNS}"
        );
        let updated = on_db!(self, c => {
            sqlx::query_as::<_, UserRecord>(&sql)
                .bind(display_name)
                .bind(columns.email.is_some())
                .bind(columns.email.clone().flatten())
                .bind(&columns.theme)
                .bind(&columns.locale)
                .bind(columns.role.map(Role::as_str))
                .bind(columns.is_active)
                .bind(now())
                .bind(id)
                .fetch_optional(&mut *c)
                .await
        })?
        .ok_or(ServiceError::NotFound { what: "user" })?;
        // Refused, the transaction is dropped and the change rolled back.
        if columns.touches_access() && self.count_active_admins().await? == 0 {
            return Err(ServiceError::Conflict(
                "uHub needs at least one active admin; promote another user first".to_owned(),
            ));
        }
        audit::write(self, actor, action, Some(("user", id)), columns).await?;
        Ok(updated)
    }

    /// Stores a new password hash. `action` tells the audit log whether the user changed it
    /// (`user.password_change`) or an admin reset it (`user.password_reset`); every token issued
    /// before this stops working, since tokens carry the previous change time.
    pub async fn set_password(
        &mut self,
        id: i64,
        password_hash: &str,
        must_change_password: bool,
        action: &'static str,
        actor: &Actor,
    ) -> ServiceResult<UserRecord> {
        let sql = format!(
            "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, \
             updated_at = $3 WHERE id = $4 RETURNING {USER_COLUMNS}"
        );
        let updated = on_db!(self, c => {
            sqlx::query_as::<_, UserRecord>(&sql)
                .bind(password_hash)
                .bind(must_change_password)
                .bind(now())
                .bind(id)
                .fetch_optional(&mut *c)
                .await
        })?
        .ok_or(ServiceError::NotFound { what: "user" })?;
        let detail = serde_json::json!({ "must_change_password": must_change_password });
        audit::write(self, actor, action, Some(("user", id)), &detail).await?;
        Ok(updated)
    }
}
