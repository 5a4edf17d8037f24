//! Runs pinned to a commit (issue 23), against a real `git daemon` on loopback and the real
//! Docker engine of the test command: a script from a repository runs the commit its ref named
//! at launch (local backend, in dev); a container gets that commit mounted read-only (docker
//! backend, in production); a push while the production run awaits approval changes nothing in
//! what runs; "run again at this commit"; the deploy ledger lists the commits between two
//! deployments; refs, commits, repositories and links out of the checkout are refused.

use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::git::{commit_and_push, git, served_repository, start_daemon, GitDaemon};
use crate::common::TestApp;
use crate::common::{
    approved_and_done, expect, id, launch, local_dev_project, log_text, on_both_engines,
    refusal_row, settled, within, within_20_s,
};

/// Writes the repository's deploy script, executable, saying which version it is.
fn deploy_script(work: &Path, version: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = work.join("deploy");
    std::fs::create_dir_all(&dir).expect("deploy dir");
    let script = dir.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"deploying {version} with $1 at $UHUB_ENVIRONMENT\"\ncat notes.txt\n"
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(work.join("notes.txt"), format!("notes of {version}\n")).expect("notes");
}

async fn repository_job(
    app: &TestApp,
    token: &str,
    project_id: i64,
    environment: &str,
    action: Value,
) -> i64 {
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        token,
        Some(json!({
            "title": format!("Deploy to {environment}"), "job_type": "ops", "environment": environment,
            "planned_start": "2031-01-01T09:00:00Z", "action": action,
        })),
        StatusCode::CREATED,
    )
    .await;
    id(&job)
}

async fn a_repository_script_runs_its_pinned_commit(engine: services::testing::TestEngine) {
    assert!(
        std::env::var("UHUB_TEST_DOCKER_HOST").is_ok(),
        "UHUB_TEST_DOCKER_HOST is not set: scripts/test.sh starts a Docker engine"
    );
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(json!({
            "name": "Pinned", "environments": ["dev", "prod"], "execution_backend": "local",
        })),
        StatusCode::CREATED,
    )
    .await;
    let project_id = id(&project);

    let base = tempfile::tempdir().expect("base");
    let (daemon, remote, work) = served_repository(base.path(), "app.git").await;
    deploy_script(&work, "version 1");
    let v1 = tokio::task::block_in_place(|| commit_and_push(&work, "Version 1"));

    let link = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({"kind": "git_repo", "name": "app", "location": remote})),
        StatusCode::CREATED,
    )
    .await;
    let link_id = id(&link);
    let action = json!({"kind": "script", "repo": link_id, "ref": "main", "path": "deploy/run.sh", "args": ["--now"]});

    // Dev: queued at once, the commit of `main` recorded and run from its checkout.
    let in_dev = repository_job(&app, &ops, project_id, "dev", action.clone()).await;
    let run = launch(&app, &ops, in_dev, json!({}), StatusCode::CREATED).await;
    assert_eq!(
        (run["status"].as_str(), run["commit_sha"].as_str()),
        (Some("queued"), Some(v1.as_str())),
        "{run}"
    );
    let done = settled(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}");
    let log = log_text(&app, &ops, id(&run)).await;
    assert!(
        log.contains("deploying version 1 with --now at dev") && log.contains("notes of version 1"),
        "run from the checkout: {log}"
    );
    assert!(log.contains(&format!("checked out commit {v1}")), "{log}");

    // Production, in a container (local is refused there): the run waits for approval with the
    // commit of now; a push meanwhile changes nothing in what runs once approved.
    let container = json!({"kind": "container", "repo": link_id, "ref": "main", "image": "uhub-test/busybox:1",
        "command": ["sh", "-c", "pwd; sh deploy/run.sh --now; touch written 2>/dev/null || echo read-only-checkout"]});
    let prod = repository_job(&app, &ops, project_id, "prod", container).await;
    let waiting = launch(
        &app,
        &ops,
        prod,
        json!({"backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (waiting["status"].as_str(), waiting["commit_sha"].as_str()),
        (Some("awaiting_approval"), Some(v1.as_str()))
    );
    deploy_script(&work, "version 2");
    let v2 =
        tokio::task::block_in_place(|| commit_and_push(&work, &format!("Version 2 (UHUB-{prod})")));
    let log = approved_and_done(&app, &pm, id(&waiting)).await;
    assert!(
        log.contains("deploying version 1") && !log.contains("version 2"),
        "the approved commit ran, not the one pushed since: {log}"
    );
    assert!(
        log.contains("/workspace") && log.contains("read-only-checkout"),
        "the checkout is the container's read-only working directory: {log}"
    );

    // A new launch takes the new commit; its digest differs from the first one's.
    let next = launch(
        &app,
        &ops,
        prod,
        json!({"backend": "docker"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(next["commit_sha"].as_str(), Some(v2.as_str()));
    assert_ne!(
        next["action_sha256"], waiting["action_sha256"],
        "the commit is part of what is approved"
    );
    let log = approved_and_done(&app, &pm, id(&next)).await;
    assert!(log.contains("deploying version 2"), "{log}");

    // The ledger of prod: newest first, the commits between the two deployments.
    let ledger = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}/deployments?environment=prod"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let items = ledger["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{ledger}");
    assert_eq!(
        (
            items[0]["commit_sha"].as_str(),
            items[0]["previous_sha"].as_str(),
            items[0]["environment"].as_str()
        ),
        (Some(v2.as_str()), Some(v1.as_str()), Some("prod"))
    );
    assert_eq!(items[0]["launched_by_username"], "demo-ops");
    let between: Vec<Value> = items[0]["changes_since_previous"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| json!([c["sha"], c["title"], c["job_ids"]]))
        .collect();
    assert_eq!(
        between,
        [json!([v2, format!("Version 2 (UHUB-{prod})"), [prod]])]
    );
    assert_eq!(items[1]["commit_sha"].as_str(), Some(v1.as_str()));
    assert_eq!(items[1]["changes_since_previous"], json!([]));
    let all = expect(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project_id}/deployments"),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        all["items"].as_array().map(Vec::len),
        Some(3),
        "dev too: {all}"
    );

    // Run again at this commit: the first commit, by a prefix of its SHA.
    let again = launch(
        &app,
        &ops,
        in_dev,
        json!({"commit_sha": &v1[..12]}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["commit_sha"].as_str(), Some(v1.as_str()));
    let done = settled(&app, &ops, id(&again)).await;
    assert_eq!(done["status"], "success", "{done}");
    assert!(log_text(&app, &ops, id(&again))
        .await
        .contains("deploying version 1"));

    // Refused: a commit that is not in the repository, a SHA that is not one, a commit for an
    // action that comes from no repository, a ref that is an option, another project's link.
    for (body, field) in [
        (json!({"commit_sha": "0123456789abcdef0123"}), "commit_sha"),
        (json!({"commit_sha": "main"}), "commit_sha"),
    ] {
        let refused = launch(&app, &ops, in_dev, body, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(refused["fields"][field].is_string(), "{refused}");
    }
    let plain = repository_job(
        &app,
        &ops,
        project_id,
        "dev",
        json!({"kind": "script", "path": "x.sh"}),
    )
    .await;
    let refused = launch(
        &app,
        &ops,
        plain,
        json!({"commit_sha": v1}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["commit_sha"].is_string(), "{refused}");
    for (action, field) in [
        (
            json!({"kind": "script", "repo": link_id, "ref": "--upload-pack=touch /tmp/x", "path": "deploy/run.sh"}),
            "action.ref",
        ),
        (
            json!({"kind": "script", "ref": "main", "path": "deploy/run.sh"}),
            "action.ref",
        ),
    ] {
        let refused = expect(&app, Method::POST, &format!("/api/v1/projects/{project_id}/jobs"), &ops, Some(json!({
            "title": "Wrong", "job_type": "ops", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z", "action": action,
        })), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(refused["fields"][field].is_string(), "{refused}");
    }
    let other = local_dev_project(&app, &pm, "Elsewhere").await;
    let refused = expect(&app, Method::POST, &format!("/api/v1/projects/{}/jobs", id(&other)), &ops, Some(json!({
        "title": "Borrowed", "job_type": "ops", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
        "action": {"kind": "script", "repo": link_id, "path": "deploy/run.sh"},
    })), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        refused["fields"]["action.repo"].is_string(),
        "another project's repository: {refused}"
    );

    // Only what the repository's branches and tags hold can be pinned: not a fork's pull request
    // (GitHub serves it as `refs/pull/<n>/head` from the same repository), nor a commit of the
    // repository the link named before its location changed.
    deploy_script(&work, "from a fork");
    let fork = tokio::task::block_in_place(|| {
        git(&work, &["add", "-A"]);
        git(
            &work,
            &["commit", "--quiet", "-m", "Pull request from a fork"],
        );
        git(
            &work,
            &["push", "--quiet", "origin", "HEAD:refs/pull/7/head"],
        );
        let sha = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["reset", "--quiet", "--hard", "HEAD~1"]);
        sha
    });
    let refused = launch(
        &app,
        &ops,
        in_dev,
        json!({"commit_sha": fork}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        refused["fields"]["commit_sha"].is_string(),
        "a pull request's commit: {refused}"
    );
    let (_other_daemon, other_remote, other_work) =
        served_repository(&base.path().join("other"), "other.git").await;
    deploy_script(&other_work, "another repository");
    tokio::task::block_in_place(|| commit_and_push(&other_work, "Elsewhere"));
    let moved = expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/links/{link_id}"),
        &pm,
        Some(json!({"location": other_remote, "version": link["version"]})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["location"].as_str(), Some(other_remote.as_str()));
    let refused = launch(
        &app,
        &ops,
        in_dev,
        json!({"commit_sha": v1}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        refused["fields"]["commit_sha"].is_string(),
        "the old repository's commit: {refused}"
    );
    expect(
        &app,
        Method::PATCH,
        &format!("/api/v1/links/{link_id}"),
        &pm,
        Some(json!({"location": remote, "version": moved["version"]})),
        StatusCode::OK,
    )
    .await;

    // A link in the repository that leads out of the checkout is not run.
    std::os::unix::fs::symlink("/bin/true", work.join("deploy").join("escape")).expect("symlink");
    tokio::task::block_in_place(|| commit_and_push(&work, "A way out"));
    let escape = repository_job(
        &app,
        &ops,
        project_id,
        "dev",
        json!({"kind": "script", "repo": link_id, "path": "deploy/escape"}),
    )
    .await;
    let run = launch(&app, &ops, escape, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["reason"]
            .as_str()
            .is_some_and(|r| r.contains("outside")),
        "{done}"
    );
    drop(daemon);
}

/// A repository link of project `project_id` to `remote` (made by `pm`), and a job of `ops`
/// running its `deploy/run.sh` of `main`, due now with its automatic start on: the job's id.
async fn automatic_repository_job(
    app: &TestApp,
    pm: &str,
    ops: &str,
    project_id: i64,
    remote: &str,
) -> i64 {
    let link = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        pm,
        Some(json!({"kind": "git_repo", "name": "nightly", "location": remote})),
        StatusCode::CREATED,
    )
    .await;
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        ops,
        Some(json!({
            "title": "Nightly deploy", "job_type": "ops", "environment": "dev", "planned_start": past,
            "auto_start": true,
            "action": {"kind": "script", "repo": id(&link), "ref": "main", "path": "deploy/run.sh"},
        })),
        StatusCode::CREATED,
    )
    .await;
    id(&job)
}

/// The demo data, and a job of demo-ops due now with its automatic start on, running
/// `deploy/run.sh` of `<repository>.git` on a `git daemon` serving `base`, where nothing is
/// pushed yet (every fetch fails with `remote_unavailable`, a failure that passes).
struct DueFromAnEmptyDaemon {
    app: TestApp,
    ops: String,
    admin: String,
    job_id: i64,
    remote: String,
    base: tempfile::TempDir,
    daemon: GitDaemon,
}

async fn due_from_an_empty_daemon(
    engine: services::testing::TestEngine,
    project: &str,
    repository: &str,
) -> DueFromAnEmptyDaemon {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let admin = app.token("demo-admin").await;
    let project = local_dev_project(&app, &pm, project).await;
    let base = tempfile::tempdir().expect("base");
    let daemon = start_daemon(base.path());
    let remote = format!("git://127.0.0.1:{}/{repository}.git", daemon.port);
    let job_id = automatic_repository_job(&app, &pm, &ops, id(&project), &remote).await;
    DueFromAnEmptyDaemon {
        app,
        ops,
        admin,
        job_id,
        remote,
        base,
        daemon,
    }
}

/// An automatic start whose repository cannot be read at its planned start (its server down,
/// the repository not pushed yet) is tried again, each failed try in the audit, and starts the
/// commit that is there once it can be read. It used to be refused at the first failure, for
/// good: a nightly job lost to a minute of network trouble.
async fn an_automatic_start_is_tried_again_until_its_repository_answers(
    engine: services::testing::TestEngine,
) {
    let DueFromAnEmptyDaemon {
        app,
        ops,
        admin,
        job_id,
        remote,
        base,
        daemon,
    } = due_from_an_empty_daemon(engine, "Nightly from Git", "later").await;

    // Nothing to fetch yet: the try fails, is audited as a failure, and will be made again.
    let audit_uri = format!("/api/v1/audit?action=run.auto_start&target_id={job_id}");
    let first = within_20_s("the automatic start was not tried", || async {
        let audit = expect(&app, Method::GET, &audit_uri, &admin, None, StatusCode::OK).await;
        audit["items"]
            .as_array()
            .and_then(|rows| rows.last())
            .cloned()
    })
    .await;
    assert_eq!(
        (first["outcome"].as_str(), first["detail"]["try"].as_u64()),
        (Some("failure"), Some(1)),
        "a repository out of reach is tried again, not refused: {first}"
    );
    assert!(
        first["detail"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("remote_unavailable")),
        "{first}"
    );

    // The repository is pushed: a next try starts the job at its commit, as who asked for it.
    let bare = base.path().join("later.git");
    std::fs::create_dir_all(&bare).expect("bare dir");
    let work = base.path().join("work");
    let sha = tokio::task::block_in_place(|| {
        git(&bare, &["init", "--bare", "--quiet"]);
        git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        git(base.path(), &["init", "--quiet", "-b", "main", "work"]);
        git(&work, &["remote", "add", "origin", &remote]);
        deploy_script(&work, "nightly");
        commit_and_push(&work, "Nightly")
    });
    let runs_uri = format!("/api/v1/jobs/{job_id}/runs");
    let run = within_20_s("the automatic start was not tried again", || async {
        let runs = expect(&app, Method::GET, &runs_uri, &ops, None, StatusCode::OK).await;
        runs["items"].as_array().and_then(|r| r.first()).cloned()
    })
    .await;
    assert_eq!(
        (
            run["commit_sha"].as_str(),
            run["launched_by_username"].as_str()
        ),
        (Some(sha.as_str()), Some("demo-ops")),
        "{run}"
    );
    let done = settled(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done}");
    assert!(log_text(&app, &ops, id(&run))
        .await
        .contains("deploying nightly"));

    // Started once, never refused.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let runs = expect(&app, Method::GET, &runs_uri, &ops, None, StatusCode::OK).await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(1), "{runs}");
    let audit = expect(&app, Method::GET, &audit_uri, &admin, None, StatusCode::OK).await;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter().all(|row| row["outcome"] == "failure"),
        "only failed tries are audited, no refusal: {audit}"
    );
    drop(daemon);
}

/// An automatic start whose repository stays out of reach is tried `AUTO_START_TRIES` times,
/// each failed try audited with its number, and is then refused for good: audited once as a
/// refusal that says why, no longer due (not tried again), and no run. A start that is never
/// given up would be tried forever; one given up silently would be a nightly job lost unseen.
async fn an_automatic_start_is_refused_after_its_last_try(engine: services::testing::TestEngine) {
    let DueFromAnEmptyDaemon {
        app,
        ops,
        admin,
        job_id,
        base: _base,
        daemon,
        ..
    } = due_from_an_empty_daemon(engine, "Never pushed", "never").await;

    // The tests' first wait is 0.2 s, doubled at each failure: about 25 s of waits in all.
    let audit_uri = format!("/api/v1/audit?action=run.auto_start&target_id={job_id}");
    let audit = within(
        std::time::Duration::from_secs(120),
        "the automatic start was never refused",
        || async {
            let audit = expect(&app, Method::GET, &audit_uri, &admin, None, StatusCode::OK).await;
            refusal_row(&audit).is_some().then_some(audit)
        },
    )
    .await;
    let tries = services::engine::AUTO_START_TRIES;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    let mut failed: Vec<u64> = rows
        .iter()
        .filter(|row| row["outcome"] == "failure")
        .filter_map(|row| row["detail"]["try"].as_u64())
        .collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        (1..u64::from(tries)).collect::<Vec<_>>(),
        "each try but the last is audited as a failure, with its number: {audit}"
    );
    let refusal = refusal_row(&audit).cloned().unwrap_or_default();
    let reason = refusal["detail"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("gave up after {tries} tries"))
            && reason.contains("remote_unavailable"),
        "the refusal says why: {refusal}"
    );
    assert_eq!(rows.len(), tries as usize, "{audit}");

    // Refused for good: no run, and no further try after a few checks.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let runs_uri = format!("/api/v1/jobs/{job_id}/runs");
    let runs = expect(&app, Method::GET, &runs_uri, &ops, None, StatusCode::OK).await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(0), "{runs}");
    let later = expect(&app, Method::GET, &audit_uri, &admin, None, StatusCode::OK).await;
    assert_eq!(
        later["items"].as_array().map(Vec::len),
        Some(tries as usize),
        "not tried again once refused: {later}"
    );
    drop(daemon);
}

/// An automatic start whose repository's server takes the connection and never answers (a
/// firewall, a hung server) holds up no other run and no other automatic start while its fetch
/// waits for its minute: the dispatcher used to make that fetch itself, and claimed nothing
/// meanwhile; then the check made it, and started nothing else meanwhile.
async fn a_repository_that_never_answers_holds_up_no_other_run(
    engine: services::testing::TestEngine,
) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = local_dev_project(&app, &pm, "Silent remote").await;
    // Takes every connection and keeps it open without a byte.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let port = silent.local_addr().expect("address").port();
    let (connected, mut connections) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = silent.accept().await {
            let _ = connected.send(stream);
        }
    });
    let remote = format!("git://127.0.0.1:{port}/silent.git");
    automatic_repository_job(&app, &pm, &ops, id(&project), &remote).await;
    // The automatic start's fetch is connected, waiting.
    let held = tokio::time::timeout(std::time::Duration::from_secs(20), connections.recv())
        .await
        .ok()
        .flatten()
        .expect("the automatic start did not fetch its repository");

    // Meanwhile a run launched by hand is claimed and runs.
    crate::common::script(&app, "hello.sh", "echo hello");
    let job = crate::common::dev_ops_job(
        &app,
        &ops,
        id(&project),
        "By hand",
        json!({"kind": "script", "path": "hello.sh"}),
    )
    .await;
    let run = launch(&app, &ops, job, json!({}), StatusCode::CREATED).await;
    let done =
        crate::common::settled_within(&app, &ops, id(&run), std::time::Duration::from_secs(20))
            .await
            .unwrap_or_else(|run| panic!("a silent repository held up the queue: {run}"));
    assert_eq!(done["status"], "success", "{done}");

    // And another automatic job, due now, starts meanwhile too.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let automatic = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{}/jobs", id(&project)),
        &ops,
        Some(json!({
            "title": "Nightly without a repository", "job_type": "ops", "environment": "dev",
            "planned_start": past, "auto_start": true, "action": {"kind": "script", "path": "hello.sh"},
        })),
        StatusCode::CREATED,
    )
    .await;
    let runs_uri = format!("/api/v1/jobs/{}/runs", id(&automatic));
    within_20_s(
        "a silent repository held up the other automatic starts",
        || async {
            let runs = expect(&app, Method::GET, &runs_uri, &ops, None, StatusCode::OK).await;
            runs["items"].as_array().and_then(|r| r.first()).cloned()
        },
    )
    .await;
    drop(held);
    server.abort();
}

on_both_engines!(
    a_repository_script_runs_its_pinned_commit,
    an_automatic_start_is_tried_again_until_its_repository_answers,
    an_automatic_start_is_refused_after_its_last_try,
    a_repository_that_never_answers_holds_up_no_other_run
);
