//! What uHub counts for Prometheus, recorded through the `metrics` facade: the use cases and the
//! engine call these functions, the server renders them at `GET /metrics`. Labels are closed sets
//! (statuses, backends, outcomes, route templates): never a user's input, so series stay few.
//!
//! Everything here is process-local; with several replicas, Prometheus scrapes each one and
//! `sum()` adds them up. What is shared (the queue in the database) is read at scrape time instead.

use std::time::Duration;

use domain::{ExecutionBackend, RunStatus};

/// Every series with its help text, described once at start-up (promtool wants a HELP per family).
pub fn describe() {
    metrics::describe_counter!(
        "uhub_http_requests_total",
        "HTTP requests answered, by method, route template and status code"
    );
    metrics::describe_histogram!(
        "uhub_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route template"
    );
    metrics::describe_counter!(
        "uhub_runs_finished_total",
        "Runs that ended in this process, by final status and backend"
    );
    metrics::describe_counter!(
        "uhub_runs_started_total",
        "Runs this process started executing, by backend"
    );
    metrics::describe_histogram!(
        "uhub_approval_wait_seconds",
        metrics::Unit::Seconds,
        "Time a run waited between its launch and its approval or rejection"
    );
    metrics::describe_counter!(
        "uhub_webhook_deliveries_total",
        "Forge webhook deliveries received, by outcome"
    );
    metrics::describe_counter!(
        "uhub_login_failures_total",
        "Sign-in attempts refused for a wrong username or password"
    );
    metrics::describe_counter!(
        "uhub_login_throttled_total",
        "Sign-in attempts refused because the username and address are locked out"
    );
    metrics::describe_counter!(
        "uhub_secret_store_errors_total",
        "Secret store operations that failed (Vault unreachable, sealed, denied), by store"
    );
    metrics::describe_gauge!(
        "uhub_sse_connections",
        "Live server-sent event streams (run logs, calendar changes) open in this process"
    );
    // Series without labels exist from the start at 0: a rate over them works at once, and
    // "no failure yet" reads as 0, not as a missing series.
    metrics::counter!("uhub_login_failures_total").absolute(0);
    metrics::counter!("uhub_login_throttled_total").absolute(0);
    metrics::gauge!("uhub_sse_connections").increment(0.0);
}

/// One HTTP request answered.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    // The method comes from the client: anything unusual is one label, not a series each.
    let method: &'static str = match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    metrics::counter!(
        "uhub_http_requests_total",
        "method" => method,
        "route" => route.to_owned(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("uhub_http_request_duration_seconds", "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

/// A run began executing on `backend`.
pub fn run_started(backend: ExecutionBackend) {
    metrics::counter!("uhub_runs_started_total", "backend" => backend.as_str()).increment(1);
}

/// A run reached its final `status`.
pub fn run_finished(status: RunStatus, backend: ExecutionBackend) {
    metrics::counter!(
        "uhub_runs_finished_total",
        "status" => status.as_str(),
        "backend" => backend.as_str()
    )
    .increment(1);
}

/// A run awaiting approval was approved or rejected after waiting `waited`.
pub fn approval_decided(waited: Duration) {
    metrics::histogram!("uhub_approval_wait_seconds").record(waited.as_secs_f64());
}

/// A forge webhook delivery ended with `outcome` (`linked`, `ignored`, `duplicate`, `refused`…).
pub fn webhook_delivery(outcome: &'static str) {
    metrics::counter!("uhub_webhook_deliveries_total", "outcome" => outcome).increment(1);
}

/// A sign-in attempt with a wrong username or password.
pub fn login_failed() {
    metrics::counter!("uhub_login_failures_total").increment(1);
}

/// A sign-in attempt refused by the throttle.
pub fn login_throttled() {
    metrics::counter!("uhub_login_throttled_total").increment(1);
}

/// A secret store operation failed.
pub fn secret_store_error(store: &'static str) {
    metrics::counter!("uhub_secret_store_errors_total", "store" => store).increment(1);
}

/// Held while a server-sent event stream is open: counts it in `uhub_sse_connections`.
#[derive(Debug)]
pub struct LiveStream(());

impl LiveStream {
    pub fn open() -> LiveStream {
        metrics::gauge!("uhub_sse_connections").increment(1.0);
        LiveStream(())
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        metrics::gauge!("uhub_sse_connections").decrement(1.0);
    }
}
