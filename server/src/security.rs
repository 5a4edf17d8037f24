//! Security headers on every response: a strict Content Security Policy with a fresh nonce per
//! request (Leptos puts it on its inline hydration scripts), no framing, no sniffing, no referrer
//! leaking to other sites, nothing about anyone stored by a cache.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;

/// The nonce of this request's inline scripts; the app's context closure hands it to Leptos.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

pub async fn headers(mut request: Request, next: Next) -> Response {
    let bytes: [u8; 16] = rand::random();
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let cache_control = crate::static_files::default_cache_control(request.uri().path());
    let mut response = next.run(request).await;
    // Pages, API answers, server functions, event streams and errors are about someone: not
    // stored (see `default_cache_control`). Files and feeds say what they need themselves.
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(cache_control);
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Nothing leaves for other sites; uHub's own posts keep their `Origin` (and `Referer`),
    // which the CSRF check reads: under `no-referrer` browsers send `Origin: null` even there.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    response
}

/// Routes that take bodies above [`crate::MAX_BODY_BYTES`]: inventories of real fleets (8 MiB)…
const INVENTORY_ANALYSIS: &str = "/api/v1/ansible/inventories/analyze";

/// Terraform plans of real infrastructures: up to 32 MiB.
const PLAN_ANALYSIS: &str = "/api/v1/terraform/plans/analyze";

/// `/api/v1/projects/{id}/<collection>`: exactly that collection of one project.
fn project_collection(path: &str, collection: &str) -> bool {
    path.strip_prefix("/api/v1/projects/")
        .and_then(|rest| rest.strip_suffix(collection))
        .and_then(|rest| rest.strip_suffix('/'))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Bounds every request body: 1 MiB; 8 MiB for inventories, 32 MiB for Terraform plans
/// (analysed or uploaded to a project). A declared length above
/// the bound is refused at once (413); a body that streams past it fails when read (413 from
/// the extractor), so no route can be made to buffer more.
pub async fn limit_bodies(request: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let limit = if path == INVENTORY_ANALYSIS {
        services::ansible::MAX_INVENTORY_BYTES
    } else if path == PLAN_ANALYSIS {
        services::terraform::MAX_PLAN_BYTES
    } else if project_collection(path, "inventories") {
        // The inventory's text inside JSON: escaping takes room.
        services::ansible::MAX_INVENTORY_BYTES + 1024 * 1024
    } else if project_collection(path, "terraform-plans") {
        // The plan is a JSON object of the body, as is: only the other fields besides.
        services::terraform::MAX_PLAN_BYTES + 64 * 1024
    } else {
        crate::MAX_BODY_BYTES
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({
                "code": "payload_too_large",
                "message": format!("the body is larger than {limit} bytes"),
            })),
        )
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}
