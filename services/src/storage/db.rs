//! The handles every query runs on: [`Db`], a connection taken from the pool for reads, and
//! [`Tx`], a transaction for a use case that reads, checks and writes as one. Both work on
//! either engine; [`on_db!`] compiles a query body once per engine.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection, Transaction};

use super::Engine;
use crate::{ServiceError, ServiceResult};

/// A connection of one engine: borrowed from the pool, or holding a transaction open.
enum Held<DB: sqlx::Database> {
    Connection(PoolConnection<DB>),
    Transaction(Transaction<'static, DB>),
}

impl<DB: sqlx::Database> Held<DB> {
    fn connection(&mut self) -> &mut DB::Connection {
        match self {
            Held::Connection(connection) => connection,
            Held::Transaction(transaction) => transaction,
        }
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Held::Transaction(transaction) => transaction.commit().await,
            // A plain connection has nothing to commit; `Tx` never holds one.
            Held::Connection(_) => Ok(()),
        }
    }
}

enum Link {
    Sqlite(Held<Sqlite>),
    Postgres(Held<Postgres>),
}

/// The connection of a [`Db`] as one engine's type, for [`on_db!`].
pub(crate) enum Linked<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// A database handle for reads. Every read of the storage layer is a method of `Db`, so a use
/// case's reads can run inside its transaction ([`Tx`] derefs to `Db`).
pub struct Db {
    link: Link,
}

/// Runs `$body` with `$c` bound to the handle's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`): the body is written once and type-checked against both engines. Pass
/// `&mut *$c` to each query.
macro_rules! on_db {
    ($db:expr, $c:ident => $body:expr) => {
        match $db.linked() {
            $crate::storage::db::Linked::Sqlite($c) => $body,
            $crate::storage::db::Linked::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_db;

impl Db {
    pub(crate) fn sqlite(connection: PoolConnection<Sqlite>) -> Db {
        Db {
            link: Link::Sqlite(Held::Connection(connection)),
        }
    }

    pub(crate) fn postgres(connection: PoolConnection<Postgres>) -> Db {
        Db {
            link: Link::Postgres(Held::Connection(connection)),
        }
    }

    pub(crate) fn linked(&mut self) -> Linked<'_> {
        match &mut self.link {
            Link::Sqlite(held) => Linked::Sqlite(held.connection()),
            Link::Postgres(held) => Linked::Postgres(held.connection()),
        }
    }

    /// The engine behind the handle, for the few statements spelled differently (see
    /// [`super::dialect`]).
    pub fn engine(&self) -> Engine {
        match self.link {
            Link::Sqlite(_) => Engine::Sqlite,
            Link::Postgres(_) => Engine::Postgres,
        }
    }
}

/// A write transaction: what a use case reads, checks and writes through, committed as one.
/// Dropped without [`Tx::commit`], everything it did is rolled back.
pub struct Tx {
    db: Db,
    /// SQLite: this process's write turn, given back once the transaction ends (see
    /// `Storage::write`). Declared after `db`: dropped after it.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub(crate) fn sqlite(
        transaction: Transaction<'static, Sqlite>,
        turn: tokio::sync::OwnedMutexGuard<()>,
    ) -> Tx {
        Tx {
            db: Db {
                link: Link::Sqlite(Held::Transaction(transaction)),
            },
            _turn: Some(turn),
        }
    }

    pub(crate) fn postgres(transaction: Transaction<'static, Postgres>) -> Tx {
        Tx {
            db: Db {
                link: Link::Postgres(Held::Transaction(transaction)),
            },
            _turn: None,
        }
    }

    /// Locks row `id` of `table` until the transaction ends, so that two transactions that each
    /// count what the other writes (two approvals of one run, two feeds of one user) take turns
    /// instead of each counting without the other (PostgreSQL `FOR UPDATE`; SQLite's writing
    /// transactions take turns already). Whether the row exists.
    pub(crate) async fn lock_row(&mut self, table: &'static str, id: i64) -> ServiceResult<bool> {
        let sql = format!(
            "SELECT id FROM {table} WHERE id = $1{}",
            super::dialect::for_update(self.engine())
        );
        let found: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar(&sql).bind(id).fetch_optional(&mut *c).await
        })?;
        Ok(found.is_some())
    }

    /// Makes every change of the transaction durable, audit rows included.
    pub async fn commit(self) -> ServiceResult<()> {
        match self.db.link {
            Link::Sqlite(held) => held.commit().await,
            Link::Postgres(held) => held.commit().await,
        }
        .map_err(ServiceError::from)
    }
}

impl Deref for Tx {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Db {
        &mut self.db
    }
}
