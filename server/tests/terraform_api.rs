//! `POST /api/v1/terraform/plans/analyze` (issue 25): who may call it, a real plan read, the
//! invalid one refused with why, sensitive values absent from the answer, the 32 MiB bound of
//! this route alone.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use services::testing::TestEngine;

use crate::common::TestApp;

async fn analyze(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request =
        Request::post("/api/v1/terraform/plans/analyze").header(header::CONTENT_TYPE, content_type);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, _, body) = app
        .send(request.body(Body::from(body)).expect("request"))
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terraform")
        .join(name);
    std::fs::read(path).expect("fixture")
}

#[tokio::test]
async fn plans_are_analysed_for_every_role_redacted_and_refused_with_why() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let basic = fixture("120_basic.plan.json");
    let (status, _) = analyze(&app, None, "application/json", basic.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for user in ["demo-admin", "demo-projets", "demo-dev", "demo-ops"] {
        let token = app.token(user).await;
        let (status, answer) = analyze(&app, Some(&token), "application/json", basic.clone()).await;
        assert_eq!(status, StatusCode::OK, "{user}: {answer}");
        assert_eq!(answer["format_version"], "1.1");
        assert_eq!(answer["plan_sha256"].as_str().map(str::len), Some(64));
    }
    let token = app.token("demo-dev").await;
    let (status, answer) = analyze(&app, Some(&token), "text/plain", basic.clone()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    let (status, answer) = analyze(
        &app,
        Some(&token),
        "application/json",
        fixture("invalid.plan.json"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("line"),
        "{answer}"
    );
    let (status, answer) = analyze(
        &app,
        Some(&token),
        "application/json",
        br#"{"format_version": "1.0", "values": {}}"#.to_vec(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a state is no plan: {answer}"
    );

    // Sensitive values, with the values themselves: never in the answer.
    let secret_plan = json!({
        "format_version": "1.2", "terraform_version": "1.9.0",
        "variables": {"db_password": {"value": "variable-canary"}},
        "planned_values": {"root_module": {}},
        "resource_changes": [{"address": "aws_db_instance.main", "type": "aws_db_instance", "name": "main",
            "change": {"actions": ["update"], "before": {"password": "before-canary", "size": 10},
                "after": {"password": "after-canary", "size": 20}, "after_unknown": {},
                "before_sensitive": {"password": true}, "after_sensitive": {"password": true}}}],
        "output_changes": {"password": {"actions": ["update"], "before": "before-canary", "after": "output-canary",
            "after_unknown": false, "before_sensitive": true, "after_sensitive": true}},
        "prior_state": {"values": {"root_module": {"resources": [{"values": {"password": "state-canary"}}]}}},
    });
    let (status, answer) = analyze(
        &app,
        Some(&token),
        "application/json",
        secret_plan.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let text = answer.to_string();
    for canary in [
        "variable-canary",
        "before-canary",
        "after-canary",
        "output-canary",
        "state-canary",
    ] {
        assert!(!text.contains(canary), "{canary} in {text}");
    }
    let change = &answer["resources"][0]["changes"];
    assert!(
        change.to_string().contains("(sensitive)"),
        "the change of a sensitive value is still shown: {change}"
    );

    // Above the general 1 MiB, up to 32 MiB: a 2 MB plan is read; a declared 33 MiB is refused.
    let many: Vec<Value> = (0..6000)
        .map(|i| json!({"address": format!("null_resource.n[{i}]"), "type": "null_resource", "name": "n",
            "change": {"actions": ["create"], "before": null, "after": {"triggers": {"v": format!("{i:0>200}")}}, "after_unknown": {"id": true}}}))
        .collect();
    let big = json!({"format_version": "1.2", "planned_values": {}, "resource_changes": many})
        .to_string();
    assert!(big.len() > 1024 * 1024);
    let (status, answer) = analyze(&app, Some(&token), "application/json", big.into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["summary"]["create"], 6000);
    let request = Request::post("/api/v1/terraform/plans/analyze")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, (33 * 1024 * 1024).to_string())
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from("{}"))
        .expect("request");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
