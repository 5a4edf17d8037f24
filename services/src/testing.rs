//! Test support for this crate and the others: a migrated storage on a temporary SQLite file or
//! on a fresh database of the PostgreSQL server that `scripts/test.sh` starts.
//!
//! PostgreSQL is required, not optional: without `UHUB_TEST_POSTGRES_URL` the tests fail and
//! say how to get one, instead of silently testing SQLite only.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::Storage;

/// Names the PostgreSQL server (any database on it) that tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "UHUB_TEST_POSTGRES_URL";

/// The engines every storage story runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestEngine {
    Sqlite,
    Postgres,
}

/// A migrated storage and what keeps it alive (the SQLite file's directory).
pub struct TestStorage {
    pub storage: Storage,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestStorage {
    pub async fn new(engine: TestEngine) -> TestStorage {
        let (url, dir) = match engine {
            TestEngine::Sqlite => {
                let dir = tempfile::tempdir()
                    .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
                (
                    format!("sqlite://{}", dir.path().join("uhub.db").display()),
                    Some(dir),
                )
            }
            TestEngine::Postgres => (fresh_postgres_database().await, None),
        };
        let storage = Storage::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {engine:?} storage: {e}"));
        storage
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("cannot migrate {engine:?} storage: {e}"));
        TestStorage {
            storage,
            url,
            _dir: dir,
        }
    }
}

/// The PostgreSQL server URL from the environment; panics with directions when it is missing.
pub fn postgres_server_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: these tests need a PostgreSQL server. \
             Run scripts/test.sh, which starts one, or point {POSTGRES_URL_VAR} at a server \
             where the user may create databases (postgres://user@host:port/db)."
        )
    })
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_postgres_database() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let server = postgres_server_url();
    let name = format!(
        "uhub_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot connect to the test PostgreSQL server ({POSTGRES_URL_VAR}): {e}")
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = admin.close().await;
    // postgres://user@host:port/anything?options → postgres://user@host:port/<name>
    let (scheme, rest) = server
        .split_once("://")
        .unwrap_or(("postgres", server.as_str()));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}/{name}")
}
