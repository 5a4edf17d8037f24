//! The password policy, written once: the server enforces it, the browser states it.

/// Fewest characters of a password a person chooses.
pub const MIN_CHARS: usize = 10;
/// Most characters, so that nobody makes the server hash megabytes.
pub const MAX_CHARS: usize = 256;
/// The bootstrap admin's initial password (SPEC.md); never acceptable as a chosen one.
pub const INITIAL_PASSWORD: &str = "uHub-ADMIN";

/// What is wrong with `password` for `username`, in words; `Ok` when it follows the policy.
pub fn check(username: &str, password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_CHARS {
        return Err(format!("must be at least {MIN_CHARS} characters"));
    }
    if length > MAX_CHARS {
        return Err(format!("must be at most {MAX_CHARS} characters"));
    }
    if password.eq_ignore_ascii_case(username) || password == INITIAL_PASSWORD {
        return Err("must not be the username or the initial password".to_owned());
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("must not repeat a single character".to_owned());
    }
    Ok(())
}
