//! Password hashing with argon2id, always off the async runtime (a hash costs tens of milliseconds).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::{ServiceError, ServiceResult};

/// Hashes a password with argon2id and a fresh random salt (PHC string format).
pub async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("password hashing task failed: {e}")))?
}

/// Checks a password against a stored PHC hash. A malformed hash verifies nothing.
pub async fn verify_password(password: String, stored_hash: String) -> ServiceResult<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("password verification task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() -> ServiceResult<()> {
        let hash = hash_password("correct horse".to_owned()).await?;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse".to_owned(), hash.clone()).await?);
        assert!(!verify_password("wrong horse".to_owned(), hash).await?);
        assert!(!verify_password("x".to_owned(), "not a hash".to_owned()).await?);
        Ok(())
    }
}
