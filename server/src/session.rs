//! Browser sessions: the token in an HttpOnly cookie, the login / logout / password-change form
//! posts, and the guard that sends anonymous visitors of a page to `/login`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use services::auth::{self, AccessToken};
use services::storage::{Actor, UserRecord};
use services::ServiceError;

use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "uhub_session";

/// The signed-in user of a request, put in the request's extensions by the guard so that pages
/// and server functions find it (`http::request::Parts` is in Leptos' context).
#[derive(Debug, Clone)]
pub struct SessionUser(pub UserRecord);

/// The address a request came from (the TCP peer; no proxy header is trusted).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(client_ip(parts))
    }
}

pub fn client_ip(parts: &Parts) -> ClientIp {
    ClientIp(
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
    )
}

/// The token a request carries: `Authorization: Bearer …` first, then the session cookie.
pub fn request_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    session_cookie(headers)
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Resolves the request's token to its user (401-type errors when absent or no longer valid).
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<UserRecord, ServiceError> {
    let token = request_token(headers).ok_or(ServiceError::Unauthenticated(
        "log in first: no session token was sent",
    ))?;
    auth::authenticate(&state.storage, &state.token_keys, &token).await
}

/// Whether the request reached uHub over HTTPS (directly or through a proxy that says so).
fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a new session: HttpOnly (no script reads it), SameSite=Lax (not sent on
/// cross-site posts), Secure over HTTPS.
pub fn session_cookie_header(
    token: &AccessToken,
    request_headers: &HeaderMap,
) -> Option<HeaderValue> {
    let secure = if is_https(request_headers) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        token.token, token.expires_in
    ))
    .ok()
}

pub fn clear_cookie_header(request_headers: &HeaderMap) -> HeaderValue {
    let secure = if is_https(request_headers) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or(HeaderValue::from_static("uhub_session=; Path=/; Max-Age=0"))
}

/// Only local paths are followed after login: never another site (open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Paths the guard leaves alone: the API and server functions answer 401 themselves, assets and
/// probes are public, and the login page must be reachable without a session.
fn is_public(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/api/", "/sfn/", "/pkg/", "/fonts/", "/icons/"];
    const EXACT: &[&str] = &[
        "/healthz",
        "/readyz",
        "/login",
        "/logout",
        "/favicon.svg",
        "/manifest.webmanifest",
        "/sw.js",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p)) || EXACT.contains(&path)
}

/// Sends anonymous page visitors to `/login?next=…` and accounts that must change their password
/// to `/account/password`; puts the session user in the request for pages and server functions.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(&path) && !path.starts_with("/sfn/") {
        // Assets, probes and the API (which resolves its caller itself): no session lookup.
        return next.run(request).await;
    }
    let resolved = resolve(&state, request.headers()).await;
    if let Ok(user) = &resolved {
        request.extensions_mut().insert(SessionUser(user.clone()));
    }
    if path.starts_with("/sfn/") {
        // Server functions answer for themselves (401 / 403 as data), never with a redirect.
        return next.run(request).await;
    }
    let wanted = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    match resolved {
        Ok(user) if user.must_change_password && path != "/account/password" => {
            Redirect::to(&format!("/account/password?next={}", encode(&wanted))).into_response()
        }
        Ok(_) => next.run(request).await,
        Err(ServiceError::Unauthenticated(_)) => {
            let mut response =
                Redirect::to(&format!("/login?next={}", encode(&wanted))).into_response();
            // A stale cookie would bounce the visitor here again and again.
            if session_cookie(request.headers()).is_some() {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, clear_cookie_header(request.headers()));
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "cannot check the session");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "uHub cannot check your session right now; try again shortly.\n",
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login` from the login page: sets the cookie and goes on, or back with an error code.
pub async fn login_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let back = |error: &str, extra: String| {
        Redirect::to(&format!(
            "/login?error={error}{extra}&next={}",
            encode(&next)
        ))
        .into_response()
    };
    match auth::login(
        &state.storage,
        &state.throttle,
        &form.username,
        &form.password,
        ip,
    )
    .await
    {
        Ok(user) => match state.token_keys.issue(&user) {
            Ok(token) => {
                let target = if user.must_change_password {
                    format!("/account/password?next={}", encode(&next))
                } else {
                    next.clone()
                };
                let mut response = Redirect::to(&target).into_response();
                if let Some(cookie) = session_cookie_header(&token, &headers) {
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                response
            }
            Err(error) => {
                tracing::error!(%error, "cannot issue a session token");
                back("server_error", String::new())
            }
        },
        Err(ServiceError::Throttled { retry_after_secs }) => back(
            "too_many_attempts",
            format!("&retry_after={retry_after_secs}"),
        ),
        Err(ServiceError::InvalidCredentials) => back("invalid_credentials", String::new()),
        Err(error) => {
            tracing::error!(%error, "login failed");
            back("server_error", String::new())
        }
    }
}

/// `POST /logout`: clears the cookie (the token itself simply expires).
pub async fn logout_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Ok(user) = resolve(&state, &headers).await {
        let actor = Actor::user(user.id, &user.username, Some(ip.to_string()));
        if let Err(error) = state
            .storage
            .record_audit(
                &actor,
                "auth.logout",
                Some(("user", user.id)),
                services::storage::Outcome::Success,
                serde_json::json!({}),
            )
            .await
        {
            tracing::error!(%error, "cannot audit a logout");
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie_header(&headers));
    response
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
    next: Option<String>,
}

/// `POST /account/password` from the password page: a new cookie (the old token stops working).
pub async fn password_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let back = |error: &str| {
        Redirect::to(&format!(
            "/account/password?error={error}&next={}",
            encode(&next)
        ))
        .into_response()
    };
    let user = match resolve(&state, &headers).await {
        Ok(user) => user,
        Err(_) => {
            return Redirect::to(&format!("/login?next={}", encode("/account/password")))
                .into_response()
        }
    };
    if form.new_password != form.confirm_password {
        return back("mismatch");
    }
    let actor = Actor::user(user.id, &user.username, Some(ip.to_string()));
    match auth::change_password(
        &state.storage,
        &user,
        &form.current_password,
        &form.new_password,
        &actor,
    )
    .await
    {
        Ok(updated) => match state.token_keys.issue(&updated) {
            Ok(token) => {
                let mut response = Redirect::to(&next).into_response();
                if let Some(cookie) = session_cookie_header(&token, &headers) {
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                response
            }
            Err(error) => {
                tracing::error!(%error, "cannot issue a session token");
                back("server_error")
            }
        },
        Err(ServiceError::Invalid { field, .. }) if field == "current_password" => {
            back("wrong_current_password")
        }
        Err(ServiceError::Invalid { .. }) => back("weak_password"),
        Err(error) => {
            tracing::error!(%error, "password change failed");
            back("server_error")
        }
    }
}
