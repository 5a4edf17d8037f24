//! A person's own secrets (their personal Git tokens) as stored in uHub's database: the name in
//! clear, the value sealed with the master key (see [`crate::secrets`]). Removed with the user.

use chrono::{DateTime, Utc};

use super::{now, on_db, Db, Sealed, Tx};
use crate::ServiceResult;

#[derive(sqlx::FromRow)]
struct SealedRow {
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    updated_at: DateTime<Utc>,
}

impl Db {
    /// A user's sealed secret and when it was set, if any.
    pub async fn user_secret(
        &mut self,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<(Sealed, DateTime<Utc>)>> {
        let row = on_db!(self, c => {
            sqlx::query_as::<_, SealedRow>(
                "SELECT nonce, ciphertext, updated_at FROM user_secrets WHERE user_id = $1 AND name = $2",
            )
            .bind(user_id)
            .bind(name)
            .fetch_optional(&mut *c)
            .await
        })?;
        Ok(row.map(|row| {
            (
                Sealed {
                    nonce: row.nonce,
                    ciphertext: row.ciphertext,
                },
                row.updated_at,
            )
        }))
    }
}

impl Tx {
    /// Sets or replaces a user's sealed secret.
    pub async fn put_user_secret(
        &mut self,
        user_id: i64,
        name: &str,
        sealed: &Sealed,
    ) -> ServiceResult<()> {
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO user_secrets (user_id, name, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(name)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Removes a user's secret (nothing to remove is not an error).
    pub async fn delete_user_secret(&mut self, user_id: i64, name: &str) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query("DELETE FROM user_secrets WHERE user_id = $1 AND name = $2")
                .bind(user_id)
                .bind(name)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}
