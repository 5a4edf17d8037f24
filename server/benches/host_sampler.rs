//! Benchmark (not a test): what watching the host costs. The CPU time of one reading (sysinfo:
//! CPU, memory, disks, network) and of one full cycle (reading + storing), from the process's own
//! `getrusage`. Prints the figures; never fails on a number. (uhub's idle memory, sampler
//! running, is `load.rs`'s first figure.)

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

#[tokio::main]
async fn main() {
    println!("host sampler: CPU cost per sample");
    sampler_cost().await;
}
