//! uHub's Leptos application: the HTML shell, the router and the pages. Compiled twice: with
//! `ssr` into the server (rendering, server functions backed by `services`) and with `hydrate`
//! into the browser bundle (interactivity). Organised by feature: each module holds its types,
//! its server functions and its components.

// Leptos view types nest deeply; the API reference page goes past the default 128.
#![recursion_limit = "256"]

pub mod admin;
pub mod api_docs;
pub mod auth;
pub mod calendar;
pub mod dashboard;
pub mod error;
pub mod i18n;
pub mod incidents;
pub mod layout;
mod not_found;
pub mod palette;
mod project_sheet;
pub mod projects;
pub mod runs;
pub mod server_view;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

pub use error::AppError;

/// The whole HTML document around the application, rendered on the server only. `<html>` carries
/// the page's language and the user's theme, which the browser reads back when it hydrates.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let (lang, theme) = (i18n::request_locale().code(), request_theme());
    #[cfg(not(feature = "ssr"))]
    let (lang, theme) = ("en", "dark".to_owned());
    let color_scheme = match theme.as_str() {
        "light" => "light",
        "system" => "dark light",
        _ => "dark",
    };
    view! {
        <!DOCTYPE html>
        <html lang=lang data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content=color_scheme/>
                <meta name="theme-color" content="#000000"/>
                <meta name="description" content="uHub: plan, run and follow your team's operations."/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <script src="/sw-register.js" defer></script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in user's theme (`dark`, `light`, `system`); dark for everyone else.
#[cfg(feature = "ssr")]
fn request_theme() -> String {
    use_context::<auth::SignedIn>()
        .map(|auth::SignedIn(user)| user.theme)
        .filter(|theme| ["dark", "light", "system"].contains(&theme.as_str()))
        .unwrap_or_else(|| "dark".to_owned())
}

/// The application: routes inside the app shell.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    i18n::provide_locale();
    mark_hydrated();

    view! {
        <Stylesheet id="uhub" href="/pkg/uhub.css"/>
        <Title formatter=|page: String| if page.is_empty() { "uHub".to_owned() } else { format!("{page} · uHub") }/>
        <Router>
            <layout::AppShell>
                <Routes fallback=not_found::NotFound>
                    <Route path=path!("/login") view=auth::LoginPage/>
                    <Route path=path!("/account/password") view=auth::PasswordPage/>
                    <Route path=path!("/") view=dashboard::DashboardPage/>
                    <Route path=path!("/projects") view=projects::ProjectsPage/>
                    <Route path=path!("/projects/:id") view=projects::ProjectSheetPage/>
                    <Route path=path!("/incidents") view=incidents::IncidentsPage/>
                    <Route path=path!("/incidents/:id") view=incidents::IncidentPage/>
                    <Route path=path!("/admin") view=admin::AdminPage/>
                    <Route path=path!("/profile") view=admin::ProfilePage/>
                    <Route path=path!("/calendar") view=calendar::CalendarPage/>
                    <Route path=path!("/docs/api") view=api_docs::ApiPage/>
                    <Route path=path!("/jobs/:id") view=runs::JobPage/>
                    <Route path=path!("/runs/:id") view=runs::RunPage/>
                    <Route path=path!("/server") view=server_view::ServerPage/>
                </Routes>
            </layout::AppShell>
        </Router>
    }
}

/// Sets `data-hydrated` on the document's root element once the browser has taken over the
/// server-rendered page. Effects run only in the browser, after hydration; browser tests and
/// benchmarks wait for this attribute.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            // Nothing useful can be done if the DOM refuses an attribute; the page still works.
            let _ = root.set_attribute("data-hydrated", "true");
            // Benchmarks and the budget read the time to hydrated from this mark.
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                let _ = performance.mark("uhub:hydrated");
            }
        }
    });
}
