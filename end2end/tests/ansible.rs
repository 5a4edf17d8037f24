//! Browser test of Ansible from the pages alone (issue 24): an inventory recorded on the project
//! sheet's Ansible tab, its page showing the tree of groups and a host's merged variables (a
//! secret-like value never reaching the page), then a playbook job made with the job editor,
//! launched, and its run page showing the recap — the real `ansible-playbook` against localhost.

use std::time::Duration;

use end2end::{
    eventually, fill, hydrated, log_in, new_dev_job, save_and_launch, screenshot,
    set_local_backend, wait_for, with_browser_and_scripts, TestResult,
};
use fantoccini::{Client, Locator};
use services::storage::Actor;

async fn click(client: &Client, css: &str) -> TestResult {
    wait_for(client, css).await?.click().await?;
    Ok(())
}

const INVENTORY: &str = "[targets]
localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\" db_password=hidden-canary-77

[web]
web[01:02].example.org http_port=8080

[prod:children]
web
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_and_a_playbook_run_from_the_pages() -> TestResult {
    assert!(
        std::env::var("UHUB_TEST_ANSIBLE_PLAYBOOK").is_ok(),
        "UHUB_TEST_ANSIBLE_PLAYBOOK is not set: scripts/test.sh installs ansible-core"
    );
    let scripts = tempfile::tempdir()?;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/tests/fixtures/ansible/playbooks");
    std::fs::copy(fixtures.join("site.yml"), scripts.path().join("site.yml"))?;
    let target = tempfile::tempdir()?;
    let storage = services::testing::TestStorage::new(services::testing::TestEngine::Sqlite).await;
    let today = chrono::Utc::now().date_naive();
    services::seed::load_demo(&storage.storage, today, &Actor::system()).await?;
    with_browser_and_scripts(&storage.storage, scripts.path(), |client, base, storage| async move {
        let project_id = storage
            .list_project_summaries()
            .await?
            .into_iter()
            .find(|p| p.name == "Projet Pilote App X")
            .map(|p| p.id)
            .ok_or("the demo project")?;

        // The Ansible tab: an inventory recorded from pasted text.
        log_in(&client, &base, "demo-admin", &format!("/projects/{project_id}?tab=ansible")).await?;
        wait_for(&client, "[data-testid=add-inventory]").await?;
        fill(&client, "input[name=inventory-name]", "local fleet").await?;
        wait_for(&client, "select[name=inventory-environment]")
            .await?
            .select_by_value("dev")
            .await?;
        fill(&client, "textarea[name=inventory-content]", INVENTORY).await?;
        click(&client, "[data-testid=add-inventory] button[type=submit]").await?;
        let row = "[data-testid=inventories] tr[data-inventory='local fleet']";
        wait_for(&client, row).await?;
        screenshot(&client, "ansible-tab").await?;
        click(&client, &format!("{row} a")).await?;

        // Its page: the tree of groups, and a host's merged variables.
        wait_for(&client, "[data-testid=inventory-groups] [data-group=web]").await?;
        hydrated(&client).await?;
        let groups = wait_for(&client, "[data-testid=inventory-groups]").await?.text().await?;
        for group in ["all", "targets", "prod", "web", "ungrouped"] {
            assert!(groups.contains(group), "group {group} in the tree: {groups}");
        }
        click(&client, "[data-testid=host-list] [data-host='web02.example.org']").await?;
        eventually("web02's variables", Duration::from_secs(10), || async {
            let vars = wait_for(&client, "[data-testid=host-variables]").await?.text().await?;
            Ok(vars.contains("web02.example.org") && vars.contains("http_port") && vars.contains("8080"))
        })
        .await?;
        click(&client, "[data-testid=host-list] [data-host=localhost]").await?;
        eventually("localhost's masked password", Duration::from_secs(10), || async {
            let vars = wait_for(&client, "[data-testid=host-variables]").await?.text().await?;
            Ok(vars.contains("db_password") && vars.contains("********"))
        })
        .await?;
        assert!(
            !client.source().await?.contains("hidden-canary-77"),
            "a secret-like value reached the page"
        );
        screenshot(&client, "inventory-page").await?;

        // A playbook job from the editor: check mode with diffs, limited to localhost.
        let inventory_id = storage
            .list_inventories(project_id)
            .await?
            .first()
            .map(|i| i.id)
            .ok_or("the inventory is stored")?;
        set_local_backend(&client, &base, &storage, project_id).await?;
        new_dev_job(&client, &base, project_id, "Check the motd").await?;
        click(&client, "input[name=action-kind][value=ansible]").await?;
        fill(&client, "[data-testid=ansible-playbook]", "site.yml").await?;
        let option = format!("[data-testid=ansible-inventory] option[value='{inventory_id}']");
        wait_for(&client, &option).await?;
        wait_for(&client, "[data-testid=ansible-inventory]")
            .await?
            .select_by_value(&inventory_id.to_string())
            .await?;
        fill(&client, "input[name=limit]", "localhost").await?;
        let extra = serde_json::json!({"target_dir": target.path(), "greeting": "hello from the pages"});
        fill(&client, "textarea[name=extra-vars]", &extra.to_string()).await?;
        click(&client, "[data-testid=ansible-check]").await?;
        screenshot(&client, "ansible-job-editor").await?;
        save_and_launch(&client).await?;

        // The run page: the recap of localhost, check mode said, the motd's diff.
        wait_for(&client, "[data-status=success]").await?;
        let recap = wait_for(&client, "[data-testid=ansible-recap] tr[data-host=localhost]").await?;
        let changed = recap
            .find(Locator::Css("[data-count=changed]"))
            .await?
            .text()
            .await?;
        assert!(changed.trim().parse::<u32>().unwrap_or(0) >= 2, "changed: {changed}");
        wait_for(&client, "[data-testid=check-mode]").await?;
        let tasks = wait_for(&client, "[data-testid=ansible-tasks]").await?.text().await?;
        assert!(tasks.contains("Write the motd") && tasks.contains("+hello from the pages"), "{tasks}");
        assert!(!target.path().join("motd").exists(), "check mode wrote nothing");
        screenshot(&client, "ansible-run").await?;
        Ok(())
    })
    .await
}
