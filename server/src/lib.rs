//! The `uhub` server: configuration, start-up, the HTTP router (Leptos pages and server
//! functions, health probes, static files) and graceful shutdown. `router(state)` is separate
//! from `serve` so that tests drive the very same application with `oneshot`.

pub mod config;
mod health;
pub mod startup;
mod static_files;

use std::net::SocketAddr;
use std::path::Path;

use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use services::Storage;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Config, ConfigError, Secret};

/// What every handler may reach. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub storage: Storage,
    /// Signs and checks session tokens (HS256).
    pub jwt_secret: Secret,
}

impl AppState {
    pub fn new(
        storage: Storage,
        jwt_secret: Secret,
        site_dir: &Path,
        bind: SocketAddr,
    ) -> AppState {
        let leptos_options = LeptosOptions::builder()
            .output_name("uhub")
            .site_root(site_dir.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(bind)
            .build();
        AppState {
            leptos_options,
            storage,
            jwt_secret,
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let storage = state.storage.clone();
    let shell_options = state.leptos_options.clone();
    let site_root = state.leptos_options.site_root.to_string();

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(static_files::router(Path::new(&site_root)))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(storage.clone()),
            move || app::shell(shell_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Starts uhub with `config` and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), ConfigError> {
    let data_dir = startup::prepare_data_dir(&config.data_dir)?;
    let jwt_secret = startup::resolve_jwt_secret(config.jwt_secret.clone(), &data_dir)?;

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

    let database_url = startup::database_url(config.database_url.as_ref(), &data_dir);
    let storage = startup::open_storage(&database_url).await?;
    tracing::info!(engine = storage.engine().as_str(), data_dir = %data_dir.display(), "database ready");

    if config.seed_demo {
        let today = chrono::Utc::now().date_naive();
        let report = services::seed::load_demo(&storage, today)
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

    if !config.site_dir.join("pkg").join("uhub.wasm").is_file() {
        tracing::warn!(
            site_dir = %config.site_dir.display(),
            "no browser bundle found: pages render but stay static; build it with scripts/build.sh"
        );
    }

    let state = AppState::new(storage.clone(), jwt_secret, &config.site_dir, address);
    tracing::info!(%address, "uHub is listening on http://{address}");
    axum::serve(listener, router(state))
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
