//! HTTP tests of the whole router through `oneshot`: probes, the server-rendered page with data
//! from the database, the server function, static files with caching and compression, 404.

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use services::testing::{TestEngine, TestStorage};
use tower::ServiceExt;
use uhub_server::config::Secret;
use uhub_server::{router, AppState};

struct TestApp {
    router: Router,
    storage: TestStorage,
    _site: tempfile::TempDir,
}

/// A site directory shaped like the real build's, with small but real files.
fn fake_site() -> tempfile::TempDir {
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

async fn app() -> TestApp {
    let storage = TestStorage::new(TestEngine::Sqlite).await;
    let today = chrono::Utc::now().date_naive();
    services::seed::load_demo(&storage.storage, today)
        .await
        .expect("seed");
    let site = fake_site();
    let state = AppState::new(
        storage.storage.clone(),
        Secret::new("x".repeat(48)),
        site.path(),
        "127.0.0.1:3000".parse().expect("address"),
    );
    TestApp {
        router: router(state),
        storage,
        _site: site,
    }
}

async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[tokio::test]
async fn probes_report_alive_and_ready() {
    let app = app().await;
    let (status, _, body) = send(&app.router, get("/healthz")).await;
    assert_eq!((status, text(&body).as_str()), (StatusCode::OK, "ok\n"));
    let (status, _, body) = send(&app.router, get("/readyz")).await;
    assert_eq!((status, text(&body).as_str()), (StatusCode::OK, "ready\n"));

    // A database that went away makes uhub unready but still alive.
    app.storage.storage.close().await;
    let (status, _, _) = send(&app.router, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, _) = send(&app.router, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_projects_page_is_rendered_on_the_server_with_data_and_hydration_scripts() {
    let app = app().await;
    for path in ["/", "/projects"] {
        let (status, headers, body) = send(&app.router, get(path)).await;
        let html = text(&body);
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html"));
        for project in [
            "Projet Pilote App X",
            "Infra K3s",
            "Registry Docker Privé",
            "Monitoring Stack",
        ] {
            assert!(html.contains(project), "{path} should list {project}");
        }
        assert!(
            html.contains("4 projects"),
            "{path}: the count is rendered on the server"
        );
        assert!(
            html.contains("/pkg/uhub.js") && html.contains("/pkg/uhub.wasm"),
            "{path}: hydration scripts"
        );
        assert!(html.contains("/pkg/uhub.css"), "{path}: stylesheet");
        assert!(
            html.contains("data-project-id="),
            "{path}: cards carry their id"
        );
    }
}

#[tokio::test]
async fn the_list_server_function_answers_json_from_the_database() {
    let app = app().await;
    let request = Request::post("/sfn/projects/list")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&app.router, request).await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    let projects: Vec<domain::ProjectSummary> = serde_json::from_slice(&body).expect("json list");
    assert_eq!(projects.len(), 4);
    let pilot = projects
        .iter()
        .find(|p| p.name == "Projet Pilote App X")
        .expect("pilot project");
    assert_eq!((pilot.color.as_str(), pilot.job_count), ("#00ff00", 4));
    assert_eq!(pilot.environments, ["dev", "staging", "prod"]);
}

#[tokio::test]
async fn an_unknown_address_gets_the_404_page() {
    let app = app().await;
    let (status, _, body) = send(&app.router, get("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text(&body).contains("Nothing lives at this address"));
}

#[tokio::test]
async fn the_bundle_is_served_compressed_and_revalidated() {
    let app = app().await;
    let request = Request::get("/pkg/uhub.js")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send(&app.router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(body.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    assert!(
        headers.contains_key(header::LAST_MODIFIED),
        "browsers can revalidate with 304"
    );

    let (status, headers, _) = send(&app.router, get("/pkg/uhub.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers.get(header::CONTENT_ENCODING).is_none(),
        "no gzip unless asked for"
    );
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/css"));

    let (status, _, _) = send(&app.router, get("/pkg/missing.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = send(&app.router, get("/favicon.svg")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&body).starts_with("<svg"));
}

#[tokio::test]
async fn pages_are_compressed_for_browsers_that_accept_it() {
    let app = app().await;
    let request = Request::get("/")
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = send(&app.router, request).await;
    assert_eq!(status, StatusCode::OK);
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(["br", "gzip"].contains(&encoding), "got {encoding:?}");
}

#[test]
fn the_real_public_dir_has_the_favicon_the_shell_links_to() {
    let favicon = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/favicon.svg");
    assert!(favicon.is_file());
}
