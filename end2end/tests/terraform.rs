//! Browser test of a Terraform plan's page (issue 25): a real plan made by the test command's
//! Terraform (an apply, then a plan that updates, replaces and destroys), kept for a demo
//! project; its page shows Terraform's counts and a ⚠ on the replaced resource, the sensitive
//! value nowhere; the project sheet's Terraform tab lists it. Then a plan and its apply from the
//! pages alone: jobs made with the editor, the plan run's panel, the plan chosen on the apply
//! job's page, the approval by the project's owner, Terraform's "Apply complete!".

use std::process::Command;

use std::time::Duration;

use end2end::{
    eventually, fill, hydrated, launch_from_job_page, log_in, log_out, new_dev_job, save_job,
    screenshot, set_local_backend, text_of, wait_for, with_browser, with_browser_and_scripts,
    TestResult,
};
use services::storage::{Actor, NewPlan};

const CANARY: &str = "tf-browser-canary-81f3";

const CONFIGURATION: &str = r#"
variable "size" { type = number }
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "config" { input = var.size }
resource "terraform_data" "server" {
  input            = "server"
  triggers_replace = [var.size]
}
resource "terraform_data" "scratch" {
  count = var.size < 2 ? 1 : 0
  input = "scratch"
}
resource "terraform_data" "credentials" { input = var.token }
"#;

/// Runs the test command's Terraform in `dir`; its standard output.
fn terraform(dir: &std::path::Path, args: &[&str]) -> TestResult<String> {
    let program = std::env::var("UHUB_TEST_TERRAFORM")
        .map_err(|_| "UHUB_TEST_TERRAFORM is not set: scripts/test.sh installs Terraform")?;
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("TF_VAR_token", CANARY)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "terraform {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_plan_shows_its_counts_and_risks() -> TestResult {
    let work = tempfile::tempdir()?;
    std::fs::write(work.path().join("main.tf"), CONFIGURATION)?;
    terraform(work.path(), &["init", "-input=false", "-no-color"])?;
    terraform(
        work.path(),
        &[
            "apply",
            "-input=false",
            "-no-color",
            "-auto-approve",
            "-var",
            "size=1",
        ],
    )?;
    let planned = terraform(
        work.path(),
        &[
            "plan",
            "-input=false",
            "-no-color",
            "-var",
            "size=2",
            "-out=next.tfplan",
        ],
    )?;
    assert!(
        planned.contains("Plan: 1 to add, 1 to change, 2 to destroy."),
        "{planned}"
    );
    let document = terraform(work.path(), &["show", "-json", "next.tfplan"])?;
    assert!(
        document.contains(CANARY),
        "terraform show -json prints sensitive values in clear"
    );
    let analysis = services::terraform::analyze(
        document.as_bytes(),
        &services::terraform::RiskPatterns::default(),
    )
    .map_err(|e| e.to_string())?;

    let storage = services::testing::TestStorage::new(services::testing::TestEngine::Sqlite).await;
    let today = chrono::Utc::now().date_naive();
    services::seed::load_demo(&storage.storage, today, &Actor::system()).await?;
    with_browser(&storage.storage, |client, base, storage| async move {
        let project_id = storage
            .list_project_summaries()
            .await?
            .into_iter()
            .find(|p| p.name == "Projet Pilote App X")
            .map(|p| p.id)
            .ok_or("the demo project")?;
        let plan = {
            let mut tx = storage.write().await?;
            let plan = tx
                .save_terraform_plan(
                    &NewPlan {
                        project_id,
                        name: "network".to_owned(),
                        environment: Some("dev".to_owned()),
                        job_id: None,
                        run_id: None,
                        analysis,
                        commit_sha: None,
                    },
                    &Actor::system(),
                )
                .await?;
            tx.commit().await?;
            plan
        };

        // The plan page, as a developer (reading is everyone's).
        let page = format!("/projects/{project_id}/terraform-plans/{}", plan.id);
        log_in(&client, &base, "demo-dev", &page).await?;
        wait_for(&client, "[data-testid=plan-summary]").await?;
        hydrated(&client).await?;
        let count = |action: &'static str| {
            let client = client.clone();
            async move {
                let css = format!("[data-testid=plan-summary] [data-action={action}]");
                let found: TestResult<Option<String>> =
                    Ok(wait_for(&client, &css).await?.attr("data-count").await?);
                found
            }
        };
        assert_eq!(count("create").await?.as_deref(), Some("0"));
        assert_eq!(count("update").await?.as_deref(), Some("1"));
        assert_eq!(count("replace").await?.as_deref(), Some("1"));
        assert_eq!(count("delete").await?.as_deref(), Some("1"));
        let line = text_of(&client, "[data-testid=plan-summary]").await?;
        assert!(
            line.contains("1 to add, 1 to change, 2 to destroy"),
            "Terraform's own line: {line}"
        );
        let risk = wait_for(
            &client,
            "[data-address='terraform_data.server'] [data-risky]",
        )
        .await?;
        assert_eq!(risk.text().await?, "⚠");
        assert!(risk
            .attr("data-risky")
            .await?
            .unwrap_or_default()
            .contains("replace"));
        let server = text_of(&client, "[data-address='terraform_data.server']").await?;
        assert!(server.to_lowercase().contains("replace"), "{server}");
        // The attribute changes of the resource, opened from the keyboard's button.
        wait_for(&client, "[data-address='terraform_data.config'] button")
            .await?
            .click()
            .await?;
        let config = wait_for(
            &client,
            "[data-address='terraform_data.config'] tr[data-path=input]",
        )
        .await?;
        let cells = config.text().await?;
        assert!(
            cells.contains('1') && cells.contains('2'),
            "before and after: {cells}"
        );
        assert!(
            !client.source().await?.contains(CANARY),
            "a sensitive value reached the page"
        );
        screenshot(&client, "terraform-plan").await?;

        // The project sheet's tab lists it by environment.
        client
            .goto(&format!("{base}/projects/{project_id}?tab=terraform"))
            .await?;
        let row = format!("[data-testid=terraform-plans] tr[data-plan='{}']", plan.id);
        let listed = text_of(&client, &row).await?;
        assert!(
            listed.contains("network") && listed.contains("+1 ~1 −2"),
            "{listed}"
        );
        screenshot(&client, "terraform-tab").await?;
        Ok(())
    })
    .await
}

async fn click(client: &fantoccini::Client, css: &str) -> TestResult {
    wait_for(client, css).await?.click().await?;
    Ok(())
}

/// A Terraform job made with the editor: `infra` of the scripts directory, workspace `green`.
async fn terraform_job(
    client: &fantoccini::Client,
    base: &str,
    project_id: i64,
    title: &str,
    operation: &str,
) -> TestResult {
    new_dev_job(client, base, project_id, title).await?;
    click(client, "input[name=action-kind][value=terraform]").await?;
    fill(client, "[data-testid=terraform-dir]", "infra").await?;
    fill(client, "[data-testid=terraform-workspace]", "green").await?;
    click(client, &format!("[data-testid=terraform-{operation}]")).await?;
    save_job(client).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_and_its_apply_from_the_pages() -> TestResult {
    assert!(
        std::env::var("UHUB_TEST_TERRAFORM").is_ok(),
        "UHUB_TEST_TERRAFORM is not set: scripts/test.sh installs Terraform"
    );
    let scripts = tempfile::tempdir()?;
    std::fs::create_dir_all(scripts.path().join("infra"))?;
    std::fs::write(
        scripts.path().join("infra/main.tf"),
        "resource \"terraform_data\" \"site\" { input = \"from the pages\" }\n",
    )?;
    let storage = services::testing::TestStorage::new(services::testing::TestEngine::Sqlite).await;
    let today = chrono::Utc::now().date_naive();
    services::seed::load_demo(&storage.storage, today, &Actor::system()).await?;
    with_browser_and_scripts(
        &storage.storage,
        scripts.path(),
        |client, base, storage| async move {
            let project_id = storage
                .list_project_summaries()
                .await?
                .into_iter()
                .find(|p| p.name == "Projet Pilote App X")
                .map(|p| p.id)
                .ok_or("the demo project")?;
            log_in(
                &client,
                &base,
                "demo-admin",
                &format!("/projects/{project_id}"),
            )
            .await?;
            set_local_backend(&client, &base, &storage, project_id).await?;

            // The plan: made with the editor, launched, its run page links the stored plan.
            terraform_job(&client, &base, project_id, "Plan the site", "plan").await?;
            launch_from_job_page(&client).await?;
            wait_for(&client, "[data-status=success]").await?;
            let panel = wait_for(
                &client,
                "[data-testid=terraform-panel] [data-testid=plan-summary] [data-action=create]",
            )
            .await?;
            assert_eq!(panel.attr("data-count").await?.as_deref(), Some("1"));
            let plan_run = client
                .current_url()
                .await?
                .path()
                .trim_start_matches("/runs/")
                .to_owned();
            screenshot(&client, "terraform-plan-run").await?;

            // The apply: its page offers that plan run's plan, and the run waits for approval.
            terraform_job(&client, &base, project_id, "Apply the site", "apply").await?;
            let choice = format!("[data-testid=plan-to-apply] option[value='{plan_run}']");
            wait_for(&client, &choice).await?;
            screenshot(&client, "terraform-apply-job").await?;
            launch_from_job_page(&client).await?;
            wait_for(&client, "[data-status=awaiting_approval]").await?;
            let approvals = text_of(&client, "[data-testid=approvals]").await?;
            assert!(approvals.contains("0 of 1"), "{approvals}");
            let apply_page = client.current_url().await?.path().to_owned();
            log_out(&client).await?;

            // The project's owner approves what the page shows; Terraform applies it.
            log_in(&client, &base, "demo-projets", &apply_page).await?;
            click(&client, "[data-testid=approve]").await?;
            wait_for(&client, "[data-status=success]").await?;
            eventually(
                "Terraform's own words in the log",
                Duration::from_secs(20),
                || async {
                    Ok(client
                        .source()
                        .await?
                        .contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."))
                },
            )
            .await?;
            screenshot(&client, "terraform-applied").await?;
            Ok(())
        },
    )
    .await
}
