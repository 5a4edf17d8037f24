//! The `webhook` backend: a signed POST to the project's target with the run id, a callback URL
//! and the run's own callback key; the run then follows what the target reports through
//! `POST /api/v1/runs/{id}/callback` (signed with that key, over the run id, the time and the
//! body). Presets speak the trigger APIs of GitHub Actions (`workflow_dispatch`) and GitLab
//! pipelines. A target on an internal address is refused unless an admin allows its host.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::WebhookPreset;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use std::net::{IpAddr, SocketAddr};

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`, both ways.
pub const SIGNATURE_HEADER: &str = "x-uhub-signature-256";

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", crate::digest::hex(&digest))
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
    /// The key the target signs its callbacks with (see [`callback_key`]).
    pub callback_secret: &'a str,
}

/// The header carrying the callback's time (Unix seconds), signed with its body.
pub const TIMESTAMP_HEADER: &str = "x-uhub-timestamp";
/// A callback older (or newer) than this is refused: a recorded one cannot be replayed later.
pub const CALLBACK_WINDOW_SECONDS: i64 = 300;

/// The key a run's target signs its callbacks with: derived from uHub's own key and the run's
/// id, so a callback is checked before anything is read (no secret store, no database), and a
/// key is good for its run only. Sent to the target with the trigger.
pub fn callback_key(server_key: &[u8], run_id: i64) -> zeroize::Zeroizing<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(server_key).expect("HMAC takes any key length");
    mac.update(format!("uhub-callback:{run_id}").as_bytes());
    zeroize::Zeroizing::new(crate::digest::hex(&mac.finalize().into_bytes()))
}

/// What a callback's signature covers: the run, the time and the body.
fn callback_message(run_id: i64, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{run_id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// `sha256=<hex>` of a callback, as its target sends it in [`SIGNATURE_HEADER`].
pub fn sign_callback(key: &str, run_id: i64, timestamp: i64, body: &[u8]) -> String {
    sign(key, &callback_message(run_id, timestamp, body))
}

/// Checks a callback's signature (constant time) and that it was made within the window.
pub fn verify_callback(
    key: &str,
    run_id: i64,
    timestamp: i64,
    now: i64,
    body: &[u8],
    signature: &str,
) -> bool {
    (now - timestamp).abs() <= CALLBACK_WINDOW_SECONDS
        && verify(key, &callback_message(run_id, timestamp, body), signature)
}

/// Whether an address is one a webhook may never reach (unless its host is allowed by name):
/// loopback, private, link-local, unspecified, shared, broadcast and multicast addresses, in
/// every spelling (an IPv4 address inside an IPv6 one counts as itself).
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                // 100.64.0.0/10: carrier-grade NAT, inside the provider's network.
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped().or_else(|| embedded_ipv4(v6)) {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, fec0::/10 site-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
        }
    }
}

/// The IPv4 address inside an IPv4-compatible (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) one.
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let tail =
        std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6].iter().all(|x| *x == 0) && (s[6] != 0 || s[7] > 1);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0);
    (compatible || nat64).then_some(tail)
}

/// The address to call a webhook target at: its host resolved, every address checked (a name
/// that also resolves to an internal address is refused), unless the host is allowed by name.
/// The call then goes to exactly this address, so a second resolution cannot differ.
pub async fn checked_target(
    url: &str,
    allowed_hosts: &[String],
) -> Result<(String, SocketAddr), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "the webhook URL is not a URL".to_owned())?;
    let host = parsed
        .host_str()
        .ok_or_else(|| "the webhook URL has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| "the webhook URL has no port".to_owned())?;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| format!("the webhook target's host `{host}` does not resolve"))?
        .collect();
    let first = *addresses
        .first()
        .ok_or_else(|| format!("the webhook target's host `{host}` does not resolve"))?;
    let allowed = allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(&host));
    if !allowed && addresses.iter().any(|a| is_internal(a.ip())) {
        return Err(format!(
            "the webhook target `{host}` is an internal address (loopback, private or link-local): \
             an admin may allow it with UHUB_WEBHOOK_ALLOWED_HOSTS"
        ));
    }
    Ok((host, first))
}

/// An HTTP client that calls `host` at `address` only, and follows no redirect (a redirect
/// could lead anywhere, internal addresses included).
fn client(host: &str, address: SocketAddr) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, address)
        .user_agent(concat!("uhub/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Sends the trigger; the answer is a line for the log, or why it failed. The target's answer
/// is never copied: its status line says enough, and its body could hold anything.
pub async fn trigger(spec: &WebhookRun<'_>, allowed_hosts: &[String]) -> Result<String, String> {
    let (host, address) = checked_target(spec.url, allowed_hosts).await?;
    let client = client(&host, address)?;
    let run_id = spec.run_id.to_string();
    let callback_secret = spec.callback_secret;
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
                "callback_secret": callback_secret,
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
            inputs.insert("uhub_callback_secret".into(), callback_secret.to_owned());
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
                (
                    "variables[UHUB_CALLBACK_SECRET]".into(),
                    callback_secret.to_owned(),
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
        Err(format!(
            "the webhook target refused the trigger with {status}"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_seen_in_every_spelling() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            let address: IpAddr = internal.parse().expect(internal);
            assert!(is_internal(address), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            let address: IpAddr = public.parse().expect(public);
            assert!(!is_internal(address), "{public}");
        }
    }

    #[tokio::test]
    async fn a_target_is_resolved_and_refused_when_internal_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://2130706433:9/hook",
            "http://0x7f.1:9/hook",
            "http://[::ffff:7f00:1]:9/hook",
            "http://169.254.169.254/latest/meta-data",
        ] {
            let refused = checked_target(url, &[]).await;
            assert!(refused.is_err(), "{url}: {refused:?}");
        }
        assert!(
            checked_target("http://127.0.0.1:9/hook", &["127.0.0.1".to_owned()])
                .await
                .is_ok()
        );
    }

    #[test]
    fn a_callback_signature_covers_the_run_the_time_and_the_body() {
        let key = callback_key(b"server key", 7);
        assert_ne!(*key, *callback_key(b"server key", 8), "one key per run");
        let signature = sign_callback(&key, 7, 1_000, b"{}");
        assert!(verify_callback(&key, 7, 1_000, 1_100, b"{}", &signature));
        assert!(
            !verify_callback(&key, 8, 1_000, 1_100, b"{}", &signature),
            "another run"
        );
        assert!(
            !verify_callback(&key, 7, 1_001, 1_100, b"{}", &signature),
            "another time"
        );
        assert!(
            !verify_callback(&key, 7, 1_000, 1_100, b"[]", &signature),
            "another body"
        );
        assert!(
            !verify_callback(
                &key,
                7,
                1_000,
                1_000 + CALLBACK_WINDOW_SECONDS + 1,
                b"{}",
                &signature
            ),
            "too old"
        );
    }

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
