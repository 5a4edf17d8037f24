//! The project sheet's Kubernetes tab: one health card per cluster (what its kubeconfig says,
//! the last check: reachable, TLS verified, server version, namespace, what uHub may do there,
//! problems), a Check button, adding a cluster from a kubeconfig (sent once, never shown
//! again), removing one, and upgrading the project's older cluster links.

use domain::kubernetes::{AuthKind, Cluster, ClusterCheck, ClusterList, Health};
use domain::policy::{Action, Object};
use leptos::prelude::*;

use crate::i18n::{t, tf};
use crate::session::Me;
use crate::ui::FieldError;
use crate::AppError;

#[server(prefix = "/sfn", endpoint = "clusters/list")]
pub async fn list_clusters(project_id: i64) -> Result<ClusterList, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::kubernetes::list(&hub, &caller, project_id).await?)
}

/// Adds a cluster from a kubeconfig (upgrading the link `link` when set).
#[server(prefix = "/sfn", endpoint = "clusters/add")]
pub async fn add_cluster(
    project_id: i64,
    name: String,
    environment: String,
    kubeconfig: String,
    context: Option<String>,
    namespace: Option<String>,
    link: Option<i64>,
) -> Result<Cluster, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let request = services::kubernetes::ClusterRequest {
        name: Some(name),
        environment,
        kubeconfig,
        context: context.filter(|c| !c.trim().is_empty()),
        namespace: namespace.filter(|n| !n.trim().is_empty()),
        link,
    };
    Ok(services::kubernetes::create(&hub, &caller, project_id, &request).await?)
}

#[server(prefix = "/sfn", endpoint = "clusters/check")]
pub async fn check_cluster(project_id: i64, cluster_id: i64) -> Result<Cluster, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::kubernetes::check(&hub, &caller, project_id, cluster_id).await?)
}

#[server(prefix = "/sfn", endpoint = "clusters/remove")]
pub async fn remove_cluster(project_id: i64, cluster_id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::kubernetes::delete(&hub, &caller, project_id, cluster_id).await?)
}

fn auth_label(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::Token => t("bearer token"),
        AuthKind::ClientCertificate => t("client certificate"),
        AuthKind::Basic => t("user name and password"),
        AuthKind::Exec => t("command (exec)"),
        AuthKind::AuthProvider => t("auth provider plug-in"),
        AuthKind::None => t("anonymous"),
    }
}

/// `healthy`, `degraded`, `unreachable` or `unchecked`, as `data-health` carries it.
fn health_key(check: Option<&ClusterCheck>) -> &'static str {
    match check.map(|c| c.health) {
        Some(Health::Healthy) => "healthy",
        Some(Health::Degraded) => "degraded",
        Some(Health::Unreachable) => "unreachable",
        None => "unchecked",
    }
}

fn health_label(key: &str) -> &'static str {
    match key {
        "healthy" => t("healthy"),
        "degraded" => t("degraded"),
        "unreachable" => t("unreachable"),
        _ => t("not checked yet"),
    }
}

#[component]
pub fn ClustersTab(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<String>,
    listing: Result<ClusterList, AppError>,
) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_manage = move || me.allows(Action::UpdateProject, &object);
    let may_check =
        move || me.allows(Action::UpdateProject, &object) || me.allows(Action::LaunchRun, &object);
    let changed = RwSignal::new(0u32);
    let listing = crate::ui::refreshed(listing, changed, move || list_clusters(project_id));
    let check = ServerAction::<CheckCluster>::new();
    let remove = ServerAction::<RemoveCluster>::new();
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match check.value().get() {
        Some(Ok(_)) => changed.update(|v| *v += 1),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => changed.update(|v| *v += 1),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    // The link being upgraded, if any: the form says so and sends it.
    let upgrading = RwSignal::new(None::<(i64, String)>);
    let environments = StoredValue::new(environments);
    view! {
        <div class="stack" data-testid="clusters-tab">
            <p class="muted small">{t("A cluster's kubeconfig is kept in the secret store only and never shown again. Runs on a cluster get only its context, confined to its namespace, under the guardrails of its environment.")}</p>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            {move || match listing.get() {
                        Ok(list) => view! {
                            {list.items.is_empty().then(|| view! { <p class="empty-inline muted">{t("No cluster yet.")}</p> })}
                            <div class="cluster-grid">
                                {list.items.into_iter().map(|cluster| view! {
                                    <ClusterCard cluster may_check=Signal::derive(may_check) may_manage=Signal::derive(may_manage)
                                        checking=check.pending().into()
                                        on_check=Callback::new(move |id| { check.dispatch(CheckCluster { project_id, cluster_id: id }); })
                                        on_remove=Callback::new(move |id| { remove.dispatch(RemoveCluster { project_id, cluster_id: id }); })/>
                                }).collect_view()}
                            </div>
                            {(!list.links.is_empty()).then(|| view! {
                                <section class="card" data-testid="cluster-links">
                                    <h2>{t("Cluster links to upgrade")}</h2>
                                    <p class="muted small">{t("These clusters are links with a URL only: give their kubeconfig to check them and run kubectl there.")}</p>
                                    <ul class="plain stack">
                                        {list.links.into_iter().map(|link| {
                                            let chosen = (link.id, link.name.clone());
                                            view! {
                                                <li data-link=link.id.to_string()>
                                                    <strong>{link.name.clone()}</strong> " " <span class="mono small muted">{link.location.clone()}</span> " "
                                                    <Show when=may_manage>
                                                        <button type="button" class="button button--small" on:click={
                                                            let chosen = chosen.clone();
                                                            move |_| upgrading.set(Some(chosen.clone()))
                                                        }>{t("Upgrade with a kubeconfig")}</button>
                                                    </Show>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                </section>
                            })}
                        }.into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The clusters could not be loaded") error/> }.into_any(),
                    }}
            <Show when=may_manage>
                <AddCluster project_id environments=environments.get_value() upgrading
                    on_added=Callback::new(move |_| changed.update(|v| *v += 1))/>
            </Show>
        </div>
    }
}

#[component]
fn ClusterCard(
    cluster: Cluster,
    may_check: Signal<bool>,
    may_manage: Signal<bool>,
    checking: Signal<bool>,
    on_check: Callback<i64>,
    on_remove: Callback<i64>,
) -> impl IntoView {
    let id = cluster.id;
    let health = health_key(cluster.last_check.as_ref());
    let check = cluster.last_check.clone();
    let confirming = RwSignal::new(false);
    view! {
        <article class=format!("card cluster-card cluster-card--{health}") data-cluster=id.to_string()
            data-health=health aria-labelledby=format!("cluster-{id}")>
            <header class="cluster-card__head">
                <span class=format!("health-dot health-dot--{health}") aria-hidden="true"></span>
                <h2 id=format!("cluster-{id}")>{cluster.name.clone()}</h2>
                <span class="chip">{cluster.environment.clone()}</span>
                <span class=format!("badge health--{health}") data-testid="cluster-health">{health_label(health)}</span>
            </header>
            <dl class="facts facts--compact">
                <div><dt>{t("API server")}</dt><dd class="mono small">{cluster.server_url.clone()}</dd></div>
                <div><dt>{t("Context")}</dt><dd class="mono small">{cluster.context.clone()}</dd></div>
                <div><dt>{t("Namespace")}</dt><dd class="mono small">{cluster.namespace.clone()}</dd></div>
                <div><dt>{t("Signs in with")}</dt><dd>{auth_label(cluster.auth_kind)}</dd></div>
                <div><dt>{t("CA fingerprint")}</dt><dd class="mono small fingerprint" title=cluster.ca_fingerprint.clone().unwrap_or_default()>
                    {cluster.ca_fingerprint.clone().map(|f| format!("SHA256 {}…", f.chars().take(23).collect::<String>())).unwrap_or_else(|| t("public authorities").to_owned())}</dd></div>
                {check.clone().map(|check| view! {
                    <div><dt>{t("Version")}</dt><dd class="mono small" data-testid="cluster-version">{check.server_version.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                    <div><dt>{t("TLS")}</dt><dd>{if check.tls_verified { t("verified against the kubeconfig's CA") } else { t("not verified") }}</dd></div>
                    <div><dt>{t("Checked")}</dt><dd class="small muted">{check.at.format("%Y-%m-%d %H:%M").to_string()} " · " {format!("{} ms", check.took_ms)}</dd></div>
                })}
            </dl>
            {check.clone().map(|check| {
                let rules = check.rules.len();
                view! {
                    {(!check.problems.is_empty()).then(|| view! {
                        <ul class="plain cluster-problems" role="list" data-testid="cluster-problems">
                            {check.problems.iter().map(|p| view! {
                                <li data-code=p.code.clone()><span class="mono small">{p.code.clone()}</span> " " {p.message.clone()}</li>
                            }).collect_view()}
                        </ul>
                    })}
                    {(rules > 0).then(|| view! {
                        <details class="cluster-rules">
                            <summary class="small">{tf("{count} permission rules in the namespace", &[("count", &rules.to_string())])}</summary>
                            <ul class="plain small mono">
                                {check.rules.iter().take(40).map(|rule| view! {
                                    <li>{format!("{} — {}", rule.verbs.join(", "), if rule.resources.is_empty() { "*".to_owned() } else { rule.resources.join(", ") })}</li>
                                }).collect_view()}
                            </ul>
                        </details>
                    })}
                }
            })}
            <div class="cluster-card__actions">
                <Show when=move || may_check.get()>
                    <button type="button" class="button button--small" data-testid="check-cluster"
                        prop:disabled=move || checking.get()
                        on:click=move |_| on_check.run(id)>{move || if checking.get() { t("Checking…") } else { t("Check now") }}</button>
                </Show>
                <Show when=move || may_manage.get()>
                    {move || if confirming.get() {
                        view! {
                            <span class="small">{t("Remove this cluster and its kubeconfig?")}</span> " "
                            <button type="button" class="button button--small button--danger" on:click=move |_| on_remove.run(id)>{t("Remove")}</button> " "
                            <button type="button" class="button button--small" on:click=move |_| confirming.set(false)>{t("Keep")}</button>
                        }.into_any()
                    } else {
                        view! { <button type="button" class="button button--small button--ghost" on:click=move |_| confirming.set(true)>{t("Remove…")}</button> }.into_any()
                    }}
                </Show>
            </div>
        </article>
    }
}

#[component]
fn AddCluster(
    project_id: i64,
    environments: Vec<String>,
    upgrading: RwSignal<Option<(i64, String)>>,
    on_added: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let environment = RwSignal::new(environments.first().cloned().unwrap_or_default());
    let kubeconfig = RwSignal::new(String::new());
    let context = RwSignal::new(String::new());
    let namespace = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let add = ServerAction::<AddCluster>::new();
    Effect::new(move |_| {
        if let Some((_, link_name)) = upgrading.get() {
            name.set(link_name);
        }
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(_)) => {
            // The kubeconfig leaves the page's memory as soon as it is stored.
            kubeconfig.set(String::new());
            name.set(String::new());
            context.set(String::new());
            namespace.set(String::new());
            upgrading.set(None);
            error.set(None);
            on_added.run(());
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    view! {
        <form class="card form" data-testid="add-cluster" autocomplete="off" on:submit=move |ev| {
            ev.prevent_default();
            add.dispatch(AddCluster {
                project_id,
                name: name.get_untracked(),
                environment: environment.get_untracked(),
                kubeconfig: kubeconfig.get_untracked(),
                context: Some(context.get_untracked()),
                namespace: Some(namespace.get_untracked()),
                link: upgrading.get_untracked().map(|(id, _)| id),
            });
        }>
            <h2>{move || match upgrading.get() {
                Some((_, link)) => tf("Upgrade the link {name}", &[("name", &link)]),
                None => t("Add a cluster").to_owned(),
            }}</h2>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Name")}</span>
                    <input class="input" name="cluster-name" required maxlength="120" placeholder="prod-eu"
                        value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <FieldError error field="name"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Environment (its guardrails apply)")}</span>
                    <select class="input" name="cluster-environment" on:change=move |ev| environment.set(event_target_value(&ev))>
                        {environments.iter().map(|env| view! { <option value=env.clone()>{env.clone()}</option> }).collect_view()}
                    </select>
                    <FieldError error field="environment"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Context (empty: the current one)")}</span>
                    <input class="input mono" name="cluster-context" maxlength="253"
                        value=move || context.get() prop:value=move || context.get() on:input=move |ev| context.set(event_target_value(&ev))/>
                    <FieldError error field="context"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Namespace (empty: the context's)")}</span>
                    <input class="input mono" name="cluster-namespace" maxlength="63"
                        value=move || namespace.get() prop:value=move || namespace.get() on:input=move |ev| namespace.set(event_target_value(&ev))/>
                    <FieldError error field="namespace"/>
                </label>
            </div>
            <label class="field">
                <span class="small muted">{t("Kubeconfig (YAML; kept in the secret store, never shown again)")}</span>
                <textarea class="input textarea mono" name="kubeconfig" rows="8" required spellcheck="false"
                    prop:value=move || kubeconfig.get() on:input=move |ev| kubeconfig.set(event_target_value(&ev))></textarea>
                <FieldError error field="kubeconfig"/>
            </label>
            <div class="form__actions">
                <button class="button button--primary" type="submit" prop:disabled=move || add.pending().get()>
                    {move || if add.pending().get() { t("Checking the kubeconfig…") } else { t("Add the cluster") }}</button>
                {move || upgrading.get().map(|_| view! {
                    <button type="button" class="button" on:click=move |_| upgrading.set(None)>{t("Cancel")}</button>
                })}
            </div>
            {move || error.get().filter(|e| !matches!(e.field.as_deref(), Some("name" | "environment" | "context" | "namespace" | "kubeconfig"))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        </form>
    }
}
