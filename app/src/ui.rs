//! Shared pieces of the design system: empty, loading and error states, tabs. Buttons, inputs,
//! badges, cards, tables and the rest are CSS classes in `style/uhub.css` (see docs/design.md).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::t;
use crate::AppError;

/// One sentence, and the action that fills the emptiness when there is one.
#[component]
pub fn EmptyState(
    text: &'static str,
    #[prop(optional)] href: Option<&'static str>,
    #[prop(optional)] action: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="empty-state empty-state--inline">
            <p class="muted">{text}</p>
            {href.zip(action).map(|(href, action)| view! { <A href=href attr:class="button">{action}</A> })}
        </div>
    }
}

/// A list that could not be loaded: what, why, and the stable code for a bug report.
#[component]
pub fn LoadError(title: &'static str, error: AppError) -> impl IntoView {
    view! {
        <section class="empty-state empty-state--error" role="alert">
            <h2>{title}</h2>
            <p class="muted">{error.message}</p>
            <p class="muted small mono">{error.code}</p>
        </section>
    }
}

/// Placeholder cards while a page's data is on its way.
#[component]
pub fn SkeletonCards(count: usize) -> impl IntoView {
    view! {
        <div class="skeleton-grid" aria-busy="true" aria-label=t("Loading")>
            {(0..count).map(|_| view! { <div class="card skeleton"></div> }).collect_view()}
        </div>
    }
}

/// Placeholder rows while a table's data is on its way.
#[component]
pub fn SkeletonRows(count: usize) -> impl IntoView {
    view! {
        <div class="skeleton-rows" aria-busy="true" aria-label=t("Loading")>
            {(0..count).map(|_| view! { <div class="skeleton skeleton--row"></div> }).collect_view()}
        </div>
    }
}

/// Tabs as links (`?tab=`), so each tab has an address people can bookmark and share.
#[component]
pub fn TabLinks(
    base: String,
    tabs: Vec<(&'static str, &'static str)>,
    current: Signal<String>,
) -> impl IntoView {
    view! {
        <nav class="tabs" aria-label=t("Sections")>
            {tabs.into_iter().map(|(key, label)| {
                let href = if key == "overview" { base.clone() } else { format!("{base}?tab={key}") };
                // A plain link (the router still handles it): `A` would mark every tab current,
                // as they differ only by their query.
                view! {
                    <a href=href class="tabs__tab" data-tab=key
                        aria-current=move || (current.get() == key).then_some("page")>{label}</a>
                }
            }).collect_view()}
        </nav>
    }
}

/// The number in the route parameter `name` (`/jobs/:id`), 0 when it is not one (the page then
/// shows the server's "not found").
pub fn route_id(name: &'static str) -> Memo<i64> {
    let params = leptos_router::hooks::use_params_map();
    Memo::new(move |_| {
        params
            .with(|p| p.get(name))
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    })
}

/// The server's complaint about `field`, under that field, when the last answer was one.
#[component]
pub fn FieldError(error: RwSignal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.for_field(field)).map(|message| {
            view! { <span class="field__error small" role="alert">{message}</span> }
        })
    }
}
