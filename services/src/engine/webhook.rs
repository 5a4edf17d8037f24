//! The `webhook` backend: a signed POST to the project's target with the run id and a callback
//! URL; the run then follows what the target reports through `POST /api/v1/runs/{id}/callback`
//! (signed with the same secret). Presets speak the trigger APIs of GitHub Actions
//! (`workflow_dispatch`) and GitLab pipelines.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::{LogStream, RunStatus, WebhookPreset};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::output::LogSender;
use super::{CancelSignal, Outcome};
use crate::storage::Storage;

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`, both ways.
pub const SIGNATURE_HEADER: &str = "x-uhub-signature-256";

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Checks a signature in constant time.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() != 64 {
        return false;
    }
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect();
    let Some(bytes) = bytes else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

/// What a webhook run needs.
pub struct WebhookRun<'a> {
    pub run_id: i64,
    pub job_id: i64,
    pub project_id: i64,
    pub environment: Option<&'a str>,
    pub url: &'a str,
    pub preset: WebhookPreset,
    /// The value of the project secret the configuration names: signing key or API token.
    pub secret: &'a str,
    pub git_ref: Option<&'a str>,
    pub inputs: &'a BTreeMap<String, String>,
    pub callback_url: String,
    pub timeout: Duration,
    /// How often the run's status is read while waiting for the callback.
    pub poll: Duration,
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("uhub/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Sends the trigger; the answer is a line for the log, or why it failed.
async fn trigger(spec: &WebhookRun<'_>) -> Result<String, String> {
    let client = client()?;
    let run_id = spec.run_id.to_string();
    let request = match spec.preset {
        WebhookPreset::Generic => {
            let body = serde_json::to_vec(&serde_json::json!({
                "run_id": spec.run_id,
                "job_id": spec.job_id,
                "project_id": spec.project_id,
                "environment": spec.environment,
                "ref": spec.git_ref,
                "inputs": spec.inputs,
                "callback_url": spec.callback_url,
            }))
            .map_err(|e| e.to_string())?;
            client
                .post(spec.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, sign(spec.secret, &body))
                .header("x-uhub-run", &run_id)
                .body(body)
        }
        WebhookPreset::GithubActions => {
            let mut inputs = spec.inputs.clone();
            inputs.insert("uhub_run_id".into(), run_id.clone());
            inputs.insert("uhub_callback_url".into(), spec.callback_url.clone());
            client
                .post(spec.url)
                .bearer_auth(spec.secret)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .json(
                    &serde_json::json!({ "ref": spec.git_ref.unwrap_or("main"), "inputs": inputs }),
                )
        }
        WebhookPreset::GitlabPipeline => {
            let mut form: Vec<(String, String)> = vec![
                ("token".into(), spec.secret.to_owned()),
                ("ref".into(), spec.git_ref.unwrap_or("main").to_owned()),
                ("variables[UHUB_RUN_ID]".into(), run_id.clone()),
                (
                    "variables[UHUB_CALLBACK_URL]".into(),
                    spec.callback_url.clone(),
                ),
            ];
            form.extend(
                spec.inputs
                    .iter()
                    .map(|(k, v)| (format!("variables[{k}]"), v.clone())),
            );
            client.post(spec.url).form(&form)
        }
    };
    let response = request
        .send()
        .await
        .map_err(|e| format!("the webhook target did not answer: {}", without_url(&e)))?;
    let status = response.status();
    if status.is_success() {
        Ok(format!(
            "triggered {} ({status}); waiting for its callback",
            spec.preset
        ))
    } else {
        let text = response.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(300).collect();
        Err(format!(
            "the webhook target refused the trigger with {status}: {excerpt}"
        ))
    }
}

/// reqwest's errors print the URL, which may carry a token in its query: keep the kind only.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection refused or unreachable"
    } else {
        "request failed"
    };
    kind.to_owned()
}

pub async fn run(
    storage: &Storage,
    spec: WebhookRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
) -> Outcome {
    match trigger(&spec).await {
        Ok(line) => log.line(LogStream::System, line),
        Err(reason) => return Outcome::failed(reason),
    }
    let deadline = tokio::time::Instant::now() + spec.timeout;
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                let reason = format!("{}; the remote pipeline itself is not stopped by uHub", cancel.reason());
                log.line(LogStream::System, reason.clone());
                return Outcome { status: RunStatus::Canceled, exit_code: None, reason: Some(reason) };
            }
            () = tokio::time::sleep_until(deadline) => {
                let reason = format!("no final callback within {} s", spec.timeout.as_secs());
                log.line(LogStream::System, reason.clone());
                return Outcome { status: RunStatus::TimedOut, exit_code: None, reason: Some(reason) };
            }
            () = tokio::time::sleep(spec.poll) => {
                // The callback records the end itself; the run is then no longer `running`.
                if let Ok(run) = storage.run(spec.run_id).await {
                    if run.status.is_final() {
                        return Outcome { status: run.status, exit_code: run.exit_code, reason: run.reason };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_same_secret_and_body() {
        let signature = sign("k3y", b"{\"status\":\"success\"}");
        assert!(signature.starts_with("sha256=") && signature.len() == 71);
        assert!(verify("k3y", b"{\"status\":\"success\"}", &signature));
        assert!(!verify("other", b"{\"status\":\"success\"}", &signature));
        assert!(!verify("k3y", b"{\"status\":\"failed\"}", &signature));
        assert!(!verify("k3y", b"x", "sha256=zz"));
        assert!(!verify("k3y", b"x", ""));
    }
}
