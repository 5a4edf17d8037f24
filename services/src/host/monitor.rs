//! The host monitor: a background task reads the machine uHub runs on (CPU, memory, swap, disks,
//! network, with `sysinfo`, no agent) every `UHUB_METRICS_INTERVAL`, keeps the latest reading in
//! memory and stores each one, plus a 5-minute average, under a retention policy.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::host::{CpuFigures, DiskFigures, HostSample, MemoryFigures, NetworkFigures};
use sysinfo::{Disks, Networks, System};

use crate::storage::Storage;
use crate::{ServiceError, ServiceResult};

/// One stored row per raw sample: the history at full resolution.
pub const RAW_RETENTION: chrono::Duration = chrono::Duration::hours(24);
/// The 5-minute averages cover this much.
pub const AVERAGE_RETENTION: chrono::Duration = chrono::Duration::days(30);
pub use domain::host::AVERAGE_SECONDS;

/// What the sampler keeps between readings: sysinfo needs the previous one for rates.
struct Readers {
    system: System,
    disks: Disks,
    networks: Networks,
    last: Instant,
}

impl Readers {
    fn new() -> Readers {
        let mut system = System::new();
        system.refresh_cpu_usage();
        // CPU usage is a difference between two readings: take a first one a moment apart, so
        // the very first sample is already meaningful (this runs on a blocking thread).
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        system.refresh_cpu_usage();
        system.refresh_memory();
        Readers {
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            last: Instant::now(),
        }
    }

    /// Reads the host now. CPU usage and network rates are over the time since the last read.
    fn read(&mut self) -> HostSample {
        let elapsed = self.last.elapsed().as_secs_f64().max(0.001);
        self.last = Instant::now();
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let load = System::load_average();
        let per_core: Vec<f32> = self.system.cpus().iter().map(|c| c.cpu_usage()).collect();
        let total = self.system.total_memory();
        let available = self.system.available_memory();
        let mut listed: Vec<(String, DiskFigures)> = self
            .disks
            .list()
            .iter()
            .map(|disk| {
                (
                    disk.name().to_string_lossy().into_owned(),
                    DiskFigures {
                        mount: disk.mount_point().to_string_lossy().into_owned(),
                        file_system: disk.file_system().to_string_lossy().into_owned(),
                        total_bytes: disk.total_space(),
                        available_bytes: disk.available_space(),
                    },
                )
            })
            .collect();
        // One device mounted in several places (bind mounts, containers) is one disk: keep its
        // shortest mount point.
        listed.sort_by(|a, b| (a.1.mount.len(), &a.1.mount).cmp(&(b.1.mount.len(), &b.1.mount)));
        let mut seen = std::collections::HashSet::new();
        let mut disks: Vec<DiskFigures> = listed
            .into_iter()
            .filter(|(device, disk)| {
                let key = if device.is_empty() {
                    disk.mount.clone()
                } else {
                    device.clone()
                };
                seen.insert(key)
            })
            .map(|(_, disk)| disk)
            .collect();
        disks.sort_by(|a, b| a.mount.cmp(&b.mount));
        let mut network: Vec<NetworkFigures> = self
            .networks
            .iter()
            .map(|(name, data)| NetworkFigures {
                interface: name.clone(),
                received_per_second: data.received() as f64 / elapsed,
                transmitted_per_second: data.transmitted() as f64 / elapsed,
                total_received_bytes: data.total_received(),
                total_transmitted_bytes: data.total_transmitted(),
            })
            .collect();
        network.sort_by(|a, b| a.interface.cmp(&b.interface));
        HostSample {
            sampled_at: crate::storage::now(),
            cpu: CpuFigures {
                usage_percent: self.system.global_cpu_usage(),
                cores: per_core.len(),
                per_core,
                load_avg: [load.one, load.five, load.fifteen],
            },
            memory: MemoryFigures {
                total_bytes: total,
                used_bytes: total.saturating_sub(available),
            },
            swap: MemoryFigures {
                total_bytes: self.system.total_swap(),
                used_bytes: self.system.used_swap(),
            },
            disks,
            network,
        }
    }
}

/// The host monitor: cheap to clone, one sampler behind it.
#[derive(Clone)]
pub struct HostMonitor {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    interval: Duration,
    readers: Mutex<Option<Readers>>,
    latest: Mutex<Option<HostSample>>,
    /// Raw samples of the 5-minute bucket under way, averaged when it closes.
    bucket: Mutex<Vec<HostSample>>,
}

impl HostMonitor {
    pub fn new(storage: Storage, interval: Duration) -> HostMonitor {
        HostMonitor {
            inner: Arc::new(Inner {
                storage,
                interval,
                readers: Mutex::new(None),
                latest: Mutex::new(None),
                bucket: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// Reads the host now (on a blocking thread: sysinfo reads `/proc`) and keeps it as the
    /// latest reading; does not store it.
    pub async fn read_now(&self) -> ServiceResult<HostSample> {
        let inner = self.inner.clone();
        let sample = tokio::task::spawn_blocking(move || {
            let mut readers = inner
                .readers
                .lock()
                .map_err(|_| ServiceError::Internal("host sampler poisoned".into()))?;
            let readers = readers.get_or_insert_with(Readers::new);
            Ok::<HostSample, ServiceError>(readers.read())
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("host sampler: {e}")))??;
        if let Ok(mut latest) = self.inner.latest.lock() {
            *latest = Some(sample.clone());
        }
        Ok(sample)
    }

    /// The latest reading; one is taken now if none was yet.
    pub async fn latest(&self) -> ServiceResult<HostSample> {
        let latest = self.inner.latest.lock().ok().and_then(|l| l.clone());
        match latest {
            Some(sample) => Ok(sample),
            None => self.read_now().await,
        }
    }

    /// One cycle: read, store, average the bucket when it closes, apply the retention.
    pub async fn sample_and_store(&self) -> ServiceResult<HostSample> {
        let sample = self.read_now().await?;
        let interval = i64::try_from(self.inner.interval.as_secs()).unwrap_or(i64::MAX);
        self.inner
            .storage
            .store_host_sample(&sample, interval.max(1))
            .await?;
        let closed = {
            let mut bucket = self
                .inner
                .bucket
                .lock()
                .map_err(|_| ServiceError::Internal("host sampler poisoned".into()))?;
            let bucket_of = |s: &HostSample| s.sampled_at.timestamp().div_euclid(AVERAGE_SECONDS);
            let closed = match bucket.first() {
                Some(first) if bucket_of(first) != bucket_of(&sample) => {
                    Some(std::mem::take(&mut *bucket))
                }
                _ => None,
            };
            bucket.push(sample.clone());
            closed
        };
        if let Some(average) = closed.as_deref().and_then(domain::host::average) {
            self.inner
                .storage
                .store_host_sample(&average, AVERAGE_SECONDS)
                .await?;
            let now = Utc::now();
            self.inner
                .storage
                .prune_host_samples(now - RAW_RETENTION, now - AVERAGE_RETENTION)
                .await?;
        }
        Ok(sample)
    }

    /// The stored readings of `[from, to]`, oldest first, and the seconds each stands for: raw
    /// readings when the window lies within their 24 hours and spans at most a day, the 5-minute
    /// averages otherwise. The one place that rule lives (API, Server page, run page).
    pub async fn history(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ServiceResult<(Vec<HostSample>, i64)> {
        let averaged = to - from > RAW_RETENTION || from < Utc::now() - RAW_RETENTION;
        let items = self.inner.storage.host_history(from, to, averaged).await?;
        let resolution = if averaged {
            AVERAGE_SECONDS
        } else {
            i64::try_from(self.inner.interval.as_secs()).unwrap_or(i64::MAX)
        };
        Ok((items, resolution))
    }

    /// Samples every interval until the process ends. A failed cycle is logged; the next one
    /// tries again.
    pub fn start(&self) {
        let monitor = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(monitor.inner.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = monitor.sample_and_store().await {
                    tracing::warn!(%error, "host sample failed");
                }
            }
        });
    }
}
