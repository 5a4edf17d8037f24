//! The page shown for an address that leads nowhere, answered with HTTP 404.

use crate::ui::PageTitle;
use leptos::prelude::*;

use crate::i18n::t;

#[component]
#[inline(never)] // a route's page: see `App`
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::error::answer_status(http::StatusCode::NOT_FOUND);
    view! {
        <PageTitle text=t("Not found")/>
        <section class="empty-state" aria-labelledby="not-found-title">
            <p class="empty-state__code mono">"404"</p>
            <h1 id="not-found-title">{t("Nothing lives at this address")}</h1>
            <p class="muted">{t("The page may have moved, or the link was mistyped.")}</p>
            <a href="/" class="button button--primary">{t("Back to the dashboard")}</a>
        </section>
    }
}
