//! Repositories read through their provider's API (issue 23).
//!
//! - `octocrab` against recorded real GitHub exchanges (npm `@octokit/fixtures-server`, started
//!   once by the test command): commit statuses posted and read back, the combined status, an
//!   error answer — for the endpoints the recordings cover.
//! - The endpoints they do not cover (branches, commits, pull requests), and GitLab's REST v4
//!   (no server, no recordings exist), against a local receiver written in this test: its
//!   answers are GitHub's and GitLab's documentation examples (trimmed to the fields uHub
//!   reads). It checks the token each request carries, counts requests, and can answer as a
//!   rate-limited API. A run of a repository's script reports its state as commit statuses.
//! - The token (a canary value) never appears in an answer, the audit log or a run's log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use services::forge::{Forges, Method as ApiMethod};
use services::forge_api::CommitStatus;
use zeroize::Zeroizing;

use crate::common::git::{git, served_repository};
use crate::common::{expect, id, launch, log_text, on_both_engines, settled, TestApp};

const CANARY_TOKEN: &str = "canary-token-ghp_5b1f0c9e2d";

fn fixtures_server() -> String {
    std::env::var("UHUB_TEST_GITHUB_FIXTURES_URL").unwrap_or_else(|_| {
        panic!("UHUB_TEST_GITHUB_FIXTURES_URL is not set: scripts/test.sh starts @octokit/fixtures-server")
    })
}

/// Loads a recorded scenario; the base URL that replays it, as GitHub's API.
async fn scenario(name: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/fixtures", fixtures_server()))
        .json(&json!({ "scenario": name }))
        .send()
        .await
        .expect("the fixtures server answers")
        .json()
        .await
        .expect("a fixture");
    answer["url"]
        .as_str()
        .expect("the fixture's url")
        .to_owned()
}

fn github_link(location: &str) -> domain::ProjectLink {
    domain::ProjectLink {
        id: 1,
        project_id: 1,
        kind: domain::LinkKind::GitRepo,
        name: "recorded".into(),
        environment: None,
        location: location.into(),
        provider: Some(domain::GitProvider::Github),
        default_branch: None,
        namespace: None,
        webhook_secret_name: None,
        token_secret: None,
        report_status: false,
        version: 1,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn octocrab_replays_recorded_github_exchanges() {
    let token = Zeroizing::new("0000000000000000000000000000000000000001".to_owned());
    let sha = "0000000000000000000000000000000000000001";

    // Two statuses posted, then read back one by one and combined.
    let forges = Forges::new(Some(scenario("create-status").await));
    let link = github_link("https://github.com/octokit-fixture-org/create-status");
    let api = forges.api_of(&link).expect("api").expect("a GitHub API");
    for (state, description, context) in [
        ("failure", "create-status failure test", "example/1"),
        ("success", "create-status success test", "example/2"),
    ] {
        let status = CommitStatus {
            github_state: state,
            gitlab_state: state,
            target_url: "https://example.com",
            description,
            context,
        };
        forges
            .post_status(link.id, &api, Some(&token), sha, &status)
            .await
            .unwrap_or_else(|e| panic!("status {state} posted: {e}"));
    }
    let path = format!("/repos/octokit-fixture-org/create-status/commits/{sha}/statuses");
    let statuses = forges
        .call(link.id, &api, Some(&token), ApiMethod::Get, &path, None)
        .await
        .expect("the statuses");
    assert_eq!(statuses.as_array().map(Vec::len), Some(2), "{statuses}");
    assert_eq!(
        forges
            .ci_status(link.id, &api, Some(&token), sha)
            .await
            .expect("the combined status")
            .as_deref(),
        Some("failure"),
        "one of the two failed"
    );

    // GitHub's validation error: its status, never its body.
    let forges = Forges::new(Some(scenario("errors").await));
    let link = github_link("https://github.com/octokit-fixture-org/errors");
    let api = forges.api_of(&link).expect("api").expect("a GitHub API");
    let refused = forges
        .call(
            link.id,
            &api,
            Some(&token),
            ApiMethod::Post,
            "/repos/octokit-fixture-org/errors/labels",
            Some(&json!({ "name": "foo", "color": "invalid" })),
        )
        .await;
    match refused {
        Err(error @ services::ServiceError::RemoteRefused { status: 422, .. }) => {
            assert_eq!(error.code(), "remote_refused");
            assert_eq!(error.http_status(), 502);
            assert!(!error.to_string().contains("Validation Failed"), "{error}");
        }
        other => panic!("not the recorded 422: {other:?}"),
    }
}

/// What the local receiver saw and how it answers.
#[derive(Default)]
struct Receiver {
    /// `METHOD path?query` of every request, with the body of POSTs.
    seen: Mutex<Vec<(String, Value)>>,
    /// Answers every read as a rate-limited API.
    limited: AtomicBool,
    /// The job the documentation examples name (`UHUB-<id>`).
    job: Mutex<i64>,
}

type Shared = Arc<Receiver>;

fn refused_without(headers: &HeaderMap, name: &str, expected: &str) -> Option<Response> {
    let sent = headers.get(name).and_then(|v| v.to_str().ok());
    (sent != Some(expected)).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        )
            .into_response()
    })
}

fn limited(receiver: &Receiver) -> Option<Response> {
    receiver.limited.load(Ordering::SeqCst).then(|| {
        let reset = (chrono::Utc::now().timestamp() + 90).to_string();
        (
            StatusCode::FORBIDDEN,
            [
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", reset),
            ],
            Json(json!({"message": "API rate limit exceeded"})),
        )
            .into_response()
    })
}

async fn github(
    State(receiver): State<Shared>,
    Path(rest): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let line = format!("{method} /gh/{rest}");
    receiver
        .seen
        .lock()
        .expect("seen")
        .push((line, body.map(|b| b.0).unwrap_or(Value::Null)));
    if let Some(refused) =
        refused_without(&headers, "authorization", &format!("token {CANARY_TOKEN}"))
    {
        return refused;
    }
    if let Some(refused) = limited(&receiver) {
        return refused;
    }
    let job = *receiver.job.lock().expect("job");
    let main = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
    let topic = "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc";
    let answer = match (method.as_str(), rest.as_str()) {
        // https://docs.github.com/en/rest/users/users#get-the-authenticated-user
        ("GET", "user") => json!({"login": "octocat", "id": 1, "type": "User"}),
        // https://docs.github.com/en/rest/branches/branches#list-branches
        ("GET", "repos/acme/app/branches") => json!([
            {"name": "main", "commit": {"sha": main, "url": "https://api.github.com/repos/acme/app/commits/6dcb09b"}, "protected": true},
            {"name": "new-topic", "commit": {"sha": topic}, "protected": false},
        ]),
        // https://docs.github.com/en/rest/commits/commits#list-commits
        ("GET", "repos/acme/app/commits") => json!([{
            "sha": main,
            "html_url": format!("https://github.com/acme/app/commit/{main}"),
            "commit": {"author": {"name": "Monalisa Octocat", "email": "support@github.com", "date": "2011-04-14T16:00:49Z"},
                       "message": format!("Fix all the bugs (UHUB-{job})")},
        }]),
        // https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
        ("GET", "repos/acme/app/pulls") => {
            let open = json!({"number": 1347, "state": "open", "title": "Amazing new feature", "body": format!("Please pull these awesome changes in! UHUB-{job}"),
                "user": {"login": "octocat"}, "head": {"ref": "new-topic", "sha": topic}, "base": {"ref": "main", "sha": main},
                "html_url": "https://github.com/acme/app/pull/1347", "merged_at": null});
            let merged = json!({"number": 1346, "state": "closed", "title": "Older feature", "body": null,
                "user": {"login": "hubot"}, "head": {"ref": "older", "sha": main}, "base": {"ref": "main"},
                "html_url": "https://github.com/acme/app/pull/1346", "merged_at": "2011-01-26T19:01:12Z"});
            match query.get("state").map(String::as_str) {
                Some("open") => json!([open]),
                Some("closed") => json!([merged]),
                _ => json!([open, merged]),
            }
        }
        // https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference
        ("GET", path)
            if path.starts_with("repos/acme/app/commits/") && path.ends_with("/status") =>
        {
            json!({"state": "success", "total_count": 1, "statuses": [{"state": "success", "context": "continuous-integration/jenkins"}]})
        }
        // https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
        ("POST", path) if path.starts_with("repos/acme/app/statuses/") => {
            return (
                StatusCode::CREATED,
                Json(json!({"id": 1, "state": "pending"})),
            )
                .into_response();
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"message": "Not Found BODY-MARKER"})),
            )
                .into_response();
        }
    };
    Json(answer).into_response()
}

async fn gitlab(
    State(receiver): State<Shared>,
    Path(rest): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    receiver.seen.lock().expect("seen").push((
        format!("{method} /api/v4/{rest}"),
        body.map(|b| b.0).unwrap_or(Value::Null),
    ));
    if let Some(refused) = refused_without(&headers, "private-token", CANARY_TOKEN) {
        return refused;
    }
    let job = *receiver.job.lock().expect("job");
    if rest == "user" {
        // https://docs.gitlab.com/api/users/#get-the-current-user
        return Json(json!({"id": 1, "username": "admin", "name": "Administrator"}))
            .into_response();
    }
    let project = "projects/ops%2Finfra";
    let Some(path) = rest
        .strip_prefix(project)
        .or_else(|| rest.strip_prefix("projects/ops/infra"))
    else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "404 Project Not Found"})),
        )
            .into_response();
    };
    let answer = match (method.as_str(), path) {
        // https://docs.gitlab.com/api/branches/#list-repository-branches
        ("GET", "/repository/branches") => json!([
            {"name": "main", "merged": false, "protected": true, "default": true,
             "commit": {"id": "7b5c3cc8be40ee161ae89a06bba6229da1032a0c", "short_id": "7b5c3cc", "title": "add projects API"}},
        ]),
        // https://docs.gitlab.com/api/commits/#list-repository-commits
        ("GET", "/repository/commits") => json!([{
            "id": "ed899a2f4b50b4370feeea94676502b42383c746", "short_id": "ed899a2f4b5",
            "title": "Replace sanitize with escape once", "author_name": "Example User",
            "authored_date": "2021-09-20T11:50:22.001+03:00",
            "message": format!("Replace sanitize with escape once\n\nuhub-{job}"),
            "web_url": "https://gitlab.example.com/janedoe/gitlab-foss/-/commit/ed899a2f4b50b4370feeea94676502b42383c746",
        }]),
        // https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests
        ("GET", "/merge_requests") => {
            let merged = json!({"iid": 1, "title": "test1", "description": format!("fixed login page css paddings, UHUB-{job}"),
                "state": "merged", "source_branch": "test1", "target_branch": "main", "author": {"username": "admin"},
                "web_url": "http://gitlab.example.com/my-group/my-project/merge_requests/1", "sha": "8888888888888888888888888888888888888888"});
            match query.get("state").map(String::as_str) {
                Some("merged") | Some("all") => json!([merged]),
                _ => json!([]),
            }
        }
        // https://docs.gitlab.com/api/commits/#get-a-single-commit
        ("GET", "/repository/commits/8888888888888888888888888888888888888888") => {
            json!({"id": "8888888888888888888888888888888888888888", "last_pipeline": {"id": 8, "status": "running"}})
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"message": "404 Not Found"})),
            )
                .into_response()
        }
    };
    Json(answer).into_response()
}

async fn start_receiver(receiver: Shared) -> std::net::SocketAddr {
    let router = axum::Router::new()
        .route("/gh/{*rest}", get(github).post(github))
        .route("/api/v4/{*rest}", get(gitlab).post(gitlab))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

async fn github_and_gitlab_are_read_through_their_apis(engine: services::testing::TestEngine) {
    // uHub's own log while the token is read, sent to both APIs, used for a run's checkout and
    // its statuses, and kept as a personal token.
    let logs = crate::common::logs::capture();
    let receiver: Shared = Arc::default();
    let address = start_receiver(receiver.clone()).await;
    let app = TestApp::with_demo_reading_forges(
        engine,
        &format!("http://{address}/gh"),
        &format!("http://{address}"),
    )
    .await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let admin = app.token("demo-admin").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({
            "name": "Forges", "environments": ["dev", "prod"], "execution_backend": "local",
        })),
        StatusCode::CREATED,
    )
    .await;
    let project_id = id(&project);
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/REPO_TOKEN"),
        &pm,
        Some(json!({"value": CANARY_TOKEN})),
        StatusCode::OK,
    )
    .await;
    let job = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &ops, Some(json!({
        "title": "Named by the examples", "job_type": "ops", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
    })), StatusCode::CREATED).await;
    *receiver.job.lock().expect("job") = id(&job);

    // The repository itself is served by git daemon (the mirror and the runs' checkouts); its
    // API is the receiver's GitHub.
    let base = tempfile::tempdir().expect("base");
    let (daemon, remote, work) = served_repository(base.path(), "acme/app.git").await;
    {
        use std::os::unix::fs::PermissionsExt;
        let script = work.join("deploy.sh");
        std::fs::write(&script, "#!/bin/sh\necho deployed\n").expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "Deploy script"]);
    tokio::task::block_in_place(|| git(&work, &["push", "--quiet", "origin", "HEAD:main"]));
    let head = git(&work, &["rev-parse", "HEAD"]);

    // GitHub and GitLab are read by owner and name: a location without them is refused at once.
    let refused = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/links"), &pm, Some(json!({
        "kind": "git_repo", "name": "nameless", "location": format!("git://127.0.0.1:{}/app.git", daemon.port), "provider": "github",
    })), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(refused["fields"]["location"].is_string(), "{refused}");

    // Status reporting needs a provider that takes statuses and a token.
    let refused = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({
            "kind": "git_repo", "name": "plain", "location": remote, "report_status": true,
        })),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["report_status"].is_string(), "{refused}");
    let link = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({
            "kind": "git_repo", "name": "app", "location": remote, "provider": "github",
            "token_secret": "REPO_TOKEN", "report_status": true,
        })),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            link["token_secret"].as_str(),
            link["report_status"].as_bool()
        ),
        (Some("REPO_TOKEN"), Some(true))
    );
    let link_id = id(&link);

    let branches = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{link_id}/branches"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        branches["items"],
        json!([
            {"name": "main", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "protected": true},
            {"name": "new-topic", "sha": "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc", "protected": false},
        ])
    );
    let commits = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{link_id}/commits?ref=main&limit=5"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        commits["items"][0]["title"],
        format!("Fix all the bugs (UHUB-{})", id(&job))
    );
    assert_eq!(commits["items"][0]["job_ids"], json!([id(&job)]));
    assert_eq!(commits["items"][0]["author"], "Monalisa Octocat");
    assert!(commits["items"][0]["url"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://github.com/")));
    let open = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{link_id}/merge-requests"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(1), "{open}");
    let pull = &open["items"][0];
    assert_eq!(
        json!([
            pull["number"],
            pull["state"],
            pull["source_branch"],
            pull["target_branch"],
            pull["author"],
            pull["ci_status"],
            pull["job_ids"]
        ]),
        json!([
            1347,
            "open",
            "new-topic",
            "main",
            "octocat",
            "success",
            [id(&job)]
        ])
    );
    let merged = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{link_id}/merge-requests?state=merged"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(merged["items"][0]["number"], 1346);
    assert_eq!(merged["items"][0]["state"], "merged");
    expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{link_id}/merge-requests?state=draft"),
        &ops,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // A run of the repository's script reports its state on the commit it ran.
    let deploy = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &ops, Some(json!({
        "title": "Deploy", "job_type": "ops", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "script", "repo": link_id, "path": "deploy.sh"},
    })), StatusCode::CREATED).await;
    let run = launch(&app, &ops, id(&deploy), json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}");
    let posted: Vec<Value> = receiver
        .seen
        .lock()
        .expect("seen")
        .iter()
        .filter(|(line, _)| line.starts_with(&format!("POST /gh/repos/acme/app/statuses/{head}")))
        .map(|(_, body)| json!([body["state"], body["context"]]))
        .collect();
    let context = format!("uhub/job-{}", id(&deploy));
    assert_eq!(
        posted,
        [json!(["pending", context]), json!(["success", context])]
    );
    let run_log = log_text(&app, &ops, id(&run)).await;
    assert!(run_log.contains("commit status reported"), "{run_log}");

    // A rate limit: 503 with when to retry; a repository the provider does not know: 502
    // with its status, never its body.
    receiver.limited.store(true, Ordering::SeqCst);
    let (status, headers, body) = app
        .send(
            axum::http::Request::get(format!("/api/v1/links/{link_id}/merge-requests?state=all"))
                .header("authorization", format!("Bearer {ops}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let wait: u64 = headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((60..=91).contains(&wait), "{wait}");
    assert!(String::from_utf8_lossy(&body).contains("remote_unavailable"));
    receiver.limited.store(false, Ordering::SeqCst);
    let missing = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/links"), &pm, Some(json!({
        "kind": "git_repo", "name": "missing", "location": format!("git://127.0.0.1:{}/acme/missing.git", daemon.port),
        "provider": "github", "token_secret": "REPO_TOKEN",
    })), StatusCode::CREATED).await;
    let refused = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{}/branches", id(&missing)),
        &ops,
        None,
        StatusCode::BAD_GATEWAY,
    )
    .await;
    assert_eq!(refused["code"], "remote_refused");
    assert!(!refused.to_string().contains("BODY-MARKER"), "{refused}");

    // GitLab's REST v4, with its token in PRIVATE-TOKEN; merged merge requests and the running
    // pipeline of their head.
    let lab = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/links"), &pm, Some(json!({
        "kind": "git_repo", "name": "infra", "location": format!("http://{address}/ops/infra.git"),
        "provider": "gitlab", "token_secret": "REPO_TOKEN",
    })), StatusCode::CREATED).await;
    let lab_id = id(&lab);
    let branches = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{lab_id}/branches"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        branches["items"],
        json!([{"name": "main", "sha": "7b5c3cc8be40ee161ae89a06bba6229da1032a0c", "protected": true}])
    );
    let commits = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{lab_id}/commits"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        json!([
            commits["items"][0]["title"],
            commits["items"][0]["job_ids"],
            commits["items"][0]["authored_at"]
        ]),
        json!([
            "Replace sanitize with escape once",
            [id(&job)],
            "2021-09-20T08:50:22.001Z"
        ])
    );
    let merged = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{lab_id}/merge-requests?state=merged"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let request = &merged["items"][0];
    assert_eq!(
        json!([
            request["number"],
            request["state"],
            request["source_branch"],
            request["author"],
            request["ci_status"],
            request["job_ids"]
        ]),
        json!([1, "merged", "test1", "admin", "running", [id(&job)]])
    );
    let none = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{lab_id}/merge-requests"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["items"], json!([]));

    // A repository read through the Git protocol alone has no merge requests.
    let plain = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({
            "kind": "git_repo", "name": "bare", "location": remote,
        })),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(plain["provider"], "git");
    expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{}/merge-requests", id(&plain)),
        &ops,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Personal tokens: write-only, per provider; "My changes" reads the team's GitHub and
    // GitLab repositories with them: the open pull request of the token's user, commits, and
    // the repository the provider does not know, said unreadable.
    for (provider, body, status) in [
        (
            "git",
            json!({"token": CANARY_TOKEN}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "github",
            json!({"token": "two words"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "github",
            json!({"token": CANARY_TOKEN}),
            StatusCode::NO_CONTENT,
        ),
        (
            "gitlab",
            json!({"token": CANARY_TOKEN}),
            StatusCode::NO_CONTENT,
        ),
    ] {
        let (got, answer) = app
            .call(
                Method::PUT,
                &format!("/api/v1/me/git-tokens/{provider}"),
                Some(&ops),
                Some(body),
            )
            .await;
        assert_eq!(got, status, "{provider}: {answer}");
    }
    let tokens = expect(
        &app,
        Method::GET,
        "/api/v1/me/git-tokens",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let providers: Vec<&str> = tokens["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["provider"].as_str())
        .collect();
    assert_eq!(providers, ["github", "gitlab"]);
    let mine = expect(
        &app,
        Method::GET,
        "/api/v1/me/changes",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let pulls: Vec<Value> = mine["merge_requests"]
        .as_array()
        .expect("merge requests")
        .iter()
        .map(|m| {
            json!([
                m["repository"]["name"],
                m["merge_request"]["number"],
                m["merge_request"]["author"]
            ])
        })
        .collect();
    assert_eq!(pulls, [json!(["app", 1347, "octocat"])], "{mine}");
    let commits: Vec<&str> = mine["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter_map(|c| c["repository"]["name"].as_str())
        .collect();
    assert!(
        commits.contains(&"app") && commits.contains(&"infra"),
        "{mine}"
    );
    assert!(
        mine["unreadable"]
            .as_array()
            .expect("unreadable")
            .iter()
            .any(|u| u["repository"]["name"] == "missing"),
        "{mine}"
    );
    // A project owner cannot make uHub hand people's personal tokens to a host of theirs: a
    // GitLab link elsewhere than the team's GitLab (`UHUB_GITLAB_URL`) is read with no personal
    // token at all, and said unreadable.
    let elsewhere: Shared = Arc::default();
    let trap = start_receiver(elsewhere.clone()).await;
    expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/links"), &pm, Some(json!({
        "kind": "git_repo", "name": "trap", "location": format!("http://{trap}/ops/infra.git"), "provider": "gitlab",
    })), StatusCode::CREATED).await;
    let mine = expect(
        &app,
        Method::GET,
        "/api/v1/me/changes",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        elsewhere.seen.lock().expect("seen").is_empty(),
        "nothing was sent to the other host"
    );
    assert!(
        mine["unreadable"]
            .as_array()
            .expect("unreadable")
            .iter()
            .any(|u| u["repository"]["name"] == "trap"
                && u["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("UHUB_GITLAB_URL"))),
        "{mine}"
    );
    let seen = receiver.seen.lock().expect("seen").iter().any(|(line, _)| {
        line.starts_with("GET /gh/repos/acme/app/commits?")
            || line == "GET /gh/repos/acme/app/commits"
    });
    assert!(seen, "commits read");
    let dev = app.token("demo-dev").await;
    let theirs = expect(
        &app,
        Method::GET,
        "/api/v1/me/changes",
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        theirs["providers"],
        json!([]),
        "another person has no token"
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/v1/me/git-tokens/github",
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let tokens = expect(
        &app,
        Method::GET,
        "/api/v1/me/git-tokens",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tokens["items"].as_array().map(Vec::len), Some(1));
    assert!(!tokens.to_string().contains(CANARY_TOKEN) && !mine.to_string().contains(CANARY_TOKEN));

    // The token went only where it belongs.
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=200", Some(&admin), None)
        .await;
    let links = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}/links"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    for shown in [
        audit.to_string(),
        links.to_string(),
        run_log,
        open.to_string(),
    ] {
        assert!(!shown.contains(CANARY_TOKEN), "the token stays secret");
    }
    logs.assert_absent("the repository and personal token", CANARY_TOKEN);
    drop(daemon);
}

on_both_engines!(github_and_gitlab_are_read_through_their_apis);

/// A server on loopback that keeps every connection open: it reads the request's head, writes
/// `answer` (the start of an answer, or nothing), then never another byte. Its address, and the
/// task that holds the connections.
async fn holding_server(
    answer: &'static str,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((mut connection, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|end| end == b"\r\n\r\n") {
                match connection.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => request.extend_from_slice(&buffer[..read]),
                }
            }
            let _ = connection.write_all(answer.as_bytes()).await;
            connections.push(connection);
        }
    });
    (address, held)
}

/// The application reading both forges' APIs at `address` (on SQLite), and a project `name` with
/// a GitHub link to `acme/<repo>`: the app, the projets user's token, the project's and the
/// link's ids.
async fn with_a_github_link(
    address: std::net::SocketAddr,
    name: &str,
    repo: &str,
) -> (TestApp, String, i64, i64) {
    let app = TestApp::with_demo_reading_forges(
        services::testing::TestEngine::Sqlite,
        &format!("http://{address}/gh"),
        &format!("http://{address}"),
    )
    .await;
    let pm = app.token("demo-projets").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({"name": name, "environments": ["dev"]})),
        StatusCode::CREATED,
    )
    .await;
    let link = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{}/links", id(&project)),
        &pm,
        Some(json!({
            "kind": "git_repo", "name": repo, "location": format!("https://github.com/acme/{repo}.git"),
            "provider": "github",
        })),
        StatusCode::CREATED,
    )
    .await;
    (app, pm, id(&project), id(&link))
}

/// A forge that takes the connection and never answers (its own limit is 30 s): the project's
/// Code tab, which reads the repository while the page streams, is served whole, saying the
/// repository is still being read, rather than holding the page (and its scripts, which wait
/// for its end) until the forge gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_forge_does_not_hold_the_code_tab() {
    let (address, held) = holding_server("").await;
    let (app, pm, project_id, _) = with_a_github_link(address, "Silent forge", "silent").await;
    let (status, page) = app
        .page_html(&format!("/projects/{project_id}?tab=code"), &pm)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("repository_slow"), "{page}");
    assert!(page.contains("data-testid=\"deployments\""), "{page}");
    assert!(page.contains("</html>"), "{page}");
    held.abort();
}

/// A forge that sends its answer's head, then stalls in its body: the read is given up at the
/// forge's limit (30 s), `remote_unavailable` like a silent forge. It used to wait for ever, and
/// a run reporting its commit status on its way waited with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_that_stalls_in_its_answer_is_given_up() {
    let (address, held) = holding_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n[{\"name\": \"main\"",
    )
    .await;
    let (app, pm, _, link_id) = with_a_github_link(address, "Stalling forge", "stalled").await;
    // The test's request gives up after a minute: before the mend, that is where it failed.
    let answer = expect(
        &app,
        Method::GET,
        &format!("/api/v1/links/{link_id}/branches"),
        &pm,
        None,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(answer["code"], "remote_unavailable", "{answer}");
    held.abort();
}
