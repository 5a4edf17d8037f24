//! Users: accounts, their role and preferences. Password hashes stay inside this crate's types.

use chrono::{DateTime, Utc};
use domain::{Role, UserProfile};

use super::{now, on_pool, Storage};
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

const USER_COLUMNS: &str =
    "id, username, email, display_name, role, password_hash, theme, locale, \
     is_active, must_change_password, password_changed_at, created_at, updated_at";

impl Storage {
    pub async fn create_user(&self, user: &NewUser) -> ServiceResult<UserRecord> {
        let username = user.username.trim();
        if username.is_empty() {
            return Err(ServiceError::invalid("username", "must not be empty"));
        }
        let at = now();
        let sql = format!(
            "INSERT INTO users (username, email, display_name, role, password_hash, theme, locale, \
             is_active, must_change_password, password_changed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10) RETURNING {USER_COLUMNS}"
        );
        on_pool!(self, pool => {
            sqlx::query_as::<_, UserRecord>(&sql)
                .bind(username)
                .bind(&user.email)
                .bind(&user.display_name)
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(&user.theme)
                .bind(&user.locale)
                .bind(user.is_active)
                .bind(user.must_change_password)
                .bind(at)
                .fetch_one(pool)
                .await
        })
        .map_err(ServiceError::on_unique("username"))
    }

    pub async fn user_by_id(&self, id: i64) -> ServiceResult<UserRecord> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        on_pool!(self, pool => sqlx::query_as::<_, UserRecord>(&sql).bind(id).fetch_optional(pool).await)?
            .ok_or(ServiceError::NotFound { what: "user" })
    }

    pub async fn user_by_username(&self, username: &str) -> ServiceResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, UserRecord>(&sql).bind(username).fetch_optional(pool).await)?,
        )
    }

    /// Every user, by username.
    pub async fn list_users(&self) -> ServiceResult<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        Ok(on_pool!(self, pool => sqlx::query_as::<_, UserRecord>(&sql).fetch_all(pool).await)?)
    }

    /// Applies the given changes in one statement: fields left `None` keep their stored value, so
    /// two people changing different fields at once never undo each other.
    pub async fn update_profile(
        &self,
        id: i64,
        changes: &ProfileChanges,
    ) -> ServiceResult<UserRecord> {
        let display_name = changes.display_name.as_deref().map(str::trim);
        if display_name == Some("") {
            return Err(ServiceError::invalid("display_name", "must not be empty"));
        }
        let sql = format!(
            "UPDATE users SET display_name = COALESCE($1, display_name), \
             email = CASE WHEN $2 THEN $3 ELSE email END, \
             theme = COALESCE($4, theme), locale = COALESCE($5, locale), updated_at = $6 \
             WHERE id = $7 RETURNING {USER_COLUMNS}"
        );
        on_pool!(self, pool => {
            sqlx::query_as::<_, UserRecord>(&sql)
                .bind(display_name)
                .bind(changes.email.is_some())
                .bind(changes.email.clone().flatten())
                .bind(&changes.theme)
                .bind(&changes.locale)
                .bind(now())
                .bind(id)
                .fetch_optional(pool)
                .await
        })?
        .ok_or(ServiceError::NotFound { what: "user" })
    }

    /// How many active admins exist (the bootstrap rule needs it).
    pub async fn count_active_admins(&self) -> ServiceResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active = TRUE")
                .fetch_one(pool)
                .await
        })?)
    }
}
