//! Projects and jobs through the REST API on SQLite and PostgreSQL: listings with filters,
//! sorting and cursor pages; validation (422 naming the field); 404; stale versions (409 with
//! the current job).

use crate::common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestApp;
use serde_json::{json, Value};
use services::testing::TestEngine;

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["id"].as_i64())
        .collect()
}

async fn story(engine: TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let (status, project) = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&pm),
            Some(json!({"name": "Paging", "color": "#3366FF", "environments": ["dev", {"name": "live", "is_production": true}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    assert_eq!(project["color"], "#3366ff");
    let project_id = project["id"].as_i64().unwrap_or_default();

    let base: DateTime<Utc> = Utc
        .with_ymd_and_hms(2031, 3, 1, 9, 0, 0)
        .single()
        .expect("date");
    let mut created = Vec::new();
    for n in 0..25_i64 {
        let (job_type, environment) = if n % 5 == 0 {
            ("ops", "live")
        } else {
            ("dev", "dev")
        };
        let body = json!({
            "title": format!("Job {n}"),
            "job_type": job_type,
            "environment": environment,
            // Two jobs share each start, so the cursor must break ties by id.
            "planned_start": (base + Duration::days(n / 2)).to_rfc3339(),
            "planned_end": (base + Duration::days(n / 2) + Duration::hours(2)).to_rfc3339(),
        });
        let (status, job) = app
            .call(
                Method::POST,
                &format!("/api/v1/projects/{project_id}/jobs"),
                Some(&pm),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        created.push(job["id"].as_i64().unwrap_or_default());
    }

    // Pages of 10 walk all 25 jobs exactly once, in start order.
    let mut seen = Vec::new();
    let mut uri = format!("/api/v1/projects/{project_id}/jobs?limit=10");
    loop {
        let (status, page) = app.call(Method::GET, &uri, Some(&pm), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                uri = format!("/api/v1/projects/{project_id}/jobs?limit=10&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(seen, created, "every job once, in order");

    let (_, newest) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs?project_id={project_id}&sort=-planned_start&limit=3"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(ids(&newest), [created[24], created[23], created[22]]);

    let (_, ops) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs?project_id={project_id}&job_type=ops"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(ids(&ops).len(), 5);
    assert!(ops["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|j| j["environment_is_production"] == true));
    let (_, live) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs?project_id={project_id}&environment=live"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(ids(&live), ids(&ops));
    let (_, planned) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs?project_id={project_id}&status=planned&limit=1000"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(ids(&planned).len(), 25);

    // A window keeps what overlaps it: days 2 and 3 hold jobs 4..=7.
    let from = common::encode(&(base + Duration::days(2)).to_rfc3339());
    let to = common::encode(&(base + Duration::days(4)).to_rfc3339());
    let (_, window) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs?project_id={project_id}&from={from}&to={to}"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(ids(&window), created[4..8].to_vec());

    for (query, field) in [
        ("cursor=bogus", "cursor"),
        ("limit=0", "limit"),
        ("sort=title", "sort"),
        (&*format!("from={to}&to={from}"), "to"),
    ] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/jobs?{query}"),
                Some(&pm),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert!(
            body["fields"].get(field).is_some(),
            "{query} names {field}: {body}"
        );
    }
    let (status, body) = app
        .call(Method::GET, "/api/v1/jobs?colour=red", Some(&pm), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid")),
        "unknown parameter"
    );
    let (status, body) = app
        .call(Method::GET, "/api/v1/projects/999999/jobs", Some(&pm), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = app
        .call(Method::GET, "/api/v1/jobs/not-a-number", Some(&pm), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Validation names the field.
    let job_uri = format!("/api/v1/projects/{project_id}/jobs");
    let start = (base + Duration::days(40)).to_rfc3339();
    let earlier = (base + Duration::days(39)).to_rfc3339();
    for (body, field) in [
        (
            json!({"title": "x", "job_type": "dev", "planned_start": start, "planned_end": earlier}),
            "planned_end",
        ),
        (
            json!({"title": "x", "job_type": "dev", "planned_start": start, "environment": "mars"}),
            "environment",
        ),
        (
            json!({"title": " ", "job_type": "dev", "planned_start": start}),
            "title",
        ),
        (
            json!({"title": "x", "job_type": "party", "planned_start": start}),
            "job_type",
        ),
        (
            json!({"title": "x", "job_type": "dev", "planned_start": start, "priority": 1}),
            "priority",
        ),
    ] {
        let (status, answer) = app
            .call(Method::POST, &job_uri, Some(&pm), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let fields = answer["fields"]
            .as_object()
            .map(|f| f.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        assert!(
            fields.iter().any(|f| f.contains(field))
                || answer["message"].as_str().unwrap_or("").contains(field),
            "{body} names {field}: {answer}"
        );
    }
    let (status, answer) = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&pm),
            Some(json!({"name": "Bad", "color": "green"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, answer) = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&pm),
            Some(json!({"name": "Paging"})),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );

    // Two people move the same job from version 1: the second gets 409 and the current job.
    let job_id = created[1];
    let moved_to = |days: i64| {
        json!({
            "version": 1,
            "planned_start": (base + Duration::days(days)).to_rfc3339(),
            "planned_end": (base + Duration::days(days) + Duration::hours(1)).to_rfc3339(),
        })
    };
    let (first, second) = (moved_to(60), moved_to(61));
    let (status, moved) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/jobs/{job_id}"),
            Some(&pm),
            Some(first),
        )
        .await;
    assert_eq!(
        (status, moved["version"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{moved}"
    );
    let (status, stale) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/jobs/{job_id}"),
            Some(&pm),
            Some(second),
        )
        .await;
    assert_eq!(
        (status, stale["code"].as_str()),
        (StatusCode::CONFLICT, Some("stale_version")),
        "{stale}"
    );
    assert_eq!(
        stale["current"], moved,
        "the 409 carries the job as it is now"
    );
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/jobs/{job_id}"),
            Some(&pm),
            Some(json!({"title": "no version"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a change must name its version"
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/jobs/{job_id}"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs/{job_id}"),
            Some(&pm),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jobs_api_on_sqlite() {
    story(TestEngine::Sqlite).await;
}

#[tokio::test]
async fn jobs_api_on_postgres() {
    story(TestEngine::Postgres).await;
}
