//! Password hashing with argon2id, always off the async runtime (a hash costs tens of milliseconds).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

use crate::analysis::bounded_off_thread;
use crate::{ServiceError, ServiceResult};

/// Hashes and verifications computed at once: one per core. Each takes argon2's 19 MiB of
/// memory for its whole duration, so a burst of logins (or a spray of wrong passwords) would
/// otherwise hold 19 MiB per request in flight on as many blocking threads, and the allocator
/// keeps much of it afterwards. Beyond these, attempts wait their turn: on a 2-core machine the
/// cores are the limit anyway, so the queue costs no throughput.
static ARGON2_PERMITS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Semaphore::new(cores.clamp(1, 8))
});

/// Hashes a password with argon2id and a fresh random salt (PHC string format).
pub async fn hash_password(password: String) -> ServiceResult<String> {
    bounded_off_thread(&ARGON2_PERMITS, "password hashing", move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks a password against a stored PHC hash. A malformed hash verifies nothing.
pub async fn verify_password(password: String, stored_hash: String) -> ServiceResult<bool> {
    bounded_off_thread(&ARGON2_PERMITS, "password verification", move || {
        PasswordHash::new(&stored_hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
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
