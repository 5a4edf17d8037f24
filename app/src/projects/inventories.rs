//! A project's Ansible inventories: the project sheet's tab (by environment, with the form that
//! records a version from pasted text or a repository file), and the inventory page — the tree
//! of groups, the hosts with their merged variables, lint, versions and what changed between
//! two of them. Values of secret-like variables come masked from the server.

use std::collections::BTreeMap;

use domain::ansible::{AnsibleInventory, InventoryDetail, InventoryDiff, InventorySource};
use domain::policy::{Action, Object};
use leptos::prelude::*;
use serde_json::Value;

use crate::i18n::{t, tf};
use crate::session::Me;
use crate::ui::{FieldError, PageTitle};
use crate::AppError;

/// A project's inventories, by environment then name.
#[server(prefix = "/sfn", endpoint = "inventories/list")]
pub async fn project_inventories(project_id: i64) -> Result<Vec<AnsibleInventory>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::ansible::stored::list(&hub, &caller, project_id).await?)
}

/// Records a version: pasted `content`, or file `path` of repository link `repo` at `git_ref`.
#[server(prefix = "/sfn", endpoint = "inventories/save", input = leptos::server_fn::codec::Json)]
pub async fn save_inventory(
    project_id: i64,
    name: String,
    environment: String,
    content: Option<String>,
    repo: Option<i64>,
    git_ref: String,
    path: String,
) -> Result<AnsibleInventory, AppError> {
    use services::ansible::stored::{InventoryInput, InventoryRequest};
    let (hub, caller) = crate::server::use_case()?;
    let input = match (content, repo) {
        (Some(text), None) => InventoryInput::Content(text),
        (None, Some(repo)) => InventoryInput::Repository {
            repo,
            git_ref: Some(git_ref.trim().to_owned()).filter(|r| !r.is_empty()),
            path: path.trim().to_owned(),
        },
        _ => {
            return Err(AppError {
                field: Some("content".to_owned()),
                ..AppError::new(
                    "invalid",
                    "content: paste the inventory or choose a repository",
                )
            })
        }
    };
    let request = InventoryRequest {
        name,
        environment: Some(environment.trim().to_owned()).filter(|e| !e.is_empty()),
        input,
        format: None,
    };
    match services::ansible::stored::save(&hub, &caller, project_id, request).await? {
        Ok((inventory, _)) => Ok(inventory),
        Err(malformed) => Err(AppError::from(services::ServiceError::invalid(
            "content",
            malformed.to_string(),
        ))),
    }
}

/// An inventory of `project_id` with one version's analysis (the latest when `None`).
#[server(prefix = "/sfn", endpoint = "inventories/detail")]
pub async fn load_inventory(
    project_id: i64,
    inventory_id: i64,
    version: Option<i64>,
) -> Result<InventoryDetail, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::ansible::stored::get(&hub, &caller, project_id, inventory_id, version).await?)
}

/// What changed between two versions of an inventory of `project_id`.
#[server(prefix = "/sfn", endpoint = "inventories/diff")]
pub async fn compare_inventory_versions(
    project_id: i64,
    inventory_id: i64,
    from: i64,
    to: i64,
) -> Result<InventoryDiff, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::ansible::stored::diff(
        &hub,
        &caller,
        project_id,
        inventory_id,
        Some(from),
        Some(to),
    )
    .await?)
}

fn source_label(source: &InventorySource) -> String {
    match source {
        InventorySource::Content => t("pasted text").to_owned(),
        InventorySource::Repository { git_ref, path, .. } => tf(
            "{path} at {ref}",
            &[
                ("path", path),
                ("ref", git_ref.as_deref().unwrap_or(t("the default branch"))),
            ],
        ),
    }
}

/// The project sheet's Ansible tab: inventories by environment, inventory links recorded
/// before uHub analysed them, and (for whoever may change the project) the form.
#[component]
pub fn InventoriesTab(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<String>,
    links: Vec<domain::ProjectLink>,
    listing: Result<Vec<AnsibleInventory>, AppError>,
) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_manage = move || me.allows(Action::UpdateProject, &object);
    let changed = RwSignal::new(0u32);
    let listing = crate::ui::refreshed(listing, changed, move || project_inventories(project_id));
    let repositories: Vec<(i64, String)> = links
        .iter()
        .filter(|l| l.kind == domain::LinkKind::GitRepo)
        .map(|l| (l.id, l.name.clone()))
        .collect();
    let old_links: Vec<domain::ProjectLink> = links
        .into_iter()
        .filter(|l| l.kind == domain::LinkKind::AnsibleInventory)
        .collect();
    view! {
        <div class="stack" data-testid="inventories-tab">
            <p class="muted small">{t("An inventory is analysed as Ansible reads it, and kept version by version. A playbook job uses an inventory of its own environment, pinned at launch.")}</p>
            {move || match listing.get() {
                        Ok(list) if list.is_empty() => view! { <p class="empty-inline muted">{t("No inventory yet.")}</p> }.into_any(),
                        Ok(list) => inventory_table(project_id, list).into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The inventories could not be loaded") error/> }.into_any(),
                    }}
            {(!old_links.is_empty()).then(|| view! {
                <section class="card" data-testid="inventory-links">
                    <h2>{t("Inventory links")}</h2>
                    <p class="muted small">{t("Recorded as links before uHub analysed inventories: paths only, never read. Record them below to analyse them.")}</p>
                    <ul class="plain stack">
                        {old_links.into_iter().map(|link| view! {
                            <li><span>{link.name.clone()}</span> " " <span class="mono small muted">{link.location.clone()}</span>
                                {link.environment.clone().map(|e| view! { " " <span class="chip">{e}</span> })}</li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
            <Show when=may_manage>
                <InventoryForm project_id environments=environments.clone() repositories=repositories.clone() changed/>
            </Show>
        </div>
    }
}

fn inventory_table(project_id: i64, list: Vec<AnsibleInventory>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table" data-testid="inventories">
                <thead><tr>
                    <th scope="col">{t("Inventory")}</th>
                    <th scope="col">{t("Environment")}</th>
                    <th scope="col">{t("Hosts")}</th>
                    <th scope="col">{t("Groups")}</th>
                    <th scope="col">{t("Lint")}</th>
                    <th scope="col">{t("Version")}</th>
                    <th scope="col">{t("Source")}</th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|inventory| {
                        let href = format!("/projects/{project_id}/inventories/{}", inventory.id);
                        let (key, label) = (inventory.name.clone(), inventory.name.clone());
                        view! {
                            <tr data-inventory=key>
                                <td><a href=href class="link">{label}</a></td>
                                <td>{match inventory.environment.clone() {
                                    Some(env) => view! { <span class="chip">{env}</span> }.into_any(),
                                    None => view! { <span class="muted">{t("any")}</span> }.into_any(),
                                }}</td>
                                <td class="mono">{inventory.summary.hosts}</td>
                                <td class="mono">{inventory.summary.groups}</td>
                                <td>{if inventory.lint_count == 0 {
                                    view! { <span class="muted">"—"</span> }.into_any()
                                } else {
                                    view! { <span class="chip chip--prod">{tf("{n} findings", &[("n", &inventory.lint_count.to_string())])}</span> }.into_any()
                                }}</td>
                                <td class="mono">{format!("v{}", inventory.version)}</td>
                                <td class="small muted">{source_label(&inventory.source)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Records a version of an inventory: pasted text, or a file of one of the project's
/// repositories. The same name again adds a version.
#[component]
fn InventoryForm(
    project_id: i64,
    environments: Vec<String>,
    repositories: Vec<(i64, String)>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let environment = RwSignal::new(environments.first().cloned().unwrap_or_default());
    let content = RwSignal::new(String::new());
    let from_repo = RwSignal::new(false);
    let repo = RwSignal::new(repositories.first().map(|(id, _)| *id));
    let git_ref = RwSignal::new(String::new());
    let path = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let save = ServerAction::<SaveInventory>::new();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            content.set(String::new());
            name.set(String::new());
            error.set(None);
            changed.update(|v| *v += 1);
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let has_repositories = !repositories.is_empty();
    let environments = StoredValue::new(environments);
    let repositories = StoredValue::new(repositories);
    view! {
        <form class="card form" data-testid="add-inventory" autocomplete="off" on:submit=move |ev| {
            ev.prevent_default();
            let by_repo = from_repo.get_untracked();
            save.dispatch(SaveInventory {
                project_id,
                name: name.get_untracked(),
                environment: environment.get_untracked(),
                content: (!by_repo).then(|| content.get_untracked()),
                repo: if by_repo { repo.get_untracked() } else { None },
                git_ref: git_ref.get_untracked(),
                path: path.get_untracked(),
            });
        }>
            <h2>{t("Record an inventory")}</h2>
            <p class="muted small">{t("The same name again records a new version; an inventory keeps its environment.")}</p>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Name")}</span>
                    <input class="input" name="inventory-name" required maxlength="120" placeholder="production fleet"
                        value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <FieldError error field="name"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Environment")}</span>
                    <select class="input" name="inventory-environment" on:change=move |ev| environment.set(event_target_value(&ev))>
                        {environments.with_value(|list| list.iter().map(|env| {
                            let value = env.clone();
                            view! { <option value=env.clone() selected=move || environment.get() == value>{env.clone()}</option> }
                        }).collect_view())}
                        <option value="">{t("any (no environment)")}</option>
                    </select>
                </label>
            </div>
            {has_repositories.then(|| view! {
                <div class="segmented" role="radiogroup" aria-label=t("Where the inventory comes from")>
                    <label class="segmented__option">
                        <input type="radio" name="inventory-source" value="text" checked=move || !from_repo.get() prop:checked=move || !from_repo.get() on:change=move |_| from_repo.set(false)/>
                        <span>{t("Paste the text")}</span>
                    </label>
                    <label class="segmented__option">
                        <input type="radio" name="inventory-source" value="repository" checked=move || from_repo.get() prop:checked=move || from_repo.get() on:change=move |_| from_repo.set(true)/>
                        <span>{t("A file of a repository")}</span>
                    </label>
                </div>
            })}
            <Show when=move || !from_repo.get()>
                <label class="field">
                    <span class="small muted">{t("Inventory (INI or YAML; up to 1 MiB here, 8 MiB through the API)")}</span>
                    <textarea class="input textarea mono" name="inventory-content" rows="8" spellcheck="false"
                        placeholder="[web]\nweb[01:03].example.org\n\n[web:vars]\nhttp_port=8080"
                        prop:value=move || content.get() on:input=move |ev| content.set(event_target_value(&ev))></textarea>
                    <FieldError error field="content"/>
                </label>
            </Show>
            <Show when=move || from_repo.get()>
                <div class="form__row">
                    <label class="field">
                        <span class="small muted">{t("Repository")}</span>
                        <select class="input" name="inventory-repo" on:change=move |ev| repo.set(event_target_value(&ev).parse().ok())>
                            {repositories.with_value(|list| list.iter().map(|(id, label)| {
                                let id = *id;
                                view! { <option value=id.to_string() selected=move || repo.get() == Some(id)>{label.clone()}</option> }
                            }).collect_view())}
                        </select>
                        <FieldError error field="repo"/>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("Branch, tag or SHA (empty: the default branch)")}</span>
                        <input class="input mono" name="inventory-ref" placeholder="main"
                            value=move || git_ref.get() prop:value=move || git_ref.get() on:input=move |ev| git_ref.set(event_target_value(&ev))/>
                        <FieldError error field="ref"/>
                    </label>
                    <label class="field">
                        <span class="small muted">{t("File")}</span>
                        <input class="input mono" name="inventory-path" placeholder="inventories/production.ini"
                            value=move || path.get() prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev))/>
                        <FieldError error field="path"/>
                    </label>
                </div>
            </Show>
            <div class="button-row">
                <button class="button button--primary" type="submit" prop:disabled=move || save.pending().get()>
                    {move || if save.pending().get() { t("Analysing…") } else { t("Analyse and record") }}
                </button>
            </div>
            {move || error.get().filter(|e| !matches!(e.field.as_deref(), Some("name" | "content" | "repo" | "ref" | "path"))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        </form>
    }
}

/// `/projects/:id/inventories/:inventory`: one inventory as Ansible reads it.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn InventoryPage() -> impl IntoView {
    let project_id = crate::ui::route_id("id");
    let inventory_id = crate::ui::route_id("inventory");
    let query = leptos_router::hooks::use_query_map();
    let version =
        Memo::new(move |_| query.with(|q| q.get("version").and_then(|v| v.parse::<i64>().ok())));
    let detail = crate::ui::page_object(move || {
        load_inventory(project_id.get(), inventory_id.get(), version.get())
    });
    view! {
        <PageTitle text=t("Inventory")/>
        <Suspense fallback=|| view! { <crate::ui::SkeletonCards count=2/> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        // The changes up to the version shown, from the one before (its island
                        // reads others when another is chosen).
                        let (project, inventory, shown) =
                            (detail.inventory.project_id, detail.inventory.id, detail.shown_version);
                        let diff = if shown > 1 {
                            compare_inventory_versions(project, inventory, shown - 1, shown).await.map(Some)
                        } else {
                            Ok(None)
                        };
                        view! { <Inventory detail diff/> }.into_any()
                    }
                    Err(error) => view! { <crate::ui::LoadError title=t("The inventory could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// How many hosts the host list shows at once (filter to find the others).
const HOSTS_SHOWN: usize = 300;
/// How deep the group tree goes (Ansible forbids cycles; this bounds a hostile document).
const TREE_DEPTH: usize = 40;

/// One inventory: its groups and hosts (filtered and chosen in the browser), its lint, its
/// versions and what changed between them.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn Inventory(
    detail: InventoryDetail,
    diff: Result<Option<InventoryDiff>, AppError>,
) -> impl IntoView {
    crate::i18n::provide_locale();
    let inventory = detail.inventory.clone();
    let project_id = inventory.project_id;
    let inventory_id = inventory.id;
    let listing = detail
        .analysis
        .get("inventory")
        .cloned()
        .unwrap_or(Value::Null);
    let hostvars: BTreeMap<String, Value> = listing
        .pointer("/_meta/hostvars")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let groups: BTreeMap<String, Value> = listing
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| *k != "_meta")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let lint: Vec<Value> = detail
        .analysis
        .get("lint")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let warnings: Vec<String> = detail
        .analysis
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let hosts_of_group = {
        let groups = groups.clone();
        move |group: &str| -> Vec<String> {
            // The group's hosts and its children's, as `--limit group` would select them.
            let mut found = std::collections::BTreeSet::new();
            let mut stack = vec![(group.to_owned(), 0usize)];
            while let Some((name, depth)) = stack.pop() {
                if name == "all" {
                    return Vec::new();
                }
                let Some(entry) = groups.get(&name) else {
                    continue;
                };
                for host in entry
                    .get("hosts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(host) = host.as_str() {
                        found.insert(host.to_owned());
                    }
                }
                if depth < TREE_DEPTH {
                    for child in entry
                        .get("children")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(child) = child.as_str() {
                            stack.push((child.to_owned(), depth + 1));
                        }
                    }
                }
            }
            found.into_iter().collect()
        }
    };
    let chosen_group = RwSignal::new(String::from("all"));
    let filter = RwSignal::new(String::new());
    let all_hosts: Vec<String> = hostvars.keys().cloned().collect();
    let chosen_host = RwSignal::new(all_hosts.first().cloned());
    let hostvars = StoredValue::new(hostvars);
    let all_hosts = StoredValue::new(all_hosts);
    let group_hosts = Memo::new(move |_| {
        let group = chosen_group.get();
        if group == "all" {
            None
        } else {
            Some(hosts_of_group(&group))
        }
    });
    let shown_hosts = Memo::new(move |_| {
        let needle = filter.get().to_lowercase();
        let from_group = group_hosts.get();
        all_hosts.with_value(|all| {
            let source: Vec<&String> = match &from_group {
                Some(list) => list.iter().collect(),
                None => all.iter().collect(),
            };
            let matching: Vec<String> = source
                .into_iter()
                .filter(|h| needle.is_empty() || h.to_lowercase().contains(&needle))
                .cloned()
                .collect();
            matching
        })
    });
    let versions = detail.versions.clone();
    let shown_version = detail.shown_version;
    let latest = inventory.version;
    let base = format!("/projects/{project_id}/inventories/{}", inventory.id);
    let compare_from = RwSignal::new((shown_version - 1).max(1));
    let diff_changed = RwSignal::new(0u32);
    Effect::watch(
        move || compare_from.get(),
        move |_, _, _| diff_changed.update(|v| *v += 1),
        false,
    );
    let diff = crate::ui::refreshed(diff, diff_changed, move || {
        let from = compare_from.get_untracked();
        async move {
            compare_inventory_versions(project_id, inventory_id, from, shown_version)
                .await
                .map(Some)
        }
    });
    let groups = StoredValue::new(groups);
    view! {
        <header class="sheet-header">
            <p class="muted small">
                <a href="/projects" class="link">{t("Projects")}</a> " / "
                <a href=format!("/projects/{project_id}?tab=ansible") class="link">{t("Ansible")}</a> " / "
            </p>
            <div class="sheet-header__row">
                <h1 data-testid="inventory-name">{inventory.name.clone()}</h1>
                {inventory.environment.clone().map(|e| view! { <span class="chip">{e}</span> })}
                <span class="chip">{inventory.format.clone()}</span>
                <span class="chip" data-testid="inventory-version">{tf("version {v} of {n}", &[("v", &shown_version.to_string()), ("n", &latest.to_string())])}</span>
            </div>
            <dl class="facts facts--inline small">
                <div><dt class="muted">{t("Hosts")}</dt><dd class="mono">{detail.analysis.pointer("/summary/hosts").map(Value::to_string).unwrap_or_default()}</dd></div>
                <div><dt class="muted">{t("Groups")}</dt><dd class="mono">{detail.analysis.pointer("/summary/groups").map(Value::to_string).unwrap_or_default()}</dd></div>
                <div><dt class="muted">{t("Source")}</dt><dd>{source_label(&inventory.source)}</dd></div>
            </dl>
        </header>
        <div class="split inventory">
            <section class="card" aria-labelledby="inventory-groups-title" data-testid="inventory-groups">
                <h2 id="inventory-groups-title">{t("Groups")}</h2>
                <ul class="inv-tree" role="tree" aria-label=t("Groups")>
                    {groups.with_value(|groups| group_node(groups, "all", 0, chosen_group))}
                </ul>
            </section>
            <section class="card" aria-labelledby="inventory-hosts-title" data-testid="inventory-hosts">
                <h2 id="inventory-hosts-title">
                    {move || if chosen_group.get() == "all" { t("Hosts").to_owned() } else { tf("Hosts of {group}", &[("group", &chosen_group.get())]) }}
                </h2>
                <label class="search">
                    <span class="visually-hidden">{t("Filter hosts")}</span>
                    <input type="search" class="input" name="host-filter" placeholder=t("Filter hosts")
                        value=move || filter.get() prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
                </label>
                <p class="muted small" aria-live="polite">{move || {
                    let n = shown_hosts.with(Vec::len);
                    if n > HOSTS_SHOWN {
                        tf("{shown} of {n} hosts: filter to find the others", &[("shown", &HOSTS_SHOWN.to_string()), ("n", &n.to_string())])
                    } else if n == 1 {
                        t("1 host").to_owned()
                    } else {
                        tf("{n} hosts", &[("n", &n.to_string())])
                    }
                }}</p>
                <ul class="inv-hosts plain" data-testid="host-list">
                    {move || shown_hosts.get().into_iter().take(HOSTS_SHOWN).map(|host| {
                        let name = host.clone();
                        let current = host.clone();
                        let key = host.clone();
                        view! {
                            <li>
                                <button type="button" class="inv-host mono" data-host=key
                                    aria-pressed=move || (chosen_host.get().as_deref() == Some(current.as_str())).to_string()
                                    on:click=move |_| chosen_host.set(Some(name.clone()))>{host}</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        </div>
        <div class="stack">
        <section class="card" data-testid="host-variables" aria-live="polite">
            {move || match chosen_host.get() {
                None => view! { <p class="muted">{t("This inventory has no host.")}</p> }.into_any(),
                Some(host) => {
                    let vars: Vec<(String, Value)> = hostvars.with_value(|all| {
                        all.get(&host)
                            .and_then(Value::as_object)
                            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default()
                    });
                    view! {
                        <h2>{tf("Variables of {host}", &[("host", &host)])}</h2>
                        <p class="muted small">{t("Merged the way Ansible merges them (all, parent groups, child groups, the host itself). Values of variables named like secrets are masked.")}</p>
                        {if vars.is_empty() {
                            view! { <p class="muted">{t("No variable.")}</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-scroll">
                                    <table class="table">
                                        <thead><tr><th scope="col">{t("Variable")}</th><th scope="col">{t("Value")}</th></tr></thead>
                                        <tbody>
                                            {vars.into_iter().map(|(name, value)| { let key = name.clone(); view! {
                                                <tr data-variable=key>
                                                    <td class="mono">{name}</td>
                                                    <td class="mono inv-value">{match value {
                                                        Value::String(text) => text,
                                                        other => other.to_string(),
                                                    }}</td>
                                                </tr>
                                            }}).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                    }.into_any()
                }
            }}
        </section>
        <section class="card" data-testid="inventory-lint">
            <h2>{t("Lint")}</h2>
            {if lint.is_empty() && warnings.is_empty() {
                view! { <p class="muted">{t("Nothing to report.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="plain stack">
                        {warnings.into_iter().map(|w| view! { <li><span class="chip">{t("warning")}</span> " " {w}</li> }).collect_view()}
                        {lint.into_iter().map(|finding| {
                            let rule = finding.get("rule").and_then(Value::as_str).unwrap_or_default().to_owned();
                            let message = finding.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                            let key = rule.clone();
                            view! { <li data-rule=key><span class="chip chip--prod mono">{rule}</span> " " {message}</li> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="card" data-testid="inventory-versions">
            <h2>{t("Versions")}</h2>
            <div class="table-scroll">
                <table class="table">
                    <thead><tr><th scope="col">{t("Version")}</th><th scope="col">{t("Hosts")}</th><th scope="col">{t("Groups")}</th><th scope="col">{t("Commit")}</th><th scope="col">{t("By")}</th><th scope="col">{t("Recorded")}</th></tr></thead>
                    <tbody>
                        {versions.iter().map(|v| {
                            let href = format!("{base}?version={}", v.version);
                            view! {
                                <tr aria-current=(v.version == shown_version).then_some("true")>
                                    <td><a href=href class="link mono">{format!("v{}", v.version)}</a></td>
                                    <td class="mono">{v.summary.hosts}</td>
                                    <td class="mono">{v.summary.groups}</td>
                                    <td class="mono small">{v.commit_sha.as_deref().map(|s| s.chars().take(12).collect::<String>()).unwrap_or_else(|| "—".into())}</td>
                                    <td class="small">{v.created_by.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td class="small muted">{v.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {(shown_version > 1).then(|| view! {
                <div class="stack inv-diff" data-testid="inventory-diff">
                    <label class="field field--inline">
                        <span class="small muted">{tf("Changes up to version {v}, from", &[("v", &shown_version.to_string())])}</span>
                        <select class="input input--small" name="diff-from" on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse() { compare_from.set(v); }
                        }>
                            {(1..shown_version).rev().map(|v| view! {
                                <option value=v.to_string() selected=move || compare_from.get() == v>{format!("v{v}")}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {move || match diff.get() {
                        Ok(Some(diff)) => diff_view(diff).into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The changes could not be loaded") error/> }.into_any(),
                    }}
                </div>
            })}
        </section>
        </div>
    }
}

/// One group of the tree and its children (a group under several parents shows under each).
fn group_node(
    groups: &BTreeMap<String, Value>,
    name: &str,
    depth: usize,
    chosen: RwSignal<String>,
) -> AnyView {
    let entry = groups.get(name);
    let hosts = entry
        .and_then(|e| e.get("hosts"))
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    let children: Vec<String> = entry
        .and_then(|e| e.get("children"))
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let label = name.to_owned();
    let current = name.to_owned();
    let nested = (depth < TREE_DEPTH && !children.is_empty()).then(|| {
        view! {
            <ul role="group">
                {children.iter().map(|child| group_node(groups, child, depth + 1, chosen)).collect_view()}
            </ul>
        }
    });
    view! {
        <li role="treeitem" aria-expanded=(!children.is_empty()).then_some("true") data-group=name.to_owned()>
            <button type="button" class="inv-group"
                aria-pressed=move || (chosen.get() == current).to_string()
                on:click=move |_| chosen.set(label.clone())>
                <span class="mono">{name.to_owned()}</span>
                {(hosts > 0).then(|| view! { <span class="muted small">{
                    if hosts == 1 { t("1 host").to_owned() } else { tf("{n} hosts", &[("n", &hosts.to_string())]) }
                }</span> })}
            </button>
            {nested}
        </li>
    }
    .into_any()
}

fn diff_view(diff: InventoryDiff) -> impl IntoView {
    let nothing = diff.hosts_added.is_empty()
        && diff.hosts_removed.is_empty()
        && diff.groups_added.is_empty()
        && diff.groups_removed.is_empty()
        && diff.variables_changed.is_empty();
    if nothing {
        return view! { <p class="muted">{t("No difference.")}</p> }.into_any();
    }
    let list = |title: &'static str, class: &'static str, items: Vec<String>| {
        (!items.is_empty()).then(|| view! {
            <div>
                <h3 class="small">{title}</h3>
                <ul class="chips plain">{items.into_iter().map(|i| view! { <li class=format!("chip {class}")>{i}</li> }).collect_view()}</ul>
            </div>
        })
    };
    let shown = |v: &Option<Value>| match v {
        None => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    view! {
        {list(t("Hosts added"), "inv-added", diff.hosts_added)}
        {list(t("Hosts removed"), "inv-removed", diff.hosts_removed)}
        {list(t("Groups added"), "inv-added", diff.groups_added)}
        {list(t("Groups removed"), "inv-removed", diff.groups_removed)}
        {(!diff.variables_changed.is_empty()).then(|| view! {
            <div class="table-scroll">
                <table class="table">
                    <thead><tr><th scope="col">{t("Host")}</th><th scope="col">{t("Variable")}</th><th scope="col">{t("Before")}</th><th scope="col">{t("After")}</th></tr></thead>
                    <tbody>
                        {diff.variables_changed.iter().map(|change| view! {
                            <tr>
                                <td class="mono">{change.host.clone()}</td>
                                <td class="mono">{change.name.clone()}</td>
                                <td class="mono inv-removed-text">{shown(&change.from)}</td>
                                <td class="mono inv-added-text">{shown(&change.to)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
    }
    .into_any()
}
