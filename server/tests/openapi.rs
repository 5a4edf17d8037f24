//! The OpenAPI document: public, generated from the same route lists as the router, and true.
//! schemathesis (PyPI) fuzzes every operation against it, on PostgreSQL and on SQLite with an admin
//! token, and must find no 5xx and no answer that contradicts the schema. Its summary is printed.

use crate::common;

use std::net::SocketAddr;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::Value;
use services::testing::TestEngine;

#[tokio::test]
async fn the_document_is_public_and_describes_the_whole_api() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (status, document) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "public, no token");
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "uHub API");
    assert_eq!(document["security"][0]["bearer"], serde_json::json!([]));
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    for path in [
        "/api/v1/projects",
        "/api/v1/projects/{id}",
        "/api/v1/projects/{id}/jobs",
        "/api/v1/projects/{id}/environments",
        "/api/v1/projects/{id}/environments/{name}",
        "/api/v1/projects/{id}/backlog",
        "/api/v1/projects/{id}/links",
        "/api/v1/projects/{id}/context",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/runs",
        "/api/v1/runs/{id}",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/backlog/{id}",
        "/api/v1/links/{id}",
        "/api/v1/auth/token",
        "/api/v1/auth/me",
        "/api/v1/users",
        "/api/v1/audit",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    // Every operation says what it answers on success and on error, with the error schema.
    for (path, item) in &paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{method} {path} documents its success"
            );
            assert!(
                responses.contains_key("422"),
                "{method} {path} documents 422"
            );
        }
    }
    let patch_job = &document["components"]["schemas"]["UpdateJobRequest"];
    assert!(
        patch_job["required"]
            .as_array()
            .is_some_and(|r| r.contains(&Value::from("version"))),
        "updates must carry their version: {patch_job}"
    );
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
}

/// Runs schemathesis against a live uHub on `engine`; a missing schemathesis is a failure.
async fn schemathesis(engine: TestEngine) {
    let schemathesis = std::env::var("UHUB_TEST_SCHEMATHESIS").unwrap_or_else(|_| "st".to_owned());
    let app = TestApp::with_demo(engine).await;
    let token = app.token("demo-admin").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });

    let seed = std::env::var("UHUB_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261121".to_owned());
    let report_dir = tempfile::tempdir().expect("report dir");
    let status = tokio::process::Command::new(&schemathesis)
        .args([
            "run",
            &format!("http://{address}/api/v1/openapi.json"),
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            "30",
            "--seed",
            &seed,
            // One worker: hypothesis parses lambda sources with `ast`, which CPython 3.11 does
            // not do safely from several threads ("AST constructor recursion depth mismatch").
            "--workers",
            "1",
            "--report-dir",
            &report_dir.path().to_string_lossy(),
            // These change or end the admin's own session mid-run, after which every request
            // would be refused and nothing else tested. Their tests are in auth.rs and rbac.rs.
            "--exclude-path",
            "/api/v1/auth/password",
            "--exclude-path",
            "/api/v1/auth/logout",
            "--exclude-path",
            "/api/v1/users/{id}/password",
            "--output-sanitize",
            "true",
        ])
        // schemathesis keeps a cache in its working directory: not in the source tree.
        .current_dir(report_dir.path())
        // Its report goes straight to the test's output: the summary is always shown.
        .status()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "cannot run schemathesis `{schemathesis}` ({error}); scripts/test.sh installs it \
                 and sets UHUB_TEST_SCHEMATHESIS"
            )
        });
    assert!(
        status.success(),
        "schemathesis found server errors or answers that contradict the OpenAPI document on {engine:?} (exit {status}); see its report above"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation_on_postgres() {
    schemathesis(TestEngine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation_on_sqlite() {
    schemathesis(TestEngine::Sqlite).await;
}
