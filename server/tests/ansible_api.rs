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

    // Small bodies built to crash or freeze the server (a stack overflow on the analysis thread
    // would end the whole process): each is answered, refused or read, never fatal.
    let deep_list = format!("[g]\nh\n[g:vars]\nx={}\n", "[".repeat(100_000));
    let block_nesting = format!(
        "all:\n  vars:\n    x:\n{}",
        "      - ".to_owned() + &"- ".repeat(200_000)
    );
    let huge_range = "[g]\nh[9223372036854775807:9223372036854775807]\n".to_owned();
    let backwards_step = "[g]\nh[1:2:18446744073709551615]\n".to_owned();
    let whole_range = "[g]\nh[-9223372036854775808:9223372036854775807]\n".to_owned();
    let many_ranges = format!("[g]\nh{}\n", "[0:0]".repeat(100_000));
    let mut chain = String::new();
    for g in 0..30_000 {
        chain.push_str(&format!("[g{g}:children]\ng{}\n", g + 1));
    }
    chain.push_str("[g30000]\nh\n");
    let mut bottom_up = String::from("[g30000]\nh\n");
    for g in (0..30_000).rev() {
        bottom_up.push_str(&format!("[g{g}:children]\ng{}\n", g + 1));
    }
    let wide = (0..300_000)
        .map(|g| format!("[g{g}]\n"))
        .collect::<String>();
    let fat_vars = format!(
        "[all:vars]\nx='{}'\n[g]\n{}",
        "v".repeat(3_000_000),
        "h[1:9999]\n".repeat(20)
    );
    let big_set = format!(
        "[g]\nh\n[g:vars]\nx={{{}}}\n",
        (0..300_000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let exponents = format!("[g]\nh\n[g:vars]\nx=1{}\n", "e+".repeat(300_000));
    for (what, text) in [
        ("brackets nested 100,000 deep", deep_list),
        ("YAML blocks nested 200,000 deep", block_nesting),
        ("a range at the end of i64", huge_range),
        ("a step that wraps around", backwards_step),
        ("a range over every i64", whole_range),
        ("100,000 ranges in one name", many_ranges),
        ("a chain of 30,000 groups, top down", chain),
        ("a chain of 30,000 groups, bottom up", bottom_up),
        ("300,000 empty groups", wide),
        ("a 3 MB variable on 200,000 hosts", fat_vars),
        ("a set of 300,000 numbers", big_set),
        ("300,000 exponent signs", exponents),
    ] {
        let (status, answer) = analyze(&app, Some(&token), "", "text/plain", text).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {status} {answer}"
        );
    }
    let (status, _) = analyze(&app, Some(&token), "", "text/plain", INI.into()).await;
    assert_eq!(status, StatusCode::OK, "the server still answers");

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
    // The same in YAML (the limits against aliases and nesting must not refuse a real fleet).
    let mut yaml_fleet = String::from("all:\n  children:\n");
    let mut hosts = 0;
    for site in 0.. {
        if yaml_fleet.len() > 6 * 1024 * 1024 {
            break;
        }
        yaml_fleet.push_str(&format!(
            "    site{site}:\n      vars:\n        ntp: ntp{site}\n      hosts:\n"
        ));
        for host in 0..50 {
            yaml_fleet.push_str(&format!(
                "        web-{site}-{host}.example.com:\n          ansible_host: 10.{}.{}.{host}\n",
                site / 250,
                site % 250
            ));
            hosts += 1;
        }
    }
    let (status, answer) = analyze(&app, Some(&token), "", "text/plain", yaml_fleet).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["summary"]["hosts"], hosts);
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
