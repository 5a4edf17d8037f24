//! Shared pieces of the design system: empty, loading and error states, tabs. Buttons, inputs,
//! badges, cards, tables and the rest are CSS classes in `style/uhub.css` (see docs/design.md).

use leptos::prelude::*;

use crate::i18n::t;
use crate::AppError;

/// Data the browser reads once the page is interactive: `None` while it loads, and on the
/// server, which never reads it (both sides render the same loading state, so hydration
/// matches). `fetch` runs again when a signal it reads synchronously changes; an answer
/// overtaken by a newer request is dropped.
///
/// Instead of `LocalResource`: nothing waits on it (no `Suspense` holds a card for it), and a
/// component rebuilt while the page hydrates simply reads again. A `LocalResource` whose
/// listener was dropped during hydration ("a local-resource notification could not be
/// delivered") stayed "Loading…" for good — the job page's code changes, the deploy ledger.
pub fn load_in_browser<T, Fut>(fetch: impl Fn() -> Fut + 'static) -> ReadSignal<Option<T>>
where
    T: Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    let (data, set_data) = signal(None::<T>);
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        let pending = fetch();
        let request = latest
            .try_update_value(|n| {
                *n += 1;
                *n
            })
            .unwrap_or_default();
        leptos::task::spawn_local(async move {
            let answer = pending.await;
            if latest.try_get_value() == Some(request) {
                set_data.try_set(Some(answer));
            }
        });
    });
    data
}

/// A commit's or merge request's title: a link to its page when the provider gave a web address
/// (a `git://` URL opens nothing in a browser), plain text otherwise.
#[component]
pub fn TitleLink(title: String, url: Option<String>) -> impl IntoView {
    match url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        Some(url) => view! { <a class="line__title link wrap" href=url rel="noopener noreferrer" target="_blank">{title}</a> }.into_any(),
        None => view! { <span class="line__title wrap">{title}</span> }.into_any(),
    }
}

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
            {href.zip(action).map(|(href, action)| view! { <a href=href class="button">{action}</a> })}
        </div>
    }
}

/// What could not be loaded: what, why, and the stable code for a bug report. When it does not
/// exist (a stale link, an object deleted since), the way back too, as the 404 page offers.
#[component]
pub fn LoadError(title: &'static str, error: AppError) -> impl IntoView {
    let missing = error.code == "not_found";
    view! {
        <section class="empty-state empty-state--error" role="alert">
            <h2>{title}</h2>
            <p class="muted">{error.message}</p>
            <p class="muted small mono">{error.code}</p>
            {missing.then(|| view! {
                <a href="/" class="button button--primary">{t("Back to the dashboard")}</a>
            })}
        </section>
    }
}

/// A page's answer to someone it is not for (see [`crate::session::refused_to_role`]): its 403,
/// whom it is for, and the way back.
#[component]
pub fn OnlyFor(title: &'static str, text: &'static str, testid: &'static str) -> impl IntoView {
    view! {
        <PageTitle text=title/>
        <section class="empty-state" data-testid=testid aria-labelledby="only-for-title">
            <p class="empty-state__code mono">"403"</p>
            <h1 id="only-for-title">{title}</h1>
            <p class="muted">{text}</p>
            <a href="/" class="button button--primary">{t("Back to the dashboard")}</a>
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

/// Tabs as links (`?tab=`), so each tab has an address people can bookmark and share; a tab is
/// a page of its own. An island (in every bundle, with the shell's) only to scroll the strip.
#[cfg_attr(any(feature = "ssr", feature = "island-shell"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-shell")), component)]
pub fn TabLinks(base: String, tabs: Vec<(String, String)>, current: String) -> impl IntoView {
    crate::i18n::provide_locale();
    let strip = NodeRef::<leptos::html::Nav>::new();
    // On a narrow screen the strip scrolls sideways: bring the current tab into it, or a phone
    // shows the first tabs and not the one the page is on.
    Effect::new({
        let current = current.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            if let Some(nav) = strip.get() {
                reveal_current_tab(nav, current.clone(), 120);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&current, strip);
        }
    });
    view! {
        <nav class="tabs" aria-label=t("Sections") node_ref=strip>
            {tabs.into_iter().map(|(key, label)| {
                let href = if key == "overview" { base.clone() } else { format!("{base}?tab={key}") };
                let here = (key == current).then_some("page");
                view! {
                    <a href=href class="tabs__tab" data-tab=key aria-current=here>{label}</a>
                }
            }).collect_view()}
        </nav>
    }
}

/// Scrolls the tab strip to the tab `key` once the strip has a layout (while the page hydrates
/// it may have none for a few frames): tried at each frame, `frames` times at most.
#[cfg(feature = "hydrate")]
fn reveal_current_tab(nav: web_sys::HtmlElement, key: String, frames: u32) {
    request_animation_frame(move || {
        if nav.scroll_width() == 0 {
            if frames > 0 {
                reveal_current_tab(nav, key, frames - 1);
            }
            return;
        }
        let selector = format!("[data-tab=\"{key}\"]");
        if let Some(tab) = nav.query_selector(&selector).ok().flatten() {
            let offset = tab.get_bounding_client_rect().left()
                - nav.get_bounding_client_rect().left()
                + f64::from(nav.scroll_left());
            nav.set_scroll_left((offset - 16.0).max(0.0) as i32);
        }
    });
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
    // `try_get`: a form rendered on the server inside a `Suspend` can be replaced (and its
    // signals disposed) while this field's markup is still being written.
    move || {
        error
            .try_get()
            .flatten()
            .and_then(|e| e.for_field(field))
            .map(|message| {
                view! { <span class="field__error small" role="alert">{message}</span> }
            })
    }
}

/// The page's name in the browser's tab and history: "Calendar · uHub".
///
/// The server writes it into the page's `<title>` (leptos_meta's `Title`). In the browser it is
/// written only when the tab shows something else, that is after a navigation inside the
/// application. leptos_meta's `Title`, taking over a server-rendered page, first empties the
/// title and then writes it back: two writes that blanked the tab's name in between and cost
/// Chromium about 5 ms of every load (see docs/calendar.md).
#[component]
pub fn PageTitle(text: &'static str) -> impl IntoView {
    title_view(format!("{text} · uHub"))
}

// Both sides leave one empty placeholder (`()`, an HTML comment) for hydration to find: the
// browser's side is `()`, so the server writes one after its `Title`, which writes nothing there.
#[cfg(feature = "ssr")]
fn title_view(full: String) -> AnyView {
    (view! { <leptos_meta::Title text=full/> }, ()).into_any()
}

#[cfg(not(feature = "ssr"))]
fn title_view(full: String) -> AnyView {
    Effect::new(move |_| write_document_title(&full));
    ().into_any()
}

#[cfg(feature = "hydrate")]
fn write_document_title(full: &str) {
    if let Some(document) = web_sys::window().and_then(|window| window.document()) {
        if document.title() != full {
            document.set_title(full);
        }
    }
}

#[cfg(all(not(feature = "hydrate"), not(feature = "ssr")))]
fn write_document_title(_full: &str) {}

/// The router's navigation, for closures that must be `Send` (a `Callback`, a view's handler).
///
/// `use_navigate`'s closure is not `Send` in the browser, so the browser keeps it in local
/// storage. The server keeps nothing: it never navigates from a handler, and it renders a page on
/// whichever thread the runtime picks, where a local value dropped on another thread than its
/// own panics. (It did: `/projects` once failed to render in a browser test.)
#[derive(Clone, Copy)]
pub struct Navigator {
    #[cfg(feature = "hydrate")]
    navigate: StoredValue<GoTo, LocalStorage>,
}

/// Goes to an address inside the application.
#[cfg(feature = "hydrate")]
type GoTo = Box<dyn Fn(&str)>;

impl Navigator {
    /// Takes the router's navigation from the current component (inside the `<Router>`).
    pub fn from_router() -> Self {
        #[cfg(feature = "hydrate")]
        {
            // Islands mode: no client router, a change of page is a page load.
            let navigate = page_navigate();
            let go: GoTo = Box::new(move |href| navigate(href, Default::default()));
            Self {
                navigate: StoredValue::new_local(go),
            }
        }
        #[cfg(not(feature = "hydrate"))]
        Self {}
    }

    /// Goes to `href` inside the application.
    pub fn go(self, href: &str) {
        #[cfg(feature = "hydrate")]
        self.navigate.with_value(|navigate| navigate(href));
        #[cfg(not(feature = "hydrate"))]
        let _ = href;
    }
}

/// Navigation from inside an island: there is no client-side router in islands mode, so a
/// change of page is a page load (same signature as `use_navigate`'s closure).
pub fn page_navigate() -> impl Fn(&str, leptos_router::NavigateOptions) + Clone {
    move |href: &str, _options: leptos_router::NavigateOptions| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(href);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = href;
    }
}

/// What an island lists: the server's copy first (a prop, so the island hydrates what the server
/// drew), read again through `fetch` each time `changed` moves. In place of a `Resource` inside an
/// island: the island is hydrated on its own, where a resource finds no value sent with the page,
/// starts pending and leaves the server's markup unmatched.
pub fn refreshed<T, Fetch, Answer>(
    initial: Result<T, AppError>,
    changed: RwSignal<u32>,
    fetch: Fetch,
) -> RwSignal<Result<T, AppError>>
where
    T: Send + Sync + 'static,
    Fetch: Fn() -> Answer + 'static,
    Answer: std::future::Future<Output = Result<T, AppError>> + 'static,
{
    let value = RwSignal::new(initial);
    Effect::watch(
        move || changed.get(),
        move |_, _, _| {
            let answer = fetch();
            leptos::task::spawn_local(async move { value.set(answer.await) });
        },
        false,
    );
    value
}

/// A signal whose every move loads the page again: after a change inside an island, the page
/// around it is the server's HTML, which is what shows the change everywhere (counts, header,
/// other tabs, a job's window).
pub fn reload_after_change() -> RwSignal<u32> {
    let changed = RwSignal::new(0u32);
    Effect::watch(
        move || changed.get(),
        move |_, _, _| {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        },
        false,
    );
    changed
}

/// What a page's server component reads to hand to its islands as props, awaited under the
/// page's `Suspense`.
///
/// An `AsyncDerived`, not a `Resource`: both start the read at once and run it to its end
/// whoever polls it, but a resource's value is also written into the page for the browser, and
/// in islands mode no browser code reads it (the island has its props): it was every page's
/// data sent twice (the dashboard's: 28 % of `/`; the API reference's 275 KiB; a month of 2,000
/// jobs: 233 KiB of 1,549; `http::pages_send_what_they_read_once`). Not a plain future made in
/// the `Suspense`'s closure: on the server the `Suspense` runs that closure more than once (its
/// `dry_resolve` walks its children to find their reads), and a read so started, polled once
/// and left, held SQLite's write lock (the calendar's remembered filters): every log-in after
/// it failed (`calendar_api::the_calendar_page_sends_its_month_once_and_holds_no_lock`).
///
/// An island's own reads stay `Resource`s (or `LocalResource`s): those the browser does read.
pub fn page_data<T, Answer>(fetch: impl Fn() -> Answer + Send + Sync + 'static) -> AsyncDerived<T>
where
    T: Send + Sync + 'static,
    Answer: std::future::Future<Output = T> + Send + 'static,
{
    AsyncDerived::new(fetch)
}

/// What the page of one object (a project, job, run, incident, inventory, plan) reads first:
/// the object. A [`page_data`] that also decides the page's HTTP status — its error's (a missing
/// object is a 404), 200 otherwise — and so holds the answer's first bytes until it has ended:
/// a status cannot change once they have left. The page's other reads still stream after it,
/// and their refusals (a panel left out for the reader's role) do not change the status
/// (`error::answer_with` is for calls, not pages).
pub fn page_object<T, Answer>(
    fetch: impl Fn() -> Answer + Send + Sync + 'static,
) -> AsyncDerived<Result<T, AppError>>
where
    T: Send + Sync + 'static,
    Answer: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    let response = use_context::<leptos_axum::ResponseOptions>();
    let object = page_data(move || {
        let read = fetch();
        #[cfg(feature = "ssr")]
        let response = response.clone();
        async move {
            let answer = read.await;
            #[cfg(feature = "ssr")]
            if let (Err(error), Some(response)) = (&answer, response) {
                let status = error
                    .status
                    .and_then(|s| http::StatusCode::from_u16(s).ok());
                response.set_status(status.unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
            }
            answer
        }
    });
    #[cfg(feature = "ssr")]
    if let Some(page) = Owner::current_shared_context() {
        page.defer_stream(Box::pin(object.ready()));
    }
    object
}

/// An island given what it lists: read by the page's server component ([`page_data`]), under
/// its own skeleton (an island cannot read it itself: see [`refreshed`]).
pub fn with_listing<T, Answer, Island>(
    fetch: impl Fn() -> Answer + Send + Sync + 'static,
    skeleton_rows: usize,
    island: impl Fn(Result<T, AppError>) -> Island + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    Answer: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
    Island: IntoView + 'static,
{
    let listing = page_data(fetch);
    view! {
        <Suspense fallback=move || view! { <crate::ui::SkeletonRows count=skeleton_rows/> }>
            {move || {
                let island = island.clone();
                Suspend::new(async move { island(listing.await) })
            }}
        </Suspense>
    }
}
