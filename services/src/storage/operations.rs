//! What operating uHub needs from its database, beside the use cases: the pool's use and the
//! run backlog for `/metrics`; table counts, the schema version and consistent snapshots for
//! backups (`uhub backup` / `uhub restore`).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use domain::RunStatus;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::{Engine, Storage};
use crate::{ServiceError, ServiceResult};

/// Connections of the pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Open connections (idle or lent out).
    pub open: u32,
    /// Open and waiting in the pool.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// Runs not yet settled, by status: how many and since when the oldest waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogCount {
    pub status: RunStatus,
    pub count: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// Tables a backup adds to its snapshot; never counted as uHub's own.
pub const BACKUP_TABLES: [&str; 2] = ["uhub_backup_manifest", "uhub_backup_files"];

impl Storage {
    /// How many connections the pool holds now.
    pub fn pool_use(&self) -> PoolUse {
        on_pool!(self, pool => PoolUse {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
    }

    /// Queued, running and awaiting-approval runs of every project, with the oldest of each.
    pub async fn run_backlog(&self) -> ServiceResult<Vec<BacklogCount>> {
        let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT status, COUNT(*), MIN(created_at) FROM runs \
                 WHERE status IN ('queued', 'running', 'awaiting_approval') GROUP BY status",
            )
            .fetch_all(pool)
            .await
        })?;
        let mut counts: Vec<BacklogCount> = [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::AwaitingApproval,
        ]
        .into_iter()
        .map(|status| BacklogCount {
            status,
            count: 0,
            oldest: None,
        })
        .collect();
        for (status, count, oldest) in rows {
            if let Some(slot) = counts.iter_mut().find(|c| c.status.as_str() == status) {
                slot.count = count;
                slot.oldest = oldest;
            }
        }
        Ok(counts)
    }

    /// Rows per table of uHub's schema (the migrations' bookkeeping left out).
    pub async fn table_counts(&self) -> ServiceResult<BTreeMap<String, i64>> {
        let list = match self.engine() {
            Engine::Sqlite => SQLITE_TABLES,
            Engine::Postgres => {
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename <> '_sqlx_migrations' ORDER BY tablename"
            }
        };
        let names: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar(list).fetch_all(pool).await
        })?;
        let mut counts = BTreeMap::new();
        for name in names {
            let count: i64 = on_pool!(self, pool => {
                sqlx::query_scalar(&count_sql(&name)).fetch_one(pool).await
            })?;
            counts.insert(name, count);
        }
        Ok(counts)
    }

    /// The newest migration applied to this database.
    pub async fn schema_version(&self) -> ServiceResult<i64> {
        let version: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(pool)
                .await
        })?;
        Ok(version.unwrap_or(0))
    }

    /// Writes a consistent copy of the SQLite database to `target` (missing, or an empty file
    /// whose mode it keeps) while others keep reading and writing: `VACUUM INTO` reads one
    /// snapshot of the database (a read transaction) and writes it compacted.
    pub async fn snapshot_sqlite(&self, target: &Path) -> ServiceResult<()> {
        let Some(target) = target.to_str() else {
            return Err(ServiceError::invalid(
                "to",
                "the backup file's path must be valid UTF-8",
            ));
        };
        match self.engine() {
            Engine::Sqlite => {
                // SQLite takes the file name as a bound value: no quoting to get wrong.
                on_pool!(self, pool => {
                    sqlx::query("VACUUM INTO $1")
                        .bind(target)
                        .execute(pool)
                        .await
                        .map(|_| ())
                })?;
                Ok(())
            }
            Engine::Postgres => Err(ServiceError::invalid(
                "database",
                "a PostgreSQL database is backed up with pg_dump",
            )),
        }
    }
}

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' \
     AND name NOT IN ('uhub_backup_manifest', 'uhub_backup_files') ORDER BY name";

/// `SELECT COUNT(*)` of a table named by the catalog (quoted as an identifier all the same).
fn count_sql(table: &str) -> String {
    format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""))
}

/// A backup file opened on its own (never through the pool of a running uHub).
pub struct Snapshot {
    connection: SqliteConnection,
}

/// One file of the data directory kept in a backup: its path relative to the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub path: String,
    pub mode: u32,
    pub content: Vec<u8>,
}

impl Snapshot {
    /// Opens the SQLite file at `path`; read-only unless `writable`. Never creates it.
    pub async fn open(path: &Path, writable: bool) -> ServiceResult<Snapshot> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .read_only(!writable)
            .foreign_keys(false);
        let connection = options.connect().await?;
        Ok(Snapshot { connection })
    }

    /// SQLite's own check of every page and index: `ok`, or the problems it found.
    pub async fn integrity(&mut self) -> ServiceResult<String> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut self.connection)
            .await?;
        Ok(rows.join("; "))
    }

    /// Rows per table of uHub's schema in the snapshot.
    pub async fn table_counts(&mut self) -> ServiceResult<BTreeMap<String, i64>> {
        let names: Vec<String> = sqlx::query_scalar(SQLITE_TABLES)
            .fetch_all(&mut self.connection)
            .await?;
        let mut counts = BTreeMap::new();
        for name in names {
            let count: i64 = sqlx::query_scalar(&count_sql(&name))
                .fetch_one(&mut self.connection)
                .await?;
            counts.insert(name, count);
        }
        Ok(counts)
    }

    /// The newest migration applied to the snapshot (0 when it has none).
    pub async fn schema_version(&mut self) -> ServiceResult<i64> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&mut self.connection)
                .await?;
        Ok(version.unwrap_or(0))
    }

    /// Adds the backup's manifest (JSON) and files to the snapshot.
    pub async fn attach(&mut self, manifest: &str, files: &[SnapshotFile]) -> ServiceResult<()> {
        let mut tx = self.connection.begin().await?;
        sqlx::query("CREATE TABLE uhub_backup_manifest (manifest TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "CREATE TABLE uhub_backup_files (path TEXT PRIMARY KEY, mode INTEGER NOT NULL, content BLOB NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO uhub_backup_manifest (manifest) VALUES ($1)")
            .bind(manifest)
            .execute(&mut *tx)
            .await?;
        for file in files {
            sqlx::query("INSERT INTO uhub_backup_files (path, mode, content) VALUES ($1, $2, $3)")
                .bind(&file.path)
                .bind(i64::from(file.mode))
                .bind(&file.content)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The manifest a backup added, `None` for a file that is no uHub backup.
    pub async fn manifest(&mut self) -> ServiceResult<Option<String>> {
        let has_table: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'uhub_backup_manifest'",
        )
        .fetch_one(&mut self.connection)
        .await?;
        if has_table == 0 {
            return Ok(None);
        }
        Ok(
            sqlx::query_scalar("SELECT manifest FROM uhub_backup_manifest LIMIT 1")
                .fetch_optional(&mut self.connection)
                .await?,
        )
    }

    /// The data directory's files the backup kept.
    pub async fn files(&mut self) -> ServiceResult<Vec<SnapshotFile>> {
        let rows: Vec<(String, i64, Vec<u8>)> =
            sqlx::query_as("SELECT path, mode, content FROM uhub_backup_files ORDER BY path")
                .fetch_all(&mut self.connection)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(path, mode, content)| SnapshotFile {
                path,
                mode: u32::try_from(mode).unwrap_or(0o600) & 0o777,
                content,
            })
            .collect())
    }

    /// Removes what the backup added, leaving uHub's database as it was when backed up.
    pub async fn detach(&mut self) -> ServiceResult<()> {
        for table in BACKUP_TABLES {
            sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
                .execute(&mut self.connection)
                .await?;
        }
        sqlx::query("VACUUM").execute(&mut self.connection).await?;
        Ok(())
    }

    /// Closes the file cleanly (its journal settled).
    pub async fn close(self) -> ServiceResult<()> {
        self.connection.close().await?;
        Ok(())
    }
}
