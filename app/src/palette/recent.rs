//! The items opened from the palette lately, remembered in this browser (`localStorage`).

use super::{Entry, Recent, Target};

/// How many recently opened items the palette remembers (in this browser).
const RECENT_LIMIT: usize = 6;
#[cfg(feature = "hydrate")]
const RECENT_KEY: &str = "uhub.palette.recent";

pub(super) fn load_recent() -> Vec<Recent> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|storage| storage.get_item(RECENT_KEY).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

pub(super) fn remember(entry: &Entry) {
    let Target::Go(href) = &entry.target else {
        return;
    };
    if entry.kind == "action" {
        return;
    }
    let mut recent = load_recent();
    recent.retain(|item| &item.href != href);
    recent.insert(
        0,
        Recent {
            title: entry.title.clone(),
            detail: entry.detail.clone(),
            href: href.clone(),
        },
    );
    recent.truncate(RECENT_LIMIT);
    #[cfg(feature = "hydrate")]
    if let (Some(storage), Ok(json)) = (
        web_sys::window().and_then(|w| w.local_storage().ok().flatten()),
        serde_json::to_string(&recent),
    ) {
        // A full or disabled storage only costs the recent list.
        let _ = storage.set_item(RECENT_KEY, &json);
    }
}
