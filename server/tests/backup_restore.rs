//! `uhub backup` / `uhub restore` on a live instance: a backup taken while a run writes its
//! log, verified, restored into a fresh directory where the same rows are served and a secret
//! decrypts; the refusals (wrong or missing master key, non-empty target, tampered backups).

use std::path::{Path, PathBuf};

use axum::http::{Method, StatusCode};
use serde_json::json;
use services::testing::TestEngine;
use uhub_server::backup;
use uhub_server::config::Config;

use crate::common::{
    dev_ops_job, expect, id, launch, local_dev_project, script, settled, within_20_s, TestApp,
};

const CANARY: &str = "backup-canary-7f3a9c";

fn config(vars: &[(&str, &Path)]) -> Config {
    let owned: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.display().to_string()))
        .collect();
    Config::from_lookup(|name| {
        owned
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("config")
}

fn data_dir_of(app: &TestApp) -> PathBuf {
    let file = app.storage.url.trim_start_matches("sqlite://");
    Path::new(file).parent().expect("data dir").to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_a_run_restores_rows_files_and_secrets() {
    let key_text = services::secrets::SecretBox::generate_key_text();
    let key = services::secrets::SecretBox::from_key_text(&key_text).expect("key");
    let app = TestApp::with_demo_and_secrets(TestEngine::Sqlite, key.into()).await;
    let data_dir = data_dir_of(&app);
    // As uHub does when it generates the key: in the data directory, where backup finds it.
    std::fs::write(data_dir.join("master-key"), key_text.as_bytes()).expect("key file");

    let pm = app.token("demo-projets").await;
    let ops = app.token("demo-ops").await;
    let project = local_dev_project(&app, &pm, "Backed up").await;
    let project_id = id(&project);
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{project_id}/secrets/DEPLOY_TOKEN"),
        &pm,
        Some(json!({"value": CANARY})),
        StatusCode::OK,
    )
    .await;
    script(
        &app,
        "chatty.sh",
        "i=0; while [ $i -lt 300 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.01; done",
    );
    let job = dev_ops_job(
        &app,
        &ops,
        project_id,
        "Chatty",
        json!({"kind": "script", "path": "chatty.sh"}),
    )
    .await;
    let run = launch(&app, &ops, job, json!({}), StatusCode::CREATED).await;
    let run_id = id(&run);

    // The run is writing: the backup is taken now, from a second pool on the same file, as
    // `uhub backup` does from its own process.
    let lines_before = within_20_s("the run writes 30 lines", || async {
        let count = run_log_lines(&app, run_id).await;
        (count >= 30).then_some(count)
    })
    .await;
    let work = tempfile::tempdir().expect("work dir");
    let file = work.path().join("uhub-backup.sqlite");
    let settings = config(&[
        ("UHUB_DATA_DIR", &data_dir),
        ("UHUB_SCRIPTS_DIR", app.scripts.path()),
    ]);
    let report = backup::backup(&settings, &file).await.expect("backup");
    assert!(report.contains("backup written to"), "{report}");
    assert!(report.contains("files kept: 1"), "{report}");
    let done = settled(&app, &ops, run_id).await;
    assert_eq!(done["status"], "success", "{done}");
    assert!(
        run_log_lines(&app, run_id).await > lines_before,
        "the run went on writing after the backup"
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file)
        .expect("backup")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the backup is private");
    let verified = backup::verify(&settings, &file).await.expect("verify");
    assert!(verified.starts_with("verified"), "{verified}");
    let bytes = std::fs::read(&file).expect("backup bytes");
    assert!(
        !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
        "a secret in clear in the backup"
    );
    assert!(
        !bytes
            .windows(key_text.len())
            .any(|w| w == key_text.as_bytes()),
        "the master key in the backup"
    );
    assert!(
        !report.contains(key_text.as_str()),
        "the key in the report: {report}"
    );

    // Refusals: nothing is written anywhere.
    let occupied = tempfile::tempdir().expect("occupied");
    std::fs::write(occupied.path().join("keep.txt"), "mine").expect("file");
    let refused = backup::restore(&key_config(&data_dir), &file, occupied.path())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("is not empty"), "{refused}");

    let target = work.path().join("restored");
    let no_key = backup::restore(&config(&[]), &file, &target)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        no_key.contains("set UHUB_MASTER_KEY_FILE") && no_key.contains("fingerprint"),
        "{no_key}"
    );
    let wrong_key_file = work.path().join("wrong-key");
    std::fs::write(
        &wrong_key_file,
        services::secrets::SecretBox::generate_key_text().as_bytes(),
    )
    .expect("wrong key");
    let wrong = backup::restore(
        &config(&[("UHUB_MASTER_KEY_FILE", &wrong_key_file)]),
        &file,
        &target,
    )
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        wrong.contains("is not the key of this backup") && wrong.contains("nothing was changed"),
        "{wrong}"
    );
    assert!(!target.exists(), "a refused restore created the target");

    // The restore itself.
    let restored_report = backup::restore(&key_config(&data_dir), &file, &target)
        .await
        .expect("restore");
    assert!(
        restored_report.contains("restored into"),
        "{restored_report}"
    );
    assert!(target.join("uhub.db").is_file());
    assert!(target.join("scripts/chatty.sh").is_file(), "scripts kept");
    assert_eq!(
        std::fs::read_to_string(target.join("master-key")).expect("restored key"),
        key_text.as_str(),
        "the key goes where the backed-up instance kept it"
    );

    // The restored instance: the same rows, the run's log as far as it had gone, the secret.
    let restored = uhub_server::startup::open_storage(&format!(
        "sqlite://{}",
        target.join("uhub.db").display()
    ))
    .await
    .expect("restored storage");
    let manifest_rows = manifest_tables(&file).await;
    assert_eq!(
        restored.table_counts().await.expect("counts"),
        manifest_rows,
        "the restored database has the backed-up rows"
    );
    let restored_key = services::secrets::SecretBox::from_key_text(
        &std::fs::read_to_string(target.join("master-key")).expect("key"),
    )
    .expect("restored key");
    let store: services::secrets::SecretStore = restored_key.into();
    let mut db = restored.read().await.expect("read");
    let values = store
        .values(
            &mut db,
            project_id,
            &services::storage::SecretScope::Project,
        )
        .await
        .expect("values decrypt with the restored key");
    assert!(
        values
            .iter()
            .any(|(name, value)| name == "DEPLOY_TOKEN" && value.as_str() == CANARY),
        "the secret decrypts after the restore"
    );
    let lines = db.run_logs(run_id, 0, 10_000).await.expect("restored log");
    drop(db);
    let texts: Vec<String> = lines.iter().map(|l| l.line.clone()).collect();
    let numbered: Vec<&String> = texts.iter().filter(|l| l.starts_with("line ")).collect();
    assert!(
        numbered.len() >= lines_before && numbered.len() < 300,
        "a snapshot taken mid-run: {} lines",
        numbered.len()
    );
    for (i, line) in numbered.iter().enumerate() {
        assert_eq!(
            **line,
            format!("line {i}"),
            "the restored log is a prefix, without holes"
        );
    }
    restored.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_foreign_backups_are_refused() {
    let app = TestApp::with_demo(TestEngine::Sqlite).await;
    let data_dir = data_dir_of(&app);
    let work = tempfile::tempdir().expect("work dir");
    let settings = config(&[
        ("UHUB_DATA_DIR", &data_dir),
        ("UHUB_SCRIPTS_DIR", app.scripts.path()),
    ]);
    script(&app, "hello.sh", "echo hello");
    let file = work.path().join("b.sqlite");
    backup::backup(&settings, &file).await.expect("backup");
    let again = backup::backup(&settings, &file)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(again.contains("exists already"), "{again}");

    // Another backup's partial file is never taken over.
    let busy = work.path().join("busy.sqlite");
    std::fs::write(work.path().join("busy.sqlite.partial"), "someone else's").expect("partial");
    let taken = backup::backup(&settings, &busy)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(taken.contains("busy.sqlite.partial exists"), "{taken}");

    // Sealed secrets but no master key where the backup looks (another data directory than
    // the instance's): the backup would be unreadable, so it is refused.
    let pm = app.token("demo-projets").await;
    let project = local_dev_project(&app, &pm, "Sealed").await;
    expect(
        &app,
        Method::PUT,
        &format!("/api/v1/projects/{}/secrets/TOKEN", id(&project)),
        &pm,
        Some(json!({"value": "sealed-value"})),
        StatusCode::OK,
    )
    .await;
    let keyless = backup::backup(&settings, &work.path().join("keyless.sqlite"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        keyless.contains("sealed secret") && keyless.contains("no master key"),
        "{keyless}"
    );
    assert!(!work.path().join("keyless.sqlite").exists());
    assert!(!work.path().join("keyless.sqlite.partial").exists());

    // A kept file that would land outside the data directory.
    let escaping = work.path().join("escaping.sqlite");
    std::fs::copy(&file, &escaping).expect("copy");
    tamper(
        &escaping,
        "UPDATE uhub_backup_files SET path = 'scripts/../../../etc/cron.d/x'",
    )
    .await;
    let refused = backup::verify(&settings, &escaping)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("differ from the manifest") || refused.contains("outside the data"),
        "{refused}"
    );
    let target = work.path().join("t1");
    assert!(backup::restore(&config(&[]), &escaping, &target)
        .await
        .is_err());
    assert!(!target.join("../etc").exists() && !target.exists());

    // Rows removed after the manifest was written.
    let shortened = work.path().join("shortened.sqlite");
    std::fs::copy(&file, &shortened).expect("copy");
    // (The audit log itself refuses deletions: a trigger keeps it append-only.)
    tamper(
        &shortened,
        "PRAGMA foreign_keys = OFF; DELETE FROM jobs WHERE id = (SELECT MAX(id) FROM jobs)",
    )
    .await;
    let differ = backup::verify(&settings, &shortened)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        differ.contains("rows differ") && differ.contains("jobs"),
        "{differ}"
    );

    // Not a backup at all.
    let plain = work.path().join("plain.txt");
    std::fs::write(&plain, "hello").expect("plain");
    let foreign = backup::verify(&settings, &plain)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(foreign.contains("is not a uHub backup"), "{foreign}");
}

/// A configuration whose master key is the data directory's `master-key` file.
fn key_config(data_dir: &Path) -> Config {
    config(&[("UHUB_MASTER_KEY_FILE", &data_dir.join("master-key"))])
}

async fn run_log_lines(app: &TestApp, run_id: i64) -> usize {
    let mut db = app.storage.storage.read().await.expect("read");
    db.run_logs(run_id, 0, 10_000)
        .await
        .expect("log")
        .iter()
        .filter(|l| l.line.starts_with("line "))
        .count()
}

async fn manifest_tables(file: &Path) -> std::collections::BTreeMap<String, i64> {
    let mut snapshot = services::storage::Snapshot::open(file, false)
        .await
        .expect("open backup");
    let text = snapshot
        .manifest()
        .await
        .expect("manifest")
        .expect("present");
    let manifest: backup::Manifest = serde_json::from_str(&text).expect("manifest json");
    manifest.tables
}

async fn tamper(file: &Path, sql: &str) {
    use sqlx::{Connection, Executor};
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("open");
    connection.execute(sql).await.expect("tamper");
    connection.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_instance_is_dumped_and_its_archive_verified() {
    let app = TestApp::with_demo(TestEngine::Postgres).await;
    let work = tempfile::tempdir().expect("work dir");
    let url_file = work.path().join("database-url");
    std::fs::write(&url_file, &app.storage.url).expect("url file");
    let key_file = work.path().join("master-key");
    std::fs::write(
        &key_file,
        services::secrets::SecretBox::generate_key_text().as_bytes(),
    )
    .expect("key");
    let settings = config(&[
        ("UHUB_DATABASE_URL_FILE", &url_file),
        ("UHUB_MASTER_KEY_FILE", &key_file),
        ("UHUB_DATA_DIR", work.path()),
    ]);
    let file = work.path().join("uhub.pgdump");
    let report = backup::backup(&settings, &file)
        .await
        .expect("pg_dump backup");
    assert!(report.contains("postgres database"), "{report}");
    assert!(
        work.path().join("uhub.pgdump.manifest.json").is_file(),
        "the manifest beside the archive"
    );
    let verified = backup::verify(&settings, &file).await.expect("verify");
    assert!(
        verified.contains("the configured key is this backup's key"),
        "{verified}"
    );
    // Restoring a PostgreSQL archive is pg_restore's job: said, nothing written.
    let target = work.path().join("restored");
    let said = backup::restore(&settings, &file, &target)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(said.contains("pg_restore --no-owner"), "{said}");
    assert!(!target.exists());
    // An archive whose manifest names a table it does not hold is refused.
    let manifest_path = work.path().join("uhub.pgdump.manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
            .expect("json");
    manifest["tables"]["ghost_table"] = json!(3);
    std::fs::write(&manifest_path, manifest.to_string()).expect("write");
    let refused = backup::verify(&settings, &file)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("ghost_table"), "{refused}");
}
