//! The request log: every request gets an id (answered in `X-Request-Id`, carried by the spans of
//! the use cases it runs) and one line when it ends, failures included, naming the method, the
//! route template (never the raw path, which may hold a feed token) and the status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use services::RequestId;
use tracing::Instrument;

/// The route label of a request no route template matched (a static file, a 404).
const UNMATCHED: &str = "(no route)";

/// The route template that answered, carried from the router to the log line.
#[derive(Debug, Clone)]
struct Route(String);

/// Names the request, runs it inside its span and logs how it ended.
pub async fn log_requests(mut request: Request, next: Next) -> Response {
    let request_id = RequestId::new();
    request.extensions_mut().insert(request_id.clone());
    let method = request.method().clone();
    let span = tracing::info_span!("request", request.id = %request_id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<Route>()
        .map(|route| route.0.clone())
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let elapsed = started.elapsed();
    services::telemetry::http_request(method.as_str(), &route, status, elapsed);
    let millis = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| match status {
        500.. => tracing::error!(%method, %route, status, millis, "request failed"),
        400..=499 => tracing::info!(%method, %route, status, millis, "request refused"),
        _ => tracing::info!(%method, %route, status, millis, "request"),
    });
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Put on routes (`route_layer`): remembers the template that matched for [`log_requests`]. The
/// innermost router knows the whole template (`/api/v1/jobs/{id}`), so an outer one keeps it.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(template) = matched {
        if response.extensions().get::<Route>().is_none() {
            response.extensions_mut().insert(Route(template));
        }
    }
    response
}
