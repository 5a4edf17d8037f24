//! iCal feed subscriptions: a secret URL per user (their own jobs) or per project, for calendar
//! applications that cannot sign in. Only a SHA-256 of each token is stored; revoking one makes
//! its URL answer 404 from then on.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::{CalendarFeed, FeedScope};
use rand::RngCore;

use super::{audit, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// Every feed token starts with this, so a leaked one is recognisable (and greppable).
pub const FEED_TOKEN_PREFIX: &str = "uhcal_";
/// The most live feeds one user may hold: enough for every project, not an unbounded table.
const MAX_FEEDS_PER_USER: i64 = 50;

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: i64,
    user_id: i64,
    project_id: Option<i64>,
    project_name: Option<String>,
    token_hint: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<FeedRow> for CalendarFeed {
    fn from(row: FeedRow) -> CalendarFeed {
        CalendarFeed {
            id: row.id,
            user_id: row.user_id,
            scope: if row.project_id.is_some() {
                FeedScope::Project
            } else {
                FeedScope::User
            },
            project_id: row.project_id,
            project_name: row.project_name,
            token_hint: row.token_hint,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

const FEED_SELECT: &str =
    "SELECT f.id, f.user_id, f.project_id, p.name AS project_name, f.token_hint, \
     f.created_at, f.last_used_at, f.revoked_at \
     FROM calendar_feeds f LEFT JOIN projects p ON p.id = f.project_id";

/// Whose plan a feed token opens, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedAccess {
    pub feed_id: i64,
    pub user_id: i64,
    pub username: String,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    id: i64,
    user_id: i64,
    username: String,
    project_id: Option<i64>,
    project_name: Option<String>,
}

fn digest(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

reads! {
    fn feed(id: i64) -> CalendarFeed;
    fn feeds_of(user_id: i64) -> Vec<CalendarFeed>;
    fn feed_by_token(token: &str) -> Option<FeedAccess>;
}

writes! {
    fn create_feed(user_id: i64, project_id: Option<i64>, actor: &Actor) -> (CalendarFeed, String);
    fn revoke_feed(id: i64, actor: &Actor) -> CalendarFeed;
    fn feed_used(id: i64) -> bool;
}

impl Tx {
    /// A new feed for `user_id`, of one project or (without one) of the user's own jobs. The
    /// token is returned once, here; only its digest is kept.
    pub async fn create_feed(
        &mut self,
        user_id: i64,
        project_id: Option<i64>,
        actor: &Actor,
    ) -> ServiceResult<(CalendarFeed, String)> {
        if let Some(project_id) = project_id {
            self.project_access(project_id).await?;
        }
        // The user's row first, locked: two creations at once take turns, the second counting
        // the first's feed (PostgreSQL read committed would let both see one left).
        self.lock_row("users", user_id).await?;
        let live: i64 = on_db!(self, c => {
            sqlx::query_scalar("SELECT COUNT(*) FROM calendar_feeds WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id)
                .fetch_one(&mut *c)
                .await
        })?;
        if live >= MAX_FEEDS_PER_USER {
            return Err(ServiceError::Conflict(format!(
                "at most {MAX_FEEDS_PER_USER} live feeds per user: revoke one first"
            )));
        }
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let token = format!(
            "{FEED_TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        // The token is ASCII (prefix + base64url): its last four bytes are four characters.
        let hint = token[token.len() - 4..].to_owned();
        let detail =
            serde_json::json!({ "project_id": project_id, "user_id": user_id, "token_hint": hint });
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO calendar_feeds (user_id, project_id, token_hash, token_hint, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(user_id)
            .bind(project_id)
            .bind(digest(&token))
            .bind(&hint)
            .bind(now())
            .fetch_one(&mut *c)
            .await
        })?;
        audit::write(
            self,
            actor,
            "calendar_feed.create",
            Some(("calendar_feed", id)),
            &detail,
        )
        .await?;
        Ok((self.feed(id).await?, token))
    }
}

impl Db {
    pub async fn feed(&mut self, id: i64) -> ServiceResult<CalendarFeed> {
        let sql = format!("{FEED_SELECT} WHERE f.id = $1");
        Ok(on_db!(self, c => sqlx::query_as::<_, FeedRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "calendar feed" })?
            .into())
    }

    /// A user's feeds, live ones first, newest first.
    pub async fn feeds_of(&mut self, user_id: i64) -> ServiceResult<Vec<CalendarFeed>> {
        let sql = format!(
            "{FEED_SELECT} WHERE f.user_id = $1 ORDER BY (f.revoked_at IS NULL) DESC, f.id DESC"
        );
        let rows = on_db!(self, c => sqlx::query_as::<_, FeedRow>(&sql).bind(user_id).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().map(CalendarFeed::from).collect())
    }

    /// The feed a token opens: live, of an active user. Anything else is `None` (the caller
    /// answers 404 whatever the reason, so tokens cannot be probed). A read: anyone may knock.
    pub async fn feed_by_token(&mut self, token: &str) -> ServiceResult<Option<FeedAccess>> {
        if !token.starts_with(FEED_TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let row = on_db!(self, c => {
            sqlx::query_as::<_, AccessRow>(
                "SELECT f.id, f.user_id, u.username, f.project_id, p.name AS project_name \
                 FROM calendar_feeds f JOIN users u ON u.id = f.user_id \
                 LEFT JOIN projects p ON p.id = f.project_id \
                 WHERE f.token_hash = $1 AND f.revoked_at IS NULL AND u.is_active",
            )
            .bind(digest(token))
            .fetch_optional(&mut *c)
            .await
        })?;
        Ok(row.map(|row| FeedAccess {
            feed_id: row.id,
            user_id: row.user_id,
            username: row.username,
            project_id: row.project_id,
            project_name: row.project_name,
        }))
    }
}

impl Tx {
    /// Revokes a feed: its URL stops working at once. Revoking twice is not an error.
    pub async fn revoke_feed(&mut self, id: i64, actor: &Actor) -> ServiceResult<CalendarFeed> {
        let feed = self.feed(id).await?;
        if feed.revoked_at.is_none() {
            let detail =
                serde_json::json!({ "user_id": feed.user_id, "project_id": feed.project_id });
            on_db!(self, c => {
                sqlx::query("UPDATE calendar_feeds SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now())
                    .bind(id)
                    .execute(&mut *c)
                    .await
                    .map(|done| done.rows_affected())
            })?;
            audit::write(
                self,
                actor,
                "calendar_feed.revoke",
                Some(("calendar_feed", id)),
                &detail,
            )
            .await?;
        }
        self.feed(id).await
    }

    /// Notes that feed `id` was used; `false` when it was revoked meanwhile.
    pub async fn feed_used(&mut self, id: i64) -> ServiceResult<bool> {
        let changed = on_db!(self, c => {
            sqlx::query("UPDATE calendar_feeds SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now())
                .bind(id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(changed == 1)
    }
}
