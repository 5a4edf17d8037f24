//! The execution engine: a durable queue in the database, a dispatcher that claims runs within
//! the concurrency limit, and one task per run that executes it on its backend, streams its
//! output into the log, watches for cancel requests and timeouts, and records how it ended.
//! A sweep settles runs whose uHub process stopped (killed, crashed), so none stays `running`.

pub mod ansible;
mod auto_start;
pub mod docker;
mod execute;
pub mod kubectl;
pub mod launch;
pub mod local;
pub mod output;
pub mod terraform;
pub mod webhook;

pub use auto_start::{AUTO_START_RETRY_MAX, AUTO_START_TRIES};
pub use execute::finished_line;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use domain::{ExecutionBackend, Run, RunStatus};
use rand::RngCore;
use tokio::sync::{watch, Notify};

use crate::secrets::SecretStore;
use crate::storage::{ClaimLimits, Storage};
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

/// The key webhook targets' callbacks are checked with (one per run is derived from it). Every
/// uHub process sharing a database must hold the same one: the server derives it from its token
/// key. Never printed.
#[derive(Clone)]
pub struct CallbackKey(Arc<zeroize::Zeroizing<Vec<u8>>>);

impl CallbackKey {
    pub fn new(bytes: Vec<u8>) -> CallbackKey {
        CallbackKey(Arc::new(zeroize::Zeroizing::new(bytes)))
    }

    /// A key of this process only (tests, a single process): random.
    pub fn random() -> CallbackKey {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        CallbackKey::new(bytes)
    }

    /// The key of every process holding the same server secret (a distinct derivation: the
    /// secret itself signs sessions).
    pub fn derived_from(server_secret: &[u8]) -> CallbackKey {
        use hmac::{Hmac, Mac};
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(server_secret).expect("HMAC takes any key length");
        mac.update(b"uhub webhook callbacks v1");
        CallbackKey::new(mac.finalize().into_bytes().to_vec())
    }

    /// The key run `run_id`'s target signs its callbacks with.
    pub fn for_run(&self, run_id: i64) -> zeroize::Zeroizing<String> {
        webhook::callback_key(&self.0, run_id)
    }
}

impl std::fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackKey(..)")
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
    /// `UHUB_MAX_RUNS_PER_PROJECT`: runs executing at once in one project (across processes), so
    /// that one project never takes every slot.
    pub max_per_project: u32,
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
    /// `UHUB_DOCKER_CERT_PATH`: the client certificate (and the engine's CA) for a `tcp://`
    /// engine reached over TLS.
    pub docker_cert_path: Option<PathBuf>,
    /// `UHUB_PUBLIC_URL`: how webhook targets reach this uHub for their callbacks.
    pub public_url: String,
    /// What webhook callbacks are signed with.
    pub callback_key: CallbackKey,
    /// `UHUB_WEBHOOK_ALLOWED_HOSTS`: internal hosts webhook targets may nevertheless be on.
    pub webhook_allowed_hosts: Vec<String>,
    /// `UHUB_LOCAL_RUN_USER`: the account local scripts run as (else uHub's own).
    pub local_run_as: Option<local::RunAs>,
    /// The bare mirrors of repository links (`<data dir>/git`): actions from a repository run
    /// a commit checked out of them.
    pub git_mirrors: crate::git_cli::Mirrors,
    /// The providers' APIs (GitHub, GitLab): reads, and commit statuses of runs.
    pub forges: crate::forge::Forges,
    /// `UHUB_ANSIBLE_PLAYBOOK`: the `ansible-playbook` of `ansible` actions (else found on PATH).
    pub ansible_playbook: Option<PathBuf>,
    /// `UHUB_TERRAFORM`: the `terraform` of `terraform` actions (else found on PATH).
    pub terraform: Option<PathBuf>,
    /// `<data dir>/terraform`: each (project, workspace)'s working directory and local state,
    /// and the plan files of plan runs.
    pub terraform_dir: PathBuf,
    /// `UHUB_TERRAFORM_RISKS`: the resource types flagged as risky in plans, by kind.
    pub terraform_risks: Arc<crate::terraform::RiskPatterns>,
    /// `UHUB_KUBECTL`: the `kubectl` of `kubectl` actions (else found on PATH).
    pub kubectl: Option<PathBuf>,
    /// `UHUB_KUBE_ALLOW_EXEC`: kubeconfigs whose user signs in with `exec` or `auth-provider`
    /// (a command run on the uHub host) are accepted.
    pub kube_allow_exec: bool,
    /// How long an automatic start that failed for a reason that passes (see
    /// [`crate::ServiceError::passes`]) waits before its next try; the wait doubles at each
    /// failure, up to [`AUTO_START_RETRY_MAX`], and the start is refused after
    /// [`AUTO_START_TRIES`] tries.
    pub auto_start_retry: Duration,
}

/// The local engine's socket, as the Docker CLI uses it by default.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

impl EngineConfig {
    pub fn new(scripts_dir: PathBuf) -> EngineConfig {
        EngineConfig {
            scripts_dir,
            max_concurrent: 4,
            max_per_environment: 2,
            max_per_project: 3,
            default_timeout: Duration::from_secs(3600),
            max_log_bytes: 5 * 1024 * 1024,
            heartbeat: Duration::from_secs(2),
            orphan_after: Duration::from_secs(10),
            docker_host: DEFAULT_DOCKER_HOST.to_owned(),
            docker_cert_path: None,
            public_url: "http://127.0.0.1:3000".to_owned(),
            callback_key: CallbackKey::random(),
            webhook_allowed_hosts: Vec::new(),
            local_run_as: None,
            // The server gives its data directory's; otherwise one of this engine's own.
            git_mirrors: crate::git_cli::Mirrors::private(),
            forges: crate::forge::Forges::default(),
            ansible_playbook: None,
            terraform: None,
            // The server gives its data directory's; otherwise one of this engine's own.
            terraform_dir: std::env::temp_dir().join(format!(
                "uhub-terraform-{}-{}",
                std::process::id(),
                rand::random::<u32>()
            )),
            terraform_risks: Arc::default(),
            kubectl: None,
            kube_allow_exec: false,
            // 5, 10, 20… seconds: about ten minutes of tries in all.
            auto_start_retry: Duration::from_secs(5),
        }
    }

    /// What the dispatcher may claim, and a queued run's reason refers to.
    pub fn claim_limits(&self) -> ClaimLimits {
        ClaimLimits {
            per_environment: self.max_per_environment,
            per_project: self.max_per_project,
            slots: u32::try_from(self.max_concurrent).unwrap_or(u32::MAX),
        }
    }
}

/// The default share of one project: every slot but one, so another project can always start.
pub fn default_max_per_project(max_concurrent: usize) -> u32 {
    u32::try_from(max_concurrent.saturating_sub(1).max(1)).unwrap_or(u32::MAX)
}

struct Inner {
    storage: Storage,
    secrets: SecretStore,
    config: EngineConfig,
    /// Names this process in `runs.claimed_by` and its lease in `workers`.
    worker: String,
    /// The host this process runs on: it signals only process groups started on it.
    host: String,
    wake: Notify,
    running: Mutex<HashMap<i64, CancelSignal>>,
    /// The automatic starts of this process that failed for a reason that passes, by job.
    auto_start_retries: Mutex<HashMap<i64, auto_start::AutoStartRetry>>,
    /// The jobs whose automatic start this process is deciding now.
    auto_starts_in_flight: Mutex<std::collections::HashSet<i64>>,
    /// Connected on first use, so that uHub starts (and runs local jobs) without an engine.
    docker: tokio::sync::OnceCell<bollard::Docker>,
}

/// The engine of one uHub process. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

/// How often the dispatcher looks for automatic jobs whose planned start has come.
const DUE_CHECK_EVERY: Duration = Duration::from_millis(500);

/// The backends this build executes.
pub const AVAILABLE_BACKENDS: [ExecutionBackend; 3] = [
    ExecutionBackend::Local,
    ExecutionBackend::Docker,
    ExecutionBackend::Webhook,
];

impl Executor {
    /// The providers' APIs.
    pub fn forges(&self) -> &crate::forge::Forges {
        &self.inner.config.forges
    }

    /// The bare mirrors of repository links.
    pub fn mirrors(&self) -> &crate::git_cli::Mirrors {
        &self.inner.config.git_mirrors
    }

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
                host: nix::unistd::gethostname()
                    .ok()
                    .and_then(|name| name.into_string().ok())
                    .unwrap_or_else(|| "unknown".to_owned()),
                wake: Notify::new(),
                running: Mutex::new(HashMap::new()),
                auto_start_retries: Mutex::new(HashMap::new()),
                auto_starts_in_flight: Mutex::default(),
                docker: tokio::sync::OnceCell::new(),
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

    /// Where `script` actions live (a launch records the script's digest from there).
    pub fn scripts_dir(&self) -> &Path {
        &self.inner.config.scripts_dir
    }

    /// The resource types flagged as risky in Terraform plans (`UHUB_TERRAFORM_RISKS`).
    pub fn terraform_risks(&self) -> Arc<crate::terraform::RiskPatterns> {
        self.inner.config.terraform_risks.clone()
    }

    /// Whether kubeconfigs may sign in through a command (`UHUB_KUBE_ALLOW_EXEC`).
    pub fn kube_allow_exec(&self) -> bool {
        self.inner.config.kube_allow_exec
    }

    /// A run's log is cut beyond this size (lines reported by callback too).
    pub fn max_log_bytes(&self) -> usize {
        self.inner.config.max_log_bytes
    }

    /// The limits the dispatcher claims within.
    pub fn claim_limits(&self) -> ClaimLimits {
        self.inner.config.claim_limits()
    }

    /// The key run `run_id`'s webhook target signs its callbacks with.
    pub fn callback_key(&self, run_id: i64) -> zeroize::Zeroizing<String> {
        self.inner.config.callback_key.for_run(run_id)
    }

    /// Tells the dispatcher that a run was queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
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
            .get_or_try_init(|| {
                docker::connect(
                    &self.inner.config.docker_host,
                    self.inner.config.docker_cert_path.as_deref(),
                )
            })
            .await
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
        let orphans = self
            .inner
            .storage
            .sweep_orphans(stale_before, &self.inner.worker)
            .await?;
        for orphan in &orphans {
            // A local script outlives uHub in its own process group: stop what is left of it,
            // on the host that started it only (a process group id means nothing elsewhere).
            let started_here = orphan.host.as_deref() == Some(self.inner.host.as_str());
            if let Some(pgid) = orphan
                .external_id
                .as_deref()
                .and_then(|id| id.strip_prefix("pgid:"))
                .and_then(|pid| pid.parse::<i32>().ok())
                .filter(|_| started_here)
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

    /// Keeps this process's lease fresh, from before its first claim until it ends: another
    /// process settles this one's runs only once the lease has run out.
    async fn renew_lease(&self) {
        let inner = &self.inner;
        if let Err(error) = inner.storage.renew_lease(&inner.worker, &inner.host).await {
            tracing::error!(%error, "cannot renew this process's lease");
        }
    }

    /// Runs the dispatcher until the process ends: claims queued runs within the limits, starts
    /// them, ends webhook runs whose callback did not come, and sweeps orphans every few seconds.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let executor = self.clone();
        tokio::spawn(async move {
            executor.renew_lease().await;
            let lease = {
                let executor = executor.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(executor.inner.config.heartbeat).await;
                        executor.renew_lease().await;
                    }
                })
            };
            if let Err(error) = executor.sweep().await {
                tracing::error!(%error, "cannot settle orphaned runs at start-up");
            }
            let mut last_sweep = tokio::time::Instant::now();
            let mut last_due_check: Option<tokio::time::Instant> = None;
            let mut due_check: Option<tokio::task::JoinHandle<()>> = None;
            loop {
                if last_sweep.elapsed() >= executor.inner.config.heartbeat {
                    if let Err(error) = executor.sweep().await {
                        tracing::error!(%error, "cannot settle orphaned runs");
                    }
                    match executor.inner.storage.expire_callbacks(Utc::now()).await {
                        Ok(expired) => {
                            for run in expired {
                                tracing::warn!(
                                    run_id = run.id,
                                    "a webhook run's callback did not come in time"
                                );
                            }
                        }
                        Err(error) => {
                            tracing::error!(%error, "cannot end the webhook runs past their callback time")
                        }
                    }
                    last_sweep = tokio::time::Instant::now();
                }
                // Planned starts are checked twice a second, not at every wake: a launch or a
                // finished run wakes the loop to claim, and needs no write of its own on the way.
                // Beside the loop, one check at a time, each start in a task of its own: an
                // automatic start fetches its repository, a minute at most when its server does
                // not answer, and neither claiming and sweeping nor the other starts wait for it.
                if last_due_check.is_none_or(|at| at.elapsed() >= DUE_CHECK_EVERY)
                    && due_check.as_ref().is_none_or(|check| check.is_finished())
                {
                    let starter = executor.clone();
                    due_check = Some(tokio::spawn(async move { starter.start_due_jobs().await }));
                    last_due_check = Some(tokio::time::Instant::now());
                }
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
                        u32::try_from(free).unwrap_or(u32::MAX),
                        &executor.inner.config.claim_limits(),
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
                if lease.is_finished() {
                    tracing::error!("the lease task stopped: stopping the dispatcher");
                    if let Some(check) = due_check {
                        check.abort();
                    }
                    return;
                }
                tokio::select! {
                    () = executor.inner.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        })
    }

    fn spawn_run(&self, run: Run) {
        let signal = CancelSignal::default();
        if let Ok(mut running) = self.inner.running.lock() {
            running.insert(run.id, signal.clone());
        }
        let executor = self.clone();
        tokio::spawn(async move {
            let run_id = run.id;
            // `None`: a webhook run now waits for its callback, holding no slot.
            if let Some(execute::Executed { outcome, log }) = executor.execute(&run, &signal).await
            {
                let storage = &executor.inner.storage;
                let (status, code, reason) =
                    (outcome.status, outcome.exit_code, outcome.reason.as_deref());
                let finished = match log {
                    Some(log) => {
                        let text = finished_line(&outcome);
                        let line = crate::storage::LastLine {
                            seq: log.last_seq + 1,
                            text: &text,
                            log_bytes: log.bytes.saturating_add(text.len() as i64),
                        };
                        storage
                            .finish_run_with_line(run_id, status, code, reason, &line)
                            .await
                    }
                    None => storage.finish_run(run_id, status, code, reason).await,
                };
                match finished {
                    Ok(_) => storage.announce_run_change(run_id),
                    Err(error) => tracing::error!(run_id, %error, "cannot record the end of a run"),
                }
            }
            if let Ok(mut running) = executor.inner.running.lock() {
                running.remove(&run_id);
            }
            // A slot is free.
            executor.wake();
        });
    }
}
