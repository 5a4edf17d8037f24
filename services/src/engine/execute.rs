//! Executing one claimed run: the action recorded at launch on its backend, with the secrets of
//! its scope, its output into the log; a webhook run is triggered and then waits for its
//! callback without holding a slot.

use std::time::Duration;

use chrono::Utc;
use domain::terraform::TerraformOperation;
use domain::{ExecutionBackend, JobAction, LogStream, Run, RunStatus, WebhookPreset};

use super::{docker, local, output, webhook, CancelSignal, Executor, Outcome};
use crate::forge::link_token;
use crate::storage::Actor;
use crate::ServiceResult;

impl Executor {
    /// The variables a run receives: its own (`UHUB_*`) and the secrets of its scope (the
    /// project-wide ones and its environment's), with the values to mask in its log.
    async fn run_environment(
        &self,
        run: &Run,
    ) -> ServiceResult<(Vec<(String, String)>, Vec<zeroize::Zeroizing<String>>)> {
        let mut env = vec![
            ("UHUB_RUN_ID".to_owned(), run.id.to_string()),
            ("UHUB_JOB_ID".to_owned(), run.job_id.to_string()),
            ("UHUB_PROJECT_ID".to_owned(), run.project_id.to_string()),
            (
                "UHUB_ENVIRONMENT".to_owned(),
                run.environment.clone().unwrap_or_default(),
            ),
        ];
        let mut db = self.inner.storage.read().await?;
        let scope = crate::secrets::run_scope(&mut db, run).await?;
        let secrets = self
            .inner
            .secrets
            .values(&mut db, run.project_id, &scope)
            .await?;
        let mut values = Vec::new();
        // The credentials of the cluster a run reaches are masked too (they are not in its
        // environment).
        if let Some(cluster) = run.action.as_ref().and_then(JobAction::cluster) {
            let kubeconfig = self
                .inner
                .secrets
                .kubeconfig(&mut db, run.project_id, cluster)
                .await?;
            values.extend(super::kubectl::credentials(&kubeconfig));
        }
        drop(db);
        for (name, value) in secrets {
            env.push((name, value.to_string()));
            values.push(value);
        }
        Ok((env, values))
    }

    /// Executes one claimed run: the action recorded when it was launched (never the job's
    /// current one) on its backend, its output into the log. `None` when a webhook target was
    /// triggered and the run now waits for its callback.
    pub(super) async fn execute(&self, run: &Run, signal: &CancelSignal) -> Option<Executed> {
        let storage = &self.inner.storage;
        // Executed with the settings it was launched (and approved) with, or not at all.
        let project = match super::launch::launched_settings(storage, run).await {
            Ok(project) => project,
            Err(reason) => return Some(Executed::unlogged(Outcome::failed(reason))),
        };
        let (env, values) = match self.run_environment(run).await {
            Ok(found) => found,
            Err(error) => {
                return Some(Executed::unlogged(Outcome::failed(format!(
                    "cannot read the project's secrets: {error}"
                ))))
            }
        };
        let masker = output::Masker::new(values.iter().map(|v| v.as_str()));
        let (log, writer) = output::writer(
            storage.clone(),
            run.id,
            masker.clone(),
            self.inner.config.max_log_bytes,
        );
        log.line(
            LogStream::System,
            format!(
                "run #{} of job #{} on {}{} (worker {}), action sha256 {}",
                run.id,
                run.job_id,
                run.backend,
                run.environment
                    .as_deref()
                    .map(|e| format!(" in {e}"))
                    .unwrap_or_default(),
                self.inner.worker,
                run.action_sha256.as_deref().unwrap_or("unknown"),
            ),
        );
        let timeout = project
            .execution_backend_config
            .timeout_seconds
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(self.inner.config.default_timeout);

        // Heartbeats carry cancel requests made through any uHub process.
        let heartbeat = {
            let storage = storage.clone();
            let worker = self.inner.worker.clone();
            let signal = signal.clone();
            let every = self.inner.config.heartbeat;
            let run_id = run.id;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match storage.heartbeat(run_id, &worker).await {
                        Ok(true) => signal.cancel("canceled on request"),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(run_id, %error, "heartbeat failed"),
                    }
                }
            })
        };

        // An action from a repository runs the commit recorded at launch, checked out now.
        let checkout = self.checkout(run, &log).await;
        self.report_status(run, None, &log).await;
        let outcome = match (checkout, run.backend, &run.action) {
            (Err(reason), _, _) => Outcome::failed(reason),
            (Ok(checkout), ExecutionBackend::Local, Some(JobAction::Script { path, args, .. })) => {
                let spec = local::LocalRun {
                    scripts_dir: &self.inner.config.scripts_dir,
                    path,
                    args,
                    env,
                    timeout,
                    expected_sha256: run.script_sha256.as_deref(),
                    run_as: self.inner.config.local_run_as.as_ref(),
                    checkout: checkout.as_ref().map(super::WorkDir::path),
                };
                local::run(spec, &log, signal, self.record_process_group(run.id)).await
            }
            (Ok(checkout), ExecutionBackend::Local, Some(JobAction::Ansible { .. })) => {
                match self.cluster_access(run, env, &log).await {
                    Ok((env, _kubeconfig)) => {
                        self.run_playbook(run, checkout.as_ref(), env, timeout, &log, signal, &masker).await
                    }
                    Err(reason) => Outcome::failed(reason),
                }
            }
            (Ok(_), ExecutionBackend::Local, Some(JobAction::Kubectl { cluster, args })) => {
                self.run_kubectl(run, *cluster, args, env, timeout, &log, signal).await
            }
            (Ok(checkout), ExecutionBackend::Local, Some(JobAction::Terraform { .. })) => {
                match self.cluster_access(run, env, &log).await {
                    Ok((env, _kubeconfig)) => {
                        self.run_terraform(run, checkout.as_ref(), env, timeout, &log, signal, &masker).await
                    }
                    Err(reason) => Outcome::failed(reason),
                }
            }
            (Ok(checkout), ExecutionBackend::Docker, Some(JobAction::Container { image, command, .. })) => {
                match self.docker().await {
                    Err(reason) => Outcome::failed(reason),
                    Ok(docker) => {
                        let spec = docker::DockerRun {
                            run_id: run.id,
                            worker: &self.inner.worker,
                            image,
                            command,
                            env,
                            limits: &project.execution_backend_config,
                            timeout,
                            workspace: checkout.as_ref().map(super::WorkDir::path),
                        };
                        let storage = storage.clone();
                        let run_id = run.id;
                        docker::run(docker, spec, &log, signal, move |id| {
                            let external = format!("container:{id}");
                            tokio::spawn(async move {
                                if let Err(error) = storage.set_external_id(run_id, &external).await {
                                    tracing::warn!(run_id, %error, "cannot record the run's container");
                                }
                            });
                        })
                        .await
                    }
                }
            }
            (_, ExecutionBackend::Webhook, Some(JobAction::Webhook { git_ref, inputs })) => {
                heartbeat.abort();
                // Every line so far is stored before the target can call back (it needs the
                // trigger's key to): its lines then follow these.
                drop(log);
                let _ = writer.await;
                return self
                    .trigger_webhook(run, &project.execution_backend_config, &env, git_ref.as_deref(), inputs)
                    .await
                    .map(Executed::unlogged);
            }
            (_, backend, Some(action)) => Outcome::failed(format!(
                "a {} action cannot run on the {backend} backend",
                action_kind(action)
            )),
            (_, _, None) => Outcome::failed(
                "the run has no recorded action (it was launched before uHub recorded them): launch it again"
                    .to_owned(),
            ),
        };
        heartbeat.abort();
        self.report_status(run, Some(&outcome), &log).await;
        drop(log);
        // The last line (how it ended) is written with the run's end, after every line before.
        let log = writer.await.ok();
        Some(Executed { outcome, log })
    }

    /// The commit a run of an action from a repository executes, checked out of the link's
    /// mirror into a directory of the run's own (removed with it); `None` for other actions.
    /// The mirror is fetched again only when it lacks the commit (another process launched it).
    async fn checkout(
        &self,
        run: &Run,
        log: &output::LogSender,
    ) -> Result<Option<super::WorkDir>, String> {
        let Some((link_id, _)) = run.action.as_ref().and_then(JobAction::repository) else {
            return Ok(None);
        };
        let sha = run.commit_sha.as_deref().ok_or_else(|| {
            "the run has no recorded commit (it was launched before uHub recorded them): launch it again"
                .to_owned()
        })?;
        let mirrors = &self.inner.config.git_mirrors;
        let mirror = match mirrors.having(link_id, &[sha]).await {
            Some(mirror) => mirror,
            None => {
                // A fetch can take a while (a big repository, a slow remote): the log says
                // what the run waits for.
                log.line(
                    LogStream::System,
                    format!("fetching repository link #{link_id}: its mirror lacks commit {sha}"),
                );
                let mut db = self
                    .inner
                    .storage
                    .read()
                    .await
                    .map_err(|error| error.to_string())?;
                let link = db
                    .link(link_id)
                    .await
                    .map_err(|_| format!("the repository link #{link_id} is gone"))?;
                drop(db);
                let token = link_token(&self.inner.secrets, &self.inner.storage, &link)
                    .await
                    .map_err(|error| error.to_string())?;
                mirrors
                    .fetched(&link, token.as_ref())
                    .await
                    .map_err(|error| error.to_string())?
            }
        };
        let dir = super::WorkDir::create()
            .map_err(|e| format!("cannot create the checkout's directory: {e}"))?;
        crate::git_cli::checkout(&mirror, sha, dir.path()).await?;
        log.line(
            LogStream::System,
            format!("checked out commit {sha} of repository link #{link_id}"),
        );
        Ok(Some(dir))
    }

    /// What a local run calls once its process started: its process group is recorded, so that
    /// a sweep after a crash of this uHub can stop what is left of it.
    fn record_process_group(&self, run_id: i64) -> impl Fn(u32) {
        let storage = self.inner.storage.clone();
        move |pid| {
            let storage = storage.clone();
            tokio::spawn(async move {
                if let Err(error) = storage
                    .set_external_id(run_id, &format!("pgid:{pid}"))
                    .await
                {
                    tracing::warn!(run_id, %error, "cannot record the run's process group");
                }
            });
        }
    }

    /// Runs an `ansible` action: the inventory version pinned at launch, the playbook from the
    /// scripts directory or the checkout; keeps the structured results, the run's secrets
    /// masked in them as in its log (a failure to keep them is a line of the log).
    #[allow(clippy::too_many_arguments)] // the pieces of one run, each from a different step
    async fn run_playbook(
        &self,
        run: &Run,
        checkout: Option<&super::WorkDir>,
        env: Vec<(String, String)>,
        timeout: Duration,
        log: &output::LogSender,
        signal: &CancelSignal,
        masker: &output::Masker,
    ) -> Outcome {
        let Some(JobAction::Ansible {
            playbook,
            inventory,
            inventory_version,
            limit,
            tags,
            skip_tags,
            extra_vars,
            check,
            diff,
            ..
        }) = &run.action
        else {
            return Outcome::failed("not an ansible action".to_owned());
        };
        let storage = &self.inner.storage;
        let Some(version) = inventory_version else {
            return Outcome::failed(
                "the run has no pinned inventory version: launch it again".to_owned(),
            );
        };
        let stored = match storage.read().await {
            Ok(mut db) => db.inventory_version(*inventory, *version).await,
            Err(error) => Err(error),
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                return Outcome::failed(format!(
                    "cannot read version {version} of inventory #{inventory}: {error}"
                ))
            }
        };
        log.line(
            LogStream::System,
            format!(
                "ansible-playbook {playbook} against inventory #{inventory} version {version}{}",
                if *check { " in check mode" } else { "" }
            ),
        );
        let spec = super::ansible::AnsibleRun {
            ansible_playbook: self.inner.config.ansible_playbook.as_deref(),
            scripts_dir: &self.inner.config.scripts_dir,
            checkout: checkout.map(super::WorkDir::path),
            playbook,
            expected_sha256: run.script_sha256.as_deref(),
            inventory_format: &stored.format,
            inventory: &stored.content,
            limit: limit.as_deref(),
            tags,
            skip_tags,
            extra_vars,
            check: *check,
            diff: *diff,
            env,
            timeout,
            run_as: self.inner.config.local_run_as.as_ref(),
        };
        let (outcome, results) =
            super::ansible::run(spec, log, signal, self.record_process_group(run.id)).await;
        if let Some(mut results) = results {
            results.after_check = run.after_check;
            results.mask_with(|text| masker.mask(text));
            let saved = async {
                let mut tx = storage.write().await?;
                tx.save_ansible_results(run.id, &results).await?;
                tx.commit().await
            };
            if let Err(error) = saved.await {
                log.line(
                    LogStream::System,
                    format!("the playbook's results could not be kept: {error}"),
                );
            }
        }
        outcome
    }

    /// The cluster a run reaches and its kubeconfig: still the project's, still serving the
    /// run's environment (the cluster may have changed since the launch).
    async fn cluster_of_run(
        &self,
        run: &Run,
        cluster_id: i64,
    ) -> Result<(domain::kubernetes::Cluster, zeroize::Zeroizing<String>), String> {
        let storage = &self.inner.storage;
        let cluster = match storage.cluster(cluster_id).await {
            Ok(cluster) if cluster.project_id == run.project_id => cluster,
            Ok(_) | Err(crate::ServiceError::NotFound { .. }) => {
                return Err(format!(
                    "cluster #{cluster_id} is no longer a cluster of the project"
                ))
            }
            Err(error) => return Err(format!("cannot read the cluster: {error}")),
        };
        if run.environment.as_deref() != Some(cluster.environment.as_str()) {
            return Err(format!(
                "the cluster `{}` now serves `{}`, not this run's environment: launch it again",
                cluster.name, cluster.environment
            ));
        }
        let kubeconfig = match storage.read().await {
            Ok(mut db) => {
                self.inner
                    .secrets
                    .kubeconfig(&mut db, run.project_id, cluster_id)
                    .await
            }
            Err(error) => Err(error),
        };
        kubeconfig
            .map(|kubeconfig| (cluster, kubeconfig))
            .map_err(|error| format!("cannot read the cluster's kubeconfig: {error}"))
    }

    /// For an Ansible or Terraform run that names a cluster: its kubeconfig (only its context) in
    /// a 0600 file of a directory of the run's own, named by `KUBECONFIG`, `K8S_AUTH_KUBECONFIG`
    /// (Ansible's kubernetes.core) and `KUBE_CONFIG_PATH` (Terraform's kubernetes and helm
    /// providers). The directory, returned, goes when the run ends.
    async fn cluster_access(
        &self,
        run: &Run,
        mut env: Vec<(String, String)>,
        log: &output::LogSender,
    ) -> Result<(Vec<(String, String)>, Option<super::WorkDir>), String> {
        let Some(cluster_id) = run.action.as_ref().and_then(JobAction::cluster) else {
            return Ok((env, None));
        };
        let (cluster, kubeconfig) = self.cluster_of_run(run, cluster_id).await?;
        let file =
            super::kubectl::kubeconfig_file(&kubeconfig, self.inner.config.local_run_as.as_ref())?;
        let path = file.path().join("kubeconfig").display().to_string();
        for name in ["KUBECONFIG", "K8S_AUTH_KUBECONFIG", "KUBE_CONFIG_PATH"] {
            env.push((name.to_owned(), path.clone()));
        }
        log.line(
            LogStream::System,
            format!(
                "cluster `{}` ({}), namespace `{}`: KUBECONFIG holds its context only",
                cluster.name, cluster.server_url, cluster.namespace
            ),
        );
        Ok((env, Some(file)))
    }

    /// `kubectl` with the cluster's kubeconfig (only its context) in a 0600 file of the run's own,
    /// removed when the run ends; the cluster must still be the project's and serve the run's
    /// environment.
    #[allow(clippy::too_many_arguments)] // the pieces of one run, each from a different step
    async fn run_kubectl(
        &self,
        run: &Run,
        cluster_id: i64,
        args: &[String],
        env: Vec<(String, String)>,
        timeout: Duration,
        log: &output::LogSender,
        signal: &CancelSignal,
    ) -> Outcome {
        let (cluster, kubeconfig) = match self.cluster_of_run(run, cluster_id).await {
            Ok(found) => found,
            Err(reason) => return Outcome::failed(reason),
        };
        log.line(
            LogStream::System,
            format!(
                "kubectl on cluster `{}` ({}), namespace `{}`",
                cluster.name, cluster.server_url, cluster.namespace
            ),
        );
        let spec = super::kubectl::KubectlRun {
            kubectl: self.inner.config.kubectl.as_deref(),
            kubeconfig: &kubeconfig,
            namespace: &cluster.namespace,
            args,
            env,
            timeout,
            run_as: self.inner.config.local_run_as.as_ref(),
        };
        super::kubectl::run(spec, log, signal, self.record_process_group(run.id)).await
    }

    /// Runs a `terraform` action. A plan run stores its plan (analysed, sensitive values and the
    /// run's secrets redacted) linked to the run; an apply run first checks that its plan is
    /// still the workspace's newest.
    #[allow(clippy::too_many_arguments)] // the pieces of one run, each from a different step
    async fn run_terraform(
        &self,
        run: &Run,
        checkout: Option<&super::WorkDir>,
        env: Vec<(String, String)>,
        timeout: Duration,
        log: &output::LogSender,
        signal: &CancelSignal,
        masker: &output::Masker,
    ) -> Outcome {
        let Some(JobAction::Terraform {
            dir,
            workspace,
            vars,
            operation,
            plan_run,
            ..
        }) = &run.action
        else {
            return Outcome::failed("not a terraform action".to_owned());
        };
        let storage = &self.inner.storage;
        let config = &self.inner.config;
        let plans_dir = config.terraform_dir.join("plans");
        let plan_file = match operation {
            TerraformOperation::Plan => plans_dir.join(format!("{}.tfplan", run.id)),
            TerraformOperation::Apply => {
                let Some(plan_run) = plan_run else {
                    return Outcome::failed(
                        "the apply names no plan run: launch it again".to_owned(),
                    );
                };
                match storage.plan_of_run(*plan_run).await {
                    Ok(Some(plan)) if !plan.superseded => {
                        log.line(
                            LogStream::System,
                            format!("applying the plan of run #{plan_run} (plan sha256 {})", plan.plan_sha256),
                        );
                    }
                    Ok(Some(_)) => {
                        return Outcome::failed(format!(
                            "a newer plan exists for the workspace `{workspace}`: this apply's plan is stale (plan again)"
                        ))
                    }
                    Ok(None) => return Outcome::failed(format!("plan run #{plan_run} stored no plan")),
                    Err(error) => return Outcome::failed(format!("cannot read the plan: {error}")),
                }
                plans_dir.join(format!("{plan_run}.tfplan"))
            }
        };
        if let Err(error) = std::fs::create_dir_all(&plans_dir) {
            return Outcome::failed(format!("cannot create {}: {error}", plans_dir.display()));
        }
        let spec = super::terraform::TerraformRun {
            terraform: config.terraform.as_deref(),
            scripts_dir: &config.scripts_dir,
            checkout: checkout.map(super::WorkDir::path),
            dir,
            workspace,
            vars,
            operation: *operation,
            workspace_dir: config
                .terraform_dir
                .join("workspaces")
                .join(run.project_id.to_string())
                .join(workspace),
            plan_file,
            env,
            timeout,
            run_as: config.local_run_as.as_ref(),
        };
        let (outcome, document) =
            super::terraform::run(spec, log, signal, self.record_process_group(run.id)).await;
        let Some(document) = document else {
            return outcome;
        };
        let risks = config.terraform_risks.clone();
        let analysed =
            crate::analysis::off_thread(move || crate::terraform::analyze(&document, &risks)).await;
        let mut analysis = match analysed {
            Ok(Ok(analysis)) => analysis,
            Ok(Err(invalid)) => {
                return Outcome::failed(format!("Terraform's plan could not be read: {invalid}"))
            }
            Err(error) => return Outcome::failed(error.to_string()),
        };
        crate::terraform::mask_values(&mut analysis, |text| masker.mask(text));
        let (add, change, destroy) = analysis.summary.terraform_line();
        let actor = match (run.launched_by, run.launched_by_username.as_deref()) {
            (Some(id), Some(name)) => Actor::user(id, name, None),
            _ => Actor::system(),
        };
        let saved = async {
            let mut tx = storage.write().await?;
            let plan = tx
                .save_terraform_plan(
                    &crate::storage::NewPlan {
                        project_id: run.project_id,
                        name: workspace.clone(),
                        environment: run.environment.clone(),
                        job_id: Some(run.job_id),
                        run_id: Some(run.id),
                        analysis,
                        commit_sha: run.commit_sha.clone(),
                    },
                    &actor,
                )
                .await?;
            tx.commit().await?;
            Ok::<_, crate::ServiceError>(plan)
        };
        match saved.await {
            Ok(plan) => {
                log.line(
                    LogStream::System,
                    format!(
                        "plan #{} stored: {add} to add, {change} to change, {destroy} to destroy (plan sha256 {})",
                        plan.id, plan.plan_sha256
                    ),
                );
                outcome
            }
            Err(error) => Outcome::failed(format!("the plan could not be kept: {error}")),
        }
    }

    /// Posts the run's state (`None`: started) as a commit status of the commit it runs, when
    /// its repository link asks for it (`report_status`). A failure to report is a line of the
    /// log, never the run's failure.
    async fn report_status(&self, run: &Run, outcome: Option<&Outcome>, log: &output::LogSender) {
        let (Some((link_id, _)), Some(sha)) = (
            run.action.as_ref().and_then(JobAction::repository),
            run.commit_sha.as_deref(),
        ) else {
            return;
        };
        let reported = async {
            let mut db = self.inner.storage.read().await?;
            let link = db.link(link_id).await?;
            if !link.report_status {
                return Ok(false);
            }
            drop(db);
            let token = link_token(&self.inner.secrets, &self.inner.storage, &link).await?;
            let Some(api) = self.inner.config.forges.api_of(&link)? else {
                return Ok(false);
            };
            let (github_state, gitlab_state, words) = match outcome.map(|o| o.status) {
                None => ("pending", "running", "running"),
                Some(RunStatus::Success) => ("success", "success", "succeeded"),
                Some(RunStatus::Canceled) => ("error", "canceled", "was canceled"),
                Some(RunStatus::TimedOut) => ("error", "failed", "timed out"),
                Some(_) => ("failure", "failed", "failed"),
            };
            let target_url = format!(
                "{}/runs/{}",
                self.inner.config.public_url.trim_end_matches('/'),
                run.id
            );
            let description = format!("uHub run #{} {words}", run.id);
            let context = format!("uhub/job-{}", run.job_id);
            let status = crate::forge_api::CommitStatus {
                github_state,
                gitlab_state,
                target_url: &target_url,
                description: &description,
                context: &context,
            };
            self.inner
                .config
                .forges
                .post_status(link_id, &api, token.as_ref(), sha, &status)
                .await
                .map(|()| true)
        };
        match reported.await {
            Ok(true) => log.line(
                LogStream::System,
                format!(
                    "commit status reported to the repository: {}",
                    if outcome.is_some() {
                        "finished"
                    } else {
                        "running"
                    }
                ),
            ),
            Ok(false) => {}
            Err(error) => log.line(
                LogStream::System,
                format!("the commit status could not be reported: {error}"),
            ),
        }
    }

    /// Triggers a webhook run's target; the run then waits for its callback (until the
    /// project's `callback_timeout_seconds`) without holding a slot: `None`. A trigger that
    /// fails ends the run (its line is in the log).
    async fn trigger_webhook(
        &self,
        run: &Run,
        config: &domain::BackendConfig,
        env: &[(String, String)],
        git_ref: Option<&str>,
        inputs: &std::collections::BTreeMap<String, String>,
    ) -> Option<Outcome> {
        let storage = &self.inner.storage;
        let secret = config
            .webhook_secret_name
            .as_deref()
            .and_then(|name| env.iter().find(|(k, _)| k == name))
            .map(|(_, v)| v.as_str());
        let triggered = match (&config.webhook_url, secret) {
            (None, _) => Err("the project's execution_backend_config has no webhook_url".to_owned()),
            (Some(_), None) => Err(
                "the project's webhook_secret_name does not name one of the secrets this run receives"
                    .to_owned(),
            ),
            (Some(url), Some(secret)) => {
                let callback_secret = self.callback_key(run.id);
                let spec = webhook::WebhookRun {
                    run_id: run.id,
                    job_id: run.job_id,
                    project_id: run.project_id,
                    environment: run.environment.as_deref(),
                    url,
                    preset: config.webhook_preset.unwrap_or(WebhookPreset::Generic),
                    secret,
                    git_ref,
                    inputs,
                    callback_url: format!(
                        "{}/api/v1/runs/{}/callback",
                        self.inner.config.public_url.trim_end_matches('/'),
                        run.id
                    ),
                    callback_secret: &callback_secret,
                };
                webhook::trigger(&spec, &self.inner.config.webhook_allowed_hosts).await
            }
        };
        let outcome = match triggered {
            Ok(line) => {
                let wait = config
                    .callback_timeout_seconds
                    .unwrap_or(domain::DEFAULT_CALLBACK_TIMEOUT_SECONDS);
                let deadline = Utc::now() + chrono::Duration::seconds(i64::from(wait));
                let recorded = async {
                    storage
                        .append_run_lines(run.id, LogStream::System, &[line])
                        .await?;
                    storage.wait_for_callback(run.id, deadline).await
                };
                match recorded.await {
                    Ok(()) => return None,
                    Err(error) => Outcome::failed(format!(
                        "cannot record that the webhook was triggered: {error}"
                    )),
                }
            }
            Err(reason) => Outcome::failed(reason),
        };
        if let Err(error) = storage
            .append_run_lines(run.id, LogStream::System, &[finished_line(&outcome)])
            .await
        {
            tracing::warn!(run_id = run.id, %error, "cannot log the end of a webhook run");
        }
        Some(outcome)
    }
}

/// How an executed run ended, and where its log stands when the engine kept it (`None`: its
/// last line, if any, is already stored).
pub(super) struct Executed {
    pub outcome: Outcome,
    pub log: Option<output::LogEnd>,
}

impl Executed {
    fn unlogged(outcome: Outcome) -> Executed {
        Executed { outcome, log: None }
    }
}

/// The last line of a run's log: how it ended.
pub fn finished_line(outcome: &Outcome) -> String {
    match (&outcome.status, outcome.exit_code, &outcome.reason) {
        (RunStatus::Success, _, _) => "finished: success (exit code 0)".to_owned(),
        (status, code, reason) => format!(
            "finished: {status}{}{}",
            code.map(|c| format!(" (exit code {c})"))
                .unwrap_or_default(),
            reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    }
}

fn action_kind(action: &JobAction) -> &'static str {
    match action {
        JobAction::Script { .. } => "script",
        JobAction::Container { .. } => "container",
        JobAction::Ansible { .. } => "ansible",
        JobAction::Terraform { .. } => "terraform",
        JobAction::Kubectl { .. } => "kubectl",
        JobAction::Webhook { .. } => "webhook",
    }
}
