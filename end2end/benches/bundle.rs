//! Benchmark (not a test): the code each first page makes the browser download. Each page is
//! opened in headless Chromium as a person opens it (the login page signed out; the others
//! signed in through it as the demo admin), hydrated (the login page, served without the bundle,
//! loaded), and the WASM and JavaScript files it requested are fetched again to weigh them raw
//! and as uHub serves them gzipped: what the page loads first, before anything in it is used (a
//! page's islands hydrated on intent come later). Prints; the target is ≤ 250 KiB of
//! gzipped WASM for the login, dashboard and project pages.

use end2end::{code_requested, hydrated, log_in, with_demo, TestResult};

/// Bytes of `url` as served with and without `Accept-Encoding: gzip`.
async fn weigh(http: &reqwest::Client, url: &str) -> TestResult<(u64, u64)> {
    let body = |gzip: bool| async move {
        let mut request = http.get(url);
        if gzip {
            request = request.header("accept-encoding", "gzip");
        }
        let response = request.send().await?.error_for_status()?;
        Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(response.bytes().await?.len() as u64)
    };
    Ok((body(false).await?, body(true).await?))
}

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

#[tokio::main]
async fn main() -> TestResult {
    println!("code per first page (headless Chromium; raw / gzipped as served)");
    with_demo(|client, base, storage| async move {
        let project = end2end::demo_project(&storage, "Projet Pilote App X").await?;
        let http = reqwest::Client::new();
        let mut pages = vec![("/login (signed out)", "/login".to_owned())];
        pages.extend([
            ("/ (dashboard)", "/".to_owned()),
            ("/projects", "/projects".to_owned()),
            ("/projects/:id", format!("/projects/{}", project.id)),
            (
                "/projects/:id?tab=code",
                format!("/projects/{}?tab=code", project.id),
            ),
            ("/calendar (month)", "/calendar?view=month".to_owned()),
            ("/incidents", "/incidents".to_owned()),
        ]);
        for (n, (label, path)) in pages.into_iter().enumerate() {
            if n == 1 {
                log_in(&client, &base, "demo-admin", "/").await?;
            }
            client.goto(&format!("{base}{path}")).await?;
            // The login page is a plain form served without the bundle: loaded (the navigation
            // waits for `load`) is all it gets to.
            if n > 0 {
                hydrated(&client).await?;
            }
            let (mut wasm, mut script) = ((0, 0), (0, 0));
            for url in code_requested(&client).await? {
                let (raw, gzipped) = weigh(&http, &url).await?;
                let total = if url.contains(".wasm") {
                    &mut wasm
                } else {
                    &mut script
                };
                total.0 += raw;
                total.1 += gzipped;
            }
            println!(
                "  {label:<22} WASM {:>9} / {:>9}   JS {:>7} / {:>7}",
                kib(wasm.0),
                kib(wasm.1),
                kib(script.0),
                kib(script.1)
            );
        }
        Ok(())
    })
    .await
}
