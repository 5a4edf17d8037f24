//! What the palette offers for a query: the app's pages and actions the role may use, and the
//! server's search hits, grouped, recent items first.

use domain::policy::Action;
use domain::{fuzzy_score, HitKind, Role, SearchHit};

use super::{Command, Entry, Mode, Recent, Target};
use crate::i18n::Locale;
use crate::session::role_may_somewhere;

/// The app's pages and actions the role may use; titles in the page's language.
pub(super) fn static_entries(role: Option<Role>, locale: Locale) -> Vec<Entry> {
    let allowed = |action: Action| role.is_some_and(|role| role_may_somewhere(role, action));
    let mut entries = Vec::new();
    let mut action = |title: &'static str, target: Target| {
        entries.push(Entry {
            group: "Actions",
            title: locale.t(title).to_owned(),
            detail: String::new(),
            kind: "action",
            target,
        });
    };
    if allowed(Action::CreateJob) {
        action("New job", Target::Run(Command::NewJob));
    }
    if allowed(Action::CreateProject) {
        action("New project", Target::Go("/projects?new=1".into()));
    }
    if allowed(Action::ManageIncidents) {
        action("New incident", Target::Go("/incidents?new=1".into()));
    }
    if allowed(Action::LaunchRun) {
        action("Launch a job…", Target::Run(Command::LaunchJob));
    }
    action("Go to the calendar", Target::Go("/calendar".into()));
    action(
        "Colour the calendar by project",
        Target::Go("/calendar?view=month&color=project".into()),
    );
    action(
        "Colour the calendar by type",
        Target::Go("/calendar?view=month&color=type".into()),
    );
    action(
        "Colour the calendar by status",
        Target::Go("/calendar?view=month&color=status".into()),
    );
    action(
        "Switch to the dark theme",
        Target::Run(Command::Theme("dark")),
    );
    action(
        "Switch to the light theme",
        Target::Run(Command::Theme("light")),
    );
    for other in Locale::ALL.into_iter().filter(|l| *l != locale) {
        entries.push(Entry {
            group: "Actions",
            title: format!("{} — {}", locale.t("Change the language"), other.name()),
            detail: String::new(),
            kind: "action",
            target: Target::Run(Command::Language(other)),
        });
    }
    entries.push(Entry {
        group: "Actions",
        title: locale.t("Log out").to_owned(),
        detail: String::new(),
        kind: "action",
        target: Target::Run(Command::LogOut),
    });
    let mut page = |title: &'static str, href: &str| {
        entries.push(Entry {
            group: "Pages",
            title: locale.t(title).to_owned(),
            detail: href.to_owned(),
            kind: "page",
            target: Target::Go(href.to_owned()),
        });
    };
    page("Dashboard", "/");
    page("Calendar", "/calendar");
    page("Projects", "/projects");
    page("Incidents", "/incidents");
    if allowed(Action::ViewServer) {
        page("Server", "/server");
    }
    if allowed(Action::ManageUsers) {
        page("Admin", "/admin");
    }
    page("Profile", "/profile");
    page("API reference", "/docs/api");
    entries
}

pub(super) fn hit_group(kind: HitKind) -> &'static str {
    match kind {
        HitKind::Project => "Projects",
        HitKind::Job => "Jobs",
        HitKind::Incident => "Incidents",
        HitKind::User => "Users",
        HitKind::Commit => "Commits",
        HitKind::MergeRequest => "Merge requests",
    }
}

/// What the list shows for `query`: recent items (empty query), then the best of pages and
/// actions and the server's hits, grouped.
pub(super) fn entries_for(
    query: &str,
    mode: Mode,
    statics: &[Entry],
    hits: &[SearchHit],
    recent: &[Recent],
) -> Vec<Entry> {
    let hit_entries = hits
        .iter()
        .filter(|hit| mode != Mode::Launch || hit.kind == HitKind::Job)
        .map(|hit| Entry {
            group: hit_group(hit.kind),
            title: hit.title.clone(),
            detail: hit.detail.clone(),
            kind: hit.kind.as_str(),
            target: Target::Go(if mode == Mode::Launch {
                format!("{}#launch", hit.href)
            } else {
                hit.href.clone()
            }),
        });
    if mode == Mode::Launch {
        return hit_entries.collect();
    }
    if query.trim().is_empty() {
        let recent = recent.iter().map(|item| Entry {
            group: "Recent",
            title: item.title.clone(),
            detail: item.detail.clone(),
            kind: "recent",
            target: Target::Go(item.href.clone()),
        });
        return recent.chain(statics.iter().cloned()).collect();
    }
    let mut scored: Vec<(i32, Entry)> = statics
        .iter()
        .filter_map(|entry| Some((fuzzy_score(query, &entry.title)?, entry.clone())))
        .collect();
    scored.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    // Data first when it matches better than any page or action (typing a job's name).
    let best_static = scored.first().map(|(score, _)| *score).unwrap_or(i32::MIN);
    let best_hit = hits.first().map(|hit| hit.score).unwrap_or(i32::MIN);
    let statics = scored.into_iter().map(|(_, entry)| entry).take(6);
    let mut grouped: Vec<Entry> = if best_hit >= best_static {
        hit_entries.chain(statics).collect()
    } else {
        statics.chain(hit_entries).collect()
    };
    // Keep each group together, in the order groups first appear.
    let mut order: Vec<&'static str> = Vec::new();
    for entry in &grouped {
        if !order.contains(&entry.group) {
            order.push(entry.group);
        }
    }
    grouped.sort_by_key(|entry| order.iter().position(|g| *g == entry.group));
    grouped
}
