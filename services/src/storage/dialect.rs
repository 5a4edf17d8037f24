//! Everything spelled differently on SQLite and PostgreSQL, in one place. Every other query is
//! written once, with `$N` placeholders, and runs as is on both engines.

use super::Engine;
use crate::{ServiceError, ServiceResult};

/// How a write transaction opens. SQLite takes the write lock at once (`BEGIN IMMEDIATE`),
/// waiting for it up to the busy timeout: a plain (deferred) transaction that read first fails
/// with `SQLITE_BUSY`, at once and whatever the timeout, when another connection has written
/// since that read (seen when deleting a project while the engine claimed runs). PostgreSQL locks
/// rows, not the database: a plain transaction waits where it must.
pub(crate) fn begin_write(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "BEGIN IMMEDIATE",
        Engine::Postgres => "BEGIN",
    }
}

/// What follows the sub-select that picks a queued run, so that several uHub processes sharing
/// one PostgreSQL database never take the same run (`FOR UPDATE SKIP LOCKED`). SQLite has one
/// writer at a time: the same statement without the clause is already exclusive.
pub(crate) fn skip_locked(engine: Engine, table_alias: &str) -> String {
    match engine {
        Engine::Sqlite => String::new(),
        Engine::Postgres => format!(" FOR UPDATE OF {table_alias} SKIP LOCKED"),
    }
}

/// What ends a `SELECT` of one row that the transaction then changes in several statements, so
/// that two transactions do not both read its old state (PostgreSQL `FOR UPDATE`). SQLite
/// transactions that write hold the database's write lock from their start already.
pub(crate) fn for_update(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "",
        Engine::Postgres => " FOR UPDATE",
    }
}

/// A statement that makes the transactions taking `key` ($1) wait for each other across every
/// uHub process sharing one PostgreSQL database (a transaction-level advisory lock, released at
/// commit or rollback); none on SQLite, whose writing transactions take turns already.
pub(crate) fn advisory_lock(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some("SELECT pg_advisory_xact_lock($1)"),
    }
}

/// A query whose rows come back as one JSON array (SQLite only, see [`rows_as_json`]).
/// `object` is the `json_object(…)` expression of one row over the columns of `sql`.
pub(crate) fn json_array_of(sql: &str, object: &str) -> String {
    format!("SELECT json_group_array({object}) FROM ({sql}) AS page")
}

/// The rows of a [`json_array_of`] answer, in the aggregate's order (SQLite's choice: sort them).
pub(crate) fn rows_from_json<T: serde::de::DeserializeOwned>(
    page: &str,
    what: &str,
) -> ServiceResult<Vec<T>> {
    serde_json::from_str(page)
        .map_err(|e| ServiceError::Internal(format!("stored {what} listing is invalid: {e}")))
}

/// Whether a listing is faster fetched as one JSON array. sqlx hands SQLite rows over one by
/// one from its database thread: for a month of a busy calendar (~850 jobs) that transfer, not
/// the query (~1 ms), was most of the time. PostgreSQL streams rows quickly as they are.
pub(crate) fn rows_as_json(engine: Engine) -> bool {
    engine == Engine::Sqlite
}
