//! The command palette (Ctrl+K / ⌘K everywhere): fuzzy search across projects, jobs, incidents
//! and users (served by the server, which applies the permissions), the app's pages and its
//! actions; recent items first; arrow keys and Enter. It can also plan a job on the spot
//! (`new_job`); what it offers is listed by `entries`, what was opened recently by `recent`.

mod entries;
mod new_job;
pub use new_job::next_hour_local;
mod recent;

use domain::SearchHit;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, use_locale, Locale};
use crate::preferences::save_preferences;
use crate::session::Me;
use crate::ui::Navigator;
use crate::AppError;
use entries::{entries_for, static_entries};
use new_job::NewJobForm;
use recent::{load_recent, remember};

/// Whether the palette is open; the top bar's button and the shortcut both set it.
#[derive(Clone, Copy)]
pub struct PaletteOpen(pub RwSignal<bool>);

/// Projects, jobs, incidents (and users, for those who manage them) matching `query`, best
/// first.
#[server(prefix = "/sfn", endpoint = "search")]
pub async fn search(query: String) -> Result<Vec<SearchHit>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::search::search(&hub, &caller, &query).await?)
}

/// Something the palette can do besides opening an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    NewJob,
    LaunchJob,
    Theme(&'static str),
    Language(Locale),
    LogOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Go(String),
    Run(Command),
}

/// One line of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) group: &'static str,
    pub(super) title: String,
    pub(super) detail: String,
    pub(super) kind: &'static str,
    pub(super) target: Target,
}

/// An opened item remembered in this browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Recent {
    pub(super) title: String,
    pub(super) detail: String,
    pub(super) href: String,
}

/// The palette's two faces: searching, or the new-job form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Search,
    Launch,
    NewJob,
}

/// Submits the user menu's logout form (a POST, like clicking Log out).
fn log_out() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(form) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("form[action='/logout']").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlFormElement>().ok())
        {
            let _ = form.submit();
        }
    }
}

/// The palette: an island of its own at the end of the shell, rendered while open. The top
/// bar's button (outside the island) opens it through a click listener on the window.
#[cfg_attr(any(feature = "ssr", feature = "island-palette"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-palette")), component)]
pub fn CommandPalette() -> impl IntoView {
    crate::session::provide_for_island();
    let open = RwSignal::new(false);
    provide_context(PaletteOpen(open));
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                open.update(|o| *o = !*o);
            }
        });
        on_cleanup(move || handle.remove());
        let clicks = window_event_listener(leptos::ev::click, move |ev| {
            use wasm_bindgen::JsCast;
            let on_trigger = ev
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                .and_then(|element| {
                    element
                        .closest("[data-testid=palette-trigger]")
                        .ok()
                        .flatten()
                })
                .is_some();
            if on_trigger {
                open.set(true);
            }
        });
        on_cleanup(move || clicks.remove());
    }
    view! {
        <Show when=move || open.get()>
            <Palette/>
        </Show>
    }
}

#[component]
fn Palette() -> impl IntoView {
    let PaletteOpen(open) = expect_context::<PaletteOpen>();
    let Me(me) = expect_context::<Me>();
    let locale = use_locale();
    let navigate = Navigator::from_router();
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let mode = RwSignal::new(Mode::Search);
    let recent = StoredValue::new(load_recent());
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let role = move || me.get().and_then(|r| r.ok()).map(|u| u.role);
    let statics = Memo::new(move |_| static_entries(role(), locale));
    let hits = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                Ok(Vec::new())
            } else {
                search(q).await
            }
        }
    });
    // The last answer stays on screen while the next one is on its way.
    let last_hits = RwSignal::new(Vec::<SearchHit>::new());
    let search_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match hits.get() {
        Some(Ok(list)) => {
            last_hits.set(list);
            search_error.set(None);
        }
        Some(Err(error)) => search_error.set(Some(error)),
        None => {}
    });
    let entries = Memo::new(move |_| {
        last_hits.with(|hits| {
            statics.with(|statics| {
                recent.with_value(|recent| {
                    entries_for(&query.get(), mode.get(), statics, hits, recent)
                })
            })
        })
    });
    Effect::new(move |_| {
        query.track();
        active.set(0);
    });
    Effect::new(move |_| {
        if mode.get() != Mode::NewJob {
            if let Some(input) = input_ref.get() {
                let _ = input.focus();
            }
        }
    });
    let close = move || open.set(false);
    let choose = move |entry: Entry| match entry.target.clone() {
        Target::Go(href) => {
            remember(&entry);
            close();
            navigate.go(&href);
        }
        Target::Run(Command::NewJob) => mode.set(Mode::NewJob),
        Target::Run(Command::LaunchJob) => {
            mode.set(Mode::Launch);
            query.set(String::new());
        }
        Target::Run(Command::Theme(theme)) => {
            close();
            save_preferences(Some(theme), None);
        }
        Target::Run(Command::Language(locale)) => {
            close();
            save_preferences(None, Some(locale.code()));
        }
        Target::Run(Command::LogOut) => log_out(),
    };
    let choose_active = move || {
        let entry = entries.with(|list| list.get(active.get_untracked()).cloned());
        if let Some(entry) = entry {
            choose(entry);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = entries.with(Vec::len);
        match ev.key().as_str() {
            "Escape" => {
                ev.prevent_default();
                if mode.get_untracked() == Mode::Search {
                    close();
                } else {
                    mode.set(Mode::Search);
                }
            }
            "ArrowDown" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1) % count);
                scroll_active_into_view();
            }
            "ArrowUp" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + count - 1) % count);
                scroll_active_into_view();
            }
            "Enter" => {
                ev.prevent_default();
                choose_active();
            }
            // The dialog is modal: focus stays in it.
            "Tab" if mode.get_untracked() != Mode::NewJob => ev.prevent_default(),
            _ => {}
        }
    };
    let placeholder = move || match mode.get() {
        Mode::Launch => t("Which job? Type its name…"),
        _ => t("Search projects, jobs, incidents, pages, actions…"),
    };
    let active_id = move || format!("palette-option-{}", active.get());

    view! {
        <div class="palette-backdrop" on:click=move |_| close()></div>
        <div class="palette" role="dialog" aria-modal="true" aria-label=t("Command palette")
            data-testid="palette" on:keydown=on_key>
            <Show when=move || mode.get() == Mode::NewJob fallback=move || {
                view! {
                    <div class="palette__search">
                        <span class="palette__icon" aria-hidden="true">
                            {move || if mode.get() == Mode::Launch { "▶" } else { "⌕" }}
                        </span>
                        <input class="palette__input" type="text" role="combobox" node_ref=input_ref
                            aria-expanded="true" aria-controls="palette-results" aria-autocomplete="list"
                            aria-activedescendant=active_id aria-label=t("Search")
                            placeholder=placeholder autocomplete="off" spellcheck="false"
                            data-testid="palette-input"
                            value=move || query.get() prop:value=move || query.get()
                            on:input=move |ev| query.set(event_target_value(&ev))/>
                        <kbd class="kbd">"Esc"</kbd>
                    </div>
                    <div class="palette__results" id="palette-results" role="listbox" aria-label=t("Results")>
                        {move || {
                            let list = entries.get();
                            if list.is_empty() {
                                let text = if mode.get() == Mode::Launch && query.with(String::is_empty) {
                                    t("Type the name of the job to launch.")
                                } else {
                                    t("Nothing matches. Try fewer letters.")
                                };
                                return view! { <p class="palette__empty muted" role="presentation">{text}</p> }.into_any();
                            }
                            let mut previous_group = "";
                            list.into_iter().enumerate().map(|(index, entry)| {
                                let heading = (entry.group != previous_group).then(|| {
                                    view! { <p class="palette__group small" role="presentation">{t(entry.group)}</p> }
                                });
                                previous_group = entry.group;
                                let picked = entry.clone();
                                let href = match &entry.target {
                                    Target::Go(href) => href.clone(),
                                    Target::Run(_) => String::new(),
                                };
                                view! {
                                    {heading}
                                    <div class="palette__option" role="option" id=format!("palette-option-{index}")
                                        aria-selected=move || (active.get() == index).to_string()
                                        data-kind=entry.kind data-href=href
                                        on:mousemove=move |_| if active.get_untracked() != index { active.set(index) }
                                        on:click=move |_| choose(picked.clone())>
                                        <span class="palette__kind" aria-hidden="true">{kind_icon(entry.kind)}</span>
                                        <span class="palette__title">{entry.title.clone()}</span>
                                        <span class="palette__detail small muted">{entry.detail.clone()}</span>
                                        <kbd class="kbd palette__enter" aria-hidden="true">"↵"</kbd>
                                    </div>
                                }
                            }).collect_view().into_any()
                        }}
                    </div>
                    {move || search_error.get().map(|error| view! {
                        <p class="palette__error small" role="alert">{error.message}</p>
                    })}
                    <footer class="palette__hints small muted">
                        <span><kbd class="kbd">"↑"</kbd><kbd class="kbd">"↓"</kbd>" " {t("to move")}</span>
                        <span><kbd class="kbd">"↵"</kbd>" " {t("to open")}</span>
                        <span><kbd class="kbd">"Esc"</kbd>" " {t("to close")}</span>
                    </footer>
                }
            }>
                <NewJobForm on_cancel=Callback::new(move |_| mode.set(Mode::Search))/>
            </Show>
        </div>
    }
}

fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "project" => "▦",
        "job" => "◆",
        "incident" => "◬",
        "user" => "◉",
        "page" => "→",
        "recent" => "↺",
        _ => "⚡",
    }
}

fn scroll_active_into_view() {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async {
        // After the render that moved `aria-selected`.
        if let Some(option) = web_sys::window().and_then(|w| w.document()).and_then(|d| {
            d.query_selector(".palette__option[aria-selected=true]")
                .ok()
                .flatten()
        }) {
            option.scroll_into_view_with_bool(false);
        }
    });
}
