//! Benchmark (not a test): uHub as a process, the release binary with the demo data on SQLite,
//! driven over loopback the way a team drives it.
//!
//! - Memory: resident set after start; its peak during a burst of 50 concurrent logins; then a
//!   soak of mixed load (server-rendered pages, API reads, live streams, runs, logins), sampled
//!   every second, with the slope of its second half: a plateau or a leak.
//! - Throughput: requests per second and p50/p99 latency from `wrk` (Debian's) for the
//!   server-rendered dashboard, the server-rendered month of 2,000 jobs and the calendar API
//!   over the same month, each for a bounded time.
//!
//! `UHUB_BENCH_SOAK_SECONDS` (600) and `UHUB_BENCH_WRK_SECONDS` (15) shorten it; `UHUB_BENCH_WRK`
//! names the load generator (`wrk` on the path); `UHUB_BENCH_BINARY` another `uhub` to measure
//! (the container image's static one). Prints; never fails on a number (the machine is
//! shared). Run with `scripts/bench.sh`, which installs `wrk` and builds the bundle.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const LOGIN_BURST: usize = 50;
const MONTH_JOBS: usize = 2_000;
const PROJECTS: usize = 8;
/// Clients looping over pages and API reads during the soak.
const SOAK_CLIENTS: usize = 6;
/// Live streams held open during the soak (the calendar's change feed, reopened every 20 s).
const SOAK_STREAMS: usize = 4;
const WRK_CONNECTIONS: usize = 16;
const MONTH: &str = "2030-03-15";
const MONTH_EVENTS: &str = "start=2030-03-01T00:00:00Z&end=2030-04-01T00:00:00Z";

fn seconds_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Fields of `/proc/PID/status` in KiB, 0 for any it lacks.
fn status_fields<const N: usize>(pid: u32, names: [&str; N]) -> [u64; N] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    names.map(|name| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
}

/// Resident and peak resident memory of a process, in KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let [rss, peak] = status_fields(pid, ["VmRSS", "VmHWM"]);
    (rss, peak)
}

/// The resident set split into memory the process allocated and pages of mapped files (its
/// own executable's code, mostly), in KiB.
fn resident_split(pid: u32) -> (u64, u64) {
    let [anonymous, file, shared] = status_fields(pid, ["RssAnon", "RssFile", "RssShmem"]);
    (anonymous, file + shared)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Samples a process's resident memory every `every` into a shared list until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<std::sync::Mutex<Vec<(Duration, u64)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let thread = {
            let (stop, samples) = (stop.clone(), samples.clone());
            std::thread::spawn(move || {
                let began = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let (rss, _) = memory_of(pid);
                    if let Ok(mut samples) = samples.lock() {
                        samples.push((began.elapsed(), rss));
                    }
                    std::thread::sleep(every);
                }
            })
        };
        Sampler {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Vec<(Duration, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Least-squares slope of resident memory over time, in MiB per minute.
fn slope_mib_per_minute(samples: &[(Duration, u64)]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let xs: Vec<f64> = samples
        .iter()
        .map(|(t, _)| t.as_secs_f64() / 60.0)
        .collect();
    let ys: Vec<f64> = samples.iter().map(|(_, r)| *r as f64 / 1024.0).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let covariance: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let variance: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if variance == 0.0 {
        0.0
    } else {
        covariance / variance
    }
}

/// The running server, killed when dropped.
struct Server {
    child: std::process::Child,
    base: String,
    _data: tempfile::TempDir,
    _scripts: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> BenchResult<Server> {
    let data = tempfile::tempdir()?;
    let scripts = tempfile::tempdir()?;
    // The very binary `true`, as the script the soak's runs execute.
    let system_true = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or("no `true` binary")?;
    let script = scripts.path().join("true");
    std::fs::copy(system_true, &script)?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let site = std::env::var("UHUB_TEST_SITE_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").to_owned());
    let binary = std::env::var("UHUB_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_uhub").to_owned());
    println!("binary: {binary}");
    let child = std::process::Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UHUB_DATA_DIR", data.path())
        .env("UHUB_SCRIPTS_DIR", scripts.path())
        .env("UHUB_BIND", format!("127.0.0.1:{port}"))
        .env("UHUB_SEED_DEMO", "true")
        .env("UHUB_SITE_DIR", &site)
        .env("UHUB_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    Ok(Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _data: data,
        _scripts: scripts,
    })
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> BenchResult {
    let began = Instant::now();
    loop {
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if began.elapsed() > Duration::from_secs(60) {
            return Err("uhub was not ready within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn token(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> BenchResult<String> {
    let answer: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned())
}

async fn post(
    http: &reqwest::Client,
    url: String,
    bearer: &str,
    body: Value,
) -> BenchResult<Value> {
    let response = http
        .post(url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(format!("{status}: {text}").into());
    }
    Ok(serde_json::from_str(&text)?)
}

/// What the load needs: 8 projects holding 2,000 jobs in March 2030, a job running `true`,
/// and 50 accounts for the login burst. Returns the admin's token and the runnable job.
async fn prepare(http: &reqwest::Client, base: &str) -> BenchResult<(String, i64)> {
    let admin = token(http, base, "demo-admin", "demo-admin").await?;
    let api = format!("{base}/api/v1");
    let mut projects = Vec::new();
    for n in 0..PROJECTS {
        let project = post(
            http,
            format!("{api}/projects"),
            &admin,
            json!({"name": format!("Load {n}"), "environments": ["dev", "staging", "prod"], "execution_backend": "local"}),
        )
        .await?;
        projects.push(project["id"].as_i64().ok_or("project id")?);
    }
    let types = ["dev", "ops", "maintenance", "meeting", "infra"];
    let environments = ["dev", "staging", "prod"];
    let mut random = 42_u64;
    let mut next = |below: u64| {
        random = random
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (random >> 33) % below
    };
    let march = chrono::NaiveDate::from_ymd_opt(2030, 3, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or("date")?
        .and_utc();
    let mut bodies = Vec::with_capacity(MONTH_JOBS);
    for n in 0..MONTH_JOBS {
        let start = march + chrono::Duration::minutes(15 * next(31 * 24 * 4) as i64);
        let end = start + chrono::Duration::minutes(30 + 15 * next(11) as i64);
        let project = projects[next(PROJECTS as u64) as usize];
        bodies.push((
            project,
            json!({
                "title": format!("Change {n}"), "job_type": types[n % types.len()],
                "environment": environments[next(3) as usize],
                "planned_start": start.to_rfc3339(), "planned_end": end.to_rfc3339(),
            }),
        ));
    }
    let queue = Arc::new(tokio::sync::Mutex::new(bodies));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, api, admin, queue) = (http.clone(), api.clone(), admin.clone(), queue.clone());
        workers.spawn(async move {
            loop {
                let Some((project, body)) = queue.lock().await.pop() else {
                    return Ok::<(), Box<dyn std::error::Error + Send + Sync>>(());
                };
                post(
                    &http,
                    format!("{api}/projects/{project}/jobs"),
                    &admin,
                    body,
                )
                .await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let job = post(
        http,
        format!("{api}/projects/{}/jobs", projects[0]),
        &admin,
        json!({"title": "true", "job_type": "dev", "environment": "dev",
               "planned_start": "2031-01-01T09:00:00Z", "action": {"kind": "script", "path": "true"}}),
    )
    .await?;
    for n in 0..LOGIN_BURST {
        post(
            http,
            format!("{api}/users"),
            &admin,
            json!({"username": format!("load-{n}"), "display_name": format!("Load {n}"),
                   "role": "dev", "password": format!("load-password-{n}-long"), "must_change_password": false}),
        )
        .await?;
    }
    Ok((admin, job["id"].as_i64().ok_or("job id")?))
}

/// One request of the soak's mix; counts what was answered and what failed.
async fn soak_client(
    http: reqwest::Client,
    base: String,
    bearer: String,
    until: Instant,
    answered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) {
    let cookie = format!("uhub_session={bearer}");
    let pages = [
        "/".to_owned(),
        format!("/calendar?view=month&date={MONTH}"),
        "/projects".to_owned(),
        "/server".to_owned(),
    ];
    let reads = [
        format!("/api/v1/calendar/events?{MONTH_EVENTS}"),
        "/api/v1/projects".to_owned(),
        "/api/v1/auth/me".to_owned(),
        "/api/v1/server/metrics".to_owned(),
    ];
    let mut n = 0_usize;
    while Instant::now() < until {
        let request = if n.is_multiple_of(2) {
            http.get(format!("{base}{}", pages[(n / 2) % pages.len()]))
                .header("cookie", &cookie)
        } else {
            http.get(format!("{base}{}", reads[(n / 2) % reads.len()]))
                .bearer_auth(&bearer)
        };
        n += 1;
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                let _ = response.bytes().await;
                answered.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Holds the calendar's change feed open, reopening it every 20 s.
async fn soak_stream(http: reqwest::Client, base: String, bearer: String, until: Instant) {
    while Instant::now() < until {
        let Ok(mut response) = http
            .get(format!("{base}/api/v1/calendar/changes"))
            .bearer_auth(&bearer)
            .header("accept", "text/event-stream")
            .send()
            .await
        else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let held = Instant::now();
        while held.elapsed() < Duration::from_secs(20) && Instant::now() < until {
            match tokio::time::timeout(Duration::from_secs(1), response.chunk()).await {
                Ok(Ok(Some(_))) | Err(_) => {}
                Ok(Ok(None) | Err(_)) => break,
            }
        }
    }
}

/// Launches a run of `true` every second and logs someone in every 5 s.
async fn soak_runs_and_logins(
    http: reqwest::Client,
    base: String,
    bearer: String,
    job: i64,
    until: Instant,
    runs: Arc<AtomicU64>,
) {
    let mut n = 0_usize;
    while Instant::now() < until {
        let launched = post(
            &http,
            format!("{base}/api/v1/jobs/{job}/runs"),
            &bearer,
            json!({}),
        )
        .await;
        if launched.is_ok() {
            runs.fetch_add(1, Ordering::Relaxed);
        }
        if n.is_multiple_of(5) {
            let user = format!("load-{}", n % LOGIN_BURST);
            let password = format!("load-password-{}-long", n % LOGIN_BURST);
            let _ = token(&http, &base, &user, &password).await;
        }
        n += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `wrk` against one URL: requests/s, p50, p99 and errors as it printed them.
fn wrk(program: &str, seconds: u64, url: &str, header: &str) -> BenchResult<String> {
    let output = std::process::Command::new(program)
        .args([
            "-t2",
            &format!("-c{WRK_CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
        ])
        .args(["-H", header, url])
        .output()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "`{program}` failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let find = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(format!(
        "{:>9} req/s   p50 {:>9}   p99 {:>9}{}",
        find("Requests/sec:"),
        find("50%"),
        find("99%"),
        if errors.is_empty() {
            String::new()
        } else {
            format!("   ({errors})")
        }
    ))
}

#[tokio::main]
async fn main() -> BenchResult {
    let soak_seconds = seconds_from_env("UHUB_BENCH_SOAK_SECONDS", 600);
    let wrk_seconds = seconds_from_env("UHUB_BENCH_WRK_SECONDS", 15);
    let wrk_program = std::env::var("UHUB_BENCH_WRK").unwrap_or_else(|_| "wrk".to_owned());
    let server = start_server()?;
    let pid = server.child.id();
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    wait_ready(&http, &base).await?;

    println!("memory (release, SQLite, demo data; targets: idle ≤ 40 MiB, ≤ 150 MiB under load with a plateau)");
    let (listening, _) = memory_of(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (idle, _) = memory_of(pid);
    let (anonymous, file) = resident_split(pid);
    println!(
        "  resident when listening: {}; after 10 s idle: {} ({} allocated, {} of the mapped binary)",
        mib(listening),
        mib(idle),
        mib(anonymous),
        mib(file)
    );

    let preparing = Instant::now();
    let (admin, job) = prepare(&http, &base).await?;
    let (prepared, _) = memory_of(pid);
    println!(
        "  after loading {MONTH_JOBS} jobs and {LOGIN_BURST} accounts through the API ({:.1} s): {}",
        preparing.elapsed().as_secs_f64(),
        mib(prepared)
    );

    let sampler = Sampler::start(pid, Duration::from_millis(20));
    let burst = Instant::now();
    let mut logins = tokio::task::JoinSet::new();
    for n in 0..LOGIN_BURST {
        let (http, base) = (http.clone(), base.clone());
        logins.spawn(async move {
            token(
                &http,
                &base,
                &format!("load-{n}"),
                &format!("load-password-{n}-long"),
            )
            .await
        });
    }
    let mut signed_in = 0;
    while let Some(done) = logins.join_next().await {
        if matches!(done, Ok(Ok(_))) {
            signed_in += 1;
        }
    }
    let burst_time = burst.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let burst_samples = sampler.finish();
    let burst_peak = burst_samples.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let (after_burst, _) = memory_of(pid);
    println!(
        "  {LOGIN_BURST} concurrent logins: {signed_in} signed in within {:.2} s; peak {}, {} 5 s later",
        burst_time.as_secs_f64(),
        mib(burst_peak),
        mib(after_burst)
    );

    let until = Instant::now() + Duration::from_secs(soak_seconds);
    let (answered, failed, runs) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let sampler = Sampler::start(pid, Duration::from_secs(1));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..SOAK_CLIENTS {
        load.spawn(soak_client(
            http.clone(),
            base.clone(),
            admin.clone(),
            until,
            answered.clone(),
            failed.clone(),
        ));
    }
    for _ in 0..SOAK_STREAMS {
        load.spawn(soak_stream(
            http.clone(),
            base.clone(),
            admin.clone(),
            until,
        ));
    }
    load.spawn(soak_runs_and_logins(
        http.clone(),
        base.clone(),
        admin.clone(),
        job,
        until,
        runs.clone(),
    ));
    let minute = Duration::from_secs(60.min(soak_seconds.max(1)));
    let mut printed = 0;
    while Instant::now() < until {
        tokio::time::sleep(
            minute.min(until.saturating_duration_since(Instant::now()) + Duration::from_millis(10)),
        )
        .await;
        printed += 1;
        let (rss, _) = memory_of(pid);
        println!(
            "  soak {:>4} s: {} resident; {} answered, {} failed, {} runs launched",
            printed * minute.as_secs(),
            mib(rss),
            answered.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
            runs.load(Ordering::Relaxed)
        );
    }
    while load.join_next().await.is_some() {}
    let soak = sampler.finish();
    let soak_peak = soak.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let second_half = &soak[soak.len() / 2..];
    let plateau = second_half.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let slope = slope_mib_per_minute(second_half);
    println!(
        "  soak of {soak_seconds} s ({SOAK_CLIENTS} clients on pages and API, {SOAK_STREAMS} live streams, a run a second, a login every 5 s):"
    );
    println!(
        "    peak {}; second half: at most {}, slope {slope:+.2} MiB/min ({})",
        mib(soak_peak),
        mib(plateau),
        if slope.abs() < 0.5 {
            "a plateau"
        } else {
            "still moving"
        }
    );
    println!(
        "    {} requests answered ({:.0}/s), {} failed",
        answered.load(Ordering::Relaxed),
        answered.load(Ordering::Relaxed) as f64 / soak_seconds.max(1) as f64,
        failed.load(Ordering::Relaxed)
    );

    println!(
        "throughput: wrk, 2 threads, {WRK_CONNECTIONS} connections, {wrk_seconds} s each, loopback"
    );
    let cookie = format!("Cookie: uhub_session={admin}");
    let bearer = format!("Authorization: Bearer {admin}");
    for (label, url, header) in [
        ("SSR dashboard (/)", format!("{base}/"), &cookie),
        (
            "SSR month, 2,000 jobs",
            format!("{base}/calendar?view=month&date={MONTH}"),
            &cookie,
        ),
        (
            "calendar API, same month",
            format!("{base}/api/v1/calendar/events?{MONTH_EVENTS}"),
            &bearer,
        ),
    ] {
        match wrk(&wrk_program, wrk_seconds, &url, header) {
            Ok(figures) => println!("  {label:<26} {figures}"),
            Err(error) => println!("  {label:<26} {error}"),
        }
    }
    let (end, peak) = memory_of(pid);
    let (anonymous, file) = resident_split(pid);
    println!(
        "  resident after the load: {} ({} allocated, {} mapped files); peak over the whole run: {}",
        mib(end),
        mib(anonymous),
        mib(file),
        mib(peak)
    );
    Ok(())
}
