//! The execution engine: a durable queue in the database, a dispatcher that claims runs within
//! the concurrency limit, and one task per run that executes it on its backend, streams its
//! output into the log, watches for cancel requests and timeouts, and records how it ended.
//! A sweep settles runs whose uHub process stopped (killed, crashed), so none stays `running`.

pub mod ansible;
pub mod docker;
mod execute;
pub mod kubectl;
pub mod launch;
pub mod local;
pub mod output;
pub mod terraform;
pub mod webhook;

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
use crate::storage::{Actor, ClaimLimits, Outcome as AuditOutcome, Storage};
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
    auto_start_retries: Mutex<HashMap<i64, AutoStartRetry>>,
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

/// The tries of one automatic start that fails for a reason that passes, the last one
/// included: after them it is refused (and audited so) like a start the rules refuse.
pub const AUTO_START_TRIES: u32 = 8;

/// The longest wait between two tries of an automatic start.
pub const AUTO_START_RETRY_MAX: Duration = Duration::from_secs(300);

/// An automatic start that failed for a reason that passes: how many times, and when it is
/// tried again.
struct AutoStartRetry {
    failures: u32,
    next_try: tokio::time::Instant,
}

/// Why an automatic start did not start.
enum NotStarted {
    /// Nobody may start it as things are (no starter, a deactivated one): not tried again.
    Refused(String),
    /// The launch failed: tried again when the failure passes, else refused.
    Failed(crate::ServiceError),
}

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

    /// Starts automatic job `job` as `actor` (guardrails of [`launch::plan`]): takes its
    /// automatic start and creates its run in one transaction, so that a failure leaves it to be
    /// tried again and two processes never both start it (`None`: another one took it). A queued
    /// run wakes the dispatcher. People launch through [`crate::runs::launch`], which applies the
    /// same plan.
    async fn launch_automatic(
        &self,
        subject: &domain::policy::Subject,
        job: &domain::Job,
        actor: &Actor,
    ) -> ServiceResult<Option<Run>> {
        let commit_sha = launch::resolve_commit(
            &self.inner.storage,
            &self.inner.secrets,
            &self.inner.config.git_mirrors,
            job,
            None,
        )
        .await?;
        let mut tx = self.inner.storage.write().await?;
        if !tx.take_auto_start(job.id, Utc::now()).await? {
            return Ok(None);
        }
        let new_run = launch::plan(
            &mut tx,
            subject,
            job,
            None,
            None,
            &self.inner.config.scripts_dir,
            launch::Pins {
                commit_sha,
                ..Default::default()
            },
        )
        .await?;
        let run = tx.create_run(&new_run, actor).await?;
        tx.commit().await?;
        if run.status == RunStatus::Queued {
            self.wake();
        }
        Ok(Some(run))
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
                if last_due_check.is_none_or(|at| at.elapsed() >= DUE_CHECK_EVERY) {
                    executor.start_due_jobs().await;
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
                    return;
                }
                tokio::select! {
                    () = executor.inner.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        })
    }

    /// Launches the automatic jobs whose planned start has come, as the account that turned
    /// their automatic start on: the same guardrails as a launch by hand (a production job
    /// waits for approval; a refusal is audited). A launch that fails for a reason that passes
    /// (the database busy, the repository out of reach) is tried again a few times, each
    /// failure audited, before it is refused.
    async fn start_due_jobs(&self) {
        let due = match self.inner.storage.due_auto_jobs(Utc::now()).await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read the jobs due to start");
                return;
            }
        };
        let now = tokio::time::Instant::now();
        let ready: Vec<(domain::Job, u32)> = {
            let Ok(mut retries) = self.inner.auto_start_retries.lock() else {
                return;
            };
            // A job no longer due (started or refused, moved, edited, deleted) is forgotten.
            retries.retain(|job_id, _| due.iter().any(|job| job.id == *job_id));
            due.into_iter()
                .filter_map(|job| match retries.get(&job.id) {
                    Some(retry) if retry.next_try > now => None,
                    Some(retry) => Some((job, retry.failures)),
                    None => Some((job, 0)),
                })
                .collect()
        };
        for (job, failures) in ready {
            let reason = match self.start_automatically(&job).await {
                Ok(started) => {
                    if let Some(run) = started {
                        tracing::info!(job_id = job.id, run_id = run.id, status = %run.status, "automatic start");
                    }
                    self.forget_auto_start_retry(job.id);
                    continue;
                }
                Err(NotStarted::Failed(error))
                    if error.passes() && failures + 1 < AUTO_START_TRIES =>
                {
                    self.retry_auto_start(&job, failures + 1, &error).await;
                    continue;
                }
                Err(NotStarted::Failed(error)) if error.passes() => format!(
                    "gave up after {AUTO_START_TRIES} tries: {error} ({})",
                    error.code()
                ),
                Err(NotStarted::Failed(error)) => format!("{error} ({})", error.code()),
                Err(NotStarted::Refused(reason)) => reason,
            };
            self.refuse_auto_start(&job, failures, reason).await;
        }
    }

    /// Starts automatic job `job` as whoever turned its automatic start on (never the owner as
    /// such: owning a job is not asking for it to run). `None`: another process took it.
    async fn start_automatically(&self, job: &domain::Job) -> Result<Option<Run>, NotStarted> {
        let Some(starter) = job.auto_start_by else {
            return Err(NotStarted::Refused(
                "nobody is recorded as having turned the automatic start on: turn it on again"
                    .to_owned(),
            ));
        };
        let starter = self.inner.storage.user_by_id(starter).await;
        let (starter, role) = match starter.and_then(|user| user.role().map(|role| (user, role))) {
            Ok(found) => found,
            Err(error) if error.passes() => return Err(NotStarted::Failed(error)),
            Err(error) => {
                return Err(NotStarted::Refused(format!(
                    "cannot read who turned the automatic start on: {error}"
                )))
            }
        };
        if !starter.is_active {
            return Err(NotStarted::Refused(
                "the account that turned the automatic start on is deactivated".to_owned(),
            ));
        }
        let subject = domain::policy::Subject {
            user_id: starter.id,
            role,
        };
        let actor = Actor::user(starter.id, &starter.username, None);
        self.launch_automatic(&subject, job, &actor)
            .await
            .map_err(NotStarted::Failed)
    }

    /// Records failure number `failures` of `job`'s automatic start, which passes: it is tried
    /// again after a wait that doubles at each failure; the audit shows each failed try.
    async fn retry_auto_start(
        &self,
        job: &domain::Job,
        failures: u32,
        error: &crate::ServiceError,
    ) {
        let first = self.inner.config.auto_start_retry;
        let wait = first
            .saturating_mul(1 << (failures - 1).min(16))
            .min(AUTO_START_RETRY_MAX);
        tracing::warn!(job_id = job.id, %error, try_again_in = ?wait, "automatic start failed");
        if let Ok(mut retries) = self.inner.auto_start_retries.lock() {
            retries.insert(
                job.id,
                AutoStartRetry {
                    failures,
                    next_try: tokio::time::Instant::now() + wait,
                },
            );
        }
        let detail = serde_json::json!({
            "reason": format!("{error} ({})", error.code()),
            "try": failures,
            "tries": AUTO_START_TRIES,
            "try_again_in_secs": wait.as_secs_f64(),
        });
        // Only a record: the try again is decided above, whether it is written or not.
        if let Err(error) = self
            .inner
            .storage
            .record_audit(
                &Actor::system(),
                "run.auto_start",
                Some(("job", job.id)),
                AuditOutcome::Failure,
                detail,
            )
            .await
        {
            tracing::error!(%error, "cannot audit a failed automatic start");
        }
    }

    /// Refuses `job`'s automatic start for `reason`: takes it and audits the refusal in one
    /// transaction. When that cannot be written, the start is still due and is decided again
    /// after a wait (it may then start).
    async fn refuse_auto_start(&self, job: &domain::Job, failures: u32, reason: String) {
        tracing::warn!(job_id = job.id, %reason, "automatic start refused");
        let detail = serde_json::json!({ "reason": reason });
        let refused = async {
            let mut tx = self.inner.storage.write().await?;
            if tx.take_auto_start(job.id, Utc::now()).await? {
                tx.record_audit(
                    &Actor::system(),
                    "run.auto_start",
                    Some(("job", job.id)),
                    AuditOutcome::Denied,
                    detail,
                )
                .await?;
                tx.commit().await?;
            }
            ServiceResult::Ok(())
        };
        match refused.await {
            Ok(()) => self.forget_auto_start_retry(job.id),
            Err(error) => {
                tracing::error!(job_id = job.id, %error, "cannot record a refused automatic start");
                self.retry_auto_start(job, failures.saturating_add(1), &error)
                    .await;
            }
        }
    }

    fn forget_auto_start_retry(&self, job_id: i64) {
        if let Ok(mut retries) = self.inner.auto_start_retries.lock() {
            retries.remove(&job_id);
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
