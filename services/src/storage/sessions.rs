//! Sessions ended before their token expired (a logout): their digest is kept until the token
//! would have expired anyway, and a token found here opens no session.

use chrono::{DateTime, Utc};

use super::{now, on_db, Db, Tx};
use crate::ServiceResult;

impl Db {
    /// Whether the session whose token has this SHA-256 (hex) was ended by a logout.
    pub async fn session_ended(&mut self, token_sha256: &str) -> ServiceResult<bool> {
        let found: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar("SELECT user_id FROM ended_sessions WHERE token_sha256 = $1")
                .bind(token_sha256)
                .fetch_optional(&mut *c)
                .await
        })?;
        Ok(found.is_some())
    }
}

impl Tx {
    /// Ends the session of the token with this SHA-256 for good (until `expires_at`, when the
    /// token stops working anyway); forgets the ended sessions whose tokens have expired since,
    /// so the list stays as short as the sessions ended within one token lifetime.
    pub async fn end_session(
        &mut self,
        token_sha256: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let at = now();
        on_db!(self, c => {
            sqlx::query("DELETE FROM ended_sessions WHERE expires_at < $1")
                .bind(at)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO ended_sessions (token_sha256, user_id, expires_at, ended_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (token_sha256) DO NOTHING",
            )
            .bind(token_sha256)
            .bind(user_id)
            .bind(expires_at)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}
