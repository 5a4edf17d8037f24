//! Real Git (issue 23): `git daemon` serves a bare repository on loopback; a real `git push`
//! runs the repository's `post-receive` hook, which sends uHub a push delivery signed as GitHub
//! signs them (`X-Hub-Signature-256`), built from the pushed commits. The commit naming
//! `UHUB-<id>` is linked to that job; a commit naming nothing is delivered and links nothing.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::git::{clone_when_served, git, start_daemon};
use crate::common::{id, on_both_engines, TestApp};
use services::storage::{Actor, NewJob};

const SECRET: &str = "push-hook-secret-5d1e";

/// The `post-receive` hook: for each updated branch, the new commits as GitHub's push payload
/// (`ref`, `before`, `after`, `commits[]` with id, message, timestamp, author), signed with the
/// secret kept beside the repository, posted to uHub. Python, because JSON and HMAC in `sh`
/// would be a parser of its own.
const HOOK: &str = r#"#!/usr/bin/env python3
import hashlib, hmac, json, os, subprocess, sys, urllib.request, uuid
here = os.path.dirname(os.path.abspath(__file__))
url = open(os.path.join(here, "uhub-url")).read().strip()
secret = open(os.path.join(here, "uhub-secret")).read().strip().encode()
for line in sys.stdin:
    old, new, ref = line.split()
    span = new if set(old) == {"0"} else f"{old}..{new}"
    shas = subprocess.check_output(["git", "rev-list", "--reverse", span], text=True).split()
    commits = []
    for sha in shas:
        fields = subprocess.check_output(
            ["git", "show", "-s", "--format=%an%x00%ae%x00%aI%x00%B", sha], text=True).split("\x00")
        commits.append({"id": sha, "message": fields[3].strip(), "timestamp": fields[2],
                        "author": {"name": fields[0], "email": fields[1]}, "url": f"git://local/{sha}"})
    body = json.dumps({"ref": ref, "before": old, "after": new, "commits": commits}).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request) as answer:
        print(f"uhub: {answer.status} {answer.read().decode()}", file=sys.stderr)
"#;

async fn a_real_push_links_its_commits_to_jobs(engine: services::testing::TestEngine) {
    // uHub's own log while a real hook's signed deliveries are received and the mirror fetched.
    let logs = crate::common::logs::capture();
    let app = TestApp::with_demo(engine).await;
    let admin = app.token("demo-admin").await;
    let project = app
        .storage
        .storage
        .list_project_summaries()
        .await
        .expect("projects")
        .into_iter()
        .find(|p| p.name == "Infra K3s")
        .expect("the k3s project");
    let job = app
        .storage
        .storage
        .create_job(
            &NewJob::planned(
                project.id,
                "Upgrade the cluster",
                domain::JobType::Ops,
                None,
                chrono::Utc::now(),
            ),
            &Actor::system(),
        )
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
            Some(json!({ "value": SECRET })),
        )
        .await;
    assert!(status.is_success());

    // uHub listening on loopback, as the hook reaches it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let router = app.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let base = tempfile::tempdir().expect("base");
    let bare = base.path().join("infra.git");
    std::fs::create_dir_all(&bare).expect("bare dir");
    git(&bare, &["init", "--bare", "--quiet"]);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    let daemon = start_daemon(base.path());
    let remote = format!("git://127.0.0.1:{}/infra.git", daemon.port);

    let (status, link) = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/links", project.id),
            Some(&admin),
            Some(json!({
                "kind": "git_repo", "name": "infra", "location": remote, "provider": "git",
                "webhook_secret_name": "REPO_WEBHOOK_SECRET",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let link_id = id(&link);
    let hooks = bare.join("hooks");
    std::fs::write(
        hooks.join("uhub-url"),
        format!("http://{address}/api/v1/hooks/git/{link_id}"),
    )
    .expect("url");
    std::fs::write(hooks.join("uhub-secret"), SECRET).expect("secret");
    let hook = hooks.join("post-receive");
    std::fs::write(&hook, HOOK).expect("hook");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    let work = base.path().join("work");
    clone_when_served(&remote, &work).await;
    std::fs::write(work.join("cluster.yaml"), "version: 1.29\n").expect("file");
    git(&work, &["add", "."]);
    git(
        &work,
        &[
            "commit",
            "--quiet",
            "-m",
            &format!("Upgrade k3s to 1.29 (UHUB-{})", job.id),
        ],
    );
    let first = git(&work, &["rev-parse", "HEAD"]);
    std::fs::write(work.join("README"), "notes\n").expect("file");
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "Notes, naming no job"]);
    // The push returns once the hook has run (post-receive is synchronous for the pusher).
    // The hook calls uHub, served by this runtime: the push blocks this worker only.
    tokio::task::block_in_place(|| git(&work, &["push", "--quiet", "origin", "HEAD:main"]));

    let (status, changes) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs/{}/changes", job.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let items = changes["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{changes}");
    assert_eq!(items[0]["sha"], first.as_str());
    assert_eq!(
        items[0]["title"],
        format!("Upgrade k3s to 1.29 (UHUB-{})", job.id)
    );
    assert_eq!(items[0]["author"], "Ada Ops");

    // A second push of a commit naming the job again: a new delivery, linked once more.
    std::fs::write(work.join("cluster.yaml"), "version: 1.30\n").expect("file");
    git(
        &work,
        &[
            "commit",
            "--quiet",
            "-am",
            &format!("uhub-{}: and 1.30", job.id),
        ],
    );
    tokio::task::block_in_place(|| git(&work, &["push", "--quiet", "origin", "HEAD:main"]));
    let (_, deliveries) = app
        .call(
            Method::GET,
            &format!("/api/v1/links/{link_id}/deliveries"),
            Some(&admin),
            None,
        )
        .await;
    let linked: Vec<Value> = deliveries["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| json!([d["event"], d["linked"], d["outcome"]]))
        .collect();
    assert_eq!(
        linked,
        [
            json!(["push", 1, "accepted"]),
            json!(["push", 1, "accepted"])
        ]
    );
    let (_, changes) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs/{}/changes", job.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(changes["items"].as_array().map(Vec::len), Some(2));

    // Read through the Git protocol, from uHub's mirror: the branch and the commits, newest
    // first, each with the jobs it names.
    let head = git(&work, &["rev-parse", "HEAD"]);
    let (status, branches) = app
        .call(
            Method::GET,
            &format!("/api/v1/links/{link_id}/branches"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{branches}");
    assert_eq!(
        branches["items"],
        json!([{ "name": "main", "sha": head, "protected": false }])
    );
    let (status, commits) = app
        .call(
            Method::GET,
            &format!("/api/v1/links/{link_id}/commits?ref=main&limit=10"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{commits}");
    let listed: Vec<Value> = commits["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| json!([c["title"], c["job_ids"], c["author"]]))
        .collect();
    assert_eq!(
        listed,
        [
            json!([format!("uhub-{}: and 1.30", job.id), [job.id], "Ada Ops"]),
            json!(["Notes, naming no job", [], "Ada Ops"]),
            json!([
                format!("Upgrade k3s to 1.29 (UHUB-{})", job.id),
                [job.id],
                "Ada Ops"
            ]),
        ]
    );
    // By hand: the commit naming no job, by its SHA prefix, read from the repository; twice is a
    // conflict; someone who may not update the job is refused; then unlinked.
    let notes = listed_sha(&commits, 1);
    let (status, linked) = app
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{}/changes", job.id),
            Some(&admin),
            Some(json!({ "link_id": link_id, "sha": &notes[..10] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{linked}");
    assert_eq!(
        (
            linked["sha"].as_str(),
            linked["title"].as_str(),
            linked["source"].as_str()
        ),
        (
            Some(notes.as_str()),
            Some("Notes, naming no job"),
            Some("manual")
        )
    );
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{}/changes", job.id),
            Some(&admin),
            Some(json!({ "link_id": link_id, "sha": notes })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{}/changes", job.id),
            Some(&admin),
            Some(json!({ "link_id": link_id, "sha": "0123456789abcdef" })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown commit"
    );
    let dev = app.token("demo-dev").await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/jobs/{}/changes/{}", job.id, id(&linked)),
            Some(&dev),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "dev may not change an ops job"
    );
    // Ops change ops jobs, but commits and merge requests are linked by dev, projets and admin.
    let ops = app.token("demo-ops").await;
    for (method, uri, body) in [
        (
            Method::DELETE,
            format!("/api/v1/jobs/{}/changes/{}", job.id, id(&linked)),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{}/changes", job.id),
            Some(json!({ "link_id": link_id, "sha": &head[..12] })),
        ),
    ] {
        let (status, refused) = app.call(method, &uri, Some(&ops), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {refused}");
        assert_eq!(refused["code"], "commits_linked_by_dev", "{refused}");
    }
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/jobs/{}/changes/{}", job.id, id(&linked)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A ref is a ref: never an option handed to git, nor a range.
    for wrong in ["--output=/tmp/x", "main..HEAD", "a b"] {
        let (status, _) = app
            .call(
                Method::GET,
                &format!(
                    "/api/v1/links/{link_id}/commits?ref={}",
                    crate::common::encode(wrong)
                ),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    }
    logs.assert_absent("the webhook secret", SECRET);
    server.abort();
    drop(daemon);
}

/// The SHA of the `at`-th commit of a listing (newest first).
fn listed_sha(commits: &Value, at: usize) -> String {
    commits["items"][at]["sha"]
        .as_str()
        .expect("a sha")
        .to_owned()
}

on_both_engines!(a_real_push_links_its_commits_to_jobs);
