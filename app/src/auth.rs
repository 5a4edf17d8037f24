//! Signing in from the browser: the login page, the password-change page (forced for the
//! bootstrap admin and after a reset), and the server-side helpers every server function uses to
//! find and authorise its caller.

use crate::ui::PageTitle;
use domain::UserProfile;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::i18n::{t, tf};
use crate::AppError;

/// The signed-in user, for the top bar and for hiding what the policy would refuse.
#[server(prefix = "/sfn", endpoint = "auth/me")]
pub async fn current_user() -> Result<UserProfile, AppError> {
    signed_in_profile()
}

/// The signed-in user of the request being answered (refused while they must change their
/// password first).
#[cfg(feature = "ssr")]
pub fn signed_in_profile() -> Result<UserProfile, AppError> {
    let (_, caller) = crate::server::use_case()?;
    Ok(caller.user.profile()?)
}

/// What an error code from the login form means, in words.
#[rustfmt::skip]
fn login_error_text(code: &str, retry_after: Option<String>) -> String {
    match code {
        "invalid_credentials" => t("Invalid username or password.").to_owned(),
        "too_many_attempts" => match retry_after {
            Some(seconds) => tf("Too many failed attempts. Try again in {seconds} seconds.", &[("seconds", &seconds)]),
            None => t("Too many failed attempts. Try again in a few seconds.").to_owned(),
        },
        _ => t("uHub could not sign you in right now; try again shortly.").to_owned(),
    }
}

/// `/login`: a plain form posted to the server; the page is served without the WASM (see `shell`).
#[component]
#[inline(never)] // a route's page: see `App`
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query.with(|q| {
            q.get("error")
                .map(|code| login_error_text(&code, q.get("retry_after")))
        })
    };
    let next = next_page(query);

    view! {
        <PageTitle text=t("Log in")/>
        <section class="auth-card" aria-labelledby="login-title">
            <AuthBrand/>
            <h1 id="login-title">{t("Log in")}</h1>
            <p class="muted">{t("Plan, run and trace your operations.")}</p>
            {move || error().map(|text| view! {
                <p class="form-error" role="alert" data-testid="login-error">{text}</p>
            })}
            <form method="post" action="/login" class="form">
                <input type="hidden" name="next" value=next/>
                <label class="field">
                    <span>{t("Username")}</span>
                    <input class="input" type="text" name="username" autocomplete="username" required autofocus/>
                </label>
                <label class="field">
                    <span>{t("Password")}</span>
                    <input class="input" type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" class="button button--primary">{t("Log in")}</button>
            </form>
        </section>
    }
}

/// The logo above the sign-in cards.
#[component]
fn AuthBrand() -> impl IntoView {
    view! {
        <div class="auth-card__brand">
            <span class="brand__mark" aria-hidden="true">"u"</span>
            <span class="brand__name">"uHub"</span>
        </div>
    }
}

#[rustfmt::skip]
fn password_error_text(code: &str) -> String {
    match code {
        "mismatch" => t("The two new passwords differ.").to_owned(),
        "wrong_current_password" => t("The current password is not right.").to_owned(),
        "throttled" => t("Too many failed attempts. Try again in a few seconds.").to_owned(),
        "weak_password" => tf("The new password must have at least {n} characters, differ from the current one, and be neither the username nor the initial password.", &[("n", &domain::password::MIN_CHARS.to_string())]),
        _ => t("uHub could not change the password right now; try again shortly.").to_owned(),
    }
}

/// Where to go after the form: the page's `next` parameter (the server only follows local
/// paths), or the overview.
fn next_page(query: Memo<ParamsMap>) -> impl Fn() -> String + Copy {
    move || query.with(|q| q.get("next").unwrap_or_else(|| "/".to_owned()))
}

/// `/account/password`: change one's password. The bootstrap admin (and anyone whose password an
/// admin reset) lands here first and cannot go anywhere else until it is done.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn PasswordPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error").map(|code| password_error_text(&code)));
    let next = next_page(query);

    view! {
        <PageTitle text=t("Change password")/>
        <section class="auth-card" aria-labelledby="password-title">
            <AuthBrand/>
            <h1 id="password-title">{t("Choose a new password")}</h1>
            <p class="muted" data-testid="password-reason">
                {t("Before going on, replace the password you were given with one only you know.")}
            </p>
            {move || error().map(|text| view! {
                <p class="form-error" role="alert" data-testid="password-error">{text}</p>
            })}
            <form method="post" action="/account/password" class="form">
                <input type="hidden" name="next" value=next/>
                <label class="field">
                    <span>{t("Current password")}</span>
                    <input class="input" type="password" name="current_password" autocomplete="current-password" required/>
                </label>
                <label class="field">
                    <span>{t("New password")}</span>
                    <input class="input" type="password" name="new_password" autocomplete="new-password" minlength=domain::password::MIN_CHARS required/>
                </label>
                <label class="field">
                    <span>{t("New password, again")}</span>
                    <input class="input" type="password" name="confirm_password" autocomplete="new-password" minlength=domain::password::MIN_CHARS required/>
                </label>
                <button type="submit" class="button button--primary">{t("Change password")}</button>
            </form>
        </section>
    }
}
