//! Browser test: real headless Chromium, driven through chromedriver, against uhub serving the
//! real WASM bundle. Proves server rendering, hydration (`data-hydrated`), a client-side
//! interaction, a browser → server function → database round trip, and signing in: a wrong
//! password, `demo-ops` through `/login`, and the bootstrap admin forced to change its password.
//! What it needs, and the helpers it uses, are in this crate's library (`src/lib.rs`).

use std::time::Duration;

use end2end::{
    at_phone_width, browser, code_requested, eventually, hydrated, log_in, log_out, screenshot,
    serve, signed_in_as, site_dir, submit_form, wait_for_path, with_demo, ChromeDriver, TestResult,
    ONE_BROWSER,
};
use fantoccini::{Client, Locator};
use services::testing::{TestEngine, TestStorage};

async fn card_count(client: &Client) -> TestResult<usize> {
    Ok(client
        .find_all(Locator::Css("li.project-card"))
        .await?
        .len())
}

/// Whether one of the page's caches (the service worker's) holds the WASM bundle.
const PRECACHED_WASM: &str = "const done = arguments[arguments.length - 1];
caches.keys()
  .then((keys) => Promise.all(keys.map((key) => caches.open(key).then((cache) => cache.keys()))))
  .then((lists) => done(lists.flat().some((request) => request.url.endsWith('.wasm'))))
  .catch(() => done(false));";

/// Anonymous → login page; a wrong password shows an error; `demo-ops` gets in and lands where it
/// was going.
async fn log_in_as_demo_ops(client: &Client, base: &str) -> TestResult {
    client.goto(&format!("{base}/projects")).await?;
    wait_for_path(client, "/login").await?;
    // A plain form: the page asks for no WASM, and the service worker it registers fetches the
    // bundle meanwhile, for the page after it.
    let bundle: Vec<String> = code_requested(client)
        .await?
        .into_iter()
        .filter(|name| name.contains("/pkg/"))
        .collect();
    assert!(
        bundle.is_empty(),
        "the login page loads no bundle: {bundle:?}"
    );
    eventually(
        "the service worker keeps the bundle",
        Duration::from_secs(60),
        || async {
            let cached = client.execute_async(PRECACHED_WASM, vec![]).await?;
            Ok(cached.as_bool() == Some(true))
        },
    )
    .await?;
    submit_form(
        client,
        "/login",
        &[("username", "demo-ops"), ("password", "not-the-password")],
    )
    .await?;
    let error = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=login-error]"))
        .await?;
    assert_eq!(error.text().await?, "Invalid username or password.");
    assert_eq!(error.attr("role").await?.as_deref(), Some("alert"));
    screenshot(client, "login-error").await?;

    submit_form(
        client,
        "/login",
        &[("username", "demo-ops"), ("password", "demo-ops")],
    )
    .await?;
    wait_for_path(client, "/projects").await?;
    assert_eq!(signed_in_as(client).await?.as_deref(), Some("demo-ops"));
    Ok(())
}

/// The bootstrap admin logs in with the initial password and cannot go anywhere before choosing
/// a new one.
async fn bootstrap_admin_changes_its_password(client: &Client, base: &str) -> TestResult {
    log_out(client).await?;
    submit_form(
        client,
        "/login",
        &[("username", "uHub"), ("password", "uHub-ADMIN")],
    )
    .await?;
    wait_for_path(client, "/account/password").await?;
    screenshot(client, "forced-password-change").await?;
    client.goto(&format!("{base}/projects")).await?;
    wait_for_path(client, "/account/password").await?;

    let new_password = "a-new-admin-passphrase";
    submit_form(
        client,
        "/account/password",
        &[
            ("current_password", "uHub-ADMIN"),
            ("new_password", new_password),
            ("confirm_password", "something-else-entirely"),
        ],
    )
    .await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=password-error]"))
        .await?;
    submit_form(
        client,
        "/account/password",
        &[
            ("current_password", "uHub-ADMIN"),
            ("new_password", new_password),
            ("confirm_password", new_password),
        ],
    )
    .await?;
    wait_for_path(client, "/projects").await?;
    assert_eq!(signed_in_as(client).await?.as_deref(), Some("uHub"));
    Ok(())
}

/// A project with the local backend and an ops job whose script prints coloured lines.
async fn runnable_job(storage: &services::Storage, scripts: &std::path::Path) -> TestResult<i64> {
    use std::os::unix::fs::PermissionsExt;
    let script = scripts.join("rotate.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor n in 1 2 3; do printf '\\033[32mrotated\\033[0m log %s\\n' $n; sleep 0.3; done\necho 'warning: disk 81%' >&2\n",
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    let actor = services::storage::Actor::system();
    let project = storage
        .create_project(
            &services::storage::NewProject {
                description: "Routine work".into(),
                execution_backend: Some(domain::ExecutionBackend::Local),
                ..services::storage::NewProject::named("Operations", &["dev"])
            },
            &actor,
        )
        .await?;
    let job = storage
        .create_job(
            &services::storage::NewJob {
                action: Some(domain::JobAction::Script {
                    path: "rotate.sh".into(),
                    args: vec![],
                    repo: None,
                    git_ref: None,
                }),
                ..services::storage::NewJob::planned(
                    project.id,
                    "Rotate the logs",
                    domain::JobType::Ops,
                    Some("dev"),
                    chrono::Utc::now(),
                )
            },
            &actor,
        )
        .await?;
    Ok(job.id)
}

/// The job page launches a run; the run page follows it live to its end, with colours and search.
async fn launch_and_follow(client: &Client, base: &str, job_id: i64) -> TestResult {
    client.goto(&format!("{base}/jobs/{job_id}")).await?;
    hydrated(client).await?;
    // Hydrated is not loaded: the job arrives after the page's shell.
    assert_eq!(
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("[data-testid=job-title]"))
            .await?
            .text()
            .await?,
        "Rotate the logs"
    );
    client
        .find(Locator::Css("[data-testid=launch]"))
        .await?
        .click()
        .await?;
    eventually("the run page", Duration::from_secs(20), || async {
        Ok(client.current_url().await?.path().starts_with("/runs/"))
    })
    .await?;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-status=success]"))
        .await?;
    let log = client
        .find(Locator::Css("[data-testid=run-log]"))
        .await?
        .text()
        .await?;
    assert!(
        log.contains("rotated log 3") && log.contains("warning: disk 81%"),
        "{log}"
    );
    assert!(
        !log.contains("\u{1b}"),
        "escape codes become colours: {log}"
    );
    let coloured = client
        .find_all(Locator::Css("[data-testid=run-log] .ansi-32"))
        .await?
        .len();
    assert_eq!(coloured, 3, "the green parts are coloured");
    assert_eq!(
        client
            .find(Locator::Css("[data-testid=exit-code]"))
            .await?
            .text()
            .await?,
        "0"
    );
    screenshot(client, "run-page").await?;
    client
        .find(Locator::Css("input[name=log-search]"))
        .await?
        .send_keys("warning")
        .await?;
    eventually(
        "the search to keep one line",
        Duration::from_secs(10),
        || async {
            Ok(client
                .find_all(Locator::Css("[data-testid=run-log] .log-line"))
                .await?
                .len()
                == 1)
        },
    )
    .await?;
    // The job page lists the run.
    client.goto(&format!("{base}/jobs/{job_id}")).await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".run-history [data-status=success]"))
        .await?;
    screenshot(client, "job-page").await
}

async fn scenario(client: &Client, base: &str, job_id: i64) -> TestResult {
    log_in_as_demo_ops(client, base).await?;
    hydrated(client).await?;
    assert_eq!(
        card_count(client).await?,
        5,
        "the four demo projects and the one with a runnable job are rendered"
    );

    // Client-side interaction: the filter narrows the list as you type, without a request.
    let filter = client.find(Locator::Css("input[name=filter]")).await?;
    filter.send_keys("k3s").await?;
    eventually(
        "the filter to keep one project",
        Duration::from_secs(10),
        || async { Ok(card_count(client).await? == 1) },
    )
    .await?;
    let count = client
        .find(Locator::Css("[data-testid=project-count]"))
        .await?
        .text()
        .await?;
    assert_eq!(count, "1 of 5 projects");
    let remaining = client
        .find(Locator::Css("li.project-card h2"))
        .await?
        .text()
        .await?;
    assert_eq!(remaining, "Infra K3s");

    screenshot(client, "projects-filtered").await?;

    // A link is a page load: the server draws each page (islands hydrate the parts that react),
    // so the browser starts afresh (a marker set on this page is gone) and the new page's
    // projects are in its HTML.
    client
        .execute("window.__uhubMarker = 'still here'; return null;", vec![])
        .await?;
    client
        .find(Locator::Css("a.nav__link[href='/']"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=dashboard]"))
        .await?;
    client
        .find(Locator::Css("a.nav__link[href='/projects']"))
        .await?
        .click()
        .await?;
    eventually(
        "the projects page with all projects",
        Duration::from_secs(20),
        || async {
            Ok(client.current_url().await?.path() == "/projects" && card_count(client).await? == 5)
        },
    )
    .await?;
    hydrated(client).await?;
    let marker = client
        .execute("return window.__uhubMarker || null;", vec![])
        .await?;
    assert_eq!(marker, serde_json::Value::Null, "a link loads its page");
    api_reference(client).await?;
    launch_and_follow(client, base, job_id).await?;
    bootstrap_admin_changes_its_password(client, base).await
}

/// The API page lists the generated OpenAPI document's endpoints; the filter narrows them and
/// an endpoint opens on its parameters, body and answers.
async fn api_reference(client: &Client) -> TestResult {
    client
        .find(Locator::Css("a.nav__link[href='/docs/api']"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=api-reference] li.api-endpoint"))
        .await?;
    let paths = |client: &Client| {
        let client = client.clone();
        async move {
            let mut paths = Vec::new();
            for item in client
                .find_all(Locator::Css("[data-testid=api-reference] li.api-endpoint"))
                .await?
            {
                paths.push(item.attr("data-path").await?.unwrap_or_default());
            }
            TestResult::Ok(paths)
        }
    };
    let all = paths(client).await?;
    assert!(all.len() > 40, "every endpoint is listed: {all:?}");
    assert!(all.iter().any(|p| p == "/api/v1/projects/{id}/context"));
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
            vec![],
        )
        .await?;
    assert_eq!(
        overflow,
        serde_json::json!(false),
        "no horizontal scrolling"
    );
    screenshot(client, "api-reference-all").await?;
    client
        .find(Locator::Css("input[name=filter]"))
        .await?
        .send_keys("/api/v1/incidents")
        .await?;
    eventually(
        "the filter to keep the incident routes",
        Duration::from_secs(10),
        || async {
            let shown = paths(client).await?;
            Ok(!shown.is_empty()
                && shown.len() < all.len()
                && shown.iter().all(|p| p.starts_with("/api/v1/incidents")))
        },
    )
    .await?;
    client
        .find(Locator::Css("li.api-endpoint[data-method=POST] summary"))
        .await?
        .click()
        .await?;
    let body = client
        .find(Locator::Css(
            "li.api-endpoint[data-method=POST] .api-endpoint__body",
        ))
        .await?
        .text()
        .await?;
    assert!(
        body.contains("CreateIncidentRequest"),
        "the body schema is named: {body}"
    );
    assert!(body.contains("201"), "the answers are listed: {body}");
    screenshot(client, "api-reference").await?;
    // On a phone the long paths wrap in their cards; the page does not scroll sideways.
    at_phone_width(
        client,
        "[data-testid=api-reference] li.api-endpoint",
        "api-reference-phone",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_then_the_projects_page_hydrates_filters_and_navigates() -> TestResult {
    let _one = ONE_BROWSER.lock().await;
    let site = site_dir();
    let storage = TestStorage::new(TestEngine::Sqlite).await;
    // As a first start with UHUB_SEED_DEMO=true does: the bootstrap admin, then the demo data.
    services::auth::bootstrap_admin(&storage.storage, &services::storage::Actor::system()).await?;
    services::seed::load_demo(
        &storage.storage,
        chrono::Utc::now().date_naive(),
        &services::storage::Actor::system(),
    )
    .await?;
    let scripts = tempfile::tempdir()?;
    let job_id = runnable_job(&storage.storage, scripts.path()).await?;
    let (address, server) = serve(&storage.storage, &site, scripts.path()).await?;

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir()?;
    let client = browser(&driver, profile.path()).await?;
    let outcome = scenario(&client, &format!("http://{address}"), job_id).await;
    // Always end the session, also on failure, or Chromium stays behind.
    let closed = client.close().await;
    server.abort();
    outcome?;
    closed?;
    Ok(())
}

/// Jobs for the calendar scenario, around `day` (a Wednesday in the month shown): one to drag,
/// one that `demo-dev` may not move, and two overlapping maintenances in production.
async fn calendar_jobs(
    storage: &services::Storage,
    day: chrono::NaiveDate,
) -> TestResult<[i64; 4]> {
    use services::storage::{Actor, NewJob, NewProject};
    let actor = Actor::system();
    let owner = storage
        .user_by_username("demo-projets")
        .await?
        .map(|u| u.id)
        .ok_or("demo-projets is seeded")?;
    let project = storage
        .create_project(
            &NewProject {
                description: "Planned changes".into(),
                color: "#33ff99".parse().map_err(|_| "colour")?,
                owner_id: Some(owner),
                ..NewProject::named("Calendar Ops", &["staging", "prod"])
            },
            &actor,
        )
        .await?;
    let at = |offset: i64, hour: u32, minute: u32| {
        (day + chrono::Duration::days(offset))
            .and_hms_opt(hour, minute, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default()
    };
    let mut ids = [0; 4];
    let jobs = [
        (
            "Drag me",
            domain::JobType::Maintenance,
            "staging",
            at(0, 10, 0),
            Some(at(0, 11, 0)),
        ),
        (
            "Ops restart",
            domain::JobType::Ops,
            "staging",
            at(0, 14, 0),
            None,
        ),
        (
            "Kernel patch",
            domain::JobType::Maintenance,
            "prod",
            at(2, 20, 0),
            Some(at(2, 21, 30)),
        ),
        (
            "Backup check",
            domain::JobType::Maintenance,
            "prod",
            at(2, 21, 0),
            Some(at(2, 22, 0)),
        ),
    ];
    for (slot, (title, job_type, environment, start, end)) in ids.iter_mut().zip(jobs) {
        *slot = storage
            .create_job(
                &NewJob {
                    planned_end: end,
                    owner_id: Some(owner),
                    ..NewJob::planned(project.id, title, job_type, Some(environment), start)
                },
                &actor,
            )
            .await?
            .id;
    }
    Ok(ids)
}

/// The day cell (month view) holding a job, from its `data-date`.
async fn cell_of(client: &Client, job_id: i64) -> TestResult<String> {
    let cell = client
        .find(Locator::Css(&format!(
            ".month__cell:has([data-job-id='{job_id}'])"
        )))
        .await?;
    Ok(cell.attr("data-date").await?.unwrap_or_default())
}

/// Drags a job's pill onto a day cell with real pointer input (press, several moves, release).
async fn drag_to_day(client: &Client, job_id: i64, day: &str) -> TestResult {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let pill = client
        .find(Locator::Css(&format!(".cal-event[data-job-id='{job_id}']")))
        .await?;
    let target = client
        .find(Locator::Css(&format!(".month__cell[data-date='{day}']")))
        .await?;
    let actions = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: pill,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 12.0,
            y: 4.0,
        })
        .then(PointerAction::MoveToElement {
            element: target,
            duration: Some(Duration::from_millis(300)),
            x: 0.0,
            y: 10.0,
        })
        .then(PointerAction::Pause {
            duration: Duration::from_millis(100),
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(actions).await?;
    Ok(())
}

async fn notice(client: &Client) -> TestResult<(String, bool)> {
    let notice = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=calendar-notice] .notice"))
        .await?;
    let error = notice.attr("data-error").await?.as_deref() == Some("true");
    Ok((notice.text().await?, error))
}

async fn conflict_of(client: &Client, job_id: i64) -> TestResult<bool> {
    let pill = client
        .find(Locator::Css(&format!(".cal-event[data-job-id='{job_id}']")))
        .await?;
    Ok(pill.attr("data-conflict").await?.as_deref() == Some("true"))
}

async fn calendar_scenario(
    client: &Client,
    base: &str,
    day: chrono::NaiveDate,
    jobs: [i64; 4],
) -> TestResult {
    let [drag_me, ops_restart, kernel, backup] = jobs;
    let url = format!("/calendar?view=month&date={day}");
    let next_day = (day + chrono::Duration::days(1)).to_string();

    // demo-projets drags a job to the next day; the move survives a reload.
    log_in(client, base, "demo-projets", &url).await?;
    assert_eq!(cell_of(client, drag_me).await?, day.to_string());
    screenshot(client, "calendar-month").await?;
    drag_to_day(client, drag_me, &next_day).await?;
    let (text, error) = notice(client).await?;
    eventually(
        "the move to be confirmed",
        Duration::from_secs(20),
        || async {
            let (text, error) = notice(client).await?;
            Ok(text.contains("moved to") && !error)
        },
    )
    .await
    .map_err(|e| format!("{e}: {text} (error: {error})"))?;
    assert_eq!(cell_of(client, drag_me).await?, next_day);
    client.refresh().await?;
    hydrated(client).await?;
    assert_eq!(
        cell_of(client, drag_me).await?,
        next_day,
        "the move was stored"
    );

    // Two overlapping maintenances in prod: red border, and a tooltip naming the other one.
    assert!(conflict_of(client, kernel).await? && conflict_of(client, backup).await?);
    let tooltip = client
        .find(Locator::Css(&format!(
            ".cal-event[data-job-id='{kernel}'] [role=tooltip]"
        )))
        .await?;
    assert!(tooltip.html(true).await?.contains("Backup check"));
    let border = client
        .execute(
            &format!("return getComputedStyle(document.querySelector(\".cal-event[data-job-id='{kernel}']\")).borderTopColor"),
            vec![],
        )
        .await?;
    assert_eq!(
        border,
        serde_json::json!("rgb(255, 59, 59)"),
        "the conflict red"
    );

    // The week view shows them in the time grid, side by side (once every band is drawn: the
    // hours away from the opening ones are drawn just after the page is interactive).
    client
        .goto(&format!(
            "{base}/calendar?view=week&date={}",
            day + chrono::Duration::days(2)
        ))
        .await?;
    hydrated(client).await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!(
            "[data-testid=calendar][data-interactive] .timegrid__column .cal-event[data-job-id='{kernel}']"
        )))
        .await?;
    client.execute(&format!("document.querySelector(\".cal-event[data-job-id='{kernel}']\").scrollIntoView({{block: 'center'}}); return null;"), vec![]).await?;
    screenshot(client, "calendar-week").await?;

    // The resolution dialog applies the first free slot; the conflict goes away.
    client.goto(&format!("{base}{url}")).await?;
    hydrated(client).await?;
    client
        .find(Locator::Css(&format!(
            ".cal-event[data-job-id='{backup}'] [data-testid=resolve-conflict]"
        )))
        .await?
        .click()
        .await?;
    let dialog = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[role=dialog][data-testid=resolver]"))
        .await?;
    let slot = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=free-slot]"))
        .await?;
    assert!(dialog.text().await?.contains("Kernel patch"));
    screenshot(client, "calendar-resolve").await?;
    slot.click().await?;
    eventually(
        "the conflict to disappear",
        Duration::from_secs(20),
        || async { Ok(!conflict_of(client, kernel).await? && !conflict_of(client, backup).await?) },
    )
    .await?;
    eventually(
        "the move to be confirmed",
        Duration::from_secs(20),
        || async { Ok(notice(client).await?.0.contains("moved to")) },
    )
    .await?;
    client.refresh().await?;
    hydrated(client).await?;
    assert!(!conflict_of(client, kernel).await?, "resolved for good");
    log_out(client).await?;

    // demo-dev may not move an ops job: the calendar does not offer it (marked fixed, a drag
    // does not pick it up, nothing is sent); the server's refusal is tested in `doors.rs`.
    log_in(client, base, "demo-dev", &url).await?;
    assert_eq!(cell_of(client, ops_restart).await?, day.to_string());
    let pill = client
        .find(Locator::Css(&format!(
            ".cal-event[data-job-id=\"{ops_restart}\"]"
        )))
        .await?;
    assert_eq!(pill.attr("data-fixed").await?.as_deref(), Some("true"));
    drag_to_day(client, ops_restart, &next_day).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        cell_of(client, ops_restart).await?,
        day.to_string(),
        "not moved"
    );
    let shown = client
        .execute(
            "return document.querySelector('[data-testid=calendar-notice]').textContent;",
            vec![],
        )
        .await?;
    assert_eq!(shown, serde_json::json!(""), "no move was sent");
    screenshot(client, "calendar-refused").await?;
    Ok(())
}

/// A Wednesday two weeks ahead: its next days are in the same month grid.
fn scenario_day() -> chrono::NaiveDate {
    let ahead = chrono::Utc::now().date_naive() + chrono::Duration::days(14);
    ahead
        - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&ahead).num_days_from_monday(),
        ))
        + chrono::Duration::days(2)
}

/// Runs `scenario` against uhub on the demo data plus the calendar jobs, in a fresh browser.
async fn with_calendar<F, Fut>(scenario: F) -> TestResult
where
    F: FnOnce(Client, String, services::Storage, chrono::NaiveDate, [i64; 4]) -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    with_demo(|client, base, storage| async move {
        let day = scenario_day();
        let jobs = calendar_jobs(&storage, day).await?;
        scenario(client, base, storage, day, jobs).await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_drag_and_drop_conflicts_and_resolution() -> TestResult {
    with_calendar(|client, base, _storage, day, jobs| async move {
        calendar_scenario(&client, &base, day, jobs).await
    })
    .await
}

/// `demo-ops` moves a production maintenance: it becomes a pending request, shown on the job;
/// `demo-projets` approves it from the calendar and the job moves. A move made elsewhere shows
/// without a reload (the live stream), and the filters chosen come back on a bare `/calendar`.
async fn requests_live_and_filters(
    client: &Client,
    base: &str,
    storage: &services::Storage,
    day: chrono::NaiveDate,
    jobs: [i64; 4],
) -> TestResult {
    let [drag_me, ops_restart, _kernel, backup] = jobs;
    let url = format!("/calendar?view=month&date={day}");
    let backup_day = (day + chrono::Duration::days(2)).to_string();
    let later = (day + chrono::Duration::days(3)).to_string();

    log_in(client, base, "demo-ops", &url).await?;
    drag_to_day(client, backup, &later).await?;
    eventually("the request", Duration::from_secs(20), || async {
        Ok(notice(client).await?.0.contains("requested"))
    })
    .await?;
    let pill = format!(".cal-event[data-job-id='{backup}']");
    eventually("the pending mark", Duration::from_secs(10), || async {
        Ok(client
            .find(Locator::Css(&format!("{pill}[data-pending-move]")))
            .await
            .is_ok())
    })
    .await?;
    assert_eq!(cell_of(client, backup).await?, backup_day, "not moved yet");
    let queue = client
        .find(Locator::Css("[data-testid=move-requests]"))
        .await?;
    assert!(queue.text().await?.contains("Backup check"));
    screenshot(client, "calendar-pending").await?;
    log_out(client).await?;

    log_in(client, base, "demo-projets", &url).await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("{pill}[data-pending-move]")))
        .await?;
    client
        .find(Locator::Css(
            "[data-testid=move-requests] [data-testid=approve-move]",
        ))
        .await?
        .click()
        .await?;
    eventually("the approved move", Duration::from_secs(20), || async {
        Ok(cell_of(client, backup).await? == later
            && client
                .find(Locator::Css(&format!("{pill}[data-pending-move]")))
                .await
                .is_err())
    })
    .await?;
    assert!(notice(client).await?.0.contains("approved"));

    // Someone else moves a job meanwhile: it moves here without a reload of the page.
    client
        .execute("window.__sameDocument = true; return null;", vec![])
        .await?;
    let job = storage.job(drag_me).await?;
    let elsewhere = (day + chrono::Duration::days(1))
        .and_hms_opt(9, 0, 0)
        .map(|t| t.and_utc())
        .ok_or("time")?;
    storage
        .reschedule_job(
            drag_me,
            job.version,
            elsewhere,
            Some(elsewhere + chrono::Duration::hours(1)),
            &services::storage::Actor::system(),
        )
        .await?;
    let next_day = (day + chrono::Duration::days(1)).to_string();
    eventually("the live move", Duration::from_secs(20), || async {
        Ok(cell_of(client, drag_me).await? == next_day)
    })
    .await?;
    let same = client
        .execute("return window.__sameDocument === true;", vec![])
        .await?;
    assert_eq!(same, serde_json::json!(true), "no reload");

    // Filters chosen are remembered: a bare /calendar shows them again.
    let select = client
        .find(Locator::Css("[data-testid=filter-type]"))
        .await?;
    select.select_by_value("maintenance").await?;
    wait_for_type_filter(client, "maintenance").await?;
    client.goto(&format!("{base}/calendar")).await?;
    hydrated(client).await?;
    wait_for_type_filter(client, "maintenance").await?;
    assert!(
        client
            .find(Locator::Css(&format!(
                ".cal-event[data-job-id='{ops_restart}']"
            )))
            .await
            .is_err(),
        "the ops job is filtered out"
    );
    Ok(())
}

async fn wait_for_type_filter(client: &Client, value: &str) -> TestResult {
    eventually(
        &format!("the type filter on {value}"),
        Duration::from_secs(20),
        || async {
            let chosen = client
                .execute(
                    "const s = document.querySelector('[data-testid=filter-type]'); return s ? s.value : null;",
                    vec![],
                )
                .await?;
            Ok(chosen == serde_json::json!(value))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_move_requests_live_updates_and_remembered_filters() -> TestResult {
    with_calendar(|client, base, storage, day, jobs| async move {
        requests_live_and_filters(&client, &base, &storage, day, jobs).await
    })
    .await
}

/// `demo-ops` opens the Server view: gauges for CPU, memory and the disks, the per-core bars and
/// the history charts, drawn from the sampler's readings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_view_shows_the_host() -> TestResult {
    with_demo(|client, base, storage| async move {
        // A few readings stored, as the sampler would have made them.
        let monitor = services::host::HostMonitor::new(storage, Duration::from_secs(10));
        for _ in 0..4 {
            monitor.sample_and_store().await?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        log_in(&client, &base, "demo-ops", "/server").await?;
        for gauge in ["gauge-cpu", "gauge-memory", "gauge-swap"] {
            let element = client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css(&format!("[data-testid={gauge}]")))
                .await?;
            let level = element.attr("data-level").await?.unwrap_or_default();
            assert!(
                ["ok", "warn", "alert"].contains(&level.as_str()),
                "{gauge}: {level}"
            );
        }
        assert!(!client
            .find_all(Locator::Css("[data-testid^=gauge-disk-]"))
            .await?
            .is_empty());
        assert!(!client
            .find_all(Locator::Css(".cores__core"))
            .await?
            .is_empty());
        let lines = client
            .find_all(Locator::Css(".chart__line[data-series=CPU]"))
            .await?;
        assert_eq!(lines.len(), 1, "the CPU history line");
        let points = lines[0].attr("points").await?.unwrap_or_default();
        assert!(points.split_whitespace().count() >= 2, "{points}");
        screenshot(&client, "server").await?;
        log_out(&client).await?;
        // dev may not see it: one answer, whom it is for.
        log_in(&client, &base, "demo-dev", "/server").await?;
        let refused = client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("[data-testid=server-view-refused]"))
            .await?;
        assert!(refused.text().await?.contains("admins and ops"));
        Ok(())
    })
    .await
}
