//! The app shell: sidebar navigation, top bar and the content area every page renders into.

use leptos::prelude::*;
use leptos_router::components::A;

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
        href: "/projects",
        label: "Projects",
        icon: "▦",
    },
];

#[component]
pub fn AppShell(children: Children) -> impl IntoView {
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
                </header>
                <main class="content" id="content">{children()}</main>
            </div>
        </div>
    }
}
