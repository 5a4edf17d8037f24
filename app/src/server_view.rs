//! `/server`: the host uHub runs on — live gauges (CPU, memory, swap, disks), per-core bars,
//! load, network, and SVG history charts with the thresholds drawn — for `admin` and `ops`. Also
//! the host panel the run page shows for the time of a run.

use crate::ui::PageTitle;
use chrono::{DateTime, Duration, Utc};
use domain::host::{self, HostSample};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// What the Server page draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostView {
    pub latest: HostSample,
    pub history: Vec<HostSample>,
    /// Seconds between two readings: the page refreshes at that pace.
    pub interval_seconds: u64,
}

#[server(prefix = "/sfn", endpoint = "server/host")]
pub async fn load_host(minutes: i64) -> Result<HostView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let minutes = minutes.clamp(5, services::host::MAX_HISTORY_MINUTES);
    let (history, _) =
        services::host::history(&hub, &caller, services::host::Span::Last(minutes)).await?;
    Ok(HostView {
        latest: services::host::latest(&hub, &caller).await?,
        history,
        interval_seconds: hub.host.interval().as_secs().max(1),
    })
}

/// The host's readings around a moment (a run): from `from` to `to`, raw when recent.
#[server(prefix = "/sfn", endpoint = "server/window")]
pub async fn host_window(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HostSample>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let span = services::host::Span::Window(from, Some(to));
    Ok(services::host::history(&hub, &caller, span).await?.0)
}

/// The windows offered above the charts: (minutes, label).
const RANGES: [(i64, &str); 5] = [
    (60, "1 h"),
    (360, "6 h"),
    (1440, "24 h"),
    (10080, "7 d"),
    (43200, "30 d"),
];

/// A window's label from `RANGES`, in the page's language.
fn range_label(label: &'static str) -> &'static str {
    match label {
        "1 h" => t("1 h"),
        "6 h" => t("6 h"),
        "24 h" => t("24 h"),
        "7 d" => t("7 d"),
        "30 d" => t("30 d"),
        other => other,
    }
}

/// A series' name, in the page's language (the English stays on `data-series`).
fn series_label(name: &'static str) -> &'static str {
    match name {
        "CPU" => t("CPU"),
        "Memory" => t("Memory"),
        "Fullest disk" => t("Fullest disk"),
        other => other,
    }
}

fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut amount = value as f64;
    let mut unit = 0;
    while amount >= 1024.0 && unit < UNITS.len() - 1 {
        amount /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value} B")
    } else {
        format!("{amount:.1} {}", UNITS[unit])
    }
}

fn rate(per_second: f64) -> String {
    format!("{}/s", bytes(per_second.max(0.0).round() as u64))
}

/// `/server?minutes=N`: drawn on the server, then followed from the browser by [`HostLive`].
#[component]
#[inline(never)] // a route's page: see `App`
pub fn ServerPage() -> impl IntoView {
    if crate::session::refused_to_role(domain::policy::Action::ViewServer) {
        return view! {
            <crate::ui::OnlyFor title=t("For admins and ops only") testid="server-view-refused"
                text=t("The server view shows the load, memory, disks and network of the host uHub runs on, to those who run it: admins and ops.")/>
        }
        .into_any();
    }
    let query = use_query_map();
    let minutes = query.with_untracked(|q| {
        q.get("minutes")
            .and_then(|m| m.parse::<i64>().ok())
            .filter(|m| RANGES.iter().any(|(r, _)| r == m))
            .unwrap_or(60)
    });
    let data = crate::ui::page_data(move || load_host(minutes));
    view! {
        <PageTitle text=t("Server")/>
        <section class="server" data-testid="server">
            <header class="page-header">
                <h1>{t("Server")}</h1>
                <nav class="segmented" aria-label=t("History window")>
                    {RANGES.map(|(value, label)| view! {
                        <a class="segmented__item" class:segmented__item--on=minutes == value
                            aria-current=(minutes == value).then_some("page")
                            href=format!("/server?minutes={value}")>{range_label(label)}</a>
                    })}
                </nav>
            </header>
            <Suspense fallback=|| view! { <div class="card skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <HostLive minutes><HostPanels view minutes/></HostLive> }.into_any(),
                        Err(error) => host_error(error).into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

fn host_error(error: AppError) -> impl IntoView {
    view! {
        <section class="empty-state empty-state--error" role="alert">
            <h2>{t("The server view could not be loaded")}</h2>
            <p class="muted">{error.message}</p>
        </section>
    }
}

/// Follows the host at the sampler's pace: the server's panels (`children`) until the first
/// reading in the browser, then each new one, without a loading state in between.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn HostLive(minutes: i64, children: Children) -> impl IntoView {
    crate::i18n::provide_locale();
    let fresh = RwSignal::new(None::<Result<HostView, AppError>>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let read = move || {
            leptos::task::spawn_local(async move { fresh.set(Some(load_host(minutes).await)) })
        };
        let handle = set_interval_with_handle(read, std::time::Duration::from_secs(10));
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <div style:display=move || if fresh.with(Option::is_some) { "none" } else { "contents" }>
            {children()}
        </div>
        {move || fresh.get().map(|read| match read {
            Ok(view) => view! { <HostPanels view minutes/> }.into_any(),
            Err(error) => host_error(error).into_any(),
        })}
    }
}

/// A used share as a ring gauge, coloured by threshold.
fn gauge(label: &str, percent: f64, detail: String, test_id: String) -> impl IntoView {
    let level = host::level(percent);
    // The ring is a circle of circumference 100 (r = 15.915): the dash is the percentage.
    let dash = format!(
        "{:.1} {:.1}",
        percent.clamp(0.0, 100.0),
        100.0 - percent.clamp(0.0, 100.0)
    );
    view! {
        <figure class="gauge" data-level=level data-testid=test_id>
            <svg viewBox="0 0 42 42" class="gauge__ring" role="img" aria-label=tf("{label}: {percent}% used", &[("label", label), ("percent", &format!("{percent:.0}"))])>
                <circle class="gauge__track" cx="21" cy="21" r="15.915" fill="none" stroke-width="4"></circle>
                <circle class="gauge__value" cx="21" cy="21" r="15.915" fill="none" stroke-width="4"
                    stroke-dasharray=dash stroke-dashoffset="25"></circle>
                <text x="21" y="23.5" text-anchor="middle" class="gauge__figure">{format!("{percent:.0}%")}</text>
            </svg>
            <figcaption>
                <strong>{label.to_owned()}</strong>
                <span class="muted small">{detail}</span>
            </figcaption>
        </figure>
    }
}

/// One line of a chart: its name, its CSS class (colour) and its points (0–100 %).
pub struct Series {
    pub name: &'static str,
    pub class: &'static str,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// A line chart of `series` (0–100 %) over `[from, to]`, thresholds dashed.
pub fn chart(
    title: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    series: Vec<Series>,
) -> impl IntoView {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 140.0;
    let span = (to - from).num_milliseconds().max(1) as f64;
    let x = move |at: DateTime<Utc>| (at - from).num_milliseconds() as f64 / span * WIDTH;
    let y = |value: f64| HEIGHT - value.clamp(0.0, 100.0) / 100.0 * HEIGHT;
    let lines: Vec<_> = series
        .iter()
        .map(|Series { name, class, points }| {
            let path = points
                .iter()
                .map(|(at, value)| format!("{:.1},{:.1}", x(*at), y(*value)))
                .collect::<Vec<_>>()
                .join(" ");
            view! { <polyline class=format!("chart__line {class}") points=path data-series=*name></polyline> }
        })
        .collect();
    let legend: Vec<_> = series
        .iter()
        .map(|Series { name, class, points }| {
            let last = points.last().map(|(_, v)| format!(" {v:.0}%")).unwrap_or_default();
            view! { <li><span class=format!("chart__key {class}")></span>{format!("{}{last}", series_label(name))}</li> }
        })
        .collect();
    let empty = series.iter().all(|s| s.points.is_empty());
    view! {
        <figure class="chart card">
            <figcaption class="chart__head">
                <strong>{title.to_owned()}</strong>
                <ul class="chart__legend small">{legend}</ul>
            </figcaption>
            {if empty {
                view! { <p class="muted small chart__empty">{t("No reading stored for this window yet.")}</p> }.into_any()
            } else {
                view! {
                    <svg class="chart__plot" viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img"
                        aria-label=tf("{title}, from {from} to {to}", &[("title", title), ("from", &crate::i18n::dates(&from.format("%e %b %H:%M").to_string())), ("to", &crate::i18n::dates(&to.format("%e %b %H:%M").to_string()))])>
                        <line class="chart__threshold chart__threshold--alert" x1="0" x2=WIDTH y1=y(host::ALERT_PERCENT) y2=y(host::ALERT_PERCENT)></line>
                        <line class="chart__threshold" x1="0" x2=WIDTH y1=y(host::WARN_PERCENT) y2=y(host::WARN_PERCENT)></line>
                        <line class="chart__grid" x1="0" x2=WIDTH y1=y(50.0) y2=y(50.0)></line>
                        {lines}
                    </svg>
                }.into_any()
            }}
            <p class="chart__axis muted small">
                <span>{crate::i18n::dates(&from.format("%e %b %H:%M").to_string())}</span>
                <span>{crate::i18n::dates(&to.format("%e %b %H:%M UTC").to_string())}</span>
            </p>
        </figure>
    }
}

/// CPU and memory of `samples` as chart series.
pub fn usage_series(samples: &[HostSample]) -> Vec<Series> {
    vec![
        Series {
            name: "CPU",
            class: "chart__line--cpu",
            points: samples
                .iter()
                .map(|s| (s.sampled_at, f64::from(s.cpu.usage_percent)))
                .collect(),
        },
        Series {
            name: "Memory",
            class: "chart__line--memory",
            points: samples
                .iter()
                .map(|s| (s.sampled_at, s.memory.used_percent()))
                .collect(),
        },
    ]
}

#[component]
fn HostPanels(view: HostView, minutes: i64) -> impl IntoView {
    let latest = view.latest;
    let now = latest.sampled_at;
    let from = now - Duration::minutes(minutes);
    let cpu = f64::from(latest.cpu.usage_percent);
    let [one, five, fifteen] = latest.cpu.load_avg;
    let disks_history = vec![Series {
        name: "Fullest disk",
        class: "chart__line--disk",
        points: view
            .history
            .iter()
            .map(|s| {
                let fullest = s.disks.iter().map(|d| d.used_percent()).fold(0.0, f64::max);
                (s.sampled_at, fullest)
            })
            .collect(),
    }];
    view! {
        <p class="muted small" data-testid="sampled-at">
            {tf("Read at {at} · every {n} s · thresholds {warn}% / {alert}%", &[
                ("at", &latest.sampled_at.format("%H:%M:%S UTC").to_string()),
                ("n", &view.interval_seconds.to_string()),
                ("warn", &host::WARN_PERCENT.to_string()),
                ("alert", &host::ALERT_PERCENT.to_string()),
            ])}
        </p>
        <div class="gauges">
            {gauge(t("CPU"), cpu, tf("{n} cores · load {one} {five} {fifteen}", &[
                ("n", &latest.cpu.cores.to_string()),
                ("one", &format!("{one:.2}")),
                ("five", &format!("{five:.2}")),
                ("fifteen", &format!("{fifteen:.2}")),
            ]), "gauge-cpu".into())}
            {gauge(t("Memory"), latest.memory.used_percent(),
                tf("{used} of {total}", &[("used", &bytes(latest.memory.used_bytes)), ("total", &bytes(latest.memory.total_bytes))]), "gauge-memory".into())}
            {gauge(t("Swap"), latest.swap.used_percent(),
                if latest.swap.total_bytes == 0 { t("no swap").to_owned() } else {
                    tf("{used} of {total}", &[("used", &bytes(latest.swap.used_bytes)), ("total", &bytes(latest.swap.total_bytes))]) }, "gauge-swap".into())}
            {latest.disks.iter().map(|d| gauge(&d.mount, d.used_percent(),
                tf("{free} free of {total} · {fs}", &[("free", &bytes(d.available_bytes)), ("total", &bytes(d.total_bytes)), ("fs", &d.file_system)]),
                format!("gauge-disk-{}", d.mount))).collect_view()}
        </div>
        <section class="card cores" aria-label=t("Cores")>
            <h2 class="small muted">{t("Per core")}</h2>
            <ul class="cores__list">
                {latest.cpu.per_core.iter().enumerate().map(|(n, usage)| {
                    let usage = f64::from(*usage);
                    view! {
                        <li class="cores__core" data-level=host::level(usage)>
                            <span class="mono small">{format!("cpu{n}")}</span>
                            <span class="cores__bar"><span style=format!("width: {usage:.0}%")></span></span>
                            <span class="mono small">{format!("{usage:.0}%")}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        <div class="charts">
            {chart(t("CPU and memory"), from, now, usage_series(&view.history))}
            {chart(t("Disk"), from, now, disks_history)}
        </div>
        <section class="card" aria-label=t("Network")>
            <h2 class="small muted">{t("Network")}</h2>
            <table class="api-table">
                <thead><tr><th>{t("Interface")}</th><th>{t("Received")}</th><th>{t("Sent")}</th><th>{t("Total received")}</th><th>{t("Total sent")}</th></tr></thead>
                <tbody>
                    {latest.network.iter().map(|n| view! {
                        <tr>
                            <td class="mono">{n.interface.clone()}</td>
                            <td>{rate(n.received_per_second)}</td>
                            <td>{rate(n.transmitted_per_second)}</td>
                            <td>{bytes(n.total_received_bytes)}</td>
                            <td>{bytes(n.total_transmitted_bytes)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_df() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(24 * 1024 * 1024 * 1024), "24.0 GiB");
        assert_eq!(rate(2048.4), "2.0 KiB/s");
    }
}
