//! Reading a kubeconfig a person gives uHub: parsed and checked before anything is kept (the
//! chosen context exists with its cluster and user, certificate data decodes, nothing reads files
//! or runs commands on the uHub host unless the admin allowed it), then cut down to that one
//! context — the only thing stored, in the secret store, and the only thing a run receives.

use base64::Engine as _;
use domain::kubernetes::{is_namespace, AuthKind};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{ServiceError, ServiceResult};

/// A kubeconfig larger than this is refused (a real one is a few kilobytes).
pub const MAX_KUBECONFIG_BYTES: usize = 256 * 1024;

/// A checked kubeconfig, cut down to one context.
pub struct Checked {
    /// `apiVersion: v1`, `kind: Config`, the one cluster, user and context (its namespace set),
    /// as JSON (which kubectl reads as YAML).
    pub minimal: Zeroizing<String>,
    pub server_url: String,
    pub context: String,
    pub namespace: String,
    pub ca_fingerprint: Option<String>,
    pub auth_kind: AuthKind,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("server_url", &self.server_url)
            .field("context", &self.context)
            .field("namespace", &self.namespace)
            .field("auth_kind", &self.auth_kind)
            .finish_non_exhaustive()
    }
}

fn refused(reason: impl Into<String>) -> ServiceError {
    ServiceError::invalid("kubeconfig", reason)
}

/// Parses and checks `text`; `context` = the kubeconfig's `current-context` when `None`,
/// `namespace` = the context's, else `default`, when `None`.
pub fn check(
    text: &str,
    context: Option<&str>,
    namespace: Option<&str>,
    allow_exec: bool,
) -> ServiceResult<Checked> {
    if text.trim().is_empty() {
        return Err(refused("is empty"));
    }
    if text.len() > MAX_KUBECONFIG_BYTES {
        return Err(refused("is larger than 256 KiB"));
    }
    // The reason of a YAML error is left out: it may quote the document (a token).
    let document = crate::ansible::yaml::to_json(text).map_err(|line| match line {
        Some(line) => refused(format!("is not valid YAML (line {line})")),
        None => refused("is not valid YAML"),
    })?;
    let Value::Object(document) = document else {
        return Err(refused(
            "is not a kubeconfig: expected a mapping with clusters, users and contexts",
        ));
    };
    let context_name = match context.map(str::trim).filter(|c| !c.is_empty()) {
        Some(name) => name.to_owned(),
        None => match document.get("current-context").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                return Err(ServiceError::invalid(
                    "context",
                    "name the context to use: the kubeconfig has no current-context",
                ))
            }
        },
    };
    let contexts = named_entries(&document, "contexts", "context")?;
    let Some(chosen) = contexts.iter().find(|(name, _)| *name == context_name) else {
        let known: Vec<&str> = contexts.iter().map(|(name, _)| *name).collect();
        return Err(ServiceError::invalid(
            "context",
            if known.is_empty() {
                format!("the kubeconfig has no contexts (looked for `{context_name}`)")
            } else {
                format!(
                    "the kubeconfig has no context `{context_name}` (it has: {})",
                    known.join(", ")
                )
            },
        ));
    };
    let chosen = chosen.1;
    let cluster_name = text_field(chosen, "cluster", "the context's cluster")?;
    let user_name = text_field(chosen, "user", "the context's user")?;
    let clusters = named_entries(&document, "clusters", "cluster")?;
    let cluster = clusters
        .iter()
        .find(|(name, _)| *name == cluster_name)
        .map(|(_, cluster)| *cluster)
        .ok_or_else(|| {
            refused(format!(
                "the context names a cluster `{cluster_name}` that is not in the kubeconfig"
            ))
        })?;
    let users = named_entries(&document, "users", "user")?;
    let user = users
        .iter()
        .find(|(name, _)| *name == user_name)
        .map(|(_, user)| *user)
        .ok_or_else(|| {
            refused(format!(
                "the context names a user `{user_name}` that is not in the kubeconfig"
            ))
        })?;

    let server_url = checked_server(cluster)?;
    for field in ["certificate-authority"] {
        if cluster.contains_key(field) {
            return Err(refused(format!(
                "the cluster's `{field}` is a file on the uHub host: embed it as `{field}-data` instead"
            )));
        }
    }
    if cluster.get("insecure-skip-tls-verify") == Some(&Value::Bool(true)) {
        return Err(refused(
            "the cluster skips TLS verification (insecure-skip-tls-verify): give its CA as certificate-authority-data",
        ));
    }
    if cluster.contains_key("proxy-url") {
        return Err(refused(
            "the cluster goes through a proxy (proxy-url), which uHub does not follow",
        ));
    }
    let ca_fingerprint = match cluster.get("certificate-authority-data") {
        None => None,
        Some(data) => {
            let pem = decoded_pem(data, "the cluster's certificate-authority-data")?;
            let der = pem_blocks(&pem, "CERTIFICATE")
                .into_iter()
                .next()
                .ok_or_else(|| {
                    refused("the cluster's certificate-authority-data holds no PEM certificate")
                })?;
            // What a check or kubectl will do with it: trust it as the only root.
            if !parses_as_x509(&der) {
                return Err(refused(
                    "the cluster's certificate-authority-data is not a usable X.509 certificate",
                ));
            }
            Some(fingerprint(&der))
        }
    };

    let auth_kind = checked_user(user, allow_exec)?;
    let namespace = match namespace.map(str::trim).filter(|n| !n.is_empty()) {
        Some(namespace) => namespace.to_owned(),
        None => chosen
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_owned(),
    };
    if !is_namespace(&namespace) {
        return Err(ServiceError::invalid(
            "namespace",
            "must be a Kubernetes namespace name: lowercase letters, digits and -, at most 63",
        ));
    }

    let mut context_entry = chosen.clone();
    context_entry.insert("namespace".to_owned(), Value::String(namespace.clone()));
    let minimal = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": context_name, "context": context_entry}],
        "current-context": context_name,
    });
    Ok(Checked {
        minimal: Zeroizing::new(minimal.to_string()),
        server_url,
        context: context_name,
        namespace,
        ca_fingerprint,
        auth_kind,
    })
}

/// The `name`d entries of a kubeconfig list (`clusters`, `users`, `contexts`), each with its
/// inner mapping (`cluster`, `user`, `context`).
fn named_entries<'a>(
    document: &'a Map<String, Value>,
    list: &str,
    inner: &str,
) -> ServiceResult<Vec<(&'a str, &'a Map<String, Value>)>> {
    let entries = match document.get(list) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(refused(format!("`{list}` must be a list"))),
    };
    entries
        .iter()
        .map(|entry| {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| refused(format!("an entry of `{list}` has no name")))?;
            let body = entry.get(inner).and_then(Value::as_object).ok_or_else(|| {
                refused(format!("`{list}` entry `{name}` has no `{inner}` mapping"))
            })?;
            Ok((name, body))
        })
        .collect()
}

fn text_field<'a>(
    entry: &'a Map<String, Value>,
    field: &str,
    what: &str,
) -> ServiceResult<&'a str> {
    entry
        .get(field)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| refused(format!("{what} is missing")))
}

/// The API server: an https URL with a host and no credentials in it.
fn checked_server(cluster: &Map<String, Value>) -> ServiceResult<String> {
    let server = text_field(cluster, "server", "the cluster's server")?;
    let url =
        reqwest::Url::parse(server).map_err(|_| refused("the cluster's server is not a URL"))?;
    if url.scheme() != "https" {
        return Err(refused(
            "the cluster's server must be https: credentials would cross the network in clear",
        ));
    }
    if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "the cluster's server must be https://host[:port] without credentials",
        ));
    }
    Ok(server.trim_end_matches('/').to_owned())
}

/// How the user signs in, refusing what reads files or runs commands on the uHub host.
fn checked_user(user: &Map<String, Value>, allow_exec: bool) -> ServiceResult<AuthKind> {
    for field in ["tokenFile", "client-certificate", "client-key"] {
        if user.contains_key(field) {
            return Err(refused(format!(
                "the user's `{field}` is a file on the uHub host: embed the value instead ({})",
                match field {
                    "tokenFile" => "token",
                    "client-certificate" => "client-certificate-data",
                    _ => "client-key-data",
                }
            )));
        }
    }
    for (field, kind) in [
        ("exec", AuthKind::Exec),
        ("auth-provider", AuthKind::AuthProvider),
    ] {
        if user.contains_key(field) {
            if !allow_exec {
                return Err(refused(format!(
                    "the user signs in with `{field}`, which runs a command on the uHub host; an admin may allow it (UHUB_KUBE_ALLOW_EXEC=true)"
                )));
            }
            return Ok(kind);
        }
    }
    let certificate = user.get("client-certificate-data");
    let key = user.get("client-key-data");
    match (certificate, key) {
        (Some(certificate), Some(key)) => {
            let certificate = decoded_pem(certificate, "the user's client-certificate-data")?;
            if pem_blocks(&certificate, "CERTIFICATE").is_empty() {
                return Err(refused(
                    "the user's client-certificate-data holds no PEM certificate",
                ));
            }
            let key = decoded_pem(key, "the user's client-key-data")?;
            if !key.contains("PRIVATE KEY-----") {
                return Err(refused(
                    "the user's client-key-data holds no PEM private key",
                ));
            }
            if !pem_blocks(&certificate, "CERTIFICATE")
                .iter()
                .all(|der| parses_as_x509(der))
            {
                return Err(refused(
                    "the user's client-certificate-data is not a usable X.509 certificate",
                ));
            }
            {
                use rustls::pki_types::pem::PemObject;
                if rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).is_err() {
                    return Err(refused(
                        "the user's client-key-data is not a usable private key",
                    ));
                }
            }
            return Ok(AuthKind::ClientCertificate);
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(refused(
                "the user needs both client-certificate-data and client-key-data",
            ))
        }
        (None, None) => {}
    }
    if let Some(token) = user.get("token") {
        return match token.as_str() {
            Some(token) if crate::forge::usable_token(token) || usable_bearer(token) => {
                Ok(AuthKind::Token)
            }
            _ => Err(refused("the user's token is empty or not a token")),
        };
    }
    if user.contains_key("username") || user.contains_key("password") {
        return match (
            user.get("username").and_then(Value::as_str),
            user.get("password").and_then(Value::as_str),
        ) {
            (Some(name), Some(password)) if !name.is_empty() && !password.is_empty() => {
                Ok(AuthKind::Basic)
            }
            _ => Err(refused("the user needs both a username and a password")),
        };
    }
    Ok(AuthKind::None)
}

/// A bearer token: printable ASCII without spaces (service account tokens are JWTs of ~1 KB).
fn usable_bearer(token: &str) -> bool {
    !token.is_empty() && token.len() <= 16 * 1024 && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The PEM text inside a `…-data` field (base64 of the PEM file).
fn decoded_pem(data: &Value, what: &str) -> ServiceResult<Zeroizing<String>> {
    let text = data
        .as_str()
        .ok_or_else(|| refused(format!("{what} must be base64 text")))?;
    let compact: String = text.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| refused(format!("{what} is not base64")))?;
    String::from_utf8(bytes)
        .map(Zeroizing::new)
        .map_err(|_| refused(format!("{what} does not decode to PEM text")))
}

/// The DER bytes of each `label` block of a PEM text (blocks whose body does not decode are
/// left out).
pub fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else {
            break;
        };
        let body: String = after[..stop].split_whitespace().collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            blocks.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    blocks
}

/// Whether `der` is an X.509 certificate the TLS stack reads (webpki, as rustls does).
fn parses_as_x509(der: &[u8]) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der.to_vec()))
        .is_ok()
}

/// `AB:CD:…`: SHA-256 of a certificate's DER, as `openssl x509 -fingerprint -sha256` prints it.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA made once with openssl for these tests (public, like any CA certificate).
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBjjCCATWgAwIBAgIUN0sUQ8NxeMKEc9PChuuyspPmmZQwCgYIKoZIzj0EAwIw\nHDEaMBgGA1UEAwwRdWh1Yi11bml0LXRlc3QtY2EwIBcNMjYxMjA0MDgwMTMzWhgP\nMjEyNjExMTAwODAxMzNaMBwxGjAYBgNVBAMMEXVodWItdW5pdC10ZXN0LWNhMFkw\nEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHcB5E9hc0QzyxZWs/SZyFzFztcw9yG6/\nJo9iMcarBHdr3lmx9cYmgGHaXFrq0ycQIwIH1fVCWQITPatg2pyW2qNTMFEwHQYD\nVR0OBBYEFHkJK2uB19F2IIRwGmLDQU1oO/+nMB8GA1UdIwQYMBaAFHkJK2uB19F2\nIIRwGmLDQU1oO/+nMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg\nBkE6V+coNXVTNew6UQPK3ovHXZgLyQY/f3pWCxr2zzgCICHqrlnqbs9a/5Lmikkq\n1+yNaC7DuRlHEQ2OqllT338c\n-----END CERTIFICATE-----\n";
    /// A client certificate it signed, and its key (test material only).
    const CLIENT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBKjCB0gIUZ4mPZxV8gENdOHUKC+JrvutgaHMwCgYIKoZIzj0EAwIwHDEaMBgG\nA1UEAwwRdWh1Yi11bml0LXRlc3QtY2EwIBcNMjYxMjA0MDgwMTMzWhgPMjEyNjEx\nMTAwODAxMzNaMBMxETAPBgNVBAMMCGRlcGxveWVyMFkwEwYHKoZIzj0CAQYIKoZI\nzj0DAQcDQgAEGOHThSrc5WANWvhXDYDugDW5kGUXZISmJ2TbE13j4oGdC+jyULQH\nauRd2JKCn0GK0OUh/gbuZlMR/AAmPNi8qDAKBggqhkjOPQQDAgNHADBEAiBiB/80\nfooIfWAfchNMmDefV9aorip/wbzpPvWtp+ERwQIgdWHaWQpkKb2tJsWpjE4yfFq8\nJ734Wexfb0eFPrqRKok=\n-----END CERTIFICATE-----\n";
    const CLIENT_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVGizXe7X2Zs9TOmg\nUJSqUrZumfE1LJxO6Y+Dy38haemhRANCAAQY4dOFKtzlYA1a+FcNgO6ANbmQZRdk\nhKYnZNsTXePigZ0L6PJQtAdq5F3YkoKfQYrQ5SH+Bu5mUxH8ACY82Lyo\n-----END PRIVATE KEY-----\n";

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn kubeconfig(user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: k\n  cluster:\n    server: https://k8s.internal:6443\n    certificate-authority-data: {}\nusers:\n- name: deployer\n  user:\n{user}\ncontexts:\n- name: prod\n  context:\n    cluster: k\n    user: deployer\n    namespace: payments\n- name: other\n  context:\n    cluster: k\n    user: deployer\n",
            b64(CA_PEM)
        )
    }

    #[test]
    fn a_token_kubeconfig_is_cut_to_its_context() -> ServiceResult<()> {
        let checked = check(
            &kubeconfig("    token: canary-token-123"),
            None,
            None,
            false,
        )?;
        assert_eq!(checked.context, "prod");
        assert_eq!(checked.namespace, "payments");
        assert_eq!(checked.server_url, "https://k8s.internal:6443");
        assert_eq!(checked.auth_kind, AuthKind::Token);
        let fingerprint = checked.ca_fingerprint.clone().unwrap_or_default();
        assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint}");
        let minimal: Value = serde_json::from_str(&checked.minimal).map_err(|_| refused("json"))?;
        assert_eq!(minimal["contexts"].as_array().map(Vec::len), Some(1));
        assert_eq!(minimal["current-context"], "prod");
        assert!(
            !format!("{checked:?}").contains("canary"),
            "Debug hides the kubeconfig"
        );
        let other = check(
            &kubeconfig("    token: t0ken"),
            Some("other"),
            Some("ops"),
            false,
        )?;
        assert_eq!(
            (other.context.as_str(), other.namespace.as_str()),
            ("other", "ops")
        );
        let certificate = format!(
            "    client-certificate-data: {}\n    client-key-data: {}",
            b64(CLIENT_PEM),
            b64(CLIENT_KEY)
        );
        assert_eq!(
            check(&kubeconfig(&certificate), None, None, false)?.auth_kind,
            AuthKind::ClientCertificate
        );
        Ok(())
    }

    #[test]
    fn what_cannot_be_used_safely_is_refused_with_a_reason() {
        let reason = |text: &str, context: Option<&str>, allow: bool| match check(
            text, context, None, allow,
        ) {
            Err(ServiceError::Invalid { reason, .. }) => reason,
            other => format!("accepted: {:?}", other.map(|c| c.context)),
        };
        assert!(reason("clusters: [", None, false).contains("not valid YAML"));
        assert!(reason("just text", None, false).contains("not a kubeconfig"));
        assert!(reason(&kubeconfig("    token: t"), Some("missing"), false)
            .contains("no context `missing` (it has: prod, other)"));
        let exec =
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh";
        assert!(reason(&kubeconfig(exec), None, false).contains("runs a command on the uHub host"));
        assert!(
            check(&kubeconfig(exec), None, None, true).is_ok_and(|c| c.auth_kind == AuthKind::Exec)
        );
        assert!(
            reason(&kubeconfig("    tokenFile: /etc/shadow"), None, false)
                .contains("file on the uHub host")
        );
        assert!(reason(
            &kubeconfig("    client-certificate-data: bm90IGEgY2VydA=="),
            None,
            false
        )
        .contains("both"));
        let bad_ca = kubeconfig("    token: t").replace(&b64(CA_PEM), "not*base64");
        assert!(reason(&bad_ca, None, false).contains("not base64"));
        let not_x509 = kubeconfig("    token: t").replace(
            &b64(CA_PEM),
            &b64("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2w=\n-----END CERTIFICATE-----\n"),
        );
        let said = reason(&not_x509, None, false);
        assert!(said.contains("not a usable X.509"), "{said}");
        let mismatched = format!(
            "    client-certificate-data: {}\n    client-key-data: {}",
            b64(CLIENT_PEM),
            b64(CA_PEM)
        );
        assert!(reason(&kubeconfig(&mismatched), None, false).contains("no PEM private key"));
        let http = kubeconfig("    token: t").replace("https://", "http://");
        assert!(reason(&http, None, false).contains("must be https"));
        let insecure = kubeconfig("    token: t").replace(
            "    server:",
            "    insecure-skip-tls-verify: true\n    server:",
        );
        assert!(reason(&insecure, None, false).contains("skips TLS verification"));
        // A value of the document is never repeated in a reason.
        let leaky =
            "clusters:\n- name: k\n  cluster: {server: 'https://x', oops: [unclosed-secret-value\n";
        assert!(!reason(leaky, None, false).contains("unclosed-secret-value"));
    }
}
