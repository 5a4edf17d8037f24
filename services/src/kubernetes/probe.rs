//! Checking a cluster from its stored kubeconfig: `/version` (reachable, TLS verified against the
//! kubeconfig's CA only, the server's version), the namespace, and a `SelfSubjectRulesReview` of
//! what uHub may do there. Answers are read bounded; only status codes and the documented fields
//! are kept, never a body.

use std::time::{Duration, Instant};

use base64::Engine as _;
use domain::kubernetes::{CheckProblem, ClusterCheck, Health, ResourceRule};
use serde_json::{json, Value};

/// Per request; a check makes three.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// How to reach and sign in to the API server, from the minimal kubeconfig.
struct Access {
    server: String,
    client: reqwest::Client,
    authorization: Option<zeroize::Zeroizing<String>>,
}

fn problem(code: &str, message: impl Into<String>) -> CheckProblem {
    CheckProblem {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Checks the cluster of `minimal` (a kubeconfig made by [`super::kubeconfig::check`]).
pub async fn check(minimal: &str, namespace: &str) -> ClusterCheck {
    let started = Instant::now();
    let mut result = ClusterCheck {
        at: crate::storage::now(),
        health: Health::Unreachable,
        reachable: false,
        tls_verified: false,
        server_version: None,
        namespace_found: None,
        rules: Vec::new(),
        rules_incomplete: false,
        problems: Vec::new(),
        took_ms: 0,
    };
    match access(minimal) {
        Ok(access) => probe(&access, namespace, &mut result).await,
        Err(found) => result.problems.push(found),
    }
    result.took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.health = if !result.reachable {
        Health::Unreachable
    } else if result.problems.is_empty() {
        Health::Healthy
    } else {
        Health::Degraded
    };
    result
}

async fn probe(access: &Access, namespace: &str, result: &mut ClusterCheck) {
    match get(access, "/version").await {
        Err(found) => {
            result.problems.push(found);
            return;
        }
        Ok((status, body)) => {
            result.reachable = true;
            result.tls_verified = true;
            match status {
                200 => {
                    result.server_version = body
                        .get("gitVersion")
                        .and_then(Value::as_str)
                        .map(|v| v.chars().take(64).collect());
                }
                other => result.problems.push(refusal(other, "/version")),
            }
        }
    }
    match get(access, &format!("/api/v1/namespaces/{namespace}")).await {
        Ok((200, _)) => result.namespace_found = Some(true),
        Ok((404, _)) => {
            result.namespace_found = Some(false);
            result.problems.push(problem(
                "namespace_missing",
                format!("the namespace `{namespace}` does not exist on the cluster"),
            ));
        }
        // Reading a namespace object is often not granted to a deployer: not a problem.
        Ok((403, _)) => {}
        Ok((other, _)) => result.problems.push(refusal(other, "the namespace")),
        Err(found) => result.problems.push(found),
    }
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    });
    match post(
        access,
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        &review,
    )
    .await
    {
        Ok((200 | 201, body)) => {
            let status = &body["status"];
            result.rules = status["resourceRules"]
                .as_array()
                .map(|rules| rules.iter().take(200).filter_map(rule).collect())
                .unwrap_or_default();
            result.rules_incomplete = status["incomplete"].as_bool().unwrap_or(false);
        }
        Ok((other, _)) => result
            .problems
            .push(refusal(other, "the rules review (SelfSubjectRulesReview)")),
        Err(found) => result.problems.push(found),
    }
}

fn rule(value: &Value) -> Option<ResourceRule> {
    let texts = |field: &str| -> Vec<String> {
        value[field]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .take(50)
                    .map(|s| s.chars().take(128).collect())
                    .collect()
            })
            .unwrap_or_default()
    };
    let verbs = texts("verbs");
    (!verbs.is_empty()).then(|| ResourceRule {
        verbs,
        api_groups: texts("apiGroups"),
        resources: texts("resources"),
        resource_names: texts("resourceNames"),
    })
}

fn refusal(status: u16, what: &str) -> CheckProblem {
    match status {
        401 => problem(
            "unauthorized",
            format!("the cluster refused the kubeconfig's credentials (401) on {what}"),
        ),
        403 => problem(
            "forbidden",
            format!("the kubeconfig's user may not read {what} (403)"),
        ),
        other => problem(
            "unexpected_answer",
            format!("the API server answered {other} on {what}"),
        ),
    }
}

/// The reqwest client trusting only the kubeconfig's CA (or the public ones when it has none),
/// with the user's certificate or token.
fn access(minimal: &str) -> Result<Access, CheckProblem> {
    let broken = |what: &str| problem("unexpected_answer", format!("the stored kubeconfig {what}"));
    let config: Value = serde_json::from_str(minimal).map_err(|_| broken("is not readable"))?;
    let cluster = &config["clusters"][0]["cluster"];
    let user = &config["users"][0]["user"];
    let server = cluster["server"]
        .as_str()
        .ok_or_else(|| broken("has no server"))?
        .trim_end_matches('/')
        .to_owned();
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .use_rustls_tls();
    if let Some(ca) = cluster["certificate-authority-data"].as_str() {
        let pem = decode(ca).ok_or_else(|| broken("has an unreadable CA"))?;
        let certificate =
            reqwest::Certificate::from_pem(&pem).map_err(|_| broken("has an unreadable CA"))?;
        builder = builder
            .tls_built_in_root_certs(false)
            .add_root_certificate(certificate);
    }
    if user.get("exec").is_some() || user.get("auth-provider").is_some() {
        return Err(problem(
            "exec_not_run",
            "the kubeconfig's user signs in through a command, which a check does not run",
        ));
    }
    if let (Some(certificate), Some(key)) = (
        user["client-certificate-data"].as_str(),
        user["client-key-data"].as_str(),
    ) {
        let mut pem = decode(certificate).ok_or_else(|| broken("has an unreadable certificate"))?;
        pem.push(b'\n');
        pem.extend(decode(key).ok_or_else(|| broken("has an unreadable key"))?);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|_| broken("has an unusable certificate or key"))?;
        builder = builder.identity(identity);
    }
    let authorization = if let Some(token) = user["token"].as_str() {
        Some(zeroize::Zeroizing::new(format!("Bearer {token}")))
    } else if let (Some(name), Some(password)) =
        (user["username"].as_str(), user["password"].as_str())
    {
        let pair = zeroize::Zeroizing::new(format!("{name}:{password}"));
        Some(zeroize::Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
        )))
    } else {
        None
    };
    let client = builder
        .build()
        .map_err(|_| broken("cannot be used for TLS"))?;
    Ok(Access {
        server,
        client,
        authorization,
    })
}

fn decode(data: &str) -> Option<Vec<u8>> {
    let compact: String = data.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
}

async fn get(access: &Access, path: &str) -> Result<(u16, Value), CheckProblem> {
    send(
        access,
        access.client.get(format!("{}{path}", access.server)),
    )
    .await
}

async fn post(access: &Access, path: &str, body: &Value) -> Result<(u16, Value), CheckProblem> {
    send(
        access,
        access
            .client
            .post(format!("{}{path}", access.server))
            .json(body),
    )
    .await
}

async fn send(
    access: &Access,
    mut request: reqwest::RequestBuilder,
) -> Result<(u16, Value), CheckProblem> {
    request = request.header(reqwest::header::ACCEPT, "application/json");
    if let Some(authorization) = &access.authorization {
        request = request.header(reqwest::header::AUTHORIZATION, authorization.as_str());
    }
    let mut answer = request.send().await.map_err(|error| transport(&error))?;
    let status = answer.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|error| transport(&error))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(problem(
                "unexpected_answer",
                "the API server's answer is larger than 1 MiB",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// Unreachable or a TLS mismatch, told apart by the error's causes.
fn transport(error: &reqwest::Error) -> CheckProblem {
    let mut causes = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        causes.push_str(&cause.to_string());
        causes.push(' ');
        source = cause.source();
    }
    let lowered = causes.to_ascii_lowercase();
    if lowered.contains("certificate")
        || lowered.contains("unknownissuer")
        || lowered.contains("notvalidforname")
        || lowered.contains("tls")
    {
        problem(
            "tls_mismatch",
            "the API server's certificate is not signed by the kubeconfig's CA (or not issued for its address)",
        )
    } else if error.is_timeout() {
        problem("unreachable", "the API server did not answer within 10 s")
    } else {
        problem(
            "unreachable",
            "the API server cannot be reached (connection refused or no route)",
        )
    }
}
