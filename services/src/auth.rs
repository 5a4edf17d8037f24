//! Authentication: the OAuth2 password flow's checks, session tokens (JWT, HS256 pinned), login
//! throttling, the bootstrap admin and password changes. Tokens and passwords never leave this
//! module in logs or errors.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::password::{hash_password, verify_password};
use crate::storage::{Actor, NewUser, Outcome, UserRecord};
use crate::{ServiceError, ServiceResult, Storage};

/// How long a session token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// The bootstrap admin of SPEC.md (and the seed documents); forced to change password at once.
pub const BOOTSTRAP_USERNAME: &str = "uHub";
pub const BOOTSTRAP_PASSWORD: &str = domain::password::INITIAL_PASSWORD;

/// A token's claims. `pwc` is when the password last changed (µs since the epoch): a token
/// issued before a change no longer matches and stops working. `jti` is random, so that two
/// sessions opened in the same second are two tokens, one of which a logout ends alone (tokens
/// issued before it was added have none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub username: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub pwc: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The signing keys, made once from the server secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

/// A signed token and how long it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        // Only HS256: a token announcing any other algorithm (including `none`) is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs a session token for `user`.
    pub fn issue(&self, user: &UserRecord) -> ServiceResult<AccessToken> {
        let now = Utc::now().timestamp();
        let lifetime = TOKEN_LIFETIME.as_secs();
        let claims = Claims {
            sub: user.id.to_string(),
            username: user.username.clone(),
            role: user.role()?,
            iat: now,
            exp: now.saturating_add_unsigned(lifetime),
            pwc: user.password_changed_at.timestamp_micros(),
            jti: Some(crate::digest::hex(&rand::random::<[u8; 16]>())),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("cannot sign a token: {e}")))?;
        Ok(AccessToken {
            token,
            expires_in: lifetime,
        })
    }

    /// Checks signature, algorithm and expiry; says nothing about the account (see
    /// [`authenticate`]).
    pub fn verify(&self, token: &str) -> ServiceResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::ExpiredSignature => {
                        ServiceError::Unauthenticated("the session has expired; log in again")
                    }
                    _ => ServiceError::Unauthenticated("the session token is not valid"),
                }
            })
    }
}

/// Resolves a token to its user: valid signature, session not ended by a logout, active
/// account, password unchanged since. Both reads on one connection.
pub async fn authenticate(
    storage: &Storage,
    keys: &TokenKeys,
    token: &str,
) -> ServiceResult<UserRecord> {
    let claims = keys.verify(token)?;
    let invalid = ServiceError::Unauthenticated("the session token is not valid");
    let id: i64 = claims
        .sub
        .parse()
        .map_err(|_| ServiceError::Unauthenticated("the session token is not valid"))?;
    let mut db = storage.read().await?;
    if db.session_ended(&session_digest(token)).await? {
        return Err(ServiceError::Unauthenticated(
            "this session was ended by a logout; log in again",
        ));
    }
    let user = match db.user_by_id(id).await {
        Ok(user) => user,
        Err(ServiceError::NotFound { .. }) => return Err(invalid),
        Err(other) => return Err(other),
    };
    if !user.is_active {
        return Err(ServiceError::Unauthenticated("this account is deactivated"));
    }
    if user.password_changed_at.timestamp_micros() != claims.pwc {
        return Err(ServiceError::Unauthenticated(
            "the password was changed; log in again",
        ));
    }
    Ok(user)
}

/// What identifies a session token among the ended ones: its SHA-256 (the token is never
/// stored).
fn session_digest(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

/// Logs out of the session `token` opens, for good: the token opens no session again (as a
/// bearer token or in a cookie, copied or not), though it has not expired; its digest is kept
/// until it would have. The account's other sessions go on. Audited `auth.logout` in the same
/// transaction. A token that no longer opens a session has nothing to end: `Unauthenticated`.
pub async fn log_out(
    storage: &Storage,
    keys: &TokenKeys,
    token: &str,
    actor: &Actor,
) -> ServiceResult<()> {
    let invalid = || ServiceError::Unauthenticated("the session token is not valid");
    let claims = keys.verify(token)?;
    let user_id: i64 = claims.sub.parse().map_err(|_| invalid())?;
    if actor.user_id != Some(user_id) {
        return Err(invalid());
    }
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).ok_or_else(invalid)?;
    let mut tx = storage.write().await?;
    tx.end_session(&session_digest(token), user_id, expires_at)
        .await?;
    tx.record_audit(
        actor,
        "auth.logout",
        Some(("user", user_id)),
        Outcome::Success,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await
}

/// Whether the session an answer that lasts (an event stream) was opened with still stands:
/// its `token` still opens a session — not expired, not ended by a logout, the account active,
/// its password unchanged — for `caller`, whose role has not changed either. Streams ask as they
/// go, so that any of those ends them; a read that fails ends them too.
pub async fn still_signed_in(
    storage: &Storage,
    keys: &TokenKeys,
    token: &str,
    caller: &crate::Caller,
) -> bool {
    authenticate(storage, keys, token)
        .await
        .is_ok_and(|user| user.id == caller.id() && user.role == caller.user.role)
}

/// Counts login attempts per (address, username) and locks the pair for a while after too many
/// failures. An attempt is counted when it is admitted, before its password is checked, so that
/// many attempts sent at once cannot all slip in before the first failure is recorded; a
/// success clears the count. In memory: with several replicas each one counts on its own
/// (noted in docs/security.md).
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    inner: Arc<Mutex<HashMap<(IpAddr, String), Attempts>>>,
    max_failures: u32,
    window: Duration,
    lockout: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    /// Attempts admitted in the window that did not succeed (yet).
    count: u32,
    first_at: Instant,
    locked_until: Option<Instant>,
    /// Attempts refused during the current (or last) lockout, audited as one summary.
    refused: u32,
}

/// An attempt refused because its pair is locked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after_secs: u64,
    /// The first refusal of this lockout: the one audited as it happens (the others are
    /// counted, and audited as one row when the lockout is over).
    pub first: bool,
}

/// Beyond this many tracked pairs, expired ones are dropped (bounded memory under a spray).
const THROTTLE_PRUNE_AT: usize = 10_000;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(5, Duration::from_secs(15 * 60), Duration::from_secs(5 * 60))
    }
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> Self {
        LoginThrottle {
            inner: Arc::new(Mutex::new(HashMap::new())),
            max_failures,
            window,
            lockout,
        }
    }

    fn key(ip: IpAddr, username: &str) -> (IpAddr, String) {
        (ip, username.trim().to_lowercase())
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(IpAddr, String), Attempts>> {
        // A panic while holding this lock cannot leave the map inconsistent (plain inserts and
        // removals), so a poisoned lock is simply taken over.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits an attempt and counts it, or refuses it while the pair is locked out. Admitted:
    /// `Some(n)` when a lockout that refused `n` attempts just ended (to audit as one row).
    pub fn admit(&self, ip: IpAddr, username: &str) -> Result<Option<u32>, Refused> {
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= THROTTLE_PRUNE_AT {
            let window = self.window;
            entries.retain(|_, a| {
                now.duration_since(a.first_at) < window || a.locked_until.is_some_and(|u| u > now)
            });
        }
        let entry = entries.entry(Self::key(ip, username)).or_insert(Attempts {
            count: 0,
            first_at: now,
            locked_until: None,
            refused: 0,
        });
        if let Some(until) = entry.locked_until.filter(|until| *until > now) {
            entry.refused = entry.refused.saturating_add(1);
            return Err(Refused {
                retry_after_secs: until.duration_since(now).as_secs().max(1),
                first: entry.refused == 1,
            });
        }
        let mut ended_lockout = None;
        if entry.locked_until.is_some() || now.duration_since(entry.first_at) >= self.window {
            ended_lockout = Some(entry.refused).filter(|refused| *refused > 0);
            *entry = Attempts {
                count: 0,
                first_at: now,
                locked_until: None,
                refused: 0,
            };
        }
        entry.count += 1;
        // This attempt is the last one allowed: the next ones wait, whatever this one gives.
        if entry.count >= self.max_failures {
            entry.locked_until = Some(now + self.lockout);
        }
        Ok(ended_lockout)
    }

    /// The admitted attempt succeeded: the pair starts afresh.
    pub fn record_success(&self, ip: IpAddr, username: &str) {
        self.entries().remove(&Self::key(ip, username));
    }
}

/// Admits a password attempt of `username` from `client_ip` through the throttle, auditing a
/// lockout's refusals (the first one as it happens, the others as one row once it is over).
async fn admit_attempt(
    storage: &Storage,
    throttle: &LoginThrottle,
    action: &str,
    mut actor: Actor,
    username: &str,
    client_ip: IpAddr,
) -> ServiceResult<()> {
    match throttle.admit(client_ip, username) {
        Ok(None) => Ok(()),
        Ok(Some(refused)) => {
            actor.client_ip = Some(client_ip.to_string());
            storage
                .record_audit(
                    &actor,
                    action,
                    None,
                    Outcome::Denied,
                    serde_json::json!({ "reason": "throttled", "refused_attempts": refused, "lockout": "ended" }),
                )
                .await
        }
        Err(refused) => {
            crate::telemetry::login_throttled();
            if refused.first {
                storage
                    .record_audit(
                        &actor,
                        action,
                        None,
                        Outcome::Denied,
                        serde_json::json!({ "reason": "throttled", "retry_after_secs": refused.retry_after_secs }),
                    )
                    .await?;
            }
            Err(ServiceError::Throttled {
                retry_after_secs: refused.retry_after_secs,
            })
        }
    }
}

/// A hash of a random password, verified against when the username is unknown so that the reply
/// takes as long as for a known one (no user enumeration by timing).
static DECOY_HASH: OnceCell<String> = OnceCell::const_new();

async fn decoy_hash() -> ServiceResult<String> {
    DECOY_HASH
        .get_or_try_init(|| async {
            let random: [u8; 16] = rand::random();
            hash_password(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                random,
            ))
            .await
        })
        .await
        .cloned()
}

/// The password flow: checks the throttle, the password and the account; audits the attempt.
/// Every failure reads the same ("invalid username or password") whatever was wrong.
pub async fn login(
    storage: &Storage,
    throttle: &LoginThrottle,
    username: &str,
    password: &str,
    client_ip: IpAddr,
) -> ServiceResult<UserRecord> {
    let username = username.trim();
    admit_attempt(
        storage,
        throttle,
        "auth.login",
        attempt_actor(username, client_ip),
        username,
        client_ip,
    )
    .await?;
    let user = storage.user_by_username(username).await?;
    let stored_hash = match &user {
        Some(user) => user.password_hash.clone(),
        None => decoy_hash().await?,
    };
    let password_matches = password.chars().count() <= domain::password::MAX_CHARS
        && verify_password(password.to_owned(), stored_hash).await?;
    match user {
        Some(user) if password_matches && user.is_active => {
            throttle.record_success(client_ip, username);
            let actor = Actor::user(user.id, &user.username, Some(client_ip.to_string()));
            storage
                .record_audit(
                    &actor,
                    "auth.login",
                    Some(("user", user.id)),
                    Outcome::Success,
                    serde_json::json!({}),
                )
                .await?;
            Ok(user)
        }
        user => {
            let reason = match &user {
                None => "unknown_user",
                Some(u) if !u.is_active => "deactivated",
                Some(_) => "wrong_password",
            };
            crate::telemetry::login_failed();
            let mut actor = attempt_actor(username, client_ip);
            actor.user_id = user.as_ref().map(|u| u.id);
            storage
                .record_audit(
                    &actor,
                    "auth.login",
                    user.as_ref().map(|u| ("user", u.id)),
                    Outcome::Failure,
                    serde_json::json!({ "reason": reason }),
                )
                .await?;
            Err(ServiceError::InvalidCredentials)
        }
    }
}

/// Who a failed attempt was made as: the name typed, cut short so nobody fills the log.
fn attempt_actor(username: &str, client_ip: IpAddr) -> Actor {
    Actor {
        user_id: None,
        username: username.chars().take(64).collect(),
        client_ip: Some(client_ip.to_string()),
    }
}

/// Checks a new password against the policy.
pub fn check_password_policy(username: &str, password: &str) -> ServiceResult<()> {
    domain::password::check(username, password)
        .map_err(|reason| ServiceError::invalid("new_password", reason))
}

/// A user changes their own password: the current one is required (checked through the login
/// throttle: a stolen session cannot guess it), the new one must follow the policy and differ.
/// Every earlier token stops working.
pub async fn change_password(
    storage: &Storage,
    throttle: &LoginThrottle,
    user: &UserRecord,
    current_password: &str,
    new_password: &str,
    actor: &Actor,
) -> ServiceResult<UserRecord> {
    let client_ip = actor
        .client_ip
        .as_deref()
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    admit_attempt(
        storage,
        throttle,
        "user.password_change",
        actor.clone(),
        &user.username,
        client_ip,
    )
    .await?;
    if !verify_password(current_password.to_owned(), user.password_hash.clone()).await? {
        return Err(ServiceError::invalid(
            "current_password",
            "is not the current password",
        ));
    }
    throttle.record_success(client_ip, &user.username);
    check_password_policy(&user.username, new_password)?;
    if new_password == current_password {
        return Err(ServiceError::invalid(
            "new_password",
            "must differ from the current password",
        ));
    }
    let hash = hash_password(new_password.to_owned()).await?;
    storage
        .set_password(user.id, &hash, false, "user.password_change", actor)
        .await
}

/// An admin sets a temporary password; the user must change it at next login.
pub async fn reset_password(
    storage: &Storage,
    user_id: i64,
    temporary_password: &str,
    actor: &Actor,
) -> ServiceResult<UserRecord> {
    let user = storage.user_by_id(user_id).await?;
    check_password_policy(&user.username, temporary_password)?;
    let hash = hash_password(temporary_password.to_owned()).await?;
    storage
        .set_password(user_id, &hash, true, "user.password_reset", actor)
        .await
}

/// Creates the initial admin `uHub` / `uHub-ADMIN` while no admin exists at all; `Conflict`
/// otherwise. The account must change its password before anything else works.
pub async fn bootstrap_admin(storage: &Storage, actor: &Actor) -> ServiceResult<UserRecord> {
    if storage.count_admins().await? > 0 {
        return Err(ServiceError::Conflict(
            "an admin already exists; bootstrap is closed".to_owned(),
        ));
    }
    let new_user = NewUser {
        username: BOOTSTRAP_USERNAME.to_owned(),
        email: None,
        display_name: "uHub admin".to_owned(),
        role: Role::Admin,
        password_hash: hash_password(BOOTSTRAP_PASSWORD.to_owned()).await?,
        theme: "dark".to_owned(),
        locale: "en".to_owned(),
        is_active: true,
        must_change_password: true,
    };
    match storage.create_user(&new_user, actor).await {
        // Two bootstraps at once: the username's uniqueness lets exactly one through.
        Err(ServiceError::AlreadyExists { .. }) => Err(ServiceError::Conflict(
            "an admin already exists; bootstrap is closed".to_owned(),
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_locks_a_pair_after_repeated_failures_only() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let here: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let there: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(throttle.admit(here, "Alice"), Ok(None));
        assert_eq!(throttle.admit(here, "alice "), Ok(None));
        assert_eq!(
            throttle.admit(here, "ALICE"),
            Ok(None),
            "the third attempt is still admitted"
        );
        let refused = throttle.admit(here, "alice").err();
        assert!(
            refused.is_some_and(|r| r.first && r.retry_after_secs > 0 && r.retry_after_secs <= 30)
        );
        let again = throttle.admit(here, "alice").err();
        assert!(
            again.is_some_and(|r| !r.first),
            "only the first refusal is audited as it happens"
        );
        assert_eq!(
            throttle.admit(there, "alice"),
            Ok(None),
            "another address is not locked"
        );
        assert_eq!(
            throttle.admit(here, "bob"),
            Ok(None),
            "another username is not locked"
        );
        throttle.record_success(here, "alice");
        assert_eq!(throttle.admit(here, "alice"), Ok(None));
    }

    #[test]
    fn attempts_sent_at_once_are_counted_before_they_are_checked() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(60), Duration::from_secs(30));
        let here = IpAddr::from([192, 0, 2, 1]);
        // As many attempts as threads, all admitted before any is verified.
        let admitted = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|_| scope.spawn(|| throttle.admit(here, "alice").is_ok()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(false))
                .filter(|ok| *ok)
                .count()
        });
        assert_eq!(admitted, 5, "no more attempts than the limit get through");
    }

    #[test]
    fn a_lockout_s_refusals_end_as_one_summary() {
        let throttle = LoginThrottle::new(1, Duration::from_secs(60), Duration::from_millis(50));
        let here = IpAddr::from([192, 0, 2, 1]);
        assert_eq!(throttle.admit(here, "alice"), Ok(None));
        for _ in 0..100 {
            assert!(throttle.admit(here, "alice").is_err());
        }
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(throttle.admit(here, "alice"), Ok(Some(100)));
    }

    #[test]
    fn the_password_policy_names_what_is_wrong() {
        let message = |p: &str| {
            check_password_policy("chloe", p)
                .err()
                .map(|e| e.to_string())
        };
        assert!(message("short").unwrap_or_default().contains("at least 10"));
        assert!(message("aaaaaaaaaaaa")
            .unwrap_or_default()
            .contains("single character"));
        assert!(message("uHub-ADMIN")
            .unwrap_or_default()
            .contains("initial password"));
        assert_eq!(message("a long enough phrase"), None);
    }

    #[test]
    fn tokens_verify_and_forged_ones_do_not() -> ServiceResult<()> {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new(b"another secret that is long enough!!");
        let at = chrono::Utc::now();
        let user = UserRecord {
            id: 3,
            username: "demo-dev".to_owned(),
            email: None,
            display_name: "Dev".to_owned(),
            role: "dev".to_owned(),
            password_hash: String::new(),
            theme: "dark".to_owned(),
            locale: "en".to_owned(),
            is_active: true,
            must_change_password: false,
            password_changed_at: at,
            created_at: at,
            updated_at: at,
        };
        let token = keys.issue(&user)?;
        let claims = keys.verify(&token.token)?;
        assert_eq!((claims.sub.as_str(), claims.role), ("3", Role::Dev));
        assert!(other.verify(&token.token).is_err());
        Ok(())
    }
}
