//! Browser test of an incident's story (issue 27): a deployment to production recorded by the
//! engine's storage, an incident detected 10 minutes later; its page shows the timeline with the
//! deployment, the deployment as the top suspect with its reasons, and the post-mortem drafted
//! from them renders as a preview (headings, the timeline table).

use std::time::Duration;

use chrono::Utc;
use end2end::{
    at_phone_width, demo_project, eventually, log_in, screenshot, text_of, wait_for, with_demo,
    TestResult,
};
use services::storage::{Actor, NewIncident, NewJob, NewRun};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_page_shows_the_timeline_suspects_and_the_postmortem() -> TestResult {
    with_demo(|client, base, storage| async move {
        let project = demo_project(&storage, "Projet Pilote App X").await?;
        let action: domain::JobAction = serde_json::from_value(
            serde_json::json!({"kind": "container", "image": "registry.example.org/app-x:3.1"}),
        )?;
        let (run_id, incident_id) = {
            let mut tx = storage.write().await?;
            let mut job = NewJob::planned(
                project.id,
                "Deploy App X",
                domain::JobType::Ops,
                Some("prod"),
                Utc::now() - chrono::Duration::hours(1),
            );
            job.action = Some(action.clone());
            let job = tx.create_job(&job, &Actor::system()).await?;
            let run = tx
                .create_run(
                    &NewRun {
                        job_id: job.id,
                        environment: Some("prod".to_owned()),
                        backend: domain::ExecutionBackend::Docker,
                        status: domain::RunStatus::Running,
                        launched_by: None,
                        action,
                        action_sha256: "0".repeat(64),
                        script_sha256: None,
                        action_changed_by: None,
                        commit_sha: Some("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".to_owned()),
                        after_check: None,
                    },
                    &Actor::system(),
                )
                .await?;
            tx.finish_run(run.id, domain::RunStatus::Success, Some(0), None)
                .await?;
            let incident = tx
                .create_incident(
                    &NewIncident {
                        project_id: Some(project.id),
                        title: "App X answers 500".to_owned(),
                        description: "The checkout page fails for every user.".to_owned(),
                        severity: domain::IncidentSeverity::Sev1,
                        status: domain::IncidentStatus::Investigating,
                        owner_id: None,
                        job_id: None,
                        detected_at: Some(Utc::now() + chrono::Duration::minutes(10)),
                    },
                    &Actor::system(),
                )
                .await?;
            tx.commit().await?;
            (run.id, incident.id)
        };

        let page = format!("/incidents/{incident_id}");
        log_in(&client, &base, "demo-ops", &page).await?;
        let deployment = format!("[data-testid=incident-timeline] li[data-ref='run:{run_id}']");
        let entry = wait_for(&client, &deployment).await?;
        assert_eq!(
            entry.attr("data-kind").await?.as_deref(),
            Some("deployment")
        );
        assert!(entry.text().await?.contains("Deployed 9f8e7d6"));
        let top = wait_for(&client, "[data-testid=incident-suspects] li[data-ref]").await?;
        assert_eq!(top.attr("data-ref").await?, Some(format!("run:{run_id}")));
        let reasons = top.text().await?;
        assert!(
            reasons.contains("in production (prod)") && reasons.contains("min before detection"),
            "{reasons}"
        );

        // The post-mortem, drafted from the page, previewed.
        wait_for(&client, "[data-testid=draft-postmortem]")
            .await?
            .click()
            .await?;
        eventually(
            "the post-mortem preview",
            Duration::from_secs(30),
            || async {
                Ok(client
                    .find_all(fantoccini::Locator::Css(
                        "[data-testid=postmortem-preview] h2",
                    ))
                    .await?
                    .len()
                    == 1)
            },
        )
        .await?;
        let preview = text_of(&client, "[data-testid=postmortem-preview]").await?;
        assert!(
            preview.contains("Post-mortem: App X answers 500"),
            "{preview}"
        );
        assert!(
            preview.contains("Timeline") && preview.contains("Deployed 9f8e7d6"),
            "{preview}"
        );
        assert!(
            !preview.contains("## "),
            "headings are rendered, not shown as Markdown: {preview}"
        );
        wait_for(&client, "[data-testid=postmortem-preview] table").await?;
        screenshot(&client, "incident-story").await?;
        client
            .execute(
                "document.querySelector('[data-testid=postmortem]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "incident-postmortem").await?;

        // The dashboard names the open incident's top suspect; the list says how long it lasts.
        client.goto(&format!("{base}/")).await?;
        let top = text_of(
            &client,
            &format!("[data-incident='{incident_id}'] [data-testid=top-suspect]"),
        )
        .await?;
        assert!(top.contains("Deployment of 9f8e7d6"), "{top}");
        client.goto(&format!("{base}/incidents")).await?;
        let duration = text_of(&client, "[data-testid=incident-duration]").await?;
        assert!(duration.contains("min"), "{duration}");
        client.goto(&format!("{base}{page}")).await?;

        // At phone width the page still reads: nothing wider than the screen.
        at_phone_width(&client, &deployment, "incident-story-phone").await?;
        Ok(())
    })
    .await
}
