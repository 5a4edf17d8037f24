//! One's own theme and language, saved from the user menu or the palette; the page reloads in
//! them (the server renders `<html>` with them).

use leptos::prelude::*;

use crate::AppError;

/// The user's own theme and language; the page reloads in them.
#[server(prefix = "/sfn", endpoint = "auth/preferences")]
pub async fn set_preferences(
    theme: Option<String>,
    locale: Option<String>,
) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::ProfileChanges {
        theme,
        locale,
        ..Default::default()
    };
    services::users::update_profile(&hub, &caller, changes).await?;
    Ok(())
}

/// Saves a theme or language choice, then reloads so the whole page (and its `<html>`) follows.
pub fn save_preferences(theme: Option<&'static str>, locale: Option<&'static str>) {
    leptos::task::spawn_local(async move {
        if set_preferences(theme.map(str::to_owned), locale.map(str::to_owned))
            .await
            .is_ok()
        {
            reload_page();
        }
    });
}

/// A full reload of the current page.
pub fn reload_page() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
