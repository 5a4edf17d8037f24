//! Nothing secret reaches the logs: every log line of logins (good and bad), a password change
//! and token use is captured at TRACE level and searched for the passwords, hashes and tokens.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;
use services::testing::TestEngine;

use crate::common::{self, logs, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_password_changes_never_log_a_secret() {
    let captured = logs::capture();

    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let (status, _, wrong) = app.login("demo-ops", "Wrong-Password-42").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}");
    let token = app.token("demo-ops").await;
    let (status, _) = app
        .call(Method::GET, "/api/v1/projects", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_password = "Brand-New-Passphrase-77";
    let (status, changed) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&token),
            Some(json!({"current_password": "demo-ops", "new_password": new_password})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let fresh = changed["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let form = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "username=demo-ops&password={new_password}&next=%2F"
        )))
        .expect("request");
    let (status, headers, _) = app.send(form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie_token = headers[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .trim_start_matches("uhub_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let (status, _, _) = app.send(TestApp::page("/projects", &cookie_token)).await;
    assert_eq!(status, StatusCode::OK);
    // A refusal, and a feed's secret URL read by a calendar application.
    let (status, _) = app
        .call(Method::GET, "/api/v1/jobs/987654", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, feed) = app
        .call(
            Method::POST,
            "/api/v1/calendar/feeds",
            Some(&fresh),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    let feed_token = feed["token"].as_str().unwrap_or_default().to_owned();
    let (status, _, _) = app
        .send(
            Request::get(format!("/api/v1/calendar/ical/{feed_token}.ics"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let hash = app
        .storage
        .storage
        .user_by_username("demo-ops")
        .await
        .expect("user")
        .map(|u| u.password_hash)
        .unwrap_or_default();
    let logs = captured.text();
    assert!(
        logs.contains("/api/v1/auth/token"),
        "the requests were logged at all:\n{logs}"
    );
    // One line per request, failures included, with the method, the route template, the
    // status and the request's id.
    let refused = logs
        .lines()
        // The route and method exactly (`GET …/jobs/{id} `, not `/jobs/{id}/runs`): the capture
        // also holds the lines of tests running beside this one (one deleting a job that is
        // gone answers `DELETE /api/v1/jobs/{id}` 404 too).
        .find(|line| {
            line.contains("method=GET")
                && line.contains("route=/api/v1/jobs/{id} ")
                && line.contains("status=404")
        })
        .unwrap_or_else(|| panic!("the refused request's line:\n{logs}"));
    assert!(refused.contains("request.id="), "{refused}");
    assert!(
        logs.contains("route=/api/v1/calendar/ical/{file}"),
        "the feed's line names its route, not its path:\n{logs}"
    );
    for (what, secret) in [
        ("the wrong password", "Wrong-Password-42"),
        ("the demo password in a form body", "password=demo-ops"),
        ("the new password", new_password),
        ("the password hash", hash.as_str()),
        (
            "the hash's salt part",
            hash.rsplit('$').nth(1).unwrap_or("no salt"),
        ),
        ("the bearer token", token.as_str()),
        ("the changed token", fresh.as_str()),
        ("the cookie token", cookie_token.as_str()),
        ("the token signing secret", common::SECRET),
        ("the feed token", feed_token.as_str()),
    ] {
        assert!(!secret.is_empty(), "{what} is known");
        assert!(!logs.contains(secret), "{what} appears in the logs");
    }
}
