//! Sessions: the middleware that resolves every request's context once (its id, address and
//! session, for REST handlers, pages and server functions alike), the token in an HttpOnly
//! cookie, the login / logout / password-change form posts, and the guard that sends anonymous
//! visitors of a page to `/login`.

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
use services::{RequestContext, RequestId, ServiceError, Session};

use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "uhub_session";

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
    auth::authenticate(&state.hub.storage, &state.token_keys, &token).await
}

/// Whether the session an event stream was opened with (`token`, for `caller`) still stands:
/// streams ask as they go (see `services::auth::still_signed_in`).
pub async fn still_signed_in(state: &AppState, token: &str, caller: &services::Caller) -> bool {
    auth::still_signed_in(&state.hub.storage, &state.token_keys, token, caller).await
}

/// The session a request carries, checked once.
async fn session(state: &AppState, headers: &HeaderMap) -> Session {
    match resolve(state, headers).await {
        Ok(user) => Session::User(Box::new(user)),
        Err(_) if request_token(headers).is_none() => Session::Anonymous,
        Err(ServiceError::Unauthenticated(why)) => Session::Rejected(why),
        Err(error) => {
            tracing::error!(%error, "cannot check the session");
            Session::Unavailable
        }
    }
}

/// The request's context as the middleware resolved it (resolved here for a request that did not
/// pass through it).
pub async fn context(parts: &Parts, state: &AppState) -> RequestContext {
    if let Some(context) = parts.extensions.get::<RequestContext>() {
        return context.clone();
    }
    RequestContext {
        request_id: parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_default(),
        client_ip: client_ip(parts).0,
        session: session(state, &parts.headers).await,
    }
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

/// Where a form goes on after success: `next` if it is a path of this site, else `/`. Browsers
/// drop tabs and line breaks from a URL, read `\` as `/` and resolve `..`: a value is checked
/// as a browser would read it (the WHATWG URL parser), and refused when it holds any control
/// character, whitespace or `\`, or when it would lead off this origin or to a `//` path
/// (which a later relative redirect could turn into another host).
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/";
    let Some(next) = next else {
        return HOME.to_owned();
    };
    let suspicious = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
    if !next.starts_with('/') || next.chars().any(suspicious) {
        return HOME.to_owned();
    }
    let Ok(base) = url::Url::parse("http://uhub.invalid/") else {
        return HOME.to_owned();
    };
    match base.join(next) {
        Ok(resolved)
            if resolved.origin() == base.origin()
                && !resolved.path().contains("//")
                && !next.starts_with("//") =>
        {
            let mut local = resolved.path().to_owned();
            if let Some(query) = resolved.query() {
                local.push('?');
                local.push_str(query);
            }
            if let Some(fragment) = resolved.fragment() {
                local.push('#');
                local.push_str(fragment);
            }
            local
        }
        _ => HOME.to_owned(),
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

/// Files and probes: public, and served without looking at any session.
fn is_asset(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/pkg/", "/fonts/", "/icons/"];
    const EXACT: &[&str] = &[
        "/healthz", "/readyz",
        // Answers for itself: a bearer token or loopback (see `prometheus`).
        "/metrics",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
        || EXACT.contains(&path)
        || crate::static_files::SITE_ROOT_FILES.contains(&path)
}

/// Resolves the request's context once (its id, its address, its session) and puts it in the
/// request for the API's extractors, the pages and the server functions. Then, for pages only:
/// sends anonymous visitors to `/login?next=…` and accounts that must change their password to
/// `/account/password`. The API and server functions answer for themselves (401 / 403 as data).
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_asset(&path) {
        return next.run(request).await;
    }
    if let Some(refusal) = cross_site_refusal(&request, state.hub.public_url()) {
        return refusal;
    }
    let (mut parts, body) = request.into_parts();
    let context = context(&parts, &state).await;
    parts.extensions.insert(context.clone());
    request = Request::from_parts(parts, body);
    let answers_itself = ["/api/", "/sfn/"].iter().any(|p| path.starts_with(p));
    if answers_itself || matches!(path.as_str(), "/login" | "/logout") {
        return next.run(request).await;
    }
    let wanted = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    match context.session {
        Session::User(user) if user.must_change_password && path != "/account/password" => {
            Redirect::to(&format!("/account/password?next={}", encode(&wanted))).into_response()
        }
        Session::User(_) => next.run(request).await,
        Session::Anonymous | Session::Rejected(_) => {
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
        Session::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "uHub cannot check your session right now; try again shortly.\n",
        )
            .into_response(),
    }
}

/// A state change authenticated by the session cookie must come from a page of this site: its
/// `Origin` (else its `Referer`) names this origin (the request's `Host`, or `UHUB_PUBLIC_URL`).
/// A cookie goes with a request whoever made it; these headers say who did, and a page cannot
/// forge them. Bearer-token calls carry their credential explicitly: they are not concerned.
fn cross_site_refusal(request: &Request, public_url: &str) -> Option<Response> {
    let method = request.method();
    if method.is_safe() {
        return None;
    }
    let headers = request.headers();
    if headers.contains_key(header::AUTHORIZATION) || session_cookie(headers).is_none() {
        return None;
    }
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let same_origin = claimed.is_some_and(|claimed| {
        let origin = claimed.origin();
        let as_host = host
            .and_then(|host| url::Url::parse(&format!("{}://{host}/", claimed.scheme())).ok())
            .is_some_and(|own| own.origin() == origin);
        let as_public = url::Url::parse(public_url).is_ok_and(|own| own.origin() == origin);
        origin.is_tuple() && (as_host || as_public)
    });
    if same_origin {
        return None;
    }
    let body = serde_json::json!({
        "code": "cross_site_request",
        "message": "a change made with the session cookie must come from a uHub page: its Origin (or Referer) header must name this site; scripts use a bearer token",
    });
    Some((StatusCode::FORBIDDEN, axum::Json(body)).into_response())
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
        &state.hub.storage,
        &state.hub.throttle,
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

/// `POST /logout`: ends the session (its token opens none again) and clears the cookie.
pub async fn logout_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let (Ok(user), Some(token)) = (resolve(&state, &headers).await, request_token(&headers)) {
        let actor = Actor::user(user.id, &user.username, Some(ip.to_string()));
        if let Err(error) =
            auth::log_out(&state.hub.storage, &state.token_keys, &token, &actor).await
        {
            tracing::error!(%error, "cannot end a session at logout");
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
        &state.hub.storage,
        &state.hub.throttle,
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
        Err(ServiceError::Throttled { .. }) => back("throttled"),
        Err(error) => {
            tracing::error!(%error, "password change failed");
            back("server_error")
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every file the site serves from `public/` is served to anyone: a signed-out page loads
    /// them too, and a file sent to the login page instead is a console error on every page.
    #[test]
    fn every_public_file_is_served_without_a_session() {
        let public = concat!(env!("CARGO_MANIFEST_DIR"), "/../public");
        let mut seen = 0;
        for entry in std::fs::read_dir(public).expect("public/ is readable") {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if entry.path().is_dir() {
                format!("/{name}/any")
            } else {
                format!("/{name}")
            };
            assert!(super::is_asset(&path), "{path} needs a session");
            seen += 1;
        }
        assert!(seen >= 5, "public/ holds the site's files ({seen})");
    }
}
