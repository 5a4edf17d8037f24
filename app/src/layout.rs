//! The app shell: sidebar navigation, top bar and the content area every page renders into.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::auth::current_user;

/// Pages shown without the shell: nobody is signed in yet (or may not go further).
const BARE_PATHS: &[&str] = &["/login", "/account/password"];

/// One entry of the sidebar. Pages join this list as they are built; a link to a page that does
/// not exist yet would only lead to the 404 page.
struct NavItem {
    href: &'static str,
    label: &'static str,
    icon: &'static str,
}

const NAV_ITEMS: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Overview",
        icon: "◎",
    },
    NavItem {
        href: "/calendar",
        label: "Calendar",
        icon: "▤",
    },
    NavItem {
        href: "/projects",
        label: "Projects",
        icon: "▦",
    },
    NavItem {
        href: "/server",
        label: "Server",
        icon: "◫",
    },
    NavItem {
        href: "/docs/api",
        label: "API",
        icon: "⌁",
    },
];

#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    // Moving between a bare page and the shell is always a full page load (form posts and
    // redirects), so the first path decides.
    let path = use_location().pathname.get_untracked();
    if BARE_PATHS.contains(&path.as_str()) {
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
    view! {
        <div class="app">
            <div class="app__backdrop" aria-hidden="true">
                <span class="blob blob--one"></span>
                <span class="blob blob--two"></span>
            </div>
            <aside class="sidebar" aria-label="Main navigation">
                <A href="/" attr:class="brand">
                    <span class="brand__mark" aria-hidden="true">"u"</span>
                    <span class="brand__name">"uHub"</span>
                </A>
                <nav>
                    <ul class="nav">
                        {NAV_ITEMS
                            .iter()
                            .map(|item| {
                                view! {
                                    <li>
                                        <A href=item.href attr:class="nav__link" exact=true>
                                            <span class="nav__icon" aria-hidden="true">{item.icon}</span>
                                            <span>{item.label}</span>
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                <p class="sidebar__footer muted small">"uHub · self-hosted DevOps hub"</p>
            </aside>
            <div class="main">
                <header class="topbar">
                    <span class="topbar__title">"Operations hub"</span>
                    <span class="status-dot status-dot--live" title="Connected"></span>
                    <UserMenu/>
                </header>
                <main class="content" id="content">{children()}</main>
            </div>
        </div>
    }
    .into_any()
}

/// Who is signed in, and the way out.
#[component]
fn UserMenu() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <div class="user-menu">
            <Suspense fallback=|| view! { <span class="user-menu__name muted">"…"</span> }>
                {move || Suspend::new(async move {
                    me.await.ok().map(|user| view! {
                        <span class="user-menu__name" data-testid="current-user" data-username=user.username.clone()>
                            {user.display_name.clone()}
                        </span>
                        <span class="role-badge" data-role=user.role.as_str()>{user.role.as_str()}</span>
                    })
                })}
            </Suspense>
            <form method="post" action="/logout">
                <button type="submit" class="button button--ghost">"Log out"</button>
            </form>
        </div>
    }
}
