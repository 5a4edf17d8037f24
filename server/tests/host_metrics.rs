//! The Server view's figures against the kernel's own (`/proc/meminfo`, `/proc/cpuinfo`,
//! `/proc/loadavg`, `statvfs`), the API's access rule and shape, and the history's retention, on
//! both engines.

use crate::common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use common::{expect, TestApp};
use services::host::HostMonitor;
use services::testing::TestEngine;

/// A `/proc/meminfo` field in bytes.
fn meminfo(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .unwrap_or_else(|| panic!("{field} in /proc/meminfo"))
}

fn close(what: &str, ours: f64, kernel: f64, tolerance: f64) {
    assert!(
        (ours - kernel).abs() <= tolerance,
        "{what}: uHub says {ours}, the kernel {kernel} (tolerance {tolerance})"
    );
}

#[tokio::test]
async fn the_sampler_reads_what_the_kernel_says() {
    let storage = services::testing::TestStorage::new(TestEngine::Sqlite).await;
    let monitor = HostMonitor::new(storage.storage.clone(), Duration::from_secs(10));
    // CPU usage needs two readings some time apart.
    monitor.read_now().await.expect("first reading");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sample = monitor.read_now().await.expect("reading");

    let total = meminfo("MemTotal");
    assert_eq!(sample.memory.total_bytes, total, "MemTotal");
    let used = total - meminfo("MemAvailable");
    // Memory moves between the two reads: within 2 % of the total.
    close(
        "used memory",
        sample.memory.used_bytes as f64,
        used as f64,
        total as f64 * 0.02,
    );
    assert_eq!(sample.swap.total_bytes, meminfo("SwapTotal"), "SwapTotal");

    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(sample.cpu.cores, processors, "processors in /proc/cpuinfo");
    assert_eq!(sample.cpu.per_core.len(), processors);
    assert!((0.0..=100.0).contains(&sample.cpu.usage_percent));
    let loadavg = std::fs::read_to_string("/proc/loadavg").expect("/proc/loadavg");
    let one: f64 = loadavg
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("load");
    close("1-minute load", sample.cpu.load_avg[0], one, 1.0);

    // Every disk against statvfs on its mount point.
    assert!(!sample.disks.is_empty(), "no disk read");
    for disk in &sample.disks {
        let Ok(stats) = nix::sys::statvfs::statvfs(disk.mount.as_str()) else {
            continue;
        };
        let fragment = stats.fragment_size() as f64;
        let kernel_total = stats.blocks() as f64 * fragment;
        let kernel_available = stats.blocks_available() as f64 * fragment;
        close(
            &format!("{} size", disk.mount),
            disk.total_bytes as f64,
            kernel_total,
            kernel_total * 0.001,
        );
        // Other tests write files meanwhile: within 1 % of the size (or 64 MiB).
        close(
            &format!("{} available", disk.mount),
            disk.available_bytes as f64,
            kernel_available,
            (kernel_total * 0.01).max(64.0 * 1024.0 * 1024.0),
        );
    }
    assert!(
        sample.network.iter().any(|n| n.interface == "lo"),
        "the loopback interface: {:?}",
        sample.network
    );
}

async fn api_and_retention(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let now = expect(
        &app,
        Method::GET,
        "/api/v1/server/metrics",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    for pointer in [
        "/cpu/usage_percent",
        "/cpu/cores",
        "/cpu/per_core",
        "/cpu/load_avg",
        "/memory/total_bytes",
        "/memory/used_bytes",
        "/swap/total_bytes",
        "/disks/0/mount",
        "/disks/0/total_bytes",
        "/disks/0/available_bytes",
        "/network",
        "/sampled_at",
    ] {
        assert!(now.pointer(pointer).is_some(), "{pointer} in {now}");
    }
    let (status, body) = app
        .call(Method::GET, "/api/v1/server/metrics", Some(&dev), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("server_view_admin_ops"))
    );

    // Three cycles stored, then an old raw reading and an old average pruned.
    let monitor = app.host.clone();
    for _ in 0..3 {
        monitor.sample_and_store().await.expect("cycle");
    }
    let history = expect(
        &app,
        Method::GET,
        "/api/v1/server/metrics/history?minutes=10",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        history["items"].as_array().map(Vec::len),
        Some(3),
        "{history}"
    );
    assert_eq!(history["resolution_seconds"], 10);
    let storage = &app.storage.storage;
    let mut old = monitor.latest().await.expect("latest");
    old.sampled_at = Utc::now() - chrono::Duration::hours(30);
    storage.store_host_sample(&old, 10).await.expect("old raw");
    old.sampled_at = Utc::now() - chrono::Duration::days(40);
    storage
        .store_host_sample(&old, services::host::AVERAGE_SECONDS)
        .await
        .expect("old average");
    old.sampled_at = Utc::now() - chrono::Duration::days(3);
    storage
        .store_host_sample(&old, services::host::AVERAGE_SECONDS)
        .await
        .expect("recent average");
    let removed = storage
        .prune_host_samples(
            Utc::now() - services::host::RAW_RETENTION,
            Utc::now() - services::host::AVERAGE_RETENTION,
        )
        .await
        .expect("prune");
    assert_eq!(
        removed, 2,
        "the 30-hour-old raw reading and the 40-day-old average"
    );
    let week = expect(
        &app,
        Method::GET,
        "/api/v1/server/metrics/history?minutes=10080",
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(week["resolution_seconds"], 300, "a week reads the averages");
    assert_eq!(week["items"].as_array().map(Vec::len), Some(1), "{week}");
    for wrong in [
        "minutes=0",
        "minutes=50000",
        "from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z",
    ] {
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/server/metrics/history?{wrong}"),
                Some(&ops),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    }
}

#[tokio::test]
async fn metrics_api_and_retention_on_sqlite() {
    api_and_retention(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn metrics_api_and_retention_on_postgres() {
    api_and_retention(TestEngine::Postgres).await;
}
