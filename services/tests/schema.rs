//! The two migration folders must build the same schema: the same tables, the same columns with
//! mapped types and the same nullability, the same primary keys, indexes (columns, uniqueness,
//! partial or not) and triggers. Both engines are migrated for real and introspected, so a
//! migration added to one folder only, or written differently in the other, fails here.

use std::collections::{BTreeMap, BTreeSet};

use services::testing::{TestEngine, TestStorage};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};

/// A table as both engines can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column name → (type as SQLite stores it, nullable).
    columns: BTreeMap<String, (String, bool)>,
    primary_key: Vec<String>,
    /// (columns, unique, partial) of every index but the primary key's.
    indexes: BTreeSet<(Vec<String>, bool, bool)>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, Table>,
    /// (table, timing, event) of every trigger.
    triggers: BTreeSet<(String, String, String)>,
}

/// The SQLite storage class a PostgreSQL type is written as in `migrations/sqlite`.
fn as_sqlite(postgres_type: &str) -> String {
    match postgres_type {
        "bigint" | "integer" | "smallint" => "INTEGER",
        "text" | "character varying" | "timestamp with time zone" | "jsonb" | "json" | "date" => {
            "TEXT"
        }
        "boolean" => "BOOLEAN",
        "bytea" => "BLOB",
        "double precision" | "real" => "REAL",
        other => panic!("no SQLite spelling known for the PostgreSQL type `{other}`"),
    }
    .to_owned()
}

/// Tables of uHub's own (not the migrations' bookkeeping).
fn is_ours(table: &str) -> bool {
    !table.starts_with("_sqlx") && !table.starts_with("sqlite_")
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut db = SqliteConnection::connect(url).await.expect("SQLite");
    let mut schema = Schema::default();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut db)
            .await
            .expect("tables");
    for name in tables.into_iter().filter(|t| is_ours(t)) {
        let mut table = Table::default();
        let columns = sqlx::query(&format!("PRAGMA table_info('{name}')"))
            .fetch_all(&mut db)
            .await
            .expect("columns");
        let mut key = Vec::new();
        for column in columns {
            let column_name: String = column.get("name");
            let declared: String = column.get("type");
            let not_null: i64 = column.get("notnull");
            let pk: i64 = column.get("pk");
            if pk > 0 {
                key.push((pk, column_name.clone()));
            }
            // A primary key is never null, whatever SQLite's flag says of a rowid alias.
            let nullable = not_null == 0 && pk == 0;
            table
                .columns
                .insert(column_name, (declared.to_uppercase(), nullable));
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();
        let indexes = sqlx::query(&format!("PRAGMA index_list('{name}')"))
            .fetch_all(&mut db)
            .await
            .expect("indexes");
        for index in indexes {
            let origin: String = index.get("origin");
            if origin == "pk" {
                continue;
            }
            let index_name: String = index.get("name");
            let unique: i64 = index.get("unique");
            let partial: i64 = index.get("partial");
            let columns: Vec<String> = sqlx::query(&format!("PRAGMA index_info('{index_name}')"))
                .fetch_all(&mut db)
                .await
                .expect("index columns")
                .iter()
                .map(|c| c.get::<String, _>("name"))
                .collect();
            table.indexes.insert((columns, unique != 0, partial != 0));
        }
        schema.tables.insert(name, table);
    }
    let triggers = sqlx::query("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        .fetch_all(&mut db)
        .await
        .expect("triggers");
    for trigger in triggers {
        let table: String = trigger.get("tbl_name");
        let sql: String = trigger.get::<String, _>("sql").to_uppercase();
        let timing = ["BEFORE", "AFTER", "INSTEAD OF"]
            .into_iter()
            .find(|t| sql.contains(&format!(" {t} ")))
            .unwrap_or("?");
        for event in ["INSERT", "UPDATE", "DELETE"] {
            if sql.contains(&format!("{timing} {event}")) || sql.contains(&format!(" OR {event}")) {
                schema
                    .triggers
                    .insert((table.clone(), timing.to_owned(), event.to_owned()));
            }
        }
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = PgConnection::connect(url).await.expect("PostgreSQL");
    let mut schema = Schema::default();
    let columns = sqlx::query(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut db)
    .await
    .expect("columns");
    for column in columns {
        let table: String = column.get("table_name");
        if !is_ours(&table) {
            continue;
        }
        let name: String = column.get("column_name");
        let data_type: String = column.get("data_type");
        let nullable: String = column.get("is_nullable");
        schema
            .tables
            .entry(table)
            .or_default()
            .columns
            .insert(name, (as_sqlite(&data_type), nullable == "YES"));
    }
    let indexes = sqlx::query(
        "SELECT t.relname AS table_name, i.indisprimary AS is_primary, i.indisunique AS is_unique, \
         i.indpred IS NOT NULL AS is_partial, \
         ARRAY(SELECT a.attname::TEXT FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .expect("indexes");
    for index in indexes {
        let table: String = index.get("table_name");
        if !is_ours(&table) {
            continue;
        }
        let columns: Vec<String> = index.get("columns");
        let entry = schema.tables.entry(table).or_default();
        if index.get::<bool, _>("is_primary") {
            entry.primary_key = columns;
        } else {
            entry
                .indexes
                .insert((columns, index.get("is_unique"), index.get("is_partial")));
        }
    }
    let triggers = sqlx::query(
        "SELECT event_object_table, action_timing, event_manipulation FROM information_schema.triggers \
         WHERE trigger_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .expect("triggers");
    for trigger in triggers {
        schema.triggers.insert((
            trigger.get("event_object_table"),
            trigger.get("action_timing"),
            trigger.get("event_manipulation"),
        ));
    }
    schema
}

#[tokio::test]
async fn both_migration_folders_build_the_same_schema() {
    let sqlite = TestStorage::new(TestEngine::Sqlite).await;
    let postgres = TestStorage::new(TestEngine::Postgres).await;
    let on_sqlite = sqlite_schema(&sqlite.url).await;
    let on_postgres = postgres_schema(&postgres.url).await;
    assert!(
        on_sqlite.tables.len() >= 15,
        "the introspection found too few tables to mean anything: {:?}",
        on_sqlite.tables.keys()
    );
    let names = |schema: &Schema| schema.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&on_sqlite), names(&on_postgres), "the same tables");
    for (name, table) in &on_sqlite.tables {
        let other = &on_postgres.tables[name];
        assert_eq!(table.columns, other.columns, "{name}: the same columns");
        assert_eq!(
            table.primary_key, other.primary_key,
            "{name}: the same primary key"
        );
        assert_eq!(table.indexes, other.indexes, "{name}: the same indexes");
    }
    assert_eq!(
        on_sqlite.triggers, on_postgres.triggers,
        "the same triggers"
    );
    assert!(
        on_sqlite
            .triggers
            .contains(&("audit_log".into(), "BEFORE".into(), "DELETE".into())),
        "the audit log's append-only trigger is seen: {:?}",
        on_sqlite.triggers
    );
}
