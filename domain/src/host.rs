//! The host uHub runs on, as its sampler sees it: CPU, memory, swap, disks and network at one
//! instant. The same shape is stored, served by `/api/v1/server/metrics` and drawn by `/server`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One reading of the host.
/// The width of one averaged sample of the history, in seconds (five minutes).
pub const AVERAGE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostSample {
    pub sampled_at: DateTime<Utc>,
    pub cpu: CpuFigures,
    pub memory: MemoryFigures,
    pub swap: MemoryFigures,
    pub disks: Vec<DiskFigures>,
    pub network: Vec<NetworkFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CpuFigures {
    /// Busy share of all cores since the previous sample, 0 to 100.
    pub usage_percent: f32,
    /// Logical cores.
    pub cores: usize,
    /// Busy share of each core, 0 to 100.
    pub per_core: Vec<f32>,
    /// Load average over 1, 5 and 15 minutes.
    pub load_avg: [f64; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemoryFigures {
    pub total_bytes: u64,
    /// In use by programs (total minus available: caches the kernel can drop do not count).
    pub used_bytes: u64,
}

impl MemoryFigures {
    /// Used share, 0 to 100 (0 when there is none, e.g. no swap).
    pub fn used_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            self.used_bytes as f64 * 100.0 / self.total_bytes as f64
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskFigures {
    /// Where it is mounted.
    pub mount: String,
    pub file_system: String,
    pub total_bytes: u64,
    /// Free for unprivileged users (what `df` calls available).
    pub available_bytes: u64,
}

impl DiskFigures {
    pub fn used_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            (self.total_bytes - self.available_bytes.min(self.total_bytes)) as f64 * 100.0
                / self.total_bytes as f64
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkFigures {
    pub interface: String,
    /// Bytes per second received since the previous sample.
    pub received_per_second: f64,
    pub transmitted_per_second: f64,
    /// Since the interface came up.
    pub total_received_bytes: u64,
    pub total_transmitted_bytes: u64,
}

/// Where a figure turns from calm to worrying, and to alarming (percent used).
pub const WARN_PERCENT: f64 = 80.0;
pub const ALERT_PERCENT: f64 = 90.0;

/// How a used share reads: `ok`, `warn` or `alert`.
pub fn level(percent: f64) -> &'static str {
    if percent >= ALERT_PERCENT {
        "alert"
    } else if percent >= WARN_PERCENT {
        "warn"
    } else {
        "ok"
    }
}

/// The average of several samples (downsampling for long retention): means of the figures,
/// the last totals and sizes, timestamped at the last sample. `None` for no sample.
pub fn average(samples: &[HostSample]) -> Option<HostSample> {
    let last = samples.last()?;
    let count = samples.len() as f64;
    let mean32 = |f: &dyn Fn(&HostSample) -> f32| {
        (samples.iter().map(|s| f64::from(f(s))).sum::<f64>() / count) as f32
    };
    let mean64 = |f: &dyn Fn(&HostSample) -> f64| samples.iter().map(f).sum::<f64>() / count;
    let mean_u64 = |f: &dyn Fn(&HostSample) -> u64| {
        (samples.iter().map(|s| f(s) as f64).sum::<f64>() / count).round() as u64
    };
    let per_core = (0..last.cpu.per_core.len())
        .map(|core| mean32(&|s: &HostSample| s.cpu.per_core.get(core).copied().unwrap_or(0.0)))
        .collect();
    let load_avg = [0, 1, 2].map(|i| mean64(&|s: &HostSample| s.cpu.load_avg[i]));
    let network = last
        .network
        .iter()
        .map(|interface| {
            let of = |s: &HostSample| {
                s.network
                    .iter()
                    .find(|n| n.interface == interface.interface)
                    .map(|n| (n.received_per_second, n.transmitted_per_second))
                    .unwrap_or((0.0, 0.0))
            };
            NetworkFigures {
                received_per_second: mean64(&|s: &HostSample| of(s).0),
                transmitted_per_second: mean64(&|s: &HostSample| of(s).1),
                ..interface.clone()
            }
        })
        .collect();
    Some(HostSample {
        sampled_at: last.sampled_at,
        cpu: CpuFigures {
            usage_percent: mean32(&|s: &HostSample| s.cpu.usage_percent),
            cores: last.cpu.cores,
            per_core,
            load_avg,
        },
        memory: MemoryFigures {
            total_bytes: last.memory.total_bytes,
            used_bytes: mean_u64(&|s: &HostSample| s.memory.used_bytes),
        },
        swap: MemoryFigures {
            total_bytes: last.swap.total_bytes,
            used_bytes: mean_u64(&|s: &HostSample| s.swap.used_bytes),
        },
        disks: last.disks.clone(),
        network,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cpu: f32, used: u64, received: f64) -> HostSample {
        HostSample {
            sampled_at: Utc::now(),
            cpu: CpuFigures {
                usage_percent: cpu,
                cores: 2,
                per_core: vec![cpu, cpu],
                load_avg: [1.0, 0.5, 0.25],
            },
            memory: MemoryFigures {
                total_bytes: 1000,
                used_bytes: used,
            },
            swap: MemoryFigures {
                total_bytes: 0,
                used_bytes: 0,
            },
            disks: vec![DiskFigures {
                mount: "/".into(),
                file_system: "ext4".into(),
                total_bytes: 100,
                available_bytes: 15,
            }],
            network: vec![NetworkFigures {
                interface: "eth0".into(),
                received_per_second: received,
                transmitted_per_second: 0.0,
                total_received_bytes: 10,
                total_transmitted_bytes: 20,
            }],
        }
    }

    #[test]
    fn averages_are_means_with_the_last_sizes() {
        let merged = average(&[sample(10.0, 200, 100.0), sample(30.0, 400, 300.0)]);
        let merged = merged.as_ref();
        assert_eq!(merged.map(|m| m.cpu.usage_percent), Some(20.0));
        assert_eq!(
            merged.map(|m| m.cpu.per_core.clone()),
            Some(vec![20.0, 20.0])
        );
        assert_eq!(merged.map(|m| m.memory.used_bytes), Some(300));
        assert_eq!(
            merged.map(|m| m.network[0].received_per_second),
            Some(200.0)
        );
        assert_eq!(average(&[]), None);
    }

    #[test]
    fn levels_follow_the_thresholds() {
        assert_eq!(level(10.0), "ok");
        assert_eq!(level(80.0), "warn");
        assert_eq!(level(95.0), "alert");
        let disk = &sample(0.0, 0, 0.0).disks[0];
        assert_eq!(level(disk.used_percent()), "warn");
        assert_eq!(sample(0.0, 0, 0.0).swap.used_percent(), 0.0);
    }
}
