//! The storage story — users, projects, jobs created, read, updated and listed — told once and
//! run against SQLite and against a real PostgreSQL, plus migrations and the demo seed.

use chrono::{Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use domain::{Color, IncidentSeverity, IncidentStatus, JobStatus, JobType, ProjectState, Role};
use services::seed::{load_demo, SeedReport};
use services::storage::{
    Actor, AuditFilter, NewEnvironment, NewIncident, NewJob, NewProject, NewUser, ProfileChanges,
    ProjectChanges, UserChanges,
};
use services::testing::{fresh_postgres_database, TestEngine, TestStorage};
use services::{ServiceError, ServiceResult, Storage};

fn actor() -> Actor {
    Actor::user(1, "tester", Some("127.0.0.1".to_owned()))
}

fn new_user(username: &str, role: Role) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: Some(format!("{username}@uhub.local")),
        display_name: format!("{username} display"),
        role,
        password_hash: "$argon2id$placeholder-not-used-for-login".to_owned(),
        theme: "dark".to_owned(),
        locale: "en".to_owned(),
        is_active: true,
        must_change_password: false,
    }
}

async fn user_story(storage: &Storage) {
    let ops = storage
        .create_user(&new_user("ops-olga", Role::Ops), &actor())
        .await
        .expect("create ops");
    let dev = storage
        .create_user(&new_user("dev-dan", Role::Dev), &actor())
        .await
        .expect("create dev");
    assert!(ops.id != dev.id);
    assert_eq!(ops.role().expect("role"), Role::Ops);

    let read = storage.user_by_id(ops.id).await.expect("read by id");
    assert_eq!(read.username, "ops-olga");
    assert_eq!(
        read.created_at, ops.created_at,
        "timestamps must round-trip exactly"
    );
    let by_name = storage
        .user_by_username("dev-dan")
        .await
        .expect("read by name")
        .expect("dev exists");
    assert_eq!(by_name.id, dev.id);
    assert!(storage
        .user_by_username("nobody")
        .await
        .expect("lookup")
        .is_none());
    assert!(matches!(
        storage.user_by_id(9_999).await,
        Err(ServiceError::NotFound { what: "user" })
    ));

    let duplicate = storage
        .create_user(&new_user("ops-olga", Role::Admin), &actor())
        .await;
    assert!(
        matches!(
            duplicate,
            Err(ServiceError::AlreadyExists { field: "username" })
        ),
        "{duplicate:?}"
    );

    let changes = ProfileChanges {
        display_name: Some("Olga OPS".to_owned()),
        theme: Some("light".to_owned()),
        locale: Some("fr".to_owned()),
        email: Some(None),
    };
    let updated = storage
        .update_profile(ops.id, &changes, &actor())
        .await
        .expect("update profile");
    assert_eq!(
        (
            updated.display_name.as_str(),
            updated.theme.as_str(),
            updated.locale.as_str()
        ),
        ("Olga OPS", "light", "fr")
    );
    assert_eq!(updated.email, None);
    assert!(updated.updated_at >= ops.updated_at);
    let blank = ProfileChanges {
        display_name: Some("  ".to_owned()),
        ..ProfileChanges::default()
    };
    assert!(matches!(
        storage.update_profile(ops.id, &blank, &actor()).await,
        Err(ServiceError::Invalid { .. })
    ));

    let names: Vec<String> = storage
        .list_users()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["dev-dan", "ops-olga"]);
    assert_eq!(storage.count_active_admins().await.expect("count"), 0);

    let profile = updated.profile().expect("profile");
    let json = serde_json::to_string(&profile).expect("json");
    assert!(
        !json.contains("argon2"),
        "a profile never carries the password hash: {json}"
    );
}

async fn project_and_job_story(storage: &Storage) {
    let owner = storage
        .create_user(&new_user("pm-paula", Role::Projets), &actor())
        .await
        .expect("owner");
    let project = storage
        .create_project(
            &NewProject {
                name: "Infra K3s".to_owned(),
                description: "Cluster upgrades".to_owned(),
                color: "#00CC88".parse().expect("colour"),
                owner_id: Some(owner.id),
                environments: ["dev", "staging", "prod"]
                    .iter()
                    .map(|n| NewEnvironment::named(n))
                    .collect(),
                execution_backend: None,
                execution_backend_config: Default::default(),
            },
            &actor(),
        )
        .await
        .expect("create project");
    assert_eq!(project.color.as_str(), "#00cc88");
    assert_eq!(project.environments, ["dev", "staging", "prod"]);
    assert_eq!(project.owner_username.as_deref(), Some("pm-paula"));
    assert_eq!((project.job_count, project.next_job_at), (0, None));
    assert_eq!(project.state, ProjectState::Active);

    let clash = storage
        .create_project(
            &NewProject {
                name: "Infra K3s".to_owned(),
                description: String::new(),
                color: Color::default_accent(),
                owner_id: None,
                environments: vec![],
                execution_backend: None,
                execution_backend_config: Default::default(),
            },
            &actor(),
        )
        .await;
    assert!(
        matches!(clash, Err(ServiceError::AlreadyExists { field: "name" })),
        "{clash:?}"
    );
    let twice = NewProject {
        name: "Twice".to_owned(),
        description: String::new(),
        color: Color::default_accent(),
        owner_id: None,
        environments: vec![NewEnvironment::named("dev"), NewEnvironment::named("dev")],
        execution_backend: None,
        execution_backend_config: Default::default(),
    };
    assert!(matches!(
        storage.create_project(&twice, &actor()).await,
        Err(ServiceError::Invalid { .. })
    ));

    let renamed = storage
        .update_project(
            project.id,
            project.version,
            &ProjectChanges {
                description: Some("Cluster upgrades and patching".to_owned()),
                color: Some("#33ff99".parse().expect("colour")),
                ..ProjectChanges::default()
            },
            &actor(),
        )
        .await
        .expect("update project");
    assert_eq!(renamed.description, "Cluster upgrades and patching");
    assert_eq!(renamed.color.as_str(), "#33ff99");
    assert_eq!(renamed.name, "Infra K3s");
    assert_eq!(renamed.version, project.version + 1);
    // The same change based on the old version is refused with the current one.
    assert!(matches!(
        storage
            .update_project(project.id, project.version, &ProjectChanges::default(), &actor())
            .await,
        Err(ServiceError::StaleVersion { current, .. }) if current == renamed.version
    ));

    let start = (Utc::now() + Duration::days(2)).trunc_subsecs(0);
    let patch = NewJob {
        project_id: project.id,
        title: "Patch workers".to_owned(),
        description: String::new(),
        job_type: JobType::Maintenance,
        environment: Some("prod".to_owned()),
        planned_start: start,
        planned_end: Some(start + Duration::hours(2)),
        all_day: false,
        owner_id: Some(owner.id),
        responsible_role: Some(Role::Ops),
        action: None,
        auto_start: false,
    };
    let job = storage
        .create_job(&patch, &actor())
        .await
        .expect("create job");
    assert_eq!((job.status, job.version), (JobStatus::Planned, 1));
    assert_eq!(job.environment.as_deref(), Some("prod"));
    assert_eq!(job.responsible_role, Some(Role::Ops));
    let sync = NewJob {
        title: "Sync".to_owned(),
        job_type: JobType::Meeting,
        environment: None,
        planned_start: start - Duration::days(1),
        planned_end: None,
        ..patch.clone()
    };
    let meeting = storage
        .create_job(&sync, &actor())
        .await
        .expect("create meeting");

    let unknown_env = NewJob {
        environment: Some("qa".to_owned()),
        ..patch.clone()
    };
    match storage.create_job(&unknown_env, &actor()).await {
        Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "environment"),
        other => panic!("an unknown environment must be refused, got {other:?}"),
    }
    let backwards = NewJob {
        planned_end: Some(start - Duration::minutes(1)),
        ..patch.clone()
    };
    match storage.create_job(&backwards, &actor()).await {
        Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "planned_end"),
        other => panic!("an end before the start must be refused, got {other:?}"),
    }

    let listed: Vec<i64> = storage
        .list_project_jobs(project.id)
        .await
        .expect("list jobs")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, [meeting.id, job.id], "jobs come in planned order");

    let later = start + Duration::hours(3);
    let moved = storage
        .reschedule_job(job.id, 1, later, Some(later + Duration::hours(1)), &actor())
        .await
        .expect("move");
    assert_eq!((moved.version, moved.planned_start), (2, later));
    match storage
        .reschedule_job(job.id, 1, start, None, &actor())
        .await
    {
        Err(ServiceError::StaleVersion { current, .. }) => assert_eq!(current, 2),
        other => panic!("a stale version must be refused, got {other:?}"),
    }
    assert_eq!(
        storage.job(job.id).await.expect("reread").planned_start,
        later,
        "the refused move changed nothing"
    );

    let summary = storage.project_summary(project.id).await.expect("summary");
    assert_eq!(summary.job_count, 2);
    assert_eq!(summary.next_job_at, Some(meeting.planned_start));
    let all = storage
        .list_project_summaries()
        .await
        .expect("list projects");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], summary);
}

async fn seed_story(storage: &Storage) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
    let first = load_demo(storage, today, &actor())
        .await
        .expect("first seed");
    assert_eq!(
        first,
        SeedReport {
            users_created: 4,
            projects_created: 4,
            jobs_created: 16
        }
    );
    let again = load_demo(storage, today, &actor())
        .await
        .expect("second seed");
    assert_eq!(
        again,
        SeedReport::default(),
        "seeding twice changes nothing"
    );

    let users = storage.list_users().await.expect("users");
    assert_eq!(users.len(), 4);
    let admin = storage
        .user_by_username("demo-admin")
        .await
        .expect("lookup")
        .expect("demo-admin");
    assert_eq!(
        (admin.display_name.as_str(), admin.role().expect("role")),
        ("Alice ADMIN", Role::Admin)
    );
    assert!(services::password::verify_password(
        "demo-admin".to_owned(),
        admin.password_hash.clone()
    )
    .await
    .expect("verify"));

    let projects = storage.list_project_summaries().await.expect("projects");
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Infra K3s",
            "Monitoring Stack",
            "Projet Pilote App X",
            "Registry Docker Privé"
        ]
    );
    let k3s = &projects[0];
    assert_eq!(
        (
            k3s.color.as_str(),
            k3s.owner_username.as_deref(),
            k3s.job_count
        ),
        ("#00cc88", Some("demo-ops"), 4)
    );
    let jobs = storage.list_project_jobs(k3s.id).await.expect("jobs");
    let first_job = &jobs[0];
    assert_eq!(first_job.title, "Sprint Planning – Semaine 01");
    assert_eq!(
        first_job.planned_start,
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .single()
            .expect("time")
    );
    let weekly = jobs.iter().find(|j| j.all_day).expect("the all-day report");
    assert_eq!(
        weekly.planned_start,
        Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
            .single()
            .expect("time")
    );
    let patch = jobs
        .iter()
        .find(|j| j.job_type == JobType::Maintenance)
        .expect("the patch");
    assert_eq!(patch.environment.as_deref(), Some("prod"));
}

/// Every change writes its audit row in the same transaction; a refused change writes none; and
/// nobody can edit or delete the log.
async fn audit_story(storage: &Storage) {
    let paula = storage
        .create_user(&new_user("pm-paula", Role::Projets), &actor())
        .await
        .expect("create user");
    let project = storage
        .create_project(
            &NewProject {
                owner_id: Some(paula.id),
                ..NewProject::named("Audited", &["prod"])
            },
            &actor(),
        )
        .await
        .expect("create project");
    let start = Utc::now().trunc_subsecs(0) + Duration::days(2);
    let job = storage
        .create_job(
            &NewJob::planned(project.id, "Upgrade", JobType::Ops, Some("prod"), start),
            &actor(),
        )
        .await
        .expect("create job");
    assert!(job.environment_is_production);
    storage
        .reschedule_job(job.id, 1, start + Duration::hours(1), None, &actor())
        .await
        .expect("reschedule");
    let stale = storage
        .reschedule_job(job.id, 1, start + Duration::hours(2), None, &actor())
        .await;
    assert!(
        matches!(stale, Err(ServiceError::StaleVersion { current: 2, .. })),
        "{stale:?}"
    );

    let job_rows = storage
        .list_audit(
            &AuditFilter {
                action: Some("job.".to_owned()),
                ..AuditFilter::default()
            },
            10,
        )
        .await
        .expect("audit");
    let actions: Vec<&str> = job_rows.iter().map(|row| row.action.as_str()).collect();
    assert_eq!(
        actions,
        ["job.reschedule", "job.create"],
        "newest first, the stale move left nothing"
    );
    assert_eq!(job_rows[0].actor_username.as_deref(), Some("tester"));
    assert_eq!(
        job_rows[0].target_id.as_deref(),
        Some(job.id.to_string().as_str())
    );
    assert_eq!(job_rows[0].client_ip.as_deref(), Some("127.0.0.1"));

    let everything = storage
        .list_audit(&AuditFilter::default(), 100)
        .await
        .expect("audit");
    assert_eq!(everything.len(), 4, "user, project, job, reschedule");
    let older = storage
        .list_audit(
            &AuditFilter {
                before_id: Some(everything[1].id),
                ..AuditFilter::default()
            },
            100,
        )
        .await
        .expect("page");
    assert_eq!(older.len(), 2, "the cursor pages back in time");

    let tampering = storage.tamper_with_audit_log().await;
    assert_eq!(
        tampering,
        Err(()),
        "the audit log must refuse updates, deletes and (PostgreSQL) TRUNCATE"
    );
}

/// Runs `second` in a task of its own while `first` (a transaction holding its writes) is still
/// open, gives it time to finish alone, then commits `first`: what `second` answered, and
/// whether it finished before the first committed (on PostgreSQL it must wait for the first's
/// outcome; given time, the races these tests close used not to).
async fn raced_against_open<T: Send + 'static>(
    first: services::storage::Tx,
    second: impl std::future::Future<Output = ServiceResult<T>> + Send + 'static,
) -> (ServiceResult<T>, bool) {
    let mut second = tokio::spawn(second);
    let early = tokio::time::timeout(std::time::Duration::from_millis(500), &mut second).await;
    let finished_alone = early.is_ok();
    first.commit().await.expect("commit the first transaction");
    let outcome = match early {
        Ok(joined) => joined,
        Err(_) => second.await,
    }
    .expect("second task");
    (outcome, finished_alone)
}

/// Two admins, each demoting the other at the same instant: one change is kept, the other is
/// refused, and uHub keeps an active admin. On PostgreSQL each transaction used to count the
/// admins while the other's change was not yet committed, both saw one left, and both committed.
async fn admins_demoting_each_other_at_once_keep_one(storage: &Storage) {
    let alice = storage
        .create_user(&new_user("admin-alice", Role::Admin), &actor())
        .await
        .expect("alice");
    let bruno = storage
        .create_user(&new_user("admin-bruno", Role::Admin), &actor())
        .await
        .expect("bruno");
    let demoted = UserChanges {
        role: Some(Role::Ops),
        ..UserChanges::default()
    };
    let mut first = storage.write().await.expect("first transaction");
    first
        .update_user(
            bruno.id,
            &demoted,
            &Actor::user(alice.id, "admin-alice", None),
        )
        .await
        .expect("alice demotes bruno: alice is still an admin");
    let (storage_, demoted_) = (storage.clone(), demoted.clone());
    let (outcome, finished_alone) = raced_against_open(first, async move {
        let mut tx = storage_.write().await?;
        tx.update_user(
            alice.id,
            &demoted_,
            &Actor::user(bruno.id, "admin-bruno", None),
        )
        .await?;
        tx.commit().await
    })
    .await;
    assert!(
        matches!(outcome, Err(ServiceError::Conflict(_))),
        "bruno demoting alice after she demoted him must be refused, got {outcome:?} \
         (finished before the first change committed: {finished_alone})"
    );
    assert_eq!(storage.count_active_admins().await.expect("count"), 1);
    let alice = storage.user_by_id(alice.id).await.expect("alice");
    assert_eq!(alice.role().expect("role"), Role::Admin);
}

/// A user's live calendar feeds are capped (50): two created at the same instant when one is
/// left keep the cap. On PostgreSQL each creation used to count the live feeds without the
/// other's uncommitted one, and both were kept.
async fn feeds_created_at_once_keep_the_cap(storage: &Storage) {
    let user = storage
        .create_user(&new_user("feed-collector", Role::Dev), &actor())
        .await
        .expect("user");
    let as_user = Actor::user(user.id, "feed-collector", None);
    for _ in 0..49 {
        storage
            .create_feed(user.id, None, &as_user)
            .await
            .expect("a feed under the cap");
    }
    let mut first = storage.write().await.expect("first transaction");
    first
        .create_feed(user.id, None, &as_user)
        .await
        .expect("the fiftieth feed");
    let (storage_, as_user_) = (storage.clone(), as_user.clone());
    let (outcome, finished_alone) = raced_against_open(first, async move {
        let mut tx = storage_.write().await?;
        tx.create_feed(user.id, None, &as_user_).await?;
        tx.commit().await
    })
    .await;
    assert!(
        matches!(outcome, Err(ServiceError::Conflict(_))),
        "a fifty-first feed must be refused, got {outcome:?} (finished before the fiftieth \
         committed: {finished_alone})"
    );
}

/// Two post-mortem saves of one incident at the same instant: one is version 1, the other is
/// refused with a conflict to save again (it was a 500 on PostgreSQL, where both computed the
/// same next version and the second hit the primary key).
async fn postmortems_saved_at_once_conflict(storage: &Storage) {
    let incident = storage
        .create_incident(
            &NewIncident {
                project_id: None,
                title: "Saved twice".into(),
                description: String::new(),
                severity: IncidentSeverity::Sev3,
                status: IncidentStatus::Resolved,
                owner_id: None,
                job_id: None,
                detected_at: None,
            },
            &actor(),
        )
        .await
        .expect("incident");
    let mut first = storage.write().await.expect("first transaction");
    let version = first
        .save_postmortem(incident.id, "first", &Actor::system())
        .await
        .expect("the first save");
    assert_eq!(version, 1);
    let storage_ = storage.clone();
    let (outcome, _) = raced_against_open(first, async move {
        let mut tx = storage_.write().await?;
        let version = tx
            .save_postmortem(incident.id, "second", &Actor::system())
            .await?;
        tx.commit().await.map(|()| version)
    })
    .await;
    // SQLite lets one writer in at a time: there the second save simply comes after.
    assert!(
        matches!(outcome, Ok(2) | Err(ServiceError::Conflict(_))),
        "the second save is version 2 or a conflict, got {outcome:?}"
    );
}

/// What a run goes by of its project's settings: an absence and its default are the same (the
/// settings form sends `"network": false` where the API left nothing), and what another
/// backend reads does not count; a real change does.
#[test]
fn a_runs_settings_digest_counts_only_what_its_backend_reads() {
    use domain::{BackendConfig, ExecutionBackend::*};
    use services::storage::settings_digest;
    let stored = BackendConfig {
        webhook_url: Some("https://ci.example.com/hook".into()),
        ..BackendConfig::default()
    };
    let resaved = BackendConfig {
        network: Some(false),
        webhook_preset: Some(domain::WebhookPreset::Generic),
        image: Some("  ".into()),
        ..stored.clone()
    };
    for backend in [Docker, Webhook, Local] {
        assert_eq!(
            settings_digest(&stored, backend),
            settings_digest(&resaved, backend),
            "{backend}: re-saved unchanged"
        );
    }
    let other_image = BackendConfig {
        image: Some("alpine:3".into()),
        ..stored.clone()
    };
    assert_eq!(
        settings_digest(&stored, Webhook),
        settings_digest(&other_image, Webhook)
    );
    assert_ne!(
        settings_digest(&stored, Docker),
        settings_digest(&other_image, Docker)
    );
    let elsewhere = BackendConfig {
        webhook_url: Some("https://attacker.example.net/x".into()),
        ..stored.clone()
    };
    assert_ne!(
        settings_digest(&stored, Webhook),
        settings_digest(&elsewhere, Webhook)
    );
}

macro_rules! on_both_engines {
    ($($story:ident),+) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test] async fn $story() { super::$story(&TestStorage::new(TestEngine::Sqlite).await.storage).await; })+
        }
        mod postgres {
            use super::*;
            $(#[tokio::test] async fn $story() { super::$story(&TestStorage::new(TestEngine::Postgres).await.storage).await; })+
        }
    };
}

on_both_engines!(
    user_story,
    project_and_job_story,
    seed_story,
    audit_story,
    admins_demoting_each_other_at_once_keep_one,
    feeds_created_at_once_keep_the_cap,
    postmortems_saved_at_once_conflict
);

/// Several uHub processes starting at once against one PostgreSQL database: each migration is
/// applied exactly once and every process ends up ready.
#[tokio::test]
async fn concurrent_start_ups_migrate_postgres_once() {
    let url = fresh_postgres_database().await;
    let starts = (0..6).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let storage = Storage::connect(&url).await?;
            storage.migrate().await?;
            Ok::<Storage, ServiceError>(storage)
        })
    });
    let mut storages = Vec::new();
    for start in starts {
        storages.push(start.await.expect("task").expect("connect and migrate"));
    }
    for storage in &storages {
        assert!(storage.is_ready().await);
    }
    let applied: i64 = {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut connection)
            .await
            .expect("count")
    };
    let known = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .expect("dir")
    .count();
    assert_eq!(applied, known as i64);
}

/// A database that was never migrated is not ready; after migrating it is.
#[tokio::test]
async fn readiness_follows_migrations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::connect(&format!(
        "sqlite://{}",
        dir.path().join("fresh.db").display()
    ))
    .await
    .expect("connect");
    assert!(!storage.is_ready().await);
    storage.migrate().await.expect("migrate");
    assert!(storage.is_ready().await);
    storage.close().await;
    assert!(!storage.is_ready().await, "a closed pool is not ready");
}
