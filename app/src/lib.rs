//! uHub's Leptos application: the HTML shell, the router and the pages. Compiled twice: with
//! `ssr` into the server (rendering, server functions backed by `services`) and with `hydrate`
//! into the browser bundle (interactivity). Organised by feature: each module holds its types,
//! its server functions and its components.

// Leptos view types nest deeply; the API reference page goes past the default 128.
#![recursion_limit = "256"]
// A browser bundle compiles only what its islands reach (see `feature_modules`): the rest of the
// pages, and the re-exports the server reads them by, are unused there by design. The server's
// build keeps both lints.
#![cfg_attr(not(feature = "ssr"), allow(dead_code, unused_imports))]

/// Declares the feature modules: public in the server, which renders every page from them, and
/// private in a browser bundle. There only the islands of the bundle's group are reachable (from
/// their exported hydration functions): a public item would be compiled whether an island uses it
/// or not, and the optimiser spent most of each bundle's build on the pages' code, which the link
/// then dropped (`scripts/build.sh` builds fifteen bundles; see docs/benchmarks.md).
macro_rules! feature_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "ssr")]
        pub mod $name;
        #[cfg(not(feature = "ssr"))]
        mod $name;
    )*};
}

feature_modules!(
    admin,
    ansible_results,
    api_docs,
    auth,
    calendar,
    dashboard,
    error,
    git_identity,
    i18n,
    incident_story,
    incidents,
    jobs,
    labels,
    layout,
    palette,
    people,
    projects,
    runs,
    server_view,
    terraform,
    ui,
);
mod markdown;
mod not_found;
mod preferences;
#[cfg(feature = "ssr")]
pub mod server;
mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub use error::AppError;

/// The whole HTML document around the application, rendered on the server only. `<html>` carries
/// the page's language and the user's theme, which the browser reads back when it hydrates.
///
/// The bare pages (the login form, the forced password change) get no bundle: they are plain
/// forms posted to the server, left only by a full page load, so nothing in them needs the WASM.
/// Their first view is the whole page, at once, and the service worker they register fetches the
/// bundle in the background for the page after them (see `public/sw.js`).
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let (lang, theme, bare) = (
        i18n::request_locale().code(),
        request_theme(),
        use_context::<http::request::Parts>()
            .is_some_and(|parts| layout::is_bare(parts.uri.path())),
    );
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
                // Every page uses the three fonts: fetched with the stylesheet, they are there
                // for the first layout instead of swapping in (and laying the page out again).
                <link rel="preload" href="/fonts/inter-latin-wght-normal.woff2" r#as="font" r#type="font/woff2" crossorigin=""/>
                <link rel="preload" href="/fonts/jetbrains-mono-latin-wght-normal.woff2" r#as="font" r#type="font/woff2" crossorigin=""/>
                <link rel="preload" href="/fonts/comfortaa-latin-wght-normal.woff2" r#as="font" r#type="font/woff2" crossorigin=""/>
                <link rel="stylesheet" id="uhub" href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)/>
                <script src="/sw-register.js" defer></script>
                {(!bare).then(|| view! { <BundleScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Loads the browser bundles of the page's islands and hydrates each island with its own.
///
/// One bundle per group of islands (`scripts/build.sh` builds `frontend` once per group):
/// `<stem>.js|wasm` has the shell's islands (menu button, user menu, tabs), `<stem>.<group>.js|wasm`
/// a page's own (`layout::page_bundle`). The first bundle's module starts compiling from the
/// `<head>`: the shell's, or the page's where its islands are hydrated at once (the calendar's,
/// which has the shell's islands too). The others are loaded on intent: the page's islands at
/// the first pointer over, focus in or touch of one of them, the palette at its button or Ctrl+K;
/// a click or submit that comes before is held and replayed, and what was typed is kept.
#[cfg(feature = "ssr")]
#[component]
fn BundleScripts(options: LeptosOptions) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let (page, eager) = use_context::<http::request::Parts>()
        .map(|parts| layout::page_bundle(parts.uri.path(), parts.uri.query()))
        .unwrap_or_default();
    let stem = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    let first = if eager && !page.is_empty() {
        format!("{stem}.{page}")
    } else {
        stem.clone()
    };
    let js = format!("{first}.js");
    let wasm = format!("{first}.wasm");
    // A browser that cannot compile from a stream gets the plain response, which wasm-bindgen
    // instantiates itself.
    let compile = format!(
        "window.__uhubWasm = WebAssembly.compileStreaming(fetch({wasm:?})).catch(() => fetch({wasm:?}));"
    );
    let hydrate = format!(
        "const STEM = {stem:?};\nconst PAGE = {page:?};\nconst EAGER = {eager};\n{ISLAND_LOADER}"
    );
    view! {
        <link rel="modulepreload" href=js/>
        <script nonce=nonce.clone()>{compile}</script>
        <script type="module" nonce=nonce>{hydrate}</script>
    }
}

/// The islands' loader (after `const STEM`, `PAGE` and `EAGER`).
#[cfg(feature = "ssr")]
const ISLAND_LOADER: &str = r#"
const SHELL = ['DrawerToggle', 'UserMenu', 'TabLinks', 'MyChangesCard'];
const FIRST = EAGER ? PAGE : '';
const loading = {};
function load(bundle) {
  if (!loading[bundle]) {
    const js = bundle ? `${STEM}.${bundle}.js` : `${STEM}.js`;
    const wasm = bundle === FIRST ? window.__uhubWasm : `${STEM}.${bundle}.wasm`;
    loading[bundle] = import(js).then(async (m) => { await m.default({ module_or_path: wasm }); m.hydrate(); return m; });
  }
  return loading[bundle];
}
async function hydrateAll(bundle, islands, restoreTyped = false) {
  const m = await load(bundle);
  const restore = restoreTyped ? keepTyped(islands) : () => {};
  for (const el of islands) {
    const f = m[el.dataset.component];
    if (f) await f(el); else console.error('uHub: no island', el.dataset.component, 'in the bundle', bundle || 'shell');
  }
  restore();
}
const nameOf = (el) => el.dataset.component.replace(/_\d+$/, '');
const first = [], later = [], palette = [];
for (const el of document.querySelectorAll('leptos-island')) {
  const name = nameOf(el);
  if (name === 'CommandPalette') palette.push(el);
  else if (EAGER || SHELL.includes(name)) first.push(el);
  else later.push(el);
}
hydrateAll(FIRST, first).then(() => setTimeout(() => {
  document.documentElement.setAttribute('data-hydrated', 'true');
  performance.mark('uhub:hydrated');
}));
// Fields changed before their island is hydrated: hydration sets the fields' properties from the
// island's state, so what was typed is put back and announced to the island's handlers.
function keepTyped(islands) {
  const typed = [];
  for (const island of islands) {
    for (const f of island.querySelectorAll('input, textarea, select')) {
      const changed = f.type === 'checkbox' || f.type === 'radio' ? f.checked !== f.defaultChecked
        : f.tagName === 'SELECT' ? [...f.options].some((o) => o.selected !== o.defaultSelected)
        : f.value !== f.defaultValue;
      if (changed) typed.push([f, f.value, f.checked]);
    }
  }
  return () => {
    for (const [f, value, checked] of typed) {
      f.value = value; f.checked = checked;
      f.dispatchEvent(new Event('input', { bubbles: true }));
      f.dispatchEvent(new Event('change', { bubbles: true }));
    }
  };
}
function onIntent(bundle, islands) {
  const inside = (t) => t instanceof Node && islands.some((el) => el.contains(t));
  let ready = null;
  const start = () => ready ||= (async () => {
    await hydrateAll(bundle, islands, true);
    for (const t of ['pointerover', 'focusin', 'touchstart']) window.removeEventListener(t, warm, true);
    window.removeEventListener('click', hold, true);
    window.removeEventListener('submit', hold, true);
  })();
  const warm = (ev) => { if (inside(ev.target)) start(); };
  const hold = (ev) => {
    if (!inside(ev.target)) return;
    // A plain link works without its island.
    if (ev.type === 'click' && ev.target.closest('a[href]')) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const target = ev.target;
    start().then(() => (ev.type === 'submit' ? target.requestSubmit() : target.click()));
  };
  for (const t of ['pointerover', 'focusin', 'touchstart']) window.addEventListener(t, warm, { capture: true, passive: true });
  window.addEventListener('click', hold, true);
  window.addEventListener('submit', hold, true);
}
if (later.length) onIntent(PAGE, later);
if (palette.length) {
  let asked = null;
  const ask = (ev) => {
    const key = ev.type === 'keydown' && (ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'k';
    const click = ev.type === 'click' && ev.target.closest && ev.target.closest('[data-testid=palette-trigger]');
    if (!key && !click) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    if (asked) return;
    asked = hydrateAll('palette', palette).then(() => {
      window.removeEventListener('keydown', ask, true);
      window.removeEventListener('click', ask, true);
      if (key) window.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', ctrlKey: true, bubbles: true, cancelable: true }));
      else click.click();
    });
  };
  window.addEventListener('keydown', ask, true);
  window.addEventListener('click', ask, true);
}
"#;

/// The signed-in user's theme (`dark`, `light`, `system`); dark for everyone else.
#[cfg(feature = "ssr")]
fn request_theme() -> String {
    server::signed_in_user()
        .map(|user| user.theme)
        .filter(|theme| ["dark", "light", "system"].contains(&theme.as_str()))
        .unwrap_or_else(|| "dark".to_owned())
}

/// The application: routes inside the app shell.
///
/// Rendered on the server only: a browser bundle hydrates its islands, never the routes.
///
/// Every route's page component is `#[inline(never)]`, from when the browser hydrated the whole
/// application: the optimiser had inlined all of them into the router's one choice of a route, a
/// 100 KB function the browser compiled whole on every load although only one page's branch ran.
#[cfg(feature = "ssr")]
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    i18n::provide_locale();
    mark_hydrated();

    view! {
        <Router>
            <layout::AppShell>
                <Routes fallback=not_found::NotFound>
                    <Route path=path!("/login") view=auth::LoginPage/>
                    <Route path=path!("/account/password") view=auth::PasswordPage/>
                    <Route path=path!("/") view=dashboard::DashboardPage/>
                    <Route path=path!("/projects") view=projects::ProjectsPage/>
                    <Route path=path!("/projects/:id") view=projects::ProjectSheetPage/>
                    <Route path=path!("/projects/:id/inventories/:inventory") view=projects::InventoryPage/>
                    <Route path=path!("/projects/:id/terraform-plans/:plan") view=terraform::PlanPage/>
                    <Route path=path!("/incidents") view=incidents::IncidentsPage/>
                    <Route path=path!("/incidents/:id") view=incidents::IncidentPage/>
                    <Route path=path!("/admin") view=admin::AdminPage/>
                    <Route path=path!("/profile") view=admin::ProfilePage/>
                    // In order: the page arrives whole, jobs included, with no skeleton to
                    // animate and swap out while a heavy month is drawn (see docs/calendar.md).
                    <Route path=path!("/calendar") view=calendar::CalendarPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/docs/api") view=api_docs::ApiPage/>
                    <Route path=path!("/jobs/new") view=jobs::NewJobPage/>
                    <Route path=path!("/jobs/:id") view=jobs::JobPage/>
                    <Route path=path!("/runs/:id") view=runs::RunPage/>
                    <Route path=path!("/server") view=server_view::ServerPage/>
                </Routes>
            </layout::AppShell>
        </Router>
    }
}

/// Set once the browser has taken over the server's page (the first effects ran).
#[cfg(feature = "hydrate")]
static HYDRATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the browser is taking over the server's page right now: what renders already has its
/// markup in the document. False on the server, and in the browser after that first pass
/// (pages reached by a link inside the application are built, not hydrated).
pub(crate) fn hydrating() -> bool {
    #[cfg(feature = "hydrate")]
    return !HYDRATED.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Sets `data-hydrated` on the document's root element once the browser has taken over the
/// server-rendered page. Effects run only in the browser, after hydration; browser tests and
/// benchmarks wait for this attribute.
pub(crate) fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        HYDRATED.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            // Nothing useful can be done if the DOM refuses an attribute; the page still works.
            let _ = root.set_attribute("data-hydrated", "true");
            // Benchmarks and the budget read the time to hydrated from this mark.
            performance_mark("uhub:hydrated");
        }
    });
}

/// Records a performance mark (benchmarks and the browser's profiler read them). A profiler aid
/// only: a refused mark changes nothing for the user.
#[cfg(feature = "hydrate")]
pub(crate) fn performance_mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}
