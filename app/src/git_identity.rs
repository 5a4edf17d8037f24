//! A person's own Git identity: their GitHub and GitLab tokens on the profile page (write-only:
//! set, replace, remove; never shown), and "My changes" on the dashboard — their open pull /
//! merge requests and latest commits in the team's repositories.

use domain::GitProvider;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// When each provider's token was set (`None`: no token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenState {
    pub provider: GitProvider,
    pub set_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[server(prefix = "/sfn", endpoint = "me/git-tokens")]
pub async fn git_tokens() -> Result<Vec<TokenState>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let set = services::personal::tokens(&hub, &caller).await?;
    Ok([GitProvider::Github, GitProvider::Gitlab]
        .into_iter()
        .map(|provider| TokenState {
            provider,
            set_at: set
                .iter()
                .find(|t| t.provider == provider)
                .map(|t| t.updated_at),
        })
        .collect())
}

/// Sets the caller's token for a provider (empty `token`: removes it).
#[server(prefix = "/sfn", endpoint = "me/git-tokens/save")]
pub async fn save_git_token(provider: GitProvider, token: String) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    if token.trim().is_empty() {
        services::personal::delete_token(&hub, &caller, provider).await?;
    } else {
        services::personal::put_token(&hub, &caller, provider, &token).await?;
    }
    Ok(())
}

#[server(prefix = "/sfn", endpoint = "me/changes")]
pub async fn my_changes() -> Result<services_view::MyChanges, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::personal::my_changes(&hub, &caller).await?.into())
}

/// "My changes" as the browser gets it (the services crate is not in the browser's build).
pub mod services_view {
    use serde::{Deserialize, Serialize};

    /// An open merge request of the person.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MergeRequestLine {
        pub repository: String,
        pub number: i64,
        pub title: String,
        pub url: Option<String>,
        pub ci_status: Option<String>,
    }

    /// A commit of the person.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CommitLine {
        pub repository: String,
        pub sha: String,
        pub title: String,
        pub url: Option<String>,
        pub at: chrono::DateTime<chrono::Utc>,
    }

    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    pub struct MyChanges {
        /// How many providers the person has a token for.
        pub providers: usize,
        pub merge_requests: Vec<MergeRequestLine>,
        pub commits: Vec<CommitLine>,
        /// Repository name, why.
        pub unreadable: Vec<(String, String)>,
    }

    #[cfg(feature = "ssr")]
    impl From<services::personal::MyChanges> for MyChanges {
        fn from(changes: services::personal::MyChanges) -> Self {
            MyChanges {
                providers: changes.providers.len(),
                merge_requests: changes
                    .merge_requests
                    .into_iter()
                    .map(|m| MergeRequestLine {
                        repository: m.repository.name,
                        number: m.merge_request.number,
                        title: m.merge_request.title,
                        url: m.merge_request.url,
                        ci_status: m.merge_request.ci_status,
                    })
                    .collect(),
                commits: changes
                    .commits
                    .into_iter()
                    .map(|c| CommitLine {
                        repository: c.repository.name,
                        sha: c.commit.sha,
                        title: c.commit.title,
                        url: c.commit.url,
                        at: c.commit.authored_at,
                    })
                    .collect(),
                unreadable: changes
                    .unreadable
                    .into_iter()
                    .map(|u| (u.repository.name, u.reason))
                    .collect(),
            }
        }
    }
}

fn provider_label(provider: GitProvider) -> &'static str {
    match provider {
        GitProvider::Github => "GitHub",
        GitProvider::Gitlab => "GitLab",
        GitProvider::Git => "Git",
    }
}

/// The profile's "Git identity" card: one write-only field per provider, as the page's server
/// component read them (`states`), read again after each save.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
pub fn GitTokens(states: Result<Vec<TokenState>, AppError>) -> impl IntoView {
    crate::i18n::provide_locale();
    let save = ServerAction::<SaveGitToken>::new();
    let changed = RwSignal::new(0u32);
    Effect::watch(
        move || save.version().get(),
        move |_, _, _| changed.update(|v| *v += 1),
        false,
    );
    let states = crate::ui::refreshed(states, changed, git_tokens);
    view! {
        <section class="card form form--panel" aria-labelledby="git-identity-title" data-testid="git-identity">
            <h2 id="git-identity-title">{t("Git identity")}</h2>
            <p class="muted small">{t("Your own tokens show your pull and merge requests and commits on the dashboard. They are kept in the secret store and never shown again.")}</p>
            {move || match states.get() {
                Ok(list) => list.into_iter().map(|state| view! { <TokenField state save/> }).collect_view().into_any(),
                Err(error) => view! { <crate::ui::LoadError title=t("Your tokens could not be read") error/> }.into_any(),
            }}
            {move || save.value().get().and_then(Result::err).map(|e| view! {
                <p class="form-error" role="alert">{e.message}</p>
            })}
        </section>
    }
}

#[component]
fn TokenField(state: TokenState, save: ServerAction<SaveGitToken>) -> impl IntoView {
    let provider = state.provider;
    let token = RwSignal::new(String::new());
    let label = provider_label(provider);
    let field_id = format!("token-{}", provider.as_str());
    let label_for = field_id.clone();
    view! {
        <form class="form--inline" data-testid=format!("git-token-{}", provider.as_str()) on:submit=move |ev| {
            ev.prevent_default();
            save.dispatch(SaveGitToken { provider, token: token.get_untracked() });
            token.set(String::new());
        }>
            <label class="field" for=label_for>
                <span class="small muted">{match state.set_at {
                    Some(at) => tf("{provider} token (set {when})", &[("provider", label), ("when", &crate::i18n::dates(&at.format("%e %b %Y").to_string()))]),
                    None => tf("{provider} token (none)", &[("provider", label)]),
                }}</span>
                <input class="input mono" id=field_id type="password" name="token" autocomplete="off"
                    placeholder=if state.set_at.is_some() { t("a new token replaces it") } else { t("a personal access token") }
                    prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/>
            </label>
            <button type="submit" class="button" prop:disabled=move || save.pending().get() || token.get().trim().is_empty()>{t("Save")}</button>
            {state.set_at.is_some().then(|| view! {
                <button type="button" class="button button--ghost" prop:disabled=move || save.pending().get()
                    on:click=move |_| { save.dispatch(SaveGitToken { provider, token: String::new() }); }>{t("Remove")}</button>
            })}
        </form>
    }
}

/// The dashboard's "My changes" card (read in the browser: providers may take seconds). In the
/// shell's bundle, which the dashboard loads first: it reads at once, not on intent.
#[cfg_attr(any(feature = "ssr", feature = "island-shell"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-shell")), component)]
pub fn MyChangesCard() -> impl IntoView {
    crate::i18n::provide_locale();
    let read = LocalResource::new(my_changes);
    view! {
        <section class="card panel panel--wide" aria-labelledby="my-changes-title" data-testid="my-changes">
            <h2 id="my-changes-title">{t("My changes")}</h2>
            {move || match read.try_get().flatten() {
                None => view! { <p class="muted small" aria-busy="true">{t("Loading…")}</p> }.into_any(),
                Some(Err(error)) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
                Some(Ok(changes)) if changes.providers == 0 => view! {
                    <p class="muted small">{t("Add your GitHub or GitLab token on your profile to see your pull and merge requests and commits here.")}</p>
                    <a class="button button--small" href="/profile" data-testid="my-changes-profile">{t("Profile")}</a>
                }.into_any(),
                Some(Ok(changes)) => view! {
                    {if changes.merge_requests.is_empty() && changes.commits.is_empty() {
                        Some(view! { <p class="muted small">{t("Nothing of yours in the team's repositories yet.")}</p> })
                    } else {
                        None
                    }}
                    {(!changes.merge_requests.is_empty()).then(|| view! {
                        <h3 class="small muted">{t("Open merge requests")}</h3>
                        <ul class="lines">
                            {changes.merge_requests.into_iter().map(|services_view::MergeRequestLine { repository, number, title, url, ci_status: ci }| view! {
                                <li class="line">
                                    <span class="chip">{repository}</span>
                                    <span class="mono small">{format!("!{number}")}</span>
                                    <crate::ui::TitleLink title url/>
                                    {ci.map(|ci| view! { <span class="chip">{tf("CI: {status}", &[("status", &ci)])}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                    {(!changes.commits.is_empty()).then(|| view! {
                        <h3 class="small muted">{t("Latest commits")}</h3>
                        <ul class="lines">
                            {changes.commits.into_iter().map(|services_view::CommitLine { repository, sha, title, url, at }| view! {
                                <li class="line">
                                    <span class="chip">{repository}</span>
                                    <span class="mono small">{sha.chars().take(10).collect::<String>()}</span>
                                    <crate::ui::TitleLink title url/>
                                    <span class="muted small">{crate::i18n::dates(&at.format("%e %b %H:%M").to_string())}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                    {changes.unreadable.into_iter().map(|(repository, why)| view! {
                        <p class="small field__warning">{tf("{repository} could not be read: {why}", &[("repository", &repository), ("why", &why)])}</p>
                    }).collect_view()}
                }.into_any(),
            }}
        </section>
    }
}
