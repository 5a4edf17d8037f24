//! `POST /api/v1/ansible/inventories/analyze` (issue 24): who may call it, what it answers for
//! INI and YAML (the reading itself is compared with the real `ansible-inventory` in
//! `services/tests/ansible_inventory.rs`), malformed inventories as 422 with their line, and the
//! 8 MiB bound of this route alone.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use services::testing::TestEngine;

use crate::common::TestApp;

async fn analyze(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    content_type: &str,
    text: String,
) -> (StatusCode, Value) {
    let mut request = Request::post(format!("/api/v1/ansible/inventories/analyze{query}"))
        .header(header::CONTENT_TYPE, content_type);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, _, body) = app
        .send(request.body(Body::from(text)).expect("request"))
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

const INI: &str = "\
# web and database hosts
[web]
web[01:03].example.com http_port=8080

[db]
db1 ansible_host=10.0.0.5
db2:2222 ansible_host=10.0.0.5

[prod:children]
web
db

[dev]
web01.example.com

[prod:vars]
ntp='ntp.prod'
";

#[tokio::test]
async fn inventories_are_analysed_for_every_role_and_refused_with_their_line() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (status, _) = analyze(&app, None, "", "text/plain", INI.into()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed-in users only");

    for user in ["demo-admin", "demo-projets", "demo-dev", "demo-ops"] {
        let token = app.token(user).await;
        let (status, answer) = analyze(
            &app,
            Some(&token),
            "",
            "text/plain; charset=utf-8",
            INI.into(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{user}: {answer}");
        assert_eq!(answer["format"], "ini");
        assert_eq!(
            answer["summary"],
            json!({"hosts": 5, "groups": 4}),
            "{answer}"
        );
        let inventory = &answer["inventory"];
        assert_eq!(
            inventory["web"]["hosts"],
            json!([
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ])
        );
        assert_eq!(
            inventory["_meta"]["hostvars"]["db2"],
            json!({"ansible_host": "10.0.0.5", "ansible_port": 2222, "ntp": "ntp.prod"})
        );
        assert_eq!(
            inventory["_meta"]["hostvars"]["web02.example.com"]["http_port"],
            8080
        );
        let rules: Vec<&str> = answer["lint"]
            .as_array()
            .expect("lint")
            .iter()
            .filter_map(|f| f["rule"].as_str())
            .collect();
        assert!(
            rules.contains(&"production_and_non_production"),
            "{rules:?}"
        );
        assert!(rules.contains(&"one_address_two_names"), "{rules:?}");
    }
    let token = app.token("demo-dev").await;

    // YAML, detected or named.
    let yaml = "all:\n  children:\n    web:\n      hosts:\n        w1:\n          enabled: yes\n";
    for query in ["", "?format=yaml"] {
        let (status, answer) = analyze(&app, Some(&token), query, "text/plain", yaml.into()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["format"], "yaml");
        assert_eq!(
            answer["inventory"]["_meta"]["hostvars"]["w1"]["enabled"],
            true
        );
    }

    // Malformed: 422 with the line to blame and the reason, never a 500.
    for (text, line, reason) in [
        ("[web]\nh1 a=1\nh2 broken\n", 3, "Expected key=value"),
        ("[web]\nh[1:]\n", 2, "end value"),
        ("[web:children]\nnowhere\n", 2, "undefined group"),
        ("[web:weird]\n", 1, "unknown type"),
        ("[web]\nh1 a='open\n", 2, "No closing quotation"),
        ("[big]\nh[1:20000]\n", 2, "more than 10000 hosts"),
    ] {
        let (status, answer) =
            analyze(&app, Some(&token), "?format=ini", "text/plain", text.into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}: {answer}");
        assert_eq!(answer["line"], line, "{text}: {answer}");
        assert!(
            answer["fields"]["content"]
                .as_str()
                .is_some_and(|m| m.contains(reason)),
            "{text}: {answer}"
        );
    }
    let (status, answer) = analyze(
        &app,
        Some(&token),
        "?format=yaml",
        "text/plain",
        "all:\n  hosts: [a\n".into(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["line"].as_u64().is_some(),
        "a YAML syntax error names its line: {answer}"
    );

    // Attacks on the server's memory and time: ranges that multiply past every real fleet, and
    // a YAML document whose aliases repeat aliases ("billion laughs").
    let ranges = "[many]\n".to_owned() + &"h[1:9999]\n".repeat(60);
    let (status, answer) = analyze(&app, Some(&token), "", "text/plain", ranges).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 500000 hosts")),
        "{answer}"
    );
    let mut laughs = String::from("all:\n  vars:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let previous = format!("*l{}", level - 1);
        laughs.push_str(&format!(
            "    l{level}: &l{level} [{}]\n",
            vec![previous; 10].join(", ")
        ));
    }
    let (status, answer) = analyze(&app, Some(&token), "", "text/plain", laughs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("aliases")),
        "{answer}"
    );

    // Wrong requests.
    let (status, _) = analyze(&app, Some(&token), "", "application/json", "{}".into()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, answer) =
        analyze(&app, Some(&token), "?format=toml", "text/plain", INI.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, _) = analyze(&app, Some(&token), "?bogus=1", "text/plain", INI.into()).await;
    assert!(status.is_client_error(), "{status}");

    // Up to 8 MiB here (a fleet of ~90,000 hosts), while every other route keeps 1 MiB.
    let mut fleet = String::from("[fleet]\n");
    let mut n = 0;
    while fleet.len() < 7 * 1024 * 1024 {
        fleet.push_str(&format!(
            "host-{n:06}.example.com ansible_host=10.{}.{}.{} role=web\n",
            n / 65536 % 256,
            n / 256 % 256,
            n % 256
        ));
        n += 1;
    }
    let (status, answer) = analyze(&app, Some(&token), "", "text/plain", fleet.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["summary"]["hosts"], n);
    fleet.push_str(&"#".repeat(1024 * 1024 + 10));
    let (status, _) = analyze(&app, Some(&token), "", "text/plain", fleet).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let mut request = Request::post("/api/v1/projects")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    request = request.header(header::CONTENT_LENGTH, 2 * 1024 * 1024);
    let (status, _, _) = app
        .send(
            request
                .body(Body::from(vec![b' '; 2 * 1024 * 1024]))
                .expect("request"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "other routes keep 1 MiB"
    );
}
