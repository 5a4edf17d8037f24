//! HTTP tests of the whole router through `oneshot`: probes, the server-rendered page with data
//! from the database, the server function, static files with caching and compression, 404,
//! security headers and the session guard of pages.

use crate::common;

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{get, text, TestApp};
use services::testing::TestEngine;

async fn app() -> TestApp {
    TestApp::with_demo(TestEngine::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_report_alive_and_ready() {
    let app = app().await;
    let (status, _, body) = app.send(get("/healthz")).await;
    assert_eq!((status, text(&body).as_str()), (StatusCode::OK, "ok\n"));
    let (status, _, body) = app.send(get("/readyz")).await;
    assert_eq!((status, text(&body).as_str()), (StatusCode::OK, "ready\n"));

    // A database that went away makes uhub unready but still alive.
    app.storage.storage.close().await;
    let (status, _, _) = app.send(get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, _) = app.send(get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projects_page_is_rendered_on_the_server_with_data_and_hydration_scripts() {
    let app = app().await;
    let token = app.token("demo-dev").await;
    // The dashboard is rendered on the server too, with the projects of its upcoming jobs.
    let (status, html) = app.page_html("/", &token).await;
    assert_eq!(status, StatusCode::OK, "/: {html}");
    assert!(html.contains("data-testid=\"dashboard\""), "/: {html}");
    assert!(html.contains("/pkg/uhub.wasm"), "/: hydration scripts");
    assert!(
        html.contains("<title>Dashboard · uHub</title>"),
        "/: the tab's title is in the head"
    );
    for path in ["/projects"] {
        let (status, headers, body) = app.send(TestApp::page(path, &token)).await;
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
            html.contains("<title>Projects · uHub</title>"),
            "{path}: the tab's title is in the head"
        );
        assert!(
            html.contains("data-project-id="),
            "{path}: cards carry their id"
        );
    }
}

/// The projects' list server function called as a page of uHub calls it, signed in as `token`.
fn list_projects_from_a_page(token: &str) -> Request<Body> {
    Request::post("/sfn/projects/list")
        .header(header::COOKIE, format!("uhub_session={token}"))
        // As a page of uHub sends it (cookie-authenticated changes must say where they come from).
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_server_function_answers_json_from_the_database() {
    let app = app().await;
    let token = app.token("demo-ops").await;
    let (status, _, body) = app.send(list_projects_from_a_page(&token)).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_gets_the_404_page() {
    let app = app().await;
    let token = app.token("demo-dev").await;
    let (status, html) = app.page_html("/no/such/page", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(html.contains("Nothing lives at this address"), "{html}");
}

/// Only the site's known files are served: a file left in the site's directory beside them (a
/// backup, an editor's swap file) is not, and its address gets the 404 page. Leptos' file
/// fallback, in use before, served any file it found there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_file_in_the_sites_directory_is_not_served() {
    let app = app().await;
    std::fs::write(app.site_dir().join("stray.env"), "SECRET=left-behind").expect("stray file");
    let token = app.token("demo-dev").await;
    let (status, html) = app.page_html("/stray.env", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(!html.contains("left-behind"), "{html}");
    assert!(html.contains("Nothing lives at this address"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_bundle_is_named_by_the_pages_and_kept_a_year() {
    const HASH: &str = "0123456789abcdef";
    let app = app().await.with_hashed_bundle(HASH);
    let token = app.token("demo-dev").await;
    let (status, html) = app.page_html("/projects", &token).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for ext in ["js", "wasm", "css"] {
        assert!(
            html.contains(&format!("/pkg/uhub.{HASH}.{ext}")),
            "{ext}: {html}"
        );
    }
    assert!(!html.contains("/pkg/uhub.js") && !html.contains("/pkg/uhub.css"));
    // The login page is a plain form: its stylesheet, and no bundle to download or hydrate.
    let (_, _, login) = app.send(get("/login")).await;
    let login = text(&login);
    assert!(login.contains(&format!("/pkg/uhub.{HASH}.css")), "{login}");
    let bundle = [
        format!("/pkg/uhub.{HASH}.js"),
        format!("/pkg/uhub.{HASH}.wasm"),
    ];
    for absent in bundle
        .iter()
        .map(String::as_str)
        .chain(["modulepreload", "WebAssembly"])
    {
        assert!(
            !login.contains(absent),
            "{absent} in the login page: {login}"
        );
    }
    assert!(
        login.contains("/sw-register.js"),
        "the worker fetches the bundle meanwhile"
    );
    for ext in ["js", "wasm", "css"] {
        let (status, headers, _) = app.send(get(&format!("/pkg/uhub.{HASH}.{ext}"))).await;
        assert_eq!(status, StatusCode::OK, "{ext}");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{ext}"
        );
    }
    // A hashed name that is not (or no longer) there may exist after the next deployment, and
    // an unhashed file beside the bundle may change in place: both are asked for again.
    let (status, headers, _) = app.send(get("/pkg/uhub.fedcba9876543210.wasm")).await;
    assert_eq!(
        (status, &headers[header::CACHE_CONTROL]),
        (StatusCode::NOT_FOUND, &"no-cache".parse().expect("value"))
    );
    let (_, headers, _) = app.send(get("/pkg/uhub.0123456789abcdef.wasm/")).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_is_served_compressed_and_revalidated() {
    let app = app().await;
    let request = Request::get("/pkg/uhub.js")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(body.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    assert!(
        headers.contains_key(header::LAST_MODIFIED),
        "browsers can revalidate with 304"
    );

    let (status, headers, _) = app.send(get("/pkg/uhub.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers.get(header::CONTENT_ENCODING).is_none(),
        "no gzip unless asked for"
    );
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/css"));

    let (status, _, _) = app.send(get("/pkg/missing.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = app.send(get("/favicon.svg")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&body).starts_with("<svg"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_compressed_for_browsers_that_accept_it() {
    let app = app().await;
    let token = app.token("demo-dev").await;
    let request = Request::get("/")
        .header(header::COOKIE, format!("uhub_session={token}"))
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = app.send(request).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pages_go_to_login_and_server_functions_answer_unauthenticated() {
    let app = app().await;
    let (status, headers, _) = app.send(get("/projects?filter=k3s")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=/projects%3Ffilter%3Dk3s"
    );

    let (status, _, body) = app.send(get("/login?next=/projects%3Ffilter%3Dk3s")).await;
    assert_eq!(status, StatusCode::OK);
    let html = text(&body);
    assert!(
        html.contains("name=\"username\"") && html.contains("name=\"password\""),
        "{html}"
    );
    // No script fills the form in: where to go after it is in the server's markup.
    assert!(
        html.contains("name=\"next\" value=\"/projects?filter=k3s\""),
        "{html}"
    );

    let request = Request::post("/sfn/projects/list")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = app.send(request).await;
    assert!(
        status.is_server_error() || status.is_client_error(),
        "{status}"
    );
    assert!(text(&body).contains("unauthenticated"), "{}", text(&body));
}

/// `/admin` typed by someone who is not an admin (and `/server` by someone who is neither admin
/// nor ops): one clear answer with 403, nothing of the page (no tabs, no table, no island
/// calling what would be refused). `/admin` used to draw the tabs, an error card, an empty
/// audit table and a console of 403s; `/server` its range links and an error card, with 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_pages_answer_others_once_that_they_are_for_admins() {
    let app = app().await;
    // Each role other than admin, each tab once (each page rendered is one more exposure to the
    // rare stalled render noted in `TestApp::send`).
    for (username, paths) in [
        ("demo-dev", ["/admin", "/admin?tab=audit"]),
        ("demo-ops", ["/admin?tab=teams", "/admin?tab=settings"]),
        ("demo-projets", ["/admin?tab=users", "/admin?tab=audit"]),
    ] {
        let token = app.token(username).await;
        for path in paths {
            let (status, html) = app.page_html(path, &token).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{username} {path}: {html}");
            assert!(
                html.contains("data-testid=\"admins-only\"") && html.contains("For admins only"),
                "{username} {path}: {html}"
            );
            // The shell (sidebar, user menu) is drawn in place: nothing streamed after the
            // page, nothing such a page could wait on (see `TestApp::send`).
            assert!(
                html.contains(&format!("data-username=\"{username}\""))
                    && !html.contains("<template")
                    && !html.contains("aria-busy"),
                "{username} {path}: {html}"
            );
            for admin_only in [
                "audit-log",
                "admin-users",
                "new-team",
                "tab=teams",
                "<table",
            ] {
                assert!(
                    !html.contains(admin_only),
                    "{username} {path} shows `{admin_only}`: {html}"
                );
            }
        }
    }
    // The server view, for admins and ops, the same way.
    for username in ["demo-dev", "demo-projets"] {
        let token = app.token(username).await;
        let (status, html) = app.page_html("/server", &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{username}: {html}");
        assert!(
            html.contains("data-testid=\"server-view-refused\"")
                && html.contains("For admins and ops only")
                && !html.contains("gauge-cpu")
                && !html.contains("/server?minutes="),
            "{username}: {html}"
        );
    }
    let ops = app.token("demo-ops").await;
    let (status, html) = app.page_html("/server", &ops).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("server-view-refused"), "{html}");
    let admin = app.token("demo-admin").await;
    let (status, html) = app.page_html("/admin?tab=audit", &admin).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("audit-log") && !html.contains("admins-only"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = app().await;
    let token = app.token("demo-dev").await;
    for request in [
        get("/healthz"),
        get("/api/v1/auth/me"),
        get("/login"),
        TestApp::page("/projects", &token),
        get("/pkg/uhub.css"),
    ] {
        let uri = request.uri().to_string();
        let (_, headers, body) = app.send(request).await;
        let csp = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{uri}: {csp}"
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{uri}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{uri}");
        if uri == "/projects" {
            // The inline hydration script carries this request's nonce, and only this one.
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .unwrap_or_default();
            assert!(nonce.len() >= 16, "{csp}");
            assert!(
                text(&body).contains(&format!("nonce=\"{nonce}\"")),
                "the page's scripts carry the nonce"
            );
        }
    }
}

/// The islands find the signed-in user on the shell's root (`data-me`), not in a resource
/// matched by number: an island bundle counts its resources from zero, the server over the
/// whole page, so once the user menu stopped creating one, the project sheet's islands read the
/// sheet's data as the user, failed to hydrate and asked the server again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_the_signed_in_user_to_their_islands() {
    let app = app().await;
    let token = app.token("demo-projets").await;
    for path in ["/", "/projects", "/calendar", "/incidents"] {
        let (status, html) = app.page_html(path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        let carried = html
            .split("data-me=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        let user: domain::UserProfile = serde_json::from_str(&carried)
            .unwrap_or_else(|error| panic!("{path}: data-me {carried:?}: {error}"));
        assert_eq!(user.username, "demo-projets", "{path}");
        assert!(
            !html.contains(r#"\"username\":\"demo-projets\""#),
            "{path}: the user is serialized as a resource too"
        );
    }
}

/// A page's server component reads its data and hands it to its islands as props; in islands
/// mode no browser code reads it again. So the value is not also written into the page as a
/// serialized resource (`__RESOLVED_RESOURCES[…]`): that was the dashboard's data twice (28 % of
/// `/`), the API reference's 275 KiB twice, and so on for every page that reads something.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_what_they_read_once() {
    let app = app().await;
    let token = app.token("demo-admin").await;
    for path in [
        "/",
        "/projects",
        "/projects/1",
        "/projects/1?tab=settings",
        "/projects/1/inventories/1",
        "/projects/1/terraform-plans/1",
        "/jobs/1",
        "/runs/1",
        "/incidents",
        "/incidents/1",
        "/server",
        "/admin?tab=settings",
        "/docs/api",
    ] {
        let (status, html) = app.page_html(path, &token).await;
        assert!(!status.is_server_error(), "{path}: {status}");
        assert!(
            html.contains("</html>"),
            "{path}: the page is whole ({status})"
        );
        assert!(
            !html.contains("__RESOLVED_RESOURCES["),
            "{path}: what the page read is written into it again: {}",
            html.split("__RESOLVED_RESOURCES[")
                .nth(1)
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
}

/// The page of one object answers with its object's status, every time and however it is
/// asked: a missing object is a 404 whether a browser asks (`Accept: text/html`) or a link
/// checker (no `Accept`), and a panel the page leaves out for the reader's role (the host around
/// an incident is for admins and ops) does not make an existing object's page a 403. Before, the
/// status was whatever read of the page failed first, and only if it failed before the first
/// bytes left: `/runs/999999` answered 200 one time in ten, 200 always to a browser, and an
/// incident's page answered 403 to demo-dev about one time in three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_page_answers_with_its_object_status() {
    let app = app().await;
    let incident = app
        .storage
        .storage
        .create_incident(
            &services::storage::NewIncident {
                project_id: None,
                title: "Disk full on the build host".into(),
                description: String::new(),
                severity: domain::IncidentSeverity::Sev3,
                status: domain::IncidentStatus::Open,
                owner_id: None,
                job_id: None,
                detected_at: None,
            },
            &services::storage::Actor::system(),
        )
        .await
        .expect("incident")
        .id;
    let token = app.token("demo-dev").await;
    let asked = |path: &str, browser: bool| {
        let mut request = TestApp::page(path, &token);
        if browser {
            request.headers_mut().insert(
                header::ACCEPT,
                header::HeaderValue::from_static(
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                ),
            );
        }
        request
    };
    let existing = format!("/incidents/{incident}");
    let pages = [
        ("/projects/999999", StatusCode::NOT_FOUND),
        ("/jobs/999999", StatusCode::NOT_FOUND),
        ("/runs/999999", StatusCode::NOT_FOUND),
        ("/incidents/999999", StatusCode::NOT_FOUND),
        ("/projects/1/inventories/999999", StatusCode::NOT_FOUND),
        ("/projects/1/terraform-plans/999999", StatusCode::NOT_FOUND),
        (existing.as_str(), StatusCode::OK),
    ];
    for (path, expected) in pages {
        for attempt in 0..25 {
            for browser in [false, true] {
                let (status, _, body) = app.send(asked(path, browser)).await;
                let html = text(&body);
                assert_eq!(
                    status, expected,
                    "{path} (as a browser: {browser}), attempt {attempt}"
                );
                assert!(html.contains("</html>"), "{path}: the page is whole");
                if expected == StatusCode::NOT_FOUND {
                    assert!(
                        html.contains("could not be loaded"),
                        "{path}: the error card"
                    );
                    assert!(
                        html.contains("Back to the dashboard"),
                        "{path}: the way back, as on the 404 page"
                    );
                } else {
                    assert!(
                        html.contains("Disk full on the build host"),
                        "{path}: the incident"
                    );
                }
            }
        }
    }
}

/// What uHub answers is not kept by the browser nor by a cache on the way: after logging out
/// (or on a shared computer), Back or the browser's cache must not show a page, a project list
/// or a run's log to the next person. Only the files that say nothing about anyone are kept:
/// the hashed bundle for a year, the others revalidated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_about_someone_are_never_stored() {
    let app = app().await.with_hashed_bundle("0123456789abcdef");
    let token = app.token("demo-dev").await;
    let server_function = list_projects_from_a_page(&token);
    let api = Request::get("/api/v1/projects")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    for (request, expected) in [
        (TestApp::page("/projects", &token), "no-store"),
        (TestApp::page("/profile", &token), "no-store"),
        (TestApp::page("/nowhere", &token), "no-store"),
        (api, "no-store"),
        (server_function, "no-store"),
        (get("/api/v1/projects"), "no-store"),
        (get("/login"), "no-store"),
        (get("/healthz"), "no-store"),
        (get("/favicon.svg"), "no-cache"),
        (
            get("/pkg/uhub.0123456789abcdef.css"),
            "public, max-age=31536000, immutable",
        ),
    ] {
        let what = format!("{} {}", request.method(), request.uri());
        let (status, headers, _) = app.send(request).await;
        assert_eq!(
            headers
                .get(header::CACHE_CONTROL)
                .and_then(|value| value.to_str().ok()),
            Some(expected),
            "{what} ({status})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused() {
    let app = app().await;
    let huge = "x".repeat(uhub_server::MAX_BODY_BYTES + 10);
    let request = Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username=a&password={huge}")))
        .expect("request");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The first view of a form shows what it edits, before (or without) hydration: the profile's
/// name and email, a new project's environments and colour, the project settings' values and
/// check boxes. (Set only as properties, they were blank until the bundle ran.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_are_filled_in_the_server_rendered_page() {
    let app = app().await;
    let dev = app.token("demo-dev").await;
    let (status, html) = app.page_html("/profile", &dev).await;
    assert_eq!(status, StatusCode::OK, "/profile: {html}");
    assert!(
        html.contains("value=\"Chloé DEV\""),
        "/profile: the display name: {html}"
    );
    assert!(
        html.contains("value=\"demo-dev@uhub.local\""),
        "/profile: the email: {html}"
    );

    let pm = app.token("demo-projets").await;
    let (status, html) = app.page_html("/projects?new", &pm).await;
    assert_eq!(status, StatusCode::OK, "/projects?new: {html}");
    assert!(
        html.contains("value=\"dev, staging, prod\""),
        "/projects?new: the proposed environments: {html}"
    );
    assert!(
        html.contains("value=\"#888888\""),
        "/projects?new: the colour field"
    );

    let project = common::expect(
        &app,
        axum::http::Method::POST,
        "/api/v1/projects",
        &pm,
        Some(serde_json::json!({
            "name": "Filled in", "environments": ["dev"], "execution_backend": "docker",
            "execution_backend_config": {"image": "alpine:3.20", "memory_mb": 64, "network": true},
        })),
        StatusCode::CREATED,
    )
    .await;
    let id = project["id"].as_i64().expect("the project's id");
    let page = format!("/projects/{id}?tab=settings");
    let (status, html) = app.page_html(&page, &pm).await;
    assert_eq!(status, StatusCode::OK, "{page}: {html}");
    for shown in ["value=\"alpine:3.20\"", "value=\"64\""] {
        assert!(html.contains(shown), "{page}: {shown}: {html}");
    }
    let network = html
        .split("<input")
        .find(|element| element.contains("name=\"network\""))
        .unwrap_or_default();
    assert!(
        network
            .split("/>")
            .next()
            .unwrap_or_default()
            .contains("checked"),
        "{page}: the network box is checked: {network}"
    );
}

/// A page renders to its end while another router is being built. Building one lists the
/// routes by rendering the app with every `Resource` told not to load, through a flag that is
/// global to the process (`leptos_server::SuppressResourceLoad`): a page rendered meanwhile made
/// resources that never loaded, and its stream waited for them forever (the calendar's free-slot
/// resource, `__PENDING_RESOURCES=[1,…]` and no end). The test binary builds a router per test,
/// many at once; a server builds one at start-up, but nothing should depend on that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_renders_while_another_router_is_built() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let app = app().await;
    let pm = app.token("demo-projets").await;
    let building = Arc::new(AtomicBool::new(true));
    let builder = {
        let building = building.clone();
        let state = app.state();
        std::thread::spawn(move || {
            let mut built = 0_u32;
            while building.load(Ordering::Relaxed) {
                drop(uhub_server::router(state.clone()));
                built += 1;
            }
            built
        })
    };
    let mut pages = 0_u32;
    // Long enough for the two to overlap many times (a router takes about as long as a page).
    while pages < 40 {
        let (status, html) = app
            .page_html("/calendar?view=month&date=2031-05-07", &pm)
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("__INCOMPLETE_CHUNKS"),
            "the page's stream ends with its last script"
        );
        pages += 1;
    }
    building.store(false, Ordering::Relaxed);
    let built = builder.join().expect("the router builder");
    assert!(built > 0, "no router was built while the pages rendered");
}

/// `/projects?new` opens the new-project form only for whom may create a project: a developer
/// or an operator following the address (a link, the palette's history) gets the list without a
/// form the server would refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_project_form_opens_only_for_whom_may_create_one() {
    let app = app().await;
    for (username, opens) in [
        ("demo-projets", true),
        ("demo-dev", false),
        ("demo-ops", false),
    ] {
        let token = app.token(username).await;
        let (status, html) = app.page_html("/projects?new", &token).await;
        assert_eq!(status, StatusCode::OK, "{username}: {html}");
        assert!(
            html.contains("data-testid=\"project-list\""),
            "{username}: the list is shown: {html}"
        );
        assert_eq!(
            html.contains("data-testid=\"project-form\""),
            opens,
            "{username}: the form opens: {opens}"
        );
    }
}
