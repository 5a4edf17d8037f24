//! Identity and access through the HTTP API: the password flow, tokens that must be refused,
//! throttling, the bootstrap admin's forced password change, demo data, users, teams, audit.

use crate::common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use common::{TestApp, SECRET};
use serde_json::{json, Value};
use services::testing::TestEngine;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_flow_gives_a_bearer_token_that_identifies_the_caller() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (status, _, body) = app.login("demo-ops", "demo-ops").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert!(body["expires_in"].as_u64().unwrap_or(0) > 0);
    let token = body["access_token"].as_str().unwrap_or_default();

    let (status, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for field in [
        "id",
        "username",
        "role",
        "display_name",
        "email",
        "theme",
        "locale",
    ] {
        assert!(me.get(field).is_some(), "/auth/me lacks {field}: {me}");
    }
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("demo-ops"), Some("ops"))
    );
    assert!(me.get("password_hash").is_none() && !me.to_string().contains("argon2"));

    let (status, body) = app.call(Method::GET, "/api/v1/auth/me", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );

    // Only the password grant exists.
    let request = Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=client_credentials&username=demo-ops&password=demo-ops",
        ))
        .expect("request");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        signature
    )
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_revoked_tokens_are_refused() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let token = app.token("demo-dev").await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: Value =
        serde_json::from_slice(&B64.decode(parts[1]).expect("b64")).expect("claims");
    let now = chrono::Utc::now().timestamp();

    let mut as_admin = claims.clone();
    as_admin["role"] = json!("admin");
    as_admin["sub"] = json!("1");
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let mut bad_signature = parts[2].to_owned();
    bad_signature.replace_range(
        0..4,
        if bad_signature.starts_with("AAAA") {
            "BBBB"
        } else {
            "AAAA"
        },
    );

    let cases = [
        (
            "tampered claims",
            format!(
                "{}.{}.{}",
                parts[0],
                B64.encode(as_admin.to_string()),
                parts[2]
            ),
        ),
        (
            "alg none",
            forge(&json!({"alg": "none", "typ": "JWT"}), &as_admin, ""),
        ),
        (
            "alg HS512",
            forge(&json!({"alg": "HS512", "typ": "JWT"}), &claims, parts[2]),
        ),
        (
            "broken signature",
            format!("{}.{}.{}", parts[0], parts[1], bad_signature),
        ),
        ("expired", sign(&expired, SECRET)),
        (
            "another secret",
            sign(&claims, "some-other-secret-of-sufficient-length"),
        ),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (name, forged) in &cases {
        let (status, body) = app
            .call(Method::GET, "/api/v1/auth/me", Some(forged), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        let (status, _) = app
            .call(Method::GET, "/api/v1/projects", Some(forged), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the genuine token still works");

    // Deactivated: the same token stops working at once.
    let admin = app.token("demo-admin").await;
    let dev_id = claims["sub"].as_str().unwrap_or_default().to_owned();
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{dev_id}"),
            Some(&admin),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deactivated user's token"
    );
    let (status, _, _) = app.login("demo-dev", "demo-dev").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deactivated user cannot log in"
    );

    // A password change ends every earlier session.
    let ops = app.token("demo-ops").await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&ops),
            Some(
                json!({"current_password": "demo-ops", "new_password": "a much longer passphrase"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fresh = body["access_token"].as_str().unwrap_or_default().to_owned();
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&ops), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the token from before the change"
    );
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the token given with the change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_read_the_same_and_repeated_ones_are_throttled() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (status, _, wrong_password) = app.login("demo-ops", "nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, unknown_user) = app.login("nobody-here", "nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_password, unknown_user,
        "no user enumeration through messages"
    );

    // Five failures in all lock the pair; the sixth attempt waits.
    for _ in 0..4 {
        app.login("demo-ops", "nope").await;
    }
    let (status, headers, body) = app.login("demo-ops", "nope").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert!(retry > 0, "Retry-After says when to come back");
    let (status, _, _) = app.login("demo-ops", "demo-ops").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let (status, _, _) = app.login("demo-dev", "demo-dev").await;
    assert_eq!(status, StatusCode::OK, "other usernames are not locked");

    // Unknown usernames are throttled the same way.
    for _ in 0..5 {
        app.login("ghost", "nope").await;
    }
    let (status, _, _) = app.login("ghost", "nope").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    let admin = app.token("demo-admin").await;
    let (status, audit) = app
        .call(
            Method::GET,
            "/api/v1/audit?action=auth.login&limit=500",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let outcomes: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["outcome"].as_str())
        .collect();
    for outcome in ["success", "failure", "denied"] {
        assert!(
            outcomes.contains(&outcome),
            "logins are audited with {outcome}: {outcomes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_admin_must_change_its_password_before_anything_else() {
    let app = TestApp::empty(TestEngine::Sqlite).await;
    let (status, body) = app
        .call(Method::POST, "/api/v1/bootstrap/admin", None, None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["username"].as_str(), body["role"].as_str()),
        (Some("uHub"), Some("admin"))
    );
    let (status, body) = app
        .call(Method::POST, "/api/v1/bootstrap/admin", None, None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, _, body) = app.login("uHub", "uHub-ADMIN").await;
    assert_eq!(status, StatusCode::OK);
    let initial = body["access_token"].as_str().unwrap_or_default().to_owned();
    let (status, body) = app
        .call(Method::GET, "/api/v1/projects", Some(&initial), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("password_change_required"))
    );
    let (status, body) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&initial), None)
        .await;
    assert_eq!(
        (status, body["must_change_password"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (status, _, _) = app.send(TestApp::page("/projects", &initial)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "pages send it to the password page"
    );

    let change = |new: &str| json!({"current_password": "uHub-ADMIN", "new_password": new});
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&initial),
            Some(change("short")),
        )
        .await;
    assert_eq!(
        (status, body["fields"].get("new_password").is_some()),
        (StatusCode::UNPROCESSABLE_ENTITY, true),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&initial),
            Some(change("uHub-ADMIN")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&initial),
            Some(change("correct horse battery staple")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin = body["access_token"].as_str().unwrap_or_default().to_owned();
    let (status, _) = app
        .call(Method::GET, "/api/v1/projects", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Demo data through the API, twice: still 4 demo users, 4 projects, 16 jobs.
    let dev_token = {
        let (status, first) = app
            .call(Method::POST, "/api/v1/admin/seeds/demo", Some(&admin), None)
            .await;
        assert_eq!(
            (
                status,
                first["users_created"].as_u64(),
                first["jobs_created"].as_u64()
            ),
            (StatusCode::OK, Some(4), Some(16)),
            "{first}"
        );
        let (status, again) = app
            .call(Method::POST, "/api/v1/admin/seeds/demo", Some(&admin), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            again,
            json!({"users_created": 0, "projects_created": 0, "jobs_created": 0})
        );
        // Their passwords are published: outside a demonstration instance (UHUB_SEED_DEMO)
        // they sign in once, to choose another.
        let (status, _, login) = app.login("demo-dev", "demo-dev").await;
        assert_eq!(status, StatusCode::OK, "{login}");
        let pending = login["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (_, me) = app
            .call(Method::GET, "/api/v1/auth/me", Some(&pending), None)
            .await;
        assert_eq!(me["must_change_password"], true, "{me}");
        let (status, body) = app
            .call(Method::GET, "/api/v1/projects", Some(&pending), None)
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("password_change_required"))
        );
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/auth/password",
                Some(&pending),
                Some(json!({"current_password": "demo-dev", "new_password": "a dev's own passphrase"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap_or_default().to_owned()
    };
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/admin/seeds/demo",
            Some(&dev_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admin_only"))
    );
    let (_, users) = app
        .call(Method::GET, "/api/v1/users", Some(&admin), None)
        .await;
    let demo_users = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["username"].as_str().unwrap_or("").starts_with("demo-"))
        .count();
    assert_eq!(demo_users, 4);
    let (_, projects) = app
        .call(Method::GET, "/api/v1/projects", Some(&admin), None)
        .await;
    let projects = projects["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(projects.len(), 4);
    let jobs: i64 = projects
        .iter()
        .filter_map(|p| p["job_count"].as_i64())
        .sum();
    assert_eq!(jobs, 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_and_teams_and_read_the_audit_log() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let admin = app.token("demo-admin").await;
    let new_user = json!({"username": "erin", "display_name": "Erin Ops", "role": "ops", "password": "temporary-pass-1"});
    let (status, erin) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(new_user.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{erin}");
    assert_eq!(erin["must_change_password"], true);
    let (status, body) = app
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(new_user))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (status, body) = app
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"username": "x y", "display_name": "X", "role": "ops", "password": "temporary-pass-1"})))
        .await;
    assert_eq!(
        (status, body["fields"].get("username").is_some()),
        (StatusCode::UNPROCESSABLE_ENTITY, true),
        "{body}"
    );
    let (status, body) = app
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"username": "zed", "display_name": "Z", "role": "root", "password": "temporary-pass-1"})))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown role: {body}"
    );

    let erin_id = erin["id"].as_i64().unwrap_or_default();
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/users/{erin_id}/password"),
            Some(&admin),
            Some(json!({"password": "another-temp-2"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = app.login("erin", "temporary-pass-1").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the reset replaced the password"
    );
    let (status, _, _) = app.login("erin", "another-temp-2").await;
    assert_eq!(status, StatusCode::OK);

    // The last active admin can be neither demoted nor deactivated.
    let (_, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&admin), None)
        .await;
    let admin_id = me["id"].as_i64().unwrap_or_default();
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Some(&admin),
            Some(json!({"role": "ops"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, team) = app
        .call(
            Method::POST,
            "/api/v1/teams",
            Some(&admin),
            Some(json!({"name": "Platform"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_i64().unwrap_or_default();
    let (status, team) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{team_id}/members/{erin_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, team["members"][0]["username"].as_str()),
        (StatusCode::OK, Some("erin")),
        "{team}"
    );
    let (status, team) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/teams/{team_id}"),
            Some(&admin),
            Some(json!({"name": "Platform team"})),
        )
        .await;
    assert_eq!(
        (status, team["name"].as_str()),
        (StatusCode::OK, Some("Platform team"))
    );
    let ops = app.token("demo-ops").await;
    let (status, _) = app
        .call(Method::GET, "/api/v1/teams", Some(&ops), None)
        .await;
    assert_eq!(status, StatusCode::OK, "everyone sees the teams");
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/teams/{team_id}"),
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admin_only"))
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/teams/{team_id}/members/{erin_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/teams/{team_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/teams/{team_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The audit log: filters and cursor pagination, newest first.
    let (status, page) = app
        .call(
            Method::GET,
            "/api/v1/audit?action=team.&limit=2",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let actions: Vec<&str> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["action"].as_str())
        .collect();
    assert_eq!(actions, ["team.delete", "team.member_remove"]);
    let cursor = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    let (_, next) = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?action=team.&limit=2&cursor={cursor}"),
            Some(&admin),
            None,
        )
        .await;
    let actions: Vec<&str> = next["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["action"].as_str())
        .collect();
    assert_eq!(actions, ["team.update", "team.member_add"]);
    let (_, by_actor) = app
        .call(
            Method::GET,
            "/api/v1/audit?actor=demo-admin&action=user.create",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        by_actor["items"][0]["target_id"].as_str(),
        Some(erin_id.to_string().as_str())
    );
    let since = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, future) = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?since={}", common::encode(&since)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(future["items"].as_array().map(Vec::len), Some(0));
    let (status, body) = app
        .call(Method::GET, "/api/v1/audit", Some(&ops), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admin_only"))
    );
    let (status, _) = app
        .call(Method::GET, "/api/v1/audit?limit=0", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_form_sets_an_http_only_cookie_and_redirects_where_the_user_was_going() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let post = |form: String| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .expect("request")
    };
    let (status, headers, _) = app
        .send(post(
            "username=demo-ops&password=demo-ops&next=%2Fprojects".to_owned(),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/projects");
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    for attribute in ["uhub_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP cannot keep a Secure cookie"
    );

    // Behind an HTTPS proxy the cookie is Secure; a foreign `next` is never followed.
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(Body::from(
            "username=demo-ops&password=demo-ops&next=%2F%2Fevil.example",
        ))
        .expect("request");
    let (_, headers, _) = app.send(request).await;
    assert_eq!(headers[header::LOCATION], "/");
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .contains("Secure"));

    let (status, headers, _) = app
        .send(post(
            "username=demo-ops&password=wrong&next=%2Fprojects".to_owned(),
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?error=invalid_credentials&next=/projects"
    );
    assert!(headers.get(header::SET_COOKIE).is_none());

    let request = Request::post("/logout")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = app.send(request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .contains("Max-Age=0"));
}

/// A logout ends that session for good: its token, copied before (a stolen cookie, a token in a
/// script's history), opens nothing again although it has not expired, on both engines; the
/// account's other sessions go on. (Before, a logout only cleared the cookie and a copied token
/// worked for the rest of its 8 hours.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_ends_the_session_for_every_copy_of_its_token() {
    for engine in [TestEngine::Sqlite, TestEngine::Postgres] {
        logout_story(TestApp::with_demo(engine).await).await;
    }
}

async fn logout_story(app: TestApp) {
    let me = |token: String| {
        let app = &app;
        async move {
            app.call(Method::GET, "/api/v1/auth/me", Some(&token), None)
                .await
                .0
        }
    };
    // Two sessions of one account opened in the same second are two tokens.
    let (laptop, script) = (app.token("demo-ops").await, app.token("demo-ops").await);
    assert_ne!(laptop, script, "each session has a token of its own");

    let logout = Request::post("/api/v1/auth/logout")
        .header(header::AUTHORIZATION, format!("Bearer {laptop}"))
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = app.send(logout).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .contains("Max-Age=0"));
    assert_eq!(
        me(laptop.clone()).await,
        StatusCode::UNAUTHORIZED,
        "as a bearer token"
    );
    let (status, _, _) = app.send(TestApp::page("/projects", &laptop)).await;
    assert_ne!(status, StatusCode::OK, "as the session cookie, a page");
    let (status, answer) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&laptop), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(
        me(script.clone()).await,
        StatusCode::OK,
        "the other session goes on"
    );

    // The form's logout (the browser's) ends the cookie's session the same way.
    let login = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=demo-dev&password=demo-dev"))
        .expect("request");
    let (_, headers, _) = app.send(login).await;
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let token = cookie.trim_start_matches("uhub_session=").to_owned();
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    let logout = Request::post("/logout")
        .header(header::COOKIE, &cookie)
        // As uHub's page sends it (cookie-authenticated changes must say where they come from).
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .body(Body::empty())
        .expect("request");
    let (status, _, _) = app.send(logout).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        me(token).await,
        StatusCode::UNAUTHORIZED,
        "the form's logout"
    );

    let admin = app.token("demo-admin").await;
    let (_, audit) = app
        .call(
            Method::GET,
            "/api/v1/audit?action=auth.logout&limit=50",
            Some(&admin),
            None,
        )
        .await;
    let logouts = audit["items"].as_array().map_or(0, Vec::len);
    assert_eq!(logouts, 2, "each logout audited once: {audit}");
}
