//! The app shell: the role-aware sidebar, the top bar (⌘K, user menu) and the content area
//! every page renders into; on a phone the sidebar becomes a drawer.

use domain::policy::Action;
use domain::Role;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::i18n::{t, use_locale, Locale};
use crate::palette::CommandPalette;
use crate::preferences::save_preferences;
use crate::session::{role_may, Me};

/// Pages shown without the shell: nobody is signed in yet (or may not go further). They are
/// served without the browser bundle (see `shell`).
const BARE_PATHS: &[&str] = &["/login", "/account/password"];

/// Whether `path` is one of the bare pages.
pub fn is_bare(path: &str) -> bool {
    BARE_PATHS.contains(&path)
}

/// The browser bundles besides the shell's (`uhub.<hash>.wasm`): `uhub.<hash>.<group>.wasm`,
/// one per group of islands, as `scripts/build.sh` builds them (its `ISLAND_GROUPS`, checked
/// against this list by a test).
pub const ISLAND_GROUPS: [&str; 14] = [
    "calendar",
    "palette",
    "projects",
    "sheet",
    "sheet-environments",
    "sheet-backlog",
    "sheet-links",
    "sheet-code",
    "sheet-ansible",
    "sheet-terraform",
    "sheet-kubernetes",
    "sheet-secrets",
    "sheet-settings",
    "pages",
];

/// The browser bundle of a page's own islands (`scripts/build.sh` builds one per group), and
/// whether the page hydrates them at once.
///
/// Most pages are read before anything in them is used: their islands are hydrated on intent
/// (the first pointer over, focus in or touch of one of them loads the bundle; a click or a
/// submit before it is ready waits and is replayed), and at first the page loads only the
/// shell's bundle (menu button, user menu, tabs). The calendar, the new-job form and the job and
/// run pages are used at once (a run's log is followed from the start): their bundle has the
/// shell's islands too and is the one the page loads. Decided from the address so that the
/// `<head>` starts fetching the right module before the body is parsed.
pub fn page_bundle(path: &str, query: Option<&str>) -> (String, bool) {
    match path {
        "/calendar" => ("calendar".to_owned(), true),
        "/projects" => ("projects".to_owned(), false),
        "/jobs/new" | "/incidents" | "/server" | "/admin" | "/profile" | "/docs/api" => {
            ("pages".to_owned(), true)
        }
        _ if ["/jobs/", "/runs/", "/incidents/"]
            .iter()
            .any(|prefix| numbered(path, prefix))
            || is_inventory_or_plan(path) =>
        {
            ("pages".to_owned(), true)
        }
        _ if numbered(path, "/projects/") => {
            // Decoded as the page's router decodes it (`?tab=se%63rets` is the secrets tab).
            let tab = query
                .unwrap_or_default()
                .split('&')
                .find_map(|pair| pair.strip_prefix("tab="))
                .map(percent_decoded)
                .unwrap_or_default();
            let name = if crate::projects::sheet::INTERACTIVE_TABS.contains(&tab.as_str()) {
                format!("sheet-{tab}")
            } else {
                "sheet".to_owned()
            };
            (name, false)
        }
        _ => (String::new(), true),
    }
}

/// `<prefix><id>` and nothing under it: `/projects/<id>` is the project sheet, not its inventory
/// or plan pages.
fn numbered(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// `/projects/<id>/inventories/<id>` or `/projects/<id>/terraform-plans/<id>`.
fn is_inventory_or_plan(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let number = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    matches!(
        parts.as_slice(),
        ["", "projects", project, "inventories" | "terraform-plans", id] if number(project) && number(id)
    )
}

/// A query value with `+` and `%XX` decoded (a malformed escape is kept as it is).
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let hex = |b: &u8| char::from(*b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = match bytes.get(i + 1..i + 3) {
            Some([high, low]) if byte == b'%' => hex(high).zip(hex(low)),
            _ => None,
        };
        match (escaped, byte) {
            (Some((high, low)), _) => {
                // Two hexadecimal digits: at most 255.
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, other) => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One entry of the sidebar, shown to the roles `action` allows.
struct NavItem {
    href: &'static str,
    label: &'static str,
    icon: &'static str,
    action: Action,
}

const NAV_ITEMS: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Dashboard",
        icon: "◎",
        action: Action::Read,
    },
    NavItem {
        href: "/calendar",
        label: "Calendar",
        icon: "▤",
        action: Action::Read,
    },
    NavItem {
        href: "/projects",
        label: "Projects",
        icon: "▦",
        action: Action::Read,
    },
    NavItem {
        href: "/incidents",
        label: "Incidents",
        icon: "◬",
        action: Action::Read,
    },
    NavItem {
        href: "/server",
        label: "Server",
        icon: "◫",
        action: Action::ViewServer,
    },
    NavItem {
        href: "/admin",
        label: "Admin",
        icon: "⚙",
        action: Action::ManageUsers,
    },
];

#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    // Moving between a bare page and the shell is always a full page load (form posts and
    // redirects), so the first path decides.
    let path = use_location().pathname.get_untracked();
    if is_bare(&path) {
        return view! {
            <div class="bare">
                <div class="app__backdrop" aria-hidden="true">
                    <span class="blob blob--one"></span>
                    <span class="blob blob--two"></span>
                </div>
                <main class="bare__content" id="content">{children()}</main>
            </div>
        }
        .into_any();
    }
    let me = Me::signed_in();
    provide_context(me);
    // The sidebar and the user menu are drawn from the user the server already knows: no
    // `Suspense` on every page's shell waiting for a value known at once, so a page with nothing
    // async of its own streams without waiting for anything. The islands find the same user on
    // the shell's root (see `Me`).
    let user = me.user().ok();
    let role = user.as_ref().map(|user| user.role);
    let carried = user.and_then(|user| serde_json::to_string(&user).ok());
    let location = use_location();

    // The drifting blobs belong behind the dashboard's header (and the login page), not behind
    // every page: blurred, animated layers keep the compositor busy, which a 2,000-job calendar
    // on a small machine feels.
    let home = move || location.pathname.with(|path| path == "/");
    view! {
        // `data-me`: read by `session::known_user` in the browser.
        <div class="app" class:app--home=home data-me=carried>
            <a class="skip-link" href="#content">{t("Skip to content")}</a>
            <div class="app__backdrop" aria-hidden="true">
                <span class="blob blob--one"></span>
                <span class="blob blob--two"></span>
            </div>
            <aside class="sidebar" id="sidebar" aria-label=t("Main navigation")>
                <A href="/" attr:class="brand">
                    <span class="brand__mark" aria-hidden="true">"u"</span>
                    <span class="brand__name">"uHub"</span>
                </A>
                <nav>
                    <NavList role/>
                </nav>
                <div class="sidebar__footer small">
                    <A href="/docs/api" attr:class="nav__link nav__link--quiet">
                        <span class="nav__icon" aria-hidden="true">"⌁"</span>
                        <span>{t("API reference")}</span>
                    </A>
                </div>
            </aside>
            <div class="drawer-backdrop" aria-hidden="true"></div>
            <div class="main">
                <header class="topbar">
                    <DrawerToggle/>
                    <button type="button" class="palette-trigger" data-testid="palette-trigger"
                        aria-haspopup="dialog" aria-keyshortcuts="Control+K Meta+K">
                        <span aria-hidden="true" class="palette-trigger__icon">"⌕"</span>
                        <span class="palette-trigger__text">{t("Search or run a command…")}</span>
                        <kbd class="kbd">"⌘K"</kbd>
                    </button>
                    <span class="topbar__spacer"></span>
                    <UserMenu/>
                </header>
                <main class="content" id="content" tabindex="-1">{children()}</main>
            </div>
            <CommandPalette/>
        </div>
    }
    .into_any()
}

/// The phone's menu button: opens and closes the sidebar as a drawer (the class on `.app`, which
/// is outside this island); the backdrop closes it.
#[cfg_attr(any(feature = "ssr", feature = "island-shell"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-shell")), component)]
fn DrawerToggle() -> impl IntoView {
    crate::i18n::provide_locale();
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let open = open.get();
            if let Some(app) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector(".app").ok().flatten())
            {
                let _ = app.class_list().toggle_with_force("app--drawer", open);
            }
        });
        let clicks = window_event_listener(leptos::ev::click, move |ev| {
            use wasm_bindgen::JsCast;
            let element = ev
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok());
            // The backdrop, or a link followed inside the drawer, closes it.
            let closes = element.is_some_and(|element| {
                element.class_list().contains("drawer-backdrop")
                    || element.closest("#sidebar a").ok().flatten().is_some()
            });
            if closes {
                open.set(false);
            }
        });
        on_cleanup(move || clicks.remove());
    }
    view! {
        <button type="button" class="button button--icon topbar__menu"
            aria-controls="sidebar" aria-expanded=move || open.get().to_string()
            aria-label=t("Menu") on:click=move |_| open.update(|open| *open = !*open)>
            "☰"
        </button>
    }
}

/// The sidebar's links a role may follow; before the user is known, the ones every role has.
#[component]
fn NavList(role: Option<Role>) -> impl IntoView {
    view! {
        <ul class="nav">
            {NAV_ITEMS
                .iter()
                .filter(|item| match role {
                    Some(role) => role_may(role, item.action),
                    None => item.action == Action::Read,
                })
                .map(|item| {
                    view! {
                        <li>
                            <A href=item.href attr:class="nav__link" exact=item.href == "/"
                                attr:data-nav=item.href.trim_start_matches('/')>
                                <span class="nav__icon" aria-hidden="true">{item.icon}</span>
                                <span>{t(item.label)}</span>
                            </A>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// Initials for an avatar: the first letters of the first two words.
pub fn initials(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A round avatar with initials.
#[component]
pub fn Avatar(name: String, #[prop(optional)] small: bool) -> impl IntoView {
    view! {
        <span class="avatar" class:avatar--small=small aria-hidden="true">{initials(&name)}</span>
    }
}

/// Who is signed in, in a menu: profile, theme, language, log out. An island: its own locale
/// and user, known at once (see `Me`; nobody: no menu).
#[cfg_attr(any(feature = "ssr", feature = "island-shell"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-shell")), component)]
fn UserMenu() -> impl IntoView {
    let user = crate::session::provide_for_island()
        .0
        .get_untracked()
        .and_then(Result::ok);
    let open = RwSignal::new(false);
    let menu_ref = NodeRef::<leptos::html::Div>::new();
    let button_ref = NodeRef::<leptos::html::Button>::new();
    let locale = use_locale();
    // The first item takes the focus when the menu opens from the keyboard or a click.
    Effect::new(move |_| {
        if open.get() {
            focus_menu_item(menu_ref, 0);
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            open.set(false);
            if let Some(button) = button_ref.get() {
                let _ = button.focus();
            }
        }
        "ArrowDown" | "ArrowUp" => {
            ev.prevent_default();
            let step = if ev.key() == "ArrowDown" { 1 } else { -1 };
            move_menu_focus(menu_ref, step);
        }
        _ => {}
    };
    view! {
        <div class="user-menu">
            {user.map(|user| {
                let theme = user.theme.clone();
                view! {
                    <button type="button" class="user-menu__button" node_ref=button_ref
                        aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                        aria-controls="user-menu" on:click=move |_| open.update(|o| *o = !*o)>
                        <Avatar name=user.display_name.clone()/>
                        <span class="user-menu__name" data-testid="current-user" data-username=user.username.clone()>
                            {user.display_name.clone()}
                        </span>
                        <span class="role-badge" data-role=user.role.as_str()>{user.role.as_str()}</span>
                    </button>
                    <Show when=move || open.get()>
                        <div class="menu-backdrop" on:click=move |_| open.set(false)></div>
                    </Show>
                    <div class="menu" id="user-menu" role="menu" aria-label=t("Account")
                        node_ref=menu_ref hidden=move || !open.get() on:keydown=on_key>
                        <a href="/profile" role="menuitem" class="menu__item" tabindex="-1"
                            on:click=move |_| open.set(false)>{t("Profile")}</a>
                        <p class="menu__label small muted" role="presentation">{t("Theme")}</p>
                        {["dark", "light", "system"].map(|choice| {
                            let checked = theme == choice;
                            view! {
                                <button type="button" role="menuitemradio" class="menu__item" tabindex="-1"
                                    aria-checked=checked.to_string()
                                    on:click=move |_| save_preferences(Some(choice), None)>
                                    {theme_label(choice)}
                                </button>
                            }
                        }).collect_view()}
                        <p class="menu__label small muted" role="presentation">{t("Language")}</p>
                        {Locale::ALL.map(|choice| view! {
                            <button type="button" role="menuitemradio" class="menu__item" tabindex="-1"
                                lang=choice.code() aria-checked=(choice == locale).to_string()
                                on:click=move |_| save_preferences(None, Some(choice.code()))>
                                {choice.name()}
                            </button>
                        }).collect_view()}
                        <form method="post" action="/logout" class="menu__form" role="none">
                            <button type="submit" role="menuitem" class="menu__item menu__item--danger" tabindex="-1" data-testid="log-out">
                                {t("Log out")}
                            </button>
                        </form>
                    </div>
                }
            })}
        </div>
    }
}

fn theme_label(theme: &str) -> &'static str {
    match theme {
        "light" => t("Light"),
        "system" => t("Same as the system"),
        _ => t("Dark"),
    }
}

fn menu_items(menu: NodeRef<leptos::html::Div>) -> Vec<web_sys_compat::Element> {
    web_sys_compat::items(menu)
}

fn focus_menu_item(menu: NodeRef<leptos::html::Div>, index: usize) {
    if let Some(item) = menu_items(menu).get(index) {
        web_sys_compat::focus(item);
    }
}

fn move_menu_focus(menu: NodeRef<leptos::html::Div>, step: i32) {
    let items = menu_items(menu);
    if items.is_empty() {
        return;
    }
    let current = items
        .iter()
        .position(web_sys_compat::has_focus)
        .map(|i| i as i32)
        .unwrap_or(-1);
    let next = (current + step).rem_euclid(items.len() as i32) as usize;
    web_sys_compat::focus(&items[next]);
}

/// The few DOM calls of the menu, real in the browser and inert on the server.
mod web_sys_compat {
    use leptos::prelude::*;

    #[cfg(feature = "hydrate")]
    pub type Element = web_sys::HtmlElement;
    #[cfg(not(feature = "hydrate"))]
    pub type Element = ();

    #[cfg(feature = "hydrate")]
    pub fn items(menu: NodeRef<leptos::html::Div>) -> Vec<Element> {
        use wasm_bindgen::JsCast;
        let Some(menu) = menu.get() else {
            return Vec::new();
        };
        let Ok(list) = menu.query_selector_all("[role^=menuitem]") else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
            .collect()
    }
    #[cfg(not(feature = "hydrate"))]
    pub fn items(_menu: NodeRef<leptos::html::Div>) -> Vec<Element> {
        Vec::new()
    }

    #[cfg(feature = "hydrate")]
    pub fn focus(element: &Element) {
        let _ = element.focus();
    }
    #[cfg(not(feature = "hydrate"))]
    pub fn focus(_element: &Element) {}

    #[cfg(feature = "hydrate")]
    pub fn has_focus(element: &Element) -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|active| {
                let active: &web_sys::Element = &active;
                let element: &web_sys::Element = element;
                active == element
            })
    }
    #[cfg(not(feature = "hydrate"))]
    pub fn has_focus(_element: &Element) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::page_bundle;

    fn bundle(path: &str, query: Option<&str>) -> (String, bool) {
        page_bundle(path, query)
    }

    #[test]
    fn every_interactive_tab_has_its_bundle() {
        for tab in crate::projects::sheet::INTERACTIVE_TABS {
            let (group, _) = page_bundle("/projects/1", Some(&format!("tab={tab}")));
            assert!(super::ISLAND_GROUPS.contains(&group.as_str()), "{group}");
        }
    }

    #[test]
    fn a_page_loads_the_bundle_of_its_islands() {
        assert_eq!(bundle("/", None), (String::new(), true));
        assert_eq!(bundle("/calendar", None), ("calendar".into(), true));
        assert_eq!(bundle("/projects", None), ("projects".into(), false));
        assert_eq!(bundle("/projects/3", None), ("sheet".into(), false));
        assert_eq!(
            bundle("/projects/3", Some("tab=secrets")),
            ("sheet-secrets".into(), false)
        );
        assert_eq!(
            bundle("/projects/3", Some("tab=code")),
            ("sheet-code".into(), false)
        );
        // Decoded as the router decodes it; a value that is no tab is the sheet's.
        assert_eq!(
            bundle("/projects/3", Some("x=1&tab=se%63rets")),
            ("sheet-secrets".into(), false)
        );
        assert_eq!(
            bundle("/projects/3", Some("tab=%zz%")),
            ("sheet".into(), false)
        );
        assert_eq!(
            bundle("/projects/3/inventories/1", None),
            ("pages".into(), true)
        );
        assert_eq!(
            bundle("/projects/3/terraform-plans/2", None),
            ("pages".into(), true)
        );
        assert_eq!(
            bundle("/projects/3/inventories/x", None),
            (String::new(), true)
        );
        assert_eq!(bundle("/jobs/new", None), ("pages".into(), true));
        assert_eq!(bundle("/jobs/7", None), ("pages".into(), true));
        assert_eq!(bundle("/runs/12", None), ("pages".into(), true));
        assert_eq!(bundle("/runs/x", None), (String::new(), true));
        assert_eq!(
            bundle("/incidents", Some("status=open")),
            ("pages".into(), true)
        );
        assert_eq!(bundle("/incidents/4", None), ("pages".into(), true));
        assert_eq!(
            bundle("/server", Some("minutes=360")),
            ("pages".into(), true)
        );
        assert_eq!(bundle("/admin", Some("tab=teams")), ("pages".into(), true));
        assert_eq!(bundle("/profile", None), ("pages".into(), true));
        assert_eq!(bundle("/docs/api", None), ("pages".into(), true));
    }
}
