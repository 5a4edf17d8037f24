//! Browser tests of running uHub from its pages alone (issue 22): a job made runnable and run
//! from the UI, a production environment and a scoped secret added on the project sheet, a user
//! created with a one-time password, a month-view keyboard move saved, the navigation drawer at
//! phone width, and no HTTP 5xx nor console error on any main page — signed out, and as each
//! role in dark and light, English and French.

use std::time::Duration;

use end2end::{
    at_phone_width, browser_log, code_requested, devtools, eventually, fill, hydrated,
    launch_from_job_page, log_in, log_out, new_dev_job, page_width, save_job, screenshot,
    set_local_backend, submit_form, text_of, wait_for, wait_for_path, with_browser_and_scripts,
    with_demo, TestResult, PHONE,
};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use services::storage::{Actor, ProfileChanges};

/// The demo data on SQLite, uhub running scripts from `scripts`, and a fresh Chromium.
async fn with_demo_scripts<F, Fut>(scripts: &std::path::Path, scenario: F) -> TestResult
where
    F: FnOnce(Client, String, services::Storage) -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    let storage = services::testing::TestStorage::new(services::testing::TestEngine::Sqlite).await;
    let today = chrono::Utc::now().date_naive();
    services::seed::load_demo(&storage.storage, today, &Actor::system()).await?;
    with_browser_and_scripts(&storage.storage, scripts, scenario).await
}

async fn project_named(storage: &services::Storage, name: &str) -> TestResult<i64> {
    Ok(storage
        .list_project_summaries()
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.id)
        .ok_or_else(|| format!("the demo project {name}"))?)
}

/// Presses keys on whatever has the focus, as a person does.
async fn press(client: &Client, keys: &[char]) -> TestResult {
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys {
        actions = actions
            .then(KeyAction::Down { value: *key })
            .then(KeyAction::Up { value: *key });
    }
    client.perform_actions(actions).await?;
    Ok(())
}

/// A project's execution backend set on its settings tab, a job planned with the new-job form,
/// given a script action picked from the scripts directory, launched from its page, and its log
/// followed to the end — no API call, no database write by the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_made_runnable_and_run_from_the_ui_alone() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let scripts = tempfile::tempdir()?;
    let script = scripts.path().join("hello.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"hello from the job editor\"\n")?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    with_demo_scripts(scripts.path(), |client, base, storage| async move {
        let project_id = project_named(&storage, "Projet Pilote App X").await?;
        log_in(
            &client,
            &base,
            "demo-admin",
            &format!("/projects/{project_id}?tab=settings"),
        )
        .await?;
        set_local_backend(&client, &base, &storage, project_id).await?;
        new_dev_job(&client, &base, project_id, "Say hello from the editor").await?;
        client
            .find(Locator::Css("input[name=action-kind][value=script]"))
            .await?
            .click()
            .await?;
        // The picker lists the scripts directory.
        eventually(
            "the scripts in the picker",
            Duration::from_secs(10),
            || async {
                Ok(!client
                    .find_all(Locator::Css("#script-choices option[value='hello.sh']"))
                    .await?
                    .is_empty())
            },
        )
        .await?;
        fill(&client, "[data-testid=script-path]", "hello.sh").await?;
        screenshot(&client, "job-editor").await?;
        save_job(&client).await?;
        assert_eq!(
            text_of(&client, "[data-testid=job-title]").await?,
            "Say hello from the editor"
        );
        assert!(text_of(&client, "[data-testid=job-action]")
            .await?
            .contains("hello.sh"));
        launch_from_job_page(&client).await?;
        wait_for(&client, "[data-status=success]").await?;
        let log = text_of(&client, "[data-testid=run-log]").await?;
        assert!(log.contains("hello from the job editor"), "{log}");
        Ok(())
    })
    .await
}

/// On the project sheet: a production environment added on the environments tab, then a secret
/// reaching only that environment's runs set on the secrets tab; its value never comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_environment_and_a_scoped_secret_from_the_project_sheet() -> TestResult {
    with_demo(|client, base, storage| async move {
        let project_id = project_named(&storage, "Projet Pilote App X").await?;
        log_in(
            &client,
            &base,
            "demo-admin",
            &format!("/projects/{project_id}?tab=environments"),
        )
        .await?;
        wait_for(&client, "[data-testid=add-environment]").await?;
        fill(&client, "input[name=environment-name]", "preprod-eu").await?;
        client
            .find(Locator::Css(
                "[data-testid=add-environment] input[name=is_production]",
            ))
            .await?
            .click()
            .await?;
        client
            .find(Locator::Css(
                "[data-testid=add-environment] button[type=submit]",
            ))
            .await?
            .click()
            .await?;
        eventually(
            "the new environment listed",
            Duration::from_secs(20),
            || async {
                Ok(text_of(&client, "[data-testid=environments]")
                    .await?
                    .contains("preprod-eu"))
            },
        )
        .await?;
        let environments = storage.list_environments(project_id).await?;
        let added = environments
            .iter()
            .find(|e| e.name == "preprod-eu")
            .ok_or("preprod-eu is stored")?;
        assert!(added.is_production, "flagged production");

        client
            .goto(&format!("{base}/projects/{project_id}?tab=secrets"))
            .await?;
        hydrated(&client).await?;
        wait_for(&client, "[data-testid=set-secret]").await?;
        fill(&client, "input[name=secret-name]", "DB_PASSWORD").await?;
        // The form's island hydrates on this first use and may draw its choices again: the
        // choice is made on the select the page holds once it is done (seen stale under load).
        eventually("preprod-eu chosen", Duration::from_secs(20), || async {
            let select = wait_for(&client, "select[name=secret-environment]").await?;
            select.select_by_value("preprod-eu").await?;
            Ok(select.prop("value").await?.as_deref() == Some("preprod-eu"))
        })
        .await?;
        fill(&client, "input[name=secret-value]", "never-shown-value-42").await?;
        client
            .find(Locator::Css("[data-testid=set-secret] button[type=submit]"))
            .await?
            .click()
            .await?;
        eventually(
            "the secret listed with its scope",
            Duration::from_secs(20),
            || async {
                let row = client
                    .find(Locator::Css(
                        "[data-testid=secrets] tr[data-secret=DB_PASSWORD]",
                    ))
                    .await?
                    .text()
                    .await?;
                Ok(row.contains("preprod-eu"))
            },
        )
        .await?;
        screenshot(&client, "project-secrets").await?;
        // Reloaded, the page holds the name and scope, never the value.
        client.refresh().await?;
        hydrated(&client).await?;
        wait_for(&client, "[data-testid=secrets] tr[data-secret=DB_PASSWORD]").await?;
        let source = client.source().await?;
        assert!(
            !source.contains("never-shown-value-42"),
            "the value is not in the page"
        );
        Ok(())
    })
    .await
}

/// An admin creates a user on `/admin`; the one-time password shown once lets the person in,
/// and the first thing asked is a password of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_gets_a_one_time_password_and_must_change_it() -> TestResult {
    with_demo(|client, base, storage| async move {
        log_in(&client, &base, "demo-admin", "/admin").await?;
        // On a phone the users' table scrolls sideways in its box; the page does not.
        at_phone_width(
            &client,
            "[data-testid=admin-users] tbody tr",
            "admin-users-phone",
        )
        .await?;
        wait_for(&client, "[data-testid=new-user]")
            .await?
            .click()
            .await?;
        wait_for(&client, "[data-testid=new-user-form]").await?;
        fill(
            &client,
            "[data-testid=new-user-form] input[name=username]",
            "newcomer",
        )
        .await?;
        fill(
            &client,
            "[data-testid=new-user-form] input[name=display_name]",
            "Nadia Newcomer",
        )
        .await?;
        client
            .find(Locator::Css("select[name=new-user-role]"))
            .await?
            .select_by_value("dev")
            .await?;
        client
            .find(Locator::Css("[data-testid=create-user]"))
            .await?
            .click()
            .await?;
        let password = text_of(
            &client,
            "[data-testid=one-time-password] .one-time-password",
        )
        .await?;
        assert!(
            password.trim().len() >= 12,
            "a strong one-time password: {password:?}"
        );
        screenshot(&client, "admin-one-time-password").await?;
        let user = storage
            .user_by_username("newcomer")
            .await?
            .ok_or("the user is stored")?;
        assert!(user.must_change_password, "the password must be changed");
        assert_eq!(user.role, "dev");

        log_out(&client).await?;
        submit_form(
            &client,
            "/login",
            &[("username", "newcomer"), ("password", password.trim())],
        )
        .await?;
        wait_for_path(&client, "/account/password").await?;
        Ok(())
    })
    .await
}

/// In the month view, a focused job moved one day with → and Enter is saved (the focus stays
/// on the job while the month redraws, also into a day too busy to show all its jobs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_keyboard_move_is_saved() -> TestResult {
    with_demo(|client, base, storage| async move {
        use chrono::Datelike;
        let project_id = project_named(&storage, "Projet Pilote App X").await?;
        let today = chrono::Utc::now().date_naive();
        // A day of this month whose next day is in it too, away from the demo jobs (today + 1
        // to 4 days): a month cell shows four jobs and keeps the rest, undrawn and unfocusable,
        // behind "+N more" — on the 10th, from the 6th to the 9th of each month this job was the
        // fifth there and the test could not focus it.
        let day = today
            .with_day(if today.day() <= 14 { 22 } else { 5 })
            .ok_or("a day of this month")?;
        let start = day.and_hms_opt(10, 0, 0).ok_or("10:00")?.and_utc();
        let job = storage
            .create_job(
                &services::storage::NewJob::planned(
                    project_id,
                    "Keyboard move",
                    domain::JobType::Ops,
                    Some("dev"),
                    start,
                ),
                &Actor::system(),
            )
            .await?;
        // The next day is busy: four jobs earlier that day, so the moved job is its fifth, behind
        // "+N more" — the day opens and the focus stays on the job.
        let busy_at = (day + chrono::Duration::days(1))
            .and_hms_opt(7, 0, 0)
            .ok_or("07:00")?
            .and_utc();
        for n in 1..=4 {
            storage
                .create_job(
                    &services::storage::NewJob::planned(
                        project_id,
                        &format!("Busy {n}"),
                        domain::JobType::Ops,
                        Some("dev"),
                        busy_at,
                    ),
                    &Actor::system(),
                )
                .await?;
        }
        log_in(
            &client,
            &base,
            "demo-admin",
            &format!("/calendar?view=month&date={}", day.format("%Y-%m-%d")),
        )
        .await?;
        wait_for(&client, "[data-interactive]").await?;
        let pill = format!(".cal-event[data-job-id=\"{}\"]", job.id);
        client
            .execute(
                &format!("document.querySelector('{pill}').focus(); return null;"),
                vec![],
            )
            .await?;
        press(&client, &[Key::Right.into()]).await?;
        // The preview shows the job on the next day, opened, and the focus is still on it.
        eventually("the preview on the next day", Duration::from_secs(10), || async {
            let focused = client
                .execute(
                    "const a = document.activeElement; const cell = a && a.closest('[data-date]');
                     return [a ? a.getAttribute('data-job-id') : null, cell ? cell.dataset.date : null];",
                    vec![],
                )
                .await?;
            Ok(focused
                == serde_json::json!([
                    job.id.to_string(),
                    (day + chrono::Duration::days(1)).format("%Y-%m-%d").to_string()
                ]))
        })
        .await?;
        press(&client, &[Key::Enter.into()]).await?;
        eventually("the move saved", Duration::from_secs(20), || async {
            let stored = storage.job(job.id).await?;
            Ok(stored.planned_start == start + chrono::Duration::days(1))
        })
        .await?;
        Ok(())
    })
    .await
}

/// At phone size ([`PHONE`]) the ☰ button opens the navigation drawer, a link in it navigates
/// and closes it; the calendar opens on the agenda, its filters folded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drawer_and_the_calendar_at_phone_width() -> TestResult {
    with_demo(|client, base, _storage| async move {
        devtools(
            &client,
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await?;
        log_in(&client, &base, "demo-ops", "/").await?;
        wait_for(&client, "[data-testid=dashboard]").await?;
        let sidebar_right = "return document.querySelector('.sidebar').getBoundingClientRect().right;";
        let hidden = client.execute(sidebar_right, vec![]).await?;
        assert!(hidden.as_f64().is_some_and(|right| right <= 0.5), "the drawer starts closed: {hidden}");
        let menu = wait_for(&client, ".topbar__menu").await?;
        assert!(menu.is_displayed().await?, "the ☰ button shows at phone width");
        menu.click().await?;
        eventually("the drawer open", Duration::from_secs(10), || async {
            let right = client.execute(sidebar_right, vec![]).await?;
            Ok(right.as_f64().is_some_and(|right| right > 200.0))
        })
        .await?;
        screenshot(&client, "phone-drawer").await?;
        client
            .find(Locator::Css(".sidebar a.nav__link[href='/projects']"))
            .await?
            .click()
            .await?;
        wait_for_path(&client, "/projects").await?;
        eventually("the drawer closed", Duration::from_secs(10), || async {
            let right = client.execute(sidebar_right, vec![]).await?;
            Ok(right.as_f64().is_some_and(|right| right <= 0.5))
        })
        .await?;
        let width = page_width(&client).await?;
        assert!(width <= i64::from(PHONE.0), "no sideways scroll: {width}px");

        client.goto(&format!("{base}/calendar")).await?;
        hydrated(&client).await?;
        eventually("the agenda on a phone", Duration::from_secs(20), || async {
            Ok(!client.find_all(Locator::Css(".agenda, [data-testid=agenda]")).await?.is_empty())
        })
        .await?;
        let filters = wait_for(&client, "#calendar-filters").await?;
        assert!(!filters.is_displayed().await?, "the filters are folded");
        client
            .find(Locator::Css("[data-testid=filters-toggle]"))
            .await?
            .click()
            .await?;
        eventually("the filters unfolded", Duration::from_secs(10), || async {
            Ok(client.find(Locator::Css("#calendar-filters")).await?.is_displayed().await?)
        })
        .await?;
        screenshot(&client, "phone-calendar").await?;
        Ok(())
    })
    .await
}

/// Every response of status 500 or more the page loaded since the last read, as `url status`.
fn server_errors(entries: &[serde_json::Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| entry.get("message")?.as_str())
        .filter_map(|message| serde_json::from_str::<serde_json::Value>(message).ok())
        .filter(|message| {
            message.pointer("/message/method").and_then(|m| m.as_str())
                == Some("Network.responseReceived")
        })
        .filter_map(|message| {
            let status = message
                .pointer("/message/params/response/status")?
                .as_f64()?;
            let url = message.pointer("/message/params/response/url")?.as_str()?;
            (status >= 500.0).then(|| format!("{url} {status}"))
        })
        .collect()
}

/// The console errors since the last read.
async fn console_errors(client: &Client) -> TestResult<Vec<String>> {
    Ok(browser_log(client, "browser")
        .await?
        .into_iter()
        .filter(|entry| entry.get("level").and_then(|l| l.as_str()) == Some("SEVERE"))
        .map(|entry| {
            entry
                .get("message")
                .map(|m| m.to_string())
                .unwrap_or_default()
        })
        .collect())
}

/// Loads `path`, waits until it is hydrated, and reports its 5xx answers and console errors
/// (`allowed` names a console message that is expected, such as the 404 of a missing page).
async fn check_page(
    client: &Client,
    base: &str,
    path: &str,
    allowed: Option<&str>,
    report: &mut Vec<String>,
) -> TestResult {
    client.goto(&format!("{base}{path}")).await?;
    if matches!(path, "/login" | "/account/password") {
        // The bare pages are plain forms, served without the bundle: nothing to hydrate.
        if code_requested(client)
            .await?
            .iter()
            .any(|name| name.ends_with(".wasm"))
        {
            report.push(format!("{path}: asked for the WASM bundle"));
        }
    } else if let Err(error) = hydrated(client).await {
        report.push(format!("{path}: never hydrated ({error})"));
    }
    // A moment for the page's own requests (server functions, streams) to answer.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let errors = server_errors(&browser_log(client, "performance").await?);
    let console: Vec<String> = console_errors(client)
        .await?
        .into_iter()
        .filter(|message| allowed.is_none_or(|allowed| !message.contains(allowed)))
        .collect();
    if !errors.is_empty() || !console.is_empty() {
        report.push(format!("{path}: 5xx {errors:?}; console {console:?}"));
    }
    Ok(())
}

/// No page answers 5xx nor logs a console error: the login page signed out, then every main
/// page and an address that leads nowhere (its 404 page hydrates and speaks the user's
/// language) as each role, in dark and light, English and French; the pages for some roles only
/// (admin, server) say once to the others whom they are for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_error_nor_console_error_on_any_main_page() -> TestResult {
    with_demo(|client, base, storage| async move {
        let project_id = project_named(&storage, "Projet Pilote App X").await?;
        let job_id = storage
            .list_jobs(&services::storage::JobFilter::default(), 1)
            .await?
            .first()
            .map(|j| j.id)
            .ok_or("a demo job")?;
        let mut report = Vec::new();
        client.goto(&format!("{base}/login")).await?;
        browser_log(&client, "browser").await?;
        browser_log(&client, "performance").await?;
        check_page(&client, &base, "/login", None, &mut report).await?;

        let pages = [
            "/".to_owned(),
            "/calendar?view=week".to_owned(),
            "/projects".to_owned(),
            format!("/projects/{project_id}?tab=settings"),
            format!("/jobs/{job_id}"),
            "/jobs/new".to_owned(),
            "/incidents".to_owned(),
            "/profile".to_owned(),
        ];
        for username in ["demo-admin", "demo-projets", "demo-dev", "demo-ops"] {
            let user = storage
                .user_by_username(username)
                .await?
                .ok_or("a demo user")?;
            log_in(&client, &base, username, "/").await?;
            for (theme, locale) in [("dark", "en"), ("light", "fr"), ("light", "en"), ("dark", "fr")] {
                storage
                    .update_profile(
                        user.id,
                        &ProfileChanges {
                            theme: Some(theme.into()),
                            locale: Some(locale.into()),
                            ..ProfileChanges::default()
                        },
                        &Actor::system(),
                    )
                    .await?;
                let mut visited = pages.to_vec();
                if username == "demo-admin" {
                    visited.push("/admin".into());
                    visited.push("/admin?tab=teams".into());
                }
                // The pages for some roles only, as the others: one answer, its 403 the one
                // console message expected (matched with its address: a call refused from the
                // page would not match), in the user's language.
                let mut refused = Vec::new();
                if username != "demo-admin" {
                    refused.push(("/admin?tab=audit", "For admins only", "Réservé aux admins"));
                }
                if matches!(username, "demo-admin" | "demo-ops") {
                    visited.push("/server".into());
                } else {
                    refused.push((
                        "/server",
                        "For admins and ops only",
                        "Réservé aux admins et aux ops",
                    ));
                }
                for path in &visited {
                    let before = report.len();
                    check_page(&client, &base, path, None, &mut report).await?;
                    for line in &mut report[before..] {
                        *line = format!("{username} {theme} {locale} {line}");
                    }
                }
                // An address that leads nowhere: the 404 page, hydrated, in the user's language
                // (the document's own 404 is the one console message expected).
                check_page(&client, &base, "/no/such/page", Some("404"), &mut report).await?;
                let not_found = text_of(&client, "h1").await?;
                let expected = if locale == "fr" {
                    "Rien n’existe à cette adresse"
                } else {
                    "Nothing lives at this address"
                };
                assert_eq!(not_found, expected, "{username} {theme} {locale}");
                for (path, english, french) in refused {
                    let own_403 = format!(
                        "{path} - Failed to load resource: the server responded with a status of 403"
                    );
                    check_page(&client, &base, path, Some(&own_403), &mut report).await?;
                    let answer = text_of(&client, "h1").await?;
                    let expected = if locale == "fr" { french } else { english };
                    assert_eq!(answer, expected, "{username} {theme} {locale} {path}");
                }
                let lang = client
                    .execute("return document.documentElement.lang + ' ' + document.documentElement.dataset.theme;", vec![])
                    .await?;
                assert_eq!(lang, serde_json::json!(format!("{locale} {theme}")));
            }
            log_out(&client).await?;
        }
        assert!(report.is_empty(), "pages with errors:\n{}", report.join("\n"));
        Ok(())
    })
    .await
}

/// A job's page lists the commits linked to it (by a repository's webhook naming
/// `UHUB-<id>`; the delivery itself is tested in `server/tests/git_hooks.rs` and `git_push.rs`),
/// and the project's links tab shows where the repository's webhooks go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_shows_the_commits_that_name_it() -> TestResult {
    with_demo(|client, base, storage| async move {
        let project_id = project_named(&storage, "Projet Pilote App X").await?;
        let job = storage
            .create_job(
                &services::storage::NewJob::planned(
                    project_id,
                    "Renew the certificates",
                    domain::JobType::Ops,
                    None,
                    chrono::Utc::now(),
                ),
                &Actor::system(),
            )
            .await?;
        let link = storage
            .create_link(
                &services::storage::NewLink {
                    project_id,
                    kind: domain::LinkKind::GitRepo,
                    name: "app".into(),
                    environment: None,
                    location: "https://github.com/acme/app.git".into(),
                    provider: None,
                    default_branch: Some("main".into()),
                    namespace: None,
                    webhook_secret_name: Some("REPO_WEBHOOK_SECRET".into()),
                    token_secret: None,
                    report_status: false,
                },
                &Actor::system(),
            )
            .await?;
        let sha = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b";
        storage
            .link_code_change(&services::storage::NewCodeChange {
                job_id: job.id,
                link_id: link.id,
                kind: domain::ChangeKind::Commit,
                sha: Some(sha.into()),
                number: None,
                title: format!("Renew the certificates (UHUB-{})", job.id),
                author: Some("Ada Ops".into()),
                url: Some(format!("https://github.com/acme/app/commit/{sha}")),
                at: chrono::Utc::now(),
                source: domain::ChangeSource::Webhook,
            })
            .await?;
        log_in(&client, &base, "demo-dev", &format!("/jobs/{}", job.id)).await?;
        eventually("the linked commit", Duration::from_secs(20), || async {
            let shown = text_of(&client, "[data-testid=job-changes]").await?;
            Ok(shown.contains(&sha[..10]) && shown.contains(&format!("UHUB-{}", job.id)))
        })
        .await?;
        screenshot(&client, "job-changes").await?;
        client
            .goto(&format!("{base}/projects/{project_id}?tab=links"))
            .await?;
        hydrated(&client).await?;
        wait_for(&client, "[data-testid=deliveries] summary")
            .await?
            .click()
            .await?;
        eventually("the webhook address", Duration::from_secs(10), || async {
            Ok(text_of(&client, "[data-testid=deliveries]")
                .await?
                .contains(&format!("/api/v1/hooks/git/{}", link.id)))
        })
        .await?;
        Ok(())
    })
    .await
}

/// Runs `git` in `dir` (a test's own author), failing the test on an error.
fn git(dir: &std::path::Path, args: &[&str]) -> TestResult<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Ops")
        .env("GIT_AUTHOR_EMAIL", "ada@example.test")
        .env("GIT_COMMITTER_NAME", "Ada Ops")
        .env("GIT_COMMITTER_EMAIL", "ada@example.test")
        .output()?;
    if !output.status.success() {
        return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The project's Code tab reads a real repository (served by `git daemon` on loopback) through
/// the Git protocol: its branch and its commits, the one naming a job linked to that job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_tab_reads_a_real_repository() -> TestResult {
    let base = tempfile::tempdir()?;
    let bare = base.path().join("app.git");
    std::fs::create_dir_all(&bare)?;
    git(&bare, &["init", "--bare", "--quiet"])?;
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut daemon = std::process::Command::new("git")
        .args([
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!("--base-path={}", base.path().display()),
            "--export-all",
            "--enable=receive-pack",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let remote = format!("git://127.0.0.1:{port}/app.git");
    let outcome = with_demo(|client, base_url, storage| {
        let remote = remote.clone();
        let work = base.path().join("work");
        async move {
            let project_id = project_named(&storage, "Projet Pilote App X").await?;
            let job = storage
                .create_job(
                    &services::storage::NewJob::planned(
                        project_id,
                        "Ship the release",
                        domain::JobType::Ops,
                        None,
                        chrono::Utc::now(),
                    ),
                    &Actor::system(),
                )
                .await?;
            let work_dir = work.to_string_lossy().into_owned();
            eventually("git daemon to serve", Duration::from_secs(20), || {
                let cloned = std::process::Command::new("git")
                    .args(["clone", "--quiet", &remote, &work_dir])
                    .output()
                    .is_ok_and(|o| o.status.success());
                async move { Ok(cloned) }
            })
            .await?;
            std::fs::write(work.join("release.txt"), "1.0\n")?;
            {
                use std::os::unix::fs::PermissionsExt;
                let deploy = work.join("deploy.sh");
                std::fs::write(&deploy, "#!/bin/sh\necho \"released $(cat release.txt)\"\n")?;
                std::fs::set_permissions(&deploy, std::fs::Permissions::from_mode(0o755))?;
            }
            git(&work, &["add", "."])?;
            git(
                &work,
                &[
                    "commit",
                    "--quiet",
                    "-m",
                    &format!("Release 1.0 (UHUB-{})", job.id),
                ],
            )?;
            git(&work, &["push", "--quiet", "origin", "HEAD:main"])?;
            let link = storage
                .create_link(
                    &services::storage::NewLink {
                        project_id,
                        kind: domain::LinkKind::GitRepo,
                        name: "app".into(),
                        environment: None,
                        location: remote.clone(),
                        provider: Some(domain::GitProvider::Git),
                        default_branch: Some("main".into()),
                        namespace: None,
                        webhook_secret_name: None,
                        token_secret: None,
                        report_status: false,
                    },
                    &Actor::system(),
                )
                .await?;
            // Commits are linked by dev, projets and admin (`commits_linked_by_dev`): an admin
            // reads the code tab and links one to the ops job; ops launch the runs below.
            log_in(
                &client,
                &base_url,
                "demo-admin",
                &format!("/projects/{project_id}?tab=code"),
            )
            .await?;
            // The sheet's tabs are drawn once the page is interactive: on a loaded machine
            // (another browser test beside this one) that alone can take most of the element
            // wait, so the page's hydration gets its own.
            hydrated(&client).await?;
            eventually(
                "the branch and the commit",
                Duration::from_secs(30),
                || async {
                    let shown = text_of(&client, "[data-testid=repository]").await?;
                    Ok(shown.contains("main")
                        && shown.contains(&format!("Release 1.0 (UHUB-{})", job.id)))
                },
            )
            .await?;
            let job_link = client
                .find(Locator::Css(&format!(
                    "[data-testid=commits] a[href='/jobs/{}']",
                    job.id
                )))
                .await?;
            assert!(
                job_link.is_displayed().await?,
                "the commit links to its job"
            );
            screenshot(&client, "project-code").await?;

            // On the job's page, the commit linked by hand (its SHA's first 8 digits), then
            // unlinked.
            let sha = git(&work, &["rev-parse", "HEAD"])?;
            client.goto(&format!("{base_url}/jobs/{}", job.id)).await?;
            hydrated(&client).await?;
            fill(
                &client,
                "[data-testid=link-change] input[name=change-reference]",
                &sha[..8],
            )
            .await?;
            client
                .find(Locator::Css(
                    "[data-testid=link-change] button[type=submit]",
                ))
                .await?
                .click()
                .await?;
            eventually(
                "the commit linked by hand",
                Duration::from_secs(30),
                || async {
                    let shown = text_of(&client, "[data-testid=job-changes]").await?;
                    Ok(shown.contains(&sha[..10]) && shown.contains("Release 1.0"))
                },
            )
            .await?;
            screenshot(&client, "job-link-change").await?;
            client
                .find(Locator::Css(
                    "[data-testid=job-changes] [data-change-kind=commit] .line__actions button",
                ))
                .await?
                .click()
                .await?;
            eventually("the commit unlinked", Duration::from_secs(20), || async {
                Ok(!text_of(&client, "[data-testid=job-changes]")
                    .await?
                    .contains(&sha[..10]))
            })
            .await?;

            // A job running the repository's script: launched from its page, the run shows the
            // commit it ran; "Run again at this commit" runs it again; the ledger lists both.
            let mut deploy = services::storage::NewJob::planned(
                project_id,
                "Deploy from the repository",
                domain::JobType::Ops,
                Some("dev"),
                chrono::Utc::now(),
            );
            deploy.action = Some(domain::JobAction::Script {
                path: "deploy.sh".into(),
                args: vec![],
                repo: Some(link.id),
                git_ref: Some("main".into()),
            });
            let deploy = storage.create_job(&deploy, &Actor::system()).await?;
            log_out(&client).await?;
            log_in(
                &client,
                &base_url,
                "demo-ops",
                &format!("/jobs/{}", deploy.id),
            )
            .await?;
            assert!(text_of(&client, "[data-testid=job-action]")
                .await?
                .contains(&format!("from repository #{} at main", link.id)));
            wait_for(&client, "[data-testid=launch]")
                .await?
                .click()
                .await?;
            wait_for(&client, "[data-status=success]").await?;
            assert_eq!(text_of(&client, "[data-testid=run-commit] dd").await?, sha);
            assert!(text_of(&client, "[data-testid=run-log]")
                .await?
                .contains("released 1.0"));
            let first_run = client.current_url().await?.path().to_owned();
            screenshot(&client, "run-at-commit").await?;
            wait_for(&client, "[data-testid=run-again-at-commit]")
                .await?
                .click()
                .await?;
            eventually(
                "the second run, at the same commit, done",
                Duration::from_secs(30),
                || async {
                    let path = client.current_url().await?.path().to_owned();
                    if !path.starts_with("/runs/") || path == first_run {
                        return Ok(false);
                    }
                    let number = path.trim_start_matches("/runs/").to_owned();
                    let heading = text_of(&client, "h1").await?;
                    let done = !client
                        .find_all(Locator::Css("[data-status=success]"))
                        .await?
                        .is_empty();
                    Ok(heading.contains(&format!("#{number}"))
                        && done
                        && text_of(&client, "[data-testid=run-commit] dd").await? == sha)
                },
            )
            .await?;
            client
                .goto(&format!("{base_url}/projects/{project_id}?tab=code"))
                .await?;
            hydrated(&client).await?;
            eventually("the deploy ledger", Duration::from_secs(30), || async {
                let shown = client
                    .find_all(Locator::Css("[data-testid=deployment]"))
                    .await?;
                Ok(shown.len() == 2)
            })
            .await?;
            let ledger = text_of(&client, "[data-testid=deployments]").await?;
            assert!(
                ledger.contains(&sha[..10]) && ledger.contains("Deploy from the repository"),
                "{ledger}"
            );
            screenshot(&client, "project-deployments").await?;
            Ok(())
        }
    })
    .await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    outcome
}
