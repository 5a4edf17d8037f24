//! `GET /api/v1/calendar/events` and `GET /api/v1/jobs/{id}/free-slots` on both engines: the
//! FullCalendar shape, conflicts (overlap, touching, type and environment rules, filters that
//! hide a partner), colour modes, range checks, and a suggestion that clears a conflict.

use crate::common;

use axum::http::{Method, StatusCode};
use common::{expect, TestApp};
use serde_json::{json, Value};
use services::testing::TestEngine;

/// Creates a project; its id.
async fn project(app: &TestApp, token: &str, body: Value) -> i64 {
    let created = expect(
        app,
        Method::POST,
        "/api/v1/projects",
        token,
        Some(body),
        StatusCode::CREATED,
    )
    .await;
    created["id"].as_i64().unwrap_or_default()
}

async fn job(app: &TestApp, token: &str, project: i64, body: Value) -> i64 {
    let created = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project}/jobs"),
        token,
        Some(body),
        StatusCode::CREATED,
    )
    .await;
    created["id"].as_i64().unwrap_or_default()
}

fn event(events: &Value, id: i64) -> &Value {
    let id = id.to_string();
    events
        .as_array()
        .and_then(|list| list.iter().find(|e| e["id"].as_str() == Some(id.as_str())))
        .unwrap_or(&Value::Null)
}

async fn story(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let project_id = project(
        &app,
        &pm,
        json!({
            "name": "Calendar", "color": "#33ff99",
            "environments": [{"name": "staging"}, {"name": "prod", "is_production": true}],
        }),
    )
    .await;
    let window = |start: &str, end: Option<&str>| match end {
        Some(end) => json!({"planned_start": start, "planned_end": end}),
        None => json!({"planned_start": start}),
    };
    let with = |title: &str, job_type: &str, env: &str, w: Value| {
        let mut body = json!({"title": title, "job_type": job_type, "environment": env});
        if let (Some(body), Some(w)) = (body.as_object_mut(), w.as_object()) {
            body.extend(w.clone());
        }
        body
    };
    let kernel = job(
        &app,
        &pm,
        project_id,
        with(
            "Kernel patch",
            "maintenance",
            "prod",
            window("2031-03-10T22:00:00Z", Some("2031-03-11T00:00:00Z")),
        ),
    )
    .await;
    let backup = job(
        &app,
        &pm,
        project_id,
        with(
            "Backup check",
            "maintenance",
            "prod",
            window("2031-03-10T23:00:00Z", None),
        ),
    )
    .await;
    // Touches the kernel patch's end: no conflict.
    let after = job(
        &app,
        &pm,
        project_id,
        with(
            "Cache flush",
            "ops",
            "prod",
            window("2031-03-11T00:00:00Z", Some("2031-03-11T00:30:00Z")),
        ),
    )
    .await;
    // Overlaps, but staging / dev work is not checked against prod.
    let staging = job(
        &app,
        &pm,
        project_id,
        with(
            "Staging patch",
            "maintenance",
            "staging",
            window("2031-03-10T22:00:00Z", None),
        ),
    )
    .await;
    let dev = job(
        &app,
        &pm,
        project_id,
        with(
            "Dev deploy",
            "dev",
            "prod",
            window("2031-03-10T22:30:00Z", None),
        ),
    )
    .await;
    let day = job(
        &app,
        &pm,
        project_id,
        json!({"title": "Freeze", "job_type": "infra",
        "environment": "staging", "planned_start": "2031-03-12T00:00:00Z", "all_day": true}),
    )
    .await;

    let url =
        format!("/api/v1/calendar/events?start=2031-03-01&end=2031-04-01&project={project_id}");
    let events = expect(&app, Method::GET, &url, &pm, None, StatusCode::OK).await;
    assert_eq!(events.as_array().map(Vec::len), Some(6), "{events}");
    let kernel_event = event(&events, kernel);
    assert_eq!(kernel_event["title"], "Kernel patch");
    assert_eq!(kernel_event["start"], "2031-03-10T22:00:00Z");
    assert_eq!(kernel_event["end"], "2031-03-11T00:00:00Z");
    assert_eq!(kernel_event["allDay"], false);
    assert_eq!(kernel_event["color"], "#33ff99", "by project by default");
    let props = &kernel_event["extendedProps"];
    for field in [
        "job_id",
        "project_id",
        "project_name",
        "job_type",
        "status",
        "environment",
        "owner",
        "conflict",
        "conflicts_with",
    ] {
        assert!(props.get(field).is_some(), "extendedProps.{field}: {props}");
    }
    assert_eq!(props["project_name"], "Calendar");
    assert_eq!(props["owner"], "demo-projets");
    assert_eq!(
        (props["conflict"].as_bool(), props["conflicts_with"].clone()),
        (Some(true), json!([backup]))
    );
    let backup_event = event(&events, backup);
    assert_eq!(
        backup_event["end"], "2031-03-11T00:00:00Z",
        "one hour by default"
    );
    assert_eq!(
        backup_event["extendedProps"]["conflicts_with"],
        json!([kernel])
    );
    for quiet in [after, staging, dev, day] {
        assert_eq!(
            event(&events, quiet)["extendedProps"]["conflict"],
            false,
            "job {quiet}: {events}"
        );
    }
    let freeze = event(&events, day);
    assert_eq!(
        (
            freeze["allDay"].as_bool(),
            freeze["start"].as_str(),
            freeze["end"].as_str()
        ),
        (
            Some(true),
            Some("2031-03-12T00:00:00Z"),
            Some("2031-03-13T00:00:00Z")
        )
    );

    // Filters hide, but conflicts still count the hidden partner.
    let url_filtered = format!(
        "/api/v1/calendar/events?start=2031-03-10T00:00:00Z&end=2031-03-11T00:00:00Z&project={project_id}&environment=prod&type=maintenance&status=planned&color_by=type"
    );
    let filtered = expect(&app, Method::GET, &url_filtered, &pm, None, StatusCode::OK).await;
    let ids: Vec<i64> = filtered
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["extendedProps"]["job_id"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids, [kernel, backup]);
    assert_eq!(
        event(&filtered, kernel)["color"],
        domain::calendar::type_color(domain::JobType::Maintenance)
    );
    let by_ops = expect(&app, Method::GET, &format!(
        "/api/v1/calendar/events?start=2031-03-10&end=2031-03-12&project={project_id}&type=ops&color_by=status"
    ), &pm, None, StatusCode::OK).await;
    assert_eq!(by_ops.as_array().map(Vec::len), Some(1));
    assert_eq!(
        event(&by_ops, after)["color"],
        "#8b9bb4",
        "planned, by status"
    );

    // Ranges are checked.
    for (query, field) in [
        ("start=2031-03-10&end=2031-03-01", "end"),
        ("start=2031-01-01&end=2032-06-01", "end"),
        ("start=yesterday&end=2031-03-01", "start"),
        (
            "start=2031-03-01&end=2031-04-01&color_by=rainbow",
            "color_by",
        ),
    ] {
        let answer = expect(
            &app,
            Method::GET,
            &format!("/api/v1/calendar/events?{query}"),
            &pm,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            answer["fields"].get(field).is_some() || answer.to_string().contains(field),
            "{query}: {answer}"
        );
    }
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/calendar/events?start=2031-03-01&end=2031-04-01",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A suggestion for the backup check, applied with its version, clears both conflicts.
    let slots = expect(
        &app,
        Method::GET,
        &format!("/api/v1/jobs/{backup}/free-slots?count=2"),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(slots.as_array().map(Vec::len), Some(2), "{slots}");
    assert_eq!(
        slots[0]["start"], "2031-03-11T00:30:00Z",
        "after the kernel patch and the touching cache flush"
    );
    assert_eq!(slots[0]["end"], "2031-03-11T01:30:00Z");
    expect(
        &app,
        Method::GET,
        &format!("/api/v1/jobs/{backup}/free-slots?count=11"),
        &pm,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect(
        &app,
        Method::GET,
        "/api/v1/jobs/999999/free-slots",
        &pm,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let version = backup_event["extendedProps"]["version"]
        .as_i64()
        .unwrap_or_default();
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/jobs/{backup}"),
        &pm,
        Some(json!({
            "planned_start": slots[0]["start"], "planned_end": slots[0]["end"], "version": version,
        })),
        StatusCode::OK,
    )
    .await;
    let events = expect(&app, Method::GET, &url, &pm, None, StatusCode::OK).await;
    assert_eq!(
        event(&events, kernel)["extendedProps"]["conflict"],
        false,
        "{events}"
    );
    assert_eq!(event(&events, backup)["extendedProps"]["conflict"], false);

    // The demo data shows up without a project filter.
    let today = chrono::Utc::now().date_naive();
    let month = expect(
        &app,
        Method::GET,
        &format!(
            "/api/v1/calendar/events?start={}&end={}",
            today - chrono::Duration::days(3),
            today + chrono::Duration::days(40)
        ),
        &pm,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(month.as_array().is_some_and(|l| l.len() >= 5), "{month}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_api_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_api_on_postgres() {
    story(TestEngine::Postgres).await;
}

/// The opening tag of the band holding job `id` on a server-rendered time grid.
fn band_of(html: &str, id: i64) -> &str {
    let pill = html
        .find(&format!("data-job-id=\"{id}\""))
        .unwrap_or_else(|| panic!("job {id} is not in the page"));
    let band = html[..pill]
        .rfind("<div class=\"timegrid__band\"")
        .unwrap_or_else(|| panic!("job {id} is in no band"));
    let end = html[band..].find('>').map_or(html.len(), |n| band + n);
    &html[band..end]
}

/// The week page holds every job. Those of the hours it opens on (06:00–18:00) are drawn for the
/// first paint; bands wholly outside them are marked `data-later` (drawn just after the page is
/// interactive), and a band whose long job reaches into those hours is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_week_page_draws_the_opening_hours_first() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let pm = app.token("demo-projets").await;
    let project_id = project(
        &app,
        &pm,
        json!({"name": "Bands", "color": "#33ff99", "environments": [{"name": "staging"}]}),
    )
    .await;
    let at = |title: &str, start: &str, end: &str| {
        json!({"title": title, "job_type": "dev", "environment": "staging",
               "planned_start": start, "planned_end": end})
    };
    // The test server draws in UTC; these hours keep their bands in European zones too. "Long"
    // starts in a band of its own, before the opening hours, and runs into them.
    let mut ids = Vec::new();
    for (title, start, end) in [
        ("Night", "2031-05-07T00:30:00Z", "2031-05-07T01:00:00Z"),
        ("Morning", "2031-05-07T10:00:00Z", "2031-05-07T11:00:00Z"),
        ("Evening", "2031-05-07T21:30:00Z", "2031-05-07T22:00:00Z"),
        ("Long", "2031-05-06T01:00:00Z", "2031-05-06T12:00:00Z"),
    ] {
        ids.push(job(&app, &pm, project_id, at(title, start, end)).await);
    }
    let [night, morning, evening, long]: [i64; 4] = ids.try_into().expect("four jobs");

    let (status, html) = app
        .page_html("/calendar?view=week&date=2031-05-07", &pm)
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for (id, later) in [
        (night, true),
        (evening, true),
        (morning, false),
        (long, false),
    ] {
        let band = band_of(&html, id);
        assert_eq!(band.contains("data-later"), later, "job {id}: {band}");
    }
    // Tab order stays the day's order: bands follow each other by time.
    let positions: Vec<usize> = [night, morning, evening]
        .iter()
        .filter_map(|id| html.find(&format!("data-job-id=\"{id}\"")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // The grid opens on 07:00 before any script runs.
    assert!(html.contains("class=\"timegrid__opening\""));
}

/// The calendar page reads its month once and sends it once: in the island's props, not again
/// in the page's resolved-resource script (islands never read that copy: 233 KiB of a busy
/// month's 1,549). And a page that remembers the filters it was asked for (`view=` in the
/// address, a write) leaves nothing behind: a read made in the `Suspense`'s closure and left
/// unpolled once held SQLite's write lock, so that every log-in after it failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_page_sends_its_month_once_and_holds_no_lock() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let pm = app.token("demo-projets").await;
    let project_id = project(
        &app,
        &pm,
        json!({"name": "Once", "color": "#33ff99", "environments": [{"name": "staging"}]}),
    )
    .await;
    job(
        &app,
        &pm,
        project_id,
        json!({"title": "Quarterly unique rehearsal", "job_type": "dev", "environment": "staging",
               "planned_start": "2031-05-07T10:00:00Z", "planned_end": "2031-05-07T11:00:00Z"}),
    )
    .await;
    for view in ["week", "month", "week"] {
        let (status, html) = app
            .page_html(&format!("/calendar?view={view}&date=2031-05-07"), &pm)
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        // In the pill and in the island's props…
        assert!(
            html.contains("Quarterly unique rehearsal"),
            "{view}: {html}"
        );
        // …and in no script the page writes for the browser's resources.
        for script in html.split("<script").skip(1) {
            let script = &script[..script.find("</script>").unwrap_or(script.len())];
            assert!(
                !(script.contains("__RESOLVED_RESOURCES") && script.contains("unique rehearsal")),
                "{view}: the month written again for the browser: {}",
                &script[..script.len().min(300)]
            );
        }
        // Every write after the page goes through: a log-in records a session.
        let (status, _, answer) = app.login("demo-dev", "demo-dev").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "log-in after the {view} page: {answer}"
        );
    }
}
