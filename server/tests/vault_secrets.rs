//! Project secrets in Vault (`UHUB_VAULT_ADDR`): written, listed, injected into runs (masked in
//! their logs), deleted and purged with their project through vaultrs, against a local HTTP
//! server speaking Vault's KV v2 API (no Vault binary can be installed on this machine kind;
//! the receiver answers as Vault 1.15 documents, token check and sealed state included).

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use common::{expect, settled, TestApp};
use serde_json::{json, Value};
use services::secrets::SecretStore;
use services::testing::TestEngine;
use services::vault::{VaultSettings, VaultStore};

const TOKEN: &str = "hvs.uhub-test-token";
const SECRET_VALUE: &str = "vault-held-deploy-token-77";
const OPERATOR_VALUE: &str = "written-by-the-vault-cli-31";

/// One KV v2 secret: its versions' data and its metadata.
#[derive(Default)]
struct Secret {
    versions: Vec<Value>,
    custom_metadata: HashMap<String, String>,
    created_time: String,
    updated_time: String,
}

#[derive(Default)]
struct Kv {
    secrets: BTreeMap<String, Secret>,
    sealed: bool,
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Kv>>;

fn envelope(data: Value) -> Response {
    Json(json!({
        "request_id": "8a1f", "lease_id": "", "renewable": false, "lease_duration": 0,
        "data": data, "wrap_info": null, "warnings": null, "auth": null,
    }))
    .into_response()
}

fn errors(status: StatusCode, messages: &[&str]) -> Response {
    (status, Json(json!({ "errors": messages }))).into_response()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn version_metadata(secret: &Secret) -> Value {
    json!({
        "created_time": secret.updated_time, "custom_metadata": secret.custom_metadata,
        "deletion_time": "", "destroyed": false, "version": secret.versions.len(),
    })
}

/// The KV v2 engine mounted at `secret/`: data and metadata endpoints, LIST included.
async fn kv2(
    State(kv): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(mut kv) = kv.lock() else {
        return errors(StatusCode::INTERNAL_SERVER_ERROR, &["poisoned"]);
    };
    kv.requests.push(format!("{method} {}", uri.path()));
    if kv.sealed {
        return errors(StatusCode::SERVICE_UNAVAILABLE, &["Vault is sealed"]);
    }
    if headers.get("x-vault-token").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
        return errors(StatusCode::FORBIDDEN, &["permission denied"]);
    }
    let path = uri.path();
    let (kind, key) = if let Some(key) = path.strip_prefix("/v1/secret/data/") {
        ("data", key.trim_end_matches('/').to_owned())
    } else if let Some(key) = path.strip_prefix("/v1/secret/metadata/") {
        ("metadata", key.trim_end_matches('/').to_owned())
    } else {
        return errors(StatusCode::NOT_FOUND, &["no handler for route"]);
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (method.as_str(), kind) {
        ("POST" | "PUT", "data") => {
            let at = now();
            let secret = kv.secrets.entry(key).or_default();
            if secret.created_time.is_empty() {
                secret.created_time = at.clone();
            }
            secret.updated_time = at;
            secret.versions.push(body["data"].clone());
            envelope(version_metadata(secret))
        }
        ("GET", "data") => match kv.secrets.get(&key) {
            Some(secret) => envelope(json!({
                "data": secret.versions.last(), "metadata": version_metadata(secret),
            })),
            None => errors(StatusCode::NOT_FOUND, &[]),
        },
        ("POST" | "PUT", "metadata") => match kv.secrets.get_mut(&key) {
            Some(secret) => {
                if let Some(custom) = body["custom_metadata"].as_object() {
                    secret.custom_metadata = custom
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect();
                }
                StatusCode::NO_CONTENT.into_response()
            }
            None => errors(StatusCode::NOT_FOUND, &[]),
        },
        ("GET", "metadata") => match kv.secrets.get(&key) {
            Some(secret) => {
                let versions: serde_json::Map<String, Value> = (1..=secret.versions.len())
                    .map(|n| {
                        (
                            n.to_string(),
                            json!({"created_time": secret.updated_time, "deletion_time": "", "destroyed": false}),
                        )
                    })
                    .collect();
                envelope(json!({
                    "cas_required": false, "created_time": secret.created_time,
                    "current_version": secret.versions.len(), "delete_version_after": "0s",
                    "max_versions": 0, "oldest_version": 0, "updated_time": secret.updated_time,
                    "custom_metadata": secret.custom_metadata, "versions": versions,
                }))
            }
            None => errors(StatusCode::NOT_FOUND, &[]),
        },
        ("LIST", "metadata") => {
            let folder = format!("{key}/");
            let mut keys: Vec<String> = kv
                .secrets
                .keys()
                .filter_map(|k| k.strip_prefix(&folder))
                .map(|rest| match rest.split_once('/') {
                    Some((sub, _)) => format!("{sub}/"),
                    None => rest.to_owned(),
                })
                .collect();
            keys.dedup();
            if keys.is_empty() {
                errors(StatusCode::NOT_FOUND, &[])
            } else {
                envelope(json!({ "keys": keys }))
            }
        }
        ("DELETE", "metadata") => {
            kv.secrets.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => errors(StatusCode::METHOD_NOT_ALLOWED, &["unsupported operation"]),
    }
}

async fn start_vault() -> (Shared, String) {
    let kv = Shared::default();
    let app = axum::Router::new().fallback(kv2).with_state(kv.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (kv, format!("http://{address}"))
}

fn store(address: &str, token: &str) -> SecretStore {
    SecretStore::Vault(
        VaultStore::new(&VaultSettings {
            address: address.to_owned(),
            token: zeroize::Zeroizing::new(token.to_owned()),
            mount: "secret".to_owned(),
            prefix: "uhub".to_owned(),
        })
        .expect("vault settings"),
    )
}

fn stored_value(kv: &Shared, key: &str) -> Option<Value> {
    kv.lock()
        .ok()
        .and_then(|kv| kv.secrets.get(key).and_then(|s| s.versions.last().cloned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_live_in_vault_and_reach_runs_masked() {
    let (kv, address) = start_vault().await;
    let app = TestApp::with_demo_and_secrets(TestEngine::Sqlite, store(&address, TOKEN)).await;
    let pm = app.token("demo-projets").await;
    let dev = app.token("demo-dev").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({
            "name": "Vaulted", "environments": ["dev"], "execution_backend": "local",
        })),
        StatusCode::CREATED,
    )
    .await;
    let project_id = project["id"].as_i64().unwrap_or_default();
    let secrets_url = format!("/api/v1/projects/{project_id}/secrets");

    // Written through uHub: the value is in Vault at the documented path, not in uHub's database.
    let stored = expect(
        &app,
        Method::PUT,
        &format!("{secrets_url}/DEPLOY_TOKEN"),
        &pm,
        Some(json!({"value": SECRET_VALUE})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["name"], "DEPLOY_TOKEN");
    assert!(stored["updated_by"].is_i64(), "who wrote it: {stored}");
    assert!(!stored.to_string().contains(SECRET_VALUE), "{stored}");
    let key = format!("uhub/projects/{project_id}/DEPLOY_TOKEN");
    assert_eq!(
        stored_value(&kv, &key),
        Some(json!({"value": SECRET_VALUE}))
    );
    let in_database = app
        .storage
        .storage
        .sealed_secrets(project_id, None)
        .await
        .expect("read");
    assert!(in_database.is_empty(), "nothing in the database");

    // Written by an operator with the Vault CLI (`vault kv put secret/uhub/projects/N/OPERATOR_KEY
    // value=...`): listed and injected too. A sub-folder and a name that cannot be a variable
    // are ignored.
    {
        let mut kv = kv.lock().expect("kv");
        for (name, data) in [
            ("OPERATOR_KEY", json!({"value": OPERATOR_VALUE})),
            ("nested/DEEP", json!({"value": "x"})),
            ("not-a-variable", json!({"value": "y"})),
        ] {
            kv.secrets.insert(
                format!("uhub/projects/{project_id}/{name}"),
                Secret {
                    versions: vec![data],
                    created_time: now(),
                    updated_time: now(),
                    ..Secret::default()
                },
            );
        }
    }
    let listed = expect(&app, Method::GET, &secrets_url, &pm, None, StatusCode::OK).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["DEPLOY_TOKEN", "OPERATOR_KEY"], "{listed}");

    // A run gets both as environment variables; its log masks both.
    let script = app.scripts.path().join("vault.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"token=$DEPLOY_TOKEN\"\necho \"operator=$OPERATOR_KEY\"\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let job = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        &dev,
        Some(json!({
            "title": "Uses Vault", "job_type": "dev", "environment": "dev",
            "planned_start": "2031-01-01T09:00:00Z",
            "action": {"kind": "script", "path": "vault.sh"},
        })),
        StatusCode::CREATED,
    )
    .await;
    let job_id = job["id"].as_i64().unwrap_or_default();
    let runs_url = format!("/api/v1/jobs/{job_id}/runs");
    let run = expect(
        &app,
        Method::POST,
        &runs_url,
        &dev,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let run_id = run["id"].as_i64().unwrap_or_default();
    let done = settled(&app, &dev, run_id).await;
    assert_eq!(done["status"], "success", "{done}");
    let lines = app
        .storage
        .storage
        .run_logs(run_id, 0, 100)
        .await
        .expect("lines");
    let text: String = lines.iter().map(|l| format!("{}\n", l.line)).collect();
    assert!(
        text.contains("token=*****") && text.contains("operator=*****"),
        "masked: {text}"
    );
    assert!(
        !text.contains(SECRET_VALUE) && !text.contains(OPERATOR_VALUE),
        "{text}"
    );

    // Vault sealed (or unreachable): writing answers 503 with a stable code, and a run fails
    // with a reason instead of running without its secrets.
    kv.lock().expect("kv").sealed = true;
    let refused = expect(
        &app,
        Method::PUT,
        &format!("{secrets_url}/OTHER"),
        &pm,
        Some(json!({"value": "x-value"})),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(refused["code"], "secret_store_unavailable", "{refused}");
    assert!(
        !refused.to_string().contains("sealed"),
        "details stay in the log: {refused}"
    );
    let run = expect(
        &app,
        Method::POST,
        &runs_url,
        &dev,
        Some(json!({})),
        StatusCode::CREATED,
    )
    .await;
    let failed = settled(&app, &dev, run["id"].as_i64().unwrap_or_default()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("secrets"),
        "{failed}"
    );
    kv.lock().expect("kv").sealed = false;

    // Deleting: gone from Vault (all versions), 404 the second time; both changes audited by
    // name only.
    expect(
        &app,
        Method::DELETE,
        &format!("{secrets_url}/DEPLOY_TOKEN"),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(stored_value(&kv, &key), None);
    expect(
        &app,
        Method::DELETE,
        &format!("{secrets_url}/DEPLOY_TOKEN"),
        &pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let admin = app.token("demo-admin").await;
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=200",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    let audit_text = audit.to_string();
    assert!(
        audit_text.contains("secret.put") && audit_text.contains("secret.delete"),
        "{audit_text}"
    );
    assert!(!audit_text.contains(SECRET_VALUE), "{audit_text}");

    // A project deleted without history takes its Vault secrets along.
    let fresh = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({
            "name": "Short-lived", "environments": ["dev"],
        })),
        StatusCode::CREATED,
    )
    .await;
    let fresh_id = fresh["id"].as_i64().unwrap_or_default();
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{fresh_id}/secrets/API_KEY"),
        &pm,
        Some(json!({"value": "short-lived-key"})),
        StatusCode::OK,
    )
    .await;
    let fresh_key = format!("uhub/projects/{fresh_id}/API_KEY");
    assert!(stored_value(&kv, &fresh_key).is_some());
    expect(
        &app,
        Method::DELETE,
        &format!("/api/v1/projects/{fresh_id}"),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(
        stored_value(&kv, &fresh_key),
        None,
        "purged with the project"
    );

    // Every request carried the token and used the KV v2 API (LIST on metadata included).
    let requests = kv.lock().expect("kv").requests.clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("LIST /v1/secret/metadata/uhub/projects/")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_by_vault_and_reported_as_unavailable() {
    let (_kv, address) = start_vault().await;
    let app =
        TestApp::with_demo_and_secrets(TestEngine::Sqlite, store(&address, "hvs.wrong")).await;
    let pm = app.token("demo-projets").await;
    let projects = expect(
        &app,
        Method::GET,
        "/api/v1/projects",
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    let project_id = projects["items"][0]["id"].as_i64().unwrap_or_default();
    let answer = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}/secrets"),
        &pm,
        None,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(answer["code"], "secret_store_unavailable");
}

#[test]
fn a_malformed_vault_address_is_refused_before_use() {
    for address in ["not a url", "ftp://vault:8200", "http://"] {
        let error = VaultStore::new(&VaultSettings {
            address: address.to_owned(),
            token: zeroize::Zeroizing::new(TOKEN.to_owned()),
            mount: "secret".to_owned(),
            prefix: "uhub".to_owned(),
        })
        .err();
        assert!(error.is_some(), "{address} refused");
    }
}
