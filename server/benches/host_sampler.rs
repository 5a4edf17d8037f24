//! Benchmark (not a test): what watching the host costs. The CPU time of one reading (sysinfo:
//! CPU, memory, disks, network) and of one full cycle (reading + storing), from the process's own
//! `getrusage`; then the resident memory of a release `uhub` left idle for 30 s (demo data,
//! SQLite, the sampler running). Prints the figures; never fails on a number.

use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};
use services::host::HostMonitor;
use services::testing::{TestEngine, TestStorage};

const READINGS: u32 = 200;

fn cpu_time() -> Duration {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let user = usage.user_time();
            let system = usage.system_time();
            Duration::from_secs((user.tv_sec() + system.tv_sec()).max(0) as u64)
                + Duration::from_micros((user.tv_usec() + system.tv_usec()).max(0) as u64)
        }
        Err(_) => Duration::ZERO,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn sampler_cost() {
    let storage = TestStorage::new(TestEngine::Sqlite).await;
    let monitor = HostMonitor::new(storage.storage.clone(), Duration::from_secs(10));
    if let Err(error) = monitor.read_now().await {
        println!("  cannot read the host: {error}");
        return;
    }
    let (cpu, wall) = (cpu_time(), Instant::now());
    for _ in 0..READINGS {
        if monitor.read_now().await.is_err() {
            println!("  a reading failed");
            return;
        }
    }
    let per_reading = (cpu_time() - cpu) / READINGS;
    let wall_per_reading = wall.elapsed() / READINGS;
    let (cpu, wall) = (cpu_time(), Instant::now());
    for _ in 0..READINGS {
        if monitor.sample_and_store().await.is_err() {
            println!("  a cycle failed");
            return;
        }
    }
    let per_cycle = (cpu_time() - cpu) / READINGS;
    let wall_per_cycle = wall.elapsed() / READINGS;
    println!(
        "  one reading: {} CPU ({} wall); one cycle with its row stored: {} CPU ({} wall); {READINGS} of each",
        ms(per_reading),
        ms(wall_per_reading),
        ms(per_cycle),
        ms(wall_per_cycle)
    );
    println!(
        "  at the default 10 s interval: {:.4} % of one core",
        per_cycle.as_secs_f64() / 10.0 * 100.0
    );
}

fn idle_memory() {
    let data = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            println!("  no temporary directory: {error}");
            return;
        }
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(38_123);
    let site = std::env::var("UHUB_TEST_SITE_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").to_owned());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_uhub"))
        .env("UHUB_DATA_DIR", data.path())
        .env("UHUB_BIND", format!("127.0.0.1:{port}"))
        .env("UHUB_SEED_DEMO", "true")
        .env("UHUB_SITE_DIR", &site)
        .env("UHUB_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            println!("  cannot start uhub: {error}");
            return;
        }
    };
    let ready = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if ready.elapsed() > Duration::from_secs(60) {
            println!("  uhub did not listen within 60 s");
            let _ = child.kill();
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (started, _) = memory_of(child.id());
    std::thread::sleep(Duration::from_secs(30));
    let (idle, peak) = memory_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "  uhub (release, SQLite, demo data): {:.1} MiB resident when listening, {:.1} MiB after 30 s idle (peak {:.1} MiB)",
        started as f64 / 1024.0,
        idle as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() {
    println!("host sampler: CPU cost per sample");
    sampler_cost().await;
    println!("uhub idle memory");
    idle_memory();
}
