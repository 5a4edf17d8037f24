//! Static files: the browser bundle under `/pkg` and the assets of `public/`, served by uhub
//! itself (no CDN), precompressed when the build made `.gz` / `.br` siblings.

use std::path::Path;

use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

/// The bundle's file names carry no content hash, so browsers must revalidate them; the
/// `Last-Modified` / `ETag` answers make that a cheap 304.
const REVALIDATE: &str = "no-cache";
/// Fonts and icons are versioned by file name: they never change in place.
const LONG_LIVED: &str = "public, max-age=31536000, immutable";

/// Mounts `dir` at `prefix` with the given `Cache-Control`.
fn mount(
    router: Router<AppState>,
    prefix: &str,
    dir: &Path,
    cache_control: &'static str,
) -> Router<AppState> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    router.nest_service(
        prefix,
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ))
            .service(files),
    )
}

/// `/pkg/*` (JS, WASM, CSS) and `/fonts/*`, `/icons/*`. Other files at the site root (favicon,
/// manifest) go through the application's fallback.
pub fn router(site_dir: &Path) -> Router<AppState> {
    let router = mount(Router::new(), "/pkg", &site_dir.join("pkg"), REVALIDATE);
    let router = mount(router, "/fonts", &site_dir.join("fonts"), LONG_LIVED);
    mount(router, "/icons", &site_dir.join("icons"), LONG_LIVED)
}
