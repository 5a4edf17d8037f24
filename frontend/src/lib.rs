//! The wasm32 entry point: takes over the server-rendered page's islands and nothing else.

// The islands' hydration functions are exported from `app`: re-exported here so they are linked.
pub use app::*;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
