//! Browser test of a project's Kubernetes clusters (issue 26): the project's owner adds a
//! cluster from its kubeconfig on the sheet's Kubernetes tab, checks it, and the health card shows
//! it healthy with the server's version, TLS verified and the namespace's rules; the kubeconfig's
//! token never reaches the page. The cluster is the stand-in API server of the server tests
//! (`server/tests/common/kube.rs`: no Kubernetes API server can be installed here).

use end2end::{
    at_phone_width, demo_project, eventually, fill, hydrated, log_in, screenshot, text_of,
    wait_for, with_demo, TestResult,
};
use std::time::Duration;

#[path = "../../server/tests/common/kube.rs"]
#[allow(dead_code)] // the server tests use more of it
mod kube;

const CANARY: &str = "kube-browser-canary-40a1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_sheet_shows_a_cluster_health_card() -> TestResult {
    let cluster = kube::start(CANARY).await;
    let kubeconfig = cluster.kubeconfig(CANARY, &cluster.ca_pem);
    with_demo(|client, base, storage| async move {
        let project = demo_project(&storage, "Projet Pilote App X").await?;
        let tab = format!("/projects/{}?tab=kubernetes", project.id);
        log_in(&client, &base, "demo-projets", &tab).await?;
        wait_for(&client, "[data-testid=clusters-tab]").await?;
        hydrated(&client).await?;
        assert!(text_of(&client, "[data-testid=clusters-tab]")
            .await?
            .contains("No cluster yet"));

        // Added from the form: the kubeconfig is typed once and never comes back.
        fill(
            &client,
            "[data-testid=add-cluster] input[name=cluster-name]",
            "payments-dev",
        )
        .await?;
        fill(
            &client,
            "[data-testid=add-cluster] textarea[name=kubeconfig]",
            &kubeconfig,
        )
        .await?;
        wait_for(&client, "[data-testid=add-cluster] button[type=submit]")
            .await?
            .click()
            .await?;
        let card = "[data-cluster]";
        wait_for(&client, card).await?;
        assert_eq!(
            wait_for(&client, card)
                .await?
                .attr("data-health")
                .await?
                .as_deref(),
            Some("unchecked")
        );
        let textarea = wait_for(
            &client,
            "[data-testid=add-cluster] textarea[name=kubeconfig]",
        )
        .await?;
        assert_eq!(
            textarea.prop("value").await?.unwrap_or_default(),
            "",
            "the kubeconfig left the page"
        );
        let facts = text_of(&client, card).await?;
        assert!(
            facts.contains(&cluster.url) && facts.contains(kube::NAMESPACE),
            "{facts}"
        );

        // Checked: the card turns healthy with what the cluster said.
        wait_for(&client, "[data-testid=check-cluster]")
            .await?
            .click()
            .await?;
        eventually(
            "the cluster checked healthy",
            Duration::from_secs(30),
            || async {
                Ok(client
                    .find(fantoccini::Locator::Css(card))
                    .await?
                    .attr("data-health")
                    .await?
                    .as_deref()
                    == Some("healthy"))
            },
        )
        .await?;
        let checked = text_of(&client, card).await?;
        assert!(checked.contains("v1.31.2"), "{checked}");
        assert!(
            checked.contains("verified against the kubeconfig's CA"),
            "{checked}"
        );
        assert!(checked.contains("3 permission rules"), "{checked}");
        assert!(
            !client.source().await?.contains(CANARY),
            "the token reached the page"
        );
        screenshot(&client, "kubernetes-cluster-card").await?;

        // At phone width the card still reads: one column, nothing cut.
        // At phone width the page still reads: nothing wider than the screen.
        at_phone_width(
            &client,
            "[data-cluster][data-health=healthy]",
            "kubernetes-cluster-card-phone",
        )
        .await?;
        Ok(())
    })
    .await
}
