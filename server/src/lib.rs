//! The `uhub` server: configuration, start-up, the HTTP router (Leptos pages and server
//! functions, health probes, static files) and graceful shutdown. `router(state)` is separate
//! from `serve` so that tests drive the very same application with `oneshot`.

pub mod api;
pub mod backup;
pub mod cli;
pub mod config;
mod health;
pub mod healthcheck;
mod observe;
pub mod prometheus;
mod security;
pub mod session;
pub mod settings_reference;
pub mod startup;
mod static_files;
pub use static_files::bundle_name;

use std::net::SocketAddr;
use std::path::Path;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRef, Request};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use services::auth::TokenKeys;
use services::engine::{EngineConfig, Executor};
use services::host::HostMonitor;
use services::storage::Actor;
use services::{Hub, Storage};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use crate::config::{Config, ConfigError, Secret};

/// What every handler may reach. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// What the use cases work with: storage, engine, host monitor, time zone.
    pub hub: Hub,
    /// Signs and checks session tokens (HS256 with the server secret).
    pub token_keys: TokenKeys,
    /// `UHUB_METRICS_TOKEN`: the bearer token `/metrics` asks for; `None` = loopback only.
    #[from_ref(skip)]
    pub metrics_token: Option<std::sync::Arc<str>>,
}

/// How often the host is read unless `UHUB_METRICS_INTERVAL` says otherwise.
pub const DEFAULT_METRICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest request body accepted (JSON, forms, server functions): far above any real request,
/// far below what could hurt.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

impl AppState {
    pub fn new(
        storage: Storage,
        jwt_secret: Secret,
        site_dir: &Path,
        bind: SocketAddr,
        executor: Executor,
    ) -> AppState {
        let leptos_options = LeptosOptions::builder()
            .output_name(static_files::bundle_name(site_dir))
            .site_root(site_dir.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(bind)
            .build();
        let host = HostMonitor::new(storage.clone(), DEFAULT_METRICS_INTERVAL);
        AppState {
            leptos_options,
            token_keys: TokenKeys::new(jwt_secret.expose().as_bytes()),
            hub: Hub::new(storage, executor, host),
            metrics_token: None,
        }
    }

    /// The same state with `/metrics` behind a bearer token.
    pub fn with_metrics_token(mut self, token: Option<&Secret>) -> AppState {
        self.metrics_token = token.map(|token| token.expose().into());
        self
    }

    /// The same state with its host monitor.
    pub fn with_host(mut self, host: HostMonitor) -> AppState {
        self.hub.host = host;
        self
    }

    /// The same state with the calendar in `zone`.
    pub fn with_zone(mut self, zone: chrono_tz::Tz) -> AppState {
        self.hub = self.hub.with_zone(zone);
        self
    }

    /// The same state for a demonstration instance (`UHUB_SEED_DEMO=true`).
    pub fn as_demo_instance(mut self, demo: bool) -> AppState {
        self.hub.demo_instance = demo;
        self
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let routes = page_routes();
    let hub = state.hub.clone();
    let fallback_hub = state.hub.clone();
    let shell_options = state.leptos_options.clone();
    let site_root = state.leptos_options.site_root.to_string();
    // Installed before the first request so that nothing is counted into the void.
    prometheus::recorder();

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(prometheus::metrics))
        .nest(
            "/api/v1",
            api::router().route_layer(axum::middleware::from_fn(observe::remember_route)),
        )
        .route("/login", post(session::login_form))
        .route("/logout", post(session::logout_form))
        .route("/account/password", post(session::password_form))
        .merge(static_files::router(Path::new(&site_root)))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_request_context(&hub),
            move || app::shell(shell_options.clone()),
        )
        .route_layer(axum::middleware::from_fn(observe::remember_route))
        .fallback(not_found_page(fallback_hub, state.leptos_options.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::guard,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(security::limit_bodies))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(observe::log_requests))
        .with_state(state)
}

/// Addresses no route knows: the 404 page, rendered with the same context as every page (its
/// CSP nonce, so that it hydrates; the session and the language). Its status is the page's own
/// (`NotFound` answers 404, as any page sets its status). Only the page: every file of the site
/// has its own route (`static_files`), so nothing here looks in the site's directory. Leptos' own
/// fallback (`file_and_error_handler_with_context`) did, and serving a file from under a reactive
/// owner it made hung a worker once (see `static_files::root_files`).
fn not_found_page(
    hub: Hub,
    options: LeptosOptions,
) -> impl Fn(Request<Body>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
       + Clone
       + Send
       + 'static {
    leptos_axum::render_app_async_with_context(
        move || provide_request_context(&hub),
        move || app::shell(options.clone()),
    )
}

/// The pages' routes, listed once per process. Leptos lists them by rendering the app with every
/// `Resource` told not to load, through a flag global to the process (`SuppressResourceLoad`):
/// listing them again while a page renders (a second router in the same process: each test
/// builds one) left that page's resources unloaded and its stream waiting for them forever.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// What every page render and server function finds in Leptos' context: the hub, the request's
/// context (its id, address and session, put in the request by the session middleware) and its
/// CSP nonce.
fn provide_request_context(hub: &Hub) {
    provide_context(hub.clone());
    provide_context(app::api_docs::ApiDocument(api::document_json()));
    if let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() {
        if let Some(context) = parts.extensions.get::<services::RequestContext>() {
            provide_context(context.clone());
        }
        if let Some(security::CspNonce(nonce)) = parts.extensions.get::<security::CspNonce>() {
            provide_context(leptos::nonce::Nonce::from_value(nonce.clone()));
        }
    }
}

/// Starts uhub with `config` and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), ConfigError> {
    let data_dir = startup::prepare_data_dir(&config.data_dir)?;
    startup::refuse_interrupted_restore(&data_dir)?;
    let jwt_secret = startup::resolve_jwt_secret(config.jwt_secret.clone(), &data_dir)?;
    startup::prepare_temp_dir()?;

    // Bind before the (possibly slow) database work, so a taken port fails at once.
    let listener = TcpListener::bind(config.bind).await.map_err(|e| {
        ConfigError::new(
            "UHUB_BIND",
            format!("cannot listen on {}: {e}", config.bind),
        )
    })?;
    let address = listener.local_addr().map_err(|e| {
        ConfigError::new("UHUB_BIND", format!("cannot read the bound address: {e}"))
    })?;

    if config.database_url.is_none() {
        startup::secure_sqlite_file(&data_dir)?;
    }
    let database_url = startup::database_url(config.database_url.as_ref(), &data_dir);
    let storage = startup::open_storage(&database_url).await?;
    tracing::info!(engine = storage.engine().as_str(), data_dir = %data_dir.display(), "database ready");

    if storage
        .count_admins()
        .await
        .map_err(|e| ConfigError::new("UHUB_DATABASE_URL", format!("cannot read the users: {e}")))?
        == 0
    {
        services::auth::bootstrap_admin(&storage, &Actor::system())
            .await
            .map_err(|e| {
                ConfigError::new(
                    "UHUB_DATABASE_URL",
                    format!("cannot create the bootstrap admin: {e}"),
                )
            })?;
        tracing::warn!(
            username = services::auth::BOOTSTRAP_USERNAME,
            "empty database: created the bootstrap admin with the initial password from the documentation; \
             it must be changed at first login"
        );
    }

    if config.seed_demo {
        let today = chrono::Utc::now().date_naive();
        let report = services::seed::load_demo(&storage, today, &Actor::system())
            .await
            .map_err(|e| {
                ConfigError::new("UHUB_SEED_DEMO", format!("cannot load the demo data: {e}"))
            })?;
        tracing::info!(
            users = report.users_created,
            projects = report.projects_created,
            jobs = report.jobs_created,
            "demo data loaded (existing accounts and projects were kept as they were)"
        );
    }

    let secrets = startup::secret_store(&config, &data_dir)?;
    let scripts_dir = startup::prepare_scripts_dir(config.scripts_dir.as_deref(), &data_dir)?;
    let mut engine_config = EngineConfig::new(scripts_dir);
    engine_config.max_concurrent = config.max_concurrent_runs;
    engine_config.max_per_environment = config.max_runs_per_environment;
    engine_config.max_per_project = config
        .max_runs_per_project
        .unwrap_or_else(|| services::engine::default_max_per_project(config.max_concurrent_runs));
    engine_config.webhook_allowed_hosts = config.webhook_allowed_hosts.clone();
    if let Some(name) = &config.local_run_user {
        let run_as = services::engine::local::RunAs::lookup(name)
            .map_err(|why| ConfigError::new("UHUB_LOCAL_RUN_USER", why))?;
        tracing::info!(user = %run_as.name, uid = run_as.uid, "local scripts run as another account");
        engine_config.local_run_as = Some(run_as);
    }
    // Every process sharing the database checks callbacks alike: the key derives from the
    // token key they share.
    engine_config.callback_key =
        services::engine::CallbackKey::derived_from(jwt_secret.expose().as_bytes());
    engine_config.docker_host = config.docker_host.clone();
    engine_config.docker_cert_path = config.docker_cert_path.clone();
    engine_config.public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    // Repository links' bare mirrors live beside the database.
    engine_config.git_mirrors = services::git_cli::Mirrors::new(data_dir.join("git"));
    engine_config.forges = services::forge::Forges::new(config.github_api_url.clone())
        .with_gitlab_url(config.gitlab_url.clone());
    engine_config.ansible_playbook = config.ansible_playbook.clone();
    engine_config.terraform = config.terraform.clone();
    engine_config.kubectl = config.kubectl.clone();
    engine_config.kube_allow_exec = config.kube_allow_exec;
    engine_config.terraform_risks = std::sync::Arc::new(config.terraform_risks.clone());
    // Terraform's local state and saved plans live beside the database.
    engine_config.terraform_dir = data_dir.join("terraform");
    let executor = Executor::new(storage.clone(), secrets, engine_config);
    // Settles what a previous process left running, then serves the queue.
    executor.start();
    let state = AppState::new(
        storage.clone(),
        jwt_secret,
        &config.site_dir,
        address,
        executor,
    )
    .with_zone(config.timezone)
    .as_demo_instance(config.seed_demo)
    .with_metrics_token(config.metrics_token.as_ref())
    .with_host(HostMonitor::new(storage.clone(), config.metrics_interval));
    let stem = &state.leptos_options.output_name;
    let pkg = config.site_dir.join("pkg");
    // A bundle may be there gzipped only (the container image keeps no raw copy).
    let present = |stem: &str| {
        pkg.join(format!("{stem}.wasm")).is_file() || pkg.join(format!("{stem}.wasm.gz")).is_file()
    };
    if !present(stem) {
        tracing::warn!(
            site_dir = %config.site_dir.display(),
            "no browser bundle found: pages render but stay static; build it with scripts/build.sh"
        );
    } else {
        // One bundle per group of islands: a page whose group is missing stays static.
        let missing: Vec<&str> = app::layout::ISLAND_GROUPS
            .into_iter()
            .filter(|group| !present(&format!("{stem}.{group}")))
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                site_dir = %config.site_dir.display(),
                missing = %missing.join(", "),
                "browser bundles are missing: the pages of those groups stay static; build them with scripts/build.sh"
            );
        }
    }
    // Reads the host every interval, stores it, keeps the history within its retention.
    state.hub.host.start();
    prometheus::start_upkeep();
    tracing::info!(%address, "uHub is listening on http://{address}");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| ConfigError::new("UHUB_BIND", format!("the HTTP server stopped: {e}")))?;
    storage.close().await;
    tracing::info!("uHub stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl+C) or SIGTERM (`docker stop`, systemd, Kubernetes).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, finishing open requests"),
        () = terminate => tracing::info!("SIGTERM received, finishing open requests"),
    }
}
