//! Browser test: real headless Chromium, driven through chromedriver, against uhub serving the
//! real WASM bundle. Proves server rendering, hydration (`data-hydrated`), a client-side
//! interaction, and a browser → server function → database round trip.
//!
//! Needs chromedriver (`UHUB_TEST_CHROMEDRIVER`, default `chromedriver` on PATH), Chromium
//! (`UHUB_TEST_CHROMIUM`, default `/usr/bin/chromium`) and the built site (`UHUB_TEST_SITE_DIR`,
//! default `target/site`); `scripts/test.sh` provides all three. A missing one fails the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use services::testing::{TestEngine, TestStorage};
use uhub_server::config::Secret;
use uhub_server::{router, AppState};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn site_dir() -> PathBuf {
    let dir = std::env::var("UHUB_TEST_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")));
    assert!(
        dir.join("pkg/uhub.wasm").is_file(),
        "no browser bundle in {}: run scripts/build.sh (or scripts/test.sh) first",
        dir.display()
    );
    dir
}

/// chromedriver on a free port, killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
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

async fn browser(driver: &ChromeDriver, profile: &std::path::Path) -> TestResult<Client> {
    let chromium =
        std::env::var("UHUB_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
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
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResult<bool>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn card_count(client: &Client) -> TestResult<usize> {
    Ok(client
        .find_all(Locator::Css("li.project-card"))
        .await?
        .len())
}

async fn scenario(client: &Client, base: &str) -> TestResult {
    client.goto(&format!("{base}/projects")).await?;
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("html[data-hydrated]"))
        .await?;
    assert_eq!(
        card_count(client).await?,
        4,
        "the four demo projects are rendered"
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
    assert_eq!(count, "1 of 4 projects");
    let remaining = client
        .find(Locator::Css("li.project-card h2"))
        .await?
        .text()
        .await?;
    assert_eq!(remaining, "Infra K3s");

    if let Ok(dir) = std::env::var("UHUB_TEST_SCREENSHOT_DIR") {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            format!("{dir}/projects-filtered.png"),
            client.screenshot().await?,
        )?;
    }

    // Client-side navigation: the router swaps the page in place (the marker survives) and the
    // new page loads its projects through the server function, from the browser.
    client
        .execute("window.__uhubMarker = 'still here'; return null;", vec![])
        .await?;
    client
        .find(Locator::Css("a.nav__link[href='/']"))
        .await?
        .click()
        .await?;
    eventually(
        "the overview page with all projects",
        Duration::from_secs(20),
        || async {
            Ok(client.current_url().await?.path() == "/" && card_count(client).await? == 4)
        },
    )
    .await?;
    let marker = client
        .execute("return window.__uhubMarker || null;", vec![])
        .await?;
    assert_eq!(
        marker,
        serde_json::json!("still here"),
        "navigation stayed in the page (no reload)"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projects_page_hydrates_filters_and_navigates() -> TestResult {
    let site = site_dir();
    let storage = TestStorage::new(TestEngine::Sqlite).await;
    services::seed::load_demo(&storage.storage, chrono::Utc::now().date_naive()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let state = AppState::new(
        storage.storage.clone(),
        Secret::new("e2e".repeat(16)),
        &site,
        address,
    );
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir()?;
    let client = browser(&driver, profile.path()).await?;
    let outcome = scenario(&client, &format!("http://{address}")).await;
    // Always end the session, also on failure, or Chromium stays behind.
    let closed = client.close().await;
    server.abort();
    outcome?;
    closed?;
    Ok(())
}
