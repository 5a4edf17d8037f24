//! `GET /metrics`: the process's counters (recorded through `services::telemetry`) and, read at
//! scrape time, what lives in the database (the run queue, approvals waiting) and the pool's use,
//! in Prometheus' text format.
//!
//! Who may scrape: with `UHUB_METRICS_TOKEN` set, whoever sends it as a bearer token (compared in
//! constant time), from anywhere; without it, only a client on the loopback interface (a
//! Prometheus beside uHub, or a sidecar). The answer names route templates, statuses and
//! counts: nothing about users, projects or secrets.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::session::ClientIp;
use crate::AppState;

/// Latency buckets (seconds) of the HTTP histogram: pages answer in milliseconds, a slow
/// database in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Approval waits (seconds): from a minute to a couple of days.
const APPROVAL_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0,
];

/// The process-wide recorder, installed at the first call. Tests build many applications in
/// one process: they share it, as the use cases share the `metrics` facade.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("uhub_http_request_duration_seconds".to_owned()),
                HTTP_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("uhub_approval_wait_seconds".to_owned()),
                    APPROVAL_BUCKETS,
                )
            });
        let builder = match builder {
            Ok(builder) => builder,
            Err(error) => {
                tracing::warn!(%error, "metrics: default buckets used");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "metrics: another recorder is installed; /metrics stays empty");
        }
        services::telemetry::describe();
        describe_scraped();
        handle
    })
}

/// Folds the recorded histogram samples into their buckets every few seconds. The recorder does
/// that only on upkeep or on a scrape: without it, an instance nobody scrapes would keep every
/// request's latency sample forever.
pub fn start_upkeep() {
    tokio::spawn(async {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            recorder().run_upkeep();
        }
    });
}

fn describe_scraped() {
    metrics::describe_gauge!(
        "uhub_run_queue_depth",
        "Runs queued and not started yet, in every project (read from the database)"
    );
    metrics::describe_gauge!(
        "uhub_runs_running",
        "Runs executing now, in every process sharing the database"
    );
    metrics::describe_gauge!(
        "uhub_runs_awaiting_approval",
        "Runs waiting for an approval, in every project"
    );
    metrics::describe_gauge!(
        "uhub_approval_oldest_wait_seconds",
        metrics::Unit::Seconds,
        "How long the oldest run awaiting approval has waited (0 when none waits)"
    );
    metrics::describe_gauge!(
        "uhub_db_pool_connections",
        "Database connections of this process, by state (idle, in_use)"
    );
    metrics::describe_gauge!(
        "uhub_db_pool_max_connections",
        "The most database connections this process opens"
    );
    metrics::describe_gauge!(
        "uhub_build_info",
        "Always 1; the labels name the running build"
    );
    metrics::describe_gauge!(
        "uhub_scrape_errors",
        "1 when the last scrape could not read the database (its gauges are then stale)"
    );
}

/// The scrape handler.
pub async fn metrics(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refusal(state.metrics_token.as_deref(), peer, &headers) {
        return refusal;
    }
    let handle = recorder();
    read_database(&state).await;
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Why this scrape may not read the metrics, if it may not.
fn refusal(token: Option<&str>, peer: std::net::IpAddr, headers: &HeaderMap) -> Option<Response> {
    match token {
        Some(expected) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .unwrap_or_default();
            // Equal lengths first is fine: the token's length is no secret worth keeping.
            let matches: bool = given.as_bytes().ct_eq(expected.as_bytes()).into();
            if matches {
                return None;
            }
            let mut response = (
                StatusCode::UNAUTHORIZED,
                "the metrics need the bearer token of UHUB_METRICS_TOKEN\n",
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"uhub-metrics\""),
            );
            Some(response)
        }
        // A page on this host's browser may reach loopback through a rebound DNS name: its Host
        // header then names that site, which a scraper of this host never does.
        None if (peer.is_loopback() || is_mapped_loopback(peer)) && local_host(headers) => None,
        None => Some(
            (
                StatusCode::FORBIDDEN,
                "the metrics are served to this host only; set UHUB_METRICS_TOKEN to scrape from elsewhere\n",
            )
                .into_response(),
        ),
    }
}

/// The request names this host (`localhost`, a loopback address, with or without a port), or
/// names none (a client that is no browser).
fn local_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || is_mapped_loopback(ip))
}

/// `::ffff:127.0.0.1`: a loopback client seen by a dual-stack listener.
fn is_mapped_loopback(peer: std::net::IpAddr) -> bool {
    match peer {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        std::net::IpAddr::V4(_) => false,
    }
}

/// The commit the running build was made from: the image sets `UHUB_REVISION` (read at run
/// time, so that a new commit does not rebuild the server to change one label).
fn build_revision() -> &'static str {
    static REVISION: OnceLock<String> = OnceLock::new();
    REVISION.get_or_init(|| {
        std::env::var("UHUB_REVISION")
            .ok()
            .filter(|r| {
                !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .unwrap_or_else(|| "unknown".to_owned())
    })
}

/// Sets the gauges that come from the database and the pool.
async fn read_database(state: &AppState) {
    let storage = &state.hub.storage;
    let pool = storage.pool_use();
    metrics::gauge!("uhub_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("uhub_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.open.saturating_sub(pool.idle)));
    metrics::gauge!("uhub_db_pool_max_connections").set(f64::from(pool.max));
    metrics::gauge!(
        "uhub_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "revision" => build_revision()
    )
    .set(1.0);
    match storage.run_backlog().await {
        Ok(backlog) => {
            let now = chrono::Utc::now();
            for entry in backlog {
                let count = entry.count as f64;
                match entry.status {
                    domain::RunStatus::Queued => {
                        metrics::gauge!("uhub_run_queue_depth").set(count);
                    }
                    domain::RunStatus::Running => metrics::gauge!("uhub_runs_running").set(count),
                    domain::RunStatus::AwaitingApproval => {
                        metrics::gauge!("uhub_runs_awaiting_approval").set(count);
                        let waited = entry
                            .oldest
                            .map(|oldest| (now - oldest).num_milliseconds().max(0) as f64 / 1000.0)
                            .unwrap_or(0.0);
                        metrics::gauge!("uhub_approval_oldest_wait_seconds").set(waited);
                    }
                    _ => {}
                }
            }
            metrics::gauge!("uhub_scrape_errors").set(0.0);
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot read the run backlog");
            metrics::gauge!("uhub_scrape_errors").set(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_token_only_loopback_may_scrape() {
        let none = HeaderMap::new();
        let refused = |ip: &str| {
            ip.parse()
                .map(|ip| refusal(None, ip, &none).map(|r| r.status()))
        };
        assert_eq!(refused("127.0.0.1"), Ok(None));
        assert_eq!(refused("::1"), Ok(None));
        assert_eq!(refused("::ffff:127.0.0.1"), Ok(None));
        assert_eq!(refused("10.0.0.7"), Ok(Some(StatusCode::FORBIDDEN)));
        assert_eq!(refused("0.0.0.0"), Ok(Some(StatusCode::FORBIDDEN)));
    }

    #[test]
    fn a_rebound_name_on_loopback_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let loopback = "127.0.0.1".parse()?;
        for (host, allowed) in [
            ("127.0.0.1:3000", true),
            ("localhost:3000", true),
            ("[::1]:3000", true),
            ("localhost", true),
            ("evil.example:3000", false),
            ("127.0.0.1.evil.example", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(host)?);
            assert_eq!(
                refusal(None, loopback, &headers).is_none(),
                allowed,
                "{host}"
            );
        }
        Ok(())
    }

    #[test]
    fn with_a_token_every_client_needs_it() -> Result<(), Box<dyn std::error::Error>> {
        let loopback = "127.0.0.1".parse()?;
        let mut headers = HeaderMap::new();
        assert_eq!(
            refusal(Some("s3cret"), loopback, &headers).map(|r| r.status()),
            Some(StatusCode::UNAUTHORIZED),
            "the token, once set, is asked from loopback too"
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cre"),
        );
        assert!(refusal(Some("s3cret"), loopback, &headers).is_some());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(refusal(Some("s3cret"), loopback, &headers).is_some());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer s3cret"),
        );
        assert!(refusal(Some("s3cret"), "10.0.0.7".parse()?, &headers).is_none());
        Ok(())
    }
}
