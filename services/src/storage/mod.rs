//! Storage: one interface, SQLite or PostgreSQL behind it, chosen from the URL at run time.
//!
//! Every query is written once, with `$N` placeholders (both engines accept them), and compiled
//! for each engine by [`on_db!`]: the same text, the same row types, no per-engine copies to
//! drift apart; the few statements spelled differently are in [`dialect`]. Timestamps are
//! `DateTime<Utc>` (TEXT in SQLite, TIMESTAMPTZ in PostgreSQL), ids are 64-bit integers, JSON is
//! TEXT / JSONB.
//!
//! Reads are methods of [`Db`] (a pooled connection), writes methods of [`Tx`] (a transaction,
//! which derefs to `Db`): a use case opens one `Tx`, reads, checks, writes and audits through it,
//! and commits once. `Storage` offers each of them on its own too (one connection, or one
//! transaction per call), for code that does a single thing.

mod ansible;
pub mod audit;
mod backlog;
mod calendar;
mod context;
pub(crate) mod db;
mod dialect;
mod environments;
mod feeds;
mod git;
mod host;
mod incident_timeline;
mod incidents;
mod jobs;
mod kubernetes;
mod links;
mod move_requests;
mod preferences;
mod projects;
mod queue;
mod runs;
mod secrets;
mod sessions;
mod teams;
mod terraform;
mod user_secrets;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use ansible::{NewInventoryVersion, StoredVersion};
pub use audit::{Actor, AuditFilter, AuditRecord, Outcome};
pub use backlog::{BacklogChanges, BacklogFilter, NewBacklogItem};
pub use calendar::{CalendarQuery, MAX_CALENDAR_DAYS};
pub(crate) use db::on_db;
pub use db::{Db, Tx};
pub use environments::EnvironmentChanges;
pub use feeds::{FeedAccess, FEED_TOKEN_PREFIX};
pub use git::{NewCodeChange, NewDelivery};
pub use incident_timeline::{StoredEntry, StoredPostmortem};
pub use incidents::{IncidentChanges, IncidentFilter, NewIncident};
pub use jobs::{EnvironmentInfo, JobChanges, JobFilter, NewJob};
pub use kubernetes::ClusterProfile;
pub use links::{LinkChanges, NewLink};
pub use projects::{
    NewEnvironment, NewProject, ProjectAccess, ProjectChanges, ProjectExecution, ProjectRemoval,
};
pub use queue::{ClaimLimits, Orphan};
pub use runs::{settings_digest, CancelOutcome, LastLine, NewRun, SETTINGS_CHANGED};
pub use secrets::{Sealed, SecretScope};
pub use teams::{Team, TeamMember};
pub use terraform::NewPlan;
pub use users::{check_email, NewUser, ProfileChanges, UserChanges, UserRecord, LOCALES, THEMES};

use crate::{ServiceError, ServiceResult};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// The newest migration this build knows (SQLite and PostgreSQL are numbered alike).
pub fn latest_sqlite_migration() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// How long to wait for a connection before calling the database unreachable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SQLite writer waits for the one before it.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which engine a [`Storage`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// The engine a database URL selects, from its scheme alone.
    pub fn from_url(url: &str) -> ServiceResult<Engine> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Engine::Sqlite),
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            // Only the scheme is repeated: the rest of a URL may hold a password.
            _ => Err(ServiceError::UnsupportedDatabaseUrl(format!(
                "scheme `{scheme}` (expected sqlite: or postgres://)"
            ))),
        }
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per engine: the body is written
/// once and type-checked against both.
macro_rules! on_pool {
    ($storage:expr, $pool:ident => $body:expr) => {
        match &$storage.pool {
            $crate::storage::Pool::Sqlite($pool) => $body,
            $crate::storage::Pool::Postgres($pool) => $body,
        }
    };
}

// Declared after `on_pool!` so that it may use it.
mod operations;
pub use operations::{BacklogCount, PoolUse, Snapshot, SnapshotFile, BACKUP_TABLES};

/// How many run announcements a slow reader may fall behind before it is told it lagged.
const RUN_CHANGES_KEPT: usize = 256;

/// The application's handle on its database. Cheap to clone (a pool inside).
#[derive(Clone)]
pub struct Storage {
    pool: Pool,
    /// SQLite takes one writer at a time. Writers of this process queue here rather than in
    /// SQLite's busy handler, which retries after sleeping a millisecond and more: a run makes
    /// a few writes at once (its log, its process group, its end), and each collision cost a
    /// sleep (docs/benchmarks.md, "Run overhead"). Unused on PostgreSQL (row locks).
    sqlite_writers: Arc<tokio::sync::Mutex<()>>,
    /// The runs this process changed (log lines, a final status), announced after the commit so
    /// that live readers (a run's log stream) look at once instead of at their next poll.
    run_changes: tokio::sync::broadcast::Sender<i64>,
}

impl std::fmt::Debug for Storage {
    // The pool's own Debug would print connection options; the engine is all that is useful.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("engine", &self.engine())
            .finish()
    }
}

impl Storage {
    /// Opens a pool on `url` (`sqlite:…` or `postgres://…`) and checks that the database answers.
    /// A SQLite file is created if missing. Does not migrate: call [`Storage::migrate`].
    pub async fn connect(url: &str) -> ServiceResult<Storage> {
        let pool = match Engine::from_url(url)? {
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // In WAL mode NORMAL syncs the log at checkpoints instead of at every commit:
                    // the database is never corrupted, and a crash of uHub loses nothing; a power
                    // cut or a kernel crash can lose the last commits before it. A run makes four
                    // or five commits, each waiting on the disk with FULL (docs/benchmarks.md,
                    // "Run overhead"); PostgreSQL is the choice for stronger durability.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    // An embedded database's connection cannot go stale; the check sqlx makes by
                    // default on every acquire is one more round trip to the connection's
                    // thread, several per run (docs/benchmarks.md, "Run overhead").
                    .test_before_acquire(false)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?;
                Pool::Sqlite(pool)
            }
            Engine::Postgres => {
                let options = PgConnectOptions::from_str(url)?.application_name("uhub");
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?;
                Pool::Postgres(pool)
            }
        };
        Ok(Storage {
            pool,
            sqlite_writers: Arc::new(tokio::sync::Mutex::new(())),
            run_changes: tokio::sync::broadcast::channel(RUN_CHANGES_KEPT).0,
        })
    }

    /// Announces that run `run_id` changed; call it once the change is committed. Only readers
    /// of this process hear it: they still poll for changes made by other processes.
    pub fn announce_run_change(&self, run_id: i64) {
        // No reader listening is the usual case, not an error.
        let _ = self.run_changes.send(run_id);
    }

    /// The runs changed from now on (see [`Storage::announce_run_change`]).
    pub fn run_changes(&self) -> RunChanges {
        RunChanges(self.run_changes.subscribe())
    }

    /// A connection for reads, returned to the pool when dropped.
    pub async fn read(&self) -> ServiceResult<Db> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Db::sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Db::postgres(pool.acquire().await?),
        })
    }

    /// A write transaction: commit it with [`Tx::commit`]; dropped, it rolls back.
    pub async fn write(&self) -> ServiceResult<Tx> {
        let begin = dialect::begin_write(self.engine());
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                // As long as SQLite's own busy timeout: a writer that waits longer fails as it
                // did there, instead of hanging.
                let turn = tokio::time::timeout(
                    SQLITE_BUSY_TIMEOUT,
                    self.sqlite_writers.clone().lock_owned(),
                )
                .await
                .map_err(|_| {
                    ServiceError::Busy(
                        "the database stayed busy with other changes; try again".to_owned(),
                    )
                })?;
                Tx::sqlite(pool.begin_with(begin).await?, turn)
            }
            Pool::Postgres(pool) => Tx::postgres(pool.begin_with(begin).await?),
        })
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self.engine() {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies the pending migrations. On PostgreSQL sqlx holds an advisory lock meanwhile, so
    /// several uHub processes starting at once apply each migration exactly once.
    pub async fn migrate(&self) -> ServiceResult<()> {
        let migrator = self.migrator();
        on_pool!(self, pool => migrator.run(pool).await)?;
        Ok(())
    }

    /// The newest migration version this build knows.
    pub fn latest_known_migration(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Ready = the database answers and every migration this build knows has been applied.
    pub async fn is_ready(&self) -> bool {
        let applied: Result<Option<i64>, sqlx::Error> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(pool)
                .await
        });
        match applied {
            Ok(version) => version.unwrap_or(0) >= self.latest_known_migration(),
            Err(error) => {
                tracing::warn!(%error, "readiness check failed");
                false
            }
        }
    }

    /// Closes every connection; later calls fail. Used at shutdown.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

impl Db {
    /// Why a versioned update changed no row: the object is gone (404) or was changed meanwhile
    /// (409 with the current version). `table` is always a literal from this crate.
    pub(crate) async fn stale_or_missing(
        &mut self,
        table: &'static str,
        what: &'static str,
        id: i64,
    ) -> ServiceError {
        let sql = format!("SELECT version FROM {table} WHERE id = $1");
        let version: Result<Option<i64>, sqlx::Error> = on_db!(self, c => {
            sqlx::query_scalar(&sql).bind(id).fetch_optional(&mut *c).await
        });
        match version {
            Ok(Some(current)) => ServiceError::stale(what, current),
            Ok(None) => ServiceError::NotFound { what },
            Err(error) => ServiceError::Database(error),
        }
    }
}

/// `Storage::name(…)` for reads of [`Db`]: the read on a connection of its own.
macro_rules! reads {
    ($($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty;)*) => {
        impl $crate::storage::Storage {
            $(
                $(#[$attr])*
                pub async fn $name(&self, $($arg: $ty),*) -> $crate::ServiceResult<$out> {
                    self.read().await?.$name($($arg),*).await
                }
            )*
        }
    };
}
pub(crate) use reads;

/// `Storage::name(…)` for writes of [`Tx`]: the write in a transaction of its own.
macro_rules! writes {
    ($($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty;)*) => {
        impl $crate::storage::Storage {
            $(
                $(#[$attr])*
                pub async fn $name(&self, $($arg: $ty),*) -> $crate::ServiceResult<$out> {
                    let mut tx = self.write().await?;
                    let out = tx.$name($($arg),*).await?;
                    tx.commit().await?;
                    Ok(out)
                }
            )*
        }
    };
}
pub(crate) use writes;

/// Cuts a timestamp to the precision both engines keep (microseconds): every timestamp is
/// written through this, so what is written reads back equal on either engine.
pub(crate) fn stored_precision(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The current time at stored precision.
pub(crate) fn now() -> DateTime<Utc> {
    stored_precision(Utc::now())
}

/// One reader's subscription to the runs announced as changed (from [`Storage::run_changes`]).
/// A reader that falls more than a few hundred announcements behind is told it missed some: it
/// should look anyway.
pub struct RunChanges(tokio::sync::broadcast::Receiver<i64>);

impl RunChanges {
    /// The next run announced as changed, or `None` when announcements were missed (one of them
    /// may have been the run the reader follows).
    pub async fn next(&mut self) -> Option<i64> {
        // Closed cannot happen while the storage lives; "look again" is the right answer then too.
        self.0.recv().await.ok()
    }

    /// Waits until run `run_id` is announced, or announcements were missed, or `at_most` has
    /// passed: the moment for a live reader to look at the run again.
    pub async fn changed(&mut self, run_id: i64, at_most: std::time::Duration) {
        let announced = async {
            while let Some(changed) = self.next().await {
                if changed == run_id {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(at_most, announced).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction that read, then writes after another connection wrote, still commits:
    /// the other write waits for it instead of making it fail (see [`dialect::begin_write`]).
    #[tokio::test]
    async fn a_transaction_that_read_first_still_writes_after_a_concurrent_write() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("busy.db").display());
        let storage = Storage::connect(&url).await.expect("a SQLite file");
        let Pool::Sqlite(pool) = &storage.pool else {
            unreachable!("a sqlite: address opens SQLite")
        };
        sqlx::query("CREATE TABLE marks (n INTEGER)")
            .execute(pool)
            .await
            .expect("a table");
        let mut tx = storage.write().await.expect("a transaction");
        let db::Linked::Sqlite(connection) = tx.linked() else {
            unreachable!("a sqlite: address opens SQLite")
        };
        let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM marks")
            .fetch_one(&mut *connection)
            .await
            .expect("a read");
        let mut other = tokio::spawn({
            let pool = pool.clone();
            async move {
                sqlx::query("INSERT INTO marks VALUES (1)")
                    .execute(&pool)
                    .await
            }
        });
        // Lets the other write commit if it can: with a deferred transaction it did, and the
        // write below then failed. With the lock taken it waits, and this wait just runs out.
        let _ = tokio::time::timeout(Duration::from_millis(300), &mut other).await;
        let db::Linked::Sqlite(connection) = tx.linked() else {
            unreachable!("a sqlite: address opens SQLite")
        };
        sqlx::query("INSERT INTO marks VALUES (2)")
            .execute(&mut *connection)
            .await
            .expect("the transaction writes after the other connection's write");
        tx.commit().await.expect("a commit");
        other
            .await
            .expect("the other write's task")
            .expect("the other write, once the transaction is done");
        let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM marks")
            .fetch_one(pool)
            .await
            .expect("a count");
        assert_eq!((before, after), (0, 2));
    }

    /// A writer whose turn does not come (another holds it past SQLite's busy timeout) is told
    /// the database is busy: a failure that passes, answered 503 — not "not available in this
    /// version", which it was.
    #[tokio::test]
    async fn a_writer_whose_turn_does_not_come_is_told_to_try_again() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("busy.db").display());
        let storage = Storage::connect(&url).await.expect("a SQLite file");
        let holder = storage.write().await.expect("the first writer's turn");
        let Err(refused) = storage.write().await else {
            panic!("a second writer got a turn while the first held it");
        };
        drop(holder);
        assert_eq!(
            (refused.code(), refused.http_status(), refused.passes()),
            ("busy", 503, true),
            "{refused}"
        );
        storage
            .write()
            .await
            .expect("a turn once the first writer is done");
    }

    #[test]
    fn the_engine_comes_from_the_scheme() {
        assert_eq!(
            Engine::from_url("sqlite:///tmp/x.db").ok(),
            Some(Engine::Sqlite)
        );
        assert_eq!(
            Engine::from_url("sqlite::memory:").ok(),
            Some(Engine::Sqlite)
        );
        assert_eq!(
            Engine::from_url("postgres://u@h/db").ok(),
            Some(Engine::Postgres)
        );
        assert_eq!(
            Engine::from_url("postgresql://u@h/db").ok(),
            Some(Engine::Postgres)
        );
    }

    #[test]
    fn an_unknown_scheme_is_refused_without_echoing_the_url() {
        let error = Engine::from_url("mysql://root:hunter2@db/uhub")
            .err()
            .map(|e| e.to_string());
        let message = error.unwrap_or_default();
        assert!(message.contains("mysql"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}
