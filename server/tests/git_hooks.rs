//! Git webhooks in (issue 23): GitHub's real payloads from npm `@octokit/webhooks-examples`
//! (push, pull_request opened and closed-merged, workflow_run), signed here with the link's
//! webhook secret as GitHub signs them: parsed, linked to the jobs they name, a repeated
//! delivery ignored, a bad or missing signature refused; and the secret (a canary value) never
//! in an answer, the deliveries or the audit log. GitLab's token and the Standard Webhooks
//! signature are checked by the unit tests of `services::git`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::{id, on_both_engines, text, TestApp};
use services::storage::{Actor, NewJob};

const CANARY: &str = "canary-webhook-secret-7f3a9c";

/// The examples of one GitHub event, from the npm package (`UHUB_TEST_GITHUB_EXAMPLES`).
fn examples(event: &str) -> Vec<Value> {
    let path = std::env::var("UHUB_TEST_GITHUB_EXAMPLES").expect(
        "UHUB_TEST_GITHUB_EXAMPLES must name @octokit/webhooks-examples' api.github.com/index.json \
         (scripts/test.sh installs it)",
    );
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the examples are readable"))
            .expect("the examples are JSON");
    index
        .into_iter()
        .find(|entry| entry["name"] == event)
        .and_then(|entry| entry["examples"].as_array().cloned())
        .unwrap_or_else(|| panic!("no {event} examples"))
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Posts `payload` as GitHub does: event, delivery id, and its signature under `secret` (none
/// when `secret` is `None`).
async fn deliver(
    app: &TestApp,
    link_id: i64,
    event: &str,
    delivery: &str,
    payload: &Value,
    secret: Option<&str>,
) -> (StatusCode, Value) {
    let body = serde_json::to_vec(payload).expect("json");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/hooks/git/{link_id}"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery);
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", signature(secret, &body));
    }
    let (status, _, answer) = app
        .send(request.body(Body::from(body)).expect("request"))
        .await;
    assert!(
        !text(&answer).contains(CANARY),
        "the secret is not in the answer"
    );
    (
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    )
}

/// The changes linked to a job, as the caller of `token` reads them (status and answer).
async fn job_changes(app: &TestApp, token: &str, job_id: i64) -> (StatusCode, Value) {
    app.call(
        Method::GET,
        &format!("/api/v1/jobs/{job_id}/changes"),
        Some(token),
        None,
    )
    .await
}

async fn github_deliveries_are_verified_linked_and_acted_on_once(
    engine: services::testing::TestEngine,
) {
    // uHub's own log while deliveries are verified (good, bad and missing signatures).
    let logs = crate::common::logs::capture();
    let app = TestApp::with_demo(engine).await;
    let admin = app.token("demo-admin").await;
    let projects = app
        .storage
        .storage
        .list_project_summaries()
        .await
        .expect("projects");
    let project = projects
        .iter()
        .find(|p| p.name == "Projet Pilote App X")
        .expect("pilot");
    let other = projects
        .iter()
        .find(|p| p.id != project.id)
        .expect("another project");
    let planned = |project_id: i64, title: &str| {
        NewJob::planned(
            project_id,
            title,
            domain::JobType::Ops,
            None,
            chrono::Utc::now(),
        )
    };
    let job = app
        .storage
        .storage
        .create_job(
            &planned(project.id, "Renew the TLS certificates"),
            &Actor::system(),
        )
        .await
        .expect("job");
    let foreign = app
        .storage
        .storage
        .create_job(&planned(other.id, "Someone else's job"), &Actor::system())
        .await
        .expect("job");

    let (status, _) = app
        .call(
            Method::PUT,
            &format!(
                "/api/v1/projects/{}/secrets/REPO_WEBHOOK_SECRET",
                project.id
            ),
            Some(&admin),
            Some(json!({ "value": CANARY })),
        )
        .await;
    assert!(status.is_success(), "secret set: {status}");
    let (status, link) = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/links", project.id),
            Some(&admin),
            Some(json!({
                "kind": "git_repo", "name": "app", "location": "https://github.com/acme/app.git",
                "webhook_secret_name": "REPO_WEBHOOK_SECRET",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    assert_eq!(link["webhook_secret_name"], "REPO_WEBHOOK_SECRET");
    let link_id = id(&link);

    // A real push, its first commit naming the job (and the other project's job, not linked).
    let mut push = examples("push")
        .into_iter()
        .find(|p| p["commits"].as_array().is_some_and(|c| !c.is_empty()))
        .expect("a push with commits");
    push["commits"][0]["message"] = json!(format!(
        "Renew the certificates (UHUB-{}, UHUB-{})\n\nDetails.",
        job.id, foreign.id
    ));
    let sha = push["commits"][0]["id"]
        .as_str()
        .expect("a commit id")
        .to_owned();
    let (status, answer) = deliver(
        &app,
        link_id,
        "push",
        "delivery-push-1",
        &push,
        Some(CANARY),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["duplicate"], false);
    assert_eq!(
        answer["delivery"]["linked"], 1,
        "only the project's own job: {answer}"
    );

    // The same delivery again: nothing done twice.
    let (status, answer) = deliver(
        &app,
        link_id,
        "push",
        "delivery-push-1",
        &push,
        Some(CANARY),
    )
    .await;
    assert_eq!(
        (status, answer["duplicate"].clone()),
        (StatusCode::OK, json!(true))
    );
    // A captured delivery posted again under a delivery id of the sender's choosing: GitHub
    // signs the body alone, with no time in it, so the signature still holds. The same body is
    // acted on once per link (nor kept, nor audited again: the deliveries below are four).
    let (status, answer) = deliver(
        &app,
        link_id,
        "push",
        "delivery-push-captured",
        &push,
        Some(CANARY),
    )
    .await;
    assert_eq!(
        (status, answer["duplicate"].clone()),
        (StatusCode::OK, json!(true)),
        "{answer}"
    );

    // Refused: a wrong secret, no signature, a body changed after signing.
    let (status, _) = deliver(
        &app,
        link_id,
        "push",
        "delivery-push-2",
        &push,
        Some("wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = deliver(&app, link_id, "push", "delivery-push-3", &push, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = serde_json::to_vec(&push).expect("json");
    let request = Request::post(format!("/api/v1/hooks/git/{link_id}"))
        .header("x-github-event", "push")
        .header("x-github-delivery", "delivery-push-4")
        .header("x-hub-signature-256", signature(CANARY, &body))
        .body(Body::from([&body[..], b" "].concat()))
        .expect("request");
    assert_eq!(app.send(request).await.0, StatusCode::UNAUTHORIZED);
    // Signed but not JSON: a clear 4xx, never a 5xx.
    let request = Request::post(format!("/api/v1/hooks/git/{link_id}"))
        .header("x-github-event", "push")
        .header("x-github-delivery", "delivery-push-5")
        .header("x-hub-signature-256", signature(CANARY, b"{not json"))
        .body(Body::from("{not json"))
        .expect("request");
    assert_eq!(app.send(request).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // A real pull request opened, then closed merged, naming the job in its title.
    let pulls = examples("pull_request");
    let mut opened = pulls
        .iter()
        .find(|p| p["action"] == "opened")
        .expect("opened")
        .clone();
    opened["pull_request"]["title"] = json!(format!("UHUB-{}: renew the certificates", job.id));
    let number = opened["pull_request"]["number"].as_i64().expect("a number");
    let (status, answer) = deliver(
        &app,
        link_id,
        "pull_request",
        "delivery-pr-1",
        &opened,
        Some(CANARY),
    )
    .await;
    assert_eq!(
        (status, answer["delivery"]["linked"].clone()),
        (StatusCode::ACCEPTED, json!(1))
    );
    // The package's closed examples were closed unmerged: one is marked merged, as GitHub
    // sends a merge (`merged: true`, `merged_at`).
    let mut merged = pulls
        .iter()
        .find(|p| p["action"] == "closed")
        .expect("closed")
        .clone();
    merged["pull_request"]["merged"] = json!(true);
    merged["pull_request"]["merged_at"] = merged["pull_request"]["closed_at"].clone();
    merged["pull_request"]["number"] = json!(number);
    merged["pull_request"]["title"] = json!(format!("UHUB-{}: renew the certificates", job.id));
    let (status, answer) = deliver(
        &app,
        link_id,
        "pull_request",
        "delivery-pr-2",
        &merged,
        Some(CANARY),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        answer["delivery"]["linked"], 0,
        "the same pull request is linked once"
    );

    // CI status: kept as a delivery, nothing to link.
    let run = examples("workflow_run")
        .into_iter()
        .next()
        .expect("a workflow_run");
    let (status, answer) = deliver(
        &app,
        link_id,
        "workflow_run",
        "delivery-ci-1",
        &run,
        Some(CANARY),
    )
    .await;
    assert_eq!(
        (status, answer["delivery"]["linked"].clone()),
        (StatusCode::ACCEPTED, json!(0))
    );

    // The job's changes: the commit and the pull request.
    let (status, changes) = job_changes(&app, &admin, job.id).await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    let items = changes["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{changes}");
    assert!(items
        .iter()
        .any(|c| c["kind"] == "commit" && c["sha"] == sha.as_str() && c["source"] == "webhook"));
    assert!(items
        .iter()
        .any(|c| c["kind"] == "merge_request" && c["number"] == number));
    let (_, foreign_changes) = job_changes(&app, &admin, foreign.id).await;
    assert_eq!(
        foreign_changes["items"],
        json!([]),
        "another project's job is not linked"
    );

    // The deliveries kept: the four accepted, newest first, and never the secret.
    let (status, deliveries) = app
        .call(
            Method::GET,
            &format!("/api/v1/links/{link_id}/deliveries"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let kept: Vec<&str> = deliveries["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["delivery_id"].as_str())
        .collect();
    assert_eq!(
        kept,
        [
            "delivery-ci-1",
            "delivery-pr-2",
            "delivery-pr-1",
            "delivery-push-1"
        ]
    );
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=200", Some(&admin), None)
        .await;
    for shown in [deliveries.to_string(), audit.to_string(), link.to_string()] {
        assert!(!shown.contains(CANARY), "the secret stays secret");
    }

    // Replay: the push's commit was unlinked by hand; replaying the kept delivery links it
    // again. Only the admin or the project's owner replays; an unknown delivery is not found.
    let (_, changes) = job_changes(&app, &admin, job.id).await;
    let commit = changes["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["kind"] == "commit"))
        .map(id)
        .expect("the linked commit");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/jobs/{}/changes/{commit}", job.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The captured push posted once more, under yet another id: what was unlinked by hand is
    // not linked again from outside.
    let (status, answer) = deliver(
        &app,
        link_id,
        "push",
        "delivery-push-captured-2",
        &push,
        Some(CANARY),
    )
    .await;
    assert_eq!(
        (status, answer["duplicate"].clone()),
        (StatusCode::OK, json!(true)),
        "{answer}"
    );
    let (_, changes) = job_changes(&app, &admin, job.id).await;
    assert_eq!(
        changes["items"].as_array().map(Vec::len),
        Some(1),
        "the unlinked commit stays unlinked: {changes}"
    );
    let push_delivery = deliveries["items"]
        .as_array()
        .and_then(|items| items.iter().find(|d| d["delivery_id"] == "delivery-push-1"))
        .map(id)
        .expect("the push delivery");
    let replay_uri = format!("/api/v1/links/{link_id}/deliveries/{push_delivery}/replay");
    let dev = app.token("demo-dev").await;
    let (status, _) = app.call(Method::POST, &replay_uri, Some(&dev), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "dev does not replay");
    let (status, replayed) = app
        .call(Method::POST, &replay_uri, Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{replayed}");
    assert_eq!(
        (
            replayed["delivery_id"].as_str(),
            replayed["outcome"].as_str(),
            replayed["linked"].as_i64()
        ),
        (Some("delivery-push-1#replay-1"), Some("replayed"), Some(1))
    );
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/links/{link_id}/deliveries/999999/replay"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, changes) = job_changes(&app, &admin, job.id).await;
    assert_eq!(
        changes["items"].as_array().map(Vec::len),
        Some(2),
        "linked again: {changes}"
    );
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=200", Some(&admin), None)
        .await;
    assert!(audit.to_string().contains("git.delivery.replay"), "audited");
    assert!(!audit.to_string().contains(CANARY));

    // The palette finds the linked commit by a prefix of its SHA, the pull request by its
    // number, both leading to the job.
    for (query, kind) in [
        (sha[..7].to_owned(), "commit"),
        (format!("!{number}"), "merge_request"),
    ] {
        let request = Request::post("/sfn/search")
            .header("cookie", format!("uhub_session={admin}"))
            .header("origin", "http://127.0.0.1:3000")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(Body::from(format!(
                "query={}",
                crate::common::encode(&query)
            )))
            .expect("request");
        let (status, _, body) = app.send(request).await;
        assert_eq!(status, StatusCode::OK);
        let hits: Value = serde_json::from_slice(&body).expect("json");
        let first = &hits[0];
        assert_eq!(
            (first["kind"].as_str(), first["href"].as_str()),
            (Some(kind), Some(format!("/jobs/{}", job.id).as_str())),
            "{query}: {hits}"
        );
    }

    // A link without a webhook secret takes nothing.
    let (_, bare) = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/links", project.id),
            Some(&admin),
            Some(json!({ "kind": "git_repo", "name": "bare", "location": "https://github.com/acme/bare.git" })),
        )
        .await;
    let (status, _) = deliver(
        &app,
        id(&bare),
        "push",
        "delivery-bare-1",
        &push,
        Some(CANARY),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nor does an unknown link, or a link that is not a repository.
    let (status, _) = deliver(&app, 999_999, "push", "delivery-none", &push, Some(CANARY)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only Git repositories name a webhook secret.
    let (status, refused) = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/links", project.id),
            Some(&admin),
            Some(json!({ "kind": "ansible_inventory", "name": "inv", "location": "inventories/prod.ini", "webhook_secret_name": "X" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    logs.assert_absent("the webhook secret", CANARY);
}

on_both_engines!(github_deliveries_are_verified_linked_and_acted_on_once);
