//! A project's inventories and real playbook runs (issue 24), with the real `ansible-playbook`
//! of the test command's virtualenv against `localhost` (`connection: local`, a temporary
//! directory): attacks first (roles, another project's or environment's inventory, bodies that
//! are not inventories), then versions and their diff with secrets masked, check+diff that
//! writes nothing, the apply that follows it, a second apply that changes nothing, a failing
//! task named in the run's reason, a vault password given as a secret.

use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::common::{
    dev_ops_job, expect, id, launch, local_dev_project, log_text, on_both_engines, settled,
};

/// A canary in an inventory's secret-like variable: never in an answer or a log.
const CANARY: &str = "canary-d41d8cd98f00b204";

fn playbooks() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ansible/playbooks")
}

fn localhost_inventory(extra: &str) -> String {
    format!(
        "[targets]\nlocalhost ansible_connection=local ansible_python_interpreter=\"{{{{ ansible_playbook_python }}}}\" db_password={CANARY}\n{extra}"
    )
}

async fn results(app: &TestApp, token: &str, run_id: i64) -> Value {
    expect(
        app,
        Method::GET,
        &format!("/api/v1/runs/{run_id}/ansible"),
        token,
        None,
        StatusCode::OK,
    )
    .await
}

/// The result of the task named `task` for localhost.
fn task_result<'a>(results: &'a Value, task: &str) -> &'a Value {
    results["plays"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|play| play["tasks"].as_array().into_iter().flatten())
        .find(|t| t["name"] == task)
        .map(|t| &t["results"]["localhost"])
        .unwrap_or(&Value::Null)
}

async fn inventories_are_versioned_and_playbooks_checked_then_applied(
    engine: services::testing::TestEngine,
) {
    assert!(
        std::env::var("UHUB_TEST_ANSIBLE_PLAYBOOK").is_ok(),
        "UHUB_TEST_ANSIBLE_PLAYBOOK is not set: scripts/test.sh installs ansible-core"
    );
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let dev = app.token("demo-dev").await;
    let project = expect(
        &app,
        Method::POST,
        "/api/v1/projects",
        &pm,
        Some(
            json!({"name": "Fleet", "environments": ["dev", "prod"], "execution_backend": "local"}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let project_id = id(&project);
    let other = local_dev_project(&app, &pm, "Elsewhere").await;
    let inventories = format!("/api/v1/projects/{project_id}/inventories");
    let body = json!({"name": "local", "environment": "dev", "content": localhost_inventory("")});

    // Attacks first: anonymous, a role that may not change the project, two sources at once,
    // a malformed text (422 with its line, nothing stored), an unknown environment.
    let (status, _) = app
        .call(Method::POST, &inventories, None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refused = expect(
        &app,
        Method::POST,
        &inventories,
        &dev,
        Some(body.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["code"], "projects_managed_by_projets", "{refused}");
    let both = json!({"name": "x", "content": "a", "repo": 1, "path": "hosts"});
    expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(both),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let bad = json!({"name": "bad", "environment": "dev", "content": "[web]\nhost1\n[web:vars]\nnot a variable line\n"});
    let bad = expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(bad),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["line"], 4, "{bad}");
    let nowhere = json!({"name": "x", "environment": "moon", "content": "h1\n"});
    let (status, _) = app
        .call(Method::POST, &inventories, Some(&pm), Some(nowhere))
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}"
    );
    let listed = expect(&app, Method::GET, &inventories, &dev, None, StatusCode::OK).await;
    assert_eq!(
        listed["items"],
        json!([]),
        "nothing stored by refusals: {listed}"
    );

    // Version 1; the same text again adds nothing (200); another environment's name is refused.
    let first = expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(body.clone()),
        StatusCode::CREATED,
    )
    .await;
    let inventory_id = id(&first);
    assert_eq!(
        (
            first["version"].as_i64(),
            first["summary"]["hosts"].as_i64()
        ),
        (Some(1), Some(1)),
        "{first}"
    );
    let again = expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(body.clone()),
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["version"], 1);
    let moved = json!({"name": "local", "environment": "prod", "content": "h1\n"});
    expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(moved),
        StatusCode::CONFLICT,
    )
    .await;
    let prod_inventory = expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(json!({"name": "prod fleet", "environment": "prod", "content": localhost_inventory("")})),
        StatusCode::CREATED,
    )
    .await;

    // Version 2: a spare host and a new password; the diff names them, masked.
    let v2 = json!({"name": "local", "environment": "dev",
        "content": localhost_inventory("[spare]\nspare1 ansible_host=192.0.2.10 db_password=rotated-canary\n")});
    let second = expect(
        &app,
        Method::POST,
        &inventories,
        &pm,
        Some(v2),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(second["version"], 2);
    let diff = expect(
        &app,
        Method::GET,
        &format!("{inventories}/{inventory_id}/diff?from=1&to=2"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(diff["hosts_added"], json!(["spare1"]), "{diff}");
    assert_eq!(diff["groups_added"], json!(["spare"]), "{diff}");
    let detail = expect(
        &app,
        Method::GET,
        &format!("{inventories}/{inventory_id}"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["shown_version"], 2);
    assert_eq!(detail["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        detail["analysis"]["inventory"]["_meta"]["hostvars"]["localhost"]["db_password"],
        "********"
    );
    assert_eq!(
        detail["analysis"]["inventory"]["spare"]["hosts"],
        json!(["spare1"])
    );
    let old = expect(
        &app,
        Method::GET,
        &format!("{inventories}/{inventory_id}?version=1"),
        &dev,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(old["shown_version"], 1);
    for answer in [&diff, &detail, &old, &second, &first] {
        let text = answer.to_string();
        assert!(
            !text.contains(CANARY) && !text.contains("rotated-canary"),
            "a secret in an answer: {text}"
        );
    }
    // Through another project's URL, the inventory does not exist.
    let other_url = format!("/api/v1/projects/{}/inventories/{inventory_id}", id(&other));
    expect(
        &app,
        Method::GET,
        &other_url,
        &dev,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Playbooks of the scripts directory; a temporary directory they write into.
    for name in ["site.yml", "fail.yml"] {
        std::fs::copy(playbooks().join(name), app.scripts.path().join(name)).expect("playbook");
    }
    let target = tempfile::tempdir().expect("target");
    let target_dir = target.path().display().to_string();
    let action = |check: bool| {
        json!({"kind": "ansible", "playbook": "site.yml", "inventory": inventory_id, "limit": "localhost",
               "extra_vars": {"target_dir": target_dir, "greeting": "hello from uHub"}, "check": check, "diff": true})
    };

    // A dev job reaching the production inventory, or another project's, is refused at launch.
    let mut reaching = action(true);
    reaching["inventory"] = json!(id(&prod_inventory));
    let sneaky = dev_ops_job(&app, &ops, project_id, "Reach production", reaching).await;
    let refused = launch(
        &app,
        &ops,
        sneaky,
        json!({}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("action.inventory"),
        "{refused}"
    );
    let foreign_inventory = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{}/inventories", id(&other)),
        &pm,
        Some(json!({"name": "theirs", "environment": "dev", "content": "h1\n"})),
        StatusCode::CREATED,
    )
    .await;
    let mut foreign = action(true);
    foreign["inventory"] = json!(id(&foreign_inventory));
    let foreign = dev_ops_job(&app, &ops, project_id, "Foreign", foreign).await;
    launch(
        &app,
        &ops,
        foreign,
        json!({}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Check + diff: `changed` with a diff, nothing written; the inventory version pinned.
    let check_job = dev_ops_job(&app, &ops, project_id, "Check the motd", action(true)).await;
    let check_run = launch(&app, &ops, check_job, json!({}), StatusCode::CREATED).await;
    assert_eq!(check_run["action"]["inventory_version"], 2, "{check_run}");
    let done = settled(&app, &ops, id(&check_run)).await;
    assert_eq!(
        done["status"],
        "success",
        "{done} {}",
        log_text(&app, &ops, id(&check_run)).await
    );
    let checked = results(&app, &ops, id(&check_run)).await;
    assert_eq!(checked["check"], true);
    assert!(
        checked["hosts"]["localhost"]["changed"].as_u64() >= Some(2),
        "{checked}"
    );
    let write = task_result(&checked, "Write the motd");
    assert_eq!(write["status"], "changed", "{checked}");
    assert!(
        write["diff"]
            .as_str()
            .unwrap_or_default()
            .contains("+hello from uHub"),
        "{write}"
    );
    let secret_task = task_result(&checked, "Store the secret token");
    assert_eq!(
        (secret_task["diff"].clone(), secret_task["msg"].clone()),
        (Value::Null, Value::Null),
        "no_log: {secret_task}"
    );
    assert!(!checked.to_string().contains("s3cr3t-value"), "{checked}");
    assert!(
        !target.path().join("motd").exists(),
        "check mode wrote nothing"
    );
    let log = log_text(&app, &ops, id(&check_run)).await;
    assert!(log.contains("PLAY RECAP") && !log.contains(CANARY), "{log}");

    // The apply follows the check: a check of another kind is refused; the apply writes.
    let apply_job = dev_ops_job(&app, &ops, project_id, "Apply the motd", action(false)).await;
    launch(
        &app,
        &ops,
        apply_job,
        json!({"after_check": id(&refused_check(&app, &ops, project_id).await)}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let apply = launch(
        &app,
        &ops,
        apply_job,
        json!({"after_check": id(&check_run)}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(apply["after_check"], id(&check_run));
    let done = settled(&app, &ops, id(&apply)).await;
    assert_eq!(done["status"], "success", "{done}");
    let applied = results(&app, &ops, id(&apply)).await;
    assert_eq!(
        (applied["check"].clone(), applied["after_check"].clone()),
        (json!(false), json!(id(&check_run)))
    );
    assert_eq!(
        applied["hosts"]["localhost"]["changed"], checked["hosts"]["localhost"]["changed"],
        "the apply changed what the check predicted: {applied}"
    );
    let motd =
        std::fs::read_to_string(target.path().join("motd")).expect("the apply wrote the motd");
    assert_eq!(motd, "hello from uHub\n");

    // A second apply changes nothing.
    let again = launch(&app, &ops, apply_job, json!({}), StatusCode::CREATED).await;
    assert_eq!(settled(&app, &ops, id(&again)).await["status"], "success");
    let steady = results(&app, &ops, id(&again)).await;
    assert_eq!(steady["hosts"]["localhost"]["changed"], 0, "{steady}");
    assert!(
        steady["hosts"]["localhost"]["ok"].as_u64() >= Some(3),
        "{steady}"
    );
    assert_eq!(task_result(&steady, "Write the motd")["status"], "ok");

    // A failing task: a failed run naming the task.
    let failing = json!({"kind": "ansible", "playbook": "fail.yml", "inventory": inventory_id, "limit": "localhost"});
    let failing = dev_ops_job(&app, &ops, project_id, "Fail", failing).await;
    let failed = launch(&app, &ops, failing, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&failed)).await;
    assert_eq!(done["status"], "failed", "{done}");
    let reason = done["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("task `Refuse to continue` failed on localhost")
            && reason.contains("uHub test failure"),
        "{done}"
    );
    let failed_results = results(&app, &ops, id(&failed)).await;
    assert_eq!(
        failed_results["hosts"]["localhost"]["failed"], 1,
        "{failed_results}"
    );

    // Results exist only for Ansible runs.
    let script_job = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        &ops,
        Some(json!({"title": "Script", "job_type": "ops", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
                    "action": {"kind": "script", "path": "site.yml"}})),
        StatusCode::CREATED,
    )
    .await;
    let script_run = launch(&app, &ops, id(&script_job), json!({}), StatusCode::CREATED).await;
    expect(
        &app,
        Method::GET,
        &format!("/api/v1/runs/{}/ansible", id(&script_run)),
        &ops,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// A finished run that is not a check of the same playbook: a script run of the project.
async fn refused_check(app: &TestApp, token: &str, project_id: i64) -> Value {
    crate::common::script(app, "noop.sh", "true");
    let job = expect(
        app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/jobs"),
        token,
        Some(json!({"title": "Noop", "job_type": "ops", "environment": "dev", "planned_start": "2031-01-01T09:00:00Z",
                    "action": {"kind": "script", "path": "noop.sh"}})),
        StatusCode::CREATED,
    )
    .await;
    let run = launch(app, token, id(&job), json!({}), StatusCode::CREATED).await;
    settled(app, token, id(&run)).await
}

/// A vault password given as the project secret `ANSIBLE_VAULT_PASSWORD` reaches Ansible as a
/// file of the run's own (never a variable or an argument), and decrypts a vaulted vars file.
async fn a_vault_password_decrypts_vaulted_variables(engine: services::testing::TestEngine) {
    let playbook_bin = std::env::var("UHUB_TEST_ANSIBLE_PLAYBOOK")
        .expect("UHUB_TEST_ANSIBLE_PLAYBOOK is not set: scripts/test.sh installs ansible-core");
    let app = TestApp::with_demo(engine).await;
    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = local_dev_project(&app, &pm, "Vaulted").await;
    let project_id = id(&project);
    let password = "vault-pass-6f1e";
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/ANSIBLE_VAULT_PASSWORD"),
        &pm,
        Some(json!({"value": password})),
        StatusCode::OK,
    )
    .await;
    // A vars file encrypted with the real ansible-vault, beside the playbook.
    let scripts = app.scripts.path();
    std::fs::write(
        scripts.join("vaulted.yml"),
        "vaulted_word: opened-by-vault\n",
    )
    .expect("vars");
    let password_file = tempfile::NamedTempFile::new().expect("password file");
    std::fs::write(password_file.path(), password).expect("password");
    let vault = Path::new(&playbook_bin).with_file_name("ansible-vault");
    let encrypted = std::process::Command::new(&vault)
        .arg("encrypt")
        .arg("--vault-password-file")
        .arg(password_file.path())
        .arg(scripts.join("vaulted.yml"))
        .env("ANSIBLE_HOME", scripts.join(".ansible-test"))
        .output()
        .expect("ansible-vault runs");
    assert!(
        encrypted.status.success(),
        "{}",
        String::from_utf8_lossy(&encrypted.stderr)
    );
    std::fs::write(
        scripts.join("vault.yml"),
        "- hosts: all\n  connection: local\n  gather_facts: false\n  vars_files: [vaulted.yml]\n  tasks:\n    - name: Say the vaulted word\n      ansible.builtin.debug:\n        msg: \"the word is {{ vaulted_word }}\"\n",
    )
    .expect("playbook");
    let inventory = expect(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project_id}/inventories"),
        &pm,
        Some(json!({"name": "local", "environment": "dev", "content": localhost_inventory("")})),
        StatusCode::CREATED,
    )
    .await;
    let job = dev_ops_job(
        &app,
        &ops,
        project_id,
        "Vault",
        json!({"kind": "ansible", "playbook": "vault.yml", "inventory": id(&inventory)}),
    )
    .await;
    let run = launch(&app, &ops, job, json!({}), StatusCode::CREATED).await;
    let done = settled(&app, &ops, id(&run)).await;
    let log = log_text(&app, &ops, id(&run)).await;
    assert_eq!(done["status"], "success", "{done} {log}");
    assert!(log.contains("the word is opened-by-vault"), "{log}");
    assert!(!log.contains(password), "{log}");
    let found = results(&app, &ops, id(&run)).await;
    assert_eq!(
        task_result(&found, "Say the vaulted word")["status"],
        "ok",
        "{found}"
    );
}

on_both_engines!(
    inventories_are_versioned_and_playbooks_checked_then_applied,
    a_vault_password_decrypts_vaulted_variables
);
