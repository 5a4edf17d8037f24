//! The execution engine: a durable queue in the database, a dispatcher that claims runs within
//! the concurrency limit, and one task per run that executes it on its backend, streams its
//! output into the log, watches for cancel requests and timeouts, and records how it ended.
//! A sweep settles runs whose uHub process stopped (killed, crashed), so none stays `running`.

pub mod docker;
pub mod launch;
pub mod local;
pub mod output;
pub mod webhook;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use domain::{ExecutionBackend, JobAction, LogStream, Run, RunStatus, WebhookPreset};
use rand::RngCore;
use tokio::sync::{watch, Notify};

use crate::secrets::SecretStore;
use crate::storage::{Actor, Outcome as AuditOutcome, Storage};
use crate::ServiceResult;

/// How a run ended, as a backend reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn failed(reason: String) -> Outcome {
        Outcome {
            status: RunStatus::Failed,
            exit_code: None,
            reason: Some(reason),
        }
    }
}

/// A run's cancel switch, with the reason; waiting on it after it was pulled returns at once.
#[derive(Clone)]
pub struct CancelSignal(watch::Sender<Option<String>>);

impl Default for CancelSignal {
    fn default() -> Self {
        CancelSignal(watch::channel(None).0)
    }
}

impl CancelSignal {
    pub fn cancel(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub async fn cancelled(&self) {
        let mut receiver = self.0.subscribe();
        // `wait_for` also sees a value set before the call.
        let _ = receiver.wait_for(Option::is_some).await;
    }

    pub fn reason(&self) -> String {
        self.0
            .borrow()
            .clone()
            .unwrap_or_else(|| "canceled".to_owned())
    }
}

/// A run's private working directory, removed when the run ends.
pub struct WorkDir(PathBuf);

impl WorkDir {
    pub fn create() -> std::io::Result<WorkDir> {
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("uhub-run-{name}"));
        std::fs::create_dir(&path)?;
        Ok(WorkDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `UHUB_SCRIPTS_DIR`: where `script` actions live.
    pub scripts_dir: PathBuf,
    /// Runs executing at once in this process.
    pub max_concurrent: usize,
    /// Runs executing at once in one environment (across processes sharing the database).
    pub max_per_environment: u32,
    /// When neither the project nor the action says otherwise.
    pub default_timeout: Duration,
    /// A run's log is cut (with a notice) beyond this size.
    pub max_log_bytes: usize,
    /// How often a running run says it is still alive (and learns about cancel requests).
    pub heartbeat: Duration,
    /// A run silent for this long belonged to a uHub process that stopped: the sweep settles it.
    pub orphan_after: Duration,
    /// `UHUB_DOCKER_HOST`: the Docker engine of the docker backend.
    pub docker_host: String,
    /// `UHUB_PUBLIC_URL`: how webhook targets reach this uHub for their callbacks.
    pub public_url: String,
}

/// The local engine's socket, as the Docker CLI uses it by default.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

impl EngineConfig {
    pub fn new(scripts_dir: PathBuf) -> EngineConfig {
        EngineConfig {
            scripts_dir,
            max_concurrent: 4,
            max_per_environment: 2,
            default_timeout: Duration::from_secs(3600),
            max_log_bytes: 5 * 1024 * 1024,
            heartbeat: Duration::from_secs(2),
            orphan_after: Duration::from_secs(10),
            docker_host: DEFAULT_DOCKER_HOST.to_owned(),
            public_url: "http://127.0.0.1:3000".to_owned(),
        }
    }
}

struct Inner {
    storage: Storage,
    secrets: SecretStore,
    config: EngineConfig,
    /// Names this process in `runs.claimed_by`.
    worker: String,
    wake: Notify,
    running: Mutex<HashMap<i64, CancelSignal>>,
    /// Connected on first use, so that uHub starts (and runs local jobs) without an engine.
    docker: tokio::sync::OnceCell<bollard::Docker>,
    /// The log of each run executing here, for lines a webhook target reports by callback.
    logs: Mutex<HashMap<i64, output::LogSender>>,
}

/// The engine of one uHub process. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

/// The backends this build executes.
pub const AVAILABLE_BACKENDS: [ExecutionBackend; 3] = [
    ExecutionBackend::Local,
    ExecutionBackend::Docker,
    ExecutionBackend::Webhook,
];

impl Executor {
    /// How the outside reaches this uHub (`UHUB_PUBLIC_URL`): webhook callbacks, feed URLs.
    pub fn public_url(&self) -> &str {
        &self.inner.config.public_url
    }

    pub fn new(
        storage: Storage,
        secrets: impl Into<SecretStore>,
        config: EngineConfig,
    ) -> Executor {
        let mut id = [0u8; 6];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let worker = format!(
            "{}-{}",
            std::process::id(),
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        Executor {
            inner: Arc::new(Inner {
                storage,
                secrets: secrets.into(),
                config,
                worker,
                wake: Notify::new(),
                running: Mutex::new(HashMap::new()),
                docker: tokio::sync::OnceCell::new(),
                logs: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// This process's name in `runs.claimed_by` and on its containers.
    pub fn worker(&self) -> &str {
        &self.inner.worker
    }

    pub fn secrets(&self) -> &SecretStore {
        &self.inner.secrets
    }

    /// Tells the dispatcher that a run was queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Launches `job` as `actor` (guardrails of [`launch::plan`]), in one transaction; a queued
    /// run wakes the dispatcher. Automatic starts launch through here; people launch through
    /// [`crate::runs::launch`], which applies the same plan.
    pub async fn launch(
        &self,
        subject: &domain::policy::Subject,
        job: &domain::Job,
        actor: &Actor,
    ) -> ServiceResult<Run> {
        let mut tx = self.inner.storage.write().await?;
        let new_run = launch::plan(&mut tx, subject, job, None, None).await?;
        let run = tx.create_run(&new_run, actor).await?;
        tx.commit().await?;
        if run.status == RunStatus::Queued {
            self.wake();
        }
        Ok(run)
    }

    /// Stops a run this process is executing, at once (others learn it from their heartbeat).
    pub fn stop_here(&self, run_id: i64, reason: &str) {
        if let Ok(running) = self.inner.running.lock() {
            if let Some(signal) = running.get(&run_id) {
                signal.cancel(reason);
            }
        }
    }

    /// The Docker engine, connected once (a failure is retried at the next run).
    async fn docker(&self) -> Result<&bollard::Docker, String> {
        self.inner
            .docker
            .get_or_try_init(|| docker::connect(&self.inner.config.docker_host))
            .await
    }

    /// Lines a webhook target reported for a run executing in this process, stored when this
    /// returns; `false` when the run is not executing here (the caller stores them itself).
    pub async fn remote_lines(&self, run_id: i64, lines: &[String]) -> bool {
        let log = match self.inner.logs.lock() {
            Ok(logs) => logs.get(&run_id).cloned(),
            Err(_) => None,
        };
        let Some(log) = log else { return false };
        for line in lines {
            log.line(LogStream::Stdout, line.clone());
        }
        log.flush().await;
        true
    }

    fn running_count(&self) -> usize {
        self.inner
            .running
            .lock()
            .map(|r| r.len())
            .unwrap_or(usize::MAX)
    }

    /// Settles orphaned runs now (also done periodically by the dispatcher).
    pub async fn sweep(&self) -> ServiceResult<usize> {
        let stale_before = Utc::now()
            - chrono::Duration::from_std(self.inner.config.orphan_after).unwrap_or_default();
        let orphans = self.inner.storage.sweep_orphans(stale_before).await?;
        for orphan in &orphans {
            // A local script outlives uHub in its own process group: stop what is left of it.
            if let Some(pgid) = orphan
                .external_id
                .as_deref()
                .and_then(|id| id.strip_prefix("pgid:"))
                .and_then(|pid| pid.parse::<i32>().ok())
            {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pgid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            // A container keeps running without uHub: stop and remove it.
            if let Some(container) = orphan
                .external_id
                .as_deref()
                .and_then(|id| id.strip_prefix("container:"))
            {
                match self.docker().await {
                    Ok(docker) => docker::remove_orphan(docker, container).await,
                    Err(error) => {
                        tracing::warn!(%error, container, "cannot remove an orphaned run's container")
                    }
                }
            }
            tracing::warn!(
                run_id = orphan.run.id,
                "settled a run left running by a stopped uHub process"
            );
        }
        Ok(orphans.len())
    }

    /// Runs the dispatcher until the process ends: claims queued runs within the limit, starts
    /// them, and sweeps orphans every few seconds.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let executor = self.clone();
        tokio::spawn(async move {
            if let Err(error) = executor.sweep().await {
                tracing::error!(%error, "cannot settle orphaned runs at start-up");
            }
            let mut last_sweep = tokio::time::Instant::now();
            loop {
                if last_sweep.elapsed() >= executor.inner.config.heartbeat {
                    if let Err(error) = executor.sweep().await {
                        tracing::error!(%error, "cannot settle orphaned runs");
                    }
                    last_sweep = tokio::time::Instant::now();
                }
                executor.start_due_jobs().await;
                let free = executor
                    .inner
                    .config
                    .max_concurrent
                    .saturating_sub(executor.running_count());
                match executor
                    .inner
                    .storage
                    .claim_runs(
                        &executor.inner.worker,
                        &AVAILABLE_BACKENDS,
                        free as u32,
                        executor.inner.config.max_per_environment,
                    )
                    .await
                {
                    Ok(runs) => {
                        for run in runs {
                            executor.spawn_run(run);
                        }
                    }
                    Err(error) => tracing::error!(%error, "cannot claim queued runs"),
                }
                tokio::select! {
                    () = executor.inner.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        })
    }

    /// Launches the automatic jobs whose planned start has come, as their owners: the same
    /// guardrails as a launch by hand (a production job waits for approval; a refusal is audited).
    async fn start_due_jobs(&self) {
        let storage = &self.inner.storage;
        let jobs = match storage.take_due_auto_jobs(Utc::now()).await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read the jobs due to start");
                return;
            }
        };
        for job in jobs {
            let refused = |reason: String| async move {
                tracing::warn!(job_id = job.id, %reason, "automatic start refused");
                let detail = serde_json::json!({ "reason": reason });
                if let Err(error) = storage
                    .record_audit(
                        &Actor::system(),
                        "run.auto_start",
                        Some(("job", job.id)),
                        AuditOutcome::Denied,
                        detail,
                    )
                    .await
                {
                    tracing::error!(%error, "cannot audit a refused automatic start");
                }
            };
            let owner = match job.owner_id {
                Some(owner) => storage.user_by_id(owner).await,
                None => {
                    refused("the job has no owner to start it as".to_owned()).await;
                    continue;
                }
            };
            let (owner, role) = match owner.and_then(|o| o.role().map(|r| (o, r))) {
                Ok(found) if found.0.is_active => found,
                Ok(_) => {
                    refused("the job's owner is deactivated".to_owned()).await;
                    continue;
                }
                Err(error) => {
                    refused(format!("cannot read the job's owner: {error}")).await;
                    continue;
                }
            };
            let subject = domain::policy::Subject {
                user_id: owner.id,
                role,
            };
            let actor = Actor::user(owner.id, &owner.username, None);
            match self.launch(&subject, &job, &actor).await {
                Ok(run) => {
                    tracing::info!(job_id = job.id, run_id = run.id, status = %run.status, "automatic start")
                }
                Err(error) => refused(format!("{} ({})", error, error.code())).await,
            }
        }
    }

    fn spawn_run(&self, run: Run) {
        let signal = CancelSignal::default();
        if let Ok(mut running) = self.inner.running.lock() {
            running.insert(run.id, signal.clone());
        }
        let executor = self.clone();
        tokio::spawn(async move {
            let run_id = run.id;
            let outcome = executor.execute(&run, &signal).await;
            let finished = executor
                .inner
                .storage
                .finish_run(
                    run_id,
                    outcome.status,
                    outcome.exit_code,
                    outcome.reason.as_deref(),
                )
                .await;
            if let Err(error) = finished {
                tracing::error!(run_id, %error, "cannot record the end of a run");
            }
            if let Ok(mut running) = executor.inner.running.lock() {
                running.remove(&run_id);
            }
            // A slot is free.
            executor.wake();
        });
    }

    /// Executes one claimed run: its action on its backend, its output into the log.
    async fn execute(&self, run: &Run, signal: &CancelSignal) -> Outcome {
        let storage = &self.inner.storage;
        let job = match storage.job(run.job_id).await {
            Ok(job) => job,
            Err(error) => return Outcome::failed(format!("cannot read the job: {error}")),
        };
        let project = match storage.project_execution(run.project_id).await {
            Ok(project) => project,
            Err(error) => return Outcome::failed(format!("cannot read the project: {error}")),
        };
        let mut env = vec![
            ("UHUB_RUN_ID".to_owned(), run.id.to_string()),
            ("UHUB_JOB_ID".to_owned(), run.job_id.to_string()),
            ("UHUB_PROJECT_ID".to_owned(), run.project_id.to_string()),
            (
                "UHUB_ENVIRONMENT".to_owned(),
                run.environment.clone().unwrap_or_default(),
            ),
        ];
        let mut values = Vec::new();
        let secrets = match storage.read().await {
            Ok(mut db) => self.inner.secrets.values(&mut db, run.project_id).await,
            Err(error) => Err(error),
        };
        match secrets {
            Ok(secrets) => {
                for (name, value) in secrets {
                    values.push(value.to_string());
                    env.push((name, value.to_string()));
                }
            }
            Err(error) => {
                return Outcome::failed(format!("cannot read the project's secrets: {error}"))
            }
        }
        let masker = output::Masker::new(values.iter().map(String::as_str));
        let (log, writer) = output::writer(
            storage.clone(),
            run.id,
            masker,
            self.inner.config.max_log_bytes,
        );
        if let Ok(mut logs) = self.inner.logs.lock() {
            logs.insert(run.id, log.clone());
        }
        log.line(
            LogStream::System,
            format!(
                "run #{} of job #{} on {}{} (worker {})",
                run.id,
                run.job_id,
                run.backend,
                run.environment
                    .as_deref()
                    .map(|e| format!(" in {e}"))
                    .unwrap_or_default(),
                self.inner.worker
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

        let outcome = match (run.backend, &job.action) {
            (ExecutionBackend::Local, Some(JobAction::Script { path, args })) => {
                let spec = local::LocalRun {
                    scripts_dir: &self.inner.config.scripts_dir,
                    path,
                    args,
                    env,
                    timeout,
                };
                let storage = storage.clone();
                let run_id = run.id;
                local::run(spec, &log, signal, move |pid| {
                    tokio::spawn(async move {
                        if let Err(error) = storage
                            .set_external_id(run_id, &format!("pgid:{pid}"))
                            .await
                        {
                            tracing::warn!(run_id, %error, "cannot record the run's process group");
                        }
                    });
                })
                .await
            }
            (ExecutionBackend::Docker, Some(JobAction::Container { image, command })) => {
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
            (ExecutionBackend::Webhook, Some(JobAction::Webhook { git_ref, inputs })) => {
                let config = &project.execution_backend_config;
                let secret = config
                    .webhook_secret_name
                    .as_deref()
                    .and_then(|name| env.iter().find(|(k, _)| k == name))
                    .map(|(_, v)| v.clone());
                match (&config.webhook_url, secret) {
                    (None, _) => Outcome::failed(
                        "the project's execution_backend_config has no webhook_url".to_owned(),
                    ),
                    (Some(_), None) => Outcome::failed(
                        "the project's webhook_secret_name does not name one of its secrets"
                            .to_owned(),
                    ),
                    (Some(url), Some(secret)) => {
                        let spec = webhook::WebhookRun {
                            run_id: run.id,
                            job_id: run.job_id,
                            project_id: run.project_id,
                            environment: run.environment.as_deref(),
                            url,
                            preset: config.webhook_preset.unwrap_or(WebhookPreset::Generic),
                            secret: &secret,
                            git_ref: git_ref.as_deref(),
                            inputs,
                            callback_url: format!(
                                "{}/api/v1/runs/{}/callback",
                                self.inner.config.public_url.trim_end_matches('/'),
                                run.id
                            ),
                            timeout,
                            poll: self.inner.config.heartbeat,
                        };
                        webhook::run(storage, spec, &log, signal).await
                    }
                }
            }
            (backend, Some(action)) => Outcome::failed(format!(
                "a {} action cannot run on the {backend} backend",
                action_kind(action)
            )),
            (_, None) => Outcome::failed("the job has no action to run".to_owned()),
        };
        heartbeat.abort();
        if let Ok(mut logs) = self.inner.logs.lock() {
            logs.remove(&run.id);
        }
        let summary = match (&outcome.status, outcome.exit_code, &outcome.reason) {
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
        };
        log.line(LogStream::System, summary);
        drop(log);
        let _ = writer.await;
        outcome
    }
}

fn action_kind(action: &JobAction) -> &'static str {
    match action {
        JobAction::Script { .. } => "script",
        JobAction::Container { .. } => "container",
        JobAction::Webhook { .. } => "webhook",
    }
}
